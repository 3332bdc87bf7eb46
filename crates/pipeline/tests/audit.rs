//! A small lifecycle (preprocess -> train -> eval -> monitor) audited from its manifest: it
//! verifies; one proof swapped for another run's, a proof file corrupted or missing, and a
//! link that does not hold each fail naming the stage or the link; the HTML report is
//! well-formed.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_monitor::{MonitorSecrets, MonitorSpec, ProductionLog, Reference, prove_monitor};
use zkmlops_pipeline::{Audit, Manifest, PipelineError, audit};
use zkmlops_preprocess::{Pipeline, RawTable, Salts};
use zkmlops_proof::{Registry, VerifyPolicy};
use zkmlops_train::{Dataset, Link, LogRegSpec, Model, RunSalts, prove_metrics, prove_run};

const PIPELINE: &str = r#"
version = 1
columns = [
    { name = "a", scale_bits = 4 },
    { name = "b", scale_bits = 4 },
    { name = "y", scale_bits = 0 },
]
steps = [
    { op = "standardize", columns = ["a", "b"], scale_bits = 8 },
]
output = { features = ["a", "b"], labels = ["y"], scale_bits = 8, test_rows = 8, profile_edges = [-1.0, 0.0, 1.0] }
"#;

const SPEC: LogRegSpec = LogRegSpec {
    features: 2,
    batch: 8,
    learning_rate: 0.5,
    scale_bits: 8,
    value_bits: zkmlops_train::DATA_VALUE_BITS,
    link: Link::Logistic,
};

const K: FriConfig = FriConfig::KECCAK;

fn registry() -> Registry {
    let mut r = Registry::new();
    r.register(Box::new(FriBackend)).unwrap();
    r.register(Box::new(zkmlops_plonky2::Plonky2Backend))
        .unwrap();
    r
}

fn raw_csv(seed: u64) -> String {
    let mut s = seed | 1;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s % 64) as f64 / 8.0 - 4.0
    };
    let mut csv = String::from("a,b,y\n");
    for _ in 0..40 {
        let (a, b) = (next(), next());
        csv.push_str(&format!("{a},{b},{}\n", i64::from(a + b > 0.0)));
    }
    csv
}

/// A stage file: binary for a `.zkp` name, JSON otherwise (the audit reads both).
fn write<T: zkmlops_proof::StageFile>(dir: &Path, name: &str, v: &T) {
    let bytes = if name.ends_with(".zkp") {
        v.to_binary().unwrap()
    } else {
        v.to_json().unwrap().into_bytes()
    };
    std::fs::write(dir.join(name), bytes).unwrap();
}

/// Every stage of a lifecycle run on `seed`'s data, written to `dir` (FRI, transparent).
fn lifecycle(dir: &Path, seed: u64) {
    lifecycle_with(dir, seed, &FriBackend, K.name());
}

/// The same with another backend and preset.
fn lifecycle_with(dir: &Path, seed: u64, backend: &dyn zkmlops_proof::Backend, preset: &str) {
    let p: Pipeline = toml::from_str(PIPELINE).unwrap();
    let table = RawTable::from_csv(&p, &raw_csv(seed)).unwrap();
    let salts = Salts::fresh().unwrap();
    let (prep, processed) = zkmlops_preprocess::prove(&p, &table, &salts, backend, preset).unwrap();
    let train = Dataset::from_csv(&processed.train.to_csv(&p.output.features).unwrap()).unwrap();
    let test = processed.test.as_ref().unwrap();
    let test = Dataset::from_csv(&test.to_csv(&p.output.features).unwrap()).unwrap();
    let run_salts = RunSalts {
        data: salts.train,
        checkpoints: vec![[1, 2, 3, 4], [5, 6, 7, 8 + seed.cast_signed()]],
    };
    let (transcript, model) = prove_run(
        &SPEC,
        &train,
        &Model::zeros(&SPEC),
        &run_salts,
        4,
        1,
        backend,
        preset,
    )
    .unwrap();
    let final_salt = run_salts.checkpoints[1];
    let metrics = prove_metrics(
        &SPEC,
        &model,
        &final_salt,
        &test,
        &salts.test,
        backend,
        preset,
    )
    .unwrap();
    let log = ProductionLog {
        features: test.features.clone(),
        labels: test.labels.iter().map(|&l| Some(l)).collect(),
        groups: vec![0; test.len()],
    };
    let reference = Reference {
        commitment: prep.train_commitment,
        profile: prep.profile.clone().unwrap(),
    };
    let spec = MonitorSpec::new(SPEC, log.len(), &[], Some(reference)).unwrap();
    let monitor = prove_monitor(
        &spec,
        &MonitorSecrets {
            model: &model,
            model_salt: &final_salt,
            log: &log,
            log_salt: &[9, 9, 9, 9],
        },
        backend,
        preset,
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("prep")).unwrap();
    std::fs::create_dir_all(dir.join("run")).unwrap();
    write(&dir.join("prep"), "proof.zkp", &prep);
    write(&dir.join("run"), "transcript.zkp", &transcript);
    write(dir, "metrics.json", &metrics);
    write(dir, "monitor.json", &monitor);
}

const MANIFEST: &str = r#"
version = 1
name = "small lifecycle"
stages = [
    { name = "prep", kind = "preprocess", proof = "prep" },
    { name = "run", kind = "train", proof = "run" },
    { name = "eval", kind = "eval", proof = "metrics.json" },
    { name = "watch", kind = "monitor", proof = "monitor.json" },
]
"#;

fn check(dir: &Path) -> Audit {
    let m = Manifest::from_toml(MANIFEST).unwrap();
    audit(&m, dir, &registry(), &VerifyPolicy::default())
}

/// A strict well-formedness check (the page is also XML): tags balance, attributes are
/// quoted, no raw `<` or `&` outside markup and entities.
fn well_formed(html: &str) -> Result<(), String> {
    let body = html.strip_prefix("<!DOCTYPE html>\n").ok_or("no doctype")?;
    let mut stack: Vec<String> = Vec::new();
    let mut rest = body;
    while let Some(i) = rest.find(['<', '&']) {
        let text = &rest[..i];
        if text.contains('>') {
            return Err(format!("a raw `>` in text: {text}"));
        }
        rest = &rest[i..];
        if rest.starts_with('&') {
            let end = rest.find(';').ok_or("an unterminated entity")?;
            let entity = &rest[1..end];
            if !["amp", "lt", "gt", "quot", "#39"].contains(&entity) {
                return Err(format!("unknown entity &{entity};"));
            }
            rest = &rest[end + 1..];
            continue;
        }
        let end = rest.find('>').ok_or("an unterminated tag")?;
        let tag = &rest[1..end];
        rest = &rest[end + 1..];
        if tag.contains('<') {
            return Err(format!("`<` inside a tag: {tag}"));
        }
        if let Some(name) = tag.strip_prefix('/') {
            match stack.pop() {
                Some(open) if open == name => {}
                other => return Err(format!("</{name}> closes {other:?}")),
            }
        } else {
            let self_closing = tag.ends_with('/');
            let name: String = tag
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if name.is_empty() {
                return Err(format!("a tag without a name: <{tag}>"));
            }
            if tag.matches('"').count() % 2 != 0 || tag.contains("='") {
                return Err(format!("unquoted or unbalanced attribute in <{tag}>"));
            }
            let attrs = tag[name.len()..].trim().trim_end_matches('/');
            for part in attrs.split('"').step_by(2) {
                let part = part.trim();
                if !(part.is_empty() || part.ends_with('=')) {
                    return Err(format!("an attribute without a quoted value in <{tag}>"));
                }
            }
            if !self_closing {
                stack.push(name);
            }
        }
    }
    if stack.is_empty() {
        Ok(())
    } else {
        Err(format!("unclosed {stack:?}"))
    }
}

#[test]
fn a_lifecycle_audits_and_every_break_is_named() {
    let good = tempfile::tempdir().unwrap();
    lifecycle(good.path(), 1);
    let a = check(good.path());
    assert!(a.verified, "{:?}", a.failures());
    assert_eq!(a.stages.len(), 4);
    assert_eq!(a.links.len(), 5, "{:?}", a.links);
    assert!(a.unlinked.is_empty());
    assert!(a.stages.iter().all(|s| !s.proves.is_empty()));
    assert_eq!(
        a.stages[2].figures.get("rows").map(String::as_str),
        Some("8")
    );
    let html = a.to_html();
    well_formed(&html).unwrap();
    assert!(html.contains("Verified: 4 stages and 5 links hold."));
    in_a_browser(good.path(), &html, 4, 5);
    // JSON round trip.
    let back: Audit = serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
    assert_eq!(back, a);

    // Another run of the same lifecycle (other data, other salts).
    let other = tempfile::tempdir().unwrap();
    lifecycle(other.path(), 2);
    assert!(check(other.path()).verified);

    // One proof swapped for the other run's: it verifies alone, the links around it break.
    for (file, stage, broken) in [
        (
            "metrics.json",
            "eval",
            vec!["prep.test -> eval.test", "run.final -> eval.model"],
        ),
        (
            "monitor.json",
            "watch",
            vec![
                "run.final -> watch.model",
                "prep.profile -> watch.reference",
            ],
        ),
        (
            "run/transcript.zkp",
            "run",
            vec!["prep.train -> run.data", "run.final -> eval.model"],
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        lifecycle_copy(good.path(), dir.path());
        std::fs::copy(other.path().join(file), dir.path().join(file)).unwrap();
        let a = check(dir.path());
        assert!(!a.verified, "{file}");
        assert!(a.stages.iter().all(|s| s.verified), "{stage}");
        let failed: Vec<String> = a
            .links
            .iter()
            .filter(|l| !l.ok)
            .map(|l| format!("{} -> {}", l.from, l.to))
            .collect();
        for b in broken {
            assert!(failed.contains(&b.to_string()), "{file}: {failed:?}");
        }
        well_formed(&a.to_html()).unwrap();
    }

    // A corrupted proof: that stage is rejected by name, the links through it fail.
    let dir = tempfile::tempdir().unwrap();
    lifecycle_copy(good.path(), dir.path());
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("metrics.json")).unwrap()).unwrap();
    let correct = m["correct"].as_u64().unwrap();
    m["correct"] = serde_json::json!(if correct == 0 { 1 } else { correct - 1 });
    std::fs::write(dir.path().join("metrics.json"), m.to_string()).unwrap();
    let a = check(dir.path());
    assert!(!a.verified);
    let eval = a.stages.iter().find(|s| s.name == "eval").unwrap();
    assert!(!eval.verified && eval.error.is_some());
    assert!(a.failures().iter().any(|f| f.starts_with("stage `eval`")));
    assert!(
        a.links
            .iter()
            .filter(|l| l.to.starts_with("eval."))
            .all(|l| !l.ok && l.detail.contains("did not verify"))
    );

    // A missing file.
    let dir = tempfile::tempdir().unwrap();
    lifecycle_copy(good.path(), dir.path());
    std::fs::remove_file(dir.path().join("monitor.json")).unwrap();
    let a = check(dir.path());
    let watch = a.stages.iter().find(|s| s.name == "watch").unwrap();
    assert!(!watch.verified && watch.error.as_ref().unwrap().contains("cannot read"));

    // An explicit link that does not hold (the test split is not the training data).
    let m = Manifest::from_toml(&format!(
        "{MANIFEST}links = [{{ from = \"prep.test\", to = \"run.data\" }}]\n"
    ))
    .unwrap();
    let a = audit(&m, good.path(), &registry(), &VerifyPolicy::default());
    assert!(!a.verified);
    assert_eq!(a.links.len(), 1);
    assert!(a.links[0].detail.contains("commitments differ"));
    assert_eq!(a.unlinked, vec!["eval".to_string(), "watch".to_string()]);
}

/// When a headless Chromium is installed (Debian's `chromium`), load the page and check the
/// DOM it builds: the verdict and one table row per stage and per link. Without one, the
/// strict well-formedness check above is the check (the test says so on stdout).
fn in_a_browser(dir: &Path, html: &str, stages: usize, links: usize) {
    let Some(chromium) = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("no headless browser installed: the page was checked as well-formed markup only");
        return;
    };
    let page = dir.join("report.html");
    std::fs::write(&page, html).unwrap();
    let out = std::process::Command::new(chromium)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--dump-dom",
        ])
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("id=\"verdict\""), "{dom}");
    let rows = |id: &str| {
        let start = dom.find(&format!("id=\"{id}\"")).unwrap();
        let end = start + dom[start..].find("</table>").unwrap();
        dom[start..end].matches("<tr>").count()
    };
    // One header row, then one per stage / link.
    assert_eq!(rows("stages"), stages + 1, "{dom}");
    assert_eq!(rows("links"), links + 1, "{dom}");
}

fn lifecycle_copy(from: &Path, to: &Path) {
    for f in [
        "prep/proof.zkp",
        "run/transcript.zkp",
        "metrics.json",
        "monitor.json",
    ] {
        let dst = to.join(f);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.join(f), dst).unwrap();
    }
}

#[test]
fn bad_manifests_are_typed_errors() {
    let bad = |text: &str| Manifest::from_toml(text).unwrap_err();
    assert!(matches!(
        bad("version = 2\nstages = []"),
        PipelineError::Version { found: 2 }
    ));
    assert!(matches!(
        bad("version = 1\nstages = []"),
        PipelineError::Manifest { .. }
    ));
    assert!(matches!(
        bad("version = 1\nnope = 1\nstages = []"),
        PipelineError::Manifest { .. }
    ));
    let two = "version = 1\nstages = [{ name = \"a\", kind = \"train\", proof = \"x\" }, { name = \"a\", kind = \"eval\", proof = \"y\" }]";
    assert!(matches!(bad(two), PipelineError::StageName { .. }));
    let spaced = "version = 1\nstages = [{ name = \"a b\", kind = \"train\", proof = \"x\" }]";
    assert!(matches!(bad(spaced), PipelineError::StageName { .. }));
    let kind = "version = 1\nstages = [{ name = \"a\", kind = \"bake\", proof = \"x\" }]";
    assert!(matches!(bad(kind), PipelineError::Manifest { .. }));
    // An inference stage names its model; no other stage does.
    let kind = "version = 1\nstages = [{ name = \"a\", kind = \"inference\", proof = \"x\" }]";
    assert!(matches!(bad(kind), PipelineError::StageName { .. }));
    let kind = "version = 1\nstages = [{ name = \"a\", kind = \"eval\", proof = \"x\", model = \"m.onnx\" }]";
    assert!(matches!(bad(kind), PipelineError::StageName { .. }));
    let kind = "version = 1\nstages = [{ name = \"a\", kind = \"bake\", proof = \"x\" }]";
    assert!(matches!(bad(kind), PipelineError::Manifest { .. }));
    let stages = "version = 1\nstages = [{ name = \"t\", kind = \"train\", proof = \"x\" }, { name = \"e\", kind = \"eval\", proof = \"y\" }]\n";
    for (link, what) in [
        (
            "{ from = \"t.final\", to = \"x.model\" }",
            "no stage named `x`",
        ),
        (
            "{ from = \"t.final\", to = \"e.weights\" }",
            "no port `weights`",
        ),
        ("{ from = \"t.final\", to = \"e\" }", "not `stage.port`"),
        ("{ from = \"t.final\", to = \"t.data\" }", "itself"),
    ] {
        match bad(&format!("{stages}links = [{link}]")) {
            PipelineError::Link { what: w, .. } => assert!(w.contains(what), "{w}"),
            e => panic!("{link}: {e}"),
        }
    }
}

/// The whole chain folded into one plonky2 aggregate: the manifest audits against it (the
/// stages' own checks answered by the verified aggregate, the links as always); a stage file
/// that is not one of its members, a corrupted aggregate, or another backend's proofs fail.
#[test]
fn a_lifecycle_folded_into_one_aggregate_audits() {
    let dir = tempfile::tempdir().unwrap();
    let p2 = zkmlops_plonky2::Plonky2Backend;
    lifecycle_with(dir.path(), 1, &p2, "poseidon");
    let m = Manifest::from_toml(MANIFEST).unwrap();
    let agg = zkmlops_pipeline::aggregate(&m, dir.path(), &p2).unwrap();
    // preprocess, one training segment, eval, monitor.
    assert_eq!(agg.members.len(), 4);
    let policy = VerifyPolicy::default();
    let a = zkmlops_pipeline::audit_aggregated(&m, dir.path(), &registry(), &agg, &policy);
    assert!(a.verified, "{:?}", a.failures());
    assert_eq!(a.links.len(), 5);

    // A stage file swapped for another run's: not a member of the aggregate.
    let other = tempfile::tempdir().unwrap();
    lifecycle_with(other.path(), 2, &p2, "poseidon");
    let swapped = tempfile::tempdir().unwrap();
    lifecycle_copy(dir.path(), swapped.path());
    std::fs::copy(
        other.path().join("metrics.json"),
        swapped.path().join("metrics.json"),
    )
    .unwrap();
    let a = zkmlops_pipeline::audit_aggregated(&m, swapped.path(), &registry(), &agg, &policy);
    assert!(!a.verified);
    assert!(
        a.failures().iter().any(|f| f.contains("aggregate member")),
        "{:?}",
        a.failures()
    );
    // An extra stage whose proof is not in the aggregate: that stage fails by name.
    std::fs::copy(
        other.path().join("metrics.json"),
        dir.path().join("metrics2.json"),
    )
    .unwrap();
    let extra = Manifest::from_toml(&MANIFEST.replace(
        "    { name = \"watch\"",
        "    { name = \"eval2\", kind = \"eval\", proof = \"metrics2.json\" },\n    { name = \"watch\"",
    ))
    .unwrap();
    let a = zkmlops_pipeline::audit_aggregated(&extra, dir.path(), &registry(), &agg, &policy);
    assert!(!a.verified);
    let eval2 = a.stages.iter().find(|s| s.name == "eval2").unwrap();
    assert!(
        eval2
            .error
            .as_deref()
            .unwrap_or("")
            .contains("not a member"),
        "{eval2:?}"
    );
    assert!(
        a.stages
            .iter()
            .filter(|s| s.name != "eval2")
            .all(|s| s.verified)
    );
    // A corrupted aggregate proof.
    let mut bad = agg.clone();
    let n = bad.proof.len();
    bad.proof[n / 2] ^= 1;
    let a = zkmlops_pipeline::audit_aggregated(&m, dir.path(), &registry(), &bad, &policy);
    assert!(!a.verified);
    assert!(
        a.failures().iter().all(|f| f.contains("does not verify")),
        "{:?}",
        a.failures()
    );
    // FRI proofs cannot be folded by plonky2: the error names the backend to use.
    let fri = tempfile::tempdir().unwrap();
    lifecycle(fri.path(), 3);
    let e = zkmlops_pipeline::aggregate(&m, fri.path(), &p2).unwrap_err();
    assert!(e.to_string().contains("--backend plonky2"), "{e}");
}
