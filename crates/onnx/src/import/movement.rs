//! Data movement on computed tensors, lowered to `slice`, `concat` and `reshape` (no
//! arithmetic, so nothing to prove beyond copies): `Pad` (constant mode), `Gather` with constant
//! indices, `Split`, `Tile`, `Expand`; any entries of computed tensors picked by known flat
//! positions (`take_flat`: `ReverseSequence`, `TensorScatter`, `MaxUnpool`, Einsum diagonals);
//! and 1-D convolutions as 2-D ones of height 1.

use tract_onnx::pb::{AttributeProto, NodeProto};
use zkmlops_field::Scale;
use zkmlops_tensor::{Op, TensorId};

use super::fold::{ravel, unravel};
use super::{Ctx, Importer, Value, axis};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers (on computed tensors; constants fold earlier).
pub(super) const OPERATORS: &[&str] = &[
    "Pad",
    "Gather",
    "Split",
    "Tile",
    "Expand",
    "Where",
    "Resize",
    "Upsample",
    "CenterCropPad",
];

/// What an infinite constant becomes in the Program (`-inf` in a causal mask): far beyond any
/// activation, so a following Softmax gives it weight 0 exactly as it gives `-inf`.
pub(super) const INFINITY_STAND_IN: f64 = 16384.0;

/// Finite values at least this large are sentinels for an infinity (PyTorch's attention masks
/// fill with `torch.finfo(float32).min`, -3.4e38): no fixed-point scale encodes them.
pub(super) const INFINITE_SENTINEL: f64 = 1e30;

/// Whether `c` holds an infinity (or an [`INFINITE_SENTINEL`]).
pub(super) fn has_infinities(c: &Const) -> bool {
    c.data.iter().any(|v| v.abs() >= INFINITE_SENTINEL)
}

/// A constant with its infinities replaced by `+-`[`INFINITY_STAND_IN`] (so it encodes).
pub(super) fn without_infinities(c: &Const) -> Const {
    Const {
        shape: c.shape.clone(),
        data: c
            .data
            .iter()
            .map(|v| v.clamp(-INFINITY_STAND_IN, INFINITY_STAND_IN))
            .collect(),
    }
}

/// Most copies one axis of a Tile, Expand or Resize may take (a model cannot make the importer
/// allocate without bound).
pub(super) const MAX_COPIES: usize = 1 << 16;

fn to_usize(v: i64) -> usize {
    usize::try_from(v).unwrap_or(0)
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`] (`Split` sets every output itself).
    pub(super) fn movement(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        if ctx.node.op_type == "Where" {
            let y = self.select(ctx, out)?;
            self.set(out, Value::Dyn(y));
            return Ok(());
        }
        if ctx.node.op_type == "Split" {
            return self.split(ctx);
        }
        let x = self.dyn_input(ctx, 0)?;
        let y = match ctx.node.op_type.as_str() {
            "Pad" => self.pad(ctx, out, x)?,
            "CenterCropPad" => self.center_crop_pad(ctx, out, x)?,
            "Gather" => self.gather(ctx, out, x)?,
            "Resize" | "Upsample" => self.resize(ctx, out, x)?,
            "Tile" => {
                let reps = self.ints_input(ctx, 1)?;
                let shape = self.shape(x);
                if reps.len() != shape.len() || reps.iter().any(|&r| r < 1) {
                    return Err(ctx.unsupported(
                        "Tile repeats that are not one positive count per axis",
                        format!("{reps:?} for rank {}", shape.len()),
                    ));
                }
                let mut y = x;
                for (a, &r) in reps.iter().enumerate() {
                    y = self.copies(ctx, &format!("{out}/axis{a}"), y, a, to_usize(r))?;
                }
                y
            }
            _ => self.expand(ctx, out, x)?,
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// `n` copies of `x` concatenated along `a` (itself when `n == 1`).
    fn copies(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        a: usize,
        n: usize,
    ) -> Result<TensorId, OnnxError> {
        if n == 1 {
            return Ok(x);
        }
        if n > MAX_COPIES {
            return Err(ctx.unsupported(
                "a repetition (Tile, Expand, Resize) of more than 2^16 copies",
                n,
            ));
        }
        self.op(ctx, name, Op::Concat { axis: a }, &vec![x; n])
    }

    pub(super) fn reshape_to(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        shape: Vec<usize>,
    ) -> Result<TensorId, OnnxError> {
        if self.shape(x) == shape {
            return Ok(x);
        }
        self.op(ctx, name, Op::Reshape { shape }, &[x])
    }

    /// `Expand`: broadcast `x` to a constant shape by copies along its unit axes.
    fn expand(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let want = self.ints_input(ctx, 1)?;
        self.broadcast_to(ctx, out, x, &want)
    }

    /// `x` broadcast to `want` (numpy rules) by a reshape and copies along its unit axes.
    pub(super) fn broadcast_to(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        want: &[i64],
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let rank = shape.len().max(want.len());
        let pad = |s: &[usize], n: usize| -> Vec<usize> {
            let mut v = vec![1; n.saturating_sub(s.len())];
            v.extend_from_slice(s);
            v
        };
        let have = pad(&shape, rank);
        let want: Vec<usize> = pad(&want.iter().map(|&d| to_usize(d)).collect::<Vec<_>>(), rank);
        let mut y = self.reshape_to(ctx, &format!("{out}/rank"), x, have.clone())?;
        for (a, (&h, &w)) in have.iter().zip(&want).enumerate() {
            match (h, w) {
                (h, w) if h == w || w == 1 => {}
                (1, w) => y = self.copies(ctx, &format!("{out}/axis{a}"), y, a, w)?,
                _ => {
                    return Err(ctx.unsupported(
                        "an Expand to a shape that does not broadcast",
                        format!("{shape:?} to {want:?}"),
                    ));
                }
            }
        }
        Ok(y)
    }

    /// `Where(condition, a, b)` with a constant condition: a selection, so data movement only.
    /// `a` and `b` (computed, or constants as weights, infinities as
    /// `+-`[`INFINITY_STAND_IN`]) are broadcast to the output shape and concatenated, and the
    /// output gathers element `i` from the first or the second half as the condition says (one
    /// slice per run of consecutive picks). A computed condition fails by name.
    fn select(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let cond = match self.get(ctx, 0)? {
            Value::Const(c) => c.clone(),
            Value::Dyn(c) => {
                let c = *c;
                return self.blend(ctx, out, c);
            }
        };
        let mut shapes = vec![cond.shape.clone()];
        for i in [1, 2] {
            shapes.push(match self.get(ctx, i)? {
                Value::Dyn(id) => self.shape(*id),
                Value::Const(c) => c.shape.clone(),
            });
        }
        let full = shapes
            .iter()
            .try_fold(Vec::new(), |acc, s| super::fold::broadcast_shape(&acc, s))
            .ok_or_else(|| {
                ctx.unsupported(
                    "Where operands whose shapes do not broadcast",
                    format!("{shapes:?}"),
                )
            })?;
        let n: usize = full.iter().product();
        let want: Vec<i64> = full
            .iter()
            .map(|&d| i64::try_from(d).unwrap_or(0))
            .collect();
        let mut halves = Vec::with_capacity(2);
        for (i, which) in [(1, "then"), (2, "else")] {
            let name = format!("{out}/{which}");
            let id = match self.get(ctx, i)? {
                Value::Dyn(id) => *id,
                Value::Const(c) => {
                    let c = without_infinities(c);
                    self.param(ctx, &name, &c, self.s)?
                }
            };
            let b = self.broadcast_to(ctx, &format!("{name}/broadcast"), id, &want)?;
            halves.push(self.reshape_to(ctx, &format!("{name}/flat"), b, vec![n])?);
        }
        let both = self.op(ctx, &format!("{out}/both"), Op::Concat { axis: 0 }, &halves)?;
        // Element i of the output: i (then) or n + i (else), the condition broadcast.
        let cond = super::fold::broadcast(&cond, &full).ok_or_else(|| {
            ctx.unsupported(
                "a Where condition that does not broadcast",
                format!("{full:?}"),
            )
        })?;
        let picks: Vec<usize> = cond
            .data
            .iter()
            .enumerate()
            .map(|(i, &c)| if c != 0.0 { i } else { n + i })
            .collect();
        let y = self.pick(ctx, out, both, 0, &picks)?;
        self.reshape_to(ctx, out, y, full)
    }

    /// `Where(c, a, b)` with a computed 0/1 condition `c` (a comparison's output).
    fn blend(&mut self, ctx: &Ctx<'_>, out: &str, c: TensorId) -> Result<TensorId, OnnxError> {
        let a = self.get(ctx, 1)?.clone();
        let b = self.get(ctx, 2)?.clone();
        self.blend_values(ctx, out, c, &a, &b)
    }

    /// `b + c (a - b)` for a computed 0/1 condition `c` (broadcasting), exact because `c` is
    /// exactly 0 or 1 (a comparison's, a logical operator's or a boolean input's value, each
    /// constrained to be). Constant branches (weights, infinities as
    /// `+-`[`INFINITY_STAND_IN`]) are params.
    pub(super) fn blend_values(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        c: TensorId,
        a: &Value,
        b: &Value,
    ) -> Result<TensorId, OnnxError> {
        let mut branch = Vec::with_capacity(2);
        for (v, which) in [(a, "then"), (b, "else")] {
            branch.push(match v {
                Value::Dyn(id) => *id,
                Value::Const(k) => {
                    let k = without_infinities(k);
                    self.param(ctx, &format!("{out}/{which}"), &k, self.s)?
                }
            });
        }
        let [a, b] = branch.as_slice() else {
            return Err(ctx.unsupported("a Where without two branches", ""));
        };
        let (a, b) = (*a, *b);
        let d = self.op(ctx, &format!("{out}/difference"), Op::Sub, &[a, b])?;
        let p = self.op(ctx, &format!("{out}/picked"), Op::Mul, &[c, d])?;
        let p = self.rescale(ctx, &format!("{out}/picked_rescaled"), p, self.s.bits())?;
        self.op(ctx, out, Op::Add, &[b, p])
    }

    /// `Resize` / `Upsample` in nearest mode by whole factors: each element repeated `k` times
    /// along each axis (a unit axis inserted after it, `k` copies concatenated there, merged).
    /// The coordinate modes for which nearest upsampling by a whole factor is exactly that
    /// repetition are accepted; others fail by name.
    fn resize(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let mode = ctx.node.string("mode").unwrap_or_else(|| "nearest".into());
        let coords = if ctx.node.op_type == "Upsample" {
            "asymmetric".to_string()
        } else {
            ctx.node
                .string("coordinate_transformation_mode")
                .unwrap_or_else(|| "half_pixel".into())
        };
        let nearest = ctx
            .node
            .string("nearest_mode")
            .unwrap_or_else(|| "round_prefer_floor".into());
        let repeats = matches!(
            (coords.as_str(), nearest.as_str()),
            ("asymmetric", "floor" | "round_prefer_floor")
                | (
                    "half_pixel" | "pytorch_half_pixel",
                    "round_prefer_floor" | "round_prefer_ceil"
                )
        ) || ctx.node.op_type == "Upsample";
        let shape = self.shape(x);
        // Scales (Upsample input 1; Resize input 2), or sizes (Resize input 3).
        let scales_at = if ctx.node.op_type == "Upsample" { 1 } else { 2 };
        let rank = shape.len();
        // Opset 18's `axes`: the scales or sizes given are for these axes, the others keep
        // their length.
        let axes: Vec<usize> = match ctx.node.ints("axes") {
            Some(a) => a
                .iter()
                .map(|&v| super::axis(ctx, v, rank))
                .collect::<Result<_, _>>()?,
            None => (0..rank).collect(),
        };
        let spread = |given: &[f64], rest: &dyn Fn(usize) -> f64| -> Result<Vec<f64>, OnnxError> {
            if given.len() != axes.len() {
                return Err(ctx.unsupported(
                    "Resize scales that are not one per axis",
                    format!("{given:?} for {shape:?}, axes {axes:?}"),
                ));
            }
            let mut all: Vec<f64> = (0..rank).map(rest).collect();
            for (&a, &v) in axes.iter().zip(given) {
                if let Some(slot) = all.get_mut(a) {
                    *slot = v;
                }
            }
            Ok(all)
        };
        #[allow(clippy::cast_precision_loss)]
        let length = |a: usize| shape.get(a).copied().unwrap_or(1) as f64;
        let mut sizes: Option<Vec<usize>> = None;
        let factors: Vec<f64> = match (ctx.input(scales_at), ctx.input(3)) {
            (Some(_), _) if !self.constant(ctx, scales_at)?.data.is_empty() => {
                spread(&self.constant(ctx, scales_at)?.data, &|_| 1.0)?
            }
            (_, Some(_)) => {
                #[allow(clippy::cast_precision_loss)]
                let given: Vec<f64> = self
                    .ints_input(ctx, 3)?
                    .iter()
                    .map(|&o| to_usize(o) as f64)
                    .collect();
                let wanted = spread(&given, &length)?;
                let mut factors: Vec<f64> = wanted
                    .iter()
                    .enumerate()
                    .map(|(a, &o)| o / length(a).max(1.0))
                    .collect();
                let policy = ctx
                    .node
                    .string("keep_aspect_ratio_policy")
                    .unwrap_or_else(|| "stretch".into());
                // ONNX: one scale for the given axes, the least (`not_larger`) or the
                // greatest (`not_smaller`) of theirs, and lengths `round_half_up(scale * n)`.
                let one = match policy.as_str() {
                    "stretch" => None,
                    "not_larger" => axes
                        .iter()
                        .filter_map(|&a| factors.get(a))
                        .copied()
                        .reduce(f64::min),
                    "not_smaller" => axes
                        .iter()
                        .filter_map(|&a| factors.get(a))
                        .copied()
                        .reduce(f64::max),
                    other => {
                        return Err(
                            ctx.unsupported("a keep_aspect_ratio_policy", other.to_string())
                        );
                    }
                };
                let mut lengths = wanted;
                if let Some(scale) = one {
                    for &a in &axes {
                        if let (Some(f), Some(n)) = (factors.get_mut(a), lengths.get_mut(a)) {
                            *f = scale;
                            *n = (scale * length(a) + 0.5).floor();
                        }
                    }
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let lengths = lengths.iter().map(|&v| v as usize).collect();
                sizes = Some(lengths);
                factors
            }
            _ => spread(
                &ctx.node
                    .attr("scales")
                    .map(|a| a.floats.iter().map(|&f| f64::from(f)).collect::<Vec<_>>())
                    .unwrap_or_default(),
                &|_| 1.0,
            )?,
        };
        // `tf_crop_and_resize` reads the region of interest (input 1): the starts of the
        // resized axes, then their ends, as fractions of the input.
        let roi = if coords == "tf_crop_and_resize" {
            let given = self.constant(ctx, 1)?.data;
            let half = given.len() / 2;
            let starts = spread(given.get(..half).unwrap_or_default(), &|_| 0.0)?;
            let ends = spread(given.get(half..).unwrap_or_default(), &|_| 1.0)?;
            Some(starts.into_iter().zip(ends).collect::<Vec<_>>())
        } else {
            None
        };
        let whole = factors.iter().all(|f| f.fract() == 0.0 && *f >= 1.0);
        if mode != "nearest" || !repeats || !whole {
            return self.resize_by_matrices(
                ctx,
                out,
                x,
                &factors,
                sizes.as_deref(),
                (&mode, &coords, &nearest),
                roi.as_deref(),
            );
        }
        let mut y = x;
        for (a, &f) in factors.iter().enumerate() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let k = f as usize;
            if k == 1 {
                continue;
            }
            let cur = self.shape(y);
            let mut unit = cur.clone();
            unit.insert(a + 1, 1);
            let u = self.reshape_to(ctx, &format!("{out}/unit{a}"), y, unit)?;
            let c = self.copies(ctx, &format!("{out}/copies{a}"), u, a + 1, k)?;
            let mut merged = cur;
            if let Some(d) = merged.get_mut(a) {
                *d *= k;
            }
            y = self.reshape_to(ctx, &format!("{out}/axis{a}"), c, merged)?;
        }
        Ok(y)
    }

    /// Resize as one constant linear map per resized axis (the axis moved last, a `matmul`
    /// by `[in, out]`, moved back): for `nearest` a 0/1 matrix (exact, any factor and
    /// rounding), for `linear` (`bilinear`) the two interpolation weights per output, for
    /// `cubic` (`bicubic`) the four of Keys' kernel (both at the parameter scale, rescaled),
    /// coordinates per `coordinate_transformation_mode`.
    #[allow(clippy::too_many_arguments)]
    fn resize_by_matrices(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        factors: &[f64],
        sizes: Option<&[usize]>,
        (mode, coords, nearest): (&str, &str, &str),
        roi: Option<&[(f64, f64)]>,
    ) -> Result<TensorId, OnnxError> {
        let extrapolation = f64::from(ctx.node.float("extrapolation_value").unwrap_or(0.0));
        let kind = match mode {
            "nearest" => Interp::Nearest,
            "linear" | "bilinear" => Interp::Linear,
            "cubic" | "bicubic" => Interp::Cubic {
                a: f64::from(ctx.node.float("cubic_coeff_a").unwrap_or(-0.75)),
                exclude_outside: ctx.node.int("exclude_outside").unwrap_or(0) != 0,
            },
            other => return Err(ctx.unsupported("a Resize mode", other.to_string())),
        };
        // Antialiasing (opset 18) widens the kernel when downscaling: not built.
        if ctx.node.int("antialias").unwrap_or(0) != 0 && factors.iter().any(|&f| f < 1.0) {
            return Err(ctx.unsupported(
                "a downscaling Resize with antialias",
                format!("scales {factors:?}"),
            ));
        }
        let shape = self.shape(x);
        let mut y = x;
        for (a, (&f, &n_in)) in factors.iter().zip(&shape).enumerate() {
            #[allow(
                clippy::cast_precision_loss,
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss
            )]
            let n_out = match sizes {
                Some(s) => s.get(a).copied().unwrap_or(n_in),
                None => (n_in as f64 * f).floor() as usize,
            };
            let whole_roi =
                roi.is_none_or(|r| r.get(a).is_none_or(|&(r0, r1)| r0 == 0.0 && r1 == 1.0));
            if n_out == n_in && (f - 1.0).abs() < f64::EPSILON && whole_roi {
                continue;
            }
            if n_out == 0 || n_out > MAX_COPIES || n_in == 0 {
                return Err(ctx.unsupported(
                    "a Resize to an empty or huge axis",
                    format!("axis {a}: {n_in} -> {n_out}"),
                ));
            }
            #[allow(clippy::cast_precision_loss)]
            let (fin, fout) = (n_in as f64, n_out as f64);
            let scale = f;
            // ONNX's reference measures the resized axis as `scale * n_in`, unrounded.
            let resized = scale * fin;
            let original = |j: usize| -> Result<f64, OnnxError> {
                #[allow(clippy::cast_precision_loss)]
                let j = j as f64;
                Ok(match coords {
                    "half_pixel" => (j + 0.5) / scale - 0.5,
                    "pytorch_half_pixel" if n_out > 1 => (j + 0.5) / scale - 0.5,
                    "pytorch_half_pixel" => 0.0,
                    #[allow(clippy::float_cmp)]
                    "align_corners" if resized != 1.0 => j * (fin - 1.0) / (resized - 1.0),
                    "align_corners" => 0.0,
                    "tf_crop_and_resize" => {
                        let (r0, r1) = roi.and_then(|r| r.get(a).copied()).unwrap_or((0.0, 1.0));
                        #[allow(clippy::float_cmp)]
                        let at = if resized == 1.0 {
                            (r1 - r0) * (fin - 1.0) / 2.0
                        } else {
                            j * (r1 - r0) * (fin - 1.0) / (resized - 1.0)
                        };
                        at + r0 * (fin - 1.0)
                    }
                    "half_pixel_symmetric" => {
                        // The input's centre maps to the output canvas's centre.
                        let offset = fin / 2.0 * (1.0 - fout / resized);
                        offset + (j + 0.5) / scale - 0.5
                    }
                    "asymmetric" => j / scale,
                    "tf_half_pixel_for_nn" => (j + 0.5) / scale,
                    other => {
                        return Err(ctx
                            .unsupported("a Resize coordinate transformation", other.to_string()));
                    }
                })
            };
            let last = fin - 1.0;
            let mut m = vec![0.0; n_in * n_out];
            // The outputs whose source lies outside the input (`tf_crop_and_resize` only):
            // they read nothing and get `extrapolation_value`, axis by axis as ONNX's
            // reference resizes.
            let mut outside = vec![false; n_out];
            for (j, out_of_input) in outside.iter_mut().enumerate() {
                let xo = original(j)?;
                if roi.is_some() && !(0.0..=last).contains(&xo) {
                    *out_of_input = true;
                    continue;
                }
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let at = |v: f64| v.clamp(0.0, last) as usize;
                if let Interp::Cubic { a, exclude_outside } = kind {
                    // Keys' kernel on the neighbours `floor(xo) - 1 ..= floor(xo) + 2` (the
                    // others weigh 0), indices past an edge read the edge value (ONNX pads
                    // by replication) or, with `exclude_outside`, weigh 0 and the rest are
                    // renormalised.
                    let x0 = xo.floor();
                    let mut taps = Vec::with_capacity(4);
                    for k in -1i32..=2 {
                        let i = x0 + f64::from(k);
                        let inside = (0.0..=last).contains(&i);
                        let w = cubic(a, (xo - i).abs());
                        if exclude_outside && !inside {
                            continue;
                        }
                        taps.push((at(i), w));
                    }
                    let total: f64 = taps.iter().map(|t| t.1).sum();
                    let norm = if exclude_outside && total != 0.0 {
                        total
                    } else {
                        1.0
                    };
                    for (i, w) in taps {
                        if let Some(c) = m.get_mut(i * n_out + j) {
                            *c += w / norm;
                        }
                    }
                } else if kind == Interp::Linear {
                    let xc = xo.clamp(0.0, last);
                    let x0 = xc.floor();
                    let w = xc - x0;
                    let (i0, i1) = (at(x0), at(x0 + 1.0));
                    if let Some(c) = m.get_mut(i0 * n_out + j) {
                        *c += 1.0 - w;
                    }
                    if let Some(c) = m.get_mut(i1 * n_out + j) {
                        *c += w;
                    }
                } else {
                    let fl = xo.floor();
                    let half = (xo - fl - 0.5).abs() < 1e-9;
                    let i = match nearest {
                        "floor" => fl,
                        "ceil" => xo.ceil(),
                        "round_prefer_ceil" if half => xo.ceil(),
                        "round_prefer_floor" if half => fl,
                        "round_prefer_floor" | "round_prefer_ceil" => xo.round(),
                        other => {
                            return Err(ctx.unsupported("a nearest_mode", other.to_string()));
                        }
                    };
                    if let Some(c) = m.get_mut(at(i) * n_out + j) {
                        *c = 1.0;
                    }
                }
            }
            let map = Const {
                shape: vec![n_in, n_out],
                data: m,
            };
            let scale = if kind == Interp::Nearest {
                Scale::ONE
            } else {
                self.sp
            };
            y = self.map_axis(ctx, &format!("{out}/axis{a}"), y, a, map, scale)?;
            if extrapolation != 0.0 && outside.contains(&true) {
                // `extrapolation_value` at the outside positions of this axis, 0 elsewhere.
                let ys = self.shape(y);
                let inner: usize = ys.get(a + 1..).unwrap_or_default().iter().product();
                let data = (0..ys.iter().product::<usize>())
                    .map(|i| {
                        let j = (i / inner.max(1)) % n_out;
                        if outside.get(j) == Some(&true) {
                            extrapolation
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let fill = Const { shape: ys, data };
                let p = self.param(ctx, &format!("{out}/extrapolated{a}"), &fill, self.s)?;
                y = self.op(ctx, &format!("{out}/axis{a}/filled"), Op::Add, &[y, p])?;
            }
        }
        Ok(y)
    }

    /// `Pad`: in constant mode a constant block (the pad value) before and after each padded
    /// axis; in `reflect`, `edge` and `wrap` modes each output entry picked from the input
    /// (slices); negative pads crop by slicing.
    fn pad(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let mode = ctx.node.string("mode").unwrap_or_else(|| "constant".into());
        if !matches!(mode.as_str(), "constant" | "reflect" | "edge" | "wrap") {
            return Err(ctx.unsupported("a Pad mode", mode));
        }
        let (pads, value) = if self.opset < 11 {
            (
                ctx.node.ints("pads").unwrap_or_default(),
                f64::from(ctx.node.float("value").unwrap_or(0.0)),
            )
        } else {
            let value = match ctx.input(2) {
                Some(_) => self.constant(ctx, 2)?.data.first().copied().unwrap_or(0.0),
                None => 0.0,
            };
            (self.ints_input(ctx, 1)?, value)
        };
        let shape = self.shape(x);
        let rank = shape.len();
        let axes: Vec<usize> = match ctx.input(3) {
            Some(_) => self
                .ints_input(ctx, 3)?
                .into_iter()
                .map(|a| axis(ctx, a, rank))
                .collect::<Result<_, _>>()?,
            None => (0..rank).collect(),
        };
        if pads.len() != 2 * axes.len() {
            return Err(ctx.unsupported(
                "pads that are not a begin and an end per axis",
                format!("{pads:?} for {} axes", axes.len()),
            ));
        }
        self.pad_axes(ctx, out, x, &axes, &pads, &mode, value)
    }

    /// `CenterCropPad(x, shape)` (opset 18): each of `axes` (all by default) cropped to a
    /// centred window (its start rounded down) or padded with zeros on both sides (the odd
    /// one after): ONNX's definition as the pads of a constant [`Self::pad_axes`], negative
    /// where it crops.
    pub(super) fn center_crop_pad(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let rank = shape.len();
        let target = self.ints_input(ctx, 1)?;
        let axes: Vec<usize> = match ctx.node.ints("axes") {
            Some(a) => a
                .into_iter()
                .map(|a| axis(ctx, a, rank))
                .collect::<Result<_, _>>()?,
            None => (0..rank).collect(),
        };
        if target.len() != axes.len() {
            return Err(ctx.unsupported(
                "a CenterCropPad shape that is not one length per axis",
                format!("{target:?} for axes {axes:?}"),
            ));
        }
        let (mut begins, mut ends) = (Vec::new(), Vec::new());
        for (&a, &t) in axes.iter().zip(&target) {
            if !(0..=i64::from(u32::MAX)).contains(&t) {
                return Err(ctx.unsupported("a CenterCropPad length", t));
            }
            let n = i64::try_from(shape.get(a).copied().unwrap_or(0)).unwrap_or(0);
            let d = t - n;
            // Padding puts the odd element after; cropping starts rounded down, so the odd
            // element is cut after too.
            let begin = if d >= 0 { d / 2 } else { -((-d) / 2) };
            begins.push(begin);
            ends.push(d - begin);
        }
        begins.extend(ends);
        self.pad_axes(ctx, out, x, &axes, &begins, "constant", 0.0)
    }

    /// `x` padded (or, for negative pads, cropped) along `axes` by `pads` (the begins, then
    /// the ends), in Pad's `mode` with `value` for a constant pad.
    #[allow(clippy::too_many_arguments)]
    fn pad_axes(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        axes: &[usize],
        pads: &[i64],
        mode: &str,
        value: f64,
    ) -> Result<TensorId, OnnxError> {
        let mut shape = self.shape(x);
        let mut y = x;
        for (k, &a) in axes.iter().enumerate() {
            let (begin, end) = (
                pads.get(k).copied().unwrap_or(0),
                pads.get(k + axes.len()).copied().unwrap_or(0),
            );
            let dim = shape.get(a).copied().unwrap_or(0);
            // Crop first (negative pads), then pad.
            let (lo, hi) = (
                to_usize(-begin.min(0)),
                dim.saturating_sub(to_usize(-end.min(0))),
            );
            if lo >= hi {
                return Err(ctx.unsupported("a Pad that crops everything", format!("{pads:?}")));
            }
            if lo > 0 || hi < dim {
                y = self.op(
                    ctx,
                    &format!("{out}/crop{a}"),
                    Op::Slice {
                        axis: a,
                        start: lo,
                        end: hi,
                    },
                    &[y],
                )?;
            }
            if mode != "constant" && (begin > 0 || end > 0) {
                // reflect / edge / wrap: every output index along the axis is an input index.
                let n = hi - lo;
                let (b, e) = (to_usize(begin.max(0)), to_usize(end.max(0)));
                let reach = if mode == "reflect" {
                    n.saturating_sub(1)
                } else {
                    n
                };
                if n == 0 || (mode != "edge" && (b > reach || e > reach)) {
                    return Err(ctx.unsupported(
                        "a reflect or wrap Pad wider than its axis",
                        format!("{pads:?} for axis {a} of {n}"),
                    ));
                }
                let index = |i: i64| -> usize {
                    let last = i64::try_from(n).unwrap_or(1) - 1;
                    let j = match mode {
                        "reflect" if i < 0 => -i,
                        "reflect" if i > last => 2 * last - i,
                        "edge" => i.clamp(0, last),
                        "wrap" => i.rem_euclid(last + 1),
                        _ => i,
                    };
                    to_usize(j)
                };
                let picks: Vec<usize> = (-i64::try_from(b).unwrap_or(0)
                    ..i64::try_from(n + e).unwrap_or(0))
                    .map(index)
                    .collect();
                y = self.pick(ctx, &format!("{out}/axis{a}"), y, a, &picks)?;
                shape = self.shape(y);
                continue;
            }
            // A -inf padding (Attention's function body pads a float mask with it) is the
            // stand-in every other infinity becomes.
            let value = value.clamp(-INFINITY_STAND_IN, INFINITY_STAND_IN);
            y = self.constant_pad(ctx, out, y, a, to_usize(begin), to_usize(end), value)?;
            shape = self.shape(y);
        }
        Ok(y)
    }

    /// `x` with blocks of the constant `value` (weight tensors at the activation scale)
    /// `before` and `after` it along axis `a`, concatenated; at most 2^24 elements a block.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn constant_pad(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        before: usize,
        after: usize,
        value: f64,
    ) -> Result<TensorId, OnnxError> {
        let mut ids = Vec::with_capacity(3);
        for (which, n) in [("before", before), ("after", after)] {
            if which == "after" {
                ids.push(x);
            }
            if n == 0 {
                continue;
            }
            let mut block = self.shape(x);
            if let Some(d) = block.get_mut(a) {
                *d = n;
            }
            let count = block.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
            let Some(count) = count.filter(|&c| c <= super::fold::MAX_FOLDED) else {
                return Err(ctx.unsupported(
                    "a Pad block of more than 2^24 elements",
                    format!("{block:?}"),
                ));
            };
            let c = Const {
                data: vec![value; count],
                shape: block,
            };
            ids.push(self.param(ctx, &format!("{out}/{which}{a}"), &c, self.s)?);
        }
        if ids.len() == 1 {
            return Ok(x);
        }
        self.op(ctx, &format!("{out}/axis{a}"), Op::Concat { axis: a }, &ids)
    }

    /// The entries `picks` of `x` along axis `a`, in order: one `slice` per run of consecutive
    /// picks (the whole of `x` for a run that is all of it), `concat`enated.
    pub(super) fn pick(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        picks: &[usize],
    ) -> Result<TensorId, OnnxError> {
        let dim = self.shape(x).get(a).copied().unwrap_or(0);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &j in picks {
            match runs.last_mut() {
                Some((_, end)) if *end == j => *end += 1,
                _ => runs.push((j, j + 1)),
            }
        }
        let mut parts = Vec::with_capacity(runs.len());
        for (k, &(start, end)) in runs.iter().enumerate() {
            parts.push(if start == 0 && end == dim {
                x
            } else {
                self.op(
                    ctx,
                    &format!("{out}/run{k}"),
                    Op::Slice {
                        axis: a,
                        start,
                        end,
                    },
                    &[x],
                )?
            });
        }
        match parts.as_slice() {
            [one] => Ok(*one),
            _ => self.op(
                ctx,
                &format!("{out}/picked"),
                Op::Concat { axis: a },
                &parts,
            ),
        }
    }

    /// The output of `shape` whose flat entry `o` is entry `picks[o]` of the sources flattened
    /// and laid end to end (`None`: 0).
    pub(super) fn take_flat(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        sources: &[TensorId],
        picks: &[Option<usize>],
        shape: Vec<usize>,
    ) -> Result<TensorId, OnnxError> {
        let mut flat = Vec::with_capacity(sources.len() + 1);
        let mut total = 0;
        for (k, &x) in sources.iter().enumerate() {
            let n = self.shape(x).iter().product::<usize>();
            flat.push(self.reshape_to(ctx, &format!("{out}/flat{k}"), x, vec![n])?);
            total += n;
        }
        if picks.contains(&None) {
            let zero = Const {
                shape: vec![1],
                data: vec![0.0],
            };
            flat.push(self.param(ctx, &format!("{out}/zero"), &zero, self.s)?);
        }
        let all = if let [one] = flat[..] {
            one
        } else {
            self.op(
                ctx,
                &format!("{out}/sources"),
                Op::Concat { axis: 0 },
                &flat,
            )?
        };
        let at: Vec<usize> = picks.iter().map(|p| p.unwrap_or(total)).collect();
        let y = self.pick(ctx, &format!("{out}/picked"), all, 0, &at)?;
        self.reshape_to(ctx, out, y, shape)
    }

    /// The entries of `x` where the indices along axes `a < b` agree (an Einsum diagonal),
    /// axis `b` dropped.
    pub(super) fn diagonal(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        b: usize,
    ) -> Result<TensorId, OnnxError> {
        let xs = self.shape(x);
        if xs.get(a) != xs.get(b) || a >= b {
            return Err(ctx.unsupported(
                "an Einsum diagonal of axes of different lengths",
                format!("{xs:?}, axes {a} and {b}"),
            ));
        }
        let mut ys = xs.clone();
        ys.remove(b);
        let picks: Vec<Option<usize>> = (0..ys.iter().product::<usize>())
            .map(|o| {
                let mut idx = unravel(o, &ys);
                idx.insert(b, idx.get(a).copied().unwrap_or(0));
                Some(ravel(&idx, &xs))
            })
            .collect();
        self.take_flat(ctx, out, &[x], &picks, ys)
    }

    /// `Gather` of a computed tensor at constant indices: a slice per index (one slice for a
    /// run of consecutive indices), concatenated, then reshaped to `before + indices + after`.
    /// Computed indices select by one-hot rows ([`super::index`]).
    fn gather(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let rank = shape.len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
        let idx = match self.get(ctx, 1)? {
            Value::Const(c) => c.clone(),
            Value::Dyn(idx) => {
                let idx = *idx;
                return self.gather_computed(ctx, out, x, idx);
            }
        };
        let dim = i64::try_from(shape.get(a).copied().unwrap_or(0)).unwrap_or(0);
        let mut wanted = Vec::with_capacity(idx.data.len());
        for &v in &idx.data {
            #[allow(clippy::cast_possible_truncation)]
            let i = v as i64;
            let j = if i < 0 { i + dim } else { i };
            if !(0..dim).contains(&j) {
                return Err(ctx.unsupported("a Gather index out of range", format!("{i} of {dim}")));
            }
            wanted.push(to_usize(j));
        }
        if wanted.is_empty() {
            return Err(ctx.unsupported("a Gather of no index", ""));
        }
        let y = self.pick(ctx, out, x, a, &wanted)?;
        let mut target = shape.get(..a).unwrap_or_default().to_vec();
        target.extend_from_slice(&idx.shape);
        target.extend_from_slice(shape.get(a + 1..).unwrap_or_default());
        self.reshape_to(ctx, out, y, target)
    }

    /// `Split`: a constant splits into constants (a shape into its dimensions), a computed
    /// tensor into slices ([`Self::split_pieces`]).
    fn split(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let value = self.get(ctx, 0)?.clone();
        self.split_pieces(ctx, value)
    }

    /// The pieces of `value` (input 0 of `ctx`'s `Split`) as the node's outputs: sizes from
    /// the input (opset 13+), the `split` attribute, `num_outputs` (opset 18) or equal parts.
    pub(super) fn split_pieces(&mut self, ctx: &Ctx<'_>, value: Value) -> Result<(), OnnxError> {
        let shape = match &value {
            Value::Dyn(x) => self.shape(*x),
            Value::Const(c) => c.shape.clone(),
        };
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), shape.len())?;
        let dim = shape.get(a).copied().unwrap_or(0);
        let outs: Vec<String> = ctx
            .node
            .output
            .iter()
            .filter(|o| !o.is_empty())
            .cloned()
            .collect();
        let sizes: Vec<usize> = match (ctx.input(1), ctx.node.ints("split")) {
            (Some(_), _) => self.ints_input(ctx, 1)?.into_iter().map(to_usize).collect(),
            (None, Some(s)) => s.into_iter().map(to_usize).collect(),
            (None, None) => {
                let n = outs.len().max(1);
                let part = dim.div_ceil(n);
                (0..n)
                    .map(|k| part.min(dim.saturating_sub(k * part)))
                    .collect()
            }
        };
        if sizes.len() != outs.len() || sizes.iter().sum::<usize>() != dim {
            return Err(ctx.unsupported(
                "Split sizes that do not cover the axis",
                format!("{sizes:?} of {dim} into {} outputs", outs.len()),
            ));
        }
        let mut start = 0;
        let x = match value {
            Value::Dyn(x) => x,
            Value::Const(c) => {
                let inner: usize = shape.get(a + 1..).unwrap_or_default().iter().product();
                for (name, n) in outs.iter().zip(sizes) {
                    let mut piece = shape.clone();
                    if let Some(d) = piece.get_mut(a) {
                        *d = n;
                    }
                    let data = (0..piece.iter().product::<usize>())
                        .filter_map(|i| {
                            let (outer, rest) = (i / (n * inner).max(1), i % (n * inner).max(1));
                            c.data
                                .get(outer * dim * inner + start * inner + rest)
                                .copied()
                        })
                        .collect();
                    self.set(name, Value::Const(Const { shape: piece, data }));
                    start += n;
                }
                return Ok(());
            }
        };
        for (name, n) in outs.iter().zip(sizes) {
            if n == 0 {
                // An empty piece (RotaryEmbedding's function body splits off the features it
                // does not rotate, none when it rotates them all): an empty constant, which
                // Concat leaves out.
                let mut shape = self.shape(x);
                if let Some(d) = shape.get_mut(a) {
                    *d = 0;
                }
                self.set(
                    name,
                    Value::Const(Const {
                        shape,
                        data: Vec::new(),
                    }),
                );
                continue;
            }
            let y = self.op(
                ctx,
                name,
                Op::Slice {
                    axis: a,
                    start,
                    end: start + n,
                },
                &[x],
            )?;
            self.set(name, Value::Dyn(y));
            start += n;
        }
        Ok(())
    }

    /// A 1-D Conv (weights `[O, C/g, K]`), ConvTranspose (`[C, O/g, K]`), MaxPool or
    /// AveragePool as the 2-D one of height 1:
    /// the input reshaped to `[N, C, 1, L]`, the attributes lifted to two axes (kernel, strides,
    /// dilations get a leading 1; pads `[b, e]` become `[0, b, 0, e]`), the output reshaped back.
    pub(super) fn lift_1d(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let [n, c, l] = shape.as_slice() else {
            return Err(ctx.unsupported("a 1-D op of an input not [N, C, L]", format!("{shape:?}")));
        };
        let x_name = format!("{out}/2d_input");
        let x4 = self.reshape_to(ctx, &x_name, x, vec![*n, *c, 1, *l])?;
        self.set(&x_name, Value::Dyn(x4));
        let mut inputs = vec![x_name];
        let weighted = matches!(ctx.node.op_type.as_str(), "Conv" | "ConvTranspose");
        if weighted {
            let w = self.constant(ctx, 1)?;
            let w_name = format!("{out}/2d_weight");
            let mut wshape = w.shape.clone();
            wshape.insert(2.min(wshape.len()), 1);
            self.set(
                &w_name,
                Value::Const(Const {
                    shape: wshape,
                    data: w.data,
                }),
            );
            inputs.push(w_name);
            inputs.extend(ctx.node.input.get(2).cloned());
        }
        let lift = |a: &AttributeProto| -> AttributeProto {
            let mut a = a.clone();
            a.ints = match (a.name.as_str(), a.ints.as_slice()) {
                // [begin, end] -> [top, left, bottom, right]
                ("pads", [b, e]) => vec![0, *b, 0, *e],
                ("pads", other) => other.to_vec(),
                // No extra output row.
                ("output_padding", _) => std::iter::once(0).chain(a.ints.iter().copied()).collect(),
                _ => std::iter::once(1).chain(a.ints.iter().copied()).collect(),
            };
            a
        };
        let mut node: NodeProto = ctx.node.clone();
        node.attribute = ctx
            .node
            .attribute
            .iter()
            .map(|a| match a.name.as_str() {
                "strides" | "dilations" | "kernel_shape" | "pads" | "output_padding" => lift(a),
                _ => a.clone(),
            })
            .collect();
        let inner = format!("{out}/2d");
        node.input = inputs;
        node.output = vec![inner.clone()];
        if let Some(f) = self.folds.remove(out) {
            self.folds.insert(inner.clone(), f);
        }
        let lifted = Ctx {
            node: &node,
            name: ctx.name.clone(),
        };
        if ctx.node.op_type == "ConvTranspose" {
            self.conv_transpose(&lifted, &inner)?;
        } else if weighted {
            self.conv(&lifted, &inner)?;
        } else if ctx.node.op_type == "LpPool" {
            let y = self.lp_pool(&lifted, &inner)?;
            self.set(&inner, Value::Dyn(y));
        } else {
            self.pool(&lifted, &inner)?;
        }
        let y = match self.values.get(&inner) {
            Some(Value::Dyn(id)) => *id,
            _ => return Err(ctx.unsupported("a 1-D op whose 2-D form failed", "")),
        };
        let s = self.shape(y);
        let target: Vec<usize> = s
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, d)| *d)
            .collect();
        let y = self.reshape_to(ctx, out, y, target)?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }
}

/// A Resize's interpolation.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Interp {
    Nearest,
    Linear,
    /// Keys' cubic convolution with coefficient `a` (ONNX's `cubic_coeff_a`).
    Cubic {
        a: f64,
        exclude_outside: bool,
    },
}

/// Keys' cubic kernel at distance `d >= 0` (ONNX's Resize in `cubic` mode): 1 at 0, 0 at every
/// other whole distance, 0 from 2 on.
fn cubic(a: f64, d: f64) -> f64 {
    if d <= 1.0 {
        ((a + 2.0) * d - (a + 3.0)) * d * d + 1.0
    } else if d < 2.0 {
        ((a * d - 5.0 * a) * d + 8.0 * a) * d - 4.0 * a
    } else {
        0.0
    }
}
