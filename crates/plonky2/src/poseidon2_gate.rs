//! A custom plonky2 gate for `zkmlops-commit`'s Poseidon2 permutation (Plonky3's width-8
//! Goldilocks Poseidon2: `x^7` S-boxes, external layer `M4` blocks plus column sums, internal
//! layer `diag * s + sum(s)`), one row per permutation.
//!
//! Wires: the 8 inputs, the 8 outputs, then every S-box output (8 per full round, 1 per partial
//! round): 102 wires for 8 full and 22 partial rounds. Constraints (degree 7): each stored
//! S-box output equals `(state + rc)^7` of the state the linear layers give from the previous
//! stored values, and each output equals the final state. The same constraint code serves the
//! prover (extension and base field) and the recursive verifier (circuit), through [`Alg`].
//! The arithmetic-gate version took about 60 rows per permutation.

use std::sync::OnceLock;

use p3_field::PrimeField64;
use plonky2::field::types::Field;
use plonky2::gates::gate::Gate;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::wire::Wire;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::CommonCircuitData;
use plonky2::plonk::vars::{EvaluationTargets, EvaluationVars, EvaluationVarsBase};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};
use zkmlops_commit::WIDTH;

use crate::alg::{Alg, Base, Circ, Ext, FE};
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

/// The round constants as plonky2 field elements.
struct Constants {
    initial: Vec<[F; WIDTH]>,
    partial: Vec<F>,
    terminal: Vec<[F; WIDTH]>,
}

fn constants() -> &'static Constants {
    static K: OnceLock<Constants> = OnceLock::new();
    K.get_or_init(|| {
        let f = |x: &p3_goldilocks::Goldilocks| F::from_canonical_u64(x.as_canonical_u64());
        let (initial, partial, terminal) = zkmlops_commit::round_constants();
        Constants {
            initial: initial.iter().map(|r| r.each_ref().map(f)).collect(),
            partial: partial.iter().map(f).collect(),
            terminal: terminal.iter().map(|r| r.each_ref().map(f)).collect(),
        }
    })
}

/// Where the stored S-box outputs start.
const START: usize = 2 * WIDTH;

fn stored() -> usize {
    let k = constants();
    WIDTH * (k.initial.len() + k.terminal.len()) + k.partial.len()
}

/// Plonky3's `apply_mat4`: rows (2 3 1 1), (1 2 3 1), (1 1 2 3), (3 1 1 2).
fn mat4<A: Alg>(a: &mut A, x: [A::V; 4]) -> [A::V; 4] {
    let t01 = a.add(x[0], x[1]);
    let t23 = a.add(x[2], x[3]);
    let t0123 = a.add(t01, t23);
    let t01123 = a.add(t0123, x[1]);
    let t01233 = a.add(t0123, x[3]);
    let x0d = a.add(x[0], x[0]);
    let x2d = a.add(x[2], x[2]);
    [
        a.add(t01123, t01),
        a.add(t01123, x2d),
        a.add(t01233, t23),
        a.add(t01233, x0d),
    ]
}

/// The external linear layer (`mds_light_permutation` for width 8).
fn external<A: Alg>(a: &mut A, s: &mut [A::V; WIDTH]) {
    let lo = mat4(a, [s[0], s[1], s[2], s[3]]);
    let hi = mat4(a, [s[4], s[5], s[6], s[7]]);
    for k in 0..4 {
        let sum = a.add(lo[k], hi[k]);
        s[k] = a.add(lo[k], sum);
        s[4 + k] = a.add(hi[k], sum);
    }
}

/// The internal linear layer: `diag * s + sum(s)`.
fn internal<A: Alg>(a: &mut A, s: &mut [A::V; WIDTH]) {
    let mut sum = s[0];
    for &x in &s[1..] {
        sum = a.add(sum, x);
    }
    for (x, &d) in s.iter_mut().zip(&DIAG) {
        let dx = a.scale(F::from_canonical_u64(d), *x);
        *x = a.add(dx, sum);
    }
}

fn pow7<A: Alg>(a: &mut A, x: A::V) -> A::V {
    let x2 = a.mul(x, x);
    let x3 = a.mul(x2, x);
    let x6 = a.mul(x3, x3);
    a.mul(x6, x)
}

/// The permutation over `wires` (inputs, outputs, stored S-box outputs). With `check`, the
/// constraints (stored value minus computed value, then output minus final state); without,
/// `wires` holds only the inputs and the stored values and outputs are computed into it.
fn run<A: Alg>(a: &mut A, wires: &mut Vec<A::V>, check: bool) -> Vec<A::V> {
    let k = constants();
    let mut out = Vec::new();
    let mut s: [A::V; WIDTH] = core::array::from_fn(|i| wires[i]);
    external(a, &mut s);
    let mut w = START;
    let mut sbox = |a: &mut A, wires: &mut Vec<A::V>, x: A::V, rc: F| -> A::V {
        let t = a.add_const(x, rc);
        let y = pow7(a, t);
        if check {
            out.push(a.sub(wires[w], y));
        } else {
            wires[w] = y;
        }
        w += 1;
        wires[w - 1]
    };
    for round in &k.initial {
        for (x, &rc) in s.iter_mut().zip(round) {
            *x = sbox(a, wires, *x, rc);
        }
        external(a, &mut s);
    }
    for &rc in &k.partial {
        s[0] = sbox(a, wires, s[0], rc);
        internal(a, &mut s);
    }
    for round in &k.terminal {
        for (x, &rc) in s.iter_mut().zip(round) {
            *x = sbox(a, wires, *x, rc);
        }
        external(a, &mut s);
    }
    for (i, &x) in s.iter().enumerate() {
        if check {
            out.push(a.sub(wires[WIDTH + i], x));
        } else {
            wires[WIDTH + i] = x;
        }
    }
    out
}

/// One Poseidon2 permutation per row.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Poseidon2Gate;

impl Poseidon2Gate {
    /// The wire of input `i`.
    pub(crate) fn input(row: usize, i: usize) -> Target {
        Target::wire(row, i)
    }

    /// The wire of output `i`.
    pub(crate) fn output(row: usize, i: usize) -> Target {
        Target::wire(row, WIDTH + i)
    }
}

impl Gate<F, D> for Poseidon2Gate {
    fn id(&self) -> String {
        format!("zkmlops-Poseidon2Gate<WIDTH={WIDTH}>")
    }

    fn serialize(&self, _dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        Ok(())
    }

    fn deserialize(_src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Poseidon2Gate)
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<'_, F, D>) -> Vec<FE> {
        let mut wires = vars.local_wires.to_vec();
        run(&mut Ext, &mut wires, true)
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<'_, F>,
        mut yield_constr: StridedConstraintConsumer<'_, F>,
    ) {
        let mut wires: Vec<F> = (0..self.num_wires()).map(|i| vars.local_wires[i]).collect();
        yield_constr.many(run(&mut Base, &mut wires, true));
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<'_, D>,
    ) -> Vec<ExtensionTarget<D>> {
        let mut wires = vars.local_wires.to_vec();
        run(&mut Circ(builder), &mut wires, true)
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(
            Poseidon2Generator { row }.adapter(),
        )]
    }

    fn num_wires(&self) -> usize {
        START + stored()
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        7
    }

    fn num_constraints(&self) -> usize {
        stored() + WIDTH
    }
}

/// Fills a Poseidon2 row from its inputs.
#[derive(Debug, Clone, Default)]
struct Poseidon2Generator {
    row: usize,
}

impl SimpleGenerator<F, D> for Poseidon2Generator {
    fn id(&self) -> String {
        "zkmlops-Poseidon2Generator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..WIDTH)
            .map(|i| Poseidon2Gate::input(self.row, i))
            .collect()
    }

    fn run_once(
        &self,
        witness: &PartitionWitness<'_, F>,
        out_buffer: &mut GeneratedValues<F>,
    ) -> anyhow::Result<()> {
        let mut wires = vec![F::ZERO; Poseidon2Gate.num_wires()];
        for (i, w) in wires.iter_mut().enumerate().take(WIDTH) {
            *w = witness.get_wire(Wire {
                row: self.row,
                column: i,
            });
        }
        run(&mut Base, &mut wires, false);
        for (column, &v) in wires.iter().enumerate().skip(WIDTH) {
            out_buffer.set_wire(
                Wire {
                    row: self.row,
                    column,
                },
                v,
            )?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)
    }

    fn deserialize(src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(Poseidon2Generator {
            row: src.read_usize()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};

    use super::*;
    use crate::circuit::C;

    #[test]
    fn the_gate_is_low_degree() {
        test_low_degree::<F, _, D>(Poseidon2Gate);
    }

    #[test]
    fn the_three_evaluations_agree() {
        test_eval_fns::<F, C, _, D>(Poseidon2Gate).unwrap();
    }

    #[test]
    fn it_fits_a_standard_row() {
        let config = plonky2::plonk::circuit_data::CircuitConfig::standard_recursion_config();
        assert!(Poseidon2Gate.num_wires() <= config.num_wires);
        assert!(2 * WIDTH <= config.num_routed_wires);
    }
}
