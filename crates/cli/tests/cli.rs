//! The `zkmlops` binary end to end: compile -> prove -> verify, and every way a user can get
//! it wrong gives one clear sentence and a non-zero exit.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn models() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/models")
}

fn ops(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../onnx/tests/models/{name}.onnx"))
}

fn zkmlops() -> Command {
    let mut c = Command::cargo_bin("zkmlops").unwrap();
    c.arg("--quiet");
    // No plonky2 key directory unless a test gives one (`--key-cache`): tests leave no files
    // in the user's cache.
    c.env("ZKMLOPS_KEY_CACHE", "off");
    c
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Run {
    let out = zkmlops().args(args).output().unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A failure: non-zero exit and one line on stderr starting with `error:` that contains
/// `needle` (never a panic or a debug dump).
fn fails_with(r: &Run, needle: &str) {
    assert!(!r.ok, "expected failure, got stdout {}", r.stdout);
    let line = r.stderr.trim();
    assert!(line.starts_with("error: "), "{line}");
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(!line.contains("panicked"), "{line}");
    assert!(line.contains(needle), "`{needle}` not in: {line}");
}

/// Compile (calibrated) and prove the bundled MLP into `dir`.
fn proved_mlp(dir: &Path) -> (PathBuf, PathBuf) {
    let m = models();
    let zkm = dir.join("mlp.zkm");
    let proof = dir.join("proof.json");
    let r = run(&[
        "compile",
        s(&m.join("mlp.onnx")),
        "--calibrate",
        s(&m.join("mlp.data.json")),
        "-o",
        s(&zkm),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("argmax agreement 64/64"), "{}", r.stdout);
    // `--max-scale auto`: no lookup table, so the most precise scale.
    assert!(r.stdout.contains("scale 2^16"), "{}", r.stdout);
    let r = run(&[
        "prove",
        s(&zkm),
        "--input",
        s(&m.join("mlp.input.json")),
        "-o",
        s(&proof),
    ]);
    assert!(r.ok, "{}", r.stderr);
    (zkm, proof)
}

/// A proof file as JSON: a binary stage file through `zkmlops inspect --json`.
fn stage_json(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    if bytes.starts_with(b"ZKMS") {
        let r = run(&["inspect", s(path), "--json"]);
        assert!(r.ok, "{}", r.stderr);
        serde_json::from_str(&r.stdout).unwrap()
    } else {
        serde_json::from_slice(&bytes).unwrap()
    }
}

/// Edit a proof file's JSON form (a binary stage file is converted) into `dst` (JSON).
fn edit_json(src: &Path, dst: &Path, f: impl FnOnce(&mut Value)) {
    let mut v = stage_json(src);
    f(&mut v);
    std::fs::write(dst, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn compile_prove_verify_inspect_and_fidelity() {
    let dir = tempfile::tempdir().unwrap();
    let (zkm, proof) = proved_mlp(dir.path());

    let r = run(&["verify", s(&proof), "--model", s(&zkm)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("verified: inference proof"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("post-quantum yes"), "{}", r.stdout);

    let r = run(&["verify", s(&proof), "--model", s(&zkm), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["stage"], "inference");
    assert_eq!(v["outputs"][0]["shape"], serde_json::json!([1, 10]));
    assert_eq!(v["outputs"][0]["values"].as_array().unwrap().len(), 10);
    assert!(v["params"]["conjectured_security_bits"].as_u64().unwrap() >= 100);
    assert_eq!(v["params"]["post_quantum"], true);
    assert!(v["input"].is_null(), "the input is private by default");

    let r = run(&["inspect", s(&proof), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let i: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(i["backend"], "fri");
    assert_eq!(i["program_digest"], v["program_digest"]);
    assert!(i["proof_bytes"].as_u64().unwrap() > 1000);

    let r = run(&[
        "fidelity",
        s(&zkm),
        "--data",
        s(&models().join("mlp.data.json")),
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let f: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(f["samples"], 64);
    assert_eq!(f["outputs"][0]["argmax_agreement"], 64);
    assert!(f["outputs"][0]["max_abs_error"].as_f64().unwrap() < 0.05);
}

#[test]
fn onnx_directly_and_public_input_and_zero_knowledge() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let proof = dir.path().join("p.json");
    let onnx = m.join("cnn.onnx");
    let r = run(&[
        "prove",
        s(&onnx),
        "--input",
        s(&m.join("cnn.input.json")),
        "--visibility",
        "input=public",
        "--zk",
        "-o",
        s(&proof),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&[
        "verify",
        s(&proof),
        "--model",
        s(&onnx),
        "--visibility",
        "input=public",
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["params"]["zero_knowledge"], true);
    assert_eq!(v["input"]["shape"], serde_json::json!([1, 1, 8, 8]));
    // The same proof against the model compiled with a private input is another statement.
    let r = run(&["verify", s(&proof), "--model", s(&onnx)]);
    fails_with(&r, "proof rejected");
}

/// `prove` writes the binary envelope unless the name ends in `.json` (or `--format` says
/// otherwise); `verify` and `inspect` read both forms; the binary file is half the JSON one; a
/// flipped byte or a truncated binary file is one clear sentence.
#[test]
fn proof_files_are_binary_by_default_and_json_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let (zkm, json) = proved_mlp(dir.path());
    let input = models().join("mlp.input.json");
    let prove = |out: &Path, extra: &[&str]| {
        let mut args = vec!["prove", s(&zkm), "--input", s(&input), "-o", s(out)];
        args.extend_from_slice(extra);
        let r = run(&args);
        assert!(r.ok, "{}", r.stderr);
        assert!(r.stdout.contains(s(out)), "{}", r.stdout);
    };
    let bin = dir.path().join("proof.zkp");
    prove(&bin, &[]);
    let bytes = std::fs::read(&bin).unwrap();
    assert!(bytes.starts_with(b"ZKMV"), "a binary envelope");
    let json_len = std::fs::metadata(&json).unwrap().len();
    assert!(
        (bytes.len() as u64) * 3 < json_len * 2,
        "binary {} vs JSON {json_len} bytes",
        bytes.len()
    );
    let forced = dir.path().join("forced.zkp");
    prove(&forced, &["--format", "json"]);
    assert!(std::fs::read(&forced).unwrap().starts_with(b"{"));
    let forced = dir.path().join("forced.json");
    prove(&forced, &["--format", "binary"]);
    assert!(std::fs::read(&forced).unwrap().starts_with(b"ZKMV"));

    for file in [&bin, &forced] {
        let r = run(&["verify", s(file), "--model", s(&zkm)]);
        assert!(r.ok, "{}", r.stderr);
        assert!(
            r.stdout.contains("verified: inference proof"),
            "{}",
            r.stdout
        );
        let r = run(&["inspect", s(file), "--json"]);
        assert!(r.ok, "{}", r.stderr);
        let i: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(i["backend"], "fri");
    }

    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    let bad = dir.path().join("bad.zkp");
    std::fs::write(&bad, &flipped).unwrap();
    fails_with(
        &run(&["verify", s(&bad), "--model", s(&zkm)]),
        "proof rejected",
    );
    std::fs::write(&bad, &bytes[..bytes.len() - 7]).unwrap();
    let r = run(&["verify", s(&bad), "--model", s(&zkm)]);
    assert!(!r.ok);
    assert!(r.stderr.trim().starts_with("error: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn tampered_proof_byte_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (zkm, proof) = proved_mlp(dir.path());
    let bad = dir.path().join("bad.json");
    edit_json(&proof, &bad, |v| {
        let p = v["proof"].as_str().unwrap().to_string();
        let mid = p.len() / 2;
        let flipped = if &p[mid..=mid] == "0" { "1" } else { "0" };
        v["proof"] = Value::String(format!("{}{flipped}{}", &p[..mid], &p[mid + 1..]));
    });
    fails_with(
        &run(&["verify", s(&bad), "--model", s(&zkm)]),
        "proof rejected",
    );
    let r = run(&["verify", s(&bad), "--model", s(&zkm), "--json"]);
    assert!(!r.ok);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], false);
    assert!(v["error"].as_str().unwrap().contains("proof rejected"));
}

#[test]
fn changed_output_claim_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (zkm, proof) = proved_mlp(dir.path());
    let bad = dir.path().join("bad.json");
    edit_json(&proof, &bad, |v| {
        let x = v["statement"]["public"][0]["values"][0].as_i64().unwrap();
        v["statement"]["public"][0]["values"][0] = Value::from(x + 1);
    });
    fails_with(
        &run(&["verify", s(&bad), "--model", s(&zkm)]),
        "proof rejected",
    );
}

#[test]
fn proof_against_a_different_model_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let (_, proof) = proved_mlp(dir.path());
    let other = models().join("cnn.onnx");
    fails_with(
        &run(&["verify", s(&proof), "--model", s(&other)]),
        "statement is for program",
    );
}

#[test]
fn weak_policy_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (zkm, proof) = proved_mlp(dir.path());
    fails_with(
        &run(&["verify", s(&proof), "--model", s(&zkm), "--min-bits", "200"]),
        "security",
    );
}

#[test]
fn malformed_and_unsupported_models_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.zkm");
    fails_with(
        &run(&["compile", s(&ops("malformed")), "-o", s(&out)]),
        "not a valid ONNX model",
    );
    fails_with(
        &run(&["compile", s(&ops("unsupported_unique")), "-o", s(&out)]),
        "operator `Unique` (node `unique_y`) is not supported",
    );
    fails_with(
        &run(&["compile", "/nonexistent/model.onnx", "-o", s(&out)]),
        "cannot access",
    );
    fails_with(
        &run(&[
            "compile",
            s(&ops("conv_batch_norm_mismatch")),
            "-o",
            s(&out),
        ]),
        "BatchNormalization whose parameter count differs",
    );
}

#[test]
fn malformed_inputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let onnx = m.join("mlp.onnx");
    let out = dir.path().join("p.json");
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let prove = |input: &Path| run(&["prove", s(&onnx), "--input", s(input), "-o", s(&out)]);
    fails_with(
        &prove(&write("a.json", "{\"input_data\": [[1, 2,")),
        "is not a valid input file",
    );
    fails_with(
        &prove(&write("b.json", "{\"data\": [[1]]}")),
        "is not a valid input file",
    );
    fails_with(
        &prove(&write("c.json", "{\"input_data\": []}")),
        "holds no input samples",
    );
    fails_with(
        &prove(&write("d.json", "{\"input_data\": [[1, 2, 3]]}")),
        "3 values given",
    );
    // Numbers JSON cannot hold, values past the fixed-point range, values past the input's
    // declared bound (24 bits at scale 2^10: +-8192).
    fails_with(
        &prove(&write("f.json", "{\"input_data\": [[1e999]]}")),
        "is not a valid input file",
    );
    let sixty_four = |v: &str| format!("{{\"input_data\": [[{}]]}}", vec![v; 64].join(", "));
    let r = prove(&write("g.json", &sixty_four("1e300")));
    fails_with(&r, "input");
    let r = prove(&write("h.json", &sixty_four("10000.0")));
    fails_with(&r, "declared bound");
    fails_with(
        &run(&[
            "prove",
            s(&onnx),
            "--input",
            s(&m.join("mlp.input.json")),
            "--sample",
            "5",
            "-o",
            s(&out),
        ]),
        "sample 5 does not exist",
    );
    fails_with(
        &run(&[
            "verify",
            s(&write("e.json", "not json")),
            "--model",
            s(&onnx),
        ]),
        "is not a proof file",
    );
    fails_with(
        &run(&[
            "prove",
            s(&onnx),
            "--input",
            s(&m.join("mlp.input.json")),
            "--visibility",
            "input=secret",
            "-o",
            s(&out),
        ]),
        "invalid --visibility",
    );
}

#[test]
fn commitment_published_then_checked_and_another_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let onnx = m.join("cnn.onnx");
    let owner = dir.path().join("commitment.json");
    let r = run(&["commit", s(&onnx), "-o", s(&owner)]);
    assert!(r.ok, "{}", r.stderr);
    let c: Value = serde_json::from_slice(&std::fs::read(&owner).unwrap()).unwrap();
    assert_eq!(c["commitment"].as_str().unwrap().len(), 64);
    assert_eq!(c["salt"].as_array().unwrap().len(), 4);
    // What the owner publishes: the commitment and program digest, not the salt.
    let published = dir.path().join("published.json");
    edit_json(&owner, &published, |v| {
        v.as_object_mut().unwrap().remove("salt");
    });

    let proof = dir.path().join("p.json");
    let r = run(&[
        "prove",
        s(&onnx),
        "--input",
        s(&m.join("cnn.input.json")),
        "--commitment",
        s(&owner),
        "-o",
        s(&proof),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&[
        "verify",
        s(&proof),
        "--model",
        s(&onnx),
        "--commitment",
        s(&published),
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["commitment"], c["commitment"]);
    assert_eq!(
        v["params"]["zero_knowledge"], true,
        "hidden weights: zk by default"
    );

    // Another commitment of the same model (a fresh salt) is not the one the proof is tied to.
    let other = dir.path().join("other.json");
    assert!(run(&["commit", s(&onnx), "-o", s(&other)]).ok);
    fails_with(
        &run(&[
            "verify",
            s(&proof),
            "--model",
            s(&onnx),
            "--commitment",
            s(&other),
        ]),
        "not the published",
    );
    // A published file has no salt to prove with.
    fails_with(
        &run(&[
            "prove",
            s(&onnx),
            "--input",
            s(&m.join("cnn.input.json")),
            "--commitment",
            s(&published),
            "-o",
            s(&proof),
        ]),
        "holds no salt",
    );
}

#[test]
fn train_prove_verify_and_eval_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../train/data");
    let spec = dir.path().join("train.toml");
    std::fs::write(
        &spec,
        "model = \"logistic\"\nfeatures = 30\nbatch = 32\nlearning_rate = 0.5\nscale_bits = 10\nepochs = 1\nsteps_per_segment = 7\n",
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let r = run(&[
        "train",
        "prove",
        "--spec",
        s(&spec),
        "--data",
        s(&data.join("breast_cancer_train.csv")),
        "-o",
        s(&run_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["train", "verify", s(&run_dir), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["segments"], 2);

    // A transcript claiming another final commitment is rejected.
    let transcript = run_dir.join("transcript.zkp");
    assert!(std::fs::read(&transcript).unwrap().starts_with(b"ZKMS"));
    let bad = dir.path().join("bad.json");
    edit_json(&transcript, &bad, |t| {
        t["final_commitment"] = t["initial_commitment"].clone();
    });
    fails_with(
        &run(&["train", "verify", s(&bad)]),
        "not the claimed final commitment",
    );

    let metrics = dir.path().join("metrics.zkp");
    let r = run(&[
        "eval",
        "prove",
        "--run",
        s(&run_dir),
        "--data",
        s(&data.join("breast_cancer_test.csv")),
        "-o",
        s(&metrics),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["eval", "verify", s(&metrics), "--run", s(&run_dir)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("/ 114 correct"), "{}", r.stdout);
    let off = dir.path().join("off.json");
    edit_json(&metrics, &off, |m| {
        let c = m["correct"].as_u64().unwrap();
        m["correct"] = Value::from(c + 1);
    });
    fails_with(&run(&["eval", "verify", s(&off)]), "claimed");

    // Linear regression on a real-valued target (the identity link).
    let linear = dir.path().join("linear.toml");
    std::fs::write(
        &linear,
        "model = \"linear\"\nfeatures = 10\nbatch = 32\nlearning_rate = 0.1\nscale_bits = 12\nepochs = 1\n",
    )
    .unwrap();
    let lin_dir = dir.path().join("linear_run");
    let r = run(&[
        "train",
        "prove",
        "--spec",
        s(&linear),
        "--data",
        s(&data.join("diabetes_train.csv")),
        "-o",
        s(&lin_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("mean squared error"), "{}", r.stdout);
    let r = run(&["train", "verify", s(&lin_dir)]);
    assert!(r.ok, "{}", r.stderr);

    // Softmax regression on a digits subset (128 rows: 4 steps), then its argmax accuracy.
    let digits = std::fs::read_to_string(data.join("digits_train.csv")).unwrap();
    let subset: String = digits.lines().take(129).map(|l| format!("{l}\n")).collect();
    let sub = dir.path().join("digits128.csv");
    std::fs::write(&sub, subset).unwrap();
    let test_subset: String = std::fs::read_to_string(data.join("digits_test.csv"))
        .unwrap()
        .lines()
        .take(61)
        .map(|l| format!("{l}\n"))
        .collect();
    let sub_test = dir.path().join("digits_test60.csv");
    std::fs::write(&sub_test, test_subset).unwrap();
    let softmax = dir.path().join("softmax.toml");
    std::fs::write(
        &softmax,
        "model = \"softmax\"\nfeatures = 64\nclasses = 10\nbatch = 32\nlearning_rate = 0.5\nscale_bits = 10\nepochs = 1\nsteps_per_segment = 2\n",
    )
    .unwrap();
    let sm_dir = dir.path().join("softmax_run");
    let r = run(&[
        "train",
        "prove",
        "--spec",
        s(&softmax),
        "--data",
        s(&sub),
        "-o",
        s(&sm_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["train", "verify", s(&sm_dir), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["segments"], 2);
    let sm_metrics = dir.path().join("softmax_metrics.json");
    let r = run(&[
        "eval",
        "prove",
        "--run",
        s(&sm_dir),
        "--data",
        s(&sub_test),
        "-o",
        s(&sm_metrics),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["eval", "verify", s(&sm_metrics), "--run", s(&sm_dir)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("/ 60 correct"), "{}", r.stdout);

    // A spec the stage does not support is one clear sentence.
    let bad_spec = dir.path().join("bad.toml");
    std::fs::write(
        &bad_spec,
        "model = \"mlp\"\nfeatures = 30\nbatch = 32\nlearning_rate = 0.5\nscale_bits = 10\n",
    )
    .unwrap();
    fails_with(
        &run(&[
            "train",
            "prove",
            "--spec",
            s(&bad_spec),
            "--data",
            s(&data.join("breast_cancer_train.csv")),
            "-o",
            s(&run_dir),
        ]),
        "model `mlp` needs `hidden` >= 1",
    );
}

/// A trained MLP exported to ONNX proves inferences under the run's final commitment: the
/// exported weights import exactly, the outputs match the float forward pass of the trained
/// weights, and another commitment is refused.
#[test]
fn an_exported_mlp_proves_under_the_run_final_commitment() {
    let dir = tempfile::tempdir().unwrap();
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../train/data");
    let train: String = std::fs::read_to_string(data.join("breast_cancer_train.csv"))
        .unwrap()
        .lines()
        .take(65)
        .map(|l| format!("{l}\n"))
        .collect();
    let train_csv = dir.path().join("train64.csv");
    std::fs::write(&train_csv, &train).unwrap();
    let spec = dir.path().join("mlp.toml");
    std::fs::write(
        &spec,
        "model = \"mlp\"\nfeatures = 30\nhidden = 8\nclasses = 2\nbatch = 32\nlearning_rate = 0.5\nscale_bits = 10\nseed = 3\n",
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let r = run(&[
        "train",
        "prove",
        "--spec",
        s(&spec),
        "--data",
        s(&train_csv),
        "-o",
        s(&run_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let onnx = dir.path().join("model.onnx");
    let r = run(&["train", "export", "--run", s(&run_dir), "-o", s(&onnx)]);
    assert!(r.ok, "{}", r.stderr);
    let settings = dir.path().join("model.settings.json");
    let commitment = dir.path().join("model.commitment.json");
    let t = stage_json(&run_dir.join("transcript.zkp"));
    let c: Value = serde_json::from_slice(&std::fs::read(&commitment).unwrap()).unwrap();
    assert_eq!(c["commitment"], t["final_commitment"]);

    // One row of the data, proved and verified under the published commitment.
    let row: Vec<f64> = train
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .take(30)
        .map(|v| v.parse().unwrap())
        .collect();
    let input = dir.path().join("x.json");
    std::fs::write(
        &input,
        serde_json::json!({ "input_data": [row.clone()] }).to_string(),
    )
    .unwrap();
    let proof = dir.path().join("p.zkp");
    let r = run(&[
        "prove",
        s(&onnx),
        "--settings",
        s(&settings),
        "--commitment",
        s(&commitment),
        "--input",
        s(&input),
        "--transparent",
        "-o",
        s(&proof),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let final_commitment = t["final_commitment"].as_str().unwrap();
    assert!(
        r.stdout
            .contains(&format!("model commitment {final_commitment}")),
        "{}",
        r.stdout
    );
    let r = run(&[
        "verify",
        s(&proof),
        "--model",
        s(&onnx),
        "--settings",
        s(&settings),
        "--commitment",
        s(&commitment),
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let proved: Vec<f64> = v["outputs"][0]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    // The float forward pass of the trained (quantized) weights.
    let m: Value =
        serde_json::from_slice(&std::fs::read(run_dir.join("model.json")).unwrap()).unwrap();
    let p: Vec<Vec<f64>> = m["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            t.as_array()
                .unwrap()
                .iter()
                .map(|q| q.as_f64().unwrap() / 1024.0)
                .collect()
        })
        .collect();
    let hidden: Vec<f64> = (0..8)
        .map(|j| (p[1][j] + (0..30).map(|i| row[i] * p[0][i * 8 + j]).sum::<f64>()).max(0.0))
        .collect();
    let logits: Vec<f64> = (0..2)
        .map(|k| p[3][k] + (0..8).map(|j| hidden[j] * p[2][j * 2 + k]).sum::<f64>())
        .collect();
    let z: f64 = logits
        .iter()
        .map(|l| (l - logits[0].max(logits[1])).exp())
        .sum();
    for (k, l) in logits.iter().enumerate() {
        let want = (l - logits[0].max(logits[1])).exp() / z;
        assert!(
            (proved[k] - want).abs() < 0.02,
            "class {k}: {} vs {want}",
            proved[k]
        );
    }
    // Another commitment (the run's initial one) is refused.
    let other = dir.path().join("other.json");
    edit_json(&commitment, &other, |c| {
        c["commitment"] = t["initial_commitment"].clone();
    });
    let r = run(&[
        "verify",
        s(&proof),
        "--model",
        s(&onnx),
        "--settings",
        s(&settings),
        "--commitment",
        s(&other),
    ]);
    assert!(!r.ok);
}

#[test]
fn preprocess_then_train_and_eval_on_the_processed_commitments() {
    let dir = tempfile::tempdir().unwrap();
    let ex = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/preprocess");
    let prep = dir.path().join("prep");
    let r = run(&[
        "preprocess",
        "prove",
        "--pipeline",
        s(&ex.join("pipeline.toml")),
        "--data",
        s(&ex.join("breast_cancer_raw.csv")),
        "--transparent",
        "-o",
        s(&prep),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["preprocess", "verify", s(&prep), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["train_rows"], 455);
    assert_eq!(v["test_rows"], 114);
    let train_commitment = v["train_commitment"].clone();
    let test_commitment = v["test_commitment"].clone();

    // The proof file is binary (`ZKMS`, docs/formats.md); `inspect` summarises it and prints
    // its JSON form, which verifies too and is about twice the bytes (the proof in hex).
    let bin = prep.join("proof.zkp");
    let bin_len = std::fs::metadata(&bin).unwrap().len();
    let r = run(&["inspect", s(&bin)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("preprocessing proof: binary stage file v1")
            && r.stdout.contains("1 proof envelope(s)"),
        "{}",
        r.stdout
    );
    let json = dir.path().join("prep_proof.json");
    std::fs::write(&json, serde_json::to_vec(&stage_json(&bin)).unwrap()).unwrap();
    let json_len = std::fs::metadata(&json).unwrap().len();
    assert!(json_len > bin_len * 9 / 5, "{json_len} vs {bin_len}");
    let r = run(&["preprocess", "verify", s(&json), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let w: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(w["train_commitment"], train_commitment);

    // Training on the processed split, with its salt, commits to the same dataset.
    let spec = dir.path().join("train.toml");
    std::fs::write(
        &spec,
        "model = \"logistic\"\nfeatures = 30\nbatch = 35\nlearning_rate = 0.5\nscale_bits = 8\nepochs = 1\n",
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let r = run(&[
        "train",
        "prove",
        "--spec",
        s(&spec),
        "--data",
        s(&prep.join("train.csv")),
        "--prep",
        s(&prep),
        "-o",
        s(&run_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["train", "verify", s(&run_dir), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let t: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(t["data_commitment"], train_commitment);
    // The spec took the pipeline output's `value_bits` (21): a spec declaring other bits
    // would commit to another dataset digest, and is refused by name before proving.
    let other = dir.path().join("train24.toml");
    std::fs::write(
        &other,
        "model = \"logistic\"\nfeatures = 30\nbatch = 35\nlearning_rate = 0.5\nscale_bits = 8\nvalue_bits = 24\nepochs = 1\n",
    )
    .unwrap();
    fails_with(
        &run(&[
            "train",
            "prove",
            "--spec",
            s(&other),
            "--data",
            s(&prep.join("train.csv")),
            "--prep",
            s(&prep),
            "-o",
            s(&dir.path().join("run24")),
        ]),
        "value_bits = 24, but the preprocessing output",
    );
    // A stage file handed to the inference verifier says which command verifies it.
    fails_with(
        &run(&[
            "verify",
            s(&prep.join("proof.zkp")),
            "--model",
            s(&models().join("mlp.onnx")),
        ]),
        "verify it with `zkmlops preprocess verify`",
    );
    // A stage file handed to another stage's verifier names both kinds.
    fails_with(
        &run(&["preprocess", "verify", s(&run_dir.join("transcript.zkp"))]),
        "holds a training transcript, not a preprocessing proof",
    );
    let metrics = dir.path().join("metrics.json");
    let r = run(&[
        "eval",
        "prove",
        "--run",
        s(&run_dir),
        "--data",
        s(&prep.join("test.csv")),
        "--prep",
        s(&prep),
        "-o",
        s(&metrics),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let m: Value = serde_json::from_slice(&std::fs::read(&metrics).unwrap()).unwrap();
    assert_eq!(m["test_commitment"], test_commitment);
    let r = run(&["eval", "verify", s(&metrics), "--run", s(&run_dir)]);
    assert!(r.ok, "{}", r.stderr);

    // Inference with the trained weights, under the run's final commitment.
    let prediction = dir.path().join("prediction.json");
    let r = run(&[
        "eval",
        "predict",
        "--run",
        s(&run_dir),
        "--data",
        s(&prep.join("test.csv")),
        "--transparent",
        "-o",
        s(&prediction),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&[
        "eval",
        "verify-prediction",
        s(&prediction),
        "--run",
        s(&run_dir),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("114 predictions"), "{}", r.stdout);
    assert!(r.stdout.contains("the run's final model"), "{}", r.stdout);
    let bad_prediction = dir.path().join("bad_prediction.json");
    edit_json(&prediction, &bad_prediction, |p| {
        let v = p["predictions"][0].as_i64().unwrap();
        p["predictions"][0] = Value::from(v + 1);
    });
    fails_with(
        &run(&["eval", "verify-prediction", s(&bad_prediction)]),
        "predictions",
    );

    // With a protected attribute (here: the first standardised feature above 0).
    let test_csv = std::fs::read_to_string(prep.join("test.csv")).unwrap();
    let mut attr = String::from("group\n");
    for line in test_csv.lines().skip(1) {
        let f0: f64 = line.split(',').next().unwrap().parse().unwrap();
        attr.push_str(if f0 > 0.0 { "1\n" } else { "0\n" });
    }
    let attribute = dir.path().join("attribute.csv");
    std::fs::write(&attribute, &attr).unwrap();
    let fair = dir.path().join("fair.json");
    let r = run(&[
        "eval",
        "prove",
        "--run",
        s(&run_dir),
        "--data",
        s(&prep.join("test.csv")),
        "--attribute",
        s(&attribute),
        "-o",
        s(&fair),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["eval", "verify", s(&fair), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let f: Value = serde_json::from_str(&r.stdout).unwrap();
    let rows_in_group = attr.matches("1\n").count();
    assert_eq!(f["fairness"]["group_rows"], rows_in_group);
    assert!(f["fairness"]["positive_rate_gap"].is_f64(), "{f}");
    std::fs::write(&attribute, "group\n1\n2\n").unwrap();
    let r = run(&[
        "eval",
        "prove",
        "--run",
        s(&run_dir),
        "--data",
        s(&prep.join("test.csv")),
        "--attribute",
        s(&attribute),
        "-o",
        s(&fair),
    ]);
    fails_with(&r, "line 3");

    // Monitoring a production log (the test rows, feature 0 shifted by 1.5 sd, every other
    // label arrived, a group column) against the run's model and the training profile.
    let mut log = String::new();
    for (i, line) in test_csv.lines().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        if i == 0 {
            log.push_str(&format!("{},group\n", cells.join(",")));
            continue;
        }
        let f0: f64 = cells[0].parse().unwrap();
        cells[0] = format!("{}", f0 + 1.5);
        if i % 2 == 1 {
            *cells.last_mut().unwrap() = String::new();
        }
        log.push_str(&format!("{},{}\n", cells.join(","), i % 3 == 0));
    }
    let log = log.replace(",true\n", ",1\n").replace(",false\n", ",0\n");
    let log_csv = dir.path().join("log.csv");
    std::fs::write(&log_csv, &log).unwrap();
    let monitor = dir.path().join("monitor.json");
    let r = run(&[
        "monitor",
        "prove",
        "--run",
        s(&run_dir),
        "--log",
        s(&log_csv),
        "--prep",
        s(&prep),
        "--transparent",
        "-o",
        s(&monitor),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(dir.path().join("monitor.secrets.json").exists());
    let r = run(&[
        "monitor",
        "verify",
        s(&monitor),
        "--run",
        s(&run_dir),
        "--prep",
        s(&prep),
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let mv: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(mv["verified"], true);
    assert_eq!(mv["report"]["rows"], 114);
    assert_eq!(mv["report"]["labeled"], 57);
    assert_eq!(mv["report"]["group_rows"], 38);
    assert_eq!(mv["report"]["drifted"], serde_json::json!([0]));
    assert_eq!(mv["reference_commitment"], train_commitment);
    let r = run(&["monitor", "verify", s(&monitor)]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("DRIFT"), "{}", r.stdout);
    let bad_monitor = dir.path().join("bad_monitor.json");
    edit_json(&monitor, &bad_monitor, |m| {
        let v = m["figures"]["positives"].as_i64().unwrap();
        m["figures"]["positives"] = Value::from(v + 1);
    });
    fails_with(&run(&["monitor", "verify", s(&bad_monitor)]), "positives");

    // The trained model exported to ONNX proves an inference under the run's final commitment.
    let onnx = dir.path().join("model.onnx");
    let r = run(&["train", "export", "--run", s(&run_dir), "-o", s(&onnx)]);
    assert!(r.ok, "{}", r.stderr);
    let row: Vec<f64> = test_csv
        .lines()
        .nth(1)
        .unwrap()
        .split(',')
        .take(30)
        .map(|v| v.parse().unwrap())
        .collect();
    let input = dir.path().join("x.json");
    std::fs::write(
        &input,
        serde_json::json!({ "input_data": [row] }).to_string(),
    )
    .unwrap();
    let r = run(&[
        "prove",
        s(&onnx),
        "--settings",
        s(&dir.path().join("model.settings.json")),
        "--commitment",
        s(&dir.path().join("model.commitment.json")),
        "--input",
        s(&input),
        "--transparent",
        "-o",
        s(&dir.path().join("inference.zkp")),
    ]);
    assert!(r.ok, "{}", r.stderr);

    // The whole chain in one audit; then one proof corrupted and one link broken, by name.
    let manifest = dir.path().join("pipeline.toml");
    let stages = "version = 1\nname = \"cli test\"\nstages = [\n\
        { name = \"prep\", kind = \"preprocess\", proof = \"prep\" },\n\
        { name = \"run\", kind = \"train\", proof = \"run\" },\n\
        { name = \"eval\", kind = \"eval\", proof = \"metrics.json\" },\n\
        { name = \"predict\", kind = \"predict\", proof = \"PREDICTION\" },\n\
        { name = \"watch\", kind = \"monitor\", proof = \"monitor.json\" },\n\
        { name = \"serve\", kind = \"inference\", proof = \"inference.zkp\", model = \"model.onnx\", settings = \"model.settings.json\" },\n]\n";
    std::fs::write(&manifest, stages.replace("PREDICTION", "prediction.json")).unwrap();
    let report = dir.path().join("report.html");
    let r = run(&["pipeline", "verify", s(&manifest), "--report", s(&report)]);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("verified: 6 stages, 7 links"),
        "{}",
        r.stdout
    );
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    let r = run(&["pipeline", "verify", s(&manifest), "--json"]);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(a["verified"], true);
    assert_eq!(a["links"].as_array().unwrap().len(), 7);
    std::fs::write(
        &manifest,
        stages.replace("PREDICTION", "bad_prediction.json"),
    )
    .unwrap();
    let r = run(&["pipeline", "verify", s(&manifest)]);
    assert!(!r.ok);
    assert!(
        r.stdout.contains("stage predict (predict): REJECTED"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("link run.final -> predict.model: BROKEN"),
        "{}",
        r.stdout
    );
    std::fs::write(
        &manifest,
        format!(
            "{}links = [{{ from = \"prep.raw\", to = \"run.data\" }}]\n",
            stages.replace("PREDICTION", "prediction.json")
        ),
    )
    .unwrap();
    let r = run(&["pipeline", "verify", s(&manifest), "--json"]);
    assert!(!r.ok);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(a["verified"], false);
    assert_eq!(a["links"][0]["ok"], false);

    // A dropped row (a smaller raw count) and a changed statistic are rejected.
    let proof = prep.join("proof.zkp");
    let bad = dir.path().join("bad.json");
    edit_json(&proof, &bad, |p| {
        p["rows"] = Value::from(568);
    });
    fails_with(&run(&["preprocess", "verify", s(&bad)]), "does not verify");
    edit_json(&proof, &bad, |p| {
        let v = p["stats"][1]["value"].as_i64().unwrap();
        p["stats"][1]["value"] = Value::from(v + 1);
    });
    fails_with(
        &run(&["preprocess", "verify", s(&bad)]),
        "claimed statistic",
    );
    // Errors in the inputs are one sentence naming the place.
    let raw = dir.path().join("raw.csv");
    let text = std::fs::read_to_string(ex.join("breast_cancer_raw.csv")).unwrap();
    std::fs::write(&raw, text.replacen("\n14.25,", "\nfoo,", 1)).unwrap();
    let r = run(&[
        "preprocess",
        "prove",
        "--pipeline",
        s(&ex.join("pipeline.toml")),
        "--data",
        s(&raw),
        "-o",
        s(&prep),
    ]);
    fails_with(&r, "line 2, column `f0`");
    let pipeline = dir.path().join("p.toml");
    std::fs::write(&pipeline, "version = 1\ncolumns = 3\n").unwrap();
    let r = run(&[
        "preprocess",
        "prove",
        "--pipeline",
        s(&pipeline),
        "--data",
        s(&raw),
        "-o",
        s(&prep),
    ]);
    fails_with(&r, "p.toml");
}

#[test]
fn backends_are_listed_and_picked_by_name() {
    let r = run(&["backends", "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let fri = &v[0];
    assert_eq!(fri["id"], "fri");
    let presets: Vec<&str> = fri["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        presets,
        ["keccak", "keccak-zk", "poseidon2", "poseidon2-zk"]
    );
    let caps = &fri["presets"][1]["capabilities"];
    assert_eq!(caps["zero_knowledge"], true);
    assert_eq!(caps["post_quantum"], true);
    assert_eq!(caps["transparent"], true);
    assert_eq!(caps["commitment_scheme"], "poseidon2-goldilocks-sponge/v3");
    assert_eq!(
        caps["ops"]["all_but"],
        serde_json::json!(["argmax", "conv2d/grouped"])
    );
    let r = run(&["backends"]);
    assert!(
        r.ok && r.stdout.contains("--preset poseidon2-zk"),
        "{}",
        r.stdout
    );

    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let (model, input) = (m.join("logreg.onnx"), m.join("logreg.input.json"));
    let proof = dir.path().join("p.json");
    let prove = |extra: &[&str]| {
        let mut args = vec!["prove", s(&model), "--input", s(&input), "-o", s(&proof)];
        args.extend_from_slice(extra);
        run(&args)
    };
    fails_with(&prove(&["--backend", "nope"]), "no backend named `nope`");
    fails_with(&prove(&["--preset", "nope"]), "has no preset `nope`");
    fails_with(
        &prove(&["--preset", "keccak", "--zk"]),
        "zero knowledge was asked for",
    );
    let r = prove(&["--backend", "fri", "--preset", "poseidon2"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("fri poseidon2"), "{}", r.stdout);
    let r = run(&["verify", s(&proof), "--model", s(&model), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["params"]["preset"], "poseidon2");
    // `verify` reads the backend from the envelope: one this build lacks is named.
    let other = dir.path().join("other.json");
    edit_json(&proof, &other, |v| v["backend"] = Value::from("plonky9"));
    fails_with(
        &run(&["verify", s(&other), "--model", s(&model)]),
        "no backend named `plonky9`",
    );
}

#[test]
fn plonky2_proves_a_bundled_model_with_private_weights() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let model = m.join("mlp.onnx");
    let input = m.join("mlp.input.json");
    let proof = dir.path().join("p.json");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "prove",
            s(&model),
            "--input",
            s(&input),
            "--backend",
            "plonky2",
            "-o",
            s(&proof),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    let r = args(&["--visibility", "params=private", "--transparent"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("plonky2 poseidon"), "{}", r.stdout);
    let r = run(&[
        "verify",
        s(&proof),
        "--model",
        s(&model),
        "--visibility",
        "params=private",
        "--json",
    ]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["backend"], "plonky2");
    assert_eq!(v["params"]["hash"], "poseidon-goldilocks");
}

#[test]
fn compile_calibrates_for_a_backend_without_a_transparent_preset() {
    // halo2's only preset hides: calibrating for it takes that one, not a refusal.
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let out = dir.path().join("m.zkm");
    let r = run(&[
        "compile",
        s(&m.join("logreg.onnx")),
        "--calibrate",
        s(&m.join("logreg.input.json")),
        "--backend",
        "halo2",
        "-o",
        s(&out),
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(out.exists());
}

#[test]
fn halo2_proves_a_bundled_model_with_committed_weights() {
    // The defaults (weights committed, hiding) on the third backend: its own commitment
    // scheme, named in the output, and honest claims in the envelope. The logistic model:
    // the MLP took 85 s in the test profile (halo2's conformance suite proves the bundled
    // models with committed weights under `--features slow-tests`).
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let model = m.join("logreg.onnx");
    let input = m.join("logreg.input.json");
    let proof = dir.path().join("p.json");
    let prove = |extra: &[&str]| {
        let mut a = vec![
            "prove",
            s(&model),
            "--input",
            s(&input),
            "--backend",
            "halo2",
            "-o",
            s(&proof),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    // halo2 has no transparent (non-hiding) preset: said by name.
    fails_with(
        &prove(&["--transparent"]),
        "is hiding, but a transparent proof",
    );
    let r = prove(&[]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("halo2 ipa"), "{}", r.stdout);
    assert!(
        r.stdout.contains("model commitment ")
            && r.stdout.contains("(poseidon-pasta-p128pow5t3/v1)"),
        "{}",
        r.stdout
    );
    let r = run(&["verify", s(&proof), "--model", s(&model), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["backend"], "halo2");
    assert_eq!(v["params"]["post_quantum"], false);
    assert_eq!(v["params"]["transparent"], true);
    assert_eq!(v["params"]["zero_knowledge"], true);
    // A published Goldilocks commitment cannot tie a halo2 proof: refused by scheme.
    let commitment = dir.path().join("c.json");
    let r = run(&["commit", s(&model), "-o", s(&commitment)]);
    assert!(r.ok, "{}", r.stderr);
    fails_with(
        &run(&[
            "verify",
            s(&proof),
            "--model",
            s(&model),
            "--commitment",
            s(&commitment),
        ]),
        "links only to proofs of its scheme",
    );
}

#[test]
fn a_wrapped_inference_verifies_from_the_key_directory_and_tampering_fails() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let model = m.join("logreg.onnx");
    let input = m.join("logreg.input.json");
    let wrapped = dir.path().join("w.zkma");
    let keys = dir.path().join("keys");
    let prove = |extra: &[&str]| {
        let mut a = vec![
            "prove",
            s(&model),
            "--input",
            s(&input),
            "--transparent",
            "--aggregate",
            "-o",
            s(&wrapped),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    // The default backend cannot aggregate: said before any proving.
    fails_with(&prove(&[]), "cannot aggregate proofs");
    let r = prove(&["--backend", "plonky2"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("wrapped it in"), "{}", r.stdout);
    assert!(std::fs::read(&wrapped).unwrap().starts_with(b"ZKMA"));
    let verify = |proof: &Path, model: &Path| {
        run(&[
            "verify",
            s(proof),
            "--model",
            s(model),
            "--key-cache",
            s(&keys),
            "--json",
        ])
    };
    // The first verification builds the circuits' keys and keeps them; the second reads them.
    for _ in 0..2 {
        let r = verify(&wrapped, &model);
        assert!(r.ok, "{}", r.stderr);
        let v: Value = serde_json::from_str(&r.stdout).unwrap();
        assert_eq!(v["backend"], "plonky2");
    }
    let kept = std::fs::read_dir(&keys).unwrap().count();
    assert_eq!(kept, 3, "the member's, the leaf's and the root's keys");
    let r = run(&["inspect", s(&wrapped), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["aggregated_members"], 1);
    // A changed byte in the proof, or another model: refused.
    let mut bytes = std::fs::read(&wrapped).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 1;
    let bad = dir.path().join("bad.zkma");
    std::fs::write(&bad, &bytes).unwrap();
    let r = verify(&bad, &model);
    assert!(!r.ok, "{}", r.stdout);
    let r = verify(&wrapped, &m.join("mlp.onnx"));
    assert!(!r.ok, "{}", r.stdout);
}

#[test]
fn train_prove_aggregate_writes_one_proof_for_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("train.csv");
    std::fs::write(
        &data,
        "a,b,label\n0.5,-1.0,1\n-0.75,0.5,0\n1.0,0.25,1\n-0.5,1.0,0\n",
    )
    .unwrap();
    let spec = dir.path().join("train.toml");
    std::fs::write(
        &spec,
        "model = \"logistic\"\nfeatures = 2\nbatch = 2\nlearning_rate = 0.5\nscale_bits = 8\nepochs = 1\nsteps_per_segment = 1\n",
    )
    .unwrap();
    let run_dir = dir.path().join("run");
    let prove = |extra: &[&str]| {
        let mut a = vec![
            "train",
            "prove",
            "--spec",
            s(&spec),
            "--data",
            s(&data),
            "--aggregate",
            "-o",
            s(&run_dir),
        ];
        a.extend_from_slice(extra);
        run(&a)
    };
    // The default backend cannot aggregate: said before any proving.
    fails_with(&prove(&[]), "cannot aggregate proofs");
    let r = prove(&["--backend", "plonky2"]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("one aggregated proof of"), "{}", r.stdout);
    let r = run(&["train", "verify", s(&run_dir), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["verified"], true);
    assert_eq!(v["aggregated"], true);
    assert_eq!(v["segments"], 2);
    assert_eq!(v["backend"], "plonky2");
    // A member's end commitment changed: refused.
    let transcript = run_dir.join("transcript.zkp");
    let bad = dir.path().join("bad.json");
    edit_json(&transcript, &bad, |t| {
        let d = &mut t["aggregate"]["members"][0]["statement"]["commitments"][2]["digest"];
        let hex = d.as_str().unwrap().to_string();
        let flipped = if hex.starts_with('0') { "1" } else { "0" };
        *d = Value::from(format!("{flipped}{}", &hex[1..]));
    });
    let r = run(&["train", "verify", s(&bad)]);
    assert!(!r.ok, "{}", r.stdout);
}

/// `--max-scale N` caps the calibrated scale; anything but `auto` or 1..=16 is refused.
#[test]
fn max_scale_caps_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let m = models();
    let compile = |max: &str| {
        run(&[
            "compile",
            s(&m.join("mlp.onnx")),
            "--calibrate",
            s(&m.join("mlp.data.json")),
            "--max-scale",
            max,
            "-o",
            s(&dir.path().join("m.zkm")),
        ])
    };
    let r = compile("12");
    assert!(r.ok && r.stdout.contains("scale 2^12"), "{}", r.stdout);
    for bad in ["17", "0", "high"] {
        let r = compile(bad);
        assert!(!r.ok, "--max-scale {bad} accepted");
        assert!(
            r.stderr.contains("expected `auto` or a number of bits"),
            "{}",
            r.stderr
        );
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
}

/// A model of constants only proves and verifies on every backend from `{"input_data": []}`;
/// a value given for it is a one-line error.
#[test]
fn a_model_without_inputs_proves_on_every_backend() {
    let dir = tempfile::tempdir().unwrap();
    let model = ops("constants_only");
    let input = dir.path().join("in.json");
    std::fs::write(&input, r#"{"input_data": []}"#).unwrap();
    for backend in ["fri", "plonky2", "halo2"] {
        let proof = dir.path().join(format!("{backend}.zkp"));
        let r = run(&[
            "prove",
            s(&model),
            "--input",
            s(&input),
            "--backend",
            backend,
            "-o",
            s(&proof),
        ]);
        assert!(r.ok, "{backend}: {}", r.stderr);
        let r = run(&["verify", s(&proof), "--model", s(&model)]);
        assert!(r.ok, "{backend}: {}", r.stderr);
        assert!(
            r.stdout.contains("[2.7500, 0.0000, 0.0000, 6.2500]"),
            "{}",
            r.stdout
        );
    }
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"input_data": [[1.0]]}"#).unwrap();
    let r = run(&[
        "prove",
        s(&model),
        "--input",
        s(&bad),
        "-o",
        s(&dir.path().join("x.zkp")),
    ]);
    fails_with(&r, "without graph inputs");
}

/// A symbolic batch axis takes its size from the data (issue 18): skl2onnx declares the
/// k-nearest-neighbours model's input `[?, 4]`; `compile --calibrate` on one sample of 8 rows
/// fixes it at `[8, 4]` (the settings say so), and the proof carries 8 labels.
#[test]
fn a_symbolic_batch_axis_is_read_from_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let expected: Value = serde_json::from_slice(
        &std::fs::read(ops("knn_classifier").with_extension("expected.json")).unwrap(),
    )
    .unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        serde_json::json!({ "input_data": [expected["input"].clone()] }).to_string(),
    )
    .unwrap();
    let zkm = dir.path().join("knn.zkm");
    let settings = dir.path().join("settings.json");
    let r = run(&[
        "compile",
        s(&ops("knn_classifier")),
        "--calibrate",
        s(&input),
        "--max-scale",
        "12",
        "--settings-out",
        s(&settings),
        "-o",
        s(&zkm),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let chosen: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(chosen["input_shape"], serde_json::json!([8, 4]));
    let proof = dir.path().join("knn.zkp");
    let r = run(&["prove", s(&zkm), "--input", s(&input), "-o", s(&proof)]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["verify", s(&proof), "--model", s(&zkm)]);
    assert!(r.ok, "{}", r.stderr);
    let labels: Vec<String> = expected["label"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{:.4}", v.as_f64().unwrap()))
        .collect();
    assert!(
        r.stdout.contains(&format!("[8] = [{}]", labels.join(", "))),
        "{}",
        r.stdout
    );
}

#[test]
fn input_shape_fixes_symbolic_dimensions_without_data() {
    // The k-nearest-neighbours export declares `[?, 4]`: `--input-shape 8,4` fixes the batch
    // without calibration samples; a malformed shape and a count that does not match the
    // graph inputs are refused by name.
    let dir = tempfile::tempdir().unwrap();
    let zkm = dir.path().join("knn.zkm");
    let settings = dir.path().join("settings.json");
    let r = run(&[
        "compile",
        s(&ops("knn_classifier")),
        "--input-shape",
        "8,4",
        "--settings-out",
        s(&settings),
        "-o",
        s(&zkm),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let chosen: Value = serde_json::from_slice(&std::fs::read(&settings).unwrap()).unwrap();
    assert_eq!(chosen["input_shape"], serde_json::json!([8, 4]));
    // An argument error from the parser (clap adds its usage hint on later lines).
    let r = run(&[
        "compile",
        s(&ops("knn_classifier")),
        "--input-shape",
        "8,x",
        "-o",
        s(&zkm),
    ]);
    assert!(
        !r.ok && r.stderr.contains("expected positive dimensions"),
        "{}",
        r.stderr
    );
    fails_with(
        &run(&[
            "compile",
            s(&ops("knn_classifier")),
            "--input-shape",
            "8,4",
            "--input-shape",
            "2",
            "-o",
            s(&zkm),
        ]),
        "one shape per graph input",
    );
}

#[test]
fn string_class_labels_are_named_by_prove_and_verify() {
    // An iris MLP fitted on species names: the proof holds class indices, and both commands
    // say which name each index stands for (read from the model, not the proof).
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        r#"{"input_data": [[5.1, 3.5, 1.4, 0.2, 6.3, 2.5, 5.0, 1.9]]}"#,
    )
    .unwrap();
    let zkm = dir.path().join("m.zkm");
    let proof = dir.path().join("p.zkp");
    let model = ops("iris_string_mlp");
    let r = run(&["compile", s(&model), "--input-shape", "2,4", "-o", s(&zkm)]);
    assert!(r.ok, "{}", r.stderr);
    let r = run(&["prove", s(&zkm), "--input", s(&input), "-o", s(&proof)]);
    assert!(r.ok, "{}", r.stderr);
    let named = "label holds class indices: 0 = setosa, 1 = versicolor, 2 = virginica";
    assert!(r.stdout.contains(named), "{}", r.stdout);
    let r = run(&["verify", s(&proof), "--model", s(&zkm), "--json"]);
    assert!(r.ok, "{}", r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(
        v["class_names"]["label"],
        serde_json::json!(["setosa", "versicolor", "virginica"])
    );
    let label = v["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "label")
        .unwrap();
    // A setosa and a virginica row.
    assert_eq!(label["values"], serde_json::json!([0.0, 2.0]));
    let r = run(&["verify", s(&proof), "--model", s(&zkm)]);
    assert!(r.ok && r.stdout.contains(named), "{}", r.stdout);
}

/// A reader that has gone (`zkmlops backends | head -1`): the command ends quietly with 141,
/// as a process killed by SIGPIPE does, instead of panicking on the failed write.
#[test]
fn a_closed_standard_output_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_zkmlops"))
        .args(["--quiet", "backends"])
        .env("ZKMLOPS_KEY_CACHE", "off")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
