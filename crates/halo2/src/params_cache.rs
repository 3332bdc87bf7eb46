//! The commitment keys on disk: `Params::new(k)` hashes `2^k` generators to the Vesta curve
//! from halo2's published domain string, about 0.7 ms a point on this machine's two cores (a
//! minute and a half at `k = 17`). Nothing in them is secret, so they are cached in a file per
//! size, and a file is used only when its Blake2b-256 digest equals the one pinned below for
//! that size (computed once from `Params::new`, and re-derived for the small sizes by this
//! crate's tests). A tampered or truncated file is ignored and rewritten; a size without a pin
//! is generated in every process, never read from disk: generators an attacker chose could
//! hide discrete-log relations that break the commitments' binding.
//!
//! The directory is `$ZKMLOPS_CACHE_DIR` (empty: no disk cache), else
//! `$XDG_CACHE_HOME/zkmlops`, else `$HOME/.cache/zkmlops`.

use std::path::{Path, PathBuf};

use halo2_proofs::pasta::EqAffine;
use halo2_proofs::poly::commitment::Params;

/// Blake2b-256 of `Params::<EqAffine>::new(k).write(..)`, by `k`.
pub const PINNED: [(u32, &str); 9] = [
    (
        10,
        "7cb87405f41de2a0f0b640d702482629d77a15c469d79d864407c0494d4e75ed",
    ),
    (
        11,
        "773ee1d3dcc65a13e97e4d88119d1d20fb12a8db4443361f370c75bdc2c91382",
    ),
    (
        12,
        "8d715ccc1bbb447a03a53ef53866f060ce574c0d76e00ed7aea35f8be6fc0af5",
    ),
    (
        13,
        "c2ecc4e0390ee1c5ed97822aa97119721bd01a3008a127113fa84de347e994c6",
    ),
    (
        14,
        "7e77bf05488d7e8514ef5dcbe9326091994853a7bbb1e39272a0b8fe53c6d40c",
    ),
    (
        15,
        "1eef393892a47e431d6385d684efe3fc0011382011ca878b596da2ad3b89e400",
    ),
    (
        16,
        "96148e6086e2a9d113583a62a6bbc1e1faae9f9ab5c3fa6ec545601ea5fcd802",
    ),
    (
        17,
        "375331e30b21a0188a9dcc63a67a11979ac7df716c93148a09bff27cd6c743c7",
    ),
    (
        18,
        "663977f311205eb942bd53700d0cad4e19bd17cfa20b375933d66d8e658f8598",
    ),
];

/// The pinned digest of size `k`.
#[must_use]
pub fn pinned(k: u32) -> Option<[u8; 32]> {
    let hex = PINNED.iter().find(|(kk, _)| *kk == k)?.1;
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Blake2b-256 of `bytes`.
#[must_use]
pub fn digest(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(
        blake2b_simd::Params::new()
            .hash_length(32)
            .hash(bytes)
            .as_bytes(),
    );
    out
}

/// The cache directory, if any.
#[must_use]
pub fn dir() -> Option<PathBuf> {
    match std::env::var_os("ZKMLOPS_CACHE_DIR") {
        Some(d) if d.is_empty() => None,
        Some(d) => Some(PathBuf::from(d)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(|d| PathBuf::from(d).join("zkmlops"))
            .or_else(|| {
                std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("zkmlops"))
            }),
    }
}

/// The file of size `k` in `dir`.
#[must_use]
pub fn file_in(dir: &Path, k: u32) -> PathBuf {
    dir.join(format!("halo2-params-vesta-k{k}.bin"))
}

/// The serialisation of `params`.
#[must_use]
pub fn serialise(params: &Params<EqAffine>) -> Vec<u8> {
    let mut bytes = Vec::new();
    // Writing to a Vec cannot fail.
    let _ = params.write(&mut bytes);
    bytes
}

/// The key of size `k`, through the cache directory [`dir`].
#[must_use]
pub fn load_or_generate(k: u32) -> Params<EqAffine> {
    load_or_generate_in(k, dir().as_deref())
}

/// The key of size `k`: read from `dir` when the file's digest is the pinned one, else
/// generated (and written to `dir` when its size is pinned).
#[must_use]
pub fn load_or_generate_in(k: u32, dir: Option<&Path>) -> Params<EqAffine> {
    let Some(pin) = pinned(k) else {
        return Params::new(k);
    };
    let path = dir.map(|d| file_in(d, k));
    if let Some(path) = &path
        && let Ok(bytes) = std::fs::read(path)
        && digest(&bytes) == pin
        && let Ok(Ok(p)) = std::panic::catch_unwind(|| Params::<EqAffine>::read(&mut &bytes[..]))
    {
        return p;
    }
    let params = Params::new(k);
    let bytes = serialise(&params);
    if digest(&bytes) == pin
        && let Some(path) = path
        && let Some(parent) = path.parent()
        && std::fs::create_dir_all(parent).is_ok()
    {
        // Write then rename, so a reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, &bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
    params
}
