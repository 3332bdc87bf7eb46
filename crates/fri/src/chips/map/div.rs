//! Division by a positive constant with rounding: `x + offset = q * d + r`, `0 <= r < d <= 2^16`,
//! output `q` in the signed 32-bit range.
//!
//! `q + 2^31` is four 8-bit limbs; `r` two; `d - 1 - r` two (so `r < d`). Over the integers the
//! identity has magnitude below `2^48`, far from `p / 2`, so the field equation is the integer
//! one and `q` is the unique rounded quotient.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use super::limbs::{LIMB, compose, range_check, split2, split4};
use crate::chips::{ACT_OFFSET, felt};

/// Columns: `x, q, q0..q3, r0, r1, e0, e1`.
pub(super) const WIDTH: usize = 10;

pub(super) fn trace_row<F: Field>(
    x: i64,
    d: u32,
    offset: u32,
    row: &mut [F],
    tally: &mut impl FnMut(i64),
) {
    let n = i128::from(x) + i128::from(offset);
    let (q, rem) = (n.div_euclid(i128::from(d)), n.rem_euclid(i128::from(d)));
    // q is within +-2^31 (checked before proving), rem < d <= 2^16.
    let q = i64::try_from(q).unwrap_or(0);
    let rem = i64::try_from(rem).unwrap_or(0);
    let limbs = split4(q.wrapping_add(ACT_OFFSET));
    let [r0, r1] = split2(rem);
    let [e0, e1] = split2(i64::from(d) - 1 - rem);
    row[0] = felt(x);
    row[1] = felt(q);
    for (i, v) in limbs.into_iter().chain([r0, r1, e0, e1]).enumerate() {
        row[2 + i] = felt(v);
        tally(v);
    }
}

/// Constrains the division; returns `q`.
pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    d: AB::Expr,
    offset: AB::Expr,
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    let (x, q) = (c[0].clone(), c[1].clone());
    let l = |i: usize| c[2 + i].clone();
    let limb = AB::Expr::from_u64(LIMB.unsigned_abs());
    let r = l(4) + l(5) * limb.clone();
    builder.assert_eq(x + offset, q.clone() * d.clone() + r.clone());
    builder.assert_eq(
        q.clone() + AB::Expr::from_u64(ACT_OFFSET.unsigned_abs()),
        compose(&[l(0), l(1), l(2), l(3)]),
    );
    builder.assert_eq(d - AB::Expr::ONE - r, l(6) + l(7) * limb);
    for i in 0..8 {
        range_check(builder, l(i), read());
    }
    q
}
