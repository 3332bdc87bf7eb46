use thiserror::Error;
use zkmlops_proof::ProveError;

/// Which check of the Plonky3 verifier failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The proof's shape (widths, heights, opened values) does not fit the AIRs.
    Shape,
    /// The FRI opening argument (Merkle paths, folding, proof of work) failed.
    Opening,
    /// The constraints do not hold at the out-of-domain point.
    OutOfDomain,
    /// The LogUp buses do not balance (a read with no matching send, a wrong multiplicity).
    Lookup,
    /// The transcript (proof-of-work witness, sampled point) is inconsistent.
    Transcript,
    /// Another verifier check.
    Other,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rejection::Shape => "proof shape does not match the program's AIRs",
            Rejection::Opening => "FRI opening argument failed",
            Rejection::OutOfDomain => "constraints do not hold at the out-of-domain point",
            Rejection::Lookup => "tensor/range buses do not balance",
            Rejection::Transcript => "transcript check failed",
            Rejection::Other => "verifier check failed",
        })
    }
}

/// Errors specific to the FRI backend (wrapped in `ProveError` / `VerifyError` at the trait
/// boundary).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum FriError {
    /// A proving error of the backend-independent kind (unsupported op, value limit, ...).
    #[error(transparent)]
    Prove(ProveError),
    /// A preset name this build does not know.
    #[error("unknown FRI preset")]
    UnknownPreset,
    /// The operating system's random source failed (needed by the hiding presets).
    #[error("the operating system's random source failed")]
    Entropy,
    /// The statement lacks the values of a public tensor.
    #[error("the statement lacks a public tensor of the program")]
    MissingPublic,
    /// The statement's commitment is missing or not four canonical field elements.
    #[error("the statement's commitment is missing or malformed")]
    Commitment,
    /// The Program has nothing to prove.
    #[error("the program has no tensors")]
    EmptyProgram,
    /// The backend proof bytes do not decode.
    #[error("backend proof bytes do not decode")]
    Decode,
    /// The proof bytes do not start with this build's arithmetization tag
    /// ([`crate::PROOF_FORMAT`]): an older (or newer) zkmlops made them, for other AIRs.
    #[error(
        "the proof was made in another proof format (tag {found:02x?}, this verifier reads {expected:02x?}: another arithmetization or hiding PCS): re-prove with this version"
    )]
    Format {
        /// The first bytes found.
        found: Vec<u8>,
        /// The tag this build writes.
        expected: [u8; 4],
    },
    /// Bytes follow the backend proof.
    #[error("{count} trailing bytes after the backend proof")]
    TrailingBytes {
        /// How many.
        count: usize,
    },
    /// The proof's instance count or heights differ from the Program's.
    #[error("instance {instance}: height 2^{found} where the program gives 2^{expected}")]
    Height {
        /// Instance index.
        instance: usize,
        /// Expected log2 height (extended).
        expected: usize,
        /// Found.
        found: usize,
    },
    /// Wrong number of instances.
    #[error("the proof has {found} instances, the program {expected}")]
    InstanceCount {
        /// Expected.
        expected: usize,
        /// Found.
        found: usize,
    },
    /// A Plonky3 verifier check failed.
    #[error("{0}")]
    Rejected(Rejection),
    /// The Plonky3 prover failed.
    #[error("the Plonky3 prover failed in phase {phase}")]
    Prover {
        /// The phase that failed.
        phase: &'static str,
    },
    /// Plonky3 panicked (a bug or an input it does not guard against); caught and reported.
    #[error("the Plonky3 {side} panicked")]
    Panicked {
        /// `prover` or `verifier`.
        side: &'static str,
    },
}
