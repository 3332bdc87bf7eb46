//! Picking a backend and preset from the registry (`--backend NAME --preset NAME`), and
//! `zkmlops backends`.

use clap::Args;
use serde::Serialize;
use zkmlops_proof::{Backend, PresetInfo, Registry};

use crate::error::CliError;

/// `--backend NAME [--preset NAME]`, shared by every command that proves.
#[derive(Args, Debug, Clone)]
pub(crate) struct BackendArgs {
    /// Proving backend (`zkmlops backends` lists them).
    #[arg(long, default_value = "fri")]
    pub(crate) backend: String,
    /// The backend's preset (`zkmlops backends` lists them); by default the backend's first
    /// preset that is hiding or transparent as the command's `--zk`/`--transparent` (or its
    /// default) asks.
    #[arg(long)]
    pub(crate) preset: Option<String>,
}

/// A backend and one of its presets.
pub(crate) struct Chosen<'r> {
    pub(crate) backend: &'r dyn Backend,
    pub(crate) preset: PresetInfo,
}

impl BackendArgs {
    /// Look the backend and preset up. `zero_knowledge` is what the command asks for: an
    /// explicit `--preset` must agree with it when the user asked explicitly (`explicit`).
    pub(crate) fn choose<'r>(
        &self,
        registry: &'r Registry,
        zero_knowledge: bool,
        explicit: bool,
    ) -> Result<Chosen<'r>, CliError> {
        let backend = registry.get(&self.backend).map_err(CliError::Registry)?;
        let name = match &self.preset {
            Some(p) => p.clone(),
            None => backend.default_preset(zero_knowledge),
        };
        let preset = backend.preset(&name).map_err(CliError::Preset)?;
        if (explicit || self.preset.is_none())
            && preset.capabilities.zero_knowledge != zero_knowledge
        {
            return Err(CliError::PresetHiding {
                backend: self.backend.clone(),
                preset: preset.name,
                wanted: zero_knowledge,
            });
        }
        Ok(Chosen { backend, preset })
    }
}

/// One backend as `zkmlops backends --json` prints it.
#[derive(Serialize)]
pub(crate) struct BackendReport {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) presets: Vec<PresetInfo>,
}

/// Every registered backend with its presets and capabilities.
pub(crate) fn list(registry: &Registry) -> Vec<BackendReport> {
    registry
        .iter()
        .map(|b| BackendReport {
            id: b.id().to_string(),
            description: b.description(),
            presets: b.presets(),
        })
        .collect()
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The human-readable listing.
pub(crate) fn print(reports: &[BackendReport]) {
    for r in reports {
        outln!("{}: {}", r.id, r.description);
        for p in &r.presets {
            let c = &p.capabilities;
            let ops = match &c.ops {
                zkmlops_proof::OpSupport::All => "all ops".to_string(),
                zkmlops_proof::OpSupport::AllBut(v) => format!("all ops but: {}", v.join(" ")),
                zkmlops_proof::OpSupport::Only(v) => format!("ops: {}", v.join(" ")),
            };
            outln!("  --preset {}: {}", p.name, p.description);
            outln!(
                "      field {}, hash {}, commitments {}, transparent {}, post-quantum {}, zero knowledge {}, aggregation {}, {ops}",
                c.field,
                c.hash,
                c.commitment_scheme
                    .as_ref()
                    .map_or_else(|| "unsupported".to_string(), ToString::to_string),
                yes(c.transparent),
                yes(c.post_quantum),
                yes(c.zero_knowledge),
                yes(c.aggregation),
            );
        }
    }
}
