//! `zkmlops pipeline verify`: audit a whole lifecycle from its manifest (docs/lifecycle.md).

use std::path::PathBuf;

use clap::Subcommand;
use zkmlops_pipeline::{Audit, Manifest, audit};
use zkmlops_proof::{Registry, VerifyPolicy};

use crate::error::CliError;
use crate::io;

#[derive(Subcommand)]
pub(crate) enum PipelineCommand {
    /// Verify every stage proof a manifest lists and every commitment link between them;
    /// print what each stage proved. Exit code 0 when everything holds, 1 otherwise.
    Verify {
        /// The manifest (TOML; paths in it are relative to its directory).
        manifest: PathBuf,
        /// Print the audit as one JSON document.
        #[arg(long)]
        json: bool,
        /// Also write the audit as an HTML page.
        #[arg(long, value_name = "report.html")]
        report: Option<PathBuf>,
        /// Minimum conjectured security in bits of every proof.
        #[arg(long, default_value_t = 100)]
        min_bits: u16,
        /// Check the stages against this aggregate (`zkmlops pipeline aggregate`): one proof
        /// verified instead of each stage's own.
        #[arg(long, value_name = "pipeline.agg")]
        aggregate: Option<PathBuf>,
    },
    /// Fold every stage proof of a manifest into one aggregated proof (a backend that
    /// aggregates: `--backend plonky2`, with every stage proved by it, training runs segment by
    /// segment); `pipeline verify --aggregate` then checks the chain against it.
    Aggregate {
        /// The manifest.
        manifest: PathBuf,
        /// The aggregating backend.
        #[arg(long, default_value = "plonky2")]
        backend: String,
        /// The aggregate (binary envelope, `ZKMA`).
        #[arg(short, long, value_name = "pipeline.agg")]
        output: PathBuf,
    },
}

fn manifest_of(path: &std::path::Path) -> Result<(Manifest, PathBuf), CliError> {
    let text = String::from_utf8_lossy(&io::read(path)?).into_owned();
    let m = Manifest::from_toml(&text).map_err(|e| CliError::Pipeline {
        path: path.to_path_buf(),
        what: e.to_string(),
    })?;
    let base = path
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf);
    Ok((m, base))
}

pub(crate) fn pipeline(
    cmd: PipelineCommand,
    registry: &Registry,
) -> Result<std::process::ExitCode, CliError> {
    match cmd {
        PipelineCommand::Aggregate {
            manifest,
            backend,
            output,
        } => {
            let (m, base) = manifest_of(&manifest)?;
            let b = registry.get(&backend).map_err(CliError::Registry)?;
            let t = std::time::Instant::now();
            let agg =
                zkmlops_pipeline::aggregate(&m, &base, b).map_err(|e| CliError::Pipeline {
                    path: manifest.clone(),
                    what: e.to_string(),
                })?;
            let bytes = agg.to_bytes();
            io::write(&output, &bytes)?;
            outln!(
                "folded {} proofs of {} stages into one {} aggregate of {} bytes in {:.1} s; wrote {}",
                agg.members.len(),
                m.stages.len(),
                agg.backend,
                agg.proof.len(),
                t.elapsed().as_secs_f64(),
                output.display()
            );
            Ok(std::process::ExitCode::SUCCESS)
        }
        PipelineCommand::Verify {
            manifest,
            json,
            report,
            min_bits,
            aggregate,
        } => {
            let (m, base) = manifest_of(&manifest)?;
            let policy = VerifyPolicy {
                min_security_bits: min_bits,
                ..VerifyPolicy::default()
            };
            let a = match &aggregate {
                None => audit(&m, &base, registry, &policy),
                Some(path) => {
                    let agg = zkmlops_proof::AggregateEnvelope::from_bytes(&io::read(path)?)
                        .map_err(|e| CliError::Pipeline {
                            path: path.clone(),
                            what: e.to_string(),
                        })?;
                    zkmlops_pipeline::audit_aggregated(&m, &base, registry, &agg, &policy)
                }
            };
            if let Some(path) = &report {
                io::write(path, a.to_html().as_bytes())?;
            }
            if json {
                outln!("{}", crate::report::json(&a));
            } else {
                print(&a);
                if let Some(path) = &report {
                    outln!("wrote {}", path.display());
                }
            }
            Ok(if a.verified {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
    }
}

fn print(a: &Audit) {
    if let Some(n) = &a.name {
        outln!("pipeline `{n}`");
    }
    for s in &a.stages {
        if s.verified {
            outln!(
                "stage {} ({}): verified [{} {}, {} bits, zk {}, post-quantum {}]\n  proves: {}",
                s.name,
                s.kind.name(),
                s.backend.as_deref().unwrap_or("-"),
                s.preset.as_deref().unwrap_or("-"),
                s.security_bits.map_or("-".into(), |b| b.to_string()),
                s.zero_knowledge
                    .map_or("-", |v| if v { "yes" } else { "no" }),
                s.post_quantum.map_or("-", |v| if v { "yes" } else { "no" }),
                s.proves
            );
            for (port, c) in &s.commitments {
                outln!("  {port} {c}");
            }
        } else {
            outln!(
                "stage {} ({}): REJECTED: {}",
                s.name,
                s.kind.name(),
                s.error.as_deref().unwrap_or("")
            );
        }
    }
    for l in &a.links {
        outln!(
            "link {} -> {}: {}",
            l.from,
            l.to,
            if l.ok {
                "holds".to_string()
            } else {
                format!("BROKEN ({})", l.detail)
            }
        );
    }
    if !a.unlinked.is_empty() {
        outln!("not linked to the chain: {}", a.unlinked.join(", "));
    }
    if a.verified {
        outln!(
            "verified: {} stages, {} links",
            a.stages.len(),
            a.links.len()
        );
    } else {
        outln!("NOT VERIFIED: {}", a.failures().join("; "));
    }
}
