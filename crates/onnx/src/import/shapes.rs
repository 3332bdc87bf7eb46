//! Einsum as transposes, reshapes, sums and a batched `matmul`; depth/space rearrangements;
//! and a few small operators (`Swish`, `LpNormalization`, `GlobalLpPool`, `OneHot`,
//! `EyeLike`, `Compress`), all lowered to ops every backend proves.

use zkmlops_lookup::Function;
use zkmlops_tensor::{Op, TensorId};

use super::{Ctx, Importer, SIGMOID_RADIUS, Value, axis};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &[
    "Einsum",
    "DepthToSpace",
    "SpaceToDepth",
    "Swish",
    "SwiGLU",
    "LpNormalization",
    "GlobalLpPool",
    "OneHot",
    "EyeLike",
    "Compress",
    "GroupNormalization",
    "MeanVarianceNormalization",
    "RMSNormalization",
];

/// The labels of one einsum operand (`...` is not supported).
fn labels(ctx: &Ctx<'_>, term: &str) -> Result<Vec<char>, OnnxError> {
    let t = term.trim();
    if t.contains('.') || !t.chars().all(|c| c.is_ascii_alphabetic()) {
        return Err(ctx.unsupported(
            "an Einsum term with symbols other than letters (or one ellipsis)",
            t.to_string(),
        ));
    }
    Ok(t.chars().collect())
}

/// An Einsum equation with each `...` replaced by labels of its own (letters the equation does
/// not use): a term's ellipsis stands for the operand's dimensions its letters leave over,
/// aligned on the right with every other term's (numpy's rule); the output must name the
/// ellipsis too. Dimensions an ellipsis shares across operands must be equal (no broadcasting
/// of a 1 against a larger size).
fn expand_ellipsis(ctx: &Ctx<'_>, eq: &str, shapes: &[Vec<usize>]) -> Result<String, OnnxError> {
    let bad = |what: &'static str| ctx.unsupported(what, eq.to_string());
    let (lhs, rhs) = eq
        .split_once("->")
        .ok_or_else(|| bad("an Einsum without an explicit output"))?;
    let terms: Vec<&str> = lhs.split(',').collect();
    // Dimensions each term's ellipsis stands for.
    let mut spans = Vec::with_capacity(terms.len());
    for (t, shape) in terms.iter().zip(shapes) {
        let t = t.trim();
        let explicit = t.chars().filter(char::is_ascii_alphabetic).count();
        spans.push(if t.contains("...") {
            shape
                .len()
                .checked_sub(explicit)
                .ok_or_else(|| bad("an Einsum term with more labels than its operand's rank"))?
        } else {
            0
        });
    }
    let longest = spans.iter().copied().max().unwrap_or(0);
    if longest > 0 && !rhs.contains("...") {
        return Err(bad("an Einsum whose output drops the ellipsis dimensions"));
    }
    let fresh: Vec<char> = ('A'..='Z')
        .chain('a'..='z')
        .filter(|c| !eq.contains(*c))
        .take(longest)
        .collect();
    if fresh.len() < longest {
        return Err(bad("an Einsum with no letters left for its ellipsis"));
    }
    // Each fresh label's size, equal wherever it appears.
    let mut sizes: Vec<Option<usize>> = vec![None; longest];
    for ((t, shape), &span) in terms.iter().zip(shapes).zip(&spans) {
        let Some(at) = t.trim().find("...") else {
            continue;
        };
        let before = t.trim().get(..at).map_or(0, |p| p.chars().count());
        for k in 0..span {
            let size = shape.get(before + k).copied().unwrap_or(1);
            let slot = sizes
                .get_mut(longest - span + k)
                .ok_or_else(|| bad("an Einsum ellipsis"))?;
            match slot {
                Some(s) if *s != size => {
                    return Err(bad("an Einsum ellipsis broadcasting unequal sizes"));
                }
                _ => *slot = Some(size),
            }
        }
    }
    let span_labels = |span: usize| -> String {
        fresh
            .get(longest - span..)
            .unwrap_or_default()
            .iter()
            .collect()
    };
    let lhs: Vec<String> = terms
        .iter()
        .zip(&spans)
        .map(|(t, &span)| t.trim().replace("...", &span_labels(span)))
        .collect();
    Ok(format!(
        "{}->{}",
        lhs.join(","),
        rhs.trim().replace("...", &span_labels(longest))
    ))
}

impl Importer<'_> {
    /// `x * sigmoid(alpha x)` (`alpha` the node's attribute, default 1): Swish, and SwiGLU's
    /// gate.
    fn swish(&mut self, ctx: &Ctx<'_>, out: &str, x: TensorId) -> Result<TensorId, OnnxError> {
        let alpha = f64::from(ctx.node.float("alpha").unwrap_or(1.0));
        let ax = if (alpha - 1.0).abs() < f64::EPSILON {
            x
        } else {
            self.mul_const(
                ctx,
                &format!("{out}/scaled"),
                x,
                &format!("{out}/alpha"),
                &Const {
                    shape: vec![],
                    data: vec![alpha],
                },
            )?
        };
        let sg = self.lookup(
            ctx,
            &format!("{out}/sigmoid"),
            ax,
            Function::Sigmoid,
            SIGMOID_RADIUS,
        )?;
        let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[x, sg])?;
        self.rescale(ctx, out, p, self.s.bits())
    }

    /// Lower one of [`OPERATORS`].
    pub(super) fn shapes(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let y = match ctx.node.op_type.as_str() {
            "Einsum" => self.einsum(ctx, out)?,
            "DepthToSpace" | "SpaceToDepth" => self.depth_space(ctx, out)?,
            "Swish" => {
                let x = self.dyn_input(ctx, 0)?;
                self.swish(ctx, out, x)?
            }
            "SwiGLU" => {
                // Swish(A) * B (opset 28; same shapes, no broadcasting).
                let a = self.dyn_input(ctx, 0)?;
                let b = self.dyn_input(ctx, 1)?;
                let g = self.swish(ctx, &format!("{out}/gate"), a)?;
                let p = self.op(ctx, &format!("{out}/product"), Op::Mul, &[g, b])?;
                self.rescale(ctx, out, p, self.s.bits())?
            }
            "LpNormalization" => {
                let x = self.dyn_input(ctx, 0)?;
                let rank = self.shape(x).len();
                let a = axis(ctx, ctx.node.int("axis").unwrap_or(-1), rank)?;
                let norm = self.lp_norm(ctx, out, x, &[a], ctx.node.int("p").unwrap_or(2))?;
                // A zero norm (every element 0 along the axis) divides by 1 instead: 0, as
                // ONNX's reference gives, not a division by zero.
                let nonzero = self.step(ctx, &format!("{out}/norm_nonzero"), norm)?;
                let zero = self.complement(ctx, &format!("{out}/norm_zero"), nonzero)?;
                let norm = self.op(ctx, &format!("{out}/divisor"), Op::Add, &[norm, zero])?;
                self.divide(ctx, out, x, norm)?
            }
            "GlobalLpPool" => {
                let x = self.dyn_input(ctx, 0)?;
                let axes: Vec<usize> = (2..self.shape(x).len()).collect();
                self.lp_norm(ctx, out, x, &axes, ctx.node.int("p").unwrap_or(2))?
            }
            "OneHot" => self.one_hot_op(ctx, out)?,
            "EyeLike" => {
                let x = self.dyn_input(ctx, 0)?;
                let shape = self.shape(x);
                let [r, c] = shape[..] else {
                    return Err(
                        ctx.unsupported("EyeLike of a tensor not 2-D", format!("{shape:?}"))
                    );
                };
                let k = ctx.node.int("k").unwrap_or(0);
                let data = (0..r * c)
                    .map(|i| {
                        let (i, j) = (i / c, i % c);
                        let d = i64::try_from(j).unwrap_or(0) - i64::try_from(i).unwrap_or(0);
                        if d == k { 1.0 } else { 0.0 }
                    })
                    .collect();
                // A constant: only the input's shape matters.
                self.set(
                    out,
                    Value::Const(Const {
                        shape: vec![r, c],
                        data,
                    }),
                );
                return Ok(());
            }
            "GroupNormalization" => self.group_norm(ctx, out)?,
            "MeanVarianceNormalization" => self.mean_variance_norm(ctx, out)?,
            "RMSNormalization" => self.rms_norm(ctx, out)?,
            _ => self.compress(ctx, out)?,
        };
        self.set(out, Value::Dyn(y));
        Ok(())
    }

    /// The L1 (`p = 1`) or L2 (`p = 2`) norm over `axes`, kept as length-1 axes: `sum |x|`, or
    /// the exact `sqrt` of `sum x^2` (at `2^2s`).
    fn lp_norm(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        x: TensorId,
        axes: &[usize],
        p: i64,
    ) -> Result<TensorId, OnnxError> {
        let sum = |axes: &[usize]| Op::Sum {
            axes: axes.to_vec(),
            keep_dims: true,
        };
        match p {
            1 => {
                let a = self.abs(ctx, &format!("{out}/magnitude"), x)?;
                self.op(ctx, &format!("{out}/l1"), sum(axes), &[a])
            }
            2 => {
                let sq = self.op(ctx, &format!("{out}/squares"), Op::Mul, &[x, x])?;
                let ss = self.op(ctx, &format!("{out}/sum_squares"), sum(axes), &[sq])?;
                self.op(ctx, &format!("{out}/l2"), Op::Sqrt, &[ss])
            }
            other => Err(ctx.unsupported("a norm other than L1 or L2", other)),
        }
    }

    /// `OneHot(indices, depth, values)`: `off + (on - off) [i == v]` for `v` in `0..depth`
    /// (negative indices wrapped), the new axis at `axis`. Constant depth and values.
    fn one_hot_op(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let idx = self.dyn_input(ctx, 0)?;
        let depth = match self.constant(ctx, 1)?.data.as_slice() {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            [d] if *d >= 1.0 => *d as usize,
            other => {
                return Err(ctx.unsupported(
                    "a OneHot depth that is not one positive value",
                    format!("{other:?}"),
                ));
            }
        };
        let values = self.constant(ctx, 2)?;
        let [off, on] = values.data[..] else {
            return Err(ctx.unsupported(
                "OneHot values that are not [off, on]",
                format!("{:?}", values.data),
            ));
        };
        let ishape = self.shape(idx);
        let n: usize = ishape.iter().product();
        let col = self.reshape_to(ctx, &format!("{out}/indices"), idx, vec![n, 1])?;
        let col = self.wrap_indices(
            ctx,
            out,
            col,
            &Const {
                shape: vec![],
                #[allow(clippy::cast_precision_loss)]
                data: vec![depth as f64],
            },
        )?;
        let hot = self.one_hot(ctx, out, col, depth)?;
        let gain = self.param(
            ctx,
            &format!("{out}/on_minus_off"),
            &Const {
                shape: vec![],
                data: vec![on - off],
            },
            self.s,
        )?;
        let scaled = self.op(ctx, &format!("{out}/scaled"), Op::Mul, &[hot, gain])?;
        let base = self.param(
            ctx,
            &format!("{out}/off"),
            &Const {
                shape: vec![],
                data: vec![off],
            },
            self.s,
        )?;
        let y = self.op(ctx, &format!("{out}/valued"), Op::Add, &[scaled, base])?;
        // [n, depth] -> indices' shape with depth at `axis` (default last).
        let rank = ishape.len() + 1;
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(-1), rank)?;
        let mut shape = ishape.clone();
        shape.push(depth);
        let y = self.reshape_to(ctx, &format!("{out}/shaped"), y, shape)?;
        if a + 1 == rank {
            return Ok(y);
        }
        let mut perm: Vec<usize> = (0..rank - 1).collect();
        perm.insert(a, rank - 1);
        self.op(ctx, &format!("{out}/placed"), Op::Transpose { perm }, &[y])
    }

    /// `Compress(x, condition, axis)` with a constant condition: the kept entries along the
    /// axis (slices), or of the flattened input without an axis.
    fn compress(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let cond = self.constant(ctx, 1).map_err(|_| {
            let err = ctx.unsupported(
                "a Compress condition that is computed",
                "it must be a constant",
            );
            self.fixable_or(ctx, 1, err)
        })?;
        let (x, a) = match ctx.node.int("axis") {
            Some(a) => {
                let rank = self.shape(x).len();
                (x, axis(ctx, a, rank)?)
            }
            None => {
                let n: usize = self.shape(x).iter().product();
                (self.reshape_to(ctx, &format!("{out}/flat"), x, vec![n])?, 0)
            }
        };
        let dim = self.shape(x).get(a).copied().unwrap_or(0);
        let picks: Vec<usize> = cond
            .data
            .iter()
            .take(dim)
            .enumerate()
            .filter(|(_, c)| **c != 0.0)
            .map(|(i, _)| i)
            .collect();
        if picks.is_empty() {
            return Err(ctx.unsupported("a Compress that keeps nothing", ""));
        }
        self.pick(ctx, out, x, a, &picks)
    }

    /// `DepthToSpace` (`DCR` or `CRD`) and `SpaceToDepth` on `[N, C, H, W]`: a reshape to six
    /// axes, a transpose, a reshape back.
    fn depth_space(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let b = usize::try_from(ctx.node.int("blocksize").unwrap_or(0)).unwrap_or(0);
        let [n, c, h, w] = shape[..] else {
            return Err(ctx.unsupported(
                "a depth/space rearrangement of an input not [N, C, H, W]",
                format!("{shape:?}"),
            ));
        };
        if b == 0 {
            return Err(ctx.unsupported("a blocksize of 0", ""));
        }
        // DCR (depth, column, row: the default) or CRD (SpaceToDepth has it from opset 25).
        let crd = match ctx.node.string("mode").as_deref() {
            None | Some("DCR") => false,
            Some("CRD") => true,
            Some(other) => return Err(ctx.unsupported("a mode", other.to_string())),
        };
        let (six, perm, back) = if ctx.node.op_type == "DepthToSpace" {
            if c % (b * b) != 0 {
                return Err(ctx.unsupported("channels not a multiple of blocksize^2", c));
            }
            let cc = c / (b * b);
            if crd {
                (
                    vec![n, cc, b, b, h, w],
                    vec![0, 1, 4, 2, 5, 3],
                    vec![n, cc, h * b, w * b],
                )
            } else {
                (
                    vec![n, b, b, cc, h, w],
                    vec![0, 3, 4, 1, 5, 2],
                    vec![n, cc, h * b, w * b],
                )
            }
        } else {
            if h % b != 0 || w % b != 0 {
                return Err(ctx.unsupported(
                    "a height or width not a multiple of blocksize",
                    format!("{shape:?}"),
                ));
            }
            // Channel `(bh b + bw) c + ch` (DCR) or `ch b^2 + bh b + bw` (CRD).
            let perm = if crd {
                vec![0, 1, 3, 5, 2, 4]
            } else {
                vec![0, 3, 5, 1, 2, 4]
            };
            (
                vec![n, c, h / b, b, w / b, b],
                perm,
                vec![n, c * b * b, h / b, w / b],
            )
        };
        let x6 = self.reshape_to(ctx, &format!("{out}/blocks"), x, six)?;
        let t = self.op(ctx, &format!("{out}/moved"), Op::Transpose { perm }, &[x6])?;
        self.reshape_to(ctx, out, t, back)
    }

    /// `Einsum` of one operand (a permutation, with sums over labels absent from the output)
    /// or two (each operand's own-only labels summed first; then shared labels kept in the
    /// output are the batch, the other shared ones contracted: a batched `matmul` of
    /// `[batch, free_a, k]` by `[batch, k, free_b]`, rescaled, then permuted to the output).
    fn einsum(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let eq: String = ctx
            .node
            .string("equation")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        // Implicit output (numpy's rule): the ellipsis, then the labels used exactly once, in
        // alphabetical order.
        let eq = if eq.contains("->") {
            eq
        } else {
            let letters: Vec<char> = eq.chars().filter(char::is_ascii_alphabetic).collect();
            let mut once: Vec<char> = letters
                .iter()
                .copied()
                .filter(|c| letters.iter().filter(|d| *d == c).count() == 1)
                .collect();
            once.sort_unstable();
            let dots = if eq.contains("...") { "..." } else { "" };
            format!("{eq}->{dots}{}", once.into_iter().collect::<String>())
        };
        let eq = if eq.contains("...") {
            let terms = eq.split("->").next().unwrap_or_default().split(',').count();
            let mut shapes = Vec::with_capacity(terms);
            for i in 0..terms {
                let id = self.dyn_input(ctx, i)?;
                shapes.push(self.shape(id));
            }
            expand_ellipsis(ctx, &eq, &shapes)?
        } else {
            eq
        };
        let (lhs, rhs) = match eq.split_once("->") {
            Some((l, r)) => (l.to_string(), r.to_string()),
            None => return Err(ctx.unsupported("an Einsum without an explicit output", eq.clone())),
        };
        let terms: Vec<&str> = lhs.split(',').collect();
        let outl = labels(ctx, &rhs)?;
        let mut ops = Vec::new();
        for (i, t) in terms.iter().enumerate() {
            let mut l = labels(ctx, t)?;
            let mut id = self.dyn_input(ctx, i)?;
            if self.shape(id).len() != l.len() {
                return Err(ctx.unsupported(
                    "an Einsum term whose rank differs from its operand",
                    (*t).to_string(),
                ));
            }
            // A repeated label takes the diagonal: the later axis is dropped, the entries kept
            // where both indices agree.
            while let Some((a, b)) = (0..l.len()).find_map(|a| {
                let c = l.get(a)?;
                (a + 1..l.len())
                    .find(|&b| l.get(b) == Some(c))
                    .map(|b| (a, b))
            }) {
                id = self.diagonal(ctx, &format!("{out}/diagonal{i}_{b}"), id, a, b)?;
                l.remove(b);
            }
            ops.push((id, l));
        }
        // Sum away labels that appear in one operand only and not in the output.
        let others: Vec<Vec<char>> = ops.iter().map(|(_, l)| l.clone()).collect();
        for (k, (id, l)) in ops.iter_mut().enumerate() {
            let lonely: Vec<usize> = l
                .iter()
                .enumerate()
                .filter(|(_, c)| {
                    !outl.contains(c)
                        && others
                            .iter()
                            .enumerate()
                            .all(|(j, o)| j == k || !o.contains(c))
                })
                .map(|(i, _)| i)
                .collect();
            if !lonely.is_empty() {
                *id = self.op(
                    ctx,
                    &format!("{out}/sum{k}"),
                    Op::Sum {
                        axes: lonely.clone(),
                        keep_dims: false,
                    },
                    &[*id],
                )?;
                let kept: Vec<char> = l
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| !lonely.contains(i))
                    .map(|(_, c)| *c)
                    .collect();
                *l = kept;
            }
        }
        match ops.as_slice() {
            [(id, l)] => {
                if outl.iter().any(|c| !l.contains(c)) {
                    return Err(ctx.unsupported("an Einsum output label not in its input", eq));
                }
                self.relabel(ctx, &format!("{out}/permuted"), *id, l, &outl)
            }
            [first, rest @ ..] => {
                if outl.iter().any(|c| ops.iter().all(|(_, l)| !l.contains(c))) {
                    return Err(ctx.unsupported("an Einsum output label in no input", eq));
                }
                // Left to right, one pair at a time (numpy's default order): a label shared
                // by the pair is contracted unless the output or a later operand still needs it.
                let (mut acc, mut la) = first.clone();
                for (k, (b, lb)) in rest.iter().enumerate() {
                    let mut keep = outl.clone();
                    for (_, l) in rest.get(k + 1..).unwrap_or_default() {
                        keep.extend(l.iter().copied());
                    }
                    let name = if rest.len() == 1 {
                        out.to_string()
                    } else {
                        format!("{out}/pair{k}")
                    };
                    (acc, la) = self.einsum_pair(ctx, &name, (acc, &la), (*b, lb), &keep)?;
                }
                self.relabel(ctx, &format!("{out}/permuted"), acc, &la, &outl)
            }
            [] => Err(ctx.unsupported("an Einsum without operands", eq)),
        }
    }

    /// `id`, whose axes carry the labels `from`, transposed to the order `to` (itself when
    /// already in it).
    fn relabel(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        id: TensorId,
        from: &[char],
        to: &[char],
    ) -> Result<TensorId, OnnxError> {
        let perm: Vec<usize> = to
            .iter()
            .filter_map(|c| from.iter().position(|f| f == c))
            .collect();
        if perm.iter().enumerate().all(|(i, p)| i == *p) {
            Ok(id)
        } else {
            self.op(ctx, name, Op::Transpose { perm }, &[id])
        }
    }

    /// One product of an Einsum: `a` (labels `la`) times `b` (`lb`); labels in both and in
    /// `keep` are the batch, labels in both and not in `keep` are contracted. Both operands
    /// transposed and reshaped to `[batch, free, k]` and `[batch, k, free]`, one (batched)
    /// `matmul`, rescaled; the result's labels are the batch, `a`'s free ones, `b`'s.
    fn einsum_pair(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        (a, la): (TensorId, &[char]),
        (b, lb): (TensorId, &[char]),
        keep: &[char],
    ) -> Result<(TensorId, Vec<char>), OnnxError> {
        let shape_of = |me: &Self, id: TensorId, l: &[char], c: char| {
            l.iter()
                .position(|x| *x == c)
                .and_then(|p| me.shape(id).get(p).copied())
                .unwrap_or(1)
        };
        let batch: Vec<char> = la
            .iter()
            .filter(|c| lb.contains(c) && keep.contains(c))
            .copied()
            .collect();
        let contract: Vec<char> = la
            .iter()
            .filter(|c| lb.contains(c) && !keep.contains(c))
            .copied()
            .collect();
        let free_a: Vec<char> = la.iter().filter(|c| !lb.contains(c)).copied().collect();
        let free_b: Vec<char> = lb.iter().filter(|c| !la.contains(c)).copied().collect();
        let size = |me: &Self, id, l: &[char], cs: &[char]| -> usize {
            cs.iter().map(|c| shape_of(me, id, l, *c)).product()
        };
        let (nb, nk) = (size(self, a, la, &batch), size(self, a, la, &contract));
        let (nfa, nfb) = (size(self, a, la, &free_a), size(self, b, lb, &free_b));
        let order_a: Vec<char> = [batch.clone(), free_a.clone(), contract.clone()].concat();
        let order_b: Vec<char> = [batch.clone(), contract.clone(), free_b.clone()].concat();
        let pa = self.relabel(ctx, &format!("{out}/a_ordered"), a, la, &order_a)?;
        let pb = self.relabel(ctx, &format!("{out}/b_ordered"), b, lb, &order_b)?;
        let a3 = self.reshape_to(ctx, &format!("{out}/a3"), pa, vec![nb, nfa, nk])?;
        let b3 = self.reshape_to(ctx, &format!("{out}/b3"), pb, vec![nb, nk, nfb])?;
        let y = if nb == 1 {
            let a2 = self.reshape_to(ctx, &format!("{out}/a2"), a3, vec![nfa, nk])?;
            let b2 = self.reshape_to(ctx, &format!("{out}/b2"), b3, vec![nk, nfb])?;
            self.op(ctx, &format!("{out}/acc"), Op::MatMul, &[a2, b2])?
        } else {
            self.batched_matmul(ctx, out, a3, b3)?
        };
        let y = self.rescale(ctx, &format!("{out}/product"), y, self.s.bits())?;
        let mut dims: Vec<usize> = Vec::new();
        for c in batch.iter().chain(&free_a) {
            dims.push(shape_of(self, a, la, *c));
        }
        for c in &free_b {
            dims.push(shape_of(self, b, lb, *c));
        }
        let have: Vec<char> = [batch, free_a, free_b].concat();
        let y = self.reshape_to(ctx, &format!("{out}/unflat"), y, dims)?;
        Ok((y, have))
    }

    /// `GroupNormalization`: `[N, C, ...]` as `[N, G, rest]` normalised over its last axis
    /// (the LayerNormalization composite), back to the input's shape, then `scale` and `bias`
    /// per channel (opset 21) or per group (opset 18, repeated over the group's channels).
    fn group_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let g = usize::try_from(ctx.node.int("num_groups").unwrap_or(0)).unwrap_or(0);
        let (n, c) = (
            shape.first().copied().unwrap_or(1),
            shape.get(1).copied().unwrap_or(0),
        );
        if shape.len() < 3 || g == 0 || c % g != 0 {
            return Err(ctx.unsupported(
                "a GroupNormalization whose groups do not divide the channels",
                format!("{g} groups for {shape:?}"),
            ));
        }
        let rest = shape.iter().product::<usize>() / (n * g).max(1);
        let grouped = self.reshape_to(ctx, &format!("{out}/groups"), x, vec![n, g, rest])?;
        let y = self.normalise_from(ctx, out, grouped, 2)?;
        let y = self.reshape_to(ctx, &format!("{out}/ungrouped"), y, shape.clone())?;
        // Opset 18 gives one scale and bias per group: repeat each over its channels.
        let channels = |v: Vec<f64>| -> Vec<f64> {
            if v.len() == g && g != c {
                v.iter()
                    .flat_map(|&x| std::iter::repeat_n(x, c / g))
                    .collect()
            } else {
                v
            }
        };
        let scale = channels(self.constant(ctx, 1)?.data);
        let bias = channels(self.constant(ctx, 2)?.data);
        if scale.len() != c || bias.len() != c {
            return Err(ctx.unsupported(
                "GroupNormalization scale or bias not per channel or per group",
                format!("{} and {} for {c} channels", scale.len(), bias.len()),
            ));
        }
        self.channel_affine(ctx, out, y, scale, bias)
    }

    /// `MeanVarianceNormalization` over `axes` (default `[0, 2, 3]`): those axes moved last
    /// and flattened, normalised (the LayerNormalization composite), moved back.
    fn mean_variance_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let rank = shape.len();
        let given = ctx.node.ints("axes").unwrap_or_else(|| vec![0, 2, 3]);
        let mut axes = given
            .iter()
            .map(|&a| axis(ctx, a, rank))
            .collect::<Result<Vec<_>, _>>()?;
        axes.sort_unstable();
        axes.dedup();
        let kept: Vec<usize> = (0..rank).filter(|a| !axes.contains(a)).collect();
        let perm: Vec<usize> = kept.iter().chain(&axes).copied().collect();
        let moved = if perm.iter().enumerate().all(|(i, p)| i == *p) {
            x
        } else {
            self.op(
                ctx,
                &format!("{out}/moved"),
                Op::Transpose { perm: perm.clone() },
                &[x],
            )?
        };
        let moved_shape = self.shape(moved);
        let outer: usize = kept
            .iter()
            .map(|&a| shape.get(a).copied().unwrap_or(1))
            .product();
        let inner: usize = axes
            .iter()
            .map(|&a| shape.get(a).copied().unwrap_or(1))
            .product();
        let flat = self.reshape_to(ctx, &format!("{out}/flat"), moved, vec![outer, inner])?;
        let y = self.normalise_from(ctx, out, flat, 1)?;
        let y = self.reshape_to(ctx, &format!("{out}/unflat"), y, moved_shape)?;
        if perm.iter().enumerate().all(|(i, p)| i == *p) {
            return Ok(y);
        }
        let mut inverse = vec![0; rank];
        for (i, &p) in perm.iter().enumerate() {
            if let Some(v) = inverse.get_mut(p) {
                *v = i;
            }
        }
        self.op(
            ctx,
            &format!("{out}/back"),
            Op::Transpose { perm: inverse },
            &[y],
        )
    }

    /// `RMSNormalization` (`axis`, `epsilon`): `x / sqrt(mean(x^2) + eps) * scale`, the mean of
    /// squares at `2^2s`, its exact square root, one exact division per element.
    fn rms_norm(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<TensorId, OnnxError> {
        let x = self.dyn_input(ctx, 0)?;
        let shape = self.shape(x);
        let rank = shape.len();
        let a = axis(ctx, ctx.node.int("axis").unwrap_or(-1), rank)?;
        let axes: Vec<usize> = (a..rank).collect();
        let eps = f64::from(ctx.node.float("epsilon").unwrap_or(1e-5));
        let sq = self.op(ctx, &format!("{out}/squares"), Op::Mul, &[x, x])?;
        let ms = self.op(
            ctx,
            &format!("{out}/mean_square"),
            Op::Mean {
                axes,
                keep_dims: true,
                rounding: zkmlops_tensor::ops::Rounding::HalfUp,
            },
            &[sq],
        )?;
        let wide = self
            .s
            .product(self.s)
            .map_err(|e| ctx.unsupported("the squared scale", e))?;
        let e = self.param(
            ctx,
            &format!("{out}/epsilon"),
            &Const {
                shape: vec![],
                data: vec![eps.max(1.0 / wide.factor())],
            },
            wide,
        )?;
        let shifted = self.op(ctx, &format!("{out}/shifted"), Op::Add, &[ms, e])?;
        let rms = self.op(ctx, &format!("{out}/rms"), Op::Sqrt, &[shifted])?;
        let one = self.param(
            ctx,
            &format!("{out}/one"),
            &Const {
                shape: vec![],
                data: vec![1.0],
            },
            self.s,
        )?;
        let num = self.op(ctx, &format!("{out}/numerator"), Op::Mul, &[x, one])?;
        let y = self.op(
            ctx,
            &format!("{out}/normalised"),
            Op::Div {
                rounding: zkmlops_tensor::ops::Rounding::HalfUp,
            },
            &[num, rms],
        )?;
        let mut sshape = vec![1; rank];
        for (k, d) in shape.iter().enumerate().skip(a) {
            if let Some(v) = sshape.get_mut(k) {
                *v = *d;
            }
        }
        self.times_input(ctx, out, y, 1, Some(sshape))
    }
}

#[cfg(test)]
mod tests {
    use super::expand_ellipsis;
    use crate::import::Ctx;
    use tract_onnx::pb::NodeProto;

    #[test]
    fn ellipses_become_fresh_labels_aligned_on_the_right() {
        let node = NodeProto::default();
        let ctx = Ctx {
            node: &node,
            name: "e".into(),
        };
        let e = |eq: &str, shapes: &[Vec<usize>]| expand_ellipsis(&ctx, eq, shapes);
        assert_eq!(
            e("...ij,jk->...ik", &[vec![2, 3, 4], vec![4, 5]]).unwrap(),
            "Aij,jk->Aik"
        );
        // Two leftover dimensions against one: right-aligned, equal sizes.
        assert_eq!(
            e("...ij,...jk->...ik", &[vec![7, 2, 3, 4], vec![2, 4, 5]]).unwrap(),
            "ABij,Bjk->ABik"
        );
        assert_eq!(e("b...->...b", &[vec![2, 3, 4]]).unwrap(), "bAB->ABb");
        // An ellipsis of no dimensions.
        assert_eq!(e("...ij->...ji", &[vec![3, 4]]).unwrap(), "ij->ji");
        for (eq, shapes) in [
            // Broadcasting a 1 against 2 is not supported.
            ("...ij,...jk->...ik", vec![vec![1, 3, 4], vec![2, 4, 5]]),
            // The output must keep the ellipsis.
            ("...ij->ij", vec![vec![2, 3, 4]]),
            // More letters than the operand has dimensions.
            ("...ijk->...k", vec![vec![3, 4]]),
        ] {
            assert!(e(eq, &shapes).is_err(), "{eq}");
        }
    }
}
