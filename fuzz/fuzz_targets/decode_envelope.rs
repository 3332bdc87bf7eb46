//! `cargo fuzz` entry point of [`zkmlops_fuzz::decode_envelope`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::decode_envelope(data));
