//! Public chip: a public tensor whose values the verifier supplies.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use p3_goldilocks::Goldilocks;
use zkmlops_tensor::TensorKind;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

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

impl ChipKind for PublicChip {
    fn kind_name(&self) -> &'static str {
        match self.mode {
            PublicMode::Source { .. } => "public-source",
            PublicMode::Sink => "public-sink",
        }
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        0
    }
    fn preprocessed_width(&self) -> usize {
        3
    }
    fn num_constraints(&self) -> usize {
        0
    }
    fn interactions(&self) -> usize {
        1
    }

    /// Columns: index, value, count (a read count for sources, 1 on real rows for sinks).
    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(3, self.log_height, |r, row| {
            row[0] = usize_felt(r);
            row[1] = felt(self.values.get(r).copied().unwrap_or(0));
            row[2] = match &self.mode {
                PublicMode::Source { mults } => F::from_u32(mults.get(r).copied().unwrap_or(0)),
                PublicMode::Sink => F::from_bool(r < self.values.len()),
            };
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
        _statement_values: usize,
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

    fn output_wire(&self) -> Option<u32> {
        Some(self.wire)
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        if let PublicMode::Sink = self.mode {
            (0..self.values.len()).for_each(|i| f(self.wire, i));
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        if let PublicMode::Source { mults } = &mut self.mode {
            *mults = take(self.wire);
        }
        self.values.len()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        if let PublicMode::Source { .. } = self.mode {
            let decl = st.program.tensors().get(self.wire as usize);
            let iv = match decl.map(|d| (&d.kind, d.input_bound())) {
                // A public input: the verifier checks its values against this.
                Some((TensorKind::Input, Some((lo, hi)))) => (lo.into(), hi.into()),
                // Constants (and internal zeros): their values.
                _ => self.values.iter().fold((0, 0), |(lo, hi), &v| {
                    (lo.min(i128::from(v)), hi.max(i128::from(v)))
                }),
            };
            st.set(self.wire, iv);
        }
        Ok(())
    }
}
