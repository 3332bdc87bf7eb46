//! Arbitrary bytes decoded as a Program: must never panic; a decoded Program is valid and
//! re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkmlops_tensor::Program;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Program::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
        assert!(p.validate().is_ok());
    }
});
