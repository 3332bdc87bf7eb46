//! A committed proof per format version: it must keep verifying, so a change to the chips, the
//! transcript or the encoding shows up here, never by accident. Transparent proofs are also
//! reproduced byte for byte: the test proves inside a one-thread rayon pool, where Plonky3's
//! proof-of-work search (`find_any`) visits nonces in order and so finds the smallest, whatever
//! the machine's core count. Regenerate on purpose with
//! `ZKMLOPS_UPDATE_GOLDEN=1 cargo test -p zkmlops-fri --test golden`.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility, Witness};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/envelope_v2_program_v2_keccak.bin"
);
/// The golden proof in proof format 2 (tag `zkA2`, arithmetization 2): refused by its tag, with
/// a hint to re-prove.
const FIXTURE_FMT2: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/envelope_v2_program_v2_keccak_fmt2.bin"
);
/// The golden proof as arithmetization 1 made it (one instance per op, before instances were
/// shared by chip kind): refused by its missing format tag, with a hint to re-prove.
const FIXTURE_AIR1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/envelope_v2_program_v2_keccak_air1.bin"
);
/// The same proof in envelope format 1 (closed backend enums), kept to show it is refused by
/// version with a hint to re-prove, never misread.
const FIXTURE_V1: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/envelope_v1_program_v2_keccak.bin"
);
/// The Program the golden proof is for (the `verify_mutated` fuzz target reads it).
const PROGRAM_FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/golden_program_v2.zkp"
);

fn program() -> (Program, Witness) {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Public);
    let w = b.input("w", &[3, 2], s, Visibility::Private);
    let h = b.op("h", Op::MatMul, &[x, w]).unwrap();
    let h = b
        .op(
            "h4",
            Op::Rescale {
                shift: 4,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let y = b.op("y", Op::Relu, &[h]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[
            Tensor::matrix(&[[16, -8, 40]]).unwrap(),
            Tensor::matrix(&[[3, -20], [7, 1], [-2, 9]]).unwrap(),
        ])
        .unwrap();
    (p, w)
}

#[test]
fn golden_envelope_verifies_and_is_reproduced() {
    let (p, w) = program();
    let prove = || {
        FriBackend
            .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
            .unwrap()
            .to_bytes()
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let fresh = pool.install(prove);
    // Deterministic: a second run gives the same bytes.
    assert!(pool.install(prove) == fresh);
    if std::env::var_os("ZKMLOPS_UPDATE_GOLDEN").is_some() {
        std::fs::write(FIXTURE, &fresh).unwrap();
        std::fs::write(PROGRAM_FIXTURE, p.to_bytes()).unwrap();
    }
    assert_eq!(
        Program::from_bytes(&std::fs::read(PROGRAM_FIXTURE).unwrap()).unwrap(),
        p
    );
    let golden = std::fs::read(FIXTURE).unwrap();
    let env = ProofEnvelope::from_bytes(&golden).unwrap();
    FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    assert!(
        fresh == golden,
        "the proof format changed: regenerate the fixture on purpose (see the file's doc)"
    );
}

#[test]
fn a_version_1_envelope_is_refused_by_version_with_a_hint() {
    let old = std::fs::read(FIXTURE_V1).unwrap();
    let err = ProofEnvelope::from_bytes(&old).unwrap_err();
    assert_eq!(
        err,
        zkmlops_proof::EnvelopeError::UnsupportedVersion {
            found: 1,
            supported: 2
        }
    );
    assert!(err.to_string().contains("re-proved"), "{err}");
}

#[test]
fn proofs_of_earlier_arithmetizations_are_refused_by_format_with_a_hint() {
    let (p, _) = program();
    for (fixture, tag) in [(FIXTURE_AIR1, None), (FIXTURE_FMT2, Some(*b"zkA2"))] {
        let old = ProofEnvelope::from_bytes(&std::fs::read(fixture).unwrap()).unwrap();
        if let Some(tag) = tag {
            assert_eq!(old.proof[..4], tag);
        }
        let err = FriBackend
            .verify(&p, &old, &VerifyPolicy::default())
            .unwrap_err();
        assert!(
            matches!(err, zkmlops_proof::VerifyError::ProofShape { .. }),
            "{err:?}"
        );
        let text = format!("{err} {:?}", std::error::Error::source(&err));
        assert!(text.contains("re-prove"), "{text}");
    }
}
