//! A compiled model: settings, the Program and the quantized weights (the prover's file,
//! `model.zkm`).

use serde::{Deserialize, Serialize};
use zkmlops_tensor::{Program, Tensor, TensorId, Witness};

use crate::{OnnxError, Settings};

/// The salt tensor of a model with committed weights: the first committed tensor.
pub const SALT_NAME: &str = "model/salt";
/// Elements of the salt (one sponge block: 4 x ~63 bits of entropy).
pub const SALT_LEN: usize = 4;

/// Four uniformly random values in `[-2^62, 2^62)` from the operating system (a salt).
///
/// # Errors
/// [`OnnxError::Entropy`] when the operating system's random source fails.
pub fn fresh_salt() -> Result<[i64; SALT_LEN], OnnxError> {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand::rngs::StdRng::try_from_rng(&mut rand::rngs::SysRng)
        .map_err(|_| OnnxError::Entropy)?;
    Ok(core::array::from_fn(|_| {
        rng.random_range(-(1i64 << 62)..(1i64 << 62))
    }))
}

/// Magic bytes of a compiled model file.
pub const MODEL_MAGIC: [u8; 4] = *b"ZKMM";
/// Version of the compiled model format.
pub const MODEL_FORMAT_VERSION: u16 = 1;

/// An ONNX model translated into a Program, with its quantized weights.
///
/// The Program (and its digest) is what a verifier needs; the weights stay with the prover
/// unless their visibility is public.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledModel {
    /// The model's name (the ONNX file stem).
    pub name: String,
    /// The settings it was compiled with (the input shape filled in).
    pub settings: Settings,
    /// The Program.
    pub program: Program,
    /// The model input's tensor.
    pub input: TensorId,
    /// Every weight tensor (a Program input) with its quantized values.
    pub params: Vec<(TensorId, Tensor)>,
    /// The graph outputs' tensors, in ONNX order.
    pub outputs: Vec<TensorId>,
    /// The ONNX file it was compiled from (the float reference for fidelity reports).
    pub onnx: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct File {
    name: String,
    settings: String,
    program: Vec<u8>,
    input: u32,
    params: Vec<(u32, Vec<usize>, Vec<i64>)>,
    outputs: Vec<u32>,
    onnx: Vec<u8>,
}

impl CompiledModel {
    /// The model input's shape.
    #[must_use]
    pub fn input_shape(&self) -> &[usize] {
        self.program
            .tensor(self.input)
            .map_or(&[][..], |d| d.shape.as_slice())
    }

    /// The graph inputs' shapes (one, or each of several in graph order: the flat input is
    /// their concatenation).
    #[must_use]
    pub fn input_shapes(&self) -> Vec<Vec<usize>> {
        self.settings
            .input_shapes
            .clone()
            .unwrap_or_else(|| vec![self.input_shape().to_vec()])
    }

    /// EZKL-layout `input_data` as flat samples for this model ([`crate::group_samples`]).
    ///
    /// # Errors
    /// [`OnnxError::Input`] when the arrays do not come in whole samples.
    pub fn samples(&self, input_data: &[Vec<f64>]) -> Result<Vec<Vec<f64>>, OnnxError> {
        crate::group_samples(&self.input_shapes(), input_data)
    }

    /// Quantize one flattened input sample and evaluate the Program on it.
    ///
    /// # Errors
    /// [`OnnxError::Input`] for a wrong length or a value that does not fit the scale;
    /// [`OnnxError::Evaluate`] when the quantized model overflows.
    pub fn witness(&self, sample: usize, input: &[f64]) -> Result<Witness, OnnxError> {
        let shape = self.input_shape().to_vec();
        // A sample holds every graph input (EZKL's layout), fixed ones too.
        let expected: usize = if self.settings.fixed_inputs.is_empty() {
            shape.iter().product()
        } else {
            self.input_shapes()
                .iter()
                .map(|s| s.iter().product::<usize>())
                .sum()
        };
        let bad = |what: String| OnnxError::Input {
            sample,
            what,
            expected,
            shape: shape.clone(),
        };
        if input.len() != expected {
            return Err(bad(format!("{} values given", input.len())));
        }
        // The fixed inputs' slices, checked, are dropped: they are constants of the Program.
        let kept = self.unfixed(input).map_err(|(name, want, got)| {
            bad(format!(
                "graph input `{name}` was fixed to {want:?} when the model was compiled (a shape the circuit is built for), not {got:?}: compile for these values"
            ))
        })?;
        let input = kept.as_slice();
        let scale = self
            .program
            .tensor(self.input)
            .map(|d| d.scale)
            .ok_or_else(|| bad("the model has no input tensor".into()))?;
        let data = input
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                scale
                    .encode(v)
                    .map_err(|e| bad(format!("value {v} at index {i}: {e}")))
            })
            .collect::<Result<Vec<i64>, _>>()?;
        let x = Tensor::new(shape.clone(), data).map_err(|e| bad(e.to_string()))?;
        let inputs: Vec<Tensor> = self
            .program
            .input_ids()
            .map(|id| {
                if id == self.input {
                    Ok(x.clone())
                } else {
                    self.params
                        .iter()
                        .find(|(p, _)| *p == id)
                        .map(|(_, t)| t.clone())
                        .ok_or_else(|| bad(format!("no values for weight tensor {}", id.0)))
                }
            })
            .collect::<Result<_, _>>()?;
        self.program
            .evaluate(&inputs)
            .map_err(|e| OnnxError::Evaluate {
                sample,
                source: Box::new(e),
            })
    }

    /// `input` (a whole EZKL-layout sample) without the slices of the fixed graph inputs
    /// ([`Settings::fixed_inputs`]): the Program's input. `Err` names the first fixed input
    /// whose slice differs from its fixed values: its name, the fixed values and the given ones.
    #[allow(clippy::type_complexity)]
    fn unfixed(&self, input: &[f64]) -> Result<Vec<f64>, (String, Vec<f64>, Vec<f64>)> {
        if self.settings.fixed_inputs.is_empty() {
            return Ok(input.to_vec());
        }
        let names: Vec<String> = crate::OnnxModel::from_bytes(&self.onnx, &self.name)
            .and_then(|m| m.inputs())
            .map(|ins| ins.into_iter().map(|i| i.name).collect())
            .unwrap_or_default();
        let ranges = crate::graph::input_ranges(&self.input_shapes());
        let mut kept = Vec::with_capacity(input.len());
        for (name, range) in names.iter().zip(ranges) {
            let got = input.get(range).unwrap_or_default();
            match self.settings.fixed_inputs.get(name) {
                None => kept.extend_from_slice(got),
                #[allow(clippy::float_cmp)]
                Some(want) if want.as_slice() != got => {
                    return Err((name.clone(), want.clone(), got.to_vec()));
                }
                Some(_) => {}
            }
        }
        Ok(kept)
    }

    /// The class names of the outputs that carry string class labels (proved as each class's
    /// index in the list), by output name: [`crate::OnnxModel::class_names`] of the model's
    /// ONNX file. Empty when there are none or the file does not parse.
    #[must_use]
    pub fn class_names(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        crate::OnnxModel::from_bytes(&self.onnx, &self.name)
            .map(|m| m.class_names())
            .unwrap_or_default()
    }

    /// The graph outputs of a witness, decoded to real numbers.
    #[must_use]
    pub fn decode_outputs(&self, witness: &Witness) -> Vec<Vec<f64>> {
        self.outputs
            .iter()
            .map(|&id| {
                let scale = self.program.tensor(id).map(|d| d.scale);
                match (witness.get(id), scale) {
                    (Some(t), Some(s)) => t.data().iter().map(|&v| s.decode(v)).collect(),
                    _ => Vec::new(),
                }
            })
            .collect()
    }

    /// The ids of the committed weights (salt first), in id order: group 0 for `committed`
    /// weights, group `G` for `committed:G`.
    fn committed_params(&self) -> Vec<TensorId> {
        let vis = self.settings.param_visibility;
        if !matches!(
            vis,
            zkmlops_tensor::Visibility::Committed | zkmlops_tensor::Visibility::CommittedTo(_)
        ) {
            return Vec::new();
        }
        self.program
            .tensors()
            .iter()
            .enumerate()
            .filter(|(_, d)| d.visibility == vis)
            .map(|(i, _)| TensorId(u32::try_from(i).unwrap_or(u32::MAX)))
            .collect()
    }

    /// The commitment to the committed weights (salt first, then the weights in Program id
    /// order): bound to the Program digest for `committed` weights, a lineage commitment of the
    /// values alone for `committed:G` (what a training run's checkpoint commits, so an exported
    /// model proves under the run's final commitment); `None` when no weight is committed.
    #[must_use]
    pub fn commitment(&self) -> Option<zkmlops_commit::Digest> {
        let committed = self.committed_params();
        if committed.is_empty() {
            return None;
        }
        let tensors: Option<Vec<&[i64]>> = committed
            .iter()
            .map(|id| {
                self.params
                    .iter()
                    .find(|(p, _)| p == id)
                    .map(|(_, t)| t.data())
            })
            .collect();
        let tensors = tensors?;
        Some(
            if self.settings.param_visibility == zkmlops_tensor::Visibility::Committed {
                zkmlops_commit::commit(&self.program, &tensors)
            } else {
                zkmlops_commit::commit_lineage(&tensors)
            },
        )
    }

    /// The salt of the committed weights, if any.
    #[must_use]
    pub fn salt(&self) -> Option<[i64; SALT_LEN]> {
        let id = *self.committed_params().first()?;
        let t = self.params.iter().find(|(p, _)| *p == id)?;
        t.1.data().try_into().ok()
    }

    /// Replace the salt (to reproduce a published commitment).
    ///
    /// # Errors
    /// [`OnnxError::ModelFile`] when the model commits no weights.
    pub fn with_salt(mut self, salt: [i64; SALT_LEN]) -> Result<Self, OnnxError> {
        let id = *self
            .committed_params()
            .first()
            .ok_or(OnnxError::ModelFile {
                what: "the model has no committed weights to salt",
            })?;
        let slot = self
            .params
            .iter_mut()
            .find(|(p, _)| *p == id)
            .ok_or(OnnxError::ModelFile {
                what: "the model has no committed weights to salt",
            })?;
        slot.1 = Tensor::vector(salt.to_vec());
        Ok(self)
    }

    /// The ONNX model it was compiled from.
    ///
    /// # Errors
    /// [`OnnxError::Malformed`] if the embedded bytes do not parse.
    pub fn source(&self) -> Result<crate::OnnxModel, OnnxError> {
        crate::OnnxModel::from_bytes(&self.onnx, &self.name)
    }

    /// The names of the graph outputs.
    #[must_use]
    pub fn output_names(&self) -> Vec<String> {
        self.outputs
            .iter()
            .map(|&id| {
                self.program
                    .tensor(id)
                    .map_or_else(String::new, |d| d.name.clone())
            })
            .collect()
    }

    /// The canonical encoding: `ZKMM`, a little-endian `u16` version, then postcard.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let file = File {
            name: self.name.clone(),
            settings: self.settings.to_json(),
            program: self.program.to_bytes(),
            input: self.input.0,
            params: self
                .params
                .iter()
                .map(|(id, t)| (id.0, t.shape().to_vec(), t.data().to_vec()))
                .collect(),
            outputs: self.outputs.iter().map(|id| id.0).collect(),
            onnx: self.onnx.clone(),
        };
        let mut out = MODEL_MAGIC.to_vec();
        out.extend_from_slice(&MODEL_FORMAT_VERSION.to_le_bytes());
        out.extend(postcard::to_allocvec(&file).unwrap_or_default());
        out
    }

    /// Decode and validate a compiled model.
    ///
    /// # Errors
    /// [`OnnxError::ModelFile`] for a wrong magic, version, trailing bytes or inconsistent
    /// contents; [`OnnxError::ModelProgram`] when the Program does not validate.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, OnnxError> {
        let bad = |what| OnnxError::ModelFile { what };
        let rest = bytes
            .strip_prefix(&MODEL_MAGIC)
            .ok_or(bad("the magic bytes are not `ZKMM`"))?;
        let (version, body) = rest.split_at_checked(2).ok_or(bad("it is truncated"))?;
        if version != MODEL_FORMAT_VERSION.to_le_bytes() {
            return Err(bad("unknown format version"));
        }
        let (file, tail): (File, _) =
            postcard::take_from_bytes(body).map_err(|_| bad("the body does not decode"))?;
        if !tail.is_empty() {
            return Err(bad("trailing bytes after the model"));
        }
        let program = Program::from_bytes(&file.program).map_err(|e| OnnxError::ModelProgram {
            source: Box::new(e),
        })?;
        let settings = Settings::from_json(&file.settings)?;
        let params = file
            .params
            .into_iter()
            .map(|(id, shape, data)| {
                let t =
                    Tensor::new(shape, data).map_err(|_| bad("a weight tensor is malformed"))?;
                let decl = program
                    .tensor(TensorId(id))
                    .ok_or(bad("a weight names no Program tensor"))?;
                if decl.shape != t.shape() {
                    return Err(bad("a weight's shape differs from its declaration"));
                }
                Ok((TensorId(id), t))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let input = TensorId(file.input);
        if program.tensor(input).is_none()
            || file
                .outputs
                .iter()
                .any(|&o| program.tensor(TensorId(o)).is_none())
        {
            return Err(bad("the input or an output names no Program tensor"));
        }
        Ok(CompiledModel {
            name: file.name,
            settings,
            program,
            input,
            params,
            outputs: file.outputs.into_iter().map(TensorId).collect(),
            onnx: file.onnx,
        })
    }
}
