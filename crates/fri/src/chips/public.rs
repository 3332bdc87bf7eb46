//! Public chip: a public tensor whose values the verifier supplies.

use p3_air::AirBuilder;
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use p3_goldilocks::Goldilocks;
use zkmlops_tensor::TensorKind;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

/// What a public chip does on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum PublicMode {
    /// Public inputs and constants: sends each element with its read count.
    Source,
    /// Public computed tensors: reads each element once, pinning it to the claimed value.
    Sink,
}

/// One public tensor: its wire, values and (sources) read counts.
#[derive(Debug, Clone)]
pub(crate) struct PublicPart {
    pub(crate) wire: u32,
    pub(crate) values: Vec<i64>,
    pub(crate) mults: Vec<u32>,
}

/// Its structure columns (wire, index, value, count; see [`super::ChipAir`]) are built from the
/// statement or the Program's constants; it has no witness columns of its own. Public tensors
/// of one mode share a chip, one after the other.
#[derive(Debug, Clone)]
pub(crate) struct PublicChip {
    pub(crate) mode: PublicMode,
    pub(crate) parts: Vec<PublicPart>,
    pub(crate) log_height: usize,
}

impl PublicChip {
    /// A chip for one tensor.
    pub(crate) fn single(mode: PublicMode, wire: u32, values: Vec<i64>) -> Self {
        PublicChip {
            mode,
            parts: vec![PublicPart {
                wire,
                values,
                mults: Vec::new(),
            }],
            log_height: 0,
        }
    }
}

impl PublicChip {
    fn real_rows(&self) -> usize {
        self.parts.iter().map(|p| p.values.len()).sum()
    }
}

impl ChipKind for PublicChip {
    fn kind_name(&self) -> &'static str {
        match self.mode {
            PublicMode::Source => "public-source",
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
        4
    }
    fn num_constraints(&self) -> usize {
        0
    }
    fn interactions(&self) -> usize {
        1
    }

    /// Columns: index, value, count (a read count for sources, 1 on real rows for sinks),
    /// wire.
    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let mut rows = self.parts.iter().flat_map(|p| {
            p.values
                .iter()
                .enumerate()
                .map(move |(i, &v)| (p.wire, i, v, p.mults.get(i).copied().unwrap_or(0)))
        });
        Some(matrix(4, self.log_height, |r, row| {
            let Some((w, i, v, mult)) = rows.next() else {
                row[0] = usize_felt(r);
                return;
            };
            row[0] = usize_felt(i);
            row[1] = felt(v);
            row[2] = match self.mode {
                PublicMode::Source => F::from_u32(mult),
                PublicMode::Sink => F::ONE,
            };
            row[3] = F::from_u32(w);
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let msg = [p[3].clone(), p[0].clone(), p[1].clone()];
        match self.mode {
            PublicMode::Source => {
                builder.push_interaction(TENSOR_BUS, msg, Count::provided(p[2].clone()));
            }
            PublicMode::Sink => {
                builder.push_interaction(TENSOR_BUS, msg, Count::bounded(-p[2].clone(), 1));
            }
        }
    }

    fn output_wire(&self) -> Option<u32> {
        self.parts.first().map(|p| p.wire)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(self.parts.iter().map(|p| (p.wire, p.values.len())))
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Public(self.mode))
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        if self.mode == PublicMode::Sink {
            for p in &self.parts {
                (0..p.values.len()).for_each(|i| f(p.wire, i));
            }
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        if self.mode == PublicMode::Source {
            for p in &mut self.parts {
                p.mults = take(p.wire);
            }
        }
        self.real_rows()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        if self.mode == PublicMode::Sink {
            return Ok(());
        }
        for p in &self.parts {
            let decl = st.program.tensors().get(p.wire as usize);
            let iv = match decl.map(|d| (&d.kind, d.input_bound())) {
                // A public input: the verifier checks its values against this.
                Some((TensorKind::Input, Some((lo, hi)))) => (lo.into(), hi.into()),
                // Constants (and internal zeros): their values.
                _ => p.values.iter().fold((0, 0), |(lo, hi), &v| {
                    (lo.min(i128::from(v)), hi.max(i128::from(v)))
                }),
            };
            st.set(p.wire, iv);
        }
        Ok(())
    }
}
