//! One product of two witness matrices, `P = A B` (`A [m, k]`, `B [k, n]`, both committed),
//! proved two ways; prints one JSON line per size:
//!
//! - `direct`: `P = matmul(A, B)`, every multiply-accumulate proved, `P` committed.
//! - `freivalds`: `P` a committed input and the check `P r - A (B r) = 0` for a vector `r`
//!   (public constants), `O(mk + kn + mn)` work. The randomness is a placeholder here (a fixed
//!   pseudo-random `r`): a sound version derives `r` from the statement's commitments to `P`
//!   and the inputs (see docs/training.md). A wrong `P` is caught: the public difference is
//!   not 0.
//!
//! `cargo run --release -p zkmlops-train --example freivalds_bench -- [--preset keccak]`
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use std::time::Instant;

use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{ProvingBackend, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

fn random(state: &mut u64, len: usize, bound: i64) -> Vec<i64> {
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state % (2 * bound as u64 + 1)) as i64 - bound
        })
        .collect()
}

fn program(m: usize, k: usize, n: usize, freivalds: bool, r: &[i64]) -> Program {
    let s = Scale::new(10).unwrap();
    let (inputs, product) = (Visibility::CommittedTo(1), Visibility::CommittedTo(2));
    let mut b = ProgramBuilder::new();
    b.input("in/salt", &[4], s, inputs);
    let a = b.input("a", &[m, k], s, inputs);
    let bb = b.input("b", &[k, n], s, inputs);
    b.input("p/salt", &[4], s, product);
    if freivalds {
        let p = b.input("p", &[m, n], s.product(s).unwrap(), product);
        let r = b
            .constant(
                "r",
                Tensor::new(vec![n, 1], r.to_vec()).unwrap(),
                Scale::ONE,
            )
            .unwrap();
        let br = b.op("b_r", Op::MatMul, &[bb, r]).unwrap();
        let abr = b.op("a_b_r", Op::MatMul, &[a, br]).unwrap();
        let pr = b.op("p_r", Op::MatMul, &[p, r]).unwrap();
        let diff = b.op("difference", Op::Sub, &[pr, abr]).unwrap();
        b.output(diff, Visibility::Public).unwrap();
    } else {
        let p = b.op("p", Op::MatMul, &[a, bb]).unwrap();
        b.output(p, product).unwrap();
    }
    b.build().unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let preset = args
        .iter()
        .position(|a| a == "--preset")
        .and_then(|i| args.get(i + 1))
        .map_or("keccak", String::as_str);
    let config = FriConfig::from_name(preset).unwrap();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for (m, k, n) in [(32, 32, 10), (64, 32, 32), (128, 64, 128), (256, 128, 256)] {
        let a = random(&mut state, m * k, 1 << 10);
        let b = random(&mut state, k * n, 1 << 10);
        let r = random(&mut state, n, 1 << 20);
        let p_direct = program(m, k, n, false, &r);
        let salt = vec![1, 2, 3, 4];
        let inputs = vec![
            Tensor::vector(salt.clone()),
            Tensor::new(vec![m, k], a.clone()).unwrap(),
            Tensor::new(vec![k, n], b.clone()).unwrap(),
            Tensor::vector(vec![5, 6, 7, 8]),
        ];
        let w = p_direct.evaluate(&inputs).unwrap();
        let t = Instant::now();
        let env = FriBackend
            .prove(&p_direct, &w, StageTag::Generic, &config)
            .unwrap();
        let direct_ms = t.elapsed().as_secs_f64() * 1e3;
        let direct_commitment = env.statement.commitments[1].digest;
        FriBackend
            .verify(&p_direct, &env, &VerifyPolicy::default())
            .unwrap();
        let product = w.get(p_direct.outputs()[0]).unwrap().clone();

        let p_check = program(m, k, n, true, &r);
        let mut inputs_f = inputs.clone();
        inputs_f.push(product.clone());
        let w = p_check.evaluate(&inputs_f).unwrap();
        let t = Instant::now();
        let env = FriBackend
            .prove(&p_check, &w, StageTag::Generic, &config)
            .unwrap();
        let freivalds_ms = t.elapsed().as_secs_f64() * 1e3;
        let v = FriBackend
            .verify(&p_check, &env, &VerifyPolicy::default())
            .unwrap();
        // Same committed product, and the check passes (all differences 0).
        assert_eq!(env.statement.commitments[1].digest, direct_commitment);
        assert!(v.statement.public[0].values.iter().all(|&d| d == 0));
        // A product wrong in one cell is caught by the public difference.
        let mut bad = product.into_data();
        bad[m * n / 2] += 1;
        inputs_f[4] = Tensor::new(vec![m, n], bad).unwrap();
        let w = p_check.evaluate(&inputs_f).unwrap();
        assert!(
            w.get(p_check.outputs()[0])
                .unwrap()
                .data()
                .iter()
                .any(|&d| d != 0)
        );
        println!(
            "{{\"m\":{m},\"k\":{k},\"n\":{n},\"macs\":{},\"preset\":\"{preset}\",\"direct_ms\":{direct_ms:.0},\"freivalds_ms\":{freivalds_ms:.0}}}",
            m * k * n
        );
    }
}
