//! The aggregate format and the link rules every aggregating backend applies first; the
//! boundary's default refuses to aggregate.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_proof::*;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility, Witness};

fn program() -> Program {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], s, Visibility::Public);
    let y = b.op("y", Op::Add, &[x, x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn params() -> BackendParams {
    BackendParams {
        preset: "p".into(),
        field: FieldId::GOLDILOCKS,
        extension_degree: 2,
        hash: HashId::POSEIDON_GOLDILOCKS,
        protocol: ProtocolParams::Fri(FriParams {
            log_blowup: 3,
            num_queries: 28,
            query_pow_bits: 16,
            commit_pow_bits: 0,
            log_final_poly_len: 5,
            max_log_arity: 4,
        }),
        zero_knowledge: false,
        post_quantum: true,
        transparent: true,
        conjectured_security_bits: 100,
        proven_security_bits: None,
    }
}

/// A member whose commitments are `digests` (first byte each), linked as `links`.
fn member(digests: &[u8], links: MemberLinks) -> AggregateMember {
    let p = program();
    let w = p.evaluate(&[Tensor::matrix(&[[1, 2]]).unwrap()]).unwrap();
    let mut statement = Statement::from_witness(&p, &w, StageTag::Training).unwrap();
    statement.commitments = digests
        .iter()
        .enumerate()
        .map(|(i, &d)| Commitment {
            id: TensorId(u32::try_from(i).unwrap()),
            digest: [d; 32],
        })
        .collect();
    statement.commitment_scheme = (!digests.is_empty()).then(|| SchemeId::new("poseidon2"));
    AggregateMember {
        params: params(),
        statement,
        links,
    }
}

const IN_OUT: MemberLinks = MemberLinks {
    link_in: Some(0),
    link_out: Some(1),
};
const OUT: MemberLinks = MemberLinks {
    link_in: None,
    link_out: Some(1),
};

#[test]
fn links_chain_or_are_refused_by_index() {
    let chain = [
        member(&[9, 1], OUT),
        member(&[1, 2], IN_OUT),
        member(&[2, 3], IN_OUT),
    ];
    check_links(&chain).unwrap();
    // Unlinked members need nothing.
    check_links(&[
        member(&[], MemberLinks::default()),
        member(&[5], MemberLinks::default()),
    ])
    .unwrap();
    let broken = [
        member(&[9, 1], OUT),
        member(&[1, 2], IN_OUT),
        member(&[7, 3], IN_OUT),
    ];
    assert!(matches!(
        check_links(&broken),
        Err(AggregateError::Link { index: 2, .. })
    ));
    assert_eq!(
        check_links(&[member(&[1, 2], IN_OUT)]),
        Err(AggregateError::DanglingLink { index: 0 })
    );
    assert_eq!(
        check_links(&[
            member(&[1], MemberLinks::default()),
            member(&[1, 2], IN_OUT)
        ]),
        Err(AggregateError::DanglingLink { index: 1 })
    );
    assert_eq!(
        check_links(&[member(&[1], OUT)]),
        Err(AggregateError::LinkIndex {
            index: 0,
            link: 1,
            commitments: 1
        })
    );
    // Every error names the member.
    let e = check_links(&broken).unwrap_err().to_string();
    assert!(e.contains("member 2") && e.contains("member 1"), "{e}");
}

fn aggregate() -> AggregateEnvelope {
    AggregateEnvelope {
        version: AGGREGATE_VERSION,
        backend: BackendId::new("agg"),
        params: params(),
        members: vec![member(&[9, 1], OUT), member(&[1, 2], IN_OUT)],
        proof: (0..=255u8).cycle().take(300).collect(),
    }
}

#[test]
fn the_binary_and_json_encodings_round_trip_and_refuse_garbage() {
    let agg = aggregate();
    let bytes = agg.to_bytes();
    assert_eq!(AggregateEnvelope::from_bytes(&bytes).unwrap(), agg);
    let json = serde_json::to_string(&agg).unwrap();
    assert_eq!(
        serde_json::from_str::<AggregateEnvelope>(&json).unwrap(),
        agg
    );
    assert_eq!(
        AggregateEnvelope::from_bytes(b"ZKMV\x02\x00"),
        Err(EnvelopeError::Magic)
    );
    let mut v = bytes.clone();
    v[4] = 9;
    assert!(matches!(
        AggregateEnvelope::from_bytes(&v),
        Err(EnvelopeError::UnsupportedVersion { found: 9, .. })
    ));
    // (The proof bytes' own decoder reports a short vector as a malformed body.)
    assert!(matches!(
        AggregateEnvelope::from_bytes(&bytes[..bytes.len() - 1]),
        Err(EnvelopeError::Truncated | EnvelopeError::Body)
    ));
    assert_eq!(
        AggregateEnvelope::from_bytes(&bytes[..5]),
        Err(EnvelopeError::Truncated)
    );
    let mut v = bytes.clone();
    v.push(0);
    assert_eq!(
        AggregateEnvelope::from_bytes(&v),
        Err(EnvelopeError::TrailingBytes { count: 1 })
    );
    // Every prefix and every single-byte flip decodes to an error or to another envelope,
    // never a panic.
    for n in 0..bytes.len() {
        let _ = AggregateEnvelope::from_bytes(&bytes[..n]);
        let mut v = bytes.clone();
        v[n] ^= 0x41;
        let _ = AggregateEnvelope::from_bytes(&v);
    }
    // A malformed member identifier is refused on decode.
    let mut bad = agg;
    bad.members[1].params.hash = HashId::new("Not An Id");
    assert!(AggregateEnvelope::from_bytes(&bad.to_bytes()).is_err());
}

/// A backend that implements only the required methods.
struct Plain;

impl Backend for Plain {
    fn id(&self) -> BackendId {
        BackendId::new("plain")
    }
    fn description(&self) -> String {
        "plain".into()
    }
    fn presets(&self) -> Vec<PresetInfo> {
        Vec::new()
    }
    fn check(&self, _: &Program, _: &Witness, _: &str) -> Result<(), ProveError> {
        Ok(())
    }
    fn prove(
        &self,
        _: &Program,
        _: &Witness,
        _: StageTag,
        _: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        Err(ProveError::Unsupported {
            backend: self.id(),
            feature: "proving",
        })
    }
    fn verify(
        &self,
        _: &Program,
        _: &ProofEnvelope,
        _: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        Err(VerifyError::Params { backend: self.id() })
    }
}

#[test]
fn the_default_refuses_to_aggregate_by_name() {
    let r = Plain.aggregate(&[]);
    assert!(
        matches!(&r, Err(ProveError::Aggregate(AggregateError::Unsupported { backend })) if backend.as_str() == "plain"),
        "{r:?}"
    );
    let p = program();
    let r = Plain.verify_aggregate(&[&p], &aggregate(), &VerifyPolicy::default());
    assert!(
        matches!(
            r,
            Err(VerifyError::Aggregate(AggregateError::Unsupported { .. }))
        ),
        "{r:?}"
    );
}
