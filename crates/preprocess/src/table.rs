//! Raw tables: CSV in, one fixed-point column per declared column, with a presence mask for
//! nullable columns; the schema header and the raw commitment.

use zkmlops_field::Scale;

use crate::{Pipeline, PreprocessError};

/// Tag that opens a raw-table header (`"zkrw"`).
pub const RAW_TAG: i64 = 0x7a6b_7277;
/// Version of the raw-table layout (2: values and presence masks absorbed packed with the
/// pipeline's `value_bits`, which the header carries).
pub const RAW_VERSION: i64 = 2;
/// The bits every raw value (and presence flag) is declared in unless the pipeline says
/// otherwise ([`crate::Pipeline::value_bits`]): a Program input's default, so the raw
/// commitment absorbs them two to a field element ([`zkmlops_commit::Packing::with_bits`]).
pub const RAW_VALUE_BITS: u8 = zkmlops_tensor::DEFAULT_INPUT_BITS;
/// Largest table (rows times columns) a Program is built for: sizes come from public, possibly
/// untrusted files, and a verifier rebuilds the Program.
pub const MAX_CELLS: usize = 1 << 24;

/// One raw column: values at the declared scale, and for a nullable column the presence mask
/// (1 present, 0 missing; a missing cell's value is 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawColumn {
    /// Values.
    pub values: Vec<i64>,
    /// Presence (nullable columns only).
    pub present: Option<Vec<i64>>,
}

/// A raw table in the schema of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawTable {
    /// Rows.
    pub rows: usize,
    /// Columns, in schema order.
    pub columns: Vec<RawColumn>,
}

/// A CSV record: its 1-based line and its trimmed cells.
pub(crate) type Record = (usize, Vec<String>);

/// The header and the data records of a CSV text (RFC 4180: quoted fields may hold commas,
/// quotes and newlines; cells are trimmed; blank lines are skipped), each record with its
/// 1-based line number.
///
/// # Errors
/// [`PreprocessError::Csv`] naming the line of a malformed record or a missing header.
pub(crate) fn read_records(text: &str) -> Result<(Vec<String>, Vec<Record>), PreprocessError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for r in reader.records() {
        let r = r.map_err(|e| PreprocessError::Csv {
            line: e
                .position()
                .and_then(|p| usize::try_from(p.line()).ok())
                .unwrap_or(0),
            column: String::new(),
            what: "malformed CSV (an unterminated quote or invalid UTF-8)",
        })?;
        let line = r
            .position()
            .and_then(|p| usize::try_from(p.line()).ok())
            .unwrap_or(0);
        if r.iter().all(str::is_empty) {
            continue;
        }
        records.push((line, r.iter().map(str::to_string).collect::<Vec<_>>()));
    }
    let mut records = records.into_iter();
    let (_, header) = records.next().ok_or(PreprocessError::Csv {
        line: 1,
        column: String::new(),
        what: "no header line",
    })?;
    Ok((header, records.collect()))
}

fn is_missing(cell: &str) -> bool {
    cell.is_empty() || cell.eq_ignore_ascii_case("na") || cell.eq_ignore_ascii_case("nan")
}

impl RawTable {
    /// Parse a CSV whose header lists exactly the pipeline's columns, in order.
    ///
    /// # Errors
    /// [`PreprocessError::Csv`] naming the 1-based line and the column of the first bad cell
    /// (unparsable, missing in a non-nullable column, or out of the fixed-point range), or a
    /// header that does not match; [`PreprocessError::TooLarge`].
    pub fn from_csv(pipeline: &Pipeline, text: &str) -> Result<Self, PreprocessError> {
        let schema = &pipeline.columns;
        let csv = |line: usize, column: &str, what: &'static str| PreprocessError::Csv {
            line,
            column: column.to_string(),
            what,
        };
        check_value_bits(pipeline.value_bits, "pipeline")?;
        let (header, lines) = read_records(text)?;
        let names: Vec<&str> = header.iter().map(String::as_str).collect();
        for (i, c) in schema.iter().enumerate() {
            if names.get(i) != Some(&c.name.as_str()) {
                return Err(csv(
                    1,
                    &c.name,
                    "header differs from the pipeline's columns",
                ));
            }
        }
        if names.len() != schema.len() {
            return Err(csv(
                1,
                names.last().copied().unwrap_or(""),
                "extra header column",
            ));
        }
        let scales = schema
            .iter()
            .map(|c| {
                Scale::new(c.scale_bits).map_err(|_| PreprocessError::Spec {
                    what: "scale_bits",
                    name: c.name.clone(),
                    allowed: "0 ..= 30",
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut columns: Vec<RawColumn> = schema
            .iter()
            .map(|c| RawColumn {
                values: Vec::new(),
                present: c.nullable.then(Vec::new),
            })
            .collect();
        let mut rows = 0usize;
        for (line, cells) in &lines {
            let (line, cells): (usize, Vec<&str>) =
                (*line, cells.iter().map(String::as_str).collect());
            if cells.len() != schema.len() {
                let c = schema
                    .get(cells.len().min(schema.len().saturating_sub(1)))
                    .map_or("", |c| c.name.as_str());
                return Err(csv(line, c, "wrong number of cells"));
            }
            for (((cell, spec), col), scale) in
                cells.iter().zip(schema).zip(&mut columns).zip(&scales)
            {
                if is_missing(cell) {
                    let Some(p) = &mut col.present else {
                        return Err(csv(
                            line,
                            &spec.name,
                            "missing in a column not declared nullable",
                        ));
                    };
                    p.push(0);
                    col.values.push(0);
                    continue;
                }
                let v: f64 = cell
                    .parse()
                    .ok()
                    .filter(|v: &f64| v.is_finite())
                    .ok_or_else(|| csv(line, &spec.name, "not a finite number"))?;
                let half = 1i64 << (pipeline.value_bits - 1);
                let q = scale
                    .encode(v)
                    .ok()
                    .filter(|q| (-half..half).contains(q))
                    .ok_or_else(|| {
                        csv(
                            line,
                            &spec.name,
                            "out of range at the column's scale (value * 2^scale_bits must lie in [-2^(value_bits-1), 2^(value_bits-1)), the pipeline's `value_bits`, 24 by default)",
                        )
                    })?;
                col.values.push(q);
                if let Some(p) = &mut col.present {
                    p.push(1);
                }
            }
            rows += 1;
        }
        check_size(rows, schema.len())?;
        Ok(RawTable { rows, columns })
    }

    /// The raw commitment with `salt`: [`raw_commitment`].
    #[must_use]
    pub fn commitment(&self, pipeline: &Pipeline, salt: &[i64]) -> zkmlops_commit::Digest {
        use zkmlops_commit::Packing;
        let packed = Packing::with_bits(pipeline.value_bits);
        let mut parts: Vec<(&[i64], Packing)> = vec![(salt, Packing::NONE)];
        for c in &self.columns {
            parts.push((&c.values, packed));
            if let Some(p) = &c.present {
                parts.push((p, packed));
            }
        }
        let header = schema_header(pipeline, self.rows);
        parts.push((&header, Packing::NONE));
        zkmlops_commit::commit_lineage_packed(&parts)
    }
}

/// Declared value bits (of the raw cells, `name = "pipeline"`, or of the output) must be a
/// packing width the commitment accepts: 1 to 31.
pub(crate) fn check_value_bits(bits: u8, name: &str) -> Result<(), PreprocessError> {
    if (1..=zkmlops_commit::MAX_PACK_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(PreprocessError::Spec {
            what: "value_bits",
            name: name.into(),
            allowed: "1 ..= 31",
        })
    }
}

pub(crate) fn check_size(rows: usize, columns: usize) -> Result<(), PreprocessError> {
    match rows.checked_mul(columns.max(1)) {
        Some(n) if n <= MAX_CELLS => Ok(()),
        _ => Err(PreprocessError::TooLarge { rows, columns }),
    }
}

/// The raw table's header, absorbed after its values: `[RAW_TAG, RAW_VERSION, rows, columns,
/// value_bits]`
/// then the schema digest (Poseidon2 over each column's name bytes, scale and nullability) as
/// eight 32-bit halves. So the raw commitment binds the row order, the shape and the schema.
#[must_use]
pub fn schema_header(pipeline: &Pipeline, rows: usize) -> Vec<i64> {
    let mut schema = Vec::new();
    for c in &pipeline.columns {
        schema.push(i64::try_from(c.name.len()).unwrap_or(i64::MAX));
        schema.extend(c.name.bytes().map(i64::from));
        schema.push(i64::from(c.scale_bits));
        schema.push(i64::from(c.nullable));
    }
    let digest = zkmlops_commit::commit_lineage(&[&schema]);
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let mut header = vec![
        RAW_TAG,
        RAW_VERSION,
        n(rows),
        n(pipeline.columns.len()),
        i64::from(pipeline.value_bits),
    ];
    for limb in digest.0 {
        header.push(i64::from(u32::try_from(limb >> 32).unwrap_or(0)));
        header.push(i64::from(u32::try_from(limb & 0xffff_ffff).unwrap_or(0)));
    }
    header
}

/// The commitment to a raw table: Poseidon2 lineage commitment of
/// `salt, column 0 values, (column 0 presence), column 1 values, ..., header`
/// ([`schema_header`]).
#[must_use]
pub fn raw_commitment(
    pipeline: &Pipeline,
    table: &RawTable,
    salt: &[i64],
) -> zkmlops_commit::Digest {
    table.commitment(pipeline, salt)
}
