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
use zkmlops_proof::{
    AggregateEnvelope, AggregateInput, Backend, MemberLinks, ProofEnvelope, ProveError, StageTag,
    Statement, VerifyError, VerifyPolicy,
};

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
    /// One proof per segment, in order (empty when the run is aggregated).
    pub segments: Vec<ProofEnvelope>,
    /// One aggregated proof of every segment and of the links between them, when the run was
    /// aggregated ([`TrainingTranscript::aggregated`]); `segments` is then empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<AggregateEnvelope>,
}

/// Binary (`ZKMS`, docs/formats.md) and JSON forms of the file.
impl zkmlops_proof::StageFile for TrainingTranscript {
    const KIND: zkmlops_proof::StageFileKind = zkmlops_proof::StageFileKind::TrainingTranscript;
}

/// How segment `index` links inside an aggregate: it starts (commitment 1) where the previous
/// one ended (commitment 2); the first links only out (its start is the transcript's initial
/// commitment, checked by the verifier).
#[must_use]
pub fn segment_links(index: usize) -> MemberLinks {
    MemberLinks {
        link_in: (index > 0).then_some(1),
        link_out: Some(2),
    }
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
    /// The aggregated proof (or the backend's refusal to verify aggregates).
    #[error("aggregated proof: {0}")]
    Aggregate(VerifyError),
    /// Both per-segment proofs and an aggregate.
    #[error("a transcript carries either one proof per segment or one aggregate, not {0}")]
    Layout(&'static str),
    /// The last segment does not end at the claimed final commitment.
    #[error("the run ends at {found}, not the claimed final commitment {expected}")]
    Final {
        /// The claim.
        expected: String,
        /// The last segment's end.
        found: String,
    },
}

fn digest_of(statement: &Statement, k: usize) -> Option<Digest> {
    zkmlops_commit::statement_digest(statement, k)
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
        let found = match (&self.aggregate, self.segments.is_empty()) {
            (Some(_), false) => return Err(TranscriptError::Layout("both")),
            (Some(a), true) => a.members.len(),
            (None, _) => self.segments.len(),
        };
        if self.steps_per_segment == 0 || !self.total_steps.is_multiple_of(per) || expected != found
        {
            return Err(TranscriptError::SegmentCount {
                total: self.total_steps,
                per: self.steps_per_segment,
                expected,
                found,
            });
        }
        let programs = self.programs()?;
        let statements: Vec<Statement> = match &self.aggregate {
            Some(agg) => {
                let refs: Vec<&zkmlops_tensor::Program> = programs.iter().collect();
                let verified = backend
                    .verify_aggregate(&refs, agg, policy)
                    .map_err(TranscriptError::Aggregate)?;
                for (index, m) in agg.members.iter().enumerate() {
                    if m.links != segment_links(index) {
                        return Err(TranscriptError::Link {
                            index,
                            expected: "segments linked start to end".into(),
                            found: format!("{:?}", m.links),
                        });
                    }
                }
                verified.into_iter().map(|v| v.statement).collect()
            }
            None => {
                let mut out = Vec::with_capacity(programs.len());
                for (index, (program, env)) in programs.iter().zip(&self.segments).enumerate() {
                    let v = backend
                        .verify(program, env, policy)
                        .map_err(|source| TranscriptError::Segment { index, source })?;
                    out.push(v.statement);
                }
                out
            }
        };
        self.check_chain(&statements)
    }

    /// The Program of every segment, in order.
    fn programs(&self) -> Result<Vec<zkmlops_tensor::Program>, TrainError> {
        let per = self.steps_per_segment.max(1);
        (0..self.total_steps / per)
            .map(|index| self.spec.segment_program(self.rows, index * per, per))
            .collect()
    }

    /// The chain over verified statements: training stage, one dataset, each segment starting
    /// where the previous ended, from the initial commitment to the final one.
    fn check_chain(&self, statements: &[Statement]) -> Result<(), TranscriptError> {
        let mut start = self.initial_commitment;
        for (index, statement) in statements.iter().enumerate() {
            if statement.stage != StageTag::Training {
                return Err(TranscriptError::Stage {
                    index,
                    found: statement.stage,
                });
            }
            if digest_of(statement, 0) != Some(self.data_commitment) {
                return Err(TranscriptError::Data { index });
            }
            if digest_of(statement, 1) != Some(start) {
                return Err(TranscriptError::Link {
                    index,
                    expected: start.to_hex(),
                    found: hex(digest_of(statement, 1)),
                });
            }
            start = digest_of(statement, 2).ok_or(TranscriptError::Link {
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

    /// Fold the segment proofs into one aggregated proof (the backend must declare
    /// `aggregation`, e.g. plonky2): segment `i + 1`'s start commitment is proved equal to
    /// segment `i`'s end commitment inside the aggregate. The first segment links in too (its
    /// start is checked against the transcript's initial commitment on verification).
    ///
    /// # Errors
    /// [`RunError::Train`] for a bad schedule, [`RunError::Aggregate`] for the backend's
    /// refusal.
    pub fn aggregated(mut self, backend: &dyn Backend) -> Result<TrainingTranscript, RunError> {
        if self.aggregate.is_some() {
            return Ok(self);
        }
        let programs = self.programs()?;
        let inputs: Vec<AggregateInput<'_>> = programs
            .iter()
            .zip(&self.segments)
            .enumerate()
            .map(|(index, (program, envelope))| AggregateInput {
                program,
                envelope,
                links: segment_links(index),
            })
            .collect();
        let agg = backend.aggregate(&inputs).map_err(RunError::Aggregate)?;
        self.segments = Vec::new();
        self.aggregate = Some(agg);
        Ok(self)
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
    /// The backend could not aggregate the segments.
    #[error("aggregating the segments: {0}")]
    Aggregate(ProveError),
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
        aggregate: None,
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
    Ok(crate::mlp::mlp_layout(spec, data.len()).commit(salt, inputs[1].data(), inputs[2].data()))
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
        aggregate: None,
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
