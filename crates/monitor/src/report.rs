//! What a verified monitoring proof says, in real numbers: computed by the verifier from the
//! proved integer figures only.

use serde::{Deserialize, Serialize};

use crate::{MonitorFigures, MonitorSpec};

/// The population stability index above which a feature is reported as drifted (the usual
/// rule of thumb: below 0.1 stable, 0.1-0.2 moderate, above 0.2 a significant shift).
pub const PSI_ALERT: f64 = 0.2;

/// Smallest bin proportion used in the index (empty bins would make it infinite).
const PSI_FLOOR: f64 = 1e-4;

/// The population stability index of `actual` against `expected` bin counts:
/// `sum_k (a_k - e_k) ln(a_k / e_k)` over the bin proportions (each floored at `1e-4`).
/// `None` when either side has no rows or the bin counts differ in number.
#[must_use]
pub fn psi(expected: &[i64], actual: &[i64]) -> Option<f64> {
    let te: i64 = expected.iter().sum();
    let ta: i64 = actual.iter().sum();
    if te <= 0 || ta <= 0 || expected.len() != actual.len() {
        return None;
    }
    Some(
        expected
            .iter()
            .zip(actual)
            .map(|(&e, &a)| {
                let e = (e as f64 / te as f64).max(PSI_FLOOR);
                let a = (a as f64 / ta as f64).max(PSI_FLOOR);
                (a - e) * (a / e).ln()
            })
            .sum(),
    )
}

/// Drift of one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureDrift {
    /// The feature's index (0-based, the model's input order).
    pub feature: usize,
    /// Mean over the log.
    pub log_mean: f64,
    /// Mean over the reference (training) data (`None` without a reference).
    pub reference_mean: Option<f64>,
    /// Standard deviation over the log.
    pub log_std: f64,
    /// Standard deviation over the reference data.
    pub reference_std: Option<f64>,
    /// `(log_mean - reference_mean) / reference_std` (`None` for a constant reference).
    pub mean_shift: Option<f64>,
    /// Bin counts of the log (one more than the edges).
    pub log_bins: Vec<i64>,
    /// Bin counts of the reference data.
    pub reference_bins: Option<Vec<i64>>,
    /// Population stability index of the log against the reference.
    pub psi: Option<f64>,
    /// `psi > PSI_ALERT`.
    pub drifted: bool,
}

/// The report of a verified monitoring proof.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorReport {
    /// Log rows.
    pub rows: usize,
    /// Rows predicted positive.
    pub positives: i64,
    /// `positives / rows`.
    pub positive_rate: f64,
    /// Rows whose label arrived.
    pub labeled: i64,
    /// Correct predictions among them.
    pub correct: i64,
    /// `correct / labeled` (`None` before any label arrived).
    pub accuracy: Option<f64>,
    /// Rows in the group.
    pub group_rows: i64,
    /// Positive predictions in the group.
    pub group_positives: i64,
    /// The group's positive rate minus the other rows' (`None` when either is empty).
    pub positive_rate_gap: Option<f64>,
    /// Histogram edges (real numbers).
    pub edges: Vec<f64>,
    /// The training split the drift is measured against (`None`: no reference).
    pub reference_commitment: Option<zkmlops_commit::Digest>,
    /// Per-feature drift.
    pub features: Vec<FeatureDrift>,
    /// Features whose index exceeds [`PSI_ALERT`].
    pub drifted: Vec<usize>,
}

impl MonitorReport {
    /// The report of proved `figures` under `spec` (drift against `spec.reference`).
    #[must_use]
    pub fn new(spec: &MonitorSpec, f: &MonitorFigures) -> Self {
        let rows = i64::try_from(spec.rows).unwrap_or(i64::MAX);
        let ratio = |a: i64, b: i64| (b > 0).then(|| a as f64 / b as f64);
        let positive_rate_gap = match (
            ratio(f.group_positives, f.group_rows),
            ratio(f.positives - f.group_positives, rows - f.group_rows),
        ) {
            (Some(g), Some(o)) => Some(g - o),
            _ => None,
        };
        let reference = spec.reference.as_ref().map(|r| &r.profile);
        let features: Vec<FeatureDrift> = (0..spec.model.features)
            .map(|k| {
                let log_bins = f.log.bins(k);
                let log_mean = f.log.real_mean(k);
                let (reference_mean, reference_std, reference_bins) = match reference {
                    Some(r) => (Some(r.real_mean(k)), Some(r.real_std(k)), Some(r.bins(k))),
                    None => (None, None, None),
                };
                let psi = reference_bins.as_deref().and_then(|r| psi(r, &log_bins));
                FeatureDrift {
                    feature: k,
                    log_mean,
                    reference_mean,
                    log_std: f.log.real_std(k),
                    reference_std,
                    mean_shift: match (reference_mean, reference_std) {
                        (Some(m), Some(sd)) if sd > 0.0 => Some((log_mean - m) / sd),
                        _ => None,
                    },
                    log_bins,
                    reference_bins,
                    psi,
                    drifted: psi.is_some_and(|p| p > PSI_ALERT),
                }
            })
            .collect();
        MonitorReport {
            rows: spec.rows,
            positives: f.positives,
            positive_rate: ratio(f.positives, rows).unwrap_or(0.0),
            labeled: f.labeled,
            correct: f.labeled - f.wrong,
            accuracy: ratio(f.labeled - f.wrong, f.labeled),
            group_rows: f.group_rows,
            group_positives: f.group_positives,
            positive_rate_gap,
            edges: f.log.real_edges(),
            reference_commitment: spec.reference.as_ref().map(|r| r.commitment),
            drifted: features
                .iter()
                .filter(|d| d.drifted)
                .map(|d| d.feature)
                .collect(),
            features,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psi_is_zero_for_equal_distributions_and_grows_with_the_shift() {
        assert_eq!(psi(&[10, 20, 30], &[1, 2, 3]), Some(0.0));
        let small = psi(&[25, 25, 25, 25], &[20, 25, 25, 30]).unwrap();
        let large = psi(&[25, 25, 25, 25], &[0, 5, 25, 70]).unwrap();
        assert!(small > 0.0 && small < 0.1, "{small}");
        assert!(large > PSI_ALERT, "{large}");
        assert_eq!(psi(&[0, 0], &[1, 1]), None);
        assert_eq!(psi(&[1, 1], &[1]), None);
    }
}
