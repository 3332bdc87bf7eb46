//! `cargo fuzz` entry point of [`zkmlops_fuzz::pipeline_toml`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::pipeline_toml(data));
