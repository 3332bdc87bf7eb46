//! The fuzz corpus seeds this crate owns (`fuzz/corpus/preprocess_proof_json/`, JSON and binary): a real
//! preprocessing proof with its proof bytes emptied (KBs, not MBs; `verify_mutated` fuzzes
//! proof bytes), kept decodable. Regenerate on purpose with
//! `ZKMLOPS_WRITE_FUZZ_SEEDS=1 cargo test -p zkmlops-preprocess --test fuzz_seeds`.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_preprocess::{Pipeline, PreprocessProof, RawTable, Salts, prove};
use zkmlops_proof::{StageFile, VerifyPolicy};

fn corpus(target: &str, file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
        .join(file)
}

#[test]
fn the_preprocessing_proof_seed_decodes() {
    let path = corpus("preprocess_proof_json", "every_step.json");
    if std::env::var_os("ZKMLOPS_WRITE_FUZZ_SEEDS").is_some() {
        let text = std::fs::read_to_string(corpus("pipeline_toml", "every_step.toml")).unwrap();
        let p: Pipeline = toml::from_str(&text).unwrap();
        let csv = std::fs::read_to_string(corpus("preprocess_csv", "ok.csv")).unwrap();
        let table = RawTable::from_csv(&p, &csv).unwrap();
        let salts = Salts {
            raw: [1; 4],
            train: [2; 4],
            test: [3; 4],
        };
        let (mut proof, _) =
            prove(&p, &table, &salts, &FriBackend, FriConfig::KECCAK.name()).unwrap();
        proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
        proof.envelope.proof.clear();
        std::fs::write(&path, serde_json::to_vec(&proof).unwrap()).unwrap();
    }
    let proof: PreprocessProof = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // It decodes and is refused at the (emptied) proof bytes.
    assert!(proof.verify(&FriBackend, &VerifyPolicy::default()).is_err());
    // The same seed as a binary stage file (the target reads both forms).
    let bin = path.with_extension("zkp");
    let bytes = proof.to_binary().unwrap();
    if std::env::var_os("ZKMLOPS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::write(&bin, &bytes).unwrap();
    }
    assert_eq!(
        std::fs::read(&bin).unwrap(),
        bytes,
        "regenerate with ZKMLOPS_WRITE_FUZZ_SEEDS=1"
    );
}
