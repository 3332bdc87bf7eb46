//! The 2-layer MLP end to end under every preset, and every tamper the issue names: each is
//! rejected with a typed error, none panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::{random, rng};
use zkmlops_field::Scale;
use zkmlops_fri::testing::{Tamper, instances, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{
    Backend, PolicyViolation, ProofEnvelope, ProveError, StageTag, StatementError, VerifyError,
    VerifyPolicy,
};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility, Witness};

const GEMM: Op = Op::Gemm {
    trans_a: false,
    trans_b: true,
};

/// gemm -> rescale -> relu -> gemm -> rescale, input and weights private, output public.
fn mlp(dims: [usize; 3]) -> Program {
    let s = Scale::new(8).unwrap();
    let ss = s.product(s).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, dims[0]], s, Visibility::Private);
    let w1 = b.input("w1", &[dims[1], dims[0]], s, Visibility::Private);
    let b1 = b.input("b1", &[dims[1]], ss, Visibility::Private);
    let w2 = b.input("w2", &[dims[2], dims[1]], s, Visibility::Private);
    let b2 = b.input("b2", &[dims[2]], ss, Visibility::Private);
    let h = b.op("h", GEMM, &[x, w1, b1]).unwrap();
    let h = b
        .op(
            "h8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let a = b.op("a", Op::Relu, &[h]).unwrap();
    let y = b.op("y", GEMM, &[a, w2, b2]).unwrap();
    let y = b
        .op(
            "y8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[y],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn mlp_witness(p: &Program, dims: [usize; 3], seed: u64) -> Witness {
    let mut r = rng(seed);
    p.evaluate(&[
        random(&mut r, &[1, dims[0]], -256, 256),
        random(&mut r, &[dims[1], dims[0]], -256, 256),
        random(&mut r, &[dims[1]], -65536, 65536),
        random(&mut r, &[dims[2], dims[1]], -256, 256),
        random(&mut r, &[dims[2]], -65536, 65536),
    ])
    .unwrap()
}

const DIMS: [usize; 3] = [8, 16, 4];

fn setup() -> (Program, Witness, ProofEnvelope) {
    setup_with(FriConfig::KECCAK)
}

/// The test MLP, its witness and an honest proof under `config`.
fn setup_with(config: FriConfig) -> (Program, Witness, ProofEnvelope) {
    let p = mlp(DIMS);
    let w = mlp_witness(&p, DIMS, 7);
    let env = FriBackend
        .prove(&p, &w, StageTag::Inference, config.name())
        .unwrap();
    (p, w, env)
}

fn verify(p: &Program, env: &ProofEnvelope) -> Result<(), VerifyError> {
    FriBackend
        .verify(p, env, &VerifyPolicy::default())
        .map(|_| ())
}

#[test]
fn mlp_proves_and_verifies_under_every_preset() {
    let p = mlp(DIMS);
    let w = mlp_witness(&p, DIMS, 7);
    let y = p.outputs()[0];
    for config in FriConfig::ALL {
        let env = FriBackend
            .prove(&p, &w, StageTag::Inference, config.name())
            .unwrap();
        let v = FriBackend
            .verify(&p, &env, &VerifyPolicy::default())
            .unwrap();
        assert_eq!(
            v.statement.public_tensor(y).unwrap().values,
            w.get(y).unwrap().data()
        );
        assert_eq!(v.params.preset, config.name());
        assert_eq!(v.params.zero_knowledge, config.zero_knowledge);
        assert!(v.params.post_quantum);
        assert!(
            v.params.conjectured_security_bits >= 100,
            "{config:?}: {:?}",
            v.params
        );
        // The envelope survives its binary encoding.
        let back = ProofEnvelope::from_bytes(&env.to_bytes()).unwrap();
        FriBackend
            .verify(&p, &back, &VerifyPolicy::default())
            .unwrap();
    }
}

/// A proof carries this build's format tag; a proof tagged with format 2 or an unknown tag is
/// refused as another format (a typed shape error naming the fix), under every preset.
#[test]
fn proof_format_tags() {
    for config in [FriConfig::KECCAK, FriConfig::KECCAK_ZK] {
        let (p, _, env) = setup_with(config);
        assert_eq!(env.proof[..4], zkmlops_fri::PROOF_FORMAT);
        for tag in [b"zkA2", b"zkA9"] {
            let mut old = env.clone();
            old.proof[..4].copy_from_slice(tag);
            let err = verify(&p, &old).unwrap_err();
            assert!(matches!(err, VerifyError::ProofShape { .. }), "{err:?}");
            let text = format!("{err} {:?}", std::error::Error::source(&err));
            assert!(text.contains("re-prove"), "{text}");
        }
    }
}

#[test]
fn mlp_changed_public_output_rejected() {
    let (p, _, mut env) = setup();
    env.statement.public[0].values[1] += 1;
    let err = verify(&p, &env).unwrap_err();
    assert!(err.is_cryptographic(), "{err:?}");
}

#[test]
fn mlp_flipped_proof_byte_rejected() {
    let (p, _, env) = setup();
    let n = env.proof.len();
    // A spread of positions across the whole proof (every byte under `slow-tests`).
    let step = if cfg!(feature = "slow-tests") {
        1
    } else {
        n / 97 + 1
    };
    for i in (0..n).step_by(step) {
        let mut bad = env.clone();
        bad.proof[i] ^= 0x01;
        let err = verify(&p, &bad).expect_err("a flipped byte must not verify");
        assert!(
            matches!(
                err,
                VerifyError::ProofShape { .. } | VerifyError::Rejected { .. }
            ),
            "byte {i}: {err:?}"
        );
    }
    let mut truncated = env.clone();
    truncated.proof.truncate(n / 2);
    assert!(matches!(
        verify(&p, &truncated),
        Err(VerifyError::ProofShape { .. })
    ));
    let mut extended = env.clone();
    extended.proof.push(0);
    assert!(matches!(
        verify(&p, &extended),
        Err(VerifyError::ProofShape { .. })
    ));
}

#[test]
fn mlp_swapped_program_rejected() {
    let (_, _, env) = setup();
    let other = mlp([8, 16, 5]);
    assert!(matches!(
        verify(&other, &env),
        Err(VerifyError::Statement(StatementError::ProgramDigest { .. }))
    ));
    // Even with the statement rewritten to name the other Program, the proof does not carry over.
    let mut forged = env.clone();
    forged.statement.program_digest = other.digest();
    forged.statement.public[0].shape = vec![1, 5];
    forged.statement.public[0].values.push(0);
    assert!(verify(&other, &forged).is_err());
}

#[test]
fn mlp_wrong_witness_cell_rejected() {
    let (p, w, _) = setup();
    let mut bad = w.clone();
    let a = p.tensors().iter().position(|t| t.name == "a").unwrap();
    let mut data = bad.values()[a].data().to_vec();
    data[3] += 1;
    bad.values_mut()[a] = Tensor::new(vec![1, DIMS[1]], data).unwrap();
    // The backend checks the witness first and names the tensor.
    let err = FriBackend
        .prove(&p, &bad, StageTag::Inference, FriConfig::KECCAK.name())
        .unwrap_err();
    assert!(matches!(err, ProveError::Witness(_)), "{err:?}");
    assert!(err.to_string().contains("`a`"), "{err}");
    // A prover that skips the check produces a proof the verifier rejects.
    let env = prove_tampered(
        &p,
        &bad,
        StageTag::Inference,
        FriConfig::KECCAK,
        Tamper::SkipWitnessCheck,
    )
    .unwrap();
    assert!(verify(&p, &env).unwrap_err().is_cryptographic());
    // So does one that alters a single trace cell of an honest witness.
    let relu = instances(&p, FriConfig::KECCAK)
        .iter()
        .position(|k| *k == "relu")
        .unwrap();
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Inference,
        FriConfig::KECCAK,
        Tamper::MainCell {
            instance: relu,
            row: 2,
            col: 1,
            delta: 1,
        },
    )
    .unwrap();
    assert!(verify(&p, &env).unwrap_err().is_cryptographic());
}

#[test]
fn mlp_wrong_bus_multiplicity_rejected() {
    let (p, w, _) = setup();
    let kinds = instances(&p, FriConfig::KECCAK);
    // A witness multiplicity: one range-table count off by one.
    let range = kinds.iter().position(|k| *k == "range").unwrap();
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Inference,
        FriConfig::KECCAK,
        Tamper::MainCell {
            instance: range,
            row: 5,
            col: 0,
            delta: 1,
        },
    )
    .unwrap();
    assert!(verify(&p, &env).unwrap_err().is_cryptographic());
    // A producer multiplicity the prover changed in its own copy of the chip.
    let source = kinds.iter().position(|k| *k == "source").unwrap();
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Inference,
        FriConfig::KECCAK,
        Tamper::ProducerMultiplicity {
            instance: source,
            index: 0,
        },
    )
    .unwrap();
    assert!(verify(&p, &env).unwrap_err().is_cryptographic());
}

#[test]
fn mlp_below_policy_bits_rejected() {
    let (p, _, env) = setup();
    let bits = env.params.conjectured_security_bits;
    let strict = VerifyPolicy {
        min_security_bits: bits + 1,
        ..VerifyPolicy::default()
    };
    let err = FriBackend.verify(&p, &env, &strict).unwrap_err();
    assert!(
        matches!(err, VerifyError::Policy(PolicyViolation::SecurityBits { claimed, .. }) if claimed == bits)
    );
    // Claiming more bits than the parameters give is caught too.
    let mut inflated = env.clone();
    inflated.params.conjectured_security_bits += 20;
    assert!(matches!(
        verify(&p, &inflated),
        Err(VerifyError::Params { .. })
    ));
    let zk = VerifyPolicy {
        require_zero_knowledge: true,
        ..VerifyPolicy::default()
    };
    assert!(matches!(
        FriBackend.verify(&p, &env, &zk),
        Err(VerifyError::Policy(PolicyViolation::ZeroKnowledge))
    ));
}

#[test]
fn mlp_wrong_stage_rejected() {
    let (p, _, mut env) = setup();
    env.statement.stage = StageTag::Training;
    assert!(verify(&p, &env).unwrap_err().is_cryptographic());
}

#[test]
fn hiding_proofs_differ_and_verify() {
    let p = mlp(DIMS);
    let w = mlp_witness(&p, DIMS, 7);
    for config in [FriConfig::KECCAK_ZK, FriConfig::POSEIDON2_ZK] {
        let a = FriBackend
            .prove(&p, &w, StageTag::Inference, config.name())
            .unwrap();
        let b = FriBackend
            .prove(&p, &w, StageTag::Inference, config.name())
            .unwrap();
        assert_eq!(a.statement, b.statement);
        assert_ne!(a.proof, b.proof, "hiding proofs must be randomised");
        let policy = VerifyPolicy {
            require_zero_knowledge: true,
            ..VerifyPolicy::default()
        };
        FriBackend.verify(&p, &a, &policy).unwrap();
        FriBackend.verify(&p, &b, &policy).unwrap();
    }
    // Transparent proofs are deterministic, up to the proof-of-work nonces that the parallel
    // grinder may find in a different order.
    let a = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK.name())
        .unwrap();
    let b = FriBackend
        .prove(&p, &w, StageTag::Inference, FriConfig::KECCAK.name())
        .unwrap();
    if cfg!(feature = "parallel") {
        FriBackend.verify(&p, &b, &VerifyPolicy::default()).unwrap();
    } else {
        assert_eq!(a.proof, b.proof);
    }
}

#[test]
fn limits_and_unsupported_features_are_typed_errors() {
    // A ReLU input beyond the signed 32-bit range the sign decomposition covers.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], Scale::ONE, Visibility::Private);
    b.set_bits(x, 48).unwrap();
    let y = b.op("y", Op::Relu, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p.evaluate(&[Tensor::vector(vec![1, 1 << 40])]).unwrap();
    let err = FriBackend
        .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
        .unwrap_err();
    assert!(
        matches!(&err, ProveError::Limit { tensor, .. } if tensor == "y"),
        "{err:?}"
    );

    // A rescale by more than 16 bits.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], Scale::new(20).unwrap(), Visibility::Private);
    let y = b
        .op(
            "y",
            Op::Rescale {
                shift: 20,
                rounding: Rounding::Floor,
            },
            &[x],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p.evaluate(&[Tensor::vector(vec![1, 2])]).unwrap();
    assert!(matches!(
        FriBackend.prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name()),
        Err(ProveError::Limit { .. })
    ));

    // Ops without a chip yet are named.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 4], Scale::ONE, Visibility::Private);
    let y = b
        .op(
            "y",
            Op::ArgMax {
                axis: 1,
                keep_dims: false,
            },
            &[x],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[Tensor::matrix(&[[3, 1, 4, 1]]).unwrap()])
        .unwrap();
    let err = FriBackend
        .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
        .unwrap_err();
    // Declared unsupported (the capabilities list it), refused by name before compiling.
    assert!(
        matches!(
            &err,
            ProveError::UnsupportedOp { op, tensor, .. } if op == "argmax" && tensor == "y"
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("does not support op `argmax`"),
        "{err}"
    );
}

/// Eight equal gemms (960 rows each) beside a 4,096-row instance share two instances of four:
/// one chip at a time stops at pairs (a third member would pad 2,880 rows to 4,096 against
/// 3,072 apart), bins of pairs then merge pairwise. The gemm rows take no more cells than
/// apart (2 x 4,096 = 8 x 1,024), and the proof verifies.
#[test]
fn equal_gemms_share_instances_in_fours() {
    let mut b = ProgramBuilder::new();
    let s = Scale::ONE;
    let tall = b.input("tall", &[4096], s, Visibility::Private);
    let r = b.op("r", Op::Relu, &[tall]).unwrap();
    b.output(r, Visibility::Public).unwrap();
    for i in 0..8 {
        let x = b.input(&format!("x{i}"), &[32, 30], s, Visibility::Private);
        let w = b.input(&format!("w{i}"), &[30, 1], s, Visibility::Private);
        let y = b.op(&format!("y{i}"), Op::MatMul, &[x, w]).unwrap();
        b.output(y, Visibility::Public).unwrap();
    }
    let p = b.build().unwrap();
    let stats = zkmlops_fri::circuit_stats(&p, FriConfig::KECCAK).unwrap();
    let gemms: Vec<_> = stats.iter().filter(|s| s.kind == "gemm").collect();
    assert_eq!(gemms.len(), 2, "{stats:?}");
    for g in &gemms {
        assert_eq!((g.tensors, g.log_height), (4, 12), "{g:?}");
    }
    let mut r = rng(11);
    let mut inputs = vec![random(&mut r, &[4096], -100, 100)];
    for _ in 0..8 {
        inputs.push(random(&mut r, &[32, 30], -100, 100));
        inputs.push(random(&mut r, &[30, 1], -100, 100));
    }
    let w = p.evaluate(&inputs).unwrap();
    let env = FriBackend
        .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
        .unwrap();
    verify(&p, &env).unwrap();
}

/// The proof-size diagnostic accounts for a Keccak proof's bytes (its counted parts add up to
/// nearly all of them) and refuses, with typed errors, another format or a Poseidon2 preset.
#[test]
fn size_breakdown_accounts_for_the_proof() {
    for config in [FriConfig::KECCAK, FriConfig::KECCAK_ZK] {
        let (_, _, env) = setup_with(config);
        let parts = zkmlops_fri::size_breakdown(config, &env.proof).unwrap();
        assert_eq!(parts[0], ("total".to_string(), env.proof.len()));
        let counted: usize = parts[1..].iter().map(|(_, b)| b).sum();
        assert!(
            counted <= env.proof.len() && counted * 100 >= env.proof.len() * 95,
            "{config:?}: {counted} of {} bytes: {parts:?}",
            env.proof.len()
        );
        let mut other = env.proof.clone();
        other[..4].copy_from_slice(b"zkA2");
        assert!(matches!(
            zkmlops_fri::size_breakdown(config, &other),
            Err(zkmlops_fri::FriError::Format { .. })
        ));
    }
    assert!(matches!(
        zkmlops_fri::size_breakdown(FriConfig::POSEIDON2, b"zkA3"),
        Err(zkmlops_fri::FriError::UnknownPreset)
    ));
}
