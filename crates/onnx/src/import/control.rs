//! Control flow resolved at import: `If` on a condition that folds to a constant inlines the
//! branch it takes, and `Loop` with a constant trip count (and a condition that folds to a
//! constant in every iteration) is unrolled, each iteration's body imported with its own
//! names. Scan outputs are the iterations' values stacked along a new first axis. A
//! condition computed from the input would make the Program's shape depend on data, so it
//! is refused naming the node.

use std::collections::HashSet;

use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};

use super::{Ctx, Importer, Value};
use crate::OnnxError;
use crate::graph::{Const, tensor_const};

/// The ONNX operators this module resolves.
pub(super) const OPERATORS: &[&str] = &["If", "Loop"];

/// The most iterations a Loop may unroll to (a model cannot make the importer run without
/// bound).
const MAX_ITERATIONS: usize = 1 << 12;

fn graph_attr<'n>(ctx: &Ctx<'n>, name: &'static str) -> Result<&'n GraphProto, OnnxError> {
    ctx.node
        .attribute
        .iter()
        .find(|a: &&AttributeProto| a.name == name)
        .and_then(|a| a.g.as_ref())
        .ok_or_else(|| ctx.unsupported("a control-flow node without its subgraph", name))
}

/// Every name a subgraph defines (its inputs, initializers and node outputs, nested
/// subgraphs' not included): the names an unrolled iteration renames.
fn defined(g: &GraphProto) -> HashSet<String> {
    g.input
        .iter()
        .map(|i| i.name.clone())
        .chain(g.initializer.iter().map(|t| t.name.clone()))
        .chain(g.node.iter().flat_map(|n| n.output.iter().cloned()))
        .filter(|n| !n.is_empty())
        .collect()
}

fn scalar(v: f64) -> Const {
    Const {
        shape: vec![],
        data: vec![v],
    }
}

impl Importer<'_> {
    /// Resolve one of [`OPERATORS`].
    pub(super) fn control(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        if ctx.node.op_type == "If" {
            self.if_node(ctx)
        } else {
            self.loop_node(ctx)
        }
    }

    /// A constant condition's value: any nonzero element of a one-element constant.
    fn condition(&self, ctx: &Ctx<'_>, i: usize) -> Result<bool, OnnxError> {
        match self.get(ctx, i)? {
            Value::Const(c) if c.data.len() == 1 => Ok(c.data.first().is_some_and(|&v| v != 0.0)),
            Value::Const(c) => Err(ctx.unsupported(
                "a condition of more than one element",
                format!("shape {:?}", c.shape),
            )),
            Value::Dyn(_) => Err(ctx.unsupported(
                "a condition computed from the input",
                "the branch (or trip count) must be known at import",
            )),
        }
    }

    /// Import `g`'s initializers and nodes, each name `g` defines suffixed by `suffix` (none
    /// for a branch taken once); the subgraph's outputs, renamed, are returned.
    fn inline(
        &mut self,
        ctx: &Ctx<'_>,
        g: &GraphProto,
        suffix: &str,
    ) -> Result<Vec<String>, OnnxError> {
        let local = defined(g);
        let rename = |n: &str| -> String {
            if !suffix.is_empty() && local.contains(n) {
                format!("{n}{suffix}")
            } else {
                n.to_string()
            }
        };
        for t in &g.initializer {
            let name = rename(&t.name);
            let c = tensor_const(t, &name)?;
            if super::is_integer_type(t.data_type) {
                self.ints.insert(name.clone());
            }
            self.set(&name, Value::Const(c));
        }
        for (i, n) in g.node.iter().enumerate() {
            let node = NodeProto {
                input: n.input.iter().map(|s| rename(s)).collect(),
                output: n.output.iter().map(|s| rename(s)).collect(),
                ..n.clone()
            };
            let name = if n.name.is_empty() {
                format!("{}/{}#{i}{suffix}", ctx.name, n.op_type)
            } else {
                format!("{}{suffix}", n.name)
            };
            self.node(&Ctx { node: &node, name })?;
        }
        Ok(g.output.iter().map(|o| rename(&o.name)).collect())
    }

    /// Bind `to` to the value (and integer type) of `from`.
    fn alias(&mut self, ctx: &Ctx<'_>, to: &str, from: &str) -> Result<(), OnnxError> {
        let v = self
            .values
            .get(from)
            .cloned()
            .ok_or_else(|| OnnxError::UnknownTensor {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: from.into(),
            })?;
        if self.ints.contains(from) {
            self.ints.insert(to.to_string());
        }
        self.set(to, v);
        Ok(())
    }

    fn if_node(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let branch = if self.condition(ctx, 0)? {
            graph_attr(ctx, "then_branch")?
        } else {
            graph_attr(ctx, "else_branch")?
        };
        let outs = self.inline(ctx, branch, "")?;
        if outs.len() != ctx.node.output.len() {
            return Err(ctx.unsupported(
                "a branch with another number of outputs than its If",
                format!("{} for {}", outs.len(), ctx.node.output.len()),
            ));
        }
        for (to, from) in ctx.node.output.iter().zip(&outs) {
            if !to.is_empty() {
                self.alias(ctx, to, from)?;
            }
        }
        Ok(())
    }

    /// `Loop(M, cond, v...)`: body inputs `(i, cond, v...)`, outputs `(cond, v..., scans...)`.
    fn loop_node(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        let body = graph_attr(ctx, "body")?;
        let trips = match ctx.input(0) {
            Some(_) => {
                let m = self.ints_input(ctx, 0)?;
                match m.as_slice() {
                    [m] => Some(usize::try_from(*m).unwrap_or(0)),
                    _ => return Err(ctx.unsupported("a trip count not a scalar", format!("{m:?}"))),
                }
            }
            None => None,
        };
        let mut cond = match ctx.input(1) {
            Some(_) => self.condition(ctx, 1)?,
            None => true,
        };
        let carried_in: Vec<String> = ctx.node.input.iter().skip(2).cloned().collect();
        let n_carried = carried_in.len();
        if body.input.len() != n_carried + 2 || body.output.len() < n_carried + 1 {
            return Err(ctx.unsupported(
                "a Loop body whose inputs and outputs do not match its carried values",
                format!(
                    "{} carried, body {} inputs and {} outputs",
                    n_carried,
                    body.input.len(),
                    body.output.len()
                ),
            ));
        }
        let n_scans = body.output.len() - n_carried - 1;
        let mut carried = carried_in;
        let mut scans: Vec<Vec<String>> = vec![Vec::new(); n_scans];
        let mut k = 0;
        while cond && trips.is_none_or(|m| k < m) {
            if k >= MAX_ITERATIONS {
                return Err(ctx.unsupported(
                    "a Loop of more than 2^12 iterations",
                    "bound the trip count",
                ));
            }
            let suffix = format!("@{}{k}", ctx.name);
            let bind = |name: &str| format!("{name}{suffix}");
            let (iter_in, cond_in) = (&body.input[0].name, &body.input[1].name);
            #[allow(clippy::cast_precision_loss)]
            let iteration = scalar(k as f64);
            self.ints.insert(bind(iter_in));
            self.set(&bind(iter_in), Value::Const(iteration));
            self.ints.insert(bind(cond_in));
            self.set(&bind(cond_in), Value::Const(scalar(1.0)));
            for (input, value) in body.input.iter().skip(2).zip(&carried) {
                self.alias(ctx, &bind(&input.name), value)?;
            }
            let outs = self.inline(ctx, body, &suffix)?;
            cond = match self.values.get(&outs[0]) {
                _ if ctx.input(1).is_none() && trips.is_some() => true,
                Some(Value::Const(c)) => c.data.first().is_some_and(|&v| v != 0.0),
                Some(Value::Dyn(_)) => {
                    return Err(ctx.unsupported(
                        "a Loop whose condition is computed from the input",
                        "the number of iterations must be known at import",
                    ));
                }
                None => {
                    return Err(OnnxError::UnknownTensor {
                        node: ctx.name.clone(),
                        op_type: ctx.node.op_type.clone(),
                        input: outs[0].clone(),
                    });
                }
            };
            carried = outs[1..=n_carried].to_vec();
            for (scan, out) in scans.iter_mut().zip(&outs[n_carried + 1..]) {
                scan.push(out.clone());
            }
            k += 1;
        }
        let outputs: Vec<String> = ctx.node.output.clone();
        for (to, from) in outputs.iter().zip(&carried) {
            if !to.is_empty() {
                self.alias(ctx, to, from)?;
            }
        }
        for (to, items) in outputs.iter().skip(n_carried).zip(&scans) {
            if to.is_empty() {
                continue;
            }
            if items.is_empty() {
                return Err(
                    ctx.unsupported("a Loop scan output of no iterations", "an empty tensor")
                );
            }
            let seq = format!("{to}/iterations");
            self.seqs.insert(seq.clone(), items.clone());
            let stack = NodeProto {
                name: ctx.name.clone(),
                op_type: "ConcatFromSequence".into(),
                input: vec![seq],
                output: vec![to.clone()],
                attribute: vec![
                    AttributeProto {
                        name: "axis".into(),
                        i: 0,
                        r#type: 2,
                        ..AttributeProto::default()
                    },
                    AttributeProto {
                        name: "new_axis".into(),
                        i: 1,
                        r#type: 2,
                        ..AttributeProto::default()
                    },
                ],
                ..NodeProto::default()
            };
            self.node(&Ctx {
                node: &stack,
                name: ctx.name.clone(),
            })?;
        }
        Ok(())
    }
}
