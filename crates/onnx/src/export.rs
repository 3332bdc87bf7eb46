//! Writing dense networks as ONNX (`zkmlops train export`): a trained model leaves zkmlops in
//! the standard format, and comes back through the importer with its weights exactly as
//! trained.
//!
//! The graph is `x [1, in] -> (MatMul W_k -> Add b_k -> Relu)* -> MatMul W_last -> Add b_last
//! -> head`, opset 13, float32 weights. Weights given as fixed-point integers at `2^s` are
//! written as `q / 2^s`, exact in float32 for `|q| < 2^24`, so importing at scale `s` gives
//! back the same integers: with `param_visibility = committed:1` the importer commits
//! `salt, W_0, b_0, W_1, b_1, ...`, the layout of a training run's checkpoint.

use prost::Message as _;
use tract_onnx::pb;

use crate::OnnxError;

/// One dense layer: `y = x W + b`, weights row-major `[inputs, outputs]`.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer {
    /// Input width.
    pub inputs: usize,
    /// Output width.
    pub outputs: usize,
    /// `W`, row-major `[inputs, outputs]`, fixed point at the export scale.
    pub weights: Vec<i64>,
    /// `b`, `[outputs]`, fixed point at the export scale.
    pub bias: Vec<i64>,
}

/// What follows the last layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Head {
    /// Nothing (regression, or logits).
    Identity,
    /// The logistic function (a binary classifier's probability).
    Sigmoid,
    /// Softmax over the outputs (class probabilities).
    Softmax,
}

fn attr_int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto {
        name: name.into(),
        r#type: pb::attribute_proto::AttributeType::Int as i32,
        i: v,
        ..Default::default()
    }
}

fn node(op: &str, name: &str, inputs: &[&str], output: &str) -> pb::NodeProto {
    pb::NodeProto {
        input: inputs.iter().map(|s| (*s).to_string()).collect(),
        output: vec![output.into()],
        name: name.into(),
        op_type: op.into(),
        ..Default::default()
    }
}

fn value_info(name: &str, dims: &[usize]) -> pb::ValueInfoProto {
    let dim = dims
        .iter()
        .map(|&d| pb::tensor_shape_proto::Dimension {
            value: Some(pb::tensor_shape_proto::dimension::Value::DimValue(
                i64::try_from(d).unwrap_or(i64::MAX),
            )),
            ..Default::default()
        })
        .collect();
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: pb::tensor_proto::DataType::Float as i32,
                shape: Some(pb::TensorShapeProto { dim }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn tensor(
    name: &str,
    dims: &[usize],
    values: &[i64],
    unit: f64,
) -> Result<pb::TensorProto, OnnxError> {
    if let Some(v) = values.iter().find(|v| v.unsigned_abs() >= 1 << 24) {
        return Err(OnnxError::SettingRange {
            name: "export",
            value: format!("weight {v} in {name}"),
            allowed: "|q| < 2^24 (exact in float32)",
        });
    }
    Ok(pb::TensorProto {
        dims: dims
            .iter()
            .map(|&d| i64::try_from(d).unwrap_or(i64::MAX))
            .collect(),
        data_type: pb::tensor_proto::DataType::Float as i32,
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        float_data: values.iter().map(|&q| (q as f64 / unit) as f32).collect(),
        name: name.into(),
        ..Default::default()
    })
}

/// The ONNX bytes of a dense network with ReLU between layers, weights at `2^scale_bits`;
/// `metadata` goes to the model's `metadata_props` (provenance: the training run's
/// commitment, its scale).
///
/// # Errors
/// [`OnnxError::SettingRange`] for no layer, widths that do not chain, weight counts that do
/// not match the widths, or a weight that float32 cannot hold exactly.
pub fn dense_network(
    name: &str,
    layers: &[DenseLayer],
    head: Head,
    scale_bits: u32,
    metadata: &[(&str, String)],
) -> Result<Vec<u8>, OnnxError> {
    let bad = |value: String, allowed: &'static str| OnnxError::SettingRange {
        name: "export",
        value,
        allowed,
    };
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return Err(bad("no layer".into(), "at least one dense layer"));
    };
    let unit = f64::from(1u32 << scale_bits.min(30));
    let mut nodes = Vec::new();
    let mut initializers = Vec::new();
    let mut h = "x".to_string();
    for (k, l) in layers.iter().enumerate() {
        if l.weights.len() != l.inputs * l.outputs || l.bias.len() != l.outputs {
            return Err(bad(
                format!(
                    "layer {k}: {} weights and {} biases for {} x {}",
                    l.weights.len(),
                    l.bias.len(),
                    l.inputs,
                    l.outputs
                ),
                "inputs x outputs weights and one bias per output",
            ));
        }
        if k > 0 && layers.get(k - 1).map(|p| p.outputs) != Some(l.inputs) {
            return Err(bad(
                format!("layer {k} takes {} inputs", l.inputs),
                "each layer's inputs = the previous layer's outputs",
            ));
        }
        let (w, b) = (format!("W{k}"), format!("b{k}"));
        initializers.push(tensor(&w, &[l.inputs, l.outputs], &l.weights, unit)?);
        initializers.push(tensor(&b, &[l.outputs], &l.bias, unit)?);
        let mm = format!("layer{k}/matmul");
        nodes.push(node("MatMul", &mm, &[&h, &w], &mm));
        // The last layer of a head-less network writes the output itself.
        let last_identity = k + 1 == layers.len() && head == Head::Identity;
        let z = if last_identity {
            "y".to_string()
        } else {
            format!("layer{k}/z")
        };
        nodes.push(node("Add", &z, &[&mm, &b], &z));
        h = z;
        if k + 1 < layers.len() {
            let r = format!("layer{k}/relu");
            nodes.push(node("Relu", &r, &[&h], &r));
            h = r;
        }
    }
    let out = "y";
    match head {
        Head::Identity => {}
        Head::Sigmoid => nodes.push(node("Sigmoid", "head", &[&h], out)),
        Head::Softmax => {
            let mut n = node("Softmax", "head", &[&h], out);
            n.attribute.push(attr_int("axis", -1));
            nodes.push(n);
        }
    }
    let model = pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto {
            domain: String::new(),
            version: 13,
        }],
        producer_name: "zkmlops".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        graph: Some(pb::GraphProto {
            node: nodes,
            name: name.into(),
            initializer: initializers,
            input: vec![value_info("x", &[1, first.inputs])],
            output: vec![value_info(out, &[1, last.outputs])],
            ..Default::default()
        }),
        metadata_props: metadata
            .iter()
            .map(|(k, v)| pb::StringStringEntryProto {
                key: (*k).to_string(),
                value: v.clone(),
            })
            .collect(),
        ..Default::default()
    };
    Ok(model.encode_to_vec())
}
