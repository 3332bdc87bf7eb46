//! `DynamicQuantizeLinear` (opset 11), lowered through nodes the importer proves, as ONNX's
//! function body defines it: the range `[min(0, min x), max(0, max x)]` (1 when it is empty),
//! `y_scale = range / 255`, `y_zero_point = clip(round(-min / y_scale), 0, 255)` and
//! `y = clip(round(x / y_scale) + y_zero_point, 0, 255)`, rounding half to even. The scale is
//! computed, so the two divisions (as `255 v / range`) are the importer's division of computed
//! tensors (a quotient and remainder the circuit checks), not a constant rescale.

use super::{Ctx, Importer, int_attr};
use crate::OnnxError;

/// The ONNX operators this module lowers.
pub(super) const OPERATORS: &[&str] = &["DynamicQuantizeLinear"];

impl Importer<'_> {
    /// `DynamicQuantizeLinear(x) -> (y, y_scale, y_zero_point)`.
    pub(super) fn dynamic_quantize(&mut self, ctx: &Ctx<'_>, out: &str) -> Result<(), OnnxError> {
        let p = format!("{out}/dynamic_quantize");
        let Some(x) = ctx.input(0).map(str::to_string) else {
            return Err(ctx.unsupported("a DynamicQuantizeLinear without an input", ""));
        };
        let (y, y_scale, y_zp) = (
            Self::output_or(ctx, 0, &p, "y"),
            Self::output_or(ctx, 1, &p, "y_scale"),
            Self::output_or(ctx, 2, &p, "y_zero_point"),
        );
        let c = |me: &mut Self, tag: &str, v: f64| {
            let name = format!("{p}/{tag}");
            me.bind_const(&name, vec![], vec![v], false);
            name
        };
        let (zero, one, top) = (
            c(self, "zero", 0.0),
            c(self, "one", 1.0),
            c(self, "top", 255.0),
        );
        let keep = vec![int_attr("keepdims", 0)];
        let (lo, hi) = (format!("{p}/min"), format!("{p}/max"));
        self.emit(ctx, "ReduceMin", &[&x], &lo, keep.clone())?;
        self.emit(ctx, "ReduceMax", &[&x], &hi, keep)?;
        let (lo0, hi0) = (format!("{p}/min0"), format!("{p}/max0"));
        self.emit(ctx, "Min", &[&lo, &zero], &lo0, vec![])?;
        self.emit(ctx, "Max", &[&hi, &zero], &hi0, vec![])?;
        let range = format!("{p}/range");
        self.emit(ctx, "Sub", &[&hi0, &lo0], &range, vec![])?;
        let empty = format!("{p}/empty");
        self.emit(ctx, "Equal", &[&range, &zero], &empty, vec![])?;
        let span = format!("{p}/span");
        self.emit(ctx, "Where", &[&empty, &one, &range], &span, vec![])?;
        self.emit(ctx, "Div", &[&span, &top], &y_scale, vec![])?;
        // `v / scale` as `255 v / span`: dividing by the span, not by the small scale, keeps
        // the quotient's precision (the scale at the activation scale would round by up to
        // half its last bit, a few percent of it).
        let per_step = |me: &mut Self, v: &str, tag: &str| -> Result<String, OnnxError> {
            let (wide, q) = (format!("{p}/{tag}_255"), format!("{p}/{tag}_steps"));
            me.emit(ctx, "Mul", &[v, &top], &wide, vec![])?;
            me.emit(ctx, "Div", &[&wide, &span], &q, vec![])?;
            Ok(q)
        };
        // The zero point: round(clip(-min / scale, 0, 255)).
        let neg = format!("{p}/neg_min");
        self.emit(ctx, "Neg", &[&lo0], &neg, vec![])?;
        let zq = per_step(self, &neg, "zero_point")?;
        let zc = format!("{p}/zero_point_clipped");
        self.emit(ctx, "Clip", &[&zq, &zero, &top], &zc, vec![])?;
        self.emit(ctx, "Round", &[&zc], &y_zp, vec![])?;
        // y = clip(round(x / scale) + zero point, 0, 255).
        let q = per_step(self, &x, "x")?;
        let r = format!("{p}/rounded");
        self.emit(ctx, "Round", &[&q], &r, vec![])?;
        let shifted = format!("{p}/shifted");
        self.emit(ctx, "Add", &[&r, &y_zp], &shifted, vec![])?;
        self.emit(ctx, "Clip", &[&shifted, &zero, &top], &y, vec![])
    }
}
