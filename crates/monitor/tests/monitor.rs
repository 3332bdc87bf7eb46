//! The monitoring stage: figures equal an independent integer computation, drift shows up
//! where the log moved, and every tampering (a figure, a commitment, a byte, a public value, a
//! witness cell, a multiplicity, another stage's proof) is rejected with a typed error.
#![allow(clippy::unwrap_used, clippy::cast_possible_wrap)]

use zkmlops_fri::testing::{Tamper, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_monitor::{
    ColumnProfile, MonitorError, MonitorProof, MonitorSecrets, MonitorSpec, ProductionLog,
    Reference, monitor_program, prove_monitor,
};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::Tensor;
use zkmlops_train::{Dataset, Link, LogRegSpec, Model, train};

const SPEC: LogRegSpec = LogRegSpec {
    features: 3,
    batch: 8,
    learning_rate: 0.5,
    scale_bits: 8,
    value_bits: zkmlops_train::DATA_VALUE_BITS,
    link: Link::Logistic,
};

/// Deterministic pseudo-random reals in [-1, 1).
fn noise(seed: u64) -> impl FnMut() -> f64 {
    let mut s = seed | 1;
    move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 2048) as f64 / 1024.0 - 1.0
    }
}

/// Rows with label `x0 + x1 > 0`; `shift` moves feature 2 (which the label ignores).
fn rows(n: usize, seed: u64, shift: f64) -> Vec<(Vec<f64>, i64)> {
    let mut r = noise(seed);
    (0..n)
        .map(|_| {
            let x = vec![r(), r(), r() + shift];
            let y = i64::from(x[0] + x[1] > 0.0);
            (x, y)
        })
        .collect()
}

fn reference() -> Dataset {
    let rows = rows(64, 7, 0.0);
    Dataset {
        features: rows.iter().map(|(x, _)| x.clone()).collect(),
        labels: rows.iter().map(|(_, y)| *y).collect(),
        targets: rows.iter().map(|(_, y)| *y as f64).collect(),
    }
}

/// 40 production rows, feature 2 shifted by `shift`; labels arrived for every other row;
/// rows 0..10 are in the group.
fn log(shift: f64) -> ProductionLog {
    let rows = rows(40, 99, shift);
    ProductionLog {
        labels: rows
            .iter()
            .enumerate()
            .map(|(i, (_, y))| (i % 2 == 0).then_some(*y))
            .collect(),
        groups: (0..rows.len()).map(|i| i64::from(i < 10)).collect(),
        features: rows.into_iter().map(|(x, _)| x).collect(),
    }
}

fn model() -> Model {
    train(&SPEC, &reference(), 8, 24).unwrap().model
}

const EDGES: [f64; 3] = [-0.5, 0.0, 0.5];

/// The reference data's profile, as a preprocessing proof would publish it (evaluated by the
/// integer reference here: the profile's own proof is the preprocessing stage's business).
fn reference_profile() -> Reference {
    let data = reference();
    let s = zkmlops_field::Scale::new(8).unwrap();
    let (rows, d) = (data.len(), 3);
    let edges: Vec<i64> = EDGES.iter().map(|&e| enc(e)).collect();
    let mut b = zkmlops_tensor::ProgramBuilder::new();
    let x = b.input("x", &[rows, d], s, zkmlops_tensor::Visibility::Private);
    let ids = zkmlops_tensor::composite::column_profile(&mut b, "p", x, d, &edges, s).unwrap();
    for id in [ids.mean, ids.variance, ids.at_least] {
        b.output(id, zkmlops_tensor::Visibility::Public).unwrap();
    }
    let program = b.build().unwrap();
    let (rx, _) = zkmlops_train::quantize_data(&SPEC, &data).unwrap();
    let w = program.evaluate(&[rx]).unwrap();
    Reference {
        commitment: zkmlops_commit::commit_lineage(&[&[42]]),
        profile: ColumnProfile::read(
            &ids,
            |id| w.get(id).map(|t| t.data().to_vec()),
            (rows, d),
            &edges,
            8,
        )
        .unwrap(),
    }
}

fn spec(rows: usize) -> MonitorSpec {
    MonitorSpec::new(SPEC, rows, &[], Some(reference_profile())).unwrap()
}

fn prove(log: &ProductionLog, model: &Model) -> MonitorProof {
    let secrets = MonitorSecrets {
        model,
        model_salt: &[1, 2, 3, 4],
        log,
        log_salt: &[5, 6, 7, 8],
    };
    prove_monitor(
        &spec(log.len()),
        &secrets,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap()
}

fn enc(v: f64) -> i64 {
    (v * 256.0).round() as i64
}

fn half_up(n: i64, d: i64) -> i64 {
    (2 * n + d).div_euclid(2 * d)
}

#[test]
fn figures_match_an_independent_integer_computation() {
    let model = model();
    let log = log(0.0);
    let proof = prove(&log, &model);
    let report = proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
    let f = &proof.figures;

    // Predictions: z = round_half_up(x w / 2^8) + b >= 0.
    let preds: Vec<i64> = log
        .features
        .iter()
        .map(|x| {
            let xw: i64 = x.iter().zip(&model.w).map(|(&v, &w)| enc(v) * w).sum();
            i64::from(half_up(xw, 256) + model.b >= 0)
        })
        .collect();
    assert_eq!(f.positives, preds.iter().sum::<i64>());
    let labeled: Vec<(i64, i64)> = preds
        .iter()
        .zip(&log.labels)
        .filter_map(|(&p, l)| l.map(|l| (p, l)))
        .collect();
    assert_eq!(f.labeled, 20);
    let wrong = labeled.iter().filter(|(p, l)| p != l).count() as i64;
    assert_eq!(f.wrong, wrong);
    assert_eq!(f.group_rows, 10);
    assert_eq!(f.group_positives, preds[..10].iter().sum::<i64>());

    // Per-feature mean (half-up), variance around it, and the [x >= edge] counts.
    for k in 0..3 {
        let col: Vec<i64> = log.features.iter().map(|x| enc(x[k])).collect();
        let n = col.len() as i64;
        let mean = half_up(col.iter().sum(), n);
        let var = half_up(col.iter().map(|v| (v - mean) * (v - mean)).sum(), n);
        assert_eq!(f.log.mean[k], mean);
        assert_eq!(f.log.variance[k], var);
        for (e, &edge) in EDGES.iter().enumerate() {
            let count = col.iter().filter(|&&v| v >= enc(edge)).count() as i64;
            assert_eq!(f.log.at_least[e][k], count);
        }
    }
    assert_eq!(report.correct, 20 - wrong);
    assert!(report.accuracy.unwrap() > 0.8, "{report:?}");
    // No drift: the log comes from the reference's distribution.
    assert!(report.drifted.is_empty(), "{report:?}");
    for d in &report.features {
        assert_eq!(d.log_bins.iter().sum::<i64>(), 40);
        assert_eq!(d.reference_bins.as_ref().unwrap().iter().sum::<i64>(), 64);
    }

    // The file round-trips through JSON.
    let back: MonitorProof = serde_json::from_str(&serde_json::to_string(&proof).unwrap()).unwrap();
    back.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
}

#[test]
fn a_shifted_feature_is_reported_as_drift() {
    let proof = prove(&log(1.0), &model());
    let report = proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
    assert_eq!(report.drifted, vec![2], "{report:?}");
    let shift = report.features[2].mean_shift.unwrap();
    assert!(shift > 1.2, "{shift}");
    assert!(report.features[0].mean_shift.unwrap().abs() < 0.5);
}

#[test]
fn tampering_is_rejected_with_typed_errors() {
    let model = model();
    let proof = prove(&log(0.0), &model);
    let policy = VerifyPolicy::default();
    let rejects = |p: &MonitorProof| p.verify(&FriBackend, &policy).unwrap_err();

    // Every figure changed alone.
    type Edit = fn(&mut zkmlops_monitor::MonitorFigures);
    let edits: [(&str, Edit); 9] = [
        ("positives", |f| f.positives += 1),
        ("labeled", |f| f.labeled -= 1),
        ("wrong", |f| f.wrong -= 1),
        ("group_rows", |f| f.group_rows += 1),
        ("group_positives", |f| f.group_positives += 1),
        ("log.mean", |f| f.log.mean[1] += 1),
        ("log.variance", |f| f.log.variance[0] -= 1),
        ("log.at_least", |f| f.log.at_least[2][2] += 1),
        ("log.shape", |f| f.log.rows += 1),
    ];
    for (name, edit) in edits {
        let mut p = proof.clone();
        edit(&mut p.figures);
        match rejects(&p) {
            MonitorError::Figure { which, .. } => assert_eq!(which, name),
            e => panic!("{name}: {e}"),
        }
    }
    // Each commitment swapped for another.
    let other = zkmlops_commit::commit_lineage(&[&[1, 2, 3]]);
    for which in ["log", "model"] {
        let mut p = proof.clone();
        match which {
            "log" => p.log_commitment = other,
            _ => p.model_commitment = other,
        }
        assert!(
            matches!(rejects(&p), MonitorError::Commitment { which: w } if w == which),
            "{which}"
        );
    }
    // A public spec changed (another edge, another row count): another Program (or a spec
    // that no longer matches its reference).
    let mut p = proof.clone();
    p.spec.edges[0] -= 1;
    assert!(matches!(rejects(&p), MonitorError::Spec { .. }));
    let mut p = proof.clone();
    p.spec.reference = None;
    p.spec.edges[0] -= 1;
    assert!(matches!(rejects(&p), MonitorError::Verify(_)));
    let mut p = proof.clone();
    p.spec.rows += 1;
    assert!(matches!(rejects(&p), MonitorError::Verify(_)));
    // Mutated proof bytes, anywhere: an error, never a panic or an acceptance.
    for at in [
        0,
        7,
        proof.envelope.proof.len() / 2,
        proof.envelope.proof.len() - 1,
    ] {
        let mut p = proof.clone();
        p.envelope.proof[at] ^= 0x20;
        assert!(matches!(rejects(&p), MonitorError::Verify(_)), "byte {at}");
    }
    // Each public value of the statement changed alone.
    for t in 0..proof.envelope.statement.public.len() {
        let mut p = proof.clone();
        p.envelope.statement.public[t].values[0] += 1;
        assert!(matches!(rejects(&p), MonitorError::Verify(_)), "public {t}");
    }
    // Another stage's proof of the same Program.
    let program = monitor_program(&proof.spec).unwrap();
    let witness = program.evaluate(&inputs(&model, &log(0.0))).unwrap();
    let mut p = proof.clone();
    p.envelope = FriBackend
        .prove(
            &program,
            &witness,
            StageTag::Metrics,
            FriConfig::KECCAK.name(),
        )
        .unwrap();
    assert!(matches!(rejects(&p), MonitorError::Stage { .. }));
}

fn inputs(model: &Model, log: &ProductionLog) -> Vec<Tensor> {
    let s = zkmlops_field::Scale::new(8).unwrap();
    let t = log.quantize(3, s).unwrap();
    vec![
        Tensor::vector(vec![5, 6, 7, 8]),
        t.x,
        t.y,
        t.labeled,
        t.group,
        Tensor::vector(vec![1, 2, 3, 4]),
        Tensor::new(vec![3, 1], model.w.clone()).unwrap(),
        Tensor::new(vec![1, 1], vec![model.b]).unwrap(),
    ]
}

/// A cheating prover that claims fewer wrong predictions: the witness's `wrong` count is
/// edited (everything else honest) and the prover's own checks are skipped. The sum chip's
/// constraints reject it.
#[test]
fn a_forged_count_in_the_witness_is_rejected() {
    let model = model();
    let log = log(0.0);
    let program = monitor_program(&spec(log.len())).unwrap();
    let mut witness = program.evaluate(&inputs(&model, &log)).unwrap();
    let wrong = program
        .outputs()
        .iter()
        .copied()
        .find(|id| program.tensors()[id.index()].name == "wrong")
        .unwrap();
    let t = &mut witness.values_mut()[wrong.index()];
    let forged = t.data()[0] - 1;
    *t = Tensor::new(t.shape().to_vec(), vec![forged]).unwrap();
    let env = prove_tampered(
        &program,
        &witness,
        StageTag::Monitoring,
        FriConfig::KECCAK,
        Tamper::SkipWitnessCheck,
    )
    .unwrap();
    assert!(
        FriBackend
            .verify(&program, &env, &VerifyPolicy::default())
            .is_err()
    );
}

#[test]
fn bad_specs_and_logs_are_typed_errors() {
    for edges in [&[0.5, 0.5][..], &[], &[0.001]] {
        assert!(
            matches!(
                MonitorSpec::new(SPEC, 10, edges, None),
                Err(MonitorError::Spec { .. })
            ),
            "{edges:?}"
        );
    }
    assert!(matches!(
        MonitorSpec::new(SPEC, 0, &[0.0], None),
        Err(MonitorError::Spec { .. })
    ));
    // A reference of another width than the model.
    let mut r = reference_profile();
    r.profile.mean.pop();
    assert!(matches!(
        MonitorSpec::new(SPEC, 10, &[], Some(r)),
        Err(MonitorError::Spec { .. })
    ));
    let linear = LogRegSpec {
        link: Link::Identity,
        ..SPEC
    };
    assert!(matches!(
        MonitorSpec::new(linear, 10, &[0.0], None),
        Err(MonitorError::Spec { .. })
    ));
    for (csv, line, column) in [
        ("a,b\n1,2\n", 1, 3),             // fewer columns than features
        ("a,b,c,extra\n1,2,3,4\n", 1, 4), // an unknown trailing column
        ("a,b,c,label\n1,2,3,2\n", 2, 4), // a label that is not 0/1
        ("a,b,c,group\n1,x,3,1\n", 2, 2), // not a number
        ("a,b,c,group\n1,2,3\n", 2, 4),   // a short row
    ] {
        match ProductionLog::from_csv(csv, 3) {
            Err(MonitorError::Csv {
                line: l, column: c, ..
            }) => {
                assert_eq!((l, c), (line, column), "{csv}");
            }
            other => panic!("{csv}: {other:?}"),
        }
    }
    // Quoted fields (a quoted header name with a comma, quoted numbers) parse.
    let quoted = ProductionLog::from_csv(
        "\"a, in cm\",b,c,label,group\n\"0.5\",1,-2,\"1\",0\n1,2,3,,1\n",
        3,
    )
    .unwrap();
    assert_eq!(
        quoted.features,
        vec![vec![0.5, 1.0, -2.0], vec![1.0, 2.0, 3.0]]
    );
    assert_eq!(quoted.labels, vec![Some(1), None]);
    assert_eq!(quoted.groups, vec![0, 1]);
    // A log whose size differs from the spec's.
    let model = model();
    let log = log(0.0);
    let secrets = MonitorSecrets {
        model: &model,
        model_salt: &[1, 2, 3, 4],
        log: &log,
        log_salt: &[5, 6, 7, 8],
    };
    assert!(matches!(
        prove_monitor(&spec(39), &secrets, &FriBackend, FriConfig::KECCAK.name()),
        Err(MonitorError::Spec { .. })
    ));
}

/// A wrong multiplicity: one count of the range table (how many times the proof looked a limb
/// up) off by one in the prover's trace; the range bus no longer balances.
#[test]
fn a_wrong_multiplicity_is_rejected() {
    let model = model();
    let log = log(0.0);
    let program = monitor_program(&spec(log.len())).unwrap();
    let witness = program.evaluate(&inputs(&model, &log)).unwrap();
    let kinds = zkmlops_fri::testing::instances(&program, FriConfig::KECCAK);
    let range = kinds.iter().position(|k| *k == "range").unwrap();
    let env = prove_tampered(
        &program,
        &witness,
        StageTag::Monitoring,
        FriConfig::KECCAK,
        Tamper::MainCell {
            instance: range,
            row: 5,
            col: 0,
            delta: 1,
        },
    )
    .unwrap();
    let e = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}
