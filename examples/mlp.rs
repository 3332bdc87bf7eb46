//! Build a small MLP Program by hand (gemm -> rescale -> relu -> gemm), evaluate it with the
//! integer reference semantics, prove it with the default FRI backend (input and weights
//! private, output public), verify the proof and print what was proved.
//!
//! `cargo run --release --example mlp`

#![allow(clippy::cast_possible_wrap)]

use std::time::Instant;
use zkmlops_field::Scale;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let s = Scale::new(8)?;
    let gemm = Op::Gemm {
        trans_a: false,
        trans_b: true,
    };
    let mut b = ProgramBuilder::new();
    let x = b.input("input", &[1, 4], s, Visibility::Private);
    let w1 = b.input("w1", &[8, 4], s, Visibility::Private);
    let b1 = b.input("b1", &[8], s.product(s)?, Visibility::Private);
    let w2 = b.input("w2", &[3, 8], s, Visibility::Private);
    let b2 = b.input("b2", &[3], s.product(s)?, Visibility::Private);
    let h = b.op("h", gemm.clone(), &[x, w1, b1])?;
    let h = b.op(
        "h_rescaled",
        Op::Rescale {
            shift: 8,
            rounding: Rounding::HalfUp,
        },
        &[h],
    )?;
    let a = b.op("a", Op::Relu, &[h])?;
    let y = b.op("logits", gemm, &[a, w2, b2])?;
    let y = b.op(
        "logits_rescaled",
        Op::Rescale {
            shift: 8,
            rounding: Rounding::HalfUp,
        },
        &[y],
    )?;
    b.output(y, Visibility::Public)?;
    let program = b.build()?;

    // Deterministic weights in [-1, 1), an input of [0.5, -1.25, 2.0, 0.0].
    let det = |n: usize, k: i64| {
        (0..n)
            .map(|i| ((i as i64 * 37 + k * 11) % 512) - 256)
            .collect::<Vec<_>>()
    };
    let input = Tensor::matrix(&[[s.encode(0.5)?, s.encode(-1.25)?, s.encode(2.0)?, 0]])?;
    let inputs = [
        input,
        Tensor::new(vec![8, 4], det(32, 1))?,
        Tensor::vector(det(8, 2).into_iter().map(|v| v << 8).collect()),
        Tensor::new(vec![3, 8], det(24, 3))?,
        Tensor::vector(det(3, 4).into_iter().map(|v| v << 8).collect()),
    ];
    let witness = program.evaluate(&inputs)?;
    program.check_witness(&witness)?;

    println!("program digest  {}", program.digest());
    println!(
        "tensors {}, nodes {}",
        program.tensors().len(),
        program.nodes().len()
    );
    for (d, t) in program.tensors().iter().zip(witness.values()) {
        let (lo, hi) = t
            .data()
            .iter()
            .fold((i64::MAX, i64::MIN), |(l, h), &v| (l.min(v), h.max(v)));
        println!(
            "  {:<16} {:?} at {} ({:?}) min {} max {}",
            d.name, d.shape, d.scale, d.visibility, lo, hi
        );
    }

    let t = Instant::now();
    let envelope = FriBackend.prove(
        &program,
        &witness,
        StageTag::Inference,
        FriConfig::KECCAK.name(),
    )?;
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let bytes = envelope.to_bytes();
    // What a verifier receives: the envelope bytes and the Program (no weights, no input).
    let received = ProofEnvelope::from_bytes(&bytes)?;
    let t = Instant::now();
    let verified = FriBackend.verify(&program, &received, &VerifyPolicy::default())?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;

    let p = &verified.params;
    println!(
        "proved in {prove_ms:.1} ms, verified in {verify_ms:.1} ms: {} bytes, preset {}, {} conjectured bits, post-quantum {}, zero knowledge {}",
        bytes.len(),
        p.preset,
        p.conjectured_security_bits,
        p.post_quantum,
        p.zero_knowledge
    );
    for out in &verified.statement.public {
        println!(
            "verified output {} = {:?}",
            program.tensors()[out.id.index()].name,
            out.decoded()
        );
    }
    Ok(())
}
