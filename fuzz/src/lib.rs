//! The bodies of the fuzz targets, one function per target; the binaries in `fuzz_targets/`
//! are one-line `fuzz_target!` wrappers around them (see `README.md` for the commands).
//!
//! Every function takes arbitrary bytes, must never panic, hang or allocate without bound, and
//! checks a property of what it accepts (canonical re-encoding, a changed proof never
//! verifying). Errors are the expected outcome for most inputs.

use std::sync::{Once, OnceLock};

use zkmlops_fri::FriBackend;
use zkmlops_onnx::{CompiledModel, InputData, OnnxModel, Settings, compile};
use zkmlops_preprocess::{
    Cmp, ColumnSpec, Fill, OutputSpec, Pipeline, RawTable, Salts, Stat, Step,
};
use zkmlops_proof::{Backend, ProofEnvelope, StageFile, VerifyPolicy};
use zkmlops_tensor::Program;

/// libFuzzer's Rust harness installs a panic hook that aborts on *every* panic, even one the
/// library catches: zkmlops contains the panics of its dependencies (tract's protobuf and tensor
/// decoders, Plonky3's prover and verifier) with `catch_unwind` and returns typed errors, which
/// is the behaviour under test. So the hook only reports; a panic that escapes the target
/// still aborts (libfuzzer-sys catches it at the boundary) and is a finding.
fn contain_library_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            eprintln!("panic (contained unless it escapes): {info}")
        }));
    });
}

/// Every target, by name (the binaries and the corpus directories use these names).
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("decode_envelope", decode_envelope),
    ("decode_program", decode_program),
    ("verify_mutated", verify_mutated),
    ("import_onnx", import_onnx),
    ("preprocess_csv", preprocess_csv),
    ("input_json", input_json),
    ("pipeline_toml", pipeline_toml),
    ("transcript_json", transcript_json),
    ("preprocess_proof_json", preprocess_proof_json),
];

/// Arbitrary bytes / UTF-8 as a proof envelope: anything that decodes re-encodes byte-exactly.
pub fn decode_envelope(data: &[u8]) {
    contain_library_panics();
    if let Ok(env) = ProofEnvelope::from_bytes(data) {
        assert_eq!(env.to_bytes(), data);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ProofEnvelope::from_json(s);
    }
}

/// Arbitrary bytes as a Program: a decoded Program is valid and re-encodes to the same bytes.
pub fn decode_program(data: &[u8]) {
    contain_library_panics();
    if let Ok(p) = Program::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        assert!(p.validate().is_ok());
    }
}

/// The golden FRI proof (`crates/fri/tests/fixtures`).
const GOLDEN: &[u8] =
    include_bytes!("../../crates/fri/tests/fixtures/envelope_v2_program_v2_keccak.bin");

/// The Program of the golden fixture (`crates/fri/tests/golden.rs` writes and checks it).
fn golden_program() -> &'static Program {
    static P: OnceLock<Program> = OnceLock::new();
    P.get_or_init(|| {
        Program::from_bytes(include_bytes!(
            "../../crates/fri/tests/fixtures/golden_program_v2.zkp"
        ))
        .expect("the golden Program fixture decodes")
    })
}

/// The golden proof with fuzzer-chosen bytes xored (each 4-byte chunk: a 3-byte position and a
/// mask): verification errors, never panics, never accepts a changed proof.
pub fn verify_mutated(data: &[u8]) {
    contain_library_panics();
    let Ok(mut env) = ProofEnvelope::from_bytes(GOLDEN) else {
        return;
    };
    let original = env.proof.clone();
    let n = env.proof.len();
    for c in data.chunks_exact(4) {
        let pos = (usize::from(c[0]) | usize::from(c[1]) << 8 | usize::from(c[2]) << 16) % n;
        env.proof[pos] ^= c[3];
    }
    let result = FriBackend.verify(golden_program(), &env, &VerifyPolicy::default());
    if env.proof != original {
        assert!(result.is_err(), "a mutated proof verified");
    }
}

/// Arbitrary bytes as an ONNX model: parsing, import and the compiled-model decoder never
/// panic; a compiled model round-trips through its encoding.
pub fn import_onnx(data: &[u8]) {
    contain_library_panics();
    if let Ok(m) = OnnxModel::from_bytes(data, "fuzz") {
        if let Ok(c) = compile(&m, &Settings::default()) {
            let bytes = c.to_bytes();
            assert_eq!(CompiledModel::from_bytes(&bytes).ok().as_ref(), Some(&c));
        }
    }
    let _ = CompiledModel::from_bytes(data);
}

/// A pipeline with every step kind (the `preprocess_csv` target's schema).
fn pipeline() -> Pipeline {
    let col = |name: &str, scale_bits, nullable| ColumnSpec {
        name: name.into(),
        scale_bits,
        nullable,
    };
    Pipeline {
        version: 1,
        value_bits: zkmlops_preprocess::RAW_VALUE_BITS,
        columns: vec![col("a", 4, false), col("b", 4, true), col("c", 0, false)],
        steps: vec![
            Step::Impute {
                column: "b".into(),
                value: Fill::Keyword("mean".into()),
            },
            Step::Clip {
                column: "a".into(),
                min: -8.0,
                max: 8.0,
            },
            Step::Filter {
                column: "a".into(),
                keep: Cmp::Ge,
                value: -4.0,
            },
            Step::OneHot {
                column: "c".into(),
                categories: vec![0, 1],
            },
            Step::Stats {
                column: "b".into(),
                public: Stat::ALL.to_vec(),
            },
            Step::Standardize {
                columns: vec!["a".into()],
                scale_bits: 8,
                given: Default::default(),
            },
            Step::MinMax {
                columns: vec!["b".into()],
                scale_bits: 8,
            },
        ],
        output: OutputSpec {
            features: vec!["a".into(), "b".into(), "c=0".into()],
            labels: vec!["c=1".into()],
            scale_bits: 8,
            value_bits: zkmlops_train::DATA_VALUE_BITS,
            test_rows: 1,
            profile_edges: Vec::new(),
        },
    }
}

const SALTS: Salts = Salts {
    raw: [1; 4],
    train: [2; 4],
    test: [3; 4],
};

/// Arbitrary text as the raw CSV of [`pipeline`]: parsing and building the Program with the
/// data (every step's reference ops) never panic.
pub fn preprocess_csv(data: &[u8]) {
    contain_library_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let p = pipeline();
    if let Ok(table) = RawTable::from_csv(&p, text) {
        let _ = zkmlops_preprocess::testing::inputs(&p, &table, &SALTS);
    }
}

/// The bundled MLP, compiled once (committed weights, the CLI's defaults).
fn mlp() -> Option<&'static CompiledModel> {
    static M: OnceLock<Option<CompiledModel>> = OnceLock::new();
    M.get_or_init(|| {
        let bytes = include_bytes!("../../examples/models/mlp.onnx");
        let m = OnnxModel::from_bytes(bytes, "mlp").ok()?;
        compile(&m, &Settings::default()).ok()
    })
    .as_ref()
}

/// Arbitrary bytes as an input file (EZKL's layout): every sample that parses is encoded into
/// the bundled MLP's witness (NaN-free by JSON, but 1e300, wrong lengths, empty files): typed
/// errors, never a panic.
pub fn input_json(data: &[u8]) {
    contain_library_panics();
    let Ok(file) = InputData::from_json(data) else {
        return;
    };
    let Some(model) = mlp() else { return };
    for (i, sample) in file.input_data.iter().enumerate().take(4) {
        let _ = model.witness(i, sample);
    }
}

/// A small raw table every well-formed pipeline over columns `a`, `b`, `c` can read.
const CSV: &str = "a,b,c\n1.5,2,0\n-3,,1\n0.25,4,1\n7,-1,0\n";

/// Arbitrary text as a pipeline TOML: parsing, validation and building the Program over a
/// small table never panic (huge scales, unknown columns, empty step lists: typed errors).
pub fn pipeline_toml(data: &[u8]) {
    contain_library_panics();
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(p) = toml::from_str::<Pipeline>(text) else {
        return;
    };
    if let Ok(table) = RawTable::from_csv(&p, CSV) {
        let _ = zkmlops_preprocess::testing::inputs(&p, &table, &SALTS);
    }
}

/// Arbitrary bytes as a training transcript (a binary stage file or JSON): decoding and
/// verifying never panic or hang, whatever the spec, row count and segment list claim.
pub fn transcript_json(data: &[u8]) {
    contain_library_panics();
    let Ok(t) = zkmlops_train::TrainingTranscript::from_file_bytes(data) else {
        return;
    };
    let _ = t.verify(&FriBackend, &VerifyPolicy::default());
}

/// Arbitrary bytes as a preprocessing proof (a binary stage file or JSON): decoding and
/// verifying never panic or hang.
pub fn preprocess_proof_json(data: &[u8]) {
    contain_library_panics();
    let Ok(p) = zkmlops_preprocess::PreprocessProof::from_file_bytes(data) else {
        return;
    };
    let _ = p.verify(&FriBackend, &VerifyPolicy::default());
}
