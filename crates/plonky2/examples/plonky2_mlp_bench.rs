//! Prove and verify the benchmark MLP on plonky2 and print one JSON line of measurements.
//!
//! `cargo run --release -p zkmlops-plonky2 --example plonky2_mlp_bench -- --dims 64,256,256,10 [--preset poseidon] [--weight-bits 16]`
//!
//! The MLP of `zkmlops_conformance::cases::mlp` (the FRI `mlp_bench` and `halo2_mlp_bench` examples prove
//! the same Program): input and weights private, output public. Prove time includes building
//! the circuit (the first proof of a Program; later ones reuse it).
#![allow(clippy::unwrap_used)]

use zkmlops_conformance::measure::{arg, measure, mlp_from_args};
use zkmlops_plonky2::Plonky2Backend;
use zkmlops_tensor::Visibility;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let preset = arg(&args, "--preset").unwrap_or_else(|| "poseidon".into());
    let (dims, case, macs) = mlp_from_args(&args, Visibility::Private).unwrap();
    let witness = case.program.evaluate(&case.inputs).unwrap();
    let m = measure(&Plonky2Backend, &preset, &case.program, &witness).unwrap();
    println!(
        "{{\"dims\":{dims:?},\"preset\":\"{preset}\",\"macs\":{macs},{}}}",
        m.json_fields()
    );
}
