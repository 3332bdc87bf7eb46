//! Prove and verify an MLP of the given layer widths with the default preset and print one
//! JSON line of measurements.
//!
//! `cargo run --release -p zkmlops-fri --example mlp_bench -- --dims 64,256,256,10 [--preset keccak] [--weight-bits 16]`
//!
//! ReLU between layers, inputs in [-1, 1) and weights uniform in +-1/sqrt(fan_in), all at scale
//! 2^8, from a fixed seed; input and weights private, output public.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig, circuit_stats};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};

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
    let config = FriConfig::from_name(&arg("--preset").unwrap_or_else(|| "keccak".into()))
        .expect("unknown --preset");
    // The weights' declared bound (default: the Program default, 24 bits); narrower bounds
    // need fewer range-check limbs.
    let weight_bits =
        arg("--weight-bits").map(|b| b.parse().expect("--weight-bits takes a number"));
    let (case, macs) =
        zkmlops_conformance::cases::mlp(&dims, weight_bits, zkmlops_tensor::Visibility::Private)
            .unwrap();
    let (program, inputs) = (case.program, case.inputs);
    let witness = program.evaluate(&inputs).unwrap();
    let stats = circuit_stats(&program, config).unwrap();
    let trace_cells: usize = stats.iter().map(|s| s.width << s.log_height).sum();
    if std::env::var_os("ZKMLOPS_BENCH_VERBOSE").is_some() {
        for s in &stats {
            eprintln!("{s:?}");
        }
    }

    let t = Instant::now();
    let env = FriBackend
        .prove(&program, &witness, StageTag::Inference, config.name())
        .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let verified = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;

    println!(
        "{{\"dims\":{:?},\"preset\":\"{}\",\"macs\":{},\"instances\":{},\"trace_cells\":{},\"prove_ms\":{:.1},\"verify_ms\":{:.1},\"proof_bytes\":{},\"security_bits\":{},\"peak_rss_mb\":{:.1}}}",
        dims,
        config.name(),
        macs,
        stats.len(),
        trace_cells,
        prove_ms,
        verify_ms,
        env.to_bytes().len(),
        verified.params.conjectured_security_bits,
        peak_rss_mb()
    );
}
