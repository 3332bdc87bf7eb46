//! Reduce chip: groups of input elements reduced to one output element each (sum or max).
//!
//! One row per input element, grouped by output element. Column 0 is the input `x` (read from
//! the bus), column 1 the running value `acc`, restarted on each group's first row; the group's
//! last row sends `(out, o, acc)` (multiplicity 0 elsewhere). Each kind's own columns and
//! constraints are in its own file (`sum.rs`, `max.rs`).

use p3_air::{AirBuilder, WindowAccess};
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use p3_goldilocks::Goldilocks;

use super::{ACT_BITS, ChipKind, TENSOR_BUS, matrix, max, sum, usize_felt};
use crate::FriError;
use crate::bounds::{P, State, sum_of};

// Structure columns.
pub(super) const SEL: usize = 0;
pub(super) const FIRST: usize = 1;
const IN_IDX: usize = 2;
const OUT_IDX: usize = 3;
const MULT: usize = 4;
const IN_WIRE: usize = 5;
const OUT_WIRE: usize = 6;

/// What a reduce chip computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ReduceKind {
    /// The sum of each group.
    Sum,
    /// The maximum of each group, every step a proved comparison.
    Max,
}

/// One op's groups: the wire it reads, the wire it produces, and its multiplicities.
#[derive(Debug, Clone)]
pub(crate) struct ReducePart {
    pub(crate) in_wire: u32,
    pub(crate) out_wire: u32,
    /// Input indices of each output element, in output order (none empty).
    pub(crate) groups: Vec<Vec<usize>>,
    pub(crate) mults: Vec<u32>,
}

/// Reductions of one kind, one after the other (wires are structure columns).
#[derive(Debug, Clone)]
pub(crate) struct ReduceChip {
    pub(crate) kind: ReduceKind,
    pub(crate) parts: Vec<ReducePart>,
    pub(crate) log_height: usize,
}

/// Per row: (input wire, input index, output index, first of group, last of group).
pub(super) type Row = (u32, usize, usize, bool, bool);

impl ReduceChip {
    fn rows(&self) -> impl Iterator<Item = (&ReducePart, Row)> + '_ {
        self.parts.iter().flat_map(|p| {
            p.groups.iter().enumerate().flat_map(move |(o, g)| {
                g.iter()
                    .enumerate()
                    .map(move |(j, &i)| (p, (p.in_wire, i, o, j == 0, j + 1 == g.len())))
            })
        })
    }

    pub(crate) fn real_rows(&self) -> usize {
        self.parts
            .iter()
            .flat_map(|p| &p.groups)
            .map(Vec::len)
            .sum()
    }
}

impl ChipKind for ReduceChip {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            ReduceKind::Sum => "sum",
            ReduceKind::Max => "max",
        }
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        match self.kind {
            ReduceKind::Sum => sum::WIDTH,
            ReduceKind::Max => max::WIDTH,
        }
    }
    fn preprocessed_width(&self) -> usize {
        7
    }
    fn preprocessed_next(&self) -> Vec<usize> {
        vec![FIRST]
    }
    fn main_next(&self) -> Vec<usize> {
        (0..self.width()).collect()
    }
    fn num_constraints(&self) -> usize {
        match self.kind {
            ReduceKind::Sum => 2,
            ReduceKind::Max => 5,
        }
    }
    fn interactions(&self) -> usize {
        match self.kind {
            ReduceKind::Sum => 2,
            ReduceKind::Max => 6,
        }
    }
    fn range_lookups(&self) -> bool {
        self.kind == ReduceKind::Max
    }
    fn output_wire(&self) -> Option<u32> {
        self.parts.first().map(|p| p.out_wire)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(
            self.parts
                .iter()
                .map(|p| (p.out_wire, p.groups.iter().map(Vec::len).sum())),
        )
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Reduce(self.kind))
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        for p in &self.parts {
            p.groups.iter().flatten().for_each(|&i| f(p.in_wire, i));
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        for p in &mut self.parts {
            p.mults = take(p.out_wire);
        }
        self.real_rows()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        for p in &self.parts {
            let out = match self.kind {
                ReduceKind::Sum => {
                    let n_min = p.groups.iter().map(Vec::len).min().unwrap_or(0);
                    let n_max = p.groups.iter().map(Vec::len).max().unwrap_or(0);
                    st.arith(p.out_wire, &[p.in_wire], &[None], |v| {
                        sum_of(v[0], n_min, n_max)
                    })?
                }
                ReduceKind::Max => {
                    // `d = x - acc - 1` or `acc - x` in [0, 2^32) is the integer comparison
                    // unless two inputs can be p - 2^32 apart.
                    let x = st.get(p.in_wire)?;
                    if x.1 - x.0 >= P - (1i128 << 32) {
                        st.narrow(p.in_wire, ACT_BITS)?
                    } else {
                        x
                    }
                }
            };
            st.set(p.out_wire, out);
        }
        Ok(())
    }

    /// Selector, group start, input index, output index, the output's multiplicity on the
    /// group's last row, input and output wires. Padding rows start a group and send nothing.
    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let mut rows = self.rows();
        Some(matrix(7, self.log_height, |_, row| {
            let Some((p, (w, i, o, first, last))) = rows.next() else {
                row[FIRST] = F::ONE;
                return;
            };
            row[SEL] = F::ONE;
            row[FIRST] = F::from_bool(first);
            row[IN_IDX] = usize_felt(i);
            row[OUT_IDX] = usize_felt(o);
            if last {
                row[MULT] = F::from_u32(p.mults.get(o).copied().unwrap_or(0));
            }
            row[IN_WIRE] = F::from_u32(w);
            row[OUT_WIRE] = F::from_u32(p.out_wire);
        }))
    }

    /// The main trace; range lookups (max only) are tallied into `range_counts`.
    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let rows: Vec<Row> = self.rows().map(|(_, r)| r).collect();
        Some(match self.kind {
            ReduceKind::Sum => sum::trace(values, &rows, self.log_height),
            ReduceKind::Max => max::trace(values, &rows, self.log_height, range_counts),
        })
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let main = builder.main();
        let local: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let next: Vec<AB::Expr> = main.next_slice().iter().map(|v| (*v).into()).collect();
        let read = || Count::bounded(-p[SEL].clone(), 1);
        match self.kind {
            ReduceKind::Sum => sum::eval(builder, &local, &next, pn[FIRST].clone()),
            ReduceKind::Max => max::eval(
                builder,
                &local,
                &next,
                p[FIRST].clone(),
                pn[FIRST].clone(),
                &read,
            ),
        }
        builder.push_interaction(
            TENSOR_BUS,
            [p[IN_WIRE].clone(), p[IN_IDX].clone(), local[0].clone()],
            read(),
        );
        builder.push_interaction(
            TENSOR_BUS,
            [p[OUT_WIRE].clone(), p[OUT_IDX].clone(), local[1].clone()],
            Count::provided(p[MULT].clone()),
        );
    }
}
