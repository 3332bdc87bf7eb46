//! The cost of committing weights inside a proof: `y = sum(w)` (public) over `n` weights that
//! are private (a source chip) or committed with a 4-element salt (the Poseidon2 commitment
//! chip). Prints one JSON line per size and visibility (best of 3 proofs).
//!
//! `cargo run --release -p zkmlops-fri --example commit_bench -- [--preset keccak] [--sizes 1000,10000,100000]`
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

fn program(n: usize, committed: bool) -> Program {
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    if committed {
        b.unbounded_input("salt", &[4], s, Visibility::Committed);
    }
    let vis = if committed {
        Visibility::Committed
    } else {
        Visibility::Private
    };
    let w = b.input("w", &[n], s, vis);
    let y = b
        .op(
            "y",
            Op::Sum {
                axes: vec![],
                keep_dims: false,
            },
            &[w],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let config = FriConfig::from_name(arg("--preset").map_or("keccak", String::as_str)).unwrap();
    let sizes: Vec<usize> = arg("--sizes")
        .map_or("1000,10000,100000", String::as_str)
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let mut rng = StdRng::seed_from_u64(9);
    for n in sizes {
        let w = Tensor::vector((0..n).map(|_| rng.random_range(-128..128)).collect());
        let salt = Tensor::vector(
            (0..4)
                .map(|_| rng.random_range(-(1i64 << 62)..(1i64 << 62)))
                .collect(),
        );
        for committed in [false, true] {
            let p = program(n, committed);
            let inputs = if committed {
                vec![salt.clone(), w.clone()]
            } else {
                vec![w.clone()]
            };
            let wit = p.evaluate(&inputs).unwrap();
            let mut best = f64::MAX;
            let mut env = None;
            for _ in 0..3 {
                let t = Instant::now();
                let e = FriBackend
                    .prove(&p, &wit, StageTag::Generic, config.name())
                    .unwrap();
                best = best.min(t.elapsed().as_secs_f64() * 1e3);
                env = Some(e);
            }
            let env = env.unwrap();
            let t = Instant::now();
            FriBackend
                .verify(&p, &env, &VerifyPolicy::default())
                .unwrap();
            let verify_ms = t.elapsed().as_secs_f64() * 1e3;
            println!(
                "{{\"weights\":{n},\"visibility\":\"{}\",\"preset\":\"{}\",\"prove_ms\":{best:.1},\"verify_ms\":{verify_ms:.1},\"proof_bytes\":{}}}",
                if committed { "committed" } else { "private" },
                config.name(),
                env.proof.len()
            );
        }
    }
}
