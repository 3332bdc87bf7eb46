//! Division by a positive tensor with rounding: `a + o = q * b + r`, `0 <= r < b < 2^24`,
//! `o = floor(b / 2)` for half-up rounding (0 for floor), output `q` signed 32-bit.
//!
//! `b = 2 * h + t` with `t` a bit and `h` three 8-bit limbs gives `floor(b / 2) = h`: without
//! the limbs, an odd `b` with `t = 0` would make `h = b / 2 mod p`, a huge field element.
//! `r` and `b - 1 - r` are three 8-bit limbs each (so `1 <= b < 2^25`), `q + 2^31` four.
//! `|q * b| < 2^56`, far below `p / 2`, so the field equation is the integer one.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use super::limbs::{compose, range_check, split4};
use crate::chips::{ACT_OFFSET, felt};
use zkmlops_tensor::ops::Rounding;

/// Columns: `a, b, q, h, t, q0..q3, r0..r2, e0..e2, h0..h2`.
pub(super) const WIDTH: usize = 18;
/// Divisors must be below `2^DIVISOR_BITS`.
pub(crate) const DIVISOR_BITS: u32 = 24;

fn split3(v: i64) -> [i64; 3] {
    let l = split4(v);
    [l[0], l[1], l[2]]
}

pub(super) fn trace_row<F: Field>(
    a: i64,
    b: i64,
    rounding: Rounding,
    row: &mut [F],
    tally: &mut impl FnMut(i64),
) {
    let o = match rounding {
        Rounding::Floor => 0,
        Rounding::HalfUp => b / 2,
    };
    let n = i128::from(a) + i128::from(o);
    let b128 = i128::from(b.max(1));
    // Checked before proving: q in the signed 32-bit range, 1 <= b < 2^24.
    let q = i64::try_from(n.div_euclid(b128)).unwrap_or(0);
    let r = i64::try_from(n.rem_euclid(b128)).unwrap_or(0);
    row[0] = felt(a);
    row[1] = felt(b);
    row[2] = felt(q);
    row[3] = felt(b / 2);
    row[4] = felt(b % 2);
    let limbs = split4(q.wrapping_add(ACT_OFFSET))
        .into_iter()
        .chain(split3(r))
        .chain(split3(b.wrapping_sub(1).wrapping_sub(r)))
        .chain(split3(b / 2));
    for (i, v) in limbs.enumerate() {
        row[5 + i] = felt(v);
        tally(v);
    }
}

/// Constrains the division; returns `q`.
pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    rounding: Rounding,
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    let (a, b, q, h, t) = (
        c[0].clone(),
        c[1].clone(),
        c[2].clone(),
        c[3].clone(),
        c[4].clone(),
    );
    let l = |i: usize| c[5 + i].clone();
    builder.assert_bool(t.clone());
    builder.assert_eq(b.clone(), h.clone() * AB::Expr::from_u64(2) + t);
    let o = match rounding {
        Rounding::Floor => AB::Expr::ZERO,
        Rounding::HalfUp => h.clone(),
    };
    let r = compose(&[l(4), l(5), l(6)]);
    builder.assert_eq(a + o, q.clone() * b.clone() + r.clone());
    builder.assert_eq(
        q.clone() + AB::Expr::from_u64(ACT_OFFSET.unsigned_abs()),
        compose(&[l(0), l(1), l(2), l(3)]),
    );
    builder.assert_eq(b - AB::Expr::ONE - r, compose(&[l(7), l(8), l(9)]));
    builder.assert_eq(h, compose(&[l(10), l(11), l(12)]));
    for i in 0..13 {
        range_check(builder, l(i), read());
    }
    q
}
