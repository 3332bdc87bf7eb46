//! Data movement: reshape, flatten, transpose, concat, slice. No arithmetic.

use crate::tensor::{numel, strides};
use crate::{OpError, Tensor};

fn param(op: &'static str, name: &'static str, v: usize) -> OpError {
    OpError::Param {
        op,
        param: name,
        value: i64::try_from(v).unwrap_or(i64::MAX),
    }
}

/// Reshape to `shape` (same number of elements, row-major order kept).
///
/// # Errors
/// [`OpError::Incompatible`] when the element counts differ.
pub fn reshape(x: &Tensor, shape: &[usize]) -> Result<Tensor, OpError> {
    if numel(shape) != Some(x.len()) {
        return Err(OpError::Incompatible {
            op: "reshape",
            lhs: x.shape().to_vec(),
            rhs: shape.to_vec(),
        });
    }
    x.clone().with_shape(shape.to_vec())
}

/// Output shape of `flatten(axis)`: `[prod(shape[..axis]), prod(shape[axis..])]` (ONNX).
///
/// # Errors
/// [`OpError::Param`] when `axis > rank`.
pub fn flatten_shape(shape: &[usize], axis: usize) -> Result<Vec<usize>, OpError> {
    if axis > shape.len() {
        return Err(param("flatten", "axis", axis));
    }
    Ok(vec![
        shape[..axis].iter().product(),
        shape[axis..].iter().product(),
    ])
}

/// Flatten to a matrix at `axis` (ONNX `Flatten`).
///
/// # Errors
/// As [`flatten_shape`].
pub fn flatten(x: &Tensor, axis: usize) -> Result<Tensor, OpError> {
    x.clone().with_shape(flatten_shape(x.shape(), axis)?)
}

/// Output shape of a transpose by `perm` (output axis `i` is input axis `perm[i]`).
///
/// # Errors
/// [`OpError::Param`] unless `perm` is a permutation of `0..rank`.
pub fn transpose_shape(shape: &[usize], perm: &[usize]) -> Result<Vec<usize>, OpError> {
    let mut seen = vec![false; shape.len()];
    if perm.len() != shape.len() {
        return Err(param("transpose", "perm_length", perm.len()));
    }
    for &p in perm {
        if p >= shape.len() || seen[p] {
            return Err(param("transpose", "perm", p));
        }
        seen[p] = true;
    }
    Ok(perm.iter().map(|&p| shape[p]).collect())
}

/// For each output flat index of a transpose by `perm`, the input flat index it copies.
///
/// # Errors
/// As [`transpose_shape`].
pub fn transpose_index_map(shape: &[usize], perm: &[usize]) -> Result<Vec<usize>, OpError> {
    let out_shape = transpose_shape(shape, perm)?;
    let in_strides = strides(shape);
    let out_strides = strides(&out_shape);
    let n: usize = shape.iter().product();
    Ok((0..n)
        .map(|flat| {
            (0..perm.len())
                .map(|i| ((flat / out_strides[i]) % out_shape[i]) * in_strides[perm[i]])
                .sum()
        })
        .collect())
}

/// Permute the axes: output axis `i` is input axis `perm[i]` (ONNX / numpy `transpose`).
///
/// # Errors
/// As [`transpose_shape`].
pub fn transpose(x: &Tensor, perm: &[usize]) -> Result<Tensor, OpError> {
    let out_shape = transpose_shape(x.shape(), perm)?;
    let data = transpose_index_map(x.shape(), perm)?
        .into_iter()
        .map(|i| x.data()[i])
        .collect();
    Tensor::new(out_shape, data)
}

/// Output shape of concatenating along `axis`: all other dimensions must agree.
///
/// # Errors
/// [`OpError::Arity`] with no inputs, [`OpError::Param`] for a bad axis,
/// [`OpError::Incompatible`] when other dimensions differ.
pub fn concat_shape(shapes: &[&[usize]], axis: usize) -> Result<Vec<usize>, OpError> {
    const OP: &str = "concat";
    let first = shapes.first().ok_or(OpError::Arity {
        op: OP,
        expected: "1..",
        got: 0,
    })?;
    if axis >= first.len() {
        return Err(param(OP, "axis", axis));
    }
    let mut out = first.to_vec();
    for s in &shapes[1..] {
        let same_rest = s.len() == first.len()
            && s.iter()
                .zip(*first)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !same_rest {
            return Err(OpError::Incompatible {
                op: OP,
                lhs: first.to_vec(),
                rhs: s.to_vec(),
            });
        }
        out[axis] += s[axis];
    }
    Ok(out)
}

/// For each output flat index of a concatenation along `axis`, the input it comes from and the
/// flat index within that input.
///
/// # Errors
/// As [`concat_shape`].
pub fn concat_index_map(shapes: &[&[usize]], axis: usize) -> Result<Vec<(usize, usize)>, OpError> {
    let out_shape = concat_shape(shapes, axis)?;
    let outer: usize = out_shape[..axis].iter().product();
    let mut map = Vec::with_capacity(numel(&out_shape).unwrap_or(0));
    for o in 0..outer {
        for (which, s) in shapes.iter().enumerate() {
            let chunk: usize = s[axis..].iter().product();
            map.extend((o * chunk..(o + 1) * chunk).map(|i| (which, i)));
        }
    }
    Ok(map)
}

/// Concatenate along `axis`.
///
/// # Errors
/// As [`concat_shape`].
pub fn concat(xs: &[&Tensor], axis: usize) -> Result<Tensor, OpError> {
    let shapes: Vec<&[usize]> = xs.iter().map(|t| t.shape()).collect();
    let out_shape = concat_shape(&shapes, axis)?;
    let data = concat_index_map(&shapes, axis)?
        .into_iter()
        .map(|(w, i)| xs[w].data()[i])
        .collect();
    Tensor::new(out_shape, data)
}

/// Output shape of `slice(axis, start, end)`.
///
/// # Errors
/// [`OpError::Param`] for a bad axis or unless `start <= end <= shape[axis]`.
pub fn slice_shape(
    shape: &[usize],
    axis: usize,
    start: usize,
    end: usize,
) -> Result<Vec<usize>, OpError> {
    const OP: &str = "slice";
    let dim = *shape.get(axis).ok_or_else(|| param(OP, "axis", axis))?;
    if end > dim {
        return Err(param(OP, "end", end));
    }
    if start > end {
        return Err(param(OP, "start", start));
    }
    let mut out = shape.to_vec();
    out[axis] = end - start;
    Ok(out)
}

/// For each output flat index of `slice(axis, start, end)`, the input flat index it copies.
///
/// # Errors
/// As [`slice_shape`].
pub fn slice_index_map(
    shape: &[usize],
    axis: usize,
    start: usize,
    end: usize,
) -> Result<Vec<usize>, OpError> {
    slice_shape(shape, axis, start, end)?;
    let outer: usize = shape[..axis].iter().product();
    let inner: usize = shape[axis + 1..].iter().product();
    let dim = shape[axis];
    Ok((0..outer)
        .flat_map(|o| {
            let base = o * dim * inner;
            base + start * inner..base + end * inner
        })
        .collect())
}

/// Elements `start..end` along `axis` (step 1).
///
/// # Errors
/// As [`slice_shape`].
pub fn slice(x: &Tensor, axis: usize, start: usize, end: usize) -> Result<Tensor, OpError> {
    let out_shape = slice_shape(x.shape(), axis, start, end)?;
    let data = slice_index_map(x.shape(), axis, start, end)?
        .into_iter()
        .map(|i| x.data()[i])
        .collect();
    Tensor::new(out_shape, data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Tensor {
        Tensor::new(vec![2, 3], vec![1, 2, 3, 4, 5, 6]).unwrap()
    }

    #[test]
    fn reshape_flatten() {
        assert_eq!(reshape(&x(), &[3, 2]).unwrap().data(), x().data());
        assert!(reshape(&x(), &[4]).is_err());
        let t = Tensor::new(vec![2, 3, 4], (0..24).collect()).unwrap();
        assert_eq!(flatten(&t, 1).unwrap().shape(), &[2, 12]);
        assert_eq!(flatten(&t, 0).unwrap().shape(), &[1, 24]);
        assert_eq!(flatten(&t, 3).unwrap().shape(), &[24, 1]);
        assert!(flatten(&t, 4).is_err());
    }

    #[test]
    fn transpose_hand_vectors() {
        assert_eq!(
            transpose(&x(), &[1, 0]).unwrap(),
            Tensor::matrix(&[[1, 4], [2, 5], [3, 6]]).unwrap()
        );
        let t = Tensor::new(vec![2, 2, 2], (0..8).collect()).unwrap();
        // out[i][j][k] = in[k][i][j] with perm [1, 2, 0]... out axis0 = in axis1
        let y = transpose(&t, &[2, 0, 1]).unwrap();
        assert_eq!(y.get(&[1, 0, 1]), t.get(&[0, 1, 1]));
        assert_eq!(y.data(), &[0, 2, 4, 6, 1, 3, 5, 7]);
        assert!(transpose(&x(), &[0, 0]).is_err());
        assert!(transpose(&x(), &[0]).is_err());
    }

    #[test]
    fn concat_and_slice() {
        let y = concat(&[&x(), &Tensor::matrix(&[[7, 8, 9]]).unwrap()], 0).unwrap();
        assert_eq!(y.shape(), &[3, 3]);
        assert_eq!(y.data(), &[1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let y = concat(&[&x(), &Tensor::matrix(&[[0], [-1]]).unwrap()], 1).unwrap();
        assert_eq!(y.data(), &[1, 2, 3, 0, 4, 5, 6, -1]);
        assert!(concat(&[&x(), &Tensor::matrix(&[[0, 1]]).unwrap()], 0).is_err());
        assert!(concat(&[], 0).is_err());
        assert_eq!(
            slice(&x(), 1, 1, 3).unwrap(),
            Tensor::matrix(&[[2, 3], [5, 6]]).unwrap()
        );
        assert_eq!(
            slice(&x(), 0, 1, 2).unwrap(),
            Tensor::matrix(&[[4, 5, 6]]).unwrap()
        );
        assert_eq!(slice(&x(), 1, 2, 2).unwrap().shape(), &[2, 0]);
        assert!(slice(&x(), 1, 2, 4).is_err());
        assert!(slice(&x(), 1, 3, 2).is_err());
        assert!(slice(&x(), 2, 0, 0).is_err());
    }
}
