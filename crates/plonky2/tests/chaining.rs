//! Commitments made by plonky2 and by the FRI backend are the same digests of the same scheme:
//! a stage proved by one links to a stage proved by the other.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_fri::FriBackend;
use zkmlops_plonky2::Plonky2Backend;
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

#[test]
fn both_backends_commit_to_the_same_digests() {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Public);
    let salt = b.unbounded_input("salt", &[4], Scale::ONE, Visibility::Committed);
    let w = b.input("w", &[3, 2], s, Visibility::Committed);
    let _ = salt;
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    // A lineage group too: a computed tensor committed under group 1.
    b.output(y, Visibility::CommittedTo(1)).unwrap();
    let z = b.op("z", Op::Relu, &[y]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let wit = p
        .evaluate(&[
            Tensor::matrix(&[[16, -8, 40]]).unwrap(),
            Tensor::vector(vec![1 << 60, -(1 << 59), 12345, -6]),
            Tensor::matrix(&[[3, -20], [7, 1], [-2, 9]]).unwrap(),
        ])
        .unwrap();
    let by_fri = FriBackend
        .prove(&p, &wit, StageTag::Inference, "keccak")
        .unwrap();
    let by_plonky2 = Plonky2Backend
        .prove(&p, &wit, StageTag::Inference, "poseidon")
        .unwrap();
    assert_eq!(by_fri.statement.commitments.len(), 2);
    assert_eq!(
        by_fri.statement.commitments,
        by_plonky2.statement.commitments
    );
    assert_eq!(
        by_fri.statement.commitment_scheme,
        by_plonky2.statement.commitment_scheme
    );
    assert_eq!(
        zkmlops_commit::statement_digest(&by_plonky2.statement, 0),
        zkmlops_commit::program_commitments(&p, &wit)
            .unwrap()
            .first()
            .map(|c| c.1)
    );
    FriBackend
        .verify(&p, &by_fri, &VerifyPolicy::default())
        .unwrap();
    Plonky2Backend
        .verify(&p, &by_plonky2, &VerifyPolicy::default())
        .unwrap();
    // The plonky2 proof does not verify under a changed commitment.
    let mut bad = by_plonky2.clone();
    bad.statement.commitments[1].digest = by_plonky2.statement.commitments[0].digest;
    assert!(
        Plonky2Backend
            .verify(&p, &bad, &VerifyPolicy::default())
            .is_err()
    );
}
