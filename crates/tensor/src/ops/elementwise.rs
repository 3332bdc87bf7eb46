//! Elementwise ops with numpy broadcasting.

use crate::tensor::{fit, numel, strides};
use crate::{OpError, Tensor};

/// The numpy broadcast of two shapes: align on the right; each pair of dimensions must be equal
/// or one of them 1.
///
/// # Errors
/// [`OpError::Incompatible`] when a pair of dimensions differs and neither is 1.
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpError> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(OpError::Incompatible {
                    op: "broadcast",
                    lhs: a.to_vec(),
                    rhs: b.to_vec(),
                });
            }
        };
    }
    Ok(out)
}

/// For each flat index of `out`, the flat index of `src` it reads when `src` is broadcast to
/// `out` (which must be a valid broadcast target of `src`, see [`broadcast_shape`]).
#[must_use]
pub fn broadcast_index_map(src: &[usize], out: &[usize]) -> Vec<usize> {
    let n = numel(out).unwrap_or(0);
    let offset = out.len() - src.len();
    let src_strides = strides(src);
    let out_strides = strides(out);
    (0..n)
        .map(|flat| {
            let mut s = 0;
            for (ax, (&d, &st)) in src.iter().zip(&src_strides).enumerate() {
                if d != 1 {
                    let coord = (flat / out_strides[ax + offset]) % out[ax + offset];
                    s += coord * st;
                }
            }
            s
        })
        .collect()
}

fn binary(
    op: &'static str,
    a: &Tensor,
    b: &Tensor,
    f: impl Fn(i128, i128) -> i128,
) -> Result<Tensor, OpError> {
    let out_shape = broadcast_shape(a.shape(), b.shape()).map_err(|_| OpError::Incompatible {
        op,
        lhs: a.shape().to_vec(),
        rhs: b.shape().to_vec(),
    })?;
    let ma = broadcast_index_map(a.shape(), &out_shape);
    let mb = broadcast_index_map(b.shape(), &out_shape);
    let data = ma
        .iter()
        .zip(&mb)
        .enumerate()
        .map(|(i, (&ia, &ib))| fit(op, i, f(i128::from(a.data()[ia]), i128::from(b.data()[ib]))))
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::new(out_shape, data)
}

/// `a + b` with broadcasting.
///
/// # Errors
/// [`OpError::Incompatible`] for shapes that do not broadcast, [`OpError::Overflow`].
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    binary("add", a, b, |x, y| x + y)
}

/// `a - b` with broadcasting.
///
/// # Errors
/// As [`add`].
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    binary("sub", a, b, |x, y| x - y)
}

/// `[a >= b]` with broadcasting: 1 where `a >= b`, else 0.
///
/// # Errors
/// [`OpError::Incompatible`] for shapes that do not broadcast.
pub fn at_least(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    binary("at_least", a, b, |x, y| i128::from(x >= y))
}

/// `a * b` with broadcasting (no rescale: the product's scale is the sum of the scales).
///
/// # Errors
/// As [`add`].
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    // |x|, |y| < 2^63, so x * y < 2^126 fits i128.
    binary("mul", a, b, |x, y| x * y)
}

/// `a / b` with broadcasting, rounded as `rounding` says (see [`super::div_round`]); every
/// divisor must be positive.
///
/// # Errors
/// [`OpError::Incompatible`] for shapes that do not broadcast, [`OpError::Param`] for a
/// divisor `<= 0` (its flat index as the value), [`OpError::Overflow`].
pub fn div(a: &Tensor, b: &Tensor, rounding: super::Rounding) -> Result<Tensor, OpError> {
    const OP: &str = "div";
    if let Some(i) = b.data().iter().position(|&v| v <= 0) {
        return Err(OpError::Param {
            op: OP,
            param: "divisor index",
            value: i64::try_from(i).unwrap_or(i64::MAX),
        });
    }
    binary(OP, a, b, |x, y| {
        super::div_round(x, y, rounding).unwrap_or(i128::MAX)
    })
}

/// Maximum along `axis` (ties are irrelevant: the value is unique).
///
/// # Errors
/// [`OpError::Param`] for an axis out of range or of length 0.
pub fn reduce_max(x: &Tensor, axis: usize, keep_dims: bool) -> Result<Tensor, OpError> {
    const OP: &str = "reduce_max";
    let shape = super::reduce_shape(OP, x.shape(), &[axis], keep_dims)?;
    let len = x.shape()[axis];
    if len == 0 {
        return Err(OpError::Param {
            op: OP,
            param: "axis_length",
            value: 0,
        });
    }
    let inner: usize = x.shape()[axis + 1..].iter().product();
    let outer: usize = x.shape()[..axis].iter().product();
    let d = x.data();
    let data = (0..outer)
        .flat_map(|o| {
            (0..inner).map(move |i| {
                (0..len)
                    .map(|k| d[(o * len + k) * inner + i])
                    .max()
                    .unwrap_or(0)
            })
        })
        .collect();
    Tensor::new(shape, data)
}

/// `max(x, 0)` elementwise.
#[must_use]
pub fn relu(x: &Tensor) -> Tensor {
    let data = x.data().iter().map(|&v| v.max(0)).collect();
    // Same shape and length as `x`.
    Tensor::new(x.shape().to_vec(), data).unwrap_or_else(|_| x.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkmlops_field::MAX_ABS;

    #[test]
    fn broadcasting_rules() {
        assert_eq!(broadcast_shape(&[2, 3], &[3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shape(&[2, 1], &[1, 3]).unwrap(), vec![2, 3]);
        assert_eq!(broadcast_shape(&[], &[4]).unwrap(), vec![4]);
        assert_eq!(broadcast_shape(&[5, 1, 3], &[2, 1]).unwrap(), vec![5, 2, 3]);
        assert!(broadcast_shape(&[2, 3], &[2]).is_err());
    }

    #[test]
    fn add_sub_mul_hand_vectors() {
        let a = Tensor::matrix(&[[1, -2, 3], [-4, 5, -6]]).unwrap();
        let row = Tensor::vector(vec![10, 20, 30]);
        let col = Tensor::new(vec![2, 1], vec![-1, 2]).unwrap();
        assert_eq!(add(&a, &row).unwrap().data(), &[11, 18, 33, 6, 25, 24]);
        assert_eq!(sub(&a, &col).unwrap().data(), &[2, -1, 4, -6, 3, -8]);
        assert_eq!(mul(&a, &col).unwrap().data(), &[-1, 2, -3, -8, 10, -12]);
        assert_eq!(
            mul(&a, &Tensor::scalar(-3)).unwrap().data(),
            &[-3, 6, -9, 12, -15, 18]
        );
        assert_eq!(sub(&row, &a).unwrap().data(), &[9, 22, 27, 14, 15, 36]);
    }

    #[test]
    fn overflow_and_shape_errors() {
        let a = Tensor::vector(vec![0, MAX_ABS]);
        assert_eq!(
            add(&a, &Tensor::scalar(1)),
            Err(OpError::Overflow {
                op: "add",
                index: 1
            })
        );
        assert_eq!(
            sub(&Tensor::scalar(-MAX_ABS), &Tensor::scalar(1)),
            Err(OpError::Overflow {
                op: "sub",
                index: 0
            })
        );
        assert_eq!(
            mul(&a, &Tensor::scalar(2)),
            Err(OpError::Overflow {
                op: "mul",
                index: 1
            })
        );
        assert!(matches!(
            add(&a, &Tensor::vector(vec![1, 2, 3])),
            Err(OpError::Incompatible { op: "add", .. })
        ));
    }

    #[test]
    fn div_and_reduce_max_hand_vectors() {
        use crate::ops::Rounding;
        let a = Tensor::vector(vec![7, -7, 5, -5, 0]);
        let b = Tensor::vector(vec![2, 2, 10, 10, 3]);
        assert_eq!(
            div(&a, &b, Rounding::HalfUp).unwrap().data(),
            &[4, -3, 1, 0, 0]
        );
        assert_eq!(
            div(&a, &b, Rounding::Floor).unwrap().data(),
            &[3, -4, 0, -1, 0]
        );
        assert!(matches!(
            div(&a, &Tensor::scalar(0), Rounding::Floor),
            Err(OpError::Param { .. })
        ));
        let m = Tensor::matrix(&[[1, -2, 3], [-4, -5, -6]]).unwrap();
        assert_eq!(reduce_max(&m, 1, false).unwrap().data(), &[3, -4]);
        assert_eq!(
            reduce_max(&m, 0, true).unwrap(),
            Tensor::matrix(&[[1, -2, 3]]).unwrap()
        );
        assert!(reduce_max(&m, 2, false).is_err());
    }

    #[test]
    fn relu_hand_vector() {
        let x = Tensor::vector(vec![-MAX_ABS, -1, 0, 1, MAX_ABS]);
        assert_eq!(relu(&x).data(), &[0, 0, 0, 1, MAX_ABS]);
    }
}
