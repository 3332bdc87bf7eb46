//! The training losses `NegativeLogLikelihoodLoss` (opset 12+) and `SoftmaxCrossEntropyLoss`
//! (opset 12+), lowered through nodes the importer already proves, as ONNX's function bodies
//! define them:
//!
//! - the class each label names is a one-hot mask `Equal(label, class)` over axis 1 (the
//!   labels are a computed integer tensor or a constant), and the picked log-probability
//!   `sum_c x[n, c, ...] * hot[n, c, ...]` (a label outside `[0, C)` picks nothing);
//! - the per-element weight is `weight[label]` (the same one-hot sum) and 0 where the label is
//!   `ignore_index`; the loss `-picked * weight`;
//! - `reduction`: `none` keeps `[N, d1, ...]`; `sum` adds every element; `mean` divides the
//!   sum by the sum of the weights when there are weights or an `ignore_index` (ONNX's
//!   definition), else by the element count. A mean over no counted element is a division by
//!   zero, a typed witness error;
//! - `SoftmaxCrossEntropyLoss` is `LogSoftmax` over axis 1 then the same, its optional second
//!   output the log-probabilities.

use super::{Ctx, Importer, int_attr, ints_attr};
use crate::OnnxError;
use crate::graph::Attrs;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss"];

impl Importer<'_> {
    /// The loss node of `ctx`, its first output `out`.
    pub(super) fn loss(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let n = ctx.node;
        let p = format!("{out}/loss");
        let (Some(scores), Some(labels)) = (ctx.input(0), ctx.input(1)) else {
            return Err(ctx.unsupported("a loss without scores and labels", ""));
        };
        let (scores, labels) = (scores.to_string(), labels.to_string());
        let weight = ctx.input(2).map(str::to_string);
        let reduction = n.string("reduction").unwrap_or_else(|| "mean".into());
        if !matches!(reduction.as_str(), "none" | "sum" | "mean") {
            return Err(ctx.unsupported("a loss reduction", reduction));
        }
        let ignore = n.int("ignore_index");

        let log_prob = if n.op_type == "SoftmaxCrossEntropyLoss" {
            let name = n
                .output
                .get(1)
                .filter(|o| !o.is_empty())
                .cloned()
                .unwrap_or_else(|| format!("{p}/log_prob"));
            self.emit(
                ctx,
                "LogSoftmax",
                &[&scores],
                &name,
                vec![int_attr("axis", 1)],
            )?;
            name
        } else {
            scores
        };
        let xs = self.shape_of(ctx, &log_prob)?;
        let ts = self.shape_of(ctx, &labels)?;
        let classes = xs.get(1).copied().unwrap_or(0);
        let mut want = xs.clone();
        if want.len() >= 2 {
            want.remove(1);
        }
        if xs.len() < 2 || ts != want {
            return Err(ctx.unsupported(
                "loss scores [N, C, d...] with labels [N, d...]",
                format!("{xs:?} and {ts:?}"),
            ));
        }

        // One-hot of the labels over axis 1.
        let mut column = ts.clone();
        column.insert(1, 1);
        let lab = format!("{p}/labels_column");
        self.emit_reshape(ctx, &labels, &column, &lab)?;
        let mut along = vec![1; xs.len()];
        if let Some(c) = along.get_mut(1) {
            *c = classes;
        }
        let cls = format!("{p}/classes");
        #[allow(clippy::cast_precision_loss)]
        let data = (0..classes).map(|c| c as f64).collect();
        self.bind_const(&cls, along.clone(), data, true);
        let hot = format!("{p}/one_hot");
        self.emit(ctx, "Equal", &[&lab, &cls], &hot, vec![])?;
        let (prod, picked) = (format!("{p}/masked"), format!("{p}/picked"));
        self.emit(ctx, "Mul", &[&log_prob, &hot], &prod, vec![])?;
        let sum_classes = || vec![ints_attr("axes", &[1]), int_attr("keepdims", 0)];
        self.emit(ctx, "ReduceSum", &[&prod], &picked, sum_classes())?;

        // Per-element weights: weight[label], zero at ignore_index.
        let mut w: Option<String> = None;
        if let Some(wt) = &weight {
            let ws = self.shape_of(ctx, wt)?;
            if ws != [classes] {
                return Err(ctx.unsupported(
                    "a loss weight that is not one per class",
                    format!("{ws:?} for {classes} classes"),
                ));
            }
            let (wb, wh, wl) = (
                format!("{p}/weight_column"),
                format!("{p}/weighted_hot"),
                format!("{p}/label_weight"),
            );
            self.emit_reshape(ctx, wt, &along, &wb)?;
            self.emit(ctx, "Mul", &[&hot, &wb], &wh, vec![])?;
            self.emit(ctx, "ReduceSum", &[&wh], &wl, sum_classes())?;
            w = Some(wl);
        }
        if let Some(ii) = ignore {
            let (iv, eq, keep) = (
                format!("{p}/ignore_index"),
                format!("{p}/ignored"),
                format!("{p}/kept"),
            );
            #[allow(clippy::cast_precision_loss)]
            self.bind_const(&iv, vec![], vec![ii as f64], true);
            self.emit(ctx, "Equal", &[&labels, &iv], &eq, vec![])?;
            self.emit(ctx, "Not", &[&eq], &keep, vec![])?;
            w = Some(match w {
                None => keep,
                Some(wl) => {
                    let both = format!("{p}/kept_weight");
                    self.emit(ctx, "Mul", &[&wl, &keep], &both, vec![])?;
                    both
                }
            });
        }
        let weighted = match &w {
            Some(wl) => {
                let name = format!("{p}/weighted");
                self.emit(ctx, "Mul", &[&picked, wl], &name, vec![])?;
                name
            }
            None => picked,
        };
        let all = || vec![int_attr("keepdims", 0)];
        match (reduction.as_str(), &w) {
            ("none", _) => self.emit(ctx, "Neg", &[&weighted], out, vec![])?,
            ("sum", _) => {
                let s = format!("{p}/sum");
                self.emit(ctx, "ReduceSum", &[&weighted], &s, all())?;
                self.emit(ctx, "Neg", &[&s], out, vec![])?;
            }
            ("mean", Some(wl)) => {
                let (s, ws, q) = (
                    format!("{p}/sum"),
                    format!("{p}/weight_sum"),
                    format!("{p}/quotient"),
                );
                self.emit(ctx, "ReduceSum", &[&weighted], &s, all())?;
                self.emit(ctx, "ReduceSum", &[wl], &ws, all())?;
                self.emit(ctx, "Div", &[&s, &ws], &q, vec![])?;
                self.emit(ctx, "Neg", &[&q], out, vec![])?;
            }
            _ => {
                let m = format!("{p}/mean");
                self.emit(ctx, "ReduceMean", &[&weighted], &m, all())?;
                self.emit(ctx, "Neg", &[&m], out, vec![])?;
            }
        }
        Ok(())
    }
}
