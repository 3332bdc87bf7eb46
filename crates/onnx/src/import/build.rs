//! Helpers for operators lowered through nodes the importer builds (ONNX function bodies:
//! `Attention`, the training losses): each built node goes through [`Importer::node`] like a
//! node of the model, named after the node it came from, so its errors name that node.

use tract_onnx::pb::{AttributeProto, NodeProto};

use super::{Ctx, Importer, Value};
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
}
