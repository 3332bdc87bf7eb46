//! Fixed-point tensors, the exact integer reference semantics of every op, and the Program IR.
//!
//! This crate is the specification of zkmlops: every proving backend proves exactly what
//! [`Program::evaluate`] computes, bit for bit, and tests compare each chip with it. It knows no
//! backend.
//!
//! - [`Tensor`]: shape plus row-major `i64` data; the scale lives in the Program's declaration.
//! - [`ops`]: reference implementations (gemm/matmul, conv2d, broadcasting add/sub/mul, rescale,
//!   relu, pooling, sum/mean, argmax, and data movement). Nothing wraps: any value outside the
//!   fixed-point range (`|x| <= zkmlops_field::MAX_ABS`) is an error naming the op and element.
//! - [`Program`]: a DAG of [`Op`] nodes over declared tensors, each with a shape, a
//!   [`zkmlops_field::Scale`] and a [`Visibility`]; deterministic encoding and a Keccak-256
//!   [`ProgramDigest`] that statements bind.
//!
//! ```
//! use zkmlops_field::Scale;
//! use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility, ops::Rounding};
//!
//! // y = relu(rescale(x W + b)) at scale 2^8
//! let s = Scale::new(8)?;
//! let mut b = ProgramBuilder::new();
//! let x = b.input("x", &[1, 2], s, Visibility::Private);
//! let w = b.constant("w", Tensor::matrix(&[[256, -128], [64, 512]])?, s)?;
//! let bias = b.constant("b", Tensor::vector(vec![0, 65536]), s.product(s)?)?;
//! let h = b.op("h", Op::Gemm { trans_a: false, trans_b: false }, &[x, w, bias])?;
//! let r = b.op("r", Op::Rescale { shift: 8, rounding: Rounding::HalfUp }, &[h])?;
//! let y = b.op("y", Op::Relu, &[r])?;
//! b.output(y, Visibility::Public)?;
//! let program = b.build()?;
//!
//! let witness = program.evaluate(&[Tensor::matrix(&[[256, -256]])?])?; // x = [1.0, -1.0]
//! // x W = [1.0 - 0.25, -0.5 - 2.0] = [0.75, -2.5]; + b = [0.75, -1.5]; relu -> [0.75, 0]
//! assert_eq!(witness.get(y).unwrap().data(), &[192, 0]);
//! println!("program digest {}", program.digest());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod composite;
mod error;
mod op;
pub mod ops;
mod program;
mod tensor;
mod witness;

pub use error::{DecodeReason, OpError, ProgramError};
pub use op::Op;
pub use program::{
    DEFAULT_INPUT_BITS, MAX_INPUT_BITS, MAX_PACKED_BITS, Node, PROGRAM_FORMAT_VERSION,
    PROGRAM_MAGIC, Program, ProgramBuilder, TensorDecl, TensorId, TensorKind, Visibility,
};
pub use tensor::{Tensor, numel, strides};
pub use witness::{PROGRAM_DIGEST_DOMAIN, ParseDigestError, ProgramDigest, Witness};
pub use zkmlops_field::Scale;
