//! A fingerprint of the code that turns a Program into a plonky2 circuit, for the on-disk
//! verifier-key cache (`src/keys.rs`): a cached key is used only by a build whose circuit code is
//! byte-for-byte the one that wrote it. It hashes the sources of this crate and of the crates
//! the lowering reads (plonkish, commit, lookup, tensor, field) and the workspace's `Cargo.lock`
//! (the plonky2 version) when they are present (a checkout of the workspace); a packaged crate
//! falls back to its version alone. FNV-1a is a change detector here, not a security measure:
//! the cache is the verifier's own directory, written by its own builds.

use std::fs;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn main() {
    let here = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let crates = here.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut inputs = Vec::new();
    for name in ["plonky2", "plonkish", "commit", "lookup", "tensor", "field"] {
        let src = crates.join(name).join("src");
        println!("cargo:rerun-if-changed={}", src.display());
        files(&src, &mut inputs);
    }
    let lock = crates.parent().map(|w| w.join("Cargo.lock"));
    if let Some(lock) = lock {
        println!("cargo:rerun-if-changed={}", lock.display());
        inputs.push(lock);
    }
    inputs.sort();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(std::env::var("CARGO_PKG_VERSION")
        .unwrap_or_default()
        .as_bytes());
    for path in &inputs {
        if let Ok(bytes) = fs::read(path) {
            eat(path
                .strip_prefix(&crates)
                .unwrap_or(path)
                .to_string_lossy()
                .as_bytes());
            eat(&bytes);
        }
    }
    println!("cargo:rustc-env=ZKMLOPS_PLONKY2_CIRCUIT_FINGERPRINT={h:016x}");
}
