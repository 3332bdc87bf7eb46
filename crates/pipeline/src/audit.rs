//! Verifying a manifest: every stage, then every link.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zkmlops_commit::Digest;
use zkmlops_monitor::{ColumnProfile, MonitorProof};
use zkmlops_preprocess::PreprocessProof;
use zkmlops_proof::{BackendParams, Registry, StageFile, StageFileKind, VerifyPolicy, stage_path};
use zkmlops_train::{MetricsProof, ModelSpec, PredictionProof, TrainingTranscript};

use crate::{AUDIT_VERSION, Manifest, StageEntry, StageKind};

/// A port's value: a commitment, and for `profile`/`reference` ports the profile it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Port {
    commitment: Digest,
    profile: Option<ColumnProfile>,
}

impl Port {
    fn plain(commitment: Digest) -> Self {
        Port {
            commitment,
            profile: None,
        }
    }
}

/// What one stage's audit found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageReport {
    /// The stage's name.
    pub name: String,
    /// Its kind.
    pub kind: StageKind,
    /// The proof file read.
    pub file: PathBuf,
    /// Whether its proof verified.
    pub verified: bool,
    /// Why not.
    pub error: Option<String>,
    /// What the proof establishes, in one sentence (empty when it did not verify).
    pub proves: String,
    /// The backend that made it.
    pub backend: Option<String>,
    /// Its preset.
    pub preset: Option<String>,
    /// Conjectured security in bits (the lowest of the stage's proofs).
    pub security_bits: Option<u16>,
    /// Whether every proof of the stage hides the witness.
    pub zero_knowledge: Option<bool>,
    /// Whether soundness rests on hash functions only.
    pub post_quantum: Option<bool>,
    /// Whether no trusted setup is needed.
    pub transparent: Option<bool>,
    /// The stage's commitments by port (hex), as proved.
    pub commitments: BTreeMap<String, String>,
    /// Its public figures, as proved.
    pub figures: BTreeMap<String, String>,
}

/// One link's check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    /// `stage.port` producing.
    pub from: String,
    /// `stage.port` consuming.
    pub to: String,
    /// Whether the commitments (and profiles) are equal.
    pub ok: bool,
    /// The commitment, or why the link fails.
    pub detail: String,
}

/// The audit of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Audit {
    /// [`AUDIT_VERSION`].
    pub report_version: u32,
    /// The manifest's name.
    pub name: Option<String>,
    /// Every stage verified and every link holds.
    pub verified: bool,
    /// Per stage, in manifest order.
    pub stages: Vec<StageReport>,
    /// Per link checked.
    pub links: Vec<LinkReport>,
    /// Stages no link reaches (verified alone, not part of the chain).
    pub unlinked: Vec<String>,
}

impl Audit {
    /// The names of the stages that failed and the links that broke, for a one-line verdict.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .stages
            .iter()
            .filter(|s| !s.verified)
            .map(|s| {
                format!(
                    "stage `{}`: {}",
                    s.name,
                    s.error.as_deref().unwrap_or("not verified")
                )
            })
            .collect();
        out.extend(
            self.links
                .iter()
                .filter(|l| !l.ok)
                .map(|l| format!("link {} -> {}: {}", l.from, l.to, l.detail)),
        );
        out
    }

    /// The report as a self-contained HTML page.
    #[must_use]
    pub fn to_html(&self) -> String {
        crate::html::render(self)
    }
}

struct Verified {
    ports: BTreeMap<&'static str, Port>,
    proves: String,
    figures: BTreeMap<String, String>,
    params: Option<BackendParams>,
    backend: Option<String>,
}

fn read<T: StageFile>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    T::from_file_bytes(&bytes).map_err(|e| format!("{} is not a valid file: {e}", path.display()))
}

/// The file a stage entry names: a directory's stage file (`proof.zkp` / `transcript.zkp`, or
/// the `.json` form when only that is there), else the path itself.
fn stage_file(base: &Path, s: &StageEntry) -> PathBuf {
    let p = base.join(&s.proof);
    let kind = match s.kind {
        StageKind::Preprocess => StageFileKind::Preprocessing,
        StageKind::Train => StageFileKind::TrainingTranscript,
        StageKind::Eval => StageFileKind::Metrics,
        StageKind::Predict => StageFileKind::Prediction,
        StageKind::Monitor => StageFileKind::Monitoring,
        StageKind::Inference => return p,
    };
    stage_path(&p, kind)
}

/// Verify every stage of `manifest` (paths relative to `base`) with the backends of
/// `registry`, then every link. A stage that does not verify, or a link that does not hold,
/// is reported by name (`Audit::verified` is false), not returned as an error.
#[must_use]
pub fn audit(
    manifest: &Manifest,
    base: &Path,
    registry: &Registry,
    policy: &VerifyPolicy,
) -> Audit {
    audit_with(manifest, base, registry, policy)
}

/// [`audit`] with the verifiers `registry` resolves.
pub(crate) fn audit_with(
    manifest: &Manifest,
    base: &Path,
    registry: &dyn Resolver,
    policy: &VerifyPolicy,
) -> Audit {
    let mut stages = Vec::with_capacity(manifest.stages.len());
    let mut ports: Vec<Option<BTreeMap<&'static str, Port>>> = Vec::new();
    for entry in &manifest.stages {
        let file = stage_file(base, entry);
        let result = match entry.kind {
            StageKind::Inference => verify_inference(base, entry, &file, registry, policy),
            kind => verify_stage(kind, &file, registry, policy),
        };
        let mut report = StageReport {
            name: entry.name.clone(),
            kind: entry.kind,
            file: file.clone(),
            verified: result.is_ok(),
            error: None,
            proves: String::new(),
            backend: None,
            preset: None,
            security_bits: None,
            zero_knowledge: None,
            post_quantum: None,
            transparent: None,
            commitments: BTreeMap::new(),
            figures: BTreeMap::new(),
        };
        match result {
            Ok(v) => {
                report.proves = v.proves;
                report.figures = v.figures;
                report.backend = v.backend;
                if let Some(p) = &v.params {
                    report.preset = Some(p.preset.clone());
                    report.security_bits = Some(p.conjectured_security_bits);
                    report.zero_knowledge = Some(p.zero_knowledge);
                    report.post_quantum = Some(p.post_quantum);
                    report.transparent = Some(p.transparent);
                }
                report.commitments = v
                    .ports
                    .iter()
                    .map(|(k, p)| ((*k).to_string(), p.commitment.to_string()))
                    .collect();
                ports.push(Some(v.ports));
            }
            Err(e) => {
                report.error = Some(e);
                ports.push(None);
            }
        }
        stages.push(report);
    }
    let mut links = Vec::new();
    let mut reached = vec![false; manifest.stages.len()];
    for l in manifest.links() {
        let (Ok((fi, fp)), Ok((ti, tp))) = (manifest.port(&l.from), manifest.port(&l.to)) else {
            links.push(LinkReport {
                from: l.from.clone(),
                to: l.to.clone(),
                ok: false,
                detail: "no such stage or port".into(),
            });
            continue;
        };
        for i in [fi, ti] {
            if let Some(r) = reached.get_mut(i) {
                *r = true;
            }
        }
        let side = |i: usize, port: &str| -> Result<Option<Port>, String> {
            match ports.get(i).and_then(Option::as_ref) {
                None => Err(format!(
                    "stage `{}` did not verify",
                    manifest.stages.get(i).map_or("?", |s| s.name.as_str())
                )),
                Some(m) => Ok(m.get(port).cloned()),
            }
        };
        let (ok, detail) = match (side(fi, fp), side(ti, tp)) {
            (Err(e), _) | (_, Err(e)) => (false, e),
            (Ok(None), _) => (false, format!("{} has no {fp} commitment", l.from)),
            (_, Ok(None)) => (false, format!("{} has no {tp} commitment", l.to)),
            (Ok(Some(a)), Ok(Some(b))) => {
                if a.commitment != b.commitment {
                    (
                        false,
                        format!("commitments differ: {} vs {}", a.commitment, b.commitment),
                    )
                } else if a.profile.is_some() != b.profile.is_some() || a.profile != b.profile {
                    (
                        false,
                        "same commitment, but the published profiles differ".into(),
                    )
                } else {
                    (true, a.commitment.to_string())
                }
            }
        };
        links.push(LinkReport {
            from: l.from,
            to: l.to,
            ok,
            detail,
        });
    }
    let unlinked = if manifest.stages.len() > 1 {
        manifest
            .stages
            .iter()
            .zip(&reached)
            .filter(|(_, r)| !**r)
            .map(|(s, _)| s.name.clone())
            .collect()
    } else {
        Vec::new()
    };
    Audit {
        report_version: AUDIT_VERSION,
        name: manifest.name.clone(),
        verified: stages.iter().all(|s| s.verified) && links.iter().all(|l| l.ok),
        stages,
        links,
        unlinked,
    }
}

/// Where a stage's verifier comes from: a registry by the proof's backend name, or (for an
/// aggregated pipeline) one backend that answers for every stage.
pub(crate) trait Resolver {
    fn backend(&self, name: &str) -> Result<&dyn zkmlops_proof::Backend, String>;
}

impl Resolver for Registry {
    fn backend(&self, name: &str) -> Result<&dyn zkmlops_proof::Backend, String> {
        self.get(name).map_err(|e| e.to_string())
    }
}

fn backend<'r>(
    backends: &'r dyn Resolver,
    name: &str,
) -> Result<&'r dyn zkmlops_proof::Backend, String> {
    backends.backend(name)
}

/// An ONNX inference proof against its model: the port is the weights' commitment.
fn verify_inference(
    base: &Path,
    entry: &StageEntry,
    file: &Path,
    registry: &dyn Resolver,
    policy: &VerifyPolicy,
) -> Result<Verified, String> {
    let model_path = base.join(entry.model.as_deref().ok_or("no model")?);
    let settings = match &entry.settings {
        Some(p) => {
            let p = base.join(p);
            let text = std::fs::read_to_string(&p)
                .map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            zkmlops_onnx::Settings::from_json(&text).map_err(|e| format!("{}: {e}", p.display()))?
        }
        None => zkmlops_onnx::Settings::default(),
    };
    let bytes = std::fs::read(&model_path)
        .map_err(|e| format!("cannot read {}: {e}", model_path.display()))?;
    let compiled = if bytes.starts_with(&zkmlops_onnx::MODEL_MAGIC) {
        zkmlops_onnx::CompiledModel::from_bytes(&bytes)
    } else {
        zkmlops_onnx::OnnxModel::from_bytes(&bytes, "model")
            .and_then(|m| zkmlops_onnx::compile(&m, &settings))
    }
    .map_err(|e| format!("{}: {e}", model_path.display()))?;
    let proof = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let env = if proof.starts_with(&zkmlops_proof::ENVELOPE_MAGIC) {
        zkmlops_proof::ProofEnvelope::from_bytes(&proof)
    } else {
        zkmlops_proof::ProofEnvelope::from_json(&String::from_utf8_lossy(&proof))
    }
    .map_err(|e| format!("{} is not a proof: {e}", file.display()))?;
    let v = zkmlops_infer::verify(
        &compiled.program,
        &env,
        backend(registry, env.backend.as_str())?,
        policy,
    )
    .map_err(|e| e.to_string())?;
    let mut figures = BTreeMap::new();
    let mut shown = Vec::new();
    for (name, t) in compiled.output_names().iter().zip(&v.outputs) {
        let values: Vec<String> = t.values.iter().take(8).map(|x| format!("{x:.4}")).collect();
        figures.insert(format!("output {name}"), format!("[{}]", values.join(", ")));
        shown.push(format!("{name} = [{}]", values.join(", ")));
    }
    let ports = match v.commitment {
        Some(d) => BTreeMap::from([("model", Port::plain(d))]),
        None => BTreeMap::new(),
    };
    Ok(Verified {
        proves: format!(
            "one inference of the model (program {}){} on a {} input: {}",
            compiled.program.digest(),
            if v.commitment.is_some() {
                " with committed weights"
            } else {
                ""
            },
            if v.input.is_some() {
                "public"
            } else {
                "private"
            },
            shown.join("; ")
        ),
        ports,
        figures,
        backend: Some(env.backend.to_string()),
        params: Some(env.params.clone()),
    })
}

fn verify_stage(
    kind: StageKind,
    file: &Path,
    registry: &dyn Resolver,
    policy: &VerifyPolicy,
) -> Result<Verified, String> {
    let mut figures = BTreeMap::new();
    let mut fig = |k: &str, v: String| {
        figures.insert(k.to_string(), v);
    };
    match kind {
        StageKind::Inference => Err("an inference stage needs its model".into()),
        StageKind::Preprocess => {
            let p: PreprocessProof = read(file)?;
            let v = p
                .verify(backend(registry, p.envelope.backend.as_str())?, policy)
                .map_err(|e| e.to_string())?;
            let mut ports = BTreeMap::from([
                ("raw", Port::plain(v.raw_commitment)),
                ("train", Port::plain(v.train_commitment)),
            ]);
            if let Some((d, _)) = v.test {
                ports.insert("test", Port::plain(d));
            }
            if let Some(profile) = &v.profile {
                ports.insert(
                    "profile",
                    Port {
                        commitment: v.train_commitment,
                        profile: Some(profile.clone()),
                    },
                );
            }
            fig("raw_rows", p.rows.to_string());
            fig("train_rows", v.train_layout.rows.to_string());
            fig("test_rows", v.test.map_or(0, |(_, l)| l.rows).to_string());
            for s in &v.stats {
                fig(
                    &format!("{}({})", s.stat.name(), s.column),
                    format!("{}", s.real()),
                );
            }
            let proves = format!(
                "a raw table of {} rows, run through the declared pipeline ({} steps), gives the training split ({} rows) and the test split ({} rows); {} statistics published{}",
                p.rows,
                p.pipeline.steps.len(),
                v.train_layout.rows,
                v.test.map_or(0, |(_, l)| l.rows),
                v.stats.len(),
                v.profile.as_ref().map_or(String::new(), |pr| format!(
                    ", and the training split's profile over {} edges",
                    pr.edges.len()
                ))
            );
            Ok(Verified {
                ports,
                proves,
                figures,
                backend: Some(p.envelope.backend.to_string()),
                params: Some(p.envelope.params.clone()),
            })
        }
        StageKind::Train => {
            let t: TrainingTranscript = read(file)?;
            let (name, params, weakest) = match (&t.aggregate, t.segments.first()) {
                (Some(a), _) => (a.backend.to_string(), a.params.clone(), None),
                (None, Some(e)) => (
                    e.backend.to_string(),
                    e.params.clone(),
                    t.segments
                        .iter()
                        .map(|s| s.params.conjectured_security_bits)
                        .min(),
                ),
                (None, None) => return Err("the transcript has no proof".into()),
            };
            t.verify(backend(registry, &name)?, policy)
                .map_err(|e| e.to_string())?;
            let mut params = params;
            if let Some(w) = weakest {
                params.conjectured_security_bits = w;
            }
            let segments = t
                .aggregate
                .as_ref()
                .map_or(t.segments.len(), |a| a.members.len());
            let model = match &t.spec {
                ModelSpec::Linear(s) => format!(
                    "{} regression, {} features",
                    match s.link {
                        zkmlops_train::Link::Logistic => "logistic",
                        zkmlops_train::Link::Identity => "linear",
                    },
                    s.features
                ),
                ModelSpec::Mlp(s) if s.hidden == 0 => {
                    format!(
                        "softmax regression, {} inputs, {} classes",
                        s.inputs, s.classes
                    )
                }
                ModelSpec::Mlp(s) => format!("MLP {}-{}-{}", s.inputs, s.hidden, s.classes),
            };
            fig("rows", t.rows.to_string());
            fig("sgd_steps", t.total_steps.to_string());
            fig("segments", segments.to_string());
            Ok(Verified {
                ports: BTreeMap::from([
                    ("data", Port::plain(t.data_commitment)),
                    ("initial", Port::plain(t.initial_commitment)),
                    ("final", Port::plain(t.final_commitment)),
                ]),
                proves: format!(
                    "{} SGD steps of {model} on a committed dataset of {} rows, in {segments} segments{}, take the initial weights to the final weights",
                    t.total_steps,
                    t.rows,
                    if t.aggregate.is_some() {
                        " (one aggregated proof)"
                    } else {
                        ""
                    }
                ),
                figures,
                backend: Some(name),
                params: Some(params),
            })
        }
        StageKind::Eval => {
            let m: MetricsProof = read(file)?;
            m.verify(backend(registry, m.envelope.backend.as_str())?, policy)
                .map_err(|e| e.to_string())?;
            let mut ports = BTreeMap::from([
                ("test", Port::plain(m.test_commitment)),
                ("model", Port::plain(m.model_commitment)),
            ]);
            fig("correct", m.correct.to_string());
            fig("rows", m.rows.to_string());
            let accuracy = m.correct as f64 / m.rows.max(1) as f64;
            fig("accuracy", format!("{accuracy:.4}"));
            let mut fairness = String::new();
            if let Some(f) = &m.fairness {
                ports.insert("attribute", Port::plain(f.attribute_commitment));
                if let Some(g) = f.positive_rate_gap(m.rows) {
                    fig("positive_rate_gap", format!("{g:.4}"));
                    fairness = format!("; positive-rate gap of the group {g:.3}");
                }
            }
            Ok(Verified {
                ports,
                proves: format!(
                    "the model is right on {} of {} committed test rows ({accuracy:.3}){fairness}",
                    m.correct, m.rows
                ),
                figures,
                backend: Some(m.envelope.backend.to_string()),
                params: Some(m.envelope.params.clone()),
            })
        }
        StageKind::Predict => {
            let p: PredictionProof = read(file)?;
            p.verify(backend(registry, p.envelope.backend.as_str())?, policy)
                .map_err(|e| e.to_string())?;
            let shown: Vec<String> = p
                .values()
                .iter()
                .take(4)
                .map(|v| format!("{v:.4}"))
                .collect();
            fig("rows", p.rows.to_string());
            Ok(Verified {
                ports: BTreeMap::from([("model", Port::plain(p.model_commitment))]),
                proves: format!(
                    "{} predictions of the committed model on private rows: [{}{}]",
                    p.rows,
                    shown.join(", "),
                    if p.rows > 4 { ", ..." } else { "" }
                ),
                figures,
                backend: Some(p.envelope.backend.to_string()),
                params: Some(p.envelope.params.clone()),
            })
        }
        StageKind::Monitor => {
            let m: MonitorProof = read(file)?;
            let r = m
                .verify(backend(registry, m.envelope.backend.as_str())?, policy)
                .map_err(|e| e.to_string())?;
            let mut ports = BTreeMap::from([
                ("log", Port::plain(m.log_commitment)),
                ("model", Port::plain(m.model_commitment)),
            ]);
            if let Some(reference) = &m.spec.reference {
                ports.insert(
                    "reference",
                    Port {
                        commitment: reference.commitment,
                        profile: Some(reference.profile.clone()),
                    },
                );
            }
            fig("rows", r.rows.to_string());
            fig("positives", r.positives.to_string());
            fig("labeled", r.labeled.to_string());
            fig("correct", r.correct.to_string());
            if let Some(a) = r.accuracy {
                fig("accuracy", format!("{a:.4}"));
            }
            if let Some(g) = r.positive_rate_gap {
                fig("positive_rate_gap", format!("{g:.4}"));
            }
            fig("drifted_features", format!("{:?}", r.drifted));
            if let Some(max) = r.features.iter().filter_map(|f| f.psi).reduce(f64::max) {
                fig("max_psi", format!("{max:.4}"));
            }
            Ok(Verified {
                ports,
                proves: format!(
                    "over {} logged production rows the model predicted {} positive, was right on {} of {} rows whose label arrived, and {}",
                    r.rows,
                    r.positives,
                    r.correct,
                    r.labeled,
                    if r.reference_commitment.is_none() {
                        "no drift reference was given".to_string()
                    } else if r.drifted.is_empty() {
                        "no feature drifted past the PSI threshold".to_string()
                    } else {
                        format!(
                            "features {:?} drifted (PSI > {})",
                            r.drifted,
                            zkmlops_monitor::PSI_ALERT
                        )
                    }
                ),
                figures,
                backend: Some(m.envelope.backend.to_string()),
                params: Some(m.envelope.params.clone()),
            })
        }
    }
}
