//! The verifier-key cache: a verifier in a fresh state (memory cleared) reads the keys it built
//! before from its key directory instead of rebuilding circuits, for single proofs and for
//! aggregates; a key file that is damaged or belongs to another circuit is rebuilt, never
//! trusted; and a cached key changes nothing about what is accepted.
//!
//! One test function: the key directory and the counters are process-wide.

use std::fs;
use std::path::{Path, PathBuf};

use zkmlops_field::Scale;
use zkmlops_plonky2::Plonky2Backend;
use zkmlops_plonky2::keys::{self, KeyStats};
use zkmlops_proof::{
    AggregateInput, Backend, MemberLinks, ProofEnvelope, StageTag, VerifyError, VerifyPolicy,
};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

fn program(k: i64) -> (Program, ProofEnvelope) {
    let s = Scale::new(4).expect("scale");
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2], s, Visibility::Private);
    let w = b.input("w", &[2, 2], s, Visibility::Private);
    let y = b.op("y", Op::MatMul, &[x, w]).expect("matmul");
    let z = if k == 0 {
        y
    } else {
        b.op("z", Op::Relu, &[y]).expect("relu")
    };
    b.output(z, Visibility::Public).expect("output");
    let program = b.build().expect("program");
    let witness = program
        .evaluate(&[
            Tensor::matrix(&[[16, -8]]).expect("x"),
            Tensor::matrix(&[[1, 2], [3, 4]]).expect("w"),
        ])
        .expect("evaluate");
    let env = Plonky2Backend
        .prove(&program, &witness, StageTag::Inference, "poseidon")
        .expect("prove");
    (program, env)
}

fn key_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn since(before: KeyStats) -> KeyStats {
    let now = keys::key_stats();
    KeyStats {
        from_memory: now.from_memory - before.from_memory,
        from_disk: now.from_disk - before.from_disk,
        built: now.built - before.built,
    }
}

#[test]
fn a_fresh_verifier_reads_its_keys_and_rebuilds_damaged_ones() {
    let dir = std::env::temp_dir().join(format!("zkmlops-p2-keys-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    keys::set_key_cache_dir(Some(dir.clone()));
    assert_eq!(keys::key_cache_dir(), Some(dir.clone()));
    let policy = VerifyPolicy::default();

    // First verification: the key is built and written.
    let (p0, e0) = program(0);
    let before = keys::key_stats();
    Plonky2Backend.verify(&p0, &e0, &policy).expect("verifies");
    assert_eq!(since(before).built, 1);
    let files = key_files(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files.first().expect("one key file").clone();

    // A fresh verifier (nothing in memory) reads it: nothing is built.
    keys::clear_memory();
    let before = keys::key_stats();
    Plonky2Backend.verify(&p0, &e0, &policy).expect("verifies");
    assert_eq!(
        since(before),
        KeyStats {
            from_memory: 0,
            from_disk: 1,
            built: 0
        }
    );

    // A cached key accepts nothing more: a changed public value is still refused.
    let mut bad = e0.clone();
    if let Some(v) = bad
        .statement
        .public
        .first_mut()
        .and_then(|p| p.values.first_mut())
    {
        *v += 1;
    }
    let r = Plonky2Backend.verify(&p0, &bad, &policy);
    assert!(matches!(r, Err(VerifyError::Rejected { .. })), "{r:?}");

    // A damaged key file (its verifier data cut short) is rebuilt, then verifies.
    let bytes = fs::read(&file).expect("read key file");
    fs::write(&file, bytes.get(..bytes.len() / 2).expect("half")).expect("damage");
    keys::clear_memory();
    let before = keys::key_stats();
    Plonky2Backend
        .verify(&p0, &e0, &policy)
        .expect("verifies after a rebuild");
    assert_eq!(since(before).built, 1);
    assert_eq!(
        fs::read(&file).expect("rewritten"),
        bytes,
        "the rebuilt key file is rewritten"
    );

    // Another circuit's key file under this circuit's name is not trusted: its recorded key
    // does not match the name, so the key is rebuilt.
    let (p1, e1) = program(1);
    Plonky2Backend
        .verify(&p1, &e1, &policy)
        .expect("the second program verifies");
    let other = key_files(&dir)
        .into_iter()
        .find(|f| *f != file)
        .expect("the second key file");
    fs::copy(&other, &file).expect("substitute");
    keys::clear_memory();
    let before = keys::key_stats();
    Plonky2Backend
        .verify(&p0, &e0, &policy)
        .expect("verifies with its own key");
    assert_eq!(since(before).built, 1);
    // And the second program's proof does not verify against the first program.
    keys::clear_memory();
    let r = Plonky2Backend.verify(&p0, &e1, &policy);
    assert!(r.is_err(), "{r:?}");

    // An aggregate (one wrapped inference): a fresh verifier reads the member's, the leaf's
    // and the root's keys and builds no circuit.
    let agg = Plonky2Backend
        .aggregate(&[AggregateInput {
            program: &p0,
            envelope: &e0,
            links: MemberLinks::default(),
        }])
        .expect("aggregate");
    Plonky2Backend
        .verify_aggregate(&[&p0], &agg, &policy)
        .expect("the aggregate verifies");
    keys::clear_memory();
    let before = keys::key_stats();
    Plonky2Backend
        .verify_aggregate(&[&p0], &agg, &policy)
        .expect("the aggregate verifies from the key directory");
    let fresh = since(before);
    assert_eq!(fresh.built, 0, "{fresh:?}");
    assert_eq!(fresh.from_disk, 3, "member, leaf and root: {fresh:?}");
    // Against the other Program: refused, whatever the cache holds.
    let r = Plonky2Backend.verify_aggregate(&[&p1], &agg, &policy);
    assert!(r.is_err(), "{r:?}");

    keys::set_key_cache_dir(None);
    let _ = fs::remove_dir_all(&dir);
}
