//! 8-bit limb decomposition against the range table.

use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};

use crate::chips::{RANGE_BITS, RANGE_BUS};

/// One limb's range.
pub(crate) const LIMB: i64 = 1 << RANGE_BITS;
const LIMB_MASK: i64 = LIMB - 1;

/// The four little-endian 8-bit limbs of a value in `[0, 2^32)`.
pub(crate) fn split4(v: i64) -> [i64; 4] {
    [
        v & LIMB_MASK,
        (v >> 8) & LIMB_MASK,
        (v >> 16) & LIMB_MASK,
        v >> 24,
    ]
}

/// The two little-endian 8-bit limbs of a value in `[0, 2^16)`.
pub(crate) fn split2(v: i64) -> [i64; 2] {
    [v & LIMB_MASK, v >> 8]
}

/// Little-endian limbs to their value.
pub(crate) fn compose<E: PrimeCharacteristicRing + Clone>(limbs: &[E]) -> E {
    limbs.iter().rev().fold(E::ZERO, |acc, l| {
        acc * E::from_u64(LIMB.unsigned_abs()) + l.clone()
    })
}

/// Look `v` up in the range table, counted like the row's reads.
pub(crate) fn range_check<AB: InteractionBuilder>(
    builder: &mut AB,
    v: AB::Expr,
    count: Count<AB::Expr>,
) {
    builder.push_interaction(RANGE_BUS, [v], count);
}

/// The width that means "the whole fixed-point range".
const FULL: u32 = 64;

/// A signed range check: `v` in `[-2^(bits-1), 2^(bits-1))`, proved as `v + 2^(bits-1)` =
/// little-endian 8-bit limbs, the top limb narrowed to its remaining bits by looking up both it
/// and it + `2^8 - 2^top` (both in the table only when it is below `2^top`). The composition is
/// below `2^63 < p`, so the field equation is the integer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Signed {
    pub(crate) bits: u32,
}

impl Signed {
    /// `bits` in `1..=64`; 64 is the whole fixed-point range, which every field element is in
    /// through the signed embedding, so it needs no limbs.
    pub(crate) fn new(bits: u32) -> Self {
        Signed {
            bits: bits.clamp(1, FULL),
        }
    }

    /// Limb columns.
    pub(crate) fn limbs(self) -> usize {
        if self.bits == FULL {
            0
        } else {
            self.bits.div_ceil(RANGE_BITS) as usize
        }
    }

    /// Bits of the top limb (1..=8).
    fn top_bits(self) -> u32 {
        self.bits - RANGE_BITS * (self.bits.div_ceil(RANGE_BITS) - 1)
    }

    /// Range lookups per checked value.
    pub(crate) fn lookups(self) -> usize {
        if self.limbs() == 0 {
            0
        } else {
            self.limbs() + usize::from(self.top_bits() < RANGE_BITS)
        }
    }

    fn offset(self) -> i128 {
        1i128 << (self.bits - 1)
    }

    /// The inclusive range it proves.
    pub(crate) fn range(self) -> (i128, i128) {
        if self.bits == FULL {
            let half = i128::from(zkmlops_field::MAX_ABS);
            (-half, half)
        } else {
            (-self.offset(), self.offset() - 1)
        }
    }

    /// Write the limbs of `v` (any value: out-of-range ones get limbs that fail the lookups)
    /// and tally the lookups.
    pub(crate) fn fill<F: Field>(self, v: i64, out: &mut [F], tally: &mut impl FnMut(i64)) {
        let u = i128::from(v) + self.offset();
        let n = self.limbs();
        for (i, o) in out.iter_mut().take(n).enumerate() {
            let shifted = u >> (RANGE_BITS as usize * i);
            let l = if i + 1 == n {
                shifted
            } else {
                shifted & i128::from(LIMB_MASK)
            };
            let l = i64::try_from(l).unwrap_or(i64::MAX);
            *o = crate::chips::felt(l);
            tally(l);
            if i + 1 == n && self.top_bits() < RANGE_BITS {
                tally(l.saturating_add(LIMB - (1 << self.top_bits())));
            }
        }
    }

    /// Constrain `v + 2^(bits-1) = compose(limbs)` and look every limb up.
    pub(crate) fn eval<AB: InteractionBuilder>(
        self,
        builder: &mut AB,
        v: AB::Expr,
        limbs: &[AB::Expr],
        read: &impl Fn() -> Count<AB::Expr>,
    ) {
        if self.limbs() == 0 {
            return;
        }
        let limbs = &limbs[..self.limbs()];
        let offset = AB::Expr::from_u64(1u64 << (self.bits - 1));
        builder.assert_eq(v + offset, compose(limbs));
        for l in limbs {
            range_check(builder, l.clone(), read());
        }
        if self.top_bits() < RANGE_BITS
            && let Some(top) = limbs.last()
        {
            let shift = (LIMB - (1 << self.top_bits())).unsigned_abs();
            range_check(builder, top.clone() + AB::Expr::from_u64(shift), read());
        }
    }
}
