//! Prove one epoch of MLP 64-32-10 SGD on the committed digits training split (1,437 rows,
//! batch 32: 44 steps) as one segment, and verify it. Prints one JSON line.
//!
//! `cargo run --release -p zkmlops-train --example mlp_train_bench -- [--steps 44] [--preset keccak]`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_train::{Dataset, MlpModel, MlpSpec, Salts, mlp_segment_inputs, mlp_segment_program};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let config = FriConfig::from_name(arg("--preset").map_or("keccak", String::as_str)).unwrap();
    let p = format!("{}/data/digits_train.csv", env!("CARGO_MANIFEST_DIR"));
    let train = Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap();
    let spec = MlpSpec::DIGITS;
    let steps: usize = arg("--steps").map_or(train.len() / spec.batch, |s| s.parse().unwrap());
    let t = Instant::now();
    let program = mlp_segment_program(&spec, train.len(), 0, steps).unwrap();
    let salts = Salts {
        data: [1 << 50, 2 << 50, 3 << 50, 4 << 50],
        start: [5 << 50, 6 << 50, 7 << 50, 8 << 50],
        end: [9 << 50, 10 << 50, 11 << 50, 12 << 50],
    };
    let inputs = mlp_segment_inputs(&spec, &MlpModel::init(&spec, 7), &train, &salts).unwrap();
    let witness = program.evaluate(&inputs).unwrap();
    let witness_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let env = FriBackend
        .prove(&program, &witness, StageTag::Training, config.name())
        .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"preset\":\"{}\",\"steps\":{steps},\"nodes\":{},\"witness_ms\":{witness_ms:.0},\"prove_ms\":{prove_ms:.0},\"verify_ms\":{verify_ms:.0},\"proof_bytes\":{}}}",
        config.name(),
        program.nodes().len(),
        env.proof.len()
    );
}
