//! `zkmlops`: compile ONNX models to Programs, prove and verify inferences, inspect proofs and
//! measure quantization fidelity. See `docs/cli.md` for every command and its JSON output.

// Every file this binary reads is untrusted: no indexing that can panic.
#![warn(clippy::indexing_slicing)]

/// `println!` to standard output that never panics: when the reader has gone (`zkmlops verify
/// ... | head -1`), the process ends quietly with status 141, as a process killed by SIGPIPE
/// does, instead of `println!`'s "failed printing to stdout" panic. Every command's output
/// goes through this or [`out!`].
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

/// `print!` through [`outln!`]'s broken-pipe handling.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

mod backend;
mod bench;
mod error;
mod io;
mod monitor;
mod pipeline;
mod preprocess;
mod report;
mod train;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use tracing::info;
use zkmlops_onnx::{
    FloatModel, ScaleLimits, Settings, calibrate_within, fidelity, parse_visibility,
};
use zkmlops_proof::VerifyPolicy;

use crate::backend::BackendArgs;
use crate::error::CliError;

/// Verifiable ML: zero-knowledge proofs of ONNX inference, training, preprocessing and metrics
/// (default backend: Plonky3 FRI STARK, no setup, post-quantum; `zkmlops backends` lists all).
#[derive(Parser)]
#[command(name = "zkmlops", version, about, long_about = None)]
struct Cli {
    /// No progress output on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// Where the plonky2 verifier keeps the keys of the circuits it builds, so that later
    /// verifications (in any process) read them instead of rebuilding the circuits: a
    /// directory, or `off`. Default: `$ZKMLOPS_KEY_CACHE`, else `$XDG_CACHE_HOME/zkmlops/keys`,
    /// else `~/.cache/zkmlops/keys`. The directory is trusted like this binary: never fill it
    /// with files from a prover (docs/plonky2-backend.md).
    #[arg(long, global = true, value_name = "DIR|off")]
    key_cache: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Translate an ONNX model into a Program with quantized weights (`model.zkm`).
    Compile {
        /// The ONNX model.
        model: PathBuf,
        /// Calibrate the scale on these samples ({"input_data": [[...], ...]}).
        #[arg(long, value_name = "DATA.json")]
        calibrate: Option<PathBuf>,
        /// Start from these settings (JSON, see docs/onnx.md).
        #[arg(long, value_name = "SETTINGS.json")]
        settings: Option<PathBuf>,
        /// Highest scale calibration tries, in bits, or `auto`: up to 16 bits for a model
        /// without lookup tables (its proof costs the same at any scale), 12 for one with them
        /// (their rows grow with the scale).
        #[arg(long, default_value = "auto", value_parser = parse_max_scale)]
        max_scale: ScaleLimits,
        /// Visibilities, e.g. input=private,params=private,output=public.
        #[arg(long)]
        visibility: Option<String>,
        /// A graph input's shape, e.g. `8,4` (`""` for a scalar): once per graph input, in
        /// graph order. Fixes symbolic dimensions (a batch axis) without calibration data;
        /// overrides the settings' shapes and what `--calibrate` would read from the data.
        #[arg(long = "input-shape", value_name = "DIMS", value_parser = parse_dims)]
        input_shape: Vec<Vec<usize>>,
        /// Also write the chosen settings here.
        #[arg(long, value_name = "SETTINGS.json")]
        settings_out: Option<PathBuf>,
        /// The backend whose limits calibration respects.
        #[command(flatten)]
        backend: BackendArgs,
        /// The compiled model.
        #[arg(short, long, value_name = "model.zkm")]
        output: PathBuf,
    },
    /// Prove one inference.
    Prove {
        /// An ONNX model (compiled with default settings) or a compiled `model.zkm`.
        model: PathBuf,
        /// The input ({"input_data": [[...]]}; a model with k graph inputs takes k arrays per
        /// sample, in graph order, as EZKL lays them out).
        #[arg(long, value_name = "INPUT.json")]
        input: PathBuf,
        /// Which sample of the input file.
        #[arg(long, default_value_t = 0)]
        sample: usize,
        /// Settings for an ONNX model (ignored for `.zkm`).
        #[arg(long, value_name = "SETTINGS.json")]
        settings: Option<PathBuf>,
        /// Visibilities for an ONNX model, e.g. input=public.
        #[arg(long)]
        visibility: Option<String>,
        #[command(flatten)]
        backend: BackendArgs,
        /// Zero knowledge (a hiding preset); the default whenever the input or the weights are
        /// not public.
        #[arg(long, conflicts_with = "transparent")]
        zk: bool,
        /// A transparent (non-hiding) preset even for hidden inputs: smaller and faster, for
        /// benchmarks; reveals information about private values.
        #[arg(long)]
        transparent: bool,
        /// Reuse the salt of this commitment file (from `zkmlops commit`), so the proof is tied
        /// to that published commitment.
        #[arg(long, value_name = "commitment.json")]
        commitment: Option<PathBuf>,
        /// Wrap the proof into a recursive proof that verifies it (a backend that aggregates:
        /// `--backend plonky2`): about 105 KB whatever the model, written as a binary aggregate
        /// (`ZKMA`, docs/formats.md) that `verify` and `inspect` read.
        #[arg(long)]
        aggregate: bool,
        /// The proof file: the binary envelope (`proof.zkp`), or its JSON form when the name
        /// ends in `.json` (see `--format`).
        #[arg(short, long, value_name = "proof.zkp")]
        output: PathBuf,
        /// The proof file's form: `auto` (JSON for a `.json` name, binary otherwise), `binary`
        /// or `json` (hex, twice the bytes). `verify` and `inspect` read either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Commit to a model's weights: writes the commitment (publish it) with its salt (keep it).
    Commit {
        /// An ONNX model (compiled with committed weights) or a compiled `model.zkm`.
        model: PathBuf,
        /// Settings for an ONNX model (ignored for `.zkm`).
        #[arg(long, value_name = "SETTINGS.json")]
        settings: Option<PathBuf>,
        /// The commitment file.
        #[arg(short, long, value_name = "commitment.json")]
        output: PathBuf,
    },
    /// Verify a proof against a model; exit code 0 when it verifies, 1 otherwise.
    Verify {
        /// The proof file.
        proof: PathBuf,
        /// The model it claims (ONNX, compiled with the same settings, or `model.zkm`).
        #[arg(long, value_name = "MODEL")]
        model: PathBuf,
        /// Settings for an ONNX model (ignored for `.zkm`).
        #[arg(long, value_name = "SETTINGS.json")]
        settings: Option<PathBuf>,
        /// Visibilities for an ONNX model.
        #[arg(long)]
        visibility: Option<String>,
        /// Minimum conjectured security in bits.
        #[arg(long, default_value_t = 100)]
        min_bits: u16,
        /// Require the proof to be tied to this published model commitment.
        #[arg(long, value_name = "commitment.json")]
        commitment: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// List the backends this build has, each preset with its capabilities.
    Backends {
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Show a proof's backend, parameters, sizes and statement (without verifying it). A
    /// binary stage file (`proof.zkp` of `preprocess prove`, `transcript.zkp`, ...) is
    /// summarised; with `--json` its whole JSON form is printed.
    Inspect {
        /// The proof file.
        proof: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
    /// Prove and verify training runs (logistic regression; docs/training.md).
    #[command(subcommand)]
    Train(train::TrainCommand),
    /// Prove and verify that a processed dataset is a declared pipeline applied to a raw table.
    #[command(subcommand)]
    Preprocess(preprocess::PreprocessCommand),
    /// Prove and verify the accuracy of a trained model on a committed test set.
    #[command(subcommand)]
    Eval(train::EvalCommand),
    /// Prove and verify online metrics (count, accuracy, group rates, drift) over a committed
    /// production log.
    #[command(subcommand)]
    Monitor(monitor::MonitorCommand),
    /// Audit a whole lifecycle: verify every stage proof of a manifest and every commitment
    /// link between stages (text, JSON or an HTML report).
    #[command(subcommand)]
    Pipeline(pipeline::PipelineCommand),
    /// Benchmark workloads x backends x presets x visibilities (and EZKL when installed):
    /// prove, verify and setup time, proof bytes, prover memory, security claims; Markdown,
    /// CSV, JSON and SVG plots (docs/benchmarks.md).
    Bench(bench::BenchArgs),
    /// One phase of one benchmark repetition (run by `zkmlops bench` in a child process).
    #[command(hide = true)]
    BenchWorker {
        /// The job, as JSON.
        job: String,
    },
    /// Quantized against float outputs over many samples, without proving.
    Fidelity {
        /// A compiled `model.zkm` (or an ONNX model, compiled with default settings).
        model: PathBuf,
        /// The samples ({"input_data": [[...], ...]}).
        #[arg(long, value_name = "DATA.json")]
        data: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn spinner(quiet: bool, msg: &str) -> ProgressBar {
    info!("{msg}");
    if quiet {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// `--max-scale`: `auto` ([`ScaleLimits::AUTO`]) or a number of bits (1 to 16).
fn parse_dims(s: &str) -> Result<Vec<usize>, String> {
    s.split(',')
        .filter(|d| !d.trim().is_empty())
        .map(|d| match d.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!(
                "`{s}`: expected positive dimensions separated by commas, e.g. `8,4`"
            )),
        })
        .collect()
}

fn parse_max_scale(s: &str) -> Result<ScaleLimits, String> {
    if s == "auto" {
        return Ok(ScaleLimits::AUTO);
    }
    match s.parse::<u32>() {
        Ok(bits) if (1..=zkmlops_onnx::MAX_SCALE_BITS).contains(&bits) => {
            Ok(ScaleLimits::at_most(bits))
        }
        _ => Err(format!(
            "`{s}`: expected `auto` or a number of bits from 1 to {}",
            zkmlops_onnx::MAX_SCALE_BITS
        )),
    }
}

fn with_visibility(mut s: Settings, given: Option<&str>) -> Result<Settings, CliError> {
    let Some(given) = given else { return Ok(s) };
    let bad = || CliError::Visibility {
        given: given.into(),
    };
    for part in given.split(',').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').ok_or_else(bad)?;
        let v = parse_visibility(v.trim()).ok_or_else(bad)?;
        match k.trim() {
            "input" => s.input_visibility = v,
            "params" | "weights" => s.param_visibility = v,
            "output" => s.output_visibility = v,
            _ => return Err(bad()),
        }
    }
    Ok(s)
}

fn load_model(
    path: &Path,
    settings: Option<&Path>,
    visibility: Option<&str>,
) -> Result<zkmlops_onnx::CompiledModel, CliError> {
    let s = with_visibility(io::settings(settings)?, visibility)?;
    io::model(path, &s)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The registered backend that made `env`.
pub(crate) fn backend_of<'r>(
    registry: &'r zkmlops_proof::Registry,
    env: &zkmlops_proof::ProofEnvelope,
) -> Result<&'r dyn zkmlops_proof::Backend, CliError> {
    registry
        .get(env.backend.as_str())
        .map_err(CliError::Registry)
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let quiet = cli.quiet;
    let registry = zkmlops::registry();
    match cli.command {
        Command::Compile {
            model,
            calibrate: data,
            settings,
            max_scale,
            visibility,
            input_shape,
            settings_out,
            backend,
            output,
        } => {
            // Calibration checks the backend's limits under its transparent default, or its
            // hiding one when it has no transparent preset (halo2).
            let chosen = backend
                .choose(&registry, false, false)
                .or_else(|_| backend.choose(&registry, true, false))?;
            let mut base =
                with_visibility(io::settings(settings.as_deref())?, visibility.as_deref())?;
            let onnx = io::onnx(&model)?;
            let inputs = onnx.inputs()?;
            let graph_inputs = inputs.len();
            match input_shape.as_slice() {
                [] => {}
                given if given.len() != graph_inputs => {
                    return Err(zkmlops_onnx::OnnxError::SettingRange {
                        name: "--input-shape",
                        value: format!("{} shapes for {graph_inputs} graph inputs", given.len()),
                        allowed: "one shape per graph input",
                    }
                    .into());
                }
                given => base.set_input_shapes(given.to_vec()),
            }
            let (compiled, report) = match data {
                Some(data) => {
                    // Symbolic dimensions (a batch axis) take their size from the first
                    // sample unless the settings give the shapes.
                    if base.input_shape.is_none()
                        && base.input_shapes.is_none()
                        && let Some(shapes) =
                            zkmlops_onnx::infer_input_shapes(&inputs, &io::input_data(&data)?)
                    {
                        if !quiet {
                            eprintln!("input shapes from the data: {shapes:?}");
                        }
                        base.set_input_shapes(shapes);
                    }
                    let shapes = match (&base.input_shapes, &base.input_shape) {
                        (Some(s), _) => s.clone(),
                        (None, Some(one)) => vec![one.clone()],
                        (None, None) => inputs.iter().map(|i| i.shape.clone()).collect(),
                    };
                    let samples = io::samples(&data, &shapes)?;
                    let pb = spinner(quiet, &format!("calibrating on {} samples", samples.len()));
                    let cal = calibrate_within(
                        &onnx,
                        &samples,
                        &base,
                        max_scale,
                        chosen.backend,
                        &chosen.preset.name,
                    )?;
                    pb.finish_and_clear();
                    (cal.model, Some(cal.report))
                }
                None => (zkmlops_onnx::compile(&onnx, &base)?, None),
            };
            io::write(&output, &compiled.to_bytes())?;
            if let Some(p) = settings_out {
                io::write(&p, compiled.settings.to_json().as_bytes())?;
            }
            outln!(
                "compiled `{}`: scale 2^{}, {} tensors, {} nodes, {} weight tensors; program digest {}",
                compiled.name,
                compiled.settings.scale_bits,
                compiled.program.tensors().len(),
                compiled.program.nodes().len(),
                compiled.params.len(),
                compiled.program.digest()
            );
            if let Some(r) = report {
                report::print_fidelity(&r);
            }
            outln!("wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Prove {
            model,
            input,
            sample,
            settings,
            visibility,
            backend,
            zk,
            transparent,
            commitment,
            aggregate,
            output,
            format,
        } => {
            let mut compiled = load_model(&model, settings.as_deref(), visibility.as_deref())?;
            if let Some(c) = commitment {
                let file = io::commitment(&c)?;
                compiled = compiled
                    .with_salt(file.salt.ok_or(CliError::NoSalt { path: c.clone() })?)
                    .map_err(|source| CliError::Model {
                        path: model.clone(),
                        source,
                    })?;
            }
            let samples = io::samples(&input, &compiled.input_shapes())?;
            let x = samples.get(sample).ok_or(CliError::SampleIndex {
                path: input.clone(),
                index: sample,
                count: samples.len(),
            })?;
            // Hiding by default whenever an input (data or weights) is not public.
            let hidden = compiled.program.tensors().iter().any(|d| {
                d.kind == zkmlops_tensor::TensorKind::Input
                    && d.visibility != zkmlops_tensor::Visibility::Public
            });
            let wanted = if zk || transparent { zk } else { hidden };
            let chosen = backend.choose(&registry, wanted, zk || transparent)?;
            if aggregate && !chosen.preset.capabilities.aggregation {
                return Err(CliError::NoAggregation {
                    backend: chosen.backend.id().to_string(),
                    preset: chosen.preset.name.clone(),
                });
            }
            let preset = chosen.preset.name.as_str();
            let pb = spinner(
                quiet,
                &format!("proving `{}` ({} {preset})", compiled.name, backend.backend),
            );
            let t = Instant::now();
            let proof = zkmlops_infer::prove(&compiled, x, chosen.backend, preset)?;
            let elapsed = t.elapsed();
            pb.finish_and_clear();
            if aggregate {
                let pb = spinner(quiet, "wrapping the proof (recursive aggregation)");
                let t = Instant::now();
                let agg = zkmlops_infer::wrap(&compiled.program, &proof.envelope, chosen.backend)?;
                let wrapping = t.elapsed();
                pb.finish_and_clear();
                io::write(&output, &agg.to_bytes())?;
                outln!(
                    "proved `{}` in {:.1} ms and wrapped it in {:.1} ms ({} {preset}, {} conjectured bits): {} proof bytes (the inner proof: {}), wrote {}",
                    compiled.name,
                    ms(elapsed),
                    ms(wrapping),
                    backend.backend,
                    agg.params.conjectured_security_bits,
                    agg.proof.len(),
                    proof.envelope.proof.len(),
                    output.display()
                );
            } else {
                io::write(&output, &format.encode(&proof.envelope, &output))?;
                outln!(
                    "proved `{}` in {:.1} ms ({} {preset}, {} conjectured bits): {} proof bytes, wrote {}",
                    compiled.name,
                    ms(elapsed),
                    backend.backend,
                    proof.envelope.params.conjectured_security_bits,
                    proof.envelope.proof.len(),
                    output.display()
                );
            }
            let classes = compiled.class_names();
            for (name, values) in compiled.output_names().iter().zip(&proof.outputs) {
                outln!("output {name} = {}", report::floats(values));
                if let Some(names) = classes.get(name) {
                    outln!(
                        "  {name} holds class indices: {}",
                        report::class_list(names)
                    );
                }
            }
            let statement = &proof.envelope.statement;
            match (
                statement.commitment_scheme.as_ref(),
                statement.commitments.first(),
            ) {
                (Some(s), _) if *s == zkmlops_commit::SCHEME => {
                    if let Some(d) = compiled.commitment() {
                        outln!("model commitment {d}");
                    }
                }
                // Another backend's scheme: its own digest, named.
                (Some(s), Some(c)) => {
                    outln!("model commitment {} ({s})", hex::encode(c.digest));
                }
                _ => {}
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            proof,
            model,
            settings,
            visibility,
            min_bits,
            commitment,
            json,
        } => {
            let compiled = load_model(&model, settings.as_deref(), visibility.as_deref())?;
            let published = commitment.as_deref().map(io::commitment).transpose()?;
            if let Some(p) = &published
                && p.program_digest != compiled.program.digest().to_string()
            {
                return Err(CliError::CommitmentProgram {
                    path: commitment.clone().unwrap_or_default(),
                });
            }
            let (file, file_bytes) = io::any_proof(&proof)?;
            let env = file.envelope().clone();
            if published.is_some()
                && let Some(found) = env.statement.commitment_scheme.as_ref()
                && *found != zkmlops_commit::SCHEME
            {
                return Err(CliError::CommitmentScheme {
                    path: commitment.clone().unwrap_or_default(),
                    published: zkmlops_commit::SCHEME.to_string(),
                    found: found.to_string(),
                });
            }
            let policy = VerifyPolicy {
                min_security_bits: min_bits,
                ..VerifyPolicy::default()
            };
            let t = Instant::now();
            let backend = backend_of(&registry, &env)?;
            let result = match &file {
                io::ProofFile::Single(env) => {
                    zkmlops_infer::verify(&compiled.program, env, backend, &policy)
                }
                io::ProofFile::Wrapped(agg, _) => {
                    zkmlops_infer::verify_wrapped(&compiled.program, agg, backend, &policy)
                }
            }
            .and_then(|v| match &published {
                Some(p) => v.check_commitment(&p.commitment).map(|()| v),
                None => Ok(v),
            });
            let elapsed = t.elapsed();
            match result {
                Ok(v) => {
                    let r = report::verified(
                        &compiled.name,
                        &v,
                        compiled.class_names(),
                        file_bytes,
                        ms(elapsed),
                    );
                    if json {
                        outln!("{}", report::json(&r));
                    } else {
                        report::print_verified(&r);
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) if json => {
                    let e = CliError::Rejected(e);
                    outln!("{}", report::json(&report::rejected(&e.sentence())));
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(CliError::Rejected(e)),
            }
        }
        Command::Commit {
            model,
            settings,
            output,
        } => {
            let mut s = io::settings(settings.as_deref())?;
            s.param_visibility = zkmlops_tensor::Visibility::Committed;
            let compiled = io::model(&model, &s)?;
            let (digest, salt) =
                compiled
                    .commitment()
                    .zip(compiled.salt())
                    .ok_or(CliError::NotCommitted {
                        path: model.clone(),
                    })?;
            let file = io::CommitmentFile {
                version: 1,
                model: compiled.name.clone(),
                program_digest: compiled.program.digest().to_string(),
                commitment: digest,
                salt: Some(salt),
            };
            io::write(&output, report::json(&file).as_bytes())?;
            outln!(
                "model commitment {digest} for `{}` (program digest {}); wrote {} — publish the commitment, keep the salt",
                compiled.name,
                file.program_digest,
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Inspect { proof, json } => {
            let bytes = io::read(&proof)?;
            if zkmlops_proof::is_stage_file(&bytes) {
                return stage_inspect(&proof, &bytes, json);
            }
            let (file, file_bytes) = io::any_proof_from(&proof, bytes)?;
            let mut r = report::inspect(file.envelope(), file_bytes);
            if let io::ProofFile::Wrapped(agg, _) = &file {
                r.aggregated_members = Some(agg.members.len());
            }
            if json {
                outln!("{}", report::json(&r));
            } else {
                report::print_inspect(&r);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Backends { json } => {
            let reports = backend::list(&registry);
            if json {
                outln!("{}", report::json(&reports));
            } else {
                backend::print(&reports);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Train(cmd) => train::train(cmd, &registry, quiet),
        Command::Preprocess(cmd) => preprocess::preprocess(cmd, &registry, quiet),
        Command::Eval(cmd) => train::eval(cmd, &registry, quiet),
        Command::Monitor(cmd) => monitor::monitor(cmd, &registry, quiet),
        Command::Pipeline(cmd) => pipeline::pipeline(cmd, &registry),
        Command::Bench(args) => bench::bench(&args, &registry, quiet),
        Command::BenchWorker { job } => Ok(bench::worker(&job, &registry)),
        Command::Fidelity { model, data, json } => {
            let compiled = io::model(&model, &Settings::default())?;
            let samples = io::samples(&data, &compiled.input_shapes())?;
            let pb = spinner(quiet, &format!("running {} samples", samples.len()));
            let float =
                FloatModel::with_shapes(&compiled.source()?, &compiled.input_shapes(), false)?;
            let r = fidelity(&compiled, &float, &samples)?;
            pb.finish_and_clear();
            if json {
                outln!("{}", report::json(&r));
            } else {
                report::print_fidelity(&r);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Exit status of a process whose standard output was closed by its reader (128 + SIGPIPE).
const BROKEN_PIPE_STATUS: i32 = 141;

/// Write to standard output; a closed pipe ends the process quietly ([`outln!`]), any other
/// write error is reported on standard error and ends it with a failure.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(BROKEN_PIPE_STATUS);
        }
        eprintln!("error: writing to standard output: {e}");
        std::process::exit(1);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `RUST_LOG=info` also times the provers' phases (each span's busy time when it closes).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(std::io::stderr)
        .init();
    zkmlops::plonky2::keys::set_key_cache_dir(key_cache_dir(cli.key_cache.as_deref()));
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", e.sentence());
            ExitCode::FAILURE
        }
    }
}

/// The plonky2 key directory: the flag, else `ZKMLOPS_KEY_CACHE`, else the user's cache
/// directory; `off` (or an empty value) keeps keys in memory only.
fn key_cache_dir(flag: Option<&str>) -> Option<PathBuf> {
    let chosen = flag
        .map(str::to_owned)
        .or_else(|| std::env::var("ZKMLOPS_KEY_CACHE").ok());
    match chosen.as_deref() {
        Some("off" | "") => None,
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|d| d.join("zkmlops").join("keys")),
    }
}

/// `inspect` of a binary stage file: its JSON form (`--json`), or a summary and each proof's
/// envelope.
fn stage_inspect(path: &std::path::Path, bytes: &[u8], json: bool) -> Result<ExitCode, CliError> {
    use zkmlops_proof::{StageFile, StageFileError, StageFileKind};
    fn show<T: StageFile>(
        path: &std::path::Path,
        bytes: &[u8],
        json: bool,
        envelopes: impl Fn(&T) -> Vec<&zkmlops_proof::ProofEnvelope>,
    ) -> Result<ExitCode, CliError> {
        let value = T::from_binary(bytes).map_err(|source| CliError::StageFile {
            path: path.into(),
            source,
        })?;
        if json {
            let text = value.to_json().map_err(|source| CliError::StageFile {
                path: path.into(),
                source,
            })?;
            outln!("{text}");
            return Ok(ExitCode::SUCCESS);
        }
        let envs = envelopes(&value);
        outln!(
            "{}: binary stage file v{} ({} bytes), {} proof envelope(s); `--json` prints the whole file",
            T::KIND,
            zkmlops_proof::STAGE_FILE_VERSION,
            bytes.len(),
            envs.len()
        );
        for env in envs {
            outln!();
            report::print_inspect(&report::inspect(env, env.to_bytes().len()));
        }
        Ok(ExitCode::SUCCESS)
    }
    let kind = zkmlops_proof::stage_file_kind(bytes).map_err(|source| CliError::StageFile {
        path: path.into(),
        source,
    })?;
    match kind {
        StageFileKind::Preprocessing => {
            show::<zkmlops_preprocess::PreprocessProof>(path, bytes, json, |p| vec![&p.envelope])
        }
        StageFileKind::TrainingTranscript => {
            show::<zkmlops_train::TrainingTranscript>(path, bytes, json, |t| {
                if let Some(a) = &t.aggregate {
                    outln!(
                        "an aggregated proof of {} segments: {} bytes",
                        a.members.len(),
                        a.proof.len()
                    );
                }
                t.segments.iter().collect()
            })
        }
        StageFileKind::Metrics => {
            show::<zkmlops_train::MetricsProof>(path, bytes, json, |m| vec![&m.envelope])
        }
        StageFileKind::Prediction => {
            show::<zkmlops_train::PredictionProof>(path, bytes, json, |m| vec![&m.envelope])
        }
        StageFileKind::Monitoring => {
            show::<zkmlops_monitor::MonitorProof>(path, bytes, json, |m| vec![&m.envelope])
        }
        other => Err(CliError::StageFile {
            path: path.into(),
            source: StageFileError::UnknownKind { code: other.code() },
        }),
    }
}
