use thiserror::Error;
use zkmlops_tensor::{ProgramDigest, ProgramError, TensorId};

use crate::BackendId;

/// Why envelope bytes or JSON were rejected before any cryptography.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The bytes do not start with the envelope magic.
    #[error("not a zkmlops proof envelope (bad magic)")]
    Magic,
    /// The bytes end before the envelope does.
    #[error("truncated proof envelope")]
    Truncated,
    /// A version this build does not read.
    #[error(
        "envelope version {found} is not supported (this build reads version {supported}); a proof in another format must be re-proved with this version of zkmlops"
    )]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// The body is not a valid encoding (bad tag, bad length, invalid UTF-8, ...).
    #[error("malformed proof envelope body")]
    Body,
    /// Bytes follow a complete envelope.
    #[error("{count} trailing bytes after the proof envelope")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The bytes decode but are not the canonical encoding.
    #[error("non-canonical envelope encoding")]
    NonCanonical,
    /// A field whose value is inconsistent.
    #[error("invalid envelope: inconsistent {what}")]
    Invalid {
        /// Which field.
        what: &'static str,
    },
    /// A malformed statement.
    #[error("invalid statement: {0}")]
    Statement(StatementError),
    /// Malformed JSON.
    #[error("malformed envelope JSON at line {line}, column {column}")]
    Json {
        /// Line of the error.
        line: usize,
        /// Column of the error.
        column: usize,
    },
}

/// A statement that does not fit its Program, or is malformed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The statement is for another Program.
    #[error("statement is for program {found}, not {expected}")]
    ProgramDigest {
        /// Digest of the Program given to the verifier.
        expected: ProgramDigest,
        /// Digest in the statement.
        found: ProgramDigest,
    },
    /// Wrong number of public tensors.
    #[error("the program has {expected} public tensors, the statement lists {found}")]
    PublicCount {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// A public tensor whose id, shape or scale differs from the Program's declaration.
    #[error("public tensor {id:?} does not match the program's declaration")]
    PublicDeclaration {
        /// Its id.
        id: TensorId,
    },
    /// A public tensor with the wrong number of values.
    #[error("public tensor {id:?} needs {expected} values, has {found}")]
    PublicLength {
        /// Its id.
        id: TensorId,
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// A public value outside the fixed-point range.
    #[error("public tensor {id:?} value {index} is outside the fixed-point range")]
    PublicOutOfRange {
        /// Its id.
        id: TensorId,
        /// Flat index.
        index: usize,
    },
    /// A public input value outside the bound its Program declares for it.
    #[error("public input {id:?} value {index} is outside its declared {bits}-bit bound")]
    PublicOutOfBound {
        /// Its id.
        id: TensorId,
        /// Flat index.
        index: usize,
        /// The declared width.
        bits: u8,
    },
    /// Entries not in strictly increasing id order.
    #[error("statement entries must be in strictly increasing id order (at {id:?})")]
    Order {
        /// The first id out of order.
        id: TensorId,
    },
    /// A statement lists one commitment per commitment group of the Program, each under its
    /// group's first tensor, in increasing order of that id.
    #[error(
        "the program has {expected} commitment groups (the first for tensor {first:?}); the statement lists {found} commitments, or not under those ids"
    )]
    Commitments {
        /// Commitments the Program needs (one per group).
        expected: usize,
        /// The first group's first tensor, if any.
        first: Option<TensorId>,
        /// Commitments listed.
        found: usize,
    },
    /// A commitment scheme missing while commitments are listed, present without them, or
    /// malformed.
    #[error("the statement's commitment scheme must be named exactly when it lists commitments")]
    Scheme,
    /// The witness lacks a tensor the statement needs.
    #[error("the witness has no tensor {id:?}")]
    MissingTensor {
        /// Its id.
        id: TensorId,
    },
}

/// Why a verifier's policy refused a proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// Fewer security bits than required.
    #[error("proof claims {claimed} bits of security, the policy requires {required}")]
    SecurityBits {
        /// Claimed by the envelope (computed from its parameters).
        claimed: u16,
        /// Required.
        required: u16,
    },
    /// A backend the policy does not accept.
    #[error("backend {backend} is not accepted by the policy")]
    Backend {
        /// The backend.
        backend: BackendId,
    },
    /// The policy requires zero knowledge and the proof is not hiding.
    #[error("the policy requires a zero-knowledge proof")]
    ZeroKnowledge,
    /// The policy requires post-quantum security and the proof lacks it.
    #[error("the policy requires a post-quantum proof")]
    PostQuantum,
}

/// An error while proving.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The witness does not satisfy the Program (names the node or tensor).
    #[error("witness rejected before proving: {0}")]
    Witness(#[from] ProgramError),
    /// The statement could not be formed.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// A Program feature this backend cannot prove yet.
    #[error("the {backend} backend does not support {feature}")]
    Unsupported {
        /// The backend.
        backend: BackendId,
        /// What is missing, e.g. `committed tensors`.
        feature: &'static str,
    },
    /// An op the backend's preset declares unsupported (checked before proving).
    #[error(
        "the {backend} backend (preset {preset}) does not support op `{op}` (node producing `{tensor}`)"
    )]
    UnsupportedOp {
        /// The backend.
        backend: BackendId,
        /// The preset.
        preset: String,
        /// The op's name ([`zkmlops_tensor::Op::name`]).
        op: String,
        /// The tensor the node produces.
        tensor: String,
    },
    /// An aggregation the backend refuses (unsupported, unlinked members, mixed presets, ...).
    #[error(transparent)]
    Aggregate(#[from] crate::AggregateError),
    /// A preset name the backend does not have.
    #[error("the {backend} backend has no preset `{preset}` (it has: {})", known.join(", "))]
    UnknownPreset {
        /// The backend.
        backend: BackendId,
        /// The name asked for.
        preset: String,
        /// The presets it has.
        known: Vec<String>,
    },
    /// A value or size beyond what the backend's arithmetization allows.
    #[error(
        "the {backend} backend cannot prove tensor `{tensor}`: {what} is {value}, the limit is {limit}"
    )]
    Limit {
        /// The backend.
        backend: BackendId,
        /// The tensor concerned.
        tensor: String,
        /// What exceeded the limit.
        what: &'static str,
        /// The value.
        value: u128,
        /// The limit.
        limit: u128,
    },
    /// The underlying prover failed.
    #[error("the {backend} prover failed: {source}")]
    Backend {
        /// The backend.
        backend: BackendId,
        /// Its error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// An error while verifying. Shape and statement errors are told apart from cryptographic
/// failures ([`VerifyError::is_cryptographic`]).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The envelope is malformed.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// The verifier's policy refuses the proof.
    #[error("policy: {0}")]
    Policy(#[from] PolicyViolation),
    /// The envelope names a backend the verifier does not have (not registered).
    #[error("the envelope was made by the {found} backend, which this build does not have (it has: {})", known.join(", "))]
    UnknownBackend {
        /// The envelope's backend.
        found: BackendId,
        /// The backends registered.
        known: Vec<String>,
    },
    /// The envelope names another backend.
    #[error("the envelope was made by the {found} backend, not {expected}")]
    WrongBackend {
        /// This verifier's backend.
        expected: BackendId,
        /// The envelope's.
        found: BackendId,
    },
    /// The statement does not fit the Program.
    #[error("statement: {0}")]
    Statement(#[from] StatementError),
    /// The envelope's parameters are not ones this backend produces.
    #[error("the envelope's parameters do not match any {backend} preset")]
    Params {
        /// The backend.
        backend: BackendId,
    },
    /// An aggregate that does not fit its Programs or its links, or a backend that cannot
    /// verify aggregates.
    #[error(transparent)]
    Aggregate(#[from] crate::AggregateError),
    /// The backend's proof bytes are malformed (undecodable, wrong shape).
    #[error("malformed {backend} proof: {source}")]
    ProofShape {
        /// The backend.
        backend: BackendId,
        /// Its error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The proof is well-formed but a cryptographic check failed.
    #[error("{backend} proof rejected: {source}")]
    Rejected {
        /// The backend.
        backend: BackendId,
        /// Its error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl VerifyError {
    /// Whether a cryptographic check failed (as opposed to a malformed or mismatched input).
    #[must_use]
    pub fn is_cryptographic(&self) -> bool {
        matches!(self, VerifyError::Rejected { .. })
    }
}

/// A registry refused a backend or a name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// Two backends with one id.
    #[error("a backend with id `{id}` is already registered")]
    Duplicate {
        /// The id.
        id: BackendId,
    },
    /// A malformed backend id.
    #[error(
        "`{id}` is not a valid backend id (lowercase letters, digits, `-_./`, starting with a letter)"
    )]
    InvalidId {
        /// The id.
        id: BackendId,
    },
    /// No backend with this name.
    #[error("no backend named `{name}` (this build has: {})", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The backends registered.
        known: Vec<String>,
    },
}
