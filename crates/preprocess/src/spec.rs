//! The pipeline specification: the raw table's schema, the steps, and the output layout.
//! Public: the verifier rebuilds the Program from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version of the pipeline format this crate reads.
pub const PIPELINE_VERSION: u32 = 1;

/// A preprocessing pipeline (TOML or JSON; see `docs/lifecycle.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    /// Format version ([`PIPELINE_VERSION`]).
    pub version: u32,
    /// Every raw cell (and presence flag) lies in `[-2^(value_bits-1), 2^(value_bits-1))` at
    /// its column's scale, 1 to 31 ([`crate::RAW_VALUE_BITS`], 24, when absent): the CSV reader
    /// refuses a cell outside, the proof range-checks every cell, and the raw commitment packs
    /// `floor(63 / value_bits)` cells to a field element (21 bits: three; 24: two).
    #[serde(default = "default_raw_value_bits")]
    pub value_bits: u8,
    /// The raw table's columns, in CSV order.
    pub columns: Vec<ColumnSpec>,
    /// Steps, applied in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Which columns form the processed dataset.
    pub output: OutputSpec,
}

/// One raw column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnSpec {
    /// Header name.
    pub name: String,
    /// Fixed-point scale exponent of its values.
    pub scale_bits: u32,
    /// Whether cells may be missing (empty, `NA` or `nan`); such a column needs an `impute`
    /// step before any other step reads it.
    #[serde(default)]
    pub nullable: bool,
}

/// A replacement for missing values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Fill {
    /// A constant.
    Constant(f64),
    /// `"mean"`: the mean of the present values, computed in the proof.
    Keyword(String),
}

/// A given mean and standard deviation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Given {
    /// Mean.
    pub mean: f64,
    /// Standard deviation (positive).
    pub std: f64,
}

/// A comparison of a filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Cmp {
    /// `>=`
    #[serde(rename = ">=")]
    Ge,
    /// `>`
    #[serde(rename = ">")]
    Gt,
    /// `<=`
    #[serde(rename = "<=")]
    Le,
    /// `<`
    #[serde(rename = "<")]
    Lt,
    /// `==` (exact, at the column's scale)
    #[serde(rename = "==")]
    Eq,
    /// `!=`
    #[serde(rename = "!=")]
    Ne,
}

/// A dataset statistic a `stats` step can publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stat {
    /// Number of rows (known from the Program's shapes).
    Count,
    /// Sum, at the column's scale.
    Sum,
    /// Mean, rounded half up, at the column's scale.
    Mean,
    /// Population variance (mean of squared deviations from the rounded mean) at twice the
    /// column's scale.
    Variance,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
}

impl Stat {
    /// Every statistic.
    pub const ALL: [Stat; 6] = [
        Stat::Count,
        Stat::Sum,
        Stat::Mean,
        Stat::Variance,
        Stat::Min,
        Stat::Max,
    ];

    fn all() -> Vec<Stat> {
        Self::ALL.to_vec()
    }

    /// A short name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Stat::Count => "count",
            Stat::Sum => "sum",
            Stat::Mean => "mean",
            Stat::Variance => "variance",
            Stat::Min => "min",
            Stat::Max => "max",
        }
    }
}

/// One pipeline step. Each is a handful of Program ops; the integer semantics are those ops'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Step {
    /// Replace missing cells of a nullable column: `x * present + fill * (1 - present)`.
    Impute {
        /// The column.
        column: String,
        /// A constant, or `"mean"` (of the present values, rounded half up).
        value: Fill,
    },
    /// `min(max(x, min), max)`, as `min + relu(x - min) - relu(x - max)`.
    Clip {
        /// The column.
        column: String,
        /// Lower bound.
        min: f64,
        /// Upper bound (at least `min`).
        max: f64,
    },
    /// `z = round((x - mean) * 2^scale_bits / std)`, with `mean` (rounded half up) and
    /// `std = floor(sqrt(variance))` computed in the proof unless given.
    Standardize {
        /// The columns.
        columns: Vec<String>,
        /// Scale exponent of the result.
        scale_bits: u32,
        /// Given statistics per column (the others are computed).
        #[serde(default)]
        given: BTreeMap<String, Given>,
    },
    /// `z = round((x - min) * 2^scale_bits / (max - min))`, in `[0, 1]`.
    MinMax {
        /// The columns.
        columns: Vec<String>,
        /// Scale exponent of the result.
        scale_bits: u32,
    },
    /// New columns `"{column}={c}"` (1.0 where `x == c`, else 0.0, at the column's scale);
    /// the original column stays.
    OneHot {
        /// The categorical column.
        column: String,
        /// Category values.
        categories: Vec<i64>,
    },
    /// Keep the rows where `column keep value` holds, in order; the kept count is public.
    Filter {
        /// The column compared.
        column: String,
        /// The comparison.
        keep: Cmp,
        /// The threshold (encoded at the column's scale).
        value: f64,
    },
    /// Publish statistics of a column (its current values).
    Stats {
        /// The column.
        column: String,
        /// Which statistics (all when omitted).
        #[serde(default = "Stat::all")]
        public: Vec<Stat>,
    },
}

impl Step {
    /// A short name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Step::Impute { .. } => "impute",
            Step::Clip { .. } => "clip",
            Step::Standardize { .. } => "standardize",
            Step::MinMax { .. } => "min_max",
            Step::OneHot { .. } => "one_hot",
            Step::Filter { .. } => "filter",
            Step::Stats { .. } => "stats",
        }
    }
}

fn default_raw_value_bits() -> u8 {
    crate::RAW_VALUE_BITS
}

fn default_value_bits() -> u8 {
    zkmlops_commit::TABLE_VALUE_BITS
}

/// The processed dataset: `x [rows, features]` and `y [rows, labels]` at one scale, the layout
/// training consumes ([`zkmlops_commit::TableLayout`]), split by row index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Feature columns, in order.
    pub features: Vec<String>,
    /// Label columns (one for a 0/1 label, several for a one-hot label).
    pub labels: Vec<String>,
    /// Scale exponent of the processed values.
    pub scale_bits: u32,
    /// Every processed value lies in `[-2^(value_bits-1), 2^(value_bits-1))`, 1 to 31 (24 when
    /// absent): proved in the preprocessing proof, and the dataset commitments pack the values
    /// with these bits ([`zkmlops_commit::TableLayout`]), so training and evaluation declare
    /// the same (`value_bits` in their spec). 21 bits pack three values to a field element, 24
    /// two.
    #[serde(default = "default_value_bits")]
    pub value_bits: u8,
    /// The last `test_rows` rows form the test split (none when 0).
    #[serde(default)]
    pub test_rows: usize,
    /// Histogram edges (real numbers, increasing, at most 15) of the training split's
    /// published *profile*: per feature its mean, variance and histogram, proved on the
    /// processed values. Monitoring compares production inputs against it (drift). No
    /// profile when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile_edges: Vec<f64>,
}
