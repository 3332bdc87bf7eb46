//! Commitment chip: the Program's committed tensors enter the bus here, and the same values
//! are absorbed by a Poseidon2 sponge per commitment group, whose digests are this instance's
//! public values (one instance for every group: the groups' rows follow each other).
//!
//! One row per permutation. The permutation itself is `p3-poseidon2-air`'s AIR (Plonky3's
//! Goldilocks constants, S-box `x^7` with one register: degree 3) on the first columns; this
//! chip adds the sponge around it:
//!
//! - `absorb[4]`: the block added on this row, each element (a *lane*) the packing of up to
//!   `K` committed values `x[lane][j]` (`zkmlops_commit::Packing`: `absorb = sum_j coef_j
//!   x_j + offset`, coefficients and offset structure columns; an unpacked value has
//!   coefficient 1 and offset 0); each value is sent on the tensor bus as `(wire, index, x)`
//!   with its read count, like a source chip (structure columns: per lane the wire and the first
//!   index, per value its count and coefficient);
//! - each committed input is proved within its declared bound (what makes the packing
//!   injective): the values of the most common packed width `B` (over every group) by limbs
//!   on this row (`chk * x + 2^(B-1)` = 8-bit limbs, looked up in the range table with count
//!   `chk`, a structure column), every other committed input and packed computed tensor by a
//!   bound chip that reads it;
//! - a group's first row (structure selector `first_g`): `inputs = IV_g + (absorb, 0)`, the IV
//!   fixed by the Program digest (group 0) and the group's committed length
//!   (`zkmlops_commit::group_initial_state`, computed by the verifier, a constant of the AIR);
//! - each row of a group after its first (selector `next_real` on the row before):
//!   `inputs = outputs(previous) + (absorb, 0)`;
//! - a value column with no value has coefficient 0 and count 0 (it neither enters the sponge
//!   nor the bus), so padding lanes of a group's last block are zero; on a group's last row
//!   (selector `last_g`) `outputs[0..4]` equal its public digest.
//!
//! Padding rows hold valid permutations of the zero state and are tied to nothing.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};

use p3_air::{Air, AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing, PrimeField64};
use p3_goldilocks::{GenericPoseidon2LinearLayersGoldilocks, Goldilocks};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use p3_poseidon2_air::{Poseidon2Air, Poseidon2Cols, RoundConstants, num_cols};
use zkmlops_commit::{HALF_FULL_ROUNDS, PARTIAL_ROUNDS, RATE, SBOX_DEGREE, WIDTH};

use super::limbs::Signed;
use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

const SBOX_REGISTERS: usize = 1;
/// Columns of one Poseidon2 permutation.
pub(crate) const P2_COLS: usize =
    num_cols::<WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>();
/// Structure columns per value column: read count, packing coefficient, range-check selector.
const SLOT_COLS: usize = 3;
/// Structure columns per lane: wire, index of its first value, packing constant.
const LANE_COLS: usize = 3;

type P2Air = Poseidon2Air<
    Goldilocks,
    GenericPoseidon2LinearLayersGoldilocks,
    WIDTH,
    SBOX_DEGREE,
    SBOX_REGISTERS,
    HALF_FULL_ROUNDS,
    PARTIAL_ROUNDS,
>;
type P2Cols<T> =
    Poseidon2Cols<T, WIDTH, SBOX_DEGREE, SBOX_REGISTERS, HALF_FULL_ROUNDS, PARTIAL_ROUNDS>;

/// Plonky3's Poseidon2 trace (one permutation a row) of these inputs (a power of two of them).
fn permutation_trace(inputs: Vec<[Goldilocks; WIDTH]>) -> RowMajorMatrix<Goldilocks> {
    p3_poseidon2_air::generate_trace_rows::<
        Goldilocks,
        GenericPoseidon2LinearLayersGoldilocks,
        WIDTH,
        SBOX_DEGREE,
        SBOX_REGISTERS,
        HALF_FULL_ROUNDS,
        PARTIAL_ROUNDS,
    >(inputs, &constants(), 0)
}

fn constants() -> RoundConstants<Goldilocks, WIDTH, HALF_FULL_ROUNDS, PARTIAL_ROUNDS> {
    let (initial, partial, terminal) = zkmlops_commit::round_constants();
    RoundConstants::new(initial, partial, terminal)
}

/// One committed element: sent on the bus (an input's element, with its read count) or read
/// from it once (a computed tensor's element).
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommitSlot {
    pub(crate) wire: u32,
    pub(crate) index: usize,
    pub(crate) source: bool,
}

/// One absorbed field element: `len` consecutive slots from `first`, packed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lane {
    pub(crate) first: usize,
    pub(crate) len: usize,
    pub(crate) packing: zkmlops_commit::Packing,
    /// Whether this chip range-checks the lane's values (to [`CommitChip::check`]).
    pub(crate) checked: bool,
}

/// What the circuit builder knows of one group: its slots, its tensors (`(values, packing)`
/// in order) and its IV.
pub(crate) type GroupSpec = (
    Vec<CommitSlot>,
    Vec<(usize, zkmlops_commit::Packing)>,
    [u64; WIDTH],
);

/// One commitment group's rows in the chip.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CommitGroup {
    /// Its first row.
    pub(crate) row: usize,
    /// Its rows (blocks).
    pub(crate) blocks: usize,
    /// The sponge state before its first block (from the Program digest and its length).
    pub(crate) iv: [u64; WIDTH],
}

/// Every commitment group: each one's elements in order, absorbed by its own sponge, the
/// groups' rows one after another.
#[derive(Debug, Clone)]
pub(crate) struct CommitChip {
    pub(crate) slots: Vec<CommitSlot>,
    /// The absorbed elements, `RATE` per row (each tensor's values in chunks of its packing
    /// width; `None` pads a group's last block).
    pub(crate) lanes: Vec<Option<Lane>>,
    /// Value columns per lane: the widest packing among the lanes.
    pub(crate) pack: usize,
    /// The range the chip proves its checked lanes' values in (their declared bound).
    pub(crate) check: Option<Signed>,
    pub(crate) mults: Vec<u32>,
    /// The groups, in the statement's order.
    pub(crate) groups: Vec<CommitGroup>,
    pub(crate) log_height: usize,
}

impl CommitChip {
    /// The largest magnitude of a slot's count (the LogUp bound): a read count, or 1.
    fn max_count(&self) -> u32 {
        self.mults.iter().copied().max().unwrap_or(0).max(1)
    }

    pub(crate) fn blocks(&self) -> usize {
        self.lanes.len().div_ceil(RATE)
    }

    /// A chip for these groups: per group its `(slots, tensors)` (`(values, packing)` in
    /// order) and its IV. The packed width with the most values overall is range-checked
    /// here ([`CommitChip::checked_bits`]).
    pub(crate) fn new(groups: Vec<GroupSpec>) -> CommitChip {
        let all: Vec<(usize, zkmlops_commit::Packing)> = groups
            .iter()
            .flat_map(|(_, t, _)| t.iter().copied())
            .collect();
        let checked = CommitChip::checked_bits(&all);
        let mut chip = CommitChip {
            slots: Vec::new(),
            lanes: Vec::new(),
            pack: 1,
            check: checked.map(|bits| Signed::new(u32::from(bits))),
            mults: Vec::new(),
            groups: Vec::new(),
            log_height: 0,
        };
        for (slots, tensors, iv) in groups {
            let (lanes, pack) = CommitChip::lanes_of(&tensors, checked);
            let offset = chip.slots.len();
            let row = chip.blocks();
            let blocks = lanes.len().div_ceil(RATE);
            chip.slots.extend(slots);
            chip.lanes.extend(lanes.into_iter().map(|l| {
                Some(Lane {
                    first: l.first + offset,
                    ..l
                })
            }));
            chip.lanes.resize((row + blocks) * RATE, None);
            chip.pack = chip.pack.max(pack);
            chip.groups.push(CommitGroup { row, blocks, iv });
        }
        chip
    }

    fn lane(&self, lane: usize) -> Option<&Lane> {
        self.lanes.get(lane).and_then(Option::as_ref)
    }

    /// The declared width the chip range-checks itself: the packed width (if any) with the
    /// most values among `tensors` (`(values, packing)`), the narrower on a tie.
    pub(crate) fn checked_bits(tensors: &[(usize, zkmlops_commit::Packing)]) -> Option<u8> {
        let mut per_bits: BTreeMap<u8, usize> = BTreeMap::new();
        for &(len, packing) in tensors.iter().filter(|(_, p)| p.width > 1) {
            *per_bits.entry(packing.bits).or_default() += len;
        }
        per_bits
            .into_iter()
            .max_by_key(|&(bits, n)| (n, std::cmp::Reverse(bits)))
            .map(|(bits, _)| bits)
    }

    /// The lanes of a group's tensors (`(values, packing)` in order) and the value columns per
    /// lane; lanes of packed tensors declared `checked` bits wide are range-checked here.
    pub(crate) fn lanes_of(
        tensors: &[(usize, zkmlops_commit::Packing)],
        checked: Option<u8>,
    ) -> (Vec<Lane>, usize) {
        let mut lanes = Vec::new();
        let mut first = 0;
        for &(len, packing) in tensors {
            let w = packing.width.max(1);
            let mut at = 0;
            while at < len {
                let n = w.min(len - at);
                lanes.push(Lane {
                    first: first + at,
                    len: n,
                    packing,
                    checked: packing.width > 1 && Some(packing.bits) == checked,
                });
                at += n;
            }
            first += len;
        }
        let pack = lanes.iter().map(|l| l.len).max().unwrap_or(1).max(1);
        (lanes, pack)
    }

    /// The wires whose values this chip range-checks itself.
    pub(crate) fn checked_wires(&self) -> impl Iterator<Item = u32> + '_ {
        self.lanes
            .iter()
            .flatten()
            .filter(|l| l.checked)
            .filter_map(|l| self.slots.get(l.first).map(|s| s.wire))
    }

    /// The slot in value column `j` of lane `lane` (if any).
    fn slot_at(&self, lane: usize, j: usize) -> Option<usize> {
        self.lane(lane).filter(|l| j < l.len).map(|l| l.first + j)
    }

    fn value_columns(&self) -> usize {
        RATE * self.pack
    }

    /// Limb columns per value column.
    fn limbs(&self) -> usize {
        self.check.map_or(0, Signed::limbs)
    }
}

impl ChipKind for CommitChip {
    fn kind_name(&self) -> &'static str {
        "commit"
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    /// The permutation, the absorbed block, the values, their limbs.
    fn width(&self) -> usize {
        P2_COLS + RATE + self.value_columns() * (1 + self.limbs())
    }
    /// Per value column (count, coefficient, selector), per lane (wire, first index,
    /// constant), then `next_real`, and per group `first_g` and `last_g`.
    fn preprocessed_width(&self) -> usize {
        self.value_columns() * SLOT_COLS + RATE * LANE_COLS + 1 + 2 * self.groups.len()
    }
    fn main_next(&self) -> Vec<usize> {
        (0..WIDTH).chain(P2_COLS..P2_COLS + RATE).collect()
    }
    fn interactions(&self) -> usize {
        self.value_columns() * (1 + self.check.map_or(0, Signed::lookups))
    }
    fn range_lookups(&self) -> bool {
        self.check.is_some()
    }
    fn commitment_values(&self) -> usize {
        RATE * self.groups.len()
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        self.slots
            .iter()
            .filter(|s| !s.source)
            .for_each(|s| f(s.wire, s.index));
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        // Sources send each element as often as it is read; the chip's own reads of computed
        // tensors are counted at their producers.
        let wires: BTreeSet<u32> = self
            .slots
            .iter()
            .filter(|s| s.source)
            .map(|s| s.wire)
            .collect();
        let per_wire: BTreeMap<u32, Vec<u32>> = wires.into_iter().map(|w| (w, take(w))).collect();
        self.mults = self
            .slots
            .iter()
            .map(|s| {
                per_wire
                    .get(&s.wire)
                    .filter(|_| s.source)
                    .and_then(|m| m.get(s.index))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        self.blocks()
    }

    /// Committed inputs: their declared bound, proved by a bound chip (seen before, which set
    /// it) or, for the full-range bound, true of every field element.
    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        for s in self.slots.iter().filter(|s| s.source) {
            if st.peek(s.wire).is_none()
                && let Some((lo, hi)) = st
                    .program
                    .tensors()
                    .get(s.wire as usize)
                    .and_then(|d| d.input_bound())
            {
                st.set(s.wire, (lo.into(), hi.into()));
            }
        }
        Ok(())
    }

    fn num_constraints(&self) -> usize {
        // Poseidon2: one per S-box register and per full-round output; then the chaining, the
        // packing of each lane and the digest.
        2 * HALF_FULL_ROUNDS * WIDTH * 2
            + PARTIAL_ROUNDS * 2
            + 3 * WIDTH
            + 3 * RATE
            + self.value_columns()
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let (vc, pack) = (self.value_columns(), self.pack);
        Some(matrix(
            self.preprocessed_width(),
            self.log_height,
            |r, row| {
                for s in 0..RATE {
                    let lane = r * RATE + s;
                    let Some(l) = self.lane(lane) else {
                        continue;
                    };
                    if let Some(first) = self.slots.get(l.first) {
                        let c = vc * SLOT_COLS + s * LANE_COLS;
                        row[c] = F::from_u32(first.wire);
                        row[c + 1] = usize_felt(first.index);
                        row[c + 2] = F::from_u64(l.packing.constant(l.len).as_canonical_u64());
                    }
                    for j in 0..pack {
                        let Some(k) = self.slot_at(lane, j) else {
                            continue;
                        };
                        let Some(slot) = self.slots.get(k) else {
                            continue;
                        };
                        let c = (s * pack + j) * SLOT_COLS;
                        let c = &mut row[c..c + SLOT_COLS];
                        c[0] = if slot.source {
                            F::from_u32(self.mults.get(k).copied().unwrap_or(0))
                        } else {
                            F::NEG_ONE
                        };
                        c[1] = F::from_u64(l.packing.coefficient(j).as_canonical_u64());
                        c[2] = F::from_bool(l.checked);
                    }
                }
                let c = vc * SLOT_COLS + RATE * LANE_COLS;
                let n = self.groups.len();
                for (g, group) in self.groups.iter().enumerate() {
                    let end = group.row + group.blocks;
                    if (group.row..end).contains(&r) {
                        row[c] = F::from_bool(r + 1 < end);
                    }
                    row[c + 1 + g] = F::from_bool(r == group.row);
                    row[c + 1 + n + g] = F::from_bool(r + 1 == end);
                }
            },
        ))
    }

    /// Own columns: the permutation trace of every block (zero states on padding rows) and
    /// the absorbed values.
    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let flat: Vec<i64> = self
            .slots
            .iter()
            .map(|s| {
                values
                    .get(s.wire as usize)
                    .and_then(|v| v.get(s.index))
                    .copied()
                    .unwrap_or(0)
            })
            .collect();
        // One element per lane (zero for a group's padding lanes, as the sponge pads).
        let elements: Vec<Goldilocks> = self
            .lanes
            .iter()
            .map(|l| {
                l.as_ref().map_or(Goldilocks::ZERO, |l| {
                    l.packing
                        .elements(flat.get(l.first..l.first + l.len).unwrap_or(&[]))
                        .first()
                        .copied()
                        .unwrap_or(Goldilocks::ZERO)
                })
            })
            .collect();
        let mut inputs = Vec::with_capacity(self.blocks());
        for g in &self.groups {
            let block = elements
                .get(g.row * RATE..(g.row + g.blocks) * RATE)
                .unwrap_or(&[]);
            inputs.extend(zkmlops_commit::absorb_from(g.iv.map(Goldilocks::from_u64), block).0);
        }
        let h = 1usize << self.log_height;
        inputs.resize(h, [Goldilocks::ZERO; WIDTH]);
        let p2 = permutation_trace(inputs);
        let (pack, vc, nl) = (self.pack, self.value_columns(), self.limbs());
        let limbs_at = P2_COLS + RATE + vc;
        Some(matrix(self.width(), self.log_height, |r, row| {
            row[..P2_COLS].copy_from_slice(&p2.values[r * P2_COLS..(r + 1) * P2_COLS]);
            for s in 0..RATE {
                let lane = r * RATE + s;
                row[P2_COLS + s] = elements.get(lane).copied().unwrap_or(Goldilocks::ZERO);
                let checked = self.lane(lane).is_some_and(|l| l.checked);
                for j in 0..pack {
                    let v = self
                        .slot_at(lane, j)
                        .map(|k| flat.get(k).copied().unwrap_or(0));
                    row[P2_COLS + RATE + s * pack + j] = felt(v.unwrap_or(0));
                    // Unchecked columns hold the limbs of `0` (the constraint reads `chk * x`)
                    // and count nothing.
                    if let Some(range) = self.check {
                        let at = limbs_at + (s * pack + j) * nl;
                        let checked_value = v.filter(|_| checked);
                        range.fill(
                            checked_value.unwrap_or(0),
                            &mut row[at..at + nl],
                            &mut |l| {
                                if checked_value.is_some() {
                                    super::tally(range_counts, l);
                                }
                            },
                        );
                    }
                }
            }
        }))
    }

    /// `digest_at`: the digests (one per group, in order) follow the statement limbs in the
    /// public values.
    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
        digest_at: usize,
    ) {
        // The permutation, on the first P2_COLS columns.
        {
            let mut prefix = Prefix {
                inner: &mut *builder,
            };
            <P2Air as Air<Prefix<'_, AB>>>::eval(&P2Air::new(constants()), &mut prefix);
        }
        let main = builder.main();
        let local = main.current_slice();
        let next = main.next_slice();
        let cols: &P2Cols<AB::Var> = local[..P2_COLS].borrow();
        let next_cols: &P2Cols<AB::Var> = next[..P2_COLS].borrow();
        let outputs = cols.ending_full_rounds[HALF_FULL_ROUNDS - 1].post;
        let absorb: Vec<AB::Expr> = local[P2_COLS..P2_COLS + RATE]
            .iter()
            .map(|v| (*v).into())
            .collect();
        let next_absorb: Vec<AB::Expr> = next[P2_COLS..P2_COLS + RATE]
            .iter()
            .map(|v| (*v).into())
            .collect();
        let (vc, pack, nl) = (self.value_columns(), self.pack, self.limbs());
        let x: Vec<AB::Expr> = local[P2_COLS + RATE..P2_COLS + RATE + vc]
            .iter()
            .map(|v| (*v).into())
            .collect();
        let limbs: Vec<AB::Expr> = local[P2_COLS + RATE + vc..P2_COLS + RATE + vc * (1 + nl)]
            .iter()
            .map(|v| (*v).into())
            .collect();
        let flags = vc * SLOT_COLS + RATE * LANE_COLS;
        let n = self.groups.len();
        let next_real = p[flags].clone();
        let first = |g: usize| p[flags + 1 + g].clone();
        let last = |g: usize| p[flags + 1 + n + g].clone();
        // `public_values` always holds the digests after the statement limbs (lib.rs).
        let pv: Vec<AB::Expr> = builder
            .public_values()
            .iter()
            .map(|v| (*v).into())
            .collect();
        let digest = |g: usize, s: usize| {
            pv.get(digest_at + g * RATE + s)
                .cloned()
                .unwrap_or(AB::Expr::ZERO)
        };
        for (j, ((input, next_input), output)) in cols
            .inputs
            .iter()
            .zip(&next_cols.inputs)
            .zip(&outputs)
            .enumerate()
        {
            let add = |a: &[AB::Expr]| a.get(j).cloned().unwrap_or(AB::Expr::ZERO);
            // A group's first row starts from its IV (a constant: selectors are 0 or 1 and
            // at most one is set on a row).
            let start: AB::Expr = (*input).into() - add(&absorb);
            let mut at_start = AB::Expr::ZERO;
            for (g, group) in self.groups.iter().enumerate() {
                at_start += first(g) * (start.clone() - AB::Expr::from_u64(group.iv[j]));
            }
            builder.assert_zero(at_start);
            let chained: AB::Expr = (*output).into() + add(&next_absorb);
            builder.assert_zero(next_real.clone() * ((*next_input).into() - chained));
        }
        for s in 0..RATE {
            let mut at_end = AB::Expr::ZERO;
            for g in 0..n {
                at_end += last(g) * (outputs[s].into() - digest(g, s));
            }
            builder.assert_zero(at_end);
            let lane = &p[vc * SLOT_COLS + s * LANE_COLS..vc * SLOT_COLS + (s + 1) * LANE_COLS];
            // The lane: its constant plus each value times its coefficient.
            let mut packed = lane[2].clone();
            for j in 0..pack {
                let c = (s * pack + j) * SLOT_COLS;
                let slot = &p[c..c + SLOT_COLS];
                let v = x[s * pack + j].clone();
                packed += slot[1].clone() * v.clone();
                builder.push_interaction(
                    TENSOR_BUS,
                    [
                        lane[0].clone(),
                        lane[1].clone() + AB::Expr::from_usize(j),
                        v.clone(),
                    ],
                    Count::bounded(slot[0].clone(), self.max_count()),
                );
                if let Some(range) = self.check {
                    let chk = slot[2].clone();
                    let at = (s * pack + j) * nl;
                    range.eval(builder, chk.clone() * v, &limbs[at..at + nl], &|| {
                        Count::bounded(-chk.clone(), 1)
                    });
                }
            }
            builder.assert_eq(absorb[s].clone(), packed);
        }
    }
}

/// A view of a builder whose main trace is its first [`P2_COLS`] columns, so Plonky3's
/// Poseidon2 AIR evaluates its constraints on them unchanged.
struct Prefix<'a, AB: AirBuilder> {
    inner: &'a mut AB,
}

/// The first [`P2_COLS`] columns of a window.
#[derive(Clone)]
struct PrefixWindow<W>(W);

impl<T, W: WindowAccess<T>> WindowAccess<T> for PrefixWindow<W> {
    fn current_slice(&self) -> &[T] {
        &self.0.current_slice()[..P2_COLS]
    }
    fn next_slice(&self) -> &[T] {
        &self.0.next_slice()[..P2_COLS]
    }
}

impl<AB: AirBuilder> AirBuilder for Prefix<'_, AB> {
    type F = AB::F;
    type Expr = AB::Expr;
    type Var = AB::Var;
    type PreprocessedWindow = AB::PreprocessedWindow;
    type MainWindow = PrefixWindow<AB::MainWindow>;
    type PublicVar = AB::PublicVar;
    type PeriodicVar = AB::PeriodicVar;

    fn main(&self) -> Self::MainWindow {
        PrefixWindow(self.inner.main())
    }
    fn preprocessed(&self) -> &Self::PreprocessedWindow {
        self.inner.preprocessed()
    }
    fn is_first_row(&self) -> Self::Expr {
        self.inner.is_first_row()
    }
    fn is_last_row(&self) -> Self::Expr {
        self.inner.is_last_row()
    }
    fn is_transition(&self) -> Self::Expr {
        self.inner.is_transition()
    }
    fn assert_zero<I: Into<Self::Expr>>(&mut self, x: I) {
        self.inner.assert_zero(x);
    }
    fn public_values(&self) -> &[Self::PublicVar] {
        self.inner.public_values()
    }
    fn periodic_values(&self) -> &[Self::PeriodicVar] {
        self.inner.periodic_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p3_symmetric::Permutation;

    /// The AIR's trace generation computes exactly the permutation the native sponge uses.
    #[test]
    fn air_trace_matches_the_native_permutation() {
        let inputs: Vec<[Goldilocks; WIDTH]> = (0..4u64)
            .map(|k| core::array::from_fn(|j| Goldilocks::from_u64(k * 1000 + j as u64)))
            .collect();
        let t = permutation_trace(inputs.clone());
        let perm = zkmlops_commit::permutation();
        for (r, input) in inputs.iter().enumerate() {
            let row = &t.values[r * P2_COLS..(r + 1) * P2_COLS];
            let cols: &P2Cols<Goldilocks> = row.borrow();
            let mut expected = *input;
            perm.permute_mut(&mut expected);
            assert_eq!(cols.ending_full_rounds[HALF_FULL_ROUNDS - 1].post, expected);
        }
    }
}
