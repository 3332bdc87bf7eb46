//! Prove and verify the benchmark MLP on halo2 and print one JSON line of measurements: key
//! generation (commitment key from its disk cache or generated, then the verifying and proving
//! keys) apart from proving.
//!
//! `cargo run --release -p zkmlops-halo2 --example mlp_bench -- --dims 64,256,256,10 [--weight-bits 16] [--committed]`
//!
//! The MLP of `zkmlops_conformance::cases::mlp` (the FRI backend's `mlp_bench` proves the same
//! Program): input and weights private (or the weights committed with `--committed`), output
//! public.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use zkmlops_halo2::Halo2Backend;
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::Visibility;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let dims: Vec<usize> = arg("--dims")
        .unwrap_or_else(|| "64,256,256,10".into())
        .split(',')
        .map(|d| {
            d.trim()
                .parse()
                .expect("--dims takes comma-separated widths")
        })
        .collect();
    let weight_bits =
        arg("--weight-bits").map(|b| b.parse().expect("--weight-bits takes a number"));
    let weights = if args.iter().any(|a| a == "--committed") {
        Visibility::Committed
    } else {
        Visibility::Private
    };
    let (case, macs) = zkmlops_conformance::cases::mlp(&dims, weight_bits, weights).unwrap();
    let program = case.program;
    let witness = program.evaluate(&case.inputs).unwrap();

    let t = Instant::now();
    let prepared = Halo2Backend.prepare(&program).unwrap();
    let setup_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let env = Halo2Backend
        .prove(&program, &witness, StageTag::Inference, "ipa")
        .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let verified = Halo2Backend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "{{\"dims\":{dims:?},\"macs\":{macs},\"k\":{},\"rows\":{},\"setup_ms\":{setup_ms:.1},\"keygen_ms\":{:.1},\"prove_ms\":{prove_ms:.1},\"verify_ms\":{verify_ms:.1},\"proof_bytes\":{},\"envelope_bytes\":{},\"security_bits\":{},\"peak_rss_mb\":{:.1}}}",
        prepared.k,
        prepared.rows,
        prepared.keygen.as_secs_f64() * 1e3,
        env.proof.len(),
        env.to_bytes().len(),
        verified.params.conjectured_security_bits,
        peak_rss_mb()
    );
}
