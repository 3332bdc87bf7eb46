//! `zkmlops preprocess init`: a pipeline skeleton chosen from the data, so a data owner does
//! not hand-pick scales under the limits the proof imposes.
//!
//! Per column: missing cells make it `nullable` (with a mean-imputation step); an integer
//! column with few distinct values is categorical (a `one_hot` step) or binary (kept as is);
//! the label (the last column, or the one named) must be an integer class. Every other column
//! is continuous and standardized. Each column's `scale_bits` is the largest (at most
//! [`crate::MAX_SCALE_BITS`]) that keeps every value below `2^30` in fixed point (one bit of
//! margin under the `2^31` cell limit), every squared deviation from the mean that
//! `standardize` computes (at twice the scale) below `2^30` (the backends range-check each in
//! signed 32 bits; so is the variance, their mean), and the range below `2^24` (the divisor
//! limit of `min_max`). Categorical, binary and label columns are integers: scale 0.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::table::read_records;
use crate::{MAX_SCALE_BITS, Pipeline, PreprocessError};

/// Options of [`init_pipeline`].
#[derive(Debug, Clone, PartialEq)]
pub struct InitOptions {
    /// The label column (the last column when `None`).
    pub label: Option<String>,
    /// Fraction of the rows (the last ones) kept as the test split.
    pub test_fraction: f64,
    /// An integer column with at most this many distinct values (and more than two) is
    /// categorical.
    pub max_categories: usize,
    /// Scale of the processed values.
    pub output_scale_bits: u32,
}

impl Default for InitOptions {
    /// The last column is the label, 20% test rows, up to 10 categories, output at `2^8`.
    fn default() -> Self {
        InitOptions {
            label: None,
            test_fraction: 0.2,
            max_categories: 10,
            output_scale_bits: 8,
        }
    }
}

/// What [`init_pipeline`] decided for a column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnChoice {
    /// The column.
    pub name: String,
    /// `continuous`, `categorical`, `binary` or `label`.
    pub role: &'static str,
    /// Its chosen scale.
    pub scale_bits: u32,
    /// Whether cells are missing.
    pub nullable: bool,
    /// Why this scale (the binding limit).
    pub reason: String,
    /// The categories of a categorical column.
    pub categories: Vec<i64>,
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan")
}

/// A raw cell's magnitude limit at its scale: the default 24-bit bound
/// ([`crate::RAW_VALUE_BITS`]).
const RAW_LIMIT: f64 = (1u32 << (crate::RAW_VALUE_BITS - 1)) as f64;

/// The narrower declared bits `init` picks when the data allow: three values to a field
/// element in the commitments.
const NARROW_BITS: u8 = 21;

/// Largest scale (at most [`MAX_SCALE_BITS`]) keeping `max_abs * 2^s < 2^23` (a raw cell's
/// default bound), `deviation^2 * 2^(2s) < 2^30` (the largest distance from the mean) and
/// `range * 2^s < 2^24`, with the binding limit.
fn choose_scale(max_abs: f64, deviation: f64, range: f64) -> Option<(u32, String)> {
    let variance = deviation * deviation;
    let mut best = None;
    for s in 0..=MAX_SCALE_BITS {
        let unit = f64::from(1u32 << s);
        let fits = max_abs * unit < RAW_LIMIT
            && variance * unit * unit < f64::from(1u32 << 30)
            && range * unit < f64::from(1u32 << 24);
        if fits {
            best = Some(s);
        } else {
            break;
        }
    }
    let s = best?;
    let reason = if s == MAX_SCALE_BITS {
        format!("the largest scale (2^{MAX_SCALE_BITS})")
    } else {
        let unit = f64::from(1u32 << (s + 1));
        if max_abs * unit >= RAW_LIMIT {
            format!(
                "largest |value| {max_abs} must stay below 2^23 at the scale (a raw cell's default 24-bit bound)"
            )
        } else if variance * unit * unit >= f64::from(1u32 << 30) {
            format!(
                "the largest deviation from the mean ({deviation:.4}) squared must stay below 2^30 at twice the scale"
            )
        } else {
            format!("range {range} must stay below 2^24 at the scale")
        }
    };
    Some((s, reason))
}

/// A pipeline skeleton for the raw CSV `text`: the TOML (with comments saying why) and the
/// choice per column. The TOML parses as a [`Pipeline`] and proves on this data as is.
///
/// # Errors
/// [`PreprocessError::Csv`] for malformed CSV or a cell that is not a number,
/// [`PreprocessError::Spec`] for a label that is not an integer class, a column too large for
/// any scale, or a table with too few rows.
pub fn init_pipeline(
    text: &str,
    options: &InitOptions,
) -> Result<(String, Vec<ColumnChoice>), PreprocessError> {
    let (header, records) = read_records(text)?;
    let spec_error =
        |what: &'static str, name: &str, allowed: &'static str| PreprocessError::Spec {
            what,
            name: name.to_string(),
            allowed,
        };
    if header.len() < 2 {
        return Err(spec_error(
            "the raw table",
            "header",
            "at least one feature column and a label column",
        ));
    }
    let label = match &options.label {
        Some(l) => header
            .iter()
            .position(|h| h == l)
            .ok_or_else(|| spec_error("the label", l, "a column of the header"))?,
        None => header.len() - 1,
    };
    let mut columns: Vec<Vec<Option<f64>>> = vec![Vec::new(); header.len()];
    for (line, cells) in &records {
        if cells.len() != header.len() {
            return Err(PreprocessError::Csv {
                line: *line,
                column: header
                    .get(cells.len().min(header.len() - 1))
                    .cloned()
                    .unwrap_or_default(),
                what: "wrong number of cells",
            });
        }
        for ((cell, col), name) in cells.iter().zip(&mut columns).zip(&header) {
            if is_missing(cell) {
                col.push(None);
                continue;
            }
            let v = cell
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| PreprocessError::Csv {
                    line: *line,
                    column: name.clone(),
                    what: "not a finite number (encode text categories as integers first)",
                })?;
            col.push(Some(v));
        }
    }
    let rows = records.len();
    if rows < 4 {
        return Err(spec_error("the raw table", "rows", "at least 4 rows"));
    }
    let mut choices = Vec::with_capacity(header.len());
    let (mut largest_raw, mut largest_out) = (0.0f64, 0.0f64);
    for (i, (name, col)) in header.iter().zip(&columns).enumerate() {
        let present: Vec<f64> = col.iter().flatten().copied().collect();
        let nullable = present.len() < col.len();
        if present.is_empty() {
            return Err(spec_error("a column", name, "at least one present value"));
        }
        let integer = present.iter().all(|v| v.fract() == 0.0 && v.abs() < 1e9);
        #[allow(clippy::cast_possible_truncation)]
        let distinct: BTreeSet<i64> = if integer {
            present.iter().map(|&v| v as i64).collect()
        } else {
            BTreeSet::new()
        };
        let (role, categories) = if i == label {
            if !integer || nullable {
                return Err(spec_error(
                    "the label",
                    name,
                    "an integer class in every row (pick another with --label)",
                ));
            }
            ("label", Vec::new())
        } else if integer && distinct.len() <= 2 && distinct.iter().all(|v| *v == 0 || *v == 1) {
            ("binary", Vec::new())
        } else if integer && distinct.len() <= options.max_categories && distinct.len() > 2 {
            ("categorical", distinct.iter().copied().collect())
        } else {
            ("continuous", Vec::new())
        };
        let n = present.len() as f64;
        let mean = present.iter().sum::<f64>() / n;
        let variance = present.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        let max_abs = present.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let (lo, hi) = present
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let (scale_bits, reason) = if role == "continuous" {
            if variance == 0.0 {
                return Err(spec_error(
                    "a column",
                    name,
                    "not constant (drop it: standardize divides by its std)",
                ));
            }
            let deviation = (hi - mean).max(mean - lo);
            choose_scale(max_abs, deviation, hi - lo).ok_or_else(|| {
                spec_error(
                    "a column",
                    name,
                    "within the range a proof can standardize even at scale 0 (every deviation from the mean below 2^15): rescale it first (e.g. thousands instead of units)",
                )
            })?
        } else {
            if max_abs >= RAW_LIMIT {
                return Err(spec_error(
                    "a column",
                    name,
                    "below 2^23 in magnitude (a raw cell's default 24-bit bound)",
                ));
            }
            (0, "integer values".to_string())
        };
        // The largest raw cell at its scale, and the largest output value in units (a
        // standardized value lies within sqrt(rows) standard deviations; one-hot and binary
        // columns are 0 or 1; the label keeps its values).
        largest_raw = largest_raw.max(max_abs * f64::from(1u32 << scale_bits));
        let out = match role {
            "continuous" => (rows as f64).sqrt() + 1.0,
            "label" => max_abs,
            _ => 1.0,
        };
        largest_out = largest_out.max(out);
        choices.push(ColumnChoice {
            name: name.clone(),
            role,
            scale_bits,
            nullable,
            reason,
            categories,
        });
    }
    let narrow = f64::from(1u32 << (NARROW_BITS - 1));
    let bits = Bits {
        raw: largest_raw < narrow,
        output: largest_out * f64::from(1u32 << options.output_scale_bits.min(30)) < narrow,
    };
    let toml = render(&choices, rows, options, bits);
    // The skeleton must be a valid pipeline.
    let parsed: Pipeline = toml::from_str(&toml).map_err(|_| PreprocessError::Spec {
        what: "the generated pipeline",
        name: "init".into(),
        allowed: "valid TOML (a bug: please report it)",
    })?;
    crate::build::build(&parsed, &crate::build::Mode::Verify { rows, kept: &[] })?;
    Ok((toml, choices))
}

fn quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether the raw cells and the output values fit [`NARROW_BITS`].
#[derive(Clone, Copy)]
struct Bits {
    raw: bool,
    output: bool,
}

fn render(choices: &[ColumnChoice], rows: usize, o: &InitOptions, bits: Bits) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "# Written by `zkmlops preprocess init` from {rows} rows. Review it: the choices are\n\
         # the data's, the limits the proof's (docs/lifecycle.md). Public: everything here.\n\
         version = 1"
    );
    if bits.raw {
        let _ = writeln!(
            t,
            "# Every raw cell fits in {NARROW_BITS} bits at its scale: the raw commitment packs three to\n\
             # a field element (24 bits, the default, two). Remove it for data that may not fit.\n\
             value_bits = {NARROW_BITS}"
        );
    }
    t.push_str("columns = [\n");
    for c in choices {
        let _ = writeln!(
            t,
            "    {{ name = {}, scale_bits = {}{} }},  # {}: {}",
            quoted(&c.name),
            c.scale_bits,
            if c.nullable { ", nullable = true" } else { "" },
            c.role,
            c.reason
        );
    }
    t.push_str("]\n");
    let mut features = Vec::new();
    for c in choices {
        if c.nullable {
            let _ = writeln!(
                t,
                "\n[[steps]]  # `{}` has missing cells\nop = \"impute\"\ncolumn = {}\nvalue = \"mean\"",
                c.name,
                quoted(&c.name)
            );
        }
    }
    for c in choices.iter().filter(|c| c.role == "categorical") {
        let cats: Vec<String> = c.categories.iter().map(i64::to_string).collect();
        let _ = writeln!(
            t,
            "\n[[steps]]  # {} distinct integer values: one column per category\nop = \"one_hot\"\ncolumn = {}\ncategories = [{}]",
            c.categories.len(),
            quoted(&c.name),
            cats.join(", ")
        );
    }
    let continuous: Vec<&ColumnChoice> =
        choices.iter().filter(|c| c.role == "continuous").collect();
    if !continuous.is_empty() {
        let names: Vec<String> = continuous.iter().map(|c| quoted(&c.name)).collect();
        let _ = writeln!(
            t,
            "\n[[steps]]  # mean and standard deviation computed in the proof\nop = \"standardize\"\ncolumns = [{}]\nscale_bits = {}",
            names.join(", "),
            o.output_scale_bits
        );
    }
    for c in choices {
        match c.role {
            "continuous" | "binary" => features.push(quoted(&c.name)),
            "categorical" => {
                for v in &c.categories {
                    features.push(quoted(&format!("{}={v}", c.name)));
                }
            }
            _ => {}
        }
    }
    let label = choices
        .iter()
        .find(|c| c.role == "label")
        .map_or_else(String::new, |c| quoted(&c.name));
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let test_rows = ((rows as f64) * o.test_fraction.clamp(0.0, 0.9)).round() as usize;
    let _ = writeln!(
        t,
        "\n[output]\nfeatures = [{}]\nlabels = [{label}]\nscale_bits = {}\n{}test_rows = {test_rows}  # the last rows\n\
         # The training split's profile (drift reference for `zkmlops monitor`), in standard deviations.\n\
         profile_edges = [-1.0, 0.0, 1.0]",
        features.join(", "),
        o.output_scale_bits,
        if bits.output {
            format!(
                "# Every processed value fits in {NARROW_BITS} bits: the split commitments pack three to a\n\
                 # field element; training declares the same (taken from --prep).\n\
                 value_bits = {NARROW_BITS}\n"
            )
        } else {
            String::new()
        }
    );
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_follow_the_binding_limit() {
        // Small values: the largest scale.
        assert_eq!(choose_scale(3.0, 0.1, 4.0).unwrap().0, MAX_SCALE_BITS);
        // |v| = 2000: 2000 * 2^s < 2^23 -> s <= 11; deviation 1000: 1e6 * 2^2s < 2^30 -> s <= 5.
        let (s, why) = choose_scale(2000.0, 1000.0, 3000.0).unwrap();
        assert_eq!(s, 5);
        assert!(why.contains("deviation"), "{why}");
        // Range 2^20: range * 2^s < 2^24 -> s <= 3 (|v| = 1e5 allows 6).
        let (s, why) = choose_scale(1e5, 1.0, f64::from(1u32 << 20)).unwrap();
        assert_eq!(s, 3);
        assert!(why.contains("range"), "{why}");
        assert!(choose_scale(2e9, 1.0, 1.0).is_none());
        // |v| = 1e6: 1e6 * 2^s < 2^23 -> s <= 3, the raw cells' bound binds.
        let (s, why) = choose_scale(1e6, 1.0, 1.0).unwrap();
        assert_eq!(s, 3);
        assert!(why.contains("2^23"), "{why}");
    }
}
