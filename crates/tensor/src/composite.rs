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
/// real interval `[lo, hi]`, with the table of [`TableSpec::economical`]: for a saturating
/// function, the input is rescaled as far as its slope allows (at most half an output unit of
/// extra error) and the domain ends where the output has saturated (exact clamping); for others,
/// the input is rescaled only when the interval needs more than `2^16` rows
/// ([`TableSpec::fitted`]). The extra error is [`TableSpec::max_abs_error_with_input_rounding`].
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
    let (shift, spec) = TableSpec::economical(function, s_in, s_out, lo, hi)
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

/// The ids of a column profile ([`column_profile`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileIds {
    /// Per-column mean `[1, d]`, at the input scale, half-up.
    pub mean: TensorId,
    /// Per-column variance around that mean `[1, d]`, at twice the input scale, half-up.
    pub variance: TensorId,
    /// `at_least[e][c]`: rows whose column `c` is `>= edges[e]`, `[E, d]`.
    pub at_least: TensorId,
}

/// The profile of a table `x [rows, d]` (`d` columns) at scale `s`: per column the mean, the variance and
/// the number of rows at or above each histogram edge (fixed point at `s`, increasing). A
/// histogram's bins are the differences of consecutive counts (plain integers, scale `2^0`).
/// The comparison is [`Op::AtLeast`], exact on integers:
///
/// ```text
/// mean = round(sum(x) / rows);  variance = round(sum((x - mean)^2) / rows)
/// count_e = sum over rows of [x >= e]
/// ```
///
/// Nodes are named `{name}/...`.
///
/// # Errors
/// [`ProgramError`] from the builder (shapes, scales), or an empty edge list.
pub fn column_profile(
    b: &mut ProgramBuilder,
    name: &str,
    x: TensorId,
    d: usize,
    edges: &[i64],
    s: Scale,
) -> Result<ProfileIds, ProgramError> {
    let by_column = |b: &mut ProgramBuilder, what: &str, t, mean: bool| {
        b.op(
            &format!("{name}/{what}"),
            if mean {
                Op::Mean {
                    axes: vec![0],
                    keep_dims: true,
                    rounding: Rounding::HalfUp,
                }
            } else {
                Op::Sum {
                    axes: vec![0],
                    keep_dims: false,
                }
            },
            &[t],
        )
    };
    let mean = by_column(b, "mean", x, true)?;
    let dev = b.op(&format!("{name}/centred"), Op::Sub, &[x, mean])?;
    let sq = b.op(&format!("{name}/centred_squared"), Op::Mul, &[dev, dev])?;
    let variance = by_column(b, "variance", sq, true)?;
    if edges.is_empty() {
        return Err(ProgramError::Op {
            node: usize::MAX,
            op: "column_profile",
            tensor: format!("{name}/edges"),
            source: crate::OpError::Arity {
                op: "column_profile",
                expected: "at least one histogram edge",
                got: 0,
            },
        });
    }
    // One comparison op per edge (not one [rows, E, d] op); the FRI backend shares one
    // instance among the ops of one kind anyway.
    let mut counts = Vec::with_capacity(edges.len());
    for (k, &e) in edges.iter().enumerate() {
        let at = b.constant(&format!("{name}/edge{k}"), Tensor::vector(vec![e]), s)?;
        let ind = b.op(&format!("{name}/edge{k}/at_least"), Op::AtLeast, &[x, at])?;
        counts.push(by_column(b, &format!("edge{k}/count"), ind, false)?);
    }
    let stacked = b.op(
        &format!("{name}/at_least_rows"),
        Op::Concat { axis: 0 },
        &counts,
    )?;
    let at_least = b.op(
        &format!("{name}/at_least"),
        Op::Reshape {
            shape: vec![edges.len(), d],
        },
        &[stacked],
    )?;
    Ok(ProfileIds {
        mean,
        variance,
        at_least,
    })
}

/// The values of a column profile ([`column_profile`]): what a stage publishes about a table
/// without revealing a row.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ColumnProfile {
    /// Rows profiled.
    pub rows: usize,
    /// Scale exponent of the table (the mean and edges are at `2^s`, the variance at `2^(2s)`).
    pub scale_bits: u32,
    /// Histogram edges (fixed point, increasing).
    pub edges: Vec<i64>,
    /// Per-column mean.
    pub mean: Vec<i64>,
    /// Per-column variance.
    pub variance: Vec<i64>,
    /// `at_least[e][c]`: rows whose column `c` is `>= edges[e]`.
    pub at_least: Vec<Vec<i64>>,
}

impl ColumnProfile {
    /// Read a profile of `d` columns from the values of its tensors (`get` returns a tensor's
    /// flat values); `None` when a value is missing or has another length.
    #[must_use]
    pub fn read(
        ids: &ProfileIds,
        mut get: impl FnMut(TensorId) -> Option<Vec<i64>>,
        (rows, d): (usize, usize),
        edges: &[i64],
        scale_bits: u32,
    ) -> Option<Self> {
        let mean = get(ids.mean).filter(|v| v.len() == d)?;
        let variance = get(ids.variance).filter(|v| v.len() == d)?;
        let flat = get(ids.at_least).filter(|v| v.len() == d * edges.len())?;
        Some(ColumnProfile {
            rows,
            scale_bits,
            edges: edges.to_vec(),
            mean,
            variance,
            at_least: flat.chunks(d.max(1)).map(<[i64]>::to_vec).collect(),
        })
    }

    /// Columns profiled.
    #[must_use]
    pub fn columns(&self) -> usize {
        self.mean.len()
    }

    /// The histogram of column `c`: `rows - at_least[0]`, `at_least[0] - at_least[1]`, ...,
    /// `at_least[last]` (one more bin than edges).
    #[must_use]
    pub fn bins(&self, c: usize) -> Vec<i64> {
        let mut out = Vec::with_capacity(self.edges.len() + 1);
        let mut previous = i64::try_from(self.rows).unwrap_or(i64::MAX);
        for row in &self.at_least {
            let here = row.get(c).copied().unwrap_or(0);
            out.push(previous - here);
            previous = here;
        }
        out.push(previous);
        out
    }

    /// Mean of column `c` as a real number.
    #[must_use]
    pub fn real_mean(&self, c: usize) -> f64 {
        self.mean.get(c).copied().unwrap_or(0) as f64 / self.unit()
    }

    /// Standard deviation of column `c` as a real number.
    #[must_use]
    pub fn real_std(&self, c: usize) -> f64 {
        (self.variance.get(c).copied().unwrap_or(0).max(0) as f64).sqrt() / self.unit()
    }

    /// The edges as real numbers.
    #[must_use]
    pub fn real_edges(&self) -> Vec<f64> {
        self.edges.iter().map(|&e| e as f64 / self.unit()).collect()
    }

    fn unit(&self) -> f64 {
        f64::from(1u32 << self.scale_bits.min(30))
    }
}
