//! EZKL as an optional peer row: when the Python package `ezkl` is importable, its pipeline
//! (gen-settings, calibrate, compile, SRS, setup; then prove and verify per repetition, each
//! in a fresh Python process) runs on the same ONNX model and input, and its row sits beside
//! ours. Absent, the harness says how to install it and goes on.
//!
//! The Python interpreter is `$ZKMLOPS_PYTHON` or `python3`. EZKL's weights visibility follows
//! ours: committed -> `hashed` (its way of binding weights), private -> `private`, public ->
//! `fixed` (baked into the circuit). The SRS comes from `ezkl.gen_srs` (generated locally:
//! nothing is downloaded, and a deployment would use a ceremony's SRS instead).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use indicatif::ProgressBar;
use serde_json::Value;
use zkmlops_tensor::Visibility;

use crate::{Matrix, Outcome, Row, Stats, Workload, visibility_name};

/// The Python script run for each phase.
const SCRIPT: &str = include_str!("ezkl_bench.py");

/// The backend id of EZKL's rows.
pub const ID: &str = "ezkl";
/// The preset label of EZKL's rows.
pub const PRESET: &str = "kzg-bn254";

fn python() -> String {
    std::env::var("ZKMLOPS_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// EZKL's version when it can be imported, else why not (with how to install it).
///
/// # Errors
/// The reason, as a sentence.
pub fn available() -> Result<String, String> {
    let py = python();
    let out = Command::new(&py)
        .args([
            "-c",
            "import ezkl; print(getattr(ezkl, '__version__', 'unknown'))",
        ])
        .output()
        .map_err(|e| {
            format!("no Python interpreter `{py}` ({e}); install Python 3 and `pip install ezkl`")
        })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(format!(
            "the Python package `ezkl` is not importable by `{py}`; install it with `pip install ezkl` (or set ZKMLOPS_PYTHON)"
        ))
    }
}

/// EZKL's name for a weights visibility.
#[must_use]
pub fn param_visibility(v: Visibility) -> &'static str {
    match v {
        Visibility::Public => "fixed",
        Visibility::Private => "private",
        _ => "hashed",
    }
}

fn phase(work: &Path, phase: &str, model: &Path, input: &Path, vis: &str) -> Result<Value, String> {
    let script = work.join("ezkl_bench.py");
    let out = Command::new(python())
        .arg(&script)
        .arg(phase)
        .arg(work)
        .arg(model)
        .arg(input)
        .arg(vis)
        .output()
        .map_err(|e| format!("{phase}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            format!(
                "{phase}: {}",
                stderr.lines().last().unwrap_or("no output").trim()
            )
        })
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn stats(values: &[Value], key: &str) -> Option<Stats> {
    let v: Vec<f64> = values.iter().filter_map(|x| num(x, key)).collect();
    (v.len() == values.len()).then(|| Stats::of(&v)).flatten()
}

/// Run EZKL's row for an ONNX workload with weights of `weights` visibility.
#[must_use]
pub fn run_cell(
    dir: &Path,
    workload: &Workload,
    weights: Visibility,
    matrix: &Matrix,
    pb: &ProgressBar,
) -> Row {
    let mut row = Row::new(
        workload.label(),
        None,
        ID.into(),
        PRESET.into(),
        Some(visibility_name(weights).into()),
        Outcome::Ok,
    );
    row.zero_knowledge = Some(true);
    row.transparent = Some(false);
    row.post_quantum = Some(false);
    let Workload::Onnx { model, input, .. } = workload else {
        row.outcome = Outcome::Unsupported("EZKL proves ONNX models only".into());
        return row;
    };
    let work = dir.join(format!(
        "ezkl-{}-{}",
        workload.label(),
        visibility_name(weights)
    ));
    if let Err(e) = std::fs::create_dir_all(&work)
        .and_then(|()| std::fs::write(work.join("ezkl_bench.py"), SCRIPT))
    {
        row.outcome = Outcome::Failed(e.to_string());
        return row;
    }
    let vis = param_visibility(weights);
    pb.set_message("gen-settings, calibrate, compile, SRS, setup");
    let setup = match phase(&work, "setup", model, input, vis) {
        Ok(s) => s,
        Err(e) => {
            row.outcome = Outcome::Failed(e);
            return row;
        }
    };
    let mut proves = Vec::new();
    let mut verifies = Vec::new();
    for rep in 0..matrix.warmup + matrix.runs {
        pb.set_message(format!("repetition {}: proving", rep + 1));
        let p = match phase(&work, "prove", model, input, vis) {
            Ok(p) => p,
            Err(e) => {
                row.outcome = Outcome::Failed(e);
                break;
            }
        };
        pb.set_message(format!("repetition {}: verifying", rep + 1));
        let v = match phase(&work, "verify", model, input, vis) {
            Ok(v) if v.get("verified").and_then(Value::as_bool) == Some(true) => v,
            Ok(_) => {
                row.outcome = Outcome::Failed("EZKL's verify returned false".into());
                break;
            }
            Err(e) => {
                row.outcome = Outcome::Failed(e);
                break;
            }
        };
        if rep >= matrix.warmup {
            proves.push(p);
            verifies.push(v);
        }
    }
    let _ = std::fs::remove_dir_all(&work);
    row.runs = proves.len();
    row.setup_ms = num(&setup, "setup_ms").and_then(|s| Stats::of(&[s]));
    row.setup = Some("KZG SRS (gen_srs, local) and proving/verifying keys".into());
    row.prove_ms = stats(&proves, "prove_ms");
    row.verify_ms = stats(&verifies, "verify_ms");
    row.proof_bytes = stats(&proves, "proof_bytes");
    row.file_bytes = stats(&proves, "file_bytes");
    row.prove_peak_rss_mb = stats(&proves, "peak_rss_mb");
    row.verify_peak_rss_mb = stats(&verifies, "peak_rss_mb");
    let mut extra = BTreeMap::new();
    for key in ["calibrate_ms", "srs_ms", "keygen_ms"] {
        if let Some(s) = num(&setup, key).and_then(|x| Stats::of(&[x])) {
            extra.insert(key.to_string(), s);
        }
    }
    row.extra = extra;
    let mb =
        |key: &str| num(&setup, key).map_or_else(|| "?".into(), |b| format!("{:.1} MB", b / 1e6));
    row.note = Some(format!(
        "ezkl {}, params {vis}, logrows {}, input scale {}; proving key {}, verifying key {}, SRS {}; BN254 pairing security is estimated near 100 bits, not computed here",
        setup
            .get("ezkl_version")
            .and_then(Value::as_str)
            .unwrap_or("?"),
        num(&setup, "logrows").map_or_else(|| "?".into(), |l| format!("{l}")),
        num(&setup, "scale").map_or_else(|| "?".into(), |l| format!("{l}")),
        mb("pk_bytes"),
        mb("vk_bytes"),
        mb("srs_bytes"),
    ));
    row
}
