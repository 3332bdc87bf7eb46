//! Table chip: one nonlinear function's lookup table, `(x, f(x))` for every `x` in its domain,
//! with witness multiplicities.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use zkmlops_lookup::TableSpec;

use super::{LUT_BUS, felt, matrix};

/// Structure columns `(x, y)` are the table (built by the verifier from the Program's spec;
/// padding rows repeat the last entry), the own column is the number of lookups of each row.
/// Sends `(table, x, y)` on the lookup bus with that multiplicity: a query whose pair is not in
/// the table has no matching message.
#[derive(Debug, Clone)]
pub(crate) struct TableChip {
    pub(crate) table_id: u32,
    pub(crate) spec: TableSpec,
    pub(crate) log_height: usize,
}

impl TableChip {
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

    /// Row `r` of the table (padding rows repeat the last entry).
    pub(crate) fn input_at(&self, r: usize) -> i64 {
        let r = i64::try_from(r).unwrap_or(i64::MAX);
        self.spec.lo.saturating_add(r).min(self.spec.hi)
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(2, self.log_height, |r, row| {
            let x = self.input_at(r);
            row[0] = felt(x);
            row[1] = felt(self.spec.eval(x));
        }))
    }

    /// `counts[r]` = lookups of row `r`.
    pub(crate) fn main<F: Field>(&self, counts: &[u32]) -> RowMajorMatrix<F> {
        matrix(1, self.log_height, |r, row| {
            row[0] = F::from_u32(counts.get(r).copied().unwrap_or(0))
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let mult: AB::Expr = main.current_slice()[0].into();
        builder.push_interaction(
            LUT_BUS,
            [
                AB::Expr::from_u32(self.table_id),
                p[0].clone(),
                p[1].clone(),
            ],
            Count::provided(mult),
        );
    }
}
