//! Planning a matrix into cells and running each cell's repetitions in worker processes.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use zkmlops_proof::{PresetInfo, Registry};
use zkmlops_tensor::Visibility;

use crate::worker::{Job, PhaseOutput};
use crate::{
    BenchError, Machine, Matrix, Outcome, Phase, Presets, Results, Row, SCHEMA, Stats, Workload,
    visibility_name,
};

/// Progress on stderr: one bar for the matrix (cells done, elapsed, estimated remaining time)
/// and a spinner for the cell being run.
pub struct Progress {
    multi: Option<MultiProgress>,
    overall: ProgressBar,
}

impl Progress {
    /// Bars on stderr (`quiet`: none).
    #[must_use]
    pub fn new(quiet: bool) -> Self {
        if quiet {
            return Self::hidden();
        }
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(0));
        overall.set_style(
            ProgressStyle::with_template(
                "{bar:30} {pos}/{len} cells, {elapsed} elapsed, ~{eta} remaining",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress {
            multi: Some(multi),
            overall,
        }
    }

    /// No output.
    #[must_use]
    pub fn hidden() -> Self {
        Progress {
            multi: None,
            overall: ProgressBar::hidden(),
        }
    }

    fn cell(&self, label: &str) -> ProgressBar {
        let Some(multi) = &self.multi else {
            return ProgressBar::hidden();
        };
        let pb = multi.add(ProgressBar::new_spinner());
        pb.set_style(
            ProgressStyle::with_template("{spinner} {prefix}: {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        pb.set_prefix(label.to_string());
        pb.enable_steady_tick(Duration::from_millis(120));
        pb
    }

    /// Print a line above the bars (or on stderr when hidden and not quiet).
    fn println(&self, line: &str) {
        if let Some(m) = &self.multi {
            let _ = m.println(line);
        }
    }
}

/// Runs cells in worker processes: `exe prefix... JOB_JSON` runs one phase of one repetition
/// and prints one JSON line ([`respond`]).
pub struct Runner {
    exe: PathBuf,
    prefix: Vec<String>,
    dir: PathBuf,
}

impl Drop for Runner {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A planned cell.
struct Cell {
    workload: Workload,
    backend: String,
    preset: PresetInfo,
    weights: Option<Visibility>,
    work: Option<u64>,
}

impl Runner {
    /// Workers are `exe` with `prefix` arguments (the CLI: its own path and `bench-worker`);
    /// proofs go to a fresh directory under the system's temporary directory.
    ///
    /// # Errors
    /// [`BenchError::Io`] if the directory cannot be made.
    pub fn new(exe: PathBuf, prefix: Vec<String>) -> Result<Self, BenchError> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir =
            std::env::temp_dir().join(format!("zkmlops-bench-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| BenchError::Io {
            path: dir.clone(),
            what: e.to_string(),
        })?;
        Ok(Runner { exe, prefix, dir })
    }

    /// Run every cell of `matrix` (EZKL's rows beside each ONNX model when asked for and
    /// installed); `command` is recorded in the results.
    ///
    /// # Errors
    /// [`BenchError::Backend`] for a backend the registry lacks; a cell that fails is a row
    /// with [`Outcome::Failed`], not an error.
    pub fn run(
        &self,
        registry: &Registry,
        matrix: &Matrix,
        command: &str,
        progress: &Progress,
    ) -> Result<Results, BenchError> {
        let started_unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (cells, mut rows) = plan(registry, matrix)?;
        let mut notes = Vec::new();
        let ezkl = if matrix.ezkl
            && matrix
                .workloads
                .iter()
                .any(|w| matches!(w, Workload::Onnx { .. }))
        {
            match crate::ezkl::available() {
                Ok(v) => Some(v),
                Err(reason) => {
                    let note = format!("EZKL rows skipped: {reason}.");
                    progress.println(&note);
                    notes.push(note);
                    None
                }
            }
        } else {
            None
        };
        let ezkl_cells: Vec<(Workload, Visibility)> = match &ezkl {
            Some(version) => {
                notes.push(format!("EZKL {version} (Python) beside each ONNX model."));
                matrix
                    .workloads
                    .iter()
                    .filter(|w| matches!(w, Workload::Onnx { .. }))
                    .flat_map(|w| matrix.visibilities.iter().map(move |v| (w.clone(), *v)))
                    .collect()
            }
            None => Vec::new(),
        };
        progress
            .overall
            .set_length((cells.len() + ezkl_cells.len()) as u64);
        for (i, cell) in cells.iter().enumerate() {
            let label = format!(
                "{} {} {}{}",
                cell.workload.label(),
                cell.backend,
                cell.preset.name,
                cell.weights
                    .map(|v| format!(" weights {}", visibility_name(v)))
                    .unwrap_or_default()
            );
            let pb = progress.cell(&label);
            let row = self.run_cell(i, cell, matrix, &pb);
            pb.finish_and_clear();
            if let Outcome::Failed(why) = &row.outcome {
                progress.println(&format!("{label}: failed: {why}"));
            }
            rows.push(row);
            progress.overall.inc(1);
        }
        for (w, v) in &ezkl_cells {
            let pb = progress.cell(&format!(
                "{} ezkl weights {}",
                w.label(),
                visibility_name(*v)
            ));
            let mut row = crate::ezkl::run_cell(&self.dir, w, *v, matrix, &pb);
            row.work = work_of(w, *v);
            pb.finish_and_clear();
            rows.push(row);
            progress.overall.inc(1);
        }
        progress.overall.finish_and_clear();
        // Matrix order: by workload, then backend (EZKL last); stable, so presets and
        // visibilities keep theirs.
        let order: Vec<String> = matrix.workloads.iter().map(Workload::label).collect();
        let backends = backend_ids(registry, matrix);
        rows.sort_by_key(|r| {
            (
                order.iter().position(|l| *l == r.workload),
                backends
                    .iter()
                    .position(|b| *b == r.backend)
                    .unwrap_or(usize::MAX),
            )
        });
        Ok(Results {
            schema: SCHEMA.into(),
            command: command.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            started_unix,
            machine: Machine::this(),
            runs: matrix.runs,
            warmup: matrix.warmup,
            rows,
            notes,
        })
    }

    fn spawn(&self, job: &Job) -> Result<PhaseOutput, BenchError> {
        let json = serde_json::to_string(job).map_err(|e| BenchError::Worker(e.to_string()))?;
        let out = Command::new(&self.exe)
            .args(&self.prefix)
            .arg(json)
            .output()
            .map_err(|e| BenchError::Worker(format!("{}: {e}", self.exe.display())))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().rev().find(|l| l.starts_with('{'));
        let parsed: Option<Result<PhaseOutput, BenchError>> = line
            .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .and_then(|v| {
                if let Some(ok) = v.get("ok") {
                    serde_json::from_value(ok.clone()).ok().map(Ok)
                } else {
                    v.get("error")
                        .and_then(|e| e.as_str())
                        .map(|e| Err(BenchError::Worker(e.to_string())))
                }
            });
        parsed.unwrap_or_else(|| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            Err(BenchError::Worker(format!(
                "exit {}: {}",
                out.status,
                stderr.lines().last().unwrap_or("no output")
            )))
        })
    }

    fn run_cell(&self, index: usize, cell: &Cell, matrix: &Matrix, pb: &ProgressBar) -> Row {
        let mut row = Row::new(
            cell.workload.label(),
            cell.work,
            cell.backend.clone(),
            cell.preset.name.clone(),
            cell.weights.map(|v| visibility_name(v).to_string()),
            Outcome::Ok,
        );
        row.zero_knowledge = Some(cell.preset.capabilities.zero_knowledge);
        row.transparent = Some(cell.preset.capabilities.transparent);
        let artifact = self.dir.join(format!("cell{index}.proof"));
        let mut proves = Vec::new();
        let mut verifies = Vec::new();
        let total = matrix.warmup + matrix.runs;
        for rep in 0..total {
            let what = if rep < matrix.warmup {
                format!("warm-up {}/{}", rep + 1, matrix.warmup)
            } else {
                format!("run {}/{}", rep + 1 - matrix.warmup, matrix.runs)
            };
            let mut job = Job {
                workload: cell.workload.clone(),
                backend: cell.backend.clone(),
                preset: cell.preset.name.clone(),
                weights: cell.weights.unwrap_or(Visibility::Private),
                phase: Phase::Prove,
                artifact: artifact.clone(),
            };
            pb.set_message(format!("{what}: proving"));
            let p = match self.spawn(&job) {
                Ok(p) => p,
                Err(e) => {
                    row.outcome = Outcome::Failed(e.to_string());
                    break;
                }
            };
            pb.set_message(format!("{what}: verifying"));
            job.phase = Phase::Verify;
            let v = match self.spawn(&job) {
                Ok(v) => v,
                Err(e) => {
                    row.outcome = Outcome::Failed(e.to_string());
                    break;
                }
            };
            if rep >= matrix.warmup {
                proves.push(p);
                verifies.push(v);
            }
        }
        let _ = std::fs::remove_file(&artifact);
        fill(&mut row, &proves, &verifies);
        row
    }
}

fn stat<T>(outs: &[T], f: impl Fn(&T) -> Option<f64>) -> Option<Stats> {
    let v: Vec<f64> = outs.iter().filter_map(f).collect();
    if v.len() == outs.len() {
        Stats::of(&v)
    } else {
        None
    }
}

#[allow(clippy::cast_precision_loss)]
fn fill(row: &mut Row, proves: &[PhaseOutput], verifies: &[PhaseOutput]) {
    row.runs = proves.len();
    row.setup_ms = stat(proves, |p| p.setup_ms);
    row.setup = proves.first().and_then(|p| p.setup.clone());
    row.prove_ms = stat(proves, |p| p.prove_ms);
    row.verify_ms = stat(verifies, |v| v.verify_ms);
    row.proof_bytes = stat(proves, |p| p.proof_bytes.map(|b| b as f64));
    row.envelope_bytes = stat(proves, |p| p.envelope_bytes.map(|b| b as f64));
    row.file_bytes = stat(proves, |p| p.file_bytes.map(|b| b as f64));
    row.prove_peak_rss_mb = stat(proves, |p| p.peak_rss_mb);
    row.verify_peak_rss_mb = stat(verifies, |v| v.peak_rss_mb);
    if let Some(p) = proves.first() {
        row.conjectured_bits = p.conjectured_bits;
        row.proven_bits = p.proven_bits;
        row.post_quantum = p.post_quantum;
        for k in p.extra.keys() {
            if let Some(s) = stat(proves, |q| q.extra.get(k).copied()) {
                row.extra.insert(k.clone(), s);
            }
        }
    }
}

fn work_of(w: &Workload, weights: Visibility) -> Option<u64> {
    w.verifier_program(weights)
        .ok()
        .flatten()
        .map(|p| crate::workload::work(&p))
}

/// The backends a matrix runs (every registered one when it names none).
fn backend_ids(registry: &Registry, matrix: &Matrix) -> Vec<String> {
    if matrix.backends.is_empty() {
        registry.ids().map(|id| id.as_str().to_string()).collect()
    } else {
        matrix.backends.clone()
    }
}

/// The cells of `matrix`, and a row for each cell the preset declares it cannot prove.
fn plan(registry: &Registry, matrix: &Matrix) -> Result<(Vec<Cell>, Vec<Row>), BenchError> {
    let backends = backend_ids(registry, matrix);
    let mut cells = Vec::new();
    let mut skipped = Vec::new();
    for w in &matrix.workloads {
        let visibilities: Vec<Option<Visibility>> = if w.has_weights() {
            matrix.visibilities.iter().copied().map(Some).collect()
        } else {
            vec![None]
        };
        // The workload's Program per visibility, built once for every backend and preset.
        let programs: Vec<Option<zkmlops_tensor::Program>> = visibilities
            .iter()
            .map(|v| {
                w.verifier_program(v.unwrap_or(Visibility::Private))
                    .ok()
                    .flatten()
            })
            .collect();
        for id in &backends {
            let backend = registry
                .get(id)
                .map_err(|e| BenchError::Backend(e.to_string()))?;
            let presets: Vec<PresetInfo> = match &matrix.presets {
                Presets::Default => vec![
                    backend
                        .preset(&backend.default_preset(true))
                        .map_err(|e| BenchError::Backend(e.to_string()))?,
                ],
                Presets::All => backend.presets(),
                Presets::Named(names) => backend
                    .presets()
                    .into_iter()
                    .filter(|p| names.contains(&p.name))
                    .collect(),
            };
            for preset in presets {
                for (weights, program) in visibilities.iter().zip(&programs) {
                    let work = program.as_ref().map(crate::workload::work);
                    let cell = Cell {
                        workload: w.clone(),
                        backend: id.clone(),
                        preset: preset.clone(),
                        weights: *weights,
                        work,
                    };
                    match unsupported(&cell, program.as_ref()) {
                        Some(reason) => {
                            let mut row = Row::new(
                                w.label(),
                                work,
                                id.clone(),
                                cell.preset.name.clone(),
                                weights.map(|v| visibility_name(v).to_string()),
                                Outcome::Unsupported(reason),
                            );
                            row.zero_knowledge = Some(cell.preset.capabilities.zero_knowledge);
                            row.transparent = Some(cell.preset.capabilities.transparent);
                            row.post_quantum = Some(cell.preset.capabilities.post_quantum);
                            skipped.push(row);
                        }
                        None => cells.push(cell),
                    }
                }
            }
        }
    }
    Ok((cells, skipped))
}

/// Why `cell`'s preset cannot prove its workload, by what the preset declares.
fn unsupported(cell: &Cell, program: Option<&zkmlops_tensor::Program>) -> Option<String> {
    let caps = &cell.preset.capabilities;
    if cell.workload.needs_lineage()
        && caps.commitment_scheme.as_ref() != Some(&zkmlops_commit::SCHEME)
    {
        return Some(format!(
            "the stage links {} lineage commitments; this preset commits with {}",
            zkmlops_commit::SCHEME,
            caps.commitment_scheme
                .as_ref()
                .map_or_else(|| "nothing".to_string(), ToString::to_string)
        ));
    }
    if matches!(cell.workload, Workload::Aggregate { .. }) && !caps.aggregation {
        return Some("no recursive aggregation".into());
    }
    if let Some(v) = cell.weights {
        if v != Visibility::Public && v != Visibility::Private && caps.commitment_scheme.is_none() {
            return Some("committed weights: the preset has no commitment scheme".into());
        }
        if let Some(p) = program {
            for n in p.nodes() {
                if let Some(f) = caps.ops.missing(&n.op) {
                    return Some(format!("op {f}"));
                }
            }
        }
    }
    None
}

/// The worker's side: run the job given as JSON and return the line to print (`{"ok": ...}` or
/// `{"error": "..."}`) and whether it succeeded.
#[must_use]
pub fn respond(job_json: &str, registry: &Registry) -> (String, bool) {
    let result = serde_json::from_str::<Job>(job_json)
        .map_err(|e| BenchError::Worker(format!("job: {e}")))
        .and_then(|job| crate::worker::run_job(&job, registry));
    match result {
        Ok(out) => (serde_json::json!({ "ok": out }).to_string(), true),
        Err(e) => (
            serde_json::json!({ "error": e.to_string() }).to_string(),
            false,
        ),
    }
}
