//! One proof measured through the boundary, for the backends' benchmark examples (the same
//! Program, e.g. [`crate::cases::mlp`], on every backend).

use std::time::Instant;

use zkmlops_proof::{Backend, ProveError, StageTag, VerifyError, VerifyPolicy};
use zkmlops_tensor::{Program, Witness};

/// What one prove and verify took.
#[derive(Debug, Clone, PartialEq)]
pub struct Measured {
    /// Prove time, milliseconds.
    pub prove_ms: f64,
    /// Verify time, milliseconds (the backend's caches warm from proving).
    pub verify_ms: f64,
    /// Bytes of the backend's proof.
    pub proof_bytes: usize,
    /// Bytes of the binary envelope (proof, statement, parameters).
    pub envelope_bytes: usize,
    /// Conjectured security bits the envelope claims.
    pub security_bits: u16,
    /// Whether the envelope claims post-quantum security.
    pub post_quantum: bool,
    /// The process's peak resident memory so far, MB (`VmHWM`; 0 where unavailable).
    pub peak_rss_mb: f64,
}

/// Why a measurement failed.
#[derive(Debug, thiserror::Error)]
pub enum MeasureError {
    /// Proving failed.
    #[error("prove: {0}")]
    Prove(#[from] ProveError),
    /// The proof did not verify.
    #[error("verify: {0}")]
    Verify(#[from] VerifyError),
}

/// Prove `witness` of `program` with `backend`'s `preset` (stage inference), verify it, and
/// measure both.
///
/// # Errors
/// [`MeasureError`] when proving or verifying fails.
pub fn measure(
    backend: &dyn Backend,
    preset: &str,
    program: &Program,
    witness: &Witness,
) -> Result<Measured, MeasureError> {
    let t = Instant::now();
    let env = backend.prove(program, witness, StageTag::Inference, preset)?;
    let prove_ms = t.elapsed().as_secs_f64() * 1e3;
    let t = Instant::now();
    let verified = backend.verify(program, &env, &VerifyPolicy::default())?;
    let verify_ms = t.elapsed().as_secs_f64() * 1e3;
    Ok(Measured {
        prove_ms,
        verify_ms,
        proof_bytes: env.proof.len(),
        envelope_bytes: env.to_bytes().len(),
        security_bits: verified.params.conjectured_security_bits,
        post_quantum: verified.params.post_quantum,
        peak_rss_mb: peak_rss_mb(),
    })
}

/// The process's peak resident memory, MB (`VmHWM` of `/proc/self/status`; 0 elsewhere).
#[must_use]
pub fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

impl Measured {
    /// The measurement as JSON fields (no braces), for one-line reports.
    #[must_use]
    pub fn json_fields(&self) -> String {
        format!(
            "\"prove_ms\":{:.1},\"verify_ms\":{:.1},\"proof_bytes\":{},\"envelope_bytes\":{},\"security_bits\":{},\"post_quantum\":{},\"peak_rss_mb\":{:.1}",
            self.prove_ms,
            self.verify_ms,
            self.proof_bytes,
            self.envelope_bytes,
            self.security_bits,
            self.post_quantum,
            self.peak_rss_mb
        )
    }
}

/// The value after `--name` in `args`.
#[must_use]
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The benchmark MLP of the command line: `--dims` (comma-separated widths, default
/// `64,256,256,10`, the 84K-MAC MLP) and `--weight-bits` (the weights' declared bound), weights
/// of visibility `weights`. Returns the widths, the case and its MAC count.
///
/// # Errors
/// A message for an unparsable argument or widths that do not build.
pub fn mlp_from_args(
    args: &[String],
    weights: zkmlops_tensor::Visibility,
) -> Result<(Vec<usize>, crate::Case, usize), String> {
    let dims = arg(args, "--dims")
        .unwrap_or_else(|| "64,256,256,10".into())
        .split(',')
        .map(|d| d.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("--dims takes comma-separated widths: {e}"))?;
    let weight_bits = arg(args, "--weight-bits")
        .map(|b| b.parse::<u8>())
        .transpose()
        .map_err(|e| format!("--weight-bits takes a number: {e}"))?;
    let (case, macs) = crate::cases::mlp(&dims, weight_bits, weights).map_err(|e| e.to_string())?;
    Ok((dims, case, macs))
}
