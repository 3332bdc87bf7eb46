//! Control flow resolved at import: `If` on a condition that folds to a constant inlines the
//! branch it takes, on a computed condition imports both and selects between their outputs;
//! `Loop` with a constant trip count (and a condition that folds to a constant in every
//! iteration) and `Scan` (its length is the scanned axis's) are unrolled,
//! each iteration's body imported with its own names. Scan outputs are the iterations'
//! values stacked along a new axis. A trip count or loop condition computed from the input
//! would make the Program's shape depend on data, so it is refused naming the node.

use std::collections::HashSet;

use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto};

use zkmlops_tensor::TensorId;

use super::{Ctx, Importer, Value, int_attr};
use crate::OnnxError;
use crate::graph::{Attrs, Const, tensor_const};

/// The ONNX operators this module resolves.
pub(super) const OPERATORS: &[&str] = &["If", "Loop", "Scan"];

/// The most iterations a Loop may unroll to (a model cannot make the importer run without
/// bound).
const MAX_ITERATIONS: usize = 1 << 12;
/// The most subgraph nodes a model may inline in all (loops nested in loop bodies multiply).
const MAX_INLINED: usize = 1 << 18;

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
        match ctx.node.op_type.as_str() {
            "If" => self.if_node(ctx),
            "Loop" => self.loop_node(ctx),
            _ => self.scan_node(ctx),
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
        self.inlined = self.inlined.saturating_add(g.node.len());
        if self.inlined > MAX_INLINED {
            return Err(ctx.unsupported(
                "control flow that unrolls to more than 2^18 nodes",
                format!("{} nodes", self.inlined),
            ));
        }
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

    /// Bind `to` to the value (and integer type) of `from`, or to the same sequence.
    pub(super) fn alias(&mut self, ctx: &Ctx<'_>, to: &str, from: &str) -> Result<(), OnnxError> {
        if let Some(seq) = self.seqs.get(from).cloned() {
            // A sequence: the same list of tensor names.
            self.seqs.insert(to.to_string(), seq);
            return Ok(());
        }
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
        if let Value::Dyn(c) = self.get(ctx, 0)? {
            let c = *c;
            return self.if_computed(ctx, c);
        }
        let branch = if self.condition(ctx, 0)? {
            graph_attr(ctx, "then_branch")?
        } else {
            graph_attr(ctx, "else_branch")?
        };
        let outs = self.branch_outputs(ctx, branch, "")?;
        for (to, from) in ctx.node.output.iter().zip(&outs) {
            if !to.is_empty() {
                self.alias(ctx, to, from)?;
            }
        }
        Ok(())
    }

    /// `branch` inlined with `suffix`; its outputs, as many as the If has.
    fn branch_outputs(
        &mut self,
        ctx: &Ctx<'_>,
        branch: &GraphProto,
        suffix: &str,
    ) -> Result<Vec<String>, OnnxError> {
        let outs = self.inline(ctx, branch, suffix)?;
        if outs.len() != ctx.node.output.len() {
            return Err(ctx.unsupported(
                "a branch with another number of outputs than its If",
                format!("{} for {}", outs.len(), ctx.node.output.len()),
            ));
        }
        Ok(outs)
    }

    /// An If whose condition is computed from the input (a one-element 0/1 tensor: a
    /// comparison's, a logical operator's or a boolean input's value): both branches are
    /// imported, each output is `else + c (then - else)`. The Program proves both branches'
    /// arithmetic, so the branches' outputs must have one shape (the Program's shapes cannot
    /// depend on data) and the branch not taken must stay in range for the input too.
    fn if_computed(&mut self, ctx: &Ctx<'_>, c: TensorId) -> Result<(), OnnxError> {
        let n: usize = self.shape(c).iter().product();
        if n != 1 {
            return Err(ctx.unsupported(
                "a condition of more than one element",
                format!("shape {:?}", self.shape(c)),
            ));
        }
        let then = self.branch_outputs(ctx, graph_attr(ctx, "then_branch")?, "@then")?;
        let other = self.branch_outputs(ctx, graph_attr(ctx, "else_branch")?, "@else")?;
        for ((to, a), b) in ctx.node.output.iter().zip(&then).zip(&other) {
            if to.is_empty() {
                continue;
            }
            if self.seqs.contains_key(a) || self.seqs.contains_key(b) {
                // A sequence is a list of names, not a value to blend: only a known branch
                // can give it (a condition given as a graph input is fixed at compile time).
                let err = ctx.unsupported(
                    "a computed condition choosing between sequences",
                    format!("output {to}"),
                );
                return Err(self.fixable_or(ctx, 0, err));
            }
            let (va, vb) = (self.value(ctx, a)?, self.value(ctx, b)?);
            if let (Value::Const(x), Value::Const(y)) = (&va, &vb)
                && x == y
            {
                self.alias(ctx, to, a)?;
                continue;
            }
            let (sa, sb) = (self.value_shape(&va), self.value_shape(&vb));
            if sa != sb {
                let err = ctx.unsupported(
                    "a computed condition choosing between outputs of different shapes",
                    format!("output {to}: {sa:?} or {sb:?}"),
                );
                return Err(self.fixable_or(ctx, 0, err));
            }
            let y = self.blend_values(ctx, to, c, &va, &vb)?;
            self.set(to, Value::Dyn(y));
        }
        Ok(())
    }

    /// The value bound to `name`.
    fn value(&self, ctx: &Ctx<'_>, name: &str) -> Result<Value, OnnxError> {
        self.values
            .get(name)
            .cloned()
            .ok_or_else(|| OnnxError::UnknownTensor {
                node: ctx.name.clone(),
                op_type: ctx.node.op_type.clone(),
                input: name.into(),
            })
    }

    fn value_shape(&self, v: &Value) -> Vec<usize> {
        match v {
            Value::Dyn(id) => self.shape(*id),
            Value::Const(c) => c.shape.clone(),
        }
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
            // A first condition given as a graph input is fixed at compile time, like a trip
            // count.
            Some(_) => self
                .condition(ctx, 1)
                .map_err(|e| self.fixable_or(ctx, 1, e))?,
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
            let [iter_in, cond_in, ..] = body.input.as_slice() else {
                break;
            };
            let (iter_in, cond_in) = (&iter_in.name, &cond_in.name);
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
            let Some((cond_out, rest)) = outs.split_first() else {
                break;
            };
            cond = match self.values.get(cond_out) {
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
                        input: cond_out.clone(),
                    });
                }
            };
            let (next, slices) = rest.split_at(n_carried.min(rest.len()));
            carried = next.to_vec();
            for (scan, out) in scans.iter_mut().zip(slices) {
                scan.push(out.clone());
            }
            k += 1;
        }
        let axes = vec![0; scans.len()];
        self.finish_iterations(ctx, &carried, scans, &axes)
    }

    /// Bind the node's outputs: the final carried values, then each scan output's
    /// iterations stacked along a new axis `axes[j]`.
    fn finish_iterations(
        &mut self,
        ctx: &Ctx<'_>,
        carried: &[String],
        scans: Vec<Vec<String>>,
        axes: &[i64],
    ) -> Result<(), OnnxError> {
        let outputs: Vec<String> = ctx.node.output.clone();
        for (to, from) in outputs.iter().zip(carried) {
            if !to.is_empty() {
                self.alias(ctx, to, from)?;
            }
        }
        for ((to, items), &a) in outputs.iter().skip(carried.len()).zip(scans).zip(axes) {
            if to.is_empty() {
                continue;
            }
            if items.is_empty() {
                return Err(ctx.unsupported("a scan output of no iterations", "an empty tensor"));
            }
            let seq = format!("{to}/iterations");
            self.seqs.insert(seq.clone(), items);
            let stack = NodeProto {
                name: ctx.name.clone(),
                op_type: "ConcatFromSequence".into(),
                input: vec![seq],
                output: vec![to.clone()],
                attribute: vec![int_attr("axis", a), int_attr("new_axis", 1)],
                ..NodeProto::default()
            };
            self.node(&Ctx {
                node: &stack,
                name: ctx.name.clone(),
            })?;
        }
        Ok(())
    }

    /// `Scan` (opset 9+): `N` state values and `M = num_scan_inputs` scanned inputs; each
    /// iteration's body takes the states and one slice of every scanned input (along its
    /// `scan_input_axes` entry, from the end for a `scan_input_directions` of 1) and gives the
    /// next states and one slice of each scan output, stacked along `scan_output_axes`
    /// (reversed for `scan_output_directions` 1).
    fn scan_node(&mut self, ctx: &Ctx<'_>) -> Result<(), OnnxError> {
        if self.opset < 9 {
            return Err(ctx.unsupported(
                "a Scan of opset 8 (sequence_lens, batch axis)",
                format!("opset {}", self.opset),
            ));
        }
        let body = graph_attr(ctx, "body")?;
        let m = ctx
            .node
            .int("num_scan_inputs")
            .and_then(|m| usize::try_from(m).ok())
            .filter(|&m| m >= 1 && m <= ctx.node.input.len())
            .ok_or_else(|| ctx.unsupported("a Scan without a valid num_scan_inputs", ""))?;
        let n = ctx.node.input.len() - m;
        if body.input.len() != n + m || body.output.len() < n {
            return Err(ctx.unsupported(
                "a Scan body whose inputs and outputs do not match its states",
                format!(
                    "{n} states, {m} scanned inputs; body {} inputs, {} outputs",
                    body.input.len(),
                    body.output.len()
                ),
            ));
        }
        let k = body.output.len() - n;
        let list = |name: &'static str, len: usize| -> Result<Vec<i64>, OnnxError> {
            let v = ctx.node.ints(name).unwrap_or_else(|| vec![0; len]);
            if v.len() == len {
                Ok(v)
            } else {
                Err(ctx.unsupported("a Scan attribute of the wrong length", name))
            }
        };
        let in_axes = list("scan_input_axes", m)?;
        let in_dirs = list("scan_input_directions", m)?;
        let out_axes = list("scan_output_axes", k)?;
        let out_dirs = list("scan_output_directions", k)?;
        // Each scanned input's axis (normalised) and the common length.
        let mut scanned = Vec::with_capacity(m);
        let mut length = None;
        for (j, &a) in in_axes.iter().enumerate() {
            let shape = match self.get(ctx, n + j)? {
                Value::Dyn(id) => self.shape(*id),
                Value::Const(c) => c.shape.clone(),
            };
            let a = super::axis(ctx, a, shape.len())?;
            let len = shape.get(a).copied().unwrap_or(0);
            if length.is_some_and(|l| l != len) {
                return Err(ctx.unsupported(
                    "scanned inputs of different lengths",
                    format!("{length:?} and {len}"),
                ));
            }
            length = Some(len);
            scanned.push(a);
        }
        let length = length.unwrap_or(0);
        if length == 0 || length > MAX_ITERATIONS {
            return Err(ctx.unsupported(
                "a Scan of no iterations or more than 2^12",
                format!("{length} iterations"),
            ));
        }
        let mut states: Vec<String> = ctx.node.input.iter().take(n).cloned().collect();
        let mut scans: Vec<Vec<String>> = vec![Vec::new(); k];
        for t in 0..length {
            let suffix = format!("@{}{t}", ctx.name);
            let bind = |name: &str| format!("{name}{suffix}");
            for (input, value) in body.input.iter().take(n).zip(&states) {
                self.alias(ctx, &bind(&input.name), value)?;
            }
            for (j, input) in body.input.iter().skip(n).enumerate() {
                let index = if in_dirs.get(j) == Some(&1) {
                    length - 1 - t
                } else {
                    t
                };
                let index_name = bind(&format!("{}/index", input.name));
                #[allow(clippy::cast_precision_loss)]
                self.set(&index_name, Value::Const(scalar(index as f64)));
                self.ints.insert(index_name.clone());
                let source = ctx.input(n + j).unwrap_or_default().to_string();
                let axis = i64::try_from(scanned.get(j).copied().unwrap_or(0)).unwrap_or(0);
                let name = format!("{}/slice{j}@{t}", ctx.name);
                let gather = NodeProto {
                    name: name.clone(),
                    op_type: "Gather".into(),
                    input: vec![source, index_name],
                    output: vec![bind(&input.name)],
                    attribute: vec![int_attr("axis", axis)],
                    ..NodeProto::default()
                };
                self.node(&Ctx {
                    node: &gather,
                    name,
                })?;
            }
            let outs = self.inline(ctx, body, &suffix)?;
            let (next, slices) = outs.split_at(n.min(outs.len()));
            states = next.to_vec();
            for (scan, out) in scans.iter_mut().zip(slices) {
                scan.push(out.clone());
            }
        }
        for (scan, dir) in scans.iter_mut().zip(&out_dirs) {
            if *dir == 1 {
                scan.reverse();
            }
        }
        self.finish_iterations(ctx, &states, scans, &out_axes)
    }
}
