//! The results as Markdown, CSV and JSON, and the ratios between two results.

use std::fmt::Write as _;

use crate::{Outcome, Results, Row, Stats};

/// Milliseconds for people: `850 ms`, `6.80 s`.
#[must_use]
pub fn time(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.2} s", ms / 1000.0)
    }
}

/// Bytes for people: `4,416 B`, `316 KB`, `5.6 MB` (decimal units).
#[must_use]
pub fn bytes(b: f64) -> String {
    if b < 10_000.0 {
        let n = b.round();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = n.max(0.0) as u64;
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        format!("{out} B")
    } else if b < 10e6 {
        format!("{:.0} KB", b / 1e3)
    } else {
        format!("{:.1} MB", b / 1e6)
    }
}

/// A median with its spread when the runs differ: `6.80 s (6.71-6.93)`.
fn spread(s: Option<Stats>, f: fn(f64) -> String) -> String {
    match s {
        None => "-".into(),
        Some(s) if (s.max - s.min).abs() <= f64::EPSILON * s.max.abs() => f(s.median),
        Some(s) => format!("{} ({}-{})", f(s.median), f(s.min), f(s.max)),
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
    let mut notes = Vec::new();
    for row in &r.rows {
        let (prove, verify) = match &row.outcome {
            Outcome::Ok => (spread(row.prove_ms, time), spread(row.verify_ms, time)),
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
            spread(row.setup_ms, time),
            prove,
            verify,
            spread(row.proof_bytes, bytes),
            spread(row.file_bytes, bytes),
            spread(row.prove_peak_rss_mb, |m| format!("{m:.0} MB")),
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
        assert_eq!(bytes(15_300_000.0), "15.3 MB");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }
}
