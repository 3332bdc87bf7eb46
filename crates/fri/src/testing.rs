//! A cheating prover, for soundness tests only (the `testing` feature: never part of a release
//! build of the library or the CLI).
//!
//! [`prove_edited`] proves a Program the way an attacker would: it skips the prover-side checks
//! (`check_witness`, the backend's limits), builds the honest traces, then hands every
//! instance's trace to the test, which may overwrite any cell (choose its own bit
//! decompositions, wrap a sum, flip a selector bit). Afterwards the multiplicities of the range
//! and lookup tables are *recounted from the edited traces*, the best any cheater can do, so a
//! rejection comes from a constraint or an unmatched message, never from stale bookkeeping.
//! The proof is then made with Plonky3's real prover and checked by the unmodified verifier.
//!
//! [`diagnose`] evaluates the same edited traces without proving: every constraint row by row
//! (Plonky3's `DebugConstraintBuilder`) and every bus's multiset of messages. An attack test
//! asserts both that the verifier rejects *and* that the only broken rule is the one the test
//! is about, so the attack would have succeeded without that rule.

use std::collections::HashMap;

use p3_air::{AirLayout, BaseAir, DebugConstraintBuilder};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::InteractionSymbolicBuilder;
use p3_matrix::dense::{RowMajorMatrix, RowMajorMatrixView};
use p3_matrix::stack::VerticalPair;
use zkmlops_proof::{ProofEnvelope, ProveError, StageTag};
use zkmlops_tensor::{Program, Witness};

use crate::chips::{Chip, ChipAir, ChipKind, LUT_BUS, RANGE_BUS, TENSOR_BUS};
use crate::circuit::Circuit;
use crate::config::{Challenge, Val};
use crate::{Cheat, FriConfig};

/// A simple deviation (kept for the older tests; [`prove_edited`] can do all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Prove without checking the witness against the Program first.
    SkipWitnessCheck,
    /// Add `delta` to one main-trace cell of one instance.
    MainCell {
        /// Instance index.
        instance: usize,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
        /// Added value.
        delta: u64,
    },
    /// Add 1 to a producer multiplicity in the prover's (not the verifier's) chip.
    ProducerMultiplicity {
        /// Instance index (a source chip).
        instance: usize,
        /// Element index.
        index: usize,
    },
}

/// Prove with a deviation; see [`Tamper`].
///
/// # Errors
/// As [`zkmlops_proof::Backend::prove`].
pub fn prove_tampered(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
    tamper: Tamper,
) -> Result<ProofEnvelope, ProveError> {
    let mut edit = |_: &Circuit, traces: &mut [RowMajorMatrix<Val>], _: &[Vec<Val>]| {
        if let Tamper::MainCell {
            instance,
            row,
            col,
            delta,
        } = tamper
            && let Some(t) = traces.get_mut(instance)
        {
            let w = t.width;
            if let Some(v) = t.values.get_mut(row * w + col) {
                *v += Val::from_u64(delta);
            }
        }
    };
    let cheat = Cheat {
        skip_checks: tamper == Tamper::SkipWitnessCheck,
        producer_multiplicity: match tamper {
            Tamper::ProducerMultiplicity { instance, index } => Some((instance, index)),
            _ => None,
        },
        edit: Some(&mut edit),
    };
    crate::prove_inner(program, witness, stage, config, cheat).map_err(crate::into_prove_error)
}

/// The same Program with every declared bound lifted (inputs to `MAX_INPUT_BITS`, packed
/// commitments unpacked): it evaluates a cheater's witness (an input past its bound,
/// everything downstream computed consistently from it) that the real Program's reference
/// refuses. Its digest and commitments differ; prove against the real Program.
///
/// # Errors
/// The Program's own validation errors (none for a valid Program).
pub fn relaxed(program: &Program) -> Result<Program, zkmlops_tensor::ProgramError> {
    let mut tensors = program.tensors().to_vec();
    for t in &mut tensors {
        t.packed = false;
        t.bits = match t.kind {
            zkmlops_tensor::TensorKind::Input => zkmlops_tensor::MAX_INPUT_BITS,
            _ => 0,
        };
    }
    Program::from_parts(
        tensors,
        program.nodes().to_vec(),
        program.outputs().to_vec(),
    )
}

/// The first absorb column of the commitment chip (after the Poseidon2 columns).
#[must_use]
pub fn commit_absorb_column() -> usize {
    crate::chips::commit_p2_cols()
}

/// The kind name of every instance the Program compiles to, in order.
#[must_use]
pub fn instances(program: &Program, config: FriConfig) -> Vec<&'static str> {
    crate::circuit_stats(program, config)
        .map(|v| v.into_iter().map(|s| s.kind).collect())
        .unwrap_or_default()
}

/// The signed integer of a field element (`p - x` is `-x`).
fn signed(v: Val) -> i64 {
    zkmlops_field::unembed(v)
}

/// Every instance's trace, editable cell by cell. Columns are the chip's own (documented in
/// each chip's module) followed by its structure columns (which the verifier pins to the
/// Program: editing them is always caught).
pub struct Traces<'a> {
    circuit: &'a Circuit,
    traces: &'a mut [RowMajorMatrix<Val>],
}

impl Traces<'_> {
    /// Number of instances.
    #[must_use]
    pub fn len(&self) -> usize {
        self.traces.len()
    }

    /// Whether there is no instance.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.traces.is_empty()
    }

    /// The kind of instance `i` (`source`, `gemm`, `max`, `div-tensor`, `bound`, ...).
    #[must_use]
    pub fn kind(&self, i: usize) -> &'static str {
        self.circuit.airs[i].chip.kind_name()
    }

    /// The name of the wire instance `i` produces (for a bound chip: the wire it checks).
    #[must_use]
    pub fn wire(&self, i: usize) -> Option<&str> {
        let w = self.circuit.airs[i].chip.output_wire()?;
        Some(self.circuit.wires[w as usize].name.as_str())
    }

    /// The instance of `kind` producing (or, for a bound chip, checking) the wire `wire`, and
    /// the row where that wire's rows start (instances of one kind are shared by every op of
    /// that kind, one after the other).
    #[must_use]
    pub fn locate(&self, kind: &str, wire: &str) -> Option<(usize, usize)> {
        (0..self.len())
            .filter(|&i| self.kind(i) == kind)
            .find_map(|i| {
                self.circuit.airs[i]
                    .chip
                    .outputs()
                    .into_iter()
                    .find(|&(w, _)| self.circuit.wires[w as usize].name == wire)
                    .map(|(_, row)| (i, row))
            })
    }

    /// The instance of `kind` whose rows start with the wire `wire` (see [`Traces::locate`]
    /// for a wire anywhere in a shared instance).
    #[must_use]
    pub fn find(&self, kind: &str, wire: &str) -> Option<usize> {
        self.locate(kind, wire)
            .and_then(|(i, row)| (row == 0).then_some(i))
    }

    /// Rows of instance `i`.
    #[must_use]
    pub fn height(&self, i: usize) -> usize {
        self.traces[i].values.len() / self.traces[i].width.max(1)
    }

    /// A cell as a signed integer.
    #[must_use]
    pub fn get(&self, i: usize, row: usize, col: usize) -> i64 {
        let t = &self.traces[i];
        signed(t.values[row * t.width + col])
    }

    /// Write a signed integer into a cell.
    pub fn set(&mut self, i: usize, row: usize, col: usize, v: i64) {
        let m: Val = crate::chips::felt(v);
        self.set_field(i, row, col, m);
    }

    /// Write a field element (given by its canonical `u64`, reduced mod p) into a cell.
    pub fn set_u64(&mut self, i: usize, row: usize, col: usize, v: u64) {
        self.set_field(i, row, col, Val::from_u64(v));
    }

    fn set_field(&mut self, i: usize, row: usize, col: usize, v: Val) {
        let t = &mut self.traces[i];
        let w = t.width;
        t.values[row * w + col] = v;
    }
}

/// The global interactions of one AIR, as symbolic expressions.
fn interactions(air: &ChipAir) -> Vec<p3_lookup::SymbolicInteraction<Val>> {
    let layout = AirLayout::from_air::<Val>(air);
    InteractionSymbolicBuilder::<Val, Challenge>::from_air(air, layout)
        .global_interactions()
        .to_vec()
}

/// Run `f` on a constraint builder for every row of one instance.
fn for_each_row(
    air: &ChipAir,
    trace: &RowMajorMatrix<Val>,
    pvs: &[Val],
    mut f: impl FnMut(usize, &mut DebugConstraintBuilder<'_, Val>),
) {
    let w = trace.width;
    let h = trace.values.len() / w.max(1);
    // The structure once per instance (`periodic_values(row)` rebuilds every column per call).
    let columns = <ChipAir as BaseAir<Val>>::periodic_columns(air);
    for row in 0..h {
        let local = &trace.values[row * w..(row + 1) * w];
        let next_row = (row + 1) % h;
        let next = &trace.values[next_row * w..(next_row + 1) * w];
        let periodic: Vec<Val> = columns
            .iter()
            .map(|c| c.get(row % c.len().max(1)).copied().unwrap_or(Val::ZERO))
            .collect();
        let empty: [Val; 0] = [];
        let mut b = DebugConstraintBuilder::new(
            row,
            VerticalPair::new(
                RowMajorMatrixView::new_row(local),
                RowMajorMatrixView::new_row(next),
            ),
            VerticalPair::new(
                RowMajorMatrixView::new(&empty, 0),
                RowMajorMatrixView::new(&empty, 0),
            ),
            pvs,
            Val::from_bool(row == 0),
            Val::from_bool(row + 1 == h),
            Val::from_bool(row + 1 < h),
            &periodic,
        );
        f(row, &mut b);
    }
}

/// Net multiplicity of every message on every bus (sends positive, receives negative).
type BusTally = HashMap<String, HashMap<Vec<Val>, Val>>;

/// The net multiplicity of every message of the instances `keep` selects, on the buses it
/// selects.
fn tally_buses(
    circuit: &Circuit,
    traces: &[RowMajorMatrix<Val>],
    pvs: &[Vec<Val>],
    keep: impl Fn(&Chip, &str) -> bool,
) -> BusTally {
    let mut out: BusTally = HashMap::new();
    for ((air, trace), pv) in circuit.airs.iter().zip(traces).zip(pvs) {
        let inter: Vec<_> = interactions(air)
            .into_iter()
            .filter(|it| keep(&air.chip, &it.bus_name))
            .collect();
        if inter.is_empty() {
            continue;
        }
        for_each_row(air, trace, pv, |_, b| {
            for it in &inter {
                let count = it.count.resolve(b);
                if count.is_zero() {
                    continue;
                }
                let key: Vec<Val> = it.fields.iter().map(|e| e.resolve(b)).collect();
                *out.entry(it.bus_name.clone())
                    .or_default()
                    .entry(key)
                    .or_insert(Val::ZERO) += count;
            }
        });
    }
    out
}

/// Set every range / table instance's multiplicity column so that each of its entries
/// balances the lookups of it in the (edited) traces.
fn recount(circuit: &Circuit, traces: &mut [RowMajorMatrix<Val>], pvs: &[Vec<Val>]) {
    let is_provider = |c: &Chip| matches!(c, Chip::Range(_) | Chip::Table(_));
    // Lookups only: the providers' own sends are left out.
    let mut lookups = tally_buses(circuit, traces, pvs, |chip, bus| {
        !is_provider(chip) && (bus == RANGE_BUS || bus == LUT_BUS)
    });
    for (air, trace) in circuit.airs.iter().zip(traces.iter_mut()) {
        if !is_provider(&air.chip) {
            continue;
        }
        let inter = interactions(air);
        let w = trace.width;
        let mut counts = Vec::new();
        for_each_row(air, trace, &[], |_, b| {
            let it = &inter[0];
            let key: Vec<Val> = it.fields.iter().map(|e| e.resolve(b)).collect();
            let need = lookups
                .get_mut(&it.bus_name)
                .and_then(|m| m.remove(&key))
                .map_or(Val::ZERO, |c| -c);
            counts.push(need);
        });
        for (row, c) in counts.into_iter().enumerate() {
            trace.values[row * w] = c;
        }
    }
}

/// Prove as a cheater: prover-side checks skipped, `edit` applied to the honest traces, range
/// and table multiplicities recounted; see the module documentation.
///
/// # Errors
/// Compile errors of the Program, or the prover's (Plonky3's) own failure.
pub fn prove_edited(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
    mut edit: impl FnMut(&mut Traces<'_>),
) -> Result<ProofEnvelope, ProveError> {
    let mut hook = |circuit: &Circuit, traces: &mut [RowMajorMatrix<Val>], pvs: &[Vec<Val>]| {
        edit(&mut Traces { circuit, traces });
        recount(circuit, traces, pvs);
    };
    let cheat = Cheat {
        skip_checks: true,
        producer_multiplicity: None,
        edit: Some(&mut hook),
    };
    crate::prove_inner(program, witness, stage, config, cheat).map_err(crate::into_prove_error)
}

/// What is wrong with a set of edited traces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// `(instance kind, row)` of every row where some constraint fails.
    pub failing_rows: Vec<(&'static str, usize)>,
    /// Buses whose messages do not balance (`zkmlops/tensor`, `zkmlops/range8`, `zkmlops/lut`),
    /// with one unbalanced message each (its fields as signed integers).
    pub unbalanced: Vec<(String, Vec<i64>)>,
}

impl Diagnosis {
    /// Whether the edited traces satisfy every constraint and every bus.
    #[must_use]
    pub fn is_valid(&self) -> bool {
        self.failing_rows.is_empty() && self.unbalanced.is_empty()
    }

    /// Whether the only broken rule is an unmatched lookup on `bus` (every constraint holds and
    /// every other bus balances).
    #[must_use]
    pub fn only_bus(&self, bus: &str) -> bool {
        self.failing_rows.is_empty()
            && !self.unbalanced.is_empty()
            && self.unbalanced.iter().all(|(b, _)| b == bus)
    }
}

/// The range-check bus name (for [`Diagnosis::only_bus`]).
pub const RANGE: &str = RANGE_BUS;
/// The tensor bus name (for [`Diagnosis::only_bus`]).
pub const TENSOR: &str = TENSOR_BUS;

/// Evaluate `edit`ed traces (as [`prove_edited`] would prove them) without proving.
///
/// # Errors
/// Compile errors of the Program.
pub fn diagnose(
    program: &Program,
    witness: &Witness,
    stage: StageTag,
    config: FriConfig,
    mut edit: impl FnMut(&mut Traces<'_>),
) -> Result<Diagnosis, ProveError> {
    let mut out = Diagnosis::default();
    let mut hook = |circuit: &Circuit, traces: &mut [RowMajorMatrix<Val>], pvs: &[Vec<Val>]| {
        edit(&mut Traces { circuit, traces });
        recount(circuit, traces, pvs);
        for ((air, trace), pv) in circuit.airs.iter().zip(traces.iter()).zip(pvs) {
            for_each_row(air, trace, pv, |row, b| {
                <ChipAir as p3_air::Air<DebugConstraintBuilder<'_, Val>>>::eval(air, b);
                if !b.failures().is_empty() {
                    out.failing_rows.push((air.chip.kind_name(), row));
                }
            });
        }
        let mut buses: Vec<_> = tally_buses(circuit, traces, pvs, |_, _| true)
            .into_iter()
            .collect();
        buses.sort_by(|a, b| a.0.cmp(&b.0));
        for (bus, msgs) in buses {
            let mut bad: Vec<Vec<i64>> = msgs
                .into_iter()
                .filter(|(_, c)| !c.is_zero())
                .map(|(k, _)| k.into_iter().map(signed).collect())
                .collect();
            bad.sort();
            if let Some(first) = bad.into_iter().next() {
                out.unbalanced.push((bus, first));
            }
        }
    };
    let cheat = Cheat {
        skip_checks: true,
        producer_multiplicity: None,
        edit: Some(&mut hook),
    };
    // The hook has all it needs: no proof is made.
    crate::prepare(program, witness, stage, config, cheat).map_err(crate::into_prove_error)?;
    Ok(out)
}
