//! The training optimizers of `ai.onnx.preview.training` (`Adagrad`, `Adam`, `Momentum`, each
//! over one or several tensors), lowered through nodes the importer proves, as ONNX's reference
//! defines them. The learning rate `R`, the tensors, gradients and accumulators may be
//! computed; the step count `T` must be known (a constant, or a graph input fixed at compile
//! time: it decides Adam's bias correction and Momentum's first step, so its powers are
//! constants).
//!
//! - `Adagrad`: `g = norm_coefficient x + grad`, `h' = h + g^2`, `x' = x - r / (1 + t decay) *
//!   g / (sqrt(h') + epsilon)`.
//! - `Adam`: `v' = alpha v + (1 - alpha) g`, `h' = beta h + (1 - beta) g^2`, `x' = (1 -
//!   norm_coefficient_post) (x - r sqrt(1 - beta^t) / (1 - alpha^t) v' / (sqrt(h') +
//!   epsilon))` (no bias correction at `t = 0`).
//! - `Momentum`: `v' = alpha v + beta' g` (`beta' = 1` at `t = 0`), `x' = x - r v'`
//!   (`standard`) or `x - r (g + alpha v')` (`nesterov`).

use super::{Ctx, Importer};
use crate::OnnxError;
use crate::graph::Attrs;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["Adagrad", "Adam", "Momentum"];

impl Importer<'_> {
    /// Lower one of [`OPERATORS`]; sets every output the node names.
    pub(super) fn optimizer(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let op = n.op_type.as_str();
        let p = format!("{out}/{}", op.to_lowercase());
        // Per-tensor inputs after R and T: Adagrad and Momentum (X, G, H/V), Adam (X, G, V, H).
        let per = if op == "Adam" { 4 } else { 3 };
        let tensors = n.input.len().saturating_sub(2) / per;
        if tensors == 0 || n.input.len() != 2 + per * tensors {
            return Err(ctx.unsupported(
                "an optimizer whose inputs are not R, T and whole groups of tensors",
                n.input.len(),
            ));
        }
        let (Some(r), Some(t_name)) = (ctx.input(0), ctx.input(1)) else {
            return Err(ctx.unsupported("an optimizer without R and T", ""));
        };
        let r = r.to_string();
        let t = match self.get(ctx, 1)? {
            super::Value::Const(c) => c.data.first().copied().unwrap_or(0.0),
            super::Value::Dyn(_) => {
                return Err(self.fixable_or(
                    ctx,
                    1,
                    ctx.unsupported("an optimizer step count T computed from the data", t_name),
                ));
            }
        };
        let attr = |name: &str, default: f32| f64::from(n.float(name).unwrap_or(default));
        let bind = |me: &mut Self, tag: &str, v: f64| {
            let name = format!("{p}/{tag}");
            me.bind_const(&name, vec![], vec![v], false);
            name
        };
        let input = |i: usize| ctx.input(i).unwrap_or_default().to_string();
        let output = |i: usize, tag: &str| Self::output_or(ctx, i, &p, &format!("{tag}{i}"));
        let norm = bind(self, "norm_coefficient", attr("norm_coefficient", 0.0));
        let eps = bind(self, "epsilon", attr("epsilon", 0.0));
        for k in 0..tensors {
            let q = format!("{p}/tensor{k}");
            let (x, g) = (input(2 + k), input(2 + tensors + k));
            // g_regularized = norm x + g
            let (nx, greg) = (format!("{q}/norm_x"), format!("{q}/g"));
            self.emit(ctx, "Mul", &[&norm, &x], &nx, vec![])?;
            self.emit(ctx, "Add", &[&nx, &g], &greg, vec![])?;
            // x - rate * step, `rate` a scalar tensor name.
            let update = |me: &mut Self, rate: &str, step: &str, to: &str| {
                let (scaled, moved) = (format!("{q}/scaled_step"), format!("{q}/moved"));
                me.emit(ctx, "Mul", &[rate, step], &scaled, vec![])?;
                me.emit(ctx, "Sub", &[&x, &scaled], &moved, vec![])?;
                if to == moved {
                    return Ok(moved);
                }
                me.emit(ctx, "Identity", &[&moved], to, vec![])?;
                Ok::<String, OnnxError>(to.to_string())
            };
            // sqrt(h') + epsilon
            let root = |me: &mut Self, h_new: &str| -> Result<String, OnnxError> {
                let (s, se) = (format!("{q}/sqrt_h"), format!("{q}/sqrt_h_eps"));
                me.emit(ctx, "Sqrt", &[h_new], &s, vec![])?;
                me.emit(ctx, "Add", &[&s, &eps], &se, vec![])?;
                Ok(se)
            };
            match op {
                "Adagrad" => {
                    let h = input(2 + 2 * tensors + k);
                    let h_new = output(tensors + k, "h");
                    let sq = format!("{q}/g_squared");
                    self.emit(ctx, "Mul", &[&greg, &greg], &sq, vec![])?;
                    self.emit(ctx, "Add", &[&h, &sq], &h_new, vec![])?;
                    let den = root(self, &h_new)?;
                    let ratio = format!("{q}/ratio");
                    self.emit(ctx, "Div", &[&greg, &den], &ratio, vec![])?;
                    let decay = attr("decay_factor", 0.0);
                    let c = bind(self, &format!("rate_factor{k}"), 1.0 / (1.0 + t * decay));
                    let rate = format!("{q}/rate");
                    self.emit(ctx, "Mul", &[&r, &c], &rate, vec![])?;
                    update(self, &rate, &ratio, &output(k, "x"))?;
                }
                "Adam" => {
                    let (v, h) = (input(2 + 2 * tensors + k), input(2 + 3 * tensors + k));
                    let (alpha, beta) = (attr("alpha", 0.9), attr("beta", 0.999));
                    let (v_new, h_new) = (output(tensors + k, "v"), output(2 * tensors + k, "h"));
                    let (a, a1) = (
                        bind(self, "alpha", alpha),
                        bind(self, "one_minus_alpha", 1.0 - alpha),
                    );
                    let (b, b1) = (
                        bind(self, "beta", beta),
                        bind(self, "one_minus_beta", 1.0 - beta),
                    );
                    let (av, ag) = (format!("{q}/alpha_v"), format!("{q}/alpha_g"));
                    self.emit(ctx, "Mul", &[&a, &v], &av, vec![])?;
                    self.emit(ctx, "Mul", &[&a1, &greg], &ag, vec![])?;
                    self.emit(ctx, "Add", &[&av, &ag], &v_new, vec![])?;
                    let (sq, bh, bg) = (
                        format!("{q}/g_squared"),
                        format!("{q}/beta_h"),
                        format!("{q}/beta_g"),
                    );
                    self.emit(ctx, "Mul", &[&greg, &greg], &sq, vec![])?;
                    self.emit(ctx, "Mul", &[&b, &h], &bh, vec![])?;
                    self.emit(ctx, "Mul", &[&b1, &sq], &bg, vec![])?;
                    self.emit(ctx, "Add", &[&bh, &bg], &h_new, vec![])?;
                    let den = root(self, &h_new)?;
                    let ratio = format!("{q}/ratio");
                    self.emit(ctx, "Div", &[&v_new, &den], &ratio, vec![])?;
                    let correction = if t > 0.0 {
                        (1.0 - beta.powf(t)).sqrt() / (1.0 - alpha.powf(t))
                    } else {
                        1.0
                    };
                    let c = bind(self, &format!("correction{k}"), correction);
                    let rate = format!("{q}/rate");
                    self.emit(ctx, "Mul", &[&r, &c], &rate, vec![])?;
                    let moved = update(self, &rate, &ratio, &format!("{q}/moved"))?;
                    let post = bind(self, "keep_post", 1.0 - attr("norm_coefficient_post", 0.0));
                    self.emit(ctx, "Mul", &[&post, &moved], &output(k, "x"), vec![])?;
                }
                _ => {
                    let v = input(2 + 2 * tensors + k);
                    let v_new = output(tensors + k, "v");
                    let (Some(alpha), Some(beta)) = (n.float("alpha"), n.float("beta")) else {
                        return Err(ctx.unsupported("a Momentum without alpha and beta", ""));
                    };
                    let (alpha, beta) = (f64::from(alpha), f64::from(beta));
                    let a = bind(self, "alpha", alpha);
                    let b = bind(self, "beta_adjusted", if t > 0.0 { beta } else { 1.0 });
                    let (av, bg) = (format!("{q}/alpha_v"), format!("{q}/beta_g"));
                    self.emit(ctx, "Mul", &[&a, &v], &av, vec![])?;
                    self.emit(ctx, "Mul", &[&b, &greg], &bg, vec![])?;
                    self.emit(ctx, "Add", &[&av, &bg], &v_new, vec![])?;
                    let step = match n.string("mode").as_deref().unwrap_or("standard") {
                        "standard" => v_new.clone(),
                        "nesterov" => {
                            let (av2, s) =
                                (format!("{q}/alpha_v_new"), format!("{q}/nesterov_step"));
                            self.emit(ctx, "Mul", &[&a, &v_new], &av2, vec![])?;
                            self.emit(ctx, "Add", &[&greg, &av2], &s, vec![])?;
                            s
                        }
                        other => return Err(ctx.unsupported("a Momentum mode", other.to_string())),
                    };
                    update(self, &r, &step, &output(k, "x"))?;
                }
            }
        }
        Ok(())
    }
}
