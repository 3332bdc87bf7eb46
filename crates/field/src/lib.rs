//! Field arithmetic and fixed-point encoding for zkmlops.
//!
//! Every other zkmlops crate takes its numbers from here:
//!
//! - [`Goldilocks`] (`p = 2^64 - 2^32 + 1`) and its degree-2 extension [`GoldilocksExt2`], the
//!   default proving field, re-exported from Plonky3's `p3-goldilocks`;
//! - [`Scale`]: a power-of-two fixed-point scale; a real `r` is represented by the integer
//!   `round(r * 2^s)` (see [`Scale::encode`] for the rounding rule);
//! - the signed embedding [`embed`] / [`unembed`] between `i64` and Goldilocks, injective on
//!   `|x| <= (p - 1) / 2` ([`HALF_P`]) and checked, not assumed;
//! - a bridge to any other prime modulus through `num-bigint` ([`embed_mod`], [`unembed_mod`]),
//!   used by backends over other fields (e.g. halo2 over Pasta).
//!
//! ```
//! use zkmlops_field::{Goldilocks, Scale, embed, unembed};
//! use p3_field::PrimeCharacteristicRing;
//!
//! let s = Scale::new(8)?;
//! let q = s.encode(-1.5)?;
//! assert_eq!(q, -384);
//! assert_eq!(s.decode(q), -1.5);
//! let f = embed(q)?;
//! assert_eq!(f + Goldilocks::from_u64(384), Goldilocks::ZERO);
//! assert_eq!(unembed(f), q);
//! # Ok::<(), zkmlops_field::FieldError>(())
//! ```

mod bigint;
mod embed;
mod error;
mod scale;

pub use bigint::{embed_mod, goldilocks_modulus, unembed_mod};
pub use embed::{GOLDILOCKS_P, HALF_P, MAX_ABS, embed, embed_i128, unembed};
pub use error::FieldError;
pub use p3_field;
pub use p3_goldilocks::Goldilocks;
pub use scale::{MAX_SCALE_BITS, Scale};

/// The degree-2 binomial extension of Goldilocks, the challenge field of the default backend.
pub type GoldilocksExt2 = p3_field::extension::BinomialExtensionField<Goldilocks, 2>;
