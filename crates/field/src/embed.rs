//! The signed embedding of integers into Goldilocks.
//!
//! Non-negative `x` maps to `x`, negative `x` to `p - |x|`. The map is injective on
//! `[-HALF_P, HALF_P]`, where `HALF_P = (p - 1) / 2`, and onto: every field element has exactly
//! one signed representative there, which is what [`unembed`] returns.

use p3_field::{PrimeCharacteristicRing, PrimeField64};
use p3_goldilocks::Goldilocks;

use crate::FieldError;

/// The Goldilocks modulus `p = 2^64 - 2^32 + 1`.
pub const GOLDILOCKS_P: u64 = 0xFFFF_FFFF_0000_0001;

/// `(p - 1) / 2 = 2^63 - 2^31`: the largest magnitude the signed embedding keeps injective.
pub const HALF_P: u64 = (GOLDILOCKS_P - 1) / 2;

/// The largest magnitude of any fixed-point value in zkmlops (equal to [`HALF_P`]): every value
/// the reference semantics produce is embeddable without wrapping.
pub const MAX_ABS: i64 = HALF_P.cast_signed();

/// Embed a signed integer in Goldilocks (negatives as `p - |x|`).
///
/// # Errors
/// [`FieldError::OutOfEmbeddingRange`] when `|x| > HALF_P`, where two integers would share an
/// image.
pub fn embed(x: i64) -> Result<Goldilocks, FieldError> {
    embed_i128(i128::from(x))
}

/// [`embed`] for `i128` inputs (accumulators of products).
///
/// # Errors
/// [`FieldError::OutOfEmbeddingRange`] when `|x| > HALF_P`.
pub fn embed_i128(x: i128) -> Result<Goldilocks, FieldError> {
    let mag = x.unsigned_abs();
    if mag > u128::from(HALF_P) {
        return Err(FieldError::OutOfEmbeddingRange {
            value: x,
            bound: u128::from(HALF_P),
        });
    }
    // `mag <= HALF_P < 2^63` so the narrowing is exact.
    let mag = u64::try_from(mag).map_err(|_| FieldError::OutOfEmbeddingRange {
        value: x,
        bound: u128::from(HALF_P),
    })?;
    let f = Goldilocks::from_u64(mag);
    Ok(if x < 0 { -f } else { f })
}

/// The signed representative in `[-HALF_P, HALF_P]` of a field element.
#[must_use]
pub fn unembed(f: Goldilocks) -> i64 {
    let v = f.as_canonical_u64();
    if v <= HALF_P {
        // v <= 2^63 - 2^31: fits.
        i64::try_from(v).unwrap_or(i64::MAX)
    } else {
        // p - v <= HALF_P: fits.
        -i64::try_from(GOLDILOCKS_P - v).unwrap_or(i64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_field::PrimeField64;
    use proptest::prelude::*;

    #[test]
    fn edges() {
        for x in [0i64, 1, -1, 1 << 62, -(1 << 62), MAX_ABS, -MAX_ABS] {
            assert_eq!(unembed(embed(x).unwrap()), x, "{x}");
        }
        assert_eq!(embed(-1).unwrap().as_canonical_u64(), GOLDILOCKS_P - 1);
        assert_eq!(unembed(Goldilocks::from_u64(GOLDILOCKS_P - 1)), -1);
        assert_eq!(unembed(Goldilocks::from_u64(HALF_P)), MAX_ABS);
        assert_eq!(unembed(Goldilocks::from_u64(HALF_P + 1)), -MAX_ABS);
    }

    #[test]
    fn outside_injective_range_rejected() {
        for x in [MAX_ABS + 1, -MAX_ABS - 1, i64::MAX, i64::MIN] {
            assert_eq!(
                embed(x),
                Err(FieldError::OutOfEmbeddingRange {
                    value: i128::from(x),
                    bound: u128::from(HALF_P)
                })
            );
        }
        assert!(embed_i128(i128::MIN).is_err());
    }

    proptest! {
        #[test]
        fn round_trip(x in -MAX_ABS..=MAX_ABS) {
            prop_assert_eq!(unembed(embed(x).unwrap()), x);
        }

        #[test]
        fn homomorphic(a in -(1i64 << 30)..(1 << 30), b in -(1i64 << 30)..(1 << 30)) {
            let (fa, fb) = (embed(a).unwrap(), embed(b).unwrap());
            prop_assert_eq!(unembed(fa + fb), a + b);
            prop_assert_eq!(unembed(fa * fb), a * b);
            prop_assert_eq!(unembed(fa - fb), a - b);
        }

        #[test]
        fn every_element_has_a_representative(v in 0..GOLDILOCKS_P) {
            let f = Goldilocks::from_u64(v);
            prop_assert_eq!(embed(unembed(f)).unwrap(), f);
        }
    }
}
