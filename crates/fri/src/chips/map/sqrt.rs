//! Integer square root: `y = floor(sqrt(x))` for `0 <= x < 2^62`.
//!
//! `y` is four 8-bit limbs with a 7-bit top limb (so `y < 2^31` and `y^2 < 2^62`),
//! `r = x - y^2` four limbs and `2y - r` four limbs, so `0 <= r <= 2y`, i.e.
//! `y^2 <= x < (y + 1)^2`. Every term stays below `2^63 < p`, so the field equation
//! `x = y^2 + r` is the integer one, and a negative `x` (a field element near `p`) has no
//! solution.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use super::limbs::{LIMB, compose, range_check, split4};
use crate::chips::felt;

/// Columns: `x, y, y0..y3, r0..r3, e0..e3`.
pub(super) const WIDTH: usize = 14;

pub(super) fn trace_row<F: Field>(x: i64, row: &mut [F], tally: &mut impl FnMut(i64)) {
    // Checked before proving: 0 <= x < 2^62.
    let y = i64::try_from(zkmlops_tensor::ops::isqrt(x.max(0).unsigned_abs())).unwrap_or(0);
    let r = x.wrapping_sub(y.wrapping_mul(y));
    row[0] = felt(x);
    row[1] = felt(y);
    let limbs = split4(y)
        .into_iter()
        .chain(split4(r))
        .chain(split4(y.wrapping_mul(2).wrapping_sub(r)));
    for (i, v) in limbs.enumerate() {
        row[2 + i] = felt(v);
        tally(v);
    }
    tally(split4(y)[3] + LIMB - 128);
}

/// Constrains the root; returns `y`.
pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    let (x, y) = (c[0].clone(), c[1].clone());
    let l = |i: usize| c[2 + i].clone();
    let r = compose(&[l(4), l(5), l(6), l(7)]);
    builder.assert_eq(y.clone(), compose(&[l(0), l(1), l(2), l(3)]));
    builder.assert_eq(x, y.clone() * y.clone() + r.clone());
    builder.assert_eq(
        y.clone() * AB::Expr::from_u64(2) - r,
        compose(&[l(8), l(9), l(10), l(11)]),
    );
    for i in 0..12 {
        range_check(builder, l(i), read());
    }
    // The top limb of y has 7 bits.
    range_check(
        builder,
        l(3) + AB::Expr::from_u64((LIMB - 128).unsigned_abs()),
        read(),
    );
    y
}
