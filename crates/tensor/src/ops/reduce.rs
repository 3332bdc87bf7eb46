//! Reductions: sum, mean, argmax.

use super::{Rounding, div_round};
use crate::tensor::{fit, strides};
use crate::{OpError, Tensor};

fn axis_param(op: &'static str, axis: usize) -> OpError {
    OpError::Param {
        op,
        param: "axis",
        value: i64::try_from(axis).unwrap_or(i64::MAX),
    }
}

/// The axes to reduce (all of them when `axes` is empty), checked to be distinct and in range.
fn normalise_axes(op: &'static str, rank: usize, axes: &[usize]) -> Result<Vec<bool>, OpError> {
    let mut mask = vec![axes.is_empty(); rank];
    for &a in axes {
        if a >= rank || mask[a] {
            return Err(axis_param(op, a));
        }
        mask[a] = true;
    }
    Ok(mask)
}

/// Output shape of a reduction over `axes` (all axes when empty); reduced axes become 1 with
/// `keep_dims` and disappear without.
///
/// # Errors
/// [`OpError::Param`] for an axis out of range or repeated.
pub fn reduce_shape(
    op: &'static str,
    shape: &[usize],
    axes: &[usize],
    keep_dims: bool,
) -> Result<Vec<usize>, OpError> {
    let mask = normalise_axes(op, shape.len(), axes)?;
    Ok(shape
        .iter()
        .zip(&mask)
        .filter_map(|(&d, &m)| match (m, keep_dims) {
            (false, _) => Some(d),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect())
}

/// For each input flat index, the flat index of the output element it is reduced into, and
/// the number of output elements (a reduction over `axes`, all axes when empty). Backends use
/// this to group exactly as the reference does.
///
/// # Errors
/// [`OpError::Param`] for an axis out of range or repeated.
pub fn reduce_index_map(shape: &[usize], axes: &[usize]) -> Result<(Vec<usize>, usize), OpError> {
    let mask = normalise_axes("reduce", shape.len(), axes)?;
    let kept: Vec<usize> = shape
        .iter()
        .zip(&mask)
        .map(|(&d, &m)| if m { 1 } else { d })
        .collect();
    let kept_strides = strides(&kept);
    let in_strides = strides(shape);
    let n: usize = shape.iter().product();
    let map = (0..n)
        .map(|flat| {
            (0..shape.len())
                .filter(|&ax| !mask[ax])
                .map(|ax| ((flat / in_strides[ax]) % shape[ax]) * kept_strides[ax])
                .sum()
        })
        .collect();
    Ok((map, kept.iter().product()))
}

/// Sum each group of reduced elements in i128; returns (sums, group size, output shape).
fn reduce_sums(
    op: &'static str,
    x: &Tensor,
    axes: &[usize],
    keep_dims: bool,
) -> Result<(Vec<i128>, usize, Vec<usize>), OpError> {
    let out_shape = reduce_shape(op, x.shape(), axes, keep_dims)?;
    let (map, out_len) = reduce_index_map(x.shape(), axes).map_err(|e| match e {
        OpError::Param { param, value, .. } => OpError::Param { op, param, value },
        other => other,
    })?;
    let group = x.len().checked_div(out_len).unwrap_or(0);
    let mut sums = vec![0i128; out_len];
    for (&o, &v) in map.iter().zip(x.data()) {
        sums[o] += i128::from(v);
    }
    Ok((sums, group, out_shape))
}

/// Sum over `axes` (all axes when empty). A sum over no elements is 0.
///
/// # Errors
/// [`OpError::Param`] for a bad axis, [`OpError::Overflow`].
pub fn sum(x: &Tensor, axes: &[usize], keep_dims: bool) -> Result<Tensor, OpError> {
    const OP: &str = "sum";
    let (sums, _, shape) = reduce_sums(OP, x, axes, keep_dims)?;
    let data = sums
        .into_iter()
        .enumerate()
        .map(|(i, s)| fit(OP, i, s))
        .collect::<Result<_, _>>()?;
    Tensor::new(shape, data)
}

/// Mean over `axes`: the exact sum divided by the element count, rounded as `rounding` says.
///
/// # Errors
/// [`OpError::Param`] for a bad axis or a mean over no elements, [`OpError::Overflow`].
pub fn mean(
    x: &Tensor,
    axes: &[usize],
    keep_dims: bool,
    rounding: Rounding,
) -> Result<Tensor, OpError> {
    const OP: &str = "mean";
    let (sums, group, shape) = reduce_sums(OP, x, axes, keep_dims)?;
    if group == 0 {
        return Err(OpError::Param {
            op: OP,
            param: "count",
            value: 0,
        });
    }
    let d = i128::try_from(group).map_err(|_| OpError::Param {
        op: OP,
        param: "count",
        value: i64::MAX,
    })?;
    let data = sums
        .into_iter()
        .enumerate()
        .map(|(i, s)| {
            fit(
                OP,
                i,
                div_round(s, d, rounding).ok_or(OpError::Overflow { op: OP, index: i })?,
            )
        })
        .collect::<Result<_, _>>()?;
    Tensor::new(shape, data)
}

/// Index of the largest element along `axis`; ties go to the first (lowest) index.
///
/// # Errors
/// [`OpError::Param`] for an axis out of range or of length 0.
pub fn argmax(x: &Tensor, axis: usize, keep_dims: bool) -> Result<Tensor, OpError> {
    const OP: &str = "argmax";
    let shape = reduce_shape(OP, x.shape(), &[axis], keep_dims)?;
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
    let mut out = Vec::with_capacity(outer * inner);
    for o in 0..outer {
        for i in 0..inner {
            let at = |k: usize| d[(o * len + k) * inner + i];
            let mut best = 0;
            for k in 1..len {
                if at(k) > at(best) {
                    best = k;
                }
            }
            out.push(i64::try_from(best).map_err(|_| OpError::Overflow {
                op: OP,
                index: out.len(),
            })?);
        }
    }
    Tensor::new(shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Tensor {
        Tensor::matrix(&[[1, -2, 3], [4, 5, -7]]).unwrap()
    }

    #[test]
    fn sums() {
        assert_eq!(
            sum(&x(), &[0], false).unwrap(),
            Tensor::vector(vec![5, 3, -4])
        );
        assert_eq!(
            sum(&x(), &[1], true).unwrap(),
            Tensor::new(vec![2, 1], vec![2, 2]).unwrap()
        );
        assert_eq!(sum(&x(), &[], false).unwrap(), Tensor::scalar(4));
        assert_eq!(
            sum(&x(), &[0, 1], true).unwrap(),
            Tensor::new(vec![1, 1], vec![4]).unwrap()
        );
        assert!(matches!(sum(&x(), &[2], false), Err(OpError::Param { .. })));
        assert!(matches!(
            sum(&x(), &[1, 1], false),
            Err(OpError::Param { .. })
        ));
        let empty = Tensor::new(vec![0, 3], vec![]).unwrap();
        assert_eq!(
            sum(&empty, &[0], false).unwrap(),
            Tensor::vector(vec![0, 0, 0])
        );
    }

    #[test]
    fn means_round() {
        // column means: 2.5 -> 3, 1.5 -> 2, -2 -> -2 (HalfUp); floor: 2, 1, -2
        assert_eq!(
            mean(&x(), &[0], false, Rounding::HalfUp).unwrap().data(),
            &[3, 2, -2]
        );
        assert_eq!(
            mean(&x(), &[0], false, Rounding::Floor).unwrap().data(),
            &[2, 1, -2]
        );
        // row means: 2/3 -> 1, 2/3 -> 1
        assert_eq!(
            mean(&x(), &[1], false, Rounding::HalfUp).unwrap().data(),
            &[1, 1]
        );
        let neg = Tensor::vector(vec![-1, -2]);
        assert_eq!(
            mean(&neg, &[], false, Rounding::HalfUp).unwrap().data(),
            &[-1]
        );
        let empty = Tensor::new(vec![0, 3], vec![]).unwrap();
        assert!(matches!(
            mean(&empty, &[0], false, Rounding::Floor),
            Err(OpError::Param { param: "count", .. })
        ));
    }

    #[test]
    fn argmax_first_index_wins() {
        assert_eq!(argmax(&x(), 1, false).unwrap(), Tensor::vector(vec![2, 1]));
        assert_eq!(
            argmax(&x(), 0, true).unwrap(),
            Tensor::new(vec![1, 3], vec![1, 1, 0]).unwrap()
        );
        let ties = Tensor::vector(vec![-3, 7, 7, 1]);
        assert_eq!(argmax(&ties, 0, false).unwrap(), Tensor::scalar(1));
        assert!(argmax(&ties, 1, false).is_err());
        assert!(argmax(&Tensor::new(vec![0], vec![]).unwrap(), 0, false).is_err());
    }
}
