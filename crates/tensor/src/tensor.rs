//! Row-major integer tensors.

use serde::{Deserialize, Serialize};
use zkmlops_field::MAX_ABS;

use crate::OpError;

/// A dense tensor of fixed-point integers in row-major order.
///
/// A tensor carries no scale: the scale belongs to the Program's declaration of the tensor
/// (see [`crate::TensorDecl`]), so the same integers can be read at any scale.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tensor {
    shape: Vec<usize>,
    data: Vec<i64>,
}

/// Number of elements of a shape (1 for rank 0). `None` on overflow.
#[must_use]
pub fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// Row-major strides of a shape.
#[must_use]
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

impl Tensor {
    /// A tensor of `shape` holding `data` in row-major order.
    ///
    /// # Errors
    /// [`OpError::DataLength`] when `data.len()` is not the product of `shape`.
    pub fn new(shape: Vec<usize>, data: Vec<i64>) -> Result<Self, OpError> {
        let expected = numel(&shape).ok_or(OpError::DataLength {
            shape: shape.clone(),
            expected: usize::MAX,
            got: data.len(),
        })?;
        if expected != data.len() {
            return Err(OpError::DataLength {
                shape,
                expected,
                got: data.len(),
            });
        }
        Ok(Tensor { shape, data })
    }

    /// A tensor of zeros.
    ///
    /// # Errors
    /// [`OpError::DataLength`] when the shape's size overflows `usize`.
    pub fn zeros(shape: Vec<usize>) -> Result<Self, OpError> {
        let n = numel(&shape).ok_or(OpError::DataLength {
            shape: shape.clone(),
            expected: usize::MAX,
            got: 0,
        })?;
        Ok(Tensor {
            shape,
            data: vec![0; n],
        })
    }

    /// A rank-0 tensor.
    #[must_use]
    pub fn scalar(v: i64) -> Self {
        Tensor {
            shape: Vec::new(),
            data: vec![v],
        }
    }

    /// A rank-1 tensor.
    #[must_use]
    pub fn vector(data: Vec<i64>) -> Self {
        Tensor {
            shape: vec![data.len()],
            data,
        }
    }

    /// A rank-2 tensor from its rows.
    ///
    /// # Errors
    /// [`OpError::DataLength`] when the rows have different lengths.
    pub fn matrix<R: AsRef<[i64]>>(rows: &[R]) -> Result<Self, OpError> {
        let cols = rows.first().map_or(0, |r| r.as_ref().len());
        let data: Vec<i64> = rows
            .iter()
            .flat_map(|r| r.as_ref().iter().copied())
            .collect();
        Tensor::new(vec![rows.len(), cols], data)
    }

    /// The shape.
    #[must_use]
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The rank (number of axes).
    #[must_use]
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// The values in row-major order.
    #[must_use]
    pub fn data(&self) -> &[i64] {
        &self.data
    }

    /// Consume into the values.
    #[must_use]
    pub fn into_data(self) -> Vec<i64> {
        self.data
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the tensor has no elements.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The element at a multi-index, if in bounds.
    #[must_use]
    pub fn get(&self, index: &[usize]) -> Option<i64> {
        if index.len() != self.shape.len() || index.iter().zip(&self.shape).any(|(i, d)| i >= d) {
            return None;
        }
        let flat: usize = index
            .iter()
            .zip(strides(&self.shape))
            .map(|(i, s)| i * s)
            .sum();
        self.data.get(flat).copied()
    }

    /// The first flat index whose value is outside the fixed-point range, if any.
    #[must_use]
    pub fn first_out_of_range(&self) -> Option<usize> {
        self.data
            .iter()
            .position(|v| v.unsigned_abs() > MAX_ABS.unsigned_abs())
    }

    /// Same values, new shape (no checks beyond the element count).
    pub(crate) fn with_shape(self, shape: Vec<usize>) -> Result<Self, OpError> {
        Tensor::new(shape, self.data)
    }
}

/// Check that an `i128` result fits the fixed-point range; name the op and index otherwise.
pub(crate) fn fit(op: &'static str, index: usize, v: i128) -> Result<i64, OpError> {
    if v.unsigned_abs() > MAX_ABS.unsigned_abs() as u128 {
        return Err(OpError::Overflow { op, index });
    }
    i64::try_from(v).map_err(|_| OpError::Overflow { op, index })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn construction_checks_length() {
        assert!(Tensor::new(vec![2, 3], vec![0; 6]).is_ok());
        assert_eq!(
            Tensor::new(vec![2, 3], vec![0; 5]),
            Err(OpError::DataLength {
                shape: vec![2, 3],
                expected: 6,
                got: 5
            })
        );
        assert_eq!(Tensor::scalar(7).shape(), &[] as &[usize]);
        assert!(Tensor::matrix(&[vec![1, 2], vec![3]]).is_err());
        assert!(Tensor::new(vec![usize::MAX, 2], vec![]).is_err());
    }

    #[test]
    fn indexing_is_row_major() {
        let t = Tensor::new(vec![2, 3], (0..6).collect()).unwrap();
        assert_eq!(t.get(&[1, 0]), Some(3));
        assert_eq!(t.get(&[1, 2]), Some(5));
        assert_eq!(t.get(&[2, 0]), None);
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
    }

    #[test]
    fn fit_bounds() {
        assert_eq!(fit("t", 0, i128::from(MAX_ABS)), Ok(MAX_ABS));
        assert_eq!(
            fit("t", 3, i128::from(MAX_ABS) + 1),
            Err(OpError::Overflow { op: "t", index: 3 })
        );
        assert_eq!(fit("t", 0, -i128::from(MAX_ABS)), Ok(-MAX_ABS));
    }
}
