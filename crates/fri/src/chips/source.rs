//! Source chip: a private input tensor enters the bus, each element range-checked to the bound
//! its Program declares.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

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

impl ChipKind for SourceChip {
    fn kind_name(&self) -> &'static str {
        "source"
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
        Some(self.wire)
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(3, self.log_height, |r, row| {
            row[0] = F::from_bool(r < self.mults.len());
            row[1] = usize_felt(r);
            row[2] = F::from_u32(self.mults.get(r).copied().unwrap_or(0));
        }))
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        self.mults = take(self.wire);
        self.mults.len()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        st.set(self.wire, self.range.range());
        Ok(())
    }

    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let values = values
            .get(self.wire as usize)
            .map_or(&[][..], Vec::as_slice);
        Some(matrix(self.width(), self.log_height, |r, row| {
            let v = values.get(r).copied().unwrap_or(0);
            row[0] = felt(v);
            let real = r < values.len();
            self.range.fill(v, &mut row[1..], &mut |l| {
                if real {
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
