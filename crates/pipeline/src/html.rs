//! The audit as one self-contained HTML page (no scripts, no external resources). The markup
//! is also well-formed XML (every element closed, every attribute quoted, text escaped), so a
//! strict parser reads it.

use std::fmt::Write as _;

use crate::Audit;

/// Escape text for HTML element content and attribute values.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn yes_no(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "-",
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:96em;color:#222}\
table{border-collapse:collapse;margin:1em 0;width:100%;font-size:.92em}\
th,td{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}code{font-size:.85em;word-break:break-all}\
.ok{color:#0a6b2b;font-weight:600}.fail{color:#b00020;font-weight:600}\
.verdict{font-size:1.3em;padding:.6em 1em;border-radius:.3em}\
.verdict.ok{background:#e6f4ea}.verdict.fail{background:#fde7e9}";

/// Render `audit` as an HTML page.
pub(crate) fn render(audit: &Audit) -> String {
    let title = match &audit.name {
        Some(n) => format!("zkmlops pipeline audit: {n}"),
        None => "zkmlops pipeline audit".to_string(),
    };
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    let (class, verdict) = if audit.verified {
        (
            "ok",
            format!(
                "Verified: {} stages and {} links hold.",
                audit.stages.len(),
                audit.links.len()
            ),
        )
    } else {
        ("fail", "Not verified.".to_string())
    };
    let _ = writeln!(
        h,
        "<p class=\"verdict {class}\" id=\"verdict\">{}</p>",
        esc(&verdict)
    );
    let failures = audit.failures();
    if !failures.is_empty() {
        h.push_str("<ul id=\"failures\">\n");
        for f in &failures {
            let _ = writeln!(h, "<li class=\"fail\">{}</li>", esc(f));
        }
        h.push_str("</ul>\n");
    }

    h.push_str("<h2>Stages</h2>\n<table id=\"stages\">\n<thead><tr><th>stage</th><th>kind</th><th>result</th><th>what it proves</th><th>backend / preset</th><th>security bits</th><th>zero knowledge</th><th>post-quantum</th><th>transparent</th></tr></thead>\n<tbody>\n");
    for s in &audit.stages {
        let result = if s.verified {
            "<span class=\"ok\">verified</span>".to_string()
        } else {
            format!(
                "<span class=\"fail\">rejected</span>: {}",
                esc(s.error.as_deref().unwrap_or(""))
            )
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{result}</td><td>{}</td><td>{} / {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.name),
            esc(s.kind.name()),
            esc(&s.proves),
            esc(s.backend.as_deref().unwrap_or("-")),
            esc(s.preset.as_deref().unwrap_or("-")),
            s.security_bits.map_or("-".to_string(), |b| b.to_string()),
            yes_no(s.zero_knowledge),
            yes_no(s.post_quantum),
            yes_no(s.transparent),
        );
    }
    h.push_str("</tbody>\n</table>\n");

    h.push_str("<h2>Links</h2>\n<table id=\"links\">\n<thead><tr><th>from</th><th>to</th><th>result</th><th>commitment</th></tr></thead>\n<tbody>\n");
    for l in &audit.links {
        let (cls, word) = if l.ok {
            ("ok", "holds")
        } else {
            ("fail", "broken")
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td><span class=\"{cls}\">{word}</span></td><td><code>{}</code></td></tr>",
            esc(&l.from),
            esc(&l.to),
            esc(&l.detail)
        );
    }
    h.push_str("</tbody>\n</table>\n");
    if !audit.unlinked.is_empty() {
        let _ = writeln!(
            h,
            "<p>Stages no link reaches (verified alone): {}</p>",
            esc(&audit.unlinked.join(", "))
        );
    }

    h.push_str("<h2>Commitments and figures</h2>\n");
    for s in &audit.stages {
        let _ = writeln!(h, "<h3>{}</h3>", esc(&s.name));
        let _ = writeln!(
            h,
            "<p>File: <code>{}</code></p>",
            esc(&s.file.display().to_string())
        );
        if s.commitments.is_empty() && s.figures.is_empty() {
            continue;
        }
        h.push_str("<table>\n<tbody>\n");
        for (k, v) in &s.commitments {
            let _ = writeln!(
                h,
                "<tr><th>{} commitment</th><td><code>{}</code></td></tr>",
                esc(k),
                esc(v)
            );
        }
        for (k, v) in &s.figures {
            let _ = writeln!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
        }
        h.push_str("</tbody>\n</table>\n");
    }
    h.push_str("<p>Generated by <code>zkmlops pipeline verify</code>. Every figure above is a public output of a verified proof; no row or weight was revealed.</p>\n</body>\n</html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<b a=\"1\">x & 'y'</b>"),
            "&lt;b a=&quot;1&quot;&gt;x &amp; &#39;y&#39;&lt;/b&gt;"
        );
    }
}
