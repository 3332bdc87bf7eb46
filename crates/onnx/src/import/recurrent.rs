//! Recurrent layers (`RNN`, `GRU`, `LSTM`) unrolled over the model's fixed sequence length.
//!
//! The input projections of every time step are one `gemm` (`X W^T + bias`, all steps as
//! rows); each step then adds its recurrent projection (`H R^T`), slices the gates and applies
//! the gate functions (tables for `Sigmoid` and `Tanh`, the exact `relu`); cell updates are
//! products rescaled once. Directions `forward`, `reverse` and `bidirectional`, `layout` 0 and
//! 1, initial states (constant or computed), LSTM peepholes and GRU's `linear_before_reset`
//! are supported; `clip`, LSTM's `input_forget`, other activations and per-batch
//! `sequence_lens` shorter than the sequence fail by name.

use zkmlops_lookup::Function;
use zkmlops_tensor::{Op, TensorId};

use super::{Ctx, Importer, SIGMOID_RADIUS, TANH_RADIUS, Value};
use crate::OnnxError;
use crate::graph::{Attrs, Const};

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["RNN", "GRU", "LSTM"];

/// Most unrolled steps (sequence length x directions) one node may take.
const MAX_STEPS: usize = 4096;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rnn,
    Gru,
    Lstm,
}

impl Kind {
    /// Gates per cell, in ONNX's weight order (RNN `i`; GRU `z r h`; LSTM `i o f c`).
    fn gates(self) -> usize {
        match self {
            Kind::Rnn => 1,
            Kind::Gru => 3,
            Kind::Lstm => 4,
        }
    }

    /// Activation functions per direction, and their defaults.
    fn defaults(self) -> &'static [&'static str] {
        match self {
            Kind::Rnn => &["Tanh"],
            Kind::Gru => &["Sigmoid", "Tanh"],
            Kind::Lstm => &["Sigmoid", "Tanh", "Tanh"],
        }
    }
}

#[derive(Clone, Copy)]
enum Act {
    Sigmoid,
    Tanh,
    Relu,
}

/// Rows `k * h .. (k + 1) * h` of `c` (a matrix `[rows, cols]` flattened), or of a vector.
fn rows(c: &Const, k: usize, h: usize) -> Const {
    let cols: usize = c.shape.get(1..).unwrap_or_default().iter().product();
    let mut shape = c.shape.clone();
    if let Some(first) = shape.first_mut() {
        *first = h;
    }
    Const {
        shape,
        data: c
            .data
            .get(k * h * cols..(k + 1) * h * cols)
            .unwrap_or_default()
            .to_vec(),
    }
}

/// Direction `d` of a constant whose first axis is the direction.
fn direction(c: &Const, d: usize) -> Const {
    let inner = c.shape.get(1..).unwrap_or_default();
    let n: usize = inner.iter().product();
    Const {
        shape: inner.to_vec(),
        data: c.data.get(d * n..(d + 1) * n).unwrap_or_default().to_vec(),
    }
}

fn add(a: &Const, b: &Const) -> Const {
    Const {
        shape: a.shape.clone(),
        data: a.data.iter().zip(&b.data).map(|(x, y)| x + y).collect(),
    }
}

/// One direction's parameters.
struct Weights {
    /// Input weights `[g h, in]`.
    w: Const,
    /// Recurrent weights `[g h, h]`.
    r: Const,
    /// Input bias `[g h]` and recurrent bias `[g h]`.
    wb: Const,
    rb: Const,
    /// LSTM peepholes `[3 h]` (`i o f`).
    p: Option<Const>,
    /// The gate function (RNN: its one activation), the candidate's, the cell output's.
    f: Act,
    g: Act,
    h: Act,
}

/// A direction's state after its last step: `H` and (LSTM) `C`, `[batch, h]`; and `H` at each
/// time step, in time order.
struct Run {
    h: TensorId,
    c: Option<TensorId>,
    steps: Vec<TensorId>,
}

impl Importer<'_> {
    /// Lower one of [`OPERATORS`]: every requested output (`Y`, `Y_h`, `Y_c`) is set.
    pub(super) fn recurrent(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let kind = match ctx.node.op_type.as_str() {
            "RNN" => Kind::Rnn,
            "GRU" => Kind::Gru,
            _ => Kind::Lstm,
        };
        let g = kind.gates();
        if let Some(c) = ctx.node.float("clip") {
            return Err(ctx.unsupported("a recurrent layer with `clip`", c));
        }
        if ctx.node.int("input_forget").unwrap_or(0) != 0 {
            return Err(ctx.unsupported("an LSTM with `input_forget`", 1));
        }
        if ctx.node.attr("activation_alpha").is_some() || ctx.node.attr("activation_beta").is_some()
        {
            return Err(ctx.unsupported(
                "recurrent activations with parameters",
                "activation_alpha / activation_beta",
            ));
        }
        let layout = ctx.node.int("layout").unwrap_or(0);
        let reverse: Vec<bool> = match ctx
            .node
            .string("direction")
            .unwrap_or_else(|| "forward".into())
            .as_str()
        {
            "forward" => vec![false],
            "reverse" => vec![true],
            "bidirectional" => vec![false, true],
            other => return Err(ctx.unsupported("a recurrent direction", other.to_string())),
        };
        let dirs = reverse.len();
        let names: Vec<String> = ctx
            .node
            .attr("activations")
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_else(|| {
                (0..dirs)
                    .flat_map(|_| kind.defaults().iter().map(|s| (*s).to_string()))
                    .collect()
            });
        let per = kind.defaults().len();
        if names.len() != per * dirs {
            return Err(ctx.unsupported(
                "a number of recurrent activations other than one set per direction",
                format!("{names:?}"),
            ));
        }
        let acts = names
            .iter()
            .map(|n| match n.as_str() {
                "Sigmoid" => Ok(Act::Sigmoid),
                "Tanh" => Ok(Act::Tanh),
                "Relu" => Ok(Act::Relu),
                other => Err(ctx.unsupported("a recurrent activation", other.to_string())),
            })
            .collect::<Result<Vec<_>, _>>()?;

        let x = self.dyn_input(ctx, 0)?;
        let xs = self.shape(x);
        let [a, b, input] = xs.as_slice() else {
            return Err(ctx.unsupported("a recurrent input not of rank 3", format!("{xs:?}")));
        };
        let (seq, batch, input) = if layout == 0 {
            (*a, *b, *input)
        } else {
            (*b, *a, *input)
        };
        if seq == 0 || seq.saturating_mul(dirs) > MAX_STEPS {
            return Err(ctx.unsupported(
                "a sequence length of 0 or more than 4096 unrolled steps",
                seq,
            ));
        }
        let w = self.constant(ctx, 1)?;
        let r = self.constant(ctx, 2)?;
        let hidden = r.shape.get(2).copied().unwrap_or(0);
        if let Some(hs) = ctx.node.int("hidden_size")
            && usize::try_from(hs).ok() != Some(hidden)
        {
            return Err(ctx.unsupported(
                "a hidden_size other than the recurrent weights'",
                format!("{hs} against {:?}", r.shape),
            ));
        }
        if w.shape != [dirs, g * hidden, input] || r.shape != [dirs, g * hidden, hidden] {
            return Err(ctx.unsupported(
                "recurrent weights of the wrong shape",
                format!(
                    "W {:?}, R {:?}, input {input}, hidden {hidden}",
                    w.shape, r.shape
                ),
            ));
        }
        let bias = match ctx.input(3) {
            Some(_) => self.constant(ctx, 3)?,
            None => Const {
                shape: vec![dirs, 2 * g * hidden],
                data: vec![0.0; dirs * 2 * g * hidden],
            },
        };
        if bias.shape != [dirs, 2 * g * hidden] {
            return Err(ctx.unsupported(
                "a recurrent bias of the wrong shape",
                format!("{:?}", bias.shape),
            ));
        }
        if ctx.input(4).is_some() {
            let lens = self.constant(ctx, 4).map_err(|_| {
                let err = ctx.unsupported("computed sequence_lens", "they must be constants");
                self.fixable_or(ctx, 4, err)
            })?;
            #[allow(clippy::cast_precision_loss)]
            if lens.data.iter().any(|&l| l != seq as f64) {
                return Err(ctx.unsupported(
                    "sequence_lens shorter than the sequence",
                    format!("{:?} of {seq}", lens.data),
                ));
            }
        }
        let peep = match (kind, ctx.input(7)) {
            (Kind::Lstm, Some(_)) => {
                let p = self.constant(ctx, 7)?;
                if p.shape != [dirs, 3 * hidden] {
                    return Err(
                        ctx.unsupported("peepholes of the wrong shape", format!("{:?}", p.shape))
                    );
                }
                Some(p)
            }
            _ => None,
        };
        // Time-major input [seq, batch, in].
        let x = if layout == 0 {
            x
        } else {
            self.op(
                ctx,
                &format!("{out}/time_major"),
                Op::Transpose {
                    perm: vec![1, 0, 2],
                },
                &[x],
            )?
        };
        let x2 = self.reshape_to(ctx, &format!("{out}/steps"), x, vec![seq * batch, input])?;
        let initial = |me: &mut Self, i: usize, d: usize| -> Result<Option<TensorId>, OnnxError> {
            if ctx.input(i).is_none() {
                return Ok(None);
            }
            let v = me.dyn_input(ctx, i)?;
            let v = if layout == 0 {
                v
            } else {
                me.op(
                    ctx,
                    &format!("{out}/initial{i}_direction_major"),
                    Op::Transpose {
                        perm: vec![1, 0, 2],
                    },
                    &[v],
                )?
            };
            let s = me.op(
                ctx,
                &format!("{out}/initial{i}_{d}"),
                Op::Slice {
                    axis: 0,
                    start: d,
                    end: d + 1,
                },
                &[v],
            )?;
            me.reshape_to(
                ctx,
                &format!("{out}/initial{i}_{d}_2d"),
                s,
                vec![batch, hidden],
            )
            .map(Some)
        };
        let act = |i: usize| acts.get(i).copied().unwrap_or(Act::Tanh);
        let mut runs = Vec::with_capacity(dirs);
        for (d, &rev) in reverse.iter().enumerate() {
            let weights = Weights {
                w: direction(&w, d),
                r: direction(&r, d),
                wb: rows(&direction(&bias, d), 0, g * hidden),
                rb: rows(&direction(&bias, d), 1, g * hidden),
                p: peep.as_ref().map(|p| direction(p, d)),
                f: act(d * per),
                g: act(d * per + 1),
                h: act(d * per + 2),
            };
            let h0 = initial(self, 5, d)?;
            let c0 = if kind == Kind::Lstm {
                initial(self, 6, d)?
            } else {
                None
            };
            let name = format!("{out}/d{d}");
            runs.push(self.unroll(
                ctx,
                &name,
                kind,
                &weights,
                x2,
                [seq, batch, hidden],
                rev,
                h0,
                c0,
            )?);
        }
        self.recurrent_outputs(ctx, &runs, layout, [seq, batch, hidden])
    }

    /// Set `Y` (`[seq, dirs, batch, h]`, or `[batch, seq, dirs, h]` in layout 1), `Y_h` and
    /// `Y_c` (`[dirs, batch, h]`, or `[batch, dirs, h]`) where the node asks for them.
    fn recurrent_outputs(
        &mut self,
        ctx: &Ctx<'_>,
        runs: &[Run],
        layout: i64,
        [seq, batch, hidden]: [usize; 3],
    ) -> Result<(), OnnxError> {
        let wanted = |i: usize| ctx.node.output.get(i).filter(|s| !s.is_empty()).cloned();
        if let Some(y) = wanted(0) {
            let mut times = Vec::with_capacity(seq);
            for t in 0..seq {
                let mut parts = Vec::with_capacity(runs.len());
                for (d, run) in runs.iter().enumerate() {
                    let step = run.steps.get(t).copied().ok_or_else(|| {
                        ctx.unsupported("a recurrent output step that was not computed", t)
                    })?;
                    parts.push(self.reshape_to(
                        ctx,
                        &format!("{y}/t{t}d{d}"),
                        step,
                        vec![1, 1, batch, hidden],
                    )?);
                }
                times.push(self.join(ctx, &format!("{y}/t{t}"), &parts, 1)?);
            }
            let mut all = self.join(ctx, &format!("{y}/all"), &times, 0)?;
            if layout != 0 {
                all = self.op(
                    ctx,
                    &format!("{y}/batch_major"),
                    Op::Transpose {
                        perm: vec![2, 0, 1, 3],
                    },
                    &[all],
                )?;
            }
            self.set(&y, Value::Dyn(all));
        }
        for (i, pick) in [(1, false), (2, true)] {
            let Some(name) = wanted(i) else { continue };
            let mut parts = Vec::with_capacity(runs.len());
            for (d, run) in runs.iter().enumerate() {
                let state = if pick { run.c } else { Some(run.h) };
                let state = state.ok_or_else(|| {
                    ctx.unsupported("a cell state output of a cell without one", &name)
                })?;
                parts.push(self.reshape_to(
                    ctx,
                    &format!("{name}/d{d}"),
                    state,
                    vec![1, batch, hidden],
                )?);
            }
            let mut all = self.join(ctx, &format!("{name}/all"), &parts, 0)?;
            if layout != 0 {
                all = self.op(
                    ctx,
                    &format!("{name}/batch_major"),
                    Op::Transpose {
                        perm: vec![1, 0, 2],
                    },
                    &[all],
                )?;
            }
            self.set(&name, Value::Dyn(all));
        }
        Ok(())
    }

    /// `parts` concatenated along `axis` (the one part itself).
    fn join(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        parts: &[TensorId],
        axis: usize,
    ) -> Result<TensorId, OnnxError> {
        match parts {
            [one] => Ok(*one),
            _ => self.op(ctx, name, Op::Concat { axis }, parts),
        }
    }

    fn activate(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        act: Act,
    ) -> Result<TensorId, OnnxError> {
        match act {
            Act::Sigmoid => self.lookup(ctx, name, x, Function::Sigmoid, SIGMOID_RADIUS),
            Act::Tanh => self.lookup(ctx, name, x, Function::Tanh, TANH_RADIUS),
            Act::Relu => self.op(ctx, name, Op::Relu, &[x]),
        }
    }

    /// `a * b` of two activations, rescaled to `s`.
    fn product(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        a: TensorId,
        b: TensorId,
    ) -> Result<TensorId, OnnxError> {
        let p = self.op(ctx, &format!("{name}/product"), Op::Mul, &[a, b])?;
        self.rescale(ctx, name, p, self.s.bits())
    }

    /// `x W^T (+ bias)` with `W` a constant `[n, k]` (a param at `sp`, the bias at `s + sp`),
    /// rescaled to `s`.
    pub(super) fn linear(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        w: &Const,
        bias: Option<&Const>,
    ) -> Result<TensorId, OnnxError> {
        let mut inputs = vec![x, self.param(ctx, &format!("{name}/weight"), w, self.sp)?];
        if let Some(b) = bias {
            let bs = self
                .s
                .product(self.sp)
                .map_err(|e| ctx.unsupported("the product scale", e))?;
            inputs.push(self.param(ctx, &format!("{name}/bias"), b, bs)?);
        }
        let y = self.op(
            ctx,
            &format!("{name}/acc"),
            Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &inputs,
        )?;
        self.rescale(ctx, name, y, self.sp.bits())
    }

    fn columns(
        &mut self,
        ctx: &Ctx<'_>,
        name: &str,
        x: TensorId,
        k: usize,
        h: usize,
    ) -> Result<TensorId, OnnxError> {
        self.op(
            ctx,
            name,
            Op::Slice {
                axis: 1,
                start: k * h,
                end: (k + 1) * h,
            },
            &[x],
        )
    }

    /// One direction over every step (in reverse order when `rev`).
    #[allow(clippy::too_many_arguments)]
    fn unroll(
        &mut self,
        ctx: &Ctx<'_>,
        out: &str,
        kind: Kind,
        wt: &Weights,
        x2: TensorId,
        [seq, batch, h]: [usize; 3],
        rev: bool,
        h0: Option<TensorId>,
        c0: Option<TensorId>,
    ) -> Result<Run, OnnxError> {
        let lbr = kind == Kind::Gru && ctx.node.int("linear_before_reset").unwrap_or(0) != 0;
        // Input projections of every step, with both biases (GRU with linear_before_reset
        // keeps the recurrent bias of `h` for inside the reset product).
        let mut bias = add(&wt.wb, &wt.rb);
        if lbr {
            for k in 2 * h..3 * h {
                if let (Some(b), Some(w)) = (bias.data.get_mut(k), wt.wb.data.get(k)) {
                    *b = *w;
                }
            }
        }
        let xp = self.linear(ctx, &format!("{out}/input"), x2, &wt.w, Some(&bias))?;
        // GRU: `z r` from H, `h` from r * H (or r * (H Rh^T + Rbh)).
        let (r_main, r_h) = if kind == Kind::Gru {
            (rows(&wt.r, 0, 2 * h), Some(rows(&wt.r, 2, h)))
        } else {
            (wt.r.clone(), None)
        };
        let rbh = if kind == Kind::Gru {
            rows(&wt.rb, 2, h)
        } else {
            wt.rb.clone()
        };
        let mut hp = h0;
        let mut cp = c0;
        let mut steps = vec![None; seq];
        for k in 0..seq {
            let t = if rev { seq - 1 - k } else { k };
            let n = format!("{out}/t{t}");
            let pre = self.op(
                ctx,
                &format!("{n}/input"),
                Op::Slice {
                    axis: 0,
                    start: t * batch,
                    end: (t + 1) * batch,
                },
                &[xp],
            )?;
            let gates_pre = match hp {
                Some(hprev) => {
                    let rec = self.linear(ctx, &format!("{n}/recurrent"), hprev, &r_main, None)?;
                    if kind == Kind::Gru {
                        let zr = self.op(
                            ctx,
                            &format!("{n}/zr_input"),
                            Op::Slice {
                                axis: 1,
                                start: 0,
                                end: 2 * h,
                            },
                            &[pre],
                        )?;
                        self.op(ctx, &format!("{n}/zr"), Op::Add, &[zr, rec])?
                    } else {
                        self.op(ctx, &format!("{n}/gates"), Op::Add, &[pre, rec])?
                    }
                }
                None => pre,
            };
            let (hn, cn) = match kind {
                Kind::Rnn => (
                    self.activate(ctx, &format!("{n}/h"), gates_pre, wt.f)?,
                    None,
                ),
                Kind::Lstm => {
                    let gate = |me: &mut Self, k: usize, what: &str| {
                        me.columns(ctx, &format!("{n}/{what}_pre"), gates_pre, k, h)
                    };
                    let (mut i_pre, mut o_pre, mut f_pre, c_pre) = (
                        gate(self, 0, "i")?,
                        gate(self, 1, "o")?,
                        gate(self, 2, "f")?,
                        gate(self, 3, "c")?,
                    );
                    let peep = |me: &mut Self, what: &str, k: usize, pre: TensorId, c: TensorId| {
                        let p = wt.p.as_ref().map(|p| rows(p, k, h));
                        match p {
                            Some(p) => {
                                let pc = me.mul_const(
                                    ctx,
                                    &format!("{n}/{what}_peephole"),
                                    c,
                                    &format!("{n}/{what}_peep"),
                                    &p,
                                )?;
                                me.op(ctx, &format!("{n}/{what}_peeped"), Op::Add, &[pre, pc])
                            }
                            None => Ok(pre),
                        }
                    };
                    if let Some(c) = cp {
                        i_pre = peep(self, "i", 0, i_pre, c)?;
                        f_pre = peep(self, "f", 2, f_pre, c)?;
                    }
                    let i = self.activate(ctx, &format!("{n}/i"), i_pre, wt.f)?;
                    let cc = self.activate(ctx, &format!("{n}/c_new"), c_pre, wt.g)?;
                    let ic = self.op(ctx, &format!("{n}/ic"), Op::Mul, &[i, cc])?;
                    let c2 = match cp {
                        Some(c) => {
                            let f = self.activate(ctx, &format!("{n}/f"), f_pre, wt.f)?;
                            let fc = self.op(ctx, &format!("{n}/fc"), Op::Mul, &[f, c])?;
                            self.op(ctx, &format!("{n}/c_wide"), Op::Add, &[fc, ic])?
                        }
                        None => ic,
                    };
                    let c = self.rescale(ctx, &format!("{n}/c"), c2, self.s.bits())?;
                    o_pre = peep(self, "o", 1, o_pre, c)?;
                    let o = self.activate(ctx, &format!("{n}/o"), o_pre, wt.f)?;
                    let hc = self.activate(ctx, &format!("{n}/c_out"), c, wt.h)?;
                    (self.product(ctx, &format!("{n}/h"), o, hc)?, Some(c))
                }
                Kind::Gru => {
                    let z_pre = self.columns(ctx, &format!("{n}/z_pre"), gates_pre, 0, h)?;
                    let r_pre = self.columns(ctx, &format!("{n}/r_pre"), gates_pre, 1, h)?;
                    let h_in = self.columns(ctx, &format!("{n}/h_input"), pre, 2, h)?;
                    let z = self.activate(ctx, &format!("{n}/z"), z_pre, wt.f)?;
                    let r = self.activate(ctx, &format!("{n}/r"), r_pre, wt.f)?;
                    let rh = r_h.as_ref().unwrap_or(&rbh);
                    let h_rec = match (hp, lbr) {
                        (Some(hprev), false) => {
                            let reset = self.product(ctx, &format!("{n}/reset"), r, hprev)?;
                            Some(self.linear(ctx, &format!("{n}/h_recurrent"), reset, rh, None)?)
                        }
                        (Some(hprev), true) => {
                            let lin = self.linear(
                                ctx,
                                &format!("{n}/h_recurrent"),
                                hprev,
                                rh,
                                Some(&rbh),
                            )?;
                            Some(self.product(ctx, &format!("{n}/reset"), r, lin)?)
                        }
                        (None, true) => Some(self.mul_const(
                            ctx,
                            &format!("{n}/reset"),
                            r,
                            &format!("{n}/reset_bias"),
                            &rbh,
                        )?),
                        (None, false) => None,
                    };
                    let h_pre = match h_rec {
                        Some(rec) => self.op(ctx, &format!("{n}/h_pre"), Op::Add, &[h_in, rec])?,
                        None => h_in,
                    };
                    let cand = self.activate(ctx, &format!("{n}/candidate"), h_pre, wt.g)?;
                    // H = cand + z * (H_prev - cand); without H_prev, cand - z * cand.
                    let hn = match hp {
                        Some(hprev) => {
                            let diff =
                                self.op(ctx, &format!("{n}/keep"), Op::Sub, &[hprev, cand])?;
                            let zd = self.product(ctx, &format!("{n}/kept"), z, diff)?;
                            self.op(ctx, &format!("{n}/h"), Op::Add, &[cand, zd])?
                        }
                        None => {
                            let zc = self.product(ctx, &format!("{n}/kept"), z, cand)?;
                            self.op(ctx, &format!("{n}/h"), Op::Sub, &[cand, zc])?
                        }
                    };
                    (hn, None)
                }
            };
            if let Some(slot) = steps.get_mut(t) {
                *slot = Some(hn);
            }
            hp = Some(hn);
            cp = cn;
        }
        let steps: Vec<TensorId> = steps.into_iter().flatten().collect();
        match hp {
            Some(h) => Ok(Run { h, c: cp, steps }),
            None => Err(ctx.unsupported("a recurrent layer of no step", seq)),
        }
    }
}
