//! The registry: ids are unique and well-formed, lookups name what exists, and verification
//! dispatches on the envelope's backend.
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_proof::*;
use zkmlops_tensor::{Program, ProgramBuilder, Tensor, Visibility, Witness};

/// A backend that "proves" by copying the statement and accepts its own envelopes after the
/// preamble: enough to test dispatch (never a real backend).
struct Echo(&'static str);

impl Backend for Echo {
    fn id(&self) -> BackendId {
        BackendId::new(self.0)
    }
    fn description(&self) -> String {
        "echo".into()
    }
    fn presets(&self) -> Vec<PresetInfo> {
        vec![PresetInfo {
            name: "plain".into(),
            description: "plain".into(),
            capabilities: Capabilities {
                field: FieldId::GOLDILOCKS,
                hash: HashId::KECCAK256,
                commitment_scheme: None,
                transparent: true,
                post_quantum: true,
                zero_knowledge: false,
                aggregation: false,
                ops: OpSupport::Only(vec!["add".into()]),
            },
        }]
    }
    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        check_supported(&self.id(), &self.preset(preset)?, program)?;
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
        Ok(ProofEnvelope {
            version: ENVELOPE_VERSION,
            backend: self.id(),
            params: BackendParams {
                preset: preset.into(),
                field: FieldId::GOLDILOCKS,
                extension_degree: 1,
                hash: HashId::KECCAK256,
                protocol: ProtocolParams::Other {
                    system: "echo".into(),
                    values: vec![],
                },
                zero_knowledge: false,
                post_quantum: true,
                transparent: true,
                conjectured_security_bits: 128,
                proven_security_bits: None,
            },
            statement: Statement::from_witness(program, witness, stage)?,
            proof: vec![],
        })
    }
    fn verify(
        &self,
        program: &Program,
        envelope: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        verify_preamble(&self.id(), program, envelope, policy)?;
        Ok(VerifiedStatement {
            backend: self.id(),
            params: envelope.params.clone(),
            statement: envelope.statement.clone(),
        })
    }
}

fn program(op: zkmlops_tensor::Op) -> (Program, Witness) {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], s, Visibility::Private);
    let y = b.input("y", &[2], s, Visibility::Private);
    let z = b.op("z", op, &[x, y]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let w = p
        .evaluate(&[Tensor::vector(vec![1, 2]), Tensor::vector(vec![3, 4])])
        .unwrap();
    (p, w)
}

#[test]
fn ids_are_unique_and_well_formed() {
    let mut r = Registry::new();
    r.register(Box::new(Echo("a"))).unwrap();
    r.register(Box::new(Echo("b-2"))).unwrap();
    assert!(matches!(
        r.register(Box::new(Echo("a"))),
        Err(RegistryError::Duplicate { id }) if id == "a"
    ));
    assert!(matches!(
        r.register(Box::new(Echo("Not Valid"))),
        Err(RegistryError::InvalidId { .. })
    ));
    assert_eq!(
        r.ids().map(|i| i.to_string()).collect::<Vec<_>>(),
        ["a", "b-2"]
    );
    let err = r.get("c").map(|_| ()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "no backend named `c` (this build has: a, b-2)"
    );
}

#[test]
fn verification_dispatches_on_the_envelope_backend() {
    let mut r = Registry::new();
    r.register(Box::new(Echo("a"))).unwrap();
    r.register(Box::new(Echo("b"))).unwrap();
    let (p, w) = program(zkmlops_tensor::Op::Add);
    let env = r
        .get("b")
        .unwrap()
        .prove(&p, &w, StageTag::Generic, "plain")
        .unwrap();
    let v = r.verify(&p, &env, &VerifyPolicy::default()).unwrap();
    assert_eq!(v.backend, "b");
    // Given to the other backend directly: foreign.
    assert!(matches!(
        r.get("a")
            .unwrap()
            .verify(&p, &env, &VerifyPolicy::default()),
        Err(VerifyError::WrongBackend { .. })
    ));
    // A backend the registry lacks is named, with what it has.
    let mut other = env.clone();
    other.backend = BackendId::new("zzz");
    let err = r.verify(&p, &other, &VerifyPolicy::default()).unwrap_err();
    assert!(matches!(&err, VerifyError::UnknownBackend { found, .. } if found == "zzz"));
    assert!(err.to_string().contains("it has: a, b"), "{err}");
}

#[test]
fn presets_and_unsupported_ops_are_named() {
    let echo = Echo("a");
    let (p, w) = program(zkmlops_tensor::Op::Add);
    let err = echo.prove(&p, &w, StageTag::Generic, "fancy").unwrap_err();
    assert!(matches!(&err, ProveError::UnknownPreset { known, .. } if known == &["plain"]));
    assert_eq!(echo.default_preset(true), "plain");
    let (p, w) = program(zkmlops_tensor::Op::Mul);
    let err = echo.prove(&p, &w, StageTag::Generic, "plain").unwrap_err();
    assert!(
        matches!(&err, ProveError::UnsupportedOp { op, tensor, .. } if op == "mul" && tensor == "z"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the a backend (preset plain) does not support op `mul` (node producing `z`)"
    );
    // Grouped convolution is its own feature.
    let grouped = zkmlops_tensor::Op::Conv2d(zkmlops_tensor::ops::Conv2dParams {
        groups: 2,
        ..Default::default()
    });
    assert_eq!(op_features(&grouped), ["conv2d", "conv2d/grouped"]);
    assert!(
        OpSupport::AllBut(vec!["conv2d/grouped".into()])
            .missing(&grouped)
            .is_some()
    );
    assert!(OpSupport::All.missing(&grouped).is_none());
    // A table lookup is `lookup/<function>`: the `relu` table is not the `relu` op.
    let table = zkmlops_lookup::TableSpec::new(
        zkmlops_lookup::Function::Relu,
        Scale::new(4).unwrap(),
        Scale::new(4).unwrap(),
        -16,
        16,
    )
    .unwrap();
    let lookup = zkmlops_tensor::Op::Lookup(table);
    assert_eq!(op_features(&lookup), ["lookup/relu"]);
    assert!(
        OpSupport::Only(vec!["relu".into()])
            .missing(&lookup)
            .is_some()
    );
}
