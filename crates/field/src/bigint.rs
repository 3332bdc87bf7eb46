//! Signed embedding into an arbitrary prime modulus through `num-bigint`.
//!
//! The same rule as [`crate::embed`]: `x >= 0` maps to `x`, `x < 0` to `m - |x|`, injective on
//! `|x| <= (m - 1) / 2`. Backends over other fields (halo2 over Pasta, for instance) use this to
//! agree bit for bit with the Goldilocks backends on the same integers.

use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{ToPrimitive, Zero};

use crate::{FieldError, GOLDILOCKS_P};

/// The Goldilocks modulus as a [`BigUint`].
#[must_use]
pub fn goldilocks_modulus() -> BigUint {
    BigUint::from(GOLDILOCKS_P)
}

fn check_modulus(m: &BigUint) -> Result<BigUint, FieldError> {
    if m < &BigUint::from(3u8) || !m.bit(0) {
        return Err(FieldError::BadModulus {
            modulus: m.to_string(),
        });
    }
    Ok((m - 1u8) >> 1)
}

/// Embed `x` as a residue modulo `modulus`.
///
/// # Errors
/// [`FieldError::BadModulus`] for an even modulus or one below 3,
/// [`FieldError::OutOfEmbeddingRange`] when `|x| > (modulus - 1) / 2`.
pub fn embed_mod(x: i64, modulus: &BigUint) -> Result<BigUint, FieldError> {
    let half = check_modulus(modulus)?;
    let mag = BigUint::from(x.unsigned_abs());
    if mag > half {
        return Err(FieldError::OutOfEmbeddingRange {
            value: i128::from(x),
            bound: half.to_u128().unwrap_or(u128::MAX),
        });
    }
    Ok(if x < 0 { modulus - mag } else { mag })
}

/// The signed representative of a residue modulo `modulus`, as an `i64`.
///
/// # Errors
/// [`FieldError::BadModulus`], [`FieldError::NotReduced`] when `value >= modulus`, and
/// [`FieldError::SignedOverflow`] when the signed representative does not fit in `i64`.
pub fn unembed_mod(value: &BigUint, modulus: &BigUint) -> Result<i64, FieldError> {
    let half = check_modulus(modulus)?;
    if value >= modulus {
        return Err(FieldError::NotReduced {
            value: value.to_string(),
            modulus: modulus.to_string(),
        });
    }
    let signed = if value <= &half {
        BigInt::from_biguint(Sign::Plus, value.clone())
    } else {
        let mag = modulus - value;
        if mag.is_zero() {
            BigInt::zero()
        } else {
            BigInt::from_biguint(Sign::Minus, mag)
        }
    };
    signed.to_i64().ok_or_else(|| FieldError::SignedOverflow {
        value: value.to_string(),
        modulus: modulus.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MAX_ABS, embed, unembed};
    use p3_field::PrimeField64;
    use proptest::prelude::*;

    /// The scalar field of the Pallas curve (Vesta's base field), used by halo2's Pasta backend.
    fn pasta_fq() -> BigUint {
        BigUint::parse_bytes(
            b"40000000000000000000000000000000224698fc0994a8dd8c46eb2100000001",
            16,
        )
        .unwrap()
    }

    #[test]
    fn agrees_with_goldilocks_embedding() {
        let p = goldilocks_modulus();
        for x in [0, 1, -1, 1 << 62, -(1 << 62), MAX_ABS, -MAX_ABS] {
            let r = embed_mod(x, &p).unwrap();
            assert_eq!(r, BigUint::from(embed(x).unwrap().as_canonical_u64()));
            assert_eq!(unembed_mod(&r, &p).unwrap(), x);
        }
        assert!(embed_mod(MAX_ABS + 1, &p).is_err());
        assert_eq!(
            unembed_mod(&(p.clone() - 1u8), &p).unwrap(),
            unembed(-crate::Goldilocks::new(1))
        );
    }

    #[test]
    fn large_modulus_edges() {
        let q = pasta_fq();
        for x in [0, 1, -1, i64::MAX, i64::MIN, 1 << 62, -(1 << 62)] {
            assert_eq!(unembed_mod(&embed_mod(x, &q).unwrap(), &q).unwrap(), x);
        }
        assert!(matches!(
            unembed_mod(&q, &q),
            Err(FieldError::NotReduced { .. })
        ));
        let big = BigUint::from(1u8) << 100u32;
        assert!(matches!(
            unembed_mod(&big, &q),
            Err(FieldError::SignedOverflow { .. })
        ));
        assert!(matches!(
            unembed_mod(&(&q - &big), &q),
            Err(FieldError::SignedOverflow { .. })
        ));
    }

    #[test]
    fn bad_moduli_rejected() {
        for m in [0u64, 1, 2, 4, 1 << 40] {
            assert!(matches!(
                embed_mod(0, &BigUint::from(m)),
                Err(FieldError::BadModulus { .. })
            ));
        }
        // Smallest usable modulus: 3 embeds {-1, 0, 1}.
        let three = BigUint::from(3u8);
        assert_eq!(embed_mod(-1, &three).unwrap(), BigUint::from(2u8));
        assert!(embed_mod(2, &three).is_err());
    }

    proptest! {
        #[test]
        fn round_trip_pasta(x: i64) {
            let q = pasta_fq();
            prop_assert_eq!(unembed_mod(&embed_mod(x, &q).unwrap(), &q).unwrap(), x);
        }
    }
}
