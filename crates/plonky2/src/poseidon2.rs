//! `zkmlops-commit`'s sponge in a plonky2 circuit: Plonky3's width-8 Goldilocks Poseidon2
//! (the same round constants, S-box `x^7`, external layer `M4` blocks plus column sums, internal
//! layer `diag * s + sum(s)`), one custom-gate row per permutation
//! ([`crate::poseidon2_gate::Poseidon2Gate`]). Tested against the native permutation, so a plonky2 proof commits to exactly the digest `zkmlops-commit`
//! computes and the FRI backend proves: stages chain across the two backends.

use plonky2::field::types::Field;
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use zkmlops_commit::{RATE, WIDTH};

use crate::circuit::{D, F};
use crate::poseidon2_gate::Poseidon2Gate;

/// The permutation: one [`Poseidon2Gate`] row, its inputs and outputs wired to `s`.
pub(crate) fn permute(b: &mut CircuitBuilder<F, D>, s: [Target; WIDTH]) -> [Target; WIDTH] {
    let row = b.add_gate(Poseidon2Gate, vec![]);
    for (i, &x) in s.iter().enumerate() {
        b.connect(x, Poseidon2Gate::input(row, i));
    }
    core::array::from_fn(|i| Poseidon2Gate::output(row, i))
}

/// Absorb `values` into the sponge from the constant state `iv` (what `zkmlops-commit` computes
/// from the Program digest or the lineage domain and the length): the digest's four targets.
pub(crate) fn absorb(
    b: &mut CircuitBuilder<F, D>,
    iv: [u64; WIDTH],
    values: &[Target],
) -> [Target; RATE] {
    let mut s: [Target; WIDTH] = iv.map(|v| b.constant(F::from_canonical_u64(v)));
    for block in values.chunks(RATE) {
        for (x, &v) in s.iter_mut().zip(block) {
            *x = b.add(*x, v);
        }
        s = permute(b, s);
    }
    [s[0], s[1], s[2], s[3]]
}

#[cfg(test)]
mod tests {
    use p3_goldilocks::Goldilocks;
    use p3_symmetric::Permutation;
    use plonky2::iop::witness::{PartialWitness, WitnessWrite};
    use plonky2::plonk::circuit_data::CircuitConfig;

    use super::*;
    use crate::circuit::C;

    /// Also through recursion: the gate's circuit evaluation (the recursive verifier's) agrees
    /// with the prover's, or the inner proof would not verify in the circuit.
    #[test]
    fn a_proof_using_the_gate_verifies_recursively() {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs: [Target; WIDTH] = core::array::from_fn(|_| b.add_virtual_target());
        let out = permute(&mut b, inputs);
        b.register_public_inputs(&out);
        let data = b.build::<C>();
        let mut pw = PartialWitness::new();
        for (i, &t) in inputs.iter().enumerate() {
            pw.set_target(t, F::from_canonical_usize(i)).unwrap();
        }
        let proof = data.prove(pw).unwrap();
        let mut outer = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let pt = outer.add_virtual_proof_with_pis(&data.common);
        let vt = outer.constant_verifier_data(&data.verifier_only);
        outer.verify_proof::<C>(&pt, &vt, &data.common);
        let outer_data = outer.build::<C>();
        let mut pw = PartialWitness::new();
        pw.set_proof_with_pis_target(&pt, &proof).unwrap();
        outer_data.verify(outer_data.prove(pw).unwrap()).unwrap();
    }

    /// A cheating prover writes a row's cells after honest witness generation (an output, a
    /// stored S-box value of a full round, the last partial/terminal value): each proof is
    /// rejected by the unmodified verifier. The unedited control verifies.
    #[test]
    fn a_forged_permutation_row_is_rejected() {
        use plonky2::iop::generator::generate_partial_witness;
        use plonky2::plonk::prover::prove_with_partition_witness;
        use plonky2::util::timing::TimingTree;

        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs: [Target; WIDTH] = core::array::from_fn(|_| b.add_virtual_target());
        let out = permute(&mut b, inputs);
        b.register_public_inputs(&out);
        let data = b.build::<C>();
        let Target::Wire(first) = out[0] else {
            panic!("outputs are gate wires")
        };
        let widths = plonky2::gates::gate::Gate::<F, D>::num_wires(&Poseidon2Gate);
        for column in [None, Some(WIDTH), Some(2 * WIDTH + 3), Some(widths - 1)] {
            let mut pw = PartialWitness::new();
            for (i, &t) in inputs.iter().enumerate() {
                pw.set_target(t, F::from_canonical_usize(i + 7)).unwrap();
            }
            let mut witness =
                generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
            if let Some(column) = column {
                let at = Target::wire(first.row, column).index(witness.num_wires, witness.degree);
                let rep = witness.representative_map[at];
                let v = witness.values[rep].unwrap();
                witness.values[rep] = Some(v + F::ONE);
            }
            let proof = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                prove_with_partition_witness(
                    &data.prover_only,
                    &data.common,
                    witness,
                    &mut TimingTree::default(),
                )
            }));
            let verified = match proof {
                Ok(Ok(p)) => data.verify(p).is_ok(),
                _ => false,
            };
            assert_eq!(verified, column.is_none(), "column {column:?}");
        }
    }

    #[test]
    fn the_circuit_permutation_is_plonky3s() {
        let mut b = CircuitBuilder::<F, D>::new(CircuitConfig::standard_recursion_config());
        let inputs: [Target; WIDTH] = core::array::from_fn(|_| b.add_virtual_target());
        let out = permute(&mut b, inputs);
        b.register_public_inputs(&out);
        let data = b.build::<C>();
        let state: [u64; WIDTH] = core::array::from_fn(|i| {
            ((i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) % 0xffff_ffff_0000_0001
        });
        let mut native = state.map(Goldilocks::new);
        zkmlops_commit::permutation().permute_mut(&mut native);
        let mut pw = PartialWitness::new();
        for (&t, &v) in inputs.iter().zip(&state) {
            pw.set_target(t, F::from_canonical_u64(v)).unwrap();
        }
        let proof = data.prove(pw).unwrap();
        let expect: Vec<F> = native
            .iter()
            .map(|x| F::from_canonical_u64(p3_field::PrimeField64::as_canonical_u64(x)))
            .collect();
        assert_eq!(proof.public_inputs, expect);
        data.verify(proof).unwrap();
    }
}
