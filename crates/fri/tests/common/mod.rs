//! Helpers shared by the backend's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::{Program, Tensor, Witness};

pub(crate) fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A tensor of the given shape with values in `lo..hi`.
pub(crate) fn random(rng: &mut StdRng, shape: &[usize], lo: i64, hi: i64) -> Tensor {
    let n: usize = shape.iter().product();
    Tensor::new(
        shape.to_vec(),
        (0..n).map(|_| rng.random_range(lo..hi)).collect(),
    )
    .unwrap()
}

/// Evaluate, prove, verify; check that every public tensor the verifier accepted equals the
/// reference. Returns the witness and envelope for further checks.
pub(crate) fn prove_and_verify(
    program: &Program,
    inputs: &[Tensor],
    config: FriConfig,
) -> (Witness, ProofEnvelope) {
    let witness = program.evaluate(inputs).unwrap();
    let env = FriBackend
        .prove(program, &witness, StageTag::Generic, config.name())
        .unwrap();
    let verified = FriBackend
        .verify(program, &env, &VerifyPolicy::default())
        .unwrap();
    assert!(!verified.statement.public.is_empty() || program.outputs().is_empty());
    for p in &verified.statement.public {
        assert_eq!(
            p.values,
            witness.get(p.id).unwrap().data(),
            "public tensor {:?}",
            p.id
        );
    }
    assert!(
        verified.params.conjectured_security_bits >= 100,
        "{:?}",
        verified.params
    );
    (witness, env)
}
