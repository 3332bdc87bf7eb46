//! `cargo fuzz` entry point of [`zkmlops_fuzz::preprocess_proof_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::preprocess_proof_json(data));
