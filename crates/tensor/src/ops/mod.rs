//! The exact integer reference semantics of every op.
//!
//! These functions are the specification: every backend proves exactly what they compute, bit
//! for bit. They work on integers only; scales are the Program's business (see
//! [`crate::Op::infer`]). Accumulation is done in `i128` with checked arithmetic and every output
//! element is checked against the fixed-point range (`|x| <= zkmlops_field::MAX_ABS`), so
//! nothing ever wraps: an out-of-range value is an [`crate::OpError::Overflow`] naming the op and
//! the element.

mod conv;
mod elementwise;
mod linear;
mod pool;
mod reduce;
mod shape;
mod table;

pub use conv::{Conv2dParams, conv2d, conv2d_shape};
pub use elementwise::{
    add, at_least, broadcast_index_map, broadcast_shape, div, mul, reduce_max, relu, sub,
};
pub use linear::{gemm, gemm_shape, matmul, matmul_shape};
pub use pool::{Pool2dParams, avg_pool2d, max_pool2d, pool2d_shape, pool2d_windows};
pub use reduce::{argmax, mean, reduce_index_map, reduce_shape, sum};
pub use shape::{
    concat, concat_index_map, concat_shape, flatten, flatten_shape, reshape, slice,
    slice_index_map, slice_shape, transpose, transpose_index_map, transpose_shape,
};
pub use table::{
    SQRT_MAX_INPUT, isqrt, partition, partition_destinations, partition_shape, sqrt_floor,
};

use serde::{Deserialize, Serialize};

use crate::tensor::fit;
use crate::{OpError, Tensor};

/// How a division by a positive integer rounds.
///
/// Both modes are provable with one range check: `n + o = q * d + r` with `0 <= r < d`, where
/// the offset `o` is `0` for [`Rounding::Floor`] and `floor(d / 2)` for [`Rounding::HalfUp`]
/// (for even `d`; see [`div_round`] for the exact rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Rounding {
    /// Round toward negative infinity: `q = floor(n / d)`.
    Floor,
    /// Round to nearest, ties toward positive infinity: `q = floor((2n + d) / 2d)`.
    #[default]
    HalfUp,
}

/// Divide `n` by `d > 0` with the given rounding.
///
/// `Floor` gives `floor(n / d)`; `HalfUp` gives `floor((2n + d) / (2d))`, i.e. round to
/// nearest with ties toward positive infinity (`-2.5 -> -2`, `2.5 -> 3`). `None` on overflow or
/// when `d <= 0`.
#[must_use]
pub fn div_round(n: i128, d: i128, rounding: Rounding) -> Option<i128> {
    if d <= 0 {
        return None;
    }
    match rounding {
        Rounding::Floor => Some(n.div_euclid(d)),
        Rounding::HalfUp => {
            let num = n.checked_mul(2)?.checked_add(d)?;
            Some(num.div_euclid(d.checked_mul(2)?))
        }
    }
}

/// Divide every element by `2^shift` with the given rounding (the fixed-point rescale).
///
/// # Errors
/// [`OpError::Param`] when `shift > 62`.
pub fn rescale(x: &Tensor, shift: u32, rounding: Rounding) -> Result<Tensor, OpError> {
    const OP: &str = "rescale";
    if shift > zkmlops_field::MAX_SCALE_BITS {
        return Err(OpError::Param {
            op: OP,
            param: "shift",
            value: i64::from(shift),
        });
    }
    let d = 1i128 << shift;
    let data = x
        .data()
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let q = div_round(i128::from(v), d, rounding)
                .ok_or(OpError::Overflow { op: OP, index: i })?;
            fit(OP, i, q)
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::new(x.shape().to_vec(), data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div_round_ties_and_negatives() {
        // HalfUp: ties toward +inf
        assert_eq!(div_round(5, 2, Rounding::HalfUp), Some(3));
        assert_eq!(div_round(-5, 2, Rounding::HalfUp), Some(-2));
        assert_eq!(div_round(-7, 2, Rounding::HalfUp), Some(-3));
        assert_eq!(div_round(7, 4, Rounding::HalfUp), Some(2));
        assert_eq!(div_round(-7, 4, Rounding::HalfUp), Some(-2));
        assert_eq!(div_round(1, 3, Rounding::HalfUp), Some(0));
        assert_eq!(div_round(2, 3, Rounding::HalfUp), Some(1));
        assert_eq!(div_round(-2, 3, Rounding::HalfUp), Some(-1));
        // Floor
        assert_eq!(div_round(5, 2, Rounding::Floor), Some(2));
        assert_eq!(div_round(-5, 2, Rounding::Floor), Some(-3));
        assert_eq!(div_round(-1, 256, Rounding::Floor), Some(-1));
        assert_eq!(div_round(0, 7, Rounding::Floor), Some(0));
        assert_eq!(div_round(1, 0, Rounding::Floor), None);
        assert_eq!(div_round(1, -1, Rounding::Floor), None);
    }

    #[test]
    fn rescale_hand_vectors() {
        let x = Tensor::vector(vec![0, 127, 128, 129, -128, -129, -127, 384, -384, 255]);
        let y = rescale(&x, 8, Rounding::HalfUp).unwrap();
        assert_eq!(y.data(), &[0, 0, 1, 1, 0, -1, 0, 2, -1, 1]);
        let y = rescale(&x, 8, Rounding::Floor).unwrap();
        assert_eq!(y.data(), &[0, 0, 0, 0, -1, -1, -1, 1, -2, 0]);
        assert_eq!(rescale(&x, 0, Rounding::HalfUp).unwrap(), x);
        assert!(matches!(
            rescale(&x, 63, Rounding::Floor),
            Err(OpError::Param { .. })
        ));
    }
}
