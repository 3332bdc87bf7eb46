//! Range checks by byte lookups.
//!
//! `x ∈ [0, 2^bits)` for `1 <= bits <= 63`: `x = sum_i l_i 256^i` over `n = ceil(bits / 8)`
//! limbs, each limb looked up in a 256-entry table of plonky2's lookup argument (so `l_i ∈
//! [0, 256)`), and the top limb also looked up after multiplying it by `2^(8 - r)` when it holds
//! only `r < 8` bits (a limb below 256 whose product by `2^(8 - r)` is below 256 is below `2^r`;
//! no wrap-around: `255 * 2^7 < p`). The sum is below `2^bits <= 2^63 < p`, so the copy
//! constraint `x = sum` holds over the integers: `x` is exactly that number. The limbs are
//! witnesses ([`LimbGenerator`] fills them from `x`); nothing trusts them.
//!
//! Against plonky2's `range_check` (a `BaseSumGate` row of bit limbs per checked value), a
//! 16-bit check costs two lookups (one row holds 40) and one arithmetic operation (a row holds
//! 20), about 0.1 rows instead of 1; the table costs 10 rows once per circuit. Private weights
//! are range-checked one by one, so a model's weights were most of its rows.

use plonky2::field::types::{Field, PrimeField64};
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use crate::circuit::{D, F};

/// Bits per limb (the table has `2^LIMB_BITS` entries).
pub(crate) const LIMB_BITS: u32 = 8;

/// The widest range checked by limbs (the sum of the limbs stays below `p`).
pub(crate) const MAX_BITS: u32 = 63;

/// The byte table `(i, i)` for `i < 256`.
pub(crate) fn byte_table() -> std::sync::Arc<Vec<(u16, u16)>> {
    std::sync::Arc::new((0..1u16 << LIMB_BITS).map(|i| (i, i)).collect())
}

/// Constrain `x ∈ [0, 2^bits)` (`1 <= bits <= MAX_BITS`) with lookups in `table` (a
/// [`byte_table`]). Returns the limbs, lowest first.
pub(crate) fn range_check_by_limbs(
    b: &mut CircuitBuilder<F, D>,
    table: usize,
    x: Target,
    bits: u32,
) -> Vec<Target> {
    let n = bits.div_ceil(LIMB_BITS).max(1);
    let limbs: Vec<Target> = (0..n).map(|_| b.add_virtual_target()).collect();
    b.add_simple_generator(LimbGenerator {
        x,
        limbs: limbs.clone(),
    });
    for &l in &limbs {
        b.add_lookup_from_index(l, table);
    }
    let top_bits = bits - LIMB_BITS * (n - 1);
    let mut acc = b.zero();
    if let Some(&top) = limbs.last() {
        if top_bits < LIMB_BITS {
            let shifted = b.mul_const(F::from_canonical_u64(1 << (LIMB_BITS - top_bits)), top);
            b.add_lookup_from_index(shifted, table);
        }
        acc = top;
    }
    let base = F::from_canonical_u64(1 << LIMB_BITS);
    for &l in limbs.iter().rev().skip(1) {
        acc = b.mul_const_add(base, acc, l);
    }
    b.connect(acc, x);
    limbs
}

/// Fills the limbs of a range check from the checked value (its canonical integer, eight bits
/// at a time). A value outside the range gets limbs whose sum differs from it: the copy
/// constraint then refuses the witness.
#[derive(Debug, Clone, Default)]
pub(crate) struct LimbGenerator {
    x: Target,
    limbs: Vec<Target>,
}

impl SimpleGenerator<F, D> for LimbGenerator {
    fn id(&self) -> String {
        "zkmlops-LimbGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        vec![self.x]
    }

    fn run_once(
        &self,
        witness: &PartitionWitness<'_, F>,
        out_buffer: &mut GeneratedValues<F>,
    ) -> anyhow::Result<()> {
        let mut v = witness.get_target(self.x).to_canonical_u64();
        let mask = (1u64 << LIMB_BITS) - 1;
        for &l in &self.limbs {
            out_buffer.set_target(l, F::from_canonical_u64(v & mask))?;
            v >>= LIMB_BITS;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_target(self.x)?;
        dst.write_target_vec(&self.limbs)
    }

    fn deserialize(src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(LimbGenerator {
            x: src.read_target()?,
            limbs: src.read_target_vec()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plonky2::field::types::Field64;
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::circuit_data::CircuitConfig;
    use plonky2::plonk::prover::prove_with_partition_witness;
    use plonky2::util::timing::TimingTree;

    use crate::circuit::C;

    /// A circuit checking one input to `bits` bits, its data and the input and limb targets.
    fn circuit(
        bits: u32,
    ) -> (
        plonky2::plonk::circuit_data::CircuitData<F, C, D>,
        Target,
        Vec<Target>,
    ) {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let x = b.add_virtual_target();
        b.register_public_input(x);
        let table = b.add_lookup_table_from_pairs(byte_table());
        let limbs = range_check_by_limbs(&mut b, table, x, bits);
        (b.build::<C>(), x, limbs)
    }

    fn proves(bits: u32, x: u64) -> bool {
        let (data, t, _) = circuit(bits);
        let mut pw = PartialWitness::new();
        if pw.set_target(t, F::from_canonical_u64(x)).is_err() {
            return false;
        }
        let proved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| data.prove(pw)));
        match proved {
            Ok(Ok(p)) => data.verify(p).is_ok(),
            _ => false,
        }
    }

    #[test]
    fn the_range_is_exact() {
        for bits in [1, 5, 8, 10, 16, 17, 24, 31, 62, 63] {
            let top = (1u64 << bits) - 1;
            assert!(proves(bits, 0), "0 in {bits} bits");
            assert!(proves(bits, top), "2^{bits} - 1");
            assert!(!proves(bits, top + 1), "2^{bits} accepted");
            assert!(!proves(bits, F::ORDER - 1), "-1 accepted in {bits} bits");
        }
    }

    /// An attacker with their own prover: the honest witness of an in-range value, then cells
    /// overwritten so that the limbs still sum to an out-of-range input. A limb outside the
    /// table (256, or p - 1) cannot even reach a proof: plonky2's prover computes the lookup
    /// multiplicities from the table and stops on a value it lacks (the log-derivative argument
    /// itself is plonky2's). Where every looked-up value stays in the table (a top limb over its
    /// bits, its shifted copy left honest) a proof exists and the unmodified verifier rejects it.
    #[test]
    fn forged_limbs_are_rejected() {
        // (bits, forged input, forged limbs lowest first, a proof exists)
        let cases: [(u32, u64, &[u64], bool); 3] = [
            // 2^16 in 16 bits with the low limb 256 (256 + 255 * 256 = 65536).
            (16, 1 << 16, &[256, 255], false),
            // 2^10 in 10 bits: top limb 4 holds 3 bits where 2 are allowed.
            (10, 1 << 10, &[0, 4], true),
            // -1 in 8 bits: the limb is p - 1.
            (8, F::ORDER - 1, &[F::ORDER - 1], false),
        ];
        for (bits, x, forged, exists) in cases {
            let (data, t, limbs) = circuit(bits);
            let mut pw = PartialWitness::new();
            pw.set_target(t, F::ONE).expect("set");
            let mut w = generate_partial_witness(pw, &data.prover_only, &data.common)
                .expect("the honest witness");
            let mut set = |target: Target, v: u64| {
                let at = target.index(w.num_wires, w.degree);
                let rep = w.representative_map[at];
                w.values[rep] = Some(F::from_canonical_u64(v));
            };
            set(t, x);
            for (&l, &v) in limbs.iter().zip(forged) {
                set(l, v);
            }
            let proved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                prove_with_partition_witness(
                    &data.prover_only,
                    &data.common,
                    w,
                    &mut TimingTree::default(),
                )
            }));
            match proved {
                Ok(Ok(p)) => {
                    assert!(exists, "{bits} bits: a proof with limbs {forged:?}");
                    assert!(
                        data.verify(p).is_err(),
                        "{bits} bits: the forged limbs {forged:?} of {x} were accepted"
                    );
                }
                _ => assert!(!exists, "{bits} bits: no proof to reject"),
            }
        }
    }
}
