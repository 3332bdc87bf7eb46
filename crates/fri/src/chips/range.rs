//! Range-check table chip: the preprocessed column `0..2^16` with witness multiplicities.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{RANGE_BITS, RANGE_BUS, matrix, usize_felt};

/// Sends each table value with the number of times it was looked up. A lookup of a value
/// outside the table has no matching message, so the LogUp sum cannot vanish.
#[derive(Debug, Clone)]
pub(crate) struct RangeChip {
    pub(crate) log_height: usize,
}

impl RangeChip {
    pub(crate) fn new() -> Self {
        RangeChip {
            log_height: RANGE_BITS as usize,
        }
    }
    pub(crate) fn width(&self) -> usize {
        1
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        1
    }
    pub(crate) fn preprocessed_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn main_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn num_constraints(&self) -> usize {
        0
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(1, self.log_height, |r, row| row[0] = usize_felt(r)))
    }

    /// `counts[v]` = number of lookups of `v`.
    pub(crate) fn main<F: Field>(&self, counts: &[u32]) -> RowMajorMatrix<F> {
        matrix(1, self.log_height, |r, row| row[0] = F::from_u32(counts[r]))
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let mult = main.current_slice()[0];
        builder.push_interaction(RANGE_BUS, [p[0].clone()], Count::provided(mult.into()));
    }
}
