//! The conformance suite every zkmlops proving backend passes, through the object-safe
//! [`Backend`] boundary only.
//!
//! A backend crate runs the whole suite with one line in a test file:
//!
//! ```ignore
//! zkmlops_conformance::suite!(my_backend::MyBackend, "my-preset");
//! ```
//!
//! which expands to one `#[test]` per group of checks:
//!
//! | test | what it checks |
//! |---|---|
//! | `conformance_ops` | a Program per op and op family ([`cases::op_cases`]: gemm, conv, pooling, every lookup function, softmax, layer norm, division, reductions, data movement, partition, sqrt, commitments) proves and verifies; the statement's public tensors equal the integer reference ([`zkmlops_tensor::Program::evaluate`]); commitments are of the declared scheme (and equal `zkmlops-commit`'s digests when that is the scheme); the envelope's claims match the preset's declared capabilities |
//! | `conformance_models` | the bundled ONNX models (weights committed, and private) and every single-operator ONNX model of the importer's tests (default settings: weights committed), or a sample of them that uses every op the whole list uses ([`Coverage`]) |
//! | `conformance_lifecycle` | a training run (one segment) and a preprocessing Program, through their stages' own prove and verify |
//! | `conformance_statement_binding` | every public value, the stage, the Program digest (and a sibling Program), each commitment, the commitment scheme, every parameter, the version and the backend id, each changed alone: rejected with a typed error |
//! | `conformance_proof_mutations` | proof bytes flipped, truncated and extended, and envelope bytes flipped: rejected, never a panic |
//! | `conformance_foreign_envelopes` | another backend's envelope, and this backend's envelope relabelled: [`VerifyError::WrongBackend`] |
//! | `conformance_policy` | security bits, zero knowledge, post-quantum and accepted-backend policies refuse what they must and accept what they may |
//! | `conformance_refusals` | an unknown preset (to `prove`, `check` and `setup`), a witness that does not satisfy its Program, and every op the preset declares unsupported: typed [`ProveError`]s before any proving; `setup` ahead of `prove` still gives a proof that verifies |
//! | `conformance_aggregation` | with `aggregation` declared: a two-segment training run folded into one proof verifies, and a dropped or swapped member, each member's dataset commitment, a proof byte, and segments beside the aggregate are refused; without: `aggregate` and `verify_aggregate` refuse by name |
//!
//! Ops a preset declares unsupported ([`zkmlops_proof::Capabilities::ops`]) are reported as
//! such in the printed table (and must be refused by name), never silently skipped. A panic
//! anywhere in the backend is a failure.
//!
//! What the suite cannot do for a backend: write its trace cells or skip its prover's checks
//! (a cheating prover needs the backend's internals). Every backend keeps its own
//! cheating-prover tests (`zkmlops-fri`'s `tests/attacks.rs`); the suite checks everything
//! that goes through the boundary.

mod aggregation;
pub mod cases;
mod checks;
mod lifecycle;
pub mod measure;
mod null;

use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

pub use aggregation::check_aggregation;
pub use cases::Case;
pub use checks::{
    check_binding, check_foreign, check_mutations, check_policy, check_refusals, run_ops,
    run_ops_with,
};
pub use lifecycle::{run_lifecycle, run_models, run_models_with};
pub use null::NullBackend;
use zkmlops_proof::{Backend, ProveError, VerifyError};

/// What became of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Proved and verified.
    Proved {
        /// Bytes of the backend's proof.
        proof_bytes: usize,
        /// Prove time.
        prove: Duration,
        /// Verify time.
        verify: Duration,
    },
    /// The preset declares something the case needs unsupported, and the backend refused it
    /// by name.
    Unsupported {
        /// What (an op name, `committed tensors`, a stage).
        what: String,
    },
    /// A check group that passed (statement binding, mutations, ...).
    Checked {
        /// How many rejections it verified.
        rejections: usize,
    },
    /// Left out of a [`Coverage::Sample`] run: another case of the sample proves the same ops.
    NotSampled,
}

/// How much of the op and model groups a run proves.
///
/// The whole groups prove every lookup function and every single-operator ONNX model on the
/// backend: minutes per backend in the test profile on two cores (halo2 needs a table of up to
/// 2^16 rows per lookup function). A sample keeps what each backend's chips are tested on and
/// drops repetitions: every op case except the lookup functions beyond
/// [`cases::LOOKUP_SAMPLE`] (one lookup argument, other tables), and of the single-operator
/// models a subset that uses every op (and every lookup function) the whole list uses
/// (`MODEL_SAMPLE` in `lifecycle.rs`, kept so by a test). The cases left out are reported as
/// [`Status::NotSampled`], never dropped silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// Every case.
    Full,
    /// The sample above.
    Sample,
}

impl Coverage {
    /// [`Coverage::Full`] when `whole` (a crate feature is on), else [`Coverage::Sample`].
    #[must_use]
    pub fn whole_if(whole: bool) -> Self {
        if whole {
            Coverage::Full
        } else {
            Coverage::Sample
        }
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The case or check.
    pub case: String,
    /// Its outcome.
    pub status: Status,
}

/// A check that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The case or check group.
    pub case: String,
    /// Which check (`verify`, `public value 3 changed`, ...).
    pub check: String,
    /// What happened instead.
    pub detail: String,
}

/// The outcome of one group of checks on one backend and preset.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The backend.
    pub backend: String,
    /// The preset.
    pub preset: String,
    /// Every case run.
    pub rows: Vec<Row>,
    /// Every failed check.
    pub failures: Vec<Failure>,
}

impl Report {
    fn new(backend: &dyn Backend, preset: &str) -> Self {
        Report {
            backend: backend.id().to_string(),
            preset: preset.to_string(),
            ..Report::default()
        }
    }

    fn fail(&mut self, case: &str, check: &str, detail: impl Into<String>) {
        self.failures.push(Failure {
            case: case.to_string(),
            check: check.to_string(),
            detail: detail.into(),
        });
    }

    fn row(&mut self, case: &str, status: Status) {
        self.rows.push(Row {
            case: case.to_string(),
            status,
        });
    }

    /// Whether every check passed.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// Whether some failure's check contains `text`.
    #[must_use]
    pub fn failed_check(&self, text: &str) -> bool {
        self.failures.iter().any(|f| f.check.contains(text))
    }

    /// The cases reported unsupported.
    #[must_use]
    pub fn unsupported(&self) -> Vec<&Row> {
        self.rows
            .iter()
            .filter(|r| matches!(r.status, Status::Unsupported { .. }))
            .collect()
    }

    /// A Markdown table of the rows, then the failures.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        let mut s = format!(
            "conformance of backend `{}`, preset `{}`\n\n| case | outcome |\n|---|---|\n",
            self.backend, self.preset
        );
        for r in &self.rows {
            let outcome = match &r.status {
                Status::Proved {
                    proof_bytes,
                    prove,
                    verify,
                } => format!(
                    "proved ({proof_bytes} B, prove {:.0} ms, verify {:.1} ms)",
                    prove.as_secs_f64() * 1e3,
                    verify.as_secs_f64() * 1e3
                ),
                Status::Unsupported { what } => format!("**unsupported** (declared): {what}"),
                Status::Checked { rejections } => format!("{rejections} rejections checked"),
                Status::NotSampled => {
                    "not in this run's sample (the whole group: `--features slow-tests`)".into()
                }
            };
            let _ = writeln!(s, "| {} | {outcome} |", r.case);
        }
        for f in &self.failures {
            let _ = writeln!(s, "FAILED {} / {}: {}", f.case, f.check, f.detail);
        }
        s
    }

    /// Print the report and panic when a check failed: what the [`suite!`] tests call.
    ///
    /// # Panics
    /// When [`Report::passed`] is false.
    #[allow(clippy::panic)]
    pub fn assert_passed(&self) {
        println!("{}", self.to_markdown());
        if !self.passed() {
            panic!(
                "{} conformance check(s) failed for backend `{}` preset `{}`:\n{}",
                self.failures.len(),
                self.backend,
                self.preset,
                self.failures
                    .iter()
                    .map(|f| format!("  {} / {}: {}", f.case, f.check, f.detail))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// Run `f`, turning a panic into an error message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".into())
    })
}

/// A verification result as a short description, for failure messages.
fn describe_verify<T>(r: &Result<Result<T, VerifyError>, String>) -> String {
    match r {
        Ok(Ok(_)) => "accepted".into(),
        Ok(Err(e)) => format!("rejected: {e}"),
        Err(p) => format!("panicked: {p}"),
    }
}

/// A proving result as a short description.
fn describe_prove<T>(r: &Result<Result<T, ProveError>, String>) -> String {
    match r {
        Ok(Ok(_)) => "proved".into(),
        Ok(Err(e)) => format!("refused: {e}"),
        Err(p) => format!("panicked: {p}"),
    }
}

/// One `#[test]` per check group for `$backend` (an expression of a type implementing
/// [`Backend`]) and `$preset` (a preset name). Wrap it in a module to run several presets.
///
/// - `suite!(backend, "preset")` runs every group whole.
/// - `suite!(backend, "preset", sample = "slow-tests")` proves the op and model groups'
///   [`Coverage::Sample`] unless the calling crate's feature `slow-tests` is on.
/// - `suite!(backend, "preset", slow = "slow-tests")` does the same and also marks the model
///   and lifecycle groups (the bundled models with committed weights are the costliest
///   proofs) `#[ignore]` unless the feature is on: they are reported as ignored, never
///   silently dropped, and `cargo test -- --ignored` runs them.
#[macro_export]
macro_rules! suite {
    ($backend:expr, $preset:expr) => {
        $crate::suite!(@tests $backend, $preset, [], $crate::Coverage::Full);
    };
    ($backend:expr, $preset:expr, sample = $feature:literal) => {
        $crate::suite!(
            @tests $backend, $preset, [], $crate::Coverage::whole_if(cfg!(feature = $feature))
        );
    };
    ($backend:expr, $preset:expr, slow = $feature:literal) => {
        $crate::suite!(@tests $backend, $preset, [
            cfg_attr(not(feature = $feature), ignore = "slow: runs with this feature")
        ], $crate::Coverage::whole_if(cfg!(feature = $feature)));
    };
    (@tests $backend:expr, $preset:expr, [$($slow:meta)?], $coverage:expr) => {
        #[test]
        fn conformance_ops() {
            $crate::run_ops_with(&$backend, $preset, $coverage).assert_passed();
        }
        #[test]
        $(#[$slow])?
        fn conformance_models() {
            $crate::run_models_with(&$backend, $preset, $coverage).assert_passed();
        }
        #[test]
        $(#[$slow])?
        fn conformance_lifecycle() {
            $crate::run_lifecycle(&$backend, $preset).assert_passed();
        }
        #[test]
        fn conformance_statement_binding() {
            $crate::check_binding(&$backend, $preset).assert_passed();
        }
        #[test]
        fn conformance_proof_mutations() {
            $crate::check_mutations(&$backend, $preset).assert_passed();
        }
        #[test]
        fn conformance_foreign_envelopes() {
            $crate::check_foreign(&$backend, $preset).assert_passed();
        }
        #[test]
        fn conformance_policy() {
            $crate::check_policy(&$backend, $preset).assert_passed();
        }
        #[test]
        fn conformance_refusals() {
            $crate::check_refusals(&$backend, $preset).assert_passed();
        }
        #[test]
        $(#[$slow])?
        fn conformance_aggregation() {
            $crate::check_aggregation(&$backend, $preset).assert_passed();
        }
    };
}
