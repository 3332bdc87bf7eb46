//! Table lookup with clamping: `y = table(clamp(x, lo, hi))`.
//!
//! `below` and `above` are bits; `xc = below*lo + above*hi + (1 - below - above)*x`;
//! `d1 = below ? lo - 1 - x : x - lo` and `d2 = above ? x - hi - 1 : hi - x` are four 8-bit limbs
//! each (so non-negative and below 2^32), which proves `below = [x < lo]` and `above = [x > hi]`
//! over the integers: the inputs are compared, never wrapped. Then `(table, xc, y)` is looked up.

use p3_air::AirBuilder;
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use super::limbs::{compose, range_check, split4};
use crate::chips::{LUT_BUS, felt};

/// Columns: `x, xc, y, below, above, d1_0..d1_3, d2_0..d2_3`.
pub(super) const WIDTH: usize = 13;

/// The clamped input and the two comparison differences, or `None` if a difference does not
/// fit 32 bits (the input is too far outside the domain; checked before proving).
pub(crate) fn clamp_parts(x: i64, lo: i64, hi: i64) -> Option<(i64, bool, bool, i64, i64)> {
    let (below, above) = (x < lo, x > hi);
    let d1 = if below {
        i128::from(lo) - 1 - i128::from(x)
    } else {
        i128::from(x) - i128::from(lo)
    };
    let d2 = if above {
        i128::from(x) - i128::from(hi) - 1
    } else {
        i128::from(hi) - i128::from(x)
    };
    let fits = |d: i128| (0..1i128 << 32).contains(&d);
    (fits(d1) && fits(d2)).then(|| {
        let xc = x.clamp(lo, hi);
        (
            xc,
            below,
            above,
            i64::try_from(d1).unwrap_or(0),
            i64::try_from(d2).unwrap_or(0),
        )
    })
}

pub(super) fn trace_row<F: Field>(
    x: i64,
    lo: i64,
    hi: i64,
    y: i64,
    row: &mut [F],
    tally: &mut impl FnMut(i64),
) {
    // Limits were checked before proving; padding rows use x = lo.
    let (xc, below, above, d1, d2) =
        clamp_parts(x, lo, hi).unwrap_or((lo, false, false, 0, hi - lo));
    row[0] = felt(x);
    row[1] = felt(xc);
    row[2] = felt(y);
    row[3] = F::from_bool(below);
    row[4] = F::from_bool(above);
    for (i, v) in split4(d1).into_iter().chain(split4(d2)).enumerate() {
        row[5 + i] = felt(v);
        tally(v);
    }
}

/// Constrains the clamp and looks up `(table, xc, y)`; returns `y`.
pub(super) fn eval<AB: AirBuilder + InteractionBuilder>(
    builder: &mut AB,
    c: &[AB::Expr],
    table_id: u32,
    lo: i64,
    hi: i64,
    read: &impl Fn() -> Count<AB::Expr>,
) -> AB::Expr {
    let (x, xc, y, below, above) = (
        c[0].clone(),
        c[1].clone(),
        c[2].clone(),
        c[3].clone(),
        c[4].clone(),
    );
    let l = |i: usize| c[5 + i].clone();
    let (lo_e, hi_e): (AB::Expr, AB::Expr) = (felt(lo), felt(hi));
    let one = AB::Expr::ONE;
    let two = AB::Expr::from_u64(2);
    builder.assert_bool(below.clone());
    builder.assert_bool(above.clone());
    builder.assert_eq(
        xc.clone(),
        below.clone() * lo_e.clone()
            + above.clone() * hi_e.clone()
            + (one.clone() - below.clone() - above.clone()) * x.clone(),
    );
    builder.assert_eq(
        (one.clone() - two.clone() * below.clone()) * (x.clone() - lo_e) - below,
        compose(&[l(0), l(1), l(2), l(3)]),
    );
    builder.assert_eq(
        (two * above.clone() - one) * (x - hi_e) - above,
        compose(&[l(4), l(5), l(6), l(7)]),
    );
    for i in 0..8 {
        range_check(builder, l(i), read());
    }
    builder.push_interaction(
        LUT_BUS,
        [AB::Expr::from_u32(table_id), xc, y.clone()],
        read(),
    );
    y
}
