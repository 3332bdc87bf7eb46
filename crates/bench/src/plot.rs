//! SVG plots of the results (plotters' SVG backend): prove time, proof size, verify time and
//! the prover's peak memory against the workload's size (MACs plus element-wise work), log-log,
//! one series per backend, preset and weights visibility.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use crate::{BenchError, Outcome, Results, Row, Stats};

/// One plot: file name, title, y axis label, the metric and its unit scale.
struct Figure {
    file: &'static str,
    title: &'static str,
    y: &'static str,
    metric: fn(&Row) -> Option<Stats>,
    scale: f64,
}

const FIGURES: [Figure; 4] = [
    Figure {
        file: "prove_time.svg",
        title: "prove time",
        y: "seconds (median)",
        metric: |r| r.prove_ms,
        scale: 1e-3,
    },
    Figure {
        file: "proof_size.svg",
        title: "proof size",
        y: "KB (binary proof)",
        metric: |r| r.proof_bytes,
        scale: 1e-3,
    },
    Figure {
        file: "verify_time.svg",
        title: "verify time (fresh process)",
        y: "milliseconds (median)",
        metric: |r| r.verify_ms,
        scale: 1.0,
    },
    Figure {
        file: "prover_memory.svg",
        title: "prover peak memory",
        y: "MB (peak RSS)",
        metric: |r| r.prove_peak_rss_mb,
        scale: 1.0,
    },
];

const COLORS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

#[allow(clippy::cast_precision_loss)]
fn series(
    r: &Results,
    metric: fn(&Row) -> Option<Stats>,
    scale: f64,
) -> BTreeMap<String, Vec<(f64, f64)>> {
    let mut out: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for row in &r.rows {
        if row.outcome != Outcome::Ok {
            continue;
        }
        let (Some(w), Some(m)) = (row.work, metric(row)) else {
            continue;
        };
        let y = m.median * scale;
        if w == 0 || y <= 0.0 {
            continue;
        }
        let name = format!(
            "{} {} {}",
            row.backend,
            row.preset,
            row.weights.as_deref().unwrap_or("-")
        );
        out.entry(name).or_default().push((w as f64, y));
    }
    for v in out.values_mut() {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    out
}

/// An axis label: `300`, `4K`, `1.5M`, `0.01`.
fn short(v: f64) -> String {
    let trim = |x: f64| {
        let t = format!("{x:.2}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    if v >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if v >= 1e3 {
        format!("{}K", trim(v / 1e3))
    } else {
        trim(v)
    }
}

/// A range around `lo..hi` on a log axis (a decade either side of a single value).
fn log_range(lo: f64, hi: f64) -> std::ops::Range<f64> {
    let lo = 10f64.powf(lo.log10().floor());
    let hi = 10f64.powf(hi.log10().ceil());
    if hi <= lo {
        lo / 10.0..hi * 10.0
    } else {
        lo..hi
    }
}

fn draw(fig: &Figure, data: &BTreeMap<String, Vec<(f64, f64)>>) -> Result<String, String> {
    let points = data.values().flatten();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, 0f64, f64::MAX, 0f64);
    for (x, y) in points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y0 = y0.min(*y);
        y1 = y1.max(*y);
    }
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 520)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let mut chart = ChartBuilder::on(&root)
            .caption(fig.title, ("sans-serif", 22))
            .margin(12)
            .margin_right(36)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(log_range(x0, x1).log_scale(), log_range(y0, y1).log_scale())
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("work (MACs + element-wise ops)")
            .y_desc(fig.y)
            .x_label_formatter(&|v| short(*v))
            .y_label_formatter(&|v| short(*v))
            .draw()
            .map_err(|e| e.to_string())?;
        for (i, (name, pts)) in data.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(|e| e.to_string())?
                .label(name.clone())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(pts.iter().map(|p| Circle::new(*p, 4, color.filled())))
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

/// Write the plots into `dir` (created if missing); returns the files written. A figure with
/// no data point (no successful single-Program cell) is not written.
///
/// # Errors
/// [`BenchError::Io`] when a file cannot be written or a plot cannot be drawn.
pub fn write(r: &Results, dir: &Path) -> Result<Vec<PathBuf>, BenchError> {
    let io = |path: &Path, what: String| BenchError::Io {
        path: path.to_path_buf(),
        what,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e.to_string()))?;
    let mut written = Vec::new();
    for fig in &FIGURES {
        let data = series(r, fig.metric, fig.scale);
        if data.is_empty() {
            continue;
        }
        let path = dir.join(fig.file);
        let svg = draw(fig, &data).map_err(|e| io(&path, e))?;
        std::fs::write(&path, svg).map_err(|e| io(&path, e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_labels_are_short() {
        assert_eq!(super::short(100.0), "100");
        assert_eq!(super::short(100_000.0), "100K");
        assert_eq!(super::short(1_500_000.0), "1.5M");
        assert_eq!(super::short(0.01), "0.01");
    }
}
