//! The boundary every proving backend implements.

use serde::{Deserialize, Serialize};
use zkmlops_tensor::{Program, Witness};

use crate::{
    AggregateEnvelope, AggregateError, AggregateInput, BackendId, BackendParams, FieldId, HashId,
    PolicyViolation, ProofEnvelope, ProveError, RegistryError, SchemeId, StageTag, Statement,
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
                backend: env.backend.clone(),
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

/// Which ops a preset can prove, by feature name ([`op_features`]): an op's
/// [`zkmlops_tensor::Op::name`] (`lookup/<function>` for a table lookup, e.g. `lookup/sigmoid`),
/// plus a `name/variant` feature for variants a backend may lack (`conv2d/grouped`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpSupport {
    /// Every op and variant.
    All,
    /// Every op and variant except these features.
    AllBut(Vec<String>),
    /// Only these features.
    Only(Vec<String>),
}

impl OpSupport {
    /// Whether a feature with this name is supported.
    #[must_use]
    pub fn contains(&self, feature: &str) -> bool {
        match self {
            OpSupport::All => true,
            OpSupport::AllBut(names) => !names.iter().any(|n| n == feature),
            OpSupport::Only(names) => names.iter().any(|n| n == feature),
        }
    }

    /// The first feature of `op` not supported.
    #[must_use]
    pub fn missing(&self, op: &zkmlops_tensor::Op) -> Option<String> {
        op_features(op).into_iter().find(|f| !self.contains(f))
    }
}

/// The features an op needs: its name (`lookup/<function>` for a table lookup, so the `relu`
/// table is never mistaken for the `relu` op), and `conv2d/grouped` for a grouped convolution.
#[must_use]
pub fn op_features(op: &zkmlops_tensor::Op) -> Vec<String> {
    match op {
        zkmlops_tensor::Op::Lookup(spec) => vec![format!("lookup/{}", spec.function.name())],
        zkmlops_tensor::Op::Conv2d(p) if p.groups != 1 => {
            vec!["conv2d".into(), "conv2d/grouped".into()]
        }
        _ => vec![op.name().to_string()],
    }
}

/// What a backend's preset can do and what its proofs are worth, declared before proving.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The field of the arithmetic.
    pub field: FieldId,
    /// The hash of commitments and transcript.
    pub hash: HashId,
    /// The commitment scheme of committed tensors; `None` when the preset cannot prove
    /// Programs with committed tensors.
    pub commitment_scheme: Option<SchemeId>,
    /// No trusted setup: verifying needs only public, reproducible parameters.
    pub transparent: bool,
    /// Soundness rests on hash functions only.
    pub post_quantum: bool,
    /// Proofs hide the witness.
    pub zero_knowledge: bool,
    /// Proofs can be aggregated recursively into one proof.
    pub aggregation: bool,
    /// The ops it proves.
    pub ops: OpSupport,
}

/// What [`Backend::setup`] built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetupReport {
    /// For people: what was built and its size (e.g. `halo2 keys, 2^17 rows`).
    pub what: String,
    /// Rows of the circuit, a power of two (0 where the notion does not apply).
    pub rows: u64,
}

/// A backend's named preset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PresetInfo {
    /// The name (`--preset NAME`, and `params.preset` of its envelopes).
    pub name: String,
    /// One line for people.
    pub description: String,
    /// What it can do.
    pub capabilities: Capabilities,
}

/// A proving backend behind one object-safe boundary: stages, the CLI and third parties hold
/// `&dyn Backend` (or pick one from a [`Registry`]) and name presets by string.
///
/// Every implementation must:
/// - refuse, before proving, ops its preset does not support ([`check_supported`]) and a
///   witness that does not satisfy the Program ([`Program::check_witness`]), with typed errors
///   rather than a panic of the underlying prover;
/// - enforce inside the proof every bound its arithmetic assumes (declared input bounds, no
///   wrap-around): prover-side checks are a convenience, never the security argument;
/// - bind the whole statement (Program digest, stage, public tensors, commitment scheme and
///   commitments, parameters) into its Fiat–Shamir transcript;
/// - in `verify`, run [`verify_preamble`] (or the same checks) before any cryptography, check
///   that the envelope's parameters are exactly the ones its preset produces, and never panic
///   on any envelope.
///
/// `zkmlops-conformance` tests all of this for any backend in one line.
pub trait Backend: Send + Sync {
    /// Which backend this is (an identifier, [`crate::is_valid_id`]).
    fn id(&self) -> BackendId;

    /// One line for people: the proof system, field, commitment.
    fn description(&self) -> String;

    /// Every preset, the recommended ones first.
    fn presets(&self) -> Vec<PresetInfo>;

    /// The preset named `name`.
    ///
    /// # Errors
    /// [`ProveError::UnknownPreset`], listing the presets there are.
    fn preset(&self, name: &str) -> Result<PresetInfo, ProveError> {
        let presets = self.presets();
        let known = presets.iter().map(|p| p.name.clone()).collect();
        presets
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProveError::UnknownPreset {
                backend: self.id(),
                preset: name.to_string(),
                known,
            })
    }

    /// The preset to use for `program` when the user names none: the first preset whose
    /// zero-knowledge property is `zero_knowledge`, else the first preset.
    fn default_preset(&self, zero_knowledge: bool) -> String {
        let presets = self.presets();
        presets
            .iter()
            .find(|p| p.capabilities.zero_knowledge == zero_knowledge)
            .or(presets.first())
            .map(|p| p.name.clone())
            .unwrap_or_default()
    }

    /// Build what proving `program` needs from the Program alone — a circuit, proving and
    /// verifying keys, commitment parameters — and keep it for this process's later proofs of
    /// the same Program (a benchmark times it apart from `prove`, as EZKL's `setup` is timed
    /// apart from its `prove`). `None`: the backend has nothing to build ahead (its prover
    /// works from the Program directly); then `prove` does all the work.
    ///
    /// # Errors
    /// An unknown preset, an unsupported op, a Program the backend cannot build.
    fn setup(&self, program: &Program, preset: &str) -> Result<Option<SetupReport>, ProveError> {
        let _ = program;
        self.preset(preset)?;
        Ok(None)
    }

    /// Everything [`Backend::prove`] checks before it starts proving (preset, supported ops,
    /// the witness against the Program, the arithmetization's value limits), without proving:
    /// calibration runs it on every sample to choose scales the backend can prove.
    ///
    /// # Errors
    /// The [`ProveError`] that `prove` would return before proving.
    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError>;

    /// Prove that `witness` satisfies `program`, for the given stage, with the named preset.
    ///
    /// # Errors
    /// [`ProveError`] for an unknown preset, an unsupported op, a bad witness, a value beyond
    /// the backend's limits, or a prover failure.
    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError>;

    /// Verify an envelope against `program` under `policy` (the preset is read from the
    /// envelope).
    ///
    /// # Errors
    /// [`VerifyError`]: malformed envelope, another backend's envelope, policy refusal,
    /// statement mismatch, parameters no preset produces, malformed or rejected proof.
    fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError>;

    /// Fold member proofs (all made by this backend, with one preset) into one proof that
    /// every member verifies and that consecutive members link ([`crate::MemberLinks`]). Backends
    /// whose presets declare `aggregation` implement it; the default refuses.
    ///
    /// # Errors
    /// [`ProveError::Aggregate`] ([`AggregateError::Unsupported`] by default), or the error
    /// of a member that does not verify.
    fn aggregate(&self, members: &[AggregateInput<'_>]) -> Result<AggregateEnvelope, ProveError> {
        let _ = members;
        Err(AggregateError::Unsupported { backend: self.id() }.into())
    }

    /// Verify an aggregate against one Program per member; returns the members' verified
    /// statements, in order.
    ///
    /// # Errors
    /// [`VerifyError`]; [`AggregateError::Unsupported`] by default.
    fn verify_aggregate(
        &self,
        programs: &[&Program],
        aggregate: &AggregateEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<Vec<VerifiedStatement>, VerifyError> {
        let _ = (programs, aggregate, policy);
        Err(AggregateError::Unsupported { backend: self.id() }.into())
    }
}

impl std::fmt::Debug for dyn Backend + '_ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Backend({})", self.id())
    }
}

/// Refuse a Program with an op that `preset` does not declare, or with committed tensors when
/// it has no commitment scheme. Backends call this first in `check` and `prove`.
///
/// # Errors
/// [`ProveError::UnsupportedOp`] naming the op and the tensor its node produces, or
/// [`ProveError::Unsupported`] for committed tensors.
pub fn check_supported(
    backend: &BackendId,
    preset: &PresetInfo,
    program: &Program,
) -> Result<(), ProveError> {
    let caps = &preset.capabilities;
    for node in program.nodes() {
        if let Some(op) = caps.ops.missing(&node.op) {
            return Err(ProveError::UnsupportedOp {
                backend: backend.clone(),
                preset: preset.name.clone(),
                op,
                tensor: program
                    .tensors()
                    .get(node.output.index())
                    .map(|d| d.name.clone())
                    .unwrap_or_default(),
            });
        }
    }
    let committed = program
        .tensors()
        .iter()
        .any(|d| d.visibility.commitment_group().is_some());
    if committed && caps.commitment_scheme.is_none() {
        return Err(ProveError::Unsupported {
            backend: backend.clone(),
            feature: "committed tensors",
        });
    }
    Ok(())
}

/// The checks every verifier runs before any cryptography: the envelope is valid, made by
/// `backend`, acceptable to `policy`, and its statement fits `program`.
///
/// # Errors
/// The first failing check, as a [`VerifyError`].
pub fn verify_preamble(
    backend: &BackendId,
    program: &Program,
    env: &ProofEnvelope,
    policy: &VerifyPolicy,
) -> Result<(), VerifyError> {
    env.validate()?;
    if env.backend != *backend {
        return Err(VerifyError::WrongBackend {
            expected: backend.clone(),
            found: env.backend.clone(),
        });
    }
    policy.check(env)?;
    env.statement.check_against(program)?;
    Ok(())
}

/// The backends a build has, by id. The facade crate (`zkmlops::registry()`) fills one with
/// the backends compiled in; a third-party backend crate registers itself the same way.
///
/// ```
/// use zkmlops_proof::{Registry, RegistryError};
/// let registry = Registry::new();
/// assert!(matches!(registry.get("fri"), Err(RegistryError::Unknown { .. })));
/// ```
#[derive(Default)]
pub struct Registry {
    backends: Vec<Box<dyn Backend>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Registry::default()
    }

    /// Add a backend.
    ///
    /// # Errors
    /// [`RegistryError::InvalidId`] or [`RegistryError::Duplicate`].
    pub fn register(&mut self, backend: Box<dyn Backend>) -> Result<(), RegistryError> {
        let id = backend.id();
        if !id.is_valid() {
            return Err(RegistryError::InvalidId { id });
        }
        if self.backends.iter().any(|b| b.id() == id) {
            return Err(RegistryError::Duplicate { id });
        }
        self.backends.push(backend);
        Ok(())
    }

    /// The backend named `name`.
    ///
    /// # Errors
    /// [`RegistryError::Unknown`], listing the backends there are.
    pub fn get(&self, name: &str) -> Result<&dyn Backend, RegistryError> {
        self.backends
            .iter()
            .find(|b| b.id() == name)
            .map(AsRef::as_ref)
            .ok_or_else(|| RegistryError::Unknown {
                name: name.to_string(),
                known: self.ids().map(|i| i.to_string()).collect(),
            })
    }

    /// Every backend, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Backend> {
        self.backends.iter().map(AsRef::as_ref)
    }

    /// Every backend's id, in registration order.
    pub fn ids(&self) -> impl Iterator<Item = BackendId> + '_ {
        self.backends.iter().map(|b| b.id())
    }

    /// Verify an envelope with the backend it names.
    ///
    /// # Errors
    /// [`VerifyError::UnknownBackend`] when that backend is not registered, else the backend's
    /// [`Backend::verify`] errors.
    pub fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        let backend =
            self.get(envelope.backend.as_str())
                .map_err(|_| VerifyError::UnknownBackend {
                    found: envelope.backend.clone(),
                    known: self.ids().map(|i| i.to_string()).collect(),
                })?;
        backend.verify(program, envelope, policy)
    }
}
