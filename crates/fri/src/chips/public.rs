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

/// The index, value and count of every row are periodic columns (period = height) built from
/// the statement, so they are never preprocessed-committed and the verifier evaluates them
/// itself. Plonky3 0.8 does not evaluate periodic columns inside bus messages, so the main
/// trace repeats them in three columns that constraints pin to the periodic ones.
#[derive(Debug, Clone)]
pub(crate) struct PublicChip {
    pub(crate) wire: u32,
    pub(crate) values: Vec<i64>,
    pub(crate) mode: PublicMode,
    pub(crate) log_height: usize,
}

impl PublicChip {
    pub(crate) fn width(&self) -> usize {
        3
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        0
    }
    pub(crate) fn preprocessed_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn main_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn num_constraints(&self) -> usize {
        3
    }
    pub(crate) fn num_periodic(&self) -> usize {
        3
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        None
    }

    /// Columns: index, value, count (a read count for sources, 1 on real rows for sinks).
    pub(crate) fn periodic<F: Field>(&self) -> Vec<Vec<F>> {
        let h = 1usize << self.log_height;
        let idx = (0..h).map(usize_felt).collect();
        let vals = (0..h)
            .map(|r| felt(self.values.get(r).copied().unwrap_or(0)))
            .collect();
        let count = (0..h)
            .map(|r| match &self.mode {
                PublicMode::Source { mults } => F::from_u32(mults.get(r).copied().unwrap_or(0)),
                PublicMode::Sink => F::from_bool(r < self.values.len()),
            })
            .collect();
        vec![idx, vals, count]
    }

    pub(crate) fn main<F: Field>(&self) -> RowMajorMatrix<F> {
        let periodic = self.periodic::<F>();
        matrix(3, self.log_height, |r, row| {
            for (c, col) in periodic.iter().enumerate() {
                row[c] = col[r];
            }
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(&self, builder: &mut AB) {
        let main = builder.main();
        let m: Vec<AB::Expr> = p3_air::WindowAccess::current_slice(&main)
            .iter()
            .map(|v| (*v).into())
            .collect();
        let p: Vec<AB::Expr> = builder
            .periodic_values()
            .iter()
            .map(|v| (*v).into())
            .collect();
        for c in 0..3 {
            builder.assert_eq(m[c].clone(), p[c].clone());
        }
        let msg = [AB::Expr::from_u32(self.wire), m[0].clone(), m[1].clone()];
        match self.mode {
            PublicMode::Source { .. } => {
                builder.push_interaction(TENSOR_BUS, msg, Count::provided(m[2].clone()))
            }
            PublicMode::Sink => {
                builder.push_interaction(TENSOR_BUS, msg, Count::bounded(-m[2].clone(), 1))
            }
        }
    }
}
