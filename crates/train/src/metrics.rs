//! Offline metrics: the exact number of wrong predictions of a committed model on a committed
//! test set, proved.
//!
//! Prediction is `z = x w + b >= 0`, computed on integers as `relu(z + 1) - relu(z)` (1 when
//! `z >= 0`, else 0; `z` in units of `2^-s`); with labels `y` in `{0, 1}`,
//! `wrong = sum((pred - y)^2)`. The test set (salt first) is lineage group 1, the model
//! (salt, `w`, `b`: the same layout the training transcript commits) group 2, so the model
//! commitment is the one a training run ended with.

use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_commit::Digest;
use zkmlops_proof::{
    ProofEnvelope, ProveError, ProvingBackend, StageTag, VerifyError, VerifyPolicy,
};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

use crate::logreg::SALT_LEN;
use crate::{Dataset, LogRegSpec, Model, TrainError};

/// Group of the test set in a metrics Program.
pub const TEST_GROUP: u16 = 1;
/// Group of the model.
pub const MODEL_GROUP: u16 = 2;

/// The metrics Program for `rows` test rows: inputs `test/salt`, `test/x [rows, d]`,
/// `test/y [rows, 1]` (labels at the scale, `0` or `2^s`) and the constant `test/header` (the
/// dataset layout, [`crate::table_layout`]), `model/salt`, `w [d, 1]`, `b [1, 1]`; one public output,
/// `wrong [1]`, the number of misclassified rows.
///
/// # Errors
/// [`TrainError`] for bad hyperparameters or shapes.
pub fn metrics_program(spec: &LogRegSpec, rows: usize) -> Result<Program, TrainError> {
    let s = crate::logreg::scale_of(spec)?;
    crate::logreg::check_size(rows, spec.features)?;
    let d = spec.features;
    let test = Visibility::CommittedTo(TEST_GROUP);
    let model = Visibility::CommittedTo(MODEL_GROUP);
    let mut b = ProgramBuilder::new();
    b.input("test/salt", &[SALT_LEN], s, test);
    let x = b.input("test/x", &[rows, d], s, test);
    let y = b.input("test/y", &[rows, 1], s, test);
    b.input("model/salt", &[SALT_LEN], s, model);
    let w = b.input("w", &[d, 1], s, model);
    let bias = b.input("b", &[1, 1], s, model);
    let one = b.constant("one_unit", Tensor::new(vec![1, 1], vec![1])?, s)?;
    let z = b.op("xw", Op::MatMul, &[x, w])?;
    let z = b.op(
        "xw_s",
        Op::Rescale {
            shift: s.bits(),
            rounding: Rounding::HalfUp,
        },
        &[z],
    )?;
    let z = b.op("z", Op::Add, &[z, bias])?;
    let z1 = b.op("z_plus_one", Op::Add, &[z, one])?;
    let r1 = b.op("relu_z_plus_one", Op::Relu, &[z1])?;
    let r0 = b.op("relu_z", Op::Relu, &[z])?;
    let pred = b.op("prediction", Op::Sub, &[r1, r0])?;
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
    crate::table_layout(spec, rows).add_header(&mut b, "test", TEST_GROUP)?;
    Ok(b.build()?)
}

/// A proved accuracy claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MetricsProof {
    /// Hyperparameters (features, scale) of the model.
    pub spec: LogRegSpec,
    /// Test rows.
    pub rows: usize,
    /// Claimed correct predictions.
    pub correct: usize,
    /// The test set's commitment.
    pub test_commitment: Digest,
    /// The model's commitment.
    pub model_commitment: Digest,
    /// The proof.
    pub envelope: ProofEnvelope,
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
        /// `test set` or `model`.
        which: &'static str,
    },
}

/// Prove the accuracy of `model` on `test`.
///
/// # Errors
/// [`MetricsError`].
pub fn prove_metrics<B: ProvingBackend>(
    spec: &LogRegSpec,
    model: &Model,
    model_salt: &[i64; SALT_LEN],
    test: &Dataset,
    test_salt: &[i64; SALT_LEN],
    backend: &B,
    config: &B::Config,
) -> Result<MetricsProof, MetricsError> {
    let (x, y) = crate::quantize_data(spec, test)?;
    let program = metrics_program(spec, test.len())?;
    let inputs = vec![
        Tensor::vector(test_salt.to_vec()),
        x.clone(),
        y.clone(),
        Tensor::vector(model_salt.to_vec()),
        Tensor::new(vec![spec.features, 1], model.w.clone()).map_err(TrainError::from)?,
        Tensor::new(vec![1, 1], vec![model.b]).map_err(TrainError::from)?,
    ];
    let witness = program.evaluate(&inputs).map_err(TrainError::from)?;
    let wrong = witness
        .get(program.outputs()[0])
        .and_then(|t| t.data().first().copied())
        .unwrap_or(0);
    let envelope = backend.prove(&program, &witness, StageTag::Metrics, config)?;
    Ok(MetricsProof {
        spec: *spec,
        rows: test.len(),
        correct: test
            .len()
            .saturating_sub(usize::try_from(wrong).unwrap_or(0)),
        test_commitment: crate::table_layout(spec, test.len()).commit(
            test_salt,
            x.data(),
            y.data(),
        ),
        model_commitment: crate::model_commitment(model, model_salt),
        envelope,
    })
}

impl MetricsProof {
    /// Verify the proof and that it proves exactly the claimed count for the claimed
    /// commitments.
    ///
    /// # Errors
    /// [`MetricsError`].
    pub fn verify<B: ProvingBackend>(
        &self,
        backend: &B,
        policy: &VerifyPolicy,
    ) -> Result<(), MetricsError> {
        let program = metrics_program(&self.spec, self.rows)?;
        let v = backend.verify(&program, &self.envelope, policy)?;
        if v.statement.stage != StageTag::Metrics {
            return Err(MetricsError::Stage {
                found: v.statement.stage,
            });
        }
        let digest = |k: usize| {
            v.statement
                .commitments
                .get(k)
                .and_then(|c| Digest::from_bytes(&c.digest).ok())
        };
        if digest(0) != Some(self.test_commitment) {
            return Err(MetricsError::Commitment { which: "test set" });
        }
        if digest(1) != Some(self.model_commitment) {
            return Err(MetricsError::Commitment { which: "model" });
        }
        let wrong = v
            .statement
            .public
            .first()
            .and_then(|p| p.values.first().copied())
            .unwrap_or(-1);
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
