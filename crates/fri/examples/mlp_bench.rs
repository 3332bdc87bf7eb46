//! Prove and verify an MLP of the given layer widths with the default preset and print one
//! JSON line of measurements.
//!
//! `cargo run --release -p zkmlops-fri --example mlp_bench -- --dims 64,256,256,10 [--preset keccak] [--weight-bits 16] [--visibility committed]`
//!
//! The MLP of `zkmlops_conformance::cases::mlp` (ReLU between layers, inputs in [-1, 1) and
//! weights uniform in +-1/sqrt(fan_in), all at scale 2^8, from a fixed seed; input and weights
//! private, output public): the `plonky2_mlp_bench` and `halo2_mlp_bench` examples prove the same Program.
#![allow(clippy::unwrap_used)]

use zkmlops_conformance::measure::{arg, measure, mlp_from_args};
use zkmlops_fri::{FriBackend, FriConfig, circuit_stats};
use zkmlops_tensor::Visibility;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let config = FriConfig::from_name(&arg(&args, "--preset").unwrap_or_else(|| "keccak".into()))
        .expect("unknown --preset");
    // The weights' declared bound (default: the Program default, 24 bits); narrower bounds
    // need fewer range-check limbs.
    let weights = match arg(&args, "--visibility").as_deref() {
        None | Some("private") => Visibility::Private,
        Some("committed") => Visibility::Committed,
        Some("public") => Visibility::Public,
        Some(other) => panic!("--visibility takes private, committed or public, not {other}"),
    };
    let (dims, case, macs) = mlp_from_args(&args, weights).unwrap();
    let witness = case.program.evaluate(&case.inputs).unwrap();
    let stats = circuit_stats(&case.program, config).unwrap();
    let trace_cells: usize = stats.iter().map(|s| s.width << s.log_height).sum();
    if std::env::var_os("ZKMLOPS_BENCH_VERBOSE").is_some() {
        for s in &stats {
            eprintln!("{s:?}");
        }
    }
    let m = measure(&FriBackend, config.name(), &case.program, &witness).unwrap();
    println!(
        "{{\"dims\":{dims:?},\"preset\":\"{}\",\"macs\":{macs},\"instances\":{},\"trace_cells\":{trace_cells},{}}}",
        config.name(),
        stats.len(),
        m.json_fields()
    );
}
