//! Range checks by byte lookups.
//!
//! `x + k ∈ [0, 2^bits)` for `1 <= bits <= 63`: `x + k = sum_i l_i 256^i` over `n = ceil(bits /
//! 8)` limbs (one op of a [`LimbsGate`] row, `k` the row's constant: a signed value's offset,
//! or 0), each limb looked up in a 256-entry table of plonky2's lookup argument (so `l_i ∈ [0,
//! 256)`), and the top limb also looked up after multiplying it by `2^(8 - r)` (a wire of the
//! same op) when it holds only `r < 8` bits (a limb below 256 whose product by `2^(8 - r)` is
//! below 256 is below `2^r`; no wrap-around: `255 * 2^7 < p`). The sum is below `2^bits <= 2^63
//! < p`, so the row's equation holds over the integers: `x + k` is exactly that number. The
//! limbs are witnesses ([`LimbGenerator`] fills them from `x`); nothing trusts them.
//!
//! Against plonky2's `range_check` (a `BaseSumGate` row of bit limbs per checked value), an
//! 8-bit signed check costs one lookup (one row holds 40) and one op of a 40-op row, 0.05 rows
//! instead of 1 (a separate addition of the offset and composition of the limbs took an
//! arithmetic operation each, 20 to a row, before); the table costs 10 rows once per circuit.
//! Private weights are range-checked one by one, so a model's weights were most of its rows.

use plonky2::field::packed::PackedField;
use plonky2::field::types::{Field, PrimeField64};
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

use crate::alg::{Alg, Circ, Ext, FE};
use crate::circuit::{D, F};

/// Bits per limb (the table has `2^LIMB_BITS` entries).
pub(crate) const LIMB_BITS: u32 = 8;

/// The widest range checked by limbs (the sum of the limbs stays below `p`).
pub(crate) const MAX_BITS: u32 = 63;

/// The byte table `(i, i)` for `i < 256`.
pub(crate) fn byte_table() -> std::sync::Arc<Vec<(u16, u16)>> {
    std::sync::Arc::new((0..1u16 << LIMB_BITS).map(|i| (i, i)).collect())
}

/// `x + k = sum_i l_i 256^i` with `limbs` limbs, and `t = 2^top_shift l_top` when the top limb
/// holds fewer than 8 bits (`top_shift > 0`), for `ops` values per row; `k` is the row's
/// constant. Linear: one row checks 40 single-limb values (26 of two limbs) where a separate
/// addition and composition took an arithmetic operation each (20 to a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct LimbsGate {
    /// Limbs per value.
    pub(crate) limbs: usize,
    /// `8 - r` for a top limb of `r < 8` bits, else 0.
    pub(crate) top_shift: u32,
    /// Values per row.
    pub(crate) ops: usize,
}

impl LimbsGate {
    /// The gate checking `bits`-bit values (`1 <= bits <= MAX_BITS`) under `config`.
    pub(crate) fn new(config: &CircuitConfig, bits: u32) -> Self {
        let limbs = bits.div_ceil(LIMB_BITS).max(1);
        let top_bits = bits.saturating_sub(LIMB_BITS * (limbs - 1)).max(1);
        let top_shift = LIMB_BITS.saturating_sub(top_bits);
        let mut gate = LimbsGate {
            limbs: limbs as usize,
            top_shift,
            ops: 1,
        };
        gate.ops = (config.num_routed_wires / gate.wires_per_op()).max(1);
        gate
    }

    fn wires_per_op(self) -> usize {
        1 + self.limbs + usize::from(self.top_shift > 0)
    }

    /// The wire of op `op`'s checked value.
    pub(crate) fn x(self, row: usize, op: usize) -> Target {
        Target::wire(row, op * self.wires_per_op())
    }

    /// The wire of op `op`'s limb `i` (lowest first).
    pub(crate) fn limb(self, row: usize, op: usize, i: usize) -> Target {
        Target::wire(row, op * self.wires_per_op() + 1 + i)
    }

    /// The wire of op `op`'s shifted top limb (`top_shift > 0`).
    pub(crate) fn shifted(self, row: usize, op: usize) -> Target {
        Target::wire(row, op * self.wires_per_op() + 1 + self.limbs)
    }

    /// The constraints on one op's wires `w` (value, limbs, shifted top) with constant `k`.
    fn constraints<A: Alg>(self, a: &mut A, w: &[A::V], k: A::V) -> Vec<A::V> {
        let mut out = Vec::with_capacity(2);
        let Some(&top) = w.get(self.limbs) else {
            return out;
        };
        let mut sum = top;
        let base = F::from_canonical_u64(1 << LIMB_BITS);
        for &l in w[1..self.limbs].iter().rev() {
            let shifted = a.scale(base, sum);
            sum = a.add(shifted, l);
        }
        let lhs = a.add(w[0], k);
        out.push(a.sub(lhs, sum));
        if self.top_shift > 0
            && let Some(&t) = w.get(self.limbs + 1)
        {
            let scaled = a.scale(F::from_canonical_u64(1 << self.top_shift), top);
            out.push(a.sub(t, scaled));
        }
        out
    }
}

impl Gate<F, D> for LimbsGate {
    fn id(&self) -> String {
        format!(
            "zkmlops-LimbsGate<limbs={},top_shift={},ops={}>",
            self.limbs, self.top_shift, self.ops
        )
    }

    fn serialize(&self, dst: &mut Vec<u8>, _common: &CommonCircuitData<F, D>) -> IoResult<()> {
        dst.write_usize(self.limbs)?;
        dst.write_usize(self.top_shift as usize)?;
        dst.write_usize(self.ops)
    }

    fn deserialize(src: &mut Buffer<'_>, _common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        let limbs = src.read_usize()?;
        let top_shift = u32::try_from(src.read_usize()?).unwrap_or(u32::MAX);
        let ops = src.read_usize()?;
        Ok(LimbsGate {
            limbs,
            top_shift,
            ops,
        })
    }

    fn eval_unfiltered(&self, vars: EvaluationVars<'_, F, D>) -> Vec<FE> {
        let k = vars.local_constants[0];
        let per = self.wires_per_op();
        (0..self.ops)
            .flat_map(|op| {
                self.constraints(&mut Ext, &vars.local_wires[op * per..(op + 1) * per], k)
            })
            .collect()
    }

    fn eval_unfiltered_base_one(
        &self,
        vars: EvaluationVarsBase<'_, F>,
        yield_constr: StridedConstraintConsumer<'_, F>,
    ) {
        self.eval_unfiltered_base_packed(crate::dot_gate::packed(vars), yield_constr);
    }

    fn eval_unfiltered_base_batch(&self, vars: EvaluationVarsBaseBatch<'_, F>) -> Vec<F> {
        self.eval_unfiltered_base_batch_packed(vars)
    }

    fn eval_unfiltered_circuit(
        &self,
        builder: &mut CircuitBuilder<F, D>,
        vars: EvaluationTargets<'_, D>,
    ) -> Vec<ExtensionTarget<D>> {
        let k = vars.local_constants[0];
        let per = self.wires_per_op();
        let mut out = Vec::new();
        for op in 0..self.ops {
            let w = &vars.local_wires[op * per..(op + 1) * per];
            out.extend(self.constraints(&mut Circ(builder), w, k));
        }
        out
    }

    fn generators(&self, row: usize, local_constants: &[F]) -> Vec<WitnessGeneratorRef<F, D>> {
        let k = local_constants.first().copied().unwrap_or(F::ZERO);
        (0..self.ops)
            .map(|op| {
                WitnessGeneratorRef::new(
                    LimbGenerator {
                        gate: *self,
                        row,
                        op,
                        k,
                    }
                    .adapter(),
                )
            })
            .collect()
    }

    fn num_wires(&self) -> usize {
        self.ops * self.wires_per_op()
    }

    fn num_constants(&self) -> usize {
        1
    }

    fn degree(&self) -> usize {
        1 + usize::from(self.top_shift > 0)
    }

    fn num_constraints(&self) -> usize {
        self.ops * (1 + usize::from(self.top_shift > 0))
    }
}

impl PackedEvaluableBase<F, D> for LimbsGate {
    /// [`LimbsGate::constraints`] written out for packed base-field values (the prover's
    /// quotient evaluates every gate at every point of the extended domain).
    fn eval_unfiltered_base_packed<P: PackedField<Scalar = F>>(
        &self,
        vars: EvaluationVarsBasePacked<'_, P>,
        mut yield_constr: StridedConstraintConsumer<'_, P>,
    ) {
        let k = vars.local_constants[0];
        let w = vars.local_wires;
        let per = self.wires_per_op();
        let base = F::from_canonical_u64(1 << LIMB_BITS);
        let scale = F::from_canonical_u64(1 << self.top_shift);
        for op in 0..self.ops {
            let at = op * per;
            let top = w[at + self.limbs];
            let mut sum = top;
            for i in (1..self.limbs).rev() {
                sum = sum * base + w[at + i];
            }
            yield_constr.one(w[at] + k - sum);
            if self.top_shift > 0 {
                yield_constr.one(w[at + self.limbs + 1] - top * scale);
            }
        }
    }
}

/// The rows of [`LimbsGate`]s being filled, one open row per gate and constant.
#[derive(Debug, Default)]
pub(crate) struct LimbRows {
    open: Vec<(LimbsGate, F, usize, usize)>,
}

impl LimbRows {
    /// The next free op of a `gate` row with constant `k` (a new row when none is open).
    fn slot(&mut self, b: &mut CircuitBuilder<F, D>, gate: LimbsGate, k: F) -> (usize, usize) {
        if let Some(at) = self
            .open
            .iter()
            .position(|&(g, c, _, _)| g == gate && c == k)
        {
            let (_, _, row, op) = self.open[at];
            if op + 1 >= gate.ops {
                self.open.swap_remove(at);
            } else {
                self.open[at].3 = op + 1;
            }
            return (row, op);
        }
        let row = b.add_gate(gate, vec![k]);
        if gate.ops > 1 {
            self.open.push((gate, k, row, 1));
        }
        (row, 0)
    }

    /// Wire the unused ops of the open rows to `x = -k` (all limbs zero), so that every op of
    /// every row satisfies its constraints. Call once, before building.
    pub(crate) fn finish(&mut self, b: &mut CircuitBuilder<F, D>) {
        for (gate, k, row, first) in std::mem::take(&mut self.open) {
            let minus_k = b.constant(-k);
            for op in first..gate.ops {
                b.connect(minus_k, gate.x(row, op));
            }
        }
    }
}

/// Constrain `x + k ∈ [0, 2^bits)` (`1 <= bits <= MAX_BITS`) with lookups in `table` (a
/// [`byte_table`]): a [`LimbsGate`] op and a lookup per limb (and of the shifted top limb).
/// Returns the limbs, lowest first.
pub(crate) fn range_check_by_limbs(
    b: &mut CircuitBuilder<F, D>,
    rows: &mut LimbRows,
    table: usize,
    x: Target,
    k: F,
    bits: u32,
) -> Vec<Target> {
    let gate = LimbsGate::new(&b.config, bits);
    let (row, op) = rows.slot(b, gate, k);
    b.connect(x, gate.x(row, op));
    let limbs: Vec<Target> = (0..gate.limbs).map(|i| gate.limb(row, op, i)).collect();
    for &l in &limbs {
        b.add_lookup_from_index(l, table);
    }
    if gate.top_shift > 0 {
        b.add_lookup_from_index(gate.shifted(row, op), table);
    }
    limbs
}

/// Fills one op's limbs from its checked value: the canonical integer of `x + k`, eight bits
/// at a time. A value outside the range stops the prover with an error (its limbs could not
/// satisfy the row).
#[derive(Debug, Clone)]
pub(crate) struct LimbGenerator {
    gate: LimbsGate,
    row: usize,
    op: usize,
    k: F,
}

impl Default for LimbGenerator {
    fn default() -> Self {
        LimbGenerator {
            gate: LimbsGate {
                limbs: 1,
                top_shift: 0,
                ops: 1,
            },
            row: 0,
            op: 0,
            k: F::ZERO,
        }
    }
}

impl SimpleGenerator<F, D> for LimbGenerator {
    fn id(&self) -> String {
        "zkmlops-LimbGenerator".to_string()
    }

    fn dependencies(&self) -> Vec<Target> {
        vec![self.gate.x(self.row, self.op)]
    }

    fn run_once(
        &self,
        witness: &PartitionWitness<'_, F>,
        out_buffer: &mut GeneratedValues<F>,
    ) -> anyhow::Result<()> {
        let g = self.gate;
        let v = (witness.get_target(g.x(self.row, self.op)) + self.k).to_canonical_u64();
        let bits = LIMB_BITS as usize * g.limbs - g.top_shift as usize;
        if bits < 64 && v >> bits != 0 {
            anyhow::bail!("a range-checked value {v} is not below 2^{bits}");
        }
        let mask = (1u64 << LIMB_BITS) - 1;
        let mut rest = v;
        let mut top = 0;
        for i in 0..g.limbs {
            top = rest & mask;
            out_buffer.set_target(g.limb(self.row, self.op, i), F::from_canonical_u64(top))?;
            rest >>= LIMB_BITS;
        }
        if g.top_shift > 0 {
            out_buffer.set_target(
                g.shifted(self.row, self.op),
                F::from_canonical_u64(top << g.top_shift),
            )?;
        }
        Ok(())
    }

    fn serialize(&self, dst: &mut Vec<u8>, common: &CommonCircuitData<F, D>) -> IoResult<()> {
        self.gate.serialize(dst, common)?;
        dst.write_usize(self.row)?;
        dst.write_usize(self.op)?;
        dst.write_field(self.k)
    }

    fn deserialize(src: &mut Buffer<'_>, common: &CommonCircuitData<F, D>) -> IoResult<Self> {
        Ok(LimbGenerator {
            gate: LimbsGate::deserialize(src, common)?,
            row: src.read_usize()?,
            op: src.read_usize()?,
            k: src.read_field()?,
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
        let mut rows = LimbRows::default();
        let limbs = range_check_by_limbs(&mut b, &mut rows, table, x, F::ZERO, bits);
        rows.finish(&mut b);
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

    /// The gates of single-limb, partial-top and two-limb checks.
    fn gates() -> Vec<LimbsGate> {
        let config = CircuitConfig::standard_recursion_config();
        [8, 10, 16, 63]
            .iter()
            .map(|&bits| LimbsGate::new(&config, bits))
            .collect()
    }

    #[test]
    fn the_gates_are_low_degree() {
        for gate in gates() {
            plonky2::gates::gate_testing::test_low_degree::<F, _, D>(gate);
        }
    }

    #[test]
    fn the_three_evaluations_agree() {
        for gate in gates() {
            plonky2::gates::gate_testing::test_eval_fns::<F, C, _, D>(gate).unwrap();
        }
    }

    #[test]
    fn the_gates_fill_the_routed_wires() {
        let ops: Vec<usize> = gates().iter().map(|g| g.ops).collect();
        assert_eq!(ops, [40, 20, 26, 8]);
        for gate in gates() {
            assert!(gate.num_wires() <= 80);
        }
    }

    /// Values shifted by a row's constant, many to a row (a partly filled last row), each
    /// at its range's edges: in range proves, one past either edge does not.
    #[test]
    fn shifted_checks_share_rows() {
        let config = CircuitConfig::standard_recursion_config();
        let k = 128i64;
        let build = |n: usize| {
            let mut b = CircuitBuilder::<F, D>::new(config.clone());
            let table = b.add_lookup_table_from_pairs(byte_table());
            let mut rows = LimbRows::default();
            let xs: Vec<Target> = (0..n).map(|_| b.add_virtual_target()).collect();
            for &x in &xs {
                range_check_by_limbs(&mut b, &mut rows, table, x, crate::circuit::felt(k), 8);
            }
            rows.finish(&mut b);
            (b.build::<C>(), xs)
        };
        let (data, xs) = build(45);
        let prove = |last: i64| {
            let mut pw = PartialWitness::new();
            for (i, &x) in xs.iter().enumerate() {
                let v = if i + 1 == xs.len() {
                    last
                } else {
                    i64::try_from(i).unwrap_or(0) - 20
                };
                pw.set_target(x, crate::circuit::felt(v)).unwrap();
            }
            let proved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| data.prove(pw)));
            match proved {
                Ok(Ok(p)) => data.verify(p).is_ok(),
                _ => false,
            }
        };
        assert!(prove(-128));
        assert!(prove(127));
        assert!(!prove(128));
        assert!(!prove(-129));
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
