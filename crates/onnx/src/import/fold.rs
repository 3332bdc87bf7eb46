//! Constant folding at import: the input's shape is concrete, so `Shape` of any tensor is a
//! constant, and a node whose inputs are all constants is evaluated here (in `f64`, integer
//! tensors kept integral) instead of entering the Program. This folds the shape arithmetic that
//! exporters emit around `Reshape`, `Expand` and friends (`Shape -> Gather -> Unsqueeze ->
//! Concat -> Reshape`, `Cast`, `ConstantOfShape`, `Range`, `NonZero`, comparisons and `Where` on
//! constants) as tract's declutter would, and keeps every error naming its node.

use super::{Ctx, Importer, Value, axis, slice_positions};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// ONNX element types that are integers (or booleans).
pub(crate) fn is_integer_type(t: i32) -> bool {
    matches!(t, 2..=7 | 9 | 12 | 13)
}

/// Row-major strides of `shape`.
pub(super) fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s: Vec<usize> = shape
        .iter()
        .rev()
        .scan(1usize, |acc, &d| {
            let here = *acc;
            *acc = acc.saturating_mul(d);
            Some(here)
        })
        .collect();
    s.reverse();
    s
}

/// The row-major position of the multi-index `idx` in `shape`.
pub(super) fn ravel(idx: &[usize], shape: &[usize]) -> usize {
    idx.iter().zip(shape).fold(0, |acc, (&i, &d)| acc * d + i)
}

/// The multi-index of flat index `i`.
pub(super) fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx: Vec<usize> = shape
        .iter()
        .rev()
        .map(|&n| {
            if n == 0 {
                0
            } else {
                let x = i % n;
                i /= n;
                x
            }
        })
        .collect();
    idx.reverse();
    idx
}

/// Dimension `k` of a shape right-aligned to rank `n` (1 where it has no such axis).
fn aligned(shape: &[usize], n: usize, k: usize) -> usize {
    (k + shape.len())
        .checked_sub(n)
        .and_then(|i| shape.get(i))
        .copied()
        .unwrap_or(1)
}

/// numpy broadcasting of two shapes.
pub(super) fn broadcast_shape(a: &[usize], b: &[usize]) -> Option<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|k| match (aligned(a, n, k), aligned(b, n, k)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect()
}

/// `c` read at the multi-index `idx` of a broadcast shape.
fn at(c: &Const, idx: &[usize]) -> f64 {
    let off = idx.len().saturating_sub(c.shape.len());
    let flat: usize = c
        .shape
        .iter()
        .zip(strides(&c.shape))
        .zip(idx.iter().skip(off))
        .map(|((&n, st), &x)| if n == 1 { 0 } else { x * st })
        .sum();
    c.data.get(flat).copied().unwrap_or(0.0)
}

/// Dimension `a` of `shape` (1 past its rank).
fn dim(shape: &[usize], a: usize) -> usize {
    shape.get(a).copied().unwrap_or(1)
}

/// The dimensions before `a`, and after it.
fn around(shape: &[usize], a: usize) -> (&[usize], &[usize]) {
    (
        shape.get(..a).unwrap_or_default(),
        shape.get(a + 1..).unwrap_or_default(),
    )
}

/// Most elements a constant made at import may have (a model cannot make the importer allocate
/// without bound).
pub(super) const MAX_FOLDED: usize = 1 << 24;

/// `c` broadcast to `shape` (numpy rules; `None` when it does not broadcast there or would
/// exceed [`MAX_FOLDED`] elements).
pub(super) fn broadcast(c: &Const, shape: &[usize]) -> Option<Const> {
    if broadcast_shape(&c.shape, shape)?.as_slice() != shape
        || shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d))? > MAX_FOLDED
    {
        return None;
    }
    let zeros = Const {
        data: vec![0.0; shape.iter().product()],
        shape: shape.to_vec(),
    };
    zip(&[c, &zeros], |a| a.first().copied().unwrap_or(0.0))
}

/// Element-wise `f` over broadcast inputs.
fn zip(cs: &[&Const], f: impl Fn(&[f64]) -> f64) -> Option<Const> {
    let mut shape: Vec<usize> = Vec::new();
    for c in cs {
        shape = broadcast_shape(&shape, &c.shape)?;
    }
    let n: usize = shape.iter().product();
    let data = (0..n)
        .map(|i| {
            let idx = unravel(i, &shape);
            let args: Vec<f64> = cs.iter().map(|c| at(c, &idx)).collect();
            f(&args)
        })
        .collect();
    Some(Const { shape, data })
}

#[allow(clippy::cast_precision_loss)]
pub(super) fn usize_f(v: usize) -> f64 {
    v as f64
}

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

/// An element-wise function of broadcast operands.
type Elementwise = Box<dyn Fn(&[f64]) -> f64>;

fn binary(op: &str, int_div: bool) -> Elementwise {
    let a0 = |a: &[f64]| a.first().copied().unwrap_or(0.0);
    let a1 = |a: &[f64]| a.get(1).copied().unwrap_or(0.0);
    let flag = |b: bool| f64::from(u8::from(b));
    match op {
        "Add" => Box::new(move |a| a0(a) + a1(a)),
        "Sub" => Box::new(move |a| a0(a) - a1(a)),
        "Mul" => Box::new(move |a| a0(a) * a1(a)),
        "Div" if int_div => Box::new(move |a| (a0(a) / a1(a)).trunc()),
        "Div" => Box::new(move |a| a0(a) / a1(a)),
        "Pow" => Box::new(move |a| a0(a).powf(a1(a))),
        "Mod" => Box::new(move |a| a0(a) - a1(a) * (a0(a) / a1(a)).floor()),
        "Min" => Box::new(|a| a.iter().copied().fold(f64::INFINITY, f64::min)),
        "Max" => Box::new(|a| a.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
        "Equal" => Box::new(move |a| flag(a0(a) == a1(a))),
        "Less" => Box::new(move |a| flag(a0(a) < a1(a))),
        "Greater" => Box::new(move |a| flag(a0(a) > a1(a))),
        "LessOrEqual" => Box::new(move |a| flag(a0(a) <= a1(a))),
        "GreaterOrEqual" => Box::new(move |a| flag(a0(a) >= a1(a))),
        "And" => Box::new(move |a| flag(a0(a) != 0.0 && a1(a) != 0.0)),
        "Or" => Box::new(move |a| flag(a0(a) != 0.0 || a1(a) != 0.0)),
        // Where(condition, x, y).
        _ => Box::new(move |a| {
            if a0(a) != 0.0 {
                a1(a)
            } else {
                a.get(2).copied().unwrap_or(0.0)
            }
        }),
    }
}

fn unary(op: &str) -> fn(f64) -> f64 {
    match op {
        "Neg" => |v| -v,
        "Abs" => f64::abs,
        "Floor" => f64::floor,
        "Ceil" => f64::ceil,
        "Round" => f64::round_ties_even,
        "Sqrt" => f64::sqrt,
        "Not" => |v| f64::from(u8::from(v == 0.0)),
        "Sign" => |v| if v == 0.0 { 0.0 } else { v.signum() },
        "Relu" => |v| v.max(0.0),
        "Exp" => f64::exp,
        _ => |v| 1.0 / v,
    }
}

/// The axes of a node (attribute, else input `i` as integers), each checked against `rank`.
fn axes_of(
    ctx: &Ctx<'_>,
    cs: &[Const],
    i: usize,
    rank: usize,
) -> Result<Option<Vec<usize>>, OnnxError> {
    let given = ctx
        .node
        .ints("axes")
        .or_else(|| cs.get(i).and_then(Const::ints));
    given
        .map(|a| a.into_iter().map(|a| axis(ctx, a, rank)).collect())
        .transpose()
}

fn gather(ctx: &Ctx<'_>, data: &Const, idx: &Const) -> Result<Const, OnnxError> {
    let rank = data.shape.len();
    let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
    let n = dim(&data.shape, a);
    let (before, after) = around(&data.shape, a);
    let outer: usize = before.iter().product();
    let inner: usize = after.iter().product();
    let mut out = Vec::with_capacity(outer * idx.numel() * inner);
    let d = i64::try_from(n).unwrap_or(0);
    for o in 0..outer {
        for &i in &idx.data {
            #[allow(clippy::cast_possible_truncation)]
            let i = i as i64;
            let j = if i < 0 { i + d } else { i };
            if !(0..d).contains(&j) {
                return Err(ctx.unsupported("a Gather index out of range", format!("{i} of {n}")));
            }
            let base = (o * n + to_usize(j)) * inner;
            let chunk = data.data.get(base..base + inner).ok_or_else(|| {
                ctx.unsupported(
                    "a Gather from a malformed constant",
                    format!("{:?}", data.shape),
                )
            })?;
            out.extend_from_slice(chunk);
        }
    }
    let mut shape = before.to_vec();
    shape.extend_from_slice(&idx.shape);
    shape.extend_from_slice(after);
    Ok(Const { shape, data: out })
}

fn concat(ctx: &Ctx<'_>, cs: &[Const], first: &Const) -> Result<Const, OnnxError> {
    let rank = first.shape.len();
    let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
    if cs
        .iter()
        .any(|c| c.shape.len() != rank || around(&c.shape, a) != around(&first.shape, a))
    {
        return Err(ctx.unsupported(
            "constants that do not concatenate",
            format!(
                "{:?}",
                cs.iter().map(|c| c.shape.clone()).collect::<Vec<_>>()
            ),
        ));
    }
    let outer: usize = around(&first.shape, a).0.iter().product();
    let mut out = Vec::new();
    for o in 0..outer {
        for c in cs {
            let chunk: usize = c.shape.get(a..).unwrap_or_default().iter().product();
            let part = c
                .data
                .get(o * chunk..(o + 1) * chunk)
                .ok_or_else(|| ctx.unsupported("a malformed constant", format!("{:?}", c.shape)))?;
            out.extend_from_slice(part);
        }
    }
    let mut shape = first.shape.clone();
    if let Some(d) = shape.get_mut(a) {
        *d = cs.iter().map(|c| dim(&c.shape, a)).sum();
    }
    Ok(Const { shape, data: out })
}

/// The shape a Reshape, Flatten, Squeeze or Unsqueeze of a constant takes.
fn new_shape(ctx: &Ctx<'_>, op: &str, c: &Const, cs: &[Const]) -> Result<Vec<usize>, OnnxError> {
    let rank = c.shape.len();
    Ok(match op {
        "Flatten" => {
            let a = axis(ctx, ctx.node.int("axis").unwrap_or(1), rank + 1)?;
            vec![
                c.shape.get(..a).unwrap_or_default().iter().product(),
                c.shape.get(a..).unwrap_or_default().iter().product(),
            ]
        }
        "Reshape" => {
            let want = cs.get(1).and_then(Const::ints).unwrap_or_default();
            let resolve = |i: usize, d: i64, fill: usize| match d {
                0 => dim(&c.shape, i),
                -1 => fill,
                d => to_usize(d),
            };
            let known: usize = want
                .iter()
                .enumerate()
                .map(|(i, &d)| resolve(i, d, 1))
                .product();
            let fill = c.numel() / known.max(1);
            want.iter()
                .enumerate()
                .map(|(i, &d)| resolve(i, d, fill))
                .collect()
        }
        "Unsqueeze" => {
            let axes_len = ctx
                .node
                .ints("axes")
                .or_else(|| cs.get(1).and_then(Const::ints))
                .map_or(0, |a| a.len());
            let mut pos = axes_of(ctx, cs, 1, rank + axes_len)?.unwrap_or_default();
            pos.sort_unstable();
            let mut shape = c.shape.clone();
            for p in pos {
                shape.insert(p.min(shape.len()), 1);
            }
            shape
        }
        _ => {
            let pos = axes_of(ctx, cs, 1, rank)?.unwrap_or_default();
            c.shape
                .iter()
                .enumerate()
                .filter(|(i, d)| {
                    if pos.is_empty() {
                        **d != 1
                    } else {
                        !pos.contains(i)
                    }
                })
                .map(|(_, d)| *d)
                .collect()
        }
    })
}

fn slice(ctx: &Ctx<'_>, c: &Const, cs: &[Const]) -> Result<Option<Const>, OnnxError> {
    let get = |i: usize| cs.get(i).and_then(Const::ints);
    let (starts, ends) = (get(1).unwrap_or_default(), get(2).unwrap_or_default());
    let axes = get(3).unwrap_or_else(|| (0..i64::try_from(starts.len()).unwrap_or(0)).collect());
    let steps = get(4).unwrap_or_else(|| vec![1; starts.len()]);
    let rank = c.shape.len();
    // The positions kept along each axis (all of it where no slice applies).
    let mut keep: Vec<Vec<usize>> = c.shape.iter().map(|&d| (0..d).collect()).collect();
    for (((&a, &s), &e), &step) in axes.iter().zip(&starts).zip(&ends).zip(&steps) {
        let a = axis(ctx, a, rank)?;
        let Some(at) = slice_positions(dim(&c.shape, a), s, e, step) else {
            return Err(ctx.unsupported("a Slice step of 0", format!("axis {a}")));
        };
        if let Some(k) = keep.get_mut(a) {
            *k = at;
        }
    }
    let shape: Vec<usize> = keep.iter().map(Vec::len).collect();
    let st = strides(&c.shape);
    let data = (0..shape.iter().product())
        .map(|i| {
            let flat: usize = unravel(i, &shape)
                .iter()
                .zip(&keep)
                .zip(&st)
                .map(|((x, k), s)| k.get(*x).copied().unwrap_or(0) * s)
                .sum();
            c.data.get(flat).copied().unwrap_or(0.0)
        })
        .collect();
    Ok(Some(Const { shape, data }))
}

fn transpose(ctx: &Ctx<'_>, c: &Const) -> Result<Const, OnnxError> {
    let rank = c.shape.len();
    let perm: Vec<usize> = match ctx.node.ints("perm") {
        Some(p) => p.into_iter().map(to_usize).collect(),
        None => (0..rank).rev().collect(),
    };
    let mut sorted = perm.clone();
    sorted.sort_unstable();
    if sorted != (0..rank).collect::<Vec<_>>() {
        return Err(ctx.unsupported("a Transpose that is not a permutation", format!("{perm:?}")));
    }
    let shape: Vec<usize> = perm.iter().map(|&p| dim(&c.shape, p)).collect();
    let st = strides(&c.shape);
    let data = (0..c.numel())
        .map(|i| {
            let flat: usize = unravel(i, &shape)
                .iter()
                .zip(&perm)
                .map(|(x, &p)| x * st.get(p).copied().unwrap_or(0))
                .sum();
            c.data.get(flat).copied().unwrap_or(0.0)
        })
        .collect();
    Ok(Const { shape, data })
}

fn reduce(ctx: &Ctx<'_>, op: &str, c: &Const, cs: &[Const]) -> Result<Const, OnnxError> {
    let rank = c.shape.len();
    let axes = match axes_of(ctx, cs, 1, rank)? {
        Some(a) if !a.is_empty() => a,
        _ => (0..rank).collect(),
    };
    let keep = ctx.node.int("keepdims").unwrap_or(1) != 0;
    let kept: Vec<usize> = c
        .shape
        .iter()
        .enumerate()
        .map(|(i, &d)| if axes.contains(&i) { 1 } else { d })
        .collect();
    let count: usize = axes.iter().map(|&a| dim(&c.shape, a)).product();
    let (init, f): (f64, fn(f64, f64) -> f64) = match op {
        "ReduceProd" => (1.0, |a, b| a * b),
        "ReduceMax" => (f64::NEG_INFINITY, f64::max),
        "ReduceMin" => (f64::INFINITY, f64::min),
        _ => (0.0, |a, b| a + b),
    };
    let mut acc = vec![init; kept.iter().product()];
    let kst = strides(&kept);
    for (i, &v) in c.data.iter().enumerate() {
        let k: usize = unravel(i, &c.shape)
            .iter()
            .zip(&kst)
            .enumerate()
            .map(|(d, (&x, &s))| if axes.contains(&d) { 0 } else { x * s })
            .sum();
        if let Some(a) = acc.get_mut(k) {
            *a = f(*a, v);
        }
    }
    if op == "ReduceMean" {
        for v in &mut acc {
            *v /= usize_f(count.max(1));
        }
    }
    let shape = if keep {
        kept
    } else {
        c.shape
            .iter()
            .enumerate()
            .filter(|(i, _)| !axes.contains(i))
            .map(|(_, d)| *d)
            .collect()
    };
    Ok(Const { shape, data: acc })
}

impl Importer<'_> {
    /// The node as a constant when it can be folded (`None`: import it as an op).
    pub(super) fn fold(&mut self, ctx: &Ctx<'_>) -> Result<Option<Const>, OnnxError> {
        let op = ctx.node.op_type.as_str();
        // Shape and Size need only the shape, which every tensor has at import.
        if op == "Shape" || op == "Size" {
            let shape = match self.get(ctx, 0)? {
                Value::Dyn(id) => self.shape(*id),
                Value::Const(c) => c.shape.clone(),
            };
            let c = if op == "Size" {
                Const {
                    shape: vec![],
                    data: vec![usize_f(shape.iter().product())],
                }
            } else {
                let r = i64::try_from(shape.len()).unwrap_or(0);
                let clampi = |v: i64| to_usize(if v < 0 { v + r } else { v }.clamp(0, r));
                let start = clampi(ctx.node.int("start").unwrap_or(0));
                let end = clampi(ctx.node.int("end").unwrap_or(r)).max(start);
                let dims: Vec<f64> = shape
                    .get(start..end)
                    .unwrap_or_default()
                    .iter()
                    .map(|&d| usize_f(d))
                    .collect();
                Const {
                    shape: vec![dims.len()],
                    data: dims,
                }
            };
            return Ok(Some(self.done(ctx, c, true)));
        }
        if op == "ConstantOfShape" {
            let shape: Vec<usize> = self.ints_input(ctx, 0)?.into_iter().map(to_usize).collect();
            let (value, int) = match ctx.node.attr("value").and_then(|a| a.t.as_ref()) {
                Some(t) => (
                    crate::graph::tensor_const(t, "value")?
                        .data
                        .first()
                        .copied()
                        .unwrap_or(0.0),
                    is_integer_type(t.data_type),
                ),
                None => (0.0, false),
            };
            let n = shape.iter().product::<usize>();
            if n > MAX_FOLDED {
                return Err(ctx.unsupported("a ConstantOfShape of more than 2^24 elements", n));
            }
            let c = Const {
                data: vec![value; n],
                shape,
            };
            return Ok(Some(self.done(ctx, c, int)));
        }
        // CastLike reads only the type of its second input: a constant cast like a computed
        // tensor is still a constant (a mask's `-inf` must stay one, not become a weight).
        if op == "CastLike"
            && let Ok(Value::Const(c)) = self.get(ctx, 0)
        {
            let to_int = ctx.input(1).is_some_and(|n| self.ints.contains(n));
            let c = if to_int {
                Const {
                    data: c.data.iter().map(|v| v.trunc()).collect(),
                    shape: c.shape.clone(),
                }
            } else {
                c.clone()
            };
            return Ok(Some(self.done(ctx, c, to_int)));
        }
        // Everything else folds only when every given input is a constant.
        // Inputs by position: an optional input left out before a given one (a gap) would
        // shift the positions read below, so such a node is imported as an op instead.
        let mut cs = Vec::new();
        let mut ints = Vec::new();
        let mut gap = false;
        for i in 0..ctx.node.input.len() {
            let Some(name) = ctx.input(i) else {
                gap = true;
                continue;
            };
            if gap {
                return Ok(None);
            }
            match self.get(ctx, i)? {
                Value::Const(c) => cs.push(c.clone()),
                Value::Dyn(_) => return Ok(None),
            }
            ints.push(self.ints.contains(name));
        }
        let Some(first) = cs.first().cloned() else {
            return Ok(None);
        };
        let all_int = ints.iter().all(|b| *b);
        let first_int = ints.first().copied().unwrap_or(false);
        let (folded, int) = match op {
            "Identity" => (first, first_int),
            "Cast" | "CastLike" => {
                let to_int = match op {
                    "Cast" => ctx
                        .node
                        .int("to")
                        .and_then(|t| i32::try_from(t).ok())
                        .is_some_and(is_integer_type),
                    _ => ints.get(1).copied().unwrap_or(false),
                };
                // ONNX `TensorProto.DataType` BOOL is 9: nonzero is true.
                let to_bool = op == "Cast" && ctx.node.int("to") == Some(9);
                let data = if to_bool {
                    first
                        .data
                        .iter()
                        .map(|&v| if v == 0.0 { 0.0 } else { 1.0 })
                        .collect()
                } else if to_int {
                    first.data.iter().map(|v| v.trunc()).collect()
                } else {
                    first.data.clone()
                };
                (
                    Const {
                        data,
                        shape: first.shape,
                    },
                    to_int,
                )
            }
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Mod" | "Min" | "Max" | "Equal" | "Less"
            | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Where" => {
                if matches!(op, "Div" | "Mod") && cs.get(1).is_some_and(|d| d.data.contains(&0.0)) {
                    return Err(ctx.unsupported("a constant division by zero", op));
                }
                let refs: Vec<&Const> = cs.iter().collect();
                let folded = zip(&refs, binary(op, all_int)).ok_or_else(|| {
                    ctx.unsupported(
                        "constants whose shapes do not broadcast",
                        format!(
                            "{:?}",
                            cs.iter().map(|c| c.shape.clone()).collect::<Vec<_>>()
                        ),
                    )
                })?;
                let int = match op {
                    "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And"
                    | "Or" => true,
                    "Where" => ints.get(1..).is_some_and(|t| t.iter().all(|b| *b)),
                    _ => all_int,
                };
                (folded, int)
            }
            "Neg" | "Abs" | "Floor" | "Ceil" | "Round" | "Sqrt" | "Not" | "Sign" | "Relu"
            | "Exp" | "Reciprocal" => {
                let f = unary(op);
                let int = all_int || matches!(op, "Floor" | "Ceil" | "Round" | "Not" | "Sign");
                (
                    Const {
                        data: first.data.iter().map(|&v| f(v)).collect(),
                        shape: first.shape,
                    },
                    int,
                )
            }
            "BlackmanWindow" | "HannWindow" | "HammingWindow" => (window(ctx, op, &first)?, false),
            "MelWeightMatrix" => (mel_weight_matrix(ctx, &cs)?, false),
            "BitShift" => {
                let left = ctx.node.string("direction").as_deref() == Some("LEFT");
                let refs: Vec<&Const> = cs.iter().collect();
                let folded = zip(&refs, |v| {
                    let (x, y) = (
                        v.first().copied().unwrap_or(0.0),
                        v.get(1).copied().unwrap_or(0.0),
                    );
                    if left {
                        x * y.exp2()
                    } else {
                        (x / y.exp2()).floor()
                    }
                })
                .ok_or_else(|| ctx.unsupported("constants whose shapes do not broadcast", op))?;
                (folded, all_int)
            }
            "Range" => {
                let [start, limit, delta] = [0, 1, 2].map(|i| {
                    cs.get(i)
                        .and_then(|c| c.data.first().copied())
                        .unwrap_or(0.0)
                });
                if delta == 0.0 {
                    return Err(ctx.unsupported("a Range with delta 0", ""));
                }
                let n = ((limit - start) / delta)
                    .ceil()
                    .clamp(0.0, f64::from(1u32 << 24));
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let data: Vec<f64> = (0..n as usize)
                    .map(|i| start + usize_f(i) * delta)
                    .collect();
                (
                    Const {
                        shape: vec![data.len()],
                        data,
                    },
                    all_int,
                )
            }
            "NonZero" => {
                // The indices of the nonzero entries, one row per axis (`[rank, count]`).
                let nonzero: Vec<usize> = (0..first.numel())
                    .filter(|&i| first.data.get(i).is_some_and(|&v| v != 0.0))
                    .collect();
                let rank = first.shape.len();
                let mut data = vec![0.0; rank * nonzero.len()];
                for (j, &i) in nonzero.iter().enumerate() {
                    for (a, x) in unravel(i, &first.shape).into_iter().enumerate() {
                        if let Some(slot) = data.get_mut(a * nonzero.len() + j) {
                            *slot = usize_f(x);
                        }
                    }
                }
                (
                    Const {
                        shape: vec![rank, nonzero.len()],
                        data,
                    },
                    true,
                )
            }
            "Gather" => {
                let idx = cs
                    .get(1)
                    .ok_or_else(|| ctx.unsupported("a Gather without indices", ""))?;
                (gather(ctx, &first, idx)?, first_int)
            }
            "Concat" => (concat(ctx, &cs, &first)?, all_int),
            "Expand" => {
                let want: Vec<usize> = cs
                    .get(1)
                    .and_then(Const::ints)
                    .unwrap_or_default()
                    .into_iter()
                    .map(to_usize)
                    .collect();
                let shape = broadcast_shape(&first.shape, &want).ok_or_else(|| {
                    ctx.unsupported(
                        "an Expand to a shape that does not broadcast",
                        format!("{want:?}"),
                    )
                })?;
                let e = broadcast(&first, &shape).ok_or_else(|| {
                    ctx.unsupported(
                        "an Expand of a constant to more than 2^24 elements",
                        format!("{shape:?}"),
                    )
                })?;
                (e, first_int)
            }
            "Unsqueeze" | "Squeeze" | "Reshape" | "Flatten" => {
                let shape = new_shape(ctx, op, &first, &cs)?;
                if shape.iter().product::<usize>() != first.numel() {
                    return Err(ctx.unsupported(
                        "a constant reshaped to another size",
                        format!("{:?} to {shape:?}", first.shape),
                    ));
                }
                (
                    Const {
                        shape,
                        data: first.data,
                    },
                    first_int,
                )
            }
            "Slice" => match slice(ctx, &first, &cs)? {
                Some(c) => (c, first_int),
                None => return Ok(None),
            },
            "Transpose" => (transpose(ctx, &first)?, first_int),
            "ReduceProd" | "ReduceSum" | "ReduceMax" | "ReduceMin" | "ReduceMean" => {
                (reduce(ctx, op, &first, &cs)?, all_int && op != "ReduceMean")
            }
            _ => return Ok(None),
        };
        Ok(Some(self.done(ctx, folded, int)))
    }

    /// Record whether the node's output is an integer constant; returns it.
    fn done(&mut self, ctx: &Ctx<'_>, c: Const, int: bool) -> Const {
        if let Some(out) = ctx.node.output.first() {
            if int {
                self.ints.insert(out.clone());
            } else {
                self.ints.remove(out);
            }
        }
        c
    }
}

/// A window function of ONNX (opset 17) of `size` points, `periodic` (default) or symmetric:
/// `a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N)` with `N = size` (periodic) or `size - 1`;
/// Blackman `(0.42, 0.5, 0.08)`, Hann `(0.5, 0.5, 0)`, Hamming `(25/46, 21/46, 0)`.
fn window(ctx: &Ctx<'_>, op: &str, size: &Const) -> Result<Const, OnnxError> {
    let n = size.data.first().copied().unwrap_or(0.0);
    if size.data.len() != 1 || n.fract() != 0.0 || !(1.0..=usize_f(MAX_FOLDED)).contains(&n) {
        return Err(ctx.unsupported("a window size that is not one positive integer", n));
    }
    let (a0, a1, a2) = match op {
        "BlackmanWindow" => (0.42, 0.5, 0.08),
        "HannWindow" => (0.5, 0.5, 0.0),
        _ => (25.0 / 46.0, 21.0 / 46.0, 0.0),
    };
    let periodic = ctx.node.int("periodic").unwrap_or(1) != 0;
    let denominator = if periodic { n } else { n - 1.0 };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let len = n as usize;
    let data = (0..len)
        .map(|i| {
            if denominator == 0.0 {
                return 1.0;
            }
            let x = 2.0 * std::f64::consts::PI * usize_f(i) / denominator;
            a0 - a1 * x.cos() + a2 * (2.0 * x).cos()
        })
        .collect();
    Ok(Const {
        shape: vec![len],
        data,
    })
}

/// `MelWeightMatrix` (opset 17) of constant inputs `num_mel_bins, dft_length, sample_rate,
/// lower_edge_hertz, upper_edge_hertz`: `[dft_length / 2 + 1, num_mel_bins]` triangular
/// filters between mel-spaced bins, as ONNX's reference computes them (its mel step divides
/// the range by `num_mel_bins + 2`).
fn mel_weight_matrix(ctx: &Ctx<'_>, cs: &[Const]) -> Result<Const, OnnxError> {
    let at = |i: usize| cs.get(i).and_then(|c| c.data.first().copied());
    let (Some(mels), Some(dft), Some(rate), Some(lo), Some(hi)) =
        (at(0), at(1), at(2), at(3), at(4))
    else {
        return Err(ctx.unsupported("a MelWeightMatrix without its five inputs", cs.len()));
    };
    let whole = |v: f64| v.fract() == 0.0 && (1.0..=65536.0).contains(&v);
    if !whole(mels) || !whole(dft) || !whole(rate) {
        return Err(ctx.unsupported(
            "MelWeightMatrix sizes that are not positive integers up to 2^16",
            format!("{mels} bins, dft {dft}, rate {rate}"),
        ));
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (m, bins) = (mels as usize, (dft as usize) / 2 + 1);
    if m.saturating_mul(bins) > MAX_FOLDED {
        return Err(ctx.unsupported("a MelWeightMatrix of more than 2^24 entries", m * bins));
    }
    let to_mel = |hz: f64| 2595.0 * (hz / 700.0).ln_1p() / 10f64.ln();
    let (lo_mel, hi_mel) = (to_mel(lo), to_mel(hi));
    let step = (hi_mel - lo_mel) / usize_f(m + 2);
    let points: Vec<i64> = (0..m + 2)
        .map(|k| {
            let mel = usize_f(k) * step + lo_mel;
            let hz = 700.0 * (mel / 2595.0 * 10f64.ln()).exp_m1();
            #[allow(clippy::cast_possible_truncation)]
            let bin = ((dft + 1.0) * hz / rate).floor() as i64;
            bin
        })
        .collect();
    let mut data = vec![0.0; bins * m];
    let mut put = |j: i64, i: usize, v: f64| {
        if let Some(e) = usize::try_from(j)
            .ok()
            .filter(|&j| j < bins)
            .and_then(|j| data.get_mut(j * m + i))
        {
            *e = v;
        }
    };
    for i in 0..m {
        let (Some(&left), Some(&centre), Some(&right)) =
            (points.get(i), points.get(i + 1), points.get(i + 2))
        else {
            continue;
        };
        #[allow(clippy::cast_precision_loss)]
        let (up, down) = ((centre - left) as f64, (right - centre) as f64);
        if centre == left {
            put(centre, i, 1.0);
        } else {
            for j in left..=centre {
                #[allow(clippy::cast_precision_loss)]
                put(j, i, (j - left) as f64 / up);
            }
        }
        if right > centre {
            for j in centre..right {
                #[allow(clippy::cast_precision_loss)]
                put(j, i, (right - j) as f64 / down);
            }
        }
    }
    Ok(Const {
        shape: vec![bins, m],
        data,
    })
}
