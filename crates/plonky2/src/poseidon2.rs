//! `zkmlops-commit`'s sponge in a plonky2 circuit: Plonky3's width-8 Goldilocks Poseidon2
//! (the same round constants, S-box `x^7`, external layer `M4` blocks plus column sums, internal
//! layer `diag * s + sum(s)`), written with plonky2's arithmetic gates. Tested against the
//! native permutation, so a plonky2 proof commits to exactly the digest `zkmlops-commit`
//! computes and the FRI backend proves: stages chain across the two backends.

use p3_field::PrimeField64;
use plonky2::field::types::Field;
use plonky2::iop::target::Target;
use plonky2::plonk::circuit_builder::CircuitBuilder;
use zkmlops_commit::{RATE, WIDTH};

use crate::circuit::{D, F};

/// The internal layer's diagonal (Plonky3's `MATRIX_DIAG_8_GOLDILOCKS`): -2, 1, 2, 1/2, 3,
/// -1/2, -3, -4.
const DIAG: [u64; WIDTH] = [
    0xffff_fffe_ffff_ffff,
    0x0000_0000_0000_0001,
    0x0000_0000_0000_0002,
    0x7fff_ffff_8000_0001,
    0x0000_0000_0000_0003,
    0x7fff_ffff_8000_0000,
    0xffff_fffe_ffff_fffe,
    0xffff_fffe_ffff_fffd,
];

/// A Plonky3 Goldilocks element as plonky2's (the same field).
fn to_f(x: &p3_goldilocks::Goldilocks) -> F {
    F::from_canonical_u64(x.as_canonical_u64())
}

/// `c1 * a + c2 * b + ...` as chained `mul_const_add`.
fn lin(b: &mut CircuitBuilder<F, D>, terms: &[(u64, Target)]) -> Target {
    let mut acc = b.zero();
    for &(c, t) in terms {
        acc = b.mul_const_add(F::from_canonical_u64(c), t, acc);
    }
    acc
}

/// Plonky3's `apply_mat4`: rows (2 3 1 1), (1 2 3 1), (1 1 2 3), (3 1 1 2).
fn mat4(b: &mut CircuitBuilder<F, D>, x: [Target; 4]) -> [Target; 4] {
    [
        lin(b, &[(2, x[0]), (3, x[1]), (1, x[2]), (1, x[3])]),
        lin(b, &[(1, x[0]), (2, x[1]), (3, x[2]), (1, x[3])]),
        lin(b, &[(1, x[0]), (1, x[1]), (2, x[2]), (3, x[3])]),
        lin(b, &[(3, x[0]), (1, x[1]), (1, x[2]), (2, x[3])]),
    ]
}

/// The external linear layer (`mds_light_permutation` for width 8).
fn external(b: &mut CircuitBuilder<F, D>, s: &mut [Target; WIDTH]) {
    let lo = mat4(b, [s[0], s[1], s[2], s[3]]);
    let hi = mat4(b, [s[4], s[5], s[6], s[7]]);
    for k in 0..4 {
        let sum = b.add(lo[k], hi[k]);
        s[k] = b.add(lo[k], sum);
        s[4 + k] = b.add(hi[k], sum);
    }
}

/// `(x + rc)^7`.
fn sbox(b: &mut CircuitBuilder<F, D>, x: Target, rc: F) -> Target {
    let x = b.add_const(x, rc);
    let x2 = b.mul(x, x);
    let x3 = b.mul(x2, x);
    let x6 = b.mul(x3, x3);
    b.mul(x6, x)
}

/// The permutation.
pub(crate) fn permute(b: &mut CircuitBuilder<F, D>, mut s: [Target; WIDTH]) -> [Target; WIDTH] {
    let (initial, partial, terminal) = zkmlops_commit::round_constants();
    external(b, &mut s);
    for round in &initial {
        for (x, rc) in s.iter_mut().zip(round) {
            *x = sbox(b, *x, to_f(rc));
        }
        external(b, &mut s);
    }
    for rc in &partial {
        s[0] = sbox(b, s[0], to_f(rc));
        let sum = b.add_many(s);
        for (x, &d) in s.iter_mut().zip(&DIAG) {
            *x = b.mul_const_add(F::from_canonical_u64(d), *x, sum);
        }
    }
    for round in &terminal {
        for (x, rc) in s.iter_mut().zip(round) {
            *x = sbox(b, *x, to_f(rc));
        }
        external(b, &mut s);
    }
    s
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
        let expect: Vec<F> = native.iter().map(to_f).collect();
        assert_eq!(proof.public_inputs, expect);
        data.verify(proof).unwrap();
    }
}
