//! Lowering a Program to chips: one chip per tensor source, per node (two for a gemm with bias
//! or a mean) and per public computed tensor, plus the range table; then chips of the same kind
//! are merged into shared AIR instances (see [`merge`]).

use zkmlops_proof::{ProveError, PublicTensor};
use zkmlops_tensor::ops::{self, Rounding};
use zkmlops_tensor::{Op, Program, TensorKind, Visibility, numel};

use crate::chips::{
    BinOp, BoundChip, Chip, ChipAir, ChipKind, CommitChip, CommitSlot, GemmChip, GemmPart, MapChip,
    MapKind, MapPart, PartitionChip, PublicChip, PublicMode, RangeChip, ReduceChip, ReduceKind,
    ReducePart, Signed, SourceChip, TableChip, map::MapRow,
};
use crate::{BACKEND, FriError};

/// Number of public values (u32 limbs of the statement digest) carried by the first instance.
pub(crate) const STATEMENT_LIMBS: usize = 8;

/// How the prover computes a wire that is not a Program tensor.
#[derive(Debug, Clone)]
pub(crate) enum Internal {
    /// `op(A) x op(B)` before the bias is added.
    GemmNoBias {
        a: usize,
        b: usize,
        trans_a: bool,
        trans_b: bool,
    },
    /// Sums of a mean before the division.
    SumOf { x: usize, axes: Vec<usize> },
    /// Gathered elements `(wire, index)` (a convolution's patches).
    Gather(Vec<(u32, usize)>),
    /// `A [m, k] x B^T` for `B` stored as `[n, k]` (a convolution's kernels), flat.
    GemmFlat {
        a: usize,
        b: usize,
        m: usize,
        k: usize,
        n: usize,
    },
    /// The single value 0 (what padded convolution taps read).
    Zero,
    /// Sums of given groups of input elements (an average pool's windows).
    GroupSums { x: usize, groups: Vec<Vec<usize>> },
}

/// A wire: a Program tensor (same index) or an internal one.
#[derive(Debug, Clone)]
pub(crate) struct Wire {
    pub(crate) name: String,
    pub(crate) len: usize,
    pub(crate) internal: Option<Internal>,
}

/// A compiled Program.
#[derive(Debug, Clone)]
pub(crate) struct Circuit {
    pub(crate) airs: Vec<ChipAir>,
    pub(crate) wires: Vec<Wire>,
}

fn unsupported(feature: &'static str) -> FriError {
    FriError::Prove(ProveError::Unsupported {
        backend: BACKEND,
        feature,
    })
}

fn limit(tensor: &str, what: &'static str, value: u128, limit: u128) -> FriError {
    FriError::Prove(ProveError::Limit {
        backend: BACKEND,
        tensor: tensor.into(),
        what,
        value,
        limit,
    })
}

fn wire_id(w: usize) -> Result<u32, FriError> {
    u32::try_from(w).map_err(|_| limit("", "wire count", w as u128, u128::from(u32::MAX)))
}

/// Rows one instance may have (2^26: far beyond what this backend proves on one machine, and
/// small enough that a verifier handed a crafted Program never allocates without bound).
pub(crate) const MAX_ROWS: usize = 1 << 26;
/// Elements all of a Program's tensors may hold together.
pub(crate) const MAX_ELEMENTS: usize = 1 << 28;

fn check_rows(tensor: &str, rows: Option<usize>) -> Result<(), FriError> {
    match rows {
        Some(r) if r <= MAX_ROWS => Ok(()),
        other => Err(limit(
            tensor,
            "rows of one instance",
            other.map_or(u128::MAX, |r| r as u128),
            MAX_ROWS as u128,
        )),
    }
}

fn log2_ceil(n: usize) -> usize {
    n.max(1).next_power_of_two().trailing_zeros() as usize
}

struct Builder<'a> {
    program: &'a Program,
    /// Private inputs whose only reader is one gemm's weight operand with one output row.
    inline: std::collections::BTreeSet<usize>,
    /// Distinct lookup tables, in order of first use (their index is the table id).
    tables: Vec<zkmlops_lookup::TableSpec>,
    wires: Vec<Wire>,
    chips: Vec<Chip>,
}

impl Builder<'_> {
    /// The declared bound of an input inlined into the chip that reads it.
    fn inline_range(&self, w: usize) -> Option<Signed> {
        self.inline
            .contains(&w)
            .then(|| Signed::new(u32::from(self.program.tensors()[w].bits)))
    }

    fn internal(&mut self, name: String, len: usize, how: Internal) -> Result<usize, FriError> {
        self.wires.push(Wire {
            name,
            len,
            internal: Some(how),
        });
        let w = self.wires.len() - 1;
        wire_id(w)?;
        Ok(w)
    }

    /// A map chip for one op: `out` from first operand `a` (a copy's rows name their own) and
    /// second operand `b` (binary, division by a tensor; otherwise unused).
    fn map(
        &mut self,
        kind: MapKind,
        out: usize,
        a: usize,
        b: usize,
        rows: Vec<MapRow>,
    ) -> Result<(), FriError> {
        self.chips.push(Chip::Map(MapChip {
            kind,
            parts: vec![MapPart {
                out_wire: wire_id(out)?,
                a_wire: wire_id(a)?,
                b_wire: wire_id(b)?,
                rows,
                mults: Vec::new(),
            }],
            log_height: 0,
        }));
        Ok(())
    }

    fn div(
        &mut self,
        input: usize,
        out: usize,
        divisors: &[usize],
        rounding: Rounding,
        name: &str,
    ) -> Result<(), FriError> {
        let mut rows = Vec::with_capacity(divisors.len());
        for (i, &d) in divisors.iter().enumerate() {
            if d == 0 || d > 1 << 16 {
                return Err(limit(name, "divisor", d as u128, 1 << 16));
            }
            // d <= 2^16: exact in u32.
            let d = u32::try_from(d).unwrap_or(u32::MAX);
            let offset = match rounding {
                Rounding::Floor => 0,
                Rounding::HalfUp => d / 2,
            };
            rows.push(MapRow {
                a: i,
                d,
                offset,
                ..MapRow::default()
            });
        }
        self.map(MapKind::DivConst, out, input, input, rows)
    }

    fn copy(
        &mut self,
        out: usize,
        sources: impl Iterator<Item = (usize, usize)>,
    ) -> Result<(), FriError> {
        let rows = sources
            .map(|(w, i)| {
                Ok(MapRow {
                    src_wire: wire_id(w)?,
                    a: i,
                    ..MapRow::default()
                })
            })
            .collect::<Result<Vec<_>, FriError>>()?;
        self.map(MapKind::Copy, out, 0, 0, rows)
    }

    /// Input indices of each output element of a reduction over `axes` (none empty).
    fn groups(
        &self,
        input: usize,
        axes: &[usize],
        name: &str,
    ) -> Result<Vec<Vec<usize>>, FriError> {
        let shape = &self.program.tensors()[input].shape;
        let (map, n_out) =
            ops::reduce_index_map(shape, axes).map_err(|_| unsupported("this reduction"))?;
        let mut groups = vec![Vec::new(); n_out];
        for (i, &o) in map.iter().enumerate() {
            groups[o].push(i);
        }
        if groups.iter().any(Vec::is_empty) {
            return Err(limit(name, "elements reduced", 0, 1));
        }
        Ok(groups)
    }

    fn sum(
        &mut self,
        input: usize,
        out: usize,
        axes: &[usize],
        name: &str,
    ) -> Result<(), FriError> {
        let groups = self.groups(input, axes, name)?;
        self.reduce(ReduceKind::Sum, input, out, groups)
    }

    fn gemm(
        &mut self,
        a: usize,
        b: usize,
        out: usize,
        trans_a: bool,
        trans_b: bool,
    ) -> Result<(), FriError> {
        let (sa, sb) = (
            &self.program.tensors()[a].shape,
            &self.program.tensors()[b].shape,
        );
        let (m, k) = if trans_a {
            (sa[1], sa[0])
        } else {
            (sa[0], sa[1])
        };
        let n = if trans_b { sb[0] } else { sb[1] };
        self.gemm_dims(a, b, out, [m, k, n], trans_a, trans_b)
    }

    /// A gemm chip for explicit dimensions `[m, k, n]` (operands may be internal wires).
    fn gemm_dims(
        &mut self,
        a: usize,
        b: usize,
        out: usize,
        [m, k, n]: [usize; 3],
        trans_a: bool,
        trans_b: bool,
    ) -> Result<(), FriError> {
        let macs = m.checked_mul(k).and_then(|mk| mk.checked_mul(n));
        if macs == Some(0) {
            return Err(limit(&self.wires[out].name, "gemm size", 0, 1));
        }
        let tile = crate::chips::gemm::tile_for(n);
        check_rows(&self.wires[out].name, macs.map(|x| x / tile))?;
        let b_inline = if m == 1 { self.inline_range(b) } else { None };
        self.chips.push(Chip::Gemm(GemmChip {
            b_inline,
            tile,
            parts: vec![GemmPart {
                a_wire: wire_id(a)?,
                b_wire: wire_id(b)?,
                y_wire: wire_id(out)?,
                m,
                k,
                n,
                trans_a,
                trans_b,
                mults: Vec::new(),
            }],
            log_height: 0,
        }));
        Ok(())
    }

    /// `conv2d` as im2col: a copy chip gathers each output position's patch (padded taps read
    /// an internal zero), a gemm multiplies the patches by the kernels (read in their own flat
    /// layout `[O, C*KH*KW]`), and a copy or add chip puts the products back in NCHW order,
    /// adding the bias.
    fn conv2d(&mut self, ins: &[usize], out: usize, p: &ops::Conv2dParams) -> Result<(), FriError> {
        if p.groups != 1 {
            return Err(unsupported("grouped conv2d"));
        }
        let name = self.wires[out].name.clone();
        let xs = self.shape_of(ins[0]).to_vec();
        let ws = self.shape_of(ins[1]).to_vec();
        let ys = self.shape_of(out).to_vec();
        // The Program validated the shapes: input and kernel are rank 4.
        let (n, c, h, w) = (xs[0], xs[1], xs[2], xs[3]);
        let (o, kh, kw) = (ws[0], ws[2], ws[3]);
        let (oh, ow) = (ys[2], ys[3]);
        // Padded taps read the single element of an internal public zero (created if needed).
        let x = wire_id(ins[0])?;
        let z = wire_id(self.wires.len())?;
        let mut padded = false;
        let k = c * kh * kw;
        let taps_len = [n, oh, ow, c, kh, kw]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d));
        check_rows(&name, taps_len)?;
        let mut taps = Vec::with_capacity(taps_len.unwrap_or(0));
        for b in 0..n {
            for oy in 0..oh {
                for ox in 0..ow {
                    for ci in 0..c {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * p.strides[0] + ky * p.dilations[0])
                                    .checked_sub(p.pads[0])
                                    .filter(|&v| v < h);
                                let ix = (ox * p.strides[1] + kx * p.dilations[1])
                                    .checked_sub(p.pads[1])
                                    .filter(|&v| v < w);
                                taps.push(match (iy, ix) {
                                    (Some(iy), Some(ix)) => (x, ((b * c + ci) * h + iy) * w + ix),
                                    _ => {
                                        padded = true;
                                        (z, 0)
                                    }
                                });
                            }
                        }
                    }
                }
            }
        }
        if padded {
            self.internal(format!("{name}/zero"), 1, Internal::Zero)?;
            self.chips.push(Chip::Public(PublicChip::single(
                PublicMode::Source,
                z,
                vec![0],
            )));
        }
        let m = n * oh * ow;
        let patches = self.internal(
            format!("{name}/patches"),
            taps.len(),
            Internal::Gather(taps.clone()),
        )?;
        self.copy(
            patches,
            taps.into_iter().map(|(wire, i)| (wire as usize, i)),
        )?;
        let prod = self.internal(
            format!("{name}/product"),
            m * o,
            Internal::GemmFlat {
                a: patches,
                b: ins[1],
                m,
                k,
                n: o,
            },
        )?;
        self.gemm_dims(patches, ins[1], prod, [m, k, o], false, true)?;
        // y[b, oc, oy, ox] = prod[(b*OH + oy)*OW + ox, oc]
        let back = |i: usize| {
            let (b, rest) = (i / (o * oh * ow), i % (o * oh * ow));
            let (oc, pos) = (rest / (oh * ow), rest % (oh * ow));
            ((b * oh * ow + pos) * o + oc, oc)
        };
        let len = n * o * oh * ow;
        match ins.get(2) {
            None => self.copy(out, (0..len).map(|i| (prod, back(i).0))),
            Some(&bias) => {
                let rows = (0..len)
                    .map(|i| MapRow {
                        a: back(i).0,
                        b: back(i).1,
                        ..MapRow::default()
                    })
                    .collect();
                let kind = MapKind::Binary {
                    op: BinOp::Add,
                    b_inline: None,
                };
                self.map(kind, out, prod, bias, rows)
            }
        }
    }

    /// A reduce chip over the given groups (none may be empty).
    fn reduce(
        &mut self,
        kind: ReduceKind,
        input: usize,
        out: usize,
        groups: Vec<Vec<usize>>,
    ) -> Result<(), FriError> {
        if groups.iter().any(Vec::is_empty) {
            return Err(limit(&self.wires[out].name, "elements reduced", 0, 1));
        }
        self.chips.push(Chip::Reduce(ReduceChip {
            kind,
            parts: vec![ReducePart {
                in_wire: wire_id(input)?,
                out_wire: wire_id(out)?,
                groups,
                mults: Vec::new(),
            }],
            log_height: 0,
        }));
        Ok(())
    }

    /// An elementwise map chip: output element `i` reads input element `i`.
    /// A stable partition: the partition chip sends every element once to an internal wire
    /// at its destination; a copy chip reads each position once into the output.
    fn partition(
        &mut self,
        x: usize,
        mask: usize,
        out: usize,
        kept: usize,
    ) -> Result<(), FriError> {
        let len = self.wires[out].len;
        if len == 0 {
            return Err(unsupported("partition of an empty vector"));
        }
        let name = self.wires[out].name.clone();
        let out_w = wire_id(out)?;
        let tmp = self.internal(
            format!("{name}/placed"),
            len,
            Internal::Gather((0..len).map(|i| (out_w, i)).collect()),
        )?;
        self.chips.push(Chip::Partition(PartitionChip {
            x_wire: wire_id(x)?,
            mask_wire: wire_id(mask)?,
            out_wire: wire_id(tmp)?,
            len,
            kept,
            log_height: 0,
        }));
        self.copy(out, (0..len).map(|i| (tmp, i)))
    }

    fn unary(&mut self, kind: MapKind, x: usize, out: usize, len: usize) -> Result<(), FriError> {
        let rows = (0..len)
            .map(|a| MapRow {
                a,
                ..MapRow::default()
            })
            .collect();
        self.map(kind, out, x, x, rows)
    }

    /// One row per element of `out`, reading `a` and `b` at their broadcast indices.
    fn broadcast_rows(&self, a: usize, b: usize, out: usize) -> Vec<MapRow> {
        let out_shape = self.shape_of(out);
        let ma = ops::broadcast_index_map(self.shape_of(a), out_shape);
        let mb = ops::broadcast_index_map(self.shape_of(b), out_shape);
        ma.into_iter()
            .zip(mb)
            .map(|(a, b)| MapRow {
                a,
                b,
                ..MapRow::default()
            })
            .collect()
    }

    fn binary(&mut self, op: BinOp, a: usize, b: usize, out: usize) -> Result<(), FriError> {
        let rows = self.broadcast_rows(a, b, out);
        let kind = MapKind::Binary {
            op,
            b_inline: self.inline_range(b),
        };
        self.map(kind, out, a, b, rows)
    }

    fn shape_of(&self, w: usize) -> &[usize] {
        &self.program.tensors()[w].shape
    }

    fn node(&mut self, op: &Op, ins: &[usize], out: usize) -> Result<(), FriError> {
        let name = self.wires[out].name.clone();
        let len = self.wires[out].len;
        match op {
            Op::MatMul => self.gemm(ins[0], ins[1], out, false, false),
            Op::Gemm { trans_a, trans_b } if ins.len() == 2 => {
                self.gemm(ins[0], ins[1], out, *trans_a, *trans_b)
            }
            Op::Gemm { trans_a, trans_b } => {
                let prod = self.internal(
                    format!("{name}/product"),
                    len,
                    Internal::GemmNoBias {
                        a: ins[0],
                        b: ins[1],
                        trans_a: *trans_a,
                        trans_b: *trans_b,
                    },
                )?;
                self.gemm(ins[0], ins[1], prod, *trans_a, *trans_b)?;
                // The product has the output's shape: read it at the output's own indices.
                let rows = self.broadcast_rows(out, ins[2], out);
                let kind = MapKind::Binary {
                    op: BinOp::Add,
                    b_inline: self.inline_range(ins[2]),
                };
                self.map(kind, out, prod, ins[2], rows)
            }
            Op::Add => self.binary(BinOp::Add, ins[0], ins[1], out),
            Op::Sub => self.binary(BinOp::Sub, ins[0], ins[1], out),
            Op::Mul => self.binary(BinOp::Mul, ins[0], ins[1], out),
            Op::Rescale { shift: 0, .. } => self.copy(out, (0..len).map(|i| (ins[0], i))),
            Op::Rescale { shift, rounding } => {
                if *shift > 16 {
                    return Err(limit(&name, "rescale shift", u128::from(*shift), 16));
                }
                self.div(ins[0], out, &vec![1usize << shift; len], *rounding, &name)
            }
            Op::Relu => self.unary(MapKind::Relu, ins[0], out, len),
            Op::Sum { axes, .. } => self.sum(ins[0], out, axes, &name),
            Op::Mean { axes, rounding, .. } => {
                let in_len = self.wires[ins[0]].len;
                let sums = self.internal(
                    format!("{name}/sum"),
                    len,
                    Internal::SumOf {
                        x: ins[0],
                        axes: axes.clone(),
                    },
                )?;
                self.sum(ins[0], sums, axes, &name)?;
                self.div(sums, out, &vec![in_len / len.max(1); len], *rounding, &name)
            }
            Op::Reshape { .. } | Op::Flatten { .. } => {
                self.copy(out, (0..len).map(|i| (ins[0], i)))
            }
            Op::Transpose { perm } => {
                let map = ops::transpose_index_map(self.shape_of(ins[0]), perm)
                    .map_err(|_| unsupported("this transpose"))?;
                self.copy(out, map.into_iter().map(|i| (ins[0], i)))
            }
            Op::Slice { axis, start, end } => {
                let map = ops::slice_index_map(self.shape_of(ins[0]), *axis, *start, *end)
                    .map_err(|_| unsupported("this slice"))?;
                self.copy(out, map.into_iter().map(|i| (ins[0], i)))
            }
            Op::Concat { axis } => {
                let shapes: Vec<&[usize]> = ins.iter().map(|&w| self.shape_of(w)).collect();
                let map = ops::concat_index_map(&shapes, *axis)
                    .map_err(|_| unsupported("this concat"))?;
                let src: Vec<(usize, usize)> =
                    map.into_iter().map(|(which, i)| (ins[which], i)).collect();
                self.copy(out, src.into_iter())
            }
            Op::Lookup(spec) => {
                let id = match self.tables.iter().position(|t| t == spec) {
                    Some(id) => id,
                    None => {
                        self.tables.push(*spec);
                        self.tables.len() - 1
                    }
                };
                let kind = MapKind::Lookup {
                    table_id: wire_id(id)?,
                    spec: *spec,
                };
                self.unary(kind, ins[0], out, len)
            }
            Op::Div { rounding } => {
                let rows = self.broadcast_rows(ins[0], ins[1], out);
                let kind = MapKind::DivTensor {
                    rounding: *rounding,
                };
                self.map(kind, out, ins[0], ins[1], rows)
            }
            Op::ReduceMax { axis, .. } => {
                let groups = self.groups(ins[0], &[*axis], &name)?;
                self.reduce(ReduceKind::Max, ins[0], out, groups)
            }
            Op::Conv2d(p) => self.conv2d(ins, out, p),
            Op::MaxPool2d(params) => {
                let groups = ops::pool2d_windows("max_pool2d", self.shape_of(ins[0]), params)
                    .map_err(|_| unsupported("this max_pool2d"))?;
                self.reduce(ReduceKind::Max, ins[0], out, groups)
            }
            Op::AvgPool2d { params, rounding } => {
                let groups = ops::pool2d_windows("avg_pool2d", self.shape_of(ins[0]), params)
                    .map_err(|_| unsupported("this avg_pool2d"))?;
                let counts: Vec<usize> = groups.iter().map(Vec::len).collect();
                let sums = self.internal(
                    format!("{name}/sum"),
                    len,
                    Internal::GroupSums {
                        x: ins[0],
                        groups: groups.clone(),
                    },
                )?;
                self.reduce(ReduceKind::Sum, ins[0], sums, groups)?;
                self.div(sums, out, &counts, *rounding, &name)
            }
            Op::Sqrt => self.unary(MapKind::Sqrt, ins[0], out, len),
            Op::Partition { kept } => self.partition(ins[0], ins[1], out, *kept),
            Op::AtLeast => {
                let rows = self.broadcast_rows(ins[0], ins[1], out);
                self.map(MapKind::AtLeast, out, ins[0], ins[1], rows)
            }
            Op::ArgMax { .. } => Err(unsupported("argmax")),
            _ => Err(unsupported("this op")),
        }
    }
}

/// Private inputs that can live inside the one chip that reads them, each element exactly
/// once: read by exactly one node and not an output, as the weight operand of a `MatMul` /
/// `Gemm` with a single output row, or as the second operand (a bias included) of an
/// elementwise op whose output has as many elements (so no element is read twice).
fn inlinable_weights(program: &Program) -> std::collections::BTreeSet<usize> {
    let t = program.tensors();
    let mut uses = vec![0usize; t.len()];
    for node in program.nodes() {
        for i in &node.inputs {
            uses[i.index()] += 1;
        }
    }
    for o in program.outputs() {
        uses[o.index()] += 1;
    }
    let single_private = |i: usize| {
        t[i].kind == TensorKind::Input && t[i].visibility == Visibility::Private && uses[i] == 1
    };
    let len = |i: usize| numel(&t[i].shape).unwrap_or(0);
    let mut out = std::collections::BTreeSet::new();
    for node in program.nodes() {
        let ins: Vec<usize> = node.inputs.iter().map(|i| i.index()).collect();
        let y = node.output.index();
        match node.op {
            Op::MatMul | Op::Gemm { .. } => {
                let rows = match node.op {
                    Op::Gemm { trans_a: true, .. } => t[ins[0]].shape[1],
                    _ => t[ins[0]].shape[0],
                };
                if rows == 1 && ins[0] != ins[1] && single_private(ins[1]) {
                    out.insert(ins[1]);
                }
                if let Some(&bias) = ins.get(2)
                    && single_private(bias)
                    && len(bias) == len(y)
                {
                    out.insert(bias);
                }
            }
            Op::Add | Op::Sub | Op::Mul
                if ins[0] != ins[1] && single_private(ins[1]) && len(ins[1]) == len(y) =>
            {
                out.insert(ins[1]);
            }
            _ => {}
        }
    }
    out
}

/// Compile a Program. `public` holds the values of its public non-constant tensors (from the
/// statement); constants come from the Program itself.
pub(crate) fn compile(
    program: &Program,
    public: &[PublicTensor],
    min_log_height: usize,
) -> Result<Circuit, FriError> {
    // Before anything is allocated per element: a crafted Program must not exhaust memory.
    let total = program
        .tensors()
        .iter()
        .try_fold(0usize, |acc, d| acc.checked_add(numel(&d.shape)?));
    if total.is_none_or(|t| t > MAX_ELEMENTS) {
        return Err(limit(
            "",
            "elements of all tensors",
            total.map_or(u128::MAX, |t| t as u128),
            MAX_ELEMENTS as u128,
        ));
    }
    let wires = program
        .tensors()
        .iter()
        .map(|d| Wire {
            name: d.name.clone(),
            len: numel(&d.shape).unwrap_or(0),
            internal: None,
        })
        .collect();
    let mut b = Builder {
        program,
        inline: inlinable_weights(program),
        tables: Vec::new(),
        wires,
        chips: Vec::new(),
    };
    let mut committed_bounds: std::collections::BTreeMap<u8, Vec<(u32, usize)>> =
        std::collections::BTreeMap::new();
    let mut packed_outputs: std::collections::BTreeMap<u8, Vec<(u32, usize)>> =
        std::collections::BTreeMap::new();
    // One commitment chip for every group, built first: the packed values it range-checks
    // itself (`CommitChip::checked_bits`) need no bound chip.
    let digest = program.digest();
    let mut groups = Vec::new();
    for (group, ids) in zkmlops_commit::commitment_groups(program) {
        let mut slots = Vec::new();
        let mut tensors = Vec::new();
        for id in ids {
            let w = wire_id(id.index())?;
            let source = program.tensors()[id.index()].kind == TensorKind::Input;
            let len = b.wires[id.index()].len;
            slots.extend((0..len).map(|i| CommitSlot {
                wire: w,
                index: i,
                source,
            }));
            tensors.push((len, zkmlops_commit::Packing::of(program, group, id)));
        }
        // With nothing absorbed the digest would be tied to no row.
        if slots.is_empty() {
            return Err(unsupported("committed tensors with no elements"));
        }
        let lanes: usize = tensors
            .iter()
            .map(|&(len, p)| len.div_ceil(p.width.max(1)))
            .sum();
        let iv = zkmlops_commit::group_initial_state(&digest, group, lanes)
            .map(|x| p3_field::PrimeField64::as_canonical_u64(&x));
        groups.push((slots, tensors, iv));
    }
    let commit_chips: Vec<CommitChip> = if groups.is_empty() {
        Vec::new()
    } else {
        vec![CommitChip::new(groups)]
    };
    let self_checked: std::collections::BTreeSet<u32> = commit_chips
        .iter()
        .flat_map(CommitChip::checked_wires)
        .collect();
    for (w, d) in program.tensors().iter().enumerate() {
        let wire = wire_id(w)?;
        let public_values = || {
            public
                .iter()
                .find(|p| p.id.index() == w)
                .map(|p| p.values.clone())
                .ok_or(FriError::MissingPublic)
        };
        match (&d.kind, d.visibility) {
            (TensorKind::Constant(values), _) => b.chips.push(Chip::Public(PublicChip::single(
                PublicMode::Source,
                wire,
                values.clone(),
            ))),
            (TensorKind::Input, Visibility::Public) => b.chips.push(Chip::Public(
                PublicChip::single(PublicMode::Source, wire, public_values()?),
            )),
            (TensorKind::Input, Visibility::Private) if b.inline.contains(&w) => {}
            (TensorKind::Input, Visibility::Private) => {
                b.chips.push(Chip::Source(SourceChip::single(
                    wire,
                    Signed::new(u32::from(d.bits)),
                )));
            }
            // Committed inputs are range-checked to their declared bound by a bound chip (one
            // per width, built below); their group's commitment chip sources them.
            (TensorKind::Input, Visibility::Committed | Visibility::CommittedTo(_)) => {
                // The full-range bound (salts) needs no check; the commitment chip checks the
                // packed inputs of its group's most common width itself.
                if d.bits < zkmlops_tensor::MAX_INPUT_BITS && !self_checked.contains(&wire) {
                    committed_bounds
                        .entry(d.bits)
                        .or_default()
                        .push((wire, b.wires[w].len));
                }
            }
            // Committed computed tensors: the commitment chip reads them; a packed one is
            // proved within its declared bits (by that chip or a bound chip after its
            // producer, below).
            (_, Visibility::Committed | Visibility::CommittedTo(_)) => {
                if d.output_bound().is_some() && !self_checked.contains(&wire) {
                    packed_outputs
                        .entry(d.bits)
                        .or_default()
                        .push((wire, b.wires[w].len));
                }
            }
            (TensorKind::Computed, Visibility::Public) => b.chips.push(Chip::Public(
                PublicChip::single(PublicMode::Sink, wire, public_values()?),
            )),
            (TensorKind::Computed, Visibility::Private) => {}
        }
    }
    for (bits, wires) in committed_bounds {
        b.chips.push(Chip::Bound(BoundChip {
            wires,
            range: Signed::new(u32::from(bits)),
            log_height: 0,
        }));
    }
    b.chips.extend(commit_chips.into_iter().map(Chip::Commit));
    for node in program.nodes() {
        let ins: Vec<usize> = node.inputs.iter().map(|t| t.index()).collect();
        b.node(&node.op, &ins, node.output.index())?;
    }
    for (bits, wires) in packed_outputs {
        b.chips.push(Chip::Bound(BoundChip {
            wires,
            range: Signed::new(u32::from(bits)),
            log_height: 0,
        }));
    }
    for (id, spec) in b.tables.iter().enumerate() {
        b.chips.push(Chip::Table(TableChip {
            table_id: wire_id(id)?,
            spec: *spec,
            log_height: 0,
        }));
    }
    // Every bound the arithmetization relies on, proved or refused (see `bounds.rs`); this may
    // add bound chips.
    let extra = crate::bounds::analyse(program, &b.wires, &b.chips)?;
    b.chips.extend(extra);
    if b.chips.iter().any(ChipKind::range_lookups) {
        b.chips.push(Chip::Range(RangeChip::new()));
    }

    // Multiplicities: every producer sends each element as often as it is read.
    let mut counts: Vec<Vec<u32>> = b.wires.iter().map(|w| vec![0; w.len]).collect();
    for chip in &b.chips {
        chip.reads(&mut |w, i| {
            if let Some(c) = counts.get_mut(w as usize).and_then(|c| c.get_mut(i)) {
                *c += 1;
            }
        });
    }
    let mut sized = Vec::with_capacity(b.chips.len());
    for mut chip in b.chips {
        let mut take = |w: u32| {
            counts
                .get_mut(w as usize)
                .map(std::mem::take)
                .unwrap_or_default()
        };
        let real = chip.take_mults(&mut take);
        check_rows(chip.kind_name(), Some(real))?;
        sized.push((chip, real));
    }
    let mut chips = merge(sized, min_log_height);
    for (chip, real) in &mut chips {
        chip.set_log_height(log2_ceil(*real).max(min_log_height));
    }
    let airs = chips
        .into_iter()
        .map(|(chip, _)| chip)
        .enumerate()
        .map(|(i, chip)| ChipAir {
            chip,
            statement_values: if i == 0 { STATEMENT_LIMBS } else { 0 },
        })
        .collect();
    Ok(Circuit {
        airs,
        wires: b.wires,
    })
}

/// Bins of one kind a chip may try (see [`merge`]).
const MERGE_WINDOW: usize = 16;
/// Rounds of bin-with-bin merging (see [`merge`]); bins of equal height double each round.
const MERGE_ROUNDS: usize = 8;

/// Fewer, taller instances: chips with equal [`MergeKey`](crate::chips::MergeKey)s (the same
/// AIR on different wires) share one instance, their rows one after the other. Each instance's
/// fixed costs (its LogUp columns, quotient, opened values, and the hiding randomness in zero
/// knowledge) are then paid once per kind instead of once per op, and a proof opens far fewer
/// columns per query.
///
/// Packing is first-fit decreasing among the last [`MERGE_WINDOW`] bins of a kind (linear time,
/// whatever Program a verifier is handed): a chip joins a bin only if the merged instance is no
/// taller than the circuit's tallest (FRI's cost follows it) and has no more padded rows than
/// the members would have apart (merging never adds cells: without that rule a 1,024-row and a
/// 512-row ReLU would pad to 2,048). Then bins of a kind merge pairwise under the same rule,
/// for at most [`MERGE_ROUNDS`] rounds (four 960-row gemms share 4,096 rows, where one chip at
/// a time stops at pairs). The result is deterministic (prover and verifier compile
/// the same Program to the same instances): chips keep their relative order, a bin sits where
/// its first chip was.
fn merge(chips: Vec<(Chip, usize)>, min_log_height: usize) -> Vec<(Chip, usize)> {
    struct Bin {
        /// Its first chip in Program order (where the merged instance goes).
        first: usize,
        /// Real rows.
        rows: usize,
        /// Padded rows of its members apart.
        apart: usize,
        members: Vec<usize>,
    }
    let keys: Vec<_> = chips.iter().map(|(c, _)| c.merge_key()).collect();
    let padded = |real: usize| 1usize << log2_ceil(real).max(min_log_height);
    // A bin may grow to the tallest instance of the whole circuit: FRI's cost follows the
    // tallest height, which merging never raises.
    let capacity = chips.iter().map(|(_, r)| padded(*r)).max().unwrap_or(0);
    // Tallest first, ties in Program order.
    let mut order: Vec<usize> = (0..chips.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(chips[i].1));
    let mut bins: Vec<Bin> = Vec::new();
    // The bins of each kind; a chip tries the last `MERGE_WINDOW` of its kind's (first fit within
    // that window: linear in the chips, whatever Program a verifier is handed).
    let mut by_key: std::collections::HashMap<crate::chips::MergeKey, Vec<usize>> =
        std::collections::HashMap::new();
    for i in order {
        let (key, real) = (keys[i], chips[i].1);
        // A chip joins a bin only if the merged instance has no more (padded) rows than the
        // bin's members and the chip would have apart: merging saves instances, never cells.
        let fit = key.and_then(|k| {
            let list = by_key.get(&k)?;
            list[list.len().saturating_sub(MERGE_WINDOW)..]
                .iter()
                .copied()
                .find(|&at| {
                    let b = &bins[at];
                    let merged = padded(b.rows + real);
                    merged <= capacity && merged <= b.apart + padded(real)
                })
        });
        match fit {
            Some(at) => {
                let bin = &mut bins[at];
                bin.first = bin.first.min(i);
                bin.rows += real;
                bin.apart += padded(real);
                bin.members.push(i);
            }
            None => {
                if let Some(k) = key {
                    by_key.entry(k).or_default().push(bins.len());
                }
                bins.push(Bin {
                    first: i,
                    rows: real,
                    apart: padded(real),
                    members: vec![i],
                });
            }
        }
    }
    // Bins of one kind whose union pads to no more rows than they do apart merge as well: two
    // bins of two 960-row gemms each (1,920 rows, padded to 2,048) make one of 3,840 rows
    // padded to 4,096, which a chip at a time cannot reach (a third member would pad to 4,096
    // against 3,072 apart). Rounds of pairwise merges within the window, each linear in the
    // bins; the bins of equal height double each round, so a few rounds suffice.
    let mut alive = vec![true; bins.len()];
    for _ in 0..MERGE_ROUNDS {
        let mut merged_any = false;
        // Each kind's bins merge among themselves only, so the order of kinds is immaterial.
        for list in by_key.values_mut() {
            list.retain(|&b| alive[b]);
            for x in 0..list.len() {
                let a = list[x];
                if !alive[a] {
                    continue;
                }
                let end = (x + 1 + MERGE_WINDOW).min(list.len());
                let partner = list[x + 1..end].iter().copied().find(|&b| {
                    let (ra, rb) = (bins[a].rows, bins[b].rows);
                    let merged = padded(ra + rb);
                    alive[b] && merged <= capacity && merged <= padded(ra) + padded(rb)
                });
                if let Some(b) = partner {
                    let taken = std::mem::take(&mut bins[b].members);
                    let (rows, first) = (bins[b].rows, bins[b].first);
                    let bin = &mut bins[a];
                    bin.members.extend(taken);
                    bin.rows += rows;
                    bin.first = bin.first.min(first);
                    alive[b] = false;
                    merged_any = true;
                }
            }
        }
        if !merged_any {
            break;
        }
    }
    bins.retain(|b| !b.members.is_empty());
    bins.sort_by_key(|b| b.first);
    let mut slots: Vec<Option<(Chip, usize)>> = chips.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(bins.len());
    for Bin {
        rows, mut members, ..
    } in bins
    {
        members.sort_unstable();
        let mut it = members.into_iter().filter_map(|m| slots[m].take());
        let Some((mut chip, mut real)) = it.next() else {
            continue;
        };
        for (other, other_real) in it {
            // Equal keys mean the same chip kind, so `absorb` does not refuse; if it did, the
            // chip would simply stay alone.
            match chip.absorb(other) {
                Ok(()) => real += other_real,
                Err(other) => out.push((*other, other_real)),
            }
        }
        debug_assert_eq!(real, rows);
        out.push((chip, real));
    }
    out
}
