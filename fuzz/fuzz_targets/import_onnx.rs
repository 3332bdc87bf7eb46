//! Arbitrary bytes as an ONNX model: parsing, import and the compiled-model decoder must never
//! panic, whatever the protobuf holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkmlops_onnx::{CompiledModel, OnnxModel, Settings, compile};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = OnnxModel::from_bytes(data, "fuzz") {
        if let Ok(c) = compile(&m, &Settings::default()) {
            let bytes = c.to_bytes();
            assert_eq!(CompiledModel::from_bytes(&bytes).ok().as_ref(), Some(&c));
        }
    }
    let _ = CompiledModel::from_bytes(data);
});
