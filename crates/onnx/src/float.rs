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
    /// The flat input's shape (`[total]` for several graph inputs).
    shape: Vec<usize>,
    /// Each graph input: shape and ONNX element type.
    parts: Vec<(Vec<usize>, i32)>,
    outputs: Vec<String>,
    /// Per output, the class names of a string label (read as each name's index, as the
    /// Program proves it: [`OnnxModel::class_names`]).
    classes: Vec<Option<Vec<String>>>,
}

/// How tract is fed an input of ONNX element type `t`.
enum Kind {
    Float,
    Int,
    Bool,
}

fn kind(t: i32) -> Kind {
    match t {
        9 => Kind::Bool,
        2..=7 | 12 | 13 => Kind::Int,
        _ => Kind::Float,
    }
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
    /// with `all_tensors`, every node output, for calibration). A model with several graph
    /// inputs takes their declared shapes (`shape` is then the flat `[total]`).
    ///
    /// # Errors
    /// [`OnnxError::Float`] when tract cannot type or optimise the model.
    pub fn new(model: &OnnxModel, shape: &[usize], all_tensors: bool) -> Result<Self, OnnxError> {
        let ins = model.inputs()?;
        let shapes: Vec<Vec<usize>> = if ins.len() == 1 {
            vec![shape.to_vec()]
        } else {
            ins.iter().map(|i| i.shape.clone()).collect()
        };
        Self::with_shapes(model, &shapes, all_tensors)
    }

    /// As [`FloatModel::new`], with each graph input's shape given.
    ///
    /// # Errors
    /// [`OnnxError::Float`] when tract cannot type or optimise the model, or the shapes are not
    /// one per graph input.
    pub fn with_shapes(
        model: &OnnxModel,
        shapes: &[Vec<usize>],
        all_tensors: bool,
    ) -> Result<Self, OnnxError> {
        let ins = model.inputs()?;
        if ins.len() != shapes.len() {
            return Err(float_err(format!(
                "{} input shapes for {} graph inputs",
                shapes.len(),
                ins.len()
            )));
        }
        let parts: Vec<(Vec<usize>, i32)> = shapes
            .iter()
            .zip(&ins)
            .map(|(s, i)| (s.clone(), i.elem_type))
            .collect();
        let build = || -> Result<(Arc<TypedRunnableModel>, Vec<String>), OnnxError> {
            let mut m = tract_onnx::onnx()
                .model_for_read(&mut &model.bytes[..])
                .map_err(float_err)?;
            for (i, (s, t)) in parts.iter().enumerate() {
                let fact = match kind(*t) {
                    Kind::Float => f32::fact(s).into(),
                    Kind::Int => i64::fact(s).into(),
                    Kind::Bool => bool::fact(s).into(),
                };
                m = m.with_input_fact(i, fact).map_err(float_err)?;
            }
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
        let shape = match parts.as_slice() {
            [(s, _)] => s.clone(),
            many => vec![many.iter().map(|(s, _)| s.iter().product::<usize>()).sum()],
        };
        let by_tensor = model.class_names_by_tensor();
        let classes = outputs.iter().map(|o| by_tensor.get(o).cloned()).collect();
        Ok(FloatModel {
            plan,
            shape,
            parts,
            outputs,
            classes,
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
        let run = || -> Result<Vec<Vec<f64>>, OnnxError> {
            let mut feeds = tvec!();
            let mut offset = 0;
            for (s, t) in &self.parts {
                let n: usize = s.iter().product();
                let part = input
                    .get(offset..offset + n)
                    .ok_or_else(|| float_err("an input shorter than its shapes"))?;
                offset += n;
                #[allow(clippy::cast_possible_truncation)]
                let tensor = match kind(*t) {
                    Kind::Float => {
                        let d: Vec<f32> = part.iter().map(|&v| v as f32).collect();
                        TractTensor::from_shape(s, &d)
                    }
                    Kind::Int => {
                        let d: Vec<i64> = part.iter().map(|&v| v.round() as i64).collect();
                        TractTensor::from_shape(s, &d)
                    }
                    Kind::Bool => {
                        let d: Vec<bool> = part.iter().map(|&v| v != 0.0).collect();
                        TractTensor::from_shape(s, &d)
                    }
                }
                .map_err(float_err)?;
                feeds.push(tensor.into_tvalue());
            }
            let out = self.plan.run(feeds).map_err(float_err)?;
            out.iter()
                .zip(&self.classes)
                .map(|(v, classes)| {
                    if let (Ok(labels), Some(classes)) =
                        (v.to_plain_array_view::<String>(), classes)
                    {
                        #[allow(clippy::cast_precision_loss)]
                        return labels
                            .iter()
                            .map(|l| {
                                classes
                                    .iter()
                                    .position(|c| c == l)
                                    .map(|i| i as f64)
                                    .ok_or_else(|| {
                                        float_err(format!(
                                            "a class label `{l}` not in the class list"
                                        ))
                                    })
                            })
                            .collect();
                    }
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
        // A tensor with no finite value (an attention mask of `-inf`s) has no range: JSON
        // cannot hold the infinities the settings would otherwise record.
        ranges.retain(|_, [lo, hi]| lo <= hi);
        Ok(ranges)
    }
}
