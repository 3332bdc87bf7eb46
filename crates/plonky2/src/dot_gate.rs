//! Dot products, many multiply-accumulates per row.
//!
//! plonky2's `ArithmeticGate` holds 20 operations `c0 a b + c1 c` of four routed wires each, so
//! a dot product of `n` terms as a chain of `mul_add`s takes `n / 20` rows. A [`DotGate`] row
//! holds `pairs` products and a running sum, `out = in + sum_i a_i b_i` (one constraint of
//! degree 2), in `2 pairs + 2` routed wires: 39 products per row in the standard configuration's
//! 80, about twice as many. Every wire of a row is copy-constrained (an unused pair to zero), so
//! nothing in it is free for the prover: the one constraint fixes the output.

use plonky2::field::packed::PackedField;
use plonky2::gates::gate::Gate;
use plonky2::gates::packed_util::PackedEvaluableBase;
use plonky2::gates::util::StridedConstraintConsumer;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::generator::{GeneratedValues, SimpleGenerator, WitnessGeneratorRef};
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartitionWitness, Witness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CommonCircuitData};
use plonky2::plonk::vars::{
    EvaluationTargets, EvaluationVars, EvaluationVarsBase, EvaluationVarsBaseBatch,
    EvaluationVarsBasePacked,
};
use plonky2::util::serialization::{Buffer, IoResult, Read, Write};

use crate::alg::FE;
use crate::circuit::{D, F};

/// One point's variables as a packing of width 1, so a gate's packed evaluation (what the
/// prover's quotient runs) also serves the one-point one.
pub(crate) fn packed(vars: EvaluationVarsBase<'_, F>) -> EvaluationVarsBasePacked<'_, F> {
    EvaluationVarsBasePacked {
        local_constants: vars.local_constants,
        local_wires: vars.local_wires,
        public_inputs_hash: vars.public_inputs_hash,
    }
}

/// `out = in + sum_{i < pairs} a_i b_i` in one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DotGate {
    /// Products per row.
    pub(crate) pairs: usize,
}

impl DotGate {
    /// As many products as the configuration's routed wires hold (two per product, two for
    /// the running sum).
    pub(crate) fn new(config: &CircuitConfig) -> Self {
        DotGate {
            pairs: config.num_routed_wires.saturating_sub(2) / 2,
        }
    }

    /// The wire of the first factor of product `i`.
    pub(crate) fn a(row: usize, i: usize) -> Target {
        Target::wire(row, 2 * i)
    }

    /// The wire of the second factor of product `i`.
    pub(crate) fn b(row: usize, i: usize) -> Target {
        Target::wire(row, 2 * i + 1)
    }

    /// The wire of the sum the row adds to.
    pub(crate) fn acc_in(self, row: usize) -> Target {
        Target::wire(row, 2 * self.pairs)
    }

    /// The wire of the row's result.
    pub(crate) fn acc_out(self, row: usize) -> Target {
        Target::wire(row, 2 * self.pairs + 1)
    }
}

impl Gate<F, D> for DotGate {
    fn id(&self) -> String {
        format!("zkmlops-DotGate<pairs={}>", self.pairs)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.pairs)
    }

    fn deserialize(src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(DotGate {
            pairs: src.read_usize()?,
        })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<'_, F, D>) -> Vec<FE> {
        let w = vars.local_wires;
        let n = self.pairs;
        let mut sum = w[2 * n];
        for i in 0..n {
            sum += w[2 * i] * w[2 * i + 1];
        }
        vec![w[2 * n + 1] - sum]
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<'_, F>,
        yield_constr: StridedConstraintConsumer<'_, F>,
    ) {
        self.eval_unfiltered_base_packed(packed(vars), yield_constr);
    }

    fn eval_unfiltered_base_batch(&self, vars: EvaluationVarsBaseBatch<'_, F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<'_, D>,
    ) -> Vec<ExtensionTarget<D>> {
        let w = vars.local_wires;
        let n = self.pairs;
        let mut sum = w[2 * n];
        for i in 0..n {
            sum = builder.mul_add_extension(w[2 * i], w[2 * i + 1], sum);
        }
        vec![builder.sub_extension(w[2 * n + 1], sum)]
    }

    fn generators(&self, row: usize, _local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        vec![WitnessGeneratorRef::new(
            DotGenerator {
                row,
                pairs: self.pairs,
            }
            .adapter(),
        )]
    }

    fn num_wires(&self) -> usize {
        2 * self.pairs + 2
    }

    fn num_constants(&self) -> usize {
        0
    }

    fn degree(&self) -> usize {
        2
    }

    fn num_constraints(&self) -> usize {
        1
    }
}

impl PackedEvaluableBase<F, D> for DotGate {
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<'_, P>,
        mut yield_constr: StridedConstraintConsumer<'_, P>,
    ) {
        let w = vars.local_wires;
        let n = self.pairs;
        let mut sum = w[2 * n];
        for i in 0..n {
            sum += w[2 * i] * w[2 * i + 1];
        }
        yield_constr.one(w[2 * n + 1] - sum);
    }
}

/// Fills a row's result from its factors and input sum.
#[derive(Debug, Clone, Default)]
struct DotGenerator {
    row: usize,
    pairs: usize,
}

impl SimpleGenerator<F, D> for DotGenerator {
    fn id(&self) -> String {
        "zkmlops-DotGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        (0..=2 * self.pairs)
            .map(|c| Target::wire(self.row, c))
            .collect()
    }

    fn run_once(
        &self,
        witness: &PartitionWitness<'_, F>,
        out_buffer: &mut GeneratedValues<F>,
    ) -> anyhow::Result<()> {
        let get = |c: usize| witness.get_target(Target::wire(self.row, c));
        let mut sum = get(2 * self.pairs);
        for i in 0..self.pairs {
            sum += get(2 * i) * get(2 * i + 1);
        }
        out_buffer.set_target(Target::wire(self.row, 2 * self.pairs + 1), sum)
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.row)?;
        dst.write_usize(self.pairs)
    }

    fn deserialize(src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(DotGenerator {
            row: src.read_usize()?,
            pairs: src.read_usize()?,
        })
    }
}

/// `init + sum a_i b_i`: [`DotGate`] rows for runs of at least `min_row` products (a row's
/// unused pairs wired to zero), `mul_add`s (plonky2's shared arithmetic rows) for the rest.
pub(crate) fn dot(
    b: &mut CircuitBuilder<F, D>,
    gate: DotGate,
    min_row: usize,
    pairs: &[(Target, Target)],
    init: Option<Target>,
) -> Target {
    let mut acc = init;
    let mut rest = pairs;
    while gate.pairs > 0 && rest.len() >= min_row.max(1) {
        let take = rest.len().min(gate.pairs);
        let (chunk, tail) = rest.split_at(take);
        let row = b.add_gate(gate, vec![]);
        let zero = b.zero();
        for i in 0..gate.pairs {
            let (x, y) = chunk.get(i).copied().unwrap_or((zero, zero));
            b.connect(x, DotGate::a(row, i));
            b.connect(y, DotGate::b(row, i));
        }
        b.connect(acc.unwrap_or(zero), gate.acc_in(row));
        acc = Some(gate.acc_out(row));
        rest = tail;
    }
    let mut acc = acc.unwrap_or_else(|| b.zero());
    for &(x, y) in rest {
        acc = b.mul_add(x, y, acc);
    }
    acc
}

#[cfg(test)]
mod tests {
    use plonky2::field::types::Field;
    use plonky2::gates::gate_testing::{test_eval_fns, test_low_degree};
    use plonky2::iop::generator::generate_partial_witness;
    use plonky2::iop::witness::PartialWitness;
    use plonky2::plonk::prover::prove_with_partition_witness;
    use plonky2::util::timing::TimingTree;

    use super::*;
    use crate::circuit::C;

    fn gate() -> DotGate {
        DotGate::new(&CircuitConfig::standard_recursion_config())
    }

    #[test]
    fn the_gate_is_low_degree() {
        test_low_degree::<F, _, D>(gate());
    }

    #[test]
    fn the_three_evaluations_agree() {
        test_eval_fns::<F, C, _, D>(gate()).unwrap();
    }

    #[test]
    fn it_fills_the_routed_wires() {
        let config = CircuitConfig::standard_recursion_config();
        assert_eq!(gate().pairs, 39);
        assert!(gate().num_wires() <= config.num_routed_wires);
    }

    /// A dot of `n` products (inputs public), its data, input targets and output target.
    fn circuit(
        n: usize,
        init: bool,
    ) -> (
        plonky2::plonk::circuit_data::CircuitData<F, C, D>,
        Vec<Target>,
        Target,
    ) {
        let config = CircuitConfig::standard_recursion_config();
        let mut b = CircuitBuilder::<F, D>::new(config.clone());
        let inputs: Vec<Target> = (0..2 * n + 1).map(|_| b.add_virtual_target()).collect();
        b.register_public_inputs(&inputs);
        let pairs: Vec<(Target, Target)> =
            inputs[..2 * n].chunks(2).map(|c| (c[0], c[1])).collect();
        let out = dot(
            &mut b,
            DotGate::new(&config),
            20,
            &pairs,
            init.then_some(inputs[2 * n]),
        );
        b.register_public_input(out);
        if !init {
            let zero = b.zero();
            b.connect(inputs[2 * n], zero);
        }
        (b.build::<C>(), inputs, out)
    }

    fn value(i: usize) -> i64 {
        i64::try_from(i * 37 % 23).unwrap_or(0) - 11
    }

    /// Products from 0 to three rows and a tail, with and without an initial sum, against the
    /// integer dot product.
    #[test]
    fn it_computes_the_dot_product() {
        for n in [0, 1, 19, 20, 39, 40, 64, 117, 125] {
            for init in [false, true] {
                let (data, inputs, _) = circuit(n, init);
                let mut pw = PartialWitness::new();
                let mut want = 0i64;
                for (i, &t) in inputs.iter().enumerate() {
                    let v = if i == 2 * n && !init { 0 } else { value(i) };
                    pw.set_target(t, crate::circuit::felt(v)).unwrap();
                }
                for i in 0..n {
                    want += value(2 * i) * value(2 * i + 1);
                }
                if init {
                    want += value(2 * n);
                }
                let proof = data.prove(pw).unwrap();
                assert_eq!(
                    proof.public_inputs.last().copied(),
                    Some(crate::circuit::felt(want)),
                    "{n} products, init {init}"
                );
                data.verify(proof).unwrap();
            }
        }
    }

    /// A cheating prover: the honest witness, then one trace cell of the dot row overwritten
    /// alone (the result, the input sum, a factor, an unused pair's factor wired to zero); the
    /// unmodified verifier rejects each (the row's constraint or the copy constraints).
    #[test]
    fn an_edited_cell_is_rejected() {
        let n = 30;
        let (data, inputs, _) = circuit(n, true);
        let g = gate();
        // The dot is the first gate the circuit adds: row 0.
        let row = 0;
        let cells = [
            ("result", g.acc_out(row)),
            ("input sum", g.acc_in(row)),
            ("a factor", DotGate::b(row, 3)),
            ("an unused pair", DotGate::a(row, 35)),
        ];
        for (what, cell) in cells {
            let mut pw = PartialWitness::new();
            for (i, &t) in inputs.iter().enumerate() {
                pw.set_target(t, crate::circuit::felt(value(i))).unwrap();
            }
            let honest = generate_partial_witness(pw, &data.prover_only, &data.common).unwrap();
            // The cell leaves its copy class and takes a value of its own.
            let at = cell.index(honest.num_wires, honest.degree);
            let mut map = honest.representative_map.to_vec();
            let old = honest.values[map[at]].unwrap_or(F::ZERO);
            map[at] = at;
            let mut values = honest.values.clone();
            values[at] = Some(old + F::ONE);
            let w = plonky2::iop::witness::PartitionWitness {
                values,
                representative_map: &map,
                num_wires: honest.num_wires,
                degree: honest.degree,
            };
            let proved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                prove_with_partition_witness(
                    &data.prover_only,
                    &data.common,
                    w,
                    &mut TimingTree::default(),
                )
            }));
            let Ok(Ok(p)) = proved else {
                panic!("{what}: the cheating prover should still produce a proof");
            };
            assert!(data.verify(p).is_err(), "an edited {what} was accepted");
        }
    }
}
