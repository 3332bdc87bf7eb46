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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ProgramDigest(pub [u8; 32]);

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
