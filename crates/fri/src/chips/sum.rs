//! Sum chip: reduces groups of input elements to one output element each.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{TENSOR_BUS, felt, matrix, usize_felt};

// Structure columns of a grouped reduction (shared with the max chip).
pub(super) const SEL: usize = 0;
pub(super) const FIRST: usize = 1;
pub(super) const IN_IDX: usize = 2;
pub(super) const OUT_IDX: usize = 3;
pub(super) const MULT: usize = 4;

/// Per row of a grouped reduction: (input index, output index, first of group, last of group).
pub(super) fn grouped_rows(groups: &[Vec<usize>]) -> Vec<(usize, usize, bool, bool)> {
    groups
        .iter()
        .enumerate()
        .flat_map(|(o, g)| {
            g.iter()
                .enumerate()
                .map(move |(j, &i)| (i, o, j == 0, j + 1 == g.len()))
        })
        .collect()
}

/// Structure of a grouped reduction: selector, group start, input index, output index, and the
/// output's multiplicity on the group's last row. Padding rows start a group and send nothing.
pub(super) fn grouped_structure<F: Field>(
    groups: &[Vec<usize>],
    mults: &[u32],
    log_height: usize,
) -> RowMajorMatrix<F> {
    let rows = grouped_rows(groups);
    matrix(5, log_height, |r, row| {
        let Some(&(i, o, first, last)) = rows.get(r) else {
            row[FIRST] = F::ONE;
            return;
        };
        row[SEL] = F::ONE;
        row[FIRST] = F::from_bool(first);
        row[IN_IDX] = usize_felt(i);
        row[OUT_IDX] = usize_felt(o);
        if last {
            row[MULT] = F::from_u32(mults[o]);
        }
    })
}

/// One row per input element, grouped by output element: `acc` restarts on a group's first
/// row, and the group's last row sends `(out, o, acc)` (multiplicity 0 elsewhere).
#[derive(Debug, Clone)]
pub(crate) struct SumChip {
    pub(crate) in_wire: u32,
    pub(crate) out_wire: u32,
    /// Input indices of each output element, in output order (none empty).
    pub(crate) groups: Vec<Vec<usize>>,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

impl SumChip {
    /// Per real row: (input index, output index, first of group, last of group).
    fn rows(&self) -> Vec<(usize, usize, bool, bool)> {
        grouped_rows(&self.groups)
    }

    pub(crate) fn real_rows(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
    pub(crate) fn width(&self) -> usize {
        2
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        5
    }
    pub(crate) fn preprocessed_next(&self) -> Vec<usize> {
        vec![FIRST]
    }
    pub(crate) fn main_next(&self) -> Vec<usize> {
        vec![0, 1]
    }
    pub(crate) fn num_constraints(&self) -> usize {
        2
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(grouped_structure(
            &self.groups,
            &self.mults,
            self.log_height,
        ))
    }

    pub(crate) fn main<F: Field>(&self, x: &[i64]) -> RowMajorMatrix<F> {
        let rows = self.rows();
        let mut acc = F::ZERO;
        matrix(2, self.log_height, |r, row| {
            let Some(&(i, _, first, _)) = rows.get(r) else {
                return;
            };
            let v: F = felt(x[i]);
            acc = if first { v } else { acc + v };
            row[0] = v;
            row[1] = acc;
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let (local, next) = (main.current_slice().to_vec(), main.next_slice().to_vec());
        let first_next = pn[FIRST].clone();
        builder.when_first_row().assert_eq(local[1], local[0]);
        builder
            .when_transition()
            .assert_eq(next[1], (AB::Expr::ONE - first_next) * local[1] + next[0]);
        builder.push_interaction(
            TENSOR_BUS,
            [
                AB::Expr::from_u32(self.in_wire),
                p[IN_IDX].clone(),
                local[0].into(),
            ],
            Count::bounded(-p[SEL].clone(), 1),
        );
        builder.push_interaction(
            TENSOR_BUS,
            [
                AB::Expr::from_u32(self.out_wire),
                p[OUT_IDX].clone(),
                local[1].into(),
            ],
            Count::provided(p[MULT].clone()),
        );
    }
}
