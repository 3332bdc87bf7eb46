//! `cargo fuzz` entry point of [`zkmlops_fuzz::import_onnx`].
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| zkmlops_fuzz::import_onnx(data));
