//! The ops of the Program IR: their parameters, shape and scale rules, and evaluation.

use serde::{Deserialize, Serialize};
use zkmlops_field::Scale;
use zkmlops_lookup::TableSpec;

use crate::ops::{self, Conv2dParams, Pool2dParams, Rounding};
use crate::{OpError, Tensor};

/// One operation of a Program. Inputs are listed in the order given here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Op {
    /// `[m, k] x [k, n] -> [m, n]`. Scale: `sa + sb`.
    MatMul,
    /// `op(A) x op(B) (+ C)`; inputs `A, B` and optionally the bias `C` at scale `sa + sb`.
    Gemm {
        /// Transpose `A` first.
        trans_a: bool,
        /// Transpose `B` first (ONNX's usual `transB = 1` for `[out, in]` weights).
        trans_b: bool,
    },
    /// 2-D convolution; inputs `X [N,C,H,W]`, `W [O,C/g,KH,KW]`, optional bias `[O]` at
    /// scale `sx + sw`.
    Conv2d(Conv2dParams),
    /// Elementwise sum with broadcasting; both scales equal.
    Add,
    /// Elementwise difference with broadcasting; both scales equal.
    Sub,
    /// Elementwise product with broadcasting. Scale: `sa + sb`.
    Mul,
    /// Divide by `2^shift` with rounding; lowers the scale by `shift`.
    Rescale {
        /// Bits to drop (at most the input scale).
        shift: u32,
        /// Rounding rule.
        rounding: Rounding,
    },
    /// `max(x, 0)`.
    Relu,
    /// Max pooling (NCHW).
    MaxPool2d(Pool2dParams),
    /// Average pooling (NCHW), rounded.
    AvgPool2d {
        /// The window.
        params: Pool2dParams,
        /// Rounding of the division by the window's cell count.
        rounding: Rounding,
    },
    /// Sum over axes (all when empty).
    Sum {
        /// Axes to reduce.
        axes: Vec<usize>,
        /// Keep reduced axes as length 1.
        keep_dims: bool,
    },
    /// Mean over axes (all when empty), rounded.
    Mean {
        /// Axes to reduce.
        axes: Vec<usize>,
        /// Keep reduced axes as length 1.
        keep_dims: bool,
        /// Rounding of the division by the count.
        rounding: Rounding,
    },
    /// Index of the maximum along an axis (first on ties); output at scale `2^0`.
    ArgMax {
        /// Axis to reduce.
        axis: usize,
        /// Keep the axis as length 1.
        keep_dims: bool,
    },
    /// Same values, new shape.
    Reshape {
        /// The new shape.
        shape: Vec<usize>,
    },
    /// Flatten to a matrix at `axis` (ONNX `Flatten`).
    Flatten {
        /// Split point.
        axis: usize,
    },
    /// Permute axes: output axis `i` is input axis `perm[i]`.
    Transpose {
        /// The permutation.
        perm: Vec<usize>,
    },
    /// Concatenate any number of inputs along an axis; all scales equal.
    Concat {
        /// The axis.
        axis: usize,
    },
    /// Elements `start..end` along an axis.
    Slice {
        /// The axis.
        axis: usize,
        /// First index kept.
        start: usize,
        /// One past the last index kept.
        end: usize,
    },
    /// A nonlinear function by table lookup, elementwise: `y = spec.eval(x)` (inputs clamped
    /// to the table's domain). The input must be at `spec.in_scale`; the output is at
    /// `spec.out_scale`.
    Lookup(TableSpec),
    /// `a / b` with broadcasting and rounding; every divisor positive. Scale: `sa - sb`.
    Div {
        /// Rounding rule.
        rounding: Rounding,
    },
    /// Maximum along an axis.
    ReduceMax {
        /// The axis.
        axis: usize,
        /// Keep the axis as length 1.
        keep_dims: bool,
    },
    /// Elementwise `floor(sqrt(x))` of `0 <= x < 2^62`; the input scale `2^(2s)` (even
    /// exponent) becomes `2^s`. (Appended: older encodings decode unchanged.)
    Sqrt,
    /// Stable partition of a vector `x [n]` by a 0/1 `mask [n]`: the `kept` elements with
    /// mask 1 first, then the others, each in order (a row filter is this, then a slice).
    /// Output at `x`'s scale; the mask's scale is ignored (its values must be 0 or 1).
    Partition {
        /// How many mask values are 1 (part of the Program, so public).
        kept: usize,
    },
    /// `[a >= b]` elementwise with broadcasting: 1 where `a >= b`, else 0, as plain integers
    /// (output scale `2^0`); both input scales equal. Backends prove it as the sign of
    /// `a - b` (one decomposition, no multiplication), so `a - b` must be within their
    /// comparison range (the FRI backend: signed 32-bit). Every comparison derives from it:
    /// `a > b` is `[a >= b + 1]` on integers, `a <= b` is `[b >= a]`. (Appended: older
    /// encodings decode unchanged.)
    AtLeast,
}

fn arity(op: &'static str, expected: &'static str, got: usize, ok: bool) -> Result<(), OpError> {
    if ok {
        Ok(())
    } else {
        Err(OpError::Arity { op, expected, got })
    }
}

fn same_scale(op: &'static str, scales: &[Scale]) -> Result<Scale, OpError> {
    let first = scales[0];
    match scales.iter().find(|s| **s != first) {
        Some(s) => Err(OpError::ScaleMismatch {
            op,
            lhs: first.bits(),
            rhs: s.bits(),
        }),
        None => Ok(first),
    }
}

/// The broadcast of the two input shapes, or an error naming the op.
fn broadcast(op: &'static str, shapes: &[&[usize]]) -> Result<Vec<usize>, OpError> {
    ops::broadcast_shape(shapes[0], shapes[1]).map_err(|_| OpError::Incompatible {
        op,
        lhs: shapes[0].to_vec(),
        rhs: shapes[1].to_vec(),
    })
}

fn product_scale(op: &'static str, a: Scale, b: Scale) -> Result<Scale, OpError> {
    a.product(b).map_err(|_| OpError::ScaleMismatch {
        op,
        lhs: a.bits(),
        rhs: b.bits(),
    })
}

impl Op {
    /// A short, stable name (used in errors).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Op::MatMul => "matmul",
            Op::Gemm { .. } => "gemm",
            Op::Conv2d(_) => "conv2d",
            Op::Add => "add",
            Op::Sub => "sub",
            Op::Mul => "mul",
            Op::Rescale { .. } => "rescale",
            Op::Relu => "relu",
            Op::MaxPool2d(_) => "max_pool2d",
            Op::AvgPool2d { .. } => "avg_pool2d",
            Op::Sum { .. } => "sum",
            Op::Mean { .. } => "mean",
            Op::ArgMax { .. } => "argmax",
            Op::Reshape { .. } => "reshape",
            Op::Flatten { .. } => "flatten",
            Op::Transpose { .. } => "transpose",
            Op::Concat { .. } => "concat",
            Op::Slice { .. } => "slice",
            Op::Lookup(spec) => spec.function.name(),
            Op::Div { .. } => "div",
            Op::ReduceMax { .. } => "reduce_max",
            Op::Sqrt => "sqrt",
            Op::AtLeast => "at_least",
            Op::Partition { .. } => "partition",
        }
    }

    /// Check the input count, shapes and scales, and give the output's shape and scale.
    ///
    /// # Errors
    /// [`OpError::Arity`], the shape errors of the op's reference function, and
    /// [`OpError::ScaleMismatch`] when the inputs break the op's scale rule.
    pub fn infer(
        &self,
        shapes: &[&[usize]],
        scales: &[Scale],
    ) -> Result<(Vec<usize>, Scale), OpError> {
        let name = self.name();
        let n = shapes.len();
        match self {
            Op::MatMul => {
                arity(name, "2", n, n == 2)?;
                Ok((
                    ops::matmul_shape(shapes[0], shapes[1])?,
                    product_scale(name, scales[0], scales[1])?,
                ))
            }
            Op::Gemm { trans_a, trans_b } => {
                arity(name, "2..3", n, n == 2 || n == 3)?;
                let s = product_scale(name, scales[0], scales[1])?;
                if n == 3 && scales[2] != s {
                    return Err(OpError::ScaleMismatch {
                        op: name,
                        lhs: scales[2].bits(),
                        rhs: s.bits(),
                    });
                }
                Ok((
                    ops::gemm_shape(
                        shapes[0],
                        shapes[1],
                        shapes.get(2).copied(),
                        *trans_a,
                        *trans_b,
                    )?,
                    s,
                ))
            }
            Op::Conv2d(p) => {
                arity(name, "2..3", n, n == 2 || n == 3)?;
                let s = product_scale(name, scales[0], scales[1])?;
                if n == 3 && scales[2] != s {
                    return Err(OpError::ScaleMismatch {
                        op: name,
                        lhs: scales[2].bits(),
                        rhs: s.bits(),
                    });
                }
                Ok((
                    ops::conv2d_shape(shapes[0], shapes[1], shapes.get(2).copied(), p)?,
                    s,
                ))
            }
            Op::Add | Op::Sub => {
                arity(name, "2", n, n == 2)?;
                let shape = broadcast(name, shapes)?;
                Ok((shape, same_scale(name, scales)?))
            }
            Op::Mul => {
                arity(name, "2", n, n == 2)?;
                let shape = broadcast(name, shapes)?;
                Ok((shape, product_scale(name, scales[0], scales[1])?))
            }
            Op::Rescale { shift, .. } => {
                arity(name, "1", n, n == 1)?;
                if *shift > scales[0].bits() {
                    return Err(OpError::Param {
                        op: name,
                        param: "shift",
                        value: i64::from(*shift),
                    });
                }
                Ok((shapes[0].to_vec(), scales[0].lowered(*shift)))
            }
            Op::Relu => {
                arity(name, "1", n, n == 1)?;
                Ok((shapes[0].to_vec(), scales[0]))
            }
            Op::MaxPool2d(p) | Op::AvgPool2d { params: p, .. } => {
                arity(name, "1", n, n == 1)?;
                Ok((ops::pool2d_shape(name, shapes[0], p)?, scales[0]))
            }
            Op::Sum { axes, keep_dims }
            | Op::Mean {
                axes, keep_dims, ..
            } => {
                arity(name, "1", n, n == 1)?;
                Ok((
                    ops::reduce_shape(name, shapes[0], axes, *keep_dims)?,
                    scales[0],
                ))
            }
            Op::ArgMax { axis, keep_dims } => {
                arity(name, "1", n, n == 1)?;
                Ok((
                    ops::reduce_shape(name, shapes[0], &[*axis], *keep_dims)?,
                    Scale::ONE,
                ))
            }
            Op::Reshape { shape } => {
                arity(name, "1", n, n == 1)?;
                if crate::tensor::numel(shape) != crate::tensor::numel(shapes[0]) {
                    return Err(OpError::Incompatible {
                        op: name,
                        lhs: shapes[0].to_vec(),
                        rhs: shape.clone(),
                    });
                }
                Ok((shape.clone(), scales[0]))
            }
            Op::Flatten { axis } => {
                arity(name, "1", n, n == 1)?;
                Ok((ops::flatten_shape(shapes[0], *axis)?, scales[0]))
            }
            Op::Transpose { perm } => {
                arity(name, "1", n, n == 1)?;
                Ok((ops::transpose_shape(shapes[0], perm)?, scales[0]))
            }
            Op::Concat { axis } => {
                arity(name, "1..", n, n >= 1)?;
                Ok((ops::concat_shape(shapes, *axis)?, same_scale(name, scales)?))
            }
            Op::Slice { axis, start, end } => {
                arity(name, "1", n, n == 1)?;
                Ok((ops::slice_shape(shapes[0], *axis, *start, *end)?, scales[0]))
            }
            Op::Lookup(spec) => {
                arity(name, "1", n, n == 1)?;
                if scales[0] != spec.in_scale {
                    return Err(OpError::ScaleMismatch {
                        op: name,
                        lhs: scales[0].bits(),
                        rhs: spec.in_scale.bits(),
                    });
                }
                spec.validate().map_err(|e| OpError::Table {
                    op: name,
                    source: Box::new(e),
                })?;
                Ok((shapes[0].to_vec(), spec.out_scale))
            }
            Op::Div { .. } => {
                arity(name, "2", n, n == 2)?;
                let shape = broadcast(name, shapes)?;
                if scales[1] > scales[0] {
                    return Err(OpError::ScaleMismatch {
                        op: name,
                        lhs: scales[0].bits(),
                        rhs: scales[1].bits(),
                    });
                }
                Ok((shape, scales[0].lowered(scales[1].bits())))
            }
            Op::ReduceMax { axis, keep_dims } => {
                arity(name, "1", n, n == 1)?;
                Ok((
                    ops::reduce_shape(name, shapes[0], &[*axis], *keep_dims)?,
                    scales[0],
                ))
            }
            Op::Sqrt => {
                arity(name, "1", n, n == 1)?;
                let bits = scales[0].bits();
                if !bits.is_multiple_of(2) {
                    return Err(OpError::ScaleMismatch {
                        op: name,
                        lhs: bits,
                        rhs: bits + 1,
                    });
                }
                Ok((shapes[0].to_vec(), scales[0].lowered(bits / 2)))
            }
            Op::Partition { kept } => {
                arity(name, "2", n, n == 2)?;
                Ok((
                    ops::partition_shape(shapes[0], shapes[1], *kept)?,
                    scales[0],
                ))
            }
            Op::AtLeast => {
                arity(name, "2", n, n == 2)?;
                let shape = broadcast(name, shapes)?;
                same_scale(name, scales)?;
                Ok((shape, Scale::ONE))
            }
        }
    }

    /// Run the op's reference semantics on concrete inputs (already checked by [`Op::infer`]).
    ///
    /// # Errors
    /// The op's [`OpError`]s, notably [`OpError::Overflow`].
    pub fn apply(&self, inputs: &[&Tensor]) -> Result<Tensor, OpError> {
        let name = self.name();
        let need = |k: usize| arity(name, "see Op::infer", inputs.len(), inputs.len() >= k);
        match self {
            Op::MatMul => {
                need(2)?;
                ops::matmul(inputs[0], inputs[1])
            }
            Op::Gemm { trans_a, trans_b } => {
                need(2)?;
                ops::gemm(
                    inputs[0],
                    inputs[1],
                    inputs.get(2).copied(),
                    *trans_a,
                    *trans_b,
                )
            }
            Op::Conv2d(p) => {
                need(2)?;
                ops::conv2d(inputs[0], inputs[1], inputs.get(2).copied(), p)
            }
            Op::Add => {
                need(2)?;
                ops::add(inputs[0], inputs[1])
            }
            Op::Sub => {
                need(2)?;
                ops::sub(inputs[0], inputs[1])
            }
            Op::Mul => {
                need(2)?;
                ops::mul(inputs[0], inputs[1])
            }
            Op::Rescale { shift, rounding } => {
                need(1)?;
                ops::rescale(inputs[0], *shift, *rounding)
            }
            Op::Relu => {
                need(1)?;
                Ok(ops::relu(inputs[0]))
            }
            Op::MaxPool2d(p) => {
                need(1)?;
                ops::max_pool2d(inputs[0], p)
            }
            Op::AvgPool2d { params, rounding } => {
                need(1)?;
                ops::avg_pool2d(inputs[0], params, *rounding)
            }
            Op::Sum { axes, keep_dims } => {
                need(1)?;
                ops::sum(inputs[0], axes, *keep_dims)
            }
            Op::Mean {
                axes,
                keep_dims,
                rounding,
            } => {
                need(1)?;
                ops::mean(inputs[0], axes, *keep_dims, *rounding)
            }
            Op::ArgMax { axis, keep_dims } => {
                need(1)?;
                ops::argmax(inputs[0], *axis, *keep_dims)
            }
            Op::Reshape { shape } => {
                need(1)?;
                ops::reshape(inputs[0], shape)
            }
            Op::Flatten { axis } => {
                need(1)?;
                ops::flatten(inputs[0], *axis)
            }
            Op::Transpose { perm } => {
                need(1)?;
                ops::transpose(inputs[0], perm)
            }
            Op::Concat { axis } => {
                need(1)?;
                ops::concat(inputs, *axis)
            }
            Op::Slice { axis, start, end } => {
                need(1)?;
                ops::slice(inputs[0], *axis, *start, *end)
            }
            Op::Lookup(spec) => {
                need(1)?;
                let data = inputs[0].data().iter().map(|&x| spec.eval(x)).collect();
                Tensor::new(inputs[0].shape().to_vec(), data)
            }
            Op::Div { rounding } => {
                need(2)?;
                ops::div(inputs[0], inputs[1], *rounding)
            }
            Op::ReduceMax { axis, keep_dims } => {
                need(1)?;
                ops::reduce_max(inputs[0], *axis, *keep_dims)
            }
            Op::Sqrt => {
                need(1)?;
                ops::sqrt_floor(inputs[0])
            }
            Op::Partition { kept } => {
                need(2)?;
                ops::partition(inputs[0], inputs[1], *kept)
            }
            Op::AtLeast => {
                need(2)?;
                ops::at_least(inputs[0], inputs[1])
            }
        }
    }
}
