//! `zkmlops bench`: one harness that proves the same workloads with every backend (and, when
//! it is installed, EZKL) and prints the succinctness table.
//!
//! A [`Matrix`] is workloads x backends x presets x weight visibilities. Every cell is run
//! `warmup + runs` times, each repetition in fresh processes (a prover, then a verifier: see
//! [`worker`]), so prove time, verify time, setup time, proof bytes and the prover's peak
//! memory are what a user's `zkmlops prove` / `zkmlops verify` would see; the table reports
//! min / median / max over the counted runs, with the security each proof claims (conjectured
//! and proven bits, post-quantum, zero knowledge, transparent setup).
//!
//! ```no_run
//! use zkmlops_bench::{Matrix, Runner, Workload};
//! # fn main() -> Result<(), zkmlops_bench::BenchError> {
//! let registry = zkmlops_proof::Registry::new(); // zkmlops::registry() in practice
//! let matrix = Matrix {
//!     workloads: vec![Workload::parse("mlp:64-256-256-10")?],
//!     ..Matrix::default()
//! };
//! // The child processes run `zkmlops bench-worker JOB`.
//! let runner = Runner::new("zkmlops".into(), vec!["bench-worker".into()])?;
//! let results = runner.run(&registry, &matrix, "zkmlops bench", &zkmlops_bench::Progress::hidden())?;
//! print!("{}", zkmlops_bench::report::markdown(&results));
//! # Ok(()) }
//! ```
//!
//! Outputs ([`report`]): Markdown, CSV, JSON ([`SCHEMA`], documented in `docs/benchmarks.md`),
//! SVG plots ([`plot`]), and ratios between two JSON results ([`report::compare`]).

pub mod ezkl;
pub mod plot;
pub mod report;
mod run;
pub mod worker;
pub mod workload;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zkmlops_tensor::Visibility;

pub use run::{Progress, Runner, respond};
pub use workload::Workload;

/// The JSON results' schema id (bumped on any incompatible change).
pub const SCHEMA: &str = "zkmlops-bench/v1";

/// Why the harness stopped, or why one cell failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BenchError {
    /// A workload that does not parse or build.
    #[error("workload `{given}`: {what}")]
    Workload {
        /// What was given.
        given: String,
        /// What is wrong.
        what: String,
    },
    /// A models path without models or inputs.
    #[error("models {}: {what}", path.display())]
    Models {
        /// The path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// An unknown backend or preset.
    #[error("backend: {0}")]
    Backend(String),
    /// Proving failed.
    #[error("prove: {0}")]
    Prove(String),
    /// Verifying failed (a proof the harness itself made: a defect).
    #[error("verify: {0}")]
    Verify(String),
    /// A file could not be read or written.
    #[error("{}: {what}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What happened.
        what: String,
    },
    /// A worker process failed to start or said something unreadable.
    #[error("worker: {0}")]
    Worker(String),
    /// A results file that does not parse, or of another schema.
    #[error("results {}: {what}", path.display())]
    Results {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// The two phases of a repetition, each in its own process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Build keys (timed apart), prove, write the proof.
    Prove,
    /// Read the proof, verify it.
    Verify,
}

/// Which presets of each backend a matrix runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Presets {
    /// What the CLI picks: the backend's first hiding preset when anything is hidden (always,
    /// for the workloads here: inputs are private), else its first transparent one.
    Default,
    /// Every preset of every backend.
    All,
    /// These names, on the backends that have them.
    Named(Vec<String>),
}

/// Workloads x backends x presets x visibilities, and how often to run each cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    /// The workloads.
    pub workloads: Vec<Workload>,
    /// Backend ids (empty: every registered backend).
    pub backends: Vec<String>,
    /// Presets per backend.
    pub presets: Presets,
    /// Weight visibilities for the workloads with weights.
    pub visibilities: Vec<Visibility>,
    /// Counted repetitions per cell.
    pub runs: usize,
    /// Repetitions run first and not counted.
    pub warmup: usize,
    /// Run EZKL beside the ONNX workloads when it is installed.
    pub ezkl: bool,
}

impl Default for Matrix {
    fn default() -> Self {
        Matrix {
            workloads: Vec::new(),
            backends: Vec::new(),
            presets: Presets::Default,
            visibilities: vec![Visibility::Committed],
            runs: 3,
            warmup: 1,
            ezkl: true,
        }
    }
}

/// Min, median and max of a metric over the counted runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Smallest.
    pub min: f64,
    /// Median (the mean of the two middle values for an even count).
    pub median: f64,
    /// Largest.
    pub max: f64,
}

impl Stats {
    /// The statistics of `values` (`None` when empty).
    #[must_use]
    pub fn of(values: &[f64]) -> Option<Stats> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            f64::midpoint(v[n / 2 - 1], v[n / 2])
        };
        Some(Stats {
            min: v[0],
            median,
            max: v[n - 1],
        })
    }
}

/// How a cell ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "reason")]
pub enum Outcome {
    /// Every run proved and verified.
    Ok,
    /// The backend or preset does not prove this workload (by declaration, before running).
    Unsupported(String),
    /// A run failed.
    Failed(String),
}

/// One cell's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The workload's label.
    pub workload: String,
    /// MACs plus element-wise work of a single-Program workload (the plots' x axis).
    pub work: Option<u64>,
    /// Backend id (`ezkl` for the peer row).
    pub backend: String,
    /// Preset name.
    pub preset: String,
    /// The weights' visibility (`None`: the workload has no weights).
    pub weights: Option<String>,
    /// How the cell ended.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Counted runs.
    pub runs: usize,
    /// Setup (keys, circuit) ms, where the backend has one.
    pub setup_ms: Option<Stats>,
    /// What setup builds.
    pub setup: Option<String>,
    /// Prove ms (setup excluded).
    pub prove_ms: Option<Stats>,
    /// Verify ms in a fresh process.
    pub verify_ms: Option<Stats>,
    /// The backend's proof bytes.
    pub proof_bytes: Option<Stats>,
    /// The binary envelope's bytes.
    pub envelope_bytes: Option<Stats>,
    /// The proof file's bytes (what the CLI writes).
    pub file_bytes: Option<Stats>,
    /// The prover process's peak resident memory, MB.
    pub prove_peak_rss_mb: Option<Stats>,
    /// The verifier process's peak resident memory, MB.
    pub verify_peak_rss_mb: Option<Stats>,
    /// Conjectured security bits the proof claims.
    pub conjectured_bits: Option<u16>,
    /// Proven security bits, where computed.
    pub proven_bits: Option<u16>,
    /// Post-quantum (hash-based).
    pub post_quantum: Option<bool>,
    /// Zero knowledge.
    pub zero_knowledge: Option<bool>,
    /// No trusted setup.
    pub transparent: Option<bool>,
    /// Workload-specific medians (e.g. `aggregate_ms`).
    pub extra: std::collections::BTreeMap<String, Stats>,
    /// A note (EZKL's settings and key sizes, ...).
    pub note: Option<String>,
}

impl Row {
    /// A row with only its identity and outcome.
    #[must_use]
    pub fn new(
        workload: String,
        work: Option<u64>,
        backend: String,
        preset: String,
        weights: Option<String>,
        outcome: Outcome,
    ) -> Self {
        Row {
            workload,
            work,
            backend,
            preset,
            weights,
            outcome,
            runs: 0,
            setup_ms: None,
            setup: None,
            prove_ms: None,
            verify_ms: None,
            proof_bytes: None,
            envelope_bytes: None,
            file_bytes: None,
            prove_peak_rss_mb: None,
            verify_peak_rss_mb: None,
            conjectured_bits: None,
            proven_bits: None,
            post_quantum: None,
            zero_knowledge: None,
            transparent: None,
            extra: std::collections::BTreeMap::new(),
            note: None,
        }
    }

    /// The key that matches a row across two results (`--compare`).
    #[must_use]
    pub fn key(&self) -> String {
        format!(
            "{} | {} {} | {}",
            self.workload,
            self.backend,
            self.preset,
            self.weights.as_deref().unwrap_or("-")
        )
    }
}

/// The machine the results were measured on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model (`/proc/cpuinfo`).
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Total memory, MB (`/proc/meminfo`; 0 where unknown).
    pub memory_mb: u64,
    /// Operating system.
    pub os: String,
}

impl Machine {
    /// This machine.
    #[must_use]
    pub fn this() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let memory_mb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("MemTotal:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .map_or(0, |kb| kb / 1024);
        Machine {
            cpu,
            cores: std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            memory_mb,
            os: std::env::consts::OS.into(),
        }
    }
}

/// A whole run of the harness.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// [`SCHEMA`].
    pub schema: String,
    /// The command line that produced it.
    pub command: String,
    /// zkmlops' version.
    pub version: String,
    /// Seconds since the Unix epoch when the run started.
    pub started_unix: u64,
    /// The machine.
    pub machine: Machine,
    /// Counted runs per cell.
    pub runs: usize,
    /// Warm-up runs per cell.
    pub warmup: usize,
    /// One row per cell, in matrix order (EZKL's rows after the model's own).
    pub rows: Vec<Row>,
    /// Remarks on the whole run (e.g. why EZKL's rows are missing and how to add them).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Results {
    /// Parse a results file, refusing another schema.
    ///
    /// # Errors
    /// [`BenchError::Results`].
    pub fn from_json(path: &std::path::Path, text: &str) -> Result<Results, BenchError> {
        let fail = |what: String| BenchError::Results {
            path: path.to_path_buf(),
            what,
        };
        let v: serde_json::Value = serde_json::from_str(text).map_err(|e| fail(e.to_string()))?;
        match v.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => serde_json::from_value(v).map_err(|e| fail(e.to_string())),
            other => Err(fail(format!(
                "schema {other:?}, this harness reads {SCHEMA:?}"
            ))),
        }
    }
}

/// The name of a visibility as the CLI spells it.
#[must_use]
pub fn visibility_name(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "public",
        Visibility::Private => "private",
        Visibility::Committed => "committed",
        _ => "committed-group",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_are_min_median_max() {
        assert_eq!(Stats::of(&[]), None);
        assert_eq!(
            Stats::of(&[3.0, 1.0, 2.0]),
            Some(Stats {
                min: 1.0,
                median: 2.0,
                max: 3.0
            })
        );
        assert_eq!(Stats::of(&[4.0, 1.0]).map(|s| s.median), Some(2.5));
    }

    #[test]
    fn results_of_another_schema_are_refused() {
        let p = std::path::Path::new("x.json");
        assert!(matches!(
            Results::from_json(p, r#"{"schema":"zkmlops-bench/v0","rows":[]}"#),
            Err(BenchError::Results { .. })
        ));
        assert!(matches!(
            Results::from_json(p, "not json"),
            Err(BenchError::Results { .. })
        ));
    }
}
