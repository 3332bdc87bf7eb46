//! ReLU: `y = max(x, 0)` for `x` in the signed 32-bit range; and the comparison
//! `y = [a >= b]` for `a - b` in that range.
//!
//! `x + 2^31 = h * 2^31 + m` with `h` a bit and `m` in `[0, 2^31)` (three 8-bit limbs and a
//! 7-bit top limb, checked as `t` and `t + 128` both in the 8-bit table), so `h = 1` exactly when
//! `x >= 0`; then `y = h * x`. The comparison decomposes `x = a - b` the same way and outputs
//! `h` itself.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use super::limbs::{LIMB, compose, range_check, split4};
use crate::chips::{ACT_OFFSET, felt};

/// Columns: `x, y, h, m0..m3`.
pub(super) const WIDTH: usize = 7;

pub(super) fn trace_row<F: Field>(x: i64, row: &mut [F], tally: &mut impl FnMut(i64)) {
    let h = i64::from(x >= 0);
    let limbs = split4(x.wrapping_add(ACT_OFFSET).wrapping_sub(h * ACT_OFFSET));
    row[0] = felt(x);
    row[1] = felt(x.max(0));
    row[2] = felt(h);
    for (i, v) in limbs.iter().enumerate() {
        row[3 + i] = felt(*v);
    }
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

/// `[a >= b]`: columns `a, b, h, m0..m3` (the ReLU's layout with `b` where the ReLU keeps
/// `y`); the output is `h`.
pub(super) fn at_least_row<F: Field>(a: i64, b: i64, row: &mut [F], tally: &mut impl FnMut(i64)) {
    let x = a.wrapping_sub(b);
    trace_row(x, row, tally);
    row[0] = felt(a);
    row[1] = felt(b);
}

/// Constrains the ReLU; returns `y`.
pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    let (x, y, h) = (c[0].clone(), c[1].clone(), c[2].clone());
    sign(builder, x.clone(), c, read);
    builder.assert_eq(y.clone(), x * h);
    y
}

/// Constrains `[a >= b]` (columns as [`at_least_row`]); returns it (`h`).
pub(super) fn at_least_eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    sign(builder, c[0].clone() - c[1].clone(), c, read);
    c[2].clone()
}

/// `x + 2^31 = h 2^31 + m`, `h` a bit (column 2), `m` 31 bits (limbs in columns 3..7).
fn sign<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    x: AB::Expr,
    c: &[AB::Expr],
    read: &impl Fn() -> Count<AB::Expr>,
) {
    let h = c[2].clone();
    let l = |i: usize| c[3 + i].clone();
    let offset = AB::Expr::from_u64(ACT_OFFSET.unsigned_abs());
    builder.assert_bool(h.clone());
    builder.assert_eq(
        x + offset.clone(),
        h * offset + compose(&[l(0), l(1), l(2), l(3)]),
    );
    for i in 0..4 {
        range_check(builder, l(i), read());
    }
    // The top limb has 7 bits: it and it + (2^8 - 2^7) are both in the table.
    range_check(
        builder,
        l(3) + AB::Expr::from_u64((LIMB - 128).unsigned_abs()),
        read(),
    );
}
