//! 3-D convolutions as 2-D ones over depth planes ([`Importer::conv3d`]), and
//! `ConvTranspose` (2-D and 3-D) as the convolution it equals: the input with `stride - 1` zeros
//! between neighbouring elements (copies of `x - x`, so the zeros are computed, not supplied),
//! convolved at stride 1 with the kernel flipped and its channel axes swapped, padded by
//! `dilation * (kernel - 1) - pad` on each side (plus `output_padding` at the end); a negative
//! padding crops the result instead.

use zkmlops_field::Scale;
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, TensorId};

use super::fold::{ravel, unravel};
use super::movement::{INFINITY_STAND_IN, MAX_COPIES};
use super::{Ctx, Importer, Value, int_attr, ints_attr, pads4};
use crate::OnnxError;
use crate::graph::{Attrs, Const};
use tract_onnx::pb::NodeProto;

/// A per-axis attribute: `n` values, each at least `min` (`default` for each when absent);
/// anything else refused as `what`.
fn per_axis(
    ctx: &Ctx<'_>,
    what: &'static str,
    name: &str,
    n: usize,
    default: usize,
    min: i64,
) -> Result<Vec<usize>, OnnxError> {
    match ctx.node.ints(name) {
        None => Ok(vec![default; n]),
        Some(v) if v.len() == n && v.iter().all(|&a| a >= min) => Ok(v
            .iter()
            .map(|&a| usize::try_from(a).unwrap_or(default))
            .collect()),
        Some(other) => Err(ctx.unsupported(what, format!("{name} {other:?}"))),
    }
}

/// A 3-D attribute (three non-negative values; `default` for each when absent).
fn triple(ctx: &Ctx<'_>, name: &str, default: usize) -> Result<[usize; 3], OnnxError> {
    match per_axis(ctx, "a 3-D attribute", name, 3, default, 0)?[..] {
        [a, b, e] => Ok([a, b, e]),
        _ => Ok([default; 3]),
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
        if s > MAX_COPIES {
            return Err(ctx.unsupported(
                "a ConvTranspose stride this large",
                format!("{s} on axis {a}"),
            ));
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

    /// `ConvTranspose` with 2 or 3 spatial axes (1-D ones are lifted to 2-D before): the
    /// convolution it equals (module docs), by [`Importer::conv`] or [`Importer::conv3d`].
    pub(super) fn conv_transpose(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let auto_pad = n.string("auto_pad").unwrap_or_default();
        if !matches!(
            auto_pad.as_str(),
            "" | "NOTSET" | "VALID" | "SAME_UPPER" | "SAME_LOWER"
        ) {
            return Err(ctx.unsupported("a ConvTranspose auto_pad", auto_pad));
        }
        let x = self.dyn_input(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let (c, og, kernel) = match w.shape.as_slice() {
            [c, og, k @ ..] if k.len() == 2 || k.len() == 3 => (*c, *og, k.to_vec()),
            _ => {
                return Err(ctx.unsupported(
                    "a ConvTranspose that is not 1-D, 2-D or 3-D",
                    format!("weight shape {:?}", w.shape),
                ));
            }
        };
        let nd = kernel.len();
        let groups = usize::try_from(n.int("group").unwrap_or(1)).unwrap_or(0);
        let xs = self.shape(x);
        if groups == 0
            || !c.is_multiple_of(groups)
            || xs.get(1) != Some(&c)
            || xs.len() != nd + 2
            || kernel.contains(&0)
        {
            return Err(ctx.unsupported(
                "ConvTranspose channels and groups that do not match",
                format!("group {groups}, weights {:?}, input {xs:?}", w.shape),
            ));
        }
        let attr = |name: &str, default: usize, min: i64| {
            per_axis(ctx, "a ConvTranspose attribute", name, nd, default, min)
        };
        let strides = attr("strides", 1, 1)?;
        let dilations = attr("dilations", 1, 1)?;
        let extra = attr("output_padding", 0, 0)?;
        let signed = |p: usize| i64::try_from(p).unwrap_or(i64::MAX);
        // Pads `[begin..., end...]`: given, or (an `output_shape`, or `auto_pad` SAME: the
        // input times the stride) generated as ONNX defines: `total = stride (in - 1) +
        // output_padding + (k - 1) d + 1 - out`, split evenly, the odd one at the end for
        // SAME_UPPER and at the start otherwise; a negative total lengthens the output (zeros
        // plus the bias).
        let spatial = xs.get(2..).unwrap_or_default().to_vec();
        let same = matches!(auto_pad.as_str(), "SAME_UPPER" | "SAME_LOWER");
        let target: Option<Vec<i64>> = match n.ints("output_shape") {
            Some(o) if o.len() >= nd => o.get(o.len() - nd..).map(<[i64]>::to_vec),
            Some(o) => {
                return Err(ctx.unsupported("a ConvTranspose output_shape", format!("{o:?}")));
            }
            None if same => Some(
                spatial
                    .iter()
                    .zip(&strides)
                    .map(|(&i, &s)| signed(i.saturating_mul(s)))
                    .collect(),
            ),
            None => None,
        };
        let at = |v: &[usize], a: usize| v.get(a).copied().unwrap_or(1);
        let pads: Vec<i64> = match target {
            Some(t) => {
                let mut begin = Vec::with_capacity(nd);
                let mut end = Vec::with_capacity(nd);
                for a in 0..nd {
                    // Saturating: an absurd `output_shape` gives absurd pads, refused below.
                    let total = signed(at(&strides, a))
                        .saturating_mul(signed(at(&spatial, a)) - 1)
                        .saturating_add(signed(extra.get(a).copied().unwrap_or(0)))
                        .saturating_add(
                            (signed(at(&kernel, a)) - 1).saturating_mul(signed(at(&dilations, a))),
                        )
                        .saturating_add(1)
                        .saturating_sub(t.get(a).copied().unwrap_or(0));
                    let half = total.div_euclid(2);
                    let (b, e) = if auto_pad == "SAME_UPPER" {
                        (half, total - half)
                    } else {
                        (total - half, half)
                    };
                    begin.push(b);
                    end.push(e);
                }
                [begin, end].concat()
            }
            None if auto_pad == "VALID" => vec![0; 2 * nd],
            None if nd == 2 => pads4(ctx)?.map(signed).to_vec(),
            None => per_axis(ctx, "ConvTranspose pads", "pads", 2 * nd, 0, 0)?
                .into_iter()
                .map(signed)
                .collect(),
        };
        // Conv weights [O, C/g, k...]: W'[g og + o, ci, i...] = W[g cg + ci, o, (k - 1 - i)...].
        let cg = c / groups;
        let taps: usize = kernel.iter().product();
        let mut data = vec![0.0; w.data.len()];
        for g in 0..groups {
            for o in 0..og {
                for ci in 0..cg {
                    for t in 0..taps {
                        let idx = unravel(t, &kernel);
                        let flipped: Vec<usize> =
                            idx.iter().zip(&kernel).map(|(&i, &k)| k - 1 - i).collect();
                        let src = ((g * cg + ci) * og + o) * taps + ravel(&flipped, &kernel);
                        let dst = ((g * og + o) * cg + ci) * taps + t;
                        if let (Some(d), Some(v)) = (data.get_mut(dst), w.data.get(src)) {
                            *d = *v;
                        }
                    }
                }
            }
        }
        let flipped = Const {
            shape: [vec![groups * og, cg], kernel.clone()].concat(),
            data,
        };
        let mut xd = x;
        for (a, &s) in strides.iter().enumerate() {
            xd = self.dilate(ctx, out, xd, a + 2, s)?;
        }
        // Padding per side: reach (k - 1) d - p (+ output_padding at the end); below 0 it crops.
        let reach = |a: usize| {
            i64::try_from((at(&kernel, a) - 1).saturating_mul(at(&dilations, a)))
                .unwrap_or(i64::MAX)
        };
        let pad = |a: usize| pads.get(a).copied().unwrap_or(0);
        let sides: Vec<i64> = (0..nd)
            .map(|a| reach(a).saturating_sub(pad(a)))
            .chain((0..nd).map(|a| {
                reach(a)
                    .saturating_sub(pad(nd + a))
                    .saturating_add(signed(extra.get(a).copied().unwrap_or(0)))
            }))
            .collect();
        let conv_pads: Vec<i64> = sides.iter().map(|&p| p.max(0)).collect();
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
            ints_attr("strides", &vec![1; nd]),
            ints_attr(
                "dilations",
                &dilations.iter().map(|&d| signed(d)).collect::<Vec<_>>(),
            ),
            ints_attr("pads", &conv_pads),
            int_attr("group", signed(groups)),
        ];
        if let Some(f) = self.folds.remove(out) {
            self.folds.insert(inner.clone(), f);
        }
        let lifted = Ctx {
            node: &node,
            name: ctx.name.clone(),
        };
        if nd == 3 {
            self.conv3d(&lifted, &inner)?;
        } else {
            self.conv(&lifted, &inner)?;
        }
        let mut y = match self.values.get(&inner) {
            Some(Value::Dyn(id)) => *id,
            _ => return Err(ctx.unsupported("a ConvTranspose whose convolution failed", "")),
        };
        // Negative sides crop.
        for a in 0..nd {
            let (begin, end) = (
                sides.get(a).copied().unwrap_or(0),
                sides.get(nd + a).copied().unwrap_or(0),
            );
            if begin >= 0 && end >= 0 {
                continue;
            }
            let len = self.shape(y).get(a + 2).copied().unwrap_or(0);
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
                &format!("{out}/crop{}", a + 2),
                Op::Slice {
                    axis: a + 2,
                    start,
                    end: stop,
                },
                &[y],
            )?;
        }
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// A 3-D `Conv` (`X [N, C, D, H, W]`, `W [O, C/g, KD, KH, KW]`) as 2-D ones: depth padded
    /// with zero planes (copies of `x - x`), the planes stacked as a batch `[N Dp, C, H, W]`,
    /// one 2-D convolution per kernel depth `kd` (strides, pads, dilations and groups of the
    /// height and width), then output plane `d` is the sum over `kd` of plane
    /// `d * stride + kd * dilation` of the `kd`-th result. A folded BatchNormalization is
    /// applied per channel after.
    pub(super) fn conv3d(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let x = self.dyn_input(ctx, 0)?;
        let w = self.constant(ctx, 1)?;
        let xs = self.shape(x);
        let (&[nb, c, d, h, wd], &[o, cg, kd, kh, kw]) = (xs.as_slice(), w.shape.as_slice()) else {
            return Err(ctx.unsupported(
                "a 3-D Conv of an input not [N, C, D, H, W]",
                format!("{xs:?}, weights {:?}", w.shape),
            ));
        };
        let [sd, sh, sw] = triple(ctx, "strides", 1)?;
        let [dd, dh, dw] = triple(ctx, "dilations", 1)?;
        let pads = match n.ints("pads").as_deref() {
            None => [0; 6],
            Some(p) if p.len() == 6 && p.iter().all(|&v| v >= 0) => {
                let mut a = [0usize; 6];
                for (slot, v) in a.iter_mut().zip(p) {
                    *slot = usize::try_from(*v).unwrap_or(0);
                }
                a
            }
            Some(other) => return Err(ctx.unsupported("3-D Conv pads", format!("{other:?}"))),
        };
        if n.string("auto_pad").is_some_and(|a| a != "NOTSET") || sd == 0 || dd == 0 {
            return Err(ctx.unsupported("a 3-D Conv with auto_pad or a zero stride", ""));
        }
        let (pd0, pd1) = (pads[0], pads[3]);
        // Depth padding by zero planes.
        let mut xp = x;
        if pd0 + pd1 > 0 {
            let first = self.op(
                ctx,
                &format!("{out}/plane0"),
                Op::Slice {
                    axis: 2,
                    start: 0,
                    end: 1,
                },
                &[x],
            )?;
            let zero = self.op(ctx, &format!("{out}/zero_plane"), Op::Sub, &[first, first])?;
            let mut parts = vec![zero; pd0];
            parts.push(x);
            parts.extend(std::iter::repeat_n(zero, pd1));
            xp = self.op(
                ctx,
                &format!("{out}/depth_padded"),
                Op::Concat { axis: 2 },
                &parts,
            )?;
        }
        let dp = d + pd0 + pd1;
        let reach = dd * (kd - 1) + 1;
        if dp < reach {
            return Err(ctx.unsupported(
                "a 3-D Conv kernel deeper than its input",
                format!("{dp} < {reach}"),
            ));
        }
        let d_out = (dp - reach) / sd + 1;
        let planes = self.op(
            ctx,
            &format!("{out}/planes_first"),
            Op::Transpose {
                perm: vec![0, 2, 1, 3, 4],
            },
            &[xp],
        )?;
        let planes = self.reshape_to(
            ctx,
            &format!("{out}/planes"),
            planes,
            vec![nb * dp, c, h, wd],
        )?;
        let pname = format!("{out}/planes");
        self.set(&pname, Value::Dyn(planes));
        let fold = self.folds.remove(out);
        let mut total: Option<TensorId> = None;
        for k in 0..kd {
            // W[:, :, k] as a 2-D kernel [O, C/g, KH, KW].
            let mut data = Vec::with_capacity(o * cg * kh * kw);
            for oc in 0..o * cg {
                let base = (oc * kd + k) * kh * kw;
                data.extend(w.data.get(base..base + kh * kw).unwrap_or_default());
            }
            let wname = format!("{}/depth{k}", ctx.input(1).unwrap_or(out));
            self.set(
                &wname,
                Value::Const(Const {
                    shape: vec![o, cg, kh, kw],
                    data,
                }),
            );
            let mut inputs = vec![pname.clone(), wname];
            if k == 0 {
                inputs.extend(n.input.get(2).cloned());
            }
            let mut node: NodeProto = n.clone();
            node.input = inputs;
            let inner = format!("{out}/depth{k}_conv");
            node.output = vec![inner.clone()];
            node.attribute = vec![
                ints_attr("strides", &[signed(sh), signed(sw)]),
                ints_attr("dilations", &[signed(dh), signed(dw)]),
                ints_attr(
                    "pads",
                    &[
                        signed(pads[1]),
                        signed(pads[2]),
                        signed(pads[4]),
                        signed(pads[5]),
                    ],
                ),
                int_attr("group", n.int("group").unwrap_or(1)),
            ];
            let lifted = Ctx {
                node: &node,
                name: ctx.name.clone(),
            };
            self.conv(&lifted, &inner)?;
            let y = match self.values.get(&inner) {
                Some(Value::Dyn(id)) => *id,
                _ => return Err(ctx.unsupported("a 3-D Conv whose 2-D form failed", k)),
            };
            let ys = self.shape(y);
            let (ho, wo) = (
                ys.get(2).copied().unwrap_or(0),
                ys.get(3).copied().unwrap_or(0),
            );
            let y = self.reshape_to(
                ctx,
                &format!("{inner}/by_plane"),
                y,
                vec![nb, dp, o, ho, wo],
            )?;
            let picks: Vec<usize> = (0..d_out).map(|j| j * sd + k * dd).collect();
            let y = self.pick(ctx, &format!("{inner}/taken"), y, 1, &picks)?;
            total = Some(match total {
                None => y,
                Some(t) => self.op(ctx, &format!("{out}/sum{k}"), Op::Add, &[t, y])?,
            });
        }
        let total = total.ok_or_else(|| ctx.unsupported("a 3-D Conv kernel of depth 0", ""))?;
        let mut y = self.op(
            ctx,
            &format!("{out}/channels_first"),
            Op::Transpose {
                perm: vec![0, 2, 1, 3, 4],
            },
            &[total],
        )?;
        let final_name = match fold {
            Some(f) => {
                let per = vec![1, o, 1, 1, 1];
                let a = Const {
                    shape: per.clone(),
                    data: f.a.clone(),
                };
                y = self.mul_const(
                    ctx,
                    &format!("{}/scaled", f.out),
                    y,
                    &format!("{}/a", f.out),
                    &a,
                )?;
                let b = self.param(
                    ctx,
                    &format!("{}/b", f.out),
                    &Const {
                        shape: per,
                        data: f.b.clone(),
                    },
                    self.s,
                )?;
                y = self.op(ctx, &f.out, Op::Add, &[y, b])?;
                f.out
            }
            None => out.to_string(),
        };
        self.set(&final_name, Value::Dyn(y));
        Ok(())
    }
}

impl Importer<'_> {
    /// 3-D `MaxPool` / `AveragePool` (`[N, C, D, H, W]`, no depth padding): the 2-D pool of
    /// every depth plane (height/width kernel, strides, pads, dilations), then the maximum (`a
    /// + relu(b - a)`) or the mean (sum times `1 / kd`) over each window of `kd` planes (every
    /// `dd`-th plane with depth dilation `dd`).
    pub(super) fn pool3d(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let ceil_mode = n.int("ceil_mode").unwrap_or(0) != 0;
        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let &[nb, c, d, h, w] = xs.as_slice() else {
            return Err(ctx.unsupported(
                "a 3-D pool of an input not [N, C, D, H, W]",
                format!("{xs:?}"),
            ));
        };
        let [kd, kh, kw] = triple(ctx, "kernel_shape", 0)?;
        let [sd, sh, sw] = triple(ctx, "strides", 1)?;
        let [dd, dh, dw] = triple(ctx, "dilations", 1)?;
        let pads = n.ints("pads").unwrap_or_else(|| vec![0; 6]);
        let [p_d0, p_h0, p_w0, p_d1, p_h1, p_w1] = pads[..] else {
            return Err(ctx.unsupported("3-D pool pads", format!("{pads:?}")));
        };
        let (p_d0, p_d1) = (
            usize::try_from(p_d0).unwrap_or(0),
            usize::try_from(p_d1).unwrap_or(0),
        );
        // The depth a window spans: `(kd - 1) dd + 1` planes.
        let span = kd.saturating_sub(1) * dd + 1;
        if (n.op_type != "MaxPool" && p_d0 + p_d1 > 0)
            || kd == 0
            || sd == 0
            || dd == 0
            || span > d + p_d0 + p_d1
        {
            return Err(ctx.unsupported(
                "a 3-D average pool with depth padding or a kernel deeper than its input",
                format!("pads {pads:?}, kernel depth {kd} of {d}"),
            ));
        }
        // `ceil_mode`: extra planes at the end for the last partial windows, never counted.
        let extra = if ceil_mode {
            super::ceil_mode_extra(d, p_d0, p_d1, span, sd)
        } else {
            0
        };
        let valid = d + p_d0 + p_d1;
        // Max pooling ignores padding: repeat the edge planes instead (without depth dilation).
        // An average sums zero planes and divides by the planes each window really holds.
        let x = if n.op_type == "MaxPool" && dd == 1 {
            self.edge_pad(ctx, out, x, 2, p_d0, p_d1 + extra)?
        } else if n.op_type == "MaxPool" {
            // A dilated window may hold padding but not the edge plane beside it: pad with a
            // value below every activation.
            self.constant_pad(
                ctx,
                &format!("{out}/padded"),
                x,
                2,
                p_d0,
                p_d1 + extra,
                -INFINITY_STAND_IN,
            )?
        } else {
            self.constant_pad(ctx, &format!("{out}/ceil"), x, 2, 0, extra, 0.0)?
        };
        let d = valid + extra;
        let planes = self.op(
            ctx,
            &format!("{out}/planes_first"),
            Op::Transpose {
                perm: vec![0, 2, 1, 3, 4],
            },
            &[x],
        )?;
        let planes =
            self.reshape_to(ctx, &format!("{out}/planes"), planes, vec![nb * d, c, h, w])?;
        let pname = format!("{out}/planes");
        self.set(&pname, Value::Dyn(planes));
        let mut node: NodeProto = n.clone();
        node.input = vec![pname];
        let inner = format!("{out}/plane_pool");
        node.output = vec![inner.clone()];
        node.attribute = n
            .attribute
            .iter()
            .filter(|a| {
                !matches!(
                    a.name.as_str(),
                    "kernel_shape" | "strides" | "pads" | "dilations"
                )
            })
            .cloned()
            .chain([
                ints_attr("kernel_shape", &[signed(kh), signed(kw)]),
                ints_attr("strides", &[signed(sh), signed(sw)]),
                ints_attr("pads", &[p_h0, p_w0, p_h1, p_w1]),
                ints_attr("dilations", &[signed(dh), signed(dw)]),
            ])
            .collect();
        let lifted = Ctx {
            node: &node,
            name: ctx.name.clone(),
        };
        self.pool(&lifted, &inner)?;
        let p = match self.values.get(&inner) {
            Some(Value::Dyn(id)) => *id,
            _ => return Err(ctx.unsupported("a 3-D pool whose 2-D form failed", "")),
        };
        let ps = self.shape(p);
        let (ho, wo) = (
            ps.get(2).copied().unwrap_or(0),
            ps.get(3).copied().unwrap_or(0),
        );
        let p = self.reshape_to(ctx, &format!("{out}/by_plane"), p, vec![nb, d, c, ho, wo])?;
        let d_out = (d - span) / sd + 1;
        let mut acc: Option<TensorId> = None;
        for k in 0..kd {
            let picks: Vec<usize> = (0..d_out).map(|j| j * sd + k * dd).collect();
            let t = self.pick(ctx, &format!("{out}/depth{k}"), p, 1, &picks)?;
            acc = Some(match acc {
                None => t,
                Some(a) if n.op_type == "MaxPool" => {
                    self.max2(ctx, &format!("{out}/max{k}"), a, t)?
                }
                Some(a) => self.op(ctx, &format!("{out}/sum{k}"), Op::Add, &[a, t])?,
            });
        }
        let mut y = acc.ok_or_else(|| ctx.unsupported("a 3-D pool of depth 0", ""))?;
        if n.op_type != "MaxPool" && kd > 1 {
            // 1 / (planes of window j inside the input), along the depth axis of [N, D, ...].
            #[allow(clippy::cast_precision_loss)]
            let inv = Const {
                shape: vec![1, d_out, 1, 1, 1],
                data: (0..d_out)
                    .map(|j| {
                        let held = (0..kd).filter(|k| j * sd + k * dd < valid).count();
                        1.0 / held.max(1) as f64
                    })
                    .collect(),
            };
            y = self.mul_const(
                ctx,
                &format!("{out}/mean"),
                y,
                &format!("{out}/inverse_depth"),
                &inv,
            )?;
        }
        let y = self.op(
            ctx,
            out,
            Op::Transpose {
                perm: vec![0, 2, 1, 3, 4],
            },
            &[y],
        )?;
        self.set(out, Value::Dyn(y));
        Ok(())
    }
}

impl Importer<'_> {
    /// `x` extended along axis `a` by `before` and `after` copies of its first and last
    /// entries (edge padding: for a maximum the same as ignoring the padding, since every
    /// window keeps at least one real entry).
    pub(super) fn edge_pad(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        a: usize,
        before: usize,
        after: usize,
    ) -> Result<TensorId, OnnxError> {
        if before == 0 && after == 0 {
            return Ok(x);
        }
        let n = self.shape(x).get(a).copied().unwrap_or(1);
        let picks: Vec<usize> = std::iter::repeat_n(0, before)
            .chain(0..n)
            .chain(std::iter::repeat_n(n.saturating_sub(1), after))
            .collect();
        self.pick(ctx, &format!("{out}/edge{a}"), x, a, &picks)
    }

    /// A dilated 2-D pool (`[kernel, strides, dilations]`, pads `[t, l, b, r]`): the input
    /// padded, then every window offset a strided pick, combined by the maximum, or for an
    /// average pool (`average = Some(count_include_pad)`) summed and divided exactly (rounded
    /// half up) by each window's cell count: every cell, or only the input's cells.
    pub(super) fn dilated_pool(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        [[kh, kw], [sh, sw], [dh, dw]]: [[usize; 2]; 3],
        ([t, l, b, r], [extra_b, extra_r]): ([usize; 4], [usize; 2]),
        average: Option<bool>,
    ) -> Result<TensorId, OnnxError> {
        // A dilated window may hold padding but not the edge entry beside it: pad with a
        // value below every activation (max) or with zeros (a sum) instead of repeating the
        // edge.
        let fill = if average.is_some() {
            0.0
        } else {
            -INFINITY_STAND_IN
        };
        let xs = self.shape(x);
        let (in_h, in_w) = (
            xs.get(2).copied().unwrap_or(0),
            xs.get(3).copied().unwrap_or(0),
        );
        let xp = self.constant_pad(ctx, out, x, 2, t, b + extra_b, fill)?;
        let xp = self.constant_pad(ctx, out, xp, 3, l, r + extra_r, fill)?;
        let s = self.shape(xp);
        let (h, w) = (
            s.get(2).copied().unwrap_or(0),
            s.get(3).copied().unwrap_or(0),
        );
        let (reach_h, reach_w) = ((kh.max(1) - 1) * dh + 1, (kw.max(1) - 1) * dw + 1);
        if kh == 0 || kw == 0 || sh == 0 || sw == 0 || h < reach_h || w < reach_w {
            return Err(ctx.unsupported(
                "a dilated pool window larger than its input",
                format!("{s:?}"),
            ));
        }
        let (oh, ow) = ((h - reach_h) / sh + 1, (w - reach_w) / sw + 1);
        let mut acc: Option<TensorId> = None;
        for i in 0..kh {
            let rows: Vec<usize> = (0..oh).map(|o| o * sh + i * dh).collect();
            let ri = self.pick(ctx, &format!("{out}/rows{i}"), xp, 2, &rows)?;
            for j in 0..kw {
                let cols: Vec<usize> = (0..ow).map(|o| o * sw + j * dw).collect();
                let v = self.pick(ctx, &format!("{out}/window{i}_{j}"), ri, 3, &cols)?;
                acc = Some(match acc {
                    None => v,
                    Some(a) if average.is_some() => {
                        self.op(ctx, &format!("{out}/sum{i}_{j}"), Op::Add, &[a, v])?
                    }
                    Some(a) => self.max2(ctx, &format!("{out}/max{i}_{j}"), a, v)?,
                });
            }
        }
        let acc = acc.ok_or_else(|| ctx.unsupported("a pool of an empty window", ""))?;
        let Some(include_pad) = average else {
            return Ok(acc);
        };
        // Cells of each window: along an axis, the offsets that land inside the input.
        let inside = |o: usize, stride: usize, dil: usize, k: usize, pad: usize, size: usize| {
            (0..k)
                .filter(|&q| (pad..pad + size).contains(&(o * stride + q * dil)))
                .count()
        };
        #[allow(clippy::cast_precision_loss)]
        let counts: Vec<f64> = (0..oh)
            .flat_map(|oi| (0..ow).map(move |oj| (oi, oj)))
            .map(|(oi, oj)| {
                if include_pad {
                    // The explicit padding counts; `ceil_mode`'s extra end padding does not.
                    (inside(oi, sh, dh, kh, 0, t + in_h + b)
                        * inside(oj, sw, dw, kw, 0, l + in_w + r)) as f64
                } else {
                    (inside(oi, sh, dh, kh, t, in_h) * inside(oj, sw, dw, kw, l, in_w)) as f64
                }
            })
            .collect();
        if counts.contains(&0.0) {
            return Err(ctx.unsupported("a dilated average window of padding only", ""));
        }
        let counts = Const {
            shape: vec![oh, ow],
            data: counts,
        };
        let c = self.param(ctx, &format!("{out}/cells"), &counts, Scale::ONE)?;
        self.op(
            ctx,
            out,
            Op::Div {
                rounding: Rounding::HalfUp,
            },
            &[acc, c],
        )
    }
}

fn signed(v: usize) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}
