//! Recursive aggregation: a training run's segments folded into one proof, and every way of
//! tampering with an aggregate (a dropped, swapped, foreign or altered member; a broken link;
//! a changed byte) refused with a typed error.

use std::sync::OnceLock;

use zkmlops_plonky2::Plonky2Backend;
use zkmlops_proof::{
    AggregateEnvelope, AggregateError, AggregateInput, Backend, MemberLinks, ProveError,
    VerifyError, VerifyPolicy,
};
use zkmlops_tensor::Program;
use zkmlops_train::{
    Dataset, Link, LogRegSpec, Model, RunSalts, TrainingTranscript, TranscriptError, prove_run,
    segment_links,
};

const CSV: &str = "f1,f2,label
0.5,-1.0,1
-0.75,0.5,0
1.0,0.25,1
-0.5,1.0,0
";

const SEGMENTS: usize = 3;

fn spec() -> LogRegSpec {
    LogRegSpec {
        features: 2,
        batch: 2,
        learning_rate: 0.5,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: Link::Logistic,
    }
}

/// A three-segment run, proved once per segment, and its aggregate.
fn run() -> &'static (TrainingTranscript, TrainingTranscript) {
    static RUN: OnceLock<(TrainingTranscript, TrainingTranscript)> = OnceLock::new();
    RUN.get_or_init(|| {
        let data = Dataset::from_csv(CSV).expect("dataset");
        let salts = RunSalts {
            data: [3, -1, 4, -1],
            checkpoints: (0..=3).map(|i| [i, -i, 2 * i, 7]).collect(),
        };
        let (transcript, _) = prove_run(
            &spec(),
            &data,
            &Model::zeros(&spec()),
            &salts,
            1,
            SEGMENTS,
            &Plonky2Backend,
            "poseidon",
        )
        .expect("prove the run");
        let aggregated = transcript
            .clone()
            .aggregated(&Plonky2Backend)
            .expect("aggregate");
        (transcript, aggregated)
    })
}

fn programs() -> Vec<Program> {
    (0..SEGMENTS)
        .map(|i| zkmlops_train::segment_program(&spec(), 4, i, 1).expect("segment program"))
        .collect()
}

fn verify(agg: &AggregateEnvelope, programs: &[Program]) -> Result<(), VerifyError> {
    let refs: Vec<&Program> = programs.iter().collect();
    Plonky2Backend
        .verify_aggregate(&refs, agg, &VerifyPolicy::default())
        .map(|_| ())
}

fn aggregate_of(t: &TrainingTranscript) -> &AggregateEnvelope {
    t.aggregate.as_ref().expect("an aggregate")
}

#[test]
fn an_aggregated_run_verifies_and_is_one_small_proof() {
    let (plain, aggregated) = run();
    plain
        .verify(&Plonky2Backend, &VerifyPolicy::default())
        .expect("segments verify");
    aggregated
        .verify(&Plonky2Backend, &VerifyPolicy::default())
        .expect("the aggregate verifies");
    let agg = aggregate_of(aggregated);
    assert!(aggregated.segments.is_empty());
    assert_eq!(agg.members.len(), SEGMENTS);
    let separate: usize = plain.segments.iter().map(|s| s.proof.len()).sum();
    assert!(
        agg.proof.len() < separate / 2,
        "aggregate {} bytes, separate proofs {separate}",
        agg.proof.len()
    );
    // The binary encoding round-trips, and JSON too (the transcript file).
    assert_eq!(
        &AggregateEnvelope::from_bytes(&agg.to_bytes()).expect("decode"),
        agg
    );
    let json = serde_json::to_string(aggregated).expect("json");
    let back: TrainingTranscript = serde_json::from_str(&json).expect("read back");
    back.verify(&Plonky2Backend, &VerifyPolicy::default())
        .expect("verifies from JSON");
}

#[test]
fn a_dropped_member_is_refused() {
    let (_, aggregated) = run();
    let programs = programs();
    // The last member dropped: the links still hold, the digest does not.
    let mut agg = aggregate_of(aggregated).clone();
    agg.members.pop();
    let r = verify(&agg, &programs[..SEGMENTS - 1]);
    assert!(matches!(r, Err(VerifyError::Rejected { .. })), "{r:?}");
    // A middle member dropped: the chain breaks.
    let mut agg = aggregate_of(aggregated).clone();
    agg.members.remove(1);
    let r = verify(&agg, &[programs[0].clone(), programs[2].clone()]);
    assert!(
        matches!(
            r,
            Err(VerifyError::Aggregate(AggregateError::Link {
                index: 1,
                ..
            }))
        ),
        "{r:?}"
    );
    // One Program short.
    let r = verify(aggregate_of(aggregated), &programs[..2]);
    assert!(
        matches!(r, Err(VerifyError::Aggregate(AggregateError::Count { .. }))),
        "{r:?}"
    );
    // The transcript counts its segments.
    let mut t = aggregated.clone();
    if let Some(a) = t.aggregate.as_mut() {
        a.members.pop();
    }
    let r = t.verify(&Plonky2Backend, &VerifyPolicy::default());
    assert!(
        matches!(r, Err(TranscriptError::SegmentCount { .. })),
        "{r:?}"
    );
}

#[test]
fn swapped_members_are_refused() {
    let (_, aggregated) = run();
    let mut programs = programs();
    let mut agg = aggregate_of(aggregated).clone();
    agg.members.swap(1, 2);
    let r = verify(&agg, &programs);
    assert!(
        matches!(
            r,
            Err(VerifyError::Statement(_) | VerifyError::Aggregate(_))
        ),
        "{r:?}"
    );
    // Programs swapped along: the links break.
    programs.swap(1, 2);
    let r = verify(&agg, &programs);
    assert!(
        matches!(r, Err(VerifyError::Aggregate(AggregateError::Link { .. }))),
        "{r:?}"
    );
    // Links dropped so the chain is not checked natively: the digest still differs.
    for m in &mut agg.members {
        m.links = MemberLinks::default();
    }
    let r = verify(&agg, &programs);
    assert!(matches!(r, Err(VerifyError::Rejected { .. })), "{r:?}");
}

#[test]
fn every_member_statement_and_the_parameters_are_bound() {
    let (_, aggregated) = run();
    let programs = programs();
    let agg = aggregate_of(aggregated);
    for index in 0..SEGMENTS {
        // A commitment that is not a link (the dataset), and the stage.
        let mut bad = agg.clone();
        bad.members[index].statement.commitments[0].digest[3] ^= 1;
        let r = verify(&bad, &programs);
        assert!(
            matches!(r, Err(VerifyError::Rejected { .. })),
            "member {index}: {r:?}"
        );
        let mut bad = agg.clone();
        bad.members[index].statement.stage = zkmlops_proof::StageTag::Inference;
        assert!(verify(&bad, &programs).is_err(), "member {index} stage");
    }
    let mut bad = agg.clone();
    bad.params.conjectured_security_bits += 1;
    assert!(matches!(
        verify(&bad, &programs),
        Err(VerifyError::Params { .. })
    ));
    let mut bad = agg.clone();
    bad.members[1].params.zero_knowledge = true;
    assert!(verify(&bad, &programs).is_err());
    let mut bad = agg.clone();
    bad.version += 1;
    assert!(matches!(
        verify(&bad, &programs),
        Err(VerifyError::Envelope(_))
    ));
}

#[test]
fn mutated_proof_bytes_are_refused_without_panic() {
    let (_, aggregated) = run();
    let programs = programs();
    let agg = aggregate_of(aggregated);
    let step = (agg.proof.len() / 40).max(1);
    for at in (0..agg.proof.len()).step_by(step) {
        let mut bad = agg.clone();
        bad.proof[at] ^= 0x10;
        assert!(verify(&bad, &programs).is_err(), "byte {at} flipped");
    }
    let mut bad = agg.clone();
    bad.proof.truncate(agg.proof.len() / 2);
    assert!(matches!(
        verify(&bad, &programs),
        Err(VerifyError::ProofShape { .. })
    ));
    let mut bad = agg.clone();
    bad.proof.push(0);
    assert!(matches!(
        verify(&bad, &programs),
        Err(VerifyError::ProofShape { .. })
    ));
    let bytes = agg.to_bytes();
    for at in [0, 4, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[at] ^= 1;
        if let Ok(decoded) = AggregateEnvelope::from_bytes(&b) {
            assert!(verify(&decoded, &programs).is_err(), "envelope byte {at}");
        }
    }
}

#[test]
fn the_prover_refuses_foreign_members_and_broken_links() {
    let (plain, _) = run();
    let programs = programs();
    let input = |i: usize, env| AggregateInput {
        program: &programs[i],
        envelope: env,
        links: segment_links(i),
    };
    // Segment 1's proof under segment 0's statement.
    let mut foreign = plain.segments[0].clone();
    foreign.proof = plain.segments[1].proof.clone();
    let r = Plonky2Backend.aggregate(&[input(0, &foreign), input(1, &plain.segments[1])]);
    assert!(
        matches!(
            r,
            Err(ProveError::Aggregate(AggregateError::MemberRejected {
                index: 0,
                ..
            }))
        ),
        "{r:?}"
    );
    // Segment 2 after segment 0: a broken link.
    let r = Plonky2Backend.aggregate(&[
        input(0, &plain.segments[0]),
        AggregateInput {
            program: &programs[2],
            envelope: &plain.segments[2],
            links: segment_links(2),
        },
    ]);
    assert!(
        matches!(
            r,
            Err(ProveError::Aggregate(AggregateError::Link { index: 1, .. }))
        ),
        "{r:?}"
    );
    // Another preset, another backend.
    let mut other = plain.segments[1].clone();
    other.params.preset = "poseidon-zk".into();
    let r = Plonky2Backend.aggregate(&[input(0, &plain.segments[0]), input(1, &other)]);
    assert!(
        matches!(
            r,
            Err(ProveError::Aggregate(AggregateError::MixedPresets { .. }))
        ),
        "{r:?}"
    );
    let mut other = plain.segments[1].clone();
    other.backend = zkmlops_proof::BackendId::FRI;
    let r = Plonky2Backend.aggregate(&[input(0, &plain.segments[0]), input(1, &other)]);
    assert!(
        matches!(
            r,
            Err(ProveError::Aggregate(AggregateError::Backend { .. }))
        ),
        "{r:?}"
    );
    assert!(matches!(
        Plonky2Backend.aggregate(&[]),
        Err(ProveError::Aggregate(AggregateError::Empty))
    ));
    let mut other = plain.segments[0].clone();
    other.params.preset = "no-such-preset".into();
    let r = Plonky2Backend.aggregate(&[input(0, &other)]);
    assert!(
        matches!(
            r,
            Err(ProveError::Aggregate(AggregateError::UnknownPreset { .. }))
        ),
        "{r:?}"
    );
}

#[test]
fn the_circuits_refuse_what_the_cheating_prover_skips() {
    let (plain, _) = run();
    let programs = programs();
    // A foreign proof inside a member: the recursive verifier in the leaf circuit fails.
    let mut foreign = plain.segments[0].clone();
    foreign.proof = plain.segments[1].proof.clone();
    let r = zkmlops_plonky2::testing::aggregate_unchecked(&[AggregateInput {
        program: &programs[0],
        envelope: &foreign,
        links: segment_links(0),
    }]);
    assert!(matches!(r, Err(ProveError::Backend { .. })), "{r:?}");
    // A broken link between two leaves (segment 0 again after segment 1): the node circuit's
    // gated equality fails.
    let r = zkmlops_plonky2::testing::aggregate_unchecked(&[
        AggregateInput {
            program: &programs[0],
            envelope: &plain.segments[0],
            links: segment_links(0),
        },
        AggregateInput {
            program: &programs[1],
            envelope: &plain.segments[1],
            links: segment_links(1),
        },
        AggregateInput {
            program: &programs[0],
            envelope: &plain.segments[0],
            links: segment_links(1),
        },
    ]);
    assert!(matches!(r, Err(ProveError::Backend { .. })), "{r:?}");
    // The same members with that link not declared aggregate (the control).
    let control = zkmlops_plonky2::testing::aggregate_unchecked(&[
        AggregateInput {
            program: &programs[0],
            envelope: &plain.segments[0],
            links: segment_links(0),
        },
        AggregateInput {
            program: &programs[1],
            envelope: &plain.segments[1],
            links: segment_links(1),
        },
        AggregateInput {
            program: &programs[0],
            envelope: &plain.segments[0],
            links: MemberLinks {
                link_in: None,
                link_out: Some(2),
            },
        },
    ]);
    assert!(control.is_ok(), "{control:?}");
    // A broken link inside a leaf (segment 2 after segment 0): refused as well.
    let r = zkmlops_plonky2::testing::aggregate_unchecked(&[
        AggregateInput {
            program: &programs[0],
            envelope: &plain.segments[0],
            links: segment_links(0),
        },
        AggregateInput {
            program: &programs[2],
            envelope: &plain.segments[2],
            links: segment_links(2),
        },
    ]);
    assert!(matches!(r, Err(ProveError::Backend { .. })), "{r:?}");
}

#[test]
fn a_single_inference_can_be_wrapped() {
    use zkmlops_field::Scale;
    use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], s, Visibility::Private);
    let w = b.input("w", &[2, 2], s, Visibility::Private);
    let y = b.op("y", Op::MatMul, &[x, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let program = b.build().unwrap();
    let witness = program
        .evaluate(&[
            Tensor::matrix(&[[16, -8]]).unwrap(),
            Tensor::matrix(&[[1, 2], [3, 4]]).unwrap(),
        ])
        .unwrap();
    let env = Plonky2Backend
        .prove(
            &program,
            &witness,
            zkmlops_proof::StageTag::Inference,
            "poseidon",
        )
        .unwrap();
    let agg = Plonky2Backend
        .aggregate(&[AggregateInput {
            program: &program,
            envelope: &env,
            links: MemberLinks::default(),
        }])
        .unwrap();
    let verified = Plonky2Backend
        .verify_aggregate(&[&program], &agg, &VerifyPolicy::default())
        .unwrap();
    assert_eq!(verified[0].statement, env.statement);
    // Its public output changed: refused.
    let mut bad = agg.clone();
    bad.members[0].statement.public[0].values[0] += 1;
    let r = Plonky2Backend.verify_aggregate(&[&program], &bad, &VerifyPolicy::default());
    assert!(matches!(r, Err(VerifyError::Rejected { .. })), "{r:?}");
}
