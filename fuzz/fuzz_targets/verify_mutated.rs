//! `cargo fuzz` entry point of [`zkmlops_fuzz::verify_mutated`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::verify_mutated(data));
