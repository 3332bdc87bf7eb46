//! A Freivalds check of a product of two committed witness matrices, `P = A B`, as an
//! alternative to proving every multiply-accumulate: `P` is a committed input and the Program
//! checks `P R - A (B R) = 0` for a challenge matrix `R [n, T]`, `O(mk + kn + mn)` work.
//!
//! `R` is drawn by Fiat–Shamir from the statement's own commitments (to `A, B` and to `P`):
//! the prover computes them natively, derives `R`, builds the Program with `R` as constants and
//! proves it; the verifier reads the commitments from the envelope, derives `R` the same way
//! and checks the envelope against the Program that `R` gives. The commitments do not depend on
//! the Program (lineage groups), so there is no circularity, and changing `P` changes its digest
//! and so `R`. A wrong `P` survives only if `R`'s columns all fall in the kernel of
//! `P - A B`: probability `2^-16` per column, `2^-96` for the `T = 6` columns, per hash a
//! cheating prover tries. (`R` is small so that the integer products cannot overflow.)
//!
//! Measured against the direct product in `docs/training.md` (`freivalds_bench`).

use serde::{Deserialize, Serialize};
use zkmlops_commit::Digest;
use zkmlops_field::Scale;
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

use crate::logreg::SALT_LEN;
use crate::{MetricsError, TrainError};

/// Challenge columns.
pub const CHALLENGES: usize = 6;
/// Bits of each challenge entry.
pub const CHALLENGE_BITS: u32 = 16;
/// Domain tag of the challenge derivation.
const DOMAIN: i64 = 0x6672_7679;

/// `R [n, CHALLENGES]` from the two commitments (Poseidon2 with a counter per entry).
#[must_use]
pub fn challenge(inputs: &Digest, product: &Digest, n: usize) -> Vec<i64> {
    let limbs: Vec<i64> = inputs
        .0
        .iter()
        .chain(&product.0)
        .map(|&l| i64::try_from(l >> 2).unwrap_or(0))
        .collect();
    (0..n * CHALLENGES)
        .map(|j| {
            let d = zkmlops_commit::commit_lineage(&[
                &[DOMAIN, i64::try_from(j).unwrap_or(i64::MAX)],
                &limbs,
            ]);
            i64::try_from(d.0[0] & ((1 << CHALLENGE_BITS) - 1)).unwrap_or(0)
        })
        .collect()
}

/// The check Program: `A [m, k]`, `B [k, n]` at scale `2^s` committed in group 1 (salt
/// first), the claimed `P [m, n]` at `2^(2s)` in group 2 (salt first), `R` a constant, and the
/// public output `difference = P R - A (B R)` `[m, CHALLENGES]`, all zero for a true product.
///
/// # Errors
/// [`TrainError`] for bad shapes or scale.
pub fn product_check_program(
    m: usize,
    k: usize,
    n: usize,
    scale_bits: u32,
    r: &[i64],
) -> Result<Program, TrainError> {
    let s = Scale::new(scale_bits).map_err(|_| TrainError::Spec {
        name: "scale_bits",
        value: scale_bits.to_string(),
        allowed: "0..=30",
    })?;
    let p_scale = s.product(s).map_err(|_| TrainError::Spec {
        name: "scale_bits",
        value: scale_bits.to_string(),
        allowed: "at most half the largest scale",
    })?;
    crate::logreg::check_size(m.max(k), k.max(n))?;
    let (inputs, product) = (Visibility::CommittedTo(1), Visibility::CommittedTo(2));
    let mut b = ProgramBuilder::new();
    b.unbounded_input("inputs/salt", &[SALT_LEN], s, inputs);
    let a = b.input("a", &[m, k], s, inputs);
    let bb = b.input("b", &[k, n], s, inputs);
    b.unbounded_input("product/salt", &[SALT_LEN], s, product);
    let p = b.input("p", &[m, n], p_scale, product);
    let r = b.constant(
        "r",
        Tensor::new(vec![n, CHALLENGES], r.to_vec())?,
        Scale::ONE,
    )?;
    let br = b.op("b_r", Op::MatMul, &[bb, r])?;
    let abr = b.op("a_b_r", Op::MatMul, &[a, br])?;
    let pr = b.op("p_r", Op::MatMul, &[p, r])?;
    let diff = b.op("difference", Op::Sub, &[pr, abr])?;
    b.output(diff, Visibility::Public)?;
    Ok(b.build()?)
}

/// A proved product claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductProof {
    /// Shape `[m, k, n]`.
    pub shape: [usize; 3],
    /// Scale exponent of `A` and `B`.
    pub scale_bits: u32,
    /// Commitment to `A, B` (salt first).
    pub inputs_commitment: Digest,
    /// Commitment to `P` (salt first).
    pub product_commitment: Digest,
    /// The proof.
    pub envelope: ProofEnvelope,
}

/// Prove that the committed `p` is `a b` by the Freivalds check.
///
/// # Errors
/// [`MetricsError`]: bad shapes, or a `p` that is not the product (the check's difference is
/// not zero), or the backend's refusal.
#[allow(clippy::too_many_arguments)]
pub fn prove_product(
    a: &Tensor,
    b: &Tensor,
    p: &Tensor,
    scale_bits: u32,
    salts: [&[i64; SALT_LEN]; 2],
    backend: &dyn Backend,
    preset: &str,
) -> Result<ProductProof, MetricsError> {
    let (&[m, k], &[k2, n]) = (a.shape(), b.shape()) else {
        return Err(TrainError::Data {
            row: 0,
            what: "A and B must be matrices",
        }
        .into());
    };
    if k != k2 || p.shape() != [m, n] {
        return Err(TrainError::Data {
            row: 0,
            what: "shapes do not chain: A [m, k], B [k, n], P [m, n]",
        }
        .into());
    }
    let inputs_commitment = zkmlops_commit::commit_lineage(&[salts[0], a.data(), b.data()]);
    let product_commitment = zkmlops_commit::commit_lineage(&[salts[1], p.data()]);
    let r = challenge(&inputs_commitment, &product_commitment, n);
    let program = product_check_program(m, k, n, scale_bits, &r)?;
    let witness = program
        .evaluate(&[
            Tensor::vector(salts[0].to_vec()),
            a.clone(),
            b.clone(),
            Tensor::vector(salts[1].to_vec()),
            p.clone(),
        ])
        .map_err(TrainError::from)?;
    let zero = witness
        .get(program.outputs()[0])
        .is_some_and(|d| d.data().iter().all(|&v| v == 0));
    if !zero {
        return Err(MetricsError::ProductCheck);
    }
    let envelope = backend.prove(&program, &witness, StageTag::Training, preset)?;
    Ok(ProductProof {
        shape: [m, k, n],
        scale_bits,
        inputs_commitment,
        product_commitment,
        envelope,
    })
}

impl ProductProof {
    /// Verify: derive `R` from the envelope's commitments, check the envelope against the
    /// Program `R` gives, the claimed commitments, and that every difference is zero.
    ///
    /// # Errors
    /// [`MetricsError`].
    pub fn verify(&self, backend: &dyn Backend, policy: &VerifyPolicy) -> Result<(), MetricsError> {
        let digest = |i: usize| zkmlops_commit::statement_digest(&self.envelope.statement, i);
        let (Some(inputs), Some(product)) = (digest(0), digest(1)) else {
            return Err(MetricsError::Commitment { which: "product" });
        };
        if inputs != self.inputs_commitment {
            return Err(MetricsError::Commitment { which: "inputs" });
        }
        if product != self.product_commitment {
            return Err(MetricsError::Commitment { which: "product" });
        }
        let [m, k, n] = self.shape;
        let r = challenge(&inputs, &product, n);
        let program = product_check_program(m, k, n, self.scale_bits, &r)?;
        let v = backend.verify(&program, &self.envelope, policy)?;
        let zero = v
            .statement
            .public
            .first()
            .is_some_and(|d| d.values.iter().all(|&x| x == 0));
        if !zero {
            return Err(MetricsError::ProductCheck);
        }
        Ok(())
    }
}
