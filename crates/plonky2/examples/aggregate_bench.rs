//! Aggregation cost: prove a logistic-regression run as `--members N` one-step segments with
//! plonky2, fold them into one proof, verify it. Prints one JSON line: member proving time and
//! bytes, aggregation time, aggregated proof bytes, verify time (circuits already built in this
//! process: the warm figure), and the verify time of a verifier whose memory holds nothing but
//! whose key directory (a temporary one here) holds the keys the first verification wrote: what
//! a fresh `zkmlops train verify` process costs once it has verified a run of the same shape.
//!
//! With `--epoch`, the workload is instead one epoch of the breast-cancer training split (455 x
//! 30, batch 32: 14 steps) in `--members` segments; with `--mlp [--steps S]`, the MLP 64-32-10 on
//! the digits training split (1,437 x 64, batch 32: 44 steps an epoch, or the first `S`).
//!
//! `cargo run --release -p zkmlops-plonky2 --example aggregate_bench -- --members 8 [--epoch | --mlp [--steps S]] [--zk]`
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use std::time::Instant;

use zkmlops_plonky2::Plonky2Backend;
use zkmlops_proof::VerifyPolicy;
use zkmlops_train::{
    Dataset, Link, LogRegSpec, MlpModel, MlpSpec, Model, RunSalts, prove_mlp_run, prove_run,
};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
    };
    let members: usize = arg("--members").map_or(2, |s| s.parse().unwrap());
    let epoch = args.iter().any(|a| a == "--epoch");
    let mlp = args.iter().any(|a| a == "--mlp");
    let key_dir = std::env::temp_dir().join(format!("zkmlops-agg-bench-{}", std::process::id()));
    zkmlops_plonky2::keys::set_key_cache_dir(Some(key_dir.clone()));
    let preset = if args.iter().any(|a| a == "--zk") {
        "poseidon-zk"
    } else {
        "poseidon"
    };
    let (spec, data) = if epoch {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../train/data/breast_cancer_train.csv"
        );
        let spec = LogRegSpec {
            features: 30,
            batch: 32,
            learning_rate: 0.5,
            scale_bits: 10,
            value_bits: zkmlops_train::DATA_VALUE_BITS,
            link: Link::Logistic,
        };
        (
            spec,
            Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap(),
        )
    } else {
        // Two rows per one-step segment.
        let mut csv = String::from("a,b,label\n");
        for i in 0..2 * members {
            let x = (i % 7) as f64 / 4.0 - 0.75;
            csv.push_str(&format!("{x},{},{}\n", 0.5 - x, i % 2));
        }
        let spec = LogRegSpec {
            features: 2,
            batch: 2,
            learning_rate: 0.5,
            scale_bits: 8,
            value_bits: zkmlops_train::DATA_VALUE_BITS,
            link: Link::Logistic,
        };
        (spec, Dataset::from_csv(&csv).unwrap())
    };
    let mlp_data = mlp.then(|| {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../train/data/digits_train.csv"
        );
        Dataset::from_csv(&std::fs::read_to_string(p).unwrap()).unwrap()
    });
    let mlp_spec = MlpSpec::DIGITS;
    let steps = match &mlp_data {
        Some(d) => arg("--steps").map_or(d.len() / mlp_spec.batch, |s| s.parse().unwrap()),
        None => data.len() / spec.batch,
    };
    assert_eq!(
        steps % members,
        0,
        "--members must divide the {steps} steps"
    );
    let salt = |k: i64| core::array::from_fn(|j| (k * 7919 + j as i64 + 1) << 40);
    let salts = RunSalts {
        data: salt(-1),
        checkpoints: (0..=members as i64).map(salt).collect(),
    };
    let t = Instant::now();
    let transcript = match &mlp_data {
        Some(d) => {
            prove_mlp_run(
                &mlp_spec,
                d,
                &MlpModel::init(&mlp_spec, 7),
                &salts,
                steps / members,
                members,
                &Plonky2Backend,
                preset,
            )
            .unwrap()
            .0
        }
        None => {
            prove_run(
                &spec,
                &data,
                &Model::zeros(&spec),
                &salts,
                steps / members,
                members,
                &Plonky2Backend,
                preset,
            )
            .unwrap()
            .0
        }
    };
    let prove_members = t.elapsed();
    let member_bytes: usize = transcript.segments.iter().map(|s| s.proof.len()).sum();
    let t = Instant::now();
    transcript
        .verify(&Plonky2Backend, &VerifyPolicy::default())
        .unwrap();
    let verify_members = t.elapsed();
    let t = Instant::now();
    let aggregated = transcript.aggregated(&Plonky2Backend).unwrap();
    let aggregate = t.elapsed();
    let agg = aggregated.aggregate.as_ref().unwrap();
    let t = Instant::now();
    aggregated
        .verify(&Plonky2Backend, &VerifyPolicy::default())
        .unwrap();
    let verify = t.elapsed();
    zkmlops_plonky2::keys::clear_memory();
    let before = zkmlops_plonky2::keys::key_stats();
    let t = Instant::now();
    aggregated
        .verify(&Plonky2Backend, &VerifyPolicy::default())
        .unwrap();
    let verify_fresh = t.elapsed();
    let after = zkmlops_plonky2::keys::key_stats();
    let _ = std::fs::remove_dir_all(&key_dir);
    println!(
        "{}",
        serde_json::json!({
            "workload": if mlp { "digits MLP 64-32-10 steps" } else if epoch { "breast-cancer logistic epoch" } else { "one-step logistic segments" },
            "preset": preset,
            "members": members,
            "steps": steps,
            "prove_members_s": prove_members.as_secs_f64(),
            "member_proof_bytes": member_bytes,
            "verify_members_ms": verify_members.as_secs_f64() * 1e3,
            "aggregate_s": aggregate.as_secs_f64(),
            "aggregate_s_per_member": aggregate.as_secs_f64() / members as f64,
            "aggregate_proof_bytes": agg.proof.len(),
            "aggregate_envelope_bytes": agg.to_bytes().len(),
            "verify_aggregate_warm_ms": verify.as_secs_f64() * 1e3,
            "verify_aggregate_fresh_with_keys_ms": verify_fresh.as_secs_f64() * 1e3,
            "fresh_keys_read": after.from_disk - before.from_disk,
            "fresh_keys_built": after.built - before.built,
        })
    );
}
