//! Bound chip: reads every element of a wire from the bus and range-checks it, so a value the
//! arithmetization assumes bounded (a committed input, the inputs of a max) is proved bounded.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use super::{TENSOR_BUS, felt, matrix, usize_felt};

/// One row per element: structure `(selector, index)`, main `value` and its limbs. Each real
/// row reads `(wire, index, value)` once.
#[derive(Debug, Clone)]
pub(crate) struct BoundChip {
    pub(crate) wire: u32,
    pub(crate) len: usize,
    pub(crate) range: Signed,
    pub(crate) log_height: usize,
}

impl BoundChip {
    pub(crate) fn width(&self) -> usize {
        1 + self.range.limbs()
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
        1
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(2, self.log_height, |r, row| {
            row[0] = F::from_bool(r < self.len);
            row[1] = usize_felt(r);
        }))
    }

    pub(crate) fn main<F: Field>(
        &self,
        values: &[i64],
        range_counts: &mut [u32],
    ) -> RowMajorMatrix<F> {
        matrix(self.width(), self.log_height, |r, row| {
            let real = r < self.len;
            let v = if real {
                values.get(r).copied().unwrap_or(0)
            } else {
                0
            };
            row[0] = felt(v);
            self.range.fill(v, &mut row[1..], &mut |l| {
                if real {
                    super::tally(range_counts, l);
                }
            });
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let c: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let sel = p[0].clone();
        let read = || Count::bounded(-sel.clone(), 1);
        builder.push_interaction(
            TENSOR_BUS,
            [AB::Expr::from_u32(self.wire), p[1].clone(), c[0].clone()],
            read(),
        );
        self.range.eval(builder, c[0].clone(), &c[1..], &read);
    }
}
