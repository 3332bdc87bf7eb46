//! One phase of one repetition of a cell, run in its own process (`zkmlops bench-worker JOB`)
//! so that its peak memory is its own and nothing is warm that a user's first proof would not
//! have warm: the prover builds its keys (timed apart as setup), proves and writes the proof;
//! the verifier reads it back and verifies, as `zkmlops verify` does.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use zkmlops_proof::{Backend, ProofEnvelope, Registry, StageFile, StageTag, VerifyPolicy};
use zkmlops_tensor::Visibility;

use crate::workload::{TRAIN_BATCH, Workload, synthetic_csv};
use crate::{BenchError, Phase};

/// What a worker process is asked to do.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Job {
    /// The workload.
    pub workload: Workload,
    /// Backend id.
    pub backend: String,
    /// Preset name.
    pub preset: String,
    /// The weights' visibility (models and MLPs; ignored elsewhere).
    pub weights: Visibility,
    /// Prove or verify.
    pub phase: Phase,
    /// Where the prover writes the proof and the verifier reads it.
    pub artifact: PathBuf,
}

/// What one phase measured. Times in milliseconds, sizes in bytes, memory in MB.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhaseOutput {
    /// Key generation and circuit building, timed apart from proving (`None`: the backend
    /// builds nothing ahead, or the stage builds it inside its own prove).
    pub setup_ms: Option<f64>,
    /// What setup built.
    pub setup: Option<String>,
    /// Proving, without setup.
    pub prove_ms: Option<f64>,
    /// Verifying in a fresh process (whatever the verifier builds included, as in
    /// `zkmlops verify`).
    pub verify_ms: Option<f64>,
    /// The backend's proof bytes (summed over a stage's proofs).
    pub proof_bytes: Option<u64>,
    /// The binary envelopes' bytes (proof, statement, parameters).
    pub envelope_bytes: Option<u64>,
    /// The file the CLI writes for it (JSON).
    pub file_bytes: Option<u64>,
    /// The process's peak resident memory, MB (`None` where the OS does not say).
    pub peak_rss_mb: Option<f64>,
    /// Conjectured security bits the proof claims.
    pub conjectured_bits: Option<u16>,
    /// Proven security bits, where the backend computes them.
    pub proven_bits: Option<u16>,
    /// Whether the proof claims post-quantum security.
    pub post_quantum: Option<bool>,
    /// Workload-specific figures (e.g. `segments_ms`, `aggregate_ms`).
    pub extra: BTreeMap<String, f64>,
}

/// The process's peak resident memory, MB (`None` where the OS does not say).
#[must_use]
pub fn peak_rss_mb() -> Option<f64> {
    let mb = zkmlops_conformance::measure::peak_rss_mb();
    (mb > 0.0).then_some(mb)
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

fn len(n: usize) -> Option<u64> {
    u64::try_from(n).ok()
}

/// Run one job in this process.
///
/// # Errors
/// [`BenchError`]: the workload does not build, proving or verifying fails, the artifact cannot
/// be written or read.
pub fn run_job(job: &Job, registry: &Registry) -> Result<PhaseOutput, BenchError> {
    let backend = registry
        .get(&job.backend)
        .map_err(|e| BenchError::Backend(e.to_string()))?;
    let mut out = match job.phase {
        Phase::Prove => prove(job, backend)?,
        Phase::Verify => verify(job, backend)?,
    };
    out.peak_rss_mb = peak_rss_mb();
    Ok(out)
}

fn write(job: &Job, bytes: &[u8]) -> Result<(), BenchError> {
    std::fs::write(&job.artifact, bytes).map_err(|e| BenchError::Io {
        path: job.artifact.clone(),
        what: e.to_string(),
    })
}

fn read(job: &Job) -> Result<Vec<u8>, BenchError> {
    std::fs::read(&job.artifact).map_err(|e| BenchError::Io {
        path: job.artifact.clone(),
        what: e.to_string(),
    })
}

fn prove_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Prove(e.to_string())
}

fn verify_err(e: impl std::fmt::Display) -> BenchError {
    BenchError::Verify(e.to_string())
}

fn claims(out: &mut PhaseOutput, env: &ProofEnvelope) {
    out.conjectured_bits = Some(env.params.conjectured_security_bits);
    out.proven_bits = env.params.proven_security_bits;
    out.post_quantum = Some(env.params.post_quantum);
}

/// A training run of `segments` segments of `per` steps on the synthetic data.
fn train_run(
    rows: usize,
    features: usize,
    per: usize,
    segments: usize,
    backend: &dyn Backend,
    preset: &str,
) -> Result<zkmlops_train::TrainingTranscript, BenchError> {
    let spec = zkmlops_train::LogRegSpec {
        features,
        batch: TRAIN_BATCH,
        learning_rate: 0.5,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    };
    let data = zkmlops_train::Dataset::from_csv(&synthetic_csv(rows, features)).map_err(|e| {
        BenchError::Workload {
            given: format!("train:{rows}x{features}"),
            what: e.to_string(),
        }
    })?;
    // Fixed salts: a benchmark's commitments need not hide anything.
    let salt = |i: i64| [i, -2 * i, 3 * i, -4 * i];
    let salts = zkmlops_train::RunSalts {
        data: salt(11),
        checkpoints: (0..=segments)
            .map(|i| salt(i64::try_from(i).unwrap_or(0) + 1))
            .collect(),
    };
    let initial = zkmlops_train::Model::zeros(&spec);
    zkmlops_train::prove_run(
        &spec, &data, &initial, &salts, per, segments, backend, preset,
    )
    .map(|(t, _)| t)
    .map_err(prove_err)
}

fn transcript_sizes(out: &mut PhaseOutput, t: &zkmlops_train::TrainingTranscript) {
    let (proofs, envelopes) = match &t.aggregate {
        Some(a) => (a.proof.len(), a.to_bytes().len()),
        None => t.segments.iter().fold((0, 0), |(p, e), s| {
            (p + s.proof.len(), e + s.to_bytes().len())
        }),
    };
    out.proof_bytes = len(proofs);
    out.envelope_bytes = len(envelopes);
    match (&t.aggregate, t.segments.first()) {
        (Some(a), _) => {
            out.conjectured_bits = Some(a.params.conjectured_security_bits);
            out.proven_bits = a.params.proven_security_bits;
            out.post_quantum = Some(a.params.post_quantum);
        }
        (None, Some(s)) => claims(out, s),
        (None, None) => {}
    }
}

fn prove(job: &Job, backend: &dyn Backend) -> Result<PhaseOutput, BenchError> {
    let mut out = PhaseOutput::default();
    let preset = job.preset.as_str();
    match &job.workload {
        Workload::Train { rows, features } => {
            let t = Instant::now();
            let transcript = train_run(*rows, *features, rows / TRAIN_BATCH, 1, backend, preset)?;
            out.prove_ms = Some(ms(t));
            transcript_sizes(&mut out, &transcript);
            let file = transcript.to_binary().map_err(prove_err)?;
            out.file_bytes = len(file.len());
            write(job, &file)?;
        }
        Workload::Aggregate { members } => {
            let t = Instant::now();
            let transcript = train_run(members * TRAIN_BATCH, 8, 1, *members, backend, preset)?;
            let segments_ms = ms(t);
            let t = Instant::now();
            let transcript = transcript.aggregated(backend).map_err(prove_err)?;
            let aggregate_ms = ms(t);
            out.prove_ms = Some(segments_ms + aggregate_ms);
            out.extra.insert("segments_ms".into(), segments_ms);
            out.extra.insert("aggregate_ms".into(), aggregate_ms);
            transcript_sizes(&mut out, &transcript);
            let file = transcript.to_binary().map_err(prove_err)?;
            out.file_bytes = len(file.len());
            write(job, &file)?;
        }
        Workload::Preprocess => {
            let (pipeline, table) = Workload::preprocess_case()?;
            let salts = zkmlops_preprocess::Salts::fresh().map_err(prove_err)?;
            let t = Instant::now();
            let (proof, _) = zkmlops_preprocess::prove(&pipeline, &table, &salts, backend, preset)
                .map_err(prove_err)?;
            out.prove_ms = Some(ms(t));
            out.proof_bytes = len(proof.envelope.proof.len());
            out.envelope_bytes = len(proof.envelope.to_bytes().len());
            claims(&mut out, &proof.envelope);
            let file = proof.to_binary().map_err(prove_err)?;
            out.file_bytes = len(file.len());
            write(job, &file)?;
        }
        w => {
            let (program, witness) = w.program(job.weights)?.ok_or_else(|| {
                BenchError::Prove(format!("{} is not a single Program", w.label()))
            })?;
            let t = Instant::now();
            if let Some(report) = backend.setup(&program, preset).map_err(prove_err)? {
                out.setup_ms = Some(ms(t));
                out.setup = Some(report.what);
            }
            let t = Instant::now();
            let env = backend
                .prove(&program, &witness, StageTag::Inference, preset)
                .map_err(prove_err)?;
            out.prove_ms = Some(ms(t));
            let bytes = env.to_bytes();
            out.proof_bytes = len(env.proof.len());
            out.envelope_bytes = len(bytes.len());
            out.file_bytes = len(bytes.len());
            claims(&mut out, &env);
            write(job, &bytes)?;
        }
    }
    Ok(out)
}

fn verify(job: &Job, backend: &dyn Backend) -> Result<PhaseOutput, BenchError> {
    let mut out = PhaseOutput::default();
    let bytes = read(job)?;
    let policy = VerifyPolicy::default();
    match &job.workload {
        Workload::Train { .. } | Workload::Aggregate { .. } => {
            let transcript =
                zkmlops_train::TrainingTranscript::from_binary(&bytes).map_err(verify_err)?;
            let t = Instant::now();
            transcript.verify(backend, &policy).map_err(verify_err)?;
            out.verify_ms = Some(ms(t));
        }
        Workload::Preprocess => {
            let proof =
                zkmlops_preprocess::PreprocessProof::from_binary(&bytes).map_err(verify_err)?;
            let t = Instant::now();
            proof.verify(backend, &policy).map_err(verify_err)?;
            out.verify_ms = Some(ms(t));
        }
        w => {
            let program = w.verifier_program(job.weights)?.ok_or_else(|| {
                BenchError::Verify(format!("{} is not a single Program", w.label()))
            })?;
            let env = ProofEnvelope::from_bytes(&bytes).map_err(verify_err)?;
            let t = Instant::now();
            backend
                .verify(&program, &env, &policy)
                .map_err(verify_err)?;
            out.verify_ms = Some(ms(t));
        }
    }
    Ok(out)
}
