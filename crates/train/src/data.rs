//! Datasets: rows of real features and an integer label (the last CSV column).

use crate::TrainError;

/// A labelled dataset, in row order (the order batches are taken in).
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// One row of features per example.
    pub features: Vec<Vec<f64>>,
    /// The label of each row (0 or 1 for logistic regression).
    pub labels: Vec<i64>,
}

impl Dataset {
    /// Parse a CSV with a header line; every column but the last is a feature, the last an
    /// integer label.
    ///
    /// # Errors
    /// [`TrainError::Csv`] naming the (1-based) line and column of the first bad cell.
    pub fn from_csv(text: &str) -> Result<Self, TrainError> {
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
        if width < 2 {
            return Err(TrainError::Csv {
                line: 1,
                column: 1,
                what: "need at least one feature and a label",
            });
        }
        let mut features = Vec::new();
        let mut labels = Vec::new();
        for (i, line) in lines {
            let cells: Vec<&str> = line.split(',').map(str::trim).collect();
            if cells.len() != width {
                return Err(TrainError::Csv {
                    line: i + 1,
                    column: cells.len().min(width) + 1,
                    what: "wrong number of columns",
                });
            }
            let row = cells[..width - 1]
                .iter()
                .enumerate()
                .map(|(c, v)| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| x.is_finite())
                        .ok_or(TrainError::Csv {
                            line: i + 1,
                            column: c + 1,
                            what: "not a finite number",
                        })
                })
                .collect::<Result<Vec<f64>, _>>()?;
            let label = cells[width - 1]
                .parse::<i64>()
                .map_err(|_| TrainError::Csv {
                    line: i + 1,
                    column: width,
                    what: "the label is not an integer",
                })?;
            features.push(row);
            labels.push(label);
        }
        Ok(Dataset { features, labels })
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no rows.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}
