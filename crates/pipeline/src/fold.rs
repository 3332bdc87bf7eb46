//! The whole chain in one proof: every stage proof of a manifest folded into one aggregate by
//! a backend that aggregates (plonky2), and the audit of a manifest against that aggregate.
//!
//! The stage files still carry the claims (their figures and commitments, and their
//! envelopes' statements); the aggregate proves that every one of those statements holds for
//! its Program. Auditing runs every stage's own checks with a verifier that answers from the
//! verified aggregate: a stage's envelope is accepted only when its statement and parameters
//! are exactly a member's and its Program (rebuilt from the stage file, as always) has that
//! member's digest. The links are then checked as in [`crate::audit`].

use std::path::Path;
use std::sync::Mutex;

use zkmlops_proof::{
    AggregateEnvelope, AggregateInput, Backend, BackendId, MemberLinks, PresetInfo, ProofEnvelope,
    ProveError, Registry, StageTag, VerifiedStatement, VerifyError, VerifyPolicy,
};
use zkmlops_tensor::{Program, Witness};

use crate::audit::{Audit, Resolver, audit_with};
use crate::{Manifest, PipelineError};

/// The verifier the stages' checks call instead of a backend: in the first pass it accepts
/// every envelope as claimed and remembers the (Program, envelope) it was asked about; in the
/// second it answers from a verified aggregate.
enum StageVerifier {
    Record(Mutex<Vec<(Program, ProofEnvelope)>>),
    Aggregate {
        id: BackendId,
        members: Vec<(zkmlops_tensor::ProgramDigest, VerifiedStatement)>,
    },
}

impl Backend for StageVerifier {
    fn id(&self) -> BackendId {
        match self {
            StageVerifier::Record(_) => BackendId::new("recorder"),
            StageVerifier::Aggregate { id, .. } => id.clone(),
        }
    }
    fn description(&self) -> String {
        "the stage proofs of a pipeline manifest, checked against one aggregate".into()
    }
    fn presets(&self) -> Vec<PresetInfo> {
        Vec::new()
    }
    fn check(&self, _: &Program, _: &Witness, preset: &str) -> Result<(), ProveError> {
        Err(ProveError::UnknownPreset {
            backend: self.id(),
            preset: preset.into(),
            known: Vec::new(),
        })
    }
    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        _: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        self.check(program, witness, preset)?;
        Err(ProveError::UnknownPreset {
            backend: self.id(),
            preset: preset.into(),
            known: Vec::new(),
        })
    }
    fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        match self {
            StageVerifier::Record(seen) => {
                if let Ok(mut seen) = seen.lock() {
                    seen.push((program.clone(), envelope.clone()));
                }
                Ok(VerifiedStatement {
                    backend: envelope.backend.clone(),
                    params: envelope.params.clone(),
                    statement: envelope.statement.clone(),
                })
            }
            StageVerifier::Aggregate { members, .. } => {
                let digest = program.digest();
                let member = members
                    .iter()
                    .find(|(d, v)| {
                        *d == digest
                            && v.statement == envelope.statement
                            && v.params == envelope.params
                            && v.backend == envelope.backend
                    })
                    .ok_or(VerifyError::Aggregate(
                        zkmlops_proof::AggregateError::NotAMember {
                            stage: envelope.statement.stage,
                        },
                    ))?;
                policy.check(envelope)?;
                Ok(member.1.clone())
            }
        }
    }
}

impl Resolver for StageVerifier {
    fn backend(&self, _: &str) -> Result<&dyn Backend, String> {
        Ok(self)
    }
}

/// Every (Program, envelope) the stages of `manifest` verify, in manifest order (a training
/// run contributes one per segment).
fn collect(manifest: &Manifest, base: &Path) -> (Vec<(Program, ProofEnvelope)>, Audit) {
    let recorder = StageVerifier::Record(Mutex::new(Vec::new()));
    let a = audit_with(manifest, base, &recorder, &VerifyPolicy::default());
    let seen = match recorder {
        StageVerifier::Record(seen) => seen.into_inner().unwrap_or_default(),
        StageVerifier::Aggregate { .. } => Vec::new(),
    };
    (seen, a)
}

/// Fold every stage proof of `manifest` into one aggregate with `backend` (every stage must
/// have been proved by it, a training run segment by segment).
///
/// # Errors
/// [`PipelineError::Aggregate`]: a stage whose file cannot be read or is already aggregated,
/// a proof of another backend, or the backend's refusal.
pub fn aggregate(
    manifest: &Manifest,
    base: &Path,
    backend: &dyn Backend,
) -> Result<AggregateEnvelope, PipelineError> {
    let (seen, first) = collect(manifest, base);
    if let Some(s) = first.stages.iter().find(|s| !s.verified) {
        let error = s.error.as_deref().unwrap_or("cannot be read");
        return Err(PipelineError::Aggregate {
            what: format!(
                "stage `{}`: {error}{}",
                s.name,
                if error.contains("aggregate") {
                    " (fold a training run with the rest: prove it without --aggregate)"
                } else {
                    ""
                }
            ),
        });
    }
    if let Some((_, env)) = seen.iter().find(|(_, e)| e.backend != backend.id()) {
        return Err(PipelineError::Aggregate {
            what: format!(
                "a {:?} proof was made by the {} backend; prove every stage with --backend {}",
                env.statement.stage,
                env.backend,
                backend.id()
            ),
        });
    }
    let inputs: Vec<AggregateInput<'_>> = seen
        .iter()
        .map(|(program, envelope)| AggregateInput {
            program,
            envelope,
            links: MemberLinks::default(),
        })
        .collect();
    backend
        .aggregate(&inputs)
        .map_err(|e| PipelineError::Aggregate {
            what: e.to_string(),
        })
}

/// Audit `manifest` against `aggregate`: the aggregate verified once (with the backend that
/// made it, from `registry`), then every stage's checks answered from its members, then the
/// links. A stage whose envelope is not a member fails by name, like a stage that does not
/// verify.
#[must_use]
pub fn audit_aggregated(
    manifest: &Manifest,
    base: &Path,
    registry: &Registry,
    aggregate: &AggregateEnvelope,
    policy: &VerifyPolicy,
) -> Audit {
    let (seen, first) = collect(manifest, base);
    let failed = |why: String| {
        let mut a = first.clone();
        for s in &mut a.stages {
            s.verified = false;
            s.error = Some(why.clone());
        }
        a.verified = false;
        a
    };
    // The members' Programs in member order, from the stages' own files.
    let mut programs: Vec<&Program> = Vec::with_capacity(aggregate.members.len());
    for (i, m) in aggregate.members.iter().enumerate() {
        match seen
            .iter()
            .find(|(_, e)| e.statement == m.statement && e.params == m.params)
        {
            Some((p, _)) => programs.push(p),
            None => {
                return failed(format!(
                    "aggregate member {i} ({:?}) is no stage's proof in this manifest",
                    m.statement.stage
                ));
            }
        }
    }
    let verified = match registry
        .get(aggregate.backend.as_str())
        .map_err(|e| e.to_string())
        .and_then(|b| {
            b.verify_aggregate(&programs, aggregate, policy)
                .map_err(|e| e.to_string())
        }) {
        Ok(v) => v,
        Err(e) => return failed(format!("the aggregate proof does not verify: {e}")),
    };
    let answers = StageVerifier::Aggregate {
        id: aggregate.backend.clone(),
        members: programs.iter().map(|p| p.digest()).zip(verified).collect(),
    };
    audit_with(manifest, base, &answers, policy)
}
