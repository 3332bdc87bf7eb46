//! The one-hidden-layer MLP: fixed-point SGD learns digits, and a segment proves and verifies
//! to the reference parameters.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{ProvingBackend, StageTag, VerifyPolicy};
use zkmlops_train::{
    Dataset, MlpModel, MlpSpec, Salts, mlp_segment_inputs, mlp_segment_program, train_mlp,
};

fn data(name: &str) -> Dataset {
    let p = format!("{}/data/digits_{name}.csv", env!("CARGO_MANIFEST_DIR"));
    Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const SPEC: MlpSpec = MlpSpec {
    inputs: 64,
    hidden: 32,
    classes: 10,
    batch: 32,
    learning_rate: 0.5,
    scale_bits: 10,
};

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
        .prove(&program, &w, StageTag::Training, &FriConfig::KECCAK)
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
