//! A training run as a chain of segment proofs linked by lineage commitments.
//!
//! Every segment proves `k` SGD steps; its statement carries three commitments (groups 1-3):
//! the dataset, the start weights and the end weights. The transcript chains them: every
//! segment commits to the same dataset, segment `i + 1` starts from the commitment segment `i`
//! ended with, the first starts from the declared initial commitment and the last ends at the
//! declared final one. Segments are independent proofs, so they can be proved in parallel, on
//! different machines, once the checkpoints (and their salts) are known.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_commit::Digest;
use zkmlops_proof::{Backend, ProofEnvelope, ProveError, StageTag, VerifyError, VerifyPolicy};

use crate::logreg::{SALT_LEN, Salts, read_model};
use crate::mlp::{MlpModel, MlpSpec, mlp_segment_inputs, mlp_segment_program};
use crate::{
    Dataset, LogRegSpec, Model, TrainError, data_commitment, model_commitment, segment_inputs,
    segment_program,
};

/// Version of the transcript format.
pub const TRANSCRIPT_VERSION: u32 = 1;

/// The model a run trains (untagged in JSON: the fields tell them apart, so logistic-regression
/// transcripts read as before).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ModelSpec {
    /// An MLP, or softmax regression (`hidden = 0`).
    Mlp(MlpSpec),
    /// Logistic or linear regression.
    Linear(LogRegSpec),
}

impl From<LogRegSpec> for ModelSpec {
    fn from(s: LogRegSpec) -> Self {
        ModelSpec::Linear(s)
    }
}

impl From<MlpSpec> for ModelSpec {
    fn from(s: MlpSpec) -> Self {
        ModelSpec::Mlp(s)
    }
}

impl ModelSpec {
    /// The Program of segment `steps` steps from global step `first` over `rows` rows.
    ///
    /// # Errors
    /// The spec's [`TrainError`].
    pub fn segment_program(
        &self,
        rows: usize,
        first: usize,
        steps: usize,
    ) -> Result<zkmlops_tensor::Program, TrainError> {
        match self {
            ModelSpec::Linear(s) => segment_program(s, rows, first, steps),
            ModelSpec::Mlp(s) => mlp_segment_program(s, rows, first, steps),
        }
    }

    /// The logistic/linear spec, if that is the model.
    #[must_use]
    pub fn linear(&self) -> Option<&LogRegSpec> {
        match self {
            ModelSpec::Linear(s) => Some(s),
            ModelSpec::Mlp(_) => None,
        }
    }
}

/// A proved training run: public hyperparameters and schedule, the three commitments it
/// claims, and one proof per segment.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainingTranscript {
    /// Format version ([`TRANSCRIPT_VERSION`]).
    pub version: u32,
    /// The model and its hyperparameters.
    pub spec: ModelSpec,
    /// Rows of the committed dataset.
    pub rows: usize,
    /// SGD steps per segment.
    pub steps_per_segment: usize,
    /// Total SGD steps (a multiple of `steps_per_segment`).
    pub total_steps: usize,
    /// The dataset commitment.
    pub data_commitment: Digest,
    /// The initial weights' commitment.
    pub initial_commitment: Digest,
    /// The final weights' commitment.
    pub final_commitment: Digest,
    /// One proof per segment, in order.
    pub segments: Vec<ProofEnvelope>,
}

/// Why a transcript does not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TranscriptError {
    /// Not one segment per `steps_per_segment` steps.
    #[error("{total} steps of {per} need {expected} segments; the transcript has {found}")]
    SegmentCount {
        /// Total steps.
        total: usize,
        /// Steps per segment.
        per: usize,
        /// Segments needed.
        expected: usize,
        /// Segments given.
        found: usize,
    },
    /// The hyperparameters do not give a segment Program.
    #[error(transparent)]
    Spec(#[from] TrainError),
    /// A segment's proof does not verify against the Program the schedule gives.
    #[error("segment {index}: {source}")]
    Segment {
        /// Segment index.
        index: usize,
        /// The backend's error.
        source: VerifyError,
    },
    /// A segment is not a training proof.
    #[error("segment {index} is a {found:?} proof, not a training one")]
    Stage {
        /// Segment index.
        index: usize,
        /// Its stage.
        found: StageTag,
    },
    /// A segment trains on another dataset.
    #[error("segment {index} commits to another dataset than the transcript's")]
    Data {
        /// Segment index.
        index: usize,
    },
    /// A segment does not start where the previous one ended (or the first at the initial
    /// commitment).
    #[error("segment {index} starts from {found}, expected {expected}")]
    Link {
        /// Segment index.
        index: usize,
        /// The commitment it should start from.
        expected: String,
        /// The one it starts from.
        found: String,
    },
    /// The last segment does not end at the claimed final commitment.
    #[error("the run ends at {found}, not the claimed final commitment {expected}")]
    Final {
        /// The claim.
        expected: String,
        /// The last segment's end.
        found: String,
    },
}

fn digest_of(env: &ProofEnvelope, k: usize) -> Option<Digest> {
    zkmlops_commit::statement_digest(&env.statement, k)
}

fn hex(d: Option<Digest>) -> String {
    d.map_or_else(|| "none".into(), |d| d.to_hex())
}

impl TrainingTranscript {
    /// Verify every segment against the Program its place in the schedule gives, and the chain
    /// of commitments.
    ///
    /// # Errors
    /// The first [`TranscriptError`].
    pub fn verify(
        &self,
        backend: &dyn Backend,
        policy: &VerifyPolicy,
    ) -> Result<(), TranscriptError> {
        let per = self.steps_per_segment.max(1);
        let expected = self.total_steps / per;
        if self.steps_per_segment == 0
            || !self.total_steps.is_multiple_of(per)
            || expected != self.segments.len()
        {
            return Err(TranscriptError::SegmentCount {
                total: self.total_steps,
                per: self.steps_per_segment,
                expected,
                found: self.segments.len(),
            });
        }
        let mut start = self.initial_commitment;
        for (index, env) in self.segments.iter().enumerate() {
            let program = self.spec.segment_program(self.rows, index * per, per)?;
            let v = backend
                .verify(&program, env, policy)
                .map_err(|source| TranscriptError::Segment { index, source })?;
            if v.statement.stage != StageTag::Training {
                return Err(TranscriptError::Stage {
                    index,
                    found: v.statement.stage,
                });
            }
            if digest_of(env, 0) != Some(self.data_commitment) {
                return Err(TranscriptError::Data { index });
            }
            if digest_of(env, 1) != Some(start) {
                return Err(TranscriptError::Link {
                    index,
                    expected: start.to_hex(),
                    found: hex(digest_of(env, 1)),
                });
            }
            start = digest_of(env, 2).ok_or(TranscriptError::Link {
                index,
                expected: "an end commitment".into(),
                found: "none".into(),
            })?;
        }
        if start != self.final_commitment {
            return Err(TranscriptError::Final {
                expected: self.final_commitment.to_hex(),
                found: start.to_hex(),
            });
        }
        Ok(())
    }
}

/// The prover's secrets of a run: the dataset salt and one salt per checkpoint (the initial
/// weights, then the end of every segment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSalts {
    /// Dataset salt.
    pub data: [i64; SALT_LEN],
    /// Checkpoint salts (`segments + 1`).
    pub checkpoints: Vec<[i64; SALT_LEN]>,
}

/// An error while proving a run.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RunError {
    /// Bad data or hyperparameters.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The backend could not prove a segment.
    #[error("segment {index}: {source}")]
    Prove {
        /// Segment index.
        index: usize,
        /// The backend's error.
        source: ProveError,
    },
    /// Not one checkpoint salt per segment boundary.
    #[error("{found} checkpoint salts for {segments} segments (need segments + 1)")]
    Salts {
        /// Segments.
        segments: usize,
        /// Salts given.
        found: usize,
    },
}

/// Train from `initial` for `segments * steps_per_segment` steps and prove every segment.
/// Returns the transcript and the final model.
///
/// # Errors
/// [`RunError`].
#[allow(clippy::too_many_arguments)]
pub fn prove_run(
    spec: &LogRegSpec,
    data: &Dataset,
    initial: &Model,
    salts: &RunSalts,
    steps_per_segment: usize,
    segments: usize,
    backend: &dyn Backend,
    preset: &str,
) -> Result<(TrainingTranscript, Model), RunError> {
    let (proofs, model) = prove_segments(
        salts,
        steps_per_segment,
        segments,
        backend,
        preset,
        initial.clone(),
        |first| segment_program(spec, data.len(), first, steps_per_segment),
        |model, s| segment_inputs(spec, model, data, s),
        |program, witness| read_model(spec, program, witness),
    )?;
    let transcript = TrainingTranscript {
        version: TRANSCRIPT_VERSION,
        spec: (*spec).into(),
        rows: data.len(),
        steps_per_segment,
        total_steps: segments * steps_per_segment,
        data_commitment: data_commitment(spec, data, &salts.data)?,
        initial_commitment: model_commitment(initial, &salts.checkpoints[0]),
        final_commitment: model_commitment(&model, &salts.checkpoints[segments]),
        segments: proofs,
    };
    Ok((transcript, model))
}

/// The lineage commitment of MLP (or softmax-regression) parameters with their salt.
#[must_use]
pub fn mlp_model_commitment(model: &MlpModel, salt: &[i64; SALT_LEN]) -> Digest {
    let mut parts: Vec<&[i64]> = vec![salt.as_slice()];
    parts.extend(model.params.iter().map(Vec::as_slice));
    zkmlops_commit::commit_lineage(&parts)
}

/// The dataset commitment of an MLP run (features, one-hot labels at the scale).
///
/// # Errors
/// As [`mlp_segment_inputs`].
pub fn mlp_data_commitment(
    spec: &MlpSpec,
    data: &Dataset,
    salt: &[i64; SALT_LEN],
) -> Result<Digest, TrainError> {
    let zero = MlpModel::init(spec, 0);
    let s = Salts {
        data: *salt,
        start: [0; SALT_LEN],
        end: [0; SALT_LEN],
    };
    let inputs = mlp_segment_inputs(spec, &zero, data, &s)?;
    Ok(zkmlops_commit::TableLayout {
        rows: data.len(),
        features: spec.inputs,
        labels: spec.classes,
        scale_bits: spec.scale_bits,
    }
    .commit(salt, inputs[1].data(), inputs[2].data()))
}

/// [`prove_run`] for an MLP or softmax regression.
///
/// # Errors
/// [`RunError`].
#[allow(clippy::too_many_arguments)]
pub fn prove_mlp_run(
    spec: &MlpSpec,
    data: &Dataset,
    initial: &MlpModel,
    salts: &RunSalts,
    steps_per_segment: usize,
    segments: usize,
    backend: &dyn Backend,
    preset: &str,
) -> Result<(TrainingTranscript, MlpModel), RunError> {
    let (proofs, model) = prove_segments(
        salts,
        steps_per_segment,
        segments,
        backend,
        preset,
        initial.clone(),
        |first| mlp_segment_program(spec, data.len(), first, steps_per_segment),
        |model, s| mlp_segment_inputs(spec, model, data, s),
        |program, witness| crate::mlp::read_mlp_model(spec, program, witness),
    )?;
    let transcript = TrainingTranscript {
        version: TRANSCRIPT_VERSION,
        spec: (*spec).into(),
        rows: data.len(),
        steps_per_segment,
        total_steps: segments * steps_per_segment,
        data_commitment: mlp_data_commitment(spec, data, &salts.data)?,
        initial_commitment: mlp_model_commitment(initial, &salts.checkpoints[0]),
        final_commitment: mlp_model_commitment(&model, &salts.checkpoints[segments]),
        segments: proofs,
    };
    Ok((transcript, model))
}

/// The segment loop shared by every model kind: build segment `index`'s Program, evaluate it
/// from the current model, prove it, read the next model off the witness.
#[allow(clippy::too_many_arguments)]
fn prove_segments<M>(
    salts: &RunSalts,
    steps_per_segment: usize,
    segments: usize,
    backend: &dyn Backend,
    preset: &str,
    initial: M,
    program_at: impl Fn(usize) -> Result<zkmlops_tensor::Program, TrainError>,
    inputs_of: impl Fn(&M, &Salts) -> Result<Vec<zkmlops_tensor::Tensor>, TrainError>,
    read: impl Fn(&zkmlops_tensor::Program, &zkmlops_tensor::Witness) -> M,
) -> Result<(Vec<ProofEnvelope>, M), RunError> {
    if salts.checkpoints.len() != segments + 1 {
        return Err(RunError::Salts {
            segments,
            found: salts.checkpoints.len(),
        });
    }
    let mut model = initial;
    let mut proofs = Vec::with_capacity(segments);
    for index in 0..segments {
        let program = program_at(index * steps_per_segment)?;
        let s = Salts {
            data: salts.data,
            start: salts.checkpoints[index],
            end: salts.checkpoints[index + 1],
        };
        let witness = program
            .evaluate(&inputs_of(&model, &s)?)
            .map_err(TrainError::from)?;
        let env = backend
            .prove(&program, &witness, StageTag::Training, preset)
            .map_err(|source| RunError::Prove { index, source })?;
        model = read(&program, &witness);
        proofs.push(env);
    }
    Ok((proofs, model))
}
