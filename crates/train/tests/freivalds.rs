//! The Freivalds product check: a true product verifies, a wrong one cannot be proved, and a
//! proof built with a challenge not derived from its own commitments is rejected.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::testing::{Tamper, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{StageTag, VerifyPolicy};
use zkmlops_tensor::{Tensor, ops};
use zkmlops_train::{
    CHALLENGES, MetricsError, ProductProof, challenge, product_check_program, prove_product,
};

fn matrices() -> (Tensor, Tensor, Tensor) {
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut next = move |len: usize| -> Vec<i64> {
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                i64::try_from(s % 2049).unwrap() - 1024
            })
            .collect()
    };
    let a = Tensor::new(vec![12, 8], next(96)).unwrap();
    let b = Tensor::new(vec![8, 5], next(40)).unwrap();
    let p = ops::matmul(&a, &b).unwrap();
    (a, b, p)
}

#[test]
fn a_true_product_verifies_and_a_wrong_one_is_rejected() {
    let (a, b, p) = matrices();
    let salts = [&[1, 2, 3, 4], &[5, 6, 7, 8]];
    let k = FriConfig::KECCAK;
    let policy = VerifyPolicy::default();
    let proof = prove_product(&a, &b, &p, 8, salts, &FriBackend, k.name()).unwrap();
    proof.verify(&FriBackend, &policy).unwrap();
    // JSON round trip.
    let back: ProductProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
    back.verify(&FriBackend, &policy).unwrap();

    // A product wrong in one cell: the check is not zero, so there is nothing to prove.
    let mut bad = p.clone().into_data();
    bad[17] += 1;
    let wrong = Tensor::new(vec![12, 5], bad).unwrap();
    assert!(matches!(
        prove_product(&a, &b, &wrong, 8, salts, &FriBackend, k.name()),
        Err(MetricsError::ProductCheck)
    ));

    // A cheat that proves the wrong product against a challenge of its choosing (all zeros,
    // which every P passes): the verifier derives R from the commitments, gets another Program,
    // and rejects.
    let zeros = vec![0; 5 * CHALLENGES];
    let program = product_check_program(12, 8, 5, 8, &zeros).unwrap();
    let w = program
        .evaluate(&[
            Tensor::vector(salts[0].to_vec()),
            a.clone(),
            b.clone(),
            Tensor::vector(salts[1].to_vec()),
            wrong.clone(),
        ])
        .unwrap();
    let envelope = prove_tampered(
        &program,
        &w,
        StageTag::Training,
        k,
        Tamper::SkipWitnessCheck,
    )
    .unwrap();
    let cheat = ProductProof {
        shape: [12, 8, 5],
        scale_bits: 8,
        inputs_commitment: zkmlops_commit::commit_lineage(&[salts[0], a.data(), b.data()]),
        product_commitment: zkmlops_commit::commit_lineage(&[salts[1], wrong.data()]),
        envelope,
    };
    assert!(matches!(
        cheat.verify(&FriBackend, &policy),
        Err(MetricsError::Verify(_))
    ));
    // The derived challenge is not degenerate and depends on the product.
    let r = challenge(&cheat.inputs_commitment, &cheat.product_commitment, 5);
    assert!(r.iter().any(|&x| x != 0));
    assert_ne!(
        r,
        challenge(&proof.inputs_commitment, &proof.product_commitment, 5)
    );

    // Claims that do not match the envelope's commitments.
    let mut other = proof.clone();
    other.product_commitment = cheat.product_commitment;
    assert!(matches!(
        other.verify(&FriBackend, &policy),
        Err(MetricsError::Commitment { which: "product" })
    ));
}
