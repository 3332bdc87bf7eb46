//! The zkmlops proof format and the backend boundary. No prover lives here.
//!
//! - [`Statement`]: what a proof claims (Program digest, stage, public tensors, commitments).
//! - [`ProofEnvelope`]: format version, backend, parameters (hash, field, FRI parameters,
//!   security bits, zero knowledge, post-quantum), the statement and the backend's proof bytes;
//!   a canonical binary encoding that validates on decode and rejects trailing bytes, and JSON.
//! - [`Backend`]: the object-safe trait every backend implements (presets named by string,
//!   declared [`Capabilities`]), with [`VerifyPolicy`] (minimum bits, accepted backends) and
//!   typed [`ProveError`] / [`VerifyError`]; a [`Registry`] of backends by id, which also
//!   verifies an envelope with the backend it names.
//! - Stage files ([`encode_stage_file`], [`decode_stage_file`]): the binary container (`ZKMS`)
//!   of the lifecycle stages' proof files.
//! - Open identifiers ([`BackendId`], [`FieldId`], [`HashId`], [`SchemeId`]): a new backend
//!   crate names itself without editing this crate.
//!
//! ```
//! use zkmlops_proof::{ProofEnvelope, EnvelopeError};
//! // Decoding never panics: arbitrary bytes give a typed error.
//! assert_eq!(ProofEnvelope::from_bytes(b"not a proof"), Err(EnvelopeError::Magic));
//! ```

mod aggregate;
mod backend;
mod envelope;
mod error;
mod hexbytes;
mod ids;
mod stage_file;
mod statement;

pub use aggregate::{
    AGGREGATE_MAGIC, AGGREGATE_VERSION, AggregateEnvelope, AggregateError, AggregateInput,
    AggregateMember, MemberLinks, check_links,
};
pub use backend::{
    Backend, Capabilities, OpSupport, PresetInfo, Registry, SetupReport, VerifiedStatement,
    VerifyPolicy, check_supported, op_features, verify_preamble,
};
pub use envelope::{
    BackendParams, ENVELOPE_MAGIC, ENVELOPE_VERSION, FriParams, IpaParams, MAX_CLAIMED_BITS,
    ProofEnvelope, ProtocolParams,
};
pub use error::{
    EnvelopeError, PolicyViolation, ProveError, RegistryError, StatementError, VerifyError,
};
pub use ids::{BackendId, FieldId, HashId, MAX_ID_LEN, SchemeId, is_valid_id};
pub use stage_file::{
    STAGE_FILE_MAGIC, STAGE_FILE_VERSION, StageFile, StageFileError, StageFileKind,
    decode_stage_file, encode_stage_file, is_stage_file, stage_file_kind, stage_path,
};
pub use statement::{Commitment, PublicTensor, StageTag, Statement, public_tensor_ids};
