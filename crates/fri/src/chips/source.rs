//! Source chip: a private input tensor enters the bus.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{TENSOR_BUS, felt, matrix, usize_felt};

/// One row per element: preprocessed `(index, multiplicity)`, main `value`; sends
/// `(wire, index, value)` with the multiplicity. Padding rows have multiplicity 0.
#[derive(Debug, Clone)]
pub(crate) struct SourceChip {
    pub(crate) wire: u32,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

impl SourceChip {
    pub(crate) fn width(&self) -> usize {
        1
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        2
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
        Some(matrix(2, self.log_height, |r, row| {
            row[0] = usize_felt(r);
            row[1] = F::from_u32(self.mults.get(r).copied().unwrap_or(0));
        }))
    }

    pub(crate) fn main<F: Field>(&self, values: &[i64]) -> RowMajorMatrix<F> {
        matrix(1, self.log_height, |r, row| {
            row[0] = felt(values.get(r).copied().unwrap_or(0))
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let value = main.current_slice()[0];
        let (idx, mult) = (p[0].clone(), p[1].clone());
        builder.push_interaction(
            TENSOR_BUS,
            [AB::Expr::from_u32(self.wire), idx, value.into()],
            Count::provided(mult),
        );
    }
}
