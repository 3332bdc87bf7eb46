//! Logistic regression trained by mini-batch SGD in fixed point, as Programs.

use thiserror::Error;
use zkmlops_field::Scale;
use zkmlops_lookup::Function;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{
    Op, Program, ProgramBuilder, ProgramError, Tensor, TensorId, Visibility, composite,
};

use crate::Dataset;

/// The sigmoid's requested domain `[-16, 16]` (beyond it, constant to below `2^-20`);
/// `composite::nonlinear` cuts it further to where the rounded output has saturated.
pub(crate) const SIGMOID_RADIUS: f64 = 16.0;
/// Scale of the learning-rate constant `lr / batch`.
pub(crate) const LR_SCALE_BITS: u32 = 16;

/// An error of the training stage.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TrainError {
    /// A CSV cell or line that cannot be read.
    #[error("CSV line {line}, column {column}: {what}")]
    Csv {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A hyperparameter out of range.
    #[error("`{name}` = {value} is out of range ({allowed})")]
    Spec {
        /// The hyperparameter.
        name: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
    /// The dataset does not fit the spec.
    #[error("dataset: {what} (row {row})")]
    Data {
        /// The first offending row (0-based).
        row: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// Building or evaluating a segment Program failed (an overflow names the tensor).
    #[error(transparent)]
    Program(#[from] Box<ProgramError>),
    /// A tensor could not be formed (a value outside the fixed-point range).
    #[error(transparent)]
    Tensor(#[from] zkmlops_tensor::OpError),
}

impl From<ProgramError> for TrainError {
    fn from(e: ProgramError) -> Self {
        TrainError::Program(Box::new(e))
    }
}

/// The link of a linear model: what the segment applies to `z = x w + b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Link {
    /// Logistic regression: `p = sigmoid(z)`, cross-entropy gradient `p - y`, 0/1 labels.
    #[default]
    Logistic,
    /// Linear regression: `p = z`, the gradient of the halved squared error `z - y`, real
    /// targets ([`Dataset::regression_from_csv`]).
    Identity,
}

/// Hyperparameters of logistic- or linear-regression SGD.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LogRegSpec {
    /// Number of features.
    pub features: usize,
    /// Rows per batch (batches are consecutive rows; a last partial batch is dropped).
    pub batch: usize,
    /// Learning rate (the step is `lr * X^T (p - y) / batch`).
    pub learning_rate: f64,
    /// Fixed-point scale of data and weights, in bits.
    pub scale_bits: u32,
    /// Every dataset value lies in `[-2^(value_bits-1), 2^(value_bits-1))`, 1 to 31
    /// ([`crate::DATA_VALUE_BITS`], 24, when absent from a file): the dataset commitment packs
    /// the values with these bits ([`zkmlops_commit::TableLayout`]), so the stage that
    /// produced the dataset must declare the same (21 bits pack three values to a field
    /// element, 24 two).
    #[serde(default = "data_value_bits")]
    pub value_bits: u8,
    /// Logistic (the default when absent from a file) or linear regression.
    #[serde(default)]
    pub link: Link,
}

/// The bits of a dataset value unless a spec says otherwise: a Program input's default
/// ([`zkmlops_commit::TABLE_VALUE_BITS`]).
pub const DATA_VALUE_BITS: u8 = zkmlops_commit::TABLE_VALUE_BITS;

pub(crate) fn data_value_bits() -> u8 {
    DATA_VALUE_BITS
}

/// `value_bits` within `1..=31`.
pub(crate) fn check_value_bits(bits: u8) -> Result<(), TrainError> {
    if (1..=zkmlops_commit::MAX_PACK_BITS).contains(&bits) {
        Ok(())
    } else {
        Err(TrainError::Spec {
            name: "value_bits",
            value: bits.to_string(),
            allowed: "1..=31",
        })
    }
}

impl LogRegSpec {
    fn scale(&self) -> Result<Scale, TrainError> {
        Scale::new(self.scale_bits)
            .ok()
            .filter(|_| (4..=16).contains(&self.scale_bits))
            .ok_or(TrainError::Spec {
                name: "scale_bits",
                value: self.scale_bits.to_string(),
                allowed: "4..=16",
            })
    }

    fn check(&self) -> Result<Scale, TrainError> {
        if self.features == 0 || self.batch == 0 {
            return Err(TrainError::Spec {
                name: "features and batch",
                value: format!("{} and {}", self.features, self.batch),
                allowed: "at least 1",
            });
        }
        check_value_bits(self.value_bits)?;
        self.scale()
    }
}

/// Quantized weights `w` (one per feature) and bias `b`, at `2^scale_bits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// Scale in bits.
    pub scale_bits: u32,
    /// Weights.
    pub w: Vec<i64>,
    /// Bias.
    pub b: i64,
}

impl Model {
    /// All-zero weights.
    #[must_use]
    pub fn zeros(spec: &LogRegSpec) -> Self {
        Model {
            scale_bits: spec.scale_bits,
            w: vec![0; spec.features],
            b: 0,
        }
    }

    fn decode(&self, v: i64) -> f64 {
        v as f64 / f64::from(1u32 << self.scale_bits.min(31))
    }

    /// `P(label = 1 | x)` in `f64` from the decoded weights.
    #[must_use]
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z: f64 = self.decode(self.b)
            + x.iter()
                .zip(&self.w)
                .map(|(a, &w)| a * self.decode(w))
                .sum::<f64>();
        1.0 / (1.0 + (-z).exp())
    }

    /// Fraction of rows whose thresholded prediction equals the label.
    #[must_use]
    pub fn accuracy(&self, data: &Dataset) -> f64 {
        let correct = data
            .features
            .iter()
            .zip(&data.labels)
            .filter(|(x, y)| i64::from(self.probability(x) >= 0.5) == **y)
            .count();
        correct as f64 / data.len().max(1) as f64
    }

    /// `z = x w + b` in `f64` from the decoded weights (the linear model's prediction).
    #[must_use]
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.decode(self.b)
            + x.iter()
                .zip(&self.w)
                .map(|(a, &w)| a * self.decode(w))
                .sum::<f64>()
    }

    /// Mean squared error against the targets (linear regression).
    #[must_use]
    pub fn mse(&self, data: &Dataset) -> f64 {
        let total: f64 = data
            .features
            .iter()
            .zip(&data.targets)
            .map(|(x, &t)| (self.predict(x) - t).powi(2))
            .sum();
        total / data.len().max(1) as f64
    }

    /// The training loss of `link`: mean log loss (logistic) or mean squared error (linear).
    #[must_use]
    pub fn loss_for(&self, link: Link, data: &Dataset) -> f64 {
        match link {
            Link::Logistic => self.loss(data),
            Link::Identity => self.mse(data),
        }
    }

    /// Mean log loss over the data.
    #[must_use]
    pub fn loss(&self, data: &Dataset) -> f64 {
        let total: f64 = data
            .features
            .iter()
            .zip(&data.labels)
            .map(|(x, &y)| {
                let p = self.probability(x).clamp(1e-12, 1.0 - 1e-12);
                if y == 1 { -p.ln() } else { -(1.0 - p).ln() }
            })
            .sum();
        total / data.len().max(1) as f64
    }
}

/// Commitment groups of a segment Program (lineage groups: independent of the Program).
pub const DATA_GROUP: u16 = 1;
/// The segment's starting weights.
pub const START_GROUP: u16 = 2;
/// The segment's final weights.
pub const END_GROUP: u16 = 3;
/// Elements of every salt.
pub const SALT_LEN: usize = 4;

/// The Program of `steps` SGD steps starting at global step `first`, over a dataset of `rows`
/// rows. Inputs, in order, each committed in its group (salt first):
///
/// - data (group 1): `data/salt [4]`, `data/x [rows, d]`, `data/y [rows, 1]`, and the
///   constant `data/header` of the dataset layout ([`table_layout`]);
/// - start weights (group 2): `start/salt [4]`, `w0 [d, 1]`, `b0 [1, 1]`;
/// - `end/salt [4]` (group 3, with the final `w`, `b` that the Program computes).
///
/// Step `t` slices its batch (`(first + t) mod (rows / batch)`) out of the committed data, so
/// the Program fixes the schedule. Per step, at scale `s`:
///
/// ```text
/// z = rescale(x w) + b;  p = sigmoid_table(z);  delta = p - y
/// gw = rescale(x^T delta);  gb = sum_rows(delta)
/// w -= rescale(gw * lr/batch);  b -= rescale(gb * lr/batch)      (lr/batch a constant at 2^16)
/// ```
///
/// # Errors
/// [`TrainError::Spec`] for bad hyperparameters, [`TrainError::Program`] from the builder.
pub fn segment_program(
    spec: &LogRegSpec,
    rows: usize,
    first: usize,
    steps: usize,
) -> Result<Program, TrainError> {
    let s = spec.check()?;
    if steps == 0 {
        return Err(TrainError::Spec {
            name: "steps",
            value: "0".into(),
            allowed: "at least 1",
        });
    }
    if rows < spec.batch {
        return Err(TrainError::Data {
            row: rows,
            what: "fewer rows than one batch",
        });
    }
    check_size(rows, spec.features)?;
    let (d, bsz) = (spec.features, spec.batch);
    let rescale = |shift| Op::Rescale {
        shift,
        rounding: Rounding::HalfUp,
    };
    let data = Visibility::CommittedTo(DATA_GROUP);
    let start = Visibility::CommittedTo(START_GROUP);
    let end = Visibility::CommittedTo(END_GROUP);
    let mut b = ProgramBuilder::new();
    b.unbounded_input("data/salt", &[SALT_LEN], s, data);
    let xs = b.input("data/x", &[rows, d], s, data);
    let ys = b.input("data/y", &[rows, 1], s, data);
    b.unbounded_input("start/salt", &[SALT_LEN], s, start);
    let mut w = b.input("w0", &[d, 1], s, start);
    let mut bias = b.input("b0", &[1, 1], s, start);
    b.unbounded_input("end/salt", &[SALT_LEN], s, end);
    let lr = lr_constant(&mut b, spec.learning_rate, bsz)?;
    for t in 0..steps {
        let x = b.op(&format!("s{t}/x"), batch_slice(bsz, rows, first + t), &[xs])?;
        let y = b.op(&format!("s{t}/y"), batch_slice(bsz, rows, first + t), &[ys])?;
        let z = affine(&mut b, &format!("s{t}/"), x, w, bias, s)?;
        let p = match spec.link {
            Link::Logistic => composite::nonlinear(
                &mut b,
                &format!("s{t}/p"),
                z,
                Function::Sigmoid,
                s,
                s,
                -SIGMOID_RADIUS,
                SIGMOID_RADIUS,
            )?,
            Link::Identity => z,
        };
        let delta = b.op(&format!("s{t}/delta"), Op::Sub, &[p, y])?;
        let gw = b.op(
            &format!("s{t}/gw"),
            Op::Gemm {
                trans_a: true,
                trans_b: false,
            },
            &[x, delta],
        )?;
        let gw = b.op(&format!("s{t}/gw_s"), rescale(s.bits()), &[gw])?;
        let gb = b.op(
            &format!("s{t}/gb"),
            Op::Sum {
                axes: vec![0],
                keep_dims: true,
            },
            &[delta],
        )?;
        let sw = b.op(&format!("s{t}/step_w"), Op::Mul, &[gw, lr])?;
        let sw = b.op(&format!("s{t}/step_w_s"), rescale(LR_SCALE_BITS), &[sw])?;
        let sb = b.op(&format!("s{t}/step_b"), Op::Mul, &[gb, lr])?;
        let sb = b.op(&format!("s{t}/step_b_s"), rescale(LR_SCALE_BITS), &[sb])?;
        w = b.op(&format!("w{}", t + 1), Op::Sub, &[w, sw])?;
        bias = b.op(&format!("b{}", t + 1), Op::Sub, &[bias, sb])?;
    }
    b.output(w, end)?;
    b.output(bias, end)?;
    // After the weights: outputs 0 and 1 stay the final `w`, `b`.
    let layout = table_layout(spec, rows);
    layout.declare(&mut b, xs, ys)?;
    layout.add_header(&mut b, "data", DATA_GROUP)?;
    Ok(b.build()?)
}

/// The secret salts of one segment: the dataset's (the same in every segment of a run), the
/// start weights' and the end weights' (the next segment's start salt).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Salts {
    /// Data salt.
    pub data: [i64; SALT_LEN],
    /// Start-weights salt.
    pub start: [i64; SALT_LEN],
    /// End-weights salt.
    pub end: [i64; SALT_LEN],
}

pub(crate) fn scale_of(spec: &LogRegSpec) -> Result<Scale, TrainError> {
    spec.scale()
}

/// Largest committed dataset a segment or metrics Program takes (`rows * columns`): the
/// sizes come from public, possibly untrusted files, and a verifier rebuilds the Program.
pub const MAX_DATA_ELEMENTS: usize = 1 << 26;

pub(crate) fn check_size(rows: usize, columns: usize) -> Result<(), TrainError> {
    match rows.checked_mul(columns.saturating_add(1)) {
        Some(n) if n <= MAX_DATA_ELEMENTS => Ok(()),
        _ => Err(TrainError::Spec {
            name: "rows x features",
            value: format!("{rows} x {columns}"),
            allowed: "at most 2^26 elements",
        }),
    }
}

/// Rows of batch `k` (consecutive rows; `n / batch` batches an epoch).
fn batch_rows(batch: usize, n: usize, k: usize) -> std::ops::Range<usize> {
    let per_epoch = (n / batch.max(1)).max(1);
    let start = (k % per_epoch) * batch;
    start..start + batch
}

/// The slice of the committed rows that global step `k` trains on.
pub(crate) fn batch_slice(batch: usize, n: usize, k: usize) -> Op {
    let rows = batch_rows(batch, n, k);
    Op::Slice {
        axis: 0,
        start: rows.start,
        end: rows.end,
    }
}

/// The Program constant `learning_rate / batch` at `2^16`, the factor of every update.
///
/// # Errors
/// [`TrainError::Spec`] unless `0 < learning_rate / batch < 1`.
pub(crate) fn lr_constant(
    b: &mut ProgramBuilder,
    learning_rate: f64,
    batch: usize,
) -> Result<TensorId, TrainError> {
    let step = learning_rate / batch.max(1) as f64;
    let bad = || TrainError::Spec {
        name: "learning_rate",
        value: learning_rate.to_string(),
        allowed: "0 < learning_rate / batch < 1",
    };
    let scale = Scale::new(LR_SCALE_BITS).map_err(|_| bad())?;
    let value = scale
        .encode(step)
        .ok()
        .filter(|_| step > 0.0 && step < 1.0)
        .ok_or_else(bad)?;
    Ok(b.constant(
        "lr_over_batch",
        Tensor::new(vec![1, 1], vec![value])?,
        scale,
    )?)
}

fn check_data(spec: &LogRegSpec, data: &Dataset) -> Result<(), TrainError> {
    if data.len() < spec.batch {
        return Err(TrainError::Data {
            row: data.len(),
            what: "fewer rows than one batch",
        });
    }
    if let Some(r) = data.features.iter().position(|f| f.len() != spec.features) {
        return Err(TrainError::Data {
            row: r,
            what: "wrong number of features",
        });
    }
    match spec.link {
        Link::Logistic => {
            if data.labels.len() != data.len() {
                return Err(TrainError::Data {
                    row: data.labels.len(),
                    what: "logistic regression needs an integer label per row",
                });
            }
            if let Some(r) = data.labels.iter().position(|&y| y != 0 && y != 1) {
                return Err(TrainError::Data {
                    row: r,
                    what: "a label other than 0 or 1",
                });
            }
        }
        Link::Identity => {
            if data.targets.len() != data.len() {
                return Err(TrainError::Data {
                    row: data.targets.len(),
                    what: "linear regression needs a target per row",
                });
            }
        }
    }
    Ok(())
}

/// The dataset quantized: `x [rows, d]` and `y [rows, 1]` (labels at the scale: 0 or `2^s`;
/// targets encoded at the scale for linear regression).
///
/// # Errors
/// [`TrainError::Data`] naming the first row that does not fit.
pub fn quantize_data(spec: &LogRegSpec, data: &Dataset) -> Result<(Tensor, Tensor), TrainError> {
    check_data(spec, data)?;
    let s = spec.scale()?;
    let mut x = Vec::with_capacity(data.len() * spec.features);
    for (r, row) in data.features.iter().enumerate() {
        for &v in row {
            x.push(s.encode(v).map_err(|_| TrainError::Data {
                row: r,
                what: "a feature does not fit the fixed-point range",
            })?);
        }
    }
    let y = match spec.link {
        Link::Logistic => data.labels.iter().map(|&l| l << s.bits()).collect(),
        Link::Identity => data
            .targets
            .iter()
            .enumerate()
            .map(|(r, &t)| {
                s.encode(t).map_err(|_| TrainError::Data {
                    row: r,
                    what: "a target does not fit the fixed-point range",
                })
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    Ok((
        Tensor::new(vec![data.len(), spec.features], x)?,
        Tensor::new(vec![data.len(), 1], y)?,
    ))
}

/// The inputs of a segment Program, in its declaration order.
///
/// # Errors
/// As [`quantize_data`].
pub fn segment_inputs(
    spec: &LogRegSpec,
    model: &Model,
    data: &Dataset,
    salts: &Salts,
) -> Result<Vec<Tensor>, TrainError> {
    let (x, y) = quantize_data(spec, data)?;
    Ok(vec![
        Tensor::vector(salts.data.to_vec()),
        x,
        y,
        Tensor::vector(salts.start.to_vec()),
        Tensor::new(vec![spec.features, 1], model.w.clone())?,
        Tensor::new(vec![1, 1], vec![model.b])?,
        Tensor::vector(salts.end.to_vec()),
    ])
}

/// The lineage commitment of a model with its salt (what segments link through).
#[must_use]
pub fn model_commitment(model: &Model, salt: &[i64; SALT_LEN]) -> zkmlops_commit::Digest {
    zkmlops_commit::commit_lineage(&[salt.as_slice(), &model.w, &[model.b]])
}

/// The lineage commitment of a quantized dataset with its salt.
///
/// # Errors
/// As [`quantize_data`].
pub fn data_commitment(
    spec: &LogRegSpec,
    data: &Dataset,
    salt: &[i64; SALT_LEN],
) -> Result<zkmlops_commit::Digest, TrainError> {
    let (x, y) = quantize_data(spec, data)?;
    Ok(table_layout(spec, data.len()).commit(salt, x.data(), y.data()))
}

/// The committed layout of a logistic-regression dataset of `rows` rows: `features` columns
/// and one label column (`0` or `2^s`), all at the spec's scale.
#[must_use]
pub fn table_layout(spec: &LogRegSpec, rows: usize) -> zkmlops_commit::TableLayout {
    zkmlops_commit::TableLayout {
        rows,
        features: spec.features,
        labels: 1,
        scale_bits: spec.scale_bits,
        value_bits: spec.value_bits,
    }
}

pub(crate) fn read_model(
    spec: &LogRegSpec,
    program: &Program,
    witness: &zkmlops_tensor::Witness,
) -> Model {
    let get = |id: TensorId| {
        witness
            .get(id)
            .map(|t| t.data().to_vec())
            .unwrap_or_default()
    };
    let outs = program.outputs();
    Model {
        scale_bits: spec.scale_bits,
        w: get(outs[0]),
        b: get(outs[1]).first().copied().unwrap_or(0),
    }
}

/// A training run by the integer reference.
#[derive(Debug, Clone)]
pub struct Run {
    /// The final model.
    pub model: Model,
    /// Mean log loss over the data before the first segment and after each one.
    pub losses: Vec<f64>,
    /// The model at each segment boundary (the first is the initial model).
    pub checkpoints: Vec<Model>,
}

/// Train from zero weights for `total_steps`, `steps_per_segment` steps per segment Program,
/// by the integer reference semantics (`Program::evaluate`).
///
/// # Errors
/// As [`segment_program`] and [`segment_inputs`]; an overflow names the tensor.
pub fn train(
    spec: &LogRegSpec,
    data: &Dataset,
    steps_per_segment: usize,
    total_steps: usize,
) -> Result<Run, TrainError> {
    let mut model = Model::zeros(spec);
    let mut losses = vec![model.loss_for(spec.link, data)];
    let mut checkpoints = vec![model.clone()];
    let mut step = 0;
    let salts = Salts {
        data: [0; SALT_LEN],
        start: [0; SALT_LEN],
        end: [0; SALT_LEN],
    };
    while step < total_steps {
        let program = segment_program(spec, data.len(), step, steps_per_segment)?;
        let inputs = segment_inputs(spec, &model, data, &salts)?;
        let witness = program.evaluate(&inputs)?;
        model = read_model(spec, &program, &witness);
        losses.push(model.loss_for(spec.link, data));
        checkpoints.push(model.clone());
        step += steps_per_segment;
    }
    Ok(Run {
        model,
        losses,
        checkpoints,
    })
}

/// The same SGD in `f64` (same batches, same schedule), for comparison.
#[must_use]
pub fn sgd_f64(spec: &LogRegSpec, data: &Dataset, steps: usize) -> (Vec<f64>, f64) {
    let mut w = vec![0.0; spec.features];
    let mut b = 0.0;
    for t in 0..steps {
        let mut gw = vec![0.0; spec.features];
        let mut gb = 0.0;
        for r in batch_rows(spec.batch, data.len(), t) {
            let x = &data.features[r];
            let z = b + x.iter().zip(&w).map(|(a, w)| a * w).sum::<f64>();
            let p = match spec.link {
                Link::Logistic => 1.0 / (1.0 + (-z).exp()),
                Link::Identity => z,
            };
            let delta = p - data.targets[r];
            gw.iter_mut().zip(x).for_each(|(g, a)| *g += delta * a);
            gb += delta;
        }
        let k = spec.learning_rate / spec.batch as f64;
        w.iter_mut().zip(&gw).for_each(|(w, g)| *w -= k * g);
        b -= k * gb;
    }
    (w, b)
}

/// `z = rescale(x w) + b` (half-up), the linear model's pre-activation at scale `s`; tensors
/// named `{prefix}xw`, `{prefix}xw_s`, `{prefix}z`. Every Program that evaluates a trained
/// linear model (segments, metrics, predictions, monitoring) computes it this way.
///
/// # Errors
/// [`TrainError::Program`] from the builder (shapes or scales that do not fit).
pub fn affine(
    b: &mut ProgramBuilder,
    prefix: &str,
    x: TensorId,
    w: TensorId,
    bias: TensorId,
    s: Scale,
) -> Result<TensorId, TrainError> {
    let z = b.op(&format!("{prefix}xw"), Op::MatMul, &[x, w])?;
    let z = b.op(
        &format!("{prefix}xw_s"),
        Op::Rescale {
            shift: s.bits(),
            rounding: Rounding::HalfUp,
        },
        &[z],
    )?;
    Ok(b.op(&format!("{prefix}z"), Op::Add, &[z, bias])?)
}
