//! Errors of the preprocessing stage.

use thiserror::Error;
use zkmlops_proof::{ProveError, StageTag, VerifyError};
use zkmlops_tensor::{OpError, ProgramError};

/// Why a pipeline could not be built, run, proved or verified.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PreprocessError {
    /// A CSV cell or header that cannot be read.
    #[error("CSV line {line}, column `{column}`: {what}")]
    Csv {
        /// 1-based line.
        line: usize,
        /// Column name.
        column: String,
        /// What is wrong.
        what: &'static str,
    },
    /// A pipeline field with a value it cannot take.
    #[error("pipeline: {what} of `{name}` must be {allowed}")]
    Spec {
        /// The field.
        what: &'static str,
        /// The column or step concerned.
        name: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// A step names a column that does not exist at that point.
    #[error("step {step}: no column `{column}` at this point of the pipeline")]
    UnknownColumn {
        /// Step index (0-based).
        step: usize,
        /// The name.
        column: String,
    },
    /// A nullable column read before it was imputed.
    #[error("step {step}: column `{column}` may have missing cells; impute it first")]
    Nullable {
        /// Step index (the output is `steps.len()`).
        step: usize,
        /// The column.
        column: String,
    },
    /// More cells than a Program is built for.
    #[error("a table of {rows} rows x {columns} columns exceeds the supported size (2^24 cells)")]
    TooLarge {
        /// Rows.
        rows: usize,
        /// Columns.
        columns: usize,
    },
    /// A table with no rows.
    #[error("the raw table has no rows")]
    EmptyTable,
    /// Scaling by a spread of zero (a constant column).
    #[error("step {step} ({op}): column `{column}` is constant (zero spread), it cannot be scaled")]
    ConstantColumn {
        /// Step index.
        step: usize,
        /// `standardize` or `min_max`.
        op: &'static str,
        /// The column.
        column: String,
    },
    /// A variance too large for the proof's division (below `2^31` at twice the scale).
    #[error(
        "step {step}: the variance of column `{column}` at twice its scale reaches 2^31; lower the column's scale_bits"
    )]
    VarianceRange {
        /// Step index.
        step: usize,
        /// The column.
        column: String,
    },
    /// Mean imputation of a column with no present value.
    #[error("step {step} (impute): every cell of column `{column}` is missing")]
    AllMissing {
        /// Step index.
        step: usize,
        /// The column.
        column: String,
    },
    /// A filter that keeps no row.
    #[error("step {step} (filter): no row is kept")]
    EmptyFilter {
        /// Step index.
        step: usize,
    },
    /// A split that leaves no training row.
    #[error("the split asks for {test_rows} test rows of {rows}: no training row would remain")]
    Split {
        /// Rows after the steps.
        rows: usize,
        /// Requested test rows.
        test_rows: usize,
    },
    /// An op of a step failed on the data (overflow, out of domain).
    #[error("step {step} ({op}) on column `{column}`: {source}")]
    Step {
        /// Step index.
        step: usize,
        /// Step name.
        op: &'static str,
        /// The column.
        column: String,
        /// The op's error.
        source: OpError,
    },
    /// A processed label that is not an integer class (the training CSV needs one).
    #[error("processed row {row}: the label is not an integer class")]
    Label {
        /// Row of the split.
        row: usize,
    },
    /// The Program could not be built or evaluated.
    #[error(transparent)]
    Program(#[from] ProgramError),
    /// The backend refused to prove.
    #[error("proving failed: {0}")]
    Prove(#[from] Box<ProveError>),
    /// The proof does not verify.
    #[error("the proof does not verify: {0}")]
    Verify(#[from] Box<VerifyError>),
    /// No OS randomness for a salt.
    #[error("the operating system's random number generator failed")]
    Entropy,
    /// A proof file of another format version.
    #[error("preprocessing proof format version {found} (this build reads {expected})")]
    Version {
        /// Supported.
        expected: u32,
        /// Found.
        found: u32,
    },
    /// The proof lists a different number of filter counts than the pipeline has filters.
    #[error("the proof lists {found} filter counts, the pipeline has {expected} filters")]
    KeptCounts {
        /// Filters in the pipeline.
        expected: usize,
        /// Counts listed.
        found: usize,
    },
    /// A proof of another lifecycle stage.
    #[error("a proof of stage {found:?}, not preprocessing")]
    Stage {
        /// The proof's stage.
        found: StageTag,
    },
    /// A commitment of the proof that is not the claimed one.
    #[error("the proved {which} commitment is not the claimed one")]
    Commitment {
        /// `raw`, `train` or `test`.
        which: &'static str,
    },
    /// A claimed statistic that the proof does not give.
    #[error("claimed statistic {stat} of `{column}` (step {step}) is not the proved value")]
    Statistic {
        /// Step index.
        step: usize,
        /// Column.
        column: String,
        /// Statistic name.
        stat: &'static str,
    },
    /// The claimed split sizes are not the pipeline's.
    #[error("the proof claims {found} processed rows, the pipeline gives {expected}")]
    Rows {
        /// What the pipeline and filter counts give.
        expected: usize,
        /// Claimed.
        found: usize,
    },
}

impl From<ProveError> for PreprocessError {
    fn from(e: ProveError) -> Self {
        PreprocessError::Prove(Box::new(e))
    }
}

impl From<VerifyError> for PreprocessError {
    fn from(e: VerifyError) -> Self {
        PreprocessError::Verify(Box::new(e))
    }
}
