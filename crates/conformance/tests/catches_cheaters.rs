//! The suite fails backends that cheat: one whose verifier checks nothing after the preamble,
//! one that declares ops it cannot prove, one that proves nothing, and one that reports
//! outputs other than the reference's.
#![allow(clippy::unwrap_used)]

use zkmlops_conformance::{
    NullBackend, Status, check_binding, check_foreign, check_mutations, check_policy, run_ops,
};
use zkmlops_fri::FriBackend;
use zkmlops_proof::{
    Backend, BackendId, OpSupport, PresetInfo, ProofEnvelope, ProveError, StageTag,
    VerifiedStatement, VerifyError, VerifyPolicy, verify_preamble,
};
use zkmlops_tensor::{Program, Witness};

/// How a toy backend cheats (it proves with FRI underneath and relabels the envelope).
#[derive(Clone, Copy)]
enum Cheat {
    /// `verify` runs the boundary's preamble and accepts: no cryptography.
    AcceptAfterPreamble,
    /// Declares every op supported (FRI refuses `argmax` and grouped `conv2d`).
    Overclaims,
    /// Adds 1 to the first public value of every statement it proves, and accepts it.
    WrongOutputs,
}

struct Toy(Cheat);

const TOY: BackendId = BackendId::new_static("toy");

impl Backend for Toy {
    fn id(&self) -> BackendId {
        TOY
    }

    fn description(&self) -> String {
        "a cheating toy".into()
    }

    fn presets(&self) -> Vec<PresetInfo> {
        FriBackend
            .presets()
            .into_iter()
            .map(|mut p| {
                if matches!(self.0, Cheat::Overclaims) {
                    p.capabilities.ops = OpSupport::All;
                }
                p
            })
            .collect()
    }

    fn check(&self, program: &Program, witness: &Witness, preset: &str) -> Result<(), ProveError> {
        FriBackend.check(program, witness, preset)
    }

    fn prove(
        &self,
        program: &Program,
        witness: &Witness,
        stage: StageTag,
        preset: &str,
    ) -> Result<ProofEnvelope, ProveError> {
        let mut env = FriBackend.prove(program, witness, stage, preset)?;
        env.backend = TOY;
        if matches!(self.0, Cheat::WrongOutputs)
            && let Some(v) = env
                .statement
                .public
                .last_mut()
                .and_then(|p| p.values.first_mut())
        {
            *v += 1;
        }
        Ok(env)
    }

    fn verify(
        &self,
        program: &Program,
        env: &ProofEnvelope,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedStatement, VerifyError> {
        verify_preamble(&TOY, program, env, policy)?;
        match self.0 {
            Cheat::Overclaims => {
                // Honest verification under FRI's name.
                let mut inner = env.clone();
                inner.backend = BackendId::FRI;
                let mut v = FriBackend.verify(program, &inner, policy)?;
                v.backend = TOY;
                Ok(v)
            }
            Cheat::AcceptAfterPreamble | Cheat::WrongOutputs => Ok(VerifiedStatement {
                backend: TOY,
                params: env.params.clone(),
                statement: env.statement.clone(),
            }),
        }
    }
}

#[test]
fn a_verifier_that_checks_nothing_fails_binding_and_mutations() {
    let toy = Toy(Cheat::AcceptAfterPreamble);
    let binding = check_binding(&toy, "keccak");
    assert!(!binding.passed());
    assert!(
        binding.failed_check("public tensor"),
        "{}",
        binding.to_markdown()
    );
    assert!(binding.failed_check("stage changed"));
    assert!(binding.failed_check("commitment 0"));
    assert!(binding.failed_check("zero knowledge flipped"));
    let mutations = check_mutations(&toy, "keccak");
    assert!(
        mutations.failed_check("proof byte"),
        "{}",
        mutations.to_markdown()
    );
    assert!(mutations.failed_check("truncated"));
    // The preamble alone does refuse foreign envelopes and policy violations.
    assert!(check_foreign(&toy, "keccak").passed());
    assert!(check_policy(&toy, "keccak").passed());
}

#[test]
fn declaring_ops_a_backend_cannot_prove_fails_the_op_cases() {
    let toy = Toy(Cheat::Overclaims);
    let report = run_ops(&toy, "keccak");
    assert!(!report.passed());
    let failed: Vec<&str> = report.failures.iter().map(|f| f.case.as_str()).collect();
    assert_eq!(
        failed,
        ["conv/groups", "reduction/sum_mean_max_argmax"],
        "{}",
        report.to_markdown()
    );
    // The honest declaration reports them unsupported, by name, and passes.
    let honest = run_ops(&FriBackend, "keccak");
    assert!(honest.passed(), "{}", honest.to_markdown());
    let unsupported: Vec<(&str, &Status)> = honest
        .unsupported()
        .iter()
        .map(|r| (r.case.as_str(), &r.status))
        .collect();
    assert_eq!(unsupported.len(), 2, "{unsupported:?}");
    assert!(matches!(unsupported[0].1, Status::Unsupported { what } if what == "conv2d/grouped"));
    assert!(matches!(unsupported[1].1, Status::Unsupported { what } if what == "argmax"));
}

#[test]
fn outputs_other_than_the_reference_fail() {
    let report = run_ops(&Toy(Cheat::WrongOutputs), "keccak");
    assert!(
        report.failed_check("outputs equal the reference"),
        "{}",
        report.to_markdown()
    );
}

#[test]
fn a_backend_that_proves_nothing_fails_every_case() {
    let report = run_ops(&NullBackend, "none");
    assert!(!report.passed());
    assert!(report.failures.iter().all(|f| f.check == "verify"
        || f.check.starts_with("commitments")
        || f.check.starts_with("envelope claims")));
    assert!(
        report
            .rows
            .iter()
            .all(|r| !matches!(r.status, Status::Proved { .. }))
    );
}
