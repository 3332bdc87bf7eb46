//! ONNX models in: [`tract-onnx`](https://docs.rs/tract-onnx) parses the protobuf and runs the
//! float reference; this crate translates the graph into a zkmlops [`Program`], chooses the
//! fixed-point scales from sample inputs ([`calibrate`]), and reports how closely the
//! quantized model follows the float one ([`fidelity`]).
//!
//! Weights become Program inputs (private by default) whose quantized values travel in the
//! [`CompiledModel`]; the Program itself, and so its digest, holds no weight values.
//!
//! ```
//! use zkmlops_onnx::{FloatModel, OnnxModel, Settings, compile, fidelity};
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/models/gemm.onnx");
//! let onnx = OnnxModel::from_path(path.as_ref())?;
//! let model = compile(&onnx, &Settings::default())?;
//! let sample = vec![0.25; 12];
//! let witness = model.witness(0, &sample)?;
//! let quantized = model.decode_outputs(&witness);
//!
//! let float = FloatModel::new(&onnx, model.input_shape(), false)?;
//! let exact = float.run(0, &sample)?;
//! assert!(quantized[0].iter().zip(&exact[0]).all(|(q, f)| (q - f).abs() < 0.01));
//! let report = fidelity(&model, &float, &[sample])?;
//! assert!(report.outputs[0].max_abs_error < 0.01);
//! # Ok::<(), zkmlops_onnx::OnnxError>(())
//! ```

// This crate reads untrusted files (ONNX protobufs, settings, input data): no indexing that
// can panic.
#![warn(clippy::indexing_slicing)]

mod calibrate;
mod error;
pub mod export;
mod float;
mod graph;
mod import;
mod model;
mod settings;

pub use calibrate::{
    Calibration, FidelityReport, OutputFidelity, ScaleLimits, calibrate, calibrate_within,
    fidelity, fix_constant_inputs,
};
pub use error::{OnnxError, SUPPORTED_OPERATORS};
pub use float::FloatModel;
pub use graph::{COMBINED_INPUT, GraphInput, OnnxModel, group_samples, infer_input_shapes};
pub use import::param_bits;
pub use model::{
    CompiledModel, MODEL_FORMAT_VERSION, MODEL_MAGIC, SALT_LEN, SALT_NAME, fresh_salt,
};
pub use settings::{
    InputData, MAX_SCALE_BITS, SETTINGS_VERSION, Settings, parse_visibility, visibility_name,
};

#[doc(no_inline)]
pub use zkmlops_tensor::Program;

/// Translate an ONNX model into a Program with its quantized weights, under `settings`.
///
/// # Errors
/// [`OnnxError`]: an unsupported operator or attribute (naming the node), a shape or scale the
/// Program rejects, a constant that does not fit the fixed-point range.
pub fn compile(model: &OnnxModel, settings: &Settings) -> Result<CompiledModel, OnnxError> {
    import::import(model, settings)
}
