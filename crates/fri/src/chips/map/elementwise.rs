//! Elementwise add, sub and mul: `y = a op b` (broadcasting lives in the read indices).

use p3_air::AirBuilder;
use p3_field::Field;

use super::BinOp;
use crate::chips::felt;

/// Columns: `a, b, y`.
pub(super) const WIDTH: usize = 3;

pub(super) fn trace_row<F: Field>(op: BinOp, a: i64, b: i64, row: &mut [F]) {
    row[0] = felt(a);
    row[1] = felt(b);
    row[2] = match op {
        BinOp::Add => row[0] + row[1],
        BinOp::Sub => row[0] - row[1],
        BinOp::Mul => row[0] * row[1],
    };
}

/// Constrains `y = a op b`; returns `y`.
pub(super) fn eval<AB: AirBuilder>(builder: &mut AB, op: BinOp, c: &[AB::Expr]) -> AB::Expr {
    let f = match op {
        BinOp::Add => c[0].clone() + c[1].clone(),
        BinOp::Sub => c[0].clone() - c[1].clone(),
        BinOp::Mul => c[0].clone() * c[1].clone(),
    };
    builder.assert_eq(c[2].clone(), f);
    c[2].clone()
}
