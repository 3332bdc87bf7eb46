//! The boundary every proving backend implements.

use serde::{Deserialize, Serialize};
use zkmlops_tensor::{Program, Witness};

use crate::{
    BackendId, BackendParams, PolicyViolation, ProofEnvelope, ProveError, StageTag, Statement,
    VerifyError,
};

/// What a verifier demands of a proof beyond its validity (winterfell's `AcceptableOptions`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyPolicy {
    /// Minimum conjectured security, in bits.
    pub min_security_bits: u16,
    /// Backends accepted (all when empty).
    pub accepted_backends: Vec<BackendId>,
    /// Require a zero-knowledge (hiding) proof.
    pub require_zero_knowledge: bool,
    /// Require post-quantum (hash-only) security.
    pub require_post_quantum: bool,
}

impl Default for VerifyPolicy {
    /// 100 conjectured bits, any backend, zero knowledge and post-quantum not required.
    fn default() -> Self {
        VerifyPolicy {
            min_security_bits: 100,
            accepted_backends: Vec::new(),
            require_zero_knowledge: false,
            require_post_quantum: false,
        }
    }
}

impl VerifyPolicy {
    /// Check an envelope's claims against the policy.
    ///
    /// # Errors
    /// The first [`PolicyViolation`].
    pub fn check(&self, env: &ProofEnvelope) -> Result<(), PolicyViolation> {
        if !self.accepted_backends.is_empty() && !self.accepted_backends.contains(&env.backend) {
            return Err(PolicyViolation::Backend {
                backend: env.backend,
            });
        }
        let claimed = env.params.conjectured_security_bits;
        if claimed < self.min_security_bits {
            return Err(PolicyViolation::SecurityBits {
                claimed,
                required: self.min_security_bits,
            });
        }
        if self.require_zero_knowledge && !env.params.zero_knowledge {
            return Err(PolicyViolation::ZeroKnowledge);
        }
        if self.require_post_quantum && !env.params.post_quantum {
            return Err(PolicyViolation::PostQuantum);
        }
        Ok(())
    }
}

/// What a successful verification establishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedStatement {
    /// The backend that made the proof.
    pub backend: BackendId,
    /// Its parameters (security bits, zero knowledge, post-quantum status).
    pub params: BackendParams,
    /// The statement now known to hold.
    pub statement: Statement,
}

/// A proving backend: compile a Program to its arithmetization, prove a witness into an
/// envelope, verify an envelope.
///
/// Every implementation must:
/// - check the witness against the Program before proving ([`Program::check_witness`]) and
///   return a typed error rather than let the underlying prover panic;
/// - bind the whole statement (Program digest, stage, public tensors, commitments, parameters)
///   into its Fiat–Shamir transcript;
/// - in `verify`, run [`verify_preamble`] (or the same checks) before any cryptography, and
///   never panic on any envelope.
pub trait ProvingBackend {
    /// The backend's configuration (its named presets).
    type Config;

    /// Which backend this is.
    fn id(&self) -> BackendId;

    /// Prove that `witness` satisfies `program`, for the given stage.
    ///
    /// # Errors
    /// [`ProveError`] for a bad witness, an unsupported Program, or a prover failure.
    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        config: &Self::Config,
    ) -> Result<ProofEnvelope, ProveError>;

    /// Everything [`ProvingBackend::prove`] checks before it starts proving (the witness
    /// against the Program, supported ops, the arithmetization's value limits), without
    /// proving: calibration runs it on every sample to choose scales the backend can prove.
    ///
    /// The default checks the witness only; backends with limits override it.
    ///
    /// # Errors
    /// The [`ProveError`] that `prove` would return before proving.
    fn check(
        &self,
        program: &Program,
        witness: &Witness,
        config: &Self::Config,
    ) -> Result<(), ProveError> {
        let _ = config;
        program.check_witness(witness).map_err(ProveError::Witness)
    }

    /// Verify an envelope against `program` under `policy`.
    ///
    /// # Errors
    /// [`VerifyError`]: malformed envelope, policy refusal, statement mismatch, malformed or
    /// rejected proof.
    fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError>;
}

/// The checks every verifier runs before any cryptography: the envelope is valid, made by
/// `backend`, acceptable to `policy`, and its statement fits `program`.
///
/// # Errors
/// The first failing check, as a [`VerifyError`].
pub fn verify_preamble(
    backend: BackendId,
    program: &Program,
    env: &ProofEnvelope,
    policy: &VerifyPolicy,
) -> Result<(), VerifyError> {
    env.validate()?;
    if env.backend != backend {
        return Err(VerifyError::WrongBackend {
            expected: backend,
            found: env.backend,
        });
    }
    policy.check(env)?;
    env.statement.check_against(program)?;
    Ok(())
}
