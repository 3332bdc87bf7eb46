//! A training segment attacked with the backend's cheating prover (`zkmlops_fri::testing`):
//! one committed data value past its declared bound, every other value computed consistently
//! from it (the gradient included) and the data commitment computed from the same values. Only
//! the bound chip's range check stands between this and an accepted segment, and it holds.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig, testing};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_train::{Dataset, LogRegSpec, Model, Salts, segment_inputs, segment_program};

#[test]
fn a_segment_over_an_out_of_bound_data_value_is_rejected() {
    let spec = LogRegSpec {
        features: 4,
        batch: 4,
        learning_rate: 0.5,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    };
    let csv = "f0,f1,f2,f3,label\n0.5,-1,0.25,2,1\n-0.5,1,0,-2,0\n1,0.5,-0.25,1,1\n\
               -1,-0.5,0.5,-1,0\n";
    let data = Dataset::from_csv(csv).unwrap();
    let program = segment_program(&spec, data.len(), 0, 1).unwrap();
    let salts = Salts {
        data: [1, 2, 3, 4],
        start: [5, 6, 7, 8],
        end: [9, 10, 11, 12],
    };
    let mut inputs = segment_inputs(&spec, &Model::zeros(&spec), &data, &salts).unwrap();
    // One feature 2^24 (65536.0 at scale 2^8), past the default 24-bit bound.
    let x = program
        .input_ids()
        .position(|id| program.tensors()[id.index()].name == "data/x")
        .unwrap();
    let mut values = inputs[x].data().to_vec();
    values[0] = 1 << 24;
    inputs[x] = zkmlops_tensor::Tensor::new(inputs[x].shape().to_vec(), values).unwrap();
    // The same Program with every input unbounded evaluates the consistent witness (the
    // reference itself refuses the value under the real Program).
    assert!(program.evaluate(&inputs).is_err());
    let relaxed = testing::relaxed(&program).unwrap();
    let witness = relaxed.evaluate(&inputs).unwrap();

    let k = FriConfig::KECCAK;
    let d = testing::diagnose(&program, &witness, StageTag::Training, k, |_| {}).unwrap();
    assert!(d.only_bus(testing::RANGE), "{d:?}");
    let env = testing::prove_edited(&program, &witness, StageTag::Training, k, |_| {}).unwrap();
    let e = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
    // The honest prover names the input instead.
    assert!(
        FriBackend
            .prove(&program, &witness, StageTag::Training, k.name())
            .unwrap_err()
            .to_string()
            .contains("data/x")
    );
}
