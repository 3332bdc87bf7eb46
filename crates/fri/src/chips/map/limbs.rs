//! 8-bit limb decomposition against the range table.

use p3_field::PrimeCharacteristicRing;
use p3_lookup::{Count, InteractionBuilder};

use crate::chips::{RANGE_BITS, RANGE_BUS};

/// One limb's range.
pub(super) const LIMB: i64 = 1 << RANGE_BITS;
const LIMB_MASK: i64 = LIMB - 1;

/// The four little-endian 8-bit limbs of a value in `[0, 2^32)`.
pub(super) fn split4(v: i64) -> [i64; 4] {
    [
        v & LIMB_MASK,
        (v >> 8) & LIMB_MASK,
        (v >> 16) & LIMB_MASK,
        v >> 24,
    ]
}

/// The two little-endian 8-bit limbs of a value in `[0, 2^16)`.
pub(super) fn split2(v: i64) -> [i64; 2] {
    [v & LIMB_MASK, v >> 8]
}

/// Little-endian limbs to their value.
pub(super) fn compose<E: PrimeCharacteristicRing + Clone>(limbs: &[E]) -> E {
    limbs.iter().rev().fold(E::ZERO, |acc, l| {
        acc * E::from_u64(LIMB.unsigned_abs()) + l.clone()
    })
}

/// Look `v` up in the range table, counted like the row's reads.
pub(super) fn range_check<AB: InteractionBuilder>(
    builder: &mut AB,
    v: AB::Expr,
    count: Count<AB::Expr>,
) {
    builder.push_interaction(RANGE_BUS, [v], count);
}
