//! The parsed ONNX graph: nodes, attributes and constants, read from tract's protobuf types.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use tract_onnx::pb::{self, NodeProto, TensorProto};
use tract_onnx::prelude::{Framework, Tensor as TractTensor};

use crate::OnnxError;

/// ONNX `TensorProto.DataType` of strings.
const STRING_TYPE: i32 = 8;

/// A constant tensor of the graph (an initializer or a `Constant` node), as `f64`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Const {
    pub(crate) shape: Vec<usize>,
    pub(crate) data: Vec<f64>,
}

impl Const {
    pub(crate) fn numel(&self) -> usize {
        self.data.len()
    }

    /// The values as integers (shapes, axes); `None` when one is not an integer.
    ///
    /// Integers beyond `f64`'s exact range saturate to `i64::MAX` / `i64::MIN`: PyTorch's
    /// exporter writes "to the end" as `INT64_MAX` (`x[:, ::2]`, a reversed `Slice`), which
    /// the `f64` constants hold as `2^63`.
    pub(crate) fn ints(&self) -> Option<Vec<i64>> {
        self.data
            .iter()
            .map(|&v| {
                #[allow(clippy::cast_possible_truncation)]
                let i = v as i64;
                (v.fract() == 0.0 && (v.abs() < 9.0e15 || v.abs() >= 9.2e18)).then_some(i)
            })
            .collect()
    }
}

/// An ONNX model loaded for import: the protobuf and the raw bytes (tract re-reads them for
/// float inference).
#[derive(Debug, Clone)]
pub struct OnnxModel {
    pub(crate) proto: pb::ModelProto,
    pub(crate) bytes: Vec<u8>,
    pub(crate) name: String,
}

impl OnnxModel {
    /// Read and parse an ONNX file.
    ///
    /// # Errors
    /// [`OnnxError::Io`], or [`OnnxError::Malformed`] when the bytes are not ONNX.
    pub fn from_path(path: &Path) -> Result<Self, OnnxError> {
        let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned());
        Self::from_bytes(&bytes, &name)
    }

    /// Parse ONNX bytes; `name` names the model in reports.
    ///
    /// # Errors
    /// [`OnnxError::Malformed`] when the bytes are not ONNX (or have no graph).
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<Self, OnnxError> {
        let parsed = catch_unwind(AssertUnwindSafe(|| {
            tract_onnx::onnx().proto_model_for_read(&mut &bytes[..])
        }));
        let proto = match parsed {
            Ok(Ok(p)) => p,
            Ok(Err(e)) => return Err(OnnxError::Malformed { source: e.into() }),
            Err(_) => {
                return Err(OnnxError::Malformed {
                    source: "the protobuf decoder panicked".into(),
                });
            }
        };
        if proto.graph.is_none() {
            return Err(OnnxError::Malformed {
                source: "the model has no graph".into(),
            });
        }
        Ok(OnnxModel {
            proto,
            bytes: bytes.to_vec(),
            name: name.into(),
        })
    }

    /// The model's name (the file stem).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn graph(&self) -> &pb::GraphProto {
        // `from_bytes` refuses a model without a graph.
        static EMPTY: std::sync::OnceLock<pb::GraphProto> = std::sync::OnceLock::new();
        self.proto
            .graph
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(pb::GraphProto::default))
    }

    /// The default-domain opset version (0 when unspecified).
    pub(crate) fn opset(&self) -> i64 {
        self.proto
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(0, |o| o.version)
    }

    /// Every initializer as a constant; a string tensor as the positions `0..n` of its
    /// elements (its names in [`OnnxModel::string_initializers`]): the importer lets only an
    /// `ArrayFeatureExtractor` read it, which then picks class indices.
    pub(crate) fn initializers(&self) -> Result<HashMap<String, Const>, OnnxError> {
        self.graph()
            .initializer
            .iter()
            .map(|t| {
                if t.data_type == STRING_TYPE {
                    let shape: Vec<usize> = t
                        .dims
                        .iter()
                        .map(|&d| usize::try_from(d).unwrap_or(0))
                        .collect();
                    let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
                    if n != Some(t.string_data.len()) {
                        return Err(OnnxError::Constant {
                            name: t.name.clone(),
                            what: "its strings do not fill its shape",
                        });
                    }
                    #[allow(clippy::cast_precision_loss)]
                    let positions = Const {
                        shape,
                        data: (0..t.string_data.len()).map(|i| i as f64).collect(),
                    };
                    return Ok((t.name.clone(), positions));
                }
                Ok((t.name.clone(), tensor_const(t, &t.name)?))
            })
            .collect()
    }

    /// The string initializers: name and elements (row-major).
    pub(crate) fn string_initializers(&self) -> HashMap<String, Vec<String>> {
        self.graph()
            .initializer
            .iter()
            .filter(|t| t.data_type == STRING_TYPE)
            .map(|t| {
                let names = t
                    .string_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect();
                (t.name.clone(), names)
            })
            .collect()
    }

    /// The class names of the graph outputs that carry string class labels, by output name.
    ///
    /// A proof's outputs are numbers, so a classifier's string label (`classlabels_strings`
    /// of `TreeEnsembleClassifier`, `LinearClassifier` or `SVMClassifier`, or a string class
    /// list an `ArrayFeatureExtractor` picks from, as skl2onnx writes MLPs and naive Bayes) is
    /// proved as the class's index in that list; this says which name each index stands for.
    /// Followed through `Identity`, `Reshape`, `Cast`, `Squeeze`, `Unsqueeze` and `Flatten`.
    ///
    /// ```
    /// # fn main() -> Result<(), zkmlops_onnx::OnnxError> {
    /// let model = zkmlops_onnx::OnnxModel::from_path("tests/models/iris_string_labels.onnx".as_ref())?;
    /// let names = model.class_names();
    /// assert_eq!(names["label"], ["setosa", "versicolor", "virginica"]);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn class_names(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let by_tensor = self.class_names_by_tensor();
        self.output_names()
            .into_iter()
            .filter_map(|o| by_tensor.get(&o).map(|n| (o.clone(), n.clone())))
            .collect()
    }

    /// [`OnnxModel::class_names`] of every tensor that carries string class labels.
    pub(crate) fn class_names_by_tensor(&self) -> HashMap<String, Vec<String>> {
        let strings = self.string_initializers();
        let mut by_tensor: HashMap<String, Vec<String>> = HashMap::new();
        for node in &self.graph().node {
            let first_input = node.input.first().map(String::as_str).unwrap_or_default();
            let names = match node.op_type.as_str() {
                "TreeEnsembleClassifier" | "LinearClassifier" | "SVMClassifier" => {
                    let names: Vec<String> = node
                        .attr("classlabels_strings")
                        .map(|a| {
                            a.strings
                                .iter()
                                .map(|s| String::from_utf8_lossy(s).into_owned())
                                .collect()
                        })
                        .unwrap_or_default();
                    (!names.is_empty()).then_some(names)
                }
                "ArrayFeatureExtractor" => strings.get(first_input).cloned(),
                "Identity" | "Reshape" | "Cast" | "Squeeze" | "Unsqueeze" | "Flatten" => {
                    by_tensor.get(first_input).cloned()
                }
                _ => None,
            };
            if let (Some(names), Some(out)) = (names, node.output.first()) {
                by_tensor.insert(out.clone(), names);
            }
        }
        by_tensor
    }

    /// The graph's real inputs (not initializers), in order: name, declared shape (symbolic
    /// dimensions read as 1) and element type (ONNX `TensorProto.DataType`, 1 for float).
    ///
    /// Empty for a model of constants only (it imports with an empty flat input).
    ///
    /// # Errors
    /// The model's, when its graph cannot be read.
    pub fn inputs(&self) -> Result<Vec<GraphInput>, OnnxError> {
        let g = self.graph();
        let inits: std::collections::HashSet<&str> =
            g.initializer.iter().map(|t| t.name.as_str()).collect();
        let real: Vec<GraphInput> = g
            .input
            .iter()
            .filter(|i| !inits.contains(i.name.as_str()))
            .map(|i| GraphInput {
                name: i.name.clone(),
                shape: declared_shape(i),
                dynamic: dynamic_dims(i),
                elem_type: elem_type(i),
            })
            .collect();
        Ok(real)
    }

    /// The model's input as zkmlops sees it: the graph's one input, or, for a model with
    /// several or none, one flat input [`COMBINED_INPUT`] of all of them concatenated in graph
    /// order (EZKL's `input_data` layout, flattened; empty, shape `[0]`, for a model of
    /// constants only): its name and shape.
    ///
    /// # Errors
    /// The model's, when its graph cannot be read.
    pub fn input(&self) -> Result<(String, Vec<usize>), OnnxError> {
        let ins = self.inputs()?;
        Ok(match ins.as_slice() {
            [one] => (one.name.clone(), one.shape.clone()),
            // No graph input: an empty flat input (`input_data: [[]]`).
            many => (
                COMBINED_INPUT.into(),
                vec![many.iter().map(|i| i.shape.iter().product::<usize>()).sum()],
            ),
        })
    }

    /// The graph's output names.
    #[must_use]
    pub fn output_names(&self) -> Vec<String> {
        self.graph().output.iter().map(|o| o.name.clone()).collect()
    }
}

/// One graph input of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphInput {
    /// Its name.
    pub name: String,
    /// Its declared shape (symbolic dimensions read as 1).
    pub shape: Vec<usize>,
    /// Which dimensions are symbolic (a name such as `batch`, or no value): the ones
    /// [`infer_input_shapes`] may read from the data.
    pub dynamic: Vec<bool>,
    /// ONNX element type (1 float, 7 int64, 9 bool, ...).
    pub elem_type: i32,
}

/// The name of the flat input of a model with several graph inputs.
pub const COMBINED_INPUT: &str = "inputs";

/// The range each graph input (of these shapes, in graph order) takes in one flat sample.
pub(crate) fn input_ranges(shapes: &[Vec<usize>]) -> Vec<std::ops::Range<usize>> {
    let mut offset = 0;
    shapes
        .iter()
        .map(|shape| {
            let n: usize = shape.iter().product();
            offset += n;
            offset - n..offset
        })
        .collect()
}

/// Group EZKL-layout `input_data` into flat samples for a model whose graph inputs have
/// `shapes`: one input -> each entry is a sample; `k` inputs -> every `k` consecutive entries
/// (input 0, input 1, ...) are one sample, concatenated; no input -> `[]` is one empty sample
/// (as is each empty entry).
///
/// # Errors
/// [`OnnxError::Input`] when the entries do not come in whole groups of the right lengths.
pub fn group_samples(
    shapes: &[Vec<usize>],
    input_data: &[Vec<f64>],
) -> Result<Vec<Vec<f64>>, OnnxError> {
    let k = shapes.len();
    if k == 0 {
        // No graph input: `[]` is one sample of nothing; so is each empty array.
        if input_data.is_empty() {
            return Ok(vec![Vec::new()]);
        }
        if let Some((j, a)) = input_data.iter().enumerate().find(|(_, a)| !a.is_empty()) {
            return Err(OnnxError::Input {
                sample: j,
                what: format!("{} values for a model without graph inputs", a.len()),
                expected: 0,
                shape: vec![0],
            });
        }
        return Ok(input_data.to_vec());
    }
    if k == 1 {
        return Ok(input_data.to_vec());
    }
    let total: usize = shapes.iter().map(|s| s.iter().product::<usize>()).sum();
    if input_data.is_empty() || !input_data.len().is_multiple_of(k) {
        return Err(OnnxError::Input {
            sample: 0,
            what: format!(
                "{} arrays in input_data; a model with {k} graph inputs takes {k} per sample",
                input_data.len()
            ),
            expected: total,
            shape: vec![total],
        });
    }
    input_data
        .chunks(k)
        .enumerate()
        .map(|(j, group)| {
            let mut flat = Vec::with_capacity(total);
            for (i, (part, shape)) in group.iter().zip(shapes).enumerate() {
                let n: usize = shape.iter().product();
                if part.len() != n {
                    return Err(OnnxError::Input {
                        sample: j,
                        what: format!("graph input #{i} has {} values", part.len()),
                        expected: n,
                        shape: shape.clone(),
                    });
                }
                flat.extend_from_slice(part);
            }
            Ok(flat)
        })
        .collect()
}

fn elem_type(v: &pb::ValueInfoProto) -> i32 {
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t.elem_type,
        _ => 1,
    }
}

/// Concrete input shapes read from the first sample of EZKL-layout `input_data`: for every
/// graph input with exactly one symbolic dimension, that dimension is the input's array
/// length divided by the product of the others (when it divides); other inputs keep their
/// declared shape. `None` when no dimension changes (nothing symbolic, or the data agree with
/// the declared shapes), so a caller's shapes stay the declared ones.
///
/// ```
/// use zkmlops_onnx::{GraphInput, infer_input_shapes};
/// // `[batch, 4]` given 8 rows of 4 values.
/// let input = GraphInput {
///     name: "x".into(),
///     shape: vec![1, 4],
///     dynamic: vec![true, false],
///     elem_type: 1,
/// };
/// let data = vec![vec![0.5; 32]];
/// assert_eq!(infer_input_shapes(&[input.clone()], &data), Some(vec![vec![8, 4]]));
/// // An empty array makes the symbolic dimension 0 (ONNX's empty `axes` input, declared
/// // with a size of 0, which reads as symbolic).
/// let axes = GraphInput {
///     name: "axes".into(),
///     shape: vec![1],
///     dynamic: vec![true],
///     elem_type: 7,
/// };
/// let data = vec![vec![0.5; 32], vec![]];
/// assert_eq!(
///     infer_input_shapes(&[input, axes], &data),
///     Some(vec![vec![8, 4], vec![0]])
/// );
/// ```
#[must_use]
pub fn infer_input_shapes(
    inputs: &[GraphInput],
    input_data: &[Vec<f64>],
) -> Option<Vec<Vec<usize>>> {
    if inputs.is_empty() || input_data.len() < inputs.len() {
        return None;
    }
    let shapes: Vec<Vec<usize>> = inputs
        .iter()
        .zip(input_data)
        .map(|(g, values)| {
            let symbolic: Vec<usize> = g
                .dynamic
                .iter()
                .enumerate()
                .filter(|(_, d)| **d)
                .map(|(i, _)| i)
                .collect();
            let mut shape = g.shape.clone();
            if let [at] = symbolic.as_slice() {
                let rest: usize = shape
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i != at)
                    .map(|(_, d)| *d)
                    .product();
                // An empty array sets the one symbolic dimension to 0 (ONNX's empty `axes`
                // input: reduce over every axis).
                if rest > 0
                    && values.len().is_multiple_of(rest)
                    && let Some(d) = shape.get_mut(*at)
                {
                    *d = values.len() / rest;
                }
            }
            shape
        })
        .collect();
    let changed = shapes.iter().zip(inputs).any(|(s, g)| *s != g.shape);
    changed.then_some(shapes)
}

/// A value's declared dimensions: `Some(n)` for a positive size, `None` for a symbolic or
/// missing one.
fn declared_dims(v: &pb::ValueInfoProto) -> Vec<Option<usize>> {
    use pb::tensor_shape_proto::dimension::Value;
    let Some(pb::type_proto::Value::TensorType(t)) =
        v.r#type.as_ref().and_then(|t| t.value.as_ref())
    else {
        return Vec::new();
    };
    t.shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(Value::DimValue(n)) if n > 0 => usize::try_from(n).ok(),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn dynamic_dims(v: &pb::ValueInfoProto) -> Vec<bool> {
    declared_dims(v).iter().map(Option::is_none).collect()
}

fn declared_shape(v: &pb::ValueInfoProto) -> Vec<usize> {
    declared_dims(v).iter().map(|d| d.unwrap_or(1)).collect()
}

/// Read a `TensorProto` (float, double or integer) as `f64` values.
pub(crate) fn tensor_const(t: &TensorProto, name: &str) -> Result<Const, OnnxError> {
    let err = |what| OnnxError::Constant {
        name: name.into(),
        what,
    };
    let loaded = catch_unwind(AssertUnwindSafe(|| {
        tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::MmapDataResolver, t, None)
    }))
    .map_err(|_| err("tract could not decode it"))?
    .map_err(|_| err("tract could not decode it (external data is not supported)"))?;
    tract_to_const(&loaded).ok_or_else(|| err("its element type is not a number"))
}

pub(crate) fn tract_to_const(t: &TractTensor) -> Option<Const> {
    let cast = t.cast_to::<f64>().ok()?;
    let view = cast.to_plain_array_view::<f64>().ok()?;
    Some(Const {
        shape: t.shape().to_vec(),
        data: view.iter().copied().collect(),
    })
}

/// Attribute readers over a node.
pub(crate) trait Attrs {
    fn attr(&self, name: &str) -> Option<&pb::AttributeProto>;
    fn int(&self, name: &str) -> Option<i64> {
        self.attr(name).map(|a| a.i)
    }
    fn float(&self, name: &str) -> Option<f32> {
        self.attr(name).map(|a| a.f)
    }
    fn ints(&self, name: &str) -> Option<Vec<i64>> {
        self.attr(name).map(|a| a.ints.clone())
    }
    fn string(&self, name: &str) -> Option<String> {
        self.attr(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }
}

impl Attrs for NodeProto {
    fn attr(&self, name: &str) -> Option<&pb::AttributeProto> {
        self.attribute.iter().find(|a| a.name == name)
    }
}
