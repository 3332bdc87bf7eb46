//! Committed tensors: the commitment chip (Poseidon2 sponge AIR) against the native
//! commitment, binding, and zero knowledge.
#![allow(clippy::unwrap_used)]

mod common;

use common::{random, rng};
use zkmlops_commit::{Digest, commit};
use zkmlops_field::Scale;
use zkmlops_fri::testing::{Tamper, instances, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, StatementError, VerifyError, VerifyPolicy};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility, Witness};

/// `y = x W^T` with `W` committed together with a 4-element salt; `x` private, `y` public.
fn program(k: usize, n: usize) -> Program {
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, k], s, Visibility::Private);
    let _salt = b.unbounded_input("salt", &[4], Scale::new(1).unwrap(), Visibility::Committed);
    let w = b.input("w", &[n, k], s, Visibility::Committed);
    let y = b
        .op(
            "y",
            Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &[x, w],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn witness(p: &Program, seed: u64, k: usize, n: usize) -> (Witness, Tensor, Tensor) {
    let mut r = rng(seed);
    let x = random(&mut r, &[1, k], -256, 256);
    let salt = random(&mut r, &[4], -(1 << 60), 1 << 60);
    let w = random(&mut r, &[n, k], -(1 << 20), 1 << 20);
    let wit = p.evaluate(&[x, salt.clone(), w.clone()]).unwrap();
    (wit, salt, w)
}

#[test]
fn committed_weights_prove_and_the_in_proof_digest_is_the_native_commitment() {
    for (seed, k, n) in [(1, 4, 3), (2, 7, 5), (3, 16, 16)] {
        let p = program(k, n);
        let (w, salt, weights) = witness(&p, seed, k, n);
        let env = FriBackend
            .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK.name())
            .unwrap();
        assert!(instances(&p, FriConfig::KECCAK).contains(&"commit"));
        let v = FriBackend
            .verify(&p, &env, &VerifyPolicy::default())
            .unwrap();
        let native = commit(&p, &[salt.data(), weights.data()]);
        assert_eq!(v.statement.commitments.len(), 1);
        assert_eq!(
            v.statement.commitments[0].id.0, 1,
            "listed under the salt's id"
        );
        assert_eq!(
            Digest::from_bytes(&v.statement.commitments[0].digest).unwrap(),
            native
        );
    }
}

#[test]
fn commitment_changed_in_the_statement_rejected() {
    let p = program(4, 3);
    let (w, _, _) = witness(&p, 4, 4, 3);
    let mut env = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK.name())
        .unwrap();
    // Another valid digest (canonical limbs): the proof is not for it.
    let other = commit(&p, &[&[1, 2, 3, 4]]);
    env.statement.commitments[0].digest = other.to_bytes();
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e:?}");
    // A non-canonical digest is a shape error, never a panic.
    env.statement.commitments[0].digest = [0xff; 32];
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(matches!(e, VerifyError::ProofShape { .. }), "{e:?}");
    // Another commitment scheme named: a FRI verifier never reads it as its own.
    env.statement.commitments[0].digest = other.to_bytes();
    env.statement.commitment_scheme = Some(zkmlops_proof::SchemeId::new("poseidon-pasta/v1"));
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(
        matches!(e, VerifyError::Statement(StatementError::Scheme)),
        "{e:?}"
    );
    // No commitment at all: the statement is malformed (a scheme without commitments).
    env.statement.commitments.clear();
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(
        matches!(
            e,
            VerifyError::Envelope(zkmlops_proof::EnvelopeError::Statement(
                StatementError::Scheme
            ))
        ),
        "{e:?}"
    );
    // Neither commitments nor scheme: the statement does not fit the Program.
    env.statement.commitment_scheme = None;
    let e = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(matches!(e, VerifyError::Statement(_)), "{e:?}");
}

#[test]
fn one_changed_weight_gives_another_commitment() {
    let p = program(4, 3);
    let mut r = rng(5);
    let x = random(&mut r, &[1, 4], -256, 256);
    let salt = random(&mut r, &[4], -(1 << 60), 1 << 60);
    let w = random(&mut r, &[3, 4], -(1 << 20), 1 << 20);
    let mut w2 = w.data().to_vec();
    w2[7] += 1;
    let w2 = Tensor::new(vec![3, 4], w2).unwrap();
    let published = commit(&p, &[salt.data(), w.data()]);
    let wit = p.evaluate(&[x, salt, w2]).unwrap();
    let env = FriBackend
        .prove(&p, &wit, StageTag::Inference, FriConfig::KECCAK.name())
        .unwrap();
    // The proof verifies, but for a different commitment than the published one.
    let v = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    assert_ne!(
        Digest::from_bytes(&v.statement.commitments[0].digest).unwrap(),
        published
    );
}

#[test]
fn commitment_wrong_witness_cell_rejected() {
    let p = program(4, 3);
    let (w, _, _) = witness(&p, 6, 4, 3);
    let kinds = instances(&p, FriConfig::KECCAK);
    let commit_instance = kinds.iter().position(|k| *k == "commit").unwrap();
    // An absorbed value (first absorb column, row 1) and a Poseidon2 round cell (row 0).
    for col in [zkmlops_fri::testing::commit_absorb_column(), 40] {
        let env = prove_tampered(
            &p,
            &w,
            StageTag::Inference,
            FriConfig::KECCAK,
            Tamper::MainCell {
                instance: commit_instance,
                row: 1,
                col,
                delta: 1,
            },
        )
        .unwrap();
        assert!(
            FriBackend
                .verify(&p, &env, &VerifyPolicy::default())
                .is_err()
        );
    }
}

#[test]
fn hiding_proofs_differ_verify_and_do_not_contain_the_weights() {
    let p = program(16, 16);
    let (w, salt, weights) = witness(&p, 7, 16, 16);
    let a = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK_ZK.name())
        .unwrap();
    let b = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK_ZK.name())
        .unwrap();
    assert_ne!(a.proof, b.proof);
    for env in [&a, &b] {
        let v = FriBackend
            .verify(&p, env, &VerifyPolicy::default())
            .unwrap();
        assert!(v.params.zero_knowledge);
        let bytes = env.to_bytes();
        // Every number in the statement (public values, digests as hex are not numbers).
        let statement = serde_json::to_string(&env.statement).unwrap();
        let numbers: Vec<&str> = statement
            .split(|c: char| !(c.is_ascii_digit() || c == '-'))
            .filter(|t| !t.is_empty())
            .collect();
        for &x in salt
            .data()
            .iter()
            .chain(weights.data())
            .chain(w.get(zkmlops_tensor::TensorId(0)).unwrap().data())
        {
            let felt = zkmlops_commit::felt(x);
            let le = p3_field::PrimeField64::as_canonical_u64(&felt).to_le_bytes();
            // |x| < 2^60 for weights and salt: 8 specific bytes, never there by chance.
            if x.unsigned_abs() > 1 << 12 {
                assert!(
                    !bytes.windows(8).any(|win| win == le),
                    "value {x} in the proof bytes"
                );
                assert!(
                    !numbers.contains(&x.to_string().as_str()),
                    "value {x} in the statement"
                );
            }
        }
    }
}

#[test]
fn every_public_value_changed_alone_is_rejected() {
    let p = program(4, 3);
    let (w, _, _) = witness(&p, 8, 4, 3);
    let env = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK_ZK.name())
        .unwrap();
    FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    let policy = VerifyPolicy::default();
    type Mutation = Box<dyn Fn(&mut zkmlops_proof::ProofEnvelope)>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "output value",
            Box::new(|e| e.statement.public[0].values[1] += 1),
        ),
        (
            "commitment digest",
            Box::new(|e| e.statement.commitments[0].digest[3] ^= 1),
        ),
        (
            "program digest",
            Box::new(|e| {
                e.statement.program_digest = zkmlops_tensor::ProgramDigest::of_encoding(b"other");
            }),
        ),
        (
            "stage",
            Box::new(|e| e.statement.stage = StageTag::Training),
        ),
        (
            "security bits",
            Box::new(|e| e.params.conjectured_security_bits -= 1),
        ),
        (
            "zero-knowledge flag",
            Box::new(|e| e.params.zero_knowledge = false),
        ),
        ("preset", Box::new(|e| e.params.preset = "keccak".into())),
    ];
    for (what, mutate) in mutations {
        let mut bad = env.clone();
        mutate(&mut bad);
        assert!(
            FriBackend.verify(&p, &bad, &policy).is_err(),
            "{what} changed alone verified"
        );
    }
}

/// Two lineage groups: `start = (salt_a, w)` committed as inputs, `end = (salt_b, y)` with `y`
/// computed; plus the model group (`Committed`, group 0) on `k`.
fn two_groups() -> Program {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Private);
    let k = b.input("k", &[3, 3], s, Visibility::Committed);
    let salt_a = b.unbounded_input("salt_a", &[4], s, Visibility::CommittedTo(1));
    let w = b.input(
        "w",
        &[1, 3],
        s.product(s).unwrap(),
        Visibility::CommittedTo(1),
    );
    let salt_b = b.unbounded_input("salt_b", &[4], s, Visibility::CommittedTo(2));
    let h = b.op("h", Op::MatMul, &[x, k]).unwrap();
    let y = b.op("y", Op::Add, &[h, w]).unwrap();
    b.set_visibility(y, Visibility::CommittedTo(2)).unwrap();
    let z = b.op("z", Op::Relu, &[y]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    let _ = (salt_a, salt_b);
    b.build().unwrap()
}

#[test]
fn commitment_groups_and_committed_computed_tensors() {
    let p = two_groups();
    let mut r = rng(10);
    let x = random(&mut r, &[1, 3], -16, 16);
    let k = random(&mut r, &[3, 3], -16, 16);
    let salt_a = random(&mut r, &[4], -(1 << 60), 1 << 60);
    let w = random(&mut r, &[1, 3], -16, 16);
    let salt_b = random(&mut r, &[4], -(1 << 60), 1 << 60);
    let wit = p
        .evaluate(&[x, k.clone(), salt_a.clone(), w.clone(), salt_b.clone()])
        .unwrap();
    let y = wit.values()[6].clone();
    for config in [FriConfig::KECCAK, FriConfig::KECCAK_ZK] {
        let env = FriBackend
            .prove(&p, &wit, StageTag::Generic, config.name())
            .unwrap();
        let v = FriBackend
            .verify(&p, &env, &VerifyPolicy::default())
            .unwrap();
        let c = &v.statement.commitments;
        assert_eq!(c.len(), 3);
        assert_eq!(
            Digest::from_bytes(&c[0].digest).unwrap(),
            commit(&p, &[k.data()])
        );
        // Lineage groups do not depend on the Program: anyone with the values recomputes them.
        assert_eq!(
            Digest::from_bytes(&c[1].digest).unwrap(),
            zkmlops_commit::commit_lineage(&[salt_a.data(), w.data()])
        );
        assert_eq!(
            Digest::from_bytes(&c[2].digest).unwrap(),
            zkmlops_commit::commit_lineage(&[salt_b.data(), y.data()])
        );
        // Each commitment is proved: changing any one alone is rejected.
        for i in 0..3 {
            let mut bad = env.clone();
            bad.statement.commitments[i].digest =
                commit(&p, &[&[i64::try_from(i).unwrap()]]).to_bytes();
            assert!(
                FriBackend
                    .verify(&p, &bad, &VerifyPolicy::default())
                    .is_err()
            );
        }
    }
}

#[test]
fn a_committed_computed_tensor_cannot_be_faked() {
    let p = two_groups();
    let mut r = rng(11);
    let inputs: Vec<Tensor> = [
        (vec![1, 3], 16),
        (vec![3, 3], 16),
        (vec![4], 1 << 40),
        (vec![1, 3], 16),
        (vec![4], 1 << 40),
    ]
    .into_iter()
    .map(|(shape, m)| random(&mut r, &shape, -m, m))
    .collect();
    let wit = p.evaluate(&inputs).unwrap();
    let kinds = instances(&p, FriConfig::KECCAK);
    let last_commit = kinds.iter().rposition(|k| *k == "commit").unwrap();
    // Change an absorbed value of `y` in the commitment chip only: its bus read no longer
    // matches what the add chip produced.
    let env = prove_tampered(
        &p,
        &wit,
        StageTag::Generic,
        FriConfig::KECCAK,
        Tamper::MainCell {
            instance: last_commit,
            row: 1,
            col: zkmlops_fri::testing::commit_absorb_column(),
            delta: 1,
        },
    )
    .unwrap();
    assert!(
        FriBackend
            .verify(&p, &env, &VerifyPolicy::default())
            .is_err()
    );
}

#[test]
fn groups_numbered_out_of_id_order_still_prove() {
    // Group 2's first tensor comes before group 1's: the statement orders by id.
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[4], s, Visibility::CommittedTo(2));
    let c = b.input("c", &[4], s, Visibility::CommittedTo(1));
    let y = b.op("y", Op::Add, &[a, c]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[
            Tensor::vector(vec![1, 2, 3, 4]),
            Tensor::vector(vec![5, 6, 7, 8]),
        ])
        .unwrap();
    let env = FriBackend
        .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
        .unwrap();
    let v = FriBackend
        .verify(&p, &env, &VerifyPolicy::default())
        .unwrap();
    let ids: Vec<u32> = v.statement.commitments.iter().map(|c| c.id.0).collect();
    assert_eq!(ids, [0, 1]);
    assert_eq!(
        Digest::from_bytes(&v.statement.commitments[0].digest).unwrap(),
        zkmlops_commit::commit_lineage(&[&[1, 2, 3, 4]])
    );
}
