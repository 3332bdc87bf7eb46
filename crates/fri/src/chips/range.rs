//! Range-check table chip: the preprocessed column `0..2^16` with witness multiplicities.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_goldilocks::Goldilocks;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{ChipKind, RANGE_BITS, RANGE_BUS, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;
use crate::circuit::Circuit;

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
}

impl ChipKind for RangeChip {
    fn kind_name(&self) -> &'static str {
        "range"
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        1
    }
    fn preprocessed_width(&self) -> usize {
        1
    }
    fn num_constraints(&self) -> usize {
        0
    }
    fn interactions(&self) -> usize {
        1
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(1, self.log_height, |r, row| row[0] = usize_felt(r)))
    }

    fn take_mults(&mut self, _take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        1 << self.log_height
    }

    fn intervals(&self, _st: &mut State<'_>) -> Result<(), FriError> {
        Ok(())
    }

    /// `range_counts[v]` = number of lookups of `v`.
    fn late_trace(
        &self,
        _circuit: &Circuit,
        _values: &[Vec<i64>],
        range_counts: &[u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        Some(matrix(1, self.log_height, |r, row| {
            row[0] = Goldilocks::from_u32(range_counts.get(r).copied().unwrap_or(0));
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
        let mult = main.current_slice()[0];
        builder.push_interaction(RANGE_BUS, [p[0].clone()], Count::provided(mult.into()));
    }
}
