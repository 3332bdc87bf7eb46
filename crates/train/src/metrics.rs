//! Offline metrics: the exact number of wrong predictions of a committed model on a committed
//! test set, proved.
//!
//! Prediction is `z = x w + b >= 0`, computed on integers as `relu(z + 1) - relu(z)` (1 when
//! `z >= 0`, else 0; `z` in units of `2^-s`); with labels `y` in `{0, 1}`,
//! `wrong = sum((pred - y)^2)`. The test set (salt first) is lineage group 1, the model
//! (salt, `w`, `b`: the same layout the training transcript commits) group 2, so the model
//! commitment is the one a training run ended with.
//!
//! Optionally a fairness figure over a committed protected attribute `a` (one 0/1 value per
//! test row, lineage group 3 with its own salt, clamped to `[0, 1]` in the proof): the public
//! counts `positives = sum(pred)`, `group_positives = sum(pred * a)` and `group_rows = sum(a)`,
//! exact, from which the verifier computes the difference of positive rates between the group
//! and the rest ([`FairnessClaim::positive_rate_gap`]).

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_commit::Digest;
use zkmlops_proof::{Backend, ProofEnvelope, ProveError, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

use crate::logreg::SALT_LEN;
use crate::{Dataset, LogRegSpec, MlpModel, MlpSpec, Model, ModelSpec, TrainError};

/// Group of the test set in a metrics Program.
pub const TEST_GROUP: u16 = 1;
/// Group of the model.
pub const MODEL_GROUP: u16 = 2;
/// Group of the protected attribute (fairness metrics only).
pub const ATTRIBUTE_GROUP: u16 = 3;

/// The metrics Program for `rows` test rows: inputs `test/salt`, `test/x [rows, d]`,
/// `test/y [rows, 1]` (labels at the scale, `0` or `2^s`) and the constant `test/header` (the
/// dataset layout, [`crate::table_layout`]), `model/salt`, `w [d, 1]`, `b [1, 1]`; one public output,
/// `wrong [1]`, the number of misclassified rows.
///
/// # Errors
/// [`TrainError`] for bad hyperparameters or shapes.
pub fn metrics_program(spec: &LogRegSpec, rows: usize) -> Result<Program, TrainError> {
    metrics_program_with(spec, rows, false)
}

/// The metrics Program with the fairness counts: as [`metrics_program`], plus inputs
/// `attribute/salt [4]` and `attribute [rows, 1]` (0/1 at scale 2^0, group 3) and three more
/// public outputs, `positives`, `group_positives` and `group_rows` (after `wrong`).
///
/// # Errors
/// As [`metrics_program`].
pub fn fairness_metrics_program(spec: &LogRegSpec, rows: usize) -> Result<Program, TrainError> {
    metrics_program_with(spec, rows, true)
}

fn metrics_program_with(
    spec: &LogRegSpec,
    rows: usize,
    fairness: bool,
) -> Result<Program, TrainError> {
    let s = crate::logreg::scale_of(spec)?;
    if spec.link != crate::Link::Logistic {
        return Err(TrainError::Spec {
            name: "link",
            value: "identity".into(),
            allowed: "logistic (accuracy needs a classifier)",
        });
    }
    crate::logreg::check_size(rows, spec.features)?;
    let d = spec.features;
    let test = Visibility::CommittedTo(TEST_GROUP);
    let model = Visibility::CommittedTo(MODEL_GROUP);
    let mut b = ProgramBuilder::new();
    b.unbounded_input("test/salt", &[SALT_LEN], s, test);
    let x = b.input("test/x", &[rows, d], s, test);
    let y = b.input("test/y", &[rows, 1], s, test);
    b.unbounded_input("model/salt", &[SALT_LEN], s, model);
    let w = b.input("w", &[d, 1], s, model);
    let bias = b.input("b", &[1, 1], s, model);
    let one = b.constant("one_unit", Tensor::new(vec![1, 1], vec![1])?, s)?;
    let z = crate::logreg::affine(&mut b, "", x, w, bias, s)?;
    let z1 = b.op("z_plus_one", Op::Add, &[z, one])?;
    let r1 = b.op("relu_z_plus_one", Op::Relu, &[z1])?;
    let r0 = b.op("relu_z", Op::Relu, &[z])?;
    let pred = b.op("prediction", Op::Sub, &[r1, r0])?;
    let pred_01 = pred;
    // Labels are committed at the scale (0 or 2^s, the training layout): the 0/1 prediction
    // goes to the same scale, and the difference back to -1, 0 or 1 exactly.
    let unit = b.constant(
        "unit_to_one",
        Tensor::new(vec![1, 1], vec![1i64 << s.bits()])?,
        zkmlops_field::Scale::ONE,
    )?;
    let pred = b.op("prediction_scaled", Op::Mul, &[pred, unit])?;
    let err = b.op("error_scaled", Op::Sub, &[pred, y])?;
    let err = b.op(
        "error",
        Op::Rescale {
            shift: s.bits(),
            rounding: Rounding::Floor,
        },
        &[err],
    )?;
    let sq = b.op("error_squared", Op::Mul, &[err, err])?;
    let wrong = b.op(
        "wrong",
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        &[sq],
    )?;
    b.output(wrong, Visibility::Public)?;
    if fairness {
        let group = Visibility::CommittedTo(ATTRIBUTE_GROUP);
        let unit = zkmlops_field::Scale::ONE;
        b.unbounded_input("attribute/salt", &[SALT_LEN], unit, group);
        let a = b.input("attribute", &[rows, 1], unit, group);
        let one = b.constant("one", Tensor::new(vec![1, 1], vec![1])?, unit)?;
        // Clamped to [0, 1], whatever was committed.
        let r0 = b.op("relu_attribute", Op::Relu, &[a])?;
        let a1 = b.op("attribute_minus_one", Op::Sub, &[a, one])?;
        let r1 = b.op("relu_attribute_minus_one", Op::Relu, &[a1])?;
        let a = b.op("in_group", Op::Sub, &[r0, r1])?;
        let total = |b: &mut ProgramBuilder, name: &str, t| {
            b.op(
                name,
                Op::Sum {
                    axes: vec![],
                    keep_dims: false,
                },
                &[t],
            )
        };
        let positives = total(&mut b, "positives", pred_01)?;
        let pa = b.op("group_prediction", Op::Mul, &[pred_01, a])?;
        let group_positives = total(&mut b, "group_positives", pa)?;
        let group_rows = total(&mut b, "group_rows", a)?;
        for t in [positives, group_positives, group_rows] {
            b.output(t, Visibility::Public)?;
        }
    }
    let layout = crate::table_layout(spec, rows);
    layout.declare(&mut b, x, y)?;
    layout.add_header(&mut b, "test", TEST_GROUP)?;
    Ok(b.build()?)
}

/// A proved accuracy claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsProof {
    /// The model kind and its hyperparameters (features, classes, scale).
    pub spec: ModelSpec,
    /// Test rows.
    pub rows: usize,
    /// Claimed correct predictions.
    pub correct: usize,
    /// The test set's commitment.
    pub test_commitment: Digest,
    /// The model's commitment.
    pub model_commitment: Digest,
    /// The fairness figure, when one was proved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fairness: Option<FairnessClaim>,
    /// The proof.
    pub envelope: ProofEnvelope,
}

/// Binary (`ZKMS`, docs/formats.md) and JSON forms of the file.
impl zkmlops_proof::StageFile for MetricsProof {
    const KIND: zkmlops_proof::StageFileKind = zkmlops_proof::StageFileKind::Metrics;
}

/// Exact counts over a committed protected attribute (1 = in the group).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FairnessClaim {
    /// Commitment to the attribute column (salt first).
    pub attribute_commitment: Digest,
    /// Rows predicted positive.
    pub positives: usize,
    /// Rows of the group predicted positive.
    pub group_positives: usize,
    /// Rows in the group.
    pub group_rows: usize,
}

impl FairnessClaim {
    /// Positive rate of the group minus that of the other rows (`None` when either is empty).
    #[must_use]
    pub fn positive_rate_gap(&self, rows: usize) -> Option<f64> {
        let others = rows.checked_sub(self.group_rows).filter(|&n| n > 0)?;
        if self.group_rows == 0 {
            return None;
        }
        let rest = self.positives.checked_sub(self.group_positives)?;
        Some(self.group_positives as f64 / self.group_rows as f64 - rest as f64 / others as f64)
    }

    /// The attribute commitment of `attribute` (0/1 per row) with `salt`.
    #[must_use]
    pub fn commit(attribute: &[i64], salt: &[i64; SALT_LEN]) -> Digest {
        zkmlops_commit::commit_lineage(&[salt.as_slice(), attribute])
    }
}

/// Why a metrics claim does not verify.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum MetricsError {
    /// Bad hyperparameters or data.
    #[error(transparent)]
    Train(#[from] TrainError),
    /// The backend could not prove.
    #[error(transparent)]
    Prove(#[from] ProveError),
    /// The proof does not verify.
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The proof is for another stage.
    #[error("a {found:?} proof, not a metrics one")]
    Stage {
        /// Its stage.
        found: StageTag,
    },
    /// The claimed count is not the proved one.
    #[error("claimed {claimed} correct of {rows}, the proof says {proved}")]
    Count {
        /// Claimed.
        claimed: usize,
        /// Proved.
        proved: i64,
        /// Rows.
        rows: usize,
    },
    /// The proof commits to other data or another model than claimed.
    #[error("the proof's {which} commitment is not the claimed one")]
    Commitment {
        /// `test set`, `model` or `attribute`.
        which: &'static str,
    },
    /// A claimed fairness count that is not the proved one.
    #[error("claimed {which} = {claimed}, the proof says {proved}")]
    Fairness {
        /// `positives`, `group_positives` or `group_rows`.
        which: &'static str,
        /// Claimed.
        claimed: usize,
        /// Proved.
        proved: i64,
    },
    /// A product check whose differences are not all zero (the claimed product is wrong).
    #[error("the product check fails: P R differs from A (B R)")]
    ProductCheck,
    /// Claimed predictions that are not the proved ones.
    #[error("the claimed predictions are not the proved ones")]
    Predictions,
    /// An attribute column of another length than the test set, or not 0/1.
    #[error("the protected attribute must have one 0/1 value per test row")]
    Attribute,
}

/// Prove the accuracy of `model` on `test`.
///
/// # Errors
/// [`MetricsError`].
pub fn prove_metrics(
    spec: &LogRegSpec,
    model: &Model,
    model_salt: &[i64; SALT_LEN],
    test: &Dataset,
    test_salt: &[i64; SALT_LEN],
    backend: &dyn Backend,
    preset: &str,
) -> Result<MetricsProof, MetricsError> {
    prove_metrics_inner(
        spec, model, model_salt, test, test_salt, None, backend, preset,
    )
}

/// Prove the accuracy and the fairness counts over a committed protected attribute (one 0/1
/// value per test row, committed with `attribute_salt`).
///
/// # Errors
/// [`MetricsError`], [`MetricsError::Attribute`] for a bad attribute column.
#[allow(clippy::too_many_arguments)]
pub fn prove_fairness_metrics(
    spec: &LogRegSpec,
    model: &Model,
    model_salt: &[i64; SALT_LEN],
    test: &Dataset,
    test_salt: &[i64; SALT_LEN],
    attribute: &[i64],
    attribute_salt: &[i64; SALT_LEN],
    backend: &dyn Backend,
    preset: &str,
) -> Result<MetricsProof, MetricsError> {
    if attribute.len() != test.len() || attribute.iter().any(|&a| a != 0 && a != 1) {
        return Err(MetricsError::Attribute);
    }
    prove_metrics_inner(
        spec,
        model,
        model_salt,
        test,
        test_salt,
        Some((attribute, attribute_salt)),
        backend,
        preset,
    )
}

#[allow(clippy::too_many_arguments)]
fn prove_metrics_inner(
    spec: &LogRegSpec,
    model: &Model,
    model_salt: &[i64; SALT_LEN],
    test: &Dataset,
    test_salt: &[i64; SALT_LEN],
    attribute: Option<(&[i64], &[i64; SALT_LEN])>,
    backend: &dyn Backend,
    preset: &str,
) -> Result<MetricsProof, MetricsError> {
    let (x, y) = crate::quantize_data(spec, test)?;
    let program = metrics_program_with(spec, test.len(), attribute.is_some())?;
    let mut inputs = vec![
        Tensor::vector(test_salt.to_vec()),
        x.clone(),
        y.clone(),
        Tensor::vector(model_salt.to_vec()),
        Tensor::new(vec![spec.features, 1], model.w.clone()).map_err(TrainError::from)?,
        Tensor::new(vec![1, 1], vec![model.b]).map_err(TrainError::from)?,
    ];
    if let Some((a, salt)) = attribute {
        inputs.push(Tensor::vector(salt.to_vec()));
        inputs.push(Tensor::new(vec![a.len(), 1], a.to_vec()).map_err(TrainError::from)?);
    }
    let witness = program.evaluate(&inputs).map_err(TrainError::from)?;
    let out = |k: usize| {
        witness
            .get(program.outputs()[k])
            .and_then(|t| t.data().first().copied())
            .and_then(|v| usize::try_from(v).ok())
            .unwrap_or(0)
    };
    let wrong = out(0);
    let fairness = attribute.map(|(a, salt)| FairnessClaim {
        attribute_commitment: FairnessClaim::commit(a, salt),
        positives: out(1),
        group_positives: out(2),
        group_rows: out(3),
    });
    let envelope = backend.prove(&program, &witness, StageTag::Metrics, preset)?;
    Ok(MetricsProof {
        spec: (*spec).into(),
        rows: test.len(),
        correct: test.len().saturating_sub(wrong),
        test_commitment: crate::table_layout(spec, test.len()).commit(
            test_salt,
            x.data(),
            y.data(),
        ),
        model_commitment: crate::model_commitment(model, model_salt),
        fairness,
        envelope,
    })
}

impl MetricsProof {
    /// Verify the proof and that it proves exactly the claimed count for the claimed
    /// commitments.
    ///
    /// # Errors
    /// [`MetricsError`].
    pub fn verify(&self, backend: &dyn Backend, policy: &VerifyPolicy) -> Result<(), MetricsError> {
        let program = match (&self.spec, &self.fairness) {
            (ModelSpec::Linear(s), f) => metrics_program_with(s, self.rows, f.is_some())?,
            (ModelSpec::Mlp(s), None) => mlp_metrics_program(s, self.rows)?,
            (ModelSpec::Mlp(_), Some(_)) => {
                return Err(MetricsError::Train(TrainError::Spec {
                    name: "fairness",
                    value: "mlp".into(),
                    allowed: "binary classifiers (logistic regression)",
                }));
            }
        };
        let v = backend.verify(&program, &self.envelope, policy)?;
        if v.statement.stage != StageTag::Metrics {
            return Err(MetricsError::Stage {
                found: v.statement.stage,
            });
        }
        let digest = |k: usize| zkmlops_commit::statement_digest(&v.statement, k);
        if digest(0) != Some(self.test_commitment) {
            return Err(MetricsError::Commitment { which: "test set" });
        }
        if digest(1) != Some(self.model_commitment) {
            return Err(MetricsError::Commitment { which: "model" });
        }
        // Public outputs in id order: wrong, then the fairness counts.
        let public = |k: usize| {
            v.statement
                .public
                .get(k)
                .and_then(|p| p.values.first().copied())
                .unwrap_or(-1)
        };
        let wrong = public(0);
        if let Some(f) = &self.fairness {
            if digest(2) != Some(f.attribute_commitment) {
                return Err(MetricsError::Commitment { which: "attribute" });
            }
            for (k, which, claimed) in [
                (1, "positives", f.positives),
                (2, "group_positives", f.group_positives),
                (3, "group_rows", f.group_rows),
            ] {
                if usize::try_from(public(k)).ok() != Some(claimed) {
                    return Err(MetricsError::Fairness {
                        which,
                        claimed,
                        proved: public(k),
                    });
                }
            }
        }
        let proved_correct = i64::try_from(self.rows).unwrap_or(i64::MAX) - wrong;
        if usize::try_from(proved_correct).ok() != Some(self.correct) {
            return Err(MetricsError::Count {
                claimed: self.correct,
                proved: proved_correct,
                rows: self.rows,
            });
        }
        Ok(())
    }
}

/// The accuracy Program of an MLP (or softmax regression) on `rows` committed test rows:
/// inputs `test/salt`, `test/x [rows, in]`, `test/y [rows, classes]` (one-hot at the scale,
/// with `test/header`: the training layout), `model/salt` and the parameters (group 2, the
/// layout a training run commits); one public output, `wrong [1]`. A row counts as correct
/// when its true class's logit is a maximum of the row: `t = rescale(sum(logits * y))` (exact:
/// `y` is 0 or `2^s`), `m = max(logits)`, correct `= [t - m >= 0] = relu(t - m + 1) - relu(t - m)`
/// (a tie with another class counts as correct).
///
/// # Errors
/// [`TrainError`] for bad hyperparameters or sizes.
pub fn mlp_metrics_program(spec: &MlpSpec, rows: usize) -> Result<Program, TrainError> {
    let s = zkmlops_field::Scale::new(spec.scale_bits).map_err(|_| TrainError::Spec {
        name: "scale_bits",
        value: spec.scale_bits.to_string(),
        allowed: "4..=14",
    })?;
    crate::logreg::check_size(rows, spec.inputs + spec.classes)?;
    if rows == 0 || spec.classes < 2 {
        return Err(TrainError::Spec {
            name: "rows and classes",
            value: format!("{rows} and {}", spec.classes),
            allowed: "rows >= 1, classes >= 2",
        });
    }
    let rs = |shift| Op::Rescale {
        shift,
        rounding: Rounding::HalfUp,
    };
    let test = Visibility::CommittedTo(TEST_GROUP);
    let model = Visibility::CommittedTo(MODEL_GROUP);
    let mut b = ProgramBuilder::new();
    b.unbounded_input("test/salt", &[SALT_LEN], s, test);
    let x = b.input("test/x", &[rows, spec.inputs], s, test);
    let y = b.input("test/y", &[rows, spec.classes], s, test);
    b.unbounded_input("model/salt", &[SALT_LEN], s, model);
    let names = if spec.hidden == 0 {
        &["w", "b"][..]
    } else {
        &["w1", "b1", "w2", "b2"][..]
    };
    let p: Vec<_> = names
        .iter()
        .zip(spec.shapes())
        .map(|(n, shape)| b.input(n, &shape, s, model))
        .collect();
    let logits = if spec.hidden == 0 {
        crate::logreg::affine(&mut b, "", x, p[0], p[1], s)?
    } else {
        let h = b.op("xw1", Op::MatMul, &[x, p[0]])?;
        let h = b.op("xw1_s", rs(s.bits()), &[h])?;
        let h = b.op("h", Op::Add, &[h, p[1]])?;
        let a = b.op("a", Op::Relu, &[h])?;
        let z = b.op("aw2", Op::MatMul, &[a, p[2]])?;
        let z = b.op("aw2_s", rs(s.bits()), &[z])?;
        b.op("logits", Op::Add, &[z, p[3]])?
    };
    let ty = b.op("true_class_products", Op::Mul, &[logits, y])?;
    let t = b.op(
        "true_class_sum",
        Op::Sum {
            axes: vec![1],
            keep_dims: true,
        },
        &[ty],
    )?;
    let t = b.op("true_class_logit", rs(s.bits()), &[t])?;
    let m = b.op(
        "max_logit",
        Op::ReduceMax {
            axis: 1,
            keep_dims: true,
        },
        &[logits],
    )?;
    let d = b.op("margin", Op::Sub, &[t, m])?;
    let one = b.constant("one_unit", Tensor::new(vec![1, 1], vec![1])?, s)?;
    let d1 = b.op("margin_plus_one", Op::Add, &[d, one])?;
    let r1 = b.op("relu_margin_plus_one", Op::Relu, &[d1])?;
    let r0 = b.op("relu_margin", Op::Relu, &[d])?;
    let correct = b.op("correct", Op::Sub, &[r1, r0])?;
    let miss = b.op("miss", Op::Sub, &[one, correct])?;
    let wrong = b.op(
        "wrong",
        Op::Sum {
            axes: vec![],
            keep_dims: false,
        },
        &[miss],
    )?;
    b.output(wrong, Visibility::Public)?;
    let layout = crate::mlp::mlp_layout(spec, rows);
    layout.declare(&mut b, x, y)?;
    layout.add_header(&mut b, "test", TEST_GROUP)?;
    Ok(b.build()?)
}

/// Prove the accuracy of an MLP (or softmax regression) on `test` (class labels).
///
/// # Errors
/// [`MetricsError`].
pub fn prove_mlp_metrics(
    spec: &MlpSpec,
    model: &MlpModel,
    model_salt: &[i64; SALT_LEN],
    test: &Dataset,
    test_salt: &[i64; SALT_LEN],
    backend: &dyn Backend,
    preset: &str,
) -> Result<MetricsProof, MetricsError> {
    let program = mlp_metrics_program(spec, test.len())?;
    let salts = crate::Salts {
        data: *test_salt,
        start: [0; SALT_LEN],
        end: [0; SALT_LEN],
    };
    // The test rows and one-hot labels in the training layout.
    let data = crate::mlp_segment_inputs(spec, model, test, &salts)?;
    let mut inputs = vec![
        data[0].clone(),
        data[1].clone(),
        data[2].clone(),
        Tensor::vector(model_salt.to_vec()),
    ];
    for (p, shape) in model.params.iter().zip(spec.shapes()) {
        inputs.push(Tensor::new(shape.to_vec(), p.clone()).map_err(TrainError::from)?);
    }
    let witness = program.evaluate(&inputs).map_err(TrainError::from)?;
    let wrong = witness
        .get(program.outputs()[0])
        .and_then(|t| t.data().first().copied())
        .and_then(|v| usize::try_from(v).ok())
        .unwrap_or(0);
    let envelope = backend.prove(&program, &witness, StageTag::Metrics, preset)?;
    Ok(MetricsProof {
        spec: (*spec).into(),
        rows: test.len(),
        correct: test.len().saturating_sub(wrong),
        test_commitment: crate::mlp_data_commitment(spec, test, test_salt)?,
        model_commitment: crate::mlp_model_commitment(model, model_salt),
        fairness: None,
        envelope,
    })
}
