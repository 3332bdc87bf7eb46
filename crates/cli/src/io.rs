//! Reading models, inputs and proofs; writing results.

use std::path::Path;

use serde::{Deserialize, Serialize};
use zkmlops_onnx::{CompiledModel, MODEL_MAGIC, OnnxModel, Settings, compile};
use zkmlops_proof::ProofEnvelope;

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

pub(crate) fn samples(path: &Path) -> Result<Vec<Vec<f64>>, CliError> {
    let bytes = read(path)?;
    let file =
        zkmlops_onnx::InputData::from_json(&bytes).map_err(|source| CliError::InputJson {
            path: path.into(),
            source,
        })?;
    if file.input_data.is_empty() {
        return Err(CliError::NoSamples { path: path.into() });
    }
    Ok(file.input_data)
}

pub(crate) fn proof(path: &Path) -> Result<(ProofEnvelope, usize), CliError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    let env = ProofEnvelope::from_json(&text).map_err(|source| CliError::Proof {
        path: path.into(),
        source,
    })?;
    Ok((env, bytes.len()))
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
