//! Prove one epoch of logistic-regression SGD on the committed breast-cancer training split
//! (455 x 30, batch 32: 14 steps) as `--segments` segments, verify the transcript, and prove
//! the test accuracy. Prints one JSON line.
//!
//! `cargo run --release -p zkmlops-train --example train_bench -- [--segments 1] [--preset keccak]
//! [--sizes]` (`--sizes`: where each Keccak-preset segment proof's bytes go, on stderr)
#![allow(clippy::unwrap_used, clippy::cast_possible_wrap)]

use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::VerifyPolicy;
use zkmlops_train::{Dataset, LogRegSpec, Model, RunSalts, prove_metrics, prove_run};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let segments: usize = arg("--segments").map_or(1, |s| s.parse().unwrap());
    let config = FriConfig::from_name(arg("--preset").map_or("keccak", String::as_str)).unwrap();
    let load = |name: &str| {
        let p = format!(
            "{}/data/breast_cancer_{name}.csv",
            env!("CARGO_MANIFEST_DIR")
        );
        Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
    };
    let (train, test) = (load("train"), load("test"));
    let spec = LogRegSpec {
        features: 30,
        batch: 32,
        learning_rate: 0.5,
        scale_bits: 10,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    };
    let steps = train.len() / spec.batch;
    assert_eq!(
        steps % segments,
        0,
        "--segments must divide the epoch's {steps} steps"
    );
    let salt = |k: i64| core::array::from_fn(|j| (k * 7919 + j as i64 + 1) << 40);
    let salts = RunSalts {
        data: salt(-1),
        checkpoints: (0..=segments as i64).map(salt).collect(),
    };
    let t = Instant::now();
    let (transcript, model) = prove_run(
        &spec,
        &train,
        &Model::zeros(&spec),
        &salts,
        steps / segments,
        segments,
        &FriBackend,
        config.name(),
    )
    .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    transcript
        .verify(&FriBackend, &VerifyPolicy::default())
        .unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    if args.iter().any(|a| a == "--sizes") {
        for e in &transcript.segments {
            for (k, v) in zkmlops_fri::size_breakdown(config, &e.proof).unwrap() {
                eprintln!("{k:>44}: {v:>9}");
            }
        }
    }
    let t = Instant::now();
    let metrics = prove_metrics(
        &spec,
        &model,
        &salts.checkpoints[segments],
        &test,
        &salt(-2),
        &FriBackend,
        config.name(),
    )
    .unwrap();
    let metrics_ms = t.elapsed().as_secs_f64() * 1e3;
    metrics
        .verify(&FriBackend, &VerifyPolicy::default())
        .unwrap();
    println!(
        "{{\"preset\":\"{}\",\"steps\":{steps},\"segments\":{segments},\"epoch_prove_ms\":{prove_ms:.0},\"transcript_verify_ms\":{verify_ms:.0},\"proof_bytes\":{},\"metrics_prove_ms\":{metrics_ms:.0},\"correct\":{},\"rows\":{}}}",
        config.name(),
        transcript
            .segments
            .iter()
            .map(|e| e.proof.len())
            .sum::<usize>(),
        metrics.correct,
        metrics.rows
    );
}
