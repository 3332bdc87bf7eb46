//! Witnesses (every tensor's values) and Program digests.

use p3_keccak::Keccak256Hash;
use p3_symmetric::CryptographicHasher;
use serde::{Deserialize, Serialize};

use crate::{Tensor, TensorId};

/// The values of every tensor of a Program, indexed by [`TensorId`], as computed by
/// [`crate::Program::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Witness {
    values: Vec<Tensor>,
}

impl Witness {
    /// Wrap values indexed by tensor id (check them with [`crate::Program::check_witness`]).
    #[must_use]
    pub fn new(values: Vec<Tensor>) -> Self {
        Witness { values }
    }

    /// One tensor's values.
    #[must_use]
    pub fn get(&self, id: TensorId) -> Option<&Tensor> {
        self.values.get(id.index())
    }

    /// All values, indexed by tensor id.
    #[must_use]
    pub fn values(&self) -> &[Tensor] {
        &self.values
    }

    /// Mutable access, for tests that tamper with a witness.
    pub fn values_mut(&mut self) -> &mut [Tensor] {
        &mut self.values
    }
}

/// Domain separator of Program digests.
pub const PROGRAM_DIGEST_DOMAIN: &[u8] = b"zkmlops/program-digest/v1";

/// Keccak-256 of a Program's canonical encoding, prefixed by [`PROGRAM_DIGEST_DOMAIN`].
///
/// Serialised as 32 raw bytes in binary formats and as 64 lowercase hex digits in
/// human-readable ones (JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProgramDigest(pub [u8; 32]);

impl Serialize for ProgramDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for ProgramDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            Ok(ProgramDigest(<[u8; 32]>::deserialize(d)?))
        }
    }
}

/// A string that is not 64 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a program digest is 64 hex digits")]
pub struct ParseDigestError;

impl std::str::FromStr for ProgramDigest {
    type Err = ParseDigestError;
    fn from_str(s: &str) -> Result<Self, ParseDigestError> {
        if s.len() != 64
            || !s
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(ParseDigestError);
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| ParseDigestError)?;
        }
        Ok(ProgramDigest(out))
    }
}

impl ProgramDigest {
    /// The digest of an already-encoded Program.
    #[must_use]
    pub fn of_encoding(bytes: &[u8]) -> Self {
        ProgramDigest(Keccak256Hash.hash_iter_slices([PROGRAM_DIGEST_DOMAIN, bytes]))
    }

    /// The digest bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Display for ProgramDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}
