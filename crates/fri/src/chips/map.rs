//! Map chip: one output element per row, computed from at most two bus reads.
//!
//! Kinds: elementwise add/sub/mul (with broadcasting through the read indices), copy (every
//! data-movement op: reshape, flatten, transpose, concat, slice are pure re-indexing), division
//! by a positive constant with rounding (rescale, mean), and ReLU.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{ACT_OFFSET, RANGE_BITS, RANGE_BUS, TENSOR_BUS, felt, matrix, usize_felt};

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
    /// `b` is a private input that only this chip reads, once per element, and lives here alone.
    Binary {
        op: BinOp,
        a_wire: u32,
        b_wire: u32,
        b_inline: bool,
    },
    /// `y = x`; row reads `(src_wire, src_idx)` (per row, for concat).
    Copy,
    /// `x + offset = q * d + r`, `0 <= r < d <= 2^16`, `y = q` in the signed 32-bit range:
    /// `q + 2^31` is four 8-bit limbs, `r` two, and `d - 1 - r` two.
    DivConst { in_wire: u32 },
    /// `y = max(x, 0)` with `x` in the signed 32-bit range: `x + 2^31 = h * 2^31 + m` with `h`
    /// a bit and `m` 31 bits (three 8-bit limbs and a 7-bit one), and `y = h * x`.
    Relu { in_wire: u32 },
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

const LIMB: i64 = 1 << RANGE_BITS;
const LIMB_MASK: i64 = LIMB - 1;

impl MapChip {
    pub(crate) fn width(&self) -> usize {
        match self.kind {
            MapKind::Binary { .. } => 3,
            MapKind::Copy => 1,
            MapKind::DivConst { .. } => 10,
            MapKind::Relu { .. } => 7,
        }
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        match self.kind {
            MapKind::Binary { .. } | MapKind::Copy => 5,
            MapKind::DivConst { .. } => 6,
            MapKind::Relu { .. } => 4,
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
            MapKind::Binary { .. } => 1,
            MapKind::Copy => 0,
            MapKind::DivConst { .. } => 3,
            MapKind::Relu { .. } => 3,
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
                    MapKind::Binary { .. } => row[B_IDX] = usize_felt(m.b),
                    MapKind::Copy => row[SRC_WIRE] = F::from_u32(m.src_wire),
                    MapKind::DivConst { .. } => {
                        row[D] = F::from_u32(m.d);
                        row[OFFSET] = F::from_u32(m.offset);
                    }
                    MapKind::Relu { .. } => {}
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
        let mut tally = |v: i64| {
            // Values come from a witness already checked against the chip's limits.
            if let Ok(i) = usize::try_from(v)
                && let Some(c) = range_counts.get_mut(i)
            {
                *c += 1;
            }
        };
        matrix(self.width(), self.log_height, |r, row| {
            let m = self.rows.get(r);
            match self.kind {
                MapKind::Binary {
                    op, a_wire, b_wire, ..
                } => {
                    let Some(m) = m else { return };
                    let (x, y) = (at(a_wire, m.a), at(b_wire, m.b));
                    row[0] = felt(x);
                    row[1] = felt(y);
                    row[2] = match op {
                        BinOp::Add => row[0] + row[1],
                        BinOp::Sub => row[0] - row[1],
                        BinOp::Mul => row[0] * row[1],
                    };
                }
                MapKind::Copy => {
                    if let Some(m) = m {
                        row[0] = felt(at(m.src_wire, m.a));
                    }
                }
                MapKind::DivConst { in_wire } => {
                    let (x, d, o) = m.map_or((0, 1, 0), |m| {
                        (at(in_wire, m.a), i64::from(m.d), i64::from(m.offset))
                    });
                    let n = i128::from(x) + i128::from(o);
                    let q = n.div_euclid(i128::from(d));
                    let rem = n.rem_euclid(i128::from(d));
                    // q is within +-2^31 (checked before proving), rem < d <= 2^16.
                    let q = i64::try_from(q).unwrap_or(0);
                    let rem = i64::try_from(rem).unwrap_or(0);
                    let qb = q + ACT_OFFSET;
                    let e = d - 1 - rem;
                    let limbs = [
                        qb & LIMB_MASK,
                        (qb >> 8) & LIMB_MASK,
                        (qb >> 16) & LIMB_MASK,
                        qb >> 24,
                    ];
                    let r_limbs = [rem & LIMB_MASK, rem >> 8, e & LIMB_MASK, e >> 8];
                    row[0] = felt(x);
                    row[1] = felt(q);
                    for (i, v) in limbs.iter().chain(&r_limbs).enumerate() {
                        row[2 + i] = felt(*v);
                        if m.is_some() {
                            tally(*v);
                        }
                    }
                }
                MapKind::Relu { in_wire } => {
                    let x = m.map_or(0, |m| at(in_wire, m.a));
                    let h = i64::from(x >= 0);
                    let mag = x + ACT_OFFSET - h * ACT_OFFSET;
                    let limbs = [
                        mag & LIMB_MASK,
                        (mag >> 8) & LIMB_MASK,
                        (mag >> 16) & LIMB_MASK,
                        mag >> 24,
                    ];
                    row[0] = felt(x);
                    row[1] = felt(x.max(0));
                    row[2] = felt(h);
                    for (i, v) in limbs.iter().enumerate() {
                        row[3 + i] = felt(*v);
                    }
                    if m.is_some() {
                        for v in [
                            limbs[0],
                            limbs[1],
                            limbs[2],
                            limbs[3],
                            limbs[3] + LIMB - 128,
                        ] {
                            tally(v);
                        }
                    }
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
        let range =
            |builder: &mut AB, v: AB::Expr| builder.push_interaction(RANGE_BUS, [v], read());
        let wire = |w: u32| AB::Expr::from_u32(w);
        let limb = AB::Expr::from_u64(LIMB.unsigned_abs());
        let offset = AB::Expr::from_u64(ACT_OFFSET.unsigned_abs());
        // Little-endian 8-bit limbs to their value.
        let compose = |ls: &[AB::Expr]| {
            ls.iter().rev().fold(AB::Expr::ZERO, |acc, l| {
                acc * AB::Expr::from_u64(LIMB.unsigned_abs()) + l.clone()
            })
        };
        let out = match self.kind {
            MapKind::Binary {
                op,
                a_wire,
                b_wire,
                b_inline,
            } => {
                let f = match op {
                    BinOp::Add => c[0].clone() + c[1].clone(),
                    BinOp::Sub => c[0].clone() - c[1].clone(),
                    BinOp::Mul => c[0].clone() * c[1].clone(),
                };
                builder.assert_eq(c[2].clone(), f);
                builder.push_interaction(
                    TENSOR_BUS,
                    [wire(a_wire), p[A_IDX].clone(), c[0].clone()],
                    read(),
                );
                if !b_inline {
                    builder.push_interaction(
                        TENSOR_BUS,
                        [wire(b_wire), p[B_IDX].clone(), c[1].clone()],
                        read(),
                    );
                }
                c[2].clone()
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
                let (x, q) = (c[0].clone(), c[1].clone());
                let l = |i: usize| c[2 + i].clone();
                let r = l(4) + l(5) * limb.clone();
                builder.assert_eq(
                    x.clone() + p[OFFSET].clone(),
                    q.clone() * p[D].clone() + r.clone(),
                );
                builder.assert_eq(q.clone() + offset, compose(&[l(0), l(1), l(2), l(3)]));
                builder.assert_eq(p[D].clone() - AB::Expr::ONE - r, l(6) + l(7) * limb);
                builder.push_interaction(TENSOR_BUS, [wire(in_wire), p[A_IDX].clone(), x], read());
                for i in 0..8 {
                    range(builder, l(i));
                }
                q
            }
            MapKind::Relu { in_wire } => {
                let (x, y, h) = (c[0].clone(), c[1].clone(), c[2].clone());
                let l = |i: usize| c[3 + i].clone();
                builder.assert_bool(h.clone());
                builder.assert_eq(
                    x.clone() + offset.clone(),
                    h.clone() * offset + compose(&[l(0), l(1), l(2), l(3)]),
                );
                builder.assert_eq(y.clone(), x.clone() * h);
                builder.push_interaction(TENSOR_BUS, [wire(in_wire), p[A_IDX].clone(), x], read());
                for i in 0..4 {
                    range(builder, l(i));
                }
                // The top limb has 7 bits: it and it + (2^8 - 2^7) are both in the table.
                range(
                    builder,
                    l(3) + AB::Expr::from_u64((LIMB - 128).unsigned_abs()),
                );
                y
            }
        };
        builder.push_interaction(
            TENSOR_BUS,
            [wire(self.out_wire), p[OUT_IDX].clone(), out],
            Count::provided(p[MULT].clone()),
        );
    }
}
