//! Inference proofs: a valid proof verifies; a mutated proof byte, a changed output claim, a
//! changed public input, a proof of another stage and a proof checked against another model
//! are each rejected with a typed error.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_infer::{InferError, prove, verify};
use zkmlops_onnx::{CompiledModel, OnnxModel, Settings, compile};
use zkmlops_proof::{Backend, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::Visibility;

fn bundled(name: &str, settings: &Settings) -> CompiledModel {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(format!("../../examples/models/{name}.onnx"));
    compile(&OnnxModel::from_path(&p).unwrap(), settings).unwrap()
}

fn input(n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| f64::from(u32::try_from(i % 17).unwrap()) / 16.0)
        .collect()
}

#[test]
fn valid_inference_proof_verifies_and_reports_the_quantized_outputs() {
    let m = bundled("cnn", &Settings::default());
    let p = prove(&m, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    let v = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap();
    assert_eq!(v.outputs.len(), 1);
    assert_eq!(v.outputs[0].name, "logits");
    assert_eq!(v.outputs[0].values, p.outputs[0]);
    assert!(v.input.is_none());
}

#[test]
fn inference_mutated_proof_byte_rejected() {
    let m = bundled("mlp", &Settings::default());
    let mut p = prove(&m, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    let mid = p.envelope.proof.len() / 2;
    p.envelope.proof[mid] ^= 0x10;
    let e = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap_err();
    assert!(matches!(e, InferError::Verify(_)), "{e:?}");
}

#[test]
fn inference_changed_output_rejected() {
    let m = bundled("mlp", &Settings::default());
    let mut p = prove(&m, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    p.envelope.statement.public[0].values[3] += 1;
    let e = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap_err();
    match e {
        InferError::Verify(v) => assert!(v.is_cryptographic(), "{v:?}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn inference_changed_public_input_rejected() {
    let s = Settings {
        input_visibility: Visibility::Public,
        ..Settings::default()
    };
    let m = bundled("logreg", &s);
    let mut p = prove(&m, &input(30), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    let ok = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap();
    assert_eq!(ok.input.unwrap().values, input(30));
    let x = p
        .envelope
        .statement
        .public
        .iter_mut()
        .find(|t| t.id == m.input)
        .unwrap();
    x.values[0] += 1;
    let e = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap_err();
    assert!(matches!(e, InferError::Verify(_)), "{e:?}");
}

#[test]
fn proof_of_another_stage_is_not_an_inference() {
    let m = bundled("mlp", &Settings::default());
    let w = m.witness(0, &input(64)).unwrap();
    let env = FriBackend
        .prove(&m.program, &w, StageTag::Generic, FriConfig::KECCAK.name())
        .unwrap();
    let e = verify(&m.program, &env, &FriBackend, &VerifyPolicy::default()).unwrap_err();
    assert!(
        matches!(
            e,
            InferError::WrongStage {
                found: StageTag::Generic
            }
        ),
        "{e:?}"
    );
}

#[test]
fn proof_checked_against_another_model_is_a_statement_error() {
    let m = bundled("mlp", &Settings::default());
    let other = bundled(
        "mlp",
        &Settings {
            scale_bits: 9,
            ..Settings::default()
        },
    );
    let p = prove(&m, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    let e = verify(
        &other.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, InferError::Verify(VerifyError::Statement(_))),
        "{e:?}"
    );
}

#[test]
fn an_input_of_the_wrong_size_is_a_model_error_before_proving() {
    let m = bundled("mlp", &Settings::default());
    let e = prove(&m, &input(63), &FriBackend, FriConfig::KECCAK.name()).unwrap_err();
    assert!(matches!(e, InferError::Model(_)), "{e:?}");
}

#[test]
fn a_proof_with_one_changed_weight_is_refused_against_the_published_commitment() {
    let m = bundled("mlp", &Settings::default());
    let published = m.commitment().unwrap();
    let p = prove(&m, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap()
    .check_commitment(&published)
    .unwrap();

    let mut changed = m.clone();
    let (_, w) = changed
        .params
        .iter_mut()
        .find(|(id, _)| changed.program.tensor(*id).unwrap().name == "fc1.weight")
        .unwrap();
    let mut data = w.data().to_vec();
    data[5] += 1;
    *w = zkmlops_tensor::Tensor::new(w.shape().to_vec(), data).unwrap();
    let p = prove(&changed, &input(64), &FriBackend, FriConfig::KECCAK.name()).unwrap();
    let v = verify(
        &m.program,
        &p.envelope,
        &FriBackend,
        &VerifyPolicy::default(),
    )
    .unwrap();
    assert!(matches!(
        v.check_commitment(&published),
        Err(InferError::CommitmentMismatch { .. })
    ));
    // The same weights and salt always give the same commitment.
    assert_eq!(
        m.clone().with_salt(m.salt().unwrap()).unwrap().commitment(),
        Some(published)
    );
}
