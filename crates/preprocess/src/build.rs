//! The pipeline as a Program. The prover builds it with the data at hand (so errors name the
//! step and column, and filter counts are measured); the verifier builds the same Program from
//! the public pipeline, the raw row count and the proved filter counts.

use zkmlops_field::Scale;
use zkmlops_tensor::composite::ProfileIds;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility};

use crate::spec::{Cmp, Fill, Stat, Step};
use crate::table::{RawTable, check_size, schema_header};
use crate::{PIPELINE_VERSION, Pipeline, PreprocessError, Salts};

/// Commitment group of the raw table.
pub const RAW_GROUP: u16 = 1;
/// Commitment group of the processed training split.
pub const TRAIN_GROUP: u16 = 2;
/// Commitment group of the processed test split.
pub const TEST_GROUP: u16 = 3;
/// Elements of a salt.
pub const SALT_LEN: usize = 4;
/// Largest scale exponent of a raw column or a step's result (products stay at `<= 2^32`
/// of scale, far from the field).
pub const MAX_SCALE_BITS: u32 = 16;

pub(crate) enum Mode<'a> {
    Prove {
        table: &'a RawTable,
        salts: &'a Salts,
    },
    Verify {
        rows: usize,
        kept: &'a [usize],
    },
}

/// A statistic the Program publishes.
#[derive(Debug, Clone)]
pub(crate) struct StatTensor {
    pub(crate) step: usize,
    pub(crate) column: String,
    pub(crate) stat: Stat,
    /// `None` for the count, known from the shapes (`count`).
    pub(crate) id: Option<TensorId>,
    pub(crate) count: usize,
    pub(crate) scale_bits: u32,
}

pub(crate) struct Built {
    pub(crate) program: Program,
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) kept: Vec<usize>,
    pub(crate) stats: Vec<StatTensor>,
    pub(crate) train: (TensorId, TensorId, zkmlops_commit::TableLayout),
    pub(crate) test: Option<(TensorId, TensorId, zkmlops_commit::TableLayout)>,
    /// The training split's profile and its edges (fixed point at the output scale).
    pub(crate) profile: Option<(ProfileIds, Vec<i64>)>,
}

#[derive(Debug, Clone)]
struct Col {
    name: String,
    id: TensorId,
    scale: Scale,
    present: Option<TensorId>,
}

/// Where an op belongs: its step, the step's name and the column.
struct Cx {
    step: usize,
    op: &'static str,
    column: String,
}

impl Cx {
    fn name(&self, what: &str) -> String {
        format!("s{}/{}/{}/{what}", self.step, self.op, self.column)
    }
}

/// A Program builder that also evaluates every op when the data is known.
struct Tracer {
    b: ProgramBuilder,
    vals: Option<Vec<Option<Tensor>>>,
    inputs: Vec<Tensor>,
    /// The raw cells' declared bits ([`Pipeline::value_bits`]).
    raw_bits: u8,
}

impl Tracer {
    fn set(&mut self, id: TensorId, t: Tensor) {
        if let Some(v) = &mut self.vals {
            if v.len() <= id.index() {
                v.resize(id.index() + 1, None);
            }
            if let Some(slot) = v.get_mut(id.index()) {
                *slot = Some(t);
            }
        }
    }

    fn value(&self, id: TensorId) -> Option<&Tensor> {
        self.vals.as_ref()?.get(id.index())?.as_ref()
    }

    fn input(
        &mut self,
        name: &str,
        shape: &[usize],
        scale: Scale,
        vis: Visibility,
        value: Option<Tensor>,
    ) -> TensorId {
        let id = if name.ends_with("/salt") {
            // Salts only feed commitments: any field element, no range check.
            self.b.unbounded_input(name, shape, scale, vis)
        } else {
            let id = self.b.input(name, shape, scale, vis);
            if vis == Visibility::CommittedTo(RAW_GROUP) {
                // Raw values (and presence flags) are absorbed packed (`RawTable::commitment`).
                // A fresh input of the builder and validated bits: `pack` cannot fail.
                let _ = self.b.pack(id, self.raw_bits);
            }
            id
        };
        if let Some(t) = value {
            self.inputs.push(t.clone());
            self.set(id, t);
        }
        id
    }

    fn scalar(
        &mut self,
        cx: &Cx,
        what: &str,
        v: i64,
        scale: Scale,
    ) -> Result<TensorId, PreprocessError> {
        let t = Tensor::vector(vec![v]);
        let id = self.b.constant(&cx.name(what), t.clone(), scale)?;
        self.set(id, t);
        Ok(id)
    }

    fn op(
        &mut self,
        cx: &Cx,
        what: &str,
        op: Op,
        ins: &[TensorId],
    ) -> Result<TensorId, PreprocessError> {
        let id = self.b.op(&cx.name(what), op.clone(), ins)?;
        if self.vals.is_some() {
            let args: Option<Vec<&Tensor>> = ins.iter().map(|&i| self.value(i)).collect();
            if let Some(args) = args {
                let out = op.apply(&args).map_err(|source| PreprocessError::Step {
                    step: cx.step,
                    op: cx.op,
                    column: cx.column.clone(),
                    source,
                })?;
                self.set(id, out);
            }
        }
        Ok(id)
    }

    fn first(&self, id: TensorId) -> Option<i64> {
        self.value(id).and_then(|t| t.data().first().copied())
    }

    // Small compositions, each exact on integers.

    /// `[a >= b]` (a 0/1 integer at scale `2^0`).
    fn at_least(
        &mut self,
        cx: &Cx,
        what: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, PreprocessError> {
        self.op(cx, what, Op::AtLeast, &[a, b])
    }

    /// `[x == v]` for fixed-point integers: `[x >= v] - [x >= v + 1 unit]` (`v1` is `v + 1`).
    fn equals(
        &mut self,
        cx: &Cx,
        x: TensorId,
        v: TensorId,
        v1: TensorId,
    ) -> Result<TensorId, PreprocessError> {
        let ge = self.at_least(cx, "at_least_v", x, v)?;
        let gt = self.at_least(cx, "above_v", x, v1)?;
        self.op(cx, "is_v", Op::Sub, &[ge, gt])
    }

    fn max(&mut self, cx: &Cx, x: TensorId) -> Result<TensorId, PreprocessError> {
        self.op(
            cx,
            "max",
            Op::ReduceMax {
                axis: 0,
                keep_dims: true,
            },
            &[x],
        )
    }

    fn min(&mut self, cx: &Cx, x: TensorId, scale: Scale) -> Result<TensorId, PreprocessError> {
        let zero = self.scalar(cx, "zero", 0, scale)?;
        let neg = self.op(cx, "negated", Op::Sub, &[zero, x])?;
        let m = self.op(
            cx,
            "max_negated",
            Op::ReduceMax {
                axis: 0,
                keep_dims: true,
            },
            &[neg],
        )?;
        self.op(cx, "min", Op::Sub, &[zero, m])
    }

    fn mean(&mut self, cx: &Cx, what: &str, x: TensorId) -> Result<TensorId, PreprocessError> {
        self.op(
            cx,
            what,
            Op::Mean {
                axes: vec![0],
                keep_dims: true,
                rounding: Rounding::HalfUp,
            },
            &[x],
        )
    }

    fn sum(&mut self, cx: &Cx, what: &str, x: TensorId) -> Result<TensorId, PreprocessError> {
        self.op(
            cx,
            what,
            Op::Sum {
                axes: vec![0],
                keep_dims: true,
            },
            &[x],
        )
    }

    /// `(x - mean)` and the variance at twice the scale.
    fn variance(
        &mut self,
        cx: &Cx,
        x: TensorId,
    ) -> Result<(TensorId, TensorId, TensorId), PreprocessError> {
        let mean = self.mean(cx, "mean_for_variance", x)?;
        let d = self.op(cx, "centred", Op::Sub, &[x, mean])?;
        let sq = self.op(cx, "squared", Op::Mul, &[d, d])?;
        let var = self.mean(cx, "variance", sq)?;
        if self.first(var).is_some_and(|v| v >= 1 << 31) {
            return Err(PreprocessError::VarianceRange {
                step: cx.step,
                column: cx.column.clone(),
            });
        }
        Ok((mean, d, var))
    }

    /// `x` at scale `to` (exact when raising, rounded half up when lowering).
    fn at_scale(
        &mut self,
        cx: &Cx,
        x: TensorId,
        from: Scale,
        to: Scale,
    ) -> Result<TensorId, PreprocessError> {
        match from.bits().cmp(&to.bits()) {
            std::cmp::Ordering::Equal => Ok(x),
            std::cmp::Ordering::Greater => self.op(
                cx,
                "rescaled",
                Op::Rescale {
                    shift: from.bits() - to.bits(),
                    rounding: Rounding::HalfUp,
                },
                &[x],
            ),
            std::cmp::Ordering::Less => {
                let k = to.bits() - from.bits();
                let one = self.scalar(cx, "one_at_gap", 1 << k, scale(k)?)?;
                self.op(cx, "rescaled", Op::Mul, &[x, one])
            }
        }
    }
}

fn scale(bits: u32) -> Result<Scale, PreprocessError> {
    Scale::new(bits).map_err(|_| PreprocessError::Spec {
        what: "scale_bits",
        name: bits.to_string(),
        allowed: "0 ..= 16",
    })
}

fn checked_scale(bits: u32, name: &str) -> Result<Scale, PreprocessError> {
    if bits > MAX_SCALE_BITS {
        return Err(PreprocessError::Spec {
            what: "scale_bits",
            name: name.into(),
            allowed: "0 ..= 16",
        });
    }
    scale(bits)
}

fn encode(v: f64, s: Scale, name: &str) -> Result<i64, PreprocessError> {
    s.encode(v)
        .ok()
        .filter(|q| q.unsigned_abs() < 1 << 31)
        .ok_or_else(|| PreprocessError::Spec {
            what: "a value",
            name: name.into(),
            allowed: "representable at the column's scale (|v * 2^scale_bits| < 2^31)",
        })
}

fn find(cols: &[Col], step: usize, name: &str) -> Result<usize, PreprocessError> {
    cols.iter()
        .position(|c| c.name == name)
        .ok_or_else(|| PreprocessError::UnknownColumn {
            step,
            column: name.into(),
        })
}

/// The column at an index [`find`] returned (an unknown index is the unknown-column error).
fn col(cols: &[Col], c: usize) -> Result<&Col, PreprocessError> {
    cols.get(c).ok_or(PreprocessError::UnknownColumn {
        step: usize::MAX,
        column: c.to_string(),
    })
}

fn col_mut(cols: &mut [Col], c: usize) -> Result<&mut Col, PreprocessError> {
    cols.get_mut(c).ok_or(PreprocessError::UnknownColumn {
        step: usize::MAX,
        column: c.to_string(),
    })
}

fn present_free(cols: &[Col], step: usize, name: &str) -> Result<usize, PreprocessError> {
    let i = find(cols, step, name)?;
    if col(cols, i)?.present.is_some() {
        return Err(PreprocessError::Nullable {
            step,
            column: name.into(),
        });
    }
    Ok(i)
}

fn check_pipeline(p: &Pipeline) -> Result<(), PreprocessError> {
    if p.version != PIPELINE_VERSION {
        return Err(PreprocessError::Spec {
            what: "version",
            name: p.version.to_string(),
            allowed: "1",
        });
    }
    let mut names = std::collections::BTreeSet::new();
    for c in &p.columns {
        checked_scale(c.scale_bits, &c.name)?;
        if c.name.is_empty() || c.name.contains(',') || !names.insert(c.name.as_str()) {
            return Err(PreprocessError::Spec {
                what: "the name",
                name: c.name.clone(),
                allowed: "non-empty, unique and without commas",
            });
        }
    }
    if p.columns.is_empty() || p.output.features.is_empty() || p.output.labels.is_empty() {
        return Err(PreprocessError::Spec {
            what: "columns, output.features and output.labels",
            name: "pipeline".into(),
            allowed: "non-empty",
        });
    }
    checked_scale(p.output.scale_bits, "output")?;
    crate::table::check_value_bits(p.value_bits, "pipeline")?;
    crate::table::check_value_bits(p.output.value_bits, "output")
}

#[allow(clippy::too_many_lines)]
pub(crate) fn build(p: &Pipeline, mode: &Mode<'_>) -> Result<Built, PreprocessError> {
    check_pipeline(p)?;
    let rows = match mode {
        Mode::Prove { table, .. } => table.rows,
        Mode::Verify { rows, .. } => *rows,
    };
    check_size(rows, p.columns.len())?;
    if rows == 0 {
        return Err(PreprocessError::EmptyTable);
    }
    let proving = matches!(mode, Mode::Prove { .. });
    let mut t = Tracer {
        raw_bits: p.value_bits,
        b: ProgramBuilder::new(),
        vals: proving.then(Vec::new),
        inputs: Vec::new(),
    };
    let (table, salts) = match mode {
        Mode::Prove { table, salts } => (Some(*table), Some(*salts)),
        Mode::Verify { .. } => (None, None),
    };
    let raw = Visibility::CommittedTo(RAW_GROUP);
    t.input(
        "raw/salt",
        &[SALT_LEN],
        Scale::ONE,
        raw,
        salts.map(|s| Tensor::vector(s.raw.to_vec())),
    );
    let mut cols = Vec::with_capacity(p.columns.len());
    for (i, c) in p.columns.iter().enumerate() {
        let s = checked_scale(c.scale_bits, &c.name)?;
        let col = table.and_then(|t| t.columns.get(i));
        let id = t.input(
            &format!("raw/{}", c.name),
            &[rows],
            s,
            raw,
            col.map(|c| Tensor::vector(c.values.clone())),
        );
        let present = c.nullable.then(|| {
            t.input(
                &format!("raw/{}/present", c.name),
                &[rows],
                Scale::ONE,
                raw,
                col.and_then(|c| c.present.clone()).map(Tensor::vector),
            )
        });
        cols.push(Col {
            name: c.name.clone(),
            id,
            scale: s,
            present,
        });
    }
    {
        let header = schema_header(p, rows);
        let len = header.len();
        let values =
            t.b.constant("raw/header_values", Tensor::vector(header), Scale::ONE)?;
        let h =
            t.b.op("raw/header", Op::Reshape { shape: vec![len] }, &[values])?;
        t.b.output(h, raw)?;
    }
    let test_rows = p.output.test_rows;
    t.input(
        "train/salt",
        &[SALT_LEN],
        Scale::ONE,
        Visibility::CommittedTo(TRAIN_GROUP),
        salts.map(|s| Tensor::vector(s.train.to_vec())),
    );
    if test_rows > 0 {
        t.input(
            "test/salt",
            &[SALT_LEN],
            Scale::ONE,
            Visibility::CommittedTo(TEST_GROUP),
            salts.map(|s| Tensor::vector(s.test.to_vec())),
        );
    }

    let mut n = rows;
    let mut kept = Vec::new();
    let mut stats = Vec::new();
    let filters = p
        .steps
        .iter()
        .filter(|s| matches!(s, Step::Filter { .. }))
        .count();
    if let Mode::Verify { kept: k, .. } = mode
        && k.len() != filters
    {
        return Err(PreprocessError::KeptCounts {
            expected: filters,
            found: k.len(),
        });
    }
    for (step, st) in p.steps.iter().enumerate() {
        let op = st.name();
        match st {
            Step::Impute { column, value } => {
                let c = find(&cols, step, column)?;
                let cx = Cx {
                    step,
                    op,
                    column: column.clone(),
                };
                let Some(pr) = col(&cols, c)?.present else {
                    return Err(PreprocessError::Spec {
                        what: "the imputed column",
                        name: column.clone(),
                        allowed: "declared nullable and not imputed before",
                    });
                };
                let (x, s) = {
                    let k = col(&cols, c)?;
                    (k.id, k.scale)
                };
                let one = t.scalar(&cx, "one", 1, Scale::ONE)?;
                // The presence mask clamped to 0/1 (whatever was committed): [present >= 1].
                let m = t.at_least(&cx, "mask", pr, one)?;
                let xm = t.op(&cx, "present_values", Op::Mul, &[x, m])?;
                let inv = t.op(&cx, "missing", Op::Sub, &[one, m])?;
                let fill = match value {
                    Fill::Constant(v) => t.scalar(&cx, "fill", encode(*v, s, column)?, s)?,
                    Fill::Keyword(k) if k == "mean" => {
                        let sum = t.sum(&cx, "present_sum", xm)?;
                        let cnt = t.sum(&cx, "present_count", m)?;
                        if proving && t.first(cnt) == Some(0) {
                            return Err(PreprocessError::AllMissing {
                                step,
                                column: column.clone(),
                            });
                        }
                        t.op(
                            &cx,
                            "fill",
                            Op::Div {
                                rounding: Rounding::HalfUp,
                            },
                            &[sum, cnt],
                        )?
                    }
                    Fill::Keyword(_) => {
                        return Err(PreprocessError::Spec {
                            what: "the fill value",
                            name: column.clone(),
                            allowed: "a number or \"mean\"",
                        });
                    }
                };
                let fm = t.op(&cx, "filled", Op::Mul, &[inv, fill])?;
                let y = t.op(&cx, "out", Op::Add, &[xm, fm])?;
                col_mut(&mut cols, c)?.id = y;
                col_mut(&mut cols, c)?.present = None;
            }
            Step::Clip { column, min, max } => {
                let c = present_free(&cols, step, column)?;
                let cx = Cx {
                    step,
                    op,
                    column: column.clone(),
                };
                let (x, s) = {
                    let k = col(&cols, c)?;
                    (k.id, k.scale)
                };
                let (lo, hi) = (encode(*min, s, column)?, encode(*max, s, column)?);
                if lo > hi {
                    return Err(PreprocessError::Spec {
                        what: "clip bounds",
                        name: column.clone(),
                        allowed: "min <= max",
                    });
                }
                let lo = t.scalar(&cx, "min", lo, s)?;
                let hi = t.scalar(&cx, "max", hi, s)?;
                let a = t.op(&cx, "above_min", Op::Sub, &[x, lo])?;
                let ra = t.op(&cx, "relu_above_min", Op::Relu, &[a])?;
                let b = t.op(&cx, "above_max", Op::Sub, &[x, hi])?;
                let rb = t.op(&cx, "relu_above_max", Op::Relu, &[b])?;
                let d = t.op(&cx, "clipped_offset", Op::Sub, &[ra, rb])?;
                col_mut(&mut cols, c)?.id = t.op(&cx, "out", Op::Add, &[d, lo])?;
            }
            Step::Standardize {
                columns,
                scale_bits,
                given,
            } => {
                let ts = checked_scale(*scale_bits, "standardize")?;
                if let Some(g) = given.keys().find(|g| !columns.contains(g)) {
                    return Err(PreprocessError::UnknownColumn {
                        step,
                        column: g.clone(),
                    });
                }
                for column in columns {
                    let c = present_free(&cols, step, column)?;
                    let cx = Cx {
                        step,
                        op,
                        column: column.clone(),
                    };
                    let (x, s) = {
                        let k = col(&cols, c)?;
                        (k.id, k.scale)
                    };
                    let (d, sd) = if let Some(g) = given.get(column) {
                        let sd = encode(g.std, s, column)?;
                        if sd <= 0 {
                            return Err(PreprocessError::Spec {
                                what: "the given std",
                                name: column.clone(),
                                allowed: "positive at the column's scale",
                            });
                        }
                        let mean = t.scalar(&cx, "given_mean", encode(g.mean, s, column)?, s)?;
                        let d = t.op(&cx, "centred", Op::Sub, &[x, mean])?;
                        (d, t.scalar(&cx, "given_std", sd, s)?)
                    } else {
                        let (_, d, var) = t.variance(&cx, x)?;
                        let sd = t.op(&cx, "std", Op::Sqrt, &[var])?;
                        if proving && t.first(sd) == Some(0) {
                            return Err(PreprocessError::ConstantColumn {
                                step,
                                op,
                                column: column.clone(),
                            });
                        }
                        (d, sd)
                    };
                    let up = t.scalar(&cx, "one_at_out", 1 << ts.bits(), ts)?;
                    let num = t.op(&cx, "centred_up", Op::Mul, &[d, up])?;
                    col_mut(&mut cols, c)?.id = t.op(
                        &cx,
                        "out",
                        Op::Div {
                            rounding: Rounding::HalfUp,
                        },
                        &[num, sd],
                    )?;
                    col_mut(&mut cols, c)?.scale = ts;
                }
            }
            Step::MinMax {
                columns,
                scale_bits,
            } => {
                let ts = checked_scale(*scale_bits, "min_max")?;
                for column in columns {
                    let c = present_free(&cols, step, column)?;
                    let cx = Cx {
                        step,
                        op,
                        column: column.clone(),
                    };
                    let (x, s) = {
                        let k = col(&cols, c)?;
                        (k.id, k.scale)
                    };
                    let mn = t.min(&cx, x, s)?;
                    let mx = t.max(&cx, x)?;
                    let range = t.op(&cx, "range", Op::Sub, &[mx, mn])?;
                    if proving && t.first(range) == Some(0) {
                        return Err(PreprocessError::ConstantColumn {
                            step,
                            op,
                            column: column.clone(),
                        });
                    }
                    let d = t.op(&cx, "above_min", Op::Sub, &[x, mn])?;
                    let up = t.scalar(&cx, "one_at_out", 1 << ts.bits(), ts)?;
                    let num = t.op(&cx, "above_min_up", Op::Mul, &[d, up])?;
                    col_mut(&mut cols, c)?.id = t.op(
                        &cx,
                        "out",
                        Op::Div {
                            rounding: Rounding::HalfUp,
                        },
                        &[num, range],
                    )?;
                    col_mut(&mut cols, c)?.scale = ts;
                }
            }
            Step::OneHot { column, categories } => {
                let c = present_free(&cols, step, column)?;
                let (x, s) = {
                    let k = col(&cols, c)?;
                    (k.id, k.scale)
                };
                for &cat in categories {
                    let name = format!("{column}={cat}");
                    if cols.iter().any(|c| c.name == name) {
                        return Err(PreprocessError::Spec {
                            what: "a one-hot column name",
                            name,
                            allowed: "not already a column",
                        });
                    }
                    let cx = Cx {
                        step,
                        op,
                        column: name.clone(),
                    };
                    let v = encode(cat as f64, s, column)?;
                    let v1 = t.scalar(&cx, "category_plus_unit", v.saturating_add(1), s)?;
                    let v = t.scalar(&cx, "category", v, s)?;
                    let is = t.equals(&cx, x, v, v1)?;
                    // The 0/1 integer as 1.0 at the column's scale.
                    let to_one = t.scalar(&cx, "one", 1 << s.bits(), s)?;
                    let id = t.op(&cx, "out", Op::Mul, &[is, to_one])?;
                    cols.push(Col {
                        name,
                        id,
                        scale: s,
                        present: None,
                    });
                }
            }
            Step::Filter {
                column,
                keep,
                value,
            } => {
                let c = present_free(&cols, step, column)?;
                let cx = Cx {
                    step,
                    op,
                    column: column.clone(),
                };
                let (x, s) = {
                    let k = col(&cols, c)?;
                    (k.id, k.scale)
                };
                // Exact on the fixed-point integers: `x > v` is `x >= v + 1 unit`, `x < v` is
                // `v - 1 unit >= x`.
                let v = encode(*value, s, column)?;
                let threshold = |t: &mut Tracer, what: &str, v: i64| t.scalar(&cx, what, v, s);
                let mask = match keep {
                    Cmp::Ge => {
                        let v = threshold(&mut t, "threshold", v)?;
                        t.at_least(&cx, "mask", x, v)?
                    }
                    Cmp::Gt => {
                        let v1 = threshold(&mut t, "threshold_plus_unit", v.saturating_add(1))?;
                        t.at_least(&cx, "mask", x, v1)?
                    }
                    Cmp::Le => {
                        let v = threshold(&mut t, "threshold", v)?;
                        t.at_least(&cx, "mask", v, x)?
                    }
                    Cmp::Lt => {
                        let v0 = threshold(&mut t, "threshold_minus_unit", v.saturating_sub(1))?;
                        t.at_least(&cx, "mask", v0, x)?
                    }
                    Cmp::Eq | Cmp::Ne => {
                        let v1 = threshold(&mut t, "threshold_plus_unit", v.saturating_add(1))?;
                        let v = threshold(&mut t, "threshold", v)?;
                        let z = t.equals(&cx, x, v, v1)?;
                        if matches!(keep, Cmp::Eq) {
                            z
                        } else {
                            let one = t.scalar(&cx, "one", 1, Scale::ONE)?;
                            t.op(&cx, "not_v", Op::Sub, &[one, z])?
                        }
                    }
                };
                let k = match mode {
                    Mode::Prove { .. } => t
                        .value(mask)
                        .map_or(0, |m| m.data().iter().filter(|&&v| v == 1).count()),
                    // The count list's length was checked against the filters above.
                    Mode::Verify { kept: k, .. } => k.get(kept.len()).copied().unwrap_or(0),
                };
                if k == 0 {
                    return Err(PreprocessError::EmptyFilter { step });
                }
                kept.push(k);
                if k < n {
                    for col in &mut cols {
                        let cx = Cx {
                            step,
                            op,
                            column: col.name.clone(),
                        };
                        let part = |t: &mut Tracer, id: TensorId, what: &str| {
                            let all = t.op(
                                &cx,
                                &format!("{what}partitioned"),
                                Op::Partition { kept: k },
                                &[id, mask],
                            )?;
                            t.op(
                                &cx,
                                &format!("{what}kept"),
                                Op::Slice {
                                    axis: 0,
                                    start: 0,
                                    end: k,
                                },
                                &[all],
                            )
                        };
                        col.id = part(&mut t, col.id, "")?;
                        if let Some(pr) = col.present {
                            col.present = Some(part(&mut t, pr, "present_")?);
                        }
                    }
                    n = k;
                }
            }
            Step::Stats { column, public } => {
                let c = present_free(&cols, step, column)?;
                let cx = Cx {
                    step,
                    op,
                    column: column.clone(),
                };
                let (x, s) = {
                    let k = col(&cols, c)?;
                    (k.id, k.scale)
                };
                let mut seen = std::collections::BTreeSet::new();
                for &stat in public {
                    if !seen.insert(stat) {
                        continue;
                    }
                    let (id, bits) = match stat {
                        Stat::Count => (None, 0),
                        Stat::Sum => (Some(t.sum(&cx, "sum", x)?), s.bits()),
                        Stat::Mean => (Some(t.mean(&cx, "mean", x)?), s.bits()),
                        Stat::Variance => (Some(t.variance(&cx, x)?.2), 2 * s.bits()),
                        Stat::Min => (Some(t.min(&cx, x, s)?), s.bits()),
                        Stat::Max => (Some(t.max(&cx, x)?), s.bits()),
                    };
                    stats.push(StatTensor {
                        step,
                        column: column.clone(),
                        stat,
                        id,
                        count: n,
                        scale_bits: bits,
                    });
                }
            }
        }
    }
    for st in &stats {
        if let Some(id) = st.id {
            t.b.output(id, Visibility::Public)?;
        }
    }

    // The processed dataset: features and labels at the output scale, split by row index.
    let out = &p.output;
    let ts = checked_scale(out.scale_bits, "output")?;
    let last = p.steps.len();
    let assemble = |t: &mut Tracer, names: &[String], what: &'static str| {
        let mut parts = Vec::with_capacity(names.len());
        for name in names {
            let c = present_free(&cols, last, name)?;
            let cx = Cx {
                step: last,
                op: what,
                column: name.clone(),
            };
            let v = {
                let k = col(&cols, c)?;
                t.at_scale(&cx, k.id, k.scale, ts)?
            };
            parts.push(t.op(&cx, "column", Op::Reshape { shape: vec![n, 1] }, &[v])?);
        }
        let cx = Cx {
            step: last,
            op: what,
            column: "all".into(),
        };
        if let [only] = parts[..] {
            Ok(only)
        } else {
            t.op(&cx, "table", Op::Concat { axis: 1 }, &parts)
        }
    };
    let x = assemble(&mut t, &out.features, "features")?;
    let y = assemble(&mut t, &out.labels, "labels")?;
    if test_rows >= n {
        return Err(PreprocessError::Split { rows: n, test_rows });
    }
    let train_n = n - test_rows;
    let layout = |rows| zkmlops_commit::TableLayout {
        rows,
        features: out.features.len(),
        labels: out.labels.len(),
        scale_bits: out.scale_bits,
        value_bits: out.value_bits,
    };
    let split = |t: &mut Tracer, id: TensorId, what: &str, start, end| {
        if start == 0 && end == n {
            return Ok(id);
        }
        let cx = Cx {
            step: last,
            op: "split",
            column: what.into(),
        };
        t.op(
            &cx,
            "rows",
            Op::Slice {
                axis: 0,
                start,
                end,
            },
            &[id],
        )
    };
    let x_train = split(&mut t, x, "train_x", 0, train_n)?;
    let y_train = split(&mut t, y, "train_y", 0, train_n)?;
    t.b.output(x_train, Visibility::CommittedTo(TRAIN_GROUP))?;
    t.b.output(y_train, Visibility::CommittedTo(TRAIN_GROUP))?;
    layout(train_n).declare(&mut t.b, x_train, y_train)?;
    layout(train_n).add_header(&mut t.b, "train", TRAIN_GROUP)?;
    let profile = if out.profile_edges.is_empty() {
        None
    } else {
        let edges = profile_edges(&out.profile_edges, ts)?;
        let ids = zkmlops_tensor::composite::column_profile(
            &mut t.b,
            "train/profile",
            x_train,
            out.features.len(),
            &edges,
            ts,
        )?;
        for id in [ids.mean, ids.variance, ids.at_least] {
            t.b.output(id, Visibility::Public)?;
        }
        Some((ids, edges))
    };
    let test = if test_rows > 0 {
        let x_test = split(&mut t, x, "test_x", train_n, n)?;
        let y_test = split(&mut t, y, "test_y", train_n, n)?;
        t.b.output(x_test, Visibility::CommittedTo(TEST_GROUP))?;
        t.b.output(y_test, Visibility::CommittedTo(TEST_GROUP))?;
        layout(test_rows).declare(&mut t.b, x_test, y_test)?;
        layout(test_rows).add_header(&mut t.b, "test", TEST_GROUP)?;
        Some((x_test, y_test, layout(test_rows)))
    } else {
        None
    };
    Ok(Built {
        program: t.b.build()?,
        inputs: t.inputs,
        kept,
        stats,
        train: (x_train, y_train, layout(train_n)),
        test,
        profile,
    })
}

/// Most profile edges.
pub(crate) const MAX_PROFILE_EDGES: usize = 15;

/// The profile edges at the output scale: each exactly representable, strictly increasing.
fn profile_edges(edges: &[f64], ts: Scale) -> Result<Vec<i64>, PreprocessError> {
    let bad = |allowed| PreprocessError::Spec {
        what: "output.profile_edges",
        name: format!("{edges:?}"),
        allowed,
    };
    if edges.len() > MAX_PROFILE_EDGES {
        return Err(bad("at most 15 edges"));
    }
    let fixed = edges
        .iter()
        .map(|&e| {
            let q = encode(e, ts, "profile edge")?;
            if (q as f64 - e * f64::from(1u32 << ts.bits())).abs() > 1e-9 {
                return Err(bad("multiples of the output scale's unit (2^-scale_bits)"));
            }
            Ok(q)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if fixed.windows(2).any(|w| w.first() >= w.get(1)) {
        return Err(bad("strictly increasing"));
    }
    Ok(fixed)
}
