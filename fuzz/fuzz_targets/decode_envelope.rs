//! Arbitrary bytes decoded as a proof envelope: must never panic, and whatever decodes must
//! re-encode to exactly the same bytes (the encoding is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkmlops_proof::ProofEnvelope;

fuzz_target!(|data: &[u8]| {
    if let Ok(env) = ProofEnvelope::from_bytes(data) {
        assert_eq!(env.to_bytes(), data);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = ProofEnvelope::from_json(s);
    }
});
