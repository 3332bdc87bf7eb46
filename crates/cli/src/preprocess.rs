//! `zkmlops preprocess prove|verify`.

use std::path::PathBuf;

use clap::Subcommand;
use zkmlops_preprocess::{Pipeline, PreprocessProof, RawTable, Salts, prove};
use zkmlops_proof::VerifyPolicy;

use crate::backend::BackendArgs;
use crate::error::CliError;
use crate::io;
use crate::train::{verifier, write_json};

#[derive(Subcommand)]
pub(crate) enum PreprocessCommand {
    /// Write a pipeline skeleton for a raw CSV: per-column scales chosen from the data (the
    /// largest that keeps every value and the standardized variance inside the proof's
    /// limits), nullable columns imputed, integer columns with few values one-hot encoded, the
    /// rest standardized, a test split and a training profile.
    Init {
        /// The raw table (CSV with a header; quoted fields allowed).
        #[arg(long, value_name = "raw.csv")]
        data: PathBuf,
        /// The label column (the last one when absent).
        #[arg(long)]
        label: Option<String>,
        /// Fraction of the rows (the last ones) kept as the test split.
        #[arg(long, default_value_t = 0.2)]
        test_fraction: f64,
        /// The pipeline file to write.
        #[arg(short, long, value_name = "pipeline.toml")]
        output: PathBuf,
    },
    /// Run a pipeline on a raw CSV and prove it; writes `proof.json` (public), `train.csv`,
    /// `test.csv` and `secrets.json` (the owner's) into the output directory.
    Prove {
        /// The pipeline (TOML, see docs/lifecycle.md).
        #[arg(long, value_name = "pipeline.toml")]
        pipeline: PathBuf,
        /// The raw table: CSV whose header is the pipeline's columns.
        #[arg(long, value_name = "raw.csv")]
        data: PathBuf,
        /// A transparent preset (the default hides the rows: zero knowledge).
        #[arg(long)]
        transparent: bool,
        #[command(flatten)]
        backend: BackendArgs,
        /// Output directory.
        #[arg(short, long, value_name = "prep/")]
        output: PathBuf,
        /// The proof file's form: binary `proof.zkp` (`auto`, `binary`) or `proof.json` (`json`:
        /// the proof in hex, twice the bytes). `verify` reads either.
        #[arg(long, value_enum, default_value = "auto")]
        format: io::ProofFormat,
    },
    /// Verify a preprocessing proof (a directory, or its `proof.zkp` / `proof.json`).
    Verify {
        /// The proof directory or file.
        proof: PathBuf,
        /// Print one JSON document.
        #[arg(long)]
        json: bool,
    },
}

fn err(e: zkmlops_preprocess::PreprocessError) -> CliError {
    CliError::Preprocess {
        source: Box::new(e),
    }
}

pub(crate) fn preprocess(
    cmd: PreprocessCommand,
    registry: &zkmlops_proof::Registry,
    quiet: bool,
) -> Result<std::process::ExitCode, CliError> {
    match cmd {
        PreprocessCommand::Init {
            data,
            label,
            test_fraction,
            output,
        } => {
            let text = String::from_utf8_lossy(&io::read(&data)?).into_owned();
            let options = zkmlops_preprocess::InitOptions {
                label,
                test_fraction,
                ..zkmlops_preprocess::InitOptions::default()
            };
            let (toml, choices) =
                zkmlops_preprocess::init_pipeline(&text, &options).map_err(err)?;
            io::write(&output, toml.as_bytes())?;
            for c in &choices {
                outln!(
                    "{:<24} {:<12} scale 2^{:<2}{} ({})",
                    c.name,
                    c.role,
                    c.scale_bits,
                    if c.nullable { " nullable" } else { "" },
                    c.reason
                );
            }
            outln!(
                "wrote {} (review it, then `zkmlops preprocess prove --pipeline {}`)",
                output.display(),
                output.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PreprocessCommand::Prove {
            pipeline,
            data,
            transparent,
            backend,
            output,
            format,
        } => {
            let chosen = backend.choose(registry, !transparent, transparent)?;
            let text = String::from_utf8_lossy(&io::read(&pipeline)?).into_owned();
            let spec: Pipeline = toml::from_str(&text).map_err(|e| CliError::Pipeline {
                path: pipeline.clone(),
                what: e.message().to_string(),
            })?;
            let raw = String::from_utf8_lossy(&io::read(&data)?).into_owned();
            let table = RawTable::from_csv(&spec, &raw).map_err(err)?;
            let salts = Salts::fresh().map_err(err)?;
            let pb = crate::spinner(
                quiet,
                &format!("proving {} steps on {} rows", spec.steps.len(), table.rows),
            );
            let t = std::time::Instant::now();
            let (proof, processed) =
                prove(&spec, &table, &salts, chosen.backend, &chosen.preset.name).map_err(err)?;
            pb.finish_and_clear();
            std::fs::create_dir_all(&output).map_err(|source| CliError::Write {
                path: output.clone(),
                source,
            })?;
            let proof_path = io::write_stage(&output, &proof, format)?;
            write_json(&output.join("secrets.json"), &salts)?;
            let features = &spec.output.features;
            io::write(
                &output.join("train.csv"),
                processed.train.to_csv(features).map_err(err)?.as_bytes(),
            )?;
            if let Some(test) = &processed.test {
                io::write(
                    &output.join("test.csv"),
                    test.to_csv(features).map_err(err)?.as_bytes(),
                )?;
            }
            outln!(
                "proved in {:.2} s: {} raw rows -> {} train + {} test rows\nraw {}\ntrain {}{}\nwrote {} (publish {}; keep train.csv, test.csv and secrets.json)",
                t.elapsed().as_secs_f64(),
                proof.rows,
                proof.train_rows,
                proof.test_rows,
                proof.raw_commitment,
                proof.train_commitment,
                proof
                    .test_commitment
                    .map_or(String::new(), |d| format!("\ntest {d}")),
                output.display(),
                io::file_name(&proof_path)
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PreprocessCommand::Verify { proof, json } => {
            let p: PreprocessProof = io::read_stage(&proof)?;
            let v = p
                .verify(
                    verifier(registry, Some(&p.envelope))?,
                    &VerifyPolicy::default(),
                )
                .map_err(err)?;
            if json {
                let stats: Vec<_> = v
                    .stats
                    .iter()
                    .map(|s| {
                        serde_json::json!({"step": s.step, "column": s.column, "stat": s.stat, "value": s.real()})
                    })
                    .collect();
                outln!(
                    "{}",
                    crate::report::json(&serde_json::json!({
                        "verified": true,
                        "raw_commitment": v.raw_commitment,
                        "train_commitment": v.train_commitment,
                        "train_rows": v.train_layout.rows,
                        "test_commitment": v.test.map(|(d, _)| d),
                        "test_rows": v.test.map_or(0, |(_, l)| l.rows),
                        "kept": p.kept,
                        "stats": stats,
                    }))
                );
            } else {
                outln!(
                    "verified: {} raw rows -> {} train + {} test rows ({} features, {} label columns, scale 2^{})\nraw {}\ntrain {}",
                    p.rows,
                    v.train_layout.rows,
                    v.test.map_or(0, |(_, l)| l.rows),
                    v.train_layout.features,
                    v.train_layout.labels,
                    v.train_layout.scale_bits,
                    v.raw_commitment,
                    v.train_commitment
                );
                if let Some((d, _)) = v.test {
                    outln!("test {d}");
                }
                for s in &v.stats {
                    outln!(
                        "{} of {} (step {}): {}",
                        s.stat.name(),
                        s.column,
                        s.step,
                        s.real()
                    );
                }
            }
            Ok(std::process::ExitCode::SUCCESS)
        }
    }
}
