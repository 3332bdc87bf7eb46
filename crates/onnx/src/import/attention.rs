//! `Attention` (opset 23 and 24): ONNX's scaled dot-product attention, lowered through the
//! nodes of its own function body (reshapes, a transpose, two `MatMul`s of computed tensors,
//! `Softmax`, comparisons and `Where`), each of which the importer already proves exactly.
//!
//! What the operator computes, following ONNX's reference implementation
//! (`onnx/reference/ops/op_attention.py`):
//!
//! - 3-D inputs `[batch, seq, heads * head_size]` are split into heads (`q_num_heads`,
//!   `kv_num_heads`) and back; 4-D inputs are `[batch, heads, seq, head_size]`;
//! - `past_key` / `past_value` are concatenated before the new keys and values along the
//!   sequence axis (outputs 1 and 2, `present_key` / `present_value`);
//! - grouped-query attention repeats each key/value head `q_heads / kv_heads` times;
//! - scores `Q K^T * scale` (`1 / sqrt(head_size)` by default), then `softcap * tanh(scores /
//!   softcap)` when `softcap > 0`;
//! - the bias: a float `attn_mask` is added; a boolean one, `is_causal` (bottom-right aligned
//!   after a cache), and opset 24's `nonpad_kv_seqlen` (per-batch valid key count, a
//!   comparison with a computed integer) say which keys a query may attend. A masked score
//!   becomes `-`[`INFINITY_STAND_IN`], far enough below any score that `Softmax` gives it
//!   weight 0 (ONNX uses `-inf`);
//! - a query row with no attendable key gives probabilities 0 (ONNX's fully-masked-row rule),
//!   by a `Where` on whether any key of the row is allowed;
//! - output 3, `qk_matmul_output`, is the scores (after `softcap`) for modes 0 and 1, the
//!   masked scores for mode 2 and the probabilities for mode 3.
//!
//! `softmax_precision` changes the float type of a float computation; the fixed-point
//! `Softmax` is the same whatever it says, so it is accepted and has no effect.

use super::movement::{INFINITE_SENTINEL, INFINITY_STAND_IN, has_infinities};
use super::{Ctx, Importer, Value, int_attr, ints_attr};
use crate::OnnxError;
use crate::graph::Attrs;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["Attention", "RotaryEmbedding"];

/// ONNX's `qk_matmul_output_mode` that exposes the masked scores.
const MODE_WITH_BIAS: i64 = 2;
/// ONNX's `qk_matmul_output_mode` that exposes the probabilities.
const MODE_SOFTMAX: i64 = 3;

/// Where the block of queries starts among the keys.
enum Offset {
    /// After this many cached keys (or at 0).
    Fixed(usize),
    /// At `nonpad_kv_seqlen[b] - q_len`: the name of `nonpad_kv_seqlen` as `[batch, 1, 1, 1]`.
    PerBatch(String),
}

impl Importer<'_> {
    /// The `Attention` node of `ctx`, its first output `out`.
    pub(super) fn attention(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        if ctx.node.op_type == "RotaryEmbedding" {
            return self.rotary_embedding(ctx, out);
        }
        let n = ctx.node;
        let p = format!("{out}/attention");
        let required = |i: usize, what: &str| {
            ctx.input(i)
                .map(str::to_string)
                .ok_or_else(|| ctx.unsupported("an Attention without Q, K and V", what.to_string()))
        };
        let (q_in, k_in, v_in) = (required(0, "Q")?, required(1, "K")?, required(2, "V")?);
        let q_shape = self.shape_of(ctx, &q_in)?;
        let rank = q_shape.len();
        for name in [&k_in, &v_in] {
            let r = self.shape_of(ctx, name)?.len();
            if r != rank || !(rank == 3 || rank == 4) {
                return Err(ctx.unsupported(
                    "Attention inputs other than three of rank 3 or three of rank 4",
                    format!("Q rank {rank}, {name} rank {r}"),
                ));
            }
        }

        // Heads: [batch, heads, seq, head_size].
        let (q, k, v) = if rank == 3 {
            let heads = |attr: &str| {
                n.int(attr)
                    .and_then(|h| usize::try_from(h).ok())
                    .filter(|&h| h > 0)
                    .ok_or_else(|| {
                        ctx.unsupported(
                            "a 3-D Attention without q_num_heads and kv_num_heads",
                            attr.to_string(),
                        )
                    })
            };
            let (hq, hkv) = (heads("q_num_heads")?, heads("kv_num_heads")?);
            let mut split = Vec::with_capacity(3);
            for (x, h, tag) in [(&q_in, hq, "q"), (&k_in, hkv, "k"), (&v_in, hkv, "v")] {
                let &[b, s, hidden] = self.shape_of(ctx, x)?.as_slice() else {
                    return Err(ctx.unsupported("an Attention input of rank 3", x));
                };
                if hidden % h != 0 {
                    return Err(ctx.unsupported(
                        "a hidden size that is not a multiple of the head count",
                        format!("{tag}: {hidden} over {h} heads"),
                    ));
                }
                let r = format!("{p}/{tag}_heads");
                self.emit_reshape(ctx, x, &[b, s, h, hidden / h], &r)?;
                let t = format!("{p}/{tag}4");
                self.emit(
                    ctx,
                    "Transpose",
                    &[&r],
                    &t,
                    vec![ints_attr("perm", &[0, 2, 1, 3])],
                )?;
                split.push(t);
            }
            let [q, k, v]: [String; 3] = split
                .try_into()
                .map_err(|_| ctx.unsupported("three split inputs", ""))?;
            (q, k, v)
        } else {
            (q_in.clone(), k_in.clone(), v_in.clone())
        };

        // The cache: past keys and values come first along the sequence axis.
        let present = |i: usize| n.output.get(i).filter(|o| !o.is_empty()).cloned();
        let mut kv = Vec::with_capacity(2);
        for (x, past_at, tag) in [(&k, 4, "key"), (&v, 5, "value")] {
            let name = present(if tag == "key" { 1 } else { 2 })
                .unwrap_or_else(|| format!("{p}/present_{tag}"));
            match ctx.input(past_at) {
                Some(past) => {
                    let past = past.to_string();
                    self.emit(ctx, "Concat", &[&past, x], &name, vec![int_attr("axis", 2)])?;
                }
                None => self.emit(ctx, "Identity", &[x], &name, vec![])?,
            }
            kv.push(name);
        }
        let [mut k, mut v]: [String; 2] = kv
            .try_into()
            .map_err(|_| ctx.unsupported("a key and a value", ""))?;
        let past_len = match ctx.input(4) {
            Some(past) => self.shape_of(ctx, past)?.get(2).copied().unwrap_or(0),
            None => 0,
        };

        let (qs, ks) = (self.shape_of(ctx, &q)?, self.shape_of(ctx, &k)?);
        let (&[batch, hq, q_len, head], &[_, hkv, kv_len, _]) = (qs.as_slice(), ks.as_slice())
        else {
            return Err(ctx.unsupported("Attention heads of rank 4", format!("{qs:?}, {ks:?}")));
        };
        // Grouped-query attention: each key/value head serves `hq / hkv` query heads.
        if hq != hkv {
            if hkv == 0 || hq % hkv != 0 {
                return Err(ctx.unsupported(
                    "query heads that are not a multiple of the key/value heads",
                    format!("{hq} over {hkv}"),
                ));
            }
            let reps = hq / hkv;
            let idx = format!("{p}/kv_head_of_q_head");
            #[allow(clippy::cast_precision_loss)]
            let data = (0..hq).map(|h| (h / reps) as f64).collect();
            self.bind_const(&idx, vec![hq], data, true);
            for x in [&mut k, &mut v] {
                let r = format!("{x}/repeated");
                self.emit(ctx, "Gather", &[x, &idx], &r, vec![int_attr("axis", 1)])?;
                *x = r;
            }
        }

        // Scores: Q K^T * scale, then the soft cap.
        let kt = format!("{p}/k_transposed");
        self.emit(
            ctx,
            "Transpose",
            &[&k],
            &kt,
            vec![ints_attr("perm", &[0, 1, 3, 2])],
        )?;
        let raw = format!("{p}/qk");
        self.emit(ctx, "MatMul", &[&q, &kt], &raw, vec![])?;
        #[allow(clippy::cast_precision_loss)]
        let scale = n
            .float("scale")
            .map_or(1.0 / (head.max(1) as f64).sqrt(), f64::from);
        let sc = format!("{p}/scale");
        self.bind_const(&sc, vec![], vec![scale], false);
        let mut scores = format!("{p}/scores");
        self.emit(ctx, "Mul", &[&raw, &sc], &scores, vec![])?;
        let softcap = n.float("softcap").map_or(0.0, f64::from);
        if softcap > 0.0 {
            let (inv, cap) = (format!("{p}/inverse_softcap"), format!("{p}/softcap"));
            self.bind_const(&inv, vec![], vec![1.0 / softcap], false);
            self.bind_const(&cap, vec![], vec![softcap], false);
            let (a, t, c) = (
                format!("{p}/over_cap"),
                format!("{p}/tanh"),
                format!("{p}/capped"),
            );
            self.emit(ctx, "Mul", &[&scores, &inv], &a, vec![])?;
            self.emit(ctx, "Tanh", &[&a], &t, vec![])?;
            self.emit(ctx, "Mul", &[&t, &cap], &c, vec![])?;
            scores = c;
        }
        let capped = scores.clone();

        // The mask: an additive part (a float mask) and the keys each query may attend.
        let (additive, allowed) = self.attention_mask(ctx, &p, [batch, q_len, kv_len], past_len)?;
        if let Some(a) = additive {
            let b = format!("{p}/biased");
            self.emit(ctx, "Add", &[&scores, &a], &b, vec![])?;
            scores = b;
        }
        // `allowed` everywhere needs neither the stand-in nor the fully-masked guard.
        let allowed = allowed.filter(|a| {
            !matches!(self.values.get(a), Some(Value::Const(c)) if c.data.iter().all(|&x| x != 0.0))
        });
        if let Some(a) = &allowed {
            let neg = format!("{p}/masked_value");
            self.bind_const(&neg, vec![], vec![-INFINITY_STAND_IN], false);
            let m = format!("{p}/masked");
            self.emit(ctx, "Where", &[a, &scores, &neg], &m, vec![])?;
            scores = m;
        }
        let masked = scores.clone();
        let mut probs = format!("{p}/softmax");
        self.emit(
            ctx,
            "Softmax",
            &[&scores],
            &probs,
            vec![int_attr("axis", -1)],
        )?;
        if let Some(a) = &allowed {
            // A row with no allowed key: probabilities 0, not the stand-ins' uniform softmax.
            let (axes, any) = (format!("{p}/last_axis"), format!("{p}/row_attends"));
            self.bind_const(&axes, vec![1], vec![-1.0], true);
            self.emit(
                ctx,
                "ReduceMax",
                &[a, &axes],
                &any,
                vec![int_attr("keepdims", 1)],
            )?;
            let every_row = matches!(self.values.get(&any), Some(Value::Const(c)) if c.data.iter().all(|&x| x != 0.0));
            if !every_row {
                let zero = format!("{p}/zero");
                self.bind_const(&zero, vec![], vec![0.0], false);
                let g = format!("{p}/guarded");
                self.emit(ctx, "Where", &[&any, &probs, &zero], &g, vec![])?;
                probs = g;
            }
        }

        // Y = P V, back to [batch, seq, heads * v_head_size] for 3-D inputs.
        let vs = self.shape_of(ctx, &v)?;
        let dv = vs.get(3).copied().unwrap_or(0);
        if rank == 3 {
            let (y4, yt) = (format!("{p}/y4"), format!("{p}/y_seq_major"));
            self.emit(ctx, "MatMul", &[&probs, &v], &y4, vec![])?;
            self.emit(
                ctx,
                "Transpose",
                &[&y4],
                &yt,
                vec![ints_attr("perm", &[0, 2, 1, 3])],
            )?;
            self.emit_reshape(ctx, &yt, &[batch, q_len, hq * dv], out)?;
        } else {
            self.emit(ctx, "MatMul", &[&probs, &v], out, vec![])?;
        }
        if let Some(qk_out) = present(3) {
            let mode = n.int("qk_matmul_output_mode").unwrap_or(0);
            let from = match mode {
                0 | 1 => &capped,
                MODE_WITH_BIAS => &masked,
                MODE_SOFTMAX => &probs,
                other => {
                    return Err(
                        ctx.unsupported("a qk_matmul_output_mode other than 0, 1, 2 or 3", other)
                    );
                }
            };
            let from = from.clone();
            self.emit(ctx, "Identity", &[&from], &qk_out, vec![])?;
        }
        Ok(())
    }

    /// The additive float mask (padded with 0 to `kv_len` keys) and the name of a 0/1 tensor
    /// of the keys each query may attend (broadcasting to `[batch, heads, q_len, kv_len]`),
    /// from `attn_mask`, `is_causal` and `nonpad_kv_seqlen`. `None` where nothing applies.
    fn attention_mask(
        &mut self,
        ctx: &Ctx<'_>,
        p: &str,
        [batch, q_len, kv_len]: [usize; 3],
        past_len: usize,
    ) -> Result<(Option<String>, Option<String>), OnnxError> {
        let mut additive = None;
        let mut parts: Vec<String> = Vec::new();
        if let Some(mask) = ctx.input(3) {
            let mask = mask.to_string();
            let shape = self.shape_of(ctx, &mask)?;
            let width = shape.last().copied().unwrap_or(0);
            if width > kv_len || width == 0 {
                return Err(ctx.unsupported(
                    "an attn_mask longer than the keys (or empty)",
                    format!("{width} columns for {kv_len} keys"),
                ));
            }
            let boolean = self.bools.contains(&mask);
            let mut m = mask.clone();
            // A constant float mask's -inf entries (or `finfo.min`) are mask bits, the rest
            // is additive.
            if let (false, Some(Value::Const(c))) = (boolean, self.values.get(&mask))
                && has_infinities(c)
            {
                if c.data.iter().any(|&x| x >= INFINITE_SENTINEL) {
                    return Err(ctx.unsupported("an attn_mask of +inf", "+inf"));
                }
                let c = c.clone();
                let masked = |x: f64| x <= -INFINITE_SENTINEL;
                let bits = c
                    .data
                    .iter()
                    .map(|&x| f64::from(u8::from(!masked(x))))
                    .collect();
                let finite = c
                    .data
                    .iter()
                    .map(|&x| if masked(x) { 0.0 } else { x })
                    .collect();
                let (b, f) = (format!("{p}/mask_bits"), format!("{p}/mask_finite"));
                self.bind_const(&b, c.shape.clone(), bits, true);
                self.bind_const(&f, c.shape.clone(), finite, false);
                parts.push(self.pad_keys(ctx, &b, &shape, kv_len, "mask_bits")?);
                m = f;
            }
            if boolean {
                parts.push(self.pad_keys(ctx, &m, &shape, kv_len, "mask")?);
            } else {
                additive = Some(self.pad_keys(ctx, &m, &shape, kv_len, "bias")?);
                if width < kv_len {
                    // ONNX pads a float mask with -inf: those keys are not attended.
                    let cols = format!("{p}/mask_columns");
                    #[allow(clippy::cast_precision_loss)]
                    let data = (0..kv_len)
                        .map(|j| f64::from(u8::from(j < width)))
                        .collect();
                    self.bind_const(&cols, vec![kv_len], data, true);
                    parts.push(cols);
                }
            }
        }
        let nonpad = match ctx.input(6) {
            Some(s) => {
                let s = s.to_string();
                let r = format!("{p}/nonpad_per_batch");
                self.emit_reshape(ctx, &s, &[batch, 1, 1, 1], &r)?;
                Some(r)
            }
            None => None,
        };
        // Where the query block starts among the keys: after the internal cache, or per
        // batch at `nonpad_kv_seqlen[b] - q_len` (an external cache), else at 0.
        let offset = match (&nonpad, ctx.input(4)) {
            (Some(np), None) => Offset::PerBatch(np.clone()),
            _ => Offset::Fixed(past_len),
        };
        #[allow(clippy::cast_precision_loss)]
        let grid = |f: &dyn Fn(f64, f64) -> f64| -> Vec<f64> {
            (0..q_len)
                .flat_map(|i| (0..kv_len).map(move |j| (i as f64, j as f64)))
                .map(|(i, j)| f(i, j))
                .collect()
        };
        // Query i attends key j iff j - i <= offset (causal), i + offset - j <= left and
        // j - i - offset <= right (the sliding window, opset 25; -1 leaves a side open).
        if ctx.node.int("is_causal").unwrap_or(0) != 0 {
            let c = grid(&|i, j| j - i);
            parts.push(self.offset_bound(
                ctx,
                &format!("{p}/causal"),
                [q_len, kv_len],
                c,
                &offset,
                false,
            )?);
        }
        #[allow(clippy::cast_precision_loss)]
        if let Some(left) = ctx.node.int("left_window_size").filter(|&w| w >= 0) {
            let left = left as f64;
            let c = grid(&|i, j| j - i + left);
            parts.push(self.offset_bound(
                ctx,
                &format!("{p}/left_window"),
                [q_len, kv_len],
                c,
                &offset,
                true,
            )?);
        }
        #[allow(clippy::cast_precision_loss)]
        if let Some(right) = ctx.node.int("right_window_size").filter(|&w| w >= 0) {
            let right = right as f64;
            let c = grid(&|i, j| j - i - right);
            parts.push(self.offset_bound(
                ctx,
                &format!("{p}/right_window"),
                [q_len, kv_len],
                c,
                &offset,
                false,
            )?);
        }
        if let Some(np) = nonpad {
            let (pos, c) = (format!("{p}/key_positions"), format!("{p}/nonpad"));
            #[allow(clippy::cast_precision_loss)]
            let data = (0..kv_len).map(|j| j as f64).collect();
            self.bind_const(&pos, vec![kv_len], data, true);
            self.emit(ctx, "Less", &[&pos, &np], &c, vec![])?;
            parts.push(c);
        }
        let mut allowed: Option<String> = None;
        for (i, part) in parts.into_iter().enumerate() {
            allowed = Some(match allowed {
                None => part,
                Some(acc) => {
                    let both = format!("{p}/allowed{i}");
                    self.emit(ctx, "And", &[&acc, &part], &both, vec![])?;
                    both
                }
            });
        }
        Ok((additive, allowed))
    }

    /// The 0/1 tensor `offset <= c[i][j]` (`at_most`) or `c[i][j] <= offset` over `[q_len,
    /// kv_len]`: a constant for a fixed offset, a comparison with `nonpad_kv_seqlen[b]`
    /// (broadcast to `[batch, 1, q_len, kv_len]`) for a per-batch one.
    fn offset_bound(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        shape: [usize; 2],
        c: Vec<f64>,
        offset: &Offset,
        at_most: bool,
    ) -> Result<String, OnnxError> {
        match offset {
            Offset::Fixed(o) => {
                #[allow(clippy::cast_precision_loss)]
                let o = *o as f64;
                let data = c
                    .iter()
                    .map(|&c| f64::from(u8::from(if at_most { o <= c } else { c <= o })))
                    .collect();
                self.bind_const(name, shape.to_vec(), data, true);
            }
            Offset::PerBatch(nonpad) => {
                // offset = nonpad - q_len: compare nonpad with c + q_len.
                #[allow(clippy::cast_precision_loss)]
                let q_len = shape[0] as f64;
                let bound = format!("{name}/bound");
                let data = c.iter().map(|&c| c + q_len).collect();
                self.bind_const(&bound, shape.to_vec(), data, true);
                let (a, b) = if at_most {
                    (nonpad.as_str(), bound.as_str())
                } else {
                    (bound.as_str(), nonpad.as_str())
                };
                self.emit(ctx, "LessOrEqual", &[a, b], name, vec![])?;
            }
        }
        Ok(name.to_string())
    }

    /// `x` (of `shape`) with its last axis padded with zeros to `kv_len` entries.
    fn pad_keys(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        shape: &[usize],
        kv_len: usize,
        tag: &str,
    ) -> Result<String, OnnxError> {
        let width = shape.last().copied().unwrap_or(0);
        if width == kv_len {
            return Ok(x.to_string());
        }
        let mut zshape = shape.to_vec();
        if let Some(l) = zshape.last_mut() {
            *l = kv_len - width;
        }
        let (z, y) = (format!("{x}/{tag}_padding"), format!("{x}/{tag}_padded"));
        let count = zshape.iter().product();
        self.bind_const(&z, zshape, vec![0.0; count], true);
        self.emit(ctx, "Concat", &[x, &z], &y, vec![int_attr("axis", -1)])?;
        Ok(y)
    }

    /// `RotaryEmbedding` (opset 23): rotary position embeddings as ONNX's reference defines
    /// them. The input in `[batch, seq, heads, head_size]` (from 4-D `[batch, heads, seq,
    /// head]` by a transpose, from 3-D by splitting `num_heads`); the first
    /// `rotary_embedding_dim` features rotated in pairs (halves, or even/odd with
    /// `interleaved`) by the cos and sin caches, picked by `position_ids` (a `Gather`, at
    /// computed indices when they are an input); `real = cos x1 - sin x2`, `imag = sin x1 +
    /// cos x2`; the rest passed through; back to the input's layout.
    pub(super) fn rotary_embedding(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let p = format!("{out}/rotary");
        let (Some(x), Some(cos), Some(sin)) = (ctx.input(0), ctx.input(1), ctx.input(2)) else {
            return Err(ctx.unsupported("a RotaryEmbedding without input and caches", ""));
        };
        let (x, mut cos, mut sin) = (x.to_string(), cos.to_string(), sin.to_string());
        let shape = self.shape_of(ctx, &x)?;
        let (b, s, h, d, x4) = match *shape.as_slice() {
            [b, h, s, d] => {
                let t = format!("{p}/seq_major");
                self.emit(
                    ctx,
                    "Transpose",
                    &[&x],
                    &t,
                    vec![ints_attr("perm", &[0, 2, 1, 3])],
                )?;
                (b, s, h, d, t)
            }
            [b, s, hidden] => {
                let h = n
                    .int("num_heads")
                    .and_then(|v| usize::try_from(v).ok())
                    .filter(|&v| v > 0 && hidden % v == 0)
                    .ok_or_else(|| {
                        ctx.unsupported(
                            "a 3-D RotaryEmbedding without a dividing num_heads",
                            hidden,
                        )
                    })?;
                let t = format!("{p}/heads");
                self.emit_reshape(ctx, &x, &[b, s, h, hidden / h], &t)?;
                (b, s, h, hidden / h, t)
            }
            _ => {
                return Err(ctx.unsupported(
                    "a RotaryEmbedding input of rank other than 3 or 4",
                    format!("{shape:?}"),
                ));
            }
        };
        let rot = match n.int("rotary_embedding_dim").unwrap_or(0) {
            0 => d,
            r => usize::try_from(r).unwrap_or(0),
        };
        if rot == 0 || rot > d || rot % 2 != 0 {
            return Err(ctx.unsupported("a rotary_embedding_dim", format!("{rot} of {d}")));
        }
        let half = rot / 2;
        if let Some(pos) = ctx.input(3) {
            let pos = pos.to_string();
            for c in [&mut cos, &mut sin] {
                let g = format!("{c}/at_positions@{p}");
                self.emit(ctx, "Gather", &[c, &pos], &g, vec![int_attr("axis", 0)])?;
                *c = g;
            }
        }
        for c in [&mut cos, &mut sin] {
            let r = format!("{c}/per_head@{p}");
            self.emit_reshape(ctx, c, &[b, s, 1, half], &r)?;
            *c = r;
        }
        let interleaved = n.int("interleaved").unwrap_or(0) != 0;
        let (x1, x2) = (format!("{p}/x1"), format!("{p}/x2"));
        if interleaved {
            self.emit_slice(ctx, &x4, -1, [0, rot, 2], &x1)?;
            self.emit_slice(ctx, &x4, -1, [1, rot, 2], &x2)?;
        } else {
            self.emit_slice(ctx, &x4, -1, [0, half, 1], &x1)?;
            self.emit_slice(ctx, &x4, -1, [half, rot, 1], &x2)?;
        }
        let name = |t: &str| format!("{p}/{t}");
        let (c1, s2, s1, c2, real, imag) = (
            name("cos_x1"),
            name("sin_x2"),
            name("sin_x1"),
            name("cos_x2"),
            name("real"),
            name("imag"),
        );
        self.emit(ctx, "Mul", &[&cos, &x1], &c1, vec![])?;
        self.emit(ctx, "Mul", &[&sin, &x2], &s2, vec![])?;
        self.emit(ctx, "Mul", &[&sin, &x1], &s1, vec![])?;
        self.emit(ctx, "Mul", &[&cos, &x2], &c2, vec![])?;
        self.emit(ctx, "Sub", &[&c1, &s2], &real, vec![])?;
        self.emit(ctx, "Add", &[&s1, &c2], &imag, vec![])?;
        let rotated = name("rotated");
        if interleaved {
            let (r5, i5, pairs) = (name("real_pairs"), name("imag_pairs"), name("pairs"));
            self.emit_reshape(ctx, &real, &[b, s, h, half, 1], &r5)?;
            self.emit_reshape(ctx, &imag, &[b, s, h, half, 1], &i5)?;
            self.emit(
                ctx,
                "Concat",
                &[&r5, &i5],
                &pairs,
                vec![int_attr("axis", -1)],
            )?;
            self.emit_reshape(ctx, &pairs, &[b, s, h, rot], &rotated)?;
        } else {
            self.emit(
                ctx,
                "Concat",
                &[&real, &imag],
                &rotated,
                vec![int_attr("axis", -1)],
            )?;
        }
        let whole = if rot < d {
            let (rest, all) = (name("passed"), name("whole"));
            self.emit_slice(ctx, &x4, -1, [rot, d, 1], &rest)?;
            self.emit(
                ctx,
                "Concat",
                &[&rotated, &rest],
                &all,
                vec![int_attr("axis", -1)],
            )?;
            all
        } else {
            rotated
        };
        if shape.len() == 4 {
            self.emit(
                ctx,
                "Transpose",
                &[&whole],
                out,
                vec![ints_attr("perm", &[0, 2, 1, 3])],
            )
        } else {
            self.emit_reshape(ctx, &whole, &shape, out)
        }
    }
}
