//! Inference with a trained linear model under the training run's final commitment: the model
//! (salt, `w`, `b`) is committed exactly as the run's last checkpoint, so a verifier who checked
//! the training transcript knows the prediction came from the trained weights.
//!
//! Public: the model commitment, the predictions (the probability for logistic regression, the
//! value for linear regression, at the spec's scale). Private: the input rows and the weights.

use serde::{Deserialize, Serialize};
use zkmlops_commit::Digest;
use zkmlops_lookup::Function;
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::{Program, ProgramBuilder, Tensor, Visibility, composite};

use crate::logreg::{SALT_LEN, SIGMOID_RADIUS, check_size, scale_of};
use crate::{Link, LogRegSpec, MetricsError, Model, TrainError};

/// The commitment group of the model in a prediction Program.
pub const PREDICT_MODEL_GROUP: u16 = 1;

/// The prediction Program for `rows` input rows: `x [rows, d]` (private), the model
/// (`model/salt`, `w [d, 1]`, `b [1, 1]`, lineage group 1: the checkpoint layout), and one
/// public output `prediction [rows, 1]`: `sigmoid(rescale(x w) + b)` for logistic regression
/// (the training segments' table), `rescale(x w) + b` for linear regression.
///
/// # Errors
/// [`TrainError`] for a bad spec or size.
pub fn prediction_program(spec: &LogRegSpec, rows: usize) -> Result<Program, TrainError> {
    let s = scale_of(spec)?;
    check_size(rows, spec.features)?;
    if rows == 0 {
        return Err(TrainError::Data {
            row: 0,
            what: "no input rows",
        });
    }
    let model = Visibility::CommittedTo(PREDICT_MODEL_GROUP);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[rows, spec.features], s, Visibility::Private);
    b.unbounded_input("model/salt", &[SALT_LEN], s, model);
    let w = b.input("w", &[spec.features, 1], s, model);
    let bias = b.input("b", &[1, 1], s, model);
    let z = crate::logreg::affine(&mut b, "", x, w, bias, s)?;
    let out = match spec.link {
        Link::Logistic => composite::nonlinear(
            &mut b,
            "prediction",
            z,
            Function::Sigmoid,
            s,
            s,
            -SIGMOID_RADIUS,
            SIGMOID_RADIUS,
        )?,
        Link::Identity => z,
    };
    b.output(out, Visibility::Public)?;
    Ok(b.build()?)
}

/// A proved batch of predictions.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PredictionProof {
    /// The model kind and hyperparameters.
    pub spec: LogRegSpec,
    /// Input rows.
    pub rows: usize,
    /// The model commitment (a training run's final commitment).
    pub model_commitment: Digest,
    /// The predictions, fixed point at `2^scale_bits`.
    pub predictions: Vec<i64>,
    /// The proof.
    pub envelope: ProofEnvelope,
}

/// Binary (`ZKMS`, docs/formats.md) and JSON forms of the file.
impl zkmlops_proof::StageFile for PredictionProof {
    const KIND: zkmlops_proof::StageFileKind = zkmlops_proof::StageFileKind::Prediction;
}

impl PredictionProof {
    /// The predictions as real numbers.
    #[must_use]
    pub fn values(&self) -> Vec<f64> {
        let unit = f64::from(1u32 << self.spec.scale_bits.min(30));
        self.predictions.iter().map(|&q| q as f64 / unit).collect()
    }

    /// Verify the proof, that it is for the claimed model commitment and that it proves exactly
    /// the claimed predictions.
    ///
    /// # Errors
    /// [`MetricsError`] (`Verify`, `Stage`, `Commitment`, `Count` for other predictions).
    pub fn verify(&self, backend: &dyn Backend, policy: &VerifyPolicy) -> Result<(), MetricsError> {
        let program = prediction_program(&self.spec, self.rows)?;
        let v = backend.verify(&program, &self.envelope, policy)?;
        if v.statement.stage != StageTag::Inference {
            return Err(MetricsError::Stage {
                found: v.statement.stage,
            });
        }
        let digest = zkmlops_commit::statement_digest(&v.statement, 0);
        if digest != Some(self.model_commitment) {
            return Err(MetricsError::Commitment { which: "model" });
        }
        let proved = v.statement.public.first().map(|p| p.values.as_slice());
        if proved != Some(self.predictions.as_slice()) {
            return Err(MetricsError::Predictions);
        }
        Ok(())
    }
}

/// Prove the model's predictions on `rows` (each `spec.features` real values), with the model
/// committed under `salt` (the run's final checkpoint salt gives the run's final commitment).
///
/// # Errors
/// [`MetricsError`]: rows of the wrong width or out of range, or the backend's refusal.
pub fn prove_prediction(
    spec: &LogRegSpec,
    model: &Model,
    salt: &[i64; SALT_LEN],
    rows: &[Vec<f64>],
    backend: &dyn Backend,
    preset: &str,
) -> Result<PredictionProof, MetricsError> {
    let s = scale_of(spec)?;
    let program = prediction_program(spec, rows.len())?;
    let mut x = Vec::with_capacity(rows.len() * spec.features);
    for (r, row) in rows.iter().enumerate() {
        if row.len() != spec.features {
            return Err(TrainError::Data {
                row: r,
                what: "wrong number of features",
            }
            .into());
        }
        for &v in row {
            x.push(s.encode(v).map_err(|_| TrainError::Data {
                row: r,
                what: "a feature does not fit the fixed-point range",
            })?);
        }
    }
    let inputs = vec![
        Tensor::new(vec![rows.len(), spec.features], x).map_err(TrainError::from)?,
        Tensor::vector(salt.to_vec()),
        Tensor::new(vec![spec.features, 1], model.w.clone()).map_err(TrainError::from)?,
        Tensor::new(vec![1, 1], vec![model.b]).map_err(TrainError::from)?,
    ];
    let witness = program.evaluate(&inputs).map_err(TrainError::from)?;
    let predictions = witness
        .get(program.outputs()[0])
        .map(|t| t.data().to_vec())
        .unwrap_or_default();
    let envelope = backend.prove(&program, &witness, StageTag::Inference, preset)?;
    Ok(PredictionProof {
        spec: *spec,
        rows: rows.len(),
        model_commitment: crate::model_commitment(model, salt),
        predictions,
        envelope,
    })
}
