//! A pipeline manifest and its audit: every stage proof of an ML lifecycle verified, every
//! commitment link between stages checked, and a report saying what each stage proved.
//!
//! Each stage's proof names commitments (a preprocessing proof its raw table, training split
//! and test split; a training transcript its dataset and final weights; ...). A *link* says
//! that one stage's output is the next stage's input: the two commitments must be equal. The
//! manifest lists the proof files and the links (`docs/lifecycle.md`, "The pipeline
//! manifest"):
//!
//! ```toml
//! version = 1
//! name = "breast cancer"
//! stages = [
//!     { name = "preprocess", kind = "preprocess", proof = "prep" },
//!     { name = "train", kind = "train", proof = "run" },
//!     { name = "eval", kind = "eval", proof = "metrics.zkp" },
//! ]
//! links = [
//!     { from = "preprocess.train", to = "train.data" },
//!     { from = "preprocess.test", to = "eval.test" },
//!     { from = "train.final", to = "eval.model" },
//! ]
//! ```
//!
//! [`aggregate`] folds every stage proof into one recursive aggregate (the plonky2 backend);
//! [`audit_aggregated`] audits the manifest against it.
//!
//! Without `links`, the standard chain between the stages present is checked
//! ([`Manifest::links`]). Ports by stage kind: `preprocess`: `raw`, `train`, `test`,
//! `profile` (the train commitment with its published profile); `train`: `data`, `initial`,
//! `final`; `eval`: `test`, `model`, `attribute`; `predict`: `model`; `monitor`: `log`,
//! `model`, `reference` (a commitment with a profile: both must match); `inference` (an ONNX
//! inference proof, with the stage's `model` and `settings`): `model`.
//!
//! ```
//! use zkmlops_pipeline::Manifest;
//!
//! let m = Manifest::from_toml(r#"
//!     version = 1
//!     stages = [
//!         { name = "prep", kind = "preprocess", proof = "prep" },
//!         { name = "run", kind = "train", proof = "run" },
//!     ]
//! "#)?;
//! let links = m.links();
//! assert_eq!(links.len(), 1);
//! assert_eq!((links[0].from.as_str(), links[0].to.as_str()), ("prep.train", "run.data"));
//! # Ok::<(), zkmlops_pipeline::PipelineError>(())
//! ```

mod audit;
mod fold;
mod html;

pub use audit::{Audit, LinkReport, StageReport, audit};
pub use fold::{aggregate, audit_aggregated};

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Version of the manifest format.
pub const MANIFEST_VERSION: u32 = 1;
/// Version of the audit report ([`Audit`] as JSON).
pub const AUDIT_VERSION: u32 = 1;

/// Why a manifest cannot be audited (a stage that fails to verify is not an error: the audit
/// reports it by name).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The manifest is not valid TOML or has unknown fields.
    #[error("manifest: {what}")]
    Manifest {
        /// What is wrong.
        what: String,
    },
    /// A manifest of another version.
    #[error("manifest version {found} (this build reads {MANIFEST_VERSION})")]
    Version {
        /// The file's version.
        found: u32,
    },
    /// Two stages with one name, or a name that is not a plain identifier.
    #[error("stage name `{name}`: {what}")]
    StageName {
        /// The name.
        name: String,
        /// What is wrong.
        what: &'static str,
    },
    /// The stages cannot be folded into one aggregate.
    #[error("aggregating the pipeline: {what}")]
    Aggregate {
        /// Why.
        what: String,
    },
    /// A link naming a stage or port that does not exist.
    #[error("link {from} -> {to}: {what}")]
    Link {
        /// Its `from`.
        from: String,
        /// Its `to`.
        to: String,
        /// What is wrong.
        what: String,
    },
}

/// What a stage proves (its proof file's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StageKind {
    /// `zkmlops preprocess prove`: `prep/proof.zkp` (or its JSON form, `proof.json`).
    Preprocess,
    /// `zkmlops train prove`: `run/transcript.zkp` (or `transcript.json`).
    Train,
    /// `zkmlops eval prove`: `metrics.zkp` (or a `.json` file).
    Eval,
    /// `zkmlops eval predict`: `prediction.zkp` (or a `.json` file).
    Predict,
    /// `zkmlops monitor prove`: `monitor.zkp` (or a `.json` file).
    Monitor,
    /// `zkmlops prove model.onnx`: an inference proof (`proof.zkp` or its JSON), checked
    /// against the stage's `model` (ONNX or `.zkm`) and `settings`.
    Inference,
}

impl StageKind {
    /// The stage's ports (named commitments), in report order.
    #[must_use]
    pub fn ports(self) -> &'static [&'static str] {
        match self {
            StageKind::Preprocess => &["raw", "train", "test", "profile"],
            StageKind::Train => &["data", "initial", "final"],
            StageKind::Eval => &["test", "model", "attribute"],
            StageKind::Predict => &["model"],
            StageKind::Monitor => &["log", "model", "reference"],
            StageKind::Inference => &["model"],
        }
    }

    /// The kind's name in manifests.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            StageKind::Preprocess => "preprocess",
            StageKind::Train => "train",
            StageKind::Eval => "eval",
            StageKind::Predict => "predict",
            StageKind::Monitor => "monitor",
            StageKind::Inference => "inference",
        }
    }
}

/// One stage of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageEntry {
    /// Its name (letters, digits, `-` and `_`), used by links and in the report.
    pub name: String,
    /// What it proves.
    pub kind: StageKind,
    /// The proof file, relative to the manifest's directory (a run or preprocessing directory
    /// is read as its `transcript.zkp` / `proof.zkp`, or the `.json` form when only that is
    /// there).
    pub proof: PathBuf,
    /// For an `inference` stage: the model the proof claims (ONNX or a compiled `.zkm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// For an `inference` stage from ONNX: the settings it was compiled with
    /// (`zkmlops train export` writes them beside the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<PathBuf>,
}

/// A link: `from`'s commitment must equal `to`'s (`stage.port` each).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    /// The producing stage's port, e.g. `preprocess.train`.
    pub from: String,
    /// The consuming stage's port, e.g. `train.data`.
    pub to: String,
}

/// A pipeline manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`MANIFEST_VERSION`].
    pub version: u32,
    /// A name for the report.
    #[serde(default)]
    pub name: Option<String>,
    /// The stages, in lifecycle order.
    pub stages: Vec<StageEntry>,
    /// The links to check (the standard chain when empty).
    #[serde(default)]
    pub links: Vec<LinkEntry>,
}

/// The standard chain: which port of which kind feeds which.
const STANDARD_LINKS: [(StageKind, &str, StageKind, &str); 7] = [
    (StageKind::Preprocess, "train", StageKind::Train, "data"),
    (StageKind::Preprocess, "test", StageKind::Eval, "test"),
    (StageKind::Train, "final", StageKind::Eval, "model"),
    (StageKind::Train, "final", StageKind::Predict, "model"),
    (StageKind::Train, "final", StageKind::Monitor, "model"),
    (StageKind::Train, "final", StageKind::Inference, "model"),
    (
        StageKind::Preprocess,
        "profile",
        StageKind::Monitor,
        "reference",
    ),
];

impl Manifest {
    /// Parse and check a manifest: its version, stage names (unique identifiers) and links
    /// (existing stages and ports).
    ///
    /// # Errors
    /// [`PipelineError`].
    pub fn from_toml(text: &str) -> Result<Self, PipelineError> {
        let m: Manifest = toml::from_str(text).map_err(|e| PipelineError::Manifest {
            what: e.message().to_string(),
        })?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<(), PipelineError> {
        if self.version != MANIFEST_VERSION {
            return Err(PipelineError::Version {
                found: self.version,
            });
        }
        if self.stages.is_empty() {
            return Err(PipelineError::Manifest {
                what: "no stages".into(),
            });
        }
        for (i, s) in self.stages.iter().enumerate() {
            if (s.kind == StageKind::Inference) != s.model.is_some() {
                return Err(PipelineError::StageName {
                    name: s.name.clone(),
                    what: "an inference stage names its `model` (and only it does)",
                });
            }
            let ok = !s.name.is_empty()
                && s.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(PipelineError::StageName {
                    name: s.name.clone(),
                    what: "use letters, digits, `-` and `_`",
                });
            }
            if self.stages.iter().take(i).any(|t| t.name == s.name) {
                return Err(PipelineError::StageName {
                    name: s.name.clone(),
                    what: "two stages have this name",
                });
            }
        }
        for l in &self.links {
            let bad = |what: String| PipelineError::Link {
                from: l.from.clone(),
                to: l.to.clone(),
                what,
            };
            let from = self.port(&l.from).map_err(&bad)?;
            let to = self.port(&l.to).map_err(&bad)?;
            if from.0 == to.0 {
                return Err(bad("a stage cannot link to itself".into()));
            }
        }
        Ok(())
    }

    /// `(stage index, port)` of `stage.port`.
    fn port<'a>(&self, spec: &'a str) -> Result<(usize, &'a str), String> {
        let (stage, port) = spec
            .split_once('.')
            .ok_or_else(|| format!("`{spec}` is not `stage.port`"))?;
        let i = self
            .stages
            .iter()
            .position(|s| s.name == stage)
            .ok_or_else(|| format!("no stage named `{stage}`"))?;
        let kind = self.stages.get(i).map(|s| s.kind).ok_or("no stage")?;
        if !kind.ports().contains(&port) {
            return Err(format!(
                "a {} stage has no port `{port}` (it has {})",
                kind.name(),
                kind.ports().join(", ")
            ));
        }
        Ok((i, port))
    }

    /// The links to check: the manifest's, or when it lists none the standard chain between
    /// the stages present (`preprocess.train -> train.data`, `preprocess.test -> eval.test`,
    /// `train.final -> {eval, predict, monitor, inference}.model`, `preprocess.profile ->
    /// monitor.reference`, `train.final -> inference.model`), from the first stage of the
    /// producing kind.
    #[must_use]
    pub fn links(&self) -> Vec<LinkEntry> {
        if !self.links.is_empty() {
            return self.links.clone();
        }
        let mut out = Vec::new();
        for (fk, fp, tk, tp) in STANDARD_LINKS {
            let Some(from) = self.stages.iter().find(|s| s.kind == fk) else {
                continue;
            };
            for to in self.stages.iter().filter(|s| s.kind == tk) {
                out.push(LinkEntry {
                    from: format!("{}.{fp}", from.name),
                    to: format!("{}.{tp}", to.name),
                });
            }
        }
        out
    }
}
