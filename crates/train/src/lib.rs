//! The training stage, first part: fixed-point SGD for logistic regression written as a
//! Program, so that the integer reference semantics of every step (forward, loss gradient,
//! backward, update) are the Program's and any backend can prove a run of steps.
//!
//! A *segment* is one Program of `k` SGD steps: inputs are the starting weights and the `k`
//! batches, outputs the weights after the last step. The hyperparameters (learning rate, batch
//! size, step count, scales, the sigmoid table) are constants of the Program, so its digest
//! binds them. Chaining segments by weight commitments and the offline-metrics statement are
//! the parts still to build (see `docs/training.md`).
//!
//! ```
//! use zkmlops_train::{Dataset, Link, LogRegSpec, train};
//!
//! let csv = "a,b,label\n0.5,1.0,1\n-0.5,-1.0,0\n1.0,0.5,1\n-1.0,-0.5,0\n";
//! let data = Dataset::from_csv(csv)?;
//! let spec = LogRegSpec { features: 2, batch: 2, learning_rate: 0.5, scale_bits: 10, value_bits: zkmlops_train::DATA_VALUE_BITS, link: Link::Logistic };
//! let run = train(&spec, &data, 1, 20)?;             // 20 steps, one step per segment
//! assert!(run.losses.last() < run.losses.first());    // it learns
//! assert_eq!(run.model.accuracy(&data), 1.0);
//! # Ok::<(), zkmlops_train::TrainError>(())
//! ```

mod data;
mod freivalds;
mod logreg;
mod metrics;
mod mlp;
mod predict;
mod transcript;

pub use data::Dataset;
pub use freivalds::{
    CHALLENGE_BITS, CHALLENGES, ProductProof, challenge, product_check_program, prove_product,
};
pub use logreg::{
    DATA_GROUP, DATA_VALUE_BITS, END_GROUP, Link, LogRegSpec, MAX_DATA_ELEMENTS, Model, Run,
    SALT_LEN, START_GROUP, Salts, TrainError, affine, data_commitment, model_commitment,
    quantize_data, segment_inputs, segment_program, sgd_f64, table_layout, train,
};
pub use metrics::{
    ATTRIBUTE_GROUP, FairnessClaim, MODEL_GROUP, MetricsError, MetricsProof, TEST_GROUP,
    fairness_metrics_program, metrics_program, mlp_metrics_program, prove_fairness_metrics,
    prove_metrics, prove_mlp_metrics,
};
pub use mlp::{MlpModel, MlpSpec, mlp_layout, mlp_segment_inputs, mlp_segment_program, train_mlp};
pub use predict::{PREDICT_MODEL_GROUP, PredictionProof, prediction_program, prove_prediction};
pub use transcript::{
    ModelSpec, RunError, RunSalts, TRANSCRIPT_VERSION, TrainingTranscript, TranscriptError,
    mlp_data_commitment, mlp_model_commitment, prove_mlp_run, prove_run, segment_links,
};
