//! Open identifiers: backends, fields, hashes and commitment schemes are named by short strings,
//! so a new backend crate names itself (and what it uses) without editing this crate.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// Longest identifier accepted, in bytes.
pub const MAX_ID_LEN: usize = 48;

/// Whether `s` is a well-formed identifier: 1 to [`MAX_ID_LEN`] bytes of lowercase ASCII
/// letters, digits, `-`, `_`, `.` and `/`, starting with a letter.
#[must_use]
pub fn is_valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b'/')
        })
}

macro_rules! open_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// Compared by its text; serialised as a string. Well-formedness
        /// ([`is_valid_id`]) is checked when an envelope is validated.
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Cow<'static, str>);

        impl $name {
            /// An identifier from a static string (for constants).
            #[must_use]
            pub const fn new_static(s: &'static str) -> Self {
                $name(Cow::Borrowed(s))
            }

            /// An identifier from any string.
            #[must_use]
            pub fn new(s: impl Into<String>) -> Self {
                $name(Cow::Owned(s.into()))
            }

            /// Its text.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// Whether it is well-formed ([`is_valid_id`]).
            #[must_use]
            pub fn is_valid(&self) -> bool {
                is_valid_id(&self.0)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

open_id!(
    /// Which proving backend made a proof (`fri`, `plonky2`, `halo2`, or a third party's).
    BackendId
);
open_id!(
    /// The field a proof's arithmetic lives in.
    FieldId
);
open_id!(
    /// The hash behind a proof's commitments and Fiat–Shamir transcript.
    HashId
);
open_id!(
    /// The commitment scheme of a statement's committed tensors. Commitments of different
    /// schemes are never compared: a statement names its scheme, and every check that links
    /// two statements compares the scheme as well as the digest.
    SchemeId
);

impl BackendId {
    /// Plonky3 batch-STARK with FRI (`zkmlops-fri`), the default backend.
    pub const FRI: BackendId = BackendId::new_static("fri");
}

impl FieldId {
    /// Goldilocks, `p = 2^64 - 2^32 + 1`.
    pub const GOLDILOCKS: FieldId = FieldId::new_static("goldilocks");
    /// The scalar field of the Pallas curve (the Pasta cycle).
    pub const PALLAS_SCALAR: FieldId = FieldId::new_static("pallas-scalar");
    /// The scalar field of the Vesta curve, which is the Pallas base field: halo2's circuit
    /// field when it commits with Vesta points (`EqAffine`).
    pub const VESTA_SCALAR: FieldId = FieldId::new_static("vesta-scalar");
}

impl HashId {
    /// Keccak-256.
    pub const KECCAK256: HashId = HashId::new_static("keccak256");
    /// Poseidon2 over Goldilocks.
    pub const POSEIDON2_GOLDILOCKS: HashId = HashId::new_static("poseidon2-goldilocks");
    /// Poseidon over Goldilocks (plonky2's hash).
    pub const POSEIDON_GOLDILOCKS: HashId = HashId::new_static("poseidon-goldilocks");
    /// Blake2b (halo2's transcript).
    pub const BLAKE2B: HashId = HashId::new_static("blake2b");
}

impl SchemeId {
    /// `zkmlops-commit`'s salted Poseidon2 sponge over Goldilocks (version 2: a model's
    /// narrow inputs packed several to a field element; version 3: tensors declared packed
    /// in lineage groups too): the lineage commitment every Goldilocks backend proves
    /// in-circuit.
    pub const POSEIDON2_GOLDILOCKS_SPONGE: SchemeId =
        SchemeId::new_static("poseidon2-goldilocks-sponge/v3");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_compared_by_text_and_validated() {
        assert_eq!(BackendId::FRI, BackendId::new("fri"));
        assert_eq!(BackendId::FRI, "fri");
        assert!(BackendId::FRI.is_valid());
        assert!(SchemeId::POSEIDON2_GOLDILOCKS_SPONGE.is_valid());
        for bad in [
            "",
            "Fri",
            "9fri",
            "f ri",
            "fri\n",
            &"x".repeat(MAX_ID_LEN + 1),
        ] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
        let json = serde_json::to_string(&BackendId::FRI).unwrap();
        assert_eq!(json, "\"fri\"");
        assert_eq!(
            serde_json::from_str::<BackendId>(&json).unwrap(),
            BackendId::FRI
        );
    }
}
