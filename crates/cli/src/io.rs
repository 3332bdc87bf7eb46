//! Reading models, inputs and proofs; writing results.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkmlops_onnx::{CompiledModel, MODEL_MAGIC, OnnxModel, Settings, compile};
use zkmlops_proof::{ProofEnvelope, StageFile, StageFileKind};

use crate::error::CliError;

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|source| CliError::Read {
        path: path.into(),
        source,
    })
}

pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    std::fs::write(path, bytes).map_err(|source| CliError::Write {
        path: path.into(),
        source,
    })
}

pub(crate) fn settings(path: Option<&Path>) -> Result<Settings, CliError> {
    match path {
        None => Ok(Settings::default()),
        Some(p) => {
            let text = String::from_utf8_lossy(&read(p)?).into_owned();
            Settings::from_json(&text).map_err(|source| CliError::Settings {
                path: p.into(),
                source,
            })
        }
    }
}

pub(crate) fn onnx(path: &Path) -> Result<OnnxModel, CliError> {
    OnnxModel::from_path(path).map_err(|source| CliError::Model {
        path: path.into(),
        source,
    })
}

/// A compiled model file (`ZKMM...`), or an ONNX file compiled with `settings`.
pub(crate) fn model(path: &Path, settings: &Settings) -> Result<CompiledModel, CliError> {
    let bytes = read(path)?;
    let wrap = |source| CliError::Model {
        path: path.into(),
        source,
    };
    if bytes.starts_with(&MODEL_MAGIC) {
        CompiledModel::from_bytes(&bytes).map_err(wrap)
    } else {
        let name = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        let onnx = OnnxModel::from_bytes(&bytes, &name).map_err(wrap)?;
        compile(&onnx, settings).map_err(wrap)
    }
}

pub(crate) fn input_data(path: &Path) -> Result<Vec<Vec<f64>>, CliError> {
    let bytes = read(path)?;
    let file =
        zkmlops_onnx::InputData::from_json(&bytes).map_err(|source| CliError::InputJson {
            path: path.into(),
            source,
        })?;
    Ok(file.input_data)
}

/// The samples of the input file `path` for a model whose graph inputs have `shapes`
/// ([`zkmlops_onnx::group_samples`]: EZKL's layout, `[]` the one sample of a model without
/// inputs).
///
/// # Errors
/// The file's errors, [`CliError::NoSamples`] when it holds none.
pub(crate) fn samples(path: &Path, shapes: &[Vec<usize>]) -> Result<Vec<Vec<f64>>, CliError> {
    let samples = zkmlops_onnx::group_samples(shapes, &input_data(path)?)?;
    if samples.is_empty() {
        return Err(CliError::NoSamples { path: path.into() });
    }
    Ok(samples)
}

/// A proof envelope from the bytes of `path`, in either form: the canonical binary envelope
/// (it opens with [`zkmlops_proof::ENVELOPE_MAGIC`], what `prove` writes by default) or its
/// JSON form.
pub(crate) fn proof_from(path: &Path, bytes: Vec<u8>) -> Result<(ProofEnvelope, usize), CliError> {
    if let Ok(kind) = zkmlops_proof::stage_file_kind(&bytes) {
        let command = match kind {
            StageFileKind::Preprocessing => "preprocess verify",
            StageFileKind::TrainingTranscript => "train verify",
            StageFileKind::Monitoring => "monitor verify",
            StageFileKind::Prediction => "eval verify-prediction",
            _ => "eval verify",
        };
        return Err(CliError::StageFileHere {
            path: path.into(),
            kind,
            command,
        });
    }
    let env = if bytes.starts_with(&zkmlops_proof::ENVELOPE_MAGIC) {
        ProofEnvelope::from_bytes(&bytes)
    } else {
        ProofEnvelope::from_json(&String::from_utf8_lossy(&bytes))
    }
    .map_err(|source| CliError::Proof {
        path: path.into(),
        source,
    })?;
    Ok((env, bytes.len()))
}

/// A proof file `verify` and `inspect` read: one envelope, or a wrapped inference (`prove
/// --aggregate`: an aggregate of one member).
pub(crate) enum ProofFile {
    /// A proof envelope (binary or JSON).
    Single(ProofEnvelope),
    /// A binary aggregate (`ZKMA`) and its outer envelope (the aggregate's parameters and
    /// proof bytes, the first member's statement).
    Wrapped(Box<zkmlops_proof::AggregateEnvelope>, ProofEnvelope),
}

impl ProofFile {
    /// The envelope a report shows.
    pub(crate) fn envelope(&self) -> &ProofEnvelope {
        match self {
            ProofFile::Single(env) | ProofFile::Wrapped(_, env) => env,
        }
    }
}

/// Read a proof file of either kind (an envelope or a wrapped inference).
pub(crate) fn any_proof(path: &Path) -> Result<(ProofFile, usize), CliError> {
    any_proof_from(path, read(path)?)
}

/// [`any_proof`] of bytes already read from `path`.
pub(crate) fn any_proof_from(path: &Path, bytes: Vec<u8>) -> Result<(ProofFile, usize), CliError> {
    if bytes.starts_with(&zkmlops_proof::AGGREGATE_MAGIC) {
        let agg = zkmlops_proof::AggregateEnvelope::from_bytes(&bytes).map_err(|source| {
            CliError::Proof {
                path: path.into(),
                source,
            }
        })?;
        let mut outer = agg.outer_envelope().ok_or(CliError::Rejected(
            zkmlops_proof::VerifyError::Aggregate(zkmlops_proof::AggregateError::Empty).into(),
        ))?;
        outer.proof.clone_from(&agg.proof);
        return Ok((ProofFile::Wrapped(Box::new(agg), outer), bytes.len()));
    }
    let (env, n) = proof_from(path, bytes)?;
    Ok((ProofFile::Single(env), n))
}

/// How `prove` writes its proof file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ProofFormat {
    /// JSON when the file name ends in `.json`, binary otherwise.
    Auto,
    /// The canonical binary envelope (docs/formats.md): the proof bytes as they are.
    Binary,
    /// The envelope's JSON form: the proof bytes in hex, twice their size.
    Json,
}

impl ProofFormat {
    /// Whether a file at `path` is written as JSON.
    fn is_json(self, path: &Path) -> bool {
        match self {
            ProofFormat::Auto => path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json")),
            ProofFormat::Binary => false,
            ProofFormat::Json => true,
        }
    }

    /// The envelope's bytes in this format for a file at `path`.
    pub(crate) fn encode(self, env: &ProofEnvelope, path: &Path) -> Vec<u8> {
        if self.is_json(path) {
            env.to_json().into_bytes()
        } else {
            env.to_bytes()
        }
    }
}

/// A model commitment: `program_digest` and `commitment` are what the owner publishes; `salt`
/// opens it and stays with the owner (a published copy omits it).
#[derive(Serialize, Deserialize)]
pub(crate) struct CommitmentFile {
    pub(crate) version: u32,
    pub(crate) model: String,
    pub(crate) program_digest: String,
    pub(crate) commitment: zkmlops_commit::Digest,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) salt: Option<[i64; 4]>,
}

pub(crate) fn commitment(path: &Path) -> Result<CommitmentFile, CliError> {
    serde_json::from_slice(&read(path)?).map_err(|source| CliError::CommitmentFile {
        path: path.into(),
        source,
    })
}

/// Read a stage's proof file (binary or JSON); a directory names its stage file
/// ([`zkmlops_proof::stage_path`]).
pub(crate) fn read_stage<T: StageFile>(path: &Path) -> Result<T, CliError> {
    let path = zkmlops_proof::stage_path(path, T::KIND);
    T::from_file_bytes(&read(&path)?).map_err(|source| CliError::StageFile { path, source })
}

/// Write a stage's proof file at `path` (binary unless `format` says JSON) and return the path.
/// When `path` is a directory the file is the stage's name in it (`proof.zkp`, or `proof.json`
/// with `--format json`).
pub(crate) fn write_stage<T: StageFile>(
    path: &Path,
    value: &T,
    format: ProofFormat,
) -> Result<std::path::PathBuf, CliError> {
    let path = if path.is_dir() {
        let [binary, json] = T::KIND.file_names();
        path.join(if format == ProofFormat::Json {
            json
        } else {
            binary
        })
    } else {
        path.to_path_buf()
    };
    let encoded = if format.is_json(&path) {
        value.to_json().map(String::into_bytes)
    } else {
        value.to_binary()
    };
    let bytes = encoded.map_err(|source| CliError::StageFile {
        path: path.clone(),
        source,
    })?;
    write(&path, &bytes)?;
    Ok(path)
}

/// A path's last component, for messages ("publish proof.zkp").
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
