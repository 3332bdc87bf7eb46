//! The one-hidden-layer MLP: fixed-point SGD learns digits, and a segment proves and verifies
//! to the reference parameters.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_train::{
    Dataset, MlpModel, MlpSpec, Salts, mlp_segment_inputs, mlp_segment_program, train_mlp,
};

fn data(name: &str) -> Dataset {
    let p = format!("{}/data/digits_{name}.csv", env!("CARGO_MANIFEST_DIR"));
    Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const SPEC: MlpSpec = MlpSpec::DIGITS;

#[test]
fn fixed_point_mlp_sgd_learns_digits() {
    let (train, test) = (data("train"), data("test"));
    assert_eq!((train.len(), test.len()), (1437, 360));
    let init = MlpModel::init(&SPEC, 7);
    let before = init.accuracy(&SPEC, &test);
    let epoch = 1437 / 32;
    let model = train_mlp(&SPEC, &train, &init, epoch, 2 * epoch).unwrap();
    let after = model.accuracy(&SPEC, &test);
    println!("digits test accuracy: {before:.3} -> {after:.3} after 2 epochs");
    assert!(after > 0.85 && after > before + 0.5, "{before} -> {after}");
}

#[test]
fn an_mlp_segment_proves_to_the_reference_parameters() {
    let train = data("train");
    let init = MlpModel::init(&SPEC, 7);
    let program = mlp_segment_program(&SPEC, train.len(), 0, 2).unwrap();
    let salts = Salts {
        data: [1, 2, 3, 4],
        start: [5, 6, 7, 8],
        end: [9, 10, 11, 12],
    };
    let w = program
        .evaluate(&mlp_segment_inputs(&SPEC, &init, &train, &salts).unwrap())
        .unwrap();
    let env = FriBackend
        .prove(&program, &w, StageTag::Training, FriConfig::KECCAK.name())
        .unwrap();
    let v = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap();
    assert_eq!(v.statement.commitments.len(), 3);
    let reference = train_mlp(&SPEC, &train, &init, 2, 2).unwrap();
    let end = zkmlops_commit::commit_lineage(&[
        salts.end.as_slice(),
        &reference.params[0],
        &reference.params[1],
        &reference.params[2],
        &reference.params[3],
    ]);
    assert_eq!(
        zkmlops_commit::Digest::from_bytes(&v.statement.commitments[2].digest).unwrap(),
        end
    );
}

/// Softmax regression: the same Programs without a hidden layer.
const SOFTMAX: MlpSpec = MlpSpec {
    inputs: 64,
    hidden: 0,
    classes: 10,
    batch: 32,
    learning_rate: 0.5,
    scale_bits: 10,
    value_bits: zkmlops_train::DATA_VALUE_BITS,
};

#[test]
fn softmax_regression_learns_digits_and_a_proved_run_and_its_accuracy_verify() {
    use zkmlops_train::{MetricsError, RunSalts, prove_mlp_metrics, prove_mlp_run};
    let (train, test) = (data("train"), data("test"));
    let init = MlpModel::init(&SOFTMAX, 3);
    assert_eq!(init.params.len(), 2);
    let epoch = 1437 / 32;
    let reference = train_mlp(&SOFTMAX, &train, &init, epoch, epoch).unwrap();
    let acc = reference.accuracy(&SOFTMAX, &test);
    println!("softmax regression, 1 epoch: test accuracy {acc:.3}");
    assert!(acc > 0.85, "{acc}");

    // A proved run of 4 steps in 2 segments ends at the reference parameters.
    let salt = |k: i64| [k, k + 1, k + 2, k + 3];
    let salts = RunSalts {
        data: salt(50),
        checkpoints: vec![salt(0), salt(10), salt(20)],
    };
    let (transcript, model) = prove_mlp_run(
        &SOFTMAX,
        &train,
        &init,
        &salts,
        2,
        2,
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    let policy = VerifyPolicy::default();
    transcript.verify(&FriBackend, &policy).unwrap();
    assert_eq!(model, train_mlp(&SOFTMAX, &train, &init, 2, 4).unwrap());
    // The transcript round-trips through JSON as an MLP spec.
    let json = serde_json::to_string(&transcript).unwrap();
    let back: zkmlops_train::TrainingTranscript = serde_json::from_str(&json).unwrap();
    assert_eq!(back.spec, transcript.spec);
    back.verify(&FriBackend, &policy).unwrap();
    // And through the binary stage file (CBOR reads the untagged spec back as an MLP), at
    // about half the JSON's bytes.
    use zkmlops_proof::StageFile;
    let bin = transcript.to_binary().unwrap();
    assert!(
        bin.len() * 3 < json.len() * 2,
        "{} vs {}",
        bin.len(),
        json.len()
    );
    let back = zkmlops_train::TrainingTranscript::from_binary(&bin).unwrap();
    assert_eq!(back.spec, transcript.spec);
    back.verify(&FriBackend, &policy).unwrap();
    // Tampered: another learning rate (other Programs), another final commitment, segments
    // swapped.
    use zkmlops_train::{ModelSpec, TranscriptError};
    let mut bad = transcript.clone();
    bad.spec = ModelSpec::Mlp(MlpSpec {
        learning_rate: 0.25,
        ..SOFTMAX
    });
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(TranscriptError::Segment { index: 0, .. })
    ));
    let mut bad = transcript.clone();
    bad.final_commitment = transcript.initial_commitment;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(TranscriptError::Final { .. })
    ));
    let mut bad = transcript.clone();
    bad.segments.swap(0, 1);
    assert!(bad.verify(&FriBackend, &policy).is_err());

    // The proved accuracy (argmax) of the trained model equals the float count, the model
    // commitment is the run's final one, and a count off by one is rejected.
    let m = prove_mlp_metrics(
        &SOFTMAX,
        &reference,
        &salt(99),
        &test,
        &salt(7),
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    m.verify(&FriBackend, &policy).unwrap();
    let float = (acc * test.len() as f64).round() as usize;
    assert!(m.correct.abs_diff(float) <= 2, "{} vs {float}", m.correct);
    assert_eq!(
        m.model_commitment,
        zkmlops_train::mlp_model_commitment(&reference, &salt(99))
    );
    let mut bad = m.clone();
    bad.correct += 1;
    assert!(matches!(
        bad.verify(&FriBackend, &policy),
        Err(MetricsError::Count { .. })
    ));
    // And the MLP's accuracy proves the same way.
    let mlp = MlpModel::init(&SPEC, 7);
    let m = prove_mlp_metrics(
        &SPEC,
        &mlp,
        &salt(1),
        &test,
        &salt(2),
        &FriBackend,
        FriConfig::KECCAK.name(),
    )
    .unwrap();
    m.verify(&FriBackend, &policy).unwrap();
    let float = (mlp.accuracy(&SPEC, &test) * test.len() as f64).round() as usize;
    assert!(m.correct.abs_diff(float) <= 2, "{} vs {float}", m.correct);
}
