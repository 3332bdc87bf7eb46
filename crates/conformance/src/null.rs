//! A backend that proves nothing: the "other backend" of the foreign-envelope checks.

use zkmlops_proof::{
    Backend, BackendId, BackendParams, Capabilities, Commitment, ENVELOPE_VERSION, FieldId, HashId,
    OpSupport, PresetInfo, ProofEnvelope, ProtocolParams, ProveError, SchemeId, StageTag,
    Statement, VerifiedStatement, VerifyError, VerifyPolicy, check_supported, verify_preamble,
};
use zkmlops_tensor::{Program, TensorId, Witness};

/// A backend whose envelopes carry a statement and no proof, and whose verifier rejects every
/// envelope after the boundary's preamble. It exists so the suite has a second backend to
/// exchange envelopes with; never register it in a build people use.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullBackend;

impl NullBackend {
    /// Its id.
    pub const ID: BackendId = BackendId::new_static("null");

    fn info() -> PresetInfo {
        PresetInfo {
            name: "none".into(),
            description: "no proof at all".into(),
            capabilities: Capabilities {
                field: FieldId::new_static("none"),
                hash: HashId::new_static("none"),
                commitment_scheme: Some(SchemeId::new_static("none")),
                transparent: true,
                post_quantum: false,
                zero_knowledge: false,
                aggregation: false,
                ops: OpSupport::All,
            },
        }
    }

    pub(crate) fn params() -> BackendParams {
        BackendParams {
            preset: "none".into(),
            field: FieldId::new_static("none"),
            extension_degree: 1,
            hash: HashId::new_static("none"),
            protocol: ProtocolParams::Other {
                system: "none".into(),
                values: Vec::new(),
            },
            zero_knowledge: false,
            post_quantum: false,
            transparent: true,
            conjectured_security_bits: 0,
            proven_security_bits: Some(0),
        }
    }
}

/// The verifier's reason.
#[derive(Debug)]
struct ProvesNothing;

impl std::fmt::Display for ProvesNothing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the null backend proves nothing")
    }
}

impl std::error::Error for ProvesNothing {}

impl Backend for NullBackend {
    fn id(&self) -> BackendId {
        NullBackend::ID
    }

    fn description(&self) -> String {
        "proves nothing (the conformance suite's foreign backend)".into()
    }

    fn presets(&self) -> Vec<PresetInfo> {
        vec![NullBackend::info()]
    }

    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        let info = self.preset(preset)?;
        check_supported(&NullBackend::ID, &info, program)?;
        program.check_witness(witness).map_err(ProveError::Witness)
    }

    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        self.check(program, witness, preset)?;
        let mut statement = Statement::from_witness(program, witness, stage)?;
        // One all-zero "commitment" per group, under the group's first tensor.
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in program.tensors().iter().enumerate() {
            if let Some(g) = d.visibility.commitment_group()
                && seen.insert(g)
            {
                statement.commitments.push(Commitment {
                    id: TensorId(u32::try_from(i).unwrap_or(u32::MAX)),
                    digest: [0; 32],
                });
            }
        }
        statement.commitments.sort_by_key(|c| c.id);
        if !statement.commitments.is_empty() {
            statement.commitment_scheme = Some(SchemeId::new_static("none"));
        }
        Ok(ProofEnvelope {
            version: ENVELOPE_VERSION,
            backend: NullBackend::ID,
            params: NullBackend::params(),
            statement,
            proof: Vec::new(),
        })
    }

    fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        verify_preamble(&NullBackend::ID, program, envelope, policy)?;
        Err(VerifyError::Rejected {
            backend: NullBackend::ID,
            source: Box::new(ProvesNothing),
        })
    }
}
