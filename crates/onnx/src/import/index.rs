//! Indexing by computed indices: `Gather`, `GatherElements` and `GatherND` whose indices are
//! computed tensors (token ids, a model input), lowered to ops every backend proves:
//!
//! - a negative index `i` is wrapped to `i + dim` by one exact comparison (`[i >= 0]`);
//! - the index becomes a one-hot row `[i == v]` for `v` in `0..dim` from `dim + 1` exact
//!   comparisons with a constant ramp (`[i >= v] - [i >= v + 1]`, `Op::AtLeast`);
//! - the one-hot rows select from the data by a `matmul` (`Gather`, `GatherND`) or by a product
//!   and a `sum` (`GatherElements`): the selected values come out unchanged, at the data's
//!   scale.
//!
//! An index that is not an integer selects its integer part; one outside `[-dim, dim)` selects
//! nothing (the output is 0 there; ONNX leaves it undefined). Constant indices into computed
//! data are pure data movement (slices).

use zkmlops_field::Scale;
use zkmlops_tensor::{Op, TensorId};

use super::fold::strides;
use super::{Ctx, Importer, Value, axis};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers (`Gather` at computed indices comes here from
/// [`super::movement`]).
pub(super) const OPERATORS: &[&str] = &[
    "ArrayFeatureExtractor",
    "GatherElements",
    "GatherND",
    "ScatterElements",
    "ScatterND",
    "Scatter",
];

/// Most one-hot cells (indices x rows) one gather may build: each is a comparison row.
const MAX_ONE_HOT: usize = 1 << 22;

/// `v * 1.0` at the activation scale: what a row count or offset is as a constant tensor.
pub(super) fn counts(shape: Vec<usize>, values: impl IntoIterator<Item = usize>) -> Const {
    #[allow(clippy::cast_precision_loss)]
    let data = values.into_iter().map(|v| v as f64).collect();
    Const { shape, data }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// A constant index `v` into an axis of `dim` entries, negative ones wrapped; out of
/// `[-dim, dim)` is an error naming the operator.
fn constant_index(ctx: &Ctx<'_>, v: f64, dim: usize) -> Result<usize, OnnxError> {
    #[allow(clippy::cast_possible_truncation)]
    let i = v as i64;
    let d = i64::try_from(dim).unwrap_or(i64::MAX);
    let j = if i < 0 { i + d } else { i };
    usize::try_from(j)
        .ok()
        .filter(|&j| j < dim)
        .ok_or_else(|| ctx.unsupported("an index out of range", format!("{i} of {dim}")))
}

/// The row numbers of constant index tuples (`k` long) into the leading axes `lead`.
fn constant_rows(ctx: &Ctx<'_>, c: &Const, lead: &[usize]) -> Result<Vec<usize>, OnnxError> {
    let rs = strides(lead);
    c.data
        .chunks(lead.len().max(1))
        .map(|tuple| {
            tuple
                .iter()
                .zip(lead)
                .zip(&rs)
                .map(|((&v, &d), &st)| constant_index(ctx, v, d).map(|j| j * st))
                .sum()
        })
        .collect()
}

/// The flat position in `data` (of `shape`) of element `e` of an indices tensor (of
/// `ishape`, same rank) with its axis-`a` coordinate replaced by `v`: the addressing of
/// GatherElements and ScatterElements.
fn element_position(
    shape: &[usize],
    ishape: &[usize],
    a: usize,
) -> impl Fn(usize, usize) -> usize + use<> {
    let (ds, is, ishape) = (strides(shape), strides(ishape), ishape.to_vec());
    move |e, v| {
        ds.iter()
            .zip(&is)
            .zip(&ishape)
            .enumerate()
            .map(|(k, ((&d, &i), &n))| {
                let c = if k == a {
                    v
                } else {
                    (e / i.max(1)).checked_rem(n).unwrap_or(0)
                };
                c * d
            })
            .sum()
    }
}

/// A scatter's `reduction`: how an update combines with the element it lands on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduction {
    /// `none`: the update replaces it (the last update aimed at it wins).
    Replace,
    /// `add`.
    Add,
    /// `mul`.
    Mul,
    /// `max`.
    Max,
    /// `min`.
    Min,
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`].
    pub(super) fn index(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        if ctx.node.op_type == "ArrayFeatureExtractor" {
            let y = self.array_feature_extractor(ctx, out)?;
            self.set(out, Value::Dyn(y));
            return Ok(());
        }
        let data = self.dyn_input(ctx, 0)?;
        let y = match ctx.node.op_type.as_str() {
            "GatherElements" => self.gather_elements(ctx, out, data)?,
            "GatherND" => self.gather_nd(ctx, out, data)?,
            "ScatterND" => self.scatter_nd(ctx, out, data)?,
            _ => self.scatter_elements(ctx, out, data)?,
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// `idx + dim * (1 - [idx >= 0])`: negative indices wrapped (ONNX's `-dim..dim`). `dims`
    /// broadcasts against `idx` (one count, or one per trailing component).
    pub(super) fn wrap_indices(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        idx: TensorId,
        dims: &Const,
    ) -> Result<TensorId, OnnxError> {
        let zero = self.param(ctx, &format!("{out}/zero"), &counts(vec![], [0]), self.s)?;
        let nonneg = self.op(
            ctx,
            &format!("{out}/nonnegative"),
            Op::AtLeast,
            &[idx, zero],
        )?;
        let one = self.param(ctx, &format!("{out}/one"), &counts(vec![], [1]), Scale::ONE)?;
        let negative = self.op(ctx, &format!("{out}/negative"), Op::Sub, &[one, nonneg])?;
        let d = self.param(ctx, &format!("{out}/dims"), dims, self.s)?;
        let shift = self.op(ctx, &format!("{out}/wrap"), Op::Mul, &[negative, d])?;
        self.op(ctx, &format!("{out}/wrapped"), Op::Add, &[idx, shift])
    }

    /// `[n, dim]` rows `[i == v]` (plain 0/1 integers, scale `2^0`) of the indices `idx`
    /// (`[n, 1]`, non-negative, at the activation scale): `[i >= v] - [i >= v + 1]` from one
    /// comparison with the ramp `0..=dim`.
    pub(super) fn one_hot(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        idx: TensorId,
        dim: usize,
    ) -> Result<TensorId, OnnxError> {
        let n = self.shape(idx).first().copied().unwrap_or(1);
        if n.saturating_mul(dim + 1) > MAX_ONE_HOT {
            return Err(ctx.unsupported(
                "a gather at computed indices of more than 2^22 index-row pairs",
                format!("{n} indices into {dim} rows"),
            ));
        }
        let ramp = self.param(
            ctx,
            &format!("{out}/ramp"),
            &counts(vec![dim + 1], 0..=dim),
            self.s,
        )?;
        let at_least = self.op(ctx, &format!("{out}/at_least"), Op::AtLeast, &[idx, ramp])?;
        let lo = self.op(
            ctx,
            &format!("{out}/from"),
            Op::Slice {
                axis: 1,
                start: 0,
                end: dim,
            },
            &[at_least],
        )?;
        let hi = self.op(
            ctx,
            &format!("{out}/beyond"),
            Op::Slice {
                axis: 1,
                start: 1,
                end: dim + 1,
            },
            &[at_least],
        )?;
        self.op(ctx, &format!("{out}/one_hot"), Op::Sub, &[lo, hi])
    }

    /// `ArrayFeatureExtractor(X, Y)` (`ai.onnx.ml`): `X[..., Y]` along the last axis, shaped
    /// `X.shape[:-1] + [len(Y)]` (`[1, len(Y)]` for a 1-D `X`), as scikit-learn classifiers
    /// exported by skl2onnx map a computed class index to its label (`X` the constant labels,
    /// `Y` an `ArgMax`). Constant indices pick slices; computed ones select by one-hot rows
    /// ([`Self::gather_at`]); constant data enters as a weight tensor.
    fn array_feature_extractor(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let data = match self.get(ctx, 0)? {
            Value::Dyn(id) => *id,
            Value::Const(c) => {
                let c = c.clone();
                self.param(ctx, &format!("{out}/data"), &c, self.s)?
            }
        };
        let shape = self.shape(data);
        let last = shape.len().saturating_sub(1);
        let dim = shape.last().copied().unwrap_or(1);
        let (picked, n) = match self.get(ctx, 1)? {
            Value::Const(c) => {
                let c = c.clone();
                let picks = c
                    .data
                    .iter()
                    .map(|&v| constant_index(ctx, v, dim))
                    .collect::<Result<Vec<_>, _>>()?;
                let n = picks.len();
                (
                    self.pick(ctx, &format!("{out}/picked"), data, last, &picks)?,
                    n,
                )
            }
            Value::Dyn(idx) => {
                let idx = *idx;
                let n = numel(&self.shape(idx));
                let flat = self.reshape_to(ctx, &format!("{out}/flat_indices"), idx, vec![n])?;
                (
                    self.gather_at(ctx, &format!("{out}/picked"), data, flat, last)?,
                    n,
                )
            }
        };
        let target = if shape.len() <= 1 {
            vec![1, n]
        } else {
            let mut t = shape.get(..last).unwrap_or_default().to_vec();
            t.push(n);
            t
        };
        self.reshape_to(ctx, out, picked, target)
    }

    /// `Gather(data, idx, axis)` at computed indices: [`Self::gather_at`] on the node's axis.
    pub(super) fn gather_computed(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
        idx: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let rank = self.shape(data).len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
        self.gather_at(ctx, out, data, idx, a)
    }

    /// `Gather` along axis `a` at computed indices: one-hot rows of the (wrapped) indices
    /// times `data` laid out as `[dim, before * after]`, then back to
    /// `before + indices + after`.
    fn gather_at(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
        idx: TensorId,
        a: usize,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(data);
        let (before, rest) = shape.split_at(a.min(shape.len()));
        let Some((&dim, after)) = rest.split_first() else {
            return Err(ctx.unsupported("a Gather axis out of range", a));
        };
        let (p, q) = (numel(before), numel(after));
        let ishape = self.shape(idx);
        let n = numel(&ishape);
        let col = self.reshape_to(ctx, &format!("{out}/indices"), idx, vec![n, 1])?;
        let col = self.wrap_indices(ctx, out, col, &counts(vec![], [dim]))?;
        let hot = self.one_hot(ctx, out, col, dim)?;
        // data as [dim, p * q]: the gathered axis first.
        let rows = if p == 1 {
            self.reshape_to(ctx, &format!("{out}/rows"), data, vec![dim, q])?
        } else {
            let d3 = self.reshape_to(ctx, &format!("{out}/3d"), data, vec![p, dim, q])?;
            let t = self.op(
                ctx,
                &format!("{out}/axis_first"),
                Op::Transpose {
                    perm: vec![1, 0, 2],
                },
                &[d3],
            )?;
            self.reshape_to(ctx, &format!("{out}/rows"), t, vec![dim, p * q])?
        };
        let picked = self.op(ctx, &format!("{out}/picked"), Op::MatMul, &[hot, rows])?;
        let mut target = before.to_vec();
        target.extend_from_slice(&ishape);
        target.extend_from_slice(after);
        if p == 1 {
            return self.reshape_to(ctx, out, picked, target);
        }
        let y3 = self.reshape_to(ctx, &format!("{out}/by_index"), picked, vec![n, p, q])?;
        let t = self.op(
            ctx,
            &format!("{out}/index_inside"),
            Op::Transpose {
                perm: vec![1, 0, 2],
            },
            &[y3],
        )?;
        self.reshape_to(ctx, out, t, target)
    }

    /// `GatherElements(data, idx, axis)`: `out[c] = data[c with axis -> idx[c]]`. Constant
    /// indices pick elements (slices of the flattened data); computed ones select each output
    /// element's line along the axis by its one-hot row (a product and a sum).
    fn gather_elements(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(data);
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), shape.len())?;
        let dim = shape.get(a).copied().unwrap_or(0);
        let (ishape, idx) = match self.get(ctx, 1)? {
            Value::Const(c) => (c.shape.clone(), Err(c.clone())),
            Value::Dyn(id) => (self.shape(*id), Ok(*id)),
        };
        if ishape.len() != shape.len() || ishape.iter().zip(&shape).any(|(i, d)| i > d) {
            return Err(ctx.unsupported(
                "GatherElements indices not within the data's shape",
                format!("indices {ishape:?} for data {shape:?}"),
            ));
        }
        let position = element_position(&shape, &ishape, a);
        let n = numel(&ishape);
        let flat = self.reshape_to(ctx, &format!("{out}/flat"), data, vec![numel(&shape)])?;
        let y = match idx {
            Err(c) => {
                let picks = c
                    .data
                    .iter()
                    .enumerate()
                    .map(|(e, &v)| constant_index(ctx, v, dim).map(|j| position(e, j)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.pick(ctx, out, flat, 0, &picks)?
            }
            Ok(idx) => {
                let lines: Vec<usize> = (0..n)
                    .flat_map(|e| (0..dim).map(move |v| (e, v)))
                    .map(|(e, v)| position(e, v))
                    .collect();
                let lines = self.pick(ctx, &format!("{out}/lines"), flat, 0, &lines)?;
                let lines = self.reshape_to(ctx, &format!("{out}/by_row"), lines, vec![n, dim])?;
                let col = self.reshape_to(ctx, &format!("{out}/indices"), idx, vec![n, 1])?;
                let col = self.wrap_indices(ctx, out, col, &counts(vec![], [dim]))?;
                let hot = self.one_hot(ctx, out, col, dim)?;
                let chosen = self.op(ctx, &format!("{out}/chosen"), Op::Mul, &[hot, lines])?;
                self.op(
                    ctx,
                    &format!("{out}/selected"),
                    Op::Sum {
                        axes: vec![1],
                        keep_dims: false,
                    },
                    &[chosen],
                )?
            }
        };
        self.reshape_to(ctx, out, y, ishape)
    }

    /// `GatherND(data, idx)`: each index tuple (the last axis of `idx`, `k` long) selects the
    /// slice `data[b.., i1, .., ik]` of its batch `b` (the first `batch_dims` axes, shared by
    /// `data` and `idx`; none by default). `data` is read as rows `[batches * rows, rest]`, a
    /// tuple's row offset by its batch's first row. Constant tuples pick those rows; computed
    /// ones are wrapped per component, combined into a row number (a `matmul` by the row
    /// strides, plus the batch's offset) and selected by one-hot rows.
    fn gather_nd(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let shape = self.shape(data);
        let (ishape, idx) = match self.get(ctx, 1)? {
            Value::Const(c) => (c.shape.clone(), Err(c.clone())),
            Value::Dyn(id) => (self.shape(*id), Ok(*id)),
        };
        let b = usize::try_from(ctx.node.int("batch_dims").unwrap_or(0)).unwrap_or(usize::MAX);
        let k = ishape.last().copied().unwrap_or(0);
        if b >= ishape.len() || shape.get(..b) != ishape.get(..b) {
            return Err(ctx.unsupported(
                "GatherND batch_dims that the data and indices do not share",
                format!(
                    "batch_dims {b}, indices {ishape:?}, data {shape:?}",
                    b = ctx.node.int("batch_dims").unwrap_or(0)
                ),
            ));
        }
        if k == 0 || b + k > shape.len() {
            return Err(ctx.unsupported(
                "GatherND index tuples longer than the data's rank",
                format!("indices {ishape:?} for data {shape:?}"),
            ));
        }
        let (batch, tail) = shape.split_at(b);
        let (lead, rest) = tail.split_at(k);
        let rest = rest.to_vec();
        let rows = numel(lead);
        let batches = numel(batch);
        let tuple_shape = ishape.get(..ishape.len() - 1).unwrap_or_default().to_vec();
        let m = numel(&tuple_shape);
        // Tuples of one batch are consecutive (the batch axes lead `idx`).
        let per_batch = m.checked_div(batches).unwrap_or(0).max(1);
        let offset = |j: usize| (j / per_batch) * rows;
        let table = self.reshape_to(
            ctx,
            &format!("{out}/rows"),
            data,
            vec![batches * rows, numel(&rest)],
        )?;
        let rs = strides(lead);
        let picked = match idx {
            Err(c) => {
                let picks: Vec<usize> = constant_rows(ctx, &c, lead)?
                    .into_iter()
                    .enumerate()
                    .map(|(j, r)| offset(j) + r)
                    .collect();
                self.pick(ctx, out, table, 0, &picks)?
            }
            Ok(idx) => {
                let tuples = self.reshape_to(ctx, &format!("{out}/tuples"), idx, vec![m, k])?;
                let tuples =
                    self.wrap_indices(ctx, out, tuples, &counts(vec![k], lead.to_vec()))?;
                let st = self.param(
                    ctx,
                    &format!("{out}/strides"),
                    &counts(vec![k, 1], rs.clone()),
                    Scale::ONE,
                )?;
                let mut row = self.op(ctx, &format!("{out}/row"), Op::MatMul, &[tuples, st])?;
                if batches > 1 {
                    let first = self.param(
                        ctx,
                        &format!("{out}/batch_rows"),
                        &counts(vec![m, 1], (0..m).map(offset)),
                        self.s,
                    )?;
                    row = self.op(ctx, &format!("{out}/batch_row"), Op::Add, &[row, first])?;
                }
                let hot = self.one_hot(ctx, out, row, batches * rows)?;
                self.op(ctx, &format!("{out}/picked"), Op::MatMul, &[hot, table])?
            }
        };
        let mut target = tuple_shape;
        target.extend_from_slice(&rest);
        self.reshape_to(ctx, out, picked, target)
    }

    /// A scatter's `reduction` attribute; `mul`, `max` and `min` need constant indices (input
    /// 1; a graph input there is fixable).
    fn scatter_reduction(&self, ctx: &Ctx<'_>) -> Result<Reduction, OnnxError> {
        let reduction = match ctx.node.string("reduction").as_deref() {
            None | Some("none") => Reduction::Replace,
            Some("add") => Reduction::Add,
            Some("mul") => Reduction::Mul,
            Some("max") => Reduction::Max,
            Some("min") => Reduction::Min,
            Some(other) => {
                return Err(ctx.unsupported("a scatter reduction", other.to_string()));
            }
        };
        if matches!(reduction, Reduction::Mul | Reduction::Max | Reduction::Min)
            && matches!(self.get(ctx, 1)?, Value::Dyn(_))
        {
            let err = ctx.unsupported(
                "a scatter reduction mul, max or min at computed indices",
                "the indices must be constants",
            );
            return Err(self.fixable_or(ctx, 1, err));
        }
        Ok(reduction)
    }

    /// The output of a scatter into `base` (`[rows, width]`) of `updates` (`[n, width]`) whose
    /// target rows are the plain 0/1 matrix `hot` (`[n, rows]`): `base * (1 - covered) +
    /// hot^T updates` (replace; duplicate targets add, where ONNX leaves the result undefined),
    /// or `base + hot^T updates` (add).
    fn scatter_rows(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        base: TensorId,
        hot: TensorId,
        updates: TensorId,
        add: bool,
    ) -> Result<TensorId, OnnxError> {
        let hot_t = self.op(
            ctx,
            &format!("{out}/targets"),
            Op::Transpose { perm: vec![1, 0] },
            &[hot],
        )?;
        let placed = self.op(ctx, &format!("{out}/placed"), Op::MatMul, &[hot_t, updates])?;
        if add {
            return self.op(ctx, &format!("{out}/sum"), Op::Add, &[base, placed]);
        }
        let covered = self.op(
            ctx,
            &format!("{out}/covered"),
            Op::Sum {
                axes: vec![1],
                keep_dims: true,
            },
            &[hot_t],
        )?;
        let one = self.param(ctx, &format!("{out}/one"), &counts(vec![], [1]), Scale::ONE)?;
        let keep = self.op(ctx, &format!("{out}/kept"), Op::Sub, &[one, covered])?;
        let kept = self.op(ctx, &format!("{out}/base_kept"), Op::Mul, &[base, keep])?;
        self.op(ctx, &format!("{out}/scattered"), Op::Add, &[kept, placed])
    }

    /// `ScatterND(data, idx, updates)`: the slices `data[i1, .., ik]` named by the index
    /// tuples replaced by (or, `reduction = add`, increased by) `updates`. Constant tuples
    /// select rows from `data` and `updates` (slices, `concat`); computed ones are wrapped,
    /// combined into row numbers and turned into one-hot rows ([`Self::scatter_rows`]).
    fn scatter_nd(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let reduction = self.scatter_reduction(ctx)?;
        let add = reduction == Reduction::Add;
        let shape = self.shape(data);
        let updates = self.dyn_input(ctx, 2)?;
        let (ishape, idx) = match self.get(ctx, 1)? {
            Value::Const(c) => (c.shape.clone(), Err(c.clone())),
            Value::Dyn(id) => (self.shape(*id), Ok(*id)),
        };
        let k = ishape.last().copied().unwrap_or(0);
        if ishape.is_empty() || k == 0 || k > shape.len() {
            return Err(ctx.unsupported(
                "ScatterND index tuples longer than the data's rank",
                format!("indices {ishape:?} for data {shape:?}"),
            ));
        }
        let (lead, rest) = shape.split_at(k);
        let (rows, width) = (numel(lead), numel(rest));
        let m = numel(ishape.get(..ishape.len() - 1).unwrap_or_default());
        if numel(&self.shape(updates)) != m * width {
            return Err(ctx.unsupported(
                "ScatterND updates of the wrong size",
                format!("{:?} for {m} slices of {width}", self.shape(updates)),
            ));
        }
        let base = self.reshape_to(ctx, &format!("{out}/rows"), data, vec![rows, width])?;
        let upd = self.reshape_to(ctx, &format!("{out}/updates"), updates, vec![m, width])?;
        let rs = strides(lead);
        let y = match idx {
            Err(c) => {
                let targets = constant_rows(ctx, &c, lead)?;
                self.scatter_constant(ctx, out, base, upd, &targets, reduction)?
            }
            Ok(idx) => {
                let tuples = self.reshape_to(ctx, &format!("{out}/tuples"), idx, vec![m, k])?;
                let tuples =
                    self.wrap_indices(ctx, out, tuples, &counts(vec![k], lead.to_vec()))?;
                let st = self.param(
                    ctx,
                    &format!("{out}/strides"),
                    &counts(vec![k, 1], rs.clone()),
                    Scale::ONE,
                )?;
                let row = self.op(ctx, &format!("{out}/row"), Op::MatMul, &[tuples, st])?;
                let hot = self.one_hot(ctx, out, row, rows)?;
                self.scatter_rows(ctx, out, base, hot, upd, add)?
            }
        };
        self.reshape_to(ctx, out, y, shape)
    }

    /// A scatter at constant targets (`targets[j]`: the row update `j` goes to). Replacing:
    /// row `r` of the output is row `r` of `base` or the last update aimed at it, picked from
    /// both stacked (slices only). Adding: the plain 0/1 matrix of the targets through
    /// [`Self::scatter_rows`] (duplicates add up, as ONNX's `add` reduction specifies).
    fn scatter_constant(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        base: TensorId,
        updates: TensorId,
        targets: &[usize],
        reduction: Reduction,
    ) -> Result<TensorId, OnnxError> {
        let rows = self.shape(base).first().copied().unwrap_or(0);
        let n = targets.len();
        if matches!(reduction, Reduction::Mul | Reduction::Max | Reduction::Min) {
            return self.scatter_reduce_constant(ctx, out, base, updates, targets, reduction);
        }
        if reduction == Reduction::Add {
            let mut data = vec![0.0; n * rows];
            for (j, &r) in targets.iter().enumerate() {
                if let Some(cell) = data.get_mut(j * rows + r) {
                    *cell = 1.0;
                }
            }
            let hot = self.param(
                ctx,
                &format!("{out}/targets_constant"),
                &Const {
                    shape: vec![n, rows],
                    data,
                },
                Scale::ONE,
            )?;
            return self.scatter_rows(ctx, out, base, hot, updates, true);
        }
        let mut source: Vec<usize> = (0..rows).collect();
        for (j, &r) in targets.iter().enumerate() {
            if let Some(slot) = source.get_mut(r) {
                *slot = rows + j;
            }
        }
        let both = self.op(
            ctx,
            &format!("{out}/both"),
            Op::Concat { axis: 0 },
            &[base, updates],
        )?;
        self.pick(ctx, out, both, 0, &source)
    }

    /// A scatter with reduction `mul`, `max` or `min` at constant targets: row `r` of the
    /// output combines row `r` of `base` with every update aimed at it (in any order: the
    /// three are commutative), layer by layer: layer `k` picks, for each row, its `k`-th
    /// update, or for a row with fewer a neutral row (the row itself for `max`/`min`, a row of
    /// ones for `mul`), from `base`, `updates` (and the ones) stacked.
    fn scatter_reduce_constant(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        base: TensorId,
        updates: TensorId,
        targets: &[usize],
        reduction: Reduction,
    ) -> Result<TensorId, OnnxError> {
        let bs = self.shape(base);
        let (rows, width) = (
            bs.first().copied().unwrap_or(0),
            bs.get(1).copied().unwrap_or(1),
        );
        let n = targets.len();
        let mut aimed: Vec<Vec<usize>> = vec![Vec::new(); rows];
        for (j, &r) in targets.iter().enumerate() {
            if let Some(list) = aimed.get_mut(r) {
                list.push(rows + j);
            }
        }
        let depth = aimed.iter().map(Vec::len).max().unwrap_or(0);
        if depth == 0 {
            return Ok(base);
        }
        let mut stacked = vec![base, updates];
        if reduction == Reduction::Mul {
            let ones = Const {
                shape: vec![1, width],
                data: vec![1.0; width],
            };
            stacked.push(self.param(ctx, &format!("{out}/ones"), &ones, self.s)?);
        }
        let both = self.op(
            ctx,
            &format!("{out}/stacked"),
            Op::Concat { axis: 0 },
            &stacked,
        )?;
        let mut acc = base;
        for k in 0..depth {
            let picks: Vec<usize> = aimed
                .iter()
                .enumerate()
                .map(|(r, list)| match list.get(k) {
                    Some(&j) => j,
                    None if reduction == Reduction::Mul => rows + n,
                    None => r,
                })
                .collect();
            let name = format!("{out}/layer{k}");
            let layer = self.pick(ctx, &name, both, 0, &picks)?;
            let combined = format!("{out}/reduced{k}");
            acc = match reduction {
                Reduction::Max => self.max2(ctx, &combined, acc, layer)?,
                Reduction::Min => self.min2(ctx, &combined, acc, layer)?,
                _ => {
                    let p = self.op(ctx, &format!("{combined}/product"), Op::Mul, &[acc, layer])?;
                    self.rescale(ctx, &combined, p, self.s.bits())?
                }
            };
        }
        Ok(acc)
    }

    /// `ScatterElements(data, idx, updates, axis)` (and the deprecated `Scatter`):
    /// `out[c with axis -> idx[c]] = updates[c]` (or `+=` with `reduction = add`). Constant
    /// indices pick each output element from `data` or `updates`; computed ones scatter
    /// one-hot rows through a constant 0/1 map of (update, row) pairs to flat positions.
    fn scatter_elements(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        data: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let reduction = self.scatter_reduction(ctx)?;
        let add = reduction == Reduction::Add;
        let shape = self.shape(data);
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), shape.len())?;
        let dim = shape.get(a).copied().unwrap_or(0);
        let updates = self.dyn_input(ctx, 2)?;
        let (ishape, idx) = match self.get(ctx, 1)? {
            Value::Const(c) => (c.shape.clone(), Err(c.clone())),
            Value::Dyn(id) => (self.shape(*id), Ok(*id)),
        };
        if ishape.len() != shape.len()
            || ishape.iter().zip(&shape).any(|(i, d)| i > d)
            || self.shape(updates) != ishape
        {
            return Err(ctx.unsupported(
                "ScatterElements indices or updates not within the data's shape",
                format!(
                    "indices {ishape:?}, updates {:?}, data {shape:?}",
                    self.shape(updates)
                ),
            ));
        }
        let position = element_position(&shape, &ishape, a);
        let total = numel(&shape);
        let n = numel(&ishape);
        let flat = self.reshape_to(ctx, &format!("{out}/flat"), data, vec![total, 1])?;
        let upd = self.reshape_to(ctx, &format!("{out}/updates"), updates, vec![n, 1])?;
        let y = match idx {
            Err(c) => {
                let targets = c
                    .data
                    .iter()
                    .enumerate()
                    .map(|(e, &v)| constant_index(ctx, v, dim).map(|j| position(e, j)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.scatter_constant(ctx, out, flat, upd, &targets, reduction)?
            }
            Ok(idx) => {
                if n.saturating_mul(dim).saturating_mul(total) > MAX_ONE_HOT {
                    return Err(ctx.unsupported(
                        "a ScatterElements at computed indices this large",
                        format!("{n} updates into {total} elements"),
                    ));
                }
                let col = self.reshape_to(ctx, &format!("{out}/indices"), idx, vec![n, 1])?;
                let col = self.wrap_indices(ctx, out, col, &counts(vec![], [dim]))?;
                let hot = self.one_hot(ctx, out, col, dim)?;
                // Map (update e, row v) to its flat position: hot [n, dim] -> [n, total].
                let mut map = vec![0.0; n * dim * total];
                for e in 0..n {
                    for v in 0..dim {
                        if let Some(cell) = map.get_mut(((e * dim + v) * total) + position(e, v)) {
                            *cell = 1.0;
                        }
                    }
                }
                let map = self.param(
                    ctx,
                    &format!("{out}/positions"),
                    &Const {
                        shape: vec![n * dim, total],
                        data: map,
                    },
                    Scale::ONE,
                )?;
                // Each update's one-hot row on the block of its own (update, row) pairs:
                // [1, n dim] times the constant block indicator [n, n dim], then the map.
                let hot_flat =
                    self.reshape_to(ctx, &format!("{out}/hot_flat"), hot, vec![1, n * dim])?;
                let mut blocks = vec![0.0; n * n * dim];
                for e in 0..n {
                    for v in 0..dim {
                        if let Some(cell) = blocks.get_mut(e * n * dim + e * dim + v) {
                            *cell = 1.0;
                        }
                    }
                }
                let blocks = self.param(
                    ctx,
                    &format!("{out}/blocks"),
                    &Const {
                        shape: vec![n, n * dim],
                        data: blocks,
                    },
                    Scale::ONE,
                )?;
                let own = self.op(
                    ctx,
                    &format!("{out}/own_rows"),
                    Op::Mul,
                    &[blocks, hot_flat],
                )?;
                let spread = self.op(ctx, &format!("{out}/spread"), Op::MatMul, &[own, map])?;
                self.scatter_rows(ctx, out, flat, spread, upd, add)?
            }
        };
        self.reshape_to(ctx, out, y, shape)
    }
}
