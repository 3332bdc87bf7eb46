//! Ops that dataset pipelines need: an exact integer square root and a stable partition of
//! rows by a 0/1 mask (the proved form of a row filter).

use crate::{OpError, Tensor};

/// Largest input of [`sqrt_floor`]: `2^62 - 1`, so the root is below `2^31`.
pub const SQRT_MAX_INPUT: i64 = (1 << 62) - 1;

/// `floor(sqrt(x))` of a non-negative integer (exact, by integer Newton steps).
#[must_use]
pub fn isqrt(x: u64) -> u64 {
    if x < 2 {
        return x;
    }
    // Start above the root; Newton's iteration then decreases monotonically to it.
    let mut y = 1u64 << (64 - x.leading_zeros()).div_ceil(2);
    loop {
        let next = (y + x / y) / 2;
        if next >= y {
            return y;
        }
        y = next;
    }
}

/// Elementwise `floor(sqrt(x))`. At the Program level the input scale `2^(2s)` becomes the
/// output scale `2^s`, so the root of a variance is a standard deviation.
///
/// # Errors
/// [`OpError::Domain`] for the first element that is negative or above [`SQRT_MAX_INPUT`].
pub fn sqrt_floor(x: &Tensor) -> Result<Tensor, OpError> {
    let data = x
        .data()
        .iter()
        .enumerate()
        .map(|(index, &v)| match u64::try_from(v) {
            Ok(u) if v <= SQRT_MAX_INPUT => Ok(i64::try_from(isqrt(u)).unwrap_or(i64::MAX)),
            _ => Err(OpError::Domain {
                op: "sqrt",
                index,
                value: v,
                allowed: "0 ..= 2^62 - 1",
            }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::new(x.shape().to_vec(), data)
}

/// Where a stable partition sends each element: the `kept` rows (mask 1) first, in order,
/// then the others, in order. `dest[i]` is the output position of input `i`.
///
/// # Errors
/// [`OpError::Domain`] for a mask value other than 0 or 1, [`OpError::Param`] (`kept`, the
/// actual count) when the mask keeps a different number of rows.
pub fn partition_destinations(mask: &[i64], kept: usize) -> Result<Vec<usize>, OpError> {
    const OP: &str = "partition";
    let mut dest = Vec::with_capacity(mask.len());
    let mut count = 0usize;
    for (i, &m) in mask.iter().enumerate() {
        match m {
            1 => {
                dest.push(count);
                count += 1;
            }
            0 => dest.push(kept.saturating_add(i - count)),
            _ => {
                return Err(OpError::Domain {
                    op: OP,
                    index: i,
                    value: m,
                    allowed: "0 or 1",
                });
            }
        }
    }
    if count != kept {
        return Err(OpError::Param {
            op: OP,
            param: "kept",
            value: i64::try_from(count).unwrap_or(i64::MAX),
        });
    }
    Ok(dest)
}

/// Stable partition of a vector `x [n]` by `mask [n]`: the elements whose mask is 1 first
/// (exactly `kept` of them), then the rest, each group in its original order. A row filter is
/// this op followed by a slice of the first `kept` elements.
///
/// # Errors
/// [`OpError::Rank`] unless both inputs are vectors of one length, and the errors of
/// [`partition_destinations`].
pub fn partition(x: &Tensor, mask: &Tensor, kept: usize) -> Result<Tensor, OpError> {
    partition_shape(x.shape(), mask.shape(), kept)?;
    let dest = partition_destinations(mask.data(), kept)?;
    let mut out = vec![0i64; x.len()];
    for (&v, &d) in x.data().iter().zip(&dest) {
        out[d] = v;
    }
    Tensor::new(x.shape().to_vec(), out)
}

/// The output shape of [`partition`] (the input's).
///
/// # Errors
/// [`OpError::Rank`], [`OpError::Incompatible`], or [`OpError::Param`] when `kept > n`.
pub fn partition_shape(x: &[usize], mask: &[usize], kept: usize) -> Result<Vec<usize>, OpError> {
    const OP: &str = "partition";
    for (input, shape) in [(0, x), (1, mask)] {
        if shape.len() != 1 {
            return Err(OpError::Rank {
                op: OP,
                input,
                expected: 1,
                got: shape.to_vec(),
            });
        }
    }
    if x != mask {
        return Err(OpError::Incompatible {
            op: OP,
            lhs: x.to_vec(),
            rhs: mask.to_vec(),
        });
    }
    if kept > x[0] {
        return Err(OpError::Param {
            op: OP,
            param: "kept",
            value: i64::try_from(kept).unwrap_or(i64::MAX),
        });
    }
    Ok(x.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isqrt_is_exact_on_edges_and_random_values() {
        for x in 0u64..2000 {
            let r = isqrt(x);
            assert!(r * r <= x && (r + 1) * (r + 1) > x, "x = {x}");
        }
        let mut s = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..10_000 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let x = s >> 2;
            let r = u128::from(isqrt(x));
            assert!(r * r <= u128::from(x) && (r + 1) * (r + 1) > u128::from(x));
        }
        let top = SQRT_MAX_INPUT.unsigned_abs();
        assert_eq!(isqrt(top), (1 << 31) - 1);
        assert_eq!(isqrt(u64::MAX), u64::from(u32::MAX));
    }

    #[test]
    fn sqrt_rejects_negative_and_too_large() {
        let t = Tensor::vector(vec![0, 1, 15, 16, 17]);
        assert_eq!(sqrt_floor(&t).unwrap().data(), &[0, 1, 3, 4, 4]);
        let e = sqrt_floor(&Tensor::vector(vec![4, -1])).unwrap_err();
        assert!(matches!(
            e,
            OpError::Domain {
                index: 1,
                value: -1,
                ..
            }
        ));
        assert!(sqrt_floor(&Tensor::vector(vec![SQRT_MAX_INPUT + 1])).is_err());
    }

    #[test]
    fn partition_is_stable_and_checks_the_count() {
        let x = Tensor::vector(vec![10, 11, 12, 13, 14]);
        let m = Tensor::vector(vec![0, 1, 1, 0, 1]);
        assert_eq!(partition(&x, &m, 3).unwrap().data(), &[11, 12, 14, 10, 13]);
        assert!(matches!(
            partition(&x, &m, 2).unwrap_err(),
            OpError::Param {
                param: "kept",
                value: 3,
                ..
            }
        ));
        let bad = Tensor::vector(vec![0, 2, 1, 0, 1]);
        assert!(matches!(
            partition(&x, &bad, 2).unwrap_err(),
            OpError::Domain { index: 1, .. }
        ));
        let none = Tensor::vector(vec![0; 5]);
        assert_eq!(partition(&x, &none, 0).unwrap().data(), x.data());
        assert!(partition(&x, &Tensor::vector(vec![1; 4]), 4).is_err());
    }
}
