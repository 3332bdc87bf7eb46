//! Source chip: a private input tensor enters the bus, each element range-checked to the bound
//! its Program declares.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use super::{TENSOR_BUS, felt, matrix, usize_felt};

/// One row per element: structure `(selector, index, multiplicity)`, main `value` and the limbs
/// of its signed range check; sends `(wire, index, value)` with the multiplicity. Padding rows
/// have selector and multiplicity 0 (their limbs are those of 0, looked up by nobody).
#[derive(Debug, Clone)]
pub(crate) struct SourceChip {
    pub(crate) wire: u32,
    /// The declared bound of the input.
    pub(crate) range: Signed,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

impl SourceChip {
    pub(crate) fn width(&self) -> usize {
        1 + self.range.limbs()
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        3
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
        Some(matrix(3, self.log_height, |r, row| {
            row[0] = F::from_bool(r < self.mults.len());
            row[1] = usize_felt(r);
            row[2] = F::from_u32(self.mults.get(r).copied().unwrap_or(0));
        }))
    }

    pub(crate) fn main<F: Field>(
        &self,
        values: &[i64],
        range_counts: &mut [u32],
    ) -> RowMajorMatrix<F> {
        matrix(self.width(), self.log_height, |r, row| {
            let v = values.get(r).copied().unwrap_or(0);
            row[0] = felt(v);
            let real = r < values.len();
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
        let (sel, idx, mult) = (p[0].clone(), p[1].clone(), p[2].clone());
        builder.push_interaction(
            TENSOR_BUS,
            [AB::Expr::from_u32(self.wire), idx, c[0].clone()],
            Count::provided(mult),
        );
        self.range.eval(builder, c[0].clone(), &c[1..], &|| {
            Count::bounded(-sel.clone(), 1)
        });
    }
}
