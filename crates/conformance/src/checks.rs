//! The op cases and the checks on one envelope: binding, mutations, foreign envelopes,
//! policy, refusals.

use std::time::Instant;

use zkmlops_proof::{
    Backend, BackendId, FieldId, HashId, MAX_CLAIMED_BITS, PresetInfo, ProofEnvelope,
    ProtocolParams, ProveError, SchemeId, StageTag, Statement, VerifyError, VerifyPolicy,
};
use zkmlops_tensor::{Program, Tensor, TensorId};

use crate::cases::{Case, LOOKUP_SAMPLE, binding_case, op_cases};
use crate::{Coverage, NullBackend, Report, Status, describe_prove, describe_verify, guarded};

/// The first thing the case needs that the preset declares unsupported.
fn unsupported_need(info: &PresetInfo, program: &Program) -> Option<String> {
    let caps = &info.capabilities;
    if let Some(f) = program.nodes().iter().find_map(|n| caps.ops.missing(&n.op)) {
        return Some(f);
    }
    let committed = program
        .tensors()
        .iter()
        .any(|d| d.visibility.commitment_group().is_some());
    (committed && caps.commitment_scheme.is_none()).then(|| "committed tensors".to_string())
}

/// Prove and verify one case with every check on the result; the envelope when it verified.
pub(crate) fn prove_case(
    backend: &dyn Backend,
    info: &PresetInfo,
    case: &Case,
    report: &mut Report,
) -> Option<ProofEnvelope> {
    let name = case.name.as_str();
    let witness = match case.program.evaluate(&case.inputs) {
        Ok(w) => w,
        Err(e) => {
            report.fail(name, "reference evaluation", e.to_string());
            return None;
        }
    };
    let t = Instant::now();
    let proved = guarded(|| backend.prove(&case.program, &witness, StageTag::Generic, &info.name));
    let prove_time = t.elapsed();
    if let Some(what) = unsupported_need(info, &case.program) {
        // Declared unsupported: it must be refused, by name, before proving.
        match &proved {
            Ok(Err(ProveError::UnsupportedOp { op, .. })) if *op == what => {}
            Ok(Err(ProveError::Unsupported { feature, .. })) if *feature == what => {}
            other => report.fail(
                name,
                "declared-unsupported op refused by name",
                format!("{what}: {}", describe_prove(other)),
            ),
        }
        report.row(name, Status::Unsupported { what });
        return None;
    }
    let env = match proved {
        Ok(Ok(env)) => env,
        other => {
            report.fail(name, "prove", describe_prove(&other));
            return None;
        }
    };
    let t = Instant::now();
    let verified = guarded(|| backend.verify(&case.program, &env, &VerifyPolicy::default()));
    let verify_time = t.elapsed();
    let v = match verified {
        Ok(Ok(v)) => v,
        other => {
            report.fail(name, "verify", describe_verify(&other));
            return None;
        }
    };
    if v.statement != env.statement || v.backend != backend.id() {
        report.fail(name, "verified statement", "differs from the envelope's");
    }
    // The public tensors are the integer reference's.
    match Statement::from_witness(&case.program, &witness, StageTag::Generic) {
        Ok(reference) if reference.public == env.statement.public => {}
        Ok(_) => report.fail(name, "outputs equal the reference", "they differ"),
        Err(e) => report.fail(name, "reference statement", e.to_string()),
    }
    check_claims(backend, info, case, &witness, &env, report);
    report.row(
        name,
        Status::Proved {
            proof_bytes: env.proof.len(),
            prove: prove_time,
            verify: verify_time,
        },
    );
    Some(env)
}

/// The envelope claims what the preset declares; commitments are of the declared scheme.
fn check_claims(
    backend: &dyn Backend,
    info: &PresetInfo,
    case: &Case,
    witness: &zkmlops_tensor::Witness,
    env: &ProofEnvelope,
    report: &mut Report,
) {
    let name = case.name.as_str();
    let caps = &info.capabilities;
    let p = &env.params;
    if env.backend != backend.id() || p.preset != info.name {
        report.fail(
            name,
            "envelope names backend and preset",
            format!("{} {}", env.backend, p.preset),
        );
    }
    if p.field != caps.field
        || p.hash != caps.hash
        || p.zero_knowledge != caps.zero_knowledge
        || p.post_quantum != caps.post_quantum
        || p.transparent != caps.transparent
    {
        report.fail(
            name,
            "envelope claims equal the declared capabilities",
            format!("{p:?} vs {caps:?}"),
        );
    }
    let groups = zkmlops_commit::program_commitments(&case.program, witness);
    match groups {
        Ok(groups) if groups.is_empty() => {
            if env.statement.commitment_scheme.is_some() {
                report.fail(
                    name,
                    "no commitment scheme without commitments",
                    "one is named",
                );
            }
        }
        Ok(groups) => {
            if env.statement.commitment_scheme != caps.commitment_scheme {
                report.fail(
                    name,
                    "commitments of the declared scheme",
                    format!("{:?}", env.statement.commitment_scheme),
                );
            }
            // The lineage scheme's digests are computable natively: they must match.
            if caps.commitment_scheme.as_ref() == Some(&zkmlops_commit::SCHEME) {
                let native: Vec<[u8; 32]> = groups.iter().map(|(_, d)| d.to_bytes()).collect();
                let claimed: Vec<[u8; 32]> =
                    env.statement.commitments.iter().map(|c| c.digest).collect();
                if native != claimed {
                    report.fail(name, "commitments equal zkmlops-commit's", "they differ");
                }
            }
        }
        Err(id) => report.fail(name, "native commitments", format!("missing tensor {id:?}")),
    }
}

pub(crate) fn preset_info(
    backend: &dyn Backend,
    preset: &str,
    report: &mut Report,
) -> Option<PresetInfo> {
    match backend.preset(preset) {
        Ok(i) => Some(i),
        Err(e) => {
            report.fail("preset", "look up the preset", e.to_string());
            None
        }
    }
}

/// Prove and verify every op case ([`op_cases`]).
#[must_use]
pub fn run_ops(backend: &dyn Backend, preset: &str) -> Report {
    run_ops_with(backend, preset, Coverage::Full)
}

/// [`run_ops`] with a [`Coverage`]: [`Coverage::Sample`] proves the lookup functions of
/// [`LOOKUP_SAMPLE`] only (every other op case whole).
#[must_use]
pub fn run_ops_with(backend: &dyn Backend, preset: &str, coverage: Coverage) -> Report {
    let mut report = Report::new(backend, preset);
    let Some(info) = preset_info(backend, preset, &mut report) else {
        return report;
    };
    match op_cases() {
        Ok(cases) => {
            for case in &cases {
                let sampled = case.family != "lookup"
                    || LOOKUP_SAMPLE
                        .iter()
                        .any(|f| case.name == format!("lookup/{}", f.name()));
                if coverage == Coverage::Full || sampled {
                    prove_case(backend, &info, case, &mut report);
                } else {
                    report.row(&case.name, Status::NotSampled);
                }
            }
        }
        Err(e) => report.fail("op cases", "build", e.to_string()),
    }
    report
}

/// Verification of `env` must fail: records a failure (with `check`) when it is accepted or
/// panics. Returns whether it was rejected.
fn expect_rejected(
    backend: &dyn Backend,
    program: &Program,
    env: &ProofEnvelope,
    policy: &VerifyPolicy,
    report: &mut Report,
    case: &str,
    check: &str,
) -> bool {
    let r = guarded(|| backend.verify(program, env, policy));
    match r {
        Ok(Err(_)) => true,
        other => {
            report.fail(case, check, describe_verify(&other));
            false
        }
    }
}

/// A policy that accepts any security level (the checks test rejections, not the bits).
fn any_bits() -> VerifyPolicy {
    VerifyPolicy {
        min_security_bits: 0,
        ..VerifyPolicy::default()
    }
}

/// A valid envelope of the binding case, or `None` (with the failure recorded).
fn binding_envelope(
    backend: &dyn Backend,
    preset: &str,
    report: &mut Report,
) -> Option<(Case, ProofEnvelope)> {
    let info = preset_info(backend, preset, report)?;
    let case = match binding_case() {
        Ok(c) => c,
        Err(e) => {
            report.fail("binding", "build", e.to_string());
            return None;
        }
    };
    let env = prove_case(backend, &info, &case, report)?;
    Some((case, env))
}

/// A sibling of the binding case's Program: same inputs and shapes, one op different.
fn sibling(case: &Case) -> Option<Program> {
    let mut b = zkmlops_tensor::ProgramBuilder::new();
    let d = case.program.tensors();
    let x = b.input(
        &d.first()?.name,
        &d.first()?.shape,
        d.first()?.scale,
        d.first()?.visibility,
    );
    let salt = b.unbounded_input(
        &d.get(1)?.name,
        &d.get(1)?.shape,
        d.get(1)?.scale,
        d.get(1)?.visibility,
    );
    let w = b.input(
        &d.get(2)?.name,
        &d.get(2)?.shape,
        d.get(2)?.scale,
        d.get(2)?.visibility,
    );
    let _ = salt;
    let g = b
        .op(
            "g",
            zkmlops_tensor::Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &[x, w],
        )
        .ok()?;
    let y = b
        .op(
            "y",
            zkmlops_tensor::Op::Rescale {
                shift: 8,
                rounding: zkmlops_tensor::ops::Rounding::Floor,
            },
            &[g],
        )
        .ok()?;
    let r = b.op("r", zkmlops_tensor::Op::Relu, &[y]).ok()?;
    b.output(y, zkmlops_tensor::Visibility::Public).ok()?;
    b.output(r, zkmlops_tensor::Visibility::Public).ok()?;
    b.build().ok()
}

/// Every part of the statement and the parameters, changed alone, is rejected.
#[must_use]
pub fn check_binding(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let Some((case, env)) = binding_envelope(backend, preset, &mut report) else {
        return report;
    };
    let policy = VerifyPolicy {
        min_security_bits: 0,
        ..VerifyPolicy::default()
    };
    let p = &case.program;
    let mut n = 0;
    let mut extra = 0;
    let mut reject = |e: &ProofEnvelope, check: &str, report: &mut Report| {
        n += 1;
        expect_rejected(backend, p, e, &policy, report, "binding", check);
    };
    // Every public value, changed alone.
    for (t, tensor) in env.statement.public.iter().enumerate() {
        for i in 0..tensor.values.len() {
            let mut e = env.clone();
            let v = &mut e.statement.public[t].values[i];
            *v = if *v > 0 { *v - 1 } else { *v + 1 };
            reject(
                &e,
                &format!("public tensor {:?} value {i} changed", tensor.id),
                &mut report,
            );
        }
    }
    // The stage.
    for stage in [
        StageTag::Generic,
        StageTag::Inference,
        StageTag::Preprocessing,
        StageTag::Training,
        StageTag::Metrics,
        StageTag::Monitoring,
    ] {
        if stage != env.statement.stage {
            let mut e = env.clone();
            e.statement.stage = stage;
            reject(&e, &format!("stage changed to {stage:?}"), &mut report);
        }
    }
    // The Program digest, and a sibling Program.
    let mut e = env.clone();
    e.statement.program_digest.0[0] ^= 1;
    reject(&e, "program digest changed", &mut report);
    match sibling(&case) {
        Some(other) => {
            let mut e = env.clone();
            e.statement.program_digest = other.digest();
            extra += 1;
            expect_rejected(
                backend,
                &other,
                &e,
                &policy,
                &mut report,
                "binding",
                "verified against a sibling Program",
            );
        }
        None => report.fail("binding", "sibling Program", "could not be built"),
    }
    // Each commitment, and the scheme.
    for k in 0..env.statement.commitments.len() {
        let mut e = env.clone();
        e.statement.commitments[k].digest[0] ^= 1;
        reject(&e, &format!("commitment {k} byte flipped"), &mut report);
        let mut e = env.clone();
        let other = zkmlops_commit::commit(p, &[&[1, 2, 3, 4]]);
        e.statement.commitments[k].digest = other.to_bytes();
        reject(
            &e,
            &format!("commitment {k} replaced by another valid one"),
            &mut report,
        );
    }
    if !env.statement.commitments.is_empty() {
        let mut e = env.clone();
        e.statement.commitment_scheme = Some(SchemeId::new("another-scheme/v1"));
        reject(&e, "commitment scheme changed", &mut report);
        let mut e = env.clone();
        e.statement.commitment_scheme = None;
        reject(&e, "commitment scheme removed", &mut report);
    }
    // Every parameter, changed alone.
    let mut params: Vec<(String, ProofEnvelope)> = Vec::new();
    let mut with = |what: &str, f: &dyn Fn(&mut ProofEnvelope)| {
        let mut e = env.clone();
        f(&mut e);
        params.push((what.to_string(), e));
    };
    for other in backend.presets() {
        if other.name != env.params.preset {
            let name = other.name.clone();
            with(&format!("preset changed to {name}"), &move |e| {
                e.params.preset = name.clone()
            });
        }
    }
    with("preset renamed", &|e| {
        e.params.preset = "no-such-preset".into()
    });
    with("field changed", &|e| {
        e.params.field = FieldId::new("another-field")
    });
    with("hash changed", &|e| {
        e.params.hash = HashId::new("another-hash")
    });
    with("extension degree changed", &|e| {
        e.params.extension_degree += 1
    });
    with("zero knowledge flipped", &|e| {
        e.params.zero_knowledge ^= true
    });
    with("post-quantum flipped", &|e| e.params.post_quantum ^= true);
    with("transparent flipped", &|e| e.params.transparent ^= true);
    with("conjectured bits lowered", &|e| {
        e.params.conjectured_security_bits = e.params.conjectured_security_bits.saturating_sub(1);
    });
    with("conjectured bits raised", &|e| {
        e.params.conjectured_security_bits =
            (e.params.conjectured_security_bits + 1).min(MAX_CLAIMED_BITS);
    });
    with("proven bits changed", &|e| {
        e.params.proven_security_bits = match e.params.proven_security_bits {
            Some(0) | None => Some(1).filter(|_| e.params.conjectured_security_bits >= 1),
            Some(b) => Some(b - 1),
        };
    });
    match &env.params.protocol {
        ProtocolParams::Fri(_) => {
            with("FRI log blowup changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.log_blowup += 1;
                }
            });
            with("FRI queries changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.num_queries -= 1;
                }
            });
            with("FRI query proof-of-work changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.query_pow_bits += 1;
                }
            });
            with("FRI commit proof-of-work changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.commit_pow_bits += 1;
                }
            });
            with("FRI final polynomial changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.log_final_poly_len += 1;
                }
            });
            with("FRI arity changed", &|e| {
                if let ProtocolParams::Fri(f) = &mut e.params.protocol {
                    f.max_log_arity += 1;
                }
            });
        }
        ProtocolParams::Ipa(_) => with("IPA k changed", &|e| {
            if let ProtocolParams::Ipa(i) = &mut e.params.protocol {
                i.k += 1;
            }
        }),
        _ => with("protocol parameters replaced", &|e| {
            e.params.protocol = ProtocolParams::Other {
                system: "another-system".into(),
                values: Vec::new(),
            };
        }),
    }
    with("version changed", &|e| e.version += 1);
    with("backend id changed", &|e| {
        e.backend = BackendId::new("another-backend")
    });
    for (what, e) in &params {
        reject(e, what, &mut report);
    }
    report.row(
        "statement and parameter binding",
        Status::Checked {
            rejections: n + extra,
        },
    );
    report
}

/// Proof bytes flipped, truncated, extended, and envelope bytes flipped: all rejected.
#[must_use]
pub fn check_mutations(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let Some((case, env)) = binding_envelope(backend, preset, &mut report) else {
        return report;
    };
    let p = &case.program;
    let policy = any_bits();
    let len = env.proof.len();
    let mut n = 0;
    // Up to 192 positions spread over the proof, each flipped in two ways.
    let step = (len / 192).max(1);
    let mut positions: Vec<usize> = (0..len).step_by(step).collect();
    positions.extend(len.checked_sub(1));
    for &i in &positions {
        for bit in [0x01u8, 0x80] {
            let mut e = env.clone();
            e.proof[i] ^= bit;
            n += 1;
            expect_rejected(
                backend,
                p,
                &e,
                &policy,
                &mut report,
                "mutations",
                &format!("proof byte {i} ^ {bit:#x}"),
            );
        }
    }
    for cut in [0, len / 2, len.saturating_sub(1)] {
        if cut < len {
            let mut e = env.clone();
            e.proof.truncate(cut);
            n += 1;
            expect_rejected(
                backend,
                p,
                &e,
                &policy,
                &mut report,
                "mutations",
                &format!("proof truncated to {cut} bytes"),
            );
        }
    }
    let mut e = env.clone();
    e.proof.push(0);
    n += 1;
    expect_rejected(
        backend,
        p,
        &e,
        &policy,
        &mut report,
        "mutations",
        "a byte appended to the proof",
    );
    // The whole envelope's bytes: an error on decoding, or a different envelope that fails.
    let bytes = env.to_bytes();
    let step = (bytes.len() / 128).max(1);
    for i in (0..bytes.len()).step_by(step) {
        let mut b = bytes.clone();
        b[i] ^= 0x04;
        n += 1;
        match guarded(|| ProofEnvelope::from_bytes(&b)) {
            Ok(Err(_)) => {}
            Ok(Ok(other)) => {
                expect_rejected(
                    backend,
                    p,
                    &other,
                    &policy,
                    &mut report,
                    "mutations",
                    &format!("envelope byte {i} flipped"),
                );
            }
            Err(panic) => report.fail("mutations", &format!("envelope byte {i} decode"), panic),
        }
    }
    report.row(
        "proof and envelope byte mutations",
        Status::Checked { rejections: n },
    );
    report
}

/// Another backend's envelope, and this backend's relabelled, are refused as foreign.
#[must_use]
pub fn check_foreign(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let Some((case, env)) = binding_envelope(backend, preset, &mut report) else {
        return report;
    };
    let p = &case.program;
    let policy = any_bits();
    let null = NullBackend;
    let wrong_backend = |r: &Result<Result<_, VerifyError>, String>| {
        matches!(r, Ok(Err(VerifyError::WrongBackend { .. })))
    };
    // The null backend's envelope for the same statement.
    let foreign = case
        .program
        .evaluate(&case.inputs)
        .ok()
        .and_then(|w| null.prove(p, &w, StageTag::Generic, "none").ok());
    match foreign {
        Some(f) => {
            let r = guarded(|| backend.verify(p, &f, &policy));
            if !wrong_backend(&r) {
                report.fail("foreign", "another backend's envelope", describe_verify(&r));
            }
        }
        None => report.fail("foreign", "null backend envelope", "could not be made"),
    }
    // This backend's envelope relabelled as another backend's: refused by this backend as
    // foreign, and by the other.
    let mut relabelled = env.clone();
    relabelled.backend = NullBackend::ID;
    let r = guarded(|| backend.verify(p, &relabelled, &policy));
    if !wrong_backend(&r) {
        report.fail("foreign", "own envelope relabelled", describe_verify(&r));
    }
    let r = guarded(|| null.verify(p, &env, &policy));
    if !wrong_backend(&r) {
        report.fail(
            "foreign",
            "own envelope given to another backend",
            describe_verify(&r),
        );
    }
    report.row("foreign envelopes", Status::Checked { rejections: 3 });
    report
}

/// Policies refuse what they must and accept what they may.
#[must_use]
pub fn check_policy(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let Some((case, env)) = binding_envelope(backend, preset, &mut report) else {
        return report;
    };
    let p = &case.program;
    let claimed = env.params.conjectured_security_bits;
    let policy = |f: &dyn Fn(&mut VerifyPolicy)| {
        let mut v = VerifyPolicy {
            min_security_bits: claimed,
            ..VerifyPolicy::default()
        };
        f(&mut v);
        v
    };
    let policy_refusal =
        |r: &Result<Result<_, VerifyError>, String>| matches!(r, Ok(Err(VerifyError::Policy(_))));
    let mut n = 0;
    let mut refuse = |what: &str, pol: VerifyPolicy, report: &mut Report| {
        n += 1;
        let r = guarded(|| backend.verify(p, &env, &pol));
        if !policy_refusal(&r) {
            report.fail("policy", what, describe_verify(&r));
        }
    };
    refuse(
        "more security bits than claimed",
        policy(&|v| v.min_security_bits = claimed.saturating_add(1)),
        &mut report,
    );
    refuse(
        "only another backend accepted",
        policy(&|v| v.accepted_backends = vec![BackendId::new("another-backend")]),
        &mut report,
    );
    if !env.params.zero_knowledge {
        refuse(
            "zero knowledge required",
            policy(&|v| v.require_zero_knowledge = true),
            &mut report,
        );
    }
    if !env.params.post_quantum {
        refuse(
            "post-quantum required",
            policy(&|v| v.require_post_quantum = true),
            &mut report,
        );
    }
    // Exactly what it claims is accepted.
    let exact = policy(&|v| {
        v.accepted_backends = vec![backend.id()];
        v.require_zero_knowledge = env.params.zero_knowledge;
        v.require_post_quantum = env.params.post_quantum;
    });
    let r = guarded(|| backend.verify(p, &env, &exact));
    if !matches!(r, Ok(Ok(_))) {
        report.fail(
            "policy",
            "a policy the proof meets exactly",
            describe_verify(&r),
        );
    }
    report.row("verifier policies", Status::Checked { rejections: n });
    report
}

/// A witness with one value of `tensor` changed.
fn corrupt(witness: &zkmlops_tensor::Witness, tensor: TensorId) -> Option<zkmlops_tensor::Witness> {
    let mut w = witness.clone();
    let t = w.values_mut().get_mut(tensor.index())?;
    let mut data = t.data().to_vec();
    let first = data.first_mut()?;
    *first = if *first > 0 { *first - 1 } else { *first + 1 };
    *t = Tensor::new(t.shape().to_vec(), data).ok()?;
    Some(w)
}

/// Unknown presets, witnesses that do not satisfy their Program, and declared-unsupported ops
/// are refused before proving, with typed errors.
#[must_use]
pub fn check_refusals(backend: &dyn Backend, preset: &str) -> Report {
    let mut report = Report::new(backend, preset);
    let Some(info) = preset_info(backend, preset, &mut report) else {
        return report;
    };
    let cases = match op_cases() {
        Ok(c) => c,
        Err(e) => {
            report.fail("refusals", "build", e.to_string());
            return report;
        }
    };
    let mut n = 0;
    if let Some(case) = cases.first()
        && let Ok(w) = case.program.evaluate(&case.inputs)
    {
        n += 1;
        let r = guarded(|| backend.prove(&case.program, &w, StageTag::Generic, "no-such-preset"));
        if !matches!(r, Ok(Err(ProveError::UnknownPreset { .. }))) {
            report.fail("refusals", "unknown preset", describe_prove(&r));
        }
        let r = guarded(|| backend.check(&case.program, &w, "no-such-preset"));
        if !matches!(r, Ok(Err(ProveError::UnknownPreset { .. }))) {
            report.fail("refusals", "unknown preset (check)", describe_prove(&r));
        }
        let r = guarded(|| backend.setup(&case.program, "no-such-preset"));
        if !matches!(r, Ok(Err(ProveError::UnknownPreset { .. }))) {
            report.fail("refusals", "unknown preset (setup)", format!("{r:?}"));
        }
        // Setup ahead of proving changes nothing but when the keys are built.
        if unsupported_need(&info, &case.program).is_none() {
            let r = guarded(|| {
                backend.setup(&case.program, preset)?;
                let env = backend.prove(&case.program, &w, StageTag::Generic, preset)?;
                Ok::<bool, ProveError>(
                    backend
                        .verify(&case.program, &env, &VerifyPolicy::default())
                        .is_ok(),
                )
            });
            if !matches!(r, Ok(Ok(true))) {
                report.fail("setup", "setup, then prove and verify", format!("{r:?}"));
            }
        }
    }
    for case in &cases {
        if unsupported_need(&info, &case.program).is_some() {
            continue; // refused by name in run_ops
        }
        let Ok(w) = case.program.evaluate(&case.inputs) else {
            report.fail(&case.name, "reference evaluation", "failed");
            continue;
        };
        // The last node's output, one value changed: not a witness of the Program.
        let Some(bad) = case
            .program
            .nodes()
            .last()
            .and_then(|node| corrupt(&w, node.output))
        else {
            continue;
        };
        n += 1;
        let r = guarded(|| backend.prove(&case.program, &bad, StageTag::Generic, preset));
        if !matches!(r, Ok(Err(_))) {
            report.fail(
                &case.name,
                "a witness that does not satisfy the Program",
                describe_prove(&r),
            );
        }
        let r = guarded(|| backend.check(&case.program, &bad, preset));
        if !matches!(r, Ok(Err(_))) {
            report.fail(&case.name, "check of a wrong witness", describe_prove(&r));
        }
    }
    report.row("refusals before proving", Status::Checked { rejections: n });
    report
}
