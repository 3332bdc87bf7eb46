//! Composite ops built from primitive ones, so their integer reference is the composition of
//! the primitives' references and every backend proves them with the primitives' chips.

use zkmlops_field::Scale;
use zkmlops_lookup::{Function, TableSpec};

use crate::ops::Rounding;
use crate::{Op, ProgramBuilder, ProgramError, Tensor, TensorId};

fn table_error(op: &'static str, name: &str, e: zkmlops_lookup::LookupError) -> ProgramError {
    ProgramError::Op {
        node: usize::MAX,
        op,
        tensor: name.into(),
        source: crate::OpError::Table {
            op,
            source: Box::new(e),
        },
    }
}

/// Softmax along the last axis of `x` (at scale `s`), output at scale `out`:
///
/// ```text
/// m = max(x); d = x - m; e = exp_table(d); S = sum(e); y = round(e * 2^out / S)
/// ```
///
/// The exponential is tabulated on `[exp_lo, 0]` at input scale `s` and output scale `s_e`;
/// inputs below `exp_lo` are clamped (their exponential is below one output unit anyway when
/// `exp_lo <= -ln(2) * (s_e + 1) * 2^s`). `S >= 2^s_e`, since the maximum contributes `e^0`.
/// Nodes are named `{name}/max`, `{name}/shifted`, `{name}/exp`, `{name}/sum`, `{name}/scaled`
/// and `name` for the output.
///
/// # Errors
/// [`ProgramError`] from the builder (shapes, scales, an invalid table).
pub fn softmax(
    b: &mut ProgramBuilder,
    name: &str,
    x: TensorId,
    s: Scale,
    s_e: Scale,
    out: Scale,
    exp_lo: i64,
) -> Result<TensorId, ProgramError> {
    let rank = b.shape(x)?.len();
    let axis = rank.saturating_sub(1);
    let exp = TableSpec::new(Function::Exp, s, s_e, exp_lo, 0)
        .map_err(|e| table_error("softmax", name, e))?;
    let m = b.op(
        &format!("{name}/max"),
        Op::ReduceMax {
            axis,
            keep_dims: true,
        },
        &[x],
    )?;
    let d = b.op(&format!("{name}/shifted"), Op::Sub, &[x, m])?;
    let e = b.op(&format!("{name}/exp"), Op::Lookup(exp), &[d])?;
    let sum = b.op(
        &format!("{name}/sum"),
        Op::Sum {
            axes: vec![axis],
            keep_dims: true,
        },
        &[e],
    )?;
    let one = b.constant(
        &format!("{name}/one"),
        Tensor::scalar(1i64 << out.bits()),
        out,
    )?;
    let scaled = b.op(&format!("{name}/scaled"), Op::Mul, &[e, one])?;
    b.op(
        name,
        Op::Div {
            rounding: Rounding::HalfUp,
        },
        &[scaled, sum],
    )
}

/// Layer normalisation over the last axis of `x` (at scale `s`), without affine parameters:
///
/// ```text
/// mu = mean(x); c = x - mu; var = mean(c * c) + eps; y = rescale(c * rsqrt_table(rescale(var)))
/// ```
///
/// `eps` is an integer at scale `2s`. The reciprocal square root is tabulated on `[1, rsqrt_hi]`
/// at scale `s` in and out (the variance is rescaled to `s` first); `y` is at scale `s`.
///
/// # Errors
/// [`ProgramError`] from the builder (shapes, scales, an invalid table).
pub fn layer_norm(
    b: &mut ProgramBuilder,
    name: &str,
    x: TensorId,
    s: Scale,
    eps: i64,
    rsqrt_hi: i64,
) -> Result<TensorId, ProgramError> {
    let rank = b.shape(x)?.len();
    let axis = rank.saturating_sub(1);
    let rsqrt = TableSpec::new(Function::Rsqrt, s, s, 1, rsqrt_hi)
        .map_err(|e| table_error("layer_norm", name, e))?;
    let half_up = Rounding::HalfUp;
    let mu = b.op(
        &format!("{name}/mean"),
        Op::Mean {
            axes: vec![axis],
            keep_dims: true,
            rounding: half_up,
        },
        &[x],
    )?;
    let c = b.op(&format!("{name}/centred"), Op::Sub, &[x, mu])?;
    let sq = b.op(&format!("{name}/squared"), Op::Mul, &[c, c])?;
    let var = b.op(
        &format!("{name}/variance"),
        Op::Mean {
            axes: vec![axis],
            keep_dims: true,
            rounding: half_up,
        },
        &[sq],
    )?;
    let s2 = s.product(s).map_err(|_| ProgramError::Op {
        node: usize::MAX,
        op: "layer_norm",
        tensor: name.into(),
        source: crate::OpError::ScaleMismatch {
            op: "layer_norm",
            lhs: s.bits(),
            rhs: s.bits(),
        },
    })?;
    let eps_t = b.constant(&format!("{name}/eps"), Tensor::scalar(eps), s2)?;
    let var = b.op(&format!("{name}/variance_eps"), Op::Add, &[var, eps_t])?;
    let var = b.op(
        &format!("{name}/variance_s"),
        Op::Rescale {
            shift: s.bits(),
            rounding: half_up,
        },
        &[var],
    )?;
    let inv = b.op(&format!("{name}/rsqrt"), Op::Lookup(rsqrt), &[var])?;
    let y = b.op(&format!("{name}/normalised"), Op::Mul, &[c, inv])?;
    b.op(
        name,
        Op::Rescale {
            shift: s.bits(),
            rounding: half_up,
        },
        &[y],
    )
}

/// A nonlinearity on a domain of any width: `y = f(x)` for `x` at scale `s_in` tabulated on the
/// real interval `[lo, hi]`. When that interval needs more than `2^16` rows at `s_in`, the input
/// is first rescaled by the `shift` of [`TableSpec::fitted`] (a coarser table on the rescaled
/// input; its extra error is [`TableSpec::max_abs_error_with_input_rounding`]).
///
/// # Errors
/// [`ProgramError`] from the builder, or a table that cannot be built.
#[allow(clippy::too_many_arguments)]
pub fn nonlinear(
    b: &mut ProgramBuilder,
    name: &str,
    x: TensorId,
    function: Function,
    s_in: Scale,
    s_out: Scale,
    lo: f64,
    hi: f64,
) -> Result<TensorId, ProgramError> {
    let (shift, spec) = TableSpec::fitted(function, s_in, s_out, lo, hi)
        .map_err(|e| table_error("nonlinear", name, e))?;
    let x = if shift > 0 {
        b.op(
            &format!("{name}/coarse"),
            Op::Rescale {
                shift,
                rounding: Rounding::HalfUp,
            },
            &[x],
        )?
    } else {
        x
    };
    b.op(name, Op::Lookup(spec), &[x])
}
