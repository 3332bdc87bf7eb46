//! What the commands print: human-readable lines, or one JSON document (`--json`, documented
//! in `docs/cli.md`).

use std::collections::BTreeMap;

use serde::Serialize;
use zkmlops_infer::{VerifiedInference, VerifiedTensor};
use zkmlops_onnx::FidelityReport;
use zkmlops_proof::{BackendParams, ProofEnvelope};

/// Format of the JSON documents below.
pub(crate) const REPORT_VERSION: u32 = 1;

pub(crate) fn json<T: Serialize>(v: &T) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

pub(crate) fn floats(v: &[f64]) -> String {
    let items: Vec<String> = v.iter().map(|x| format!("{x:.4}")).collect();
    format!("[{}]", items.join(", "))
}

fn argmax(v: &[f64]) -> Option<usize> {
    v.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
        .map(|(i, _)| i)
}

/// `zkmlops verify --json`.
#[derive(Serialize)]
pub(crate) struct VerifyReport {
    report_version: u32,
    verified: bool,
    error: Option<String>,
    model: Option<String>,
    stage: Option<String>,
    program_digest: Option<String>,
    backend: Option<String>,
    params: Option<BackendParams>,
    outputs: Vec<VerifiedTensor>,
    input: Option<VerifiedTensor>,
    commitment: Option<String>,
    /// Outputs carrying string class labels: each class's name, by the index the proof holds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    class_names: BTreeMap<String, Vec<String>>,
    proof_file_bytes: Option<usize>,
    verify_ms: Option<f64>,
}

pub(crate) fn verified(
    model: &str,
    v: &VerifiedInference,
    class_names: BTreeMap<String, Vec<String>>,
    file_bytes: usize,
    verify_ms: f64,
) -> VerifyReport {
    VerifyReport {
        report_version: REPORT_VERSION,
        verified: true,
        error: None,
        model: Some(model.into()),
        stage: Some(format!("{:?}", v.statement.statement.stage).to_lowercase()),
        program_digest: Some(v.statement.statement.program_digest.to_string()),
        backend: Some(v.statement.backend.to_string()),
        params: Some(v.statement.params.clone()),
        outputs: v.outputs.clone(),
        input: v.input.clone(),
        commitment: v.commitment.map(|d| d.to_hex()),
        class_names,
        proof_file_bytes: Some(file_bytes),
        verify_ms: Some(verify_ms),
    }
}

pub(crate) fn rejected(error: &str) -> VerifyReport {
    VerifyReport {
        report_version: REPORT_VERSION,
        verified: false,
        error: Some(error.into()),
        model: None,
        stage: None,
        program_digest: None,
        backend: None,
        params: None,
        outputs: Vec::new(),
        input: None,
        commitment: None,
        class_names: BTreeMap::new(),
        proof_file_bytes: None,
        verify_ms: None,
    }
}

/// `0 = setosa, 1 = versicolor, ...`.
pub(crate) fn class_list(names: &[String]) -> String {
    let items: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("{i} = {n}"))
        .collect();
    items.join(", ")
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

pub(crate) fn print_verified(r: &VerifyReport) {
    outln!(
        "verified: {} proof for model `{}` (program digest {})",
        r.stage.as_deref().unwrap_or("?"),
        r.model.as_deref().unwrap_or("?"),
        r.program_digest.as_deref().unwrap_or("?")
    );
    if let Some(p) = &r.params {
        outln!(
            "backend {}, preset {}: {} conjectured security bits{}, post-quantum {}, zero knowledge {}, no trusted setup",
            r.backend.as_deref().unwrap_or("?"),
            p.preset,
            p.conjectured_security_bits,
            p.proven_security_bits
                .map(|b| format!(" ({b} proven)"))
                .unwrap_or_default(),
            yes(p.post_quantum),
            yes(p.zero_knowledge)
        );
    }
    if let Some(c) = &r.commitment {
        outln!("model commitment {c} (weights hidden, bound to it)");
    }
    if let Some(i) = &r.input {
        outln!(
            "public input {} {:?} = {}",
            i.name,
            i.shape,
            floats(&i.values)
        );
    }
    for o in &r.outputs {
        let am = if o.values.len() > 1 {
            argmax(&o.values)
                .map(|i| format!(" (argmax {i})"))
                .unwrap_or_default()
        } else {
            String::new()
        };
        outln!(
            "output {} {:?} = {}{am}",
            o.name,
            o.shape,
            floats(&o.values)
        );
        if let Some(names) = r.class_names.get(&o.name) {
            outln!("  {} holds class indices: {}", o.name, class_list(names));
        }
    }
    outln!(
        "verified in {:.1} ms ({} proof file bytes)",
        r.verify_ms.unwrap_or(0.0),
        r.proof_file_bytes.unwrap_or(0)
    );
}

/// `zkmlops inspect --json`.
#[derive(Serialize)]
pub(crate) struct InspectReport {
    report_version: u32,
    envelope_version: u16,
    backend: String,
    params: BackendParams,
    stage: String,
    program_digest: String,
    public_tensors: Vec<PublicInfo>,
    commitments: usize,
    proof_bytes: usize,
    envelope_bytes: usize,
    proof_file_bytes: usize,
    /// For an aggregate (`prove --aggregate`): how many proofs it folds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) aggregated_members: Option<usize>,
}

#[derive(Serialize)]
struct PublicInfo {
    id: u32,
    shape: Vec<usize>,
    scale_bits: u32,
    values: Vec<f64>,
}

pub(crate) fn inspect(env: &ProofEnvelope, file_bytes: usize) -> InspectReport {
    InspectReport {
        report_version: REPORT_VERSION,
        envelope_version: env.version,
        backend: env.backend.to_string(),
        params: env.params.clone(),
        stage: format!("{:?}", env.statement.stage).to_lowercase(),
        program_digest: env.statement.program_digest.to_string(),
        public_tensors: env
            .statement
            .public
            .iter()
            .map(|p| PublicInfo {
                id: p.id.0,
                shape: p.shape.clone(),
                scale_bits: p.scale.bits(),
                values: p.decoded(),
            })
            .collect(),
        commitments: env.statement.commitments.len(),
        proof_bytes: env.proof.len(),
        envelope_bytes: env.to_bytes().len(),
        proof_file_bytes: file_bytes,
        aggregated_members: None,
    }
}

pub(crate) fn print_inspect(r: &InspectReport) {
    let p = &r.params;
    outln!(
        "envelope v{}, backend {}, preset {}",
        r.envelope_version,
        r.backend,
        p.preset
    );
    outln!(
        "field {} (extension degree {}), hash {}, zero knowledge {}, post-quantum {}, transparent setup {}",
        p.field,
        p.extension_degree,
        p.hash,
        yes(p.zero_knowledge),
        yes(p.post_quantum),
        yes(p.transparent)
    );
    if let Some(f) = p.protocol.fri() {
        outln!(
            "FRI: log blowup {}, {} queries, query proof-of-work {} bits",
            f.log_blowup,
            f.num_queries,
            f.query_pow_bits
        );
    }
    outln!(
        "security: {} conjectured bits{}",
        p.conjectured_security_bits,
        p.proven_security_bits
            .map(|b| format!(", {b} proven"))
            .unwrap_or_default()
    );
    outln!(
        "sizes: proof {} B, envelope {} B, file {} B",
        r.proof_bytes,
        r.envelope_bytes,
        r.proof_file_bytes
    );
    if let Some(n) = r.aggregated_members {
        outln!(
            "an aggregated proof of {n} member proof(s) (the statement shown is the first member's)"
        );
    }
    outln!(
        "statement: stage {}, program digest {}, {} commitments",
        r.stage,
        r.program_digest,
        r.commitments
    );
    for t in &r.public_tensors {
        outln!(
            "  public tensor #{} {:?} at 2^{} = {}",
            t.id,
            t.shape,
            t.scale_bits,
            floats(&t.values)
        );
    }
}

pub(crate) fn print_fidelity(r: &FidelityReport) {
    if r.outputs.is_empty() {
        // Calibration without a float reference (tract cannot run the model) reports nothing.
        outln!(
            "fidelity: not measured at scale 2^{} (tract cannot run this model in float; the scale was chosen on the quantized evaluation alone)",
            r.scale_bits
        );
        return;
    }
    outln!(
        "fidelity over {} samples at scale 2^{}:",
        r.samples,
        r.scale_bits
    );
    for o in &r.outputs {
        let agree = o
            .argmax_agreement
            .map(|a| format!(", argmax agreement {a}/{}", r.samples))
            .unwrap_or_default();
        outln!(
            "  {}: max |error| {:.6}, mean |error| {:.6}{agree}",
            o.name,
            o.max_abs_error,
            o.mean_abs_error
        );
    }
}
