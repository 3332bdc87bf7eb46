//! Source chip: a private input tensor enters the bus, each element range-checked to the bound
//! its Program declares.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

/// One row per element: structure `(selector, index, multiplicity, wire)`, main `value` and
/// the limbs of its signed range check; sends `(wire, index, value)` with the multiplicity.
/// Padding rows have selector and multiplicity 0 (their limbs are those of 0, looked up by
/// nobody). Private inputs of one declared bound share a chip, one after the other.
#[derive(Debug, Clone)]
pub(crate) struct SourceChip {
    /// `(wire, multiplicities)` of each input (its elements are the multiplicities' length).
    pub(crate) parts: Vec<(u32, Vec<u32>)>,
    /// The declared bound of the inputs.
    pub(crate) range: Signed,
    pub(crate) log_height: usize,
}

impl SourceChip {
    /// A chip for one input of the given bound.
    pub(crate) fn single(wire: u32, range: Signed) -> Self {
        SourceChip {
            parts: vec![(wire, Vec::new())],
            range,
            log_height: 0,
        }
    }

    /// The multiplicity of real row `row` (testing: a cheating prover's edit).
    pub(crate) fn mult_mut(&mut self, mut row: usize) -> Option<&mut u32> {
        for (_, m) in &mut self.parts {
            if row < m.len() {
                return m.get_mut(row);
            }
            row -= m.len();
        }
        None
    }

    fn real_rows(&self) -> usize {
        self.parts.iter().map(|(_, m)| m.len()).sum()
    }

    fn rows(&self) -> impl Iterator<Item = (u32, usize, u32)> + '_ {
        self.parts
            .iter()
            .flat_map(|(w, m)| m.iter().enumerate().map(move |(i, &c)| (*w, i, c)))
    }
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
        4
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
        self.parts.first().map(|&(w, _)| w)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(self.parts.iter().map(|(w, m)| (*w, m.len())))
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Source(self.range))
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let mut rows = self.rows();
        Some(matrix(4, self.log_height, |r, row| {
            let Some((w, i, c)) = rows.next() else {
                row[1] = usize_felt(r);
                return;
            };
            row[0] = F::ONE;
            row[1] = usize_felt(i);
            row[2] = F::from_u32(c);
            row[3] = F::from_u32(w);
        }))
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        for (w, m) in &mut self.parts {
            *m = take(*w);
        }
        self.real_rows()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        for &(w, _) in &self.parts {
            st.set(w, self.range.range());
        }
        Ok(())
    }

    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let mut rows = self.rows();
        Some(matrix(self.width(), self.log_height, |_, row| {
            let real = rows.next();
            let v = real
                .and_then(|(w, i, _)| values.get(w as usize)?.get(i).copied())
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
        let (sel, idx, mult, wire) = (p[0].clone(), p[1].clone(), p[2].clone(), p[3].clone());
        builder.push_interaction(TENSOR_BUS, [wire, idx, c[0].clone()], Count::provided(mult));
        self.range.eval(builder, c[0].clone(), &c[1..], &|| {
            Count::bounded(-sel.clone(), 1)
        });
    }
}
