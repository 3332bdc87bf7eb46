//! Prove and verify a preprocessing pipeline; prints one JSON line.
//!
//! - `--case standardize` (default): the bundled raw breast-cancer table (569 x 30 + label):
//!   impute one column, standardize all 30 with in-proof mean and std (examples/preprocess).
//! - `--case wide --rows N`: a synthetic N x 20 table (17 numeric columns, a 4-way categorical,
//!   a 0/1 flag, a label): clip all numeric columns, one-hot the categorical, filter on the flag.
//!
//! `cargo run --release -p zkmlops-preprocess --example preprocess_bench -- [--case wide]
//! [--rows 10000] [--preset keccak] [--stats] [--sizes]` (`--stats`: instances per chip kind on
//! stderr; `--sizes`: where a Keccak-preset proof's bytes go)
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::fmt::Write;
use std::time::Instant;

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_preprocess::{Pipeline, RawTable, Salts, prove};
use zkmlops_proof::VerifyPolicy;

fn wide(rows: usize) -> (Pipeline, String) {
    let numeric: Vec<String> = (0..17).map(|i| format!("x{i}")).collect();
    let mut spec = String::from("version = 1\ncolumns = [\n");
    for n in &numeric {
        writeln!(spec, "  {{ name = \"{n}\", scale_bits = 8 }},").unwrap();
    }
    spec.push_str("  { name = \"cat\", scale_bits = 0 },\n  { name = \"flag\", scale_bits = 0 },\n  { name = \"label\", scale_bits = 0 },\n]\n");
    for n in &numeric {
        writeln!(
            spec,
            "[[steps]]\nop = \"clip\"\ncolumn = \"{n}\"\nmin = -3\nmax = 3\n"
        )
        .unwrap();
    }
    spec.push_str("[[steps]]\nop = \"one_hot\"\ncolumn = \"cat\"\ncategories = [0, 1, 2, 3]\n\n");
    spec.push_str("[[steps]]\nop = \"filter\"\ncolumn = \"flag\"\nkeep = \"==\"\nvalue = 1\n\n");
    let features: Vec<String> = numeric
        .iter()
        .cloned()
        .chain((0..4).map(|c| format!("cat={c}")))
        .map(|n| format!("\"{n}\""))
        .collect();
    writeln!(
        spec,
        "[output]\nfeatures = [{}]\nlabels = [\"label\"]\nscale_bits = 8",
        features.join(", ")
    )
    .unwrap();
    let mut csv = numeric.join(",");
    csv.push_str(",cat,flag,label\n");
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    for _ in 0..rows {
        for _ in 0..17 {
            let v = (next() % 2049) as f64 / 256.0 - 4.0;
            write!(csv, "{v},").unwrap();
        }
        writeln!(
            csv,
            "{},{},{}",
            next() % 4,
            u64::from(next() % 10 < 7),
            next() % 2
        )
        .unwrap();
    }
    (toml::from_str(&spec).unwrap(), csv)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let config = FriConfig::from_name(arg("--preset").map_or("keccak", String::as_str)).unwrap();
    let case = arg("--case").map_or("standardize", String::as_str);
    let (pipeline, csv) = if case == "wide" {
        wide(arg("--rows").map_or(10_000, |r| r.parse().unwrap()))
    } else {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/preprocess");
        let spec = std::fs::read_to_string(format!("{dir}/pipeline.toml")).unwrap();
        let csv = std::fs::read_to_string(format!("{dir}/breast_cancer_raw.csv")).unwrap();
        (toml::from_str(&spec).unwrap(), csv)
    };
    let table = RawTable::from_csv(&pipeline, &csv).unwrap();
    let salts = Salts::fresh().unwrap();
    let t = Instant::now();
    let (proof, _) = prove(&pipeline, &table, &salts, &FriBackend, config.name()).unwrap();
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    if args.iter().any(|a| a == "--sizes") {
        for (k, v) in zkmlops_fri::size_breakdown(config, &proof.envelope.proof).unwrap() {
            eprintln!("{k:>44}: {v:>9}");
        }
    }
    if args.iter().any(|a| a == "--stats") {
        let program = zkmlops_preprocess::testing::program(&proof).unwrap();
        let stats = zkmlops_fri::circuit_stats(&program, config).unwrap();
        let mut kinds: std::collections::BTreeMap<&str, (usize, usize, usize)> =
            std::collections::BTreeMap::new();
        for s in &stats {
            eprintln!(
                "{:>12} 2^{:<2} x {:>3} {}",
                s.kind,
                s.log_height,
                s.width,
                s.tensor.as_deref().unwrap_or("-")
            );
            let e = kinds.entry(s.kind).or_default();
            e.0 += 1;
            e.1 += s.width;
            e.2 += s.width << s.log_height;
        }
        for (k, (n, w, cells)) in kinds {
            eprintln!("{k:>12}: {n:>4} instances, {w:>6} columns, {cells:>10} cells");
        }
    }
    println!(
        "{{\"case\":\"{case}\",\"rows\":{},\"columns\":{},\"kept\":{:?},\"preset\":\"{}\",\"prove_ms\":{prove_ms:.0},\"verify_ms\":{verify_ms:.0},\"proof_bytes\":{}}}",
        table.rows,
        table.columns.len(),
        proof.kept,
        arg("--preset").map_or("keccak", String::as_str),
        proof.envelope.proof.len()
    );
}
