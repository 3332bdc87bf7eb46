//! Bound chip: reads every element of some wires from the bus and range-checks it, so a value
//! the arithmetization assumes bounded (a committed input, the inputs of a max, the operands of
//! arithmetic that could otherwise wrap) is proved bounded.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::{State, meet};

/// One row per element of each wire in turn: structure `(selector, wire, index)`, main `value`
/// and its limbs. Each real row reads `(wire, index, value)` once. One chip checks every wire
/// that needs the same width (all committed inputs of one bound share a chip).
#[derive(Debug, Clone)]
pub(crate) struct BoundChip {
    /// `(wire, elements)`, in row order.
    pub(crate) wires: Vec<(u32, usize)>,
    pub(crate) range: Signed,
    pub(crate) log_height: usize,
}

impl BoundChip {
    /// Real rows.
    pub(crate) fn len(&self) -> usize {
        self.wires.iter().map(|&(_, n)| n).sum()
    }

    /// `(wire, index)` of every real row.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.wires
            .iter()
            .flat_map(|&(w, n)| (0..n).map(move |i| (w, i)))
    }
}

impl ChipKind for BoundChip {
    fn kind_name(&self) -> &'static str {
        "bound"
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        1 + self.range.limbs()
    }
    fn preprocessed_width(&self) -> usize {
        3
    }
    fn num_constraints(&self) -> usize {
        1
    }
    fn interactions(&self) -> usize {
        1 + self.range.lookups()
    }
    fn range_lookups(&self) -> bool {
        true
    }
    fn output_wire(&self) -> Option<u32> {
        self.wires.first().map(|&(w, _)| w)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(self.wires.iter().copied())
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Bound(self.range))
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let rows: Vec<(u32, usize)> = self.rows().collect();
        Some(matrix(3, self.log_height, |r, row| {
            if let Some(&(w, i)) = rows.get(r) {
                row[0] = F::ONE;
                row[1] = F::from_u32(w);
                row[2] = usize_felt(i);
            }
        }))
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        self.rows().for_each(|(w, i)| f(w, i));
    }

    fn take_mults(&mut self, _take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        self.len()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        let t = self.range.range();
        for &(w, _) in &self.wires {
            st.set(w, st.peek(w).map_or(t, |v| meet(v, t)));
        }
        Ok(())
    }

    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let rows: Vec<(u32, usize)> = self.rows().collect();
        Some(matrix(self.width(), self.log_height, |r, row| {
            let real = rows.get(r);
            let v = real
                .and_then(|&(w, i)| values.get(w as usize)?.get(i).copied())
                .unwrap_or(0);
            row[0] = felt(v);
            self.range.fill(v, &mut row[1..], &mut |l| {
                if real.is_some() {
                    super::tally(range_counts, l);
                }
            });
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let main = builder.main();
        let c: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let sel = p[0].clone();
        let read = || Count::bounded(-sel.clone(), 1);
        builder.push_interaction(
            TENSOR_BUS,
            [p[1].clone(), p[2].clone(), c[0].clone()],
            read(),
        );
        self.range.eval(builder, c[0].clone(), &c[1..], &read);
    }
}
