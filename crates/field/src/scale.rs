//! Power-of-two fixed-point scales.

use serde::{Deserialize, Serialize};

use crate::{FieldError, MAX_ABS};

/// Largest supported scale exponent: a product of two values at scale 2^31 has scale 2^62.
pub const MAX_SCALE_BITS: u32 = 62;

/// A power-of-two fixed-point scale `2^bits`: the integer `q` at this scale stands for the real
/// number `q / 2^bits`.
///
/// The product of values at scales `a` and `b` has scale `a + b` ([`Scale::product`]); a
/// rescale by `k` bits lowers it by `k` ([`Scale::lowered`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Scale(u32);

impl Scale {
    /// The unit scale `2^0`: plain integers.
    pub const ONE: Scale = Scale(0);

    /// The scale `2^bits`.
    ///
    /// # Errors
    /// [`FieldError::ScaleTooLarge`] when `bits > MAX_SCALE_BITS`.
    pub const fn new(bits: u32) -> Result<Self, FieldError> {
        if bits > MAX_SCALE_BITS {
            return Err(FieldError::ScaleTooLarge {
                bits,
                max: MAX_SCALE_BITS,
            });
        }
        Ok(Scale(bits))
    }

    /// The exponent: this scale is `2^bits()`.
    #[must_use]
    pub const fn bits(self) -> u32 {
        self.0
    }

    /// `2^bits` as an `f64` (exact: `bits <= 62`).
    #[must_use]
    pub fn factor(self) -> f64 {
        // bits <= 62 keeps the exponent well inside f64's range; powi on a power of two is exact.
        2f64.powi(i32::try_from(self.0).unwrap_or(i32::MAX))
    }

    /// The scale of a product of a value at `self` and one at `other`.
    ///
    /// # Errors
    /// [`FieldError::ScaleTooLarge`] when the exponents add up past [`MAX_SCALE_BITS`].
    pub const fn product(self, other: Scale) -> Result<Scale, FieldError> {
        Scale::new(self.0 + other.0)
    }

    /// The scale after dividing by `2^shift`, saturating at [`Scale::ONE`].
    #[must_use]
    pub const fn lowered(self, shift: u32) -> Scale {
        Scale(self.0.saturating_sub(shift))
    }

    /// Encode a real number: `q = round(x * 2^bits)`, rounding to the nearest integer with
    /// ties away from zero (`f64::round`).
    ///
    /// Multiplying by a power of two is exact in `f64` (barring overflow), so the only rounding
    /// is the final one.
    ///
    /// # Errors
    /// [`FieldError::NotFinite`] for NaN and infinities, [`FieldError::EncodeOverflow`] when
    /// `|q| > MAX_ABS` (the fixed-point range, see [`crate::MAX_ABS`]).
    pub fn encode(self, x: f64) -> Result<i64, FieldError> {
        if !x.is_finite() {
            return Err(FieldError::NotFinite { value: x });
        }
        let q = (x * self.factor()).round();
        // MAX_ABS = 2^63 - 2^31 is exactly representable in f64.
        let limit = MAX_ABS as f64;
        if q.abs() > limit {
            return Err(FieldError::EncodeOverflow {
                value: x,
                scale_bits: self.0,
                max: MAX_ABS.unsigned_abs(),
            });
        }
        // |q| <= 2^63 - 2^31 and q is integral: the cast is exact.
        #[allow(clippy::cast_possible_truncation)]
        Ok(q as i64)
    }

    /// Decode `q / 2^bits` to the nearest `f64` (exact when `|q| <= 2^53`).
    #[must_use]
    pub fn decode(self, q: i64) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let v = q as f64;
        v / self.factor()
    }
}

impl Default for Scale {
    fn default() -> Self {
        Scale::ONE
    }
}

impl TryFrom<u32> for Scale {
    type Error = FieldError;
    fn try_from(bits: u32) -> Result<Self, FieldError> {
        Scale::new(bits)
    }
}

impl From<Scale> for u32 {
    fn from(s: Scale) -> u32 {
        s.0
    }
}

impl std::fmt::Display for Scale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "2^{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rounding_ties_away_from_zero() {
        let s = Scale::new(1).unwrap();
        // 0.25 * 2 = 0.5 -> 1; -0.25 * 2 = -0.5 -> -1; 0.75 * 2 = 1.5 -> 2
        assert_eq!(s.encode(0.25).unwrap(), 1);
        assert_eq!(s.encode(-0.25).unwrap(), -1);
        assert_eq!(s.encode(0.75).unwrap(), 2);
        assert_eq!(s.encode(-0.75).unwrap(), -2);
        assert_eq!(s.encode(0.2).unwrap(), 0);
        assert_eq!(Scale::ONE.encode(-0.0).unwrap(), 0);
    }

    #[test]
    fn non_finite_rejected() {
        let s = Scale::new(8).unwrap();
        assert!(matches!(
            s.encode(f64::NAN),
            Err(FieldError::NotFinite { .. })
        ));
        assert!(matches!(
            s.encode(f64::INFINITY),
            Err(FieldError::NotFinite { .. })
        ));
        assert!(matches!(
            s.encode(f64::NEG_INFINITY),
            Err(FieldError::NotFinite { .. })
        ));
    }

    #[test]
    fn overflow_rejected_at_the_boundary() {
        let s = Scale::ONE;
        assert_eq!(s.encode(MAX_ABS as f64).unwrap(), MAX_ABS);
        assert_eq!(s.encode(-(MAX_ABS as f64)).unwrap(), -MAX_ABS);
        // the next f64 above 2^63 - 2^31 is 2^63 - 2^31 + 2^10
        assert!(matches!(
            s.encode(MAX_ABS as f64 + 1024.0),
            Err(FieldError::EncodeOverflow { .. })
        ));
        assert!(matches!(
            Scale::new(62).unwrap().encode(2.0),
            Err(FieldError::EncodeOverflow { .. })
        ));
        assert_eq!(Scale::new(61).unwrap().encode(2.0).unwrap(), 1 << 62);
        assert_eq!(Scale::new(61).unwrap().encode(-2.0).unwrap(), -(1 << 62));
    }

    #[test]
    fn scale_bounds() {
        assert!(Scale::new(MAX_SCALE_BITS).is_ok());
        assert_eq!(
            Scale::new(63),
            Err(FieldError::ScaleTooLarge {
                bits: 63,
                max: MAX_SCALE_BITS
            })
        );
        let a = Scale::new(40).unwrap();
        assert!(a.product(Scale::new(22).unwrap()).is_ok());
        assert!(a.product(Scale::new(23).unwrap()).is_err());
        assert_eq!(a.lowered(50), Scale::ONE);
        assert_eq!(serde_json::to_string(&a).unwrap(), "40");
        assert!(serde_json::from_str::<Scale>("63").is_err());
    }

    proptest! {
        #[test]
        fn encode_decode_round_trip(q in -(1i64 << 53)..=(1 << 53), bits in 0u32..=20) {
            let s = Scale::new(bits).unwrap();
            prop_assert_eq!(s.encode(s.decode(q)).unwrap(), q);
        }

        #[test]
        fn encode_error_is_at_most_half_an_ulp(x in -1.0e6f64..1.0e6, bits in 0u32..=24) {
            let s = Scale::new(bits).unwrap();
            let q = s.encode(x).unwrap();
            prop_assert!((s.decode(q) - x).abs() <= 0.5 / s.factor());
        }
    }
}
