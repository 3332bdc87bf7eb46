//! The results as Markdown, CSV and JSON, and the ratios between two results.

use std::fmt::Write as _;

use crate::{Outcome, Results, Row, Stats};

/// The unit a figure is shown in: a divisor and a suffix.
#[derive(Clone, Copy)]
struct Unit(f64, &'static str, usize);

fn time_unit(ms: f64) -> Unit {
    if ms < 1000.0 {
        Unit(1.0, "ms", 0)
    } else {
        Unit(1000.0, "s", 2)
    }
}

fn byte_unit(b: f64) -> Unit {
    if b < 10_000.0 {
        Unit(1.0, "B", 0)
    } else if b < 1e6 {
        Unit(1e3, "KB", 0)
    } else {
        Unit(1e6, "MB", 2)
    }
}

fn mb_unit(_: f64) -> Unit {
    Unit(1.0, "MB", 0)
}

fn number(v: f64, u: Unit) -> String {
    let x = v / u.0;
    if u.1 == "B" {
        // Thousands separated: 4,416.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let digits = (x.round().max(0.0) as u64).to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        format!("{x:.prec$}", prec = u.2)
    }
}

/// Milliseconds for people: `850 ms`, `6.80 s`.
#[must_use]
pub fn time(ms: f64) -> String {
    let u = time_unit(ms);
    format!("{} {}", number(ms, u), u.1)
}

/// Bytes for people: `4,416 B`, `316 KB`, `1.67 MB` (decimal units).
#[must_use]
pub fn bytes(b: f64) -> String {
    let u = byte_unit(b);
    format!("{} {}", number(b, u), u.1)
}

/// A median, with the runs' range in the same unit when they spread by more than 5%:
/// `6.80 s`, `203 ms (189-230)`.
fn spread(s: Option<Stats>, unit: fn(f64) -> Unit) -> String {
    match s {
        None => "-".into(),
        Some(s) => {
            let u = unit(s.median);
            let mid = format!("{} {}", number(s.median, u), u.1);
            if s.max - s.min > 0.05 * s.median.abs() {
                format!("{mid} ({}-{})", number(s.min, u), number(s.max, u))
            } else {
                mid
            }
        }
    }
}

fn yes(b: Option<bool>) -> &'static str {
    match b {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

fn work(w: Option<u64>) -> String {
    match w {
        None => "-".into(),
        Some(w) if w >= 1_000_000 => format!("{:.2}M", w as f64 / 1e6),
        Some(w) if w >= 1000 => format!("{:.1}K", w as f64 / 1e3),
        Some(w) => w.to_string(),
    }
}

fn bits(r: &Row) -> String {
    match (r.conjectured_bits, r.proven_bits) {
        (Some(c), Some(p)) => format!("{c} / {p}"),
        (Some(c), None) => format!("{c} / -"),
        _ => "-".into(),
    }
}

/// The header lines: command, machine, repetitions.
#[must_use]
pub fn header(r: &Results) -> String {
    format!(
        "Command: `{}`  \nMachine: {}, {} cores, {:.0} GB, {}; zkmlops {}; each cell {} run(s) after {} warm-up, in fresh processes; median (min-max).\n",
        r.command,
        r.machine.cpu,
        r.machine.cores,
        r.machine.memory_mb as f64 / 1024.0,
        r.machine.os,
        r.version,
        r.runs,
        r.warmup
    )
}

/// The Markdown table (with [`header`] above it and notes below).
#[must_use]
pub fn markdown(r: &Results) -> String {
    let mut s = header(r);
    s.push('\n');
    s.push_str(
        "| workload | work | backend | preset | weights | setup | prove | verify | proof | file | prover peak RSS | bits (conj. / proven) | PQ | ZK | transparent |\n",
    );
    s.push_str("|---|---:|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---|---|\n");
    let mut notes = r.notes.clone();
    for row in &r.rows {
        let (prove, verify) = match &row.outcome {
            Outcome::Ok => (
                spread(row.prove_ms, time_unit),
                spread(row.verify_ms, time_unit),
            ),
            Outcome::Unsupported(why) => (format!("unsupported: {why}"), "-".into()),
            Outcome::Failed(why) => {
                notes.push(format!(
                    "{} on {} {}: failed: {why}",
                    row.workload, row.backend, row.preset
                ));
                ("failed (see notes)".into(), "-".into())
            }
        };
        if let Some(n) = &row.note {
            notes.push(format!("{} on {}: {n}", row.workload, row.backend));
        }
        if !row.extra.is_empty() {
            let parts: Vec<String> = row
                .extra
                .iter()
                .map(|(k, v)| format!("{k} {}", time(v.median)))
                .collect();
            notes.push(format!(
                "{} on {} {}: {}",
                row.workload,
                row.backend,
                row.preset,
                parts.join(", ")
            ));
        }
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.workload,
            work(row.work),
            row.backend,
            row.preset,
            row.weights.as_deref().unwrap_or("-"),
            spread(row.setup_ms, time_unit),
            prove,
            verify,
            spread(row.proof_bytes, byte_unit),
            spread(row.file_bytes, byte_unit),
            spread(row.prove_peak_rss_mb, mb_unit),
            bits(row),
            yes(row.post_quantum),
            yes(row.zero_knowledge),
            yes(row.transparent),
        );
    }
    if !notes.is_empty() {
        s.push('\n');
        for n in notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

const METRICS: [&str; 8] = [
    "setup_ms",
    "prove_ms",
    "verify_ms",
    "proof_bytes",
    "envelope_bytes",
    "file_bytes",
    "prove_peak_rss_mb",
    "verify_peak_rss_mb",
];

fn metric(r: &Row, name: &str) -> Option<Stats> {
    match name {
        "setup_ms" => r.setup_ms,
        "prove_ms" => r.prove_ms,
        "verify_ms" => r.verify_ms,
        "proof_bytes" => r.proof_bytes,
        "envelope_bytes" => r.envelope_bytes,
        "file_bytes" => r.file_bytes,
        "prove_peak_rss_mb" => r.prove_peak_rss_mb,
        "verify_peak_rss_mb" => r.verify_peak_rss_mb,
        _ => None,
    }
}

/// One line per cell; every metric as `_min`, `_median`, `_max` columns (empty where absent).
#[must_use]
pub fn csv(r: &Results) -> String {
    let mut s = String::from("workload,work,backend,preset,weights,status,reason,runs");
    for m in METRICS {
        let _ = write!(s, ",{m}_min,{m}_median,{m}_max");
    }
    s.push_str(",conjectured_bits,proven_bits,post_quantum,zero_knowledge,transparent,note\n");
    let opt = |v: Option<String>| v.unwrap_or_default();
    for row in &r.rows {
        let (status, reason) = match &row.outcome {
            Outcome::Ok => ("ok", String::new()),
            Outcome::Unsupported(w) => ("unsupported", w.clone()),
            Outcome::Failed(w) => ("failed", w.clone()),
        };
        let _ = write!(
            s,
            "{},{},{},{},{},{status},{},{}",
            csv_field(&row.workload),
            opt(row.work.map(|w| w.to_string())),
            csv_field(&row.backend),
            csv_field(&row.preset),
            row.weights.as_deref().unwrap_or(""),
            csv_field(&reason),
            row.runs
        );
        for m in METRICS {
            match metric(row, m) {
                Some(st) => {
                    let _ = write!(s, ",{},{},{}", st.min, st.median, st.max);
                }
                None => s.push_str(",,,"),
            }
        }
        let _ = writeln!(
            s,
            ",{},{},{},{},{},{}",
            opt(row.conjectured_bits.map(|b| b.to_string())),
            opt(row.proven_bits.map(|b| b.to_string())),
            opt(row.post_quantum.map(|b| b.to_string())),
            opt(row.zero_knowledge.map(|b| b.to_string())),
            opt(row.transparent.map(|b| b.to_string())),
            csv_field(row.note.as_deref().unwrap_or(""))
        );
    }
    s
}

/// The results as pretty JSON ([`crate::SCHEMA`]).
#[must_use]
pub fn json(r: &Results) -> String {
    serde_json::to_string_pretty(r).unwrap_or_default()
}

fn ratio(new: Option<Stats>, old: Option<Stats>) -> String {
    match (new, old) {
        (Some(n), Some(o)) if o.median > 0.0 => format!("{:.2}x", n.median / o.median),
        _ => "-".into(),
    }
}

/// Medians of `new` over `old` for every cell both ran (prove, verify, setup, proof bytes,
/// prover memory), and the cells only one of them has, as Markdown.
#[must_use]
pub fn compare(old: &Results, new: &Results) -> String {
    let mut s = format!(
        "new / old medians. old: `{}`; new: `{}`\n\n| cell | prove | verify | setup | proof bytes | prover peak RSS |\n|---|---:|---:|---:|---:|---:|\n",
        old.command, new.command
    );
    let mut only_new = Vec::new();
    for n in &new.rows {
        match old.rows.iter().find(|o| o.key() == n.key()) {
            Some(o) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} |",
                    n.key(),
                    ratio(n.prove_ms, o.prove_ms),
                    ratio(n.verify_ms, o.verify_ms),
                    ratio(n.setup_ms, o.setup_ms),
                    ratio(n.proof_bytes, o.proof_bytes),
                    ratio(n.prove_peak_rss_mb, o.prove_peak_rss_mb),
                );
            }
            None => only_new.push(n.key()),
        }
    }
    let only_old: Vec<String> = old
        .rows
        .iter()
        .filter(|o| !new.rows.iter().any(|n| n.key() == o.key()))
        .map(Row::key)
        .collect();
    for (what, keys) in [("only in new", only_new), ("only in old", only_old)] {
        if !keys.is_empty() {
            let _ = write!(s, "\n{what}: {}\n", keys.join("; "));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_well() {
        assert_eq!(time(850.4), "850 ms");
        assert_eq!(time(6804.0), "6.80 s");
        assert_eq!(bytes(4416.0), "4,416 B");
        assert_eq!(bytes(316_000.0), "316 KB");
        assert_eq!(bytes(15_300_000.0), "15.30 MB");
        assert_eq!(bytes(1_669_000.0), "1.67 MB");
        let st = |a, b, c| {
            Some(Stats {
                min: a,
                median: b,
                max: c,
            })
        };
        assert_eq!(
            spread(st(189.0, 203.0, 230.0), time_unit),
            "203 ms (189-230)"
        );
        assert_eq!(spread(st(4000.0, 4050.0, 4100.0), time_unit), "4.05 s");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
