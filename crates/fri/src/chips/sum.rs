//! Sum reduction: `acc` restarts at `x` on a group's first row and adds `x` on the others.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_matrix::dense::RowMajorMatrix;

use super::reduce::Row;
use super::{felt, matrix};

/// Columns: `x, acc`.
pub(super) const WIDTH: usize = 2;

pub(super) fn trace<F: Field>(
    values: &[Vec<i64>],
    rows: &[Row],
    log_height: usize,
) -> RowMajorMatrix<F> {
    let mut acc = F::ZERO;
    matrix(WIDTH, log_height, |r, row| {
        let Some(&(w, i, _, first, _)) = rows.get(r) else {
            return;
        };
        let v: F = felt(
            values
                .get(w as usize)
                .and_then(|x| x.get(i))
                .copied()
                .unwrap_or(0),
        );
        acc = if first { v } else { acc + v };
        row[0] = v;
        row[1] = acc;
    })
}

pub(super) fn eval<AB: AirBuilder>(
    builder: &mut AB,
    local: &[AB::Expr],
    next: &[AB::Expr],
    first_next: AB::Expr,
) {
    builder
        .when_first_row()
        .assert_eq(local[1].clone(), local[0].clone());
    builder.when_transition().assert_eq(
        next[1].clone(),
        (AB::Expr::ONE - first_next) * local[1].clone() + next[0].clone(),
    );
}
