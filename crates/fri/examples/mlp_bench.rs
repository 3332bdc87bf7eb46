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

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig, circuit_stats};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

fn mlp(dims: &[usize], weight_bits: Option<u8>) -> (Program, usize) {
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let mut x = b.input("input", &[1, dims[0]], s, Visibility::Private);
    let mut macs = 0;
    for (l, w) in dims.windows(2).enumerate() {
        let wt = b.input(&format!("w{l}"), &[w[1], w[0]], s, Visibility::Private);
        if let Some(bits) = weight_bits {
            b.set_bits(wt, bits).expect("--weight-bits takes 1..=64");
        }
        let bias = b.input(
            &format!("b{l}"),
            &[w[1]],
            s.product(s).unwrap(),
            Visibility::Private,
        );
        let h = b
            .op(
                &format!("fc{l}"),
                Op::Gemm {
                    trans_a: false,
                    trans_b: true,
                },
                &[x, wt, bias],
            )
            .unwrap();
        x = b
            .op(
                &format!("fc{l}_rescaled"),
                Op::Rescale {
                    shift: 8,
                    rounding: Rounding::HalfUp,
                },
                &[h],
            )
            .unwrap();
        if l + 2 < dims.len() {
            x = b.op(&format!("relu{l}"), Op::Relu, &[x]).unwrap();
        }
        macs += w[0] * w[1];
    }
    b.output(x, Visibility::Public).unwrap();
    (b.build().unwrap(), macs)
}

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
    let (program, macs) = mlp(&dims, weight_bits);

    let mut rng = StdRng::seed_from_u64(42);
    let mut inputs = vec![
        Tensor::new(
            vec![1, dims[0]],
            (0..dims[0]).map(|_| rng.random_range(-256..256)).collect(),
        )
        .unwrap(),
    ];
    for w in dims.windows(2) {
        let bound = (256.0 / (w[0] as f64).sqrt()).ceil() as i64;
        inputs.push(
            Tensor::new(
                vec![w[1], w[0]],
                (0..w[0] * w[1])
                    .map(|_| rng.random_range(-bound..=bound))
                    .collect(),
            )
            .unwrap(),
        );
        inputs.push(Tensor::vector(
            (0..w[1]).map(|_| rng.random_range(-65536..65536)).collect(),
        ));
    }
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
