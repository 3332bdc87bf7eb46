//! The state-carrying sequence operators of opset 27, lowered through nodes the importer
//! already proves, as ONNX's function bodies define them (every input may be computed):
//!
//! - `CausalConvWithState`: the input left-padded by `past_state` (zeros without one), a
//!   depthwise 1-D convolution as `k` shifted slices times the per-channel weight taps, plus
//!   the bias, optionally `SiLU`; `present_state` is the padded input's last `k - 1` steps.
//! - `LinearAttention`: the recurrence unrolled over the (known) sequence length: per step the
//!   state decays by `exp(decay)` (`gated`), the value is corrected by what the state already
//!   retrieves for the key, scaled by `beta` (`delta`), the state gains `k v^T`, and the output
//!   reads `scale q^T S` (key/value heads repeated for grouped queries).
//!
//! And `Det` (opset 11) of small matrices the same way: Leibniz's sum over the `n!`
//! permutations (`n <= 4`), each a product of `n` entries picked by a `Gather`.

use super::fold::usize_f as f;
use super::{Ctx, Importer, int_attr, ints_attr};
use crate::OnnxError;
use crate::graph::Attrs;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["CausalConvWithState", "LinearAttention", "Det"];

/// The largest matrix `Det` expands (`4! = 24` products of 4 entries).
const MAX_DET: usize = 4;

/// The permutations of `0..n` with their signs (Heap's order does not matter: all are summed).
fn permutations(n: usize) -> Vec<(Vec<usize>, f64)> {
    if n == 0 {
        return vec![(Vec::new(), 1.0)];
    }
    let mut out = Vec::new();
    for (rest, sign) in permutations(n - 1) {
        // Insert `n - 1` at every position: moving it left past `k` entries flips the sign
        // `k` times.
        for at in 0..=rest.len() {
            let mut p = rest.clone();
            p.insert(at, n - 1);
            let flips = rest.len() - at;
            out.push((p, if flips % 2 == 0 { sign } else { -sign }));
        }
    }
    out
}

/// The longest sequence `LinearAttention` is unrolled over (each step is a few products of
/// `[batch, heads, d_k, d_v]` tensors).
const MAX_STEPS: usize = 4096;

impl Importer<'_> {
    /// Lower one of [`OPERATORS`]; sets every output the node names.
    pub(super) fn stateful(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        match ctx.node.op_type.as_str() {
            "CausalConvWithState" => self.causal_conv(ctx, out),
            "Det" => self.det(ctx, out),
            _ => self.linear_attention(ctx, out),
        }
    }

    /// `Det(x [*, n, n])`: `sum_p sign(p) prod_i x[i, p(i)]` per matrix.
    fn det(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let p = format!("{out}/det");
        let Some(x) = ctx.input(0).map(str::to_string) else {
            return Err(ctx.unsupported("a Det without an input", ""));
        };
        let shape = self.shape_of(ctx, &x)?;
        let rank = shape.len();
        let (Some(&n), Some(&m)) = (shape.get(rank.wrapping_sub(2)), shape.last()) else {
            return Err(ctx.unsupported("a Det of a tensor of rank below 2", format!("{shape:?}")));
        };
        if n != m || n == 0 || n > MAX_DET {
            return Err(ctx.unsupported(
                "a Det of a matrix that is not square of size 1 to 4",
                format!("{shape:?}"),
            ));
        }
        let batch: Vec<usize> = shape.get(..rank - 2).unwrap_or_default().to_vec();
        let b: usize = batch.iter().product();
        let flat = format!("{p}/flat");
        self.emit_reshape(ctx, &x, &[b, n * n], &flat)?;
        let perms = permutations(n);
        let idx = format!("{p}/positions");
        let positions: Vec<f64> = perms
            .iter()
            .flat_map(|(q, _)| q.iter().enumerate().map(|(i, &j)| f(i * n + j)))
            .collect();
        self.bind_const(&idx, vec![perms.len(), n], positions, true);
        let picked = format!("{p}/picked");
        self.emit(
            ctx,
            "Gather",
            &[&flat, &idx],
            &picked,
            vec![int_attr("axis", 1)],
        )?;
        let (axes2, axes1) = (format!("{p}/axes2"), format!("{p}/axes1"));
        self.bind_const(&axes2, vec![1], vec![2.0], true);
        self.bind_const(&axes1, vec![1], vec![1.0], true);
        let products = format!("{p}/products");
        self.emit(
            ctx,
            "ReduceProd",
            &[&picked, &axes2],
            &products,
            vec![int_attr("keepdims", 0)],
        )?;
        let signs = format!("{p}/signs");
        self.bind_const(
            &signs,
            vec![perms.len()],
            perms.iter().map(|(_, s)| *s).collect(),
            false,
        );
        let signed = format!("{p}/signed");
        self.emit(ctx, "Mul", &[&products, &signs], &signed, vec![])?;
        let total = format!("{p}/total");
        self.emit(
            ctx,
            "ReduceSum",
            &[&signed, &axes1],
            &total,
            vec![int_attr("keepdims", 0)],
        )?;
        let y = Self::output_or(ctx, 0, &p, "y");
        self.emit_reshape(ctx, &total, &batch, &y)
    }

    /// `CausalConvWithState(input [B, C, L], weight [C, 1, k], bias?, past_state?)`.
    fn causal_conv(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let p = format!("{out}/causal_conv");
        let (Some(x), Some(w)) = (ctx.input(0), ctx.input(1)) else {
            return Err(ctx.unsupported("a CausalConvWithState without input and weight", ""));
        };
        let (x, w) = (x.to_string(), w.to_string());
        let &[b, c, l] = self.shape_of(ctx, &x)?.as_slice() else {
            return Err(ctx.unsupported("a CausalConvWithState input not [B, C, L]", &x));
        };
        let &[wc, 1, k] = self.shape_of(ctx, &w)?.as_slice() else {
            return Err(ctx.unsupported("a CausalConvWithState weight not [C, 1, k]", &w));
        };
        if wc != c || k == 0 {
            return Err(ctx.unsupported(
                "a CausalConvWithState weight of another channel count or no taps",
                format!("input channels {c}, weight {wc} x {k}"),
            ));
        }
        let activation = ctx
            .node
            .string("activation")
            .unwrap_or_else(|| "none".into());
        if !matches!(activation.as_str(), "none" | "silu" | "swish") {
            return Err(ctx.unsupported("a CausalConvWithState activation", activation));
        }
        // The padded input [B, C, k - 1 + L].
        let padded = format!("{p}/padded");
        match ctx.input(3) {
            Some(past) if k > 1 => {
                let past = past.to_string();
                self.emit(
                    ctx,
                    "Concat",
                    &[&past, &x],
                    &padded,
                    vec![int_attr("axis", 2)],
                )?;
            }
            _ if k > 1 => {
                let zeros = format!("{p}/zeros");
                self.bind_const(&zeros, vec![b, c, k - 1], vec![0.0; b * c * (k - 1)], false);
                self.emit(
                    ctx,
                    "Concat",
                    &[&zeros, &x],
                    &padded,
                    vec![int_attr("axis", 2)],
                )?;
            }
            _ => self.emit(ctx, "Identity", &[&x], &padded, vec![])?,
        }
        // sum_j w[:, 0, j] * padded[:, :, j..j + L], the taps as [1, C, 1].
        let mut terms = Vec::with_capacity(k);
        for j in 0..k {
            let shifted = format!("{p}/shifted{j}");
            self.emit_slice(ctx, &padded, 2, [j, j + l, 1], &shifted)?;
            let tap = format!("{p}/tap{j}");
            self.emit_slice(ctx, &w, 2, [j, j + 1, 1], &tap)?;
            let tap3 = format!("{p}/tap{j}/channels");
            self.emit_reshape(ctx, &tap, &[1, c, 1], &tap3)?;
            let term = format!("{p}/term{j}");
            self.emit(ctx, "Mul", &[&shifted, &tap3], &term, vec![])?;
            terms.push(term);
        }
        let mut conv = format!("{p}/conv");
        let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
        self.emit(ctx, "Sum", &refs, &conv, vec![])?;
        if let Some(bias) = ctx.input(2) {
            let bias = bias.to_string();
            let b3 = format!("{p}/bias");
            self.emit_reshape(ctx, &bias, &[1, c, 1], &b3)?;
            let biased = format!("{p}/biased");
            self.emit(ctx, "Add", &[&conv, &b3], &biased, vec![])?;
            conv = biased;
        }
        let output = Self::output_or(ctx, 0, &p, "output");
        if activation == "none" {
            self.emit(ctx, "Identity", &[&conv], &output, vec![])?;
        } else {
            let gate = format!("{p}/sigmoid");
            self.emit(ctx, "Sigmoid", &[&conv], &gate, vec![])?;
            self.emit(ctx, "Mul", &[&conv, &gate], &output, vec![])?;
        }
        // present_state: the padded input's last k - 1 steps (empty for k = 1).
        if let Some(present) = ctx.node.output.get(1).filter(|o| !o.is_empty()) {
            let present = present.clone();
            if k > 1 {
                self.emit_slice(ctx, &padded, 2, [l, l + k - 1, 1], &present)?;
            } else {
                self.bind_const(&present, vec![b, c, 0], Vec::new(), false);
            }
        }
        Ok(())
    }

    /// `LinearAttention(query, key, value, past_state?, decay?, beta?)` of opset 27.
    #[allow(clippy::too_many_lines)]
    fn linear_attention(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let p = format!("{out}/linear_attention");
        let rule = n
            .string("update_rule")
            .unwrap_or_else(|| "gated_delta".into());
        let (gating, delta) = match rule.as_str() {
            "linear" => (false, false),
            "gated" => (true, false),
            "delta" => (false, true),
            "gated_delta" => (true, true),
            other => {
                return Err(ctx.unsupported("a LinearAttention update_rule", other.to_string()));
            }
        };
        let heads = |attr: &str| {
            n.int(attr)
                .and_then(|h| usize::try_from(h).ok())
                .filter(|&h| h > 0)
                .ok_or_else(|| {
                    ctx.unsupported("a LinearAttention without head counts", attr.to_string())
                })
        };
        let (hq, hkv) = (heads("q_num_heads")?, heads("kv_num_heads")?);
        if hq % hkv != 0 {
            return Err(ctx.unsupported(
                "query heads that are not a multiple of the key/value heads",
                format!("{hq} over {hkv}"),
            ));
        }
        let group = hq / hkv;
        let (Some(q_in), Some(k_in), Some(v_in)) = (ctx.input(0), ctx.input(1), ctx.input(2))
        else {
            return Err(ctx.unsupported("a LinearAttention without query, key and value", ""));
        };
        let (q_in, k_in, v_in) = (q_in.to_string(), k_in.to_string(), v_in.to_string());
        let decay_in = ctx.input(4).map(str::to_string);
        let beta_in = ctx.input(5).map(str::to_string);
        if gating != decay_in.is_some() || delta != beta_in.is_some() {
            return Err(ctx.unsupported(
                "a LinearAttention whose decay/beta inputs do not match its update_rule",
                rule,
            ));
        }
        let &[b, t, q_hidden] = self.shape_of(ctx, &q_in)?.as_slice() else {
            return Err(ctx.unsupported("a LinearAttention query not [B, T, H*D]", &q_in));
        };
        let k_hidden = self.shape_of(ctx, &k_in)?.get(2).copied().unwrap_or(0);
        let v_hidden = self.shape_of(ctx, &v_in)?.get(2).copied().unwrap_or(0);
        if q_hidden % hq != 0 || k_hidden % hkv != 0 || v_hidden % hkv != 0 || t > MAX_STEPS {
            return Err(ctx.unsupported(
                "LinearAttention sizes that do not split into heads (or over 4096 steps)",
                format!("q {q_hidden}/{hq}, k {k_hidden}/{hkv}, v {v_hidden}/{hkv}, {t} steps"),
            ));
        }
        let (dk, dv) = (q_hidden / hq, v_hidden / hkv);
        // Heads: [B, H, T, D].
        let mut four = Vec::with_capacity(3);
        for (x, h, tag) in [(&q_in, hq, "q"), (&k_in, hkv, "k"), (&v_in, hkv, "v")] {
            let hidden = self.shape_of(ctx, x)?.get(2).copied().unwrap_or(0);
            let r = format!("{p}/{tag}_heads");
            self.emit_reshape(ctx, x, &[b, t, h, hidden / h], &r)?;
            let t4 = format!("{p}/{tag}4");
            self.emit(
                ctx,
                "Transpose",
                &[&r],
                &t4,
                vec![ints_attr("perm", &[0, 2, 1, 3])],
            )?;
            four.push(t4);
        }
        let [q4, k4, v4]: [String; 3] = four
            .try_into()
            .map_err(|_| ctx.unsupported("three head tensors", ""))?;
        // decay as [B, H_kv, T, d_k or 1], beta as [B, H_kv or 1, T, 1].
        let decay4 = match &decay_in {
            Some(d) => {
                let last = self.shape_of(ctx, d)?.get(2).copied().unwrap_or(0);
                let per = if last == hkv {
                    1
                } else if last == hkv * dk {
                    dk
                } else {
                    return Err(ctx.unsupported(
                        "a LinearAttention decay whose last axis is not H_kv or H_kv*d_k",
                        last,
                    ));
                };
                let r = format!("{p}/decay_heads");
                self.emit_reshape(ctx, d, &[b, t, hkv, per], &r)?;
                let d4 = format!("{p}/decay4");
                self.emit(
                    ctx,
                    "Transpose",
                    &[&r],
                    &d4,
                    vec![ints_attr("perm", &[0, 2, 1, 3])],
                )?;
                Some(d4)
            }
            None => None,
        };
        let beta4 = match &beta_in {
            Some(bt) => {
                let last = self.shape_of(ctx, bt)?.get(2).copied().unwrap_or(0);
                if last != hkv && last != 1 {
                    return Err(ctx.unsupported(
                        "a LinearAttention beta whose last axis is not H_kv or 1",
                        last,
                    ));
                }
                let r = format!("{p}/beta_heads");
                self.emit_reshape(ctx, bt, &[b, t, last, 1], &r)?;
                let b4 = format!("{p}/beta4");
                self.emit(
                    ctx,
                    "Transpose",
                    &[&r],
                    &b4,
                    vec![ints_attr("perm", &[0, 2, 1, 3])],
                )?;
                Some(b4)
            }
            None => None,
        };
        // The state [B, H_kv, d_k, d_v].
        let mut state = format!("{p}/state_in");
        match ctx.input(3) {
            Some(past) => {
                let past = past.to_string();
                if self.shape_of(ctx, &past)? != [b, hkv, dk, dv] {
                    return Err(ctx.unsupported(
                        "a LinearAttention past_state not [B, H_kv, d_k, d_v]",
                        past,
                    ));
                }
                self.emit(ctx, "Identity", &[&past], &state, vec![])?;
            }
            None => self.bind_const(
                &state,
                vec![b, hkv, dk, dv],
                vec![0.0; b * hkv * dk * dv],
                false,
            ),
        }
        let scale = match n.float("scale") {
            Some(s) if s != 0.0 => f64::from(s),
            _ => 1.0 / f(dk).sqrt(),
        };
        let scale_name = format!("{p}/scale");
        self.bind_const(&scale_name, vec![], vec![scale], false);
        let mut outs = Vec::with_capacity(t);
        for i in 0..t {
            let s = format!("{p}/step{i}");
            let (qt, kt, vt) = (format!("{s}/q"), format!("{s}/k"), format!("{s}/v"));
            self.emit_pick(ctx, &q4, 2, i, &qt)?;
            self.emit_pick(ctx, &k4, 2, i, &kt)?;
            self.emit_pick(ctx, &v4, 2, i, &vt)?;
            if let Some(d4) = &decay4 {
                // state *= exp(g_t)[..., None]
                let g = format!("{s}/decay");
                self.emit_pick(ctx, d4, 2, i, &g)?;
                let e = format!("{s}/decay_exp");
                self.emit(ctx, "Exp", &[&g], &e, vec![])?;
                let e4 = format!("{s}/decay_exp4");
                self.emit_unsqueeze(ctx, &e, -1, &e4)?;
                let decayed = format!("{s}/decayed");
                self.emit(ctx, "Mul", &[&state, &e4], &decayed, vec![])?;
                state = decayed;
            }
            let k_col = format!("{s}/k_col");
            self.emit_unsqueeze(ctx, &kt, -1, &k_col)?;
            let mut v_row_src = vt.clone();
            if let Some(b4) = &beta4 {
                // v_t = beta_t (v_t - sum_d S[.., d, :] k_t[d])
                let kept = format!("{s}/retrieved_terms");
                self.emit(ctx, "Mul", &[&state, &k_col], &kept, vec![])?;
                let axes = format!("{s}/retrieved_axes");
                self.bind_const(&axes, vec![1], vec![2.0], true);
                let retrieved = format!("{s}/retrieved");
                self.emit(
                    ctx,
                    "ReduceSum",
                    &[&kept, &axes],
                    &retrieved,
                    vec![int_attr("keepdims", 0)],
                )?;
                let diff = format!("{s}/v_minus_retrieved");
                self.emit(ctx, "Sub", &[&vt, &retrieved], &diff, vec![])?;
                let bt = format!("{s}/beta");
                self.emit_pick(ctx, b4, 2, i, &bt)?;
                let corrected = format!("{s}/v_corrected");
                self.emit(ctx, "Mul", &[&bt, &diff], &corrected, vec![])?;
                v_row_src = corrected;
            }
            // state += k_t v_t^T
            let v_row = format!("{s}/v_row");
            self.emit_unsqueeze(ctx, &v_row_src, -2, &v_row)?;
            let outer = format!("{s}/outer");
            self.emit(ctx, "Mul", &[&k_col, &v_row], &outer, vec![])?;
            let next = format!("{s}/state");
            self.emit(ctx, "Add", &[&state, &outer], &next, vec![])?;
            state = next;
            // Read: each key/value head serves `group` consecutive query heads.
            let read = if group == 1 {
                state.clone()
            } else {
                let u = format!("{s}/state_groups");
                self.emit_unsqueeze(ctx, &state, 2, &u)?;
                let shape = format!("{s}/state_groups/shape");
                self.bind_const(
                    &shape,
                    vec![5],
                    [b, hkv, group, dk, dv].iter().map(|&d| f(d)).collect(),
                    true,
                );
                let e = format!("{s}/state_repeated");
                self.emit(ctx, "Expand", &[&u, &shape], &e, vec![])?;
                let r = format!("{s}/state_read");
                self.emit_reshape(ctx, &e, &[b, hq, dk, dv], &r)?;
                r
            };
            let q_col = format!("{s}/q_col");
            self.emit_unsqueeze(ctx, &qt, -1, &q_col)?;
            let terms = format!("{s}/read_terms");
            self.emit(ctx, "Mul", &[&q_col, &read], &terms, vec![])?;
            let axes = format!("{s}/read_axes");
            self.bind_const(&axes, vec![1], vec![2.0], true);
            let o = format!("{s}/read");
            self.emit(
                ctx,
                "ReduceSum",
                &[&terms, &axes],
                &o,
                vec![int_attr("keepdims", 0)],
            )?;
            let scaled = format!("{s}/out");
            self.emit(ctx, "Mul", &[&o, &scale_name], &scaled, vec![])?;
            let o4 = format!("{s}/out4");
            self.emit_unsqueeze(ctx, &scaled, 2, &o4)?;
            outs.push(o4);
        }
        // [B, H_q, T, d_v] -> [B, T, H_q * d_v].
        let stacked = format!("{p}/outputs");
        let refs: Vec<&str> = outs.iter().map(String::as_str).collect();
        self.emit(ctx, "Concat", &refs, &stacked, vec![int_attr("axis", 2)])?;
        let moved = format!("{p}/outputs_by_step");
        self.emit(
            ctx,
            "Transpose",
            &[&stacked],
            &moved,
            vec![ints_attr("perm", &[0, 2, 1, 3])],
        )?;
        let output = Self::output_or(ctx, 0, &p, "output");
        self.emit_reshape(ctx, &moved, &[b, t, hq * dv], &output)?;
        if let Some(present) = n.output.get(1).filter(|o| !o.is_empty()) {
            let present = present.clone();
            self.emit(ctx, "Identity", &[&state], &present, vec![])?;
        }
        Ok(())
    }
}
