//! The online-metrics stage (monitoring): figures over a committed log of production
//! inferences, proved against the deployed model's commitment and the training data's.
//!
//! An operator logs what the deployed model saw (its input features), the labels that arrive
//! later, and optionally a 0/1 group attribute, and publishes the log's commitment for each
//! interval ([`LogLayout::commit`]). A monitoring proof then shows, without revealing a row:
//!
//! - **count and predictions**: the log's rows and how many the model predicts positive
//!   (`x w + b >= 0`, the same integer rule as the offline metrics);
//! - **accuracy where labels arrived**: labeled rows and correct predictions among them;
//! - **fairness in production**: rows of the group and its positive predictions;
//! - **drift**: per feature the mean, variance and histogram of the log (a
//!   [`ColumnProfile`]), compared with the *training split's profile* that the preprocessing
//!   proof publishes (`output.profile_edges` in the pipeline): the verifier computes the mean
//!   shift (in training standard deviations) and the population stability index
//!   ([`MonitorReport`]). The reference is public and carried in the spec with the train
//!   commitment it belongs to; `zkmlops monitor verify --prep` and `zkmlops pipeline verify`
//!   check both against the preprocessing proof.
//!
//! The model is the training run's final checkpoint (lineage: salt, `w`, `b`), so a verifier
//! who checked the run knows these are the figures of the trained model. Linear classifiers
//! (logistic regression) only; see `docs/lifecycle.md`.
//!
//! ```
//! use zkmlops_monitor::ProductionLog;
//!
//! let log = ProductionLog::from_csv("a,b,label,group\n0.5,1.0,1,0\n-0.5,2.0,,1\n", 2)?;
//! assert_eq!(log.len(), 2);
//! assert_eq!(log.labels, vec![Some(1), None]); // the second label has not arrived
//! assert_eq!(log.groups, vec![0, 1]);
//! # Ok::<(), zkmlops_monitor::MonitorError>(())
//! ```

mod log;
mod report;

pub use log::{LOG_TAG, LOG_VERSION, LogLayout, LogTensors, ProductionLog};
pub use report::{FeatureDrift, MonitorReport, PSI_ALERT, psi};
pub use zkmlops_tensor::composite::ColumnProfile;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_commit::Digest;
use zkmlops_field::Scale;
use zkmlops_proof::{Backend, ProofEnvelope, ProveError, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::composite::ProfileIds;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility};
use zkmlops_train::{Link, LogRegSpec, Model, SALT_LEN, TrainError};

/// Version of the [`MonitorProof`] file.
pub const MONITOR_VERSION: u32 = 1;
/// Commitment group of the production log.
pub const LOG_GROUP: u16 = 1;
/// Commitment group of the model (a training run's checkpoint layout).
pub const MODEL_GROUP: u16 = 2;
/// Most histogram edges (bins are one more).
pub const MAX_EDGES: usize = 15;

/// An error of the monitoring stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MonitorError {
    /// A CSV cell or line that cannot be read.
    #[error("CSV line {line}, column {column}: {what}")]
    Csv {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A log row that does not fit the spec.
    #[error("production log: {what} (row {row})")]
    Log {
        /// The first offending row (0-based).
        row: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A bad monitoring spec.
    #[error("monitoring spec: {what}")]
    Spec {
        /// What is wrong.
        what: String,
    },
    /// The model or a Program could not be formed.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// A tensor could not be formed.
    #[error(transparent)]
    Tensor(#[from] zkmlops_tensor::OpError),
    /// The backend could not prove.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The proof does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The proof is for another stage.
    #[error("a {found:?} proof, not a monitoring one")]
    Stage {
        /// Its stage.
        found: StageTag,
    },
    /// The proof commits to another log, model or reference than claimed.
    #[error("the proof's {which} commitment is not the claimed one")]
    Commitment {
        /// `log` or `model`.
        which: &'static str,
    },
    /// A claimed figure that is not the proved one.
    #[error("claimed {which} = {claimed}, the proof says {proved}")]
    Figure {
        /// The figure.
        which: &'static str,
        /// Claimed (as printed).
        claimed: String,
        /// Proved (as printed).
        proved: String,
    },
}

impl From<zkmlops_tensor::ProgramError> for MonitorError {
    fn from(e: zkmlops_tensor::ProgramError) -> Self {
        MonitorError::Train(TrainError::from(e))
    }
}

/// The training split's published profile, the drift reference (public: from the
/// preprocessing proof whose train commitment this is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The processed training split's commitment (the preprocessing proof's `train`).
    pub commitment: Digest,
    /// Its profile, as that proof publishes it.
    pub profile: ColumnProfile,
}

/// What a monitoring proof is about (public).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitorSpec {
    /// The deployed model's kind and scale (a logistic-regression spec: its `features` and
    /// `scale_bits` are what matter here).
    pub model: LogRegSpec,
    /// Rows of the production log.
    pub rows: usize,
    /// Histogram edges at the model's scale (fixed point, strictly increasing, 1 to
    /// [`MAX_EDGES`]): bin 0 is `x < e_0`, bin `k` is `e_{k-1} <= x < e_k`, the last
    /// `x >= e_last`. With a reference, its edges (the same real numbers).
    pub edges: Vec<i64>,
    /// The drift reference, when the training split has a published profile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
}

impl MonitorSpec {
    /// A spec over `rows` log rows. With a `reference` the histogram edges are its edges
    /// (`edges` is ignored); without one, `edges` (real numbers) are encoded at the model's
    /// scale.
    ///
    /// # Errors
    /// [`MonitorError::Spec`] for edges that do not fit or do not increase, or a reference of
    /// another width or whose edges the model's scale cannot represent exactly.
    pub fn new(
        model: LogRegSpec,
        rows: usize,
        edges: &[f64],
        reference: Option<Reference>,
    ) -> Result<Self, MonitorError> {
        let s = scale(&model)?;
        let real: Vec<f64> = match &reference {
            Some(r) => r.profile.real_edges(),
            None => edges.to_vec(),
        };
        let edges = real
            .iter()
            .map(|&e| {
                s.encode(e)
                    .ok()
                    .filter(|&q| (q as f64 - e * f64::from(1u32 << s.bits())).abs() < 1e-9)
                    .ok_or_else(|| MonitorError::Spec {
                        what: format!(
                            "edge {e} is not a multiple of 2^-{} (the model's scale)",
                            s.bits()
                        ),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let spec = MonitorSpec {
            model,
            rows,
            edges,
            reference,
        };
        spec.check()?;
        Ok(spec)
    }

    fn check(&self) -> Result<Scale, MonitorError> {
        let s = scale(&self.model)?;
        let bad = |what: String| Err(MonitorError::Spec { what });
        if self.model.link != Link::Logistic {
            return bad("the deployed model must be a classifier (logistic regression)".into());
        }
        if self.rows == 0 {
            return bad("the log needs at least one row".into());
        }
        if self.edges.is_empty() || self.edges.len() > MAX_EDGES {
            return bad(format!(
                "{} histogram edges (1 to {MAX_EDGES})",
                self.edges.len()
            ));
        }
        if self.edges.windows(2).any(|w| w.first() >= w.get(1)) {
            return bad("histogram edges must be strictly increasing".into());
        }
        // The edges are Program constants compared with 24-bit inputs.
        if self.edges.iter().any(|e| e.abs() >= 1 << 30) {
            return bad("histogram edges must be below 2^30 in fixed point".into());
        }
        if self
            .rows
            .checked_mul(self.model.features.saturating_add(3))
            .is_none_or(|n| n > zkmlops_train::MAX_DATA_ELEMENTS)
        {
            return bad(format!(
                "the log ({} rows) is too large (at most 2^26 cells)",
                self.rows
            ));
        }
        if let Some(r) = &self.reference {
            let p = &r.profile;
            let same_edges = p.real_edges().len() == self.edges.len()
                && p.real_edges()
                    .iter()
                    .zip(&self.edges)
                    .all(|(a, &b)| (a - b as f64 / f64::from(1u32 << s.bits())).abs() < 1e-12);
            if p.columns() != self.model.features
                || p.variance.len() != self.model.features
                || p.at_least.len() != p.edges.len()
                || p.at_least.iter().any(|r| r.len() != self.model.features)
                || !same_edges
            {
                return bad(format!(
                    "the reference profile ({} columns, {} edges) does not match the model's {} features and the edges",
                    p.columns(),
                    p.edges.len(),
                    self.model.features
                ));
            }
        }
        Ok(s)
    }

    /// The layout of the production log this spec reads.
    #[must_use]
    pub fn log_layout(&self) -> LogLayout {
        LogLayout {
            rows: self.rows,
            features: self.model.features,
            scale_bits: self.model.scale_bits,
        }
    }
}

fn scale(model: &LogRegSpec) -> Result<Scale, MonitorError> {
    Scale::new(model.scale_bits)
        .ok()
        .filter(|_| (4..=16).contains(&model.scale_bits) && model.features > 0)
        .ok_or_else(|| MonitorError::Spec {
            what: format!(
                "the model needs features >= 1 and scale_bits in 4..=16 (got {} and {})",
                model.features, model.scale_bits
            ),
        })
}

/// The proved figures (public outputs, exact integers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorFigures {
    /// Rows the model predicts positive.
    pub positives: i64,
    /// Rows whose label arrived.
    pub labeled: i64,
    /// Wrong predictions among the labeled rows.
    pub wrong: i64,
    /// Rows in the group.
    pub group_rows: i64,
    /// Rows of the group predicted positive.
    pub group_positives: i64,
    /// The log's profile: per feature its mean (at `2^s`), variance (at `2^(2s)`) and
    /// `[x >= edge]` counts.
    pub log: ColumnProfile,
}

/// The Program's tensors that carry the figures.
struct Outputs {
    counts: [TensorId; 5],
    profile: ProfileIds,
}

/// The monitoring Program. Inputs, in order (each group's salt first):
///
/// - the log (group 1): `log/salt [4]`, `log/x [n, d]`, `log/y [n, 1]`, `log/labeled [n, 1]`,
///   `log/group [n, 1]`, then the constant `log/header` ([`LogLayout::header`]);
/// - the model (group 2): `model/salt [4]`, `w [d, 1]`, `b [1, 1]` (a run's checkpoint).
///
/// Public outputs, in order: `positives`, `labeled`, `wrong`, `group_rows`,
/// `group_positives` (each `[1]`), then the log's profile
/// ([`zkmlops_tensor::composite::column_profile`]): `mean [1, d]`, `variance [1, d]`,
/// `at_least [E, d]`. The labeled flag, the group and the label (after dropping the scale) are
/// clamped to `[0, 1]` in the proof, so a log committed with other values still gives counts in
/// range.
///
/// # Errors
/// [`MonitorError::Spec`] for a bad spec, [`MonitorError::Train`] from the builder.
pub fn monitor_program(spec: &MonitorSpec) -> Result<Program, MonitorError> {
    Ok(build(spec)?.0)
}

fn build(spec: &MonitorSpec) -> Result<(Program, Outputs), MonitorError> {
    let s = spec.check()?;
    let (n, d) = (spec.rows, spec.model.features);
    let one = Scale::ONE;
    let mut b = ProgramBuilder::new();
    let log = Visibility::CommittedTo(LOG_GROUP);
    b.unbounded_input("log/salt", &[SALT_LEN], s, log);
    let x = b.input("log/x", &[n, d], s, log);
    let y = b.input("log/y", &[n, 1], s, log);
    let labeled = b.input("log/labeled", &[n, 1], one, log);
    let group = b.input("log/group", &[n, 1], one, log);
    let header = spec.log_layout().header();
    let len = header.len();
    let h = b.constant("log/header_values", Tensor::vector(header), one)?;
    let h = b.op("log/header", Op::Reshape { shape: vec![len] }, &[h])?;
    b.output(h, log)?;
    let model = Visibility::CommittedTo(MODEL_GROUP);
    b.unbounded_input("model/salt", &[SALT_LEN], s, model);
    let w = b.input("w", &[d, 1], s, model);
    let bias = b.input("b", &[1, 1], s, model);

    // Predictions, 0/1 at scale 1: [z >= 0] = relu(z + 1) - relu(z) on z in units of 2^-s.
    let z = zkmlops_train::affine(&mut b, "", x, w, bias, s)?;
    let ulp = b.constant("one_ulp", Tensor::new(vec![1, 1], vec![1])?, s)?;
    let z1 = b.op("z_plus_one", Op::Add, &[z, ulp])?;
    let r1 = b.op("relu_z_plus_one", Op::Relu, &[z1])?;
    let r0 = b.op("relu_z", Op::Relu, &[z])?;
    let pred = b.op("prediction_units", Op::Sub, &[r1, r0])?;
    let up = b.constant(
        "units_to_scale",
        Tensor::new(vec![1, 1], vec![1i64 << s.bits()])?,
        one,
    )?;
    let pred = b.op("prediction_scaled", Op::Mul, &[pred, up])?;
    let pred = b.op("prediction", drop_scale(s), &[pred])?;
    let unit = b.constant("one", Tensor::new(vec![1, 1], vec![1])?, one)?;
    let label = b.op("label", drop_scale(s), &[y])?;
    let label = clamp01(&mut b, "label", label, unit)?;
    let labeled = clamp01(&mut b, "labeled", labeled, unit)?;
    let group = clamp01(&mut b, "group", group, unit)?;
    let err = b.op("error", Op::Sub, &[pred, label])?;
    let sq = b.op("error_squared", Op::Mul, &[err, err])?;
    let counted = b.op("labeled_error", Op::Mul, &[sq, labeled])?;
    let in_group = b.op("group_prediction", Op::Mul, &[pred, group])?;
    let counts = [
        total(&mut b, "positives", pred)?,
        total(&mut b, "labeled_rows", labeled)?,
        total(&mut b, "wrong", counted)?,
        total(&mut b, "group_rows", group)?,
        total(&mut b, "group_positives", in_group)?,
    ];
    let profile =
        zkmlops_tensor::composite::column_profile(&mut b, "log/profile", x, d, &spec.edges, s)?;
    for o in counts
        .iter()
        .chain(&[profile.mean, profile.variance, profile.at_least])
    {
        b.output(*o, Visibility::Public)?;
    }
    Ok((b.build()?, Outputs { counts, profile }))
}

fn drop_scale(s: Scale) -> Op {
    Op::Rescale {
        shift: s.bits(),
        rounding: Rounding::Floor,
    }
}

/// `min(max(v, 0), 1) = relu(v) - relu(v - 1)` at scale 1.
fn clamp01(
    b: &mut ProgramBuilder,
    name: &str,
    v: TensorId,
    unit: TensorId,
) -> Result<TensorId, MonitorError> {
    let r0 = b.op(&format!("{name}/relu"), Op::Relu, &[v])?;
    let v1 = b.op(&format!("{name}/minus_one"), Op::Sub, &[v, unit])?;
    let r1 = b.op(&format!("{name}/relu_minus_one"), Op::Relu, &[v1])?;
    Ok(b.op(&format!("{name}/clamped"), Op::Sub, &[r0, r1])?)
}

fn total(b: &mut ProgramBuilder, name: &str, t: TensorId) -> Result<TensorId, MonitorError> {
    Ok(b.op(
        name,
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        &[t],
    )?)
}

/// The secret inputs of a monitoring proof (the operator's and the model owner's).
#[derive(Debug, Clone, Copy)]
pub struct MonitorSecrets<'a> {
    /// The deployed model (a training run's final weights).
    pub model: &'a Model,
    /// Its checkpoint salt (the run's last one gives the run's final commitment).
    pub model_salt: &'a [i64; SALT_LEN],
    /// The production log.
    pub log: &'a ProductionLog,
    /// The log's salt.
    pub log_salt: &'a [i64; SALT_LEN],
}

/// A proved monitoring claim (the public file).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MonitorProof {
    /// [`MONITOR_VERSION`].
    pub version: u32,
    /// What was monitored (with the drift reference).
    pub spec: MonitorSpec,
    /// The log's commitment (published by the operator for this interval).
    pub log_commitment: Digest,
    /// The deployed model's commitment (a training run's final commitment).
    pub model_commitment: Digest,
    /// The proved figures.
    pub figures: MonitorFigures,
    /// The proof.
    pub envelope: ProofEnvelope,
}

/// Binary (`ZKMS`, docs/formats.md) and JSON forms of the file.
impl zkmlops_proof::StageFile for MonitorProof {
    const KIND: zkmlops_proof::StageFileKind = zkmlops_proof::StageFileKind::Monitoring;
}

/// Prove the monitoring figures of `secrets.log` under `spec`.
///
/// # Errors
/// [`MonitorError`]: a spec that does not match the data, values out of range, the backend's
/// refusal.
pub fn prove_monitor(
    spec: &MonitorSpec,
    secrets: &MonitorSecrets<'_>,
    backend: &dyn Backend,
    preset: &str,
) -> Result<MonitorProof, MonitorError> {
    let s = spec.check()?;
    let d = spec.model.features;
    if secrets.log.len() != spec.rows {
        return Err(MonitorError::Spec {
            what: format!(
                "the spec says {} log rows, the log has {}",
                spec.rows,
                secrets.log.len()
            ),
        });
    }
    if secrets.model.w.len() != d {
        return Err(MonitorError::Spec {
            what: format!(
                "the model has {} weights for {d} features",
                secrets.model.w.len()
            ),
        });
    }
    let (program, outputs) = build(spec)?;
    let log = secrets.log.quantize(d, s)?;
    let inputs = vec![
        Tensor::vector(secrets.log_salt.to_vec()),
        log.x.clone(),
        log.y.clone(),
        log.labeled.clone(),
        log.group.clone(),
        Tensor::vector(secrets.model_salt.to_vec()),
        Tensor::new(vec![d, 1], secrets.model.w.clone())?,
        Tensor::new(vec![1, 1], vec![secrets.model.b])?,
    ];
    let witness = program.evaluate(&inputs).map_err(TrainError::from)?;
    let figures = figures_of(spec, &outputs, |id| {
        witness.get(id).map(|t| t.data().to_vec())
    })
    .ok_or(MonitorError::Spec {
        what: "the Program's outputs do not have the documented shapes".into(),
    })?;
    let envelope = backend.prove(&program, &witness, StageTag::Monitoring, preset)?;
    Ok(MonitorProof {
        version: MONITOR_VERSION,
        spec: spec.clone(),
        log_commitment: spec.log_layout().commit(secrets.log_salt, &log),
        model_commitment: zkmlops_train::model_commitment(secrets.model, secrets.model_salt),
        figures,
        envelope,
    })
}

/// The figures from the values of the output tensors (`None` when a shape differs).
fn figures_of(
    spec: &MonitorSpec,
    outputs: &Outputs,
    mut get: impl FnMut(TensorId) -> Option<Vec<i64>>,
) -> Option<MonitorFigures> {
    let mut scalar = |id| -> Option<i64> {
        let v = get(id)?;
        (v.len() == 1).then(|| v.first().copied())?
    };
    let [p, l, w, gr, gp] = outputs.counts;
    Some(MonitorFigures {
        positives: scalar(p)?,
        labeled: scalar(l)?,
        wrong: scalar(w)?,
        group_rows: scalar(gr)?,
        group_positives: scalar(gp)?,
        log: ColumnProfile::read(
            &outputs.profile,
            get,
            (spec.rows, spec.model.features),
            &spec.edges,
            spec.model.scale_bits,
        )?,
    })
}

impl MonitorProof {
    /// Verify the proof: the Program rebuilt from the public spec, the stage, the log and
    /// model commitments, and every figure equal to the proved public outputs. Returns the
    /// report the figures give (drift against the spec's reference, which this does not check:
    /// compare `spec.reference` with the preprocessing proof, as `zkmlops pipeline verify`
    /// does).
    ///
    /// # Errors
    /// [`MonitorError`] (`Verify`, `Stage`, `Commitment`, `Figure`, `Spec`).
    pub fn verify(
        &self,
        backend: &dyn Backend,
        policy: &VerifyPolicy,
    ) -> Result<MonitorReport, MonitorError> {
        if self.version != MONITOR_VERSION {
            return Err(MonitorError::Spec {
                what: format!(
                    "monitoring file version {} (this build reads {MONITOR_VERSION})",
                    self.version
                ),
            });
        }
        let (program, outputs) = build(&self.spec)?;
        let v = backend.verify(&program, &self.envelope, policy)?;
        if v.statement.stage != StageTag::Monitoring {
            return Err(MonitorError::Stage {
                found: v.statement.stage,
            });
        }
        let digest = |k: usize| zkmlops_commit::statement_digest(&v.statement, k);
        for (k, which, claimed) in [
            (0, "log", self.log_commitment),
            (1, "model", self.model_commitment),
        ] {
            if digest(k) != Some(claimed) {
                return Err(MonitorError::Commitment { which });
            }
        }
        let proved = figures_of(&self.spec, &outputs, |id| {
            v.statement
                .public
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.values.clone())
        })
        .ok_or(MonitorError::Figure {
            which: "public outputs",
            claimed: "the documented shapes".into(),
            proved: "other shapes".into(),
        })?;
        check_figures(&self.figures, &proved)?;
        Ok(MonitorReport::new(&self.spec, &proved))
    }
}

fn check_figures(claimed: &MonitorFigures, proved: &MonitorFigures) -> Result<(), MonitorError> {
    let c = claimed;
    let p = proved;
    let list = |v: &[i64]| format!("{v:?}");
    let grid = |v: &[Vec<i64>]| format!("{v:?}");
    let pairs = [
        (
            "positives",
            c.positives.to_string(),
            p.positives.to_string(),
        ),
        ("labeled", c.labeled.to_string(), p.labeled.to_string()),
        ("wrong", c.wrong.to_string(), p.wrong.to_string()),
        (
            "group_rows",
            c.group_rows.to_string(),
            p.group_rows.to_string(),
        ),
        (
            "group_positives",
            c.group_positives.to_string(),
            p.group_positives.to_string(),
        ),
        ("log.mean", list(&c.log.mean), list(&p.log.mean)),
        ("log.variance", list(&c.log.variance), list(&p.log.variance)),
        ("log.at_least", grid(&c.log.at_least), grid(&p.log.at_least)),
        (
            "log.shape",
            format!("{} {} {:?}", c.log.rows, c.log.scale_bits, c.log.edges),
            format!("{} {} {:?}", p.log.rows, p.log.scale_bits, p.log.edges),
        ),
    ];
    for (which, claimed, proved) in pairs {
        if claimed != proved {
            return Err(MonitorError::Figure {
                which,
                claimed,
                proved,
            });
        }
    }
    Ok(())
}
