//! The commitment keys' disk cache: the pinned digests are those of `Params::new` (re-derived
//! here for the small sizes), and a tampered file is never used.
#![allow(clippy::unwrap_used)]

use zkmlops_halo2::params_cache::{digest, file_in, load_or_generate_in, pinned, serialise};

#[test]
fn the_pins_are_the_published_generators() {
    for k in [10, 11] {
        let p = halo2_proofs::poly::commitment::Params::<halo2_proofs::pasta::EqAffine>::new(k);
        assert_eq!(Some(digest(&serialise(&p))), pinned(k), "k = {k}");
    }
}

#[test]
fn a_tampered_cache_file_is_ignored_and_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let k = 10;
    let fresh = serialise(&load_or_generate_in(k, Some(dir.path())));
    let path = file_in(dir.path(), k);
    assert_eq!(digest(&std::fs::read(&path).unwrap()), pinned(k).unwrap());
    // Read back from the file.
    assert_eq!(serialise(&load_or_generate_in(k, Some(dir.path()))), fresh);
    // Another generator in the file: not used, and the file is rewritten.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[100] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(serialise(&load_or_generate_in(k, Some(dir.path()))), fresh);
    assert_eq!(std::fs::read(&path).unwrap(), fresh);
    // A truncated file likewise.
    std::fs::write(&path, &fresh[..fresh.len() / 2]).unwrap();
    assert_eq!(serialise(&load_or_generate_in(k, Some(dir.path()))), fresh);
    // No cache directory: generated.
    assert_eq!(serialise(&load_or_generate_in(k, None)), fresh);
}
