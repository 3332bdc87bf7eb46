//! `zkmlops bench`: the benchmark harness (`zkmlops-bench`) from the command line, and the
//! hidden `bench-worker` command its child processes run.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use zkmlops_bench::{Matrix, Presets, Progress, Results, Runner, Workload};
use zkmlops_proof::Registry;

use crate::error::CliError;

/// `zkmlops bench` arguments.
#[derive(Args, Debug)]
pub(crate) struct BenchArgs {
    /// ONNX models: a directory (every `NAME.onnx` with its `NAME.input.json`) or a model file
    /// (with `--input` or its sibling input file). Repeatable.
    #[arg(long, value_name = "PATH")]
    models: Vec<PathBuf>,
    /// The input of a single model file given with `--models`.
    #[arg(long, value_name = "INPUT.json")]
    input: Option<PathBuf>,
    /// Built-in workloads, comma-separated: mlp:64-256-256-10, gemm:KxN, lookup:N,
    /// train:ROWSxFEATURES, preprocess, aggregate:N.
    #[arg(long, value_delimiter = ',', value_name = "LIST")]
    workloads: Vec<String>,
    /// Backends, comma-separated, or `all`.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "all",
        value_name = "LIST"
    )]
    backends: Vec<String>,
    /// Presets: `default` (what the CLI picks: hiding), `all`, or names, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "default",
        value_name = "LIST"
    )]
    presets: Vec<String>,
    /// Weight visibilities for models and MLPs, comma-separated: committed, private, public.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "committed",
        value_name = "LIST"
    )]
    visibility: Vec<String>,
    /// Counted runs per cell.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Warm-up runs per cell (not counted).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// No EZKL rows even when the `ezkl` Python package is installed.
    #[arg(long)]
    no_ezkl: bool,
    /// Write the results as JSON (schema zkmlops-bench/v1).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the Markdown table.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
    /// Write the CSV table.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write SVG plots into this directory.
    #[arg(long, value_name = "DIR")]
    plots: Option<PathBuf>,
    /// Write the outputs (table, CSV, plots) from a saved JSON result instead of running.
    #[arg(long, value_name = "RESULTS.json", conflicts_with = "compare")]
    render: Option<PathBuf>,
    /// Compare two JSON results (OLD NEW): print new/old ratios and run nothing.
    #[arg(long, num_args = 2, value_names = ["OLD.json", "NEW.json"])]
    compare: Vec<PathBuf>,
}

fn bad(flag: &str, given: &str, allowed: &str) -> CliError {
    CliError::BenchArgs {
        flag: flag.into(),
        given: given.into(),
        allowed: allowed.into(),
    }
}

fn read_results(path: &PathBuf) -> Result<Results, CliError> {
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Read {
        path: path.clone(),
        source,
    })?;
    Ok(Results::from_json(path, &text)?)
}

impl BenchArgs {
    fn matrix(&self, registry: &Registry) -> Result<Matrix, CliError> {
        let mut workloads = Vec::new();
        for m in &self.models {
            workloads.extend(Workload::models(m, self.input.as_deref())?);
        }
        for w in self.workloads.iter().filter(|w| !w.is_empty()) {
            workloads.push(Workload::parse(w)?);
        }
        if workloads.is_empty() {
            return Err(bad(
                "--models/--workloads",
                "nothing",
                "at least one model or workload",
            ));
        }
        let backends = if self.backends.iter().any(|b| b == "all") {
            Vec::new()
        } else {
            for b in &self.backends {
                registry.get(b).map_err(CliError::Registry)?;
            }
            self.backends.clone()
        };
        let presets = match self.presets.as_slice() {
            [p] if p == "default" => Presets::Default,
            [p] if p == "all" => Presets::All,
            names => Presets::Named(names.to_vec()),
        };
        let visibilities = self
            .visibility
            .iter()
            .map(|v| match v.as_str() {
                "committed" => Ok(zkmlops_tensor::Visibility::Committed),
                "private" => Ok(zkmlops_tensor::Visibility::Private),
                "public" => Ok(zkmlops_tensor::Visibility::Public),
                _ => Err(bad("--visibility", v, "committed, private, public")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        if self.runs == 0 {
            return Err(bad("--runs", "0", "at least one run"));
        }
        Ok(Matrix {
            workloads,
            backends,
            presets,
            visibilities,
            runs: self.runs,
            warmup: self.warmup,
            ezkl: !self.no_ezkl,
        })
    }
}

/// `zkmlops bench`.
pub(crate) fn bench(
    args: &BenchArgs,
    registry: &Registry,
    quiet: bool,
) -> Result<ExitCode, CliError> {
    if let [old, new] = args.compare.as_slice() {
        out!(
            "{}",
            zkmlops_bench::report::compare(&read_results(old)?, &read_results(new)?)
        );
        return Ok(ExitCode::SUCCESS);
    }
    let results = match &args.render {
        Some(path) => read_results(path)?,
        None => {
            let matrix = args.matrix(registry)?;
            let exe = std::env::current_exe().map_err(|source| CliError::Read {
                path: PathBuf::from("current executable"),
                source,
            })?;
            let command = std::iter::once("zkmlops".to_string())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" ");
            // Workers keep no plonky2 key directory: every verification is measured as a
            // verifier that has never seen the circuit (it builds them), not a warm one.
            let runner = Runner::new(
                exe,
                vec!["--key-cache".into(), "off".into(), "bench-worker".into()],
            )?;
            runner.run(registry, &matrix, &command, &Progress::new(quiet))?
        }
    };
    let md = zkmlops_bench::report::markdown(&results);
    out!("{md}");
    let write = |path: &PathBuf, text: &str| crate::io::write(path, text.as_bytes());
    if let Some(p) = args.json.as_ref().filter(|_| args.render.is_none()) {
        write(p, &zkmlops_bench::report::json(&results))?;
    }
    if let Some(p) = &args.markdown {
        write(p, &md)?;
    }
    if let Some(p) = &args.csv {
        write(p, &zkmlops_bench::report::csv(&results))?;
    }
    if let Some(dir) = &args.plots {
        for f in zkmlops_bench::plot::write(&results, dir)? {
            if !quiet {
                eprintln!("wrote {}", f.display());
            }
        }
    }
    // A cell of ours that failed fails the run; a peer's failure (EZKL refusing a model) is a
    // finding, reported in the notes.
    let failed = results.rows.iter().any(|r| {
        matches!(r.outcome, zkmlops_bench::Outcome::Failed(_))
            && r.backend != zkmlops_bench::ezkl::ID
    });
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `zkmlops bench-worker JOB`: one phase of one repetition; prints one JSON line.
pub(crate) fn worker(job: &str, registry: &Registry) -> ExitCode {
    let (line, ok) = zkmlops_bench::respond(job, registry);
    outln!("{line}");
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
