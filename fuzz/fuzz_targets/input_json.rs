//! `cargo fuzz` entry point of [`zkmlops_fuzz::input_json`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::input_json(data));
