//! Prove and verify the benchmark MLP on halo2 and print one JSON line of measurements: key
//! generation (commitment key from its disk cache or generated, then the verifying and proving
//! keys) apart from proving.
//!
//! `cargo run --release -p zkmlops-halo2 --example halo2_mlp_bench -- --dims 64,256,256,10 [--weight-bits 16] [--committed]`
//!
//! The MLP of `zkmlops_conformance::cases::mlp` (the FRI `mlp_bench` and `plonky2_mlp_bench` examples prove
//! the same Program): input and weights private (or the weights committed with
//! `--committed`), output public.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use zkmlops_conformance::measure::{measure, mlp_from_args};
use zkmlops_halo2::Halo2Backend;
use zkmlops_tensor::Visibility;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let weights = if args.iter().any(|a| a == "--committed") {
        Visibility::Committed
    } else {
        Visibility::Private
    };
    let (dims, case, macs) = mlp_from_args(&args, weights).unwrap();
    let witness = case.program.evaluate(&case.inputs).unwrap();
    let t = Instant::now();
    let prepared = Halo2Backend.prepare(&case.program).unwrap();
    let setup_ms = t.elapsed().as_secs_f64() * 1e3;
    let m = measure(
        &Halo2Backend,
        zkmlops_halo2::PRESET,
        &case.program,
        &witness,
    )
    .unwrap();
    println!(
        "{{\"dims\":{dims:?},\"macs\":{macs},\"k\":{},\"rows\":{},\"setup_ms\":{setup_ms:.1},\"keygen_ms\":{:.1},{}}}",
        prepared.k,
        prepared.rows,
        prepared.keygen.as_secs_f64() * 1e3,
        m.json_fields()
    );
}
