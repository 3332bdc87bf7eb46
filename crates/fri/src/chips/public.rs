//! Public chip: a public tensor whose values the verifier supplies.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{TENSOR_BUS, felt, matrix, usize_felt};

/// What a public chip does on the bus.
#[derive(Debug, Clone)]
pub(crate) enum PublicMode {
    /// A public input or constant: sends each element with its read count.
    Source { mults: Vec<u32> },
    /// A public computed tensor: reads each element once, pinning it to the claimed value.
    Sink,
}

/// Its structure columns (index, value, count; see [`super::ChipAir`]) are built from the
/// statement or the Program's constants; it has no witness columns of its own.
#[derive(Debug, Clone)]
pub(crate) struct PublicChip {
    pub(crate) wire: u32,
    pub(crate) values: Vec<i64>,
    pub(crate) mode: PublicMode,
    pub(crate) log_height: usize,
}

impl PublicChip {
    pub(crate) fn width(&self) -> usize {
        0
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
        0
    }

    /// Columns: index, value, count (a read count for sources, 1 on real rows for sinks).
    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(3, self.log_height, |r, row| {
            row[0] = usize_felt(r);
            row[1] = felt(self.values.get(r).copied().unwrap_or(0));
            row[2] = match &self.mode {
                PublicMode::Source { mults } => F::from_u32(mults.get(r).copied().unwrap_or(0)),
                PublicMode::Sink => F::from_bool(r < self.values.len()),
            };
        }))
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
    ) {
        let msg = [AB::Expr::from_u32(self.wire), p[0].clone(), p[1].clone()];
        match self.mode {
            PublicMode::Source { .. } => {
                builder.push_interaction(TENSOR_BUS, msg, Count::provided(p[2].clone()));
            }
            PublicMode::Sink => {
                builder.push_interaction(TENSOR_BUS, msg, Count::bounded(-p[2].clone(), 1));
            }
        }
    }
}
