//! One product of two committed witness matrices, `P = A B` (`A [m, k]`, `B [k, n]`), proved
//! two ways; prints one JSON line per size:
//!
//! - `direct`: `P = matmul(A, B)`, every multiply-accumulate proved, `P` committed.
//! - `freivalds`: [`zkmlops_train::prove_product`]: `P` a committed input, the check
//!   `P R - A (B R) = 0` with `R` drawn by Fiat–Shamir from the commitments, `O(mk + kn + mn)`.
//!
//! `cargo run --release -p zkmlops-train --example freivalds_bench -- [--preset keccak]`
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation
)]

use std::time::Instant;

use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

fn random(state: &mut u64, len: usize) -> Vec<i64> {
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state % 2049) as i64 - 1024
        })
        .collect()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let preset = args
        .iter()
        .position(|a| a == "--preset")
        .and_then(|i| args.get(i + 1))
        .map_or("keccak", String::as_str);
    let config = FriConfig::from_name(preset).unwrap();
    let policy = VerifyPolicy::default();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let salts = [&[1, 2, 3, 4], &[5, 6, 7, 8]];
    for (m, k, n) in [(32, 32, 10), (64, 32, 32), (128, 64, 128), (256, 128, 256)] {
        let a = Tensor::new(vec![m, k], random(&mut state, m * k)).unwrap();
        let b = Tensor::new(vec![k, n], random(&mut state, k * n)).unwrap();

        // Direct: the same commitments, the product computed in the proof.
        let s = Scale::new(8).unwrap();
        let mut pb = ProgramBuilder::new();
        pb.unbounded_input("inputs/salt", &[4], s, Visibility::CommittedTo(1));
        let ai = pb.input("a", &[m, k], s, Visibility::CommittedTo(1));
        let bi = pb.input("b", &[k, n], s, Visibility::CommittedTo(1));
        pb.unbounded_input("product/salt", &[4], s, Visibility::CommittedTo(2));
        let p = pb.op("p", Op::MatMul, &[ai, bi]).unwrap();
        pb.output(p, Visibility::CommittedTo(2)).unwrap();
        let direct = pb.build().unwrap();
        let w = direct
            .evaluate(&[
                Tensor::vector(salts[0].to_vec()),
                a.clone(),
                b.clone(),
                Tensor::vector(salts[1].to_vec()),
            ])
            .unwrap();
        let t = Instant::now();
        let env = FriBackend
            .prove(&direct, &w, StageTag::Training, config.name())
            .unwrap();
        let direct_ms = t.elapsed().as_secs_f64() * 1e3;
        FriBackend.verify(&direct, &env, &policy).unwrap();
        let product = w.get(direct.outputs()[0]).unwrap().clone();

        // Freivalds: the same committed product, checked.
        let t = Instant::now();
        let proof =
            zkmlops_train::prove_product(&a, &b, &product, 8, salts, &FriBackend, config.name())
                .unwrap();
        let freivalds_ms = t.elapsed().as_secs_f64() * 1e3;
        proof.verify(&FriBackend, &policy).unwrap();
        assert_eq!(
            proof.envelope.statement.commitments[1].digest,
            env.statement.commitments[1].digest
        );
        println!(
            "{{\"m\":{m},\"k\":{k},\"n\":{n},\"macs\":{},\"preset\":\"{preset}\",\"direct_ms\":{direct_ms:.0},\"freivalds_ms\":{freivalds_ms:.0},\"direct_bytes\":{},\"freivalds_bytes\":{}}}",
            m * k * n,
            env.proof.len(),
            proof.envelope.proof.len()
        );
    }
}
