//! zkmlops: zero-knowledge proofs for the machine-learning lifecycle, behind one dependency.
//!
//! Each module re-exports one crate of the workspace; depend on a crate directly to take one
//! layer alone. Features pick the heavy parts: `fri` (the default backend), `plonky2`, `halo2`,
//! `onnx`
//! (model import through tract) and `infer` (the inference stage).
//!
//! Backends are picked by name from [`registry()`] (every backend compiled in); stages take
//! `&dyn Backend` and a preset name, and a verifier dispatches on the envelope's backend.
//!
//! ```
//! # #[cfg(all(feature = "fri", feature = "infer"))] {
//! use zkmlops::onnx::{OnnxModel, Settings, compile};
//! use zkmlops::proof::VerifyPolicy;
//!
//! let registry = zkmlops::registry();
//! let backend = registry.get("fri")?;
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/models/logreg.onnx");
//! let model = compile(&OnnxModel::from_path(path.as_ref())?, &Settings::default())?;
//! let proof = zkmlops::infer::prove(&model, &[0.0; 30], backend, "keccak")?;
//! // The verifier needs no backend choice: the envelope names it.
//! let v = registry.verify(&model.program, &proof.envelope, &VerifyPolicy::default())?;
//! assert_eq!(v.backend, "fri");
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
#[cfg(feature = "halo2")]
#[doc(inline)]
pub use zkmlops_halo2 as halo2;
#[cfg(feature = "plonky2")]
#[doc(inline)]
pub use zkmlops_plonky2 as plonky2;

#[cfg(feature = "infer")]
#[doc(inline)]
pub use zkmlops_infer as infer;
#[cfg(feature = "monitor")]
#[doc(inline)]
pub use zkmlops_monitor as monitor;
#[cfg(feature = "onnx")]
#[doc(inline)]
pub use zkmlops_onnx as onnx;
#[cfg(feature = "pipeline")]
#[doc(inline)]
pub use zkmlops_pipeline as pipeline;
#[cfg(feature = "preprocess")]
#[doc(inline)]
pub use zkmlops_preprocess as preprocess;
#[cfg(feature = "train")]
#[doc(inline)]
pub use zkmlops_train as train;

/// A registry of every backend this build has (by feature): `fri`, `plonky2` and `halo2` when
/// their features are on, in that order. Third-party backends register into it the same way
/// ([`proof::Registry::register`]).
#[must_use]
pub fn registry() -> proof::Registry {
    #[allow(unused_mut)]
    let mut r = proof::Registry::new();
    // Fixed, valid, distinct ids: registration cannot fail.
    #[cfg(feature = "fri")]
    let _ = r.register(Box::new(fri::FriBackend));
    #[cfg(feature = "plonky2")]
    let _ = r.register(Box::new(plonky2::Plonky2Backend));
    #[cfg(feature = "halo2")]
    let _ = r.register(Box::new(halo2::Halo2Backend));
    r
}
