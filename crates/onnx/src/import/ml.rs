//! Tree ensembles (`ai.onnx.ml` `TreeEnsembleClassifier`, `TreeEnsembleRegressor`, as
//! skl2onnx and onnxmltools export decision trees, random forests and gradient boosting),
//! lowered to matrix products and exact comparisons (the "GEMM" form of a tree):
//!
//! 1. every branch node's condition `c_j = [x_f <= t]` (or `<`, `>=`, `>`, `==`, `!=`) on the
//!    quantized values, from two `at_least` comparisons of the selected features with the
//!    thresholds, combined linearly per node;
//! 2. each leaf's path as a `matmul` of the conditions with a constant `+1 / -1 / 0` matrix
//!    (`+1` where the path goes the true way, `-1` the false way): the sum reaches the number
//!    of true-way ancestors exactly when every condition on the path holds, so one more
//!    `at_least` gives the leaf indicator (one leaf per tree);
//! 3. the indicators times the leaf weights (a `matmul`), plus the base values, averaged for
//!    `AVERAGE`, then the post transform (`LOGISTIC`: the sigmoid table, `SOFTMAX`).
//!
//! The classifier's label is the class of the first maximal score (maxima and comparisons),
//! mapped to its integer label. Comparisons are exact on the quantized inputs and thresholds
//! (an input within one unit of a threshold may branch as its quantized value does).

use zkmlops_field::Scale;
use zkmlops_lookup::Function;
use zkmlops_tensor::{Op, TensorId};

use super::{Ctx, Importer, SIGMOID_RADIUS, TANH_RADIUS, Value};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["TreeEnsembleClassifier", "TreeEnsembleRegressor"];

/// How a binary classifier with one score column expands it ([`Importer::binary_outputs`]).
#[derive(Debug, Clone, Copy)]
struct Binary {
    /// Scores `[1 - v, v]` (else `[-v, v]`).
    complement: bool,
    /// The label is the second class where `v > threshold`.
    threshold: f64,
}

/// The linear `ai.onnx.ml` operators ([`Importer::linear_ml`]) and the support vector
/// machines ([`Importer::svm_regressor`], [`Importer::svm_classifier`]).
pub(super) const LINEAR: &[&str] = &[
    "SVMRegressor",
    "SVMClassifier",
    "Scaler",
    "LinearRegressor",
    "LinearClassifier",
    "Normalizer",
    "Binarizer",
];

/// Most leaves and branch nodes one ensemble may have.
const MAX_NODES: usize = 1 << 16;

fn floats(ctx: &Ctx<'_>, name: &str) -> Vec<f64> {
    ctx.node
        .attr(name)
        .map(|a| a.floats.iter().map(|&f| f64::from(f)).collect())
        .unwrap_or_default()
}

fn ints(ctx: &Ctx<'_>, name: &str) -> Vec<i64> {
    ctx.node.ints(name).unwrap_or_default()
}

fn strings(ctx: &Ctx<'_>, name: &str) -> Vec<String> {
    ctx.node
        .attr(name)
        .map(|a| {
            a.strings
                .iter()
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// A classifier's labels: `ints_name`'s integers, or for `classlabels_strings` each class's
/// position in that list (a proof's outputs are numbers: a string label is proved as its index,
/// and [`crate::CompiledModel::class_names`] gives the names).
fn class_labels(ctx: &Ctx<'_>, ints_name: &str) -> Vec<i64> {
    let labels = ints(ctx, ints_name);
    if labels.is_empty() {
        let names = strings(ctx, "classlabels_strings");
        return (0..names.len())
            .map(|i| i64::try_from(i).unwrap_or(i64::MAX))
            .collect();
    }
    labels
}

fn index(v: i64) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// A branch node's comparison as `c = alpha [x >= t] + beta [t >= x] + gamma`.
fn mode_coefficients(mode: &str) -> Option<(f64, f64, f64)> {
    Some(match mode {
        "BRANCH_LEQ" => (0.0, 1.0, 0.0),
        "BRANCH_LT" => (-1.0, 0.0, 1.0),
        "BRANCH_GTE" => (1.0, 0.0, 0.0),
        "BRANCH_GT" => (0.0, -1.0, 1.0),
        "BRANCH_EQ" => (1.0, 1.0, -1.0),
        "BRANCH_NEQ" => (-1.0, -1.0, 2.0),
        _ => return None,
    })
}

/// One node of the ensemble's attribute lists.
struct TreeNode {
    tree: i64,
    id: i64,
    feature: usize,
    value: f64,
    leaf: bool,
    mode: String,
    /// The true and false children's node ids.
    children: [i64; 2],
}

/// An ensemble in the GEMM form.
struct Gemm {
    /// Feature and threshold of every branch node, and its comparison's coefficients.
    features: Vec<usize>,
    thresholds: Vec<f64>,
    coefficients: Vec<(f64, f64, f64)>,
    /// `[branches, leaves]`, `+1 / -1 / 0`.
    paths: Vec<f64>,
    /// True-way ancestors per leaf.
    true_ways: Vec<f64>,
    /// `[leaves, outputs]`.
    weights: Vec<f64>,
    leaves: usize,
    trees: usize,
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`]; sets every output the node names.
    pub(super) fn tree_ensemble(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let classifier = ctx.node.op_type == "TreeEnsembleClassifier";
        let labels = class_labels(ctx, "classlabels_int64s");
        if classifier && labels.is_empty() {
            return Err(ctx.unsupported(
                "a classifier without class labels",
                "classlabels_int64s / classlabels_strings",
            ));
        }
        let outputs = if classifier {
            labels.len()
        } else {
            index(ctx.node.int("n_targets").unwrap_or(1))
        };
        let prefix = if classifier { "class" } else { "target" };
        // A binary classifier with one score column (XGBoost, LightGBM and scikit-learn's
        // gradient boosting): the trees give one margin `v`, expanded to two scores below.
        let binary = classifier
            && outputs == 2
            && ints(ctx, &format!("{prefix}_ids")).iter().all(|&c| c == 0);
        let outputs = if binary { 1 } else { outputs };
        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let [_, n_features] = xs[..] else {
            return Err(ctx.unsupported("a tree ensemble input not [N, F]", format!("{xs:?}")));
        };
        let g = Self::tree_gemm(ctx, prefix, outputs, n_features)?;
        let out = ctx
            .node
            .output
            .iter()
            .rev()
            .find(|o| !o.is_empty())
            .cloned()
            .unwrap_or_default();
        let name = format!("{out}/trees");
        let scores = self.tree_scores(ctx, &name, x, &g)?;
        let aggregate = ctx
            .node
            .string("aggregate_function")
            .unwrap_or_else(|| "SUM".into());
        let mut scores = match aggregate.as_str() {
            "SUM" => scores,
            #[allow(clippy::cast_precision_loss)]
            "AVERAGE" if !classifier => self.mul_const(
                ctx,
                &format!("{name}/average"),
                scores,
                &format!("{name}/inverse_trees"),
                &Const {
                    shape: vec![],
                    data: vec![1.0 / g.trees.max(1) as f64],
                },
            )?,
            other => {
                return Err(ctx.unsupported("a tree aggregate function", other.to_string()));
            }
        };
        let base = floats(ctx, "base_values");
        if !base.is_empty() {
            if base.len() != outputs {
                if binary {
                    return Err(ctx.unsupported(
                        "base_values of length 2 for a binary classifier with one score column",
                        format!("{base:?}"),
                    ));
                }
                return Err(ctx.unsupported(
                    "base_values of the wrong length",
                    format!("{} for {outputs} outputs", base.len()),
                ));
            }
            let b = self.param(
                ctx,
                &format!("{name}/base"),
                &Const {
                    shape: vec![outputs],
                    data: base,
                },
                self.s,
            )?;
            scores = self.op(ctx, &format!("{name}/based"), Op::Add, &[scores, b])?;
        }
        if binary {
            // onnxruntime: with every leaf weight `>= 0` the margin is a probability.
            let positive = floats(ctx, "class_weights").iter().all(|&w| w >= 0.0);
            let binary = Binary {
                complement: positive,
                threshold: if positive { 0.5 } else { 0.0 },
            };
            return self.binary_outputs(ctx, &name, scores, &labels, binary);
        }
        let scores = self.post_transform(ctx, &name, scores)?;
        if classifier {
            self.class_outputs(ctx, scores, &labels, None)
        } else {
            if let Some(y) = ctx.node.output.first().filter(|s| !s.is_empty()) {
                self.set(y, Value::Dyn(scores));
            }
            Ok(())
        }
    }

    /// `post_transform`: `NONE`, `LOGISTIC` (the sigmoid table), `SOFTMAX` (over the classes).
    fn post_transform(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        scores: TensorId,
    ) -> Result<TensorId, OnnxError> {
        match ctx
            .node
            .string("post_transform")
            .unwrap_or_else(|| "NONE".into())
            .as_str()
        {
            "NONE" => Ok(scores),
            "LOGISTIC" => self.lookup(
                ctx,
                &format!("{name}/logistic"),
                scores,
                Function::Sigmoid,
                SIGMOID_RADIUS,
            ),
            "SOFTMAX" => self.softmax_last(ctx, &format!("{name}/softmax"), scores),
            other => Err(ctx.unsupported("a post_transform", other.to_string())),
        }
    }

    /// A binary classifier's outputs from its one margin column `v` (`[N, 1]`, base value or
    /// intercept added), as onnxruntime computes them: scores `[1 - v, v]` (`complement`) or
    /// `[-v, v]`, the label the second class where `v > threshold`. `LOGISTIC` makes the
    /// scores `[1 - sigmoid(v), sigmoid(v)]` (the label still from `v`); `SOFTMAX` and
    /// `SOFTMAX_ZERO` leave them as they are (onnxruntime applies neither to two expanded
    /// scores); `PROBIT` fails by name. `v > t` is exact on the quantized values (`v - t >= 1
    /// unit`).
    fn binary_outputs(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        v: TensorId,
        labels: &[i64],
        binary: Binary,
    ) -> Result<(), OnnxError> {
        let post = ctx
            .node
            .string("post_transform")
            .unwrap_or_else(|| "NONE".into());
        let (first, second) = match post.as_str() {
            "LOGISTIC" => {
                let p = self.lookup(
                    ctx,
                    &format!("{name}/logistic"),
                    v,
                    Function::Sigmoid,
                    SIGMOID_RADIUS,
                )?;
                (self.complement(ctx, &format!("{name}/first"), p)?, p)
            }
            "NONE" | "SOFTMAX" | "SOFTMAX_ZERO" if binary.complement => {
                (self.complement(ctx, &format!("{name}/first"), v)?, v)
            }
            "NONE" | "SOFTMAX" | "SOFTMAX_ZERO" => (self.neg(ctx, &format!("{name}/first"), v)?, v),
            other => {
                return Err(ctx.unsupported(
                    "a post_transform of a binary classifier with one score column",
                    other.to_string(),
                ));
            }
        };
        let scores = self.op(
            ctx,
            &format!("{name}/scores"),
            Op::Concat { axis: 1 },
            &[first, second],
        )?;
        let t = self.param(
            ctx,
            &format!("{name}/threshold"),
            &Const {
                shape: vec![],
                data: vec![binary.threshold],
            },
            self.s,
        )?;
        let d = self.op(ctx, &format!("{name}/margin"), Op::Sub, &[v, t])?;
        let c = self.step(ctx, &format!("{name}/second"), d)?;
        let not_c = self.complement(ctx, &format!("{name}/not_second"), c)?;
        let one_hot = self.op(
            ctx,
            &format!("{name}/winner"),
            Op::Concat { axis: 1 },
            &[not_c, c],
        )?;
        self.class_outputs(ctx, scores, labels, Some(one_hot))
    }

    /// A classifier's outputs: the label of the first maximal score (`[N]`, its integer
    /// label at the activation scale), or of the class `winner` marks (a 0/1 one-hot `[N,
    /// classes]` at the activation scale), and the scores.
    fn class_outputs(
        &mut self,
        ctx: &Ctx<'_>,
        scores: TensorId,
        labels: &[i64],
        winner: Option<TensorId>,
    ) -> Result<(), OnnxError> {
        let wanted = |i: usize| ctx.node.output.get(i).filter(|s| !s.is_empty()).cloned();
        if let Some(label) = wanted(0) {
            let first = match winner {
                Some(w) => w,
                None => self.first_max_of(ctx, &format!("{label}/winner"), scores, 1)?,
            };
            #[allow(clippy::cast_precision_loss)]
            let lab = Const {
                shape: vec![labels.len(), 1],
                data: labels.iter().map(|&l| l as f64).collect(),
            };
            let lab = self.param(ctx, &format!("{label}/labels"), &lab, self.s)?;
            let picked = self.op(ctx, &format!("{label}/picked"), Op::MatMul, &[first, lab])?;
            // A winner marked by a 0/1 integer picks the label at `s`; one marked by 1.0 (a
            // step, at `s`) at `2s`: back to the activation scale, as every computed tensor
            // (a Cast of the label reads it there).
            let at = self.b.scale(picked).map_err(|e| ctx.program(e))?.bits();
            let picked = self.rescale(
                ctx,
                &format!("{label}/rescaled"),
                picked,
                at.saturating_sub(self.s.bits()),
            )?;
            let n = self.shape(picked).first().copied().unwrap_or(1);
            let y = self.reshape_to(ctx, &label, picked, vec![n])?;
            self.set(&label, Value::Dyn(y));
        }
        if let Some(p) = wanted(1) {
            self.set(&p, Value::Dyn(scores));
        }
        Ok(())
    }

    /// `SVMRegressor` (as libsvm / scikit-learn's SVR export): `sum_j c_j K(x, v_j) + rho`
    /// over the support vectors `v_j` ([`Self::svm_kernels`]). `one_class` and a post
    /// transform other than `NONE` fail by name.
    fn svm_regressor(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
    ) -> Result<TensorId, OnnxError> {
        if ctx.node.int("one_class").unwrap_or(0) != 0 {
            return Err(ctx.unsupported("a one-class SVMRegressor", "one_class = 1"));
        }
        let post = ctx
            .node
            .string("post_transform")
            .unwrap_or_else(|| "NONE".into());
        if post != "NONE" {
            return Err(ctx.unsupported("an SVMRegressor post_transform", post));
        }
        let coefficients = floats(ctx, "coefficients");
        let k = self.svm_kernels(ctx, out, x, coefficients.len())?;
        let rho = floats(ctx, "rho");
        let bias = Const {
            shape: vec![1],
            data: vec![rho.first().copied().unwrap_or(0.0)],
        };
        let w = Const {
            shape: vec![1, coefficients.len()],
            data: coefficients,
        };
        self.linear(ctx, out, k, &w, Some(&bias))
    }

    /// `SVMClassifier` (libsvm's one-against-one, as scikit-learn's SVC exports it), as
    /// onnxruntime computes it: per pair of classes `i < j` the decision `d = sum_{v in i}
    /// c[j-1][v] K(x, v) + sum_{v in j} c[i][v] K(x, v) + rho` (one matrix product of the
    /// kernels); `d > 0` votes for `i`, else `j`, and the label is the first class with the
    /// most votes; the scores are the decisions. With two classes the scores are `[-d, d]`
    /// and the label the first class where `d > 0`. Probability estimates (`prob_a`), a post
    /// transform other than `NONE` and the linear mode without support vectors fail by name.
    fn svm_classifier(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<(), OnnxError> {
        let labels = class_labels(ctx, "classlabels_ints");
        let per_class: Vec<usize> = ints(ctx, "vectors_per_class")
            .into_iter()
            .map(|v| usize::try_from(v).unwrap_or(0))
            .collect();
        let classes = labels.len();
        if classes < 2 || per_class.len() != classes {
            return Err(ctx.unsupported(
                "an SVMClassifier without labels and support vectors per class",
                format!("{classes} labels, {} vector counts", per_class.len()),
            ));
        }
        if !floats(ctx, "prob_a").is_empty() {
            return Err(ctx.unsupported(
                "an SVMClassifier with probability estimates",
                "prob_a (export without probability=True)",
            ));
        }
        let post = ctx
            .node
            .string("post_transform")
            .unwrap_or_else(|| "NONE".into());
        if post != "NONE" {
            return Err(ctx.unsupported("an SVMClassifier post_transform", post));
        }
        let n: usize = per_class.iter().sum();
        let coefficients = floats(ctx, "coefficients");
        let pairs = classes * (classes - 1) / 2;
        let rho = floats(ctx, "rho");
        if coefficients.len() != (classes - 1) * n || rho.len() != pairs {
            return Err(ctx.unsupported(
                "SVMClassifier coefficients that are not (classes - 1) rows of the vectors",
                format!(
                    "{} coefficients, {} rho for {classes} classes and {n} vectors",
                    coefficients.len(),
                    rho.len()
                ),
            ));
        }
        let k = self.svm_kernels(ctx, out, x, n)?;
        // One row per pair: class i's vectors weighted by row j - 1, class j's by row i.
        let starts: Vec<usize> = per_class
            .iter()
            .scan(0, |at, &c| {
                let s = *at;
                *at += c;
                Some(s)
            })
            .collect();
        let mut w = vec![0.0; pairs * n];
        let mut pair = 0;
        let coef = |row: usize, v: usize| coefficients.get(row * n + v).copied().unwrap_or(0.0);
        for i in 0..classes {
            for j in i + 1..classes {
                for (class, row) in [(i, j - 1), (j, i)] {
                    let start = starts.get(class).copied().unwrap_or(0);
                    let count = per_class.get(class).copied().unwrap_or(0);
                    for v in start..start + count {
                        if let Some(cell) = w.get_mut(pair * n + v) {
                            *cell = coef(row, v);
                        }
                    }
                }
                pair += 1;
            }
        }
        let w = Const {
            shape: vec![pairs, n],
            data: w,
        };
        let bias = Const {
            shape: vec![pairs],
            data: rho,
        };
        let name = format!("{out}/decisions");
        let d = self.linear(ctx, &name, k, &w, Some(&bias))?;
        let first = self.step(ctx, &format!("{name}/first_wins"), d)?;
        if classes == 2 {
            let minus = self.neg(ctx, &format!("{name}/negated"), d)?;
            let scores = self.op(
                ctx,
                &format!("{name}/scores"),
                Op::Concat { axis: 1 },
                &[minus, d],
            )?;
            let second = self.complement(ctx, &format!("{name}/second_wins"), first)?;
            let one_hot = self.op(
                ctx,
                &format!("{name}/winner"),
                Op::Concat { axis: 1 },
                &[first, second],
            )?;
            return self.class_outputs(ctx, scores, &labels, Some(one_hot));
        }
        // Votes: pair (i, j) gives i its `first_wins` and j `1 - first_wins`.
        let mut m = vec![0.0; pairs * classes];
        let mut base = vec![0.0; classes];
        let mut pair = 0;
        for i in 0..classes {
            for j in i + 1..classes {
                if let Some(c) = m.get_mut(pair * classes + i) {
                    *c = 1.0;
                }
                if let Some(c) = m.get_mut(pair * classes + j) {
                    *c = -1.0;
                }
                if let Some(b) = base.get_mut(j) {
                    *b += 1.0;
                }
                pair += 1;
            }
        }
        let m = self.param(
            ctx,
            &format!("{name}/vote_map"),
            &Const {
                shape: vec![pairs, classes],
                data: m,
            },
            Scale::ONE,
        )?;
        let base = self.param(
            ctx,
            &format!("{name}/vote_base"),
            &Const {
                shape: vec![classes],
                data: base,
            },
            self.s,
        )?;
        let shifted = self.op(ctx, &format!("{name}/vote_shifts"), Op::MatMul, &[first, m])?;
        let votes = self.op(ctx, &format!("{name}/votes"), Op::Add, &[shifted, base])?;
        let winner = self.first_max_of(ctx, &format!("{name}/winner"), votes, 1)?;
        self.class_outputs(ctx, d, &labels, Some(winner))
    }

    /// The kernel values `K(x, v_j)` (`[N, n]`) of the node's `n` support vectors
    /// (`support_vectors`, `kernel_type`, `kernel_params = [gamma, coef0, degree]`):
    /// `LINEAR` `x . v`; `POLY` `(gamma x . v + coef0)^degree` (whole degrees up to 8, each
    /// product rescaled); `RBF` `exp(-gamma |x - v|^2)`, the squared distance as `|x|^2 - 2 x
    /// . v + |v|^2` and the exponential tabulated on `[-(s ln 2 + 1), 0]` (below it the value
    /// is under one unit: clamped); `SIGMOID` `tanh(gamma x . v + coef0)` (the tanh table).
    fn svm_kernels(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        n: usize,
    ) -> Result<TensorId, OnnxError> {
        let features = self.shape(x).last().copied().unwrap_or(1);
        let vectors = floats(ctx, "support_vectors");
        if n == 0 || vectors.len() != n * features {
            return Err(ctx.unsupported(
                "support vectors that are not one row of the features per coefficient",
                format!(
                    "{} values, {n} coefficients, {features} features",
                    vectors.len()
                ),
            ));
        }
        let params = floats(ctx, "kernel_params");
        let gamma = params.first().copied().unwrap_or(1.0);
        let coef0 = params.get(1).copied().unwrap_or(0.0);
        let degree = params.get(2).copied().unwrap_or(3.0);
        let kernel = ctx
            .node
            .string("kernel_type")
            .unwrap_or_else(|| "LINEAR".into());
        let v = Const {
            shape: vec![n, features],
            data: vectors,
        };
        let name = format!("{out}/kernel");
        let dot = self.linear(ctx, &format!("{name}/dot"), x, &v, None)?;
        let scalar = |v: f64| Const {
            shape: vec![],
            data: vec![v],
        };
        let affine = |me: &mut Self, what: &str| -> Result<TensorId, OnnxError> {
            let g = me.mul_const(
                ctx,
                &format!("{name}/{what}_scaled"),
                dot,
                &format!("{name}/gamma"),
                &scalar(gamma),
            )?;
            let c = me.param(ctx, &format!("{name}/coef0"), &scalar(coef0), me.s)?;
            me.op(ctx, &format!("{name}/{what}"), Op::Add, &[g, c])
        };
        match kernel.as_str() {
            "LINEAR" => Ok(dot),
            "POLY" => {
                if degree.fract() != 0.0 || !(1.0..=8.0).contains(&degree) {
                    return Err(ctx.unsupported("a POLY kernel degree", degree));
                }
                let t = affine(self, "affine")?;
                let mut k = t;
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                for i in 1..degree as usize {
                    let p = self.op(ctx, &format!("{name}/power{i}"), Op::Mul, &[k, t])?;
                    k =
                        self.rescale(ctx, &format!("{name}/power{i}_rescaled"), p, self.s.bits())?;
                }
                Ok(k)
            }
            "SIGMOID" => {
                let t = affine(self, "affine")?;
                self.lookup(ctx, &format!("{name}/tanh"), t, Function::Tanh, TANH_RADIUS)
            }
            "RBF" => {
                let sq = self.op(ctx, &format!("{name}/x_squared"), Op::Mul, &[x, x])?;
                let sq = self.rescale(
                    ctx,
                    &format!("{name}/x_squared_rescaled"),
                    sq,
                    self.s.bits(),
                )?;
                let xx = self.op(
                    ctx,
                    &format!("{name}/x_norm"),
                    Op::Sum {
                        axes: vec![1],
                        keep_dims: true,
                    },
                    &[sq],
                )?;
                let vv = Const {
                    shape: vec![n],
                    data: v
                        .data
                        .chunks(features)
                        .map(|r| r.iter().map(|a| a * a).sum())
                        .collect(),
                };
                let vv = self.param(ctx, &format!("{name}/v_norm"), &vv, self.s)?;
                let norms = self.op(ctx, &format!("{name}/norms"), Op::Add, &[xx, vv])?;
                let twice = self.op(ctx, &format!("{name}/twice_dot"), Op::Add, &[dot, dot])?;
                let d = self.op(ctx, &format!("{name}/distance"), Op::Sub, &[norms, twice])?;
                let arg = self.mul_const(
                    ctx,
                    &format!("{name}/exponent"),
                    d,
                    &format!("{name}/minus_gamma"),
                    &scalar(-gamma),
                )?;
                let lo = -(f64::from(self.s.bits()) * std::f64::consts::LN_2 + 1.0);
                self.lookup_on(ctx, &format!("{name}/exp"), arg, Function::Exp, lo, 0.0)
            }
            other => Err(ctx.unsupported("an SVM kernel_type", other.to_string())),
        }
    }

    /// `Scaler` (`(x - offset) * scale`), `LinearRegressor`, `LinearClassifier` (`x W^T +
    /// b`, post transform, labels), `Normalizer` (`MAX`, `L1`, `L2` over each row, exact
    /// divisions) and `Binarizer` (`[x > threshold]`).
    pub(super) fn linear_ml(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let features = shape.last().copied().unwrap_or(1);
        let vector = |name: &str, v: Vec<f64>| {
            (
                name.to_string(),
                Const {
                    shape: vec![v.len()],
                    data: v,
                },
            )
        };
        match ctx.node.op_type.as_str() {
            "SVMRegressor" => {
                let y = self.svm_regressor(ctx, out, x)?;
                self.set(out, Value::Dyn(y));
            }
            "SVMClassifier" => return self.svm_classifier(ctx, out, x),
            "Scaler" => {
                let (offset, scale) = (floats(ctx, "offset"), floats(ctx, "scale"));
                for (what, v) in [("offset", &offset), ("scale", &scale)] {
                    if !(v.len() == 1 || v.len() == features) {
                        return Err(ctx.unsupported(
                            "a Scaler parameter that is not one value or one per feature",
                            format!("{what}: {} for {features} features", v.len()),
                        ));
                    }
                }
                let (oname, off) = vector("offset", offset);
                let o = self.param(ctx, &format!("{out}/{oname}"), &off, self.s)?;
                let centred = self.op(ctx, &format!("{out}/centred"), Op::Sub, &[x, o])?;
                let (sname, sc) = vector("scale", scale);
                let y = self.mul_const(ctx, out, centred, &format!("{out}/{sname}"), &sc)?;
                self.set(out, Value::Dyn(y));
            }
            "LinearRegressor" | "LinearClassifier" => {
                let coefficients = floats(ctx, "coefficients");
                let intercepts = floats(ctx, "intercepts");
                let rows = coefficients.len() / features.max(1);
                if rows == 0 || rows * features != coefficients.len() {
                    return Err(ctx.unsupported(
                        "coefficients that are not whole rows of the features",
                        format!("{} for {features} features", coefficients.len()),
                    ));
                }
                if !(intercepts.is_empty() || intercepts.len() == rows) {
                    return Err(ctx.unsupported(
                        "intercepts that are not one per output",
                        format!("{} for {rows} outputs", intercepts.len()),
                    ));
                }
                let w = Const {
                    shape: vec![rows, features],
                    data: coefficients,
                };
                let b = (!intercepts.is_empty()).then(|| Const {
                    shape: vec![rows],
                    data: intercepts,
                });
                let name = format!("{out}/linear");
                let scores = self.linear(ctx, &name, x, &w, b.as_ref())?;
                let labels = class_labels(ctx, "classlabels_ints");
                // One coefficient row and two labels: onnxruntime's binary layout, scores
                // `[1 - v, v]` (of the sigmoid with LOGISTIC) and the label `v > 0`.
                if ctx.node.op_type == "LinearClassifier" && rows == 1 && labels.len() == 2 {
                    let binary = Binary {
                        complement: true,
                        threshold: 0.0,
                    };
                    return self.binary_outputs(ctx, &name, scores, &labels, binary);
                }
                let scores = self.post_transform(ctx, &name, scores)?;
                if ctx.node.op_type == "LinearRegressor" {
                    self.set(out, Value::Dyn(scores));
                    return Ok(());
                }
                if labels.len() != rows {
                    return Err(ctx.unsupported(
                        "a LinearClassifier without one label per coefficient row",
                        format!("{} labels for {rows} rows", labels.len()),
                    ));
                }
                return self.class_outputs(ctx, scores, &labels, None);
            }
            "Normalizer" => {
                let norm = ctx.node.string("norm").unwrap_or_else(|| "MAX".into());
                let divisor = match norm.as_str() {
                    "MAX" => self.op(
                        ctx,
                        &format!("{out}/max"),
                        Op::ReduceMax {
                            axis: 1,
                            keep_dims: true,
                        },
                        &[x],
                    )?,
                    "L1" => {
                        let a = self.abs(ctx, &format!("{out}/magnitude"), x)?;
                        self.op(
                            ctx,
                            &format!("{out}/l1"),
                            Op::Sum {
                                axes: vec![1],
                                keep_dims: true,
                            },
                            &[a],
                        )?
                    }
                    "L2" => {
                        let sq = self.op(ctx, &format!("{out}/squares"), Op::Mul, &[x, x])?;
                        let ss = self.op(
                            ctx,
                            &format!("{out}/sum_squares"),
                            Op::Sum {
                                axes: vec![1],
                                keep_dims: true,
                            },
                            &[sq],
                        )?;
                        self.op(ctx, &format!("{out}/l2"), Op::Sqrt, &[ss])?
                    }
                    other => return Err(ctx.unsupported("a Normalizer norm", other.to_string())),
                };
                let y = self.divide(ctx, out, x, divisor)?;
                self.set(out, Value::Dyn(y));
            }
            _ => {
                // Binarizer: [x > threshold], 0/1 at the activation scale.
                let t = f64::from(ctx.node.float("threshold").unwrap_or(0.0));
                let tp = self.param(
                    ctx,
                    &format!("{out}/threshold"),
                    &Const {
                        shape: vec![],
                        data: vec![t],
                    },
                    self.s,
                )?;
                let d = self.op(ctx, &format!("{out}/difference"), Op::Sub, &[x, tp])?;
                let y = self.step(ctx, out, d)?;
                self.set(out, Value::Dyn(y));
            }
        }
        Ok(())
    }

    /// The branch conditions, leaf indicators and weighted sum of `g` on `x` (`[N, F]`):
    /// scores `[N, outputs]` at the activation scale.
    fn tree_scores(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        g: &Gemm,
    ) -> Result<TensorId, OnnxError> {
        let j = g.features.len();
        let outputs = g.weights.len() / g.leaves.max(1);
        let n = self.shape(x).first().copied().unwrap_or(1);
        let indicators = if j == 0 {
            // Single-leaf trees: every leaf always holds.
            let ones = Const {
                shape: vec![n, g.leaves],
                data: vec![1.0; n * g.leaves],
            };
            self.param(ctx, &format!("{name}/always"), &ones, Scale::ONE)?
        } else {
            let xf = self.pick(ctx, &format!("{name}/features"), x, 1, &g.features)?;
            let t = self.param(
                ctx,
                &format!("{name}/thresholds"),
                &Const {
                    shape: vec![j],
                    data: g.thresholds.clone(),
                },
                self.s,
            )?;
            let coef = |k: usize| Const {
                shape: vec![j],
                data: g
                    .coefficients
                    .iter()
                    .map(|c| match k {
                        0 => c.0,
                        1 => c.1,
                        _ => c.2,
                    })
                    .collect(),
            };
            let mut c: Option<TensorId> = None;
            for (k, (what, operands)) in [("above", [xf, t]), ("below", [t, xf])]
                .into_iter()
                .enumerate()
            {
                let cf = coef(k);
                if cf.data.iter().all(|&v| v == 0.0) {
                    continue;
                }
                let bit = self.op(ctx, &format!("{name}/{what}"), Op::AtLeast, &operands)?;
                let term = if cf.data.iter().all(|&v| v == 1.0) {
                    bit
                } else {
                    let w = self.param(ctx, &format!("{name}/{what}_sign"), &cf, Scale::ONE)?;
                    self.op(ctx, &format!("{name}/{what}_term"), Op::Mul, &[bit, w])?
                };
                c = Some(match c {
                    Some(prev) => self.op(ctx, &format!("{name}/both"), Op::Add, &[prev, term])?,
                    None => term,
                });
            }
            let mut c = c.ok_or_else(|| ctx.unsupported("a tree without comparisons", ""))?;
            let gamma = coef(2);
            if gamma.data.iter().any(|&v| v != 0.0) {
                let gm = self.param(ctx, &format!("{name}/offset"), &gamma, Scale::ONE)?;
                c = self.op(ctx, &format!("{name}/conditions"), Op::Add, &[c, gm])?;
            }
            let m = self.param(
                ctx,
                &format!("{name}/paths"),
                &Const {
                    shape: vec![j, g.leaves],
                    data: g.paths.clone(),
                },
                Scale::ONE,
            )?;
            let s = self.op(ctx, &format!("{name}/path_sums"), Op::MatMul, &[c, m])?;
            let need = self.param(
                ctx,
                &format!("{name}/true_ways"),
                &Const {
                    shape: vec![g.leaves],
                    data: g.true_ways.clone(),
                },
                Scale::ONE,
            )?;
            self.op(ctx, &format!("{name}/leaves"), Op::AtLeast, &[s, need])?
        };
        let w = self.param(
            ctx,
            &format!("{name}/leaf_weights"),
            &Const {
                shape: vec![g.leaves, outputs],
                data: g.weights.clone(),
            },
            self.s,
        )?;
        self.op(ctx, &format!("{name}/scores"), Op::MatMul, &[indicators, w])
    }

    /// Parse the node attributes into the GEMM form (`prefix`: `class` or `target`).
    fn tree_gemm(
        ctx: &Ctx<'_>,
        prefix: &str,
        outputs: usize,
        n_features: usize,
    ) -> Result<Gemm, OnnxError> {
        let tree_ids = ints(ctx, "nodes_treeids");
        let node_ids = ints(ctx, "nodes_nodeids");
        let feature_ids = ints(ctx, "nodes_featureids");
        let values = floats(ctx, "nodes_values");
        let modes = strings(ctx, "nodes_modes");
        let trues = ints(ctx, "nodes_truenodeids");
        let falses = ints(ctx, "nodes_falsenodeids");
        let n = tree_ids.len();
        if [&node_ids, &feature_ids, &trues, &falses]
            .iter()
            .any(|v| v.len() != n)
            || values.len() != n
            || modes.len() != n
            || n == 0
            || n > MAX_NODES
        {
            return Err(ctx.unsupported(
                "tree node attributes of unequal lengths (or none, or more than 2^16)",
                format!("{n} tree ids"),
            ));
        }
        let nodes: Vec<TreeNode> = tree_ids
            .iter()
            .zip(&node_ids)
            .zip(&feature_ids)
            .zip(&values)
            .zip(&modes)
            .zip(trues.iter().zip(&falses))
            .map(
                |(((((&tree, &id), &f), &value), mode), (&t, &fl))| TreeNode {
                    tree,
                    id,
                    feature: index(f),
                    value,
                    leaf: mode == "LEAF",
                    mode: mode.clone(),
                    children: [t, fl],
                },
            )
            .collect();
        let find = |t: i64, id: i64| nodes.iter().position(|k| k.tree == t && k.id == id);
        let mut trees: Vec<i64> = tree_ids.clone();
        trees.sort_unstable();
        trees.dedup();
        let mut g = Gemm {
            features: Vec::new(),
            thresholds: Vec::new(),
            coefficients: Vec::new(),
            paths: Vec::new(),
            true_ways: Vec::new(),
            weights: Vec::new(),
            leaves: 0,
            trees: trees.len(),
        };
        // Branch index per node.
        let mut branch_of = vec![usize::MAX; n];
        for (k, node) in nodes.iter().enumerate().filter(|(_, k)| !k.leaf) {
            let coefficients = mode_coefficients(&node.mode)
                .ok_or_else(|| ctx.unsupported("a tree node mode", node.mode.clone()))?;
            if node.feature >= n_features {
                return Err(ctx.unsupported(
                    "a tree feature beyond the input",
                    format!("feature {} of {n_features}", node.feature),
                ));
            }
            if let Some(b) = branch_of.get_mut(k) {
                *b = g.features.len();
            }
            g.features.push(node.feature);
            g.thresholds.push(node.value);
            g.coefficients.push(coefficients);
        }
        // Every leaf's path from its tree's root (the node no branch points to).
        let mut leaf_paths: Vec<Vec<(usize, bool)>> = Vec::new();
        let mut leaf_of = std::collections::HashMap::new();
        for &t in &trees {
            let children: std::collections::HashSet<i64> = nodes
                .iter()
                .filter(|k| k.tree == t && !k.leaf)
                .flat_map(|k| k.children)
                .collect();
            let root = nodes
                .iter()
                .position(|k| k.tree == t && !children.contains(&k.id))
                .ok_or_else(|| ctx.unsupported("a tree without a root", t))?;
            let mut stack = vec![(root, Vec::new())];
            let mut visited = 0;
            while let Some((k, path)) = stack.pop() {
                visited += 1;
                let node = nodes
                    .get(k)
                    .filter(|_| visited <= n)
                    .ok_or_else(|| ctx.unsupported("a tree with a cycle", t))?;
                if node.leaf {
                    leaf_of.insert((t, node.id), leaf_paths.len());
                    leaf_paths.push(path);
                    continue;
                }
                let branch = branch_of.get(k).copied().unwrap_or(usize::MAX);
                for (child, way) in node.children.into_iter().zip([true, false]) {
                    let c = find(t, child).ok_or_else(|| {
                        ctx.unsupported("a tree child that does not exist", child)
                    })?;
                    let mut p: Vec<(usize, bool)> = path.clone();
                    p.push((branch, way));
                    stack.push((c, p));
                }
            }
        }
        g.leaves = leaf_paths.len();
        let j = g.features.len();
        g.paths = vec![0.0; j * g.leaves];
        for (l, path) in leaf_paths.iter().enumerate() {
            let mut need = 0.0;
            for &(b, way) in path {
                if let Some(cell) = g.paths.get_mut(b * g.leaves + l) {
                    *cell = if way { 1.0 } else { -1.0 };
                }
                if way {
                    need += 1.0;
                }
            }
            g.true_ways.push(need);
        }
        let (wt, wn, wi, ww) = (
            ints(ctx, &format!("{prefix}_treeids")),
            ints(ctx, &format!("{prefix}_nodeids")),
            ints(ctx, &format!("{prefix}_ids")),
            floats(ctx, &format!("{prefix}_weights")),
        );
        if wn.len() != wt.len() || wi.len() != wt.len() || ww.len() != wt.len() {
            return Err(ctx.unsupported(
                "leaf weight attributes of unequal lengths",
                format!("{prefix}_*"),
            ));
        }
        g.weights = vec![0.0; g.leaves * outputs];
        for (((&t, &id), &o), &w) in wt.iter().zip(&wn).zip(&wi).zip(&ww) {
            let l = leaf_of
                .get(&(t, id))
                .copied()
                .ok_or_else(|| ctx.unsupported("a leaf weight on a node that is not a leaf", id))?;
            let o = index(o);
            let cell = g
                .weights
                .get_mut(l * outputs + o)
                .filter(|_| o < outputs)
                .ok_or_else(|| ctx.unsupported("a leaf weight for an output out of range", o))?;
            *cell += w;
        }
        Ok(g)
    }
}
