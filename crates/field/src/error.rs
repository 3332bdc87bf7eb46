use thiserror::Error;

/// Errors of fixed-point encoding and field embedding.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum FieldError {
    /// A scale exponent above [`crate::MAX_SCALE_BITS`].
    #[error("scale 2^{bits} is too large: at most 2^{max} is supported")]
    ScaleTooLarge {
        /// Requested exponent.
        bits: u32,
        /// Largest supported exponent.
        max: u32,
    },
    /// A real value that is NaN or infinite cannot be encoded.
    #[error("cannot encode a non-finite value ({value}) in fixed point")]
    NotFinite {
        /// The offending value.
        value: f64,
    },
    /// A real value whose fixed-point integer exceeds [`crate::MAX_ABS`].
    #[error("{value} at scale 2^{scale_bits} does not fit the fixed-point range |q| <= {max}")]
    EncodeOverflow {
        /// The offending value.
        value: f64,
        /// Exponent of the scale it was encoded at.
        scale_bits: u32,
        /// Largest representable magnitude.
        max: u64,
    },
    /// An integer outside the range on which the signed embedding is injective.
    #[error("{value} is outside the injective embedding range |x| <= {bound}")]
    OutOfEmbeddingRange {
        /// The offending integer.
        value: i128,
        /// Largest embeddable magnitude.
        bound: u128,
    },
    /// A modulus that cannot host a signed embedding (it must be an odd number >= 3).
    #[error("modulus {modulus} is not usable (it must be odd and at least 3)")]
    BadModulus {
        /// The modulus, in decimal.
        modulus: String,
    },
    /// A residue not reduced below its modulus.
    #[error("residue {value} is not reduced below the modulus {modulus}")]
    NotReduced {
        /// The residue, in decimal.
        value: String,
        /// The modulus, in decimal.
        modulus: String,
    },
    /// A residue whose signed value does not fit in `i64`.
    #[error("residue {value} (mod {modulus}) has a signed value outside i64")]
    SignedOverflow {
        /// The residue, in decimal.
        value: String,
        /// The modulus, in decimal.
        modulus: String,
    },
}
