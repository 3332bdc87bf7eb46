//! The fuzz corpus seeds this crate owns (`fuzz/corpus/transcript_json/`, JSON and binary): a
//! real transcript
//! with its proof bytes emptied (a few KB instead of MBs: the fuzzer then spends its time on
//! the schedule, the spec and the Programs they give; `verify_mutated` fuzzes proof bytes),
//! kept decodable. Regenerate on purpose with
//! `ZKMLOPS_WRITE_FUZZ_SEEDS=1 cargo test -p zkmlops-train --test fuzz_seeds`.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{StageFile, VerifyPolicy};
use zkmlops_train::{Dataset, LogRegSpec, Model, RunSalts, TrainingTranscript, prove_run};

#[test]
fn the_transcript_seed_decodes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/transcript_json/logistic_two_segments.json");
    if std::env::var_os("ZKMLOPS_WRITE_FUZZ_SEEDS").is_some() {
        // Eight rows of four features: two segments of one step each.
        let csv = "f0,f1,f2,f3,label\n0.5,-1,0.25,2,1\n-0.5,1,0,-2,0\n1,0.5,-0.25,1,1\n\
                   -1,-0.5,0.5,-1,0\n0.25,0.75,-1,0.5,1\n-0.25,-0.75,1,-0.5,0\n\
                   0.75,0,0.5,1.5,1\n-0.75,0,-0.5,-1.5,0\n";
        let data = Dataset::from_csv(csv).unwrap();
        let spec = LogRegSpec {
            features: 4,
            batch: 4,
            learning_rate: 0.5,
            scale_bits: 8,
            value_bits: zkmlops_train::DATA_VALUE_BITS,
            link: zkmlops_train::Link::Logistic,
        };
        let salt = |k: i64| core::array::from_fn(|j| k * 1000 + i64::try_from(j).unwrap());
        let salts = RunSalts {
            data: salt(9),
            checkpoints: (0..=2).map(salt).collect(),
        };
        let (t, _) = prove_run(
            &spec,
            &data,
            &Model::zeros(&spec),
            &salts,
            1,
            2,
            &FriBackend,
            FriConfig::KECCAK.name(),
        )
        .unwrap();
        let mut t = t;
        t.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
        t.segments.iter_mut().for_each(|e| e.proof.clear());
        std::fs::write(&path, serde_json::to_vec(&t).unwrap()).unwrap();
    }
    let t: TrainingTranscript = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // The same seed as a binary stage file (the target reads both forms).
    let bin = path.with_extension("zkp");
    let bytes = t.to_binary().unwrap();
    if std::env::var_os("ZKMLOPS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::write(&bin, &bytes).unwrap();
    }
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        bytes,
        "regenerate with ZKMLOPS_WRITE_FUZZ_SEEDS=1"
    );
    // Everything checks out up to the (emptied) proof of the first segment.
    assert!(matches!(
        t.verify(&FriBackend, &VerifyPolicy::default()),
        Err(zkmlops_train::TranscriptError::Segment { index: 0, .. })
    ));
}
