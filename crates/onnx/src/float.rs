//! The float reference: the ONNX model run by tract (typed, optimised), used by calibration
//! and the fidelity report.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use tract_onnx::prelude::{
    DatumExt, Framework, InferenceModelExt, IntoRunnable, IntoTValue, Tensor as TractTensor,
    TypedRunnableModel, tvec,
};

use crate::error::float_err;
use crate::{OnnxError, OnnxModel};

/// A runnable float model with a fixed input shape.
pub struct FloatModel {
    plan: Arc<TypedRunnableModel>,
    shape: Vec<usize>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for FloatModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FloatModel")
            .field("shape", &self.shape)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl FloatModel {
    /// Type and optimise `model` for an input of `shape`, computing the graph outputs (and,
    /// with `all_tensors`, every node output, for calibration).
    ///
    /// # Errors
    /// [`OnnxError::Float`] when tract cannot type or optimise the model.
    pub fn new(model: &OnnxModel, shape: &[usize], all_tensors: bool) -> Result<Self, OnnxError> {
        let build = || -> Result<(Arc<TypedRunnableModel>, Vec<String>), OnnxError> {
            let mut m = tract_onnx::onnx()
                .model_for_read(&mut &model.bytes[..])
                .map_err(float_err)?
                .with_input_fact(0, f32::fact(shape).into())
                .map_err(float_err)?;
            let mut outputs = model.output_names();
            if all_tensors {
                for n in &model.graph().node {
                    for o in &n.output {
                        if !o.is_empty() && !outputs.contains(o) && m.find_outlet_label(o).is_some()
                        {
                            outputs.push(o.clone());
                        }
                    }
                }
            }
            m.select_outputs_by_name(&outputs).map_err(float_err)?;
            // Exposing intermediate tensors can block tract's optimiser: trace on the typed
            // (unoptimised) graph then.
            let typed = if all_tensors {
                m.into_typed().map_err(float_err)?
            } else {
                m.into_optimized().map_err(float_err)?
            };
            let plan = typed.into_runnable().map_err(float_err)?;
            Ok((plan, outputs))
        };
        let (plan, outputs) = catch_unwind(AssertUnwindSafe(build))
            .map_err(|_| float_err("tract panicked while typing the model"))??;
        Ok(FloatModel {
            plan,
            shape: shape.to_vec(),
            outputs,
        })
    }

    /// The names of the computed tensors, in [`FloatModel::run`]'s order (graph outputs first).
    #[must_use]
    pub fn outputs(&self) -> &[String] {
        &self.outputs
    }

    /// Run one flattened input sample.
    ///
    /// # Errors
    /// [`OnnxError::Input`] for a wrong length, [`OnnxError::Float`] if tract fails.
    pub fn run(&self, sample: usize, input: &[f64]) -> Result<Vec<Vec<f64>>, OnnxError> {
        let expected: usize = self.shape.iter().product();
        if input.len() != expected {
            return Err(OnnxError::Input {
                sample,
                what: format!("{} values given", input.len()),
                expected,
                shape: self.shape.clone(),
            });
        }
        #[allow(clippy::cast_possible_truncation)]
        let data: Vec<f32> = input.iter().map(|&v| v as f32).collect();
        let run = || -> Result<Vec<Vec<f64>>, OnnxError> {
            let t = TractTensor::from_shape(&self.shape, &data).map_err(float_err)?;
            let out = self.plan.run(tvec!(t.into_tvalue())).map_err(float_err)?;
            out.iter()
                .map(|v| {
                    crate::graph::tract_to_const(v)
                        .map(|c| c.data)
                        .ok_or_else(|| float_err("a non-numeric output"))
                })
                .collect()
        };
        catch_unwind(AssertUnwindSafe(run))
            .map_err(|_| float_err("tract panicked while running"))?
    }

    /// The range `[min, max]` of every computed tensor over the samples.
    ///
    /// # Errors
    /// As [`FloatModel::run`].
    pub fn ranges(&self, samples: &[Vec<f64>]) -> Result<BTreeMap<String, [f64; 2]>, OnnxError> {
        let mut ranges: BTreeMap<String, [f64; 2]> = BTreeMap::new();
        for (i, s) in samples.iter().enumerate() {
            for (name, values) in self.outputs.iter().zip(self.run(i, s)?) {
                let r = ranges
                    .entry(name.clone())
                    .or_insert([f64::INFINITY, f64::NEG_INFINITY]);
                for v in values.into_iter().filter(|v| v.is_finite()) {
                    r[0] = r[0].min(v);
                    r[1] = r[1].max(v);
                }
            }
        }
        Ok(ranges)
    }
}
