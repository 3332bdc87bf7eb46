//! The production log: what a deployed model saw and predicted, and what arrived later.

// Parses untrusted CSV: no indexing that can panic.
#![warn(clippy::indexing_slicing)]

use zkmlops_commit::Digest;
use zkmlops_field::Scale;
use zkmlops_tensor::Tensor;

use crate::MonitorError;

/// Tag that opens a production-log header (`"zklg"`).
pub const LOG_TAG: i64 = 0x7a6b_6c67;
/// Version of the log layout.
pub const LOG_VERSION: i64 = 1;

/// A log of production inferences, private to the operator: per row the model's input
/// features, the label when it arrived (`None` until then) and a 0/1 group attribute (all 0
/// when the log has no group column).
#[derive(Debug, Clone, PartialEq)]
pub struct ProductionLog {
    /// Input features, one row per inference.
    pub features: Vec<Vec<f64>>,
    /// The delayed label (0 or 1) of each row, when it arrived.
    pub labels: Vec<Option<i64>>,
    /// The group attribute of each row (0 or 1).
    pub groups: Vec<i64>,
}

impl ProductionLog {
    /// Parse a CSV log (RFC 4180: quoted fields allowed): a header whose first `features`
    /// columns are the model's features, then optionally a column named `label` (0 or 1; an
    /// empty cell: not arrived yet) and a column named `group` (0 or 1), in either order.
    ///
    /// # Errors
    /// [`MonitorError::Csv`] naming the 1-based line and column of the first bad cell.
    pub fn from_csv(text: &str, features: usize) -> Result<Self, MonitorError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut records = Vec::new();
        for r in reader.records() {
            let line_of = |p: Option<&csv::Position>| {
                p.and_then(|p| usize::try_from(p.line()).ok()).unwrap_or(0)
            };
            let r = r.map_err(|e| MonitorError::Csv {
                line: line_of(e.position()),
                column: 1,
                what: "malformed CSV (an unterminated quote or invalid UTF-8)",
            })?;
            if !r.iter().all(str::is_empty) {
                records.push((line_of(r.position()), r));
            }
        }
        let mut records = records.into_iter();
        let (_, header) = records.next().ok_or(MonitorError::Csv {
            line: 1,
            column: 1,
            what: "an empty file (a header line is needed)",
        })?;
        let names: Vec<&str> = header.iter().collect();
        if names.len() < features {
            return Err(MonitorError::Csv {
                line: 1,
                column: names.len() + 1,
                what: "the header has fewer columns than the model has features",
            });
        }
        let mut label_col = None;
        let mut group_col = None;
        for (i, name) in names.iter().enumerate().skip(features) {
            match *name {
                "label" if label_col.is_none() => label_col = Some(i),
                "group" if group_col.is_none() => group_col = Some(i),
                _ => {
                    return Err(MonitorError::Csv {
                        line: 1,
                        column: i + 1,
                        what: "after the features only `label` and `group` columns are allowed",
                    });
                }
            }
        }
        let mut log = ProductionLog {
            features: Vec::new(),
            labels: Vec::new(),
            groups: Vec::new(),
        };
        for (line_no, record) in records {
            let cells: Vec<&str> = record.iter().collect();
            if cells.len() != names.len() {
                return Err(MonitorError::Csv {
                    line: line_no,
                    column: cells.len().min(names.len()) + 1,
                    what: "a row with another number of cells than the header",
                });
            }
            let mut row = Vec::with_capacity(features);
            for (c, cell) in cells.iter().take(features).enumerate() {
                row.push(cell.parse::<f64>().ok().filter(|v| v.is_finite()).ok_or(
                    MonitorError::Csv {
                        line: line_no,
                        column: c + 1,
                        what: "a feature that is not a finite number",
                    },
                )?);
            }
            let bit = |col: usize, optional: bool| -> Result<Option<i64>, MonitorError> {
                match cells.get(col).copied().unwrap_or("") {
                    "" | "NA" | "nan" if optional => Ok(None),
                    "0" | "0.0" => Ok(Some(0)),
                    "1" | "1.0" => Ok(Some(1)),
                    _ => Err(MonitorError::Csv {
                        line: line_no,
                        column: col + 1,
                        what: if optional {
                            "a label must be 0, 1 or empty (not arrived)"
                        } else {
                            "a group attribute must be 0 or 1"
                        },
                    }),
                }
            };
            log.labels
                .push(label_col.map(|c| bit(c, true)).transpose()?.flatten());
            log.groups.push(
                group_col
                    .map(|c| bit(c, false))
                    .transpose()?
                    .flatten()
                    .unwrap_or(0),
            );
            log.features.push(row);
        }
        Ok(log)
    }

    /// Rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether the log has no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// The committed tensors: `x [n, d]` at `2^s`, `y [n, 1]` (the label at the scale: 0 or
    /// `2^s`; 0 when it has not arrived), `labeled [n, 1]` and `group [n, 1]` (0/1).
    ///
    /// # Errors
    /// [`MonitorError::Log`] naming the first row whose width or value does not fit.
    pub fn quantize(&self, features: usize, s: Scale) -> Result<LogTensors, MonitorError> {
        let n = self.len();
        if self.labels.len() != n || self.groups.len() != n {
            return Err(MonitorError::Log {
                row: n.min(self.labels.len()).min(self.groups.len()),
                what: "labels and groups must have one entry per row",
            });
        }
        let mut x = Vec::with_capacity(n * features);
        for (r, row) in self.features.iter().enumerate() {
            if row.len() != features {
                return Err(MonitorError::Log {
                    row: r,
                    what: "a row with another width than the model's features",
                });
            }
            for &v in row {
                x.push(s.encode(v).map_err(|_| MonitorError::Log {
                    row: r,
                    what: "a feature does not fit the fixed-point range",
                })?);
            }
        }
        let mut y = Vec::with_capacity(n);
        let mut labeled = Vec::with_capacity(n);
        for (r, l) in self.labels.iter().enumerate() {
            match l {
                Some(v @ (0 | 1)) => {
                    y.push(v << s.bits());
                    labeled.push(1);
                }
                None => {
                    y.push(0);
                    labeled.push(0);
                }
                Some(_) => {
                    return Err(MonitorError::Log {
                        row: r,
                        what: "a label that is not 0 or 1",
                    });
                }
            }
        }
        if let Some(r) = self.groups.iter().position(|&g| g != 0 && g != 1) {
            return Err(MonitorError::Log {
                row: r,
                what: "a group attribute that is not 0 or 1",
            });
        }
        let column = |v: Vec<i64>| Tensor::new(vec![n, 1], v);
        Ok(LogTensors {
            x: Tensor::new(vec![n, features], x)?,
            y: column(y)?,
            labeled: column(labeled)?,
            group: column(self.groups.clone())?,
        })
    }
}

/// A log's committed tensors (see [`ProductionLog::quantize`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogTensors {
    /// Features `[n, d]`.
    pub x: Tensor,
    /// Labels at the scale `[n, 1]`.
    pub y: Tensor,
    /// Whether each label arrived `[n, 1]`.
    pub labeled: Tensor,
    /// The group attribute `[n, 1]`.
    pub group: Tensor,
}

/// The committed layout of a production log: rows, features and scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LogLayout {
    /// Rows.
    pub rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Scale exponent of the features and labels.
    pub scale_bits: u32,
}

impl LogLayout {
    /// `[LOG_TAG, LOG_VERSION, rows, features, scale_bits]`, absorbed after the values.
    #[must_use]
    pub fn header(&self) -> Vec<i64> {
        let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
        vec![
            LOG_TAG,
            LOG_VERSION,
            n(self.rows),
            n(self.features),
            i64::from(self.scale_bits),
        ]
    }

    /// The log's lineage commitment: `salt, x, y, labeled, group, header` (what an operator
    /// publishes for each interval of production traffic).
    #[must_use]
    pub fn commit(&self, salt: &[i64], t: &LogTensors) -> Digest {
        zkmlops_commit::commit_lineage(&[
            salt,
            t.x.data(),
            t.y.data(),
            t.labeled.data(),
            t.group.data(),
            &self.header(),
        ])
    }
}
