//! `cargo fuzz` entry point of [`zkmlops_fuzz::preprocess_csv`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::preprocess_csv(data));
