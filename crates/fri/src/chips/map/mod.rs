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
use super::{TENSOR_BUS, felt, limbs, matrix, usize_felt};

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

impl MapChip {
    pub(crate) fn width(&self) -> usize {
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
    pub(crate) fn preprocessed_width(&self) -> usize {
        match self.kind {
            MapKind::Binary { .. } | MapKind::Copy | MapKind::DivTensor { .. } => 5,
            MapKind::DivConst { .. } => 6,
            MapKind::Relu { .. } | MapKind::Lookup { .. } | MapKind::Sqrt { .. } => 4,
        }
    }
    pub(crate) fn preprocessed_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn main_next(&self) -> Vec<usize> {
        Vec::new()
    }
    pub(crate) fn num_constraints(&self) -> usize {
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

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
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
                row[MULT] = F::from_u32(self.mults[r]);
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
    pub(crate) fn main<F: Field>(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> RowMajorMatrix<F> {
        let at = |w: u32, i: usize| values[w as usize][i];
        let mut tally = |v: i64| super::tally(range_counts, v);
        matrix(self.width(), self.log_height, |r, row| {
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
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        _pn: &[AB::Expr],
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
