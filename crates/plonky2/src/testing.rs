//! A cheating prover for the soundness tests (feature `testing`; never ship it).
//!
//! [`prove_with_hints`] skips every prover-side check and lets a test rewrite the hint values
//! (quotients and remainders, sign decompositions, comparison bits) before plonky2 runs its
//! witness generators: plonky2's own generators then refuse most cheats before any proof
//! exists. [`prove_edited`] goes further, as an attacker with their own prover would: it runs
//! the generators on the honest witness, then overwrites any cells (hints, tensor elements) in
//! the finished witness and proves with `prove_with_partition_witness`, so a test can show the
//! unmodified verifier rejects what the constraints forbid.

use plonky2::iop::generator::generate_partial_witness;
use plonky2::plonk::prover::prove_with_partition_witness;
use plonky2::util::timing::TimingTree;
use zkmlops_proof::{ProofEnvelope, ProveError, StageTag};
use zkmlops_tensor::{Program, TensorId, Witness};

use crate::circuit::{compile_cached, felt128};
use crate::{Plonky2Error, Plonky2Preset, backend_error, envelope, statement_limbs};

/// Hint values by position: `(kind, values)` with kind `div` (`[q, r]`), `relu` (`[h, m]`),
/// `max` (`[c, d]`) or `clamp` (`[below, d_lo, above, d_hi]`), in the order the circuit creates
/// them.
pub type Hints = crate::circuit::HintValues;

/// Prove `witness` (not checked against the Program) with the hints `edit` leaves.
///
/// # Errors
/// The prover's errors (plonky2 refuses a witness whose copy constraints disagree).
pub fn prove_with_hints(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    preset: Plonky2Preset,
    mut edit: impl FnMut(&mut Hints),
) -> Result<ProofEnvelope, ProveError> {
    crate::prove_inner(program, witness, stage, preset, &mut edit)
}

/// A cell of the finished witness.
#[derive(Debug, Clone, Copy)]
pub enum Cell {
    /// Slot `slot` of hint `index`.
    Hint(usize, usize),
    /// Element `index` of tensor `id`.
    Tensor(TensorId, usize),
}

/// Prove `claimed`'s statement with the honest witness `honest` whose finished cells are then
/// overwritten by `edits`.
///
/// # Errors
/// Compile and prover errors.
pub fn prove_edited(
    program: &Program,
    honest: &Witness,
    claimed: &Witness,
    stage: StageTag,
    preset: Plonky2Preset,
    edits: &[(Cell, i128)],
) -> Result<ProofEnvelope, ProveError> {
    let compiled = compile_cached(program, preset.zero_knowledge, preset.config())?;
    let params = preset.params();
    let statement = crate::statement_of(program, claimed, stage)?;
    let hints = compiled.hint_values(honest);
    let pw = compiled.assign(honest, &statement_limbs(&statement, &params), &hints)?;
    let data = &compiled.data;
    let mut witness = generate_partial_witness(pw, &data.prover_only, &data.common)
        .map_err(|e| backend_error(Plonky2Error::Prover(e.to_string())))?;
    for &(cell, value) in edits {
        let target = match cell {
            Cell::Hint(i, slot) => compiled.hint_targets(i).and_then(|t| t.get(slot).copied()),
            Cell::Tensor(id, i) => compiled.tensor_targets(id).get(i).copied(),
        }
        .ok_or_else(|| backend_error(Plonky2Error::Prover("no such cell".into())))?;
        let at = target.index(witness.num_wires, witness.degree);
        let rep = witness.representative_map[at];
        witness.values[rep] = Some(felt128(value));
    }
    let proved = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        prove_with_partition_witness(
            &data.prover_only,
            &data.common,
            witness,
            &mut TimingTree::default(),
        )
    }));
    envelope(proved, params, statement)
}

/// Aggregate without the prover's native checks (members' proofs, one preset, links): the
/// aggregation circuits alone must refuse a foreign member or a broken link.
///
/// # Errors
/// The circuits' refusal (a prover error), or a malformed member.
pub fn aggregate_unchecked(
    members: &[zkmlops_proof::AggregateInput<'_>],
) -> Result<zkmlops_proof::AggregateEnvelope, ProveError> {
    crate::aggregate::aggregate(members, false)
}
