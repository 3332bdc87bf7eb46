//! Max reduction: on a group's first row `acc = x`; on the others a bit `c = [x > acc_prev]`
//! selects `acc = c * x + (1 - c) * acc_prev`, and `d = c ? x - acc_prev - 1 : acc_prev - x` is
//! four 8-bit limbs, which proves the comparison over the integers (inputs are signed 32-bit,
//! checked before proving).

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::reduce::Row;
use super::{RANGE_BUS, felt, matrix};

/// Columns: `x, acc, c, d0..d3`.
pub(super) const WIDTH: usize = 7;

pub(super) fn trace<F: Field>(
    values: &[Vec<i64>],
    rows: &[Row],
    log_height: usize,
    range_counts: &mut [u32],
) -> RowMajorMatrix<F> {
    let mut acc = 0i64;
    matrix(WIDTH, log_height, |r, row| {
        let Some(&(w, i, _, first, _)) = rows.get(r) else {
            return;
        };
        let v = values
            .get(w as usize)
            .and_then(|x| x.get(i))
            .copied()
            .unwrap_or(0);
        let (c, d) = if first {
            (false, 0)
        } else if v > acc {
            (true, v.wrapping_sub(acc).wrapping_sub(1))
        } else {
            (false, acc.wrapping_sub(v))
        };
        acc = if first || c { v } else { acc };
        row[0] = felt(v);
        row[1] = felt(acc);
        row[2] = F::from_bool(c);
        let limbs = [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >> 24];
        for (k, l) in limbs.into_iter().enumerate() {
            row[3 + k] = felt(l);
            if let Some(slot) = usize::try_from(l)
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
    first_next: AB::Expr,
    read: &impl Fn() -> Count<AB::Expr>,
) {
    let one = AB::Expr::ONE;
    let compose = |c: &[AB::Expr]| {
        c[3..7].iter().rev().fold(AB::Expr::ZERO, |acc, l| {
            acc * AB::Expr::from_u64(256) + l.clone()
        })
    };
    builder
        .when_first_row()
        .assert_eq(local[1].clone(), local[0].clone());
    builder.assert_bool(local[2].clone());
    let (x, c) = (next[0].clone(), next[2].clone());
    let acc = local[1].clone();
    let chosen = c.clone() * x.clone() + (one.clone() - c.clone()) * acc.clone();
    builder.when_transition().assert_eq(
        next[1].clone(),
        first_next.clone() * x.clone() + (one.clone() - first_next.clone()) * chosen,
    );
    let diff = c.clone() * (x.clone() - acc.clone() - one.clone()) + (one.clone() - c) * (acc - x);
    builder
        .when_transition()
        .assert_zero((one - first_next) * (diff - compose(next)));
    for limb in &local[3..7] {
        builder.push_interaction(RANGE_BUS, [limb.clone()], read());
    }
}
