//! ONNX sequences, resolved at import: a sequence is a list of tensor names the importer
//! keeps (never a Program value), so every position must be a constant. `SequenceAt` is
//! then the named tensor itself, `SequenceLength` a constant, `ConcatFromSequence` a `Concat`
//! (after an `Unsqueeze` of each element for `new_axis`) and `SplitToSequence` a `Split`
//! (then a `Squeeze` for `keepdims = 0`): nothing is left to prove beyond those ops.

use tract_onnx::pb::NodeProto;

use super::{Ctx, Importer, Value, axis, int_attr, ints_attr};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module resolves.
pub(super) const OPERATORS: &[&str] = &[
    "SequenceEmpty",
    "SequenceConstruct",
    "SequenceInsert",
    "SequenceErase",
    "SequenceAt",
    "SequenceLength",
    "ConcatFromSequence",
    "SplitToSequence",
];

/// The most elements a sequence may hold (a model cannot make the importer allocate without
/// bound through `SplitToSequence`).
const MAX_ELEMENTS: usize = 1 << 16;

fn signed(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Importer<'_> {
    /// Resolve one of [`OPERATORS`].
    pub(super) fn sequence(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let out = ctx.output()?.to_string();
        match ctx.node.op_type.as_str() {
            "SequenceEmpty" => {
                self.seqs.insert(out, Vec::new());
            }
            "SequenceConstruct" => {
                let mut items = Vec::with_capacity(ctx.node.input.len());
                for i in 0..ctx.node.input.len() {
                    self.get(ctx, i)?;
                    items.push(ctx.input(i).unwrap_or_default().to_string());
                }
                self.seqs.insert(out, items);
            }
            "SequenceInsert" => {
                let mut items = self.seq(ctx, 0)?.to_vec();
                self.get(ctx, 1)?;
                let tensor = ctx.input(1).unwrap_or_default().to_string();
                let at = match ctx.input(2) {
                    Some(_) => self.position(ctx, 2, items.len(), true)?,
                    None => items.len(),
                };
                if items.len() >= MAX_ELEMENTS {
                    return Err(ctx.unsupported("a sequence of more than 2^16 tensors", at));
                }
                items.insert(at, tensor);
                self.seqs.insert(out, items);
            }
            "SequenceErase" => {
                let mut items = self.seq(ctx, 0)?.to_vec();
                let at = match ctx.input(1) {
                    Some(_) => self.position(ctx, 1, items.len(), false)?,
                    None if items.is_empty() => {
                        return Err(
                            ctx.unsupported("an erase from an empty sequence", "no element")
                        );
                    }
                    None => items.len() - 1,
                };
                items.remove(at);
                self.seqs.insert(out, items);
            }
            "SequenceAt" => {
                let n = self.seq(ctx, 0)?.len();
                let at = self.position(ctx, 1, n, false)?;
                let name = self.seq(ctx, 0)?.get(at).cloned().unwrap_or_default();
                self.alias(ctx, &out, &name)?;
            }
            "SequenceLength" => {
                #[allow(clippy::cast_precision_loss)]
                let n = self.seq(ctx, 0)?.len() as f64;
                self.ints.insert(out.clone());
                self.set(
                    &out,
                    Value::Const(Const {
                        shape: vec![],
                        data: vec![n],
                    }),
                );
            }
            "ConcatFromSequence" => self.concat_from_sequence(ctx, &out)?,
            _ => self.split_to_sequence(ctx, &out)?,
        }
        Ok(())
    }

    /// The sequence named by input `i`.
    fn seq(&self, ctx: &Ctx<'_>, i: usize) -> Result<&[String], OnnxError> {
        let name = ctx
            .input(i)
            .ok_or_else(|| ctx.unsupported("a missing input", format!("input #{i}")))?;
        self.seqs
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| OnnxError::UnknownTensor {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: name.into(),
            })
    }

    /// A constant scalar position from input `i` into a sequence of `n` elements, negative
    /// ones counted from the end: within `[-n, n - 1]`, or `[-n, n]` when `end` (an insert may
    /// append).
    fn position(&self, ctx: &Ctx<'_>, i: usize, n: usize, end: bool) -> Result<usize, OnnxError> {
        let v = self.ints_input(ctx, i)?;
        let [p] = v.as_slice() else {
            return Err(
                ctx.unsupported("a sequence position that is not a scalar", format!("{v:?}"))
            );
        };
        let len = signed(n);
        let q = if *p < 0 { p + len } else { *p };
        let last = if end { len } else { len - 1 };
        usize::try_from(q)
            .ok()
            .filter(|_| q <= last)
            .ok_or_else(|| {
                ctx.unsupported(
                    "a sequence position out of range",
                    format!("position {p} in a sequence of {n}"),
                )
            })
    }

    /// `ConcatFromSequence`: the elements concatenated along `axis`, or (`new_axis = 1`)
    /// stacked along a new axis there, as `Concat` of (unsqueezed) elements.
    fn concat_from_sequence(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let items = self.seq(ctx, 0)?.to_vec();
        let Some(first) = items.first() else {
            return Err(ctx.unsupported("a concatenation of an empty sequence", "no element"));
        };
        let rank = match self.values.get(first) {
            Some(Value::Dyn(id)) => self.shape(*id).len(),
            Some(Value::Const(c)) => c.shape.len(),
            None => 0,
        };
        let new_axis = ctx.node.int("new_axis").unwrap_or(0) != 0;
        let raw = ctx.node.int("axis").ok_or_else(|| {
            ctx.unsupported("a ConcatFromSequence without an axis", "axis is required")
        })?;
        let (a, inputs) = if new_axis {
            let a = axis(ctx, raw, rank + 1)?;
            let mut names = Vec::with_capacity(items.len());
            for (k, item) in items.iter().enumerate() {
                let name = format!("{out}/element{k}");
                let v = match self.values.get(item) {
                    Some(Value::Dyn(id)) => {
                        let id = *id;
                        let mut shape = self.shape(id);
                        shape.insert(a.min(shape.len()), 1);
                        Value::Dyn(self.reshape_to(ctx, &name, id, shape)?)
                    }
                    Some(Value::Const(c)) => {
                        let mut shape = c.shape.clone();
                        shape.insert(a.min(shape.len()), 1);
                        Value::Const(Const {
                            shape,
                            data: c.data.clone(),
                        })
                    }
                    None => {
                        return Err(OnnxError::UnknownTensor {
                            node: ctx.name.clone(),
                            op_type: ctx.node.op_type.clone(),
                            input: item.clone(),
                        });
                    }
                };
                if self.ints.contains(item) {
                    self.ints.insert(name.clone());
                }
                self.set(&name, v);
                names.push(name);
            }
            (a, names)
        } else {
            (axis(ctx, raw, rank)?, items)
        };
        let concat = NodeProto {
            name: ctx.name.clone(),
            op_type: "Concat".into(),
            input: inputs,
            output: vec![out.to_string()],
            attribute: vec![int_attr("axis", signed(a))],
            ..NodeProto::default()
        };
        self.node(&Ctx {
            node: &concat,
            name: ctx.name.clone(),
        })
    }

    /// `SplitToSequence`: a `Split` into the sequence's elements (pieces of one along `axis`
    /// without `split`, squeezed when `keepdims = 0`; chunks of a scalar `split`, the last one
    /// shorter; or the sizes a 1-D `split` lists).
    fn split_to_sequence(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let shape = match self.get(ctx, 0)? {
            Value::Dyn(id) => self.shape(*id),
            Value::Const(c) => c.shape.clone(),
        };
        let rank = shape.len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(0), rank)?;
        let dim = shape.get(a).copied().unwrap_or(0);
        let (sizes, squeeze) = match ctx.input(1) {
            None => (vec![1; dim], ctx.node.int("keepdims").unwrap_or(1) == 0),
            Some(_) => {
                let split = self.constant(ctx, 1)?;
                let v = self.ints_input(ctx, 1)?;
                let sizes = if split.shape.is_empty() {
                    match v.first().and_then(|&s| usize::try_from(s).ok()) {
                        Some(s) if s > 0 => {
                            (0..dim.div_ceil(s)).map(|k| s.min(dim - k * s)).collect()
                        }
                        _ => {
                            return Err(ctx.unsupported("a split size below 1", format!("{v:?}")));
                        }
                    }
                } else {
                    v.iter().map(|&s| usize::try_from(s).unwrap_or(0)).collect()
                };
                (sizes, false)
            }
        };
        if sizes.is_empty() || sizes.len() > MAX_ELEMENTS {
            return Err(ctx.unsupported(
                "a split into no pieces or more than 2^16",
                format!("{} pieces of axis {a} ({dim})", sizes.len()),
            ));
        }
        let pieces: Vec<String> = (0..sizes.len())
            .map(|k| format!("{out}/piece{k}"))
            .collect();
        let split = NodeProto {
            name: ctx.name.clone(),
            op_type: "Split".into(),
            input: vec![ctx.input(0).unwrap_or_default().to_string()],
            output: pieces.clone(),
            attribute: vec![
                int_attr("axis", signed(a)),
                ints_attr(
                    "split",
                    &sizes.iter().map(|&s| signed(s)).collect::<Vec<_>>(),
                ),
            ],
            ..NodeProto::default()
        };
        let sctx = Ctx {
            node: &split,
            name: ctx.name.clone(),
        };
        // A constant input becomes a weight tensor first (`dyn_input`), as for `Split`.
        let x = self.dyn_input(ctx, 0)?;
        self.split_pieces(&sctx, Value::Dyn(x))?;
        let mut items = pieces;
        if squeeze {
            let mut target = shape.clone();
            target.remove(a);
            for (k, piece) in items.iter_mut().enumerate() {
                let Some(Value::Dyn(id)) = self.values.get(piece.as_str()) else {
                    continue;
                };
                let id = *id;
                let name = format!("{out}/element{k}");
                let y = self.reshape_to(ctx, &name, id, target.clone())?;
                self.set(&name, Value::Dyn(y));
                *piece = name;
            }
        }
        self.seqs.insert(out.to_string(), items);
        Ok(())
    }
}
