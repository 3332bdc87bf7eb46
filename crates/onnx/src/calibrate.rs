//! Scale calibration and the fidelity report: quantized outputs against tract's float ones.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zkmlops_proof::Backend;

use crate::{CompiledModel, FloatModel, OnnxError, OnnxModel, Settings};

/// Fidelity of one graph output over the samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFidelity {
    /// The output's name.
    pub name: String,
    /// Largest `|quantized - float|` over all samples and elements.
    pub max_abs_error: f64,
    /// Mean `|quantized - float|`.
    pub mean_abs_error: f64,
    /// Samples whose quantized and float argmax agree (outputs with more than one element).
    pub argmax_agreement: Option<usize>,
}

/// Quantized against float outputs over a set of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FidelityReport {
    /// The scale the model was compiled at, in bits.
    pub scale_bits: u32,
    /// Number of samples.
    pub samples: usize,
    /// One entry per graph output.
    pub outputs: Vec<OutputFidelity>,
}

fn argmax(v: &[f64]) -> Option<usize> {
    v.iter()
        .enumerate()
        .fold(None, |best: Option<(usize, f64)>, (i, &x)| match best {
            Some((_, b)) if b >= x => best,
            _ => Some((i, x)),
        })
        .map(|(i, _)| i)
}

/// Compare `model`'s quantized outputs with the float model's on every sample.
///
/// # Errors
/// [`OnnxError::NoSamples`], [`OnnxError::OutputSize`] when an output's size differs from the
/// float model's, or the errors of quantized evaluation and float inference.
pub fn fidelity(
    model: &CompiledModel,
    float: &FloatModel,
    samples: &[Vec<f64>],
) -> Result<FidelityReport, OnnxError> {
    if samples.is_empty() {
        return Err(OnnxError::NoSamples);
    }
    let names = model.output_names();
    let mut outputs: Vec<OutputFidelity> = names
        .iter()
        .map(|n| OutputFidelity {
            name: n.clone(),
            max_abs_error: 0.0,
            mean_abs_error: 0.0,
            argmax_agreement: None,
        })
        .collect();
    let mut counts = vec![0usize; outputs.len()];
    for (i, s) in samples.iter().enumerate() {
        let q = model.decode_outputs(&model.witness(i, s)?);
        let f = float.run(i, s)?;
        for (((o, qk), fk), count) in outputs.iter_mut().zip(&q).zip(&f).zip(&mut counts) {
            if qk.len() != fk.len() {
                return Err(OnnxError::OutputSize {
                    output: o.name.clone(),
                    quantized: qk.len(),
                    float: fk.len(),
                });
            }
            for (a, b) in qk.iter().zip(fk) {
                let e = (a - b).abs();
                o.max_abs_error = o.max_abs_error.max(e);
                o.mean_abs_error += e;
                *count += 1;
            }
            if qk.len() > 1 {
                let agree = usize::from(argmax(qk) == argmax(fk));
                o.argmax_agreement = Some(o.argmax_agreement.unwrap_or(0) + agree);
            }
        }
    }
    for (o, n) in outputs.iter_mut().zip(counts) {
        #[allow(clippy::cast_precision_loss)]
        let n = n.max(1) as f64;
        o.mean_abs_error /= n;
    }
    Ok(FidelityReport {
        scale_bits: model.settings.scale_bits,
        samples: samples.len(),
        outputs,
    })
}

/// The outcome of calibration.
#[derive(Debug, Clone)]
pub struct Calibration {
    /// The chosen settings (scale and recorded ranges).
    pub settings: Settings,
    /// The model compiled with them.
    pub model: CompiledModel,
    /// Its fidelity over the calibration samples.
    pub report: FidelityReport,
}

/// Fix every graph input that a node needs as a constant (a shape, axes, indices, or a weight
/// such as `Resize` scales: [`OnnxError::NeedsConstant`]) to its values in `sample` (one flat
/// sample in EZKL's layout), in [`Settings::fixed_inputs`], so the model compiles to a circuit
/// for those values: they become constants of the Program, public to the verifier. When the
/// tensor a node needs is computed (a trip count or pads inside a function body), the graph
/// inputs it is computed from are fixed. Settings that already compile, or fail for another
/// reason, come back unchanged (apart from what was fixed).
///
/// # Errors
/// The model's errors. An integer input holding a fraction, or a non-finite value, is not
/// fixed: the compile error it causes stands.
pub fn fix_constant_inputs(
    onnx: &OnnxModel,
    settings: &Settings,
    sample: &[f64],
) -> Result<Settings, OnnxError> {
    let inputs = onnx.inputs()?;
    // A model's only input is fixed only when it is an integer or boolean tensor (a size or a
    // shape whose value decides the output's shape); a lone float input stays the input.
    let lone = inputs.len() < 2;
    let shapes: Vec<Vec<usize>> = settings
        .input_shapes
        .clone()
        .unwrap_or_else(|| inputs.iter().map(|i| i.shape.clone()).collect());
    let ranges = crate::graph::input_ranges(&shapes);
    let mut s = settings.clone();
    for _ in 0..inputs.len() {
        // Probed at the coarsest scale, where tables are smallest: which inputs must be
        // constant does not depend on the scale.
        let probe = Settings {
            scale_bits: 1,
            param_scale_bits: None,
            ..s.clone()
        };
        let Err(OnnxError::NeedsConstant { input, .. }) = crate::compile(onnx, &probe) else {
            break;
        };
        // The input itself, or, for a tensor computed from graph inputs (a trip count or
        // pads computed inside a function body), every graph input it is computed from.
        let wanted: Vec<usize> = match inputs.iter().position(|g| g.name == input) {
            Some(at) => vec![at],
            None => {
                let names = upstream_graph_inputs(onnx, &input);
                inputs
                    .iter()
                    .enumerate()
                    .filter(|(_, g)| names.contains(&g.name))
                    .map(|(at, _)| at)
                    .collect()
            }
        };
        let mut progress = false;
        for at in wanted {
            let Some(graph_input) = inputs.get(at) else {
                continue;
            };
            // ONNX `TensorProto.DataType` BOOL is 9. Integer and boolean inputs must hold
            // integers; a float input (a weight a node needs as a constant) is fixed as it is.
            let t = graph_input.elem_type;
            let integral = crate::import::is_integer_type(t) || t == 9;
            if lone && !integral {
                continue;
            }
            let range = ranges.get(at).cloned().unwrap_or_default();
            let n = range.len();
            let values = sample.get(range).unwrap_or_default();
            if s.fixed_inputs.contains_key(&graph_input.name)
                || values.len() != n
                || values
                    .iter()
                    .any(|v| !v.is_finite() || (integral && v.fract() != 0.0))
            {
                continue;
            }
            s.fixed_inputs
                .insert(graph_input.name.clone(), values.to_vec());
            progress = true;
        }
        if !progress {
            break;
        }
    }
    Ok(s)
}

/// Every node of `nodes` and of the subgraphs (`If` branches, `Loop`/`Scan` bodies) inside
/// them, at any depth.
fn all_nodes<'a>(
    nodes: &'a [tract_onnx::pb::NodeProto],
    into: &mut Vec<&'a tract_onnx::pb::NodeProto>,
) {
    for n in nodes {
        into.push(n);
        for a in &n.attribute {
            for g in a.g.iter().chain(&a.graphs) {
                all_nodes(&g.node, into);
            }
        }
    }
}

/// The graph inputs `tensor` is computed from (through the graph's nodes, subgraphs included:
/// a node inside an `If` branch reads the outer graph's tensors by name; `Shape` and `Size`
/// read only a shape, which is known at import, so the walk stops there).
fn upstream_graph_inputs(onnx: &OnnxModel, tensor: &str) -> std::collections::HashSet<String> {
    let g = onnx.graph();
    let mut nodes = Vec::new();
    all_nodes(&g.node, &mut nodes);
    let producers: std::collections::HashMap<&str, &tract_onnx::pb::NodeProto> = nodes
        .into_iter()
        .flat_map(|n| n.output.iter().map(move |o| (o.as_str(), n)))
        .collect();
    let inputs: std::collections::HashSet<&str> = g.input.iter().map(|i| i.name.as_str()).collect();
    let mut found = std::collections::HashSet::new();
    let mut seen = std::collections::HashSet::new();
    let mut todo = vec![tensor];
    while let Some(t) = todo.pop() {
        if t.is_empty() || !seen.insert(t) {
            continue;
        }
        if inputs.contains(t) {
            found.insert(t.to_string());
        } else if let Some(n) = producers.get(t)
            && !matches!(n.op_type.as_str(), "Shape" | "Size")
        {
            todo.extend(n.input.iter().map(String::as_str));
            // An `If` or `Loop` computes its outputs in its subgraphs, which read outer
            // tensors by name.
            let mut inner = Vec::new();
            for a in &n.attribute {
                for sub in a.g.iter().chain(&a.graphs) {
                    all_nodes(&sub.node, &mut inner);
                }
            }
            todo.extend(
                inner
                    .iter()
                    .flat_map(|m| m.input.iter().map(String::as_str)),
            );
        }
    }
    found
}

/// Whether `program` has a lookup table.
fn has_table(program: &zkmlops_tensor::Program) -> bool {
    program
        .nodes()
        .iter()
        .any(|n| matches!(n.op, zkmlops_tensor::Op::Lookup(_)))
}

/// The scales calibration may choose: at most `max_bits`, and at most `table_bits` for a
/// Program with a lookup table (a table's rows grow with the scale, and with them the proving
/// cost; a Program without tables proves at any scale for the same cost).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleLimits {
    /// The highest scale tried, in bits.
    pub max_bits: u32,
    /// The highest scale accepted for a Program with a lookup table, in bits.
    pub table_bits: u32,
}

impl ScaleLimits {
    /// What `zkmlops compile --calibrate` uses unless told otherwise: up to
    /// [`MAX_SCALE_BITS`](crate::MAX_SCALE_BITS) (2^16) for a Program without lookup tables,
    /// 2^12 for one with them (beyond it the exp, sigmoid and rsqrt tables of the bundled and
    /// test models grow past 2^16 rows and their proofs slow down 1.2-3.4x, docs/onnx.md).
    pub const AUTO: ScaleLimits = ScaleLimits {
        max_bits: crate::MAX_SCALE_BITS,
        table_bits: 12,
    };

    /// At most `max_bits`, tables or not.
    #[must_use]
    pub fn at_most(max_bits: u32) -> ScaleLimits {
        ScaleLimits {
            max_bits,
            table_bits: max_bits,
        }
    }
}

/// Choose the scale: record every tensor's float range over `samples`, then compile at each
/// scale from `max_bits` down and keep the first (the most precise) at which every sample
/// evaluates without overflow and passes `backend`'s pre-proving checks (value limits, table
/// domains). `base` gives the other settings (visibilities, input shape). When tract cannot
/// run the model (an operator it does not implement), the scale is chosen on the quantized
/// evaluation alone: no calibrated ranges, and the report lists no output.
/// [`calibrate_within`] also caps the scale of Programs with lookup tables.
///
/// # Errors
/// [`OnnxError::NoSamples`], [`OnnxError::Calibration`] when no scale works, or the errors of
/// import and float inference.
pub fn calibrate(
    onnx: &OnnxModel,
    samples: &[Vec<f64>],
    base: &Settings,
    max_bits: u32,
    backend: &dyn Backend,
    preset: &str,
) -> Result<Calibration, OnnxError> {
    calibrate_within(
        onnx,
        samples,
        base,
        ScaleLimits::at_most(max_bits),
        backend,
        preset,
    )
}

/// [`calibrate`] under `limits`: a scale above `limits.table_bits` is kept only when its
/// Program has no lookup table.
///
/// ```no_run
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use zkmlops_onnx::{OnnxModel, ScaleLimits, Settings, calibrate_within};
/// let onnx = OnnxModel::from_bytes(&std::fs::read("examples/models/mlp.onnx")?, "mlp")?;
/// let samples = vec![vec![0.5; 64]; 4];
/// let backend = zkmlops_fri::FriBackend;
/// let base = Settings::default();
/// let cal = calibrate_within(&onnx, &samples, &base, ScaleLimits::AUTO, &backend, "keccak-zk")?;
/// // The bundled MLP has no table: it calibrates at 2^16.
/// assert_eq!(cal.settings.scale_bits, 16);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// As [`calibrate`].
pub fn calibrate_within(
    onnx: &OnnxModel,
    samples: &[Vec<f64>],
    base: &Settings,
    limits: ScaleLimits,
    backend: &dyn Backend,
    preset: &str,
) -> Result<Calibration, OnnxError> {
    let Some(first) = samples.first() else {
        return Err(OnnxError::NoSamples);
    };
    let base = &fix_constant_inputs(onnx, base, first)?;
    // Several graph inputs: each one's shape from the settings when they give them (symbolic
    // dimensions read from the data), the flat input their total.
    let shape = match (&base.input_shapes, &base.input_shape) {
        (Some(all), _) => vec![all.iter().map(|s| s.iter().product::<usize>()).sum()],
        (None, Some(s)) => s.clone(),
        (None, None) => onnx.input()?.1,
    };
    let float_model = |all_tensors: bool| match &base.input_shapes {
        Some(shapes) => FloatModel::with_shapes(onnx, shapes, all_tensors),
        None => FloatModel::new(onnx, &shape, all_tensors),
    };
    // Without a float reference (an operator tract cannot run, e.g. LpPool) the scale is
    // chosen on the quantized evaluation alone, with no calibrated ranges and an empty report.
    let float = match float_model(false) {
        Ok(f) => Some(f),
        Err(OnnxError::Float { .. }) => None,
        Err(e) => return Err(e),
    };
    // Ranges of every tensor when tract can expose them all; of the outputs otherwise.
    let ranges = match (&float, float_model(true)) {
        (_, Ok(traced)) => traced.ranges(samples)?,
        (Some(float), Err(_)) => float.ranges(samples)?,
        (None, Err(_)) => BTreeMap::new(),
    };
    let hi = limits.max_bits.clamp(1, crate::MAX_SCALE_BITS);
    let lo = 1;
    let mut last = None;
    for bits in (lo..=hi).rev() {
        let settings = Settings {
            scale_bits: bits,
            param_scale_bits: None,
            // A model without graph inputs has the empty flat input; no shape to set.
            input_shape: (!shape.contains(&0)).then(|| shape.clone()),
            ranges: ranges.clone(),
            ..base.clone()
        };
        let model = match crate::compile(onnx, &settings) {
            Ok(m) => m,
            // Tables too large at this scale: try a coarser one.
            Err(e @ (OnnxError::Program { .. } | OnnxError::UnsupportedUse { .. })) => {
                last = Some((0, Box::new(e) as Box<dyn std::error::Error + Send + Sync>));
                continue;
            }
            Err(e) => return Err(e),
        };
        if bits > limits.table_bits && has_table(&model.program) {
            continue;
        }
        let failure = samples.iter().enumerate().find_map(|(i, s)| {
            let r: Result<(), Box<dyn std::error::Error + Send + Sync>> =
                model.witness(i, s).map_err(Into::into).and_then(|w| {
                    backend
                        .check(&model.program, &w, preset)
                        .map_err(Into::into)
                });
            r.err().map(|e| (i, e))
        });
        match failure {
            None => {
                let report = match &float {
                    Some(float) => fidelity(&model, float, samples)?,
                    None => FidelityReport {
                        scale_bits: bits,
                        samples: samples.len(),
                        outputs: Vec::new(),
                    },
                };
                return Ok(Calibration {
                    settings,
                    model,
                    report,
                });
            }
            Some(f) => last = Some(f),
        }
    }
    let (sample, reason) = last.unwrap_or((0, "no scale tried".into()));
    Err(OnnxError::Calibration {
        lo,
        hi,
        sample,
        reason,
    })
}
