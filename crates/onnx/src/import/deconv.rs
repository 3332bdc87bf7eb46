//! `ConvTranspose` (2-D) as the convolution it equals: the input with `stride - 1` zeros
//! between neighbouring elements (copies of `x - x`, so the zeros are computed, not supplied),
//! convolved at stride 1 with the kernel flipped and its channel axes swapped, padded by
//! `dilation * (kernel - 1) - pad` on each side (plus `output_padding` at the end); a negative
//! padding crops the result instead.

use zkmlops_tensor::{Op, TensorId};

use super::{Ctx, Importer, Value, pads4};
use crate::OnnxError;
use crate::graph::{Attrs, Const};
use tract_onnx::pb::{AttributeProto, NodeProto};

fn ints_attr(name: &str, v: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        ints: v.to_vec(),
        r#type: 7,
        ..AttributeProto::default()
    }
}

impl Importer<'_> {
    /// `x` with `s - 1` zeros after every element along axis `a` (2 or 3), the trailing
    /// zeros dropped: length `(n - 1) s + 1`.
    fn dilate(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        s: usize,
    ) -> Result<TensorId, OnnxError> {
        if s == 1 {
            return Ok(x);
        }
        let shape = self.shape(x);
        let n = shape.get(a).copied().unwrap_or(1);
        let mut split = shape.clone();
        split.insert(a + 1, 1);
        let x5 = self.reshape_to(ctx, &format!("{out}/axis{a}_cells"), x, split)?;
        let zero = self.op(ctx, &format!("{out}/axis{a}_zero"), Op::Sub, &[x5, x5])?;
        let mut parts = vec![x5];
        parts.extend(std::iter::repeat_n(zero, s - 1));
        let spread = self.op(
            ctx,
            &format!("{out}/axis{a}_spread"),
            Op::Concat { axis: a + 1 },
            &parts,
        )?;
        let mut long = shape;
        if let Some(l) = long.get_mut(a) {
            *l = n * s;
        }
        let long = self.reshape_to(ctx, &format!("{out}/axis{a}_long"), spread, long)?;
        self.op(
            ctx,
            &format!("{out}/axis{a}_dilated"),
            Op::Slice {
                axis: a,
                start: 0,
                end: (n - 1) * s + 1,
            },
            &[long],
        )
    }

    pub(super) fn conv_transpose(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        for unsupported in ["output_shape", "auto_pad"] {
            if let Some(a) = n.attr(unsupported)
                && (unsupported != "auto_pad" || !matches!(a.s.as_slice(), b"NOTSET" | b""))
            {
                return Err(ctx.unsupported(
                    "a ConvTranspose attribute",
                    format!("{unsupported} (give `pads` instead)"),
                ));
            }
        }
        let x = self.dyn_input(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let [c, og, kh, kw] = w.shape[..] else {
            return Err(ctx.unsupported(
                "a ConvTranspose that is not 2-D",
                format!("weight shape {:?}", w.shape),
            ));
        };
        let groups = usize::try_from(n.int("group").unwrap_or(1)).unwrap_or(0);
        if groups == 0 || !c.is_multiple_of(groups) || self.shape(x).get(1) != Some(&c) {
            return Err(ctx.unsupported(
                "ConvTranspose channels and groups that do not match",
                format!(
                    "group {groups}, weights {:?}, input {:?}",
                    w.shape,
                    self.shape(x)
                ),
            ));
        }
        let pair = |name: &str| -> Result<[usize; 2], OnnxError> {
            match n.ints(name).as_deref() {
                None => Ok([1, 1]),
                Some([a, b]) if *a >= 1 && *b >= 1 => Ok([
                    usize::try_from(*a).unwrap_or(1),
                    usize::try_from(*b).unwrap_or(1),
                ]),
                Some(other) => {
                    Err(ctx.unsupported("a ConvTranspose attribute", format!("{name} {other:?}")))
                }
            }
        };
        let strides = pair("strides")?;
        let dilations = pair("dilations")?;
        let extra = match n.ints("output_padding").as_deref() {
            None => [0, 0],
            Some([a, b]) if *a >= 0 && *b >= 0 => [
                usize::try_from(*a).unwrap_or(0),
                usize::try_from(*b).unwrap_or(0),
            ],
            Some(other) => {
                return Err(ctx.unsupported("output_padding", format!("{other:?}")));
            }
        };
        let [pt, pl, pb, pr] = pads4(ctx)?;
        // Conv weights [O, C/g, kh, kw]: W'[g og + o, ci, i, j] = W[g cg + ci, o, kh-1-i, kw-1-j].
        let cg = c / groups;
        let mut data = vec![0.0; w.data.len()];
        for g in 0..groups {
            for o in 0..og {
                for ci in 0..cg {
                    for i in 0..kh {
                        for j in 0..kw {
                            let src =
                                (((g * cg + ci) * og + o) * kh + (kh - 1 - i)) * kw + (kw - 1 - j);
                            let dst = (((g * og + o) * cg + ci) * kh + i) * kw + j;
                            if let (Some(d), Some(v)) = (data.get_mut(dst), w.data.get(src)) {
                                *d = *v;
                            }
                        }
                    }
                }
            }
        }
        let flipped = Const {
            shape: vec![groups * og, cg, kh, kw],
            data,
        };
        let xd = self.dilate(ctx, out, x, 2, strides[0])?;
        let xd = self.dilate(ctx, out, xd, 3, strides[1])?;
        // Padding per side: reach (k - 1) d - p (+ output_padding at the end); below 0 it crops.
        let reach = |k: usize, d: usize| i64::try_from((k - 1) * d).unwrap_or(i64::MAX);
        let signed = |p: usize| i64::try_from(p).unwrap_or(i64::MAX);
        let sides = [
            reach(kh, dilations[0]) - signed(pt),
            reach(kw, dilations[1]) - signed(pl),
            reach(kh, dilations[0]) - signed(pb) + signed(extra[0]),
            reach(kw, dilations[1]) - signed(pr) + signed(extra[1]),
        ];
        let pads: Vec<i64> = sides.iter().map(|&p| p.max(0)).collect();
        let xname = format!("{out}/dilated");
        self.set(&xname, Value::Dyn(xd));
        let wname = format!("{}/flipped", ctx.input(1).unwrap_or(out));
        self.set(&wname, Value::Const(flipped));
        let mut node: NodeProto = n.clone();
        node.op_type = "Conv".into();
        node.input = [
            vec![xname, wname],
            n.input.get(2).cloned().into_iter().collect(),
        ]
        .concat();
        let inner = format!("{out}/conv");
        node.output = vec![inner.clone()];
        node.attribute = vec![
            ints_attr("strides", &[1, 1]),
            ints_attr("dilations", &[signed(dilations[0]), signed(dilations[1])]),
            ints_attr("pads", &pads),
            AttributeProto {
                name: "group".into(),
                i: signed(groups),
                r#type: 2,
                ..AttributeProto::default()
            },
        ];
        if let Some(f) = self.folds.remove(out) {
            self.folds.insert(inner.clone(), f);
        }
        let lifted = Ctx {
            node: &node,
            name: ctx.name.clone(),
        };
        self.conv(&lifted, &inner)?;
        let mut y = match self.values.get(&inner) {
            Some(Value::Dyn(id)) => *id,
            _ => return Err(ctx.unsupported("a ConvTranspose whose convolution failed", "")),
        };
        // Negative sides crop.
        for (a, (begin, end)) in [(2, (sides[0], sides[2])), (3, (sides[1], sides[3]))] {
            if begin >= 0 && end >= 0 {
                continue;
            }
            let len = self.shape(y).get(a).copied().unwrap_or(0);
            let start = usize::try_from(-begin.min(0)).unwrap_or(0);
            let stop = len.saturating_sub(usize::try_from(-end.min(0)).unwrap_or(0));
            if start >= stop {
                return Err(ctx.unsupported(
                    "ConvTranspose pads larger than the output",
                    format!("{sides:?}"),
                ));
            }
            y = self.op(
                ctx,
                &format!("{out}/crop{a}"),
                Op::Slice {
                    axis: a,
                    start,
                    end: stop,
                },
                &[y],
            )?;
        }
        self.set(out, Value::Dyn(y));
        Ok(())
    }
}
