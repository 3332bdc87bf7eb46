//! Helpers for operators lowered through nodes the importer builds (ONNX function bodies:
//! `Attention`, the training losses, the opset-27 state operators): each built node goes through [`Importer::node`] like a
//! node of the model, named after the node it came from, so its errors name that node.

use tract_onnx::pb::{AttributeProto, NodeProto};

use super::fold::usize_f;
use super::{Ctx, Importer, Value, int_attr};
use crate::OnnxError;
use crate::graph::Const;

fn dims_i64(shape: &[usize]) -> Vec<f64> {
    #[allow(clippy::cast_precision_loss)]
    shape.iter().map(|&d| d as f64).collect()
}

impl Importer<'_> {
    /// Lower one node the importer builds, `op(inputs) -> output`, named after `ctx`'s node.
    pub(super) fn emit(
        &mut self,
        ctx: &Ctx<'_>,
        op: &str,
        inputs: &[&str],
        output: &str,
        attribute: Vec<AttributeProto>,
    ) -> Result<(), OnnxError> {
        let local = output.rsplit('/').next().unwrap_or(output);
        let name = format!("{}/{op}:{local}", ctx.name);
        let node = NodeProto {
            op_type: op.into(),
            name: name.clone(),
            input: inputs.iter().map(|s| (*s).to_string()).collect(),
            output: vec![output.to_string()],
            attribute,
            ..NodeProto::default()
        };
        self.node(&Ctx { node: &node, name })
    }

    /// Bind `name` to a constant; `int` marks it an integer tensor (shapes, indices, axes).
    pub(super) fn bind_const(&mut self, name: &str, shape: Vec<usize>, data: Vec<f64>, int: bool) {
        if int {
            self.ints.insert(name.to_string());
        }
        self.set(name, Value::Const(Const { shape, data }));
    }

    /// The shape of the value named `name` (computed or constant).
    pub(super) fn shape_of(&self, ctx: &Ctx<'_>, name: &str) -> Result<Vec<usize>, OnnxError> {
        match self.values.get(name) {
            Some(Value::Dyn(id)) => Ok(self.shape(*id)),
            Some(Value::Const(c)) => Ok(c.shape.clone()),
            None => Err(OnnxError::UnknownTensor {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: name.into(),
            }),
        }
    }

    /// `x` reshaped to `shape`.
    pub(super) fn emit_reshape(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        shape: &[usize],
        out: &str,
    ) -> Result<(), OnnxError> {
        let s = format!("{out}/shape");
        self.bind_const(&s, vec![shape.len()], dims_i64(shape), true);
        self.emit(ctx, "Reshape", &[x, &s], out, vec![])
    }

    /// Output `i` of `ctx`'s node, or a private name under `p` when the model leaves it out.
    pub(super) fn output_or(ctx: &Ctx<'_>, i: usize, p: &str, tag: &str) -> String {
        ctx.node
            .output
            .get(i)
            .filter(|o| !o.is_empty())
            .cloned()
            .unwrap_or_else(|| format!("{p}/{tag}"))
    }

    /// `x[.., i, ..]` along `axis` (the axis dropped).
    pub(super) fn emit_pick(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        axis: usize,
        i: usize,
        out: &str,
    ) -> Result<(), OnnxError> {
        let idx = format!("{out}/index");
        self.bind_const(&idx, vec![], vec![usize_f(i)], true);
        self.emit(
            ctx,
            "Gather",
            &[x, &idx],
            out,
            vec![int_attr("axis", i64::try_from(axis).unwrap_or(0))],
        )
    }

    /// `x[.., start..end:step, ..]` along `axis` (negative counts from the end).
    pub(super) fn emit_slice(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        axis: i64,
        [start, end, step]: [usize; 3],
        out: &str,
    ) -> Result<(), OnnxError> {
        let names = [
            format!("{out}/starts"),
            format!("{out}/ends"),
            format!("{out}/axes"),
            format!("{out}/steps"),
        ];
        #[allow(clippy::cast_precision_loss)]
        let values = [start as f64, end as f64, axis as f64, step as f64];
        for (n, v) in names.iter().zip(values) {
            self.bind_const(n, vec![1], vec![v], true);
        }
        let [s, e, a, st] = &names;
        self.emit(ctx, "Slice", &[x, s, e, a, st], out, vec![])
    }

    /// `x` with a unit axis inserted at `axis`.
    pub(super) fn emit_unsqueeze(
        &mut self,
        ctx: &Ctx<'_>,
        x: &str,
        axis: i64,
        out: &str,
    ) -> Result<(), OnnxError> {
        let a = format!("{out}/axes");
        #[allow(clippy::cast_precision_loss)]
        self.bind_const(&a, vec![1], vec![axis as f64], true);
        self.emit(ctx, "Unsqueeze", &[x, &a], out, vec![])
    }
}
