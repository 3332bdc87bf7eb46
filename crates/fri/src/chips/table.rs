//! Table chip: one nonlinear function's lookup table, `(x, f(x))` for every `x` in its domain,
//! with witness multiplicities.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;
use zkmlops_lookup::TableSpec;

use p3_goldilocks::Goldilocks;

use super::{ChipKind, LUT_BUS, felt, matrix};
use crate::FriError;
use crate::bounds::State;
use crate::circuit::Circuit;

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
    /// Row `r` of the table (padding rows repeat the last entry).
    pub(crate) fn input_at(&self, r: usize) -> i64 {
        let r = i64::try_from(r).unwrap_or(i64::MAX);
        self.spec.lo.saturating_add(r).min(self.spec.hi)
    }
}

impl ChipKind for TableChip {
    fn kind_name(&self) -> &'static str {
        "table"
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
        2
    }
    fn num_constraints(&self) -> usize {
        0
    }
    fn interactions(&self) -> usize {
        1
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(2, self.log_height, |r, row| {
            let x = self.input_at(r);
            row[0] = felt(x);
            row[1] = felt(self.spec.eval(x));
        }))
    }

    fn take_mults(&mut self, _take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        usize::try_from(self.spec.rows()).unwrap_or(usize::MAX)
    }

    fn intervals(&self, _st: &mut State<'_>) -> Result<(), FriError> {
        Ok(())
    }

    /// The number of lookups of each row, from every chip's queries.
    fn late_trace(
        &self,
        circuit: &Circuit,
        values: &[Vec<i64>],
        _range_counts: &[u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let mut counts = vec![0u32; usize::try_from(self.spec.rows()).unwrap_or(0)];
        for air in &circuit.airs {
            air.chip.lut_queries(values, &mut |table, x| {
                if table == self.table_id
                    && let Some(c) = usize::try_from(x - self.spec.lo)
                        .ok()
                        .and_then(|i| counts.get_mut(i))
                {
                    *c += 1;
                }
            });
        }
        Some(matrix(1, self.log_height, |r, row| {
            row[0] = Goldilocks::from_u32(counts.get(r).copied().unwrap_or(0));
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
