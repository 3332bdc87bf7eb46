//! The zkmlops proof format and the backend boundary. No prover lives here.
//!
//! - [`Statement`]: what a proof claims (Program digest, stage, public tensors, commitments).
//! - [`ProofEnvelope`]: format version, backend, parameters (hash, field, FRI parameters,
//!   security bits, zero knowledge, post-quantum), the statement and the backend's proof bytes;
//!   a canonical binary encoding that validates on decode and rejects trailing bytes, and JSON.
//! - [`ProvingBackend`]: the trait every backend implements, with [`VerifyPolicy`] (minimum
//!   bits, accepted backends) and typed [`ProveError`] / [`VerifyError`].
//!
//! ```
//! use zkmlops_proof::{ProofEnvelope, EnvelopeError};
//! // Decoding never panics: arbitrary bytes give a typed error.
//! assert_eq!(ProofEnvelope::from_bytes(b"not a proof"), Err(EnvelopeError::Magic));
//! ```

mod backend;
mod envelope;
mod error;
mod hexbytes;
mod statement;

pub use backend::{ProvingBackend, VerifiedStatement, VerifyPolicy, verify_preamble};
pub use envelope::{
    BackendId, BackendParams, ENVELOPE_MAGIC, ENVELOPE_VERSION, FieldId, FriParams, HashId,
    MAX_CLAIMED_BITS, ProofEnvelope,
};
pub use error::{EnvelopeError, PolicyViolation, ProveError, StatementError, VerifyError};
pub use statement::{Commitment, PublicTensor, StageTag, Statement, public_tensor_ids};
