//! Fixed-point SGD learns like f64 SGD on real data, and its segments prove and verify.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{ProvingBackend, StageTag, VerifyPolicy};
use zkmlops_train::{Dataset, LogRegSpec, Model, segment_inputs, segment_program, sgd_f64, train};

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

#[test]
fn an_epoch_segment_proves_and_verifies_and_its_output_is_the_reference() {
    let train_set = data("train");
    let epoch = 455 / 32;
    let program = segment_program(&SPEC, epoch).unwrap();
    let start = Model::zeros(&SPEC);
    let inputs = segment_inputs(&SPEC, &start, &train_set, 0, epoch).unwrap();
    let witness = program.evaluate(&inputs).unwrap();
    let t = Instant::now();
    let env = FriBackend
        .prove(&program, &witness, StageTag::Training, &FriConfig::KECCAK)
        .unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let v = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap();
    let reference = train(&SPEC, &train_set, epoch, epoch).unwrap().model;
    let public = &v.statement.public;
    // w0, b0 (the start) and the final w, b.
    assert_eq!(public.len(), 4);
    assert_eq!(public[2].values, reference.w);
    assert_eq!(public[3].values, vec![reference.b]);
    println!(
        "epoch of {epoch} steps proved in {prove_ms:.0} ms, {} bytes",
        env.proof.len()
    );

    // A final weight changed by one unit is rejected.
    let mut bad = env.clone();
    bad.statement.public[2].values[0] += 1;
    assert!(
        FriBackend
            .verify(&program, &bad, &VerifyPolicy::default())
            .is_err()
    );
    // A different learning rate is a different Program: the proof is not for it.
    let other = segment_program(
        &LogRegSpec {
            learning_rate: 0.25,
            ..SPEC
        },
        epoch,
    )
    .unwrap();
    assert!(
        FriBackend
            .verify(&other, &env, &VerifyPolicy::default())
            .is_err()
    );
}

#[test]
fn bad_data_and_hyperparameters_are_typed_errors() {
    assert!(Dataset::from_csv("a,label\n1.0,x\n").is_err());
    assert!(Dataset::from_csv("a,b,label\n1.0,2.0\n").is_err());
    assert!(Dataset::from_csv("a,label\nnan,1\n").is_err());
    let d = Dataset::from_csv("a,label\n1.0,2\n0.0,1\n").unwrap();
    let spec = LogRegSpec {
        features: 1,
        batch: 2,
        learning_rate: 0.1,
        scale_bits: 8,
    };
    assert!(train(&spec, &d, 1, 1).is_err(), "label 2 is not binary");
    assert!(
        segment_program(
            &LogRegSpec {
                scale_bits: 40,
                ..spec
            },
            1
        )
        .is_err()
    );
    assert!(
        segment_program(
            &LogRegSpec {
                learning_rate: -1.0,
                ..spec
            },
            1
        )
        .is_err()
    );
    assert!(segment_program(&spec, 0).is_err());
}
