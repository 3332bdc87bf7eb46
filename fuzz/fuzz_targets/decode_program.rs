//! `cargo fuzz` entry point of [`zkmlops_fuzz::decode_program`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::decode_program(data));
