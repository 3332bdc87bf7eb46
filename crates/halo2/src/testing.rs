//! A cheating prover for the soundness tests (feature `testing`; never ship it).
//!
//! [`prove_edited`] skips every prover-side check (the witness against the Program, the
//! limits, the netlist's own satisfaction check), lets a test rewrite hint values and any
//! variable's value, and proves: the unmodified verifier must reject what the constraints
//! forbid.

use zkmlops_proof::{ProofEnvelope, ProveError, StageTag};
use zkmlops_tensor::{Program, TensorId, Witness};

use crate::net::fp;

/// Hint values by position (`div` `[q, r]`, `relu` `[h, m]`, `max` `[c, d]`, `clamp`
/// `[below, d_lo, above, d_hi]`, `sqrt` `[y, r1, r2]`), in the order the lowering creates them.
pub type Hints = zkmlops_plonkish::HintValues;

/// A cell to overwrite after the honest values are computed.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    /// Slot `slot` of hint `index`.
    Hint(usize, usize),
    /// Element `index` of tensor `id`.
    Tensor(TensorId, usize),
    /// One cell of the netlist, `(row, column)`, alone: its variable's other cells keep the
    /// honest value (a broken copy constraint).
    Raw(usize, usize),
}

/// Prove `claimed`'s statement from the honest witness `honest`, hints edited by `edit`, then
/// the cells `edits` overwritten, with no check of any kind before halo2 proves.
///
/// # Errors
/// Compile and prover errors.
pub fn prove_edited(
    program: &Program,
    honest: &Witness,
    claimed: &Witness,
    stage: StageTag,
    mut edit: impl FnMut(&mut Hints),
    edits: &[(Cell, i128)],
) -> Result<ProofEnvelope, ProveError> {
    let cells = |c: &crate::circuit::Compiled, values: &mut Vec<halo2_proofs::pasta::Fp>| {
        for &(cell, v) in edits {
            let var = match cell {
                Cell::Hint(i, slot) => c.lowered.hint_wires(i).and_then(|w| w.get(slot).copied()),
                Cell::Tensor(id, i) => c.lowered.wires(id).get(i).copied(),
                Cell::Raw(..) => None,
            };
            if let Some(var) = var
                && let Some(slot) = values.get_mut(var.0 as usize)
            {
                *slot = fp(v);
            }
        }
    };
    let statement = crate::statement_of(program, claimed, stage)?;
    let raw: Vec<((usize, usize), halo2_proofs::pasta::Fp)> = edits
        .iter()
        .filter_map(|&(cell, v)| match cell {
            Cell::Raw(r, c) => Some(((r, c), fp(v))),
            _ => None,
        })
        .collect();
    crate::prove_inner(program, honest, statement, &mut edit, &cells, &raw, false)
}

/// The netlist's rows of `program` as `(cells, range tags, table tag)`, with each cell the
/// index of its variable: lets a test find the cell it writes.
///
/// # Errors
/// Compile errors.
#[allow(clippy::type_complexity)]
pub fn rows(program: &Program) -> Result<Vec<([Option<u32>; 5], [u8; 4], u64)>, ProveError> {
    let c = crate::circuit::compile_cached(program)?;
    Ok(c.net
        .rows
        .iter()
        .map(|r| (r.cells.map(|v| v.map(|v| v.0)), r.range, r.table))
        .collect())
}

/// The variable index of element `i` of tensor `id` (for [`rows`]).
///
/// # Errors
/// Compile errors.
pub fn tensor_var(program: &Program, id: TensorId, i: usize) -> Result<Option<u32>, ProveError> {
    let c = crate::circuit::compile_cached(program)?;
    Ok(c.lowered.wires(id).get(i).map(|v| v.0))
}
