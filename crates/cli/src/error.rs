//! The CLI's errors: each prints as one sentence.

use std::path::PathBuf;

use thiserror::Error;

/// Why a command failed.
#[derive(Debug, Error)]
pub(crate) enum CliError {
    #[error("{0}")]
    Bench(#[from] zkmlops_bench::BenchError),
    #[error("{flag} `{given}`: expected {allowed}")]
    BenchArgs {
        flag: String,
        given: String,
        allowed: String,
    },
    #[error("cannot read `{path}`: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write `{path}`: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("`{path}` is not a valid input file ({{\"input_data\": [[...], ...]}}): {source}")]
    InputJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("`{path}` holds no input samples")]
    NoSamples { path: PathBuf },
    #[error("sample {index} does not exist: `{path}` holds {count}")]
    SampleIndex {
        path: PathBuf,
        index: usize,
        count: usize,
    },
    #[error(
        "`{path}` is a {kind} (a lifecycle stage file), not an inference proof: verify it with \
         `zkmlops {command}`"
    )]
    StageFileHere {
        path: PathBuf,
        kind: zkmlops_proof::StageFileKind,
        command: &'static str,
    },
    #[error("`{path}` is not a proof file: {source}")]
    Proof {
        path: PathBuf,
        source: zkmlops_proof::EnvelopeError,
    },
    #[error("`{path}`: {source}")]
    Model {
        path: PathBuf,
        source: zkmlops_onnx::OnnxError,
    },
    #[error("`{path}` is not a settings file: {source}")]
    Settings {
        path: PathBuf,
        source: zkmlops_onnx::OnnxError,
    },
    #[error("{0}")]
    Onnx(#[from] zkmlops_onnx::OnnxError),
    #[error("{0}")]
    Infer(#[from] zkmlops_infer::InferError),
    #[error("proof rejected: {0}")]
    Rejected(zkmlops_infer::InferError),
    #[error("`{path}` is not a commitment file: {source}")]
    CommitmentFile {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("`{path}` holds no salt (only the model owner's commitment file does)")]
    NoSalt { path: PathBuf },
    #[error("`{path}` commits to another program than the model given")]
    CommitmentProgram { path: PathBuf },
    #[error(
        "`{path}` is a {published} commitment, but the proof's commitments are {found} (a commitment links only to proofs of its scheme: the halo2 backend commits with Poseidon over Pasta)"
    )]
    CommitmentScheme {
        path: PathBuf,
        published: String,
        found: String,
    },
    #[error("`{path}` has no committed weights")]
    NotCommitted { path: PathBuf },
    #[error("`{path}`: {source}")]
    StageFile {
        path: PathBuf,
        source: zkmlops_proof::StageFileError,
    },
    #[error("`{path}` is not valid JSON here: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("`{path}`: {what}")]
    TrainSpec { path: PathBuf, what: String },
    #[error("`{path}`: {source}")]
    Train {
        path: PathBuf,
        source: Box<zkmlops_train::TrainError>,
    },
    #[error("{source}")]
    Preprocess {
        source: Box<zkmlops_preprocess::PreprocessError>,
    },
    #[error("{path}: {what}")]
    Pipeline { path: PathBuf, what: String },
    #[error("{source}")]
    Run {
        source: Box<zkmlops_train::RunError>,
    },
    #[error("{}: line {line}: a protected attribute is 0 or 1 (one per test row, after a header)", path.display())]
    Attribute { path: PathBuf, line: usize },
    #[error("{source}")]
    Metrics {
        source: Box<zkmlops_train::MetricsError>,
    },
    #[error("rejected: {what}")]
    RunRejected { what: String },
    #[error("{source}")]
    Monitor {
        source: Box<zkmlops_monitor::MonitorError>,
    },
    #[error("{}: {source}", path.display())]
    MonitorLog {
        path: PathBuf,
        source: Box<zkmlops_monitor::MonitorError>,
    },
    #[error(
        "the {backend} backend's preset {preset} cannot aggregate proofs (`zkmlops backends` lists which can: use --backend plonky2)"
    )]
    NoAggregation { backend: String, preset: String },
    #[error(
        "invalid --visibility `{given}`: expected a list like input=private,params=private,output=public"
    )]
    Visibility { given: String },
    #[error("{0}")]
    Registry(zkmlops_proof::RegistryError),
    #[error("{0}")]
    Preset(zkmlops_proof::ProveError),
    #[error("preset `{preset}` of backend `{backend}` is {}, but {} was asked for (pick another --preset, or drop --zk/--transparent)", if *wanted { "transparent" } else { "hiding" }, if *wanted { "zero knowledge" } else { "a transparent proof" })]
    PresetHiding {
        backend: String,
        preset: String,
        wanted: bool,
    },
}

impl CliError {
    /// The message and its causes, joined into one line.
    pub(crate) fn sentence(&self) -> String {
        let mut text = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(s) = source {
            let more = s.to_string();
            if !text.contains(&more) {
                text.push_str(": ");
                text.push_str(&more);
            }
            source = s.source();
        }
        text
    }
}
