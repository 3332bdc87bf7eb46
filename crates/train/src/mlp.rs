//! A one-hidden-layer MLP classifier (ReLU, softmax cross-entropy) trained by fixed-point
//! mini-batch SGD, as segment Programs over committed data and parameters (the same three
//! lineage groups as logistic regression: data, start parameters, end parameters). With
//! `hidden = 0` it is softmax regression: `logits = x W + b`.

use zkmlops_field::Scale;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility, composite};

use crate::logreg::{
    DATA_GROUP, END_GROUP, LR_SCALE_BITS, SALT_LEN, START_GROUP, batch_slice, lr_constant,
};
use crate::{Dataset, TrainError};

/// Hyperparameters of MLP SGD.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MlpSpec {
    /// Input features.
    pub inputs: usize,
    /// Hidden units (ReLU); 0 for softmax regression (no hidden layer).
    pub hidden: usize,
    /// Classes (softmax).
    pub classes: usize,
    /// Rows per batch (consecutive rows; a last partial batch is dropped).
    pub batch: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// Fixed-point scale of data and parameters, in bits.
    pub scale_bits: u32,
    /// Every dataset value's bits, as [`crate::LogRegSpec::value_bits`] (24 when absent).
    #[serde(default = "crate::logreg::data_value_bits")]
    pub value_bits: u8,
}

/// The parameters `W1 [in, hidden]`, `b1 [1, hidden]`, `W2 [hidden, classes]`,
/// `b2 [1, classes]` (softmax regression: `W [in, classes]`, `b [1, classes]`), quantized at
/// `2^scale_bits`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MlpModel {
    /// Scale in bits.
    pub scale_bits: u32,
    /// The parameter tensors, row-major, in the order above (four, or two without a hidden
    /// layer).
    pub params: Vec<Vec<i64>>,
}

impl MlpSpec {
    /// The digits MLP of the examples, tests and benchmarks: 64-32-10 on scikit-learn's digits
    /// (pixels / 16), batch 32, learning rate 0.5, scale 2^10.
    pub const DIGITS: MlpSpec = MlpSpec {
        inputs: 64,
        hidden: 32,
        classes: 10,
        batch: 32,
        learning_rate: 0.5,
        scale_bits: 10,
        value_bits: crate::DATA_VALUE_BITS,
    };

    fn scale(&self) -> Result<Scale, TrainError> {
        crate::logreg::check_value_bits(self.value_bits)?;
        Scale::new(self.scale_bits)
            .ok()
            .filter(|_| (4..=14).contains(&self.scale_bits))
            .ok_or(TrainError::Spec {
                name: "scale_bits",
                value: self.scale_bits.to_string(),
                allowed: "4..=14",
            })
    }

    /// The parameter shapes, in [`MlpModel::params`] order.
    #[must_use]
    pub fn shapes(&self) -> Vec<[usize; 2]> {
        if self.hidden == 0 {
            return vec![[self.inputs, self.classes], [1, self.classes]];
        }
        vec![
            [self.inputs, self.hidden],
            [1, self.hidden],
            [self.hidden, self.classes],
            [1, self.classes],
        ]
    }

    fn names(&self) -> &'static [&'static str] {
        if self.hidden == 0 {
            &["w", "b"]
        } else {
            &["w1", "b1", "w2", "b2"]
        }
    }
}

impl MlpModel {
    /// Deterministic small initial weights (uniform in `+-1/sqrt(fan_in)`, from `seed`), zero
    /// biases.
    #[must_use]
    pub fn init(spec: &MlpSpec, seed: u64) -> Self {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let unit = f64::from(1u32 << spec.scale_bits.min(30));
        let mut layer = |rows: usize, cols: usize| -> Vec<i64> {
            let bound = 1.0 / (rows as f64).sqrt();
            #[allow(clippy::cast_possible_truncation)]
            (0..rows * cols)
                .map(|_| (next() * bound * unit).round() as i64)
                .collect()
        };
        let params = if spec.hidden == 0 {
            vec![layer(spec.inputs, spec.classes), vec![0; spec.classes]]
        } else {
            let w1 = layer(spec.inputs, spec.hidden);
            let w2 = layer(spec.hidden, spec.classes);
            vec![w1, vec![0; spec.hidden], w2, vec![0; spec.classes]]
        };
        MlpModel {
            scale_bits: spec.scale_bits,
            params,
        }
    }

    fn real(&self, k: usize, i: usize) -> f64 {
        self.params[k][i] as f64 / f64::from(1u32 << self.scale_bits.min(30))
    }

    /// The logits of one row in `f64` from the decoded parameters.
    #[must_use]
    pub fn logits(&self, spec: &MlpSpec, x: &[f64]) -> Vec<f64> {
        if spec.hidden == 0 {
            return (0..spec.classes)
                .map(|c| {
                    self.real(1, c)
                        + x.iter()
                            .enumerate()
                            .map(|(i, v)| v * self.real(0, i * spec.classes + c))
                            .sum::<f64>()
                })
                .collect();
        }
        let h: Vec<f64> = (0..spec.hidden)
            .map(|j| {
                let z = self.real(1, j)
                    + x.iter()
                        .enumerate()
                        .map(|(i, v)| v * self.real(0, i * spec.hidden + j))
                        .sum::<f64>();
                z.max(0.0)
            })
            .collect();
        (0..spec.classes)
            .map(|c| {
                self.real(3, c)
                    + h.iter()
                        .enumerate()
                        .map(|(j, a)| a * self.real(2, j * spec.classes + c))
                        .sum::<f64>()
            })
            .collect()
    }

    /// Fraction of rows whose argmax logit is the label.
    #[must_use]
    pub fn accuracy(&self, spec: &MlpSpec, data: &Dataset) -> f64 {
        let correct = data
            .features
            .iter()
            .zip(&data.labels)
            .filter(|(x, y)| {
                let l = self.logits(spec, x);
                let best = (0..l.len()).fold(0, |b, i| if l[i] > l[b] { i } else { b });
                i64::try_from(best).ok() == Some(**y)
            })
            .count();
        correct as f64 / data.len().max(1) as f64
    }
}

/// The Program of `steps` MLP SGD steps from global step `first` over `rows` committed rows.
/// Inputs: `data/salt`, `data/x [rows, in]`, `data/y [rows, classes]` (one-hot at the scale;
/// with the constant `data/header` of the dataset layout they form commitment group 1);
/// `start/salt`, `w1`, `b1`, `w2`, `b2`; `end/salt`. The final parameters are committed with
/// `end/salt` (group 3). Per step, at scale `s` (`mask` is 1 where the pre-activation is
/// `>= 0`, computed on integers as `relu(h + 1) - relu(h)`):
///
/// ```text
/// h = rescale(x W1) + b1;  a = relu(h);  logits = rescale(a W2) + b2;  p = softmax(logits)
/// d2 = p - y;  gW2 = rescale(a^T d2);  gb2 = sum_rows(d2)
/// d1 = rescale(rescale(d2 W2^T) * mask);  gW1 = rescale(x^T d1);  gb1 = sum_rows(d1)
/// param -= rescale(grad * lr/batch)
/// ```
///
/// # Errors
/// [`TrainError`] for bad hyperparameters.
pub fn mlp_segment_program(
    spec: &MlpSpec,
    rows: usize,
    first: usize,
    steps: usize,
) -> Result<Program, TrainError> {
    let s = spec.scale()?;
    if steps == 0 || spec.batch == 0 || rows < spec.batch || spec.classes < 2 {
        return Err(TrainError::Spec {
            name: "steps, batch, rows, hidden, classes",
            value: format!(
                "{steps}, {}, {rows}, {}, {}",
                spec.batch, spec.hidden, spec.classes
            ),
            allowed: "steps >= 1, 1 <= batch <= rows, classes >= 2",
        });
    }
    crate::logreg::check_size(rows, spec.inputs + spec.classes)?;
    let rs = |shift| Op::Rescale {
        shift,
        rounding: Rounding::HalfUp,
    };
    let gemm = |trans_a, trans_b| Op::Gemm { trans_a, trans_b };
    let (data, start, end) = (
        Visibility::CommittedTo(DATA_GROUP),
        Visibility::CommittedTo(START_GROUP),
        Visibility::CommittedTo(END_GROUP),
    );
    let mut b = ProgramBuilder::new();
    b.unbounded_input("data/salt", &[SALT_LEN], s, data);
    let xs = b.input("data/x", &[rows, spec.inputs], s, data);
    let ys = b.input("data/y", &[rows, spec.classes], s, data);
    b.unbounded_input("start/salt", &[SALT_LEN], s, start);
    let names = spec.names();
    let mut p: Vec<TensorId> = names
        .iter()
        .zip(spec.shapes())
        .map(|(n, shape)| b.input(&format!("{n}_0"), &shape, s, start))
        .collect();
    b.unbounded_input("end/salt", &[SALT_LEN], s, end);
    let lr = lr_constant(&mut b, spec.learning_rate, spec.batch)?;
    // The ReLU-mask constants (MLP only).
    let mask_constants = if spec.hidden > 0 {
        Some([
            b.constant("zero", Tensor::new(vec![1, 1], vec![0])?, s)?,
            b.constant("one", Tensor::new(vec![1, 1], vec![1i64 << s.bits()])?, s)?,
        ])
    } else {
        None
    };
    #[allow(clippy::cast_possible_truncation)]
    let exp_lo = -(std::f64::consts::LN_2 * f64::from(s.bits() + 1) * s.factor()).ceil() as i64;
    for t in 0..steps {
        let n = |x: &str| format!("s{t}/{x}");
        let x = b.op(&n("x"), batch_slice(spec.batch, rows, first + t), &[xs])?;
        let y = b.op(&n("y"), batch_slice(spec.batch, rows, first + t), &[ys])?;
        let grads = if let Some(constants) = mask_constants {
            mlp_gradients(&mut b, &n, s, x, y, &p, constants, exp_lo)?
        } else {
            // Softmax regression: logits = rescale(x W) + b; d = p - y.
            let z = crate::logreg::affine(&mut b, &n(""), x, p[0], p[1], s)?;
            let prob = composite::softmax(&mut b, &n("p"), z, s, s, s, exp_lo)?;
            let d = b.op(&n("d"), Op::Sub, &[prob, y])?;
            let g_w = b.op(&n("g_w"), gemm(true, false), &[x, d])?;
            let g_w = b.op(&n("g_w_s"), rs(s.bits()), &[g_w])?;
            let g_b = b.op(
                &n("g_b"),
                Op::Sum {
                    axes: vec![0],
                    keep_dims: true,
                },
                &[d],
            )?;
            vec![g_w, g_b]
        };
        for (i, g) in grads.into_iter().enumerate() {
            let st = b.op(&n(&format!("step_{}", names[i])), Op::Mul, &[g, lr])?;
            let st = b.op(
                &n(&format!("step_{}_s", names[i])),
                rs(LR_SCALE_BITS),
                &[st],
            )?;
            p[i] = b.op(&format!("{}_{}", names[i], t + 1), Op::Sub, &[p[i], st])?;
        }
    }
    for id in &p {
        b.output(*id, end)?;
    }
    let layout = mlp_layout(spec, rows);
    layout.declare(&mut b, xs, ys)?;
    layout.add_header(&mut b, "data", DATA_GROUP)?;
    Ok(b.build()?)
}

/// The committed layout of an MLP dataset of `rows` rows: `inputs` feature columns and
/// `classes` one-hot label columns, all at the spec's scale.
#[must_use]
pub fn mlp_layout(spec: &MlpSpec, rows: usize) -> zkmlops_commit::TableLayout {
    zkmlops_commit::TableLayout {
        rows,
        features: spec.inputs,
        labels: spec.classes,
        scale_bits: spec.scale_bits,
        value_bits: spec.value_bits,
    }
}

/// The four gradients of one MLP step (see [`mlp_segment_program`]).
#[allow(clippy::too_many_arguments)]
fn mlp_gradients(
    b: &mut ProgramBuilder,
    n: &impl Fn(&str) -> String,
    s: Scale,
    x: TensorId,
    y: TensorId,
    p: &[TensorId],
    [zero, one]: [TensorId; 2],
    exp_lo: i64,
) -> Result<Vec<TensorId>, TrainError> {
    let rs = |shift| Op::Rescale {
        shift,
        rounding: Rounding::HalfUp,
    };
    let gemm = |trans_a, trans_b| Op::Gemm { trans_a, trans_b };
    let h = b.op(&n("xw1"), Op::MatMul, &[x, p[0]])?;
    let h = b.op(&n("xw1_s"), rs(s.bits()), &[h])?;
    let h = b.op(&n("h"), Op::Add, &[h, p[1]])?;
    let a = b.op(&n("a"), Op::Relu, &[h])?;
    // ReLU's derivative [h >= 0] (a 0/1 integer), as 0 or 1.0 at the scale.
    let step01 = b.op(&n("mask_bit"), Op::AtLeast, &[h, zero])?;
    let mask = b.op(&n("mask"), Op::Mul, &[step01, one])?;
    let z = b.op(&n("aw2"), Op::MatMul, &[a, p[2]])?;
    let z = b.op(&n("aw2_s"), rs(s.bits()), &[z])?;
    let z = b.op(&n("logits"), Op::Add, &[z, p[3]])?;
    let prob = composite::softmax(b, &n("p"), z, s, s, s, exp_lo)?;
    let d2 = b.op(&n("d2"), Op::Sub, &[prob, y])?;
    let g_w2 = b.op(&n("g_w2"), gemm(true, false), &[a, d2])?;
    let g_w2 = b.op(&n("g_w2_s"), rs(s.bits()), &[g_w2])?;
    let g_b2 = b.op(
        &n("g_b2"),
        Op::Sum {
            axes: vec![0],
            keep_dims: true,
        },
        &[d2],
    )?;
    let da = b.op(&n("da"), gemm(false, true), &[d2, p[2]])?;
    let da = b.op(&n("da_s"), rs(s.bits()), &[da])?;
    let d1 = b.op(&n("d1"), Op::Mul, &[da, mask])?;
    let d1 = b.op(&n("d1_s"), rs(s.bits()), &[d1])?;
    let g_w1 = b.op(&n("g_w1"), gemm(true, false), &[x, d1])?;
    let g_w1 = b.op(&n("g_w1_s"), rs(s.bits()), &[g_w1])?;
    let g_b1 = b.op(
        &n("g_b1"),
        Op::Sum {
            axes: vec![0],
            keep_dims: true,
        },
        &[d1],
    )?;
    Ok(vec![g_w1, g_b1, g_w2, g_b2])
}

/// The inputs of an MLP segment Program, in declaration order.
///
/// # Errors
/// [`TrainError::Data`] for rows that do not fit.
pub fn mlp_segment_inputs(
    spec: &MlpSpec,
    model: &MlpModel,
    data: &Dataset,
    salts: &crate::Salts,
) -> Result<Vec<Tensor>, TrainError> {
    let s = spec.scale()?;
    let mut x = Vec::with_capacity(data.len() * spec.inputs);
    let mut y = vec![0i64; data.len() * spec.classes];
    for (r, (row, &label)) in data.features.iter().zip(&data.labels).enumerate() {
        if row.len() != spec.inputs {
            return Err(TrainError::Data {
                row: r,
                what: "wrong number of features",
            });
        }
        let c = usize::try_from(label)
            .ok()
            .filter(|&c| c < spec.classes)
            .ok_or(TrainError::Data {
                row: r,
                what: "a label outside 0..classes",
            })?;
        y[r * spec.classes + c] = 1 << s.bits();
        for &v in row {
            x.push(s.encode(v).map_err(|_| TrainError::Data {
                row: r,
                what: "a feature does not fit the fixed-point range",
            })?);
        }
    }
    let mut inputs = vec![
        Tensor::vector(salts.data.to_vec()),
        Tensor::new(vec![data.len(), spec.inputs], x)?,
        Tensor::new(vec![data.len(), spec.classes], y)?,
        Tensor::vector(salts.start.to_vec()),
    ];
    for (p, shape) in model.params.iter().zip(spec.shapes()) {
        inputs.push(Tensor::new(shape.to_vec(), p.clone())?);
    }
    inputs.push(Tensor::vector(salts.end.to_vec()));
    Ok(inputs)
}

/// Train by the integer reference (`Program::evaluate`), `steps_per_segment` steps a segment;
/// returns the final model.
///
/// # Errors
/// As [`mlp_segment_program`] and [`mlp_segment_inputs`]; an overflow names the tensor.
pub fn train_mlp(
    spec: &MlpSpec,
    data: &Dataset,
    init: &MlpModel,
    steps_per_segment: usize,
    total_steps: usize,
) -> Result<MlpModel, TrainError> {
    let salts = crate::Salts {
        data: [0; SALT_LEN],
        start: [0; SALT_LEN],
        end: [0; SALT_LEN],
    };
    let mut model = init.clone();
    let mut step = 0;
    while step < total_steps {
        let program = mlp_segment_program(spec, data.len(), step, steps_per_segment)?;
        let w = program.evaluate(&mlp_segment_inputs(spec, &model, data, &salts)?)?;
        model = read_mlp_model(spec, &program, &w);
        step += steps_per_segment;
    }
    Ok(model)
}

/// The parameters a segment Program ends with (its first outputs).
pub(crate) fn read_mlp_model(
    spec: &MlpSpec,
    program: &Program,
    witness: &zkmlops_tensor::Witness,
) -> MlpModel {
    let outs = program.outputs();
    MlpModel {
        scale_bits: spec.scale_bits,
        params: (0..spec.shapes().len())
            .map(|k| {
                witness
                    .get(outs[k])
                    .map(|t| t.data().to_vec())
                    .unwrap_or_default()
            })
            .collect(),
    }
}
