//! The preprocessing stage: a proof that a committed, training-ready dataset is a declared
//! pipeline applied to a committed raw table, without revealing a row.
//!
//! - **Public**: the raw table's commitment, the [`Pipeline`] (schema, steps, output layout),
//!   the raw row count and each filter's kept count, the statistics the pipeline publishes, and
//!   the processed splits' commitments.
//! - **Private**: the rows (raw and processed) and the salts.
//! - **Relation**: processed = pipeline(raw), exactly, by the integer semantics of the Program
//!   ops each step lowers to (see `docs/lifecycle.md`).
//!
//! The processed training split's commitment is the dataset commitment `zkmlops-train`
//! consumes ([`zkmlops_commit::TableLayout`]): prove the training run with the same salt
//! ([`Salts::train`]) on the processed rows ([`ProcessedSplit::to_csv`] of [`Processed::train`]).
//!
//! ```
//! use zkmlops_fri::{FriBackend, FriConfig};
//! use zkmlops_preprocess::{Pipeline, RawTable, Salts, prove};
//! use zkmlops_proof::VerifyPolicy;
//!
//! let pipeline: Pipeline = toml::from_str(r#"
//!     version = 1
//!     columns = [
//!         { name = "age", scale_bits = 4 },
//!         { name = "income", scale_bits = 0, nullable = true },
//!         { name = "label", scale_bits = 0 },
//!     ]
//!     steps = [
//!         { op = "impute", column = "income", value = "mean" },
//!         { op = "filter", column = "age", keep = ">=", value = 18 },
//!         { op = "standardize", columns = ["age", "income"], scale_bits = 8 },
//!         { op = "stats", column = "age", public = ["count", "mean"] },
//!     ]
//!     output = { features = ["age", "income"], labels = ["label"], scale_bits = 8 }
//! "#).unwrap();
//! let csv = "age,income,label\n25,30000,1\n17,,0\n40,,1\n33,52000,0\n61,41000,1\n";
//! let table = RawTable::from_csv(&pipeline, csv).unwrap();
//! let salts = Salts::fresh().unwrap();
//! let (proof, processed) =
//!     prove(&pipeline, &table, &salts, &FriBackend, FriConfig::KECCAK_ZK.name()).unwrap();
//! assert_eq!(proof.kept, vec![4]); // the 17-year-old is filtered out
//! let verified = proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
//! assert_eq!(verified.train_commitment, processed.train.commitment);
//! assert_eq!(proof.raw_commitment, table.commitment(&pipeline, &salts.raw));
//! ```
//!
//! (The doctest uses `toml`, a dev-dependency; the crate reads any serde format.)

// This crate reads untrusted CSV, TOML and proof files: no indexing that can panic.
#![warn(clippy::indexing_slicing)]

mod build;
mod error;
mod init;
mod spec;
mod table;

pub use build::{MAX_SCALE_BITS, RAW_GROUP, SALT_LEN, TEST_GROUP, TRAIN_GROUP};
pub use error::PreprocessError;
pub use init::{ColumnChoice, InitOptions, init_pipeline};
pub use spec::{Cmp, ColumnSpec, Fill, Given, OutputSpec, PIPELINE_VERSION, Pipeline, Stat, Step};
pub use table::{
    MAX_CELLS, RAW_TAG, RAW_VALUE_BITS, RAW_VERSION, RawColumn, RawTable, raw_commitment,
    schema_header,
};
pub use zkmlops_tensor::composite::ColumnProfile;

use serde::{Deserialize, Serialize};
use zkmlops_commit::{Digest, TableLayout};
use zkmlops_proof::{Backend, ProofEnvelope, StageTag, VerifyPolicy};
use zkmlops_tensor::TensorId;

use build::{Built, Mode, build};

/// Version of the [`PreprocessProof`] format.
pub const PROOF_VERSION: u32 = 1;

/// The prover's secret salts: the raw table's and the two processed splits'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Salts {
    /// Raw-table salt.
    pub raw: [i64; SALT_LEN],
    /// Training-split salt (give it to the training stage).
    pub train: [i64; SALT_LEN],
    /// Test-split salt (give it to the evaluation stage).
    pub test: [i64; SALT_LEN],
}

impl Salts {
    /// Fresh salts from the operating system's generator.
    ///
    /// # Errors
    /// [`PreprocessError::Entropy`].
    pub fn fresh() -> Result<Self, PreprocessError> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::try_from_rng(&mut rand::rngs::SysRng)
            .map_err(|_| PreprocessError::Entropy)?;
        let mut salt = || core::array::from_fn(|_| rng.random_range(-(1i64 << 62)..(1i64 << 62)));
        Ok(Salts {
            raw: salt(),
            train: salt(),
            test: salt(),
        })
    }
}

/// A published statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatValue {
    /// The `stats` step (0-based index in the pipeline).
    pub step: usize,
    /// The column.
    pub column: String,
    /// Which statistic.
    pub stat: Stat,
    /// The exact fixed-point value (the count: the number of rows).
    pub value: i64,
    /// Its scale exponent (0 for the count, twice the column's for the variance).
    pub scale_bits: u32,
}

impl StatValue {
    /// The value as a real number.
    #[must_use]
    pub fn real(&self) -> f64 {
        self.value as f64 / f64::from(1u32 << self.scale_bits.min(31)).max(1.0)
    }
}

/// A preprocessing proof and its public claim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PreprocessProof {
    /// [`PROOF_VERSION`].
    pub version: u32,
    /// The pipeline.
    pub pipeline: Pipeline,
    /// Rows of the raw table.
    pub rows: usize,
    /// Rows each filter keeps, in pipeline order.
    pub kept: Vec<usize>,
    /// The raw table's commitment.
    pub raw_commitment: Digest,
    /// The training split's commitment (what training consumes).
    pub train_commitment: Digest,
    /// Training rows.
    pub train_rows: usize,
    /// The test split's commitment, when the pipeline has one.
    pub test_commitment: Option<Digest>,
    /// Test rows.
    pub test_rows: usize,
    /// Published statistics, in pipeline order.
    pub stats: Vec<StatValue>,
    /// The training split's profile (per feature: mean, variance, histogram over the
    /// pipeline's `output.profile_edges`), when the pipeline asks for one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<ColumnProfile>,
    /// The proof.
    pub envelope: ProofEnvelope,
}

/// Binary (`ZKMS`, docs/formats.md) and JSON forms of the file.
impl zkmlops_proof::StageFile for PreprocessProof {
    const KIND: zkmlops_proof::StageFileKind = zkmlops_proof::StageFileKind::Preprocessing;
}

/// What a verified proof establishes.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedPreprocessing {
    /// The raw table's commitment.
    pub raw_commitment: Digest,
    /// The training split's commitment and layout.
    pub train_commitment: Digest,
    /// Its layout (rows, features, labels, scale).
    pub train_layout: TableLayout,
    /// The test split's commitment and layout.
    pub test: Option<(Digest, TableLayout)>,
    /// The statistics, checked against the proof.
    pub stats: Vec<StatValue>,
    /// The training split's profile, checked against the proof.
    pub profile: Option<ColumnProfile>,
}

/// One processed split, private to the prover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessedSplit {
    /// Layout.
    pub layout: TableLayout,
    /// Features, row-major, at the layout's scale.
    pub x: Vec<i64>,
    /// Labels, row-major, at the layout's scale.
    pub y: Vec<i64>,
    /// Its commitment (with the split's salt).
    pub commitment: Digest,
}

impl ProcessedSplit {
    /// The split as the training stage's CSV: the feature names, then `label` (the integer
    /// class: the label's value, or the index of the hot column of a one-hot label). Values
    /// are printed exactly (`q / 2^scale`), so re-encoding gives the committed integers.
    ///
    /// # Errors
    /// [`PreprocessError::Label`] for a label that is not an integer class.
    pub fn to_csv(&self, features: &[String]) -> Result<String, PreprocessError> {
        let l = self.layout;
        let unit = 1i64 << l.scale_bits;
        let mut out = features.join(",");
        out.push_str(",label\n");
        let rows = (0..l.rows).map(|r| {
            (
                self.x
                    .get(r * l.features..(r + 1) * l.features)
                    .unwrap_or_default(),
                self.y
                    .get(r * l.labels..(r + 1) * l.labels)
                    .unwrap_or_default(),
            )
        });
        for (r, (xs, ys)) in rows.enumerate() {
            for &q in xs {
                out.push_str(&format!("{},", q as f64 / unit as f64));
            }
            let label = match ys {
                [y] => (y % unit == 0).then(|| y / unit),
                _ => {
                    let hot: Vec<usize> = (0..ys.len())
                        .filter(|&i| ys.get(i) == Some(&unit))
                        .collect();
                    let cold = ys.iter().filter(|&&v| v == 0).count();
                    match hot[..] {
                        [h] if cold + 1 == ys.len() => Some(i64::try_from(h).unwrap_or(0)),
                        _ => None,
                    }
                }
            };
            let label = label.ok_or(PreprocessError::Label { row: r })?;
            out.push_str(&format!("{label}\n"));
        }
        Ok(out)
    }
}

/// The processed dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The training split.
    pub train: ProcessedSplit,
    /// The test split.
    pub test: Option<ProcessedSplit>,
}

fn group_digest(env: &ProofEnvelope, k: usize) -> Option<Digest> {
    zkmlops_commit::statement_digest(&env.statement, k)
}

/// Prove a pipeline on a raw table.
///
/// # Errors
/// [`PreprocessError`]: bad pipeline, a step failing on the data (naming step and column), a
/// constant column, an empty filter, or the backend's refusal (its limits name the tensor,
/// `s{step}/{op}/{column}/...`).
pub fn prove(
    pipeline: &Pipeline,
    table: &RawTable,
    salts: &Salts,
    backend: &dyn Backend,
    preset: &str,
) -> Result<(PreprocessProof, Processed), PreprocessError> {
    if table.columns.len() != pipeline.columns.len() {
        return Err(PreprocessError::Spec {
            what: "the table's column count",
            name: table.columns.len().to_string(),
            allowed: "the pipeline's",
        });
    }
    let built = build(pipeline, &Mode::Prove { table, salts })?;
    let witness = built.program.evaluate(&built.inputs)?;
    let envelope = backend.prove(&built.program, &witness, StageTag::Preprocessing, preset)?;
    let get = |id: TensorId| {
        witness
            .get(id)
            .map(|t| t.data().to_vec())
            .unwrap_or_default()
    };
    let split = |(x, y, layout): (TensorId, TensorId, TableLayout), salt: &[i64; SALT_LEN]| {
        let (x, y) = (get(x), get(y));
        ProcessedSplit {
            layout,
            commitment: layout.commit(salt, &x, &y),
            x,
            y,
        }
    };
    let train = split(built.train, &salts.train);
    let test = built.test.map(|t| split(t, &salts.test));
    let stats = built
        .stats
        .iter()
        .map(|s| StatValue {
            step: s.step,
            column: s.column.clone(),
            stat: s.stat,
            value: s
                .id
                .map_or(i64::try_from(s.count).unwrap_or(i64::MAX), |id| {
                    get(id).first().copied().unwrap_or(0)
                }),
            scale_bits: s.scale_bits,
        })
        .collect();
    let proof = PreprocessProof {
        version: PROOF_VERSION,
        pipeline: pipeline.clone(),
        rows: table.rows,
        kept: built.kept,
        raw_commitment: table.commitment(pipeline, &salts.raw),
        train_commitment: train.commitment,
        train_rows: train.layout.rows,
        test_commitment: test.as_ref().map(|t| t.commitment),
        test_rows: test.as_ref().map_or(0, |t| t.layout.rows),
        stats,
        profile: built.profile.as_ref().and_then(|(ids, edges)| {
            ColumnProfile::read(
                ids,
                |id| witness.get(id).map(|t| t.data().to_vec()),
                (train.layout.rows, train.layout.features),
                edges,
                pipeline.output.scale_bits,
            )
        }),
        envelope,
    };
    Ok((proof, Processed { train, test }))
}

impl PreprocessProof {
    /// Verify: rebuild the Program from the public pipeline, raw row count and filter counts,
    /// check the proof, its stage, its three commitments and every published statistic.
    ///
    /// # Errors
    /// The first [`PreprocessError`] found.
    pub fn verify(
        &self,
        backend: &dyn Backend,
        policy: &VerifyPolicy,
    ) -> Result<VerifiedPreprocessing, PreprocessError> {
        if self.version != PROOF_VERSION {
            return Err(PreprocessError::Version {
                expected: PROOF_VERSION,
                found: self.version,
            });
        }
        let built: Built = build(
            &self.pipeline,
            &Mode::Verify {
                rows: self.rows,
                kept: &self.kept,
            },
        )?;
        let v = backend.verify(&built.program, &self.envelope, policy)?;
        if v.statement.stage != StageTag::Preprocessing {
            return Err(PreprocessError::Stage {
                found: v.statement.stage,
            });
        }
        let env = &self.envelope;
        let groups = 2 + usize::from(built.test.is_some());
        if env.statement.commitments.len() != groups {
            return Err(PreprocessError::Commitment { which: "test" });
        }
        if group_digest(env, 0) != Some(self.raw_commitment) {
            return Err(PreprocessError::Commitment { which: "raw" });
        }
        if group_digest(env, 1) != Some(self.train_commitment) {
            return Err(PreprocessError::Commitment { which: "train" });
        }
        let test = match (&built.test, self.test_commitment) {
            (Some((_, _, layout)), Some(d)) if group_digest(env, 2) == Some(d) => {
                Some((d, *layout))
            }
            (None, None) => None,
            _ => return Err(PreprocessError::Commitment { which: "test" }),
        };
        let (_, _, train_layout) = built.train;
        let test_rows = test.map_or(0, |(_, l)| l.rows);
        if train_layout.rows != self.train_rows || test_rows != self.test_rows {
            return Err(PreprocessError::Rows {
                expected: train_layout.rows + test_rows,
                found: self.train_rows + self.test_rows,
            });
        }
        if built.stats.len() != self.stats.len() {
            return Err(PreprocessError::Statistic {
                step: 0,
                column: String::new(),
                stat: "count of statistics",
            });
        }
        for (want, got) in built.stats.iter().zip(&self.stats) {
            let proved = match want.id {
                None => i64::try_from(want.count).ok(),
                Some(id) => v
                    .statement
                    .public
                    .iter()
                    .find(|p| p.id == id)
                    .and_then(|p| p.values.first().copied()),
            };
            if want.step != got.step
                || want.column != got.column
                || want.stat != got.stat
                || want.scale_bits != got.scale_bits
                || proved != Some(got.value)
            {
                return Err(PreprocessError::Statistic {
                    step: got.step,
                    column: got.column.clone(),
                    stat: got.stat.name(),
                });
            }
        }
        let proved_profile = built.profile.as_ref().map(|(ids, edges)| {
            ColumnProfile::read(
                ids,
                |id| {
                    v.statement
                        .public
                        .iter()
                        .find(|p| p.id == id)
                        .map(|p| p.values.clone())
                },
                (train_layout.rows, train_layout.features),
                edges,
                self.pipeline.output.scale_bits,
            )
        });
        let profile = match (proved_profile, &self.profile) {
            (None, None) => None,
            (Some(Some(proved)), Some(claimed)) if proved == *claimed => Some(proved),
            _ => {
                return Err(PreprocessError::Statistic {
                    step: self.pipeline.steps.len(),
                    column: "output".into(),
                    stat: "profile",
                });
            }
        };
        Ok(VerifiedPreprocessing {
            raw_commitment: self.raw_commitment,
            train_commitment: self.train_commitment,
            train_layout,
            test,
            stats: self.stats.clone(),
            profile,
        })
    }
}

/// Access to the Program a proof is checked against, for tests that tamper with witnesses.
#[doc(hidden)]
pub mod testing {
    use super::{Mode, Pipeline, PreprocessError, PreprocessProof, RawTable, Salts, build};

    /// The Program the verifier rebuilds for `proof`.
    ///
    /// # Errors
    /// As [`PreprocessProof::verify`].
    pub fn program(proof: &PreprocessProof) -> Result<zkmlops_tensor::Program, PreprocessError> {
        Ok(build(
            &proof.pipeline,
            &Mode::Verify {
                rows: proof.rows,
                kept: &proof.kept,
            },
        )?
        .program)
    }

    /// The prover's Program inputs, in declaration order.
    ///
    /// # Errors
    /// As [`super::prove`].
    pub fn inputs(
        pipeline: &Pipeline,
        table: &RawTable,
        salts: &Salts,
    ) -> Result<Vec<zkmlops_tensor::Tensor>, PreprocessError> {
        Ok(build(pipeline, &Mode::Prove { table, salts })?.inputs)
    }
}
