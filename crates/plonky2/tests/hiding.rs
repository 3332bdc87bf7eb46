//! The hiding preset on one Program (its full conformance suite is behind `slow-tests`).
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_plonky2::Plonky2Backend;
use zkmlops_proof::{Backend, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

#[test]
fn a_hiding_proof_verifies_claims_zero_knowledge_and_binds_its_outputs() {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Private);
    let w = b.input("w", &[3, 2], s, Visibility::Private);
    let h = b.op("h", Op::MatMul, &[x, w]).unwrap();
    let h = b
        .op(
            "h4",
            Op::Rescale {
                shift: 4,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let y = b.op("y", Op::Relu, &[h]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let wit = p
        .evaluate(&[
            Tensor::matrix(&[[16, -8, 40]]).unwrap(),
            Tensor::matrix(&[[3, -20], [7, 1], [-2, 9]]).unwrap(),
        ])
        .unwrap();
    let env = Plonky2Backend
        .prove(&p, &wit, StageTag::Inference, "poseidon-zk")
        .unwrap();
    assert!(env.params.zero_knowledge && env.params.post_quantum && env.params.transparent);
    let policy = VerifyPolicy {
        require_zero_knowledge: true,
        ..VerifyPolicy::default()
    };
    let v = Plonky2Backend.verify(&p, &env, &policy).unwrap();
    assert_eq!(v.statement.public[0].values, wit.get(y).unwrap().data());
    let mut bad = env.clone();
    bad.statement.public[0].values[1] += 1;
    assert!(matches!(
        Plonky2Backend.verify(&p, &bad, &policy),
        Err(VerifyError::Rejected { .. })
    ));
}
