//! Datasets: rows of real features and an integer label (the last CSV column).

// Parses untrusted CSV: no indexing that can panic.
#![warn(clippy::indexing_slicing)]

use crate::TrainError;

/// A labelled dataset, in row order (the order batches are taken in).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row of features per example.
    pub features: Vec<Vec<f64>>,
    /// The integer label of each row (0 or 1 for logistic regression, a class for the MLP);
    /// empty for a regression dataset.
    pub labels: Vec<i64>,
    /// The last column as a real number (the regression target; the label as `f64` for a
    /// classification dataset).
    pub targets: Vec<f64>,
}

impl Dataset {
    /// Parse a CSV with a header line; every column but the last is a feature, the last an
    /// integer label.
    ///
    /// # Errors
    /// [`TrainError::Csv`] naming the (1-based) line and column of the first bad cell.
    pub fn from_csv(text: &str) -> Result<Self, TrainError> {
        Self::parse(text, true)
    }

    /// Parse a CSV like [`Dataset::from_csv`] whose last column is a real-valued target
    /// (linear regression): `labels` stays empty.
    ///
    /// # Errors
    /// As [`Dataset::from_csv`].
    pub fn regression_from_csv(text: &str) -> Result<Self, TrainError> {
        Self::parse(text, false)
    }

    /// Feature rows for inference: a CSV with a header whose first `features` columns are the
    /// features; one more trailing column (a label, as in a test set) is allowed and ignored.
    ///
    /// # Errors
    /// [`TrainError::Csv`] naming the (1-based) line and column of the first bad cell.
    pub fn features_from_csv(text: &str, features: usize) -> Result<Vec<Vec<f64>>, TrainError> {
        let (width, rows) = csv_rows(text)?;
        if width != features && width != features + 1 {
            return Err(TrainError::Csv {
                line: 1,
                column: width.min(features) + 1,
                what: "the header must list the model's features (and at most a label)",
            });
        }
        rows.map(|(line, cells)| {
            cells.and_then(|c| numbers(line, c.get(..features).unwrap_or_default()))
        })
        .collect()
    }

    fn parse(text: &str, integer_labels: bool) -> Result<Self, TrainError> {
        let (width, rows) = csv_rows(text)?;
        if width < 2 {
            return Err(TrainError::Csv {
                line: 1,
                column: 1,
                what: "need at least one feature and a label",
            });
        }
        let mut features = Vec::new();
        let mut labels = Vec::new();
        let mut targets = Vec::new();
        for (line, cells) in rows {
            let cells = cells?;
            // `csv_rows` gives every row exactly `width` cells.
            let (last, row) = cells.split_last().ok_or(TrainError::Csv {
                line,
                column: 1,
                what: "an empty row",
            })?;
            let (last, row) = (*last, numbers(line, row)?);
            if integer_labels {
                let label = last.parse::<i64>().map_err(|_| TrainError::Csv {
                    line,
                    column: width,
                    what: "the label is not an integer",
                })?;
                labels.push(label);
                targets.push(label as f64);
            } else {
                let t =
                    last.parse::<f64>()
                        .ok()
                        .filter(|t| t.is_finite())
                        .ok_or(TrainError::Csv {
                            line,
                            column: width,
                            what: "the target is not a finite number",
                        })?;
                targets.push(t);
            }
            features.push(row);
        }
        Ok(Dataset {
            features,
            labels,
            targets,
        })
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.features.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }
}

/// The header's width and, per data line, its 1-based number and its trimmed cells (an error
/// when a line has another width). Blank lines are skipped.
#[allow(clippy::type_complexity)]
fn csv_rows(
    text: &str,
) -> Result<
    (
        usize,
        impl Iterator<Item = (usize, Result<Vec<&str>, TrainError>)>,
    ),
    TrainError,
> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or(TrainError::Csv {
        line: 1,
        column: 1,
        what: "no header line",
    })?;
    let width = header.split(',').count();
    let rows = lines.map(move |(i, line)| {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        let checked = if cells.len() == width {
            Ok(cells)
        } else {
            Err(TrainError::Csv {
                line: i + 1,
                column: cells.len().min(width) + 1,
                what: "wrong number of columns",
            })
        };
        (i + 1, checked)
    });
    Ok((width, rows))
}

/// Finite numbers, or an error naming the line and the (1-based) column.
fn numbers(line: usize, cells: &[&str]) -> Result<Vec<f64>, TrainError> {
    cells
        .iter()
        .enumerate()
        .map(|(c, v)| {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or(TrainError::Csv {
                    line,
                    column: c + 1,
                    what: "not a finite number",
                })
        })
        .collect()
}
