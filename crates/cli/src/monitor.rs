//! `zkmlops monitor prove|verify`: online metrics over a committed production log
//! (docs/lifecycle.md, step 6).

use std::path::{Path, PathBuf};

use clap::Subcommand;
use zkmlops_monitor::{
    MonitorError, MonitorProof, MonitorReport, MonitorSecrets, MonitorSpec, ProductionLog,
    Reference, prove_monitor,
};
use zkmlops_preprocess::PreprocessProof;
use zkmlops_proof::{Registry, StageFileKind, VerifyPolicy};
use zkmlops_train::TrainingTranscript;

use crate::backend::BackendArgs;
use crate::error::CliError;
use crate::io;
use crate::train::{final_salt, linear_run, read_json, salt, verifier, write_json};

#[derive(Subcommand)]
pub(crate) enum MonitorCommand {
    /// Prove the figures of a production log (count, positive predictions, accuracy where
    /// labels arrived, the group's rates, per-feature mean, variance and histogram) for a
    /// training run's final model, with drift measured against the training split's profile
    /// that `--prep`'s proof publishes; writes the proof and, beside it, the log's salt
    /// (`*.secrets.json`, the operator's).
    Prove {
        /// The training run (its final model and salt).
        #[arg(long, value_name = "run/")]
        run: PathBuf,
        /// The production log: CSV, the model's features, then optional `label` (0, 1 or
        /// empty: not arrived) and `group` (0/1) columns.
        #[arg(long, value_name = "log.csv")]
        log: PathBuf,
        /// The preprocessing proof (directory or proof.json) of the model's training split:
        /// its published profile (pipeline `output.profile_edges`) is the drift reference and
        /// fixes the histogram edges.
        #[arg(long, value_name = "prep/")]
        prep: Option<PathBuf>,
        /// Histogram edges in the features' units, when there is no `--prep` profile.
        #[arg(
            long,
            value_delimiter = ',',
            allow_hyphen_values = true,
            default_value = "-1,-0.5,0,0.5,1"
        )]
        edges: Vec<f64>,
        /// Reuse this log salt (a JSON array of 4 integers) so the log commitment is the one
        /// already published; a fresh salt when absent.
        #[arg(long, value_name = "salt.json")]
        log_salt: Option<PathBuf>,
        /// A transparent preset (the default hides the log: zero knowledge).
        #[arg(long)]
        transparent: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// The monitoring proof (binary; JSON when the name ends in `.json`).
        #[arg(short, long, value_name = "monitor.zkp")]
        output: PathBuf,
        /// The proof file's form: `auto` (JSON for a `.json` name, binary otherwise), `binary`
        /// or `json` (the proof in hex, twice the bytes). `verify` reads either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Verify a monitoring proof and print its report; with `--run`, that the model is the
    /// run's final model; with `--prep`, that the reference is the processed training split.
    Verify {
        /// The monitoring proof.
        proof: PathBuf,
        /// A run directory whose final commitment the model must be.
        #[arg(long, value_name = "run/")]
        run: Option<PathBuf>,
        /// A preprocessing directory (or its proof.json) whose train commitment the reference
        /// must be.
        #[arg(long, value_name = "prep/")]
        prep: Option<PathBuf>,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

fn err(e: MonitorError) -> CliError {
    CliError::Monitor {
        source: Box::new(e),
    }
}

/// `monitor.zkp` (or `monitor.json`) -> `monitor.secrets.json`.
fn secrets_path(output: &Path) -> PathBuf {
    let stem = output
        .file_stem()
        .map_or_else(|| "monitor".into(), |s| s.to_string_lossy().into_owned());
    output.with_file_name(format!("{stem}.secrets.json"))
}

pub(crate) fn monitor(
    cmd: MonitorCommand,
    registry: &Registry,
    quiet: bool,
) -> Result<std::process::ExitCode, CliError> {
    match cmd {
        MonitorCommand::Prove {
            run,
            log,
            prep,
            edges,
            log_salt,
            transparent,
            backend,
            output,
            format,
        } => {
            let chosen = backend.choose(registry, !transparent, transparent)?;
            let (spec, model) = linear_run(
                &run,
                "monitoring proofs are built for logistic-regression models",
            )?;
            let text = String::from_utf8_lossy(&io::read(&log)?).into_owned();
            let production = ProductionLog::from_csv(&text, spec.features).map_err(|e| {
                CliError::MonitorLog {
                    path: log.clone(),
                    source: Box::new(e),
                }
            })?;
            let reference = match &prep {
                None => None,
                Some(dir) => {
                    let path = zkmlops_proof::stage_path(dir, StageFileKind::Preprocessing);
                    let pp: PreprocessProof = io::read_stage(&path)?;
                    let profile = pp.profile.ok_or_else(|| CliError::Pipeline {
                        path: path.clone(),
                        what: "this preprocessing proof publishes no profile of the training split (add `profile_edges` to the pipeline's output)".into(),
                    })?;
                    Some(Reference {
                        commitment: pp.train_commitment,
                        profile,
                    })
                }
            };
            let monitor_spec =
                MonitorSpec::new(spec, production.len(), &edges, reference).map_err(err)?;
            let log_salt = match &log_salt {
                Some(p) => read_json(p)?,
                None => salt()?,
            };
            let secrets = MonitorSecrets {
                model: &model,
                model_salt: &final_salt(&run)?,
                log: &production,
                log_salt: &log_salt,
            };
            let pb = crate::spinner(
                quiet,
                &format!("proving the figures of {} logged rows", production.len()),
            );
            let t = std::time::Instant::now();
            let proof = prove_monitor(&monitor_spec, &secrets, chosen.backend, &chosen.preset.name)
                .map_err(err)?;
            pb.finish_and_clear();
            let output = io::write_stage(&output, &proof, format)?;
            let secrets_file = secrets_path(&output);
            write_json(&secrets_file, &serde_json::json!({ "log_salt": log_salt }))?;
            let report = MonitorReport::new(&proof.spec, &proof.figures);
            outln!(
                "proved in {:.2} s: {} rows, {} predicted positive, {} / {} labeled correct; drift in features {:?}\nlog {}\nwrote {} (publish it; keep {})",
                t.elapsed().as_secs_f64(),
                report.rows,
                report.positives,
                report.correct,
                report.labeled,
                report.drifted,
                proof.log_commitment,
                output.display(),
                secrets_file.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        MonitorCommand::Verify {
            proof,
            run,
            prep,
            json,
        } => {
            let p: MonitorProof = io::read_stage(&proof)?;
            let mut result = p
                .verify(
                    verifier(registry, Some(&p.envelope))?,
                    &VerifyPolicy::default(),
                )
                .map_err(|e| e.to_string());
            if let (Ok(_), Some(run)) = (&result, &run) {
                let t: TrainingTranscript = io::read_stage(run)?;
                if t.final_commitment != p.model_commitment {
                    result = Err("the monitored model is not the run's final model".into());
                }
            }
            if let (Ok(_), Some(prep)) = (&result, &prep) {
                let pp: PreprocessProof = io::read_stage(prep)?;
                if let Err(e) = pp.verify(
                    verifier(registry, Some(&pp.envelope))?,
                    &VerifyPolicy::default(),
                ) {
                    result = Err(format!("the preprocessing proof does not verify: {e}"));
                } else if !reference_is(&p, &pp) {
                    result = Err(
                        "the drift reference is not the preprocessing proof's training-split profile"
                            .into(),
                    );
                }
            }
            if json {
                outln!(
                    "{}",
                    crate::report::json(&serde_json::json!({
                        "report_version": crate::report::REPORT_VERSION,
                        "verified": result.is_ok(),
                        "error": result.as_ref().err(),
                        "log_commitment": p.log_commitment,
                        "model_commitment": p.model_commitment,
                        "reference_commitment": p.spec.reference.as_ref().map(|r| r.commitment),
                        "report": result.as_ref().ok(),
                    }))
                );
                return Ok(if result.is_ok() {
                    std::process::ExitCode::SUCCESS
                } else {
                    std::process::ExitCode::FAILURE
                });
            }
            let report = result.map_err(|what| CliError::RunRejected { what })?;
            print_report(&report, &p);
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}

/// Whether a monitoring proof's drift reference is a preprocessing proof's training-split
/// profile (same commitment, same figures).
pub(crate) fn reference_is(m: &MonitorProof, p: &PreprocessProof) -> bool {
    m.spec.reference.as_ref().is_some_and(|r| {
        r.commitment == p.train_commitment && Some(&r.profile) == p.profile.as_ref()
    })
}

fn print_report(r: &MonitorReport, p: &MonitorProof) {
    outln!(
        "verified: {} logged rows of model {} (log {})",
        r.rows,
        p.model_commitment,
        p.log_commitment
    );
    outln!(
        "predicted positive: {} ({:.3})",
        r.positives,
        r.positive_rate
    );
    match r.accuracy {
        Some(a) => outln!(
            "accuracy where labels arrived: {} / {} ({a:.3})",
            r.correct,
            r.labeled
        ),
        None => outln!("accuracy: no label has arrived"),
    }
    outln!(
        "group: {} rows, {} predicted positive; positive-rate gap {}",
        r.group_rows,
        r.group_positives,
        r.positive_rate_gap
            .map_or("undefined (an empty side)".into(), |g| format!("{g:.3}"))
    );
    match &r.reference_commitment {
        Some(c) => outln!(
            "drift against the training split {c} (edges {:?}; PSI above {} flagged):",
            r.edges,
            zkmlops_monitor::PSI_ALERT
        ),
        None => outln!("feature profile (no drift reference; edges {:?}):", r.edges),
    }
    let num = |v: Option<f64>, f: fn(f64) -> String| v.map_or("-".into(), f);
    for f in &r.features {
        outln!(
            "  feature {}: mean {:.3} vs {} (shift {} sd), sd {:.3} vs {}, PSI {}{}",
            f.feature,
            f.log_mean,
            num(f.reference_mean, |v| format!("{v:.3}")),
            num(f.mean_shift, |v| format!("{v:+.2}")),
            f.log_std,
            num(f.reference_std, |v| format!("{v:.3}")),
            num(f.psi, |v| format!("{v:.3}")),
            if f.drifted { "  DRIFT" } else { "" }
        );
    }
}
