//! Map chip: one output element per row, computed from at most two bus reads.
//!
//! Kinds: elementwise add/sub/mul (with broadcasting through the read indices), copy (every
//! data-movement op: reshape, flatten, transpose, concat, slice are pure re-indexing), division
//! by a positive constant with rounding (rescale, mean), and ReLU. This file holds what they
//! share (structure, bus reads and the output send); each kind's own columns and constraints
//! are in its own file.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::Field;
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

mod div;
pub(crate) mod div_tensor;
mod elementwise;
pub(crate) mod lookup;
mod relu;
mod sqrt;

use zkmlops_lookup::TableSpec;
use zkmlops_tensor::ops::Rounding;

use super::limbs::Signed;
use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, limbs, matrix, usize_felt};
use crate::FriError;
use crate::bounds::{self, State};

/// Elementwise binary operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
}

/// What a map chip computes. Wires are not part of it: they are per row (see [`MapPart`]), so
/// every op of one kind shares one instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum MapKind {
    /// `y = a op b`; row reads `(a_wire, a_idx)` and `(b_wire, b_idx)`, unless `b_inline`: then
    /// `b` is a private input that only this chip reads, once per element, and lives here alone,
    /// range-checked to the input's declared bound.
    Binary { op: BinOp, b_inline: Option<Signed> },
    /// `y = x`; row reads `(src_wire, src_idx)` (per row, for concat).
    Copy,
    /// `x + offset = q * d + r`, `0 <= r < d <= 2^16`, `y = q` in the signed 32-bit range:
    /// `q + 2^31` is four 8-bit limbs, `r` two, and `d - 1 - r` two.
    DivConst,
    /// `y = max(x, 0)` with `x` in the signed 32-bit range: `x + 2^31 = h * 2^31 + m` with `h`
    /// a bit and `m` 31 bits (three 8-bit limbs and a 7-bit one), and `y = h * x`.
    Relu,
    /// `y = spec.eval(x)`: the clamp proved by comparison, then a lookup in table `table_id`.
    Lookup { table_id: u32, spec: TableSpec },
    /// `y = div_round(a, b)` for a positive tensor divisor `b < 2^24`.
    DivTensor { rounding: Rounding },
    /// `y = floor(sqrt(x))` for `0 <= x < 2^62`.
    Sqrt,
    /// `y = [a >= b]`: ReLU's decomposition of `a - b` (signed 32-bit), `y = h`; reads both
    /// operands from the bus.
    AtLeast,
}

/// The structural data of one output element.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MapRow {
    /// Source wire (copy only: each row names its own).
    pub(crate) src_wire: u32,
    /// First read index.
    pub(crate) a: usize,
    /// Second read index (binary only).
    pub(crate) b: usize,
    /// Divisor (div only).
    pub(crate) d: u32,
    /// Rounding offset (div only).
    pub(crate) offset: u32,
}

/// One op's rows: the wire it produces (row `i` sends element `i`), the wires it reads (the
/// first operand of a copy is per row), and its producer multiplicities.
#[derive(Debug, Clone)]
pub(crate) struct MapPart {
    pub(crate) out_wire: u32,
    pub(crate) a_wire: u32,
    pub(crate) b_wire: u32,
    pub(crate) rows: Vec<MapRow>,
    pub(crate) mults: Vec<u32>,
}

impl MapPart {
    /// The wire row `r` reads first.
    fn a_of(&self, r: &MapRow, kind: MapKind) -> u32 {
        if kind == MapKind::Copy {
            r.src_wire
        } else {
            self.a_wire
        }
    }
}

/// Ops of one kind, one after the other (the compiler merges same-kind chips; see
/// `circuit::merge`). Every wire id is a structure column, so one AIR serves them all.
#[derive(Debug, Clone)]
pub(crate) struct MapChip {
    pub(crate) kind: MapKind,
    pub(crate) parts: Vec<MapPart>,
    pub(crate) log_height: usize,
}

impl MapChip {
    /// Real rows.
    pub(crate) fn len(&self) -> usize {
        self.parts.iter().map(|p| p.rows.len()).sum()
    }

    /// Every real row with its part and its index in the part.
    pub(crate) fn rows(&self) -> impl Iterator<Item = (&MapPart, usize, &MapRow)> + '_ {
        self.parts
            .iter()
            .flat_map(|p| p.rows.iter().enumerate().map(move |(i, r)| (p, i, r)))
    }

    /// Whether the second operand is read from the bus (and so has wire/index columns).
    fn reads_b(&self) -> bool {
        matches!(
            self.kind,
            MapKind::Binary { b_inline: None, .. } | MapKind::DivTensor { .. } | MapKind::AtLeast
        )
    }
}

// Preprocessed columns shared by every kind.
const SEL: usize = 0;
const OUT_IDX: usize = 1;
const MULT: usize = 2;
const A_IDX: usize = 3;
const OUT_WIRE: usize = 4;
const A_WIRE: usize = 5;
// Kind-specific preprocessed columns.
const B_IDX: usize = 6; // binary (bus operand), div-tensor
const B_WIRE: usize = 7; // binary (bus operand), div-tensor
const D: usize = 6; // div
const OFFSET: usize = 7; // div

impl ChipKind for MapChip {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            MapKind::Binary { op: BinOp::Add, .. } => "add",
            MapKind::Binary { op: BinOp::Sub, .. } => "sub",
            MapKind::Binary { op: BinOp::Mul, .. } => "mul",
            MapKind::Copy => "copy",
            MapKind::DivConst => "div",
            MapKind::Relu => "relu",
            MapKind::Lookup { spec, .. } => spec.function.name(),
            MapKind::DivTensor { .. } => "div-tensor",
            MapKind::Sqrt => "sqrt",
            MapKind::AtLeast => "at-least",
        }
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        match self.kind {
            MapKind::Binary { b_inline, .. } => {
                elementwise::WIDTH + b_inline.map_or(0, Signed::limbs)
            }
            MapKind::Copy => 1,
            MapKind::DivConst => div::WIDTH,
            MapKind::Relu | MapKind::AtLeast => relu::WIDTH,
            MapKind::Lookup { .. } => lookup::WIDTH,
            MapKind::DivTensor { .. } => div_tensor::WIDTH,
            MapKind::Sqrt => sqrt::WIDTH,
        }
    }
    fn preprocessed_width(&self) -> usize {
        if self.reads_b() || self.kind == MapKind::DivConst {
            8
        } else {
            6
        }
    }
    fn num_constraints(&self) -> usize {
        match self.kind {
            MapKind::Binary { b_inline, .. } => 1 + usize::from(b_inline.is_some()),
            MapKind::Copy => 0,
            MapKind::DivConst => 3,
            MapKind::Relu => 3,
            MapKind::AtLeast => 2,
            MapKind::Lookup { .. } => 5,
            MapKind::DivTensor { .. } => 5,
            MapKind::Sqrt => 3,
        }
    }
    fn interactions(&self) -> usize {
        match self.kind {
            MapKind::Binary { b_inline, .. } => 2 + b_inline.map_or(1, |r| r.lookups()),
            MapKind::Copy => 2,
            MapKind::DivConst => 10,
            MapKind::Relu => 7,
            MapKind::AtLeast => 8,
            MapKind::Lookup { .. } => 11,
            MapKind::DivTensor { .. } => 16,
            MapKind::Sqrt => 15,
        }
    }
    fn range_lookups(&self) -> bool {
        match self.kind {
            MapKind::Binary { b_inline, .. } => b_inline.is_some(),
            MapKind::Copy => false,
            _ => true,
        }
    }
    fn output_wire(&self) -> Option<u32> {
        self.parts.first().map(|p| p.out_wire)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(self.parts.iter().map(|p| (p.out_wire, p.rows.len())))
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Map(self.kind))
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        // An inline second operand lives in this chip: only bus operands are read.
        let reads_b = self.reads_b();
        for (p, _, r) in self.rows() {
            f(p.a_of(r, self.kind), r.a);
            if reads_b {
                f(p.b_wire, r.b);
            }
        }
    }

    fn lut_queries(&self, values: &[Vec<i64>], f: &mut dyn FnMut(u32, i64)) {
        if let MapKind::Lookup { table_id, spec } = self.kind {
            for (p, _, r) in self.rows() {
                let x = values
                    .get(p.a_wire as usize)
                    .and_then(|v| v.get(r.a))
                    .copied()
                    .unwrap_or(0);
                f(table_id, spec.clamp(x));
            }
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        for p in &mut self.parts {
            p.mults = take(p.out_wire);
        }
        self.len()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        for p in &self.parts {
            let out = match self.kind {
                MapKind::Binary { op, b_inline } => st.arith(
                    p.out_wire,
                    &[p.a_wire, p.b_wire],
                    &[None, b_inline.map(Signed::range)],
                    |v| {
                        let (a, b) = (v[0], v[1]);
                        match op {
                            BinOp::Add => a.0.checked_add(b.0).zip(a.1.checked_add(b.1)),
                            BinOp::Sub => a.0.checked_sub(b.1).zip(a.1.checked_sub(b.0)),
                            BinOp::Mul => bounds::mul(a, b),
                        }
                    },
                )?,
                MapKind::Copy => {
                    let mut out = None;
                    for r in &p.rows {
                        out = Some(bounds::join(out, st.get(r.src_wire)?));
                    }
                    out.unwrap_or((0, 0))
                }
                MapKind::DivConst => {
                    let x = st.get(p.a_wire)?;
                    let mut out = None;
                    for r in &p.rows {
                        let (d, o) = (i128::from(r.d.max(1)), i128::from(r.offset));
                        let q = ((x.0 + o).div_euclid(d), (x.1 + o).div_euclid(d));
                        out = Some(bounds::join(out, q));
                    }
                    bounds::meet(out.unwrap_or((0, 0)), bounds::act())
                }
                MapKind::Relu => {
                    let x = bounds::meet(st.get(p.a_wire)?, bounds::act());
                    (x.0.max(0), x.1.max(0))
                }
                MapKind::AtLeast => {
                    // `a - b` is decomposed as a field element: it must not wrap (inputs
                    // narrowed like a subtraction's), and the decomposition bounds it further.
                    st.arith(p.out_wire, &[p.a_wire, p.b_wire], &[None, None], |v| {
                        v[0].0.checked_sub(v[1].1).zip(v[0].1.checked_sub(v[1].0))
                    })?;
                    (0, 1)
                }
                MapKind::Lookup { spec, .. } => bounds::table_range(&spec),
                MapKind::DivTensor { .. } => bounds::act(),
                MapKind::Sqrt => {
                    let x = st.get(p.a_wire)?;
                    bounds::meet((bounds::isqrt(x.0), bounds::isqrt(x.1)), (0, (1 << 31) - 1))
                }
            };
            st.set(p.out_wire, out);
        }
        Ok(())
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let mut rows = self.parts.iter().flat_map(|p| {
            p.rows
                .iter()
                .zip(&p.mults)
                .enumerate()
                .map(move |(i, r)| (p, i, r))
        });
        let reads_b = self.reads_b();
        Some(matrix(
            self.preprocessed_width(),
            self.log_height,
            |r, row| {
                // Padding rows: no reads, multiplicity 0, an output index no real row of the
                // first wire uses.
                let Some((p, i, (m, &mult))) = rows.next() else {
                    row[OUT_IDX] = usize_felt(r);
                    if self.kind == MapKind::DivConst {
                        row[D] = F::ONE;
                    }
                    return;
                };
                row[SEL] = F::ONE;
                row[OUT_IDX] = usize_felt(i);
                row[MULT] = F::from_u32(mult);
                row[A_IDX] = usize_felt(m.a);
                row[OUT_WIRE] = F::from_u32(p.out_wire);
                row[A_WIRE] = F::from_u32(p.a_of(m, self.kind));
                if reads_b {
                    row[B_IDX] = usize_felt(m.b);
                    row[B_WIRE] = F::from_u32(p.b_wire);
                }
                if self.kind == MapKind::DivConst {
                    row[D] = F::from_u32(m.d);
                    row[OFFSET] = F::from_u32(m.offset);
                }
            },
        ))
    }

    /// The main trace; range lookups are tallied into `range_counts`.
    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let at = |w: u32, i: usize| {
            values
                .get(w as usize)
                .and_then(|v| v.get(i))
                .copied()
                .unwrap_or(0)
        };
        let mut tally = |v: i64| super::tally(range_counts, v);
        let mut rows = self.rows();
        Some(matrix(self.width(), self.log_height, |_, row| {
            let m = rows.next();
            let real = m.is_some();
            let mut count = |v: i64| {
                if real {
                    tally(v);
                }
            };
            // Operand values of a real row (padding rows: the kind's neutral operands).
            let a = |dflt: i64| m.map_or(dflt, |(p, _, r)| at(p.a_of(r, self.kind), r.a));
            let b = |dflt: i64| m.map_or(dflt, |(p, _, r)| at(p.b_wire, r.b));
            match self.kind {
                MapKind::Binary { op, b_inline } => {
                    // An inline operand is stored under the part's `b_wire` (the input itself).
                    let bv = b(0);
                    if real {
                        elementwise::trace_row(op, a(0), bv, row);
                    }
                    if let Some(range) = b_inline {
                        range.fill(bv, &mut row[elementwise::WIDTH..], &mut count);
                    }
                }
                MapKind::Copy => {
                    if real {
                        row[0] = felt(a(0));
                    }
                }
                MapKind::DivConst => {
                    let (d, o) = m.map_or((1, 0), |(_, _, r)| (r.d, r.offset));
                    div::trace_row(a(0), d, o, row, &mut count);
                }
                MapKind::Relu => relu::trace_row(a(0), row, &mut count),
                MapKind::AtLeast => relu::at_least_row(a(0), b(0), row, &mut count),
                MapKind::Sqrt => sqrt::trace_row(a(0), row, &mut count),
                MapKind::DivTensor { rounding } => {
                    div_tensor::trace_row(a(0), b(1), rounding, row, &mut count);
                }
                MapKind::Lookup { spec, .. } => {
                    let x = a(spec.lo);
                    let y = spec.eval(x);
                    lookup::trace_row(x, spec.lo, spec.hi, y, row, &mut count);
                }
            }
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let main = builder.main();
        let c: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let read = || Count::bounded(-p[SEL].clone(), 1);
        // Every kind reads its first operand from the bus into column 0.
        builder.push_interaction(
            TENSOR_BUS,
            [p[A_WIRE].clone(), p[A_IDX].clone(), c[0].clone()],
            read(),
        );
        if self.reads_b() {
            builder.push_interaction(
                TENSOR_BUS,
                [p[B_WIRE].clone(), p[B_IDX].clone(), c[1].clone()],
                read(),
            );
        }
        let out = match self.kind {
            MapKind::Binary { op, b_inline } => {
                let y = elementwise::eval(builder, op, &c);
                if let Some(range) = b_inline {
                    range.eval(builder, c[1].clone(), &c[elementwise::WIDTH..], &read);
                }
                y
            }
            MapKind::Copy => c[0].clone(),
            MapKind::DivConst => div::eval(builder, &c, p[D].clone(), p[OFFSET].clone(), &read),
            MapKind::Relu => relu::eval(builder, &c, &read),
            MapKind::AtLeast => relu::at_least_eval(builder, &c, &read),
            MapKind::Sqrt => sqrt::eval(builder, &c, &read),
            MapKind::DivTensor { rounding } => div_tensor::eval(builder, &c, rounding, &read),
            MapKind::Lookup { table_id, spec } => {
                lookup::eval(builder, &c, table_id, spec.lo, spec.hi, &read)
            }
        };
        builder.push_interaction(
            TENSOR_BUS,
            [p[OUT_WIRE].clone(), p[OUT_IDX].clone(), out],
            Count::provided(p[MULT].clone()),
        );
    }
}
