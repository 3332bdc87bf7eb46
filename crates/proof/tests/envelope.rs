//! The envelope format: exact round trips, and typed errors for every mutation.

#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use zkmlops_field::Scale;
use zkmlops_proof::*;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility};

fn program() -> Program {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], s, Visibility::Public);
    let w = b.input("w", &[2, 2], s, Visibility::Private);
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn envelope() -> (Program, ProofEnvelope) {
    let p = program();
    let wit = p
        .evaluate(&[
            Tensor::matrix(&[[16, -32]]).unwrap(),
            Tensor::matrix(&[[1, 2], [3, 4]]).unwrap(),
        ])
        .unwrap();
    let statement = Statement::from_witness(&p, &wit, StageTag::Inference).unwrap();
    let env = ProofEnvelope {
        version: ENVELOPE_VERSION,
        backend: BackendId::FRI,
        params: BackendParams {
            preset: "keccak".into(),
            field: FieldId::GOLDILOCKS,
            extension_degree: 2,
            hash: HashId::KECCAK256,
            protocol: ProtocolParams::Fri(FriParams {
                log_blowup: 1,
                num_queries: 100,
                query_pow_bits: 16,
                commit_pow_bits: 0,
                log_final_poly_len: 0,
                max_log_arity: 1,
            }),
            zero_knowledge: false,
            post_quantum: true,
            transparent: true,
            conjectured_security_bits: 116,
            proven_security_bits: Some(60),
        },
        statement,
        proof: (0..=255u8).cycle().take(700).collect(),
    };
    (p, env)
}

#[test]
fn binary_round_trip_is_byte_exact() {
    let (_, env) = envelope();
    let bytes = env.to_bytes();
    let back = ProofEnvelope::from_bytes(&bytes).unwrap();
    assert_eq!(back, env);
    assert_eq!(back.to_bytes(), bytes);
}

#[test]
fn json_round_trip_is_exact() {
    let (_, env) = envelope();
    let json = env.to_json();
    assert!(
        json.contains("\"proof\": \"000102"),
        "proof bytes are hex in JSON"
    );
    let back = ProofEnvelope::from_json(&json).unwrap();
    assert_eq!(back, env);
    assert_eq!(back.to_bytes(), env.to_bytes());
    assert!(matches!(
        ProofEnvelope::from_json("{"),
        Err(EnvelopeError::Json { .. })
    ));
}

#[test]
fn statement_matches_program() {
    let (p, env) = envelope();
    env.statement.check_against(&p).unwrap();
    assert_eq!(
        env.statement.public.len(),
        2,
        "x and y are public, w is not"
    );
    assert_eq!(env.statement.public[1].values, vec![16 - 96, 32 - 128]);
    assert_eq!(
        env.statement.public[1].decoded(),
        vec![-80.0 / 256.0, -96.0 / 256.0]
    );
}

#[test]
fn truncation_at_every_length_rejected() {
    let (_, env) = envelope();
    let bytes = env.to_bytes();
    for cut in 0..bytes.len() {
        let err = ProofEnvelope::from_bytes(&bytes[..cut]).unwrap_err();
        let expected = match cut {
            0..=3 => matches!(err, EnvelopeError::Magic),
            4..=5 => matches!(err, EnvelopeError::Truncated),
            _ => matches!(err, EnvelopeError::Truncated | EnvelopeError::Body),
        };
        assert!(expected, "cut at {cut}: {err:?}");
    }
}

#[test]
fn extension_rejected() {
    let (_, env) = envelope();
    let mut bytes = env.to_bytes();
    bytes.push(0);
    assert_eq!(
        ProofEnvelope::from_bytes(&bytes),
        Err(EnvelopeError::TrailingBytes { count: 1 })
    );
    bytes.extend_from_slice(b"more");
    assert_eq!(
        ProofEnvelope::from_bytes(&bytes),
        Err(EnvelopeError::TrailingBytes { count: 5 })
    );
}

#[test]
fn every_byte_flip_is_an_error_or_a_different_envelope() {
    let (_, env) = envelope();
    let bytes = env.to_bytes();
    let mut errors = 0;
    for i in 0..bytes.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= bit;
            match ProofEnvelope::from_bytes(&b) {
                Err(_) => errors += 1,
                // A flip in an opaque field (proof bytes, a digest, a value) may decode; it must
                // then be a different envelope, re-encoding to exactly the mutated bytes.
                Ok(other) => {
                    assert_ne!(other, env, "flip {bit:#x} at {i} aliased the original");
                    assert_eq!(other.to_bytes(), b);
                }
            }
        }
    }
    assert!(errors > 0);
    // The header fields have specific errors.
    let mut b = bytes.clone();
    b[0] ^= 1;
    assert_eq!(ProofEnvelope::from_bytes(&b), Err(EnvelopeError::Magic));
    // A version-1 envelope (closed backend enums, before the open boundary) is refused by
    // version, with a hint to re-prove.
    let mut b = bytes.clone();
    b[4] = 1;
    let err = ProofEnvelope::from_bytes(&b).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::UnsupportedVersion {
            found: 1,
            supported: ENVELOPE_VERSION
        }
    );
    assert!(err.to_string().contains("re-proved"), "{err}");
}

#[test]
fn insertion_at_every_position_is_rejected_or_different() {
    let (_, env) = envelope();
    let bytes = env.to_bytes();
    for i in 0..=bytes.len() {
        let mut b = bytes.clone();
        b.insert(i, 0x00);
        if let Ok(other) = ProofEnvelope::from_bytes(&b) {
            assert_ne!(other, env, "insertion at {i}");
        }
    }
}

#[test]
fn non_canonical_encoding_rejected() {
    let (_, env) = envelope();
    let bytes = env.to_bytes();
    // The body opens with the version as a varint (0x02). Re-encode it overlong (0x82 0x00).
    assert_eq!(bytes[6], 0x02);
    let mut b = bytes[..6].to_vec();
    b.extend_from_slice(&[0x82, 0x00]);
    b.extend_from_slice(&bytes[7..]);
    assert!(ProofEnvelope::from_bytes(&b).is_err());
}

#[test]
fn inconsistent_fields_rejected() {
    let (_, env) = envelope();
    let check = |f: &dyn Fn(&mut ProofEnvelope), expected: EnvelopeError| {
        let mut e = env.clone();
        f(&mut e);
        assert_eq!(e.validate(), Err(expected.clone()));
        assert_eq!(ProofEnvelope::from_bytes(&e.to_bytes()), Err(expected));
    };
    check(
        &|e| e.params.conjectured_security_bits = 1000,
        EnvelopeError::Invalid {
            what: "security bits",
        },
    );
    check(
        &|e| e.params.proven_security_bits = Some(200),
        EnvelopeError::Invalid {
            what: "security bits",
        },
    );
    check(
        &|e| e.backend = BackendId::new("Not An Id"),
        EnvelopeError::Invalid { what: "identifier" },
    );
    check(
        &|e| e.params.hash = HashId::new(""),
        EnvelopeError::Invalid { what: "identifier" },
    );
    check(
        &|e| {
            e.params.protocol = ProtocolParams::Other {
                system: "My System".into(),
                values: vec![],
            }
        },
        EnvelopeError::Invalid {
            what: "protocol parameters",
        },
    );
    check(
        &|e| {
            e.backend = BackendId::new("halo2");
            e.params.protocol = ProtocolParams::Ipa(IpaParams { k: 10 });
        },
        EnvelopeError::Invalid {
            what: "post-quantum claim",
        },
    );
    check(
        &|e| e.statement.commitment_scheme = Some(SchemeId::POSEIDON2_GOLDILOCKS_SPONGE),
        EnvelopeError::Statement(StatementError::Scheme),
    );
    check(
        &|e| e.params.extension_degree = 0,
        EnvelopeError::Invalid {
            what: "extension degree",
        },
    );
    check(
        &|e| e.statement.public.swap(0, 1),
        EnvelopeError::Statement(StatementError::Order { id: TensorId(0) }),
    );
    check(
        &|e| {
            e.statement.public[0].values.pop();
        },
        EnvelopeError::Statement(StatementError::PublicLength {
            id: TensorId(0),
            expected: 2,
            found: 1,
        }),
    );
    check(
        &|e| e.statement.public[0].values[1] = i64::MIN,
        EnvelopeError::Statement(StatementError::PublicOutOfRange {
            id: TensorId(0),
            index: 1,
        }),
    );
    let mut e = env.clone();
    e.version = 7;
    assert_eq!(
        e.validate(),
        Err(EnvelopeError::UnsupportedVersion {
            found: 7,
            supported: ENVELOPE_VERSION
        })
    );
}

#[test]
fn statement_mismatches_are_typed() {
    let (p, env) = envelope();
    let mut s = env.statement.clone();
    s.program_digest.0[0] ^= 1;
    assert!(matches!(
        s.check_against(&p),
        Err(StatementError::ProgramDigest { .. })
    ));
    let mut s = env.statement.clone();
    s.public.pop();
    assert_eq!(
        s.check_against(&p),
        Err(StatementError::PublicCount {
            expected: 2,
            found: 1
        })
    );
    let mut s = env.statement.clone();
    s.public[1].scale = Scale::new(9).unwrap();
    assert_eq!(
        s.check_against(&p),
        Err(StatementError::PublicDeclaration { id: s.public[1].id })
    );
}

#[test]
fn policy_enforced() {
    let (p, env) = envelope();
    let policy = VerifyPolicy::default();
    policy.check(&env).unwrap();
    verify_preamble(&BackendId::FRI, &p, &env, &policy).unwrap();
    let strict = VerifyPolicy {
        min_security_bits: 128,
        ..VerifyPolicy::default()
    };
    assert_eq!(
        strict.check(&env),
        Err(PolicyViolation::SecurityBits {
            claimed: 116,
            required: 128
        })
    );
    let only_halo = VerifyPolicy {
        accepted_backends: vec![BackendId::new("halo2")],
        ..VerifyPolicy::default()
    };
    assert_eq!(
        only_halo.check(&env),
        Err(PolicyViolation::Backend {
            backend: BackendId::FRI
        })
    );
    let zk = VerifyPolicy {
        require_zero_knowledge: true,
        ..VerifyPolicy::default()
    };
    assert_eq!(zk.check(&env), Err(PolicyViolation::ZeroKnowledge));
    assert!(matches!(
        verify_preamble(&BackendId::new("plonky2"), &p, &env, &policy),
        Err(VerifyError::WrongBackend { expected, found })
            if expected == "plonky2" && found == BackendId::FRI
    ));
    assert!(!VerifyError::from(PolicyViolation::ZeroKnowledge).is_cryptographic());
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ProofEnvelope::from_bytes(&bytes);
        let mut with_header = ENVELOPE_MAGIC.to_vec();
        with_header.extend_from_slice(&ENVELOPE_VERSION.to_le_bytes());
        with_header.extend_from_slice(&bytes);
        let _ = ProofEnvelope::from_bytes(&with_header);
    }
}
