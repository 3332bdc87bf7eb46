//! Max reduction, every constraint of degree 2 on every row (the last wrapping to row 0).
//!
//! Columns `x, acc, c, d0..d3, prev`. `prev` is the running maximum before this row: the
//! previous row's `acc`, or `x - 1` on a group's first row (`prev' = (1 - first') acc + first'
//! (x' - 1)`, a structure column `first`; row 0 always starts a group, so the wrap from the last
//! row sets it). A bit `c = [x > prev]` (forced to 1 on first rows) selects `acc = prev + c (x -
//! prev)`, and `d = c ? x - prev - 1 : prev - x` is four 8-bit limbs, which proves the comparison
//! over the integers (inputs are signed 32-bit, checked before proving and bounded in-circuit).
//! On a first row that makes `acc = x` and `d = 0`. Written with first-row and transition
//! selectors the chip was degree 3 (twice the quotient chunks).

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::reduce::Row;
use super::{RANGE_BUS, felt, matrix};

/// Columns: `x, acc, c, d0..d3, prev`.
pub(super) const WIDTH: usize = 8;
const PREV: usize = 7;

pub(super) fn trace<F: Field>(
    values: &[Vec<i64>],
    rows: &[Row],
    log_height: usize,
    range_counts: &mut [u32],
) -> RowMajorMatrix<F> {
    let mut acc = 0i64;
    matrix(WIDTH, log_height, |r, row| {
        // Padding rows start a group of a zero input: c = 1, prev = -1, acc = 0, d = 0.
        let (v, first) = rows.get(r).map_or((0, true), |&(w, i, _, first, _)| {
            let v = values
                .get(w as usize)
                .and_then(|x| x.get(i))
                .copied()
                .unwrap_or(0);
            (v, first)
        });
        let prev = if first { v.wrapping_sub(1) } else { acc };
        let (c, d) = if first {
            (true, 0)
        } else if v > prev {
            (true, v.wrapping_sub(prev).wrapping_sub(1))
        } else {
            (false, prev.wrapping_sub(v))
        };
        acc = if c { v } else { prev };
        row[0] = felt(v);
        row[1] = felt(acc);
        row[2] = F::from_bool(c);
        row[PREV] = felt(prev);
        let limbs = [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >> 24];
        let real = r < rows.len();
        for (k, l) in limbs.into_iter().enumerate() {
            row[3 + k] = felt(l);
            if real
                && let Some(slot) = usize::try_from(l)
                    .ok()
                    .and_then(|l| range_counts.get_mut(l))
            {
                *slot += 1;
            }
        }
    })
}

pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    local: &[AB::Expr],
    next: &[AB::Expr],
    first: AB::Expr,
    first_next: AB::Expr,
    read: &impl Fn() -> Count<AB::Expr>,
) {
    let one = AB::Expr::ONE;
    let (x, acc, c, prev) = (
        local[0].clone(),
        local[1].clone(),
        local[2].clone(),
        local[PREV].clone(),
    );
    let compose = local[3..7].iter().rev().fold(AB::Expr::ZERO, |a, l| {
        a * AB::Expr::from_u64(256) + l.clone()
    });
    builder.assert_bool(c.clone());
    builder.assert_zero(first * (one.clone() - c.clone()));
    builder.assert_eq(
        acc.clone(),
        prev.clone() + c.clone() * (x.clone() - prev.clone()),
    );
    let diff =
        c.clone() * (x.clone() - prev.clone() - one.clone()) + (one.clone() - c) * (prev - x);
    builder.assert_eq(diff, compose);
    builder.assert_eq(
        next[PREV].clone(),
        (one.clone() - first_next.clone()) * acc + first_next * (next[0].clone() - one),
    );
    for limb in &local[3..7] {
        builder.push_interaction(RANGE_BUS, [limb.clone()], read());
    }
}
