//! Fixed-point SGD learns like f64 SGD on real data, and its segments prove and verify.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_train::{
    Dataset, LogRegSpec, MetricsError, Model, RunSalts, Salts, TranscriptError, model_commitment,
    prove_metrics, prove_run, segment_inputs, segment_program, sgd_f64, train,
};

fn data(name: &str) -> Dataset {
    let p = format!(
        "{}/data/breast_cancer_{name}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const SPEC: LogRegSpec = LogRegSpec {
    features: 30,
    batch: 32,
    learning_rate: 0.5,
    scale_bits: 10,
    value_bits: zkmlops_train::DATA_VALUE_BITS,
    link: zkmlops_train::Link::Logistic,
};

#[test]
fn fixed_point_sgd_learns_like_f64_sgd() {
    let (train_set, test_set) = (data("train"), data("test"));
    assert_eq!((train_set.len(), test_set.len()), (455, 114));
    let epoch = 455 / 32;
    let run = train(&SPEC, &train_set, epoch, 3 * epoch).unwrap();
    // Loss falls epoch after epoch.
    assert!(
        run.losses.windows(2).all(|w| w[1] < w[0]),
        "{:?}",
        run.losses
    );
    assert!(*run.losses.last().unwrap() < 0.2, "{:?}", run.losses);
    // Accuracy close to the same SGD in f64.
    let (w, b) = sgd_f64(&SPEC, &train_set, 3 * epoch);
    let float = Model {
        scale_bits: 20,
        w: w.iter()
            .map(|v| (v * f64::from(1 << 20)).round() as i64)
            .collect(),
        b: (b * f64::from(1 << 20)).round() as i64,
    };
    let (q, f) = (run.model.accuracy(&test_set), float.accuracy(&test_set));
    assert!(
        q > 0.93 && (q - f).abs() <= 0.02,
        "fixed point {q}, f64 {f}"
    );
    println!(
        "test accuracy: fixed point {q:.3}, f64 {f:.3}; losses {:?}",
        run.losses
    );
}

fn salts(segments: usize, seed: i64) -> RunSalts {
    let salt = |k: i64| core::array::from_fn(|j| (seed * 1_000_003 + k * 7919 + j as i64) << 40);
    RunSalts {
        data: salt(-1),
        checkpoints: (0..=segments).map(|k| salt(k as i64)).collect(),
    }
}

#[test]
fn a_proved_epoch_verifies_as_a_chain_and_ends_at_the_reference_weights() {
    let train_set = data("train");
    let epoch = 455 / 32;
    let t = Instant::now();
    // One epoch as two segments of 7 steps.
    let (transcript, model) = prove_run(
        &SPEC,
        &train_set,
        &Model::zeros(&SPEC),
        &salts(2, 1),
        7,
        2,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    transcript
        .verify(&FriBackend, &VerifyPolicy::default())
        .unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(model, train(&SPEC, &train_set, epoch, epoch).unwrap().model);
    println!(
        "epoch of {epoch} steps in 2 segments: proved in {prove_ms:.0} ms, verified in {verify_ms:.0} ms, {} proof bytes",
        transcript
            .segments
            .iter()
            .map(|e| e.proof.len())
            .sum::<usize>()
    );
}

#[test]
fn transcript_tampering_is_rejected() {
    let train_set = data("train");
    let run = |seed| {
        prove_run(
            &SPEC,
            &train_set,
            &Model::zeros(&SPEC),
            &salts(2, seed),
            3,
            2,
            &FriBackend,
            FriConfig::KECCAK.name(),
        )
        .unwrap()
    };
    let (good, model) = run(1);
    let policy = VerifyPolicy::default();
    good.verify(&FriBackend, &policy).unwrap();

    // Segments swapped: the schedule gives each its own Program.
    let mut t = good.clone();
    t.segments.swap(0, 1);
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Segment { .. })
    ));

    // A segment whose start is not the previous end (from another run's chain).
    let (other, _) = run(2);
    let mut t = good.clone();
    t.segments[1] = other.segments[1].clone();
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Link { index: 1, .. } | TranscriptError::Data { index: 1 })
    ));

    // A changed learning rate: every segment Program differs.
    let mut t = good.clone();
    t.spec = zkmlops_train::ModelSpec::Linear(LogRegSpec {
        learning_rate: 0.25,
        ..SPEC
    });
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Segment { index: 0, .. })
    ));

    // A dropped batch: the last segment proved one batch later than the schedule says.
    let program = segment_program(&SPEC, train_set.len(), 4, 3).unwrap();
    let s = salts(2, 1);
    let mid = train(&SPEC, &train_set, 3, 3).unwrap().model;
    let witness = program
        .evaluate(
            &segment_inputs(
                &SPEC,
                &mid,
                &train_set,
                &Salts {
                    data: s.data,
                    start: s.checkpoints[1],
                    end: s.checkpoints[2],
                },
            )
            .unwrap(),
        )
        .unwrap();
    let mut t = good.clone();
    t.segments[1] = FriBackend
        .prove(
            &program,
            &witness,
            StageTag::Training,
            FriConfig::KECCAK.name(),
        )
        .unwrap();
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Segment { index: 1, .. })
    ));

    // A final weight changed by one unit: not the commitment the chain ends at.
    let mut changed = model.clone();
    changed.w[3] += 1;
    let mut t = good.clone();
    t.final_commitment = model_commitment(&changed, &salts(2, 1).checkpoints[2]);
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Final { .. })
    ));

    // Another dataset commitment, another initial commitment, a missing segment.
    let mut t = good.clone();
    t.data_commitment = model_commitment(&model, &[1, 2, 3, 4]);
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Data { index: 0 })
    ));
    let mut t = good.clone();
    t.initial_commitment = t.final_commitment;
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::Link { index: 0, .. })
    ));
    let mut t = good;
    t.segments.pop();
    assert!(matches!(
        t.verify(&FriBackend, &policy),
        Err(TranscriptError::SegmentCount { .. })
    ));
}

#[test]
fn bad_data_and_hyperparameters_are_typed_errors() {
    assert!(Dataset::from_csv("a,label\n1.0,x\n").is_err());
    assert!(Dataset::from_csv("a,b,label\n1.0,2.0\n").is_err());
    assert!(Dataset::from_csv("a,label\nnan,1\n").is_err());
    // Inference rows: the features, with or without a trailing label.
    let rows = Dataset::features_from_csv("a,b\n1,2\n-0.5,3\n", 2).unwrap();
    assert_eq!(rows, vec![vec![1.0, 2.0], vec![-0.5, 3.0]]);
    let rows = Dataset::features_from_csv("a,b,label\n1,2,0\n", 2).unwrap();
    assert_eq!(rows, vec![vec![1.0, 2.0]]);
    assert!(Dataset::features_from_csv("a\n1\n", 2).is_err());
    assert!(matches!(
        Dataset::features_from_csv("a,b\n1,x\n", 2),
        Err(zkmlops_train::TrainError::Csv {
            line: 2,
            column: 2,
            ..
        })
    ));
    let d = Dataset::from_csv("a,label\n1.0,2\n0.0,1\n").unwrap();
    let spec = LogRegSpec {
        features: 1,
        batch: 2,
        learning_rate: 0.1,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    };
    assert!(train(&spec, &d, 1, 1).is_err(), "label 2 is not binary");
    let bad_scale = LogRegSpec {
        scale_bits: 40,
        ..spec
    };
    assert!(segment_program(&bad_scale, 2, 0, 1).is_err());
    let bad_lr = LogRegSpec {
        learning_rate: -1.0,
        ..spec
    };
    assert!(segment_program(&bad_lr, 2, 0, 1).is_err());
    for value_bits in [0, 32] {
        let bad_bits = LogRegSpec { value_bits, ..spec };
        assert!(matches!(
            segment_program(&bad_bits, 2, 0, 1),
            Err(zkmlops_train::TrainError::Spec {
                name: "value_bits",
                ..
            })
        ));
    }
    // Data past the declared value bits is refused by the reference, naming the tensor.
    let narrow = LogRegSpec {
        value_bits: 9,
        ..spec
    };
    let wide_data = Dataset::from_csv("a,label\n1.0,1\n0.5,0\n").unwrap();
    let e = train(&narrow, &wide_data, 1, 1).unwrap_err();
    assert!(e.to_string().contains("data/"), "{e}");
    assert!(segment_program(&spec, 2, 0, 0).is_err());
    assert!(
        segment_program(&spec, 1, 0, 1).is_err(),
        "fewer rows than a batch"
    );
    // Sizes from an untrusted transcript cannot make the verifier allocate without bound.
    assert!(segment_program(&spec, usize::MAX / 2, 0, 1).is_err());
    assert!(zkmlops_train::metrics_program(&spec, usize::MAX / 2).is_err());
}

#[test]
fn accuracy_on_a_committed_test_set_is_proved_exactly() {
    let (train_set, test_set) = (data("train"), data("test"));
    let epoch = 455 / 32;
    let s = salts(1, 3);
    let (transcript, model) = prove_run(
        &SPEC,
        &train_set,
        &Model::zeros(&SPEC),
        &s,
        epoch,
        1,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let test_salt = [5, 6, 7, 8];
    let m = prove_metrics(
        &SPEC,
        &model,
        &s.checkpoints[1],
        &test_set,
        &test_salt,
        &FriBackend,
        FriConfig::KECCAK_ZK.name(),
    )
    .unwrap();
    let policy = VerifyPolicy::default();
    m.verify(&FriBackend, &policy).unwrap();
    // The model measured is the one the training run ended with.
    assert_eq!(m.model_commitment, transcript.final_commitment);
    // The count agrees with the model's float predictions (to a borderline row).
    let float = (model.accuracy(&test_set) * test_set.len() as f64).round() as usize;
    assert!(m.correct.abs_diff(float) <= 1, "{} vs {float}", m.correct);
    println!("proved {} / {} correct", m.correct, m.rows);

    // A claimed accuracy off by one, another model, another test set: rejected.
    let mut bad = m.clone();
    bad.correct += 1;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Count { .. })
    ));
    let mut bad = m.clone();
    bad.model_commitment = transcript.initial_commitment;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Commitment { which: "model" })
    ));
    let mut bad = m.clone();
    bad.test_commitment = transcript.data_commitment;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Commitment { which: "test set" })
    ));
    let mut bad = m;
    bad.envelope.statement.public[0].values[0] += 1;
    bad.correct -= 1;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Verify(_))
    ));
}

#[test]
fn fairness_counts_over_a_committed_attribute_are_exact() {
    let (train_set, test_set) = (data("train"), data("test"));
    let model = train(&SPEC, &train_set, 455 / 32, 455 / 32).unwrap().model;
    // The protected group: rows whose first (standardised) feature is positive.
    let attribute: Vec<i64> = test_set
        .features
        .iter()
        .map(|r| i64::from(r[0] > 0.0))
        .collect();
    let (model_salt, test_salt, attr_salt) = ([1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]);
    let m = zkmlops_train::prove_fairness_metrics(
        &SPEC,
        &model,
        &model_salt,
        &test_set,
        &test_salt,
        &attribute,
        &attr_salt,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let policy = VerifyPolicy::default();
    m.verify(&FriBackend, &policy).unwrap();
    // The counts, recomputed directly on integers.
    let (x, _) = zkmlops_train::quantize_data(&SPEC, &test_set).unwrap();
    let s = SPEC.scale_bits;
    let pred: Vec<usize> = x
        .data()
        .chunks(30)
        .map(|row| {
            let dot: i128 = row
                .iter()
                .zip(&model.w)
                .map(|(&a, &b)| i128::from(a) * i128::from(b))
                .sum();
            let z = (dot + (1 << (s - 1))).div_euclid(1 << s) + i128::from(model.b);
            usize::from(z >= 0)
        })
        .collect();
    let f = m.fairness.unwrap();
    assert_eq!(f.positives, pred.iter().sum::<usize>());
    assert_eq!(
        f.group_positives,
        pred.iter()
            .zip(&attribute)
            .filter(|&(&p, &a)| p == 1 && a == 1)
            .count()
    );
    assert_eq!(f.group_rows, attribute.iter().filter(|&&a| a == 1).count());
    assert!(f.group_rows > 0 && f.group_rows < test_set.len());
    let gap = f.positive_rate_gap(test_set.len()).unwrap();
    println!("positive-rate gap {gap:.3} ({f:?})");
    assert_eq!(
        f.attribute_commitment,
        zkmlops_train::FairnessClaim::commit(&attribute, &attr_salt)
    );

    // Counts off by one, another attribute, or the claim dropped: rejected.
    for k in 0..3 {
        let mut bad = m.clone();
        let c = bad.fairness.as_mut().unwrap();
        *[&mut c.positives, &mut c.group_positives, &mut c.group_rows][k] += 1;
        assert!(matches!(
            bad.verify(&FriBackend, &policy),
            Err(MetricsError::Fairness { .. })
        ));
    }
    let mut bad = m.clone();
    bad.fairness.as_mut().unwrap().attribute_commitment =
        zkmlops_train::FairnessClaim::commit(&attribute, &[0; 4]);
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Commitment { which: "attribute" })
    ));
    let mut bad = m.clone();
    bad.fairness = None;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Verify(_))
    ));
    // A bad attribute column is refused before proving.
    let e = zkmlops_train::prove_fairness_metrics(
        &SPEC,
        &model,
        &model_salt,
        &test_set,
        &test_salt,
        &attribute[1..],
        &attr_salt,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap_err();
    assert!(matches!(e, MetricsError::Attribute));
}

#[test]
fn predictions_are_proved_under_the_runs_final_commitment() {
    let (train_set, test_set) = (data("train"), data("test"));
    let s = salts(2, 4);
    let (transcript, model) = prove_run(
        &SPEC,
        &train_set,
        &Model::zeros(&SPEC),
        &s,
        7,
        2,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let rows: Vec<Vec<f64>> = test_set.features[..5].to_vec();
    let p = zkmlops_train::prove_prediction(
        &SPEC,
        &model,
        &s.checkpoints[2],
        &rows,
        &FriBackend,
        FriConfig::KECCAK_ZK.name(),
    )
    .unwrap();
    let policy = VerifyPolicy::default();
    p.verify(&FriBackend, &policy).unwrap();
    assert_eq!(p.model_commitment, transcript.final_commitment);
    // The proved probabilities are the float model's, to the table's resolution.
    for (v, x) in p.values().iter().zip(&rows) {
        assert!(
            (v - model.probability(x)).abs() < 0.01,
            "{v} vs {}",
            model.probability(x)
        );
    }
    // Another prediction or another model is rejected.
    let mut bad = p.clone();
    bad.predictions[0] += 1;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Predictions)
    ));
    let mut bad = p.clone();
    bad.model_commitment = transcript.initial_commitment;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Commitment { which: "model" })
    ));
}
