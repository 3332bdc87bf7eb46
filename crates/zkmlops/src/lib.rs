//! zkmlops: zero-knowledge proofs for the machine-learning lifecycle, behind one dependency.
//!
//! Each module re-exports one crate of the workspace; depend on a crate directly to take one
//! layer alone. Features pick the heavy parts: `fri` (the default backend), `onnx` (model
//! import through tract) and `infer` (the inference stage).
//!
//! ```
//! # #[cfg(all(feature = "fri", feature = "infer"))] {
//! use zkmlops::fri::{FriBackend, FriConfig};
//! use zkmlops::onnx::{OnnxModel, Settings, compile};
//! use zkmlops::proof::VerifyPolicy;
//!
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/models/logreg.onnx");
//! let model = compile(&OnnxModel::from_path(path.as_ref())?, &Settings::default())?;
//! let proof = zkmlops::infer::prove(&model, &[0.0; 30], &FriBackend, &FriConfig::KECCAK)?;
//! let v = zkmlops::infer::verify(&model.program, &proof.envelope, &FriBackend, &VerifyPolicy::default())?;
//! assert_eq!(v.outputs[0].name, "probability");
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#[doc(inline)]
pub use zkmlops_field as field;
#[doc(inline)]
pub use zkmlops_lookup as lookup;
#[doc(inline)]
pub use zkmlops_proof as proof;
#[doc(inline)]
pub use zkmlops_tensor as tensor;

#[cfg(feature = "fri")]
#[doc(inline)]
pub use zkmlops_fri as fri;

#[cfg(feature = "infer")]
#[doc(inline)]
pub use zkmlops_infer as infer;
#[cfg(feature = "onnx")]
#[doc(inline)]
pub use zkmlops_onnx as onnx;
#[cfg(feature = "preprocess")]
#[doc(inline)]
pub use zkmlops_preprocess as preprocess;
#[cfg(feature = "train")]
#[doc(inline)]
pub use zkmlops_train as train;
