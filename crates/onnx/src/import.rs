//! Translation of an ONNX graph into a Program, node by node.
//!
//! Every computed tensor is kept at the activation scale `s`; weights and other constants
//! become Program inputs at the parameter scale `sp` (biases at `s + sp`), and each product is
//! rescaled back to `s` with round-half-up. Constants that only feed shape arguments (reshape
//! targets, axes) are read at import and never enter the Program.

use std::collections::{HashMap, HashSet};

mod attention;
mod build;
mod control;
mod deconv;
mod fold;
mod index;
mod loss;
mod ml;
mod more;
mod movement;
mod optimizers;
mod quantize;
mod recurrent;
mod sequence;
mod shapes;
mod signal;
mod stateful;

use tract_onnx::pb::{AttributeProto, NodeProto};
use zkmlops_field::Scale;
use zkmlops_lookup::Function;
use zkmlops_tensor::ops::{Conv2dParams, Pool2dParams, Rounding};
use zkmlops_tensor::{
    MAX_INPUT_BITS, Op, ProgramBuilder, ProgramError, Tensor, TensorId, Visibility, composite,
};

use crate::graph::{Attrs, Const, tensor_const};
use crate::model::{SALT_LEN, SALT_NAME};
use crate::{CompiledModel, OnnxError, OnnxModel, Settings};
pub(crate) use fold::is_integer_type;

/// Saturating nonlinearities are tabulated on `[-r, r]`; beyond it they are constant to far
/// below one output unit at any scale up to 2^16.
const SIGMOID_RADIUS: f64 = 16.0;
const TANH_RADIUS: f64 = 8.0;
const ERF_RADIUS: f64 = 4.5;
const NORMAL_CDF_RADIUS: f64 = 6.0;
/// LayerNormalization's variance bound when calibration recorded no range for its input.
const DEFAULT_VARIANCE_BOUND: f64 = 16.0;
/// Headroom over the calibrated variance bound.
const VARIANCE_MARGIN: f64 = 1.5;

#[derive(Clone)]
enum Value {
    Dyn(TensorId),
    Const(Const),
}

/// A BatchNormalization folded into the Conv or Gemm that produces its input:
/// `y = a[c] * x + b[c]` per output channel.
struct Fold {
    a: Vec<f64>,
    b: Vec<f64>,
    out: String,
}

/// A folded BatchNormalization must have one parameter per output channel of the node it is
/// folded into (a malformed model can declare any lengths).
fn check_fold(ctx: &Ctx<'_>, fold: Option<&Fold>, channels: usize) -> Result<(), OnnxError> {
    match fold {
        Some(f) if f.a.len() != channels || f.b.len() != channels => Err(ctx.unsupported(
            "a BatchNormalization whose parameter count differs from its producer's channels",
            format!(
                "{} parameters after {channels} output channels",
                f.a.len().max(f.b.len())
            ),
        )),
        _ => Ok(()),
    }
}

/// The node being translated, for errors.
struct Ctx<'a> {
    node: &'a NodeProto,
    name: String,
}

impl Ctx<'_> {
    fn unsupported(&self, what: &'static str, detail: impl std::fmt::Display) -> OnnxError {
        OnnxError::UnsupportedUse {
            node: self.name.clone(),
            op_type: self.node.op_type.clone(),
            what,
            detail: detail.to_string(),
        }
    }

    fn program(&self, source: ProgramError) -> OnnxError {
        OnnxError::Program {
            node: self.name.clone(),
            op_type: self.node.op_type.clone(),
            source: Box::new(source),
        }
    }

    fn input(&self, i: usize) -> Option<&str> {
        self.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    fn output(&self) -> Result<&str, OnnxError> {
        self.node
            .output
            .first()
            .map(String::as_str)
            .ok_or_else(|| self.unsupported("a node without outputs", ""))
    }
}

struct Importer<'m> {
    b: ProgramBuilder,
    values: HashMap<String, Value>,
    /// ONNX sequences: each a list of names in `values` ([`sequence`]).
    seqs: HashMap<String, Vec<String>>,
    /// Nodes imported from `If`/`Loop`/`Scan` subgraphs so far ([`control`]).
    inlined: usize,
    /// Names of the constants of an integer element type (shape arithmetic folds exactly).
    ints: HashSet<String>,
    /// The ONNX element type of each small-integer initializer and graph input (int4 to
    /// int16, signed or not): QuantizeLinear's output range follows its zero point's type.
    small_int_types: HashMap<String, i32>,
    /// The bit width of each unsigned-integer graph input (a left `BitShift` wraps at it).
    unsigned_widths: HashMap<String, u32>,
    /// The bit width of each signed-integer graph input (a left `BitShift` wraps at it in
    /// two's complement; opset 28).
    signed_widths: HashMap<String, u32>,
    settings: &'m Settings,
    s: Scale,
    sp: Scale,
    params: Vec<(TensorId, Tensor)>,
    param_cache: HashMap<(String, u32), TensorId>,
    names: HashSet<String>,
    folds: HashMap<String, Fold>,
    opset: i64,
    /// Names of the string initializers (held as their positions).
    strings: HashSet<String>,
    /// Names of the boolean tensors (graph inputs, initializers, `Constant`s, comparisons,
    /// logical operators, casts to bool and data movement of booleans): `Attention` reads a
    /// boolean `attn_mask` as which keys to attend, a float one as a bias.
    bools: HashSet<String>,
    /// The graph inputs that could still be fixed at compile time (not fixed, and the model
    /// has more than one input): a node that needs one as a constant says so
    /// ([`Importer::fixable_or`]).
    open_inputs: HashSet<String>,
}

/// Translate `model` under `settings`.
pub(crate) fn import(model: &OnnxModel, settings: &Settings) -> Result<CompiledModel, OnnxError> {
    settings.validate()?;
    let scale = |name, bits| {
        Scale::new(bits).map_err(|_| OnnxError::SettingRange {
            name,
            value: bits.to_string(),
            allowed: "1..=16",
        })
    };
    let s = scale("scale_bits", settings.scale_bits)?;
    let sp = scale("param_scale_bits", settings.param_bits())?;
    let graph_inputs = model.inputs()?;
    let mut values: HashMap<String, Value> = model
        .initializers()?
        .into_iter()
        .map(|(k, v)| (k, Value::Const(v)))
        .collect();
    let mut b = ProgramBuilder::new();
    let mut names = HashSet::from([SALT_NAME.to_string()]);
    // One graph input is the Program's input; several are one flat input (EZKL's layout,
    // concatenated), each graph input a slice of it, reshaped.
    if let Some(name) = settings
        .fixed_inputs
        .keys()
        .find(|n| !graph_inputs.iter().any(|g| &g.name == *n))
    {
        return Err(OnnxError::SettingRange {
            name: "fixed_inputs",
            value: name.clone(),
            allowed: "names of the model's graph inputs",
        });
    }
    if let [one] = graph_inputs.as_slice()
        && settings.fixed_inputs.contains_key(&one.name)
        && !(fold::is_integer_type(one.elem_type) || one.elem_type == 9)
    {
        return Err(OnnxError::SettingRange {
            name: "fixed_inputs",
            value: one.name.clone(),
            allowed: "a graph input beside another, or a lone integer or boolean input",
        });
    }
    // A fixed lone input takes the several-inputs path below (with nothing left to slice).
    let (input, shape, input_shapes) = if let [one] = graph_inputs.as_slice()
        && !settings.fixed_inputs.contains_key(&one.name)
    {
        let shape = settings.input_shape.clone().unwrap_or(one.shape.clone());
        let input = b.input(&one.name, &shape, s, settings.input_visibility);
        values.insert(one.name.clone(), Value::Dyn(input));
        names.insert(one.name.clone());
        (input, shape, None)
    } else {
        let shapes: Vec<Vec<usize>> = settings
            .input_shapes
            .clone()
            .unwrap_or_else(|| graph_inputs.iter().map(|i| i.shape.clone()).collect());
        if shapes.len() != graph_inputs.len() {
            return Err(OnnxError::SettingRange {
                name: "input_shapes",
                value: format!("{} shapes", shapes.len()),
                allowed: "one shape per graph input",
            });
        }
        // Fixed inputs are constants of the Program, not part of its input: the flat input
        // holds the others only, so the statement carries no value that nothing constrains
        // (`CompiledModel::witness` drops the fixed slices of an EZKL-layout sample).
        let total: usize = graph_inputs
            .iter()
            .zip(&shapes)
            .filter(|(g, _)| !settings.fixed_inputs.contains_key(&g.name))
            .map(|(_, s)| s.iter().product::<usize>())
            .sum();
        let flat = b.input(
            crate::COMBINED_INPUT,
            &[total],
            s,
            settings.input_visibility,
        );
        names.insert(crate::COMBINED_INPUT.to_string());
        let mut offset = 0;
        for (gi, shape) in graph_inputs.iter().zip(&shapes) {
            let n: usize = shape.iter().product();
            // A fixed input is a constant of the Program (its slice of a sample is checked
            // against the fixed values, then dropped: `CompiledModel::witness`).
            if let Some(fixed) = settings.fixed_inputs.get(&gi.name) {
                if fixed.len() != n {
                    return Err(OnnxError::SettingRange {
                        name: "fixed_inputs",
                        value: format!("{} values for `{}`", fixed.len(), gi.name),
                        allowed: "as many values as the input's shape holds",
                    });
                }
                let data = fixed.clone();
                values.insert(
                    gi.name.clone(),
                    Value::Const(Const {
                        shape: shape.clone(),
                        data,
                    }),
                );
                continue;
            }
            let part = b
                .op(
                    &format!("{}/slice", gi.name),
                    Op::Slice {
                        axis: 0,
                        start: offset,
                        end: offset + n,
                    },
                    &[flat],
                )
                .and_then(|p| {
                    b.op(
                        &gi.name,
                        Op::Reshape {
                            shape: shape.clone(),
                        },
                        &[p],
                    )
                })
                .map_err(|e| OnnxError::ModelProgram {
                    source: Box::new(e),
                })?;
            values.insert(gi.name.clone(), Value::Dyn(part));
            names.insert(gi.name.clone());
            names.insert(format!("{}/slice", gi.name));
            offset += n;
        }
        (flat, vec![total], Some(shapes))
    };
    // Committed weights: a random salt opens the commitment, so equal weights committed twice
    // do not give equal digests unless the owner reuses the salt (CompiledModel::with_salt).
    // `committed` binds the Program (group 0); `committed:G` is a lineage commitment (salt,
    // then the weights in node order: the layout a training run's checkpoint commits).
    let mut params = Vec::new();
    if matches!(
        settings.param_visibility,
        Visibility::Committed | Visibility::CommittedTo(_)
    ) {
        let salt = b.unbounded_input(SALT_NAME, &[SALT_LEN], s, settings.param_visibility);
        params.push((salt, Tensor::vector(crate::model::fresh_salt()?.to_vec())));
    }
    let ints = model
        .graph()
        .initializer
        .iter()
        .filter(|t| fold::is_integer_type(t.data_type))
        .map(|t| t.name.clone())
        .chain(
            graph_inputs
                .iter()
                .filter(|g| fold::is_integer_type(g.elem_type) || g.elem_type == 9)
                .filter(|g| settings.fixed_inputs.contains_key(&g.name))
                .map(|g| g.name.clone()),
        )
        .collect();
    // ONNX `TensorProto.DataType`: UINT8 2, INT8 3, UINT16 4, INT16 5, UINT4 21, INT4 22.
    let small = |t: i32| matches!(t, 2..=5 | 21 | 22);
    let small_int_types = model
        .graph()
        .initializer
        .iter()
        .filter(|t| small(t.data_type))
        .map(|t| (t.name.clone(), t.data_type))
        .chain(
            graph_inputs
                .iter()
                .filter(|g| small(g.elem_type))
                .map(|g| (g.name.clone(), g.elem_type)),
        )
        .collect();
    // ONNX `TensorProto.DataType`: UINT8 2, UINT16 4, UINT32 12, UINT64 13; INT8 3, INT16 5,
    // INT32 6, INT64 7.
    let widths = |types: [i32; 4]| -> HashMap<String, u32> {
        graph_inputs
            .iter()
            .filter_map(|g| {
                let at = types.iter().position(|&t| t == g.elem_type)?;
                Some((g.name.clone(), 8 << at))
            })
            .collect()
    };
    let unsigned_widths = widths([2, 4, 12, 13]);
    let signed_widths = widths([3, 5, 6, 7]);
    // ONNX `TensorProto.DataType` BOOL is 9.
    let bools = model
        .graph()
        .initializer
        .iter()
        .filter(|t| t.data_type == 9)
        .map(|t| t.name.clone())
        .chain(
            graph_inputs
                .iter()
                .filter(|g| g.elem_type == 9)
                .map(|g| g.name.clone()),
        )
        .collect();
    // A model's only input may be fixed when it is an integer or boolean tensor (a size, a
    // shape, a mask: what decides a shape); a lone float input stays the statement's input.
    let lone = graph_inputs.len() == 1;
    let open_inputs = graph_inputs
        .iter()
        .filter(|g| !settings.fixed_inputs.contains_key(&g.name))
        .filter(|g| !lone || fold::is_integer_type(g.elem_type) || g.elem_type == 9)
        .map(|g| g.name.clone())
        .collect();
    let mut imp = Importer {
        b,
        small_int_types,
        unsigned_widths,
        signed_widths,
        values,
        seqs: HashMap::new(),
        inlined: 0,
        ints,
        settings,
        s,
        sp,
        params,
        param_cache: HashMap::new(),
        names,
        folds: HashMap::new(),
        opset: model.opset(),
        strings: model.string_initializers().into_keys().collect(),
        bools,
        open_inputs,
    };
    // Typed graph inputs are held to their type by constraint, whatever value the prover
    // sets: a boolean input is read as `x != 0` (ONNX's cast to bool), so logical operators,
    // Where and If compute on 0/1 only (`b + c (a - b)` would mix the branches for any other
    // `c`); an integer input as `floor(x)`, clamped to its type's range where that is inside
    // the input's 24 bits, so integer arithmetic, indices and wrapping shifts see values of
    // the type.
    for gi in &graph_inputs {
        // ONNX `TensorProto.DataType`: UINT8 2, INT8 3, UINT16 4, INT16 5, INT32 6, INT64 7,
        // BOOL 9, UINT32 12, UINT64 13.
        let (kind, range) = match gi.elem_type {
            9 => ("bool", None),
            2 => ("integer", Some((Some(0.0), Some(255.0)))),
            3 => ("integer", Some((Some(-128.0), Some(127.0)))),
            4 => ("integer", Some((Some(0.0), Some(65535.0)))),
            5 => ("integer", Some((Some(-32768.0), Some(32767.0)))),
            12 | 13 => ("integer", Some((Some(0.0), None))),
            6 | 7 => ("integer", Some((None, None))),
            _ => continue,
        };
        if let Some(Value::Dyn(x)) = imp.values.get(&gi.name).cloned() {
            let name = format!("{}/{kind}", gi.name);
            let node = NodeProto {
                op_type: "Cast".into(),
                name: name.clone(),
                input: vec![gi.name.clone()],
                output: vec![name.clone()],
                ..NodeProto::default()
            };
            let ctx = Ctx {
                node: &node,
                name: name.clone(),
            };
            let y = match range {
                None => imp.nonzero(&ctx, &name, x)?,
                Some((lo, hi)) => {
                    let whole = imp.floor(&ctx, &format!("{name}/whole"), x)?;
                    imp.clip(&ctx, &name, whole, lo, hi)?
                }
            };
            imp.set(&gi.name, Value::Dyn(y));
            if range.is_some() {
                imp.ints.insert(gi.name.clone());
            }
        }
    }
    let skip = imp.plan_folds(model);
    for (i, node) in model.graph().node.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let name = if node.name.is_empty() {
            format!("{}#{i}", node.op_type)
        } else {
            node.name.clone()
        };
        imp.node(&Ctx { node, name })?;
    }
    let mut outputs = Vec::new();
    for name in model.output_names() {
        let id = match imp.values.get(&name) {
            Some(Value::Dyn(id)) => imp.named_output(&name, *id)?,
            Some(Value::Const(c)) => {
                let c = c.clone();
                imp.constant_output(&name, &c)?
            }
            None => {
                return Err(OnnxError::UnknownTensor {
                    node: "graph output".into(),
                    op_type: "output".into(),
                    input: name,
                });
            }
        };
        imp.b
            .output(id, settings.output_visibility)
            .map_err(|e| OnnxError::ModelProgram {
                source: Box::new(e),
            })?;
        outputs.push(id);
    }
    let program = imp.b.build().map_err(|e| OnnxError::ModelProgram {
        source: Box::new(e),
    })?;
    Ok(CompiledModel {
        name: model.name().into(),
        settings: Settings {
            // A model of constants only has the empty flat input: its settings name no shape
            // (`input_shapes` is empty).
            input_shape: (!shape.contains(&0)).then_some(shape),
            input_shapes,
            ..settings.clone()
        },
        program,
        input,
        params: imp.params,
        outputs,
        onnx: model.bytes.clone(),
    })
}

impl Importer<'_> {
    /// A graph output under its ONNX name: a tensor that another name produced (an
    /// `Identity`, a `SequenceAt`, a `Loop`'s final value, the graph input itself, an output
    /// listed twice) is copied by a `reshape` to its own shape under the output's name, so
    /// proofs and the CLI name outputs as the graph does.
    fn named_output(&mut self, name: &str, id: TensorId) -> Result<TensorId, OnnxError> {
        let program = |e| OnnxError::ModelProgram {
            source: Box::new(e),
        };
        if self.b.name(id).map_err(program)? == name && !self.b.is_output(id) {
            return Ok(id);
        }
        let shape = self.b.shape(id).map_err(program)?.to_vec();
        let oname = self.fresh(name);
        self.b
            .op(&oname, Op::Reshape { shape }, &[id])
            .map_err(program)
    }

    /// A graph output that folds to a constant at import (a `SequenceLength`, shape
    /// arithmetic): a public constant of the Program at the activation scale, copied by a
    /// `reshape` into a computed tensor so it is an output like any other.
    fn constant_output(&mut self, name: &str, c: &Const) -> Result<TensorId, OnnxError> {
        let program = |e| OnnxError::ModelProgram {
            source: Box::new(e),
        };
        let data = c
            .data
            .iter()
            .map(|&v| self.s.encode(v))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(|e| OnnxError::ConstantOutput {
                name: name.into(),
                detail: e.to_string(),
            })?;
        let t = Tensor::new(c.shape.clone(), data).map_err(|e| {
            program(ProgramError::Constant {
                tensor: name.into(),
                source: e,
            })
        })?;
        let cname = self.fresh(&format!("{name}/constant"));
        let k = self.b.constant(&cname, t, self.s).map_err(program)?;
        let oname = self.fresh(name);
        self.b
            .op(
                &oname,
                Op::Reshape {
                    shape: c.shape.clone(),
                },
                &[k],
            )
            .map_err(program)
    }
}

/// An integer attribute of a node the importer builds.
fn int_attr(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        i: v,
        r#type: 2,
        ..AttributeProto::default()
    }
}

/// An integer-list attribute of a node the importer builds.
fn ints_attr(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: 7,
        ..AttributeProto::default()
    }
}

fn scaled(c: &Const, f: impl Fn(usize, f64) -> f64) -> Const {
    Const {
        shape: c.shape.clone(),
        data: c.data.iter().enumerate().map(|(i, &v)| f(i, v)).collect(),
    }
}

/// Normalise a possibly negative axis for a tensor of rank `rank`.
/// An ungrouped 2-D Conv's strides, pads and dilations, its `kernel_shape` (when given)
/// checked against the weights' shape `ws`.
fn conv2d_params(ctx: &Ctx<'_>, ws: &[usize]) -> Result<Conv2dParams, OnnxError> {
    let n = ctx.node;
    if let Some(k) = n.ints("kernel_shape")
        && usizes(ctx, "kernel_shape", &k)?.as_slice() != ws.get(2..).unwrap_or_default()
    {
        return Err(ctx.unsupported(
            "a kernel_shape that differs from the weights",
            format!("{k:?}"),
        ));
    }
    Ok(Conv2dParams {
        strides: pair(ctx, "strides", n.ints("strides"), 1)?,
        pads: pads4(ctx)?,
        dilations: pair(ctx, "dilations", n.ints("dilations"), 1)?,
        groups: 1,
    })
}

fn axis(ctx: &Ctx<'_>, a: i64, rank: usize) -> Result<usize, OnnxError> {
    let r = i64::try_from(rank).unwrap_or(i64::MAX);
    let a2 = if a < 0 { a + r } else { a };
    usize::try_from(a2)
        .ok()
        .filter(|&x| x < rank)
        .ok_or_else(|| ctx.unsupported("an axis out of range", format!("axis {a} for rank {rank}")))
}

/// The positions `Slice` keeps along an axis of `dim` entries, in output order (ONNX's
/// definition): negative `start`/`end` count from the end; with a positive `step` both clamp to
/// `[0, dim]`, with a negative one `start` to `[0, dim - 1]` and `end` to `[-1, dim - 1]`, so
/// `INT64_MAX`/`INT64_MIN` read as "to the end". `None` for a zero step.
fn slice_positions(dim: usize, start: i64, end: i64, step: i64) -> Option<Vec<usize>> {
    let d = i64::try_from(dim).unwrap_or(i64::MAX);
    let from_end = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (start, end) = (from_end(start), from_end(end));
    let mut at = Vec::new();
    if d == 0 {
        return (step != 0).then_some(at);
    }
    if step > 0 {
        let (mut i, end) = (start.clamp(0, d), end.clamp(0, d));
        while i < end {
            at.push(usize::try_from(i).ok()?);
            i = i.saturating_add(step);
        }
    } else if step < 0 {
        let (mut i, end) = (start.clamp(0, d - 1), end.clamp(-1, d - 1));
        while i > end {
            at.push(usize::try_from(i).ok()?);
            i = i.saturating_add(step);
        }
    } else {
        return None;
    }
    Some(at)
}

fn usizes(ctx: &Ctx<'_>, what: &'static str, v: &[i64]) -> Result<Vec<usize>, OnnxError> {
    v.iter()
        .map(|&x| usize::try_from(x).map_err(|_| ctx.unsupported(what, format!("{v:?}"))))
        .collect()
}

fn pair(
    ctx: &Ctx<'_>,
    what: &'static str,
    v: Option<Vec<i64>>,
    default: usize,
) -> Result<[usize; 2], OnnxError> {
    match v {
        None => Ok([default; 2]),
        Some(v) => match usizes(ctx, what, &v)?.as_slice() {
            [a, b] => Ok([*a, *b]),
            _ => Err(ctx.unsupported(what, format!("{v:?} (2-D only)"))),
        },
    }
}

/// The end padding `ceil_mode` adds on one axis: the floor formula then gives ONNX's ceil
/// output size, `ceil((size + begin + end - kernel) / stride) + 1`, less one when the last
/// window would start beyond the input and its begin padding (ONNX and PyTorch drop it). The
/// added cells are padding, which pooling never reads (max) or counts (average), and the last
/// window starts inside the input, so the extended end padding stays below the kernel.
pub(super) fn ceil_mode_extra(
    size: usize,
    begin: usize,
    end: usize,
    kernel: usize,
    stride: usize,
) -> usize {
    let span = size + begin + end;
    if span < kernel || stride == 0 {
        return 0;
    }
    let mut out = (span - kernel).div_ceil(stride) + 1;
    if (out - 1) * stride >= size + begin {
        out -= 1;
    }
    ((out - 1) * stride + kernel).saturating_sub(span)
}

fn pads4(ctx: &Ctx<'_>) -> Result<[usize; 4], OnnxError> {
    match ctx.node.string("auto_pad").as_deref() {
        None | Some("NOTSET" | "VALID" | "") => {}
        Some(other) => return Err(ctx.unsupported("auto_pad", other)),
    }
    match ctx.node.ints("pads") {
        None => Ok([0; 4]),
        Some(v) => match usizes(ctx, "pads", &v)?.as_slice() {
            // ONNX order: [top, left, bottom, right], as Conv2dParams.
            [t, l, b, r] => Ok([*t, *l, *b, *r]),
            _ => Err(ctx.unsupported("pads", format!("{v:?} (2-D only)"))),
        },
    }
}

impl Importer<'_> {
    /// Find BatchNormalization nodes that directly follow a Conv or Gemm whose output has no
    /// other reader; their affine map is folded into that node's weights and bias.
    fn plan_folds(&mut self, model: &OnnxModel) -> HashSet<usize> {
        let nodes = &model.graph().node;
        let outputs = model.output_names();
        let mut readers: HashMap<&str, usize> = HashMap::new();
        for n in nodes {
            for i in &n.input {
                *readers.entry(i.as_str()).or_default() += 1;
            }
        }
        let mut skip = HashSet::new();
        for (i, n) in nodes.iter().enumerate() {
            // Training mode normalizes by the batch's own statistics: never folded.
            if n.op_type != "BatchNormalization"
                || n.input.len() < 5
                || n.output.is_empty()
                || n.int("training_mode").unwrap_or(0) != 0
            {
                continue;
            }
            let Some(x) = n.input.first() else { continue };
            let producer = nodes.iter().find(|p| {
                p.output.first() == Some(x) && matches!(p.op_type.as_str(), "Conv" | "Gemm")
            });
            if producer.is_none() || readers.get(x.as_str()) != Some(&1) || outputs.contains(x) {
                continue;
            }
            let (Some(Some((a, b))), Some(y)) = (self.bn_affine(n), n.output.first()) else {
                continue;
            };
            self.folds.insert(
                x.clone(),
                Fold {
                    a,
                    b,
                    out: y.clone(),
                },
            );
            skip.insert(i);
        }
        skip
    }

    /// `(a, b)` with `BN(x) = a * x + b` per channel, when all four parameters are constants.
    fn bn_affine(&self, n: &NodeProto) -> Option<Option<(Vec<f64>, Vec<f64>)>> {
        let get = |i: usize| match self.values.get(n.input.get(i)?) {
            Some(Value::Const(c)) => Some(c.data.clone()),
            _ => None,
        };
        let (g, beta, mean, var) = (get(1)?, get(2)?, get(3)?, get(4)?);
        let eps = f64::from(n.float("epsilon").unwrap_or(1e-5));
        let c = g.len();
        if [beta.len(), mean.len(), var.len()] != [c, c, c] {
            return Some(None);
        }
        let a: Vec<f64> = g
            .iter()
            .zip(&var)
            .map(|(g, v)| g / (v + eps).sqrt())
            .collect();
        let b = beta
            .iter()
            .zip(&mean)
            .zip(&a)
            .map(|((beta, mean), a)| beta - mean * a)
            .collect();
        Some(Some((a, b)))
    }

    fn fresh(&mut self, base: &str) -> String {
        let mut name = base.to_string();
        let mut k = 1;
        while !self.names.insert(name.clone()) {
            k += 1;
            name = format!("{base}#{k}");
        }
        name
    }

    fn op(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        op: Op,
        inputs: &[TensorId],
    ) -> Result<TensorId, OnnxError> {
        let name = self.fresh(name);
        self.b.op(&name, op, inputs).map_err(|e| ctx.program(e))
    }

    fn rescale(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        shift: u32,
    ) -> Result<TensorId, OnnxError> {
        if shift == 0 {
            return Ok(x);
        }
        self.op(
            ctx,
            name,
            Op::Rescale {
                shift,
                rounding: Rounding::HalfUp,
            },
            &[x],
        )
    }

    /// A constant linear map along axis `a`: `x` with that axis moved last, as rows
    /// `[rows, n]` times `map` (`[n, m]`, a param at `scale`, then rescaled by it), back to the
    /// input's layout with the axis now `m` long.
    fn map_axis(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        map: Const,
        scale: Scale,
    ) -> Result<TensorId, OnnxError> {
        let rank = self.shape(x).len();
        let (n, m) = match map.shape[..] {
            [n, m] => (n, m),
            _ => {
                return Err(ctx.unsupported(
                    "an axis map that is not a matrix",
                    format!("{:?}", map.shape),
                ));
            }
        };
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(a, rank.saturating_sub(1));
        let last = a + 1 == rank;
        let moved = if last {
            x
        } else {
            self.op(
                ctx,
                &format!("{out}/to_last"),
                Op::Transpose { perm: perm.clone() },
                &[x],
            )?
        };
        let mut shape = self.shape(moved);
        let rows = shape.iter().product::<usize>() / n.max(1);
        let flat = self.reshape_to(ctx, &format!("{out}/rows"), moved, vec![rows, n])?;
        let mp = self.param(ctx, &format!("{out}/map"), &map, scale)?;
        let y = self.op(ctx, &format!("{out}/mapped"), Op::MatMul, &[flat, mp])?;
        let y = self.rescale(ctx, &format!("{out}/rescaled"), y, scale.bits())?;
        if let Some(d) = shape.last_mut() {
            *d = m;
        }
        let y = self.reshape_to(ctx, &format!("{out}/unrows"), y, shape)?;
        if last {
            Ok(y)
        } else {
            self.op(ctx, &format!("{out}/back"), Op::Transpose { perm }, &[y])
        }
    }

    fn shape(&self, id: TensorId) -> Vec<usize> {
        self.b.shape(id).map(<[usize]>::to_vec).unwrap_or_default()
    }

    fn get(&self, ctx: &Ctx<'_>, i: usize) -> Result<&Value, OnnxError> {
        let name = ctx
            .input(i)
            .ok_or_else(|| ctx.unsupported("a missing input", format!("input #{i}")))?;
        self.values
            .get(name)
            .ok_or_else(|| OnnxError::UnknownTensor {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: name.into(),
            })
    }

    fn constant(&self, ctx: &Ctx<'_>, i: usize) -> Result<Const, OnnxError> {
        match self.get(ctx, i)? {
            Value::Const(c) => Ok(c.clone()),
            Value::Dyn(_) => Err(OnnxError::NeedsConstant {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: ctx.input(i).unwrap_or_default().to_string(),
            }),
        }
    }

    /// `err` (a node cannot take input `i` computed), or [`OnnxError::NeedsConstant`] when that
    /// input is a graph input that could be fixed at compile time (the model has another
    /// input): calibration then fixes it from its sample and the node sees a constant.
    fn fixable_or(&self, ctx: &Ctx<'_>, i: usize, err: OnnxError) -> OnnxError {
        match ctx.input(i) {
            Some(name) if self.open_inputs.contains(name) => OnnxError::NeedsConstant {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: name.to_string(),
            },
            _ => err,
        }
    }

    fn ints_input(&self, ctx: &Ctx<'_>, i: usize) -> Result<Vec<i64>, OnnxError> {
        let c = self.constant(ctx, i)?;
        c.ints().ok_or_else(|| {
            ctx.unsupported("a non-integer shape or axes input", format!("{:?}", c.data))
        })
    }

    /// A constant as a Program input at `scale` (the weights the prover supplies).
    fn param(
        &mut self,
        ctx: &Ctx<'_>,
        base: &str,
        c: &Const,
        scale: Scale,
    ) -> Result<TensorId, OnnxError> {
        let key = (base.to_string(), scale.bits());
        if let Some(id) = self.param_cache.get(&key) {
            return Ok(*id);
        }
        let data = c
            .data
            .iter()
            .map(|&v| scale.encode(v))
            .collect::<Result<Vec<i64>, _>>()
            .map_err(|e| {
                ctx.unsupported("a constant that does not fit the fixed-point range", e)
            })?;
        let t = Tensor::new(c.shape.clone(), data).map_err(|e| {
            ctx.program(ProgramError::Constant {
                tensor: base.into(),
                source: e,
            })
        })?;
        let name = self.fresh(base);
        let id = self
            .b
            .input(&name, &c.shape, scale, self.settings.param_visibility);
        self.b
            .set_bits(id, param_bits(t.data()))
            .map_err(|e| ctx.program(e))?;
        self.params.push((id, t));
        self.param_cache.insert(key, id);
        Ok(id)
    }

    /// Input `i` as a computed tensor at the activation scale (a constant becomes a param).
    fn dyn_input(&mut self, ctx: &Ctx<'_>, i: usize) -> Result<TensorId, OnnxError> {
        match self.get(ctx, i)? {
            Value::Dyn(id) => Ok(*id),
            Value::Const(c) => {
                let c = c.clone();
                let name = ctx.input(i).unwrap_or_default().to_string();
                self.param(ctx, &name, &c, self.s)
            }
        }
    }

    /// Input `i` of an `Add` or `Sub`: a constant's infinities (a mask's `-inf`, or PyTorch's
    /// `finfo.min`) become `+-`[`movement::INFINITY_STAND_IN`], far below any score, so a
    /// following `Softmax` gives them weight 0 as it gives `-inf` (the sum of a finite value
    /// and a stand-in stays beyond half a stand-in, which is where `Equal` with an infinity
    /// draws the line). Any other input as [`Self::dyn_input`].
    fn additive_input(&mut self, ctx: &Ctx<'_>, i: usize) -> Result<TensorId, OnnxError> {
        if let Value::Const(c) = self.get(ctx, i)?
            && movement::has_infinities(c)
        {
            let c = movement::without_infinities(c);
            let name = format!("{}/finite", ctx.input(i).unwrap_or_default());
            return self.param(ctx, &name, &c, self.s);
        }
        self.dyn_input(ctx, i)
    }

    fn set(&mut self, name: &str, v: Value) {
        self.values.insert(name.into(), v);
    }

    /// `x * c` for a constant `c` (at the parameter scale), rescaled back to `s`.
    fn mul_const(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        cname: &str,
        c: &Const,
    ) -> Result<TensorId, OnnxError> {
        let p = self.param(ctx, cname, c, self.sp)?;
        let y = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, p])?;
        self.rescale(ctx, out, y, self.sp.bits())
    }

    fn node(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        self.lower_node(ctx)?;
        self.mark_integer_outputs(ctx);
        Ok(())
    }

    /// Record the outputs of `ctx`'s node as integer tensors when ONNX's types make them so:
    /// a cast to an integer type, or an operator that keeps its inputs' integer type (integer
    /// arithmetic, data movement) with every input an integer tensor. Integer `Div` and `Mod`
    /// of computed tensors read this ([`Self::int_divide`]).
    fn mark_integer_outputs(&mut self, ctx: &Ctx<'_>) {
        let op = ctx.node.op_type.as_str();
        let integer = match op {
            "Cast" => ctx
                .node
                .int("to")
                .and_then(|t| i32::try_from(t).ok())
                .is_some_and(|t| t != 9 && fold::is_integer_type(t)),
            "CastLike" => ctx.input(1).is_some_and(|n| self.ints.contains(n)),
            "Add" | "Sub" | "Mul" | "Div" | "Mod" | "Neg" | "Abs" | "Min" | "Max" | "Sum"
            | "Identity" | "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose"
            | "Concat" | "Slice" | "Split" | "Expand" | "Tile" | "Gather" | "ReduceSum"
            | "ReduceMax" | "ReduceMin" => {
                let ins: Vec<&String> = ctx.node.input.iter().filter(|n| !n.is_empty()).collect();
                !ins.is_empty() && ins.iter().all(|n| self.ints.contains(*n))
            }
            _ => false,
        };
        if integer {
            for o in ctx.node.output.iter().filter(|o| !o.is_empty()) {
                self.ints.insert(o.clone());
            }
        }
        let boolean = match op {
            "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "Not" | "And"
            | "Or" | "Xor" | "IsNaN" | "IsInf" => true,
            "Cast" => ctx.node.int("to") == Some(9),
            "Constant" => ctx
                .node
                .attr("value")
                .and_then(|a| a.t.as_ref())
                .is_some_and(|t| t.data_type == 9),
            "Identity" | "Reshape" | "Flatten" | "Squeeze" | "Unsqueeze" | "Transpose"
            | "Concat" | "Slice" | "Expand" | "Tile" | "Gather" => {
                let mut ins = ctx.node.input.iter().filter(|n| !n.is_empty());
                // Data movement keeps its first input's type (the rest are shapes or indices,
                // or, for Concat, more of the same).
                ins.next().is_some_and(|n| self.bools.contains(n))
            }
            _ => false,
        };
        if boolean {
            for o in ctx.node.output.iter().filter(|o| !o.is_empty()) {
                self.bools.insert(o.clone());
            }
        }
    }

    fn lower_node(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        // String initializers hold their positions (`OnnxModel::initializers`): only a class
        // list an `ArrayFeatureExtractor` picks from means something as such. Here, so that
        // nodes of `If`/`Loop`/`Scan` bodies are checked too.
        if let Some((_, s)) = ctx.node.input.iter().enumerate().find(|&(k, n)| {
            self.strings.contains(n) && !(ctx.node.op_type == "ArrayFeatureExtractor" && k == 0)
        }) {
            return Err(ctx.unsupported("a string tensor read by this operator", s.clone()));
        }
        if sequence::OPERATORS.contains(&ctx.node.op_type.as_str()) {
            return self.sequence(ctx);
        }
        let out = ctx.output()?.to_string();
        if let Some(c) = self.fold(ctx)? {
            self.set(&out, Value::Const(c));
            return Ok(());
        }
        if matches!(
            ctx.node.op_type.as_str(),
            "Conv" | "MaxPool" | "AveragePool" | "LpPool"
        ) && matches!(
            ctx.node.string("auto_pad").as_deref(),
            Some("SAME_UPPER" | "SAME_LOWER")
        ) {
            return self.explicit_pads(ctx);
        }
        match ctx.node.op_type.as_str() {
            "Cast" | "CastLike" => {
                // A computed tensor cast to a floating type is itself (it is already a real
                // number at the activation scale); to bool it is `x != 0`, to an integer type
                // its truncation toward zero (both exact on the quantized values; a value past
                // the integer type's range is not wrapped).
                let to = match ctx.node.op_type.as_str() {
                    "Cast" => ctx.node.int("to").and_then(|t| i32::try_from(t).ok()),
                    _ => None,
                };
                let like_int = ctx.node.op_type == "CastLike"
                    && ctx.input(1).is_some_and(|n| self.ints.contains(n));
                let x = self.dyn_input(ctx, 0)?;
                // ONNX `TensorProto.DataType` BOOL is 9.
                let y = if to == Some(9) {
                    self.nonzero(ctx, &out, x)?
                } else if to.is_some_and(fold::is_integer_type) || like_int {
                    self.truncate(ctx, &out, x)?
                } else {
                    x
                };
                self.set(&out, Value::Dyn(y));
            }
            // ZipMap (`ai.onnx.ml`) pairs each class label with its probability in a map per
            // row: the proved output is the probability matrix itself, its columns in the
            // order of `classlabels_*` (docs/onnx.md).
            "Identity" | "ZipMap" => {
                let v = self.get(ctx, 0)?.clone();
                self.set(&out, v);
            }
            "Dropout" => self.dropout(ctx, &out)?,
            "Constant" => self.constant_node(ctx, &out)?,
            "Gemm" => self.gemm(ctx, &out)?,
            "MatMul" => self.matmul(ctx, &out)?,
            "Conv" | "ConvTranspose" if matches!(self.get(ctx, 1)?, Value::Const(w) if w.shape.len() == 3) =>
            {
                self.lift_1d(ctx, &out)?;
            }
            "Conv" if matches!(self.get(ctx, 1)?, Value::Const(w) if w.shape.len() == 5) => {
                self.conv3d(ctx, &out)?;
            }
            "MaxPool"
                if ctx.node.output.get(1).is_some_and(|o| !o.is_empty())
                    && !matches!(self.get(ctx, 0)?, Value::Dyn(x) if self.shape(*x).len() == 4) =>
            {
                return Err(ctx.unsupported(
                    "MaxPool indices of a pool that is not 2-D",
                    ctx.node.output.get(1).cloned().unwrap_or_default(),
                ));
            }
            "MaxPool" | "AveragePool" if matches!(self.get(ctx, 0)?, Value::Dyn(x) if self.shape(*x).len() == 5) =>
            {
                self.pool3d(ctx, &out)?;
            }
            "MaxPool" | "AveragePool" | "LpPool" if matches!(self.get(ctx, 0)?, Value::Dyn(x) if self.shape(*x).len() == 3) =>
            {
                self.lift_1d(ctx, &out)?;
            }
            "Conv" => self.conv(ctx, &out)?,
            "ConvTranspose" => self.conv_transpose(ctx, &out)?,
            "Add" | "Sub" => {
                let a = self.additive_input(ctx, 0)?;
                let b = self.additive_input(ctx, 1)?;
                let op = if ctx.node.op_type == "Add" {
                    Op::Add
                } else {
                    Op::Sub
                };
                let y = self.op(ctx, &out, op, &[a, b])?;
                self.set(&out, Value::Dyn(y));
            }
            "Mul" => self.mul(ctx, &out)?,
            "Div" => {
                let x = self.dyn_input(ctx, 0)?;
                let integer = ctx.node.input.iter().all(|n| self.ints.contains(n));
                if integer {
                    // Integer tensors: ONNX truncates the quotient.
                    if let Value::Const(c) = self.get(ctx, 1)?
                        && c.data.contains(&0.0)
                    {
                        return Err(ctx.unsupported("division by zero", format!("{:?}", c.data)));
                    }
                    let d = self.dyn_input(ctx, 1)?;
                    let y = self.int_divide(ctx, &out, x, d)?;
                    self.set(&out, Value::Dyn(y));
                    return Ok(());
                }
                if let Value::Dyn(d) = self.get(ctx, 1)? {
                    let d = *d;
                    let y = self.divide(ctx, &out, x, d)?;
                    self.set(&out, Value::Dyn(y));
                    return Ok(());
                }
                let d = self.constant(ctx, 1)?;
                if d.data.contains(&0.0) {
                    return Err(ctx.unsupported("division by zero", format!("{:?}", d.data)));
                }
                let inv = scaled(&d, |_, v| 1.0 / v);
                let y = self.mul_const(ctx, &out, x, &format!("{out}/reciprocal"), &inv)?;
                self.set(&out, Value::Dyn(y));
            }
            "Relu" => {
                let x = self.dyn_input(ctx, 0)?;
                let y = self.op(ctx, &out, Op::Relu, &[x])?;
                self.set(&out, Value::Dyn(y));
            }
            "LeakyRelu" => {
                // y = alpha * x + (1 - alpha) * relu(x): exact for any input, no table.
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(0.01));
                let x = self.dyn_input(ctx, 0)?;
                let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
                let pa = self.param(
                    ctx,
                    &format!("{out}/alpha"),
                    &Const {
                        shape: vec![],
                        data: vec![alpha],
                    },
                    self.sp,
                )?;
                let pb = self.param(
                    ctx,
                    &format!("{out}/one_minus_alpha"),
                    &Const {
                        shape: vec![],
                        data: vec![1.0 - alpha],
                    },
                    self.sp,
                )?;
                let a = self.op(ctx, &format!("{out}/linear"), Op::Mul, &[x, pa])?;
                let r = self.op(ctx, &format!("{out}/positive"), Op::Mul, &[r, pb])?;
                let y = self.op(ctx, &format!("{out}/sum"), Op::Add, &[a, r])?;
                let y = self.rescale(ctx, &out, y, self.sp.bits())?;
                self.set(&out, Value::Dyn(y));
            }
            "Sigmoid" => self.table(ctx, &out, Function::Sigmoid, SIGMOID_RADIUS)?,
            "Tanh" => self.table(ctx, &out, Function::Tanh, TANH_RADIUS)?,
            "Erf" => self.table(ctx, &out, Function::Erf, ERF_RADIUS)?,
            "Gelu" => {
                // gelu(x) = x * Phi(x), Phi tabulated on a saturating domain: exact for inputs
                // of any size. (The tanh approximation differs from this by < 1e-3.)
                let x = self.dyn_input(ctx, 0)?;
                let phi = self.lookup(
                    ctx,
                    &format!("{out}/cdf"),
                    x,
                    Function::NormalCdf,
                    NORMAL_CDF_RADIUS,
                )?;
                let y = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, phi])?;
                let y = self.rescale(ctx, &out, y, self.s.bits())?;
                self.set(&out, Value::Dyn(y));
            }
            "Softmax" => self.softmax(ctx, &out)?,
            "LogSoftmax" => self.log_softmax(ctx, &out)?,
            "LayerNormalization" => self.layer_norm(ctx, &out)?,
            "InstanceNormalization" => self.instance_norm(ctx, &out)?,
            "BatchNormalization" => self.batch_norm(ctx, &out)?,
            "MaxPool" | "AveragePool" => self.pool(ctx, &out)?,
            "GlobalAveragePool" => {
                let x = self.dyn_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let axes = (2..rank).collect();
                let y = self.op(
                    ctx,
                    &out,
                    Op::Mean {
                        axes,
                        keep_dims: true,
                        rounding: Rounding::HalfUp,
                    },
                    &[x],
                )?;
                self.set(&out, Value::Dyn(y));
            }
            "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => self.reshape(ctx, &out)?,
            "Transpose" => self.transpose(ctx, &out)?,
            "Concat" => {
                let n = ctx.node.input.len();
                // Empty constants (an empty Split piece) add nothing.
                let kept: Vec<usize> = (0..n)
                    .filter(
                        |&i| !matches!(self.get(ctx, i), Ok(Value::Const(c)) if c.data.is_empty()),
                    )
                    .collect();
                let ids = kept
                    .into_iter()
                    .map(|i| self.dyn_input(ctx, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let rank = ids.first().map_or(0, |id| self.shape(*id).len());
                let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
                let y = self.op(ctx, &out, Op::Concat { axis: a }, &ids)?;
                self.set(&out, Value::Dyn(y));
            }
            // Optional values (opset 15+) of a tensor: the tensor itself; an absent one has no
            // element. A graph input is always present.
            "Optional" | "OptionalGetElement" if ctx.input(0).is_some() => {
                let v = self.get(ctx, 0)?.clone();
                self.set(&out, v);
            }
            "OptionalHasElement" => {
                let present = match ctx.input(0) {
                    Some(_) => {
                        self.get(ctx, 0)?;
                        1.0
                    }
                    None => 0.0,
                };
                self.bools.insert(out.clone());
                self.set(
                    &out,
                    Value::Const(Const {
                        shape: vec![],
                        data: vec![present],
                    }),
                );
            }
            // Operators folded on constants only (their output's shape or values are their
            // inputs' values): the first computed input is named (`NeedsConstant`), and
            // calibration fixes the graph inputs it comes from.
            "Range" | "BlackmanWindow" | "HannWindow" | "HammingWindow" | "NonZero"
            | "MelWeightMatrix" => {
                for i in 0..ctx.node.input.len() {
                    if ctx.input(i).is_some() {
                        self.constant(ctx, i)?;
                    }
                }
                return Err(ctx.unsupported(
                    "a constants-only operator",
                    "with every input constant it folds",
                ));
            }
            other if control::OPERATORS.contains(&other) => self.control(ctx)?,
            other if more::OPERATORS.contains(&other) => self.more(ctx, &out)?,
            other if movement::OPERATORS.contains(&other) => self.movement(ctx, &out)?,
            other if index::OPERATORS.contains(&other) => self.index(ctx, &out)?,
            other if recurrent::OPERATORS.contains(&other) => self.recurrent(ctx, &out)?,
            other if ml::OPERATORS.contains(&other) => self.tree_ensemble(ctx)?,
            other if ml::LINEAR.contains(&other) => self.linear_ml(ctx, &out)?,
            other if shapes::OPERATORS.contains(&other) => self.shapes(ctx, &out)?,
            other if attention::OPERATORS.contains(&other) => self.attention(ctx, &out)?,
            other if loss::OPERATORS.contains(&other) => self.loss(ctx, &out)?,
            other if signal::OPERATORS.contains(&other) => self.signal(ctx, &out)?,
            other if stateful::OPERATORS.contains(&other) => self.stateful(ctx, &out)?,
            other if quantize::OPERATORS.contains(&other) => self.dynamic_quantize(ctx, &out)?,
            other if optimizers::OPERATORS.contains(&other) => self.optimizer(ctx, &out)?,
            other => {
                return Err(OnnxError::UnsupportedOperator {
                    op_type: other.into(),
                    node: ctx.name.clone(),
                });
            }
        }
        Ok(())
    }

    /// `Dropout` outside training (or training with ratio 0): the identity, and its optional
    /// mask all true. Training with a nonzero ratio drops at random: not provable as a
    /// function of the input, refused by name.
    fn dropout(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let known = |me: &Self, i: usize, default: f64| -> Result<f64, OnnxError> {
            match ctx.input(i) {
                None => Ok(default),
                Some(_) => Ok(me
                    .constant(ctx, i)?
                    .data
                    .first()
                    .copied()
                    .unwrap_or(default)),
            }
        };
        let training = known(self, 2, 0.0)? != 0.0;
        let ratio = if self.opset < 12 {
            f64::from(ctx.node.float("ratio").unwrap_or(0.5))
        } else {
            known(self, 1, 0.5)?
        };
        if training && ratio != 0.0 {
            return Err(ctx.unsupported("a Dropout in training mode (random)", ratio));
        }
        let v = self.get(ctx, 0)?.clone();
        let shape = match &v {
            Value::Dyn(x) => self.shape(*x),
            Value::Const(c) => c.shape.clone(),
        };
        self.set(out, v);
        if let Some(mask) = ctx.node.output.get(1).filter(|m| !m.is_empty()) {
            let n = shape.iter().product();
            let mask = mask.clone();
            self.bools.insert(mask.clone());
            self.ints.insert(mask.clone());
            self.set(
                &mask,
                Value::Const(Const {
                    shape,
                    data: vec![1.0; n],
                }),
            );
        }
        Ok(())
    }

    /// A Conv or pool with `auto_pad` `SAME_UPPER` / `SAME_LOWER`: the same node with the
    /// explicit pads ONNX defines for the input's (known) spatial size: output `ceil(in /
    /// stride)`, total padding `max((out - 1) stride + (k - 1) dilation + 1 - in, 0)`, the odd
    /// unit at the end (`SAME_UPPER`) or the beginning (`SAME_LOWER`).
    fn explicit_pads(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let n = ctx.node;
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let spatial = shape.get(2..).unwrap_or_default().to_vec();
        let kernel: Vec<usize> = if n.op_type == "Conv" {
            let w = match self.get(ctx, 1)? {
                Value::Const(c) => c.shape.clone(),
                Value::Dyn(id) => self.shape(*id),
            };
            w.get(2..).unwrap_or_default().to_vec()
        } else {
            usizes(
                ctx,
                "kernel_shape",
                &n.ints("kernel_shape").unwrap_or_default(),
            )?
        };
        let dims = spatial.len();
        let per_axis = |name: &'static str| -> Result<Vec<usize>, OnnxError> {
            match n.ints(name) {
                Some(v) if v.len() == dims => usizes(ctx, name, &v),
                Some(v) => Err(ctx.unsupported(
                    "an attribute with one value per axis",
                    format!("{name} {v:?}"),
                )),
                None => Ok(vec![1; dims]),
            }
        };
        let (strides, dilations) = (per_axis("strides")?, per_axis("dilations")?);
        if kernel.len() != dims || strides.contains(&0) {
            return Err(ctx.unsupported(
                "auto_pad with a kernel or strides that do not match the input",
                format!("kernel {kernel:?}, input {shape:?}"),
            ));
        }
        let lower = n.string("auto_pad").as_deref() == Some("SAME_LOWER");
        let (mut begin, mut end) = (Vec::with_capacity(dims), Vec::with_capacity(dims));
        for (((&i, &k), &st), &d) in spatial.iter().zip(&kernel).zip(&strides).zip(&dilations) {
            let out = i.div_ceil(st);
            let total =
                ((out.saturating_sub(1)) * st + (k.saturating_sub(1)) * d + 1).saturating_sub(i);
            let (small, large) = (total / 2, total - total / 2);
            let (b, e) = if lower {
                (large, small)
            } else {
                (small, large)
            };
            begin.push(i64::try_from(b).unwrap_or(0));
            end.push(i64::try_from(e).unwrap_or(0));
        }
        let mut node = n.clone();
        node.attribute
            .retain(|a| a.name != "auto_pad" && a.name != "pads");
        node.attribute
            .push(ints_attr("pads", &[begin, end].concat()));
        self.node(&Ctx {
            node: &node,
            name: ctx.name.clone(),
        })
    }

    fn constant_node(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let c = if let Some(t) = n.attr("value").and_then(|a| a.t.as_ref()) {
            tensor_const(t, out)?
        } else if let Some(f) = n.attr("value_float") {
            Const {
                shape: vec![],
                data: vec![f64::from(f.f)],
            }
        } else if let Some(f) = n.attr("value_floats") {
            Const {
                shape: vec![f.floats.len()],
                data: f.floats.iter().map(|&v| f64::from(v)).collect(),
            }
        } else if let Some(i) = n.attr("value_int") {
            #[allow(clippy::cast_precision_loss)]
            Const {
                shape: vec![],
                data: vec![i.i as f64],
            }
        } else if let Some(i) = n.attr("value_ints") {
            #[allow(clippy::cast_precision_loss)]
            Const {
                shape: vec![i.ints.len()],
                data: i.ints.iter().map(|&v| v as f64).collect(),
            }
        } else {
            return Err(ctx.unsupported("a Constant without a numeric value", "sparse or string"));
        };
        let int = n.attr("value_int").is_some()
            || n.attr("value_ints").is_some()
            || n.attr("value")
                .and_then(|a| a.t.as_ref())
                .is_some_and(|t| fold::is_integer_type(t.data_type));
        if int {
            self.ints.insert(out.to_string());
        }
        self.set(out, Value::Const(c));
        Ok(())
    }

    /// A bias constant reshaped to `[n]` when it is one value per output column.
    fn bias_vector(c: Const, n: usize) -> Const {
        if c.numel() == 1 {
            Const {
                shape: vec![n],
                data: vec![c.data.first().copied().unwrap_or(0.0); n],
            }
        } else if c.numel() == n && (c.shape.len() == 1 || c.shape.first() == Some(&1)) {
            Const {
                shape: vec![n],
                data: c.data,
            }
        } else {
            c
        }
    }

    fn gemm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let alpha = f64::from(n.float("alpha").unwrap_or(1.0));
        let beta = f64::from(n.float("beta").unwrap_or(1.0));
        let trans_a = n.int("transA").unwrap_or(0) != 0;
        let trans_b = n.int("transB").unwrap_or(0) != 0;
        let a = match self.get(ctx, 0)? {
            Value::Dyn(id) => *id,
            Value::Const(c) => {
                let c = c.clone();
                return self.gemm_constant_a(ctx, out, &c, [alpha, beta], [trans_a, trans_b]);
            }
        };
        let fold = self.folds.remove(out);
        let (b, shift) = match self.get(ctx, 1)? {
            Value::Const(c) => {
                let c = c.clone();
                let cols = if trans_b {
                    c.shape.first()
                } else {
                    c.shape.get(1)
                }
                .copied()
                .unwrap_or(0);
                check_fold(ctx, fold.as_ref(), cols)?;
                let w = scaled(&c, |i, v| {
                    let col = if trans_b {
                        i / c.shape.get(1).copied().unwrap_or(1).max(1)
                    } else {
                        i % cols.max(1)
                    };
                    alpha
                        * v
                        * fold
                            .as_ref()
                            .map_or(1.0, |f| f.a.get(col).copied().unwrap_or(1.0))
                });
                let name = format!(
                    "{}{}",
                    ctx.input(1).unwrap_or_default(),
                    if alpha != 1.0 || fold.is_some() {
                        "/scaled"
                    } else {
                        ""
                    }
                );
                (self.param(ctx, &name, &w, self.sp)?, self.sp)
            }
            Value::Dyn(id) => {
                if alpha != 1.0 || fold.is_some() {
                    let err = ctx.unsupported("alpha != 1 with a computed B", alpha);
                    return Err(self.fixable_or(ctx, 1, err));
                }
                (*id, self.s)
            }
        };
        let m_shape = self.shape(b);
        let ncols = if trans_b {
            m_shape.first()
        } else {
            m_shape.get(1)
        }
        .copied()
        .unwrap_or(0);
        let bias_scale = self
            .s
            .product(shift)
            .map_err(|e| ctx.unsupported("the product scale", e))?;
        let mut inputs = vec![a, b];
        let mut late_bias = None;
        let bias = match ctx.input(2) {
            Some(_) => match self.get(ctx, 2)? {
                Value::Const(c) => Some(Self::bias_vector(scaled(c, |_, v| beta * v), ncols)),
                Value::Dyn(id) => {
                    if beta != 1.0 {
                        let err = ctx.unsupported("beta != 1 with a computed C", beta);
                        return Err(self.fixable_or(ctx, 2, err));
                    }
                    late_bias = Some(*id);
                    None
                }
            },
            None => None,
        };
        let bias = match (bias, &fold) {
            (Some(c), Some(f)) => {
                if c.data.len() != ncols {
                    return Err(ctx.unsupported(
                        "a Gemm bias folded with a BatchNormalization that is not per column",
                        format!("{} bias values for {ncols} columns", c.data.len()),
                    ));
                }
                Some(scaled(&c, |i, v| {
                    v * f.a.get(i).copied().unwrap_or(1.0) + f.b.get(i).copied().unwrap_or(0.0)
                }))
            }
            (None, Some(f)) => Some(Const {
                shape: vec![f.b.len()],
                data: f.b.clone(),
            }),
            (c, None) => c,
        };
        if let Some(c) = bias {
            let name = format!(
                "{}{}",
                ctx.input(2).unwrap_or(out),
                if beta != 1.0 || fold.is_some() {
                    "/scaled"
                } else {
                    ""
                }
            );
            inputs.push(self.param(ctx, &name, &c, bias_scale)?);
        }
        let y = self.op(
            ctx,
            &format!("{out}/acc"),
            Op::Gemm { trans_a, trans_b },
            &inputs,
        )?;
        let final_name = fold.as_ref().map_or(out.to_string(), |f| f.out.clone());
        let mut y = self.rescale(ctx, &final_name, y, shift.bits())?;
        if let Some(c) = late_bias {
            y = self.op(ctx, &format!("{final_name}/bias"), Op::Add, &[y, c])?;
        }
        self.set(&final_name, Value::Dyn(y));
        Ok(())
    }

    /// Gemm whose `A` is a constant and `B` computed (hummingbird's tree ensembles: `W x^T`):
    /// `alpha A' B' = (B'^T (alpha A'^T))^T`, one `gemm` with the computed operand first, a
    /// transpose back, then `beta C` added (broadcast as ONNX does).
    fn gemm_constant_a(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: &Const,
        [alpha, beta]: [f64; 2],
        [trans_a, trans_b]: [bool; 2],
    ) -> Result<(), OnnxError> {
        if self.folds.contains_key(out) {
            return Err(ctx.unsupported(
                "a BatchNormalization folded into a Gemm with a constant A",
                "",
            ));
        }
        let b = match self.get(ctx, 1)? {
            Value::Dyn(id) => *id,
            Value::Const(_) => {
                return Err(ctx.unsupported("a Gemm of two constants", "not folded"));
            }
        };
        let a = scaled(a, |_, v| alpha * v);
        let name = format!(
            "{}{}",
            ctx.input(0).unwrap_or_default(),
            if alpha == 1.0 { "" } else { "/scaled" }
        );
        let w = self.param(ctx, &name, &a, self.sp)?;
        let t = self.op(
            ctx,
            &format!("{out}/acc"),
            Op::Gemm {
                trans_a: !trans_b,
                trans_b: !trans_a,
            },
            &[b, w],
        )?;
        let t = self.rescale(ctx, &format!("{out}/transposed"), t, self.sp.bits())?;
        let with_c = ctx.input(2).is_some() && beta != 0.0;
        let product = if with_c {
            format!("{out}/product")
        } else {
            out.to_string()
        };
        let mut y = self.op(ctx, &product, Op::Transpose { perm: vec![1, 0] }, &[t])?;
        if with_c {
            let c = match self.get(ctx, 2)? {
                Value::Const(c) => {
                    let c = scaled(c, |_, v| beta * v);
                    let name = format!("{}/scaled", ctx.input(2).unwrap_or(out));
                    self.param(ctx, &name, &c, self.s)?
                }
                Value::Dyn(id) if beta == 1.0 => *id,
                Value::Dyn(_) => {
                    let err = ctx.unsupported("beta != 1 with a computed C", beta);
                    return Err(self.fixable_or(ctx, 2, err));
                }
            };
            y = self.op(ctx, out, Op::Add, &[y, c])?;
        }
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    fn matmul(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let (a, sa) = match self.get(ctx, 0)? {
            Value::Dyn(id) => (*id, self.s),
            Value::Const(c) => {
                let c = c.clone();
                (
                    self.param(ctx, ctx.input(0).unwrap_or_default(), &c, self.sp)?,
                    self.sp,
                )
            }
        };
        let (b, sb) = match self.get(ctx, 1)? {
            Value::Dyn(id) => (*id, self.s),
            Value::Const(c) => {
                let c = c.clone();
                (
                    self.param(ctx, ctx.input(1).unwrap_or_default(), &c, self.sp)?,
                    self.sp,
                )
            }
        };
        // numpy's rule for a vector: `[k]` on the left is the row `[1, k]`, on the right the
        // column `[k, 1]`; that axis is dropped from the product.
        let (sha, shb) = (self.shape(a), self.shape(b));
        if sha.is_empty() || shb.is_empty() {
            return Err(ctx.unsupported("MatMul of a scalar", "rank 0"));
        }
        let (a_vec, b_vec) = (sha.len() == 1, shb.len() == 1);
        let a = if a_vec {
            self.reshape_to(ctx, &format!("{out}/row"), a, [&[1], &sha[..]].concat())?
        } else {
            a
        };
        let b = if b_vec {
            self.reshape_to(ctx, &format!("{out}/column"), b, [&shb[..], &[1]].concat())?
        } else {
            b
        };
        let (ra, rb) = (self.shape(a).len(), self.shape(b).len());
        let y = if ra == 2 && rb == 2 {
            self.op(ctx, &format!("{out}/acc"), Op::MatMul, &[a, b])?
        } else {
            self.batched_matmul(ctx, out, a, b)?
        };
        // One side is back at `s` after dropping the other side's scale.
        let shift = if sa == self.s { sb.bits() } else { sa.bits() };
        let name = if a_vec || b_vec {
            format!("{out}/product")
        } else {
            out.to_string()
        };
        let mut y = self.rescale(ctx, &name, y, shift)?;
        if a_vec || b_vec {
            let mut target = self.shape(y);
            let r = target.len();
            if b_vec {
                target.remove(r - 1);
            }
            if a_vec {
                target.remove(r - 2);
            }
            y = self.reshape_to(ctx, out, y, target)?;
        }
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// MatMul over stacks of matrices (numpy broadcasting of the batch axes): a stack times one
    /// matrix is one `matmul` of the stack's rows; otherwise one `matmul` per batch entry on
    /// `slice`s, `concat`enated. Exact: only copies besides the products.
    fn batched_matmul(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let split = |s: &[usize]| {
            let (batch, mat) = s.split_at(s.len().saturating_sub(2));
            (
                batch.to_vec(),
                mat.first().copied().unwrap_or(1),
                mat.get(1).copied().unwrap_or(1),
            )
        };
        let ((ba, m, k), (bb, k2, n)) = (split(&sa), split(&sb));
        if k != k2 {
            return Err(ctx.unsupported(
                "MatMul of shapes whose inner dimensions differ",
                format!("{sa:?} x {sb:?}"),
            ));
        }
        // A stack times one matrix: the stack's rows times the matrix.
        if bb.iter().all(|&d| d == 1) {
            let rows = ba.iter().product::<usize>() * m;
            let a2 = self.reshape_to(ctx, &format!("{out}/rows"), a, vec![rows, k])?;
            let b2 = self.reshape_to(ctx, &format!("{out}/matrix"), b, vec![k, n])?;
            let y = self.op(ctx, &format!("{out}/acc2d"), Op::MatMul, &[a2, b2])?;
            let mut shape = ba.clone();
            shape.extend([m, n]);
            if bb.len() > ba.len() {
                shape = [vec![1; bb.len() - ba.len()], shape].concat();
            }
            return self.reshape_to(ctx, &format!("{out}/acc"), y, shape);
        }
        // Batch axes broadcast as numpy does.
        let rank = ba.len().max(bb.len());
        let pad = |v: &[usize]| [vec![1; rank - v.len()], v.to_vec()].concat();
        let (pa, pb) = (pad(&ba), pad(&bb));
        let batch = fold::broadcast_shape(&pa, &pb).ok_or_else(|| {
            ctx.unsupported(
                "MatMul batch axes that do not broadcast",
                format!("{sa:?} x {sb:?}"),
            )
        })?;
        let count: usize = batch.iter().product();
        let (na, nb): (usize, usize) = (pa.iter().product(), pb.iter().product());
        let a3 = self.reshape_to(ctx, &format!("{out}/a_stack"), a, vec![na, m, k])?;
        let b3 = self.reshape_to(ctx, &format!("{out}/b_stack"), b, vec![nb, k, n])?;
        // The stack index of batch entry `i` in an operand with batch shape `p` (broadcast
        // axes read index 0).
        let index = |p: &[usize], mut i: usize| -> usize {
            let mut idx = 0;
            let mut stride = 1;
            for (d, &full) in p.iter().zip(&batch).rev() {
                let x = i % full;
                i /= full;
                if *d != 1 {
                    idx += x * stride;
                }
                stride *= d;
            }
            idx
        };
        let take = |me: &mut Self, name: &str, x: TensorId, j: usize, r: usize, c: usize| {
            let s = me.op(
                ctx,
                &format!("{name}/slice"),
                Op::Slice {
                    axis: 0,
                    start: j,
                    end: j + 1,
                },
                &[x],
            )?;
            me.reshape_to(ctx, name, s, vec![r, c])
        };
        let mut parts = Vec::with_capacity(count);
        for i in 0..count {
            let ai = take(self, &format!("{out}/a{i}"), a3, index(&pa, i), m, k)?;
            let bi = take(self, &format!("{out}/b{i}"), b3, index(&pb, i), k, n)?;
            let yi = self.op(ctx, &format!("{out}/acc{i}"), Op::MatMul, &[ai, bi])?;
            parts.push(self.reshape_to(ctx, &format!("{out}/acc{i}/3d"), yi, vec![1, m, n])?);
        }
        let y = if let [one] = parts.as_slice() {
            *one
        } else {
            self.op(
                ctx,
                &format!("{out}/stacked"),
                Op::Concat { axis: 0 },
                &parts,
            )?
        };
        let mut shape = batch;
        shape.extend([m, n]);
        self.reshape_to(ctx, &format!("{out}/acc"), y, shape)
    }

    /// `y` times input `i` of `ctx`'s node (broadcasting): a constant as weights (reshaped to
    /// `shape` when given and it is not a single value), a computed tensor (weights given as a
    /// graph input) by a product rescaled back to the activation scale.
    pub(super) fn times_input(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        y: TensorId,
        i: usize,
        shape: Option<Vec<usize>>,
    ) -> Result<TensorId, OnnxError> {
        match self.get(ctx, i)? {
            Value::Dyn(g) => {
                let g = *g;
                let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[y, g])?;
                self.rescale(ctx, out, p, self.s.bits())
            }
            Value::Const(c) => {
                let mut c = c.clone();
                if let Some(shape) = shape
                    && c.data.len() > 1
                {
                    c.shape = shape;
                }
                let name = ctx.input(i).unwrap_or(out).to_string();
                self.mul_const(ctx, out, y, &name, &c)
            }
        }
    }

    fn mul(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let y = match (self.get(ctx, 0)?, self.get(ctx, 1)?) {
            (Value::Dyn(a), Value::Dyn(b)) => {
                let (a, b) = (*a, *b);
                let y = self.op(ctx, &format!("{out}/product"), Op::Mul, &[a, b])?;
                self.rescale(ctx, out, y, self.s.bits())?
            }
            (Value::Dyn(x), Value::Const(c)) | (Value::Const(c), Value::Dyn(x)) => {
                let (x, c) = (*x, c.clone());
                let cname = if matches!(self.get(ctx, 1)?, Value::Const(_)) {
                    ctx.input(1)
                } else {
                    ctx.input(0)
                };
                let cname = cname.unwrap_or(out).to_string();
                self.mul_const(ctx, out, x, &cname, &c)?
            }
            (Value::Const(_), Value::Const(_)) => {
                let a = self.dyn_input(ctx, 0)?;
                let c = self.constant(ctx, 1)?;
                let cname = ctx.input(1).unwrap_or(out).to_string();
                self.mul_const(ctx, out, a, &cname, &c)?
            }
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    fn lookup(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        f: Function,
        radius: f64,
    ) -> Result<TensorId, OnnxError> {
        self.lookup_on(ctx, name, x, f, -radius, radius)
    }

    fn table(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        f: Function,
        radius: f64,
    ) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let y = self.lookup(ctx, out, x, f, radius)?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    fn softmax(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(default), rank)?;
        let y = self.along_last(ctx, out, x, a, |me, name, x| me.softmax_last(ctx, name, x))?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// Softmax over the last axis at the activation scale (the composite; exp tabulated on
    /// `[exp_lo, 0]`, where `e^x` is at least half an output unit).
    fn softmax_last(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let s = self.s;
        #[allow(clippy::cast_possible_truncation)]
        let exp_lo = -(std::f64::consts::LN_2 * f64::from(s.bits() + 1) * s.factor()).ceil() as i64;
        let name = self.fresh(name);
        composite::softmax(&mut self.b, &name, x, s, s, s, exp_lo).map_err(|e| ctx.program(e))
    }

    /// `y * scale + bias` per channel (axis 1 of `y`, whose shape gives the channel count):
    /// InstanceNormalization's and GroupNormalization's affine step.
    fn channel_affine(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        y: TensorId,
        scale: Vec<f64>,
        bias: Vec<f64>,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(y);
        let mut per_channel = vec![1; shape.len().saturating_sub(1)];
        if let Some(c) = per_channel.first_mut() {
            *c = shape.get(1).copied().unwrap_or(1);
        }
        let scale = Const {
            shape: per_channel.clone(),
            data: scale,
        };
        let y = self.mul_const(
            ctx,
            &format!("{out}/scaled"),
            y,
            &format!("{out}/scale"),
            &scale,
        )?;
        let bias = Const {
            shape: per_channel,
            data: bias,
        };
        let b = self.param(ctx, &format!("{out}/bias"), &bias, self.s)?;
        self.op(ctx, out, Op::Add, &[y, b])
    }

    /// Apply `f` (an op over the last axis) over axis `a`: directly when `a` is last; before
    /// opset 13 (Softmax and LogSoftmax flatten at `axis`) on the `[before, after]` matrix;
    /// otherwise between two transposes that swap `a` and the last axis.
    fn along_last(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        f: impl FnOnce(&mut Self, &str, TensorId) -> Result<TensorId, OnnxError>,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let rank = shape.len();
        if a + 1 == rank {
            return f(self, out, x);
        }
        if self.opset < 13 {
            let (before, after) = shape.split_at(a.min(rank));
            let flat = vec![before.iter().product(), after.iter().product()];
            let x2 = self.op(ctx, &format!("{out}/2d"), Op::Reshape { shape: flat }, &[x])?;
            let y = f(self, &format!("{out}/inner"), x2)?;
            return self.op(ctx, out, Op::Reshape { shape }, &[y]);
        }
        let mut perm: Vec<usize> = (0..rank).collect();
        perm.swap(a, rank - 1);
        let t = self.op(
            ctx,
            &format!("{out}/to_last"),
            Op::Transpose { perm: perm.clone() },
            &[x],
        )?;
        let y = f(self, &format!("{out}/inner"), t)?;
        self.op(ctx, out, Op::Transpose { perm }, &[y])
    }

    fn layer_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let rank = shape.len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(-1), rank)?;
        let y = self.normalise_from(ctx, out, x, a)?;
        let y = match ctx.input(1) {
            Some(_) => self.times_input(ctx, &format!("{out}/scaled"), y, 1, None)?,
            None => y,
        };
        let y = match ctx.input(2) {
            Some(_) => {
                let beta = self.dyn_input(ctx, 2)?;
                self.op(ctx, out, Op::Add, &[y, beta])?
            }
            None => y,
        };
        self.set(out, Value::Dyn(y));
        self.layer_norm_statistics(ctx, a, rank)
    }

    /// LayerNormalization's optional outputs: `Mean` and `InvStdDev` over the axes from `a` on
    /// (kept as size 1), by the nodes of its function body (`ReduceMean`, the centred squares'
    /// mean, `1 / sqrt(var + epsilon)`).
    fn layer_norm_statistics(
        &mut self,
        ctx: &Ctx<'_>,
        a: usize,
        rank: usize,
    ) -> Result<(), OnnxError> {
        let output = |i: usize| ctx.node.output.get(i).filter(|o| !o.is_empty()).cloned();
        let (mean_out, inv_out) = (output(1), output(2));
        if mean_out.is_none() && inv_out.is_none() {
            return Ok(());
        }
        let x = ctx.input(0).unwrap_or_default().to_string();
        let p = format!(
            "{}/statistics",
            ctx.node.output.first().cloned().unwrap_or_default()
        );
        #[allow(clippy::cast_possible_wrap)]
        let axes: Vec<i64> = (a..rank).map(|k| k as i64).collect();
        let reduce = || vec![ints_attr("axes", &axes), int_attr("keepdims", 1)];
        let mean = mean_out.unwrap_or_else(|| format!("{p}/mean"));
        self.emit(ctx, "ReduceMean", &[&x], &mean, reduce())?;
        if let Some(inv) = inv_out {
            let (d, sq, var, eps, shifted, sd) = (
                format!("{p}/centred"),
                format!("{p}/squares"),
                format!("{p}/variance"),
                format!("{p}/epsilon"),
                format!("{p}/shifted"),
                format!("{p}/deviation"),
            );
            self.emit(ctx, "Sub", &[&x, &mean], &d, vec![])?;
            self.emit(ctx, "Mul", &[&d, &d], &sq, vec![])?;
            self.emit(ctx, "ReduceMean", &[&sq], &var, reduce())?;
            let e = f64::from(ctx.node.float("epsilon").unwrap_or(1e-5));
            self.bind_const(&eps, vec![], vec![e], false);
            self.emit(ctx, "Add", &[&var, &eps], &shifted, vec![])?;
            self.emit(ctx, "Sqrt", &[&shifted], &sd, vec![])?;
            self.emit(ctx, "Reciprocal", &[&sd], &inv, vec![])?;
        }
        Ok(())
    }

    /// `(x - mean) / sqrt(var + epsilon)` over the axes from `a` on (the layer-norm composite on
    /// the last axis, those axes flattened into one and back). The rsqrt table's range comes
    /// from the calibrated range of the node's input.
    fn normalise_from(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let s = self.s;
        let eps_f = f64::from(ctx.node.float("epsilon").unwrap_or(1e-5));
        #[allow(clippy::cast_possible_truncation)]
        let eps = (eps_f * s.factor() * s.factor()).round() as i64;
        let bound = self
            .settings
            .ranges
            .get(ctx.input(0).unwrap_or_default())
            .map_or(DEFAULT_VARIANCE_BOUND, |[lo, hi]| {
                ((hi - lo) / 2.0).powi(2) * VARIANCE_MARGIN
            });
        #[allow(clippy::cast_possible_truncation)]
        let rsqrt_hi = ((bound + eps_f) * s.factor()).ceil().max(2.0) as i64;
        if u64::try_from(rsqrt_hi).unwrap_or(u64::MAX) >= zkmlops_lookup::MAX_TABLE_ROWS {
            return Err(ctx.unsupported(
                "a normalisation variance range this wide at this scale",
                format!(
                    "variance up to {bound:.3} needs {rsqrt_hi} table rows at 2^{}",
                    s.bits()
                ),
            ));
        }
        let (before, after) = shape.split_at(a.min(shape.len()));
        let flat_needed = after.len() > 1;
        let input = if flat_needed {
            let mut flat = before.to_vec();
            flat.push(after.iter().product());
            self.op(
                ctx,
                &format!("{out}/flat"),
                Op::Reshape { shape: flat },
                &[x],
            )?
        } else {
            x
        };
        let name = self.fresh(&format!("{out}/normalised"));
        let y = composite::layer_norm(&mut self.b, &name, input, s, eps, rsqrt_hi)
            .map_err(|e| ctx.program(e))?;
        if flat_needed {
            self.op(ctx, &format!("{out}/unflat"), Op::Reshape { shape }, &[y])
        } else {
            Ok(y)
        }
    }

    /// InstanceNormalization: each (sample, channel) normalised over its spatial axes, then
    /// `scale` and `B` per channel.
    fn instance_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        if rank < 3 {
            return Err(ctx.unsupported("InstanceNormalization of rank < 3", rank));
        }
        let y = self.normalise_from(ctx, out, x, 2)?;
        let (scale, bias) = (self.constant(ctx, 1)?.data, self.constant(ctx, 2)?.data);
        let y = self.channel_affine(ctx, out, y, scale, bias)?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// A BatchNormalization that could not be folded: `y = a * x + b` per channel (axis 1).
    fn batch_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        if ctx.node.int("training_mode").unwrap_or(0) != 0 {
            return self.batch_norm_training(ctx, out);
        }
        let (a, b) = self.bn_affine(ctx.node).flatten().ok_or_else(|| {
            let err = ctx.unsupported(
                "BatchNormalization with computed or mismatched parameters",
                "scale, bias, mean and var must be constants of one length",
            );
            // The first parameter that is a graph input, if any, can be fixed.
            (1..5)
                .rev()
                .fold(err, |err, i| self.fixable_or(ctx, i, err))
        })?;
        let x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let mut shape = vec![1; rank.max(2)];
        if let Some(channels) = shape.get_mut(1) {
            *channels = a.len();
        }
        let y = self.mul_const(
            ctx,
            &format!("{out}/scaled"),
            x,
            &format!("{out}/a"),
            &Const {
                shape: shape.clone(),
                data: a,
            },
        )?;
        let pb = self.param(ctx, &format!("{out}/b"), &Const { shape, data: b }, self.s)?;
        let y = self.op(ctx, out, Op::Add, &[y, pb])?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// `BatchNormalization` with `training_mode` (opset 14+), through nodes the importer
    /// proves: the batch's own mean and (population) variance over every axis but 1 normalize
    /// `x`; the running statistics outputs are `input * momentum + batch * (1 - momentum)`.
    fn batch_norm_training(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let p = format!("{out}/training");
        let name = |i: usize| ctx.input(i).map(str::to_string);
        let (Some(x), Some(scale), Some(bias), Some(mean), Some(var)) =
            (name(0), name(1), name(2), name(3), name(4))
        else {
            return Err(ctx.unsupported("a BatchNormalization without its five inputs", ""));
        };
        let xs = self.shape_of(ctx, &x)?;
        let c = xs.get(1).copied().unwrap_or(0);
        let axes: Vec<f64> = (0..xs.len())
            .filter(|&a| a != 1)
            .map(|a| f64::from(u32::try_from(a).unwrap_or(0)))
            .collect();
        let mut per_channel = vec![1; xs.len()];
        if let Some(d) = per_channel.get_mut(1) {
            *d = c;
        }
        let bind = |me: &mut Self, tag: &str, shape: Vec<usize>, data: Vec<f64>, int: bool| {
            let n = format!("{p}/{tag}");
            me.bind_const(&n, shape, data, int);
            n
        };
        let axes_n = bind(self, "axes", vec![axes.len()], axes, true);
        let eps = f64::from(ctx.node.float("epsilon").unwrap_or(1e-5));
        let momentum = f64::from(ctx.node.float("momentum").unwrap_or(0.9));
        let eps_n = bind(self, "epsilon", vec![], vec![eps], false);
        let m_n = bind(self, "momentum", vec![], vec![momentum], false);
        let rest_n = bind(
            self,
            "one_minus_momentum",
            vec![],
            vec![1.0 - momentum],
            false,
        );
        let keep = vec![int_attr("keepdims", 1)];
        let (bmean, centred, sq, bvar) = (
            format!("{p}/batch_mean"),
            format!("{p}/centred"),
            format!("{p}/squared"),
            format!("{p}/batch_var"),
        );
        self.emit(ctx, "ReduceMean", &[&x, &axes_n], &bmean, keep.clone())?;
        self.emit(ctx, "Sub", &[&x, &bmean], &centred, vec![])?;
        self.emit(ctx, "Mul", &[&centred, &centred], &sq, vec![])?;
        self.emit(ctx, "ReduceMean", &[&sq, &axes_n], &bvar, keep)?;
        let (shifted, root, normal) = (
            format!("{p}/var_eps"),
            format!("{p}/std"),
            format!("{p}/normalized"),
        );
        self.emit(ctx, "Add", &[&bvar, &eps_n], &shifted, vec![])?;
        self.emit(ctx, "Sqrt", &[&shifted], &root, vec![])?;
        self.emit(ctx, "Div", &[&centred, &root], &normal, vec![])?;
        let (s4, b4, scaled) = (
            format!("{p}/scale"),
            format!("{p}/bias"),
            format!("{p}/scaled"),
        );
        self.emit_reshape(ctx, &scale, &per_channel, &s4)?;
        self.emit_reshape(ctx, &bias, &per_channel, &b4)?;
        self.emit(ctx, "Mul", &[&normal, &s4], &scaled, vec![])?;
        self.emit(ctx, "Add", &[&scaled, &b4], out, vec![])?;
        // Running statistics, per channel ([C]).
        for (k, (input, batch, tag)) in [(&mean, &bmean, "mean"), (&var, &bvar, "var")]
            .into_iter()
            .enumerate()
        {
            let Some(target) = ctx.node.output.get(k + 1).filter(|o| !o.is_empty()) else {
                continue;
            };
            let target = target.clone();
            let (flat, old, new) = (
                format!("{p}/batch_{tag}_flat"),
                format!("{p}/kept_{tag}"),
                format!("{p}/new_{tag}"),
            );
            self.emit_reshape(ctx, batch, &[c], &flat)?;
            self.emit(ctx, "Mul", &[input, &m_n], &old, vec![])?;
            self.emit(ctx, "Mul", &[&flat, &rest_n], &new, vec![])?;
            self.emit(ctx, "Add", &[&old, &new], &target, vec![])?;
        }
        Ok(())
    }

    fn conv(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let x = match self.get(ctx, 0)? {
            Value::Dyn(id) => *id,
            Value::Const(_) => {
                return Err(ctx.unsupported("a constant input", "Conv's X must be computed"));
            }
        };
        if let Value::Dyn(w) = self.get(ctx, 1)? {
            let w = *w;
            return self.conv_computed(ctx, out, x, w);
        }
        let w = self.constant(ctx, 1)?;
        if w.shape.len() != 4 {
            return Err(ctx.unsupported(
                "a Conv that is not 2-D",
                format!("weight shape {:?}", w.shape),
            ));
        }
        let fold = self.folds.remove(out);
        let o = w.shape.first().copied().unwrap_or(0);
        check_fold(ctx, fold.as_ref(), o)?;
        let per_o = w.numel() / o.max(1);
        let w = scaled(&w, |i, v| {
            v * fold
                .as_ref()
                .map_or(1.0, |f| f.a.get(i / per_o.max(1)).copied().unwrap_or(1.0))
        });
        let bias = match ctx.input(2) {
            Some(_) => Some(self.constant(ctx, 2)?),
            None => None,
        };
        if let Some(c) = &bias
            && c.data.len() != o
        {
            return Err(ctx.unsupported(
                "a Conv bias that is not one value per output channel",
                format!("{} bias values for {o} output channels", c.data.len()),
            ));
        }
        let bias = match (bias, &fold) {
            (Some(c), Some(f)) => Some(scaled(&c, |i, v| {
                v * f.a.get(i).copied().unwrap_or(1.0) + f.b.get(i).copied().unwrap_or(0.0)
            })),
            (None, Some(f)) => Some(Const {
                shape: vec![o],
                data: f.b.clone(),
            }),
            (c, None) => c,
        };
        let groups = usize::try_from(n.int("group").unwrap_or(1)).unwrap_or(0);
        if groups == 0 || !o.is_multiple_of(groups) {
            return Err(ctx.unsupported("group", format!("{groups} for {o} output channels")));
        }
        let params = conv2d_params(ctx, &w.shape)?;
        let final_name = fold.as_ref().map_or(out.to_string(), |f| f.out.clone());
        let bias_scale = self
            .s
            .product(self.sp)
            .map_err(|e| ctx.unsupported("the product scale", e))?;
        let wname = ctx.input(1).unwrap_or(out).to_string();
        let bname = ctx.input(2).unwrap_or(out).to_string();
        let suffix = if fold.is_some() { "/folded" } else { "" };
        // Grouped convolution: one convolution per group on its channel slice, concatenated.
        let og = o / groups;
        let cg = w.shape.get(1).copied().unwrap_or(0);
        let mut parts = Vec::new();
        for g in 0..groups {
            let (wg, bg, xg, tag) = if groups == 1 {
                (w.clone(), bias.clone(), x, String::new())
            } else {
                let xg = self.op(
                    ctx,
                    &format!("{final_name}/group{g}/x"),
                    Op::Slice {
                        axis: 1,
                        start: g * cg,
                        end: (g + 1) * cg,
                    },
                    &[x],
                )?;
                let slice = |data: &[f64], len: usize| {
                    data.get(g * len..(g + 1) * len)
                        .map(<[f64]>::to_vec)
                        .ok_or_else(|| ctx.unsupported("a grouped Conv's weights", "too short"))
                };
                let wg = Const {
                    shape: [vec![og], w.shape.get(1..).unwrap_or_default().to_vec()].concat(),
                    data: slice(&w.data, og * per_o)?,
                };
                let bg = match bias.as_ref() {
                    Some(b) => Some(Const {
                        shape: vec![og],
                        data: slice(&b.data, og)?,
                    }),
                    None => None,
                };
                (wg, bg, xg, format!("/group{g}"))
            };
            let pw = self.param(ctx, &format!("{wname}{suffix}{tag}"), &wg, self.sp)?;
            let mut inputs = vec![xg, pw];
            if let Some(b) = bg {
                inputs.push(self.param(ctx, &format!("{bname}{suffix}{tag}"), &b, bias_scale)?);
            }
            let y = self.op(
                ctx,
                &format!("{final_name}{tag}/acc"),
                Op::Conv2d(params),
                &inputs,
            )?;
            parts.push(y);
        }
        let y = if let [only] = parts[..] {
            only
        } else {
            self.op(
                ctx,
                &format!("{final_name}/acc"),
                Op::Concat { axis: 1 },
                &parts,
            )?
        };
        let y = self.rescale(ctx, &final_name, y, self.sp.bits())?;
        self.set(&final_name, Value::Dyn(y));
        Ok(())
    }

    /// A 2-D Conv whose weights are computed (a graph input: weights the prover supplies, or
    /// weights computed by the model): the same `conv2d` at the activation scale on both
    /// sides, rescaled once, then the bias (constant or computed) added per output channel.
    fn conv_computed(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        w: TensorId,
    ) -> Result<(), OnnxError> {
        let n = ctx.node;
        let ws = self.shape(w);
        let groups = n.int("group").unwrap_or(1);
        if ws.len() != 4 || groups != 1 || self.folds.contains_key(out) {
            let err = ctx.unsupported(
                "computed Conv weights other than 2-D, ungrouped and unfolded",
                format!("weight shape {ws:?}, group {groups}"),
            );
            return Err(self.fixable_or(ctx, 1, err));
        }
        let params = conv2d_params(ctx, &ws)?;
        let y = self.op(ctx, &format!("{out}/acc"), Op::Conv2d(params), &[x, w])?;
        let name = if ctx.input(2).is_some() {
            format!("{out}/unbiased")
        } else {
            out.to_string()
        };
        let mut y = self.rescale(ctx, &name, y, self.s.bits())?;
        if ctx.input(2).is_some() {
            let o = ws.first().copied().unwrap_or(0);
            let b = self.dyn_input(ctx, 2)?;
            let b = self.reshape_to(ctx, &format!("{out}/bias"), b, vec![1, o, 1, 1])?;
            y = self.op(ctx, out, Op::Add, &[y, b])?;
        }
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    fn pool(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let (y, geometry, begin) = self.pool_values(ctx, out, x)?;
        self.set(out, Value::Dyn(y));
        // MaxPool's second output: where each maximum is in the input.
        if let Some(indices) = ctx.node.output.get(1).filter(|o| !o.is_empty())
            && ctx.node.op_type == "MaxPool"
        {
            let i = self.max_pool_indices(ctx, indices, x, y, geometry, begin)?;
            self.set(indices, Value::Dyn(i));
        }
        Ok(())
    }

    /// A 2-D pool's values, with its `[kernel, strides, dilations]` and begin pads `[top,
    /// left]` as the node gives them.
    #[allow(clippy::type_complexity)]
    fn pool_values(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<(TensorId, [[usize; 2]; 3], [usize; 2]), OnnxError> {
        let n = ctx.node;
        let ceil_mode = n.int("ceil_mode").unwrap_or(0) != 0;
        let kernel = pair(ctx, "kernel_shape", n.ints("kernel_shape"), 0)?;
        let dilations = pair(ctx, "dilations", n.ints("dilations"), 1)?;
        let strides = pair(ctx, "strides", n.ints("strides"), 1)?;
        let mut pads = pads4(ctx)?;
        let geometry = [kernel, strides, dilations];
        let begin = [pads[0], pads[1]];
        // `ceil_mode`: extra end padding, never read or counted, for the last partial windows,
        // from the input and pads as given (the last window must start inside the input or its
        // begin padding; a window spans `(k - 1) d + 1` entries).
        let extra = match (ceil_mode, &self.shape(x)[..]) {
            (true, &[_, _, h, w]) => {
                let [t, l, b, r] = pads;
                let reach = |k: usize, d: usize| k.saturating_sub(1) * d + 1;
                [
                    ceil_mode_extra(h, t, b, reach(kernel[0], dilations[0]), strides[0]),
                    ceil_mode_extra(w, l, r, reach(kernel[1], dilations[1]), strides[1]),
                ]
            }
            _ => [0, 0],
        };
        if dilations != [1, 1] {
            // Average pooling: `Some(count_include_pad)`.
            let average =
                (n.op_type != "MaxPool").then(|| n.int("count_include_pad").unwrap_or(0) != 0);
            let y = self.dilated_pool(ctx, out, x, geometry, (pads, extra), average)?;
            return Ok((y, geometry, begin));
        }
        let mut x = x;
        if n.op_type != "MaxPool"
            && n.int("count_include_pad").unwrap_or(0) != 0
            && pads.iter().any(|&p| p > 0)
        {
            // PyTorch's default: the padding counts in every window's divisor. Written out as
            // zeros, the pool then counts them like any other element; `ceil_mode`'s extra
            // end padding below stays uncounted, as in PyTorch and onnxruntime.
            let [t, l, b, r] = pads;
            x = self.constant_pad(ctx, &format!("{out}/padded"), x, 2, t, b, 0.0)?;
            x = self.constant_pad(ctx, &format!("{out}/padded"), x, 3, l, r, 0.0)?;
            pads = [0; 4];
        }
        let [t, l, b, r] = pads;
        let params = Pool2dParams {
            kernel,
            strides,
            pads: [t, l, b + extra[0], r + extra[1]],
        };
        let op = if n.op_type == "MaxPool" {
            Op::MaxPool2d(params)
        } else {
            Op::AvgPool2d {
                params,
                rounding: Rounding::HalfUp,
            }
        };
        let y = self.op(ctx, out, op, &[x])?;
        Ok((y, geometry, begin))
    }

    /// Flatten, Reshape, Squeeze and Unsqueeze: a new shape for the same values.
    fn reshape(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let (shape, value) = match self.get(ctx, 0)? {
            Value::Dyn(id) => (self.shape(*id), Value::Dyn(*id)),
            Value::Const(c) => (c.shape.clone(), Value::Const(c.clone())),
        };
        let rank = shape.len();
        let n = ctx.node;
        let axes_of = |me: &Self| -> Result<Option<Vec<i64>>, OnnxError> {
            if ctx.input(1).is_some() {
                me.ints_input(ctx, 1).map(Some)
            } else {
                Ok(n.ints("axes"))
            }
        };
        let target: Vec<usize> = match n.op_type.as_str() {
            "Flatten" => {
                let a = n.int("axis").unwrap_or(1);
                let a = if a == i64::try_from(rank).unwrap_or(i64::MAX) {
                    rank
                } else {
                    axis(ctx, a, rank)?
                };
                let (head, tail) = shape.split_at(a.min(shape.len()));
                vec![head.iter().product(), tail.iter().product()]
            }
            "Reshape" => {
                let spec = self.ints_input(ctx, 1)?;
                let allow_zero = n.int("allowzero").unwrap_or(0) != 0;
                let mut t = Vec::with_capacity(spec.len());
                let mut infer = None;
                for (i, &d) in spec.iter().enumerate() {
                    match d {
                        -1 if infer.is_none() => {
                            infer = Some(i);
                            t.push(1);
                        }
                        0 if !allow_zero => t.push(*shape.get(i).ok_or_else(|| {
                            ctx.unsupported(
                                "a 0 in the shape beyond the input's rank",
                                format!("{spec:?}"),
                            )
                        })?),
                        d => t.push(usize::try_from(d).map_err(|_| {
                            ctx.unsupported("a reshape target", format!("{spec:?}"))
                        })?),
                    }
                }
                if let Some(i) = infer {
                    let known: usize = t.iter().product();
                    let total: usize = shape.iter().product();
                    if known == 0 || !total.is_multiple_of(known) {
                        return Err(
                            ctx.unsupported("a reshape target", format!("{spec:?} for {shape:?}"))
                        );
                    }
                    if let Some(slot) = t.get_mut(i) {
                        *slot = total / known;
                    }
                }
                t
            }
            "Squeeze" => match axes_of(self)? {
                None => shape.iter().copied().filter(|&d| d != 1).collect(),
                Some(axes) => {
                    let axes = axes
                        .iter()
                        .map(|&a| axis(ctx, a, rank))
                        .collect::<Result<HashSet<_>, _>>()?;
                    if let Some(a) = axes.iter().find(|&&a| shape.get(a) != Some(&1)) {
                        return Err(ctx.unsupported(
                            "squeezing an axis whose length is not 1",
                            format!("axis {a} of {shape:?}"),
                        ));
                    }
                    shape
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !axes.contains(i))
                        .map(|(_, &d)| d)
                        .collect()
                }
            },
            _ => {
                let axes =
                    axes_of(self)?.ok_or_else(|| ctx.unsupported("Unsqueeze without axes", ""))?;
                let new_rank = rank + axes.len();
                let axes = axes
                    .iter()
                    .map(|&a| axis(ctx, a, new_rank))
                    .collect::<Result<HashSet<_>, _>>()?;
                let mut it = shape.iter();
                (0..new_rank)
                    .map(|i| {
                        if axes.contains(&i) {
                            1
                        } else {
                            it.next().copied().unwrap_or(1)
                        }
                    })
                    .collect()
            }
        };
        match value {
            Value::Const(c) => {
                if target.iter().product::<usize>() != c.numel() {
                    return Err(ctx
                        .unsupported("a reshape target", format!("{target:?} for {:?}", c.shape)));
                }
                self.set(
                    out,
                    Value::Const(Const {
                        shape: target,
                        data: c.data,
                    }),
                );
            }
            Value::Dyn(id) => {
                let y = self.op(ctx, out, Op::Reshape { shape: target }, &[id])?;
                self.set(out, Value::Dyn(y));
            }
        }
        Ok(())
    }

    fn transpose(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let (shape, value) = match self.get(ctx, 0)? {
            Value::Dyn(id) => (self.shape(*id), Value::Dyn(*id)),
            Value::Const(c) => (c.shape.clone(), Value::Const(c.clone())),
        };
        let perm = match ctx.node.ints("perm") {
            Some(p) => usizes(ctx, "perm", &p)?,
            None => (0..shape.len()).rev().collect(),
        };
        match value {
            Value::Const(c) => {
                let map = zkmlops_tensor::ops::transpose_index_map(&c.shape, &perm)
                    .map_err(|e| ctx.unsupported("a permutation", e))?;
                let shape = zkmlops_tensor::ops::transpose_shape(&c.shape, &perm)
                    .map_err(|e| ctx.unsupported("a permutation", e))?;
                let data = map
                    .iter()
                    .map(|&i| c.data.get(i).copied().unwrap_or(0.0))
                    .collect();
                self.set(out, Value::Const(Const { shape, data }));
            }
            Value::Dyn(id) => {
                let y = self.op(ctx, out, Op::Transpose { perm }, &[id])?;
                self.set(out, Value::Dyn(y));
            }
        }
        Ok(())
    }
}

/// The smallest `b` with `v` in `[-2^(b-1), 2^(b-1))`.
/// The narrowest bound a parameter is declared with.
const PARAM_MIN_BITS: u8 = 8;

/// The bound the import declares for a parameter tensor with these quantized values: the
/// narrowest multiple of 4 bits, at least 8, that holds them all. Committed weights then pack
/// `63 / bits` to a field element of the commitment (`zkmlops_commit::Packing`), inlined
/// private weights need fewer range-check limbs, and the bound analysis starts narrower. The
/// bound is public (part of the Program): it tells the largest weight's magnitude within a
/// factor of 16 (docs/privacy.md).
#[must_use]
pub fn param_bits(values: &[i64]) -> u8 {
    let widest = values.iter().map(|&v| signed_bits(v)).max().unwrap_or(1);
    widest
        .max(PARAM_MIN_BITS)
        .div_ceil(4)
        .saturating_mul(4)
        .min(MAX_INPUT_BITS)
}

fn signed_bits(v: i64) -> u8 {
    let magnitude = if v < 0 { !v } else { v };
    u8::try_from(65 - magnitude.leading_zeros()).unwrap_or(MAX_INPUT_BITS)
}

#[cfg(test)]
mod tests {
    use super::slice_positions;

    /// ONNX's Slice clamping for either sign of step, PyTorch's `INT64_MAX`/`INT64_MIN` ends,
    /// an empty axis and a zero step.
    #[test]
    fn slice_positions_follow_onnx() {
        let (max, min) = (i64::MAX, i64::MIN);
        for (dim, start, end, step, want) in [
            (5, 0, max, 1, vec![0, 1, 2, 3, 4]),
            (5, 0, max, 2, vec![0, 2, 4]),
            (5, 1, 4, 2, vec![1, 3]),
            (5, -1, max, 1, vec![4]),
            (5, -1, min, -1, vec![4, 3, 2, 1, 0]),
            (5, max, min, -2, vec![4, 2, 0]),
            (5, 3, 0, -1, vec![3, 2, 1]),
            (5, -2, -100, -1, vec![3, 2, 1, 0]),
            (5, 4, 2, 1, vec![]),
            (5, 10, 20, 1, vec![]),
            (0, 0, max, 1, vec![]),
            (0, -1, min, -1, vec![]),
        ] {
            assert_eq!(
                slice_positions(dim, start, end, step),
                Some(want),
                "{dim} {start} {end} {step}"
            );
        }
        assert_eq!(slice_positions(5, 0, 5, 0), None);
        assert_eq!(slice_positions(0, 0, 5, 0), None);
    }

    #[test]
    fn signed_bits_is_the_narrowest_twos_complement_width() {
        for (v, b) in [
            (0, 1),
            (-1, 1),
            (1, 2),
            (127, 8),
            (-128, 8),
            (128, 9),
            (-129, 9),
            (zkmlops_field::MAX_ABS, 64),
            (-zkmlops_field::MAX_ABS, 64),
        ] {
            assert_eq!(super::signed_bits(v), b, "{v}");
        }
    }
}
