//! The inference stage: a prover shows that public outputs are what a compiled model computes
//! on an input, without revealing the weights (and, by default, the input).
//!
//! The statement is the Program digest (which fixes the architecture, the scales and the table
//! domains, but no weight values), the stage tag, and the public tensors: the outputs, plus the
//! input when its visibility is public. The stage knows no backend: pass any
//! [`Backend`].
//!
//! ```
//! use zkmlops_fri::{FriBackend, FriConfig};
//! use zkmlops_onnx::{OnnxModel, Settings, compile};
//! use zkmlops_proof::VerifyPolicy;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/models/mlp.onnx");
//! let model = compile(&OnnxModel::from_path(path.as_ref())?, &Settings::default())?;
//! let input = vec![0.5; 64];
//!
//! // Prover: weights and input stay private; the envelope carries the outputs.
//! let proof = zkmlops_infer::prove(&model, &input, &FriBackend, FriConfig::KECCAK.name())?;
//!
//! // Verifier: needs only the Program (no weights) and the envelope.
//! let verified =
//!     zkmlops_infer::verify(&model.program, &proof.envelope, &FriBackend, &VerifyPolicy::default())?;
//! assert_eq!(verified.outputs[0].values, proof.outputs[0]);
//! assert_eq!(verified.outputs[0].shape, vec![1, 10]);
//! assert!(verified.input.is_none());
//! // Weights are committed by default: the proof is tied to the model's commitment.
//! verified.check_commitment(&model.commitment().unwrap())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};
use thiserror::Error;
pub use zkmlops_commit::Digest;
use zkmlops_onnx::{CompiledModel, OnnxError};
use zkmlops_proof::{
    AggregateEnvelope, AggregateInput, Backend, MemberLinks, ProofEnvelope, ProveError, StageTag,
    VerifiedStatement, VerifyError, VerifyPolicy,
};
use zkmlops_tensor::{Program, TensorKind, Visibility};

/// An error of the inference stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum InferError {
    /// The input does not fit the model, or the quantized model overflows on it.
    #[error(transparent)]
    Model(#[from] OnnxError),
    /// The backend could not prove.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The proof did not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The proof verifies, but is not tied to the expected model commitment.
    #[error("the proof's model commitment is {found}, not the published {expected}")]
    CommitmentMismatch {
        /// The published commitment.
        expected: String,
        /// The proof's (`none` when it commits nothing).
        found: String,
    },
    /// The proof verifies, but for another lifecycle stage.
    #[error("the proof is for the {found:?} stage, not inference")]
    WrongStage {
        /// The stage in the statement.
        found: StageTag,
    },
}

/// A proof of one inference.
#[derive(Debug, Clone)]
pub struct InferenceProof {
    /// The proof envelope (statement, parameters, proof bytes).
    pub envelope: ProofEnvelope,
    /// The graph outputs as the quantized model computed them, decoded to real numbers.
    pub outputs: Vec<Vec<f64>>,
}

/// One public tensor of a verified inference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedTensor {
    /// The tensor's name in the Program (the ONNX tensor name for graph outputs).
    pub name: String,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its scale in bits.
    pub scale_bits: u32,
    /// The values, decoded to real numbers.
    pub values: Vec<f64>,
}

/// What a verified inference proof establishes.
#[derive(Debug, Clone)]
pub struct VerifiedInference {
    /// The backend's verified statement (parameters, digest, raw public tensors).
    pub statement: VerifiedStatement,
    /// The Program's outputs.
    pub outputs: Vec<VerifiedTensor>,
    /// The input, when it is public.
    pub input: Option<VerifiedTensor>,
    /// The model commitment the proof is tied to, when the weights are committed.
    pub commitment: Option<Digest>,
}

impl VerifiedInference {
    /// Check that the proof is tied to a published model commitment.
    ///
    /// # Errors
    /// [`InferError::CommitmentMismatch`].
    pub fn check_commitment(&self, expected: &Digest) -> Result<(), InferError> {
        if self.commitment.as_ref() == Some(expected) {
            Ok(())
        } else {
            Err(InferError::CommitmentMismatch {
                expected: expected.to_hex(),
                found: self
                    .commitment
                    .map_or_else(|| "none".into(), |d| d.to_hex()),
            })
        }
    }
}

/// Prove one inference of `model` on the flattened `input`.
///
/// # Errors
/// [`InferError::Model`] for an input that does not fit, [`InferError::Prove`] from the
/// backend.
pub fn prove(
    model: &CompiledModel,
    input: &[f64],
    backend: &dyn Backend,
    preset: &str,
) -> Result<InferenceProof, InferError> {
    let witness = model.witness(0, input)?;
    let outputs = model.decode_outputs(&witness);
    let envelope = backend.prove(&model.program, &witness, StageTag::Inference, preset)?;
    Ok(InferenceProof { envelope, outputs })
}

/// Verify an inference proof against the Program (no weights needed) under `policy`.
///
/// # Errors
/// [`InferError::Verify`] when the backend rejects the proof, [`InferError::WrongStage`] for a
/// valid proof of another stage.
pub fn verify(
    program: &Program,
    envelope: &ProofEnvelope,
    backend: &dyn Backend,
    policy: &VerifyPolicy,
) -> Result<VerifiedInference, InferError> {
    let statement = backend.verify(program, envelope, policy)?;
    verified(program, statement)
}

/// Wrap an inference proof into an aggregated proof of one member (a backend that aggregates:
/// plonky2): a recursive proof that verifies it, about 105 KB whatever the model, checked by
/// [`verify_wrapped`].
///
/// # Errors
/// [`InferError::Prove`]: the backend cannot aggregate, or the proof does not verify.
pub fn wrap(
    program: &Program,
    envelope: &ProofEnvelope,
    backend: &dyn Backend,
) -> Result<AggregateEnvelope, InferError> {
    Ok(backend.aggregate(&[AggregateInput {
        program,
        envelope,
        links: MemberLinks::default(),
    }])?)
}

/// Verify a wrapped inference proof ([`wrap`]) against the Program under `policy`.
///
/// # Errors
/// As [`verify`]; an aggregate of more than one member is [`InferError::Verify`]
/// (`AggregateError::Count`).
pub fn verify_wrapped(
    program: &Program,
    aggregate: &AggregateEnvelope,
    backend: &dyn Backend,
    policy: &VerifyPolicy,
) -> Result<VerifiedInference, InferError> {
    let mut statements = backend.verify_aggregate(&[program], aggregate, policy)?;
    let statement = statements
        .pop()
        .ok_or(VerifyError::Aggregate(zkmlops_proof::AggregateError::Empty))?;
    verified(program, statement)
}

/// What a verified inference statement says: its outputs, its public input, its commitment.
fn verified(
    program: &Program,
    statement: VerifiedStatement,
) -> Result<VerifiedInference, InferError> {
    if statement.statement.stage != StageTag::Inference {
        return Err(InferError::WrongStage {
            found: statement.statement.stage,
        });
    }
    let tensor = |id| {
        let decl = program.tensor(id)?;
        let p = statement.statement.public_tensor(id)?;
        Some(VerifiedTensor {
            name: decl.name.clone(),
            shape: p.shape.clone(),
            scale_bits: p.scale.bits(),
            values: p.decoded(),
        })
    };
    let outputs = program
        .outputs()
        .iter()
        .filter_map(|&id| tensor(id))
        .collect();
    // The model input is the Program's first input (weights follow it).
    let input = program
        .input_ids()
        .next()
        .filter(|&id| {
            program
                .tensor(id)
                .is_some_and(|d| d.kind == TensorKind::Input && d.visibility == Visibility::Public)
        })
        .and_then(tensor);
    // The backend checked the digest's form; a malformed one never verifies.
    let commitment = zkmlops_commit::statement_digest(&statement.statement, 0);
    Ok(VerifiedInference {
        statement,
        outputs,
        input,
        commitment,
    })
}
