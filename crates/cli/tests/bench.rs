//! `zkmlops bench` end to end: its figures agree with a direct `zkmlops prove` / `verify` of
//! the same cell; every output (Markdown, CSV, JSON, plots, `--compare`) is written; cells a
//! preset cannot prove are reported as such; EZKL's row appears when it is installed.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/models")
}

fn zkmlops(args: &[&str]) -> (bool, String, String) {
    let out = Command::cargo_bin("zkmlops")
        .unwrap()
        .arg("--quiet")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A directory holding one bundled model and its input.
fn one_model(dir: &Path, name: &str) -> PathBuf {
    let d = dir.join("models");
    std::fs::create_dir_all(&d).unwrap();
    for f in [format!("{name}.onnx"), format!("{name}.input.json")] {
        std::fs::copy(models().join(&f), d.join(&f)).unwrap();
    }
    d
}

fn median(row: &Value, metric: &str) -> f64 {
    row[metric]["median"]
        .as_f64()
        .unwrap_or_else(|| panic!("{metric} in {row}"))
}

fn rows(json: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    assert_eq!(v["schema"], "zkmlops-bench/v1");
    v["rows"].as_array().unwrap().clone()
}

/// Within `factor` either way, or `slack_ms` apart (timings on a shared 2-core machine).
fn close(a: f64, b: f64, factor: f64, slack_ms: f64) -> bool {
    (a - b).abs() <= slack_ms || (a / b <= factor && b / a <= factor)
}

#[test]
fn bench_agrees_with_a_direct_prove_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let m = one_model(dir.path(), "cnn");
    let (json, md, csv, plots) = (
        dir.path().join("out.json"),
        dir.path().join("out.md"),
        dir.path().join("out.csv"),
        dir.path().join("plots"),
    );
    let (ok, stdout, stderr) = zkmlops(&[
        "bench",
        "--models",
        s(&m),
        "--backends",
        "fri",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--no-ezkl",
        "--json",
        s(&json),
        "--markdown",
        s(&md),
        "--csv",
        s(&csv),
        "--plots",
        s(&plots),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let rows = rows(&json);
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = &rows[0];
    assert_eq!(row["status"], "ok", "{row}");
    assert_eq!(row["workload"], "cnn");
    assert_eq!(row["weights"], "committed");
    assert_eq!(row["runs"], 2);

    // The same cell directly: the CLI's defaults (weights committed, hiding preset).
    let proof = dir.path().join("p.zkp");
    let (ok, out, err) = zkmlops(&[
        "prove",
        s(&m.join("cnn.onnx")),
        "--input",
        s(&m.join("cnn.input.json")),
        "-o",
        s(&proof),
    ]);
    assert!(ok, "{err}");
    let first = out.lines().next().unwrap();
    let prove_ms: f64 = first
        .split(" in ")
        .nth(1)
        .and_then(|t| t.split(" ms").next())
        .unwrap()
        .parse()
        .unwrap();
    let proof_bytes: f64 = first
        .split(": ")
        .nth(1)
        .and_then(|t| t.split(" proof bytes").next())
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        first.contains(&format!("{} conjectured bits", row["conjectured_bits"])),
        "{first} / {row}"
    );
    assert!(
        first.contains(row["preset"].as_str().unwrap()),
        "{first} / {row}"
    );
    let (ok, out, err) = zkmlops(&[
        "verify",
        s(&proof),
        "--model",
        s(&m.join("cnn.onnx")),
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let verify_ms = v["verify_ms"].as_f64().unwrap();
    let file_bytes = std::fs::metadata(&proof).unwrap().len() as f64;

    // Sizes agree within the variation of one proof to the next (varint-encoded field
    // elements); times within noise.
    let rel = |a: f64, b: f64| (a - b).abs() / b;
    assert!(
        rel(median(row, "proof_bytes"), proof_bytes) < 0.03,
        "{row} vs {proof_bytes}"
    );
    assert!(
        rel(median(row, "file_bytes"), file_bytes) < 0.03,
        "{row} vs {file_bytes}"
    );
    assert!(
        close(median(row, "prove_ms"), prove_ms, 3.0, 300.0),
        "{row} vs {prove_ms}"
    );
    assert!(
        close(median(row, "verify_ms"), verify_ms, 3.0, 100.0),
        "{row} vs {verify_ms}"
    );
    assert!(median(row, "prove_peak_rss_mb") > 1.0);

    // Every output: the table (with the command above it), CSV, plots.
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(md.starts_with("Command: `zkmlops"), "{md}");
    assert!(md.contains("| cnn |") && md.contains("| fri |"), "{md}");
    assert_eq!(md, stdout, "the table printed is the table written");
    let csv = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert_eq!(
        lines[0].split(',').count(),
        lines[1].split(',').count(),
        "{csv}"
    );
    for f in [
        "prove_time.svg",
        "proof_size.svg",
        "verify_time.svg",
        "prover_memory.svg",
    ] {
        let svg = std::fs::read_to_string(plots.join(f)).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"),
            "{f}"
        );
        assert!(svg.contains("fri keccak-zk committed"), "{f}: legend");
    }
}

#[test]
fn bench_runs_every_backend_reports_unsupported_cells_and_compares() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("a.json");
    let (ok, stdout, stderr) = zkmlops(&[
        "bench",
        "--workloads",
        "gemm:8x4,train:16x3",
        "--backends",
        "all",
        "--presets",
        "default",
        "--visibility",
        "private",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--json",
        s(&json),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let rows = rows(&json);
    let find = |w: &str, b: &str| {
        rows.iter()
            .find(|r| r["workload"] == w && r["backend"] == b)
            .unwrap_or_else(|| panic!("{w} {b} in {rows:?}"))
    };
    for b in ["fri", "plonky2", "halo2"] {
        let r = find("gemm:8x4", b);
        assert_eq!(r["status"], "ok", "{r}");
        assert_eq!(r["weights"], "private");
        assert_eq!(
            r["work"],
            8 * 4 + 4,
            "MACs plus the rescale's elements: {r}"
        );
        assert!(median(r, "proof_bytes") > 0.0 && median(r, "verify_ms") > 0.0);
    }
    // Key building is timed apart where a backend has any.
    assert!(find("gemm:8x4", "halo2")["setup_ms"].is_object());
    assert!(find("gemm:8x4", "fri")["setup_ms"].is_null());
    assert_eq!(find("gemm:8x4", "halo2")["post_quantum"], false);
    assert_eq!(find("gemm:8x4", "plonky2")["post_quantum"], true);
    // Training links zkmlops-commit lineage commitments: halo2 declares another scheme.
    assert_eq!(find("train:16x3", "fri")["status"], "ok");
    let h = find("train:16x3", "halo2");
    assert_eq!(h["status"], "unsupported", "{h}");
    assert!(h["reason"].as_str().unwrap().contains("lineage"), "{h}");
    assert!(stdout.contains("unsupported: the stage links"), "{stdout}");

    // --compare: a result against itself is 1.00x everywhere it ran.
    let (ok, out, err) = zkmlops(&["bench", "--compare", s(&json), s(&json)]);
    assert!(ok, "{err}");
    assert!(
        out.contains("| gemm:8x4 | halo2 ipa | private | 1.00x |"),
        "{out}"
    );
    assert!(!out.contains("only in"), "{out}");
}

#[test]
fn bench_refuses_what_it_cannot_run_in_one_sentence() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (vec!["bench"], "at least one model or workload"),
        (vec!["bench", "--workloads", "cnn"], "workload `cnn`"),
        (
            vec!["bench", "--workloads", "gemm:8x4", "--backends", "nope"],
            "nope",
        ),
        (
            vec!["bench", "--workloads", "gemm:8x4", "--visibility", "hidden"],
            "--visibility `hidden`",
        ),
    ] {
        let (ok, _, err) = zkmlops(&args);
        assert!(!ok);
        let line = err.trim();
        assert!(
            line.starts_with("error: ") && line.contains(needle),
            "{line}"
        );
        assert_eq!(line.lines().count(), 1, "{line}");
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"schema":"something-else/v9","rows":[]}"#).unwrap();
    let (ok, _, err) = zkmlops(&["bench", "--compare", s(&bad), s(&bad)]);
    assert!(!ok && err.contains("zkmlops-bench/v1"), "{err}");
}

/// EZKL's row, when the `ezkl` Python package is importable (else skipped, saying why).
#[test]
fn bench_puts_ezkl_beside_our_rows_when_installed() {
    if let Err(reason) = zkmlops_bench::ezkl::available() {
        eprintln!("skipped: {reason}");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let m = one_model(dir.path(), "logreg");
    let json = dir.path().join("out.json");
    let (ok, stdout, stderr) = zkmlops(&[
        "bench",
        "--models",
        s(&m),
        "--backends",
        "fri",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--json",
        s(&json),
    ]);
    assert!(ok, "{stdout}\n{stderr}");
    let rows = rows(&json);
    let ezkl = rows
        .iter()
        .find(|r| r["backend"] == "ezkl")
        .unwrap_or_else(|| panic!("no EZKL row: {rows:?}"));
    assert_eq!(ezkl["status"], "ok", "{ezkl}");
    assert_eq!(ezkl["transparent"], false);
    assert_eq!(ezkl["post_quantum"], false);
    assert!(median(ezkl, "proof_bytes") > 0.0 && median(ezkl, "setup_ms") > 0.0);
    assert!(
        stdout.contains("| logreg |") && stdout.contains("| ezkl |"),
        "{stdout}"
    );
}
