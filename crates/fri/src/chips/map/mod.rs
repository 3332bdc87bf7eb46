//! Map chip: one output element per row, computed from at most two bus reads.
//!
//! Kinds: elementwise add/sub/mul (with broadcasting through the read indices), copy (every
//! data-movement op: reshape, flatten, transpose, concat, slice are pure re-indexing), division
//! by a positive constant with rounding (rescale, mean), and ReLU. This file holds what they
//! share (structure, bus reads and the output send); each kind's own columns and constraints
//! are in its own file.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Add,
    Sub,
    Mul,
}

/// What a map chip computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MapKind {
    /// `y = a op b`; row reads `(a_wire, a_idx)` and `(b_wire, b_idx)`, unless `b_inline`: then
    /// `b` is a private input that only this chip reads, once per element, and lives here alone,
    /// range-checked to the input's declared bound.
    Binary {
        op: BinOp,
        a_wire: u32,
        b_wire: u32,
        b_inline: Option<Signed>,
    },
    /// `y = x`; row reads `(src_wire, src_idx)` (per row, for concat).
    Copy,
    /// `x + offset = q * d + r`, `0 <= r < d <= 2^16`, `y = q` in the signed 32-bit range:
    /// `q + 2^31` is four 8-bit limbs, `r` two, and `d - 1 - r` two.
    DivConst { in_wire: u32 },
    /// `y = max(x, 0)` with `x` in the signed 32-bit range: `x + 2^31 = h * 2^31 + m` with `h`
    /// a bit and `m` 31 bits (three 8-bit limbs and a 7-bit one), and `y = h * x`.
    Relu { in_wire: u32 },
    /// `y = spec.eval(x)`: the clamp proved by comparison, then a lookup in table `table_id`.
    Lookup {
        in_wire: u32,
        table_id: u32,
        spec: TableSpec,
    },
    /// `y = div_round(a, b)` for a positive tensor divisor `b < 2^24`.
    DivTensor {
        a_wire: u32,
        b_wire: u32,
        rounding: Rounding,
    },
    /// `y = floor(sqrt(x))` for `0 <= x < 2^62`.
    Sqrt { in_wire: u32 },
}

/// The structural data of one output element.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MapRow {
    /// Source wire (copy only).
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

#[derive(Debug, Clone)]
pub(crate) struct MapChip {
    pub(crate) kind: MapKind,
    pub(crate) out_wire: u32,
    pub(crate) rows: Vec<MapRow>,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

// Preprocessed columns shared by every kind.
const SEL: usize = 0;
const OUT_IDX: usize = 1;
const MULT: usize = 2;
const A_IDX: usize = 3;
// Kind-specific preprocessed columns.
const B_IDX: usize = 4; // binary
const SRC_WIRE: usize = 4; // copy
const D: usize = 4; // div
const OFFSET: usize = 5; // div

impl ChipKind for MapChip {
    fn kind_name(&self) -> &'static str {
        match self.kind {
            MapKind::Binary { op: BinOp::Add, .. } => "add",
            MapKind::Binary { op: BinOp::Sub, .. } => "sub",
            MapKind::Binary { op: BinOp::Mul, .. } => "mul",
            MapKind::Copy => "copy",
            MapKind::DivConst { .. } => "div",
            MapKind::Relu { .. } => "relu",
            MapKind::Lookup { spec, .. } => spec.function.name(),
            MapKind::DivTensor { .. } => "div-tensor",
            MapKind::Sqrt { .. } => "sqrt",
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
            MapKind::DivConst { .. } => div::WIDTH,
            MapKind::Relu { .. } => relu::WIDTH,
            MapKind::Lookup { .. } => lookup::WIDTH,
            MapKind::DivTensor { .. } => div_tensor::WIDTH,
            MapKind::Sqrt { .. } => sqrt::WIDTH,
        }
    }
    fn preprocessed_width(&self) -> usize {
        match self.kind {
            MapKind::Binary { .. } | MapKind::Copy | MapKind::DivTensor { .. } => 5,
            MapKind::DivConst { .. } => 6,
            MapKind::Relu { .. } | MapKind::Lookup { .. } | MapKind::Sqrt { .. } => 4,
        }
    }
    fn num_constraints(&self) -> usize {
        match self.kind {
            MapKind::Binary { b_inline, .. } => 1 + usize::from(b_inline.is_some()),
            MapKind::Copy => 0,
            MapKind::DivConst { .. } => 3,
            MapKind::Relu { .. } => 3,
            MapKind::Lookup { .. } => 5,
            MapKind::DivTensor { .. } => 5,
            MapKind::Sqrt { .. } => 3,
        }
    }
    fn interactions(&self) -> usize {
        match self.kind {
            MapKind::Binary { b_inline, .. } => 2 + b_inline.map_or(1, |r| r.lookups()),
            MapKind::Copy => 2,
            MapKind::DivConst { .. } => 10,
            MapKind::Relu { .. } => 7,
            MapKind::Lookup { .. } => 11,
            MapKind::DivTensor { .. } => 16,
            MapKind::Sqrt { .. } => 15,
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
        Some(self.out_wire)
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        for r in &self.rows {
            match self.kind {
                MapKind::DivTensor { a_wire, b_wire, .. } => {
                    f(a_wire, r.a);
                    f(b_wire, r.b);
                }
                MapKind::Binary {
                    a_wire,
                    b_wire,
                    b_inline,
                    ..
                } => {
                    f(a_wire, r.a);
                    if b_inline.is_none() {
                        f(b_wire, r.b);
                    }
                }
                MapKind::Copy => f(r.src_wire, r.a),
                MapKind::DivConst { in_wire }
                | MapKind::Relu { in_wire }
                | MapKind::Sqrt { in_wire }
                | MapKind::Lookup { in_wire, .. } => f(in_wire, r.a),
            }
        }
    }

    fn lut_queries(&self, values: &[Vec<i64>], f: &mut dyn FnMut(u32, i64)) {
        if let MapKind::Lookup {
            in_wire,
            table_id,
            spec,
        } = self.kind
        {
            for r in &self.rows {
                let x = values
                    .get(in_wire as usize)
                    .and_then(|v| v.get(r.a))
                    .copied()
                    .unwrap_or(0);
                f(table_id, spec.clamp(x));
            }
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        self.mults = take(self.out_wire);
        self.rows.len()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        let out = match self.kind {
            MapKind::Binary {
                op,
                a_wire,
                b_wire,
                b_inline,
            } => st.arith(
                self.out_wire,
                &[a_wire, b_wire],
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
                for r in &self.rows {
                    out = Some(bounds::join(out, st.get(r.src_wire)?));
                }
                out.unwrap_or((0, 0))
            }
            MapKind::DivConst { in_wire } => {
                let x = st.get(in_wire)?;
                let mut out = None;
                for r in &self.rows {
                    let (d, o) = (i128::from(r.d.max(1)), i128::from(r.offset));
                    let q = ((x.0 + o).div_euclid(d), (x.1 + o).div_euclid(d));
                    out = Some(bounds::join(out, q));
                }
                bounds::meet(out.unwrap_or((0, 0)), bounds::act())
            }
            MapKind::Relu { in_wire } => {
                let x = bounds::meet(st.get(in_wire)?, bounds::act());
                (x.0.max(0), x.1.max(0))
            }
            MapKind::Lookup { spec, .. } => bounds::table_range(&spec),
            MapKind::DivTensor { .. } => bounds::act(),
            MapKind::Sqrt { in_wire } => {
                let x = st.get(in_wire)?;
                bounds::meet((bounds::isqrt(x.0), bounds::isqrt(x.1)), (0, (1 << 31) - 1))
            }
        };
        st.set(self.out_wire, out);
        Ok(())
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(
            self.preprocessed_width(),
            self.log_height,
            |r, row| {
                // Padding rows: no reads, multiplicity 0, an output index no real row uses.
                row[OUT_IDX] = usize_felt(r);
                let Some(m) = self.rows.get(r) else {
                    if let MapKind::DivConst { .. } = self.kind {
                        row[D] = F::ONE;
                    }
                    return;
                };
                row[SEL] = F::ONE;
                row[MULT] = F::from_u32(self.mults.get(r).copied().unwrap_or(0));
                row[A_IDX] = usize_felt(m.a);
                match self.kind {
                    MapKind::Binary { .. } | MapKind::DivTensor { .. } => {
                        row[B_IDX] = usize_felt(m.b);
                    }
                    MapKind::Copy => row[SRC_WIRE] = F::from_u32(m.src_wire),
                    MapKind::DivConst { .. } => {
                        row[D] = F::from_u32(m.d);
                        row[OFFSET] = F::from_u32(m.offset);
                    }
                    MapKind::Relu { .. } | MapKind::Lookup { .. } | MapKind::Sqrt { .. } => {}
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
        Some(matrix(self.width(), self.log_height, |r, row| {
            let m = self.rows.get(r);
            match self.kind {
                MapKind::Binary {
                    op,
                    a_wire,
                    b_wire,
                    b_inline,
                } => {
                    let bv = m.map_or(0, |m| at(b_wire, m.b));
                    if let Some(m) = m {
                        elementwise::trace_row(op, at(a_wire, m.a), bv, row);
                    }
                    if let Some(range) = b_inline {
                        range.fill(bv, &mut row[elementwise::WIDTH..], &mut |v| {
                            if m.is_some() {
                                tally(v)
                            }
                        });
                    }
                }
                MapKind::Copy => {
                    if let Some(m) = m {
                        row[0] = felt(at(m.src_wire, m.a));
                    }
                }
                MapKind::DivConst { in_wire } => {
                    let (x, d, o) = m.map_or((0, 1, 0), |m| (at(in_wire, m.a), m.d, m.offset));
                    div::trace_row(x, d, o, row, &mut |v| {
                        if m.is_some() {
                            tally(v)
                        }
                    });
                }
                MapKind::Relu { in_wire } => {
                    let x = m.map_or(0, |m| at(in_wire, m.a));
                    relu::trace_row(x, row, &mut |v| {
                        if m.is_some() {
                            tally(v)
                        }
                    });
                }
                MapKind::Sqrt { in_wire } => {
                    let x = m.map_or(0, |m| at(in_wire, m.a));
                    sqrt::trace_row(x, row, &mut |v| {
                        if m.is_some() {
                            tally(v)
                        }
                    });
                }
                MapKind::DivTensor {
                    a_wire,
                    b_wire,
                    rounding,
                } => {
                    let (a, b) = m.map_or((0, 1), |m| (at(a_wire, m.a), at(b_wire, m.b)));
                    div_tensor::trace_row(a, b, rounding, row, &mut |v| {
                        if m.is_some() {
                            tally(v)
                        }
                    });
                }
                MapKind::Lookup { in_wire, spec, .. } => {
                    let x = m.map_or(spec.lo, |m| at(in_wire, m.a));
                    let y = spec.eval(x);
                    lookup::trace_row(x, spec.lo, spec.hi, y, row, &mut |v| {
                        if m.is_some() {
                            tally(v)
                        }
                    });
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
        let wire = |w: u32| AB::Expr::from_u32(w);
        let out = match self.kind {
            MapKind::Binary {
                op,
                a_wire,
                b_wire,
                b_inline,
            } => {
                let y = elementwise::eval(builder, op, &c);
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(a_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                if let Some(range) = b_inline {
                    range.eval(builder, c[1].clone(), &c[elementwise::WIDTH..], &read);
                } else {
                    builder.push_interaction(
                        TENSOR_BUS,
                        [wire(b_wire), p[B_IDX].clone(), c[1].clone()],
                        read(),
                    );
                }
                y
            }
            MapKind::Copy => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [p[SRC_WIRE].clone(), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                c[0].clone()
            }
            MapKind::DivConst { in_wire } => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(in_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                div::eval(builder, &c, p[D].clone(), p[OFFSET].clone(), &read)
            }
            MapKind::Relu { in_wire } => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(in_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                relu::eval(builder, &c, &read)
            }
            MapKind::Sqrt { in_wire } => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(in_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                sqrt::eval(builder, &c, &read)
            }
            MapKind::DivTensor {
                a_wire,
                b_wire,
                rounding,
            } => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(a_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(b_wire), p[B_IDX].clone(), c[1].clone()],
                    read(),
                );
                div_tensor::eval(builder, &c, rounding, &read)
            }
            MapKind::Lookup {
                in_wire,
                table_id,
                spec,
            } => {
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(in_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                lookup::eval(builder, &c, table_id, spec.lo, spec.hi, &read)
            }
        };
        builder.push_interaction(
            TENSOR_BUS,
            [wire(self.out_wire), p[OUT_IDX].clone(), out],
            Count::provided(p[MULT].clone()),
        );
    }
}
