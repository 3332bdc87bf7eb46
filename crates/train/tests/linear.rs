//! Linear regression (identity link, squared error) on a real-valued target: fixed-point SGD
//! learns like f64 SGD, and a proved run verifies as a chain.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::VerifyPolicy;
use zkmlops_train::{
    Dataset, Link, LogRegSpec, Model, RunSalts, TranscriptError, model_commitment, prove_run,
    sgd_f64, train,
};

fn data(name: &str) -> Dataset {
    let p = format!("{}/data/diabetes_{name}.csv", env!("CARGO_MANIFEST_DIR"));
    Dataset::regression_from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const SPEC: LogRegSpec = LogRegSpec {
    features: 10,
    batch: 32,
    learning_rate: 0.1,
    scale_bits: 12,
    value_bits: zkmlops_train::DATA_VALUE_BITS,
    link: Link::Identity,
};

fn f64_mse(w: &[f64], b: f64, d: &Dataset) -> f64 {
    d.features
        .iter()
        .zip(&d.targets)
        .map(|(x, t)| (b + x.iter().zip(w).map(|(a, w)| a * w).sum::<f64>() - t).powi(2))
        .sum::<f64>()
        / d.len() as f64
}

#[test]
fn fixed_point_linear_regression_learns_like_f64_sgd() {
    let (train_set, test_set) = (data("train"), data("test"));
    assert_eq!((train_set.len(), test_set.len()), (353, 89));
    assert!(train_set.labels.is_empty());
    let epoch = 353 / 32;
    let run = train(&SPEC, &train_set, epoch, 10 * epoch).unwrap();
    // The squared error falls over the first epochs from the target's variance (about 1), then
    // stays at the SGD noise floor.
    for pair in run.losses.windows(2).take(3) {
        assert!(pair[1] < pair[0], "{:?}", run.losses);
    }
    assert!(
        run.losses[0] > 0.9 && *run.losses.last().unwrap() < 0.6,
        "{:?}",
        run.losses
    );
    let (w, b) = sgd_f64(&SPEC, &train_set, 10 * epoch);
    let fixed = run.model.mse(&test_set);
    let float = f64_mse(&w, b, &test_set);
    println!(
        "test mse: fixed point {fixed:.4}, f64 {float:.4}; train {:?}",
        run.losses
    );
    assert!((fixed - float).abs() < 0.01, "{fixed} vs {float}");
    // A classification dataset's labels are not real targets: the metrics stage refuses the
    // identity link.
    assert!(zkmlops_train::metrics_program(&SPEC, 10).is_err());
}

#[test]
fn a_proved_linear_regression_run_verifies_as_a_chain() {
    let train_set = data("train");
    let epoch = 353 / 32;
    let salt = |k: i64| [k, k + 1, k + 2, k + 3];
    let salts = RunSalts {
        data: salt(100),
        checkpoints: vec![salt(0), salt(10), salt(20)],
    };
    let (transcript, model) = prove_run(
        &SPEC,
        &train_set,
        &Model::zeros(&SPEC),
        &salts,
        epoch,
        2,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let policy = VerifyPolicy::default();
    transcript.verify(&FriBackend, &policy).unwrap();
    let reference = train(&SPEC, &train_set, epoch, 2 * epoch).unwrap().model;
    assert_eq!(model, reference);
    assert_eq!(
        transcript.final_commitment,
        model_commitment(&model, &salts.checkpoints[2])
    );
    // The same transcript read as logistic regression (another Program) is rejected.
    let mut bad = transcript.clone();
    bad.spec = zkmlops_train::ModelSpec::Linear(LogRegSpec {
        link: Link::Logistic,
        ..SPEC
    });
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(TranscriptError::Segment { index: 0, .. })
    ));
}
