//! Operators that are constant linear maps of their data input once their other inputs are
//! known: each becomes one `matmul` by a constant matrix per output part ([`Importer::map_axis`]),
//! its weights at the parameter scale, so the circuit proves ordinary products and rescales.
//!
//! - `GridSample` (opsets 16-22) with a constant grid (an initializer, or a graph input fixed at
//!   compile time): each output point is a weighted sum of input pixels (nearest: one pixel;
//!   linear: `2^d`; cubic: `4^d`), weights and indices from the grid as ONNX's reference
//!   computes them (coordinates in `f32`, `zeros` / `border` / `reflection` padding), one matrix
//!   per batch item. A grid computed from the data (a data-dependent gather) is not built.
//! - `AffineGrid` (opset 20): `theta` times the constant base grid, linear in a computed `theta`.
//! - `DFT` (opsets 17-20) of a known length: the complex matrix `e^{-+2 pi i jk / n}` (inverse
//!   divided by `n`), one-sided outputs, the real inverse of a one-sided spectrum (`irfft`).
//! - `STFT` (opset 17): every frame's windowed DFT as one matrix over the signal axis.
//! - `Col2Im` (opset 18): the blocks summed into the image, a 0/1 matrix per channel.
//!
//! And data movement by indices known at compile time (a gather of the flattened inputs, no
//! arithmetic): `ReverseSequence` (its lengths), `TensorScatter` (its write positions, opset
//! 24) and `MaxUnpool` (its indices; the rest of the output is 0).

use zkmlops_field::Scale;
use zkmlops_tensor::{Op, TensorId};

use super::fold::{ravel, unravel, usize_f as f};
use super::{Ctx, Importer, Value, axis};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &[
    "GridSample",
    "AffineGrid",
    "DFT",
    "STFT",
    "Col2Im",
    "ReverseSequence",
    "TensorScatter",
    "MaxUnpool",
];

/// The most matrix entries one of these operators may build (a grid of 256x256 outputs over a
/// 16x16 input, say): the matrix is a Program constant.
const MAX_ENTRIES: usize = 1 << 22;

/// A complex weight.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Complex {
    re: f64,
    im: f64,
}

/// `e^{i theta}`.
fn unit(theta: f64) -> Complex {
    Complex {
        re: theta.cos(),
        im: theta.sin(),
    }
}

/// Keys' cubic kernel with `a = -0.75` at the four taps of fractional offset `t` (ONNX's
/// `GridSample` reference, as PyTorch).
fn cubic_coeffs(t: f32) -> [f32; 4] {
    let a = -0.75f32;
    let x = t.abs();
    let far = |x: f32| ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a;
    let near = |x: f32| ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
    [far(x + 1.0), near(x), near(1.0 - x), far(2.0 - x)]
}

/// ONNX's `_gs_reflect`: `x` reflected by the nearer border until it lies in `[lo, hi]`.
fn reflect(x: f32, lo: f32, hi: f32) -> f32 {
    let range = hi - lo;
    if range <= 0.0 {
        return lo;
    }
    let fold = |d: f32| {
        #[allow(clippy::cast_possible_truncation)]
        let n = (d / range).trunc() as i64;
        #[allow(clippy::cast_precision_loss)]
        let r = d - n as f32 * range;
        (n % 2 == 0, r)
    };
    if x < lo {
        let (even, r) = fold(lo - x);
        if even { lo + r } else { hi - r }
    } else if x > hi {
        let (even, r) = fold(x - hi);
        if even { hi - r } else { lo + r }
    } else {
        x
    }
}

/// The product of sizes read from constants (which may be absurd), saturating: a huge
/// product then fails the size checks instead of overflowing.
fn product(v: &[usize]) -> usize {
    v.iter().fold(1, |acc: usize, &d| acc.saturating_mul(d))
}

/// Entry `a` of `v` (0 past its end).
fn at(v: &[usize], a: usize) -> usize {
    v.get(a).copied().unwrap_or(0)
}

/// How `GridSample` reads a pixel index outside the input.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Padding {
    Zeros,
    Border,
    Reflection,
}

/// The input position `GridSample` reads for integer index `i` along an axis of `dim`
/// entries (`None`: a zero), ONNX's `_pixel_at_array`.
fn pixel(i: i64, dim: usize, padding: Padding, (lo, hi): (f32, f32)) -> Option<usize> {
    let last = i64::try_from(dim).unwrap_or(i64::MAX) - 1;
    let at = match padding {
        Padding::Zeros => (0..=last).contains(&i).then_some(i)?,
        Padding::Border => i.clamp(0, last.max(0)),
        Padding::Reflection => {
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
            let r = reflect(i as f32, lo, hi) as i64;
            r.clamp(0, last.max(0))
        }
    };
    usize::try_from(at).ok()
}

/// The taps `(input index, weight)` along one axis for the denormalized coordinate `x`.
fn taps(x: f32, dim: usize, mode: &str, padding: Padding, border: (f32, f32)) -> Vec<(usize, f64)> {
    let floor = x.floor();
    #[allow(clippy::cast_possible_truncation)]
    let x0 = floor as i64;
    let t = x - floor;
    let weighted: Vec<(i64, f32)> = match mode {
        "nearest" => {
            // Already rounded (half to even) and padded: truncation picks the pixel.
            #[allow(clippy::cast_possible_truncation)]
            let i = x.trunc() as i64;
            vec![(i, 1.0)]
        }
        "linear" => vec![(x0, 1.0 - t), (x0 + 1, t)],
        _ => {
            let c = cubic_coeffs(t);
            (x0 - 1..).zip(c).collect()
        }
    };
    weighted
        .into_iter()
        .filter_map(|(i, w)| Some((pixel(i, dim, padding, border)?, f64::from(w))))
        .collect()
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`].
    pub(super) fn signal(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let y = match ctx.node.op_type.as_str() {
            "GridSample" => self.grid_sample(ctx, out)?,
            "AffineGrid" => self.affine_grid(ctx, out)?,
            "DFT" => self.dft(ctx, out)?,
            "STFT" => self.stft(ctx, out)?,
            "Col2Im" => self.col2im(ctx, out)?,
            _ => self.index_move(ctx, out)?,
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// Input `i` as a constant, or the importer's answer when it is computed: a graph input
    /// that can be fixed ([`OnnxError::NeedsConstant`]), else `what` is not supported.
    fn known(&self, ctx: &Ctx<'_>, i: usize, what: &'static str) -> Result<Const, OnnxError> {
        match self.get(ctx, i)? {
            Value::Const(c) => Ok(c.clone()),
            Value::Dyn(_) => Err(self.fixable_or(
                ctx,
                i,
                ctx.unsupported(what, "a constant or a graph input fixed at compile time"),
            )),
        }
    }

    /// An integer scalar input `i` (a length, an axis, a step), or `default` when left out.
    fn scalar_input(
        &self,
        ctx: &Ctx<'_>,
        i: usize,
        what: &'static str,
        default: Option<i64>,
    ) -> Result<Option<i64>, OnnxError> {
        if ctx.input(i).is_none() {
            return Ok(default);
        }
        let c = self.known(ctx, i, what)?;
        match c.ints().as_deref() {
            Some([v]) => Ok(Some(*v)),
            _ => Err(ctx.unsupported(what, format!("{:?}", c.data))),
        }
    }

    /// `GridSample` by a constant grid: per batch item, `X[n]` as `[C, prod(spatial)]` times
    /// the constant sampling matrix, then the items stacked.
    fn grid_sample(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let grid = self.known(ctx, 1, "a GridSample grid computed from the data")?;
        let mode = match ctx.node.string("mode").as_deref().unwrap_or("linear") {
            "bilinear" | "linear" => "linear",
            "bicubic" | "cubic" => "cubic",
            "nearest" => "nearest",
            other => return Err(ctx.unsupported("a GridSample mode", other.to_string())),
        };
        let padding = match ctx
            .node
            .string("padding_mode")
            .as_deref()
            .unwrap_or("zeros")
        {
            "zeros" => Padding::Zeros,
            "border" => Padding::Border,
            "reflection" => Padding::Reflection,
            other => return Err(ctx.unsupported("a GridSample padding_mode", other.to_string())),
        };
        let align = ctx.node.int("align_corners").unwrap_or(0) != 0;
        let xs = self.shape(x);
        let (Some(&n), Some(&c), Some(dims)) = (xs.first(), xs.get(1), xs.get(2..)) else {
            return Err(ctx.unsupported("a GridSample input of rank < 3", format!("{xs:?}")));
        };
        let d = dims.len();
        let gs = &grid.shape;
        if gs.len() != d + 2 || gs.first() != Some(&n) || gs.last() != Some(&d) {
            return Err(ctx.unsupported(
                "a GridSample grid not shaped [N, *out, spatial rank]",
                format!("input {xs:?}, grid {gs:?}"),
            ));
        }
        let out_dims = gs.get(1..=d).unwrap_or_default().to_vec();
        let (s_in, s_out) = (
            dims.iter().product::<usize>(),
            out_dims.iter().product::<usize>(),
        );
        if n.saturating_mul(s_in).saturating_mul(s_out) > MAX_ENTRIES || s_in == 0 || s_out == 0 {
            return Err(ctx.unsupported(
                "a GridSample of an empty or huge sampling matrix",
                format!("{s_in} inputs x {s_out} outputs"),
            ));
        }
        // Borders: `[-0.5, dim - 0.5]`, or `[0, dim - 1]` aligned to corners.
        let borders: Vec<(f32, f32)> = dims
            .iter()
            .map(|&dim| {
                #[allow(clippy::cast_precision_loss)]
                let l = dim as f32;
                if align {
                    (0.0, l - 1.0)
                } else {
                    (-0.5, l - 0.5)
                }
            })
            .collect();
        let mut items = Vec::with_capacity(n);
        for b in 0..n {
            let mut m = vec![0.0; s_in * s_out];
            for o in 0..s_out {
                // The grid's last axis lists coordinates innermost axis first (x, y, z).
                let at = (b * s_out + o) * d;
                let mut per_axis = Vec::with_capacity(d);
                for (i, (&dim, &border)) in dims.iter().zip(&borders).enumerate() {
                    #[allow(clippy::cast_possible_truncation)]
                    let g = grid.data.get(at + d - 1 - i).copied().unwrap_or(0.0) as f32;
                    #[allow(clippy::cast_precision_loss)]
                    let l = dim as f32;
                    let mut v = if align {
                        (g + 1.0) / 2.0 * (l - 1.0)
                    } else {
                        ((g + 1.0) * l - 1.0) / 2.0
                    };
                    if mode == "nearest" {
                        v = v.round_ties_even();
                    }
                    if v < border.0 || v > border.1 {
                        v = match padding {
                            Padding::Border => v.clamp(0.0, l - 1.0),
                            Padding::Reflection => reflect(v, border.0, border.1),
                            Padding::Zeros => v,
                        };
                    }
                    per_axis.push(taps(v, dim, mode, padding, border));
                }
                // Every combination of one tap per axis: its flat index and weight product.
                let mut combos: Vec<(usize, f64)> = vec![(0, 1.0)];
                for (ts, &dim) in per_axis.iter().zip(dims) {
                    combos = combos
                        .iter()
                        .flat_map(|&(idx, w)| ts.iter().map(move |&(i, t)| (idx * dim + i, w * t)))
                        .collect();
                }
                for (idx, w) in combos {
                    if let Some(e) = m.get_mut(idx * s_out + o) {
                        *e += w;
                    }
                }
            }
            let xb = self.op(
                ctx,
                &format!("{out}/item{b}"),
                Op::Slice {
                    axis: 0,
                    start: b,
                    end: b + 1,
                },
                &[x],
            )?;
            let rows = self.reshape_to(ctx, &format!("{out}/item{b}/rows"), xb, vec![c, s_in])?;
            let scale = if mode == "nearest" {
                Scale::ONE
            } else {
                self.sp
            };
            let map = Const {
                shape: vec![s_in, s_out],
                data: m,
            };
            let y = self.map_axis(ctx, &format!("{out}/item{b}/sampled"), rows, 1, map, scale)?;
            let mut shape = vec![1, c];
            shape.extend(&out_dims);
            items.push(self.reshape_to(ctx, &format!("{out}/item{b}/shaped"), y, shape)?);
        }
        if let [one] = items[..] {
            return Ok(one);
        }
        self.op(ctx, out, Op::Concat { axis: 0 }, &items)
    }

    /// `AffineGrid`: `grid[n, p, i] = sum_j theta[n, i, j] base[p, j]`, the base grid's
    /// homogeneous coordinates `(x, y[, z], 1)` of every output point `p`.
    fn affine_grid(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let theta = self.dyn_input(ctx, 0)?;
        let size = self.known(ctx, 1, "an AffineGrid size computed from the data")?;
        let size: Vec<usize> = size
            .ints()
            .ok_or_else(|| ctx.unsupported("a non-integer AffineGrid size", ""))?
            .into_iter()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect();
        let align = ctx.node.int("align_corners").unwrap_or(0) != 0;
        let ts = self.shape(theta);
        let spatial = size.get(2..).unwrap_or_default().to_vec();
        let d = spatial.len();
        if !matches!(d, 2 | 3) || ts.get(1) != Some(&d) || ts.get(2) != Some(&(d + 1)) {
            return Err(ctx.unsupported(
                "an AffineGrid that is not 2-D ([N, 2, 3]) or 3-D ([N, 3, 4])",
                format!("theta {ts:?}, size {size:?}"),
            ));
        }
        let points = product(&spatial);
        if points == 0 || points.saturating_mul(d + 1) > MAX_ENTRIES {
            return Err(ctx.unsupported("an empty or huge AffineGrid", format!("{size:?}")));
        }
        // The coordinate of step `k` of `dim`: ONNX's reference steps by `2 / (dim - 1)` from
        // -1 (aligned) or by `2 / dim` from `-1 + 1 / dim`.
        let coord = |k: usize, dim: usize| -> f64 {
            if align {
                if dim > 1 {
                    -1.0 + 2.0 * f(k) / (f(dim) - 1.0)
                } else {
                    -1.0
                }
            } else {
                -1.0 + (2.0 * f(k) + 1.0) / f(dim)
            }
        };
        // base[j, p]: row j is the coordinate along axis `d - 1 - j` (x first), the last row 1.
        let mut base = vec![0.0; (d + 1) * points];
        for p in 0..points {
            let mut rest = p;
            let mut idx = vec![0; d];
            for (a, &dim) in spatial.iter().enumerate().rev() {
                if let Some(i) = idx.get_mut(a) {
                    *i = rest % dim;
                }
                rest /= dim;
            }
            for j in 0..d {
                let a = d - 1 - j;
                let (Some(&k), Some(&dim)) = (idx.get(a), spatial.get(a)) else {
                    continue;
                };
                if let Some(e) = base.get_mut(j * points + p) {
                    *e = coord(k, dim);
                }
            }
            if let Some(e) = base.get_mut(d * points + p) {
                *e = 1.0;
            }
        }
        let map = Const {
            shape: vec![d + 1, points],
            data: base,
        };
        let g = self.map_axis(ctx, &format!("{out}/mapped"), theta, 2, map, self.sp)?;
        let g = self.op(
            ctx,
            &format!("{out}/points_first"),
            Op::Transpose {
                perm: vec![0, 2, 1],
            },
            &[g],
        )?;
        let mut shape = vec![ts.first().copied().unwrap_or(1)];
        shape.extend(&spatial);
        shape.push(d);
        self.reshape_to(ctx, out, g, shape)
    }

    /// `y = W x` along `axis` for a complex matrix `w[k][j]` (`n_out` rows over the axis's
    /// `n_in` entries): `x`'s last axis holds 1 (real) or 2 (real, imaginary) parts; the result
    /// holds both parts, or the real one only when `real_out`.
    #[allow(clippy::too_many_arguments)]
    fn complex_map(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        ax: usize,
        w: &[Vec<Complex>],
        real_out: bool,
    ) -> Result<TensorId, OnnxError> {
        let xs = self.shape(x);
        let rank = xs.len();
        let parts = xs.last().copied().unwrap_or(0);
        let n_in = xs.get(ax).copied().unwrap_or(0);
        let n_out = w.len();
        if !matches!(parts, 1 | 2) || ax + 1 >= rank {
            return Err(ctx.unsupported(
                "a signal whose last axis is not 1 (real) or 2 (complex)",
                format!("{xs:?}"),
            ));
        }
        if n_out == 0 || n_in == 0 || (n_in * parts).saturating_mul(n_out) > MAX_ENTRIES {
            return Err(ctx.unsupported("an empty or huge transform", format!("{n_in} -> {n_out}")));
        }
        // The real and imaginary parts stacked along the signal axis: [re; im].
        let z = if parts == 2 {
            let part = |me: &mut Self, k: usize| {
                me.op(
                    ctx,
                    &format!("{out}/part{k}"),
                    Op::Slice {
                        axis: rank - 1,
                        start: k,
                        end: k + 1,
                    },
                    &[x],
                )
            };
            let (re, im) = (part(self, 0)?, part(self, 1)?);
            self.op(
                ctx,
                &format!("{out}/stacked"),
                Op::Concat { axis: ax },
                &[re, im],
            )?
        } else {
            x
        };
        let rows = n_in * parts;
        // Re y = Wr xr - Wi xi, Im y = Wi xr + Wr xi.
        let matrix = |imag: bool| {
            let mut m = vec![0.0; rows * n_out];
            for (k, row) in w.iter().enumerate() {
                for (j, c) in row.iter().enumerate().take(n_in) {
                    let (from_re, from_im) = if imag { (c.im, c.re) } else { (c.re, -c.im) };
                    if let Some(e) = m.get_mut(j * n_out + k) {
                        *e = from_re;
                    }
                    if parts == 2
                        && let Some(e) = m.get_mut((n_in + j) * n_out + k)
                    {
                        *e = from_im;
                    }
                }
            }
            Const {
                shape: vec![rows, n_out],
                data: m,
            }
        };
        let re = self.map_axis(ctx, &format!("{out}/re"), z, ax, matrix(false), self.sp)?;
        if real_out {
            return Ok(re);
        }
        let im = self.map_axis(ctx, &format!("{out}/im"), z, ax, matrix(true), self.sp)?;
        self.op(ctx, out, Op::Concat { axis: rank - 1 }, &[re, im])
    }

    /// `DFT`: the transform of length `n` (`dft_length`, else the axis's length; `2 (m - 1)`
    /// for the real inverse of a one-sided spectrum of `m`) along `axis`, the signal zero-padded
    /// or cut to `n`.
    fn dft(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let rank = xs.len();
        let raw_axis = if self.opset >= 20 {
            self.scalar_input(ctx, 2, "a DFT axis computed from the data", Some(-2))?
        } else {
            Some(ctx.node.int("axis").unwrap_or(1))
        }
        .unwrap_or(-2);
        let ax = axis(ctx, raw_axis, rank)?;
        let inverse = ctx.node.int("inverse").unwrap_or(0) != 0;
        let onesided = ctx.node.int("onesided").unwrap_or(0) != 0;
        let len = xs.get(ax).copied().unwrap_or(0);
        let n = match self.scalar_input(ctx, 1, "a DFT length computed from the data", None)? {
            Some(v) => usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| ctx.unsupported("a DFT length below 1", v))?,
            None if inverse && onesided => 2 * len.saturating_sub(1),
            None => len,
        };
        if n == 0 || n.saturating_mul(len) > MAX_ENTRIES {
            return Err(ctx.unsupported(
                "a DFT of an empty axis or a huge length",
                format!("{xs:?}, length {n}"),
            ));
        }
        let sign = if inverse { 1.0 } else { -1.0 };
        let norm = if inverse { 1.0 / f(n) } else { 1.0 };
        let angle = |k: usize, j: usize| sign * 2.0 * std::f64::consts::PI * f((k * j) % n) / f(n);
        let w: Vec<Vec<Complex>> = if inverse && onesided {
            // numpy's irfft: the spectrum's Hermitian extension of its first `n / 2 + 1`
            // bins; only the real part of bin 0 (and of bin n/2 for even n) counts.
            let m = (n / 2 + 1).min(len);
            (0..n)
                .map(|t| {
                    (0..len)
                        .map(|k| {
                            if k >= m {
                                return Complex::default();
                            }
                            let e = unit(angle(k, t));
                            let edge = k == 0 || (n % 2 == 0 && k == n / 2);
                            let twice = if edge { 1.0 } else { 2.0 };
                            // Re(X e) = xr er - xi ei; the map computes Wr xr - Wi xi.
                            Complex {
                                re: twice * e.re * norm,
                                im: if edge { 0.0 } else { twice * e.im * norm },
                            }
                        })
                        .collect()
                })
                .collect()
        } else {
            let bins = if onesided && !inverse { n / 2 + 1 } else { n };
            (0..bins)
                .map(|k| {
                    (0..len.min(n))
                        .map(|j| {
                            let e = unit(angle(k, j));
                            Complex {
                                re: e.re * norm,
                                im: e.im * norm,
                            }
                        })
                        .collect()
                })
                .collect()
        };
        self.complex_map(ctx, out, x, ax, &w, inverse && onesided)
    }

    /// `STFT`: frames `f` of `frame_length` entries every `frame_step`, each weighted by the
    /// window and transformed (one-sided by default), as one matrix over the signal axis,
    /// reshaped to `[batch, frames, bins, 2]`.
    fn stft(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let (Some(&batch), Some(&len), 3) = (xs.first(), xs.get(1), xs.len()) else {
            return Err(ctx.unsupported(
                "an STFT signal not shaped [batch, length, 1 or 2]",
                format!("{xs:?}"),
            ));
        };
        let step = self
            .scalar_input(ctx, 1, "an STFT frame_step computed from the data", None)?
            .and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v > 0)
            .ok_or_else(|| ctx.unsupported("an STFT without a positive frame_step", ""))?;
        let window = match ctx.input(2) {
            Some(_) => Some(
                self.known(ctx, 2, "an STFT window computed from the data")?
                    .data,
            ),
            None => None,
        };
        let frame =
            match self.scalar_input(ctx, 3, "an STFT frame_length computed from the data", None)? {
                Some(v) => usize::try_from(v).ok().filter(|&v| v > 0),
                None => Some(window.as_ref().map_or(len, Vec::len)),
            }
            .ok_or_else(|| ctx.unsupported("an STFT frame_length below 1", ""))?;
        let window = window.unwrap_or_else(|| vec![1.0; frame]);
        if window.len() != frame || frame > len {
            return Err(ctx.unsupported(
                "an STFT window or frame longer than the signal or of another length",
                format!("signal {len}, frame {frame}, window {}", window.len()),
            ));
        }
        let onesided = ctx.node.int("onesided").unwrap_or(1) != 0;
        let frames = 1 + (len - frame) / step;
        let bins = if onesided { frame / 2 + 1 } else { frame };
        if frames.saturating_mul(bins).saturating_mul(len) > MAX_ENTRIES {
            return Err(ctx.unsupported(
                "an STFT of more than 2^22 matrix entries",
                format!("{frames} frames of {bins} bins over {len}"),
            ));
        }
        let mut w = Vec::with_capacity(frames * bins);
        for fr in 0..frames {
            for k in 0..bins {
                let row: Vec<Complex> = (0..len)
                    .map(|j| {
                        let Some(t) = j.checked_sub(fr * step).filter(|&t| t < frame) else {
                            return Complex::default();
                        };
                        let wt = window.get(t).copied().unwrap_or(0.0);
                        let e = unit(-2.0 * std::f64::consts::PI * f((k * t) % frame) / f(frame));
                        Complex {
                            re: wt * e.re,
                            im: wt * e.im,
                        }
                    })
                    .collect();
                w.push(row);
            }
        }
        let y = self.complex_map(ctx, &format!("{out}/frames"), x, 1, &w, false)?;
        self.reshape_to(ctx, out, y, vec![batch, frames, bins, 2])
    }

    /// Integer input `i` as indices (a constant, or a graph input fixed at compile time).
    fn index_values(
        &self,
        ctx: &Ctx<'_>,
        i: usize,
        what: &'static str,
    ) -> Result<Vec<i64>, OnnxError> {
        let c = self.known(ctx, i, what)?;
        c.ints()
            .ok_or_else(|| ctx.unsupported(what, format!("{:?}", c.data)))
    }

    /// `ReverseSequence`, `TensorScatter` or `MaxUnpool` by their known indices.
    fn index_move(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let rank = xs.len();
        let n: usize = xs.iter().product();
        match ctx.node.op_type.as_str() {
            "ReverseSequence" => {
                let lens =
                    self.index_values(ctx, 1, "ReverseSequence lengths computed from the data")?;
                let ta = axis(ctx, ctx.node.int("time_axis").unwrap_or(0), rank)?;
                let ba = axis(ctx, ctx.node.int("batch_axis").unwrap_or(1), rank)?;
                let picks = (0..n)
                    .map(|o| {
                        let mut idx = unravel(o, &xs);
                        let len = lens.get(at(&idx, ba)).copied().unwrap_or(0);
                        let len = usize::try_from(len).unwrap_or(0).min(at(&xs, ta));
                        if let Some(t) = idx.get_mut(ta).filter(|t| **t < len) {
                            *t = len - 1 - *t;
                        }
                        Some(ravel(&idx, &xs))
                    })
                    .collect::<Vec<_>>();
                self.take_flat(ctx, out, &[x], &picks, xs)
            }
            "TensorScatter" => {
                let update = self.dyn_input(ctx, 1)?;
                let us = self.shape(update);
                let ax = axis(ctx, ctx.node.int("axis").unwrap_or(-2), rank)?;
                let batch = xs.first().copied().unwrap_or(0);
                let writes = match ctx.input(2) {
                    Some(_) => self.index_values(
                        ctx,
                        2,
                        "TensorScatter write_indices computed from the data",
                    )?,
                    None => vec![0; batch],
                };
                let circular = match ctx.node.string("mode").as_deref().unwrap_or("linear") {
                    "linear" => false,
                    "circular" => true,
                    other => return Err(ctx.unsupported("a TensorScatter mode", other.to_string())),
                };
                let fits = us.len() == rank
                    && ax > 0
                    && xs
                        .iter()
                        .zip(&us)
                        .enumerate()
                        .all(|(a, (d, u))| if a == ax { u <= d } else { u == d });
                if !fits || writes.len() != batch {
                    return Err(ctx.unsupported(
                        "a TensorScatter update or write_indices of another shape",
                        format!(
                            "cache {xs:?}, update {us:?}, {} write indices",
                            writes.len()
                        ),
                    ));
                }
                let max_len = at(&xs, ax);
                // picks[cache position] = n + update position where written, else itself.
                let mut picks: Vec<Option<usize>> = (0..n).map(Some).collect();
                for u in 0..us.iter().product::<usize>() {
                    let idx = unravel(u, &us);
                    let start = writes.get(at(&idx, 0)).copied().unwrap_or(0);
                    let pos = i64::try_from(at(&idx, ax)).unwrap_or(0) + start;
                    let pos = if circular {
                        pos.rem_euclid(i64::try_from(max_len).unwrap_or(1).max(1))
                    } else {
                        pos
                    };
                    let Some(pos) = usize::try_from(pos).ok().filter(|&a| a < max_len) else {
                        return Err(ctx.unsupported(
                            "a TensorScatter write past the cache",
                            format!("position {pos} of {max_len}"),
                        ));
                    };
                    let mut cache_idx = idx.clone();
                    if let Some(c) = cache_idx.get_mut(ax) {
                        *c = pos;
                    }
                    if let Some(p) = picks.get_mut(ravel(&cache_idx, &xs)) {
                        *p = Some(n + ravel(&idx, &us));
                    }
                }
                self.take_flat(ctx, out, &[x, update], &picks, xs)
            }
            _ => {
                // MaxUnpool: indices into the flattened inferred output, then that block
                // placed at the start of an `output_shape` that may be larger.
                let indices =
                    self.index_values(ctx, 1, "MaxUnpool indices computed from the data")?;
                let kernel = ctx.node.ints("kernel_shape").unwrap_or_default();
                let d = kernel.len();
                let pads = ctx.node.ints("pads").unwrap_or_else(|| vec![0; 2 * d]);
                let strides_attr = ctx.node.ints("strides").unwrap_or_else(|| vec![1; d]);
                if d + 2 != rank || indices.len() != n {
                    return Err(ctx.unsupported(
                        "a MaxUnpool whose kernel or indices do not match its input",
                        format!("input {xs:?}, kernel {kernel:?}, {} indices", indices.len()),
                    ));
                }
                let mut inferred = xs.clone();
                for (a, slot) in inferred.iter_mut().skip(2).enumerate() {
                    let v = (i64::try_from(at(&xs, a + 2)).unwrap_or(0) - 1)
                        .saturating_mul(strides_attr.get(a).copied().unwrap_or(1))
                        .saturating_sub(pads.get(a).copied().unwrap_or(0))
                        .saturating_sub(pads.get(a + d).copied().unwrap_or(0))
                        .saturating_add(kernel.get(a).copied().unwrap_or(1));
                    *slot = usize::try_from(v).unwrap_or(0);
                }
                let shape: Vec<usize> = match ctx.input(2) {
                    Some(_) => self
                        .index_values(ctx, 2, "a MaxUnpool output_shape computed from the data")?
                        .into_iter()
                        .map(|v| usize::try_from(v).unwrap_or(0))
                        .collect(),
                    None => inferred.clone(),
                };
                let total = product(&shape);
                if shape.len() != rank
                    || shape.iter().zip(&inferred).any(|(s, i)| s < i)
                    || total > MAX_ENTRIES
                {
                    return Err(ctx.unsupported(
                        "a MaxUnpool output_shape smaller than the unpooled one (or huge)",
                        format!("{shape:?} for {inferred:?}"),
                    ));
                }
                let inferred_total: usize = inferred.iter().product();
                let mut at_inferred: Vec<Option<usize>> = vec![None; inferred_total];
                for (k, &i) in indices.iter().enumerate() {
                    let Some(slot) = usize::try_from(i).ok().and_then(|i| at_inferred.get_mut(i))
                    else {
                        return Err(ctx.unsupported(
                            "a MaxUnpool index outside the output",
                            format!("{i} of {inferred_total}"),
                        ));
                    };
                    *slot = Some(k);
                }
                let picks = (0..total)
                    .map(|o| {
                        let idx = unravel(o, &shape);
                        if idx.iter().zip(&inferred).any(|(i, d)| i >= d) {
                            return None;
                        }
                        at_inferred.get(ravel(&idx, &inferred)).copied().flatten()
                    })
                    .collect::<Vec<_>>();
                self.take_flat(ctx, out, &[x], &picks, shape)
            }
        }
    }

    /// `Col2Im(input [N, C * prod(block), L], image_shape, block_shape)`: block entry `k` of
    /// column `l` adds to image position `l_a stride_a - pad_a + k_a dilation_a` (per axis).
    fn col2im(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let to_sizes = |v: Vec<i64>| -> Vec<usize> {
            v.into_iter()
                .map(|d| usize::try_from(d).unwrap_or(0))
                .collect()
        };
        let image =
            to_sizes(self.index_values(ctx, 1, "a Col2Im image_shape computed from the data")?);
        let block =
            to_sizes(self.index_values(ctx, 2, "a Col2Im block_shape computed from the data")?);
        let d = image.len();
        let attr = |name: &str, default: i64, len: usize| -> Vec<usize> {
            to_sizes(ctx.node.ints(name).unwrap_or_else(|| vec![default; len]))
        };
        let (dil, pads, strides) = (
            attr("dilations", 1, d),
            attr("pads", 0, 2 * d),
            attr("strides", 1, d),
        );
        let xs = self.shape(x);
        let k = product(&block);
        let &[n, ck, l] = xs.as_slice() else {
            return Err(ctx.unsupported(
                "a Col2Im input not [N, C * prod(block), L]",
                format!("{xs:?}"),
            ));
        };
        // Blocks per axis.
        let mut blocks = Vec::with_capacity(d);
        for a in 0..d {
            let span = at(&dil, a)
                .saturating_mul(at(&block, a).saturating_sub(1))
                .saturating_add(1);
            let room = at(&image, a)
                .saturating_add(at(&pads, a))
                .saturating_add(at(&pads, a + d))
                .checked_sub(span);
            blocks.push(
                room.map(|r| r / strides.get(a).copied().unwrap_or(1).max(1) + 1)
                    .unwrap_or(0),
            );
        }
        let p = product(&image);
        if block.len() != d
            || k == 0
            || ck % k != 0
            || product(&blocks) != l
            || p == 0
            || k.saturating_mul(l).saturating_mul(p) > MAX_ENTRIES
        {
            return Err(ctx.unsupported(
                "a Col2Im whose input, image and block shapes do not agree (or a huge one)",
                format!("input {xs:?}, image {image:?}, block {block:?}, blocks {blocks:?}"),
            ));
        }
        let c = ck / k;
        let mut m = vec![0.0; k * l * p];
        for kk in 0..k {
            let koff = unravel(kk, &block);
            for ll in 0..l {
                let pos = unravel(ll, &blocks);
                // The image position per axis (None: in the padding).
                let spot: Option<Vec<usize>> = (0..d)
                    .map(|a| {
                        (at(&pos, a) * at(&strides, a) + at(&koff, a) * at(&dil, a))
                            .checked_sub(at(&pads, a))
                            .filter(|&v| v < at(&image, a))
                    })
                    .collect();
                if let Some(e) = spot.and_then(|v| m.get_mut((kk * l + ll) * p + ravel(&v, &image)))
                {
                    *e += 1.0;
                }
            }
        }
        let rows = self.reshape_to(ctx, &format!("{out}/columns"), x, vec![n, c, k * l])?;
        let map = Const {
            shape: vec![k * l, p],
            data: m,
        };
        let y = self.map_axis(ctx, &format!("{out}/summed"), rows, 2, map, Scale::ONE)?;
        let mut shape = vec![n, c];
        shape.extend(&image);
        self.reshape_to(ctx, out, y, shape)
    }
}
