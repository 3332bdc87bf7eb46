//! Lookup tables for the nonlinear functions of machine learning, in fixed point.
//!
//! A [`TableSpec`] names a [`Function`], an input [`Scale`], an output [`Scale`] and an input
//! domain `[lo, hi]` (integers at the input scale). Its integer semantics ([`TableSpec::eval`])
//! are the specification every backend proves:
//!
//! ```text
//! eval(x) = round(f(clamp(x, lo, hi) / 2^s_in) * 2^s_out)      (ties away from zero)
//! ```
//!
//! Inputs outside the domain are clamped to its ends — a backend proves the clamp with a
//! comparison, it never wraps. The spec is data (serde) with a deterministic Keccak-256
//! [`TableSpec::digest`], so a proof binds the exact table it used. Functions are evaluated with
//! the pure-Rust `libm` crate, so every platform builds bit-identical tables.
//!
//! ```
//! use zkmlops_field::Scale;
//! use zkmlops_lookup::{Function, TableSpec};
//!
//! let s = Scale::new(8)?;
//! let sigmoid = TableSpec::new(Function::Sigmoid, s, s, -8 * 256, 8 * 256)?;
//! assert_eq!(sigmoid.eval(0), 128);               // sigmoid(0) = 0.5
//! assert_eq!(sigmoid.eval(-1 << 40), sigmoid.eval(-8 * 256)); // clamped below
//! assert!(sigmoid.max_abs_error() < 1.0 / 256.0);
//! assert_eq!(sigmoid.rows(), 16 * 256 + 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod function;
mod spec;

pub use function::Function;
pub use spec::{LookupError, MAX_TABLE_ROWS, TABLE_DIGEST_DOMAIN, TableSpec};
pub use zkmlops_field::Scale;
