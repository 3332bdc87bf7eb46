//! A Program lowered to gate-level arithmetic, for the PLONK-style backends (`zkmlops-plonky2`,
//! `zkmlops-halo2`): one lowering, one bound analysis and one set of prover hints, written
//! against the small [`Gates`] interface each backend implements on its own circuit builder.
//!
//! What the lowering proves, op by op (the reference semantics of `zkmlops-tensor`, exactly):
//!
//! - products and sums (matmul, gemm, conv2d, add, sub, mul, sum) are multiply-add chains:
//!   exact because the bound analysis proves every result stays within [`Gates::half`]
//!   (otherwise operands are range-checked narrower, or the Program is refused, naming the
//!   tensor);
//! - rounded division (rescale, mean, average pooling, division by a tensor) is
//!   `n + o = q d + r` with `0 <= r < d` and `q` range-checked so that the equation holds over
//!   the integers;
//! - ReLU is a sign decomposition, max (reduce_max, max pooling, argmax) a proved comparison
//!   chain, a table lookup a proved clamp and a lookup in a 16-bit table, a square root two
//!   proved inequalities, a stable partition a multiset equality ([`Gates::multiset_eq`]);
//! - data movement (reshape, flatten, transpose, concat, slice) is pure rewiring: the reference
//!   op applied to a tensor of element indices says which wire each output element is.
//!
//! The prover's hints (quotients, remainders, sign bits, comparison and clamp bits, partition
//! outputs) come from the witness ([`Lowered::hint_values`]); the constraints never trust them.
//! Statement binding, public inputs and committed tensors stay with each backend.

mod lower;

use std::sync::Arc;

pub use lower::{HintValues, Lowered, lower, supported_features};

/// Why a Program cannot be lowered, or a witness is beyond what its circuit proves. Backends
/// turn it into a [`zkmlops_proof::ProveError`] with their id ([`Refusal::into_prove_error`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A feature the lowering (or the backend's gates) does not prove.
    #[error("unsupported: {feature}")]
    Unsupported {
        /// What.
        feature: &'static str,
    },
    /// A value, or a worst-case bound, beyond what the circuit proves.
    #[error("{what} of tensor {tensor:?}: {value} exceeds {limit}")]
    Limit {
        /// The tensor's name.
        tensor: String,
        /// Which quantity.
        what: &'static str,
        /// Its magnitude.
        value: u128,
        /// The limit.
        limit: u128,
    },
}

impl Refusal {
    /// The boundary's error for backend `backend`.
    #[must_use]
    pub fn into_prove_error(self, backend: zkmlops_proof::BackendId) -> zkmlops_proof::ProveError {
        match self {
            Refusal::Unsupported { feature } => {
                zkmlops_proof::ProveError::Unsupported { backend, feature }
            }
            Refusal::Limit {
                tensor,
                what,
                value,
                limit,
            } => zkmlops_proof::ProveError::Limit {
                backend,
                tensor,
                what,
                value,
                limit,
            },
        }
    }
}

/// The gate-level interface a backend's circuit builder offers the lowering. Constants are
/// signed integers (`i128`), embedded as `p - |x|` when negative. Every method adds
/// constraints; none trusts a value the prover supplies.
pub trait Gates {
    /// A wire (a cell or target) of the backend's circuit.
    type Wire: Copy + std::fmt::Debug + PartialEq;

    /// The largest magnitude the bound analysis lets a value reach: `(p - 1) / 2` when that
    /// fits an `i128`, else a bound well below `p / 2` (`2^126` for a 255-bit field).
    fn half(&self) -> i128;

    /// Whether every field element is an integer in `[-half, half]` (Goldilocks). When not
    /// (a 255-bit field), private inputs without a declared bound are range-checked to 64
    /// signed bits.
    fn covers_field(&self) -> bool;

    /// A wire the prover sets (an input element or a hint).
    fn input(&mut self) -> Self::Wire;
    /// A wire the prover sets, proved to be 0 or 1.
    fn bool_input(&mut self) -> Self::Wire {
        let w = self.input();
        self.assert_bool(w);
        w
    }
    /// A constant.
    fn constant(&mut self, v: i128) -> Self::Wire;
    /// `a + b`.
    fn add(&mut self, a: Self::Wire, b: Self::Wire) -> Self::Wire;
    /// `a - b`.
    fn sub(&mut self, a: Self::Wire, b: Self::Wire) -> Self::Wire;
    /// `-a`.
    fn neg(&mut self, a: Self::Wire) -> Self::Wire;
    /// `a b`.
    fn mul(&mut self, a: Self::Wire, b: Self::Wire) -> Self::Wire;
    /// `a b + c`.
    fn mul_add(&mut self, a: Self::Wire, b: Self::Wire, c: Self::Wire) -> Self::Wire;
    /// `k a`.
    fn mul_const(&mut self, k: i128, a: Self::Wire) -> Self::Wire;
    /// `a + k`.
    fn add_const(&mut self, a: Self::Wire, k: i128) -> Self::Wire;
    /// `k a + b`.
    fn mul_const_add(&mut self, k: i128, a: Self::Wire, b: Self::Wire) -> Self::Wire;
    /// The sum of `terms` (0 when empty).
    fn add_many(&mut self, terms: &[Self::Wire]) -> Self::Wire;
    /// `init + sum a_i b_i` (a dot product; backends may pack several products per row).
    fn dot(&mut self, pairs: &[(Self::Wire, Self::Wire)], init: Option<Self::Wire>) -> Self::Wire {
        let mut acc = match init {
            Some(w) => w,
            None => self.constant(0),
        };
        for &(a, b) in pairs {
            acc = self.mul_add(a, b, acc);
        }
        acc
    }
    /// `a == b`.
    fn connect(&mut self, a: Self::Wire, b: Self::Wire);
    /// `0 <= a < 2^bits` over the integers (`bits <= 64`).
    fn range_check(&mut self, a: Self::Wire, bits: u32);
    /// `0 <= a + k < 2^bits` over the integers (a range check of a shifted value; backends
    /// may fold the shift into the check).
    fn range_check_shifted(&mut self, a: Self::Wire, k: i128, bits: u32) {
        let shifted = self.add_const(a, k);
        self.range_check(shifted, bits);
    }
    /// `a (a - 1) == 0`.
    fn assert_bool(&mut self, a: Self::Wire);
    /// A lookup table of `(input, output)` pairs (distinct inputs); returns its index.
    fn table(&mut self, pairs: Arc<Vec<(u16, u16)>>) -> usize;
    /// The output of table `table` at input `x`, proved to be a row of the table.
    fn lookup(&mut self, table: usize, x: Self::Wire) -> Self::Wire;
    /// Prove that the pairs `left` are a permutation of the pairs `right`, with randomness
    /// bound to `seed` (every wire the pairs depend on).
    ///
    /// # Errors
    /// [`Refusal::Unsupported`] when the backend has no such argument.
    fn multiset_eq(
        &mut self,
        seed: &[Self::Wire],
        left: &[(Self::Wire, Self::Wire)],
        right: &[(Self::Wire, Self::Wire)],
    ) -> Result<(), Refusal>;
}
