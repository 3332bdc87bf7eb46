//! The versioned proof envelope and its canonical binary and JSON encodings.

use serde::{Deserialize, Serialize};

use crate::{EnvelopeError, Statement};

/// Magic bytes that open a binary envelope.
pub const ENVELOPE_MAGIC: [u8; 4] = *b"ZKMV";
/// The envelope format version this crate writes and reads.
pub const ENVELOPE_VERSION: u16 = 1;
/// Largest security level an envelope may claim; anything above is a malformed claim.
pub const MAX_CLAIMED_BITS: u16 = 512;

/// Which proving backend made a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BackendId {
    /// Plonky3 batch-STARK with FRI (`zkmlops-fri`), the default.
    Fri,
    /// plonky2 (`zkmlops-plonky2`).
    Plonky2,
    /// halo2 with IPA over Pasta (`zkmlops-halo2`).
    Halo2,
}

impl std::fmt::Display for BackendId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BackendId::Fri => "fri",
            BackendId::Plonky2 => "plonky2",
            BackendId::Halo2 => "halo2",
        })
    }
}

/// The field a proof's arithmetic lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum FieldId {
    /// Goldilocks, `p = 2^64 - 2^32 + 1`.
    Goldilocks,
    /// The scalar field of the Pallas curve (halo2's Pasta cycle).
    PallasScalar,
}

/// The hash behind commitments and the Fiat–Shamir transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum HashId {
    /// Keccak-256.
    Keccak256,
    /// Poseidon2 over Goldilocks.
    Poseidon2Goldilocks,
    /// Poseidon (plonky2's default).
    PoseidonGoldilocks,
    /// Blake2b (halo2's transcript).
    Blake2b,
}

/// FRI parameters, as carried by FRI-based backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FriParams {
    /// log2 of the Reed–Solomon blowup.
    pub log_blowup: u8,
    /// Number of FRI queries.
    pub num_queries: u16,
    /// Proof-of-work bits before the queries.
    pub query_pow_bits: u8,
    /// Proof-of-work bits before the folding challenges.
    pub commit_pow_bits: u8,
    /// log2 of the final polynomial's length.
    pub log_final_poly_len: u8,
    /// log2 of the largest folding arity.
    pub max_log_arity: u8,
}

/// Everything a verifier needs to know about how a proof was made, and what it is worth.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BackendParams {
    /// Name of the backend's named configuration (e.g. `keccak`, `poseidon2-zk`).
    pub preset: String,
    /// Base field.
    pub field: FieldId,
    /// Degree of the extension field that challenges are drawn from.
    pub extension_degree: u8,
    /// Hash for commitments and transcript.
    pub hash: HashId,
    /// FRI parameters (FRI-based backends only).
    pub fri: Option<FriParams>,
    /// Whether the proof hides the witness (statistical zero knowledge).
    pub zero_knowledge: bool,
    /// Whether soundness rests on hash functions only.
    pub post_quantum: bool,
    /// Conjectured security in bits, computed from the parameters by the backend.
    pub conjectured_security_bits: u16,
    /// Provable security in bits, where the backend can compute it.
    pub proven_security_bits: Option<u16>,
}

/// A proof with everything needed to check it: format version, backend, parameters, the
/// statement and the backend's proof bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ProofEnvelope {
    /// Format version ([`ENVELOPE_VERSION`]).
    pub version: u16,
    /// The backend that made the proof.
    pub backend: BackendId,
    /// How it was made.
    pub params: BackendParams,
    /// What it proves.
    pub statement: Statement,
    /// The backend's proof (hex in JSON).
    #[serde(with = "crate::hexbytes::vec")]
    pub proof: Vec<u8>,
}

impl ProofEnvelope {
    /// Checks that need nothing but the envelope: supported version, a sane security claim,
    /// FRI parameters present exactly for FRI-based backends, a well-formed statement.
    ///
    /// # Errors
    /// [`EnvelopeError::UnsupportedVersion`] or [`EnvelopeError::Invalid`].
    pub fn validate(&self) -> Result<(), EnvelopeError> {
        if self.version != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                found: self.version,
                supported: ENVELOPE_VERSION,
            });
        }
        let p = &self.params;
        if p.conjectured_security_bits > MAX_CLAIMED_BITS
            || p.proven_security_bits
                .is_some_and(|b| b > p.conjectured_security_bits)
        {
            return Err(EnvelopeError::Invalid {
                what: "security bits",
            });
        }
        let fri_based = matches!(self.backend, BackendId::Fri | BackendId::Plonky2);
        if fri_based != p.fri.is_some() {
            return Err(EnvelopeError::Invalid {
                what: "FRI parameters",
            });
        }
        if p.post_quantum && !fri_based {
            return Err(EnvelopeError::Invalid {
                what: "post-quantum claim",
            });
        }
        if p.extension_degree == 0 {
            return Err(EnvelopeError::Invalid {
                what: "extension degree",
            });
        }
        self.statement.validate().map_err(EnvelopeError::Statement)
    }

    /// The canonical binary encoding: [`ENVELOPE_MAGIC`], the version (u16 LE), then the
    /// postcard encoding of the envelope. Equal envelopes give equal bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = ENVELOPE_MAGIC.to_vec();
        out.extend_from_slice(&self.version.to_le_bytes());
        // Serialising plain data into a Vec cannot fail.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// Decode a binary envelope: checks the magic and version, decodes, rejects trailing
    /// bytes, validates ([`ProofEnvelope::validate`]) and rejects any encoding that is not the
    /// canonical one. Never panics, whatever the bytes.
    ///
    /// # Errors
    /// An [`EnvelopeError`] saying which check failed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let rest = bytes
            .strip_prefix(&ENVELOPE_MAGIC)
            .ok_or(EnvelopeError::Magic)?;
        let (ver, body) = rest
            .split_first_chunk::<2>()
            .ok_or(EnvelopeError::Truncated)?;
        let ver = u16::from_le_bytes(*ver);
        if ver != ENVELOPE_VERSION {
            return Err(EnvelopeError::UnsupportedVersion {
                found: ver,
                supported: ENVELOPE_VERSION,
            });
        }
        let (env, tail): (ProofEnvelope, &[u8]) =
            postcard::take_from_bytes(body).map_err(|e| match e {
                postcard::Error::DeserializeUnexpectedEnd => EnvelopeError::Truncated,
                _ => EnvelopeError::Body,
            })?;
        if !tail.is_empty() {
            return Err(EnvelopeError::TrailingBytes { count: tail.len() });
        }
        if env.version != ver {
            return Err(EnvelopeError::Invalid {
                what: "version field",
            });
        }
        env.validate()?;
        if env.to_bytes() != bytes {
            return Err(EnvelopeError::NonCanonical);
        }
        Ok(env)
    }

    /// Pretty JSON for people and scripts (proof bytes and digests as hex).
    #[must_use]
    pub fn to_json(&self) -> String {
        // Plain data with string keys: serialisation cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parse and validate JSON written by [`ProofEnvelope::to_json`].
    ///
    /// # Errors
    /// [`EnvelopeError::Json`] for malformed JSON, or a validation error.
    pub fn from_json(s: &str) -> Result<Self, EnvelopeError> {
        let env: ProofEnvelope = serde_json::from_str(s).map_err(|e| EnvelopeError::Json {
            line: e.line(),
            column: e.column(),
        })?;
        env.validate()?;
        Ok(env)
    }
}
