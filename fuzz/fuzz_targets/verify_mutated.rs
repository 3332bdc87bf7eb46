//! Mutate a valid FRI proof (the committed golden envelope) at fuzzer-chosen positions and
//! verify it: the verifier must return an error, never panic and never accept a changed proof.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkmlops_field::Scale;
use zkmlops_fri::FriBackend;
use zkmlops_proof::{ProofEnvelope, ProvingBackend, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Visibility};

const GOLDEN: &[u8] = include_bytes!("../../crates/fri/tests/fixtures/envelope_v1_keccak.bin");

/// The Program of the golden fixture (see `crates/fri/tests/golden.rs`).
fn program() -> Program {
    let s = Scale::new(4).expect("scale");
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Public);
    let w = b.input("w", &[3, 2], s, Visibility::Private);
    let h = b.op("h", Op::MatMul, &[x, w]).expect("matmul");
    let h = b.op("h4", Op::Rescale { shift: 4, rounding: Rounding::HalfUp }, &[h]).expect("rescale");
    let y = b.op("y", Op::Relu, &[h]).expect("relu");
    b.output(y, Visibility::Public).expect("output");
    b.build().expect("program")
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut env) = ProofEnvelope::from_bytes(GOLDEN) else { return };
    let original = env.proof.clone();
    let n = env.proof.len();
    // Each 4-byte chunk: a position (3 bytes) and an xor mask (1 byte).
    for c in data.chunks_exact(4) {
        let pos = (usize::from(c[0]) | usize::from(c[1]) << 8 | usize::from(c[2]) << 16) % n;
        env.proof[pos] ^= c[3];
    }
    let result = FriBackend.verify(&program(), &env, &VerifyPolicy::default());
    if env.proof != original {
        assert!(result.is_err(), "a mutated proof verified");
    }
});
