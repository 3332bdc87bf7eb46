//! The chips: one AIR per op family, joined by a LogUp tensor bus.
//!
//! Every tensor element travels on the tensor bus as the message `(wire, index, value)`: its
//! producer sends it once with multiplicity equal to the number of times it is read, each
//! reader receives it once. Producers' multiplicities and every structural index are
//! preprocessed columns derived from the Program alone (the verifier rebuilds them), so a
//! prover can neither invent messages nor send a partial value: a read either matches the one
//! message its producer sent for that `(wire, index)` or the LogUp sum does not vanish.
//!
//! Range checks use a second bus against a preprocessed table of `0..2^16`.

mod bound;
mod commit;
pub(crate) mod gemm;
pub(crate) mod limbs;
pub(crate) mod map;
mod max;
mod partition;
mod public;
mod range;
mod reduce;
mod source;
mod sum;
mod table;

pub(crate) use bound::BoundChip;
pub(crate) use commit::{CommitChip, CommitSlot};
pub(crate) use limbs::Signed;

/// Columns of the Poseidon2 permutation in the commitment chip.
#[cfg(feature = "testing")]
pub(crate) fn commit_p2_cols() -> usize {
    commit::P2_COLS
}
pub(crate) use gemm::{GemmChip, GemmPart};
pub(crate) use map::{BinOp, MapChip, MapKind, MapPart};
pub(crate) use partition::PartitionChip;
pub(crate) use public::{PublicChip, PublicMode};
pub(crate) use range::RangeChip;
pub(crate) use reduce::{ReduceChip, ReduceKind, ReducePart};
pub(crate) use source::SourceChip;
pub(crate) use table::TableChip;

use std::borrow::Cow;

use p3_air::{Air, AirBuilder, BaseAir, PermutationAirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_goldilocks::Goldilocks;
use p3_lookup::InteractionBuilder;
use p3_matrix::dense::RowMajorMatrix;

/// The bus tensors travel on: messages `(wire, index, value)`.
pub(crate) const TENSOR_BUS: &str = "zkmlops/tensor";
/// The range-check bus: messages `(value)` against the table `0..2^RANGE_BITS`.
pub(crate) const RANGE_BUS: &str = "zkmlops/range8";
/// The lookup-table bus: messages `(table, x, y)`.
pub(crate) const LUT_BUS: &str = "zkmlops/lut";
/// Bits of the range table (one limb). 8-bit limbs keep the table at 256 rows, so it costs a
/// small model nothing (measured: a 2^16-row table with 16-bit limbs took 0.47 s of a 192-MAC
/// MLP's proof), at the price of more lookups per checked value.
pub(crate) const RANGE_BITS: u32 = 8;
/// Signed values that chips decompose (ReLU inputs, quotients) must lie in
/// `[-2^(ACT_BITS-1), 2^(ACT_BITS-1))`.
pub(crate) const ACT_BITS: u32 = 32;
/// Offset that makes an `ACT_BITS` signed value non-negative.
pub(crate) const ACT_OFFSET: i64 = 1 << (ACT_BITS - 1);

/// A signed integer as a field element (negatives as `p - |x|`).
pub(crate) fn felt<F: PrimeCharacteristicRing>(x: i64) -> F {
    let m = F::from_u64(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

/// Count one range lookup of `v` (values outside the table are not counted: no table row can
/// balance them).
pub(crate) fn tally(counts: &mut [u32], v: i64) {
    if let Some(c) = usize::try_from(v).ok().and_then(|i| counts.get_mut(i)) {
        *c += 1;
    }
}

pub(crate) fn usize_felt<F: PrimeCharacteristicRing>(x: usize) -> F {
    F::from_u64(x as u64)
}

/// `(wire, first row)` of parts stacked one after the other, from their `(wire, rows)`.
pub(crate) fn stacked(parts: impl IntoIterator<Item = (u32, usize)>) -> Vec<(u32, usize)> {
    let mut first = 0;
    parts
        .into_iter()
        .map(|(w, n)| {
            first += n;
            (w, first - n)
        })
        .collect()
}

/// Build a row-major matrix of `width` columns and `2^log_height` rows; `fill(row, out)`
/// writes one row (padding rows included).
pub(crate) fn matrix<F: Field>(
    width: usize,
    log_height: usize,
    mut fill: impl FnMut(usize, &mut [F]),
) -> RowMajorMatrix<F> {
    let h = 1usize << log_height;
    let mut values = F::zero_vec(width * h);
    for (r, row) in values.chunks_exact_mut(width).enumerate() {
        fill(r, row);
    }
    RowMajorMatrix::new(values, width)
}

/// What every chip provides: its columns, constraints and bus interactions, how it takes its
/// producer multiplicities, what the bound analysis learns from it, and its trace. Defaults
/// cover the common parts (no structure columns, no next-row access, no reads, no range
/// lookups, no trace of its own).
///
/// Adding a chip: one file with a struct implementing `ChipKind`, and one registration, a
/// variant of [`Chip`] plus its line in `dispatch!` (both below). Nothing else matches on chip
/// kinds: the circuit compiler, the bound analysis, the trace generator, the security estimate
/// and the testing hooks all go through this trait.
pub(crate) trait ChipKind {
    /// A short name of the chip kind (reports and tests).
    fn kind_name(&self) -> &'static str;

    /// log2 of the trace height.
    fn log_height(&self) -> usize;

    /// Set the trace height (the compiler sizes every chip once its rows are known).
    fn set_log_height(&mut self, log_height: usize);

    /// Witness columns of the chip itself.
    fn width(&self) -> usize;

    /// Structural columns (periodic, fixed by the Program; see [`ChipAir`]).
    fn preprocessed_width(&self) -> usize {
        0
    }

    /// The structural columns.
    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        None
    }

    /// Own columns read on the next row.
    fn main_next(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Structural columns read on the next row.
    fn preprocessed_next(&self) -> Vec<usize> {
        Vec::new()
    }

    /// Its own constraints (an upper bound, for the security estimate).
    fn num_constraints(&self) -> usize;

    /// Bus interactions per row (for the security estimate; a unit test checks the count
    /// against the AIR's symbolic evaluation).
    fn interactions(&self) -> usize;

    /// The constraints and bus interactions. `p` and `pn` are the structural columns on this
    /// row and the next; `statement_values` is the number of statement limbs among the public
    /// values (a commitment chip's digest follows them).
    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
        statement_values: usize,
    );

    /// Public values after the statement's (a commitment chip's digest).
    fn commitment_values(&self) -> usize {
        0
    }

    /// Whether it looks values up in the range table.
    fn range_lookups(&self) -> bool {
        false
    }

    /// The wire it sends on the tensor bus (a bound chip: the first wire it checks; a merged
    /// chip: its first part's).
    fn output_wire(&self) -> Option<u32> {
        None
    }

    /// Every wire it produces (a bound chip: checks), with the first row of its part.
    fn outputs(&self) -> Vec<(u32, usize)> {
        self.output_wire().map(|w| vec![(w, 0)]).unwrap_or_default()
    }

    /// Chips with equal keys compute the same thing on different wires and can share one
    /// instance (their wires are structure columns); `None`: this chip stays alone.
    fn merge_key(&self) -> Option<MergeKey> {
        None
    }

    /// Every read it performs on the tensor bus, as `(wire, index)`.
    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        let _ = f;
    }

    /// Every query it makes on the lookup-table bus, as `(table, clamped input)`.
    fn lut_queries(&self, values: &[Vec<i64>], f: &mut dyn FnMut(u32, i64)) {
        let _ = (values, f);
    }

    /// Take its producer multiplicities (`take(wire)` hands over the read counts of a wire's
    /// elements) and return its real rows.
    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize;

    /// Record the interval of every wire it produces (or narrows) from what the proof enforces.
    ///
    /// # Errors
    /// [`FriError`](crate::FriError) when a value could wrap and no bound check rules it out.
    fn intervals(&self, st: &mut crate::bounds::State<'_>) -> Result<(), crate::FriError>;

    /// Its own witness columns, counting the range lookups it makes.
    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let _ = (values, range_counts);
        None
    }

    /// Witness columns that depend on every other chip's trace (the range and lookup tables'
    /// multiplicities); made after [`ChipKind::trace`] of every chip.
    fn late_trace(
        &self,
        circuit: &crate::circuit::Circuit,
        values: &[Vec<i64>],
        range_counts: &[u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let _ = (circuit, values, range_counts);
        None
    }
}

/// What makes chips mergeable: one AIR (constraints, widths, constants) with the wires per row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MergeKey {
    Map(MapKind),
    Reduce(ReduceKind),
    Public(PublicMode),
    Source(Signed),
    Bound(Signed),
    Gemm {
        tile: usize,
        b_inline: Option<Signed>,
    },
}

/// One AIR instance of a compiled Program.
#[derive(Debug, Clone)]
pub(crate) enum Chip {
    Public(PublicChip),
    Source(SourceChip),
    Gemm(GemmChip),
    Map(MapChip),
    Reduce(ReduceChip),
    Range(RangeChip),
    Table(TableChip),
    Commit(CommitChip),
    Partition(PartitionChip),
    Bound(BoundChip),
}

impl Chip {
    /// Append `other`'s rows after this chip's (the caller checked their [`MergeKey`]s are
    /// equal); `other` comes back when the kinds differ.
    pub(crate) fn absorb(&mut self, other: Chip) -> Result<(), Box<Chip>> {
        match (self, other) {
            (Chip::Map(a), Chip::Map(b)) if a.kind == b.kind => a.parts.extend(b.parts),
            (Chip::Reduce(a), Chip::Reduce(b)) if a.kind == b.kind => a.parts.extend(b.parts),
            (Chip::Public(a), Chip::Public(b)) if a.mode == b.mode => a.parts.extend(b.parts),
            (Chip::Source(a), Chip::Source(b)) if a.range == b.range => a.parts.extend(b.parts),
            (Chip::Bound(a), Chip::Bound(b)) if a.range == b.range => a.wires.extend(b.wires),
            (Chip::Gemm(a), Chip::Gemm(b)) if a.tile == b.tile && a.b_inline == b.b_inline => {
                a.parts.extend(b.parts);
            }
            (_, other) => return Err(Box::new(other)),
        }
        Ok(())
    }
}

macro_rules! dispatch {
    ($self:expr, $c:ident => $e:expr) => {
        match $self {
            Chip::Public($c) => $e,
            Chip::Source($c) => $e,
            Chip::Gemm($c) => $e,
            Chip::Map($c) => $e,
            Chip::Reduce($c) => $e,
            Chip::Range($c) => $e,
            Chip::Table($c) => $e,
            Chip::Commit($c) => $e,
            Chip::Partition($c) => $e,
            Chip::Bound($c) => $e,
        }
    };
}

impl ChipKind for Chip {
    fn kind_name(&self) -> &'static str {
        dispatch!(self, c => c.kind_name())
    }
    fn log_height(&self) -> usize {
        dispatch!(self, c => c.log_height())
    }
    fn set_log_height(&mut self, log_height: usize) {
        dispatch!(self, c => c.set_log_height(log_height));
    }
    fn width(&self) -> usize {
        dispatch!(self, c => c.width())
    }
    fn preprocessed_width(&self) -> usize {
        dispatch!(self, c => c.preprocessed_width())
    }
    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        dispatch!(self, c => c.preprocessed::<F>())
    }
    fn main_next(&self) -> Vec<usize> {
        dispatch!(self, c => c.main_next())
    }
    fn preprocessed_next(&self) -> Vec<usize> {
        dispatch!(self, c => c.preprocessed_next())
    }
    fn num_constraints(&self) -> usize {
        dispatch!(self, c => c.num_constraints())
    }
    fn interactions(&self) -> usize {
        dispatch!(self, c => c.interactions())
    }
    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
        statement_values: usize,
    ) {
        dispatch!(self, c => c.eval(builder, p, pn, statement_values));
    }
    fn commitment_values(&self) -> usize {
        dispatch!(self, c => c.commitment_values())
    }
    fn range_lookups(&self) -> bool {
        dispatch!(self, c => c.range_lookups())
    }
    fn output_wire(&self) -> Option<u32> {
        dispatch!(self, c => c.output_wire())
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        dispatch!(self, c => c.outputs())
    }
    fn merge_key(&self) -> Option<MergeKey> {
        dispatch!(self, c => c.merge_key())
    }
    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        dispatch!(self, c => c.reads(f));
    }
    fn lut_queries(&self, values: &[Vec<i64>], f: &mut dyn FnMut(u32, i64)) {
        dispatch!(self, c => c.lut_queries(values, f));
    }
    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        dispatch!(self, c => c.take_mults(take))
    }
    fn intervals(&self, st: &mut crate::bounds::State<'_>) -> Result<(), crate::FriError> {
        dispatch!(self, c => c.intervals(st))
    }
    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        dispatch!(self, c => c.trace(values, range_counts))
    }
    fn late_trace(
        &self,
        circuit: &crate::circuit::Circuit,
        values: &[Vec<i64>],
        range_counts: &[u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        dispatch!(self, c => c.late_trace(circuit, values, range_counts))
    }
}

/// A chip plus the transcript binding: the first instance of a batch carries the statement
/// digest as public values, so Fiat–Shamir absorbs the whole statement before any challenge.
///
/// A chip's structural columns (indices, selectors, producer multiplicities: everything the
/// Program fixes) are *periodic columns* of period = height, which the verifier evaluates from
/// the Program itself, so no preprocessed commitment is needed: hiding FRI salts every
/// commitment, so a verifier could never recompute a preprocessed one in zero knowledge.
/// Plonky3 0.8 does not evaluate periodic columns inside bus messages, so the main trace
/// carries a copy of them (after the chip's own columns), pinned by one constraint each.
#[derive(Debug, Clone)]
pub(crate) struct ChipAir {
    pub(crate) chip: Chip,
    pub(crate) statement_values: usize,
}

impl ChipAir {
    /// Public values after the statement's: the commitment digest of a commitment chip.
    pub(crate) fn commitment_values(&self) -> usize {
        self.chip.commitment_values()
    }

    pub(crate) fn log_height(&self) -> usize {
        self.chip.log_height()
    }

    /// Rough count of constraints (its own, the structure pins, and the LogUp running sum),
    /// an upper bound used by the security estimate.
    pub(crate) fn num_constraints(&self) -> usize {
        self.chip.num_constraints() + self.structure_width() + 3
    }

    /// Witness columns of the chip itself.
    pub(crate) fn own_width(&self) -> usize {
        self.chip.width()
    }

    /// Structural columns (periodic, copied into the main trace).
    pub(crate) fn structure_width(&self) -> usize {
        self.chip.preprocessed_width()
    }

    fn structure<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        self.chip.preprocessed::<F>()
    }

    /// The full main trace: the chip's own columns, then its structure columns.
    pub(crate) fn main_trace<F: Field>(&self, own: Option<RowMajorMatrix<F>>) -> RowMajorMatrix<F> {
        let (w, sw) = (self.own_width(), self.structure_width());
        let structure = self.structure::<F>();
        matrix(w + sw, self.log_height(), |r, row| {
            if let Some(o) = &own {
                row[..w].copy_from_slice(&o.values[r * w..(r + 1) * w]);
            }
            if let Some(s) = &structure {
                row[w..].copy_from_slice(&s.values[r * sw..(r + 1) * sw]);
            }
        })
    }
}

impl<F: Field> BaseAir<F> for ChipAir {
    fn width(&self) -> usize {
        self.own_width() + self.structure_width()
    }

    fn main_next_row_columns(&self) -> Vec<usize> {
        let w = self.own_width();
        let mut cols = self.chip.main_next();
        cols.extend(self.chip.preprocessed_next().into_iter().map(|i| w + i));
        cols
    }

    fn num_periodic_columns(&self) -> usize {
        self.structure_width()
    }

    fn periodic_columns(&self) -> Cow<'_, [Vec<F>]> {
        let sw = self.structure_width();
        let Some(m) = self.structure::<F>() else {
            return Cow::Borrowed(&[]);
        };
        let cols = (0..sw)
            .map(|c| m.values.iter().skip(c).step_by(sw).copied().collect())
            .collect();
        Cow::Owned(cols)
    }

    fn num_public_values(&self) -> usize {
        self.statement_values + self.commitment_values()
    }
}

impl<AB> Air<AB> for ChipAir
where
    AB: PermutationAirBuilder<F = p3_goldilocks::Goldilocks> + InteractionBuilder,
{
    fn eval(&self, builder: &mut AB) {
        // The statement digest needs no constraint: public values are absorbed into the
        // transcript by the batch prover and verifier.
        let (w, sw) = (self.own_width(), self.structure_width());
        let main = builder.main();
        let local: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let next: Vec<AB::Expr> = main.next_slice().iter().map(|v| (*v).into()).collect();
        let periodic: Vec<AB::Expr> = builder
            .periodic_values()
            .iter()
            .map(|v| (*v).into())
            .collect();
        let p = local.get(w..w + sw).unwrap_or_default().to_vec();
        for (copy, value) in p.iter().zip(&periodic) {
            builder.assert_eq(copy.clone(), value.clone());
        }
        let pn = next.get(w..w + sw).unwrap_or_default().to_vec();
        self.chip.eval(builder, &p, &pn, self.statement_values);
    }
}
