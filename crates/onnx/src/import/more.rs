//! Element-wise activations, clipping, reductions, slicing and powers, each lowered to ops the
//! Program already has (so every backend proves them with the chips and gates it has, and each
//! is exact for inputs of any size):
//!
//! - `Neg`, `Abs`, `Min`/`Max` (n-ary), `Clip`, `Sum` (n-ary): `max(a, b) = a + relu(b - a)`,
//!   `min(a, b) = a - relu(a - b)`, `|x| = 2 relu(x) - x`, `-x = (x - x) - x`;
//! - `HardSigmoid`, `HardSwish`, `PRelu`: affine maps, clipping, products;
//! - `Elu`, `Selu`, `Celu`, `Softplus`, `Mish`: `relu(x)` plus a table of a *saturating*
//!   function of `min(x, 0)` or `-|x|` (`e^t - 1`, `ln(1 + e^t)` for `t <= 0`), so no input is
//!   ever clamped to a wrong value;
//! - `Sqrt`, `Pow` (exponent 1, 2, 3 or 0.5): products and the exact integer square root;
//! - `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`, `ReduceSumSquare`, `ReduceL1`,
//!   `ReduceL2` (axes from the attribute or the input, `keepdims`);
//! - `Slice` (constant starts, ends, axes; step 1).

use zkmlops_field::Scale;
use zkmlops_lookup::Function;
use zkmlops_tensor::ops::{Conv2dParams, Rounding};
use zkmlops_tensor::{Op, TensorId, composite};

use super::movement::INFINITY_STAND_IN;
use super::{Ctx, Importer, Value, axis, fold, pads4, pair, slice_positions};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// `e^t` and `ln(1 + e^t)` are tabulated on `[-SATURATION, 0]`: below it both are under one
/// output unit at every scale up to 2^16 (`e^-16 < 2^-23`).
const SATURATION: f64 = 16.0;
/// `tanh` in Mish saturates at this radius (as the importer's Tanh).
const TANH_RADIUS: f64 = 8.0;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &[
    "BitShift",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
    "BitwiseNot",
    "Neg",
    "Abs",
    "Min",
    "Max",
    "Sum",
    "Mean",
    "ThresholdedRelu",
    "Shrink",
    "Hardmax",
    "GlobalMaxPool",
    "Trilu",
    "ReduceLogSumExp",
    "ReduceLogSum",
    "LRN",
    "Clip",
    "HardSigmoid",
    "HardSwish",
    "PRelu",
    "Elu",
    "Selu",
    "Celu",
    "Softplus",
    "Mish",
    "Sqrt",
    "Pow",
    "ReduceSum",
    "ReduceMean",
    "ReduceMax",
    "ReduceMin",
    "ReduceSumSquare",
    "ReduceProd",
    "CumProd",
    "ReduceL1",
    "ReduceL2",
    "Slice",
    "ArgMax",
    "ArgMin",
    "Greater",
    "Less",
    "GreaterOrEqual",
    "LessOrEqual",
    "Equal",
    "Not",
    "And",
    "Or",
    "Xor",
    "Sign",
    "Floor",
    "Ceil",
    "Reciprocal",
    "Exp",
    "Log",
    "Softsign",
    "Round",
    "LpPool",
    "TopK",
    "Sin",
    "Cos",
    "Tan",
    "Asin",
    "Acos",
    "Atan",
    "Sinh",
    "Cosh",
    "Asinh",
    "Acosh",
    "Atanh",
    "CumSum",
    "Mod",
    "QuantizeLinear",
    "DequantizeLinear",
];

/// Exp and Log are tabulated on the calibrated range of their input widened by this fraction
/// of its width on each side (and clamped beyond it, as every table is).
const RANGE_MARGIN: f64 = 0.25;
/// Their domains without a calibrated range.
const EXP_DEFAULT: (f64, f64) = (-8.0, 4.0);
const LOG_DEFAULT: (f64, f64) = (0.0, 64.0);
/// A fractional Pow's base range without calibration.
const POW_DEFAULT: (f64, f64) = (0.0, 8.0);
/// Largest whole exponent Pow computes by products, and largest `ln` of a Pow value.
const MAX_POWER: u32 = 16;

/// The most distinct values of a constant operand (Pow exponents, Mod divisors) lowered one
/// circuit per value ([`Importer::per_value`]).
const MAX_DISTINCT: usize = 16;

/// Most window entries MaxPool's indices output lays out (windows times their entries).
const MAX_WINDOW_ENTRIES: usize = 1 << 22;

/// Where a maximum first occurs ([`Importer::first_max`]).
struct FirstMax {
    /// The maximum (kept axis, activation scale).
    max: TensorId,
    /// `[x_i >= max] * (n - i)`.
    weight: TensorId,
    /// `max(weight) = n - first`.
    top: TensorId,
    /// The first index of the maximum (plain integer).
    index: TensorId,
}

fn scalar(v: f64) -> Const {
    Const {
        shape: vec![],
        data: vec![v],
    }
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`].
    pub(super) fn more(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        if ctx.node.op_type == "Slice" {
            let y = self.slice(ctx, out)?;
            self.set(out, y);
            return Ok(());
        }
        if ctx.node.op_type.starts_with("Reduce")
            && let Some(c) = self.reduce_of_nothing(ctx)?
        {
            self.set(out, Value::Const(c));
            return Ok(());
        }
        let y = match ctx.node.op_type.as_str() {
            "Neg" => {
                let x = self.dyn_input(ctx, 0)?;
                self.neg(ctx, out, x)?
            }
            "Reciprocal" => {
                let x = self.dyn_input(ctx, 0)?;
                let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
                self.divide(ctx, out, one, x)?
            }
            "Abs" => {
                let x = self.dyn_input(ctx, 0)?;
                self.abs(ctx, out, x)?
            }
            "Min" | "Max" | "Sum" | "Mean" => {
                let mut acc = self.dyn_input(ctx, 0)?;
                let n = ctx.node.input.len();
                for i in 1..n {
                    let b = self.dyn_input(ctx, i)?;
                    let name = format!("{out}/{i}");
                    acc = match ctx.node.op_type.as_str() {
                        "Min" => self.min2(ctx, &name, acc, b)?,
                        "Max" => self.max2(ctx, &name, acc, b)?,
                        _ => self.op(ctx, &name, Op::Add, &[acc, b])?,
                    };
                }
                if ctx.node.op_type == "Mean" && n > 1 {
                    #[allow(clippy::cast_precision_loss)]
                    let inv = scalar(1.0 / n as f64);
                    acc = self.mul_const(ctx, out, acc, &format!("{out}/inverse_count"), &inv)?;
                }
                acc
            }
            "ThresholdedRelu" => {
                // x where x > alpha, else 0: x * step(x - alpha).
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(1.0));
                let x = self.dyn_input(ctx, 0)?;
                let a = self.param(ctx, &format!("{out}/alpha"), &scalar(alpha), self.s)?;
                let d = self.op(ctx, &format!("{out}/over"), Op::Sub, &[x, a])?;
                let gate = self.step(ctx, &format!("{out}/gate"), d)?;
                let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, gate])?;
                self.rescale(ctx, out, p, self.s.bits())?
            }
            "Shrink" => {
                // (x - bias) where x > lambd, (x + bias) where x < -lambd, else 0.
                let bias = f64::from(ctx.node.float("bias").unwrap_or(0.0));
                let lambd = f64::from(ctx.node.float("lambd").unwrap_or(0.5));
                let x = self.dyn_input(ctx, 0)?;
                let l = self.param(ctx, &format!("{out}/lambd"), &scalar(lambd), self.s)?;
                let b = self.param(ctx, &format!("{out}/bias"), &scalar(bias), self.s)?;
                let over = self.op(ctx, &format!("{out}/over"), Op::Sub, &[x, l])?;
                let up = self.step(ctx, &format!("{out}/above"), over)?;
                let n = self.neg(ctx, &format!("{out}/negated"), x)?;
                let under = self.op(ctx, &format!("{out}/under"), Op::Sub, &[n, l])?;
                let down = self.step(ctx, &format!("{out}/below"), under)?;
                let hi = self.op(ctx, &format!("{out}/minus_bias"), Op::Sub, &[x, b])?;
                let lo = self.op(ctx, &format!("{out}/plus_bias"), Op::Add, &[x, b])?;
                let mut parts = Vec::with_capacity(2);
                for (which, v, g) in [("upper", hi, up), ("lower", lo, down)] {
                    let p = self.op(ctx, &format!("{out}/{which}"), Op::Mul, &[v, g])?;
                    parts.push(self.rescale(
                        ctx,
                        &format!("{out}/{which}_rescaled"),
                        p,
                        self.s.bits(),
                    )?);
                }
                self.op(ctx, out, Op::Add, &parts)?
            }
            "Hardmax" => {
                let x = self.dyn_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let default = if self.opset >= 13 { -1 } else { 1 };
                let a = axis(ctx, ctx.node.int("axis").unwrap_or(default), rank)?;
                self.along_last(ctx, out, x, a, |me, name, x| me.hardmax_last(ctx, name, x))?
            }
            "GlobalMaxPool" => {
                let x = self.dyn_input(ctx, 0)?;
                let axes: Vec<usize> = (2..self.shape(x).len()).collect();
                self.reduce_max(ctx, out, x, &axes, true)?
            }
            "Trilu" => {
                // A constant 0/1 mask over the last two axes (diagonal offset k).
                let x = self.dyn_input(ctx, 0)?;
                let shape = self.shape(x);
                let k = match ctx.input(1) {
                    Some(_) => self.ints_input(ctx, 1)?.first().copied().unwrap_or(0),
                    None => 0,
                };
                let upper = ctx.node.int("upper").unwrap_or(1) != 0;
                let (rows, cols) = match shape.as_slice() {
                    [.., r, c] => (*r, *c),
                    _ => return Err(ctx.unsupported("Trilu of rank < 2", format!("{shape:?}"))),
                };
                let data = (0..rows * cols)
                    .map(|i| {
                        let (r, c) = (
                            i64::try_from(i / cols).unwrap_or(0),
                            i64::try_from(i % cols).unwrap_or(0),
                        );
                        let keep = if upper { c - r >= k } else { c - r <= k };
                        f64::from(u8::from(keep))
                    })
                    .collect();
                let mask = Const {
                    shape: vec![rows, cols],
                    data,
                };
                self.mul_const(ctx, out, x, &format!("{out}/mask"), &mask)?
            }
            "Clip" if (1..3).any(|i| matches!(self.get(ctx, i), Ok(Value::Dyn(_)))) => {
                // Computed bounds (opset 11+ inputs): min(max(x, lo), hi), as ONNX orders them.
                let mut y = self.dyn_input(ctx, 0)?;
                if ctx.input(1).is_some() {
                    let lo = self.dyn_input(ctx, 1)?;
                    let name = if ctx.input(2).is_some() {
                        format!("{out}/lower")
                    } else {
                        out.to_string()
                    };
                    y = self.max2(ctx, &name, y, lo)?;
                }
                if ctx.input(2).is_some() {
                    let hi = self.dyn_input(ctx, 2)?;
                    y = self.min2(ctx, out, y, hi)?;
                }
                y
            }
            "Clip" => {
                let x = self.dyn_input(ctx, 0)?;
                let (lo, hi) = self.clip_bounds(ctx)?;
                self.clip(ctx, out, x, lo, hi)?
            }
            "HardSigmoid" => {
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(0.2));
                let beta = f64::from(ctx.node.float("beta").unwrap_or(0.5));
                let x = self.dyn_input(ctx, 0)?;
                self.hard_sigmoid(ctx, out, x, alpha, beta)?
            }
            "HardSwish" => {
                let x = self.dyn_input(ctx, 0)?;
                let h = self.hard_sigmoid(ctx, &format!("{out}/gate"), x, 1.0 / 6.0, 0.5)?;
                let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, h])?;
                self.rescale(ctx, out, p, self.s.bits())?
            }
            "PRelu" if matches!(self.get(ctx, 1), Ok(Value::Dyn(_))) => {
                // A computed slope (numpy broadcasting): relu(x) + slope * (x - relu(x)).
                let x = self.dyn_input(ctx, 0)?;
                let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
                let n = self.op(ctx, &format!("{out}/negative"), Op::Sub, &[x, r])?;
                let m = self.times_input(ctx, &format!("{out}/scaled"), n, 1, None)?;
                self.op(ctx, out, Op::Add, &[r, m])?
            }
            "PRelu" => {
                // relu(x) + slope * (x - relu(x)), the slope a constant broadcast over x.
                let x = self.dyn_input(ctx, 0)?;
                let mut slope = self.constant(ctx, 1)?;
                // A 1-D slope of one value per channel (older PyTorch exports) goes along
                // axis 1, as tract and onnxruntime read it.
                let shape = self.shape(x);
                if slope.shape.len() == 1
                    && shape.len() > 2
                    && shape.get(1) == Some(&slope.data.len())
                    && shape.last() != Some(&slope.data.len())
                {
                    let mut s = vec![1; shape.len() - 1];
                    if let Some(c) = s.first_mut() {
                        *c = slope.data.len();
                    }
                    slope.shape = s;
                }
                let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
                let n = self.op(ctx, &format!("{out}/negative"), Op::Sub, &[x, r])?;
                let slope_name = format!("{out}/slope");
                let m = self.mul_const(ctx, &format!("{out}/scaled"), n, &slope_name, &slope)?;
                self.op(ctx, out, Op::Add, &[r, m])?
            }
            "Elu" => {
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(1.0));
                let x = self.dyn_input(ctx, 0)?;
                self.elu(ctx, out, x, 1.0, alpha, 1.0)?
            }
            "Selu" => {
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(1.673_263_2));
                let gamma = f64::from(ctx.node.float("gamma").unwrap_or(1.050_701));
                let x = self.dyn_input(ctx, 0)?;
                self.elu(ctx, out, x, gamma, gamma * alpha, 1.0)?
            }
            "Celu" => {
                let alpha = f64::from(ctx.node.float("alpha").unwrap_or(1.0));
                if alpha == 0.0 {
                    return Err(ctx.unsupported("Celu with alpha 0", "alpha = 0"));
                }
                let x = self.dyn_input(ctx, 0)?;
                self.elu(ctx, out, x, 1.0, alpha, 1.0 / alpha)?
            }
            "Softplus" => {
                let x = self.dyn_input(ctx, 0)?;
                self.softplus(ctx, out, x)?
            }
            "Mish" => {
                // x * tanh(softplus(x)); softplus >= 0 and tanh saturates.
                let x = self.dyn_input(ctx, 0)?;
                let sp = self.softplus(ctx, &format!("{out}/softplus"), x)?;
                let t = self.lookup_on(
                    ctx,
                    &format!("{out}/tanh"),
                    sp,
                    Function::Tanh,
                    0.0,
                    TANH_RADIUS,
                )?;
                let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, t])?;
                self.rescale(ctx, out, p, self.s.bits())?
            }
            "Exp" | "Log" => {
                let x = self.dyn_input(ctx, 0)?;
                let unit = 1.0 / self.s.factor();
                let (f, (lo, hi)) = if ctx.node.op_type == "Exp" {
                    let (lo, hi) = self.calibrated(ctx, EXP_DEFAULT);
                    // Below -16, e^x is under one unit at every scale.
                    (Function::Exp, (lo.max(-SATURATION), hi.max(lo + unit)))
                } else {
                    let (lo, hi) = self.calibrated(ctx, LOG_DEFAULT);
                    let lo = self.log_floor(lo, hi);
                    (Function::Log, (lo, hi.max(lo + unit)))
                };
                self.lookup_on(ctx, out, x, f, lo, hi)?
            }
            "Sin" | "Cos" | "Tan" | "Asin" | "Acos" | "Atan" | "Sinh" | "Cosh" | "Asinh"
            | "Acosh" | "Atanh" => {
                let x = self.dyn_input(ctx, 0)?;
                let f = match ctx.node.op_type.as_str() {
                    "Sin" => Function::Sin,
                    "Cos" => Function::Cos,
                    "Tan" => Function::Tan,
                    "Asin" => Function::Asin,
                    "Acos" => Function::Acos,
                    "Atan" => Function::Atan,
                    "Sinh" => Function::Sinh,
                    "Cosh" => Function::Cosh,
                    "Asinh" => Function::Asinh,
                    "Acosh" => Function::Acosh,
                    _ => Function::Atanh,
                };
                let (x, (lo, hi)) = match f {
                    // Periodic: reduced to one period first, so the table holds every input
                    // (a calibrated range would clamp inputs beyond it to wrong values).
                    Function::Sin | Function::Cos => {
                        let tau = 2.0 * std::f64::consts::PI;
                        (self.reduce_period(ctx, out, x, tau)?, (-3.25, 3.25))
                    }
                    Function::Tan => (
                        self.reduce_period(ctx, out, x, std::f64::consts::PI)?,
                        f.default_domain(),
                    ),
                    _ => (x, self.function_domain(ctx, f)),
                };
                self.lookup_on(ctx, out, x, f, lo, hi)?
            }
            "Softsign" => {
                // x / (1 + |x|): the divisor is at least 1, so one exact division.
                let x = self.dyn_input(ctx, 0)?;
                let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
                let magnitude = self.abs(ctx, &format!("{out}/magnitude"), x)?;
                let d = self.op(ctx, &format!("{out}/divisor"), Op::Add, &[one, magnitude])?;
                let wide = self.widen(ctx, &format!("{out}/numerator"), x)?;
                self.op(
                    ctx,
                    out,
                    Op::Div {
                        rounding: Rounding::HalfUp,
                    },
                    &[wide, d],
                )?
            }
            "Round" => {
                let x = self.dyn_input(ctx, 0)?;
                self.round_even(ctx, out, x)?
            }
            "LpPool" => self.lp_pool(ctx, out)?,
            "CumSum" => self.cum_sum(ctx, out)?,
            "CumProd" => self.cum_prod(ctx, out)?,
            "QuantizeLinear" | "DequantizeLinear" => self.linear_quantization(ctx, out)?,
            "Mod" => self.modulo(ctx, out)?,
            "Sqrt" => {
                let x = self.dyn_input(ctx, 0)?;
                let wide = self.widen(ctx, &format!("{out}/wide"), x)?;
                self.op(ctx, out, Op::Sqrt, &[wide])?
            }
            "Pow" => self.pow(ctx, out)?,
            "LRN" => self.lrn(ctx, out)?,
            "ArgMax" | "ArgMin" => self.arg_extreme(ctx, out)?,
            "TopK" => self.top_k(ctx, out)?,
            "Equal" if self.infinite_operand(ctx).is_some() => self.equals_infinity(ctx, out)?,
            "Greater" | "Less" | "GreaterOrEqual" | "LessOrEqual" | "Equal" => {
                let a = self.dyn_input(ctx, 0)?;
                let b = self.dyn_input(ctx, 1)?;
                self.compare(ctx, out, a, b)?
            }
            "Not" => {
                let c = self.dyn_input(ctx, 0)?;
                self.complement(ctx, out, c)?
            }
            "And" | "Or" | "Xor" => {
                let a = self.dyn_input(ctx, 0)?;
                let b = self.dyn_input(ctx, 1)?;
                self.logic(ctx, out, a, b)?
            }
            "Sign" => {
                let x = self.dyn_input(ctx, 0)?;
                self.sign(ctx, out, x)?
            }
            "Floor" => {
                let x = self.dyn_input(ctx, 0)?;
                self.floor(ctx, out, x)?
            }
            "BitShift" => {
                let x = self.dyn_input(ctx, 0)?;
                self.bit_shift(ctx, out, x)?
            }
            "BitwiseAnd" | "BitwiseOr" | "BitwiseXor" | "BitwiseNot" => self.bitwise(ctx, out)?,
            "Ceil" => {
                let x = self.dyn_input(ctx, 0)?;
                self.ceil(ctx, out, x)?
            }
            _ => self.reduce(ctx, out)?,
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// `ArgMax` (and `ArgMin` as the argmax of `-x`): the index (first on ties,
    /// [`Self::first_max`]) at scale `2^0`, brought to the activation scale by a product with
    /// 1.0.
    fn arg_extreme(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let last = ctx.node.int("select_last_index").unwrap_or(0) != 0;
        let mut x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
        let keep_dims = ctx.node.int("keepdims").unwrap_or(1) != 0;
        if ctx.node.op_type == "ArgMin" {
            x = self.neg(ctx, &format!("{out}/negated"), x)?;
        }
        let first = self.max_at(ctx, out, x, a, last)?;
        let i = if keep_dims {
            first.index
        } else {
            let mut shape = self.shape(first.index);
            shape.remove(a);
            self.reshape_to(ctx, &format!("{out}/dropped"), first.index, shape)?
        };
        self.widen(ctx, out, i)
    }

    /// MaxPool's `Indices` output for a 2-D pool of `x` (`[N, C, H, W]`) whose values are `y`
    /// (`[N, C, OH, OW]`): every window's entries picked into a row (a padded one the
    /// -[`INFINITY_STAND_IN`] stand-in, as the pools pad), the first maximum of each row as a
    /// one-hot (ONNX's reference keeps the first of equal maxima, in window order), times each
    /// entry's flat position in `x` (row-major, or column-major within each plane for
    /// `storage_order = 1`), summed.
    pub(super) fn max_pool_indices(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        y: TensorId,
        [kernel, strides, dilations]: [[usize; 2]; 3],
        [top, left]: [usize; 2],
    ) -> Result<TensorId, OnnxError> {
        let (xs, ys) = (self.shape(x), self.shape(y));
        let (&[nb, c, h, w], &[_, _, oh, ow]) = (xs.as_slice(), ys.as_slice()) else {
            return Err(ctx.unsupported(
                "MaxPool indices of a pool that is not 2-D",
                format!("input {xs:?}"),
            ));
        };
        let column_major = ctx.node.int("storage_order").unwrap_or(0) != 0;
        let taps = kernel[0] * kernel[1];
        let rows = nb * c * oh * ow;
        if rows.saturating_mul(taps) > MAX_WINDOW_ENTRIES {
            return Err(ctx.unsupported(
                "MaxPool indices of more window entries than 2^22",
                format!("{rows} windows of {taps}"),
            ));
        }
        let outside = nb * c * h * w;
        let mut picks = Vec::with_capacity(rows * taps);
        let mut positions = Vec::with_capacity(rows * taps);
        for r in 0..rows {
            let (plane, o) = (r / (oh * ow), r % (oh * ow));
            let (i, j) = (o / ow, o % ow);
            for t in 0..taps {
                let (ki, kj) = (t / kernel[1], t % kernel[1]);
                let hh = (i * strides[0] + ki * dilations[0]).checked_sub(top);
                let ww = (j * strides[1] + kj * dilations[1]).checked_sub(left);
                match (hh, ww) {
                    (Some(hh), Some(ww)) if hh < h && ww < w => {
                        picks.push(Some(plane * h * w + hh * w + ww));
                        positions.push(if column_major {
                            plane * h * w + ww * h + hh
                        } else {
                            plane * h * w + hh * w + ww
                        });
                    }
                    _ => {
                        picks.push(Some(outside));
                        positions.push(0);
                    }
                }
            }
        }
        let pad = Const {
            shape: vec![1],
            data: vec![-INFINITY_STAND_IN],
        };
        let pad = self.param(ctx, &format!("{out}/pad"), &pad, self.s)?;
        let windows = self.take_flat(
            ctx,
            &format!("{out}/windows"),
            &[x, pad],
            &picks,
            vec![rows, taps],
        )?;
        let hot = self.first_max_of(ctx, &format!("{out}/first"), windows, 1)?;
        let positions = super::index::counts(vec![rows, taps], positions);
        let positions = self.param(ctx, &format!("{out}/positions"), &positions, Scale::ONE)?;
        let at = self.op(ctx, &format!("{out}/at"), Op::Mul, &[hot, positions])?;
        let index = self.op(
            ctx,
            &format!("{out}/index"),
            Op::Sum {
                axes: vec![1],
                keep_dims: false,
            },
            &[at],
        )?;
        let index = self.reshape_to(ctx, &format!("{out}/plain"), index, vec![nb, c, oh, ow])?;
        self.widen(ctx, out, index)
    }

    /// The maximum of `x` along axis `a` and where it first occurs, from comparisons only (so
    /// every backend proves it): `m = max(x)`, `w_i = [x_i >= m] * (n - i)` (nonzero exactly
    /// at the maxima, largest at the first), `r = max(w) = n - first`. All kept as length-1
    /// axes; the index and `w`, `r` are plain integers (scale `2^0`).
    fn first_max(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
    ) -> Result<FirstMax, OnnxError> {
        self.max_at(ctx, out, x, a, false)
    }

    /// [`Self::first_max`], or with `last` where the maximum last occurs (ArgMax's
    /// `select_last_index`): `w_i = [x_i >= m] * (i + 1)`, `r = max(w) = last + 1`.
    fn max_at(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        last: bool,
    ) -> Result<FirstMax, OnnxError> {
        let shape = self.shape(x);
        let n = shape.get(a).copied().unwrap_or(1);
        let max = self.op(
            ctx,
            &format!("{out}/max"),
            Op::ReduceMax {
                axis: a,
                keep_dims: true,
            },
            &[x],
        )?;
        let at_max = self.op(ctx, &format!("{out}/at_max"), Op::AtLeast, &[x, max])?;
        let mut ramp_shape = vec![1; shape.len()];
        if let Some(d) = ramp_shape.get_mut(a) {
            *d = n;
        }
        #[allow(clippy::cast_precision_loss)]
        let ramp = Const {
            shape: ramp_shape,
            data: (0..n)
                .map(|i| (if last { i + 1 } else { n - i }) as f64)
                .collect(),
        };
        let ramp = self.param(ctx, &format!("{out}/countdown"), &ramp, Scale::ONE)?;
        let weight = self.op(ctx, &format!("{out}/weighted"), Op::Mul, &[at_max, ramp])?;
        let top = self.op(
            ctx,
            &format!("{out}/first_weight"),
            Op::ReduceMax {
                axis: a,
                keep_dims: true,
            },
            &[weight],
        )?;
        let index = if last {
            let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), Scale::ONE)?;
            self.op(ctx, &format!("{out}/last"), Op::Sub, &[top, one])?
        } else {
            #[allow(clippy::cast_precision_loss)]
            let count = self.param(ctx, &format!("{out}/count"), &scalar(n as f64), Scale::ONE)?;
            self.op(ctx, &format!("{out}/first"), Op::Sub, &[count, top])?
        };
        Ok(FirstMax {
            max,
            weight,
            top,
            index,
        })
    }

    /// The one-hot `[x_i is the first maximum along a]`, plain 0/1 integers.
    pub(super) fn first_max_of(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
    ) -> Result<TensorId, OnnxError> {
        let first = self.first_max(ctx, out, x, a)?;
        self.op(
            ctx,
            &format!("{out}/hot"),
            Op::AtLeast,
            &[first.weight, first.top],
        )
    }

    /// `TopK` (constant `K`, `largest` either way, sorted): `K` rounds of [`Self::first_max`],
    /// each taking the maximum and its first index and then lowering that element below every
    /// other (to `min(x) - 1 unit`). Sets both outputs (values, indices at the activation
    /// scale); ties go to the lower index, as ONNX specifies.
    fn top_k(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        // `sorted = 0` leaves the order open: the sorted order is one valid answer.
        // Before opset 10, `k` is an attribute.
        let k = if self.opset < 10 {
            vec![ctx.node.int("k").unwrap_or(0)]
        } else {
            self.ints_input(ctx, 1)?
        };
        let k = match k.as_slice() {
            [k] if *k >= 1 => usize::try_from(*k).unwrap_or(0),
            other => {
                return Err(ctx.unsupported(
                    "a TopK count that is not one positive constant",
                    format!("{other:?}"),
                ));
            }
        };
        let mut x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(-1), rank)?;
        let n = self.shape(x).get(a).copied().unwrap_or(0);
        if k > n {
            return Err(
                ctx.unsupported("a TopK count above the axis length", format!("{k} of {n}"))
            );
        }
        let largest = ctx.node.int("largest").unwrap_or(1) != 0;
        if !largest {
            x = self.neg(ctx, &format!("{out}/negated"), x)?;
        }
        // Every taken element drops to one unit below the minimum.
        let nx = self.neg(ctx, &format!("{out}/reversed"), x)?;
        let neg_min = self.op(
            ctx,
            &format!("{out}/negative_min"),
            Op::ReduceMax {
                axis: a,
                keep_dims: true,
            },
            &[nx],
        )?;
        let unit = self.param(
            ctx,
            &format!("{out}/unit"),
            &scalar(1.0 / self.s.factor()),
            self.s,
        )?;
        let below = self.op(
            ctx,
            &format!("{out}/below_negated"),
            Op::Add,
            &[neg_min, unit],
        )?;
        let floor = self.neg(ctx, &format!("{out}/floor"), below)?;
        let mut values = Vec::with_capacity(k);
        let mut indices = Vec::with_capacity(k);
        for j in 0..k {
            let name = format!("{out}/round{j}");
            let first = self.first_max(ctx, &name, x, a)?;
            values.push(first.max);
            indices.push(first.index);
            if j + 1 < k {
                let hot = self.op(
                    ctx,
                    &format!("{name}/taken"),
                    Op::AtLeast,
                    &[first.weight, first.top],
                )?;
                let drop = self.op(ctx, &format!("{name}/drop"), Op::Sub, &[x, floor])?;
                let lowered = self.op(ctx, &format!("{name}/lowered"), Op::Mul, &[hot, drop])?;
                x = self.op(ctx, &format!("{name}/rest"), Op::Sub, &[x, lowered])?;
            }
        }
        let join = |me: &mut Self, name: &str, parts: &[TensorId]| match parts {
            [one] => Ok(*one),
            _ => me.op(ctx, name, Op::Concat { axis: a }, parts),
        };
        let mut v = join(self, &format!("{out}/values"), &values)?;
        if !largest {
            v = self.neg(ctx, &format!("{out}/smallest"), v)?;
        }
        let i = join(self, &format!("{out}/indices_plain"), &indices)?;
        if let Some(name) = ctx.node.output.get(1).filter(|s| !s.is_empty()) {
            let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
            let i = self.op(ctx, name, Op::Mul, &[i, one])?;
            self.set(name, Value::Dyn(i));
        }
        Ok(v)
    }

    /// `LogSoftmax = (x - max) - ln(sum e^(x - max))`: the exponential tabulated where it is at
    /// least half an output unit (it saturates below), the sum in `[1, n]` for `n` elements, so
    /// the logarithm's table covers every value it can see.
    pub(super) fn log_softmax(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let default = if self.opset >= 13 { -1 } else { 1 };
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(default), rank)?;
        let y = self.along_last(ctx, out, x, a, |me, name, x| {
            let last = me.shape(x).len().saturating_sub(1);
            let (_, d, l) = me.log_sum_exp(ctx, name, x, &[last])?;
            me.op(ctx, name, Op::Sub, &[d, l])
        })?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// The parts of `ln(sum e^x)` over `axes` (all kept as length 1): the maximum `m`, the
    /// shifted `d = x - m <= 0` and `l = ln(sum e^d)`. The exponential is tabulated where it is
    /// at least half an output unit (it saturates below); the sum is in `[1, n]` for `n` reduced
    /// elements, so the logarithm's table covers every value it can see.
    fn log_sum_exp(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        axes: &[usize],
    ) -> Result<(TensorId, TensorId, TensorId), OnnxError> {
        let m = self.reduce_max(ctx, &format!("{name}/max"), x, axes, true)?;
        let d = self.op(ctx, &format!("{name}/shifted"), Op::Sub, &[x, m])?;
        let exp_lo = -(std::f64::consts::LN_2 * f64::from(self.s.bits() + 1)).ceil();
        let e = self.lookup_on(ctx, &format!("{name}/exp"), d, Function::Exp, exp_lo, 0.0)?;
        let total = self.op(
            ctx,
            &format!("{name}/sum"),
            Op::Sum {
                axes: axes.to_vec(),
                keep_dims: true,
            },
            &[e],
        )?;
        let hi = self.reduced_count(x, axes).max(2.0);
        let l = self.lookup_on(ctx, &format!("{name}/log"), total, Function::Log, 1.0, hi)?;
        Ok((m, d, l))
    }

    /// `1.0` where `d > 0`, else `0`, exactly on the quantized values: `d` counts integer units,
    /// so `d > 0` is `d >= 1 unit` (one comparison, a 0/1 integer), times `1.0` at the
    /// activation scale.
    pub(super) fn step(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        d: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let unit = self.param(
            ctx,
            &format!("{out}/unit"),
            &scalar(1.0 / self.s.factor()),
            self.s,
        )?;
        let bit = self.op(ctx, &format!("{out}/bit"), Op::AtLeast, &[d, unit])?;
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        self.op(ctx, out, Op::Mul, &[bit, one])
    }

    /// `1 - c` for a 0/1 tensor at the activation scale.
    pub(super) fn complement(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        c: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        self.op(ctx, out, Op::Sub, &[one, c])
    }

    /// Comparisons as 0/1 tensors (broadcasting): `a > b` is `step(a - b)`, `a < b` is
    /// `step(b - a)`, `a >= b` is `1 - step(b - a)`, `a <= b` is `1 - step(a - b)`, `a == b` is
    /// `1 - step(a - b) - step(b - a)`.
    fn compare(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let op = ctx.node.op_type.as_str();
        let (x, y) = match op {
            "Less" | "GreaterOrEqual" => (b, a),
            _ => (a, b),
        };
        let d = self.op(ctx, &format!("{out}/difference"), Op::Sub, &[x, y])?;
        match op {
            "Greater" | "Less" => self.step(ctx, out, d),
            // a >= b is not b > a: 1 - step(b - a); a <= b is 1 - step(a - b).
            "GreaterOrEqual" | "LessOrEqual" => {
                let s = self.step(ctx, &format!("{out}/strict"), d)?;
                self.complement(ctx, out, s)
            }
            _ => {
                let up = self.step(ctx, &format!("{out}/above"), d)?;
                let n = self.neg(ctx, &format!("{out}/reversed"), d)?;
                let down = self.step(ctx, &format!("{out}/below"), n)?;
                let either = self.op(ctx, &format!("{out}/differ"), Op::Add, &[up, down])?;
                self.complement(ctx, out, either)
            }
        }
    }

    /// The position (0 or 1) of an `Equal` operand that is a constant of infinities of one
    /// sign, with that sign.
    fn infinite_operand(&self, ctx: &Ctx<'_>) -> Option<(usize, f64)> {
        (0..2).find_map(|i| match self.get(ctx, i).ok()? {
            Value::Const(c) if !c.data.is_empty() => {
                let first = *c.data.first()?;
                let sign = if first.is_infinite() {
                    first.signum()
                } else {
                    return None;
                };
                c.data.iter().all(|&v| v == first).then_some((i, sign))
            }
            _ => None,
        })
    }

    /// `Equal(x, -inf)` (or `+inf`) of a computed `x`: infinities are
    /// `+-`[`INFINITY_STAND_IN`] in the Program (a stand-in plus a finite value stays beyond
    /// half of one), so `x == -inf` is `x <= -INFINITY_STAND_IN / 2` (Attention's function
    /// body asks it of a row's largest bias: is every key masked?).
    fn equals_infinity(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let Some((at, sign)) = self.infinite_operand(ctx) else {
            return Err(ctx.unsupported("an Equal without an infinite constant", ""));
        };
        let x = self.dyn_input(ctx, 1 - at)?;
        let line = Const {
            shape: vec![],
            data: vec![sign * INFINITY_STAND_IN / 2.0],
        };
        let t = self.param(ctx, &format!("{out}/infinity_line"), &line, self.s)?;
        // -inf: x <= line, i.e. not (x > line); +inf: not (line > x).
        let (hi, lo) = if sign < 0.0 { (x, t) } else { (t, x) };
        let d = self.op(ctx, &format!("{out}/difference"), Op::Sub, &[hi, lo])?;
        let s = self.step(ctx, &format!("{out}/strict"), d)?;
        self.complement(ctx, out, s)
    }

    /// And, Or, Xor of 0/1 tensors: `ab`, `a + b - ab`, `a + b - 2ab`.
    fn logic(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[a, b])?;
        let both = self.rescale(ctx, &format!("{out}/both"), p, self.s.bits())?;
        match ctx.node.op_type.as_str() {
            "And" => Ok(both),
            other => {
                let sum = self.op(ctx, &format!("{out}/sum"), Op::Add, &[a, b])?;
                let once = self.op(ctx, &format!("{out}/or"), Op::Sub, &[sum, both])?;
                if other == "Or" {
                    Ok(once)
                } else {
                    self.op(ctx, out, Op::Sub, &[once, both])
                }
            }
        }
    }

    /// `BitShift` (unsigned integers, and opset 28's signed ones) by constant amounts `y`
    /// (whole numbers in `0..=32`; computed amounts: [`Self::bit_shift_computed`]): `LEFT` is
    /// `x 2^y` (a product by constant powers of two, exact) wrapped at the input's width `w`
    /// as ONNX does ([`Self::wrap`]; the input must be an integer graph input, whose width is
    /// known); `RIGHT` is `floor(x / 2^y)`. Both floors are exact: [`Self::floor_shift`].
    fn bit_shift(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let left = match ctx.node.string("direction").as_deref() {
            Some("LEFT") => true,
            Some("RIGHT") => false,
            other => {
                return Err(ctx.unsupported("a BitShift direction", format!("{other:?}")));
            }
        };
        // The input's width and signedness, when it is an integer graph input.
        let width = self.int_width(ctx, 0);
        let amounts = match self.get(ctx, 1)? {
            Value::Const(c) => c.clone(),
            Value::Dyn(y) => {
                let y = *y;
                return self.bit_shift_computed(ctx, out, x, y, left, width);
            }
        };
        if let Some(&bad) = amounts
            .data
            .iter()
            .find(|y| y.fract() != 0.0 || !(0.0..=32.0).contains(*y))
        {
            return Err(ctx.unsupported("a BitShift amount outside 0..=32", bad));
        }
        if !left {
            let i = self.floor_shift(ctx, &format!("{out}/quotient"), x, &amounts)?;
            let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
            return self.op(ctx, out, Op::Mul, &[i, one]);
        }
        let Some((w, signed)) = width else {
            return Err(ctx.unsupported(
                "a left BitShift of a tensor that is not an integer graph input",
                "its width, where ONNX wraps, is unknown",
            ));
        };
        let factors = Const {
            shape: amounts.shape.clone(),
            data: amounts.data.iter().map(|&y| y.exp2()).collect(),
        };
        let v = self.mul_const(
            ctx,
            &format!("{out}/shifted"),
            x,
            &format!("{out}/factors"),
            &factors,
        )?;
        self.wrap(ctx, out, v, w, signed)
    }

    /// `v` wrapped to a `w`-bit integer type: `v mod 2^w` unsigned; signed (two's complement)
    /// `((v + 2^(w-1)) mod 2^w) - 2^(w-1)`.
    fn wrap(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        v: TensorId,
        w: u32,
        signed: bool,
    ) -> Result<TensorId, OnnxError> {
        if !signed || w >= 64 {
            return self.wrap_unsigned(ctx, out, v, w);
        }
        let half = self.param(
            ctx,
            &format!("{out}/half"),
            &scalar(f64::from(w - 1).exp2()),
            self.s,
        )?;
        let up = self.op(ctx, &format!("{out}/offset"), Op::Add, &[v, half])?;
        let r = self.wrap_unsigned(ctx, &format!("{out}/unsigned"), up, w)?;
        self.op(ctx, out, Op::Sub, &[r, half])
    }

    /// `v mod 2^w` of an integer `v` at the activation scale (a left shift's wrap at its
    /// type's width; a floor modulus, so negative `v` wrap too). A 64-bit product never fits the field; the value limits refuse it.
    fn wrap_unsigned(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        v: TensorId,
        w: u32,
    ) -> Result<TensorId, OnnxError> {
        if w >= 64 {
            return Ok(v);
        }
        let q = self.floor_shift(ctx, &format!("{out}/wraps"), v, &scalar(f64::from(w)))?;
        let modulus = self.param(
            ctx,
            &format!("{out}/modulus"),
            &scalar(f64::from(w).exp2()),
            self.s,
        )?;
        let wrapped = self.op(ctx, &format!("{out}/wrapped"), Op::Mul, &[q, modulus])?;
        self.op(ctx, out, Op::Sub, &[v, wrapped])
    }

    /// BitShift of an integer graph input `x` by a computed amount `y` (an integer tensor):
    /// one indicator `[y == j]` per amount `j` below the width `w` (at most 32). Left:
    /// `x * sum_j [y == j] 2^j`, wrapped at the type's width (unsigned, or two's complement
    /// for opset 28's signed types); an amount outside `0..w` gives 0. Right: `sum_j [y == j]
    /// floor(x / 2^j)` (arithmetic for signed `x`); an amount outside `0..w` shifts every bit
    /// out: 0, or -1 for a negative signed `x`, as ONNX defines.
    #[allow(clippy::too_many_arguments)]
    fn bit_shift_computed(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        y: TensorId,
        left: bool,
        width: Option<(u32, bool)>,
    ) -> Result<TensorId, OnnxError> {
        let Some((w, signed)) = width.filter(|&(w, _)| w <= 32) else {
            return Err(ctx.unsupported(
                "a BitShift by a computed amount of a tensor that is not an integer graph input of at most 32 bits",
                format!("{width:?} (bits, signed)"),
            ));
        };
        let mut acc: Option<TensorId> = None;
        let mut hits: Option<TensorId> = None;
        for j in 0..w {
            let name = format!("{out}/amount{j}");
            let jc = self.param(ctx, &name, &scalar(f64::from(j)), self.s)?;
            // `compare` of a node that is not a comparison tests equality.
            let hit = self.compare(ctx, &format!("{name}/hit"), y, jc)?;
            let term = if left {
                self.mul_const(
                    ctx,
                    &format!("{name}/power"),
                    hit,
                    &format!("{name}/factor"),
                    &scalar(f64::from(j).exp2()),
                )?
            } else {
                // The hit (0/1 at the activation scale) times an integer at scale 2^0.
                let fs =
                    self.floor_shift(ctx, &format!("{name}/shifted"), x, &scalar(f64::from(j)))?;
                self.op(ctx, &format!("{name}/term"), Op::Mul, &[hit, fs])?
            };
            acc = Some(match acc {
                None => term,
                Some(a) => self.op(ctx, &format!("{name}/sum"), Op::Add, &[a, term])?,
            });
            if signed && !left {
                hits = Some(match hits {
                    None => hit,
                    Some(a) => self.op(ctx, &format!("{name}/hits"), Op::Add, &[a, hit])?,
                });
            }
        }
        let Some(acc) = acc else {
            return Err(ctx.unsupported("a BitShift of a 0-bit tensor", w));
        };
        if !left {
            let Some(hits) = hits else {
                return Ok(acc);
            };
            // -1 where no amount in range matched and `x < 0`.
            let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
            let missed = self.op(ctx, &format!("{out}/missed"), Op::Sub, &[one, hits])?;
            let nx = self.neg(ctx, &format!("{out}/x_negated"), x)?;
            let negative = self.step(ctx, &format!("{out}/x_negative"), nx)?;
            let fill = self.op(ctx, &format!("{out}/fill"), Op::Mul, &[missed, negative])?;
            let fill = self.rescale(ctx, &format!("{out}/fill_bit"), fill, self.s.bits())?;
            return self.op(ctx, out, Op::Sub, &[acc, fill]);
        }
        let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, acc])?;
        let v = self.rescale(ctx, &format!("{out}/shifted"), p, self.s.bits())?;
        self.wrap(ctx, out, v, w, signed)
    }

    /// The width and signedness of integer graph input `i` (what bitwise operators need).
    fn int_width(&self, ctx: &Ctx<'_>, i: usize) -> Option<(u32, bool)> {
        let n = ctx.input(i)?;
        self.unsigned_widths
            .get(n)
            .map(|&w| (w, false))
            .or_else(|| self.signed_widths.get(n).map(|&w| (w, true)))
    }

    /// `BitwiseNot`, `BitwiseAnd`, `BitwiseOr`, `BitwiseXor` (opset 18) of integer graph inputs
    /// of at most 16 bits. Not: `-x - 1` (signed) or `2^w - 1 - x`. The others on the inputs'
    /// unsigned `w`-bit forms (`x mod 2^w`): bits `b_i = q_i - 2 q_(i+1)` from the floors
    /// `q_i = floor(u / 2^i)`, `and = sum_i 2^i a_i b_i`, `or = a + b - and`, `xor = a + b -
    /// 2 and`, back to two's complement for signed types.
    fn bitwise(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let op = ctx.node.op_type.clone();
        let widths: Vec<Option<(u32, bool)>> = (0..ctx.node.input.len())
            .map(|i| self.int_width(ctx, i))
            .collect();
        let (w, signed) = match widths.first().copied().flatten() {
            Some(ws) if ws.0 <= 16 && widths.iter().all(|x| *x == Some(ws)) => ws,
            other => {
                return Err(ctx.unsupported(
                    "a bitwise operator on tensors that are not integer graph inputs of one type of at most 16 bits",
                    format!("{other:?} (bits, signed)"),
                ));
            }
        };
        let x = self.dyn_input(ctx, 0)?;
        if op == "BitwiseNot" {
            let top = if signed {
                -1.0
            } else {
                f64::from(w).exp2() - 1.0
            };
            let c = self.param(ctx, &format!("{out}/top"), &scalar(top), self.s)?;
            let neg = self.neg(ctx, &format!("{out}/negated"), x)?;
            return self.op(ctx, out, Op::Add, &[neg, c]);
        }
        let y = self.dyn_input(ctx, 1)?;
        let (xs, ys) = (self.shape(x), self.shape(y));
        let want = super::fold::broadcast_shape(&xs, &ys).ok_or_else(|| {
            ctx.unsupported(
                "bitwise operands whose shapes do not broadcast",
                format!("{xs:?}, {ys:?}"),
            )
        })?;
        let want_i: Vec<i64> = want
            .iter()
            .map(|&d| i64::try_from(d).unwrap_or(0))
            .collect();
        let n: usize = want.iter().product();
        let mut unsigned = Vec::with_capacity(2);
        for (k, v) in [x, y].into_iter().enumerate() {
            let v = self.broadcast_to(ctx, &format!("{out}/operand{k}"), v, &want_i)?;
            let v = if signed {
                self.wrap_unsigned(ctx, &format!("{out}/operand{k}/unsigned"), v, w)?
            } else {
                v
            };
            unsigned.push(self.reshape_to(ctx, &format!("{out}/operand{k}/row"), v, vec![1, n])?);
        }
        // Bits [w, n] at scale 2^0 of each operand.
        let amounts = Const {
            shape: vec![w as usize + 1, 1],
            data: (0..=w).map(f64::from).collect(),
        };
        let two = self.param(ctx, &format!("{out}/two"), &scalar(2.0), Scale::ONE)?;
        let mut bits = Vec::with_capacity(2);
        for (k, &u) in unsigned.iter().enumerate() {
            let q = self.floor_shift(ctx, &format!("{out}/floors{k}"), u, &amounts)?;
            let lo = self.op(
                ctx,
                &format!("{out}/floors{k}/low"),
                Op::Slice {
                    axis: 0,
                    start: 0,
                    end: w as usize,
                },
                &[q],
            )?;
            let hi = self.op(
                ctx,
                &format!("{out}/floors{k}/high"),
                Op::Slice {
                    axis: 0,
                    start: 1,
                    end: w as usize + 1,
                },
                &[q],
            )?;
            let twice = self.op(ctx, &format!("{out}/floors{k}/twice"), Op::Mul, &[hi, two])?;
            bits.push(self.op(ctx, &format!("{out}/bits{k}"), Op::Sub, &[lo, twice])?);
        }
        let [xb, yb] = bits[..] else {
            return Err(ctx.unsupported("bitwise operands other than two", bits.len()));
        };
        let both = self.op(ctx, &format!("{out}/both"), Op::Mul, &[xb, yb])?;
        let powers = Const {
            shape: vec![1, w as usize],
            data: (0..w).map(|i| f64::from(i).exp2()).collect(),
        };
        let powers = self.param(ctx, &format!("{out}/powers"), &powers, Scale::ONE)?;
        let and = self.op(ctx, &format!("{out}/and_bits"), Op::MatMul, &[powers, both])?;
        let one = self.param(ctx, &format!("{out}/unit"), &scalar(1.0), self.s)?;
        let and = self.op(ctx, &format!("{out}/and"), Op::Mul, &[and, one])?;
        let [a, b] = unsigned[..] else {
            return Err(ctx.unsupported("bitwise operands other than two", unsigned.len()));
        };
        let r = match op.as_str() {
            "BitwiseAnd" => and,
            _ => {
                let sum = self.op(ctx, &format!("{out}/sum"), Op::Add, &[a, b])?;
                let k = if op == "BitwiseOr" { 1.0 } else { 2.0 };
                let kc = self.param(ctx, &format!("{out}/common"), &scalar(k), Scale::ONE)?;
                let common = self.op(ctx, &format!("{out}/common_bits"), Op::Mul, &[and, kc])?;
                self.op(ctx, &format!("{out}/combined"), Op::Sub, &[sum, common])?
            }
        };
        let r = if signed {
            self.wrap(ctx, &format!("{out}/signed"), r, w, true)?
        } else {
            r
        };
        self.reshape_to(ctx, out, r, want)
    }

    /// `floor(x / 2^y)` of an integer-valued `x` at the activation scale, per element of the
    /// constant amounts `y` (broadcast), as an integer at scale `2^0`, exactly: `x` times the
    /// constant `2^-y` at scale `2^Y` (`Y = max y`, so its quantized values `2^(Y-y)` are
    /// whole), which puts the product at scale `2^(s+Y)`, then floor rescales by `s + Y` bits:
    /// `floor(X 2^(Y-y) / 2^(s+Y)) = floor(X / 2^y)` for `X` the integer at scale `2^s`.
    fn floor_shift(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        amounts: &Const,
    ) -> Result<TensorId, OnnxError> {
        let most = amounts.data.iter().copied().fold(0.0, f64::max);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let most_bits = most as u32;
        let scale = Scale::new(most_bits).map_err(|_| ctx.unsupported("a shift amount", most))?;
        let inverse = Const {
            shape: amounts.shape.clone(),
            data: amounts.data.iter().map(|&y| (-y).exp2()).collect(),
        };
        let f = self.param(ctx, &format!("{out}/inverse"), &inverse, scale)?;
        let p = self.op(ctx, &format!("{out}/scaled"), Op::Mul, &[x, f])?;
        // The floor by `s + Y` bits in steps of at most 16 (every backend's rescale limit),
        // the first step the largest so that each quotient stays small:
        // `floor(floor(a / 2^k) / 2^l) = floor(a / 2^(k+l))`.
        let mut left = self.s.bits() + most_bits;
        let mut v = p;
        while left > 0 {
            let step = left.min(16);
            left -= step;
            let name = if left == 0 {
                out.to_string()
            } else {
                format!("{out}/floor{left}")
            };
            v = self.op(
                ctx,
                &name,
                Op::Rescale {
                    shift: step,
                    rounding: Rounding::Floor,
                },
                &[v],
            )?;
        }
        Ok(v)
    }

    /// `trunc(x)` (toward zero, ONNX's cast to an integer type): `floor(x)`, plus one where
    /// `x` is negative and not whole (`[x < 0] (ceil(x) - floor(x))`, a 0/1 product rescaled
    /// exactly).
    pub(super) fn truncate(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let fl = self.floor(ctx, &format!("{out}/floor"), x)?;
        let ce = self.ceil(ctx, &format!("{out}/ceil"), x)?;
        let gap = self.op(ctx, &format!("{out}/gap"), Op::Sub, &[ce, fl])?;
        let (_, negative) = self.positive_negative(ctx, &format!("{out}/sign"), x)?;
        let up = self.op(ctx, &format!("{out}/up"), Op::Mul, &[negative, gap])?;
        let up = self.rescale(ctx, &format!("{out}/up_rescaled"), up, self.s.bits())?;
        self.op(ctx, out, Op::Add, &[fl, up])
    }

    /// `x != 0` as 1.0 or 0 (ONNX's cast to bool): `step(x) + step(-x)`, exact on the
    /// quantized values.
    pub(super) fn nonzero(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let (p, q) = self.positive_negative(ctx, out, x)?;
        self.op(ctx, out, Op::Add, &[p, q])
    }

    /// `([x > 0], [x < 0])`, each 1.0 or 0, exact on the quantized values (`step(x)`,
    /// `step(-x)`).
    fn positive_negative(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<(TensorId, TensorId), OnnxError> {
        let p = self.step(ctx, &format!("{out}/positive"), x)?;
        let n = self.neg(ctx, &format!("{out}/negated"), x)?;
        let q = self.step(ctx, &format!("{out}/negative"), n)?;
        Ok((p, q))
    }

    /// `ceil(x) = -floor(-x)`.
    fn ceil(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let n = self.neg(ctx, &format!("{out}/negated"), x)?;
        let f = self.floor(ctx, &format!("{out}/floor"), n)?;
        self.neg(ctx, out, f)
    }

    /// `floor(x)`: the integer part by a floor rescale to `2^0`, times 1.0 back to the
    /// activation scale.
    pub(super) fn floor(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let i = self.op(
            ctx,
            &format!("{out}/integer"),
            Op::Rescale {
                shift: self.s.bits(),
                rounding: Rounding::Floor,
            },
            &[x],
        )?;
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        self.op(ctx, out, Op::Mul, &[i, one])
    }

    /// One-hot of the (first) maximum along the last axis: `[w_i >= max(w)]` with `w` of
    /// [`Self::first_max`] (the first maximum is the one element where `w` peaks), times 1.0.
    fn hardmax_last(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let last = self.shape(x).len().saturating_sub(1);
        let first = self.first_max(ctx, out, x, last)?;
        let hot = self.op(
            ctx,
            &format!("{out}/hot"),
            Op::AtLeast,
            &[first.weight, first.top],
        )?;
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        self.op(ctx, out, Op::Mul, &[hot, one])
    }

    /// `a / b` for a computed divisor: `sign(b) * round(a / |b|)` with `a` first raised to
    /// `2^2s` (so the quotient is at `s`), `|b| = 2 relu(b) - b`, `sign(b) = step(b) -
    /// step(-b)`. A zero divisor is a typed witness error (the division needs `|b| > 0`).
    pub(super) fn divide(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        let wide = self.op(ctx, &format!("{out}/numerator"), Op::Mul, &[a, one])?;
        let magnitude = self.abs(ctx, &format!("{out}/magnitude"), b)?;
        let q = self.op(
            ctx,
            &format!("{out}/quotient"),
            Op::Div {
                rounding: Rounding::HalfUp,
            },
            &[wide, magnitude],
        )?;
        let up = self.step(ctx, &format!("{out}/positive"), b)?;
        let nb = self.neg(ctx, &format!("{out}/reversed"), b)?;
        let down = self.step(ctx, &format!("{out}/negative"), nb)?;
        let sign = self.op(ctx, &format!("{out}/sign"), Op::Sub, &[up, down])?;
        let y = self.op(ctx, &format!("{out}/signed"), Op::Mul, &[q, sign])?;
        self.rescale(ctx, out, y, self.s.bits())
    }

    /// `x - p round(x / p)`: `x` reduced to about `[-p/2, p/2]` for a function of period `p`
    /// (`round` as `floor(x / p + 1/2)`, exact on the quantized values; `x / p` and `k p` are
    /// products by constants, each rounded once at the activation scale).
    fn reduce_period(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        period: f64,
    ) -> Result<TensorId, OnnxError> {
        let turns = self.mul_const(
            ctx,
            &format!("{out}/turns"),
            x,
            &format!("{out}/inverse_period"),
            &scalar(1.0 / period),
        )?;
        let half = self.param(ctx, &format!("{out}/half"), &scalar(0.5), self.s)?;
        let shifted = self.op(
            ctx,
            &format!("{out}/turns_shifted"),
            Op::Add,
            &[turns, half],
        )?;
        let k = self.floor(ctx, &format!("{out}/whole_turns"), shifted)?;
        let back = self.mul_const(
            ctx,
            &format!("{out}/whole_periods"),
            k,
            &format!("{out}/period"),
            &scalar(period),
        )?;
        self.op(ctx, &format!("{out}/reduced"), Op::Sub, &[x, back])
    }

    /// `Div` of integer tensors, as ONNX defines it: the quotient truncated toward zero,
    /// exactly. `q = floor(|a| / |b|)` is a `Div` with floor rounding of the magnitudes (the
    /// chip constrains `|a| = q |b| + r`, `0 <= r < |b|`; both at the activation scale, so `q`
    /// is a whole number at scale 1), then `trunc(a / b) = q sign(a) sign(b)`. A zero divisor
    /// is a typed witness error, as for any division.
    pub(super) fn int_divide(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let ma = self.abs(ctx, &format!("{out}/dividend_magnitude"), a)?;
        let mb = self.abs(ctx, &format!("{out}/divisor_magnitude"), b)?;
        let q = self.op(
            ctx,
            &format!("{out}/whole_quotient"),
            Op::Div {
                rounding: Rounding::Floor,
            },
            &[ma, mb],
        )?;
        let sa = self.sign(ctx, &format!("{out}/dividend_sign"), a)?;
        let sb = self.sign(ctx, &format!("{out}/divisor_sign"), b)?;
        let sign = self.op(ctx, &format!("{out}/sign"), Op::Mul, &[sa, sb])?;
        let sign = self.rescale(ctx, &format!("{out}/sign_rescaled"), sign, self.s.bits())?;
        self.op(ctx, out, Op::Mul, &[q, sign])
    }

    /// `Mod` of integer tensors by a computed integer divisor, through ONNX-level nodes: the
    /// truncated remainder `r = x - d trunc(x / d)` (ONNX's integer `Div` truncates, exactly:
    /// [`Self::int_divide`]) is `fmod`; otherwise (the remainder takes the divisor's sign) `d`
    /// is added where `r != 0` and the signs of `r` and `d` differ. A zero divisor is a typed
    /// witness error (the division's).
    fn int_modulo(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: &str,
        d: &str,
    ) -> Result<TensorId, OnnxError> {
        let p = format!("{out}/computed");
        let name = |s: &str| format!("{p}/{s}");
        let (q, t, r) = (name("quotient"), name("taken"), name("truncated"));
        self.emit(ctx, "Div", &[x, d], &q, vec![])?;
        self.emit(ctx, "Mul", &[&q, d], &t, vec![])?;
        self.emit(ctx, "Sub", &[x, &t], &r, vec![])?;
        let result = if ctx.node.int("fmod").unwrap_or(0) != 0 {
            r
        } else {
            let zero = name("zero");
            self.bind_const(&zero, vec![], vec![0.0], true);
            let (rz, rnz, rn, dneg, differ, fix, add, y) = (
                name("r_zero"),
                name("r_nonzero"),
                name("r_negative"),
                name("d_negative"),
                name("signs_differ"),
                name("fix"),
                name("added"),
                name("floor_mod"),
            );
            self.emit(ctx, "Equal", &[&r, &zero], &rz, vec![])?;
            self.emit(ctx, "Not", &[&rz], &rnz, vec![])?;
            self.emit(ctx, "Less", &[&r, &zero], &rn, vec![])?;
            self.emit(ctx, "Less", &[d, &zero], &dneg, vec![])?;
            self.emit(ctx, "Xor", &[&rn, &dneg], &differ, vec![])?;
            self.emit(ctx, "And", &[&rnz, &differ], &fix, vec![])?;
            self.emit(ctx, "Where", &[&fix, d, &zero], &add, vec![])?;
            self.emit(ctx, "Add", &[&r, &add], &y, vec![])?;
            y
        };
        match self.values.get(&result) {
            Some(Value::Dyn(id)) => Ok(*id),
            _ => Err(ctx.unsupported("a Mod whose remainder is not computed", result)),
        }
    }

    /// `sign(x) = [x > 0] - [x < 0]` (1.0, 0 or -1.0), exact on the quantized values.
    fn sign(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let (p, q) = self.positive_negative(ctx, out, x)?;
        self.op(ctx, out, Op::Sub, &[p, q])
    }

    /// How many elements of `x` a reduction over `axes` adds up.
    #[allow(clippy::cast_precision_loss)]
    fn reduced_count(&self, x: TensorId, axes: &[usize]) -> f64 {
        let shape = self.shape(x);
        axes.iter()
            .map(|&a| shape.get(a).copied().unwrap_or(1))
            .product::<usize>() as f64
    }

    /// Where a `ln` table on `[lo, hi]` starts: at least one unit, and when the range is too
    /// wide for one table at the activation scale (it will be coarsened to fit
    /// `MAX_TABLE_ROWS`), at least `hi 2^-12`, so the coarse grid's first point is still
    /// above 0 (a smaller input is clamped to the table's start, as every table clamps).
    fn log_floor(&self, lo: f64, hi: f64) -> f64 {
        let lo = lo.max(1.0 / self.s.factor());
        #[allow(clippy::cast_precision_loss)]
        let rows = zkmlops_lookup::MAX_TABLE_ROWS as f64;
        if (hi - lo) * self.s.factor() >= rows {
            lo.max(hi * (-12.0f64).exp2())
        } else {
            lo
        }
    }

    /// The calibrated range of input 0, widened by [`RANGE_MARGIN`] of its width on each
    /// side; `default` without one.
    fn calibrated(&self, ctx: &Ctx<'_>, default: (f64, f64)) -> (f64, f64) {
        self.settings
            .ranges
            .get(ctx.input(0).unwrap_or_default())
            .map_or(default, |[lo, hi]| {
                let pad = (hi - lo).max(1.0) * RANGE_MARGIN;
                (lo - pad, hi + pad)
            })
    }

    /// The table domain of a trigonometric or hyperbolic function of input 0: the calibrated
    /// range ([`Self::calibrated`]), or [`Function::default_domain`] without one, kept where
    /// the function is defined (`asin`, `acos` within `[-1, 1]`, `atanh` inside it, `acosh`
    /// from 1) and, for `tan`, between its poles (`[-1.5, 1.5]`).
    fn function_domain(&self, ctx: &Ctx<'_>, f: Function) -> (f64, f64) {
        let unit = 1.0 / self.s.factor();
        let (dlo, dhi) = f.default_domain();
        let (lo, hi) = self.calibrated(ctx, (dlo, dhi));
        let (lo, hi) = match f {
            Function::Asin | Function::Acos | Function::Tan => (lo.max(dlo), hi.min(dhi)),
            Function::Atanh => (lo.max(dlo + unit), hi.min(dhi - unit)),
            Function::Acosh => (lo.max(dlo), hi),
            _ => (lo, hi),
        };
        (lo, hi.max(lo + unit))
    }

    /// ONNX `Round` (halves to even), exact: `q = floor(x)`, the fraction `r = x - q`,
    /// `round = q + [r > 1/2] + [r == 1/2] * (q mod 2)` with the parity from
    /// `floor(x / 2)` (`x` times 1/2 at scale `2^1`, a floor rescale by `s + 1`).
    fn round_even(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let bits = self.s.bits();
        let floor = |shift| Op::Rescale {
            shift,
            rounding: Rounding::Floor,
        };
        let q = self.op(ctx, &format!("{out}/integer"), floor(bits), &[x])?;
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        let whole = self.op(ctx, &format!("{out}/whole"), Op::Mul, &[q, one])?;
        let r = self.op(ctx, &format!("{out}/fraction"), Op::Sub, &[x, whole])?;
        let half = self.param(ctx, &format!("{out}/half"), &scalar(0.5), self.s)?;
        let above = self.param(
            ctx,
            &format!("{out}/above_half"),
            &scalar(0.5 + 1.0 / self.s.factor()),
            self.s,
        )?;
        let up = self.op(ctx, &format!("{out}/up"), Op::AtLeast, &[r, above])?;
        let from_half = self.op(ctx, &format!("{out}/from_half"), Op::AtLeast, &[r, half])?;
        let tie = self.op(ctx, &format!("{out}/tie"), Op::Sub, &[from_half, up])?;
        let halve = self.param(
            ctx,
            &format!("{out}/halve"),
            &scalar(0.5),
            Scale::new(1).map_err(|e| ctx.unsupported("the scale 2^1", e))?,
        )?;
        let x_half = self.op(ctx, &format!("{out}/halved"), Op::Mul, &[x, halve])?;
        let t = self.op(ctx, &format!("{out}/pairs"), floor(bits + 1), &[x_half])?;
        let tt = self.op(ctx, &format!("{out}/even"), Op::Add, &[t, t])?;
        let parity = self.op(ctx, &format!("{out}/parity"), Op::Sub, &[q, tt])?;
        let odd_tie = self.op(ctx, &format!("{out}/odd_tie"), Op::Mul, &[tie, parity])?;
        let q = self.op(ctx, &format!("{out}/rounded_up"), Op::Add, &[q, up])?;
        let q = self.op(ctx, &format!("{out}/rounded"), Op::Add, &[q, odd_tie])?;
        self.op(ctx, out, Op::Mul, &[q, one])
    }

    /// `LpPool` (`p` 1, 2 or 4): `|x|`, `x^2` or `x^4` (both at `2^2s`) summed over each
    /// window by a depthwise convolution with a kernel of ones, then the exact square root
    /// (p = 2) or two of them (p = 4).
    pub(super) fn lp_pool(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let n = ctx.node;
        let p = n.int("p").unwrap_or(2);
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let Some(kernel) = n.ints("kernel_shape") else {
            return Err(ctx.unsupported(
                "an LpPool without a kernel_shape or channels",
                format!("{shape:?}"),
            ));
        };
        if shape.len() != 4
            || kernel.len() != 2
            || n.ints("dilations")
                .is_some_and(|d| d.iter().any(|&v| v != 1))
        {
            return Err(ctx.unsupported(
                "an LpPool that is not 2-D or is dilated",
                format!("{shape:?}, kernel {kernel:?}"),
            ));
        }
        let inner = match p {
            1 => self.abs(ctx, &format!("{out}/magnitude"), x)?,
            // x^2 at 2^2s: the sum of squares keeps every bit for the square root.
            2 => self.op(ctx, &format!("{out}/squared"), Op::Mul, &[x, x])?,
            // x^4 = (x^2)^2 at 2^2s (the product at 4s rescaled by 2s).
            4 => {
                let sq = self.op(ctx, &format!("{out}/squared"), Op::Mul, &[x, x])?;
                let p4 = self.op(ctx, &format!("{out}/fourth"), Op::Mul, &[sq, sq])?;
                self.rescale(
                    ctx,
                    &format!("{out}/fourth/rescaled"),
                    p4,
                    2 * self.s.bits(),
                )?
            }
            other => {
                return Err(ctx.unsupported(
                    "an LpPool exponent other than 1, 2 or 4 (roots by exact square roots)",
                    other,
                ));
            }
        };
        let (kh, kw) = match kernel.as_slice() {
            [a, b] => (
                usize::try_from(*a).unwrap_or(0),
                usize::try_from(*b).unwrap_or(0),
            ),
            _ => (0, 0),
        };
        let pooled = self.window_sum(ctx, out, inner, kh, kw)?;
        match p {
            1 => Ok(pooled),
            2 => self.op(ctx, out, Op::Sqrt, &[pooled]),
            _ => {
                // The fourth root as two exact square roots: sqrt(sum) at 2^s, widened to
                // 2^2s, then its square root.
                let root = self.op(ctx, &format!("{out}/square_root"), Op::Sqrt, &[pooled])?;
                let wide = self.widen(ctx, &format!("{out}/square_root/wide"), root)?;
                self.op(ctx, out, Op::Sqrt, &[wide])
            }
        }
    }

    /// The sum of `x` (`[N, C, H, W]`) over each `kh x kw` window (the node's strides and
    /// pads): every channel as its own image (`[N C, 1, H, W]`) convolved with a kernel of
    /// ones (plain integers, so the sum stays at `x`'s scale).
    fn window_sum(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        kh: usize,
        kw: usize,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(x);
        let [n, c, h, w] = shape[..] else {
            return Err(ctx.unsupported(
                "a window sum of an input not [N, C, H, W]",
                format!("{shape:?}"),
            ));
        };
        let params = Conv2dParams {
            strides: pair(ctx, "strides", ctx.node.ints("strides"), 1)?,
            pads: pads4(ctx)?,
            dilations: [1, 1],
            groups: 1,
        };
        let images = self.reshape_to(ctx, &format!("{out}/images"), x, vec![n * c, 1, h, w])?;
        let sums = self.sum_conv(ctx, out, images, [kh, kw], params)?;
        let s = self.shape(sums);
        let (oh, ow) = (
            s.get(2).copied().unwrap_or(0),
            s.get(3).copied().unwrap_or(0),
        );
        self.reshape_to(ctx, &format!("{out}/pooled"), sums, vec![n, c, oh, ow])
    }

    /// The sums of `x` (`[N, 1, H, W]`) over `kernel`-sized windows: one `conv2d` with a
    /// kernel of ones (plain integers, so the sums stay at `x`'s scale).
    fn sum_conv(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        kernel: [usize; 2],
        params: Conv2dParams,
    ) -> Result<TensorId, OnnxError> {
        let [kh, kw] = kernel;
        let ones = Const {
            shape: vec![1, 1, kh, kw],
            data: vec![1.0; kh * kw],
        };
        let k = self.param(ctx, &format!("{out}/window"), &ones, Scale::ONE)?;
        self.op(ctx, &format!("{out}/sums"), Op::Conv2d(params), &[x, k])
    }

    /// `-x = (x - x) - x`: two subtractions, no parameter.
    pub(super) fn neg(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let zero = self.op(ctx, &format!("{out}/zero"), Op::Sub, &[x, x])?;
        self.op(ctx, out, Op::Sub, &[zero, x])
    }

    /// `|x| = 2 relu(x) - x`.
    pub(super) fn abs(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
        let rr = self.op(ctx, &format!("{out}/twice"), Op::Add, &[r, r])?;
        self.op(ctx, out, Op::Sub, &[rr, x])
    }

    /// `max(a, b) = a + relu(b - a)` (broadcasting as ONNX does).
    pub(super) fn max2(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        self.extreme(ctx, out, a, b, true)
    }

    /// `min(a, b) = a - relu(a - b)`.
    pub(super) fn min2(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        self.extreme(ctx, out, a, b, false)
    }

    /// `a + relu(b - a)` (`max`) or `a - relu(a - b)` (`min`).
    fn extreme(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        a: TensorId,
        b: TensorId,
        max: bool,
    ) -> Result<TensorId, OnnxError> {
        let (from, to, back) = if max {
            (b, a, Op::Add)
        } else {
            (a, b, Op::Sub)
        };
        let d = self.op(ctx, &format!("{out}/difference"), Op::Sub, &[from, to])?;
        let r = self.op(ctx, &format!("{out}/excess"), Op::Relu, &[d])?;
        self.op(ctx, out, back, &[a, r])
    }

    /// Clip's bounds: inputs 1 and 2 (opset 11+, either may be absent) or the `min`/`max`
    /// attributes (before).
    fn clip_bounds(&self, ctx: &Ctx<'_>) -> Result<(Option<f64>, Option<f64>), OnnxError> {
        if self.opset < 11 {
            return Ok((
                ctx.node.float("min").map(f64::from),
                ctx.node.float("max").map(f64::from),
            ));
        }
        let bound = |i: usize| -> Result<Option<f64>, OnnxError> {
            if ctx.input(i).is_none() {
                return Ok(None);
            }
            let c = self.constant(ctx, i)?;
            match c.data.as_slice() {
                [v] => Ok(Some(*v)),
                _ => Err(ctx.unsupported(
                    "a Clip bound that is not a scalar",
                    format!("{:?}", c.shape),
                )),
            }
        };
        Ok((bound(1)?, bound(2)?))
    }

    /// `min(max(x, lo), hi)` for whichever bounds are given.
    pub(super) fn clip(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        lo: Option<f64>,
        hi: Option<f64>,
    ) -> Result<TensorId, OnnxError> {
        let mut y = x;
        if let Some(lo) = lo {
            let p = self.param(ctx, &format!("{out}/min"), &scalar(lo), self.s)?;
            let name = if hi.is_some() {
                format!("{out}/lower")
            } else {
                out.to_string()
            };
            y = self.max2(ctx, &name, y, p)?;
        }
        if let Some(hi) = hi {
            let p = self.param(ctx, &format!("{out}/max"), &scalar(hi), self.s)?;
            y = self.min2(ctx, out, y, p)?;
        }
        // No bound: the identity.
        Ok(y)
    }

    /// `clip(alpha x + beta, 0, 1)`.
    fn hard_sigmoid(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        alpha: f64,
        beta: f64,
    ) -> Result<TensorId, OnnxError> {
        let a = self.mul_const(
            ctx,
            &format!("{out}/scaled"),
            x,
            &format!("{out}/alpha"),
            &scalar(alpha),
        )?;
        let b = self.param(ctx, &format!("{out}/beta"), &scalar(beta), self.s)?;
        let t = self.op(ctx, &format!("{out}/affine"), Op::Add, &[a, b])?;
        self.clip(ctx, out, t, Some(0.0), Some(1.0))
    }

    /// A table of `f` on `[lo, hi]` (real units) at the activation scale.
    pub(super) fn lookup_on(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        f: Function,
        lo: f64,
        hi: f64,
    ) -> Result<TensorId, OnnxError> {
        let name = self.fresh(name);
        composite::nonlinear(&mut self.b, &name, x, f, self.s, self.s, lo, hi)
            .map_err(|e| ctx.program(e))
    }

    /// `gain * relu(x) + coef * (e^(inner * min(x, 0)) - 1)`: ELU (`1, alpha, 1`), SELU
    /// (`gamma, gamma alpha, 1`), CELU (`1, alpha, 1/alpha`). The exponential's argument is
    /// never positive, where `e^t` saturates to 0.
    fn elu(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        gain: f64,
        coef: f64,
        inner: f64,
    ) -> Result<TensorId, OnnxError> {
        let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
        let mut m = self.op(ctx, &format!("{out}/negative"), Op::Sub, &[x, r])?;
        if (inner - 1.0).abs() > f64::EPSILON {
            m = self.mul_const(
                ctx,
                &format!("{out}/inner"),
                m,
                &format!("{out}/inner_scale"),
                &scalar(inner),
            )?;
        }
        let e = self.lookup_on(
            ctx,
            &format!("{out}/exp"),
            m,
            Function::Exp,
            -SATURATION,
            0.0,
        )?;
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        let em1 = self.op(ctx, &format!("{out}/expm1"), Op::Sub, &[e, one])?;
        let neg = self.mul_const(
            ctx,
            &format!("{out}/negative_part"),
            em1,
            &format!("{out}/coef"),
            &scalar(coef),
        )?;
        let pos = if (gain - 1.0).abs() > f64::EPSILON {
            self.mul_const(
                ctx,
                &format!("{out}/positive_part"),
                r,
                &format!("{out}/gain"),
                &scalar(gain),
            )?
        } else {
            r
        };
        self.op(ctx, out, Op::Add, &[pos, neg])
    }

    /// `softplus(x) = relu(x) + ln(1 + e^-|x|)`, the second term tabulated on `[-16, 0]`.
    fn softplus(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let r = self.op(ctx, &format!("{out}/relu"), Op::Relu, &[x])?;
        let rr = self.op(ctx, &format!("{out}/twice"), Op::Add, &[r, r])?;
        let nabs = self.op(ctx, &format!("{out}/minus_abs"), Op::Sub, &[x, rr])?;
        let t = self.lookup_on(
            ctx,
            &format!("{out}/log1p_exp"),
            nabs,
            Function::Softplus,
            -SATURATION,
            0.0,
        )?;
        self.op(ctx, out, Op::Add, &[r, t])
    }

    /// `x` at scale `2s` (times a parameter 1.0 at scale `s`), for the exact square root.
    fn widen(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
        self.op(ctx, out, Op::Mul, &[x, one])
    }

    /// `f(x, v)` where the constant `c` (broadcast with `x`) holds `v`: one `f` per distinct
    /// value of `c`, each kept where `c` holds it by a 0/1 constant mask, and summed. A
    /// scalar (or uniform) `c` is one plain `f`. `what` names the values in errors.
    #[allow(clippy::too_many_arguments)]
    fn per_value(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        c: &Const,
        what: &'static str,
        mut f: impl FnMut(&mut Self, &Ctx<'_>, &str, TensorId, f64) -> Result<TensorId, OnnxError>,
    ) -> Result<TensorId, OnnxError> {
        let xs = self.shape(x);
        let shape = fold::broadcast_shape(&xs, &c.shape).ok_or_else(|| {
            ctx.unsupported(
                "operands that do not broadcast",
                format!("{xs:?} and {:?}", c.shape),
            )
        })?;
        let c = fold::broadcast(c, &shape).ok_or_else(|| {
            ctx.unsupported("operands that do not broadcast", format!("{shape:?}"))
        })?;
        let mut distinct: Vec<f64> = c.data.clone();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        match distinct.as_slice() {
            [] => return Err(ctx.unsupported(what, "an empty constant")),
            [v] if c.data.len() == 1 || xs == shape => return f(self, ctx, out, x, *v),
            _ => {}
        }
        if distinct.len() > MAX_DISTINCT {
            return Err(ctx.unsupported(
                what,
                format!(
                    "{} distinct values (at most {MAX_DISTINCT}: one circuit each)",
                    distinct.len()
                ),
            ));
        }
        #[allow(clippy::cast_possible_wrap)]
        let want: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        let x = if xs == shape {
            x
        } else {
            self.broadcast_to(ctx, &format!("{out}/broadcast"), x, &want)?
        };
        if let [v] = distinct.as_slice() {
            return f(self, ctx, out, x, *v);
        }
        let mut sum = None;
        let last = distinct.len() - 1;
        for (k, &v) in distinct.iter().enumerate() {
            let y = f(self, ctx, &format!("{out}/value{k}"), x, v)?;
            #[allow(clippy::float_cmp)]
            let mask = Const {
                shape: shape.clone(),
                data: c
                    .data
                    .iter()
                    .map(|&d| f64::from(u8::from(d == v)))
                    .collect(),
            };
            let kept = self.mul_const(
                ctx,
                &format!("{out}/value{k}/kept"),
                y,
                &format!("{out}/value{k}/mask"),
                &mask,
            )?;
            sum = Some(match sum {
                None => kept,
                Some(acc) => {
                    let name = if k == last {
                        out.to_string()
                    } else {
                        format!("{out}/sum{k}")
                    };
                    self.op(ctx, &name, Op::Add, &[acc, kept])?
                }
            });
        }
        sum.ok_or_else(|| ctx.unsupported(what, "an empty constant"))
    }

    fn pow(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let e = self.constant(ctx, 1).map_err(|_| {
            let err = ctx.unsupported(
                "Pow with a computed exponent",
                "the exponent must be a constant",
            );
            self.fixable_or(ctx, 1, err)
        })?;
        self.per_value(
            ctx,
            out,
            x,
            &e,
            "a Pow with a tensor of exponents",
            Self::pow_by,
        )
    }

    /// `x^exponent` for one constant exponent.
    fn pow_by(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        exponent: f64,
    ) -> Result<TensorId, OnnxError> {
        #[allow(clippy::cast_possible_truncation)]
        let whole = (exponent.fract() == 0.0 && exponent.abs() <= f64::from(MAX_POWER))
            .then_some(exponent as i32);
        match whole {
            Some(0) => {
                // x^0 = 1 everywhere (0^0 too, as ONNX).
                let zero = self.op(ctx, &format!("{out}/zero"), Op::Sub, &[x, x])?;
                let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
                self.op(ctx, out, Op::Add, &[zero, one])
            }
            Some(n) if n > 0 => self.power(ctx, out, x, n.unsigned_abs()),
            Some(n) => {
                let p = self.power(ctx, &format!("{out}/positive"), x, n.unsigned_abs())?;
                let one = self.param(ctx, &format!("{out}/one"), &scalar(1.0), self.s)?;
                self.divide(ctx, out, one, p)
            }
            None if (exponent - 0.5).abs() < f64::EPSILON => {
                let wide = self.widen(ctx, &format!("{out}/wide"), x)?;
                self.op(ctx, out, Op::Sqrt, &[wide])
            }
            None => {
                let (lo, hi) = self.calibrated(ctx, POW_DEFAULT);
                self.real_power(ctx, out, x, exponent, lo, hi)
            }
        }
    }

    /// `x^p` for a fractional `p` and `x > 0` in `[lo, hi]`: `e^(p ln x)`, `ln` tabulated on
    /// that range (from one unit up), `exp` on its image.
    fn real_power(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        exponent: f64,
        lo: f64,
        hi: f64,
    ) -> Result<TensorId, OnnxError> {
        let unit = 1.0 / self.s.factor();
        let lo = self.log_floor(lo, hi);
        let hi = hi.max(lo + unit);
        let ln = self.lookup_on(ctx, &format!("{out}/ln"), x, Function::Log, lo, hi)?;
        let scaled = self.mul_const(
            ctx,
            &format!("{out}/times_exponent"),
            ln,
            &format!("{out}/exponent"),
            &scalar(exponent),
        )?;
        let (a, b) = (exponent * lo.ln(), exponent * hi.ln());
        let (elo, ehi) = (a.min(b).max(-SATURATION), a.max(b).max(a.min(b) + unit));
        if ehi > f64::from(MAX_POWER) {
            return Err(ctx.unsupported(
                "a Pow whose values exceed e^16 on the calibrated range",
                format!("exponent {exponent}, base up to {hi}"),
            ));
        }
        self.lookup_on(ctx, out, scaled, Function::Exp, elo, ehi)
    }

    /// `LRN` (local response normalization across channels, AlexNet's and GoogLeNet's):
    /// `y = x (bias + alpha / size * ss)^-beta` with `ss` the sum of `x^2` over the `size`
    /// channels around each one (`floor((size - 1) / 2)` before, `ceil((size - 1) / 2)`
    /// after). The squares are rescaled to `s` and summed by a convolution with a column of
    /// ones over `[N, 1, C, spatial]` (zero padding at both ends), multiplied by
    /// `alpha / size` held at a scale fine enough for its few significant bits, rescaled
    /// back in steps of at most 16 bits, shifted by `bias`; the power is [`Self::real_power`]
    /// on the range the input's calibrated magnitude allows, and `x` times it is rescaled.
    fn lrn(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let n = ctx.node;
        let alpha = f64::from(n.float("alpha").unwrap_or(1e-4));
        let beta = f64::from(n.float("beta").unwrap_or(0.75));
        let bias = f64::from(n.float("bias").unwrap_or(1.0));
        let size = n
            .int("size")
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v >= 1)
            .ok_or_else(|| ctx.unsupported("an LRN without a size of at least 1", "size"))?;
        if !(alpha >= 0.0 && bias > 0.0 && beta.is_finite()) {
            return Err(ctx.unsupported(
                "an LRN with a negative alpha or a bias not above 0",
                format!("alpha {alpha}, bias {bias}, beta {beta}"),
            ));
        }
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let (batch, channels) = match shape.as_slice() {
            [b, c, _, ..] => (*b, *c),
            _ => {
                return Err(ctx.unsupported(
                    "an LRN of an input not [N, C, D1, ...]",
                    format!("{shape:?}"),
                ));
            }
        };
        let spatial: usize = shape.iter().skip(2).product();
        let s = self.s.bits();
        let sq = self.op(ctx, &format!("{out}/square"), Op::Mul, &[x, x])?;
        let sq = self.rescale(ctx, &format!("{out}/squares"), sq, s)?;
        let column = self.reshape_to(
            ctx,
            &format!("{out}/column"),
            sq,
            vec![batch, 1, channels, spatial],
        )?;
        let params = Conv2dParams {
            strides: [1, 1],
            pads: [(size - 1) / 2, 0, size / 2, 0],
            dilations: [1, 1],
            groups: 1,
        };
        let sums = self.sum_conv(ctx, out, column, [size, 1], params)?;
        let sums = self.reshape_to(ctx, &format!("{out}/sum"), sums, shape.clone())?;
        // alpha / size at 2^m, m giving it at least 12 significant bits.
        #[allow(clippy::cast_precision_loss)]
        let coef = alpha / size as f64;
        let t = if coef > 0.0 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let m = (12.0 - coef.log2()).ceil().clamp(1.0, 48.0) as u32;
            let scale = Scale::new(m).map_err(|e| ctx.unsupported("an LRN alpha", e))?;
            let c = self.param(ctx, &format!("{out}/coefficient"), &scalar(coef), scale)?;
            let mut t = self.op(ctx, &format!("{out}/scaled"), Op::Mul, &[sums, c])?;
            let mut left = m;
            let mut step = 0;
            while left > 0 {
                let shift = left.min(16);
                t = self.rescale(ctx, &format!("{out}/scaled{step}"), t, shift)?;
                left -= shift;
                step += 1;
            }
            t
        } else {
            self.op(ctx, &format!("{out}/scaled"), Op::Sub, &[sums, sums])?
        };
        let b = self.param(ctx, &format!("{out}/bias"), &scalar(bias), self.s)?;
        let base = self.op(ctx, &format!("{out}/base"), Op::Add, &[t, b])?;
        let (lo, hi) = self.calibrated(ctx, POW_DEFAULT);
        let most = lo.abs().max(hi.abs());
        let top = bias + alpha * most * most;
        let r = self.real_power(ctx, &format!("{out}/factor"), base, -beta, bias, top)?;
        let y = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, r])?;
        self.rescale(ctx, out, y, s)
    }

    /// `x^n` for `n >= 1` by repeated squaring, each product rescaled to `s`.
    fn power(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        n: u32,
    ) -> Result<TensorId, OnnxError> {
        let s = self.s.bits();
        let mut acc: Option<TensorId> = None;
        let mut base = x;
        let mut e = n;
        let mut k = 0;
        while e > 0 {
            if e & 1 == 1 {
                acc = Some(match acc {
                    None => base,
                    Some(a) => {
                        let name = if e == 1 {
                            out.to_string()
                        } else {
                            format!("{out}/partial{k}")
                        };
                        let p = self.op(ctx, &format!("{out}/product{k}"), Op::Mul, &[a, base])?;
                        self.rescale(ctx, &name, p, s)?
                    }
                });
            }
            e >>= 1;
            if e > 0 {
                let sq = self.op(ctx, &format!("{out}/square{k}"), Op::Mul, &[base, base])?;
                base = self.rescale(ctx, &format!("{out}/power{k}"), sq, s)?;
            }
            k += 1;
        }
        acc.ok_or_else(|| ctx.unsupported("a power of 0", n))
    }

    /// `CumSum(x, axis)` (`exclusive`, `reverse`): the axis moved last, times a constant
    /// triangular matrix of plain ones, moved back. Exact.
    fn cum_sum(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let rank = shape.len();
        let a = match self.ints_input(ctx, 1)?.as_slice() {
            [a] => axis(ctx, *a, rank)?,
            other => {
                return Err(
                    ctx.unsupported("a CumSum axis that is not one value", format!("{other:?}"))
                );
            }
        };
        let exclusive = ctx.node.int("exclusive").unwrap_or(0) != 0;
        let reverse = ctx.node.int("reverse").unwrap_or(0) != 0;
        let n = shape.get(a).copied().unwrap_or(1);
        // Output j sums inputs i with i <= j (i < j exclusive; reversed: i >= j, i > j).
        let mut tri = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                let take = match (reverse, exclusive) {
                    (false, false) => i <= j,
                    (false, true) => i < j,
                    (true, false) => i >= j,
                    (true, true) => i > j,
                };
                if take && let Some(c) = tri.get_mut(i * n + j) {
                    *c = 1.0;
                }
            }
        }
        let tri = Const {
            shape: vec![n, n],
            data: tri,
        };
        self.map_axis(ctx, out, x, a, tri, Scale::ONE)
    }

    /// `CumProd` (opset 26): running products of the slices along the axis (from the end with
    /// `reverse`; `exclusive` starts from 1), each product rescaled, the slices concatenated
    /// back in place. A product beyond the fixed-point range is a typed witness error.
    fn cum_prod(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let a = match self.ints_input(ctx, 1)?.as_slice() {
            [a] => axis(ctx, *a, shape.len())?,
            other => {
                return Err(
                    ctx.unsupported("a CumProd axis that is not one value", format!("{other:?}"))
                );
            }
        };
        let exclusive = ctx.node.int("exclusive").unwrap_or(0) != 0;
        let reverse = ctx.node.int("reverse").unwrap_or(0) != 0;
        let n = shape.get(a).copied().unwrap_or(0);
        let mut order: Vec<usize> = (0..n).collect();
        if reverse {
            order.reverse();
        }
        let mut unit_shape = shape.clone();
        if let Some(d) = unit_shape.get_mut(a) {
            *d = 1;
        }
        let count = unit_shape.iter().product();
        let one = self.param(
            ctx,
            &format!("{out}/one"),
            &Const {
                shape: unit_shape,
                data: vec![1.0; count],
            },
            self.s,
        )?;
        let mut parts: Vec<TensorId> = Vec::with_capacity(n);
        let mut running: Option<TensorId> = None;
        for &k in &order {
            let slice = self.op(
                ctx,
                &format!("{out}/slice{k}"),
                Op::Slice {
                    axis: a,
                    start: k,
                    end: k + 1,
                },
                &[x],
            )?;
            let next = match running {
                None => slice,
                Some(r) => {
                    let p = self.op(ctx, &format!("{out}/product{k}"), Op::Mul, &[r, slice])?;
                    self.rescale(ctx, &format!("{out}/running{k}"), p, self.s.bits())?
                }
            };
            parts.push(if exclusive {
                running.unwrap_or(one)
            } else {
                next
            });
            running = Some(next);
        }
        if reverse {
            parts.reverse();
        }
        if parts.is_empty() {
            return Err(ctx.unsupported("a CumProd over an empty axis", a));
        }
        self.op(ctx, out, Op::Concat { axis: a }, &parts)
    }

    /// `DequantizeLinear`: `(x - zero_point) * scale`; `QuantizeLinear`:
    /// `clip(round(x / scale) + zero_point)` to the zero point's type (`uint8` unless it is
    /// `int8`), halves to even. Scale and zero point constant: one value, or one per channel
    /// along `axis` (default 1).
    fn linear_quantization(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        if let (Ok(Value::Dyn(_)), Some(name)) = (self.get(ctx, 1), ctx.input(1))
            && !self.open_inputs.contains(name)
        {
            return self.computed_quantization(ctx, out);
        }
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let scale = self.constant(ctx, 1)?;
        let zero = match ctx.input(2) {
            Some(_) => self.constant(ctx, 2)?,
            None => scalar(0.0),
        };
        // Blocked quantization (opset 21): `c` has `x`'s shape but `ceil(d / block_size)`
        // entries along `axis`, each serving `block_size` consecutive positions.
        let block = ctx.node.int("block_size").unwrap_or(0);
        let blocked = |c: &Const| -> Result<Option<Const>, OnnxError> {
            let Some(b) = usize::try_from(block).ok().filter(|&b| b > 0) else {
                return Ok(None);
            };
            let a = axis(ctx, ctx.node.int("axis").unwrap_or(1), shape.len())?;
            let (Some(&d), Some(&cd)) = (shape.get(a), c.shape.get(a)) else {
                return Ok(None);
            };
            if c.shape.len() != shape.len() || cd != d.div_ceil(b) {
                return Err(ctx.unsupported(
                    "blocked quantization parameters of another shape",
                    format!("{:?} for {shape:?}, block {b} along {a}", c.shape),
                ));
            }
            let inner: usize = shape.get(a + 1..).unwrap_or_default().iter().product();
            let data = (0..shape.iter().product::<usize>())
                .map(|i| {
                    let (outer, j, rest) = (i / (d * inner), (i / inner) % d, i % inner);
                    c.data
                        .get((outer * cd + j / b) * inner + rest)
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            Ok(Some(Const {
                shape: shape.clone(),
                data,
            }))
        };
        // Per-channel values broadcast along `axis`.
        let along = |c: Const| -> Result<Const, OnnxError> {
            if let Some(full) = blocked(&c)? {
                return Ok(full);
            }
            if c.data.len() <= 1 {
                return Ok(Const {
                    shape: vec![],
                    data: c.data.first().copied().into_iter().collect(),
                });
            }
            let a = axis(ctx, ctx.node.int("axis").unwrap_or(1), shape.len())?;
            if shape.get(a) != Some(&c.data.len()) {
                return Err(ctx.unsupported(
                    "per-channel quantization parameters not one per channel",
                    format!("{} for {shape:?} along {a}", c.data.len()),
                ));
            }
            let mut s = vec![1; shape.len()];
            if let Some(d) = s.get_mut(a) {
                *d = c.data.len();
            }
            Ok(Const {
                shape: s,
                data: c.data,
            })
        };
        let scale = along(scale)?;
        let zero = along(zero)?;
        if scale.data.contains(&0.0) {
            return Err(ctx.unsupported("a quantization scale of 0", ""));
        }
        let zp = self.param(ctx, &format!("{out}/zero_point"), &zero, self.s)?;
        if ctx.node.op_type == "DequantizeLinear" {
            let centred = self.op(ctx, &format!("{out}/centred"), Op::Sub, &[x, zp])?;
            return self.mul_const(ctx, out, centred, &format!("{out}/scale"), &scale);
        }
        let inv = Const {
            shape: scale.shape.clone(),
            data: scale.data.iter().map(|v| 1.0 / v).collect(),
        };
        let q = self.mul_const(
            ctx,
            &format!("{out}/scaled"),
            x,
            &format!("{out}/inverse_scale"),
            &inv,
        )?;
        let r = self.round_even(ctx, &format!("{out}/rounded"), q)?;
        let shifted = self.op(ctx, &format!("{out}/shifted"), Op::Add, &[r, zp])?;
        let (lo, hi) = self.quantized_range(ctx);
        self.clip(ctx, out, shifted, Some(lo), Some(hi))
    }

    /// The range a `QuantizeLinear` saturates to: its zero point's type, else `output_dtype`
    /// (opset 21), else uint8.
    fn quantized_range(&self, ctx: &Ctx<'_>) -> (f64, f64) {
        let t = ctx
            .input(2)
            .and_then(|n| self.small_int_types.get(n).copied())
            .or_else(|| {
                ctx.node
                    .int("output_dtype")
                    .and_then(|t| i32::try_from(t).ok())
            })
            .unwrap_or(2);
        // ONNX `TensorProto.DataType`: UINT8 2, INT8 3, UINT16 4, INT16 5, UINT4 21, INT4 22.
        match t {
            3 => (-128.0, 127.0),
            4 => (0.0, 65535.0),
            5 => (-32768.0, 32767.0),
            21 => (0.0, 15.0),
            22 => (-8.0, 7.0),
            _ => (0.0, 255.0),
        }
    }

    /// `QuantizeLinear` / `DequantizeLinear` by a computed scale (a function body's dynamic
    /// quantization): `clip(round(x / scale) + zero_point)` to the zero point's type (uint8
    /// when it is not known) by the division of computed tensors, or `(x - zero_point) scale`.
    fn computed_quantization(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let p = format!("{out}/computed_scale");
        let name = |i: usize| ctx.input(i).unwrap_or_default().to_string();
        let (x, scale) = (name(0), name(1));
        let zp = match ctx.input(2) {
            Some(z) => z.to_string(),
            None => {
                let z = format!("{p}/zero_point");
                self.bind_const(&z, vec![], vec![0.0], true);
                z
            }
        };
        if self.shape_of(ctx, &scale)?.iter().product::<usize>() != 1 {
            return Err(ctx.unsupported("a per-channel quantization scale that is computed", scale));
        }
        let y = format!("{p}/result");
        if ctx.node.op_type == "DequantizeLinear" {
            let centred = format!("{p}/centred");
            self.emit(ctx, "Sub", &[&x, &zp], &centred, vec![])?;
            self.emit(ctx, "Mul", &[&centred, &scale], &y, vec![])?;
        } else {
            let (lo, hi) = self.quantized_range(ctx);
            let (lo_n, hi_n) = (format!("{p}/low"), format!("{p}/high"));
            self.bind_const(&lo_n, vec![], vec![lo], false);
            self.bind_const(&hi_n, vec![], vec![hi], false);
            let (q, r, shifted) = (
                format!("{p}/quotient"),
                format!("{p}/rounded"),
                format!("{p}/shifted"),
            );
            self.emit(ctx, "Div", &[&x, &scale], &q, vec![])?;
            self.emit(ctx, "Round", &[&q], &r, vec![])?;
            self.emit(ctx, "Add", &[&r, &zp], &shifted, vec![])?;
            self.emit(ctx, "Clip", &[&shifted, &lo_n, &hi_n], &y, vec![])?;
        }
        match self.values.get(&y) {
            Some(Value::Dyn(id)) => Ok(*id),
            _ => Err(ctx.unsupported("a quantization of constants by a computed scale", y)),
        }
    }

    /// `Mod(x, c)` by a constant `c != 0`: `q = floor(x / c)` (the exact division of `x` by
    /// `|c|` to `2^0`, of `-x` for a negative `c`), `x - c q`; with `fmod = 1` (the sign of
    /// the dividend) `c` is added back where `x < 0` and the remainder is nonzero.
    fn modulo(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        if let (Some(xn), Some(dn), Ok(Value::Dyn(_))) =
            (ctx.input(0), ctx.input(1), self.get(ctx, 1))
            && self.ints.contains(xn)
            && self.ints.contains(dn)
        {
            let (xn, dn) = (xn.to_string(), dn.to_string());
            return self.int_modulo(ctx, out, &xn, &dn);
        }
        let x = self.dyn_input(ctx, 0)?;
        let c = self.constant(ctx, 1).map_err(|_| {
            let err = ctx.unsupported("Mod by a computed tensor", "the divisor must be a constant");
            self.fixable_or(ctx, 1, err)
        })?;
        if c.data.contains(&0.0) {
            return Err(ctx.unsupported("a Mod divisor of zero", format!("{:?}", c.data)));
        }
        self.per_value(
            ctx,
            out,
            x,
            &c,
            "a Mod by a tensor of divisors",
            Self::modulo_by,
        )
    }

    /// `x mod d` (ONNX's `fmod` attribute chooses the sign rule) for one nonzero constant `d`.
    fn modulo_by(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        d: f64,
    ) -> Result<TensorId, OnnxError> {
        let fmod = ctx.node.int("fmod").unwrap_or(0) != 0;
        let magnitude = self.param(ctx, &format!("{out}/divisor"), &scalar(d.abs()), self.s)?;
        let num = if d < 0.0 {
            self.neg(ctx, &format!("{out}/negated"), x)?
        } else {
            x
        };
        let q = self.op(
            ctx,
            &format!("{out}/quotient"),
            Op::Div {
                rounding: Rounding::Floor,
            },
            &[num, magnitude],
        )?;
        let signed = self.param(ctx, &format!("{out}/signed_divisor"), &scalar(d), self.s)?;
        let taken = self.op(ctx, &format!("{out}/taken"), Op::Mul, &[q, signed])?;
        let r = self.op(ctx, &format!("{out}/floor_mod"), Op::Sub, &[x, taken])?;
        if !fmod {
            return Ok(r);
        }
        // fmod: x - c trunc(x / c) = floor_mod - c where x < 0 and floor_mod != 0 (for c > 0;
        // mirrored for c < 0, where floor_mod has the divisor's sign).
        let nx = self.neg(ctx, &format!("{out}/x_negated"), x)?;
        let x_neg = self.step(ctx, &format!("{out}/x_negative"), nx)?;
        let nonzero = {
            let a = self.abs(ctx, &format!("{out}/r_magnitude"), r)?;
            self.step(ctx, &format!("{out}/r_nonzero"), a)?
        };
        let x_pos = self.step(ctx, &format!("{out}/x_positive"), x)?;
        // c > 0: fix where x < 0; c < 0: where x > 0.
        let wrong = if d > 0.0 { x_neg } else { x_pos };
        let both = self.op(ctx, &format!("{out}/fix"), Op::Mul, &[wrong, nonzero])?;
        let both = self.rescale(ctx, &format!("{out}/fix_bit"), both, self.s.bits())?;
        let shift = self.mul_const(
            ctx,
            &format!("{out}/shift"),
            both,
            &format!("{out}/c"),
            &scalar(d),
        )?;
        self.op(ctx, out, Op::Sub, &[r, shift])
    }

    /// The axes of a Reduce* node (attribute, or input 1 from opset 13 for ReduceSum and 18 for
    /// the others), as sorted, distinct indices; all axes when none are given.
    fn reduce_axes(&self, ctx: &Ctx<'_>, rank: usize) -> Result<Vec<usize>, OnnxError> {
        let given = match ctx.node.ints("axes") {
            Some(a) => Some(a),
            None if ctx.input(1).is_some() => Some(self.ints_input(ctx, 1)?),
            None => None,
        };
        let mut axes = match given {
            Some(a) if !a.is_empty() => a
                .into_iter()
                .map(|a| axis(ctx, a, rank))
                .collect::<Result<Vec<_>, _>>()?,
            _ => {
                if ctx.node.int("noop_with_empty_axes") == Some(1) {
                    // No axis to reduce: [`Self::reduce`] passes the input through.
                    return Ok(Vec::new());
                }
                (0..rank).collect()
            }
        };
        axes.sort_unstable();
        axes.dedup();
        Ok(axes)
    }

    /// A Reduce* over no elements (a reduced axis of length 0): the reduction's identity as a
    /// constant, as ONNX's reference gives (0 for the sums and norms, 1 for the product, false
    /// and true for the maximum and minimum of booleans). `None` when something is reduced.
    /// The identities that are infinite or undefined (the maximum or minimum of numbers, the
    /// mean, the log-sums) are refused by name: fixed point holds neither.
    fn reduce_of_nothing(&mut self, ctx: &Ctx<'_>) -> Result<Option<Const>, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let axes = self.reduce_axes(ctx, shape.len())?;
        if axes.is_empty()
            || axes
                .iter()
                .all(|&a| shape.get(a).copied().unwrap_or(1) != 0)
        {
            return Ok(None);
        }
        let op = ctx.node.op_type.as_str();
        let boolean = ctx.input(0).is_some_and(|n| self.bools.contains(n));
        let identity = match op {
            "ReduceSum" | "ReduceSumSquare" | "ReduceL1" | "ReduceL2" => 0.0,
            "ReduceProd" => 1.0,
            "ReduceMax" if boolean => 0.0,
            "ReduceMin" if boolean => 1.0,
            _ => {
                return Err(ctx.unsupported(
                    "a reduction over no elements whose value is infinite or undefined",
                    format!("{op} of a tensor of shape {shape:?} along axes {axes:?}"),
                ));
            }
        };
        let keep_dims = ctx.node.int("keepdims").unwrap_or(1) != 0;
        let shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter_map(|(i, &d)| match (axes.contains(&i), keep_dims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect();
        let n = shape.iter().product();
        Ok(Some(Const {
            shape,
            data: vec![identity; n],
        }))
    }

    fn reduce(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let rank = self.shape(x).len();
        let axes = self.reduce_axes(ctx, rank)?;
        if axes.is_empty() {
            // `noop_with_empty_axes` and no axes: the identity, for the reductions whose
            // single-element reduction is the element itself.
            return match ctx.node.op_type.as_str() {
                "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" => Ok(x),
                _ => Err(ctx.unsupported(
                    "a Reduce with no axes and noop_with_empty_axes",
                    "only ReduceSum, ReduceMean, ReduceMax and ReduceMin pass the input through",
                )),
            };
        }
        let keep_dims = ctx.node.int("keepdims").unwrap_or(1) != 0;
        let s = self.s.bits();
        let sum = |me: &mut Self, name: &str, t: TensorId| {
            me.op(
                ctx,
                name,
                Op::Sum {
                    axes: axes.clone(),
                    keep_dims,
                },
                &[t],
            )
        };
        match ctx.node.op_type.as_str() {
            "ReduceSum" => sum(self, out, x),
            "ReduceMean" => self.op(
                ctx,
                out,
                Op::Mean {
                    axes: axes.clone(),
                    keep_dims,
                    rounding: Rounding::HalfUp,
                },
                &[x],
            ),
            "ReduceMax" => self.reduce_max(ctx, out, x, &axes, keep_dims),
            "ReduceMin" => {
                let n = self.neg(ctx, &format!("{out}/negated"), x)?;
                let m = self.reduce_max(ctx, &format!("{out}/max"), n, &axes, keep_dims)?;
                self.neg(ctx, out, m)
            }
            "ReduceProd" => {
                // Along each axis, the product of its slices, rescaled after each product
                // (the value limits refuse a product beyond the fixed-point range).
                let mut y = x;
                for &a in &axes {
                    let n = self.shape(y).get(a).copied().unwrap_or(1);
                    let slice = |me: &mut Self, k: usize, t: TensorId| {
                        me.op(
                            ctx,
                            &format!("{out}/axis{a}/slice{k}"),
                            Op::Slice {
                                axis: a,
                                start: k,
                                end: k + 1,
                            },
                            &[t],
                        )
                    };
                    let mut acc = slice(self, 0, y)?;
                    for k in 1..n {
                        let next = slice(self, k, y)?;
                        let p = self.op(
                            ctx,
                            &format!("{out}/axis{a}/product{k}"),
                            Op::Mul,
                            &[acc, next],
                        )?;
                        acc = self.rescale(ctx, &format!("{out}/axis{a}/running{k}"), p, s)?;
                    }
                    y = acc;
                }
                if keep_dims {
                    Ok(y)
                } else {
                    let mut shape = self.shape(y);
                    for &a in axes.iter().rev() {
                        if a < shape.len() {
                            shape.remove(a);
                        }
                    }
                    self.reshape_to(ctx, out, y, shape)
                }
            }
            "ReduceSumSquare" => {
                let sq = self.op(ctx, &format!("{out}/square"), Op::Mul, &[x, x])?;
                let t = sum(self, &format!("{out}/sum"), sq)?;
                self.rescale(ctx, out, t, s)
            }
            "ReduceL1" => {
                let a = self.abs(ctx, &format!("{out}/abs"), x)?;
                sum(self, out, a)
            }
            "ReduceLogSumExp" => {
                let (m, _, l) = self.log_sum_exp(ctx, out, x, &axes)?;
                let shape = self.shape(x);
                let y = self.op(ctx, &format!("{out}/kept"), Op::Add, &[m, l])?;
                if keep_dims {
                    Ok(y)
                } else {
                    let target: Vec<usize> = shape
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| !axes.contains(i))
                        .map(|(_, d)| *d)
                        .collect();
                    self.op(ctx, out, Op::Reshape { shape: target }, &[y])
                }
            }
            "ReduceLogSum" => {
                // ln(sum x), tabulated on the sums calibration saw (e^ of the output's range),
                // else on those `n` elements of the input's calibrated range allow, else on
                // Log's default domain ([`Self::log_floor`]).
                let t = sum(self, &format!("{out}/sum"), x)?;
                let n = self.reduced_count(x, &axes).max(1.0);
                let unit = 1.0 / self.s.factor();
                let (lo, hi) = match self.settings.ranges.get(out) {
                    Some([lo, hi]) => {
                        let pad = (hi - lo).max(1.0) * RANGE_MARGIN;
                        ((lo - pad).exp(), (hi + pad).exp())
                    }
                    None if self
                        .settings
                        .ranges
                        .contains_key(ctx.input(0).unwrap_or_default()) =>
                    {
                        let (lo, hi) = self.calibrated(ctx, LOG_DEFAULT);
                        (lo * n, hi * n)
                    }
                    None => LOG_DEFAULT,
                };
                let lo = self.log_floor(lo, hi);
                self.lookup_on(ctx, out, t, Function::Log, lo, hi.max(lo + unit))
            }
            "ReduceL2" => {
                // sqrt(sum x^2), the squares kept at scale 2s for the exact root.
                let sq = self.op(ctx, &format!("{out}/square"), Op::Mul, &[x, x])?;
                let t = sum(self, &format!("{out}/sum"), sq)?;
                self.op(ctx, out, Op::Sqrt, &[t])
            }
            other => Err(OnnxError::UnsupportedOperator {
                op_type: other.into(),
                node: ctx.name.clone(),
            }),
        }
    }

    /// Max over several axes, one axis at a time (highest first, so the lower indices stay
    /// valid when axes are dropped).
    fn reduce_max(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        axes: &[usize],
        keep_dims: bool,
    ) -> Result<TensorId, OnnxError> {
        let mut y = x;
        for (k, &a) in axes.iter().rev().enumerate() {
            let name = if k + 1 == axes.len() {
                out.to_string()
            } else {
                format!("{out}/axis{a}")
            };
            y = self.op(ctx, &name, Op::ReduceMax { axis: a, keep_dims }, &[y])?;
        }
        Ok(y)
    }

    /// `Slice`: a computed tensor's kept positions; one that keeps nothing along some axis is
    /// an empty constant (which `Concat` leaves out), as ONNX's reference gives.
    fn slice(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<Value, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let rank = shape.len();
        let (starts, ends, axes, steps) = if self.opset < 10 {
            (
                ctx.node.ints("starts").unwrap_or_default(),
                ctx.node.ints("ends").unwrap_or_default(),
                ctx.node.ints("axes"),
                None,
            )
        } else {
            let opt = |me: &Self, i: usize| -> Result<Option<Vec<i64>>, OnnxError> {
                if ctx.input(i).is_some() {
                    me.ints_input(ctx, i).map(Some)
                } else {
                    Ok(None)
                }
            };
            (
                self.ints_input(ctx, 1)?,
                self.ints_input(ctx, 2)?,
                opt(self, 3)?,
                opt(self, 4)?,
            )
        };
        if starts.len() != ends.len() {
            return Err(ctx.unsupported(
                "Slice with starts and ends of different lengths",
                format!("{} starts, {} ends", starts.len(), ends.len()),
            ));
        }
        let axes: Vec<i64> =
            axes.unwrap_or_else(|| (0..i64::try_from(starts.len()).unwrap_or(0)).collect());
        let steps = steps.unwrap_or_else(|| vec![1; starts.len()]);
        let mut y = x;
        for (k, (((&a, &st), &en), &step)) in
            axes.iter().zip(&starts).zip(&ends).zip(&steps).enumerate()
        {
            let a = axis(ctx, a, rank)?;
            let dim = shape.get(a).copied().unwrap_or(0);
            let Some(at) = slice_positions(dim, st, en, step) else {
                return Err(ctx.unsupported("a Slice step of 0", format!("axis {a}")));
            };
            let (Some(&first), Some(&last)) = (at.first(), at.last()) else {
                let mut empty = shape.clone();
                if let Some(d) = empty.get_mut(a) {
                    *d = 0;
                }
                return Ok(Value::Const(Const {
                    shape: empty,
                    data: Vec::new(),
                }));
            };
            if at.len() == dim && step == 1 {
                continue;
            }
            let name = if k + 1 == starts.len() {
                out.to_string()
            } else {
                format!("{out}/axis{a}")
            };
            y = if step == 1 {
                self.op(
                    ctx,
                    &name,
                    Op::Slice {
                        axis: a,
                        start: first,
                        end: last + 1,
                    },
                    &[y],
                )?
            } else {
                // A stride or a reversal: the kept positions picked in order.
                self.pick(ctx, &name, y, a, &at)?
            };
        }
        // Everything kept: the identity.
        Ok(Value::Dyn(y))
    }
}
