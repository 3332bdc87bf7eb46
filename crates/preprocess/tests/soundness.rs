//! The preprocessing Program attacked with the backend's cheating prover
//! (`zkmlops_fri::testing`): a raw cell one unit past its declared bound, clipped away by the
//! pipeline so that every processed value, statistic and commitment is consistent with it.
//! Only the raw column's bound chip stands between this and an accepted proof, and it holds.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig, testing};
use zkmlops_preprocess::{Pipeline, RawTable, Salts, prove};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};

fn corpus(target: &str, file: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/corpus")
            .join(target)
            .join(file),
    )
    .unwrap()
}

#[test]
fn a_raw_cell_past_its_declared_bound_is_rejected() {
    // Columns a (clipped to [-8, 8], filtered a >= -4), b, c; the every-step pipeline.
    let p: Pipeline = toml::from_str(&corpus("pipeline_toml", "every_step.toml")).unwrap();
    let mut table = RawTable::from_csv(&p, &corpus("preprocess_csv", "ok.csv")).unwrap();
    let salts = Salts {
        raw: [1; 4],
        train: [2; 4],
        test: [3; 4],
    };
    let k = FriConfig::KECCAK;
    let (proof, _) = prove(&p, &table, &salts, &FriBackend, k.name()).unwrap();
    let program = zkmlops_preprocess::testing::program(&proof).unwrap();
    // Row 3 has a = 7.0 (kept by the filter, clipped to 7): make it 2^23 at scale 2^4, one
    // past the default bound [-2^23, 2^23 - 1]; the clip makes it 8.0 downstream.
    table.columns[0].values[3] = 1 << 23;
    let inputs = zkmlops_preprocess::testing::inputs(&p, &table, &salts).unwrap();
    let relaxed = testing::relaxed(&program).unwrap();
    assert!(program.evaluate(&inputs).is_err());
    let witness = relaxed.evaluate(&inputs).unwrap();
    let stage = proof.envelope.statement.stage;
    let d = testing::diagnose(&program, &witness, stage, k, |_| {}).unwrap();
    assert!(d.only_bus(testing::RANGE), "{d:?}");
    let env = testing::prove_edited(&program, &witness, stage, k, |_| {}).unwrap();
    let e = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
    assert_ne!(stage, StageTag::Inference);
}
