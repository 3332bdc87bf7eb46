//! Bounds: the interval every value on the tensor bus is *proved* to lie in, and the checks
//! that make the arithmetization sound.
//!
//! The chips compute in Goldilocks. An integer result equals its field value (through the
//! signed embedding) only when it lies in `[-(p-1)/2, (p-1)/2]`, and some chips compare values
//! through differences that must not wrap. So, walking the chips in order (producers come
//! before their readers), this pass derives each wire's interval from facts the proof
//! enforces, never from the prover's honesty:
//!
//! - inputs: the bound the Program declares ([`zkmlops_tensor::TensorDecl::bits`]), proved by
//!   the range limbs of the source chip, a bound chip (committed inputs) or the inline limbs of
//!   the chip that holds them; public inputs are checked by the verifier against the same
//!   declaration; constants: their values; packed committed outputs: their declared bound
//!   (`TensorDecl::output_bound`), proved by the commitment chip or a bound chip, intersected
//!   with what their producer implies;
//! - add / sub / mul / gemm / sum: interval arithmetic on their inputs. A result whose
//!   interval could leave `[-(p-1)/2, (p-1)/2]` (the reference's own range, where field and
//!   integer agree) first gets its bus inputs proved to lie in the widest signed range, from 32
//!   bits down to 16, that makes it fit (a bound chip; an honest value outside it is a typed limit
//!   error for the prover). If no range does, the Program is refused with
//!   [`ProveError::Limit`] naming the tensor, on the prover's and the verifier's side alike:
//!   declare narrower input bounds;
//! - rescale / division / ReLU / square root: what their limbs prove (a signed 32-bit
//!   quotient, ...), intersected with what their inputs imply; lookups: the table's outputs;
//! - max: its comparison limbs prove `x > acc` over the integers only if no two inputs are
//!   `p - 2^32` apart; an input wire whose interval is that wide gets a bound chip (signed 32
//!   bits, the chip's documented domain).
//!
//! Data movement (copies, concat, partition) keeps intervals.

use std::collections::BTreeMap;

use zkmlops_proof::ProveError;
use zkmlops_tensor::Program;

use crate::chips::{ACT_BITS, BoundChip, Chip, ChipKind, Signed};
use crate::circuit::Wire;
use crate::{BACKEND, FriError};

/// The narrowest range the analysis imposes on a value to rule out wrap-around; below it the
/// Program is refused instead (a narrower check would make honest proofs fail for values of
/// ordinary size).
const MIN_NARROW_BITS: u32 = 16;

/// An inclusive interval of integers.
pub(crate) type Iv = (i128, i128);

/// The largest magnitude whose field value is the integer itself: `(p - 1) / 2`.
const HALF: i128 = zkmlops_field::MAX_ABS as i128;
/// Goldilocks.
pub(crate) const P: i128 = zkmlops_field::GOLDILOCKS_P as i128;

pub(crate) fn act() -> Iv {
    Signed::new(ACT_BITS).range()
}

pub(crate) fn meet(a: Iv, b: Iv) -> Iv {
    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
    // An empty intersection means no honest value exists; any point keeps the pass going (the
    // chip's own constraints then admit no row at all).
    if lo > hi { (lo, lo) } else { (lo, hi) }
}

pub(crate) fn join(a: Option<Iv>, b: Iv) -> Iv {
    a.map_or(b, |a| (a.0.min(b.0), a.1.max(b.1)))
}

pub(crate) fn mul(a: Iv, b: Iv) -> Option<Iv> {
    let c = [
        a.0.checked_mul(b.0)?,
        a.0.checked_mul(b.1)?,
        a.1.checked_mul(b.0)?,
        a.1.checked_mul(b.1)?,
    ];
    Some((*c.iter().min()?, *c.iter().max()?))
}

/// The interval of a sum of `n` terms of `t`, for any `n` in `[n_min, n_max]`; partial sums
/// of a running accumulator lie in it too.
pub(crate) fn sum_of(t: Iv, n_min: usize, n_max: usize) -> Option<Iv> {
    let scale = |x: i128, n: usize| x.checked_mul(i128::try_from(n).ok()?);
    let lo = if t.0 < 0 {
        scale(t.0, n_max)?
    } else {
        scale(t.0, n_min)?
    };
    let hi = if t.1 > 0 {
        scale(t.1, n_max)?
    } else {
        scale(t.1, n_min)?
    };
    Some((lo.min(0).min(t.0), hi.max(0).max(t.1)))
}

pub(crate) fn isqrt(x: i128) -> i128 {
    let x = u64::try_from(x.max(0)).unwrap_or(u64::MAX);
    i128::from(zkmlops_tensor::ops::isqrt(x))
}

/// Refuse a result that could wrap around mod p.
fn no_wrap(iv: Option<Iv>, name: &str) -> Result<Iv, FriError> {
    match iv {
        Some(iv) if -HALF <= iv.0 && iv.1 <= HALF => Ok(iv),
        other => Err(FriError::Prove(ProveError::Limit {
            backend: BACKEND,
            tensor: name.into(),
            what: "worst-case magnitude allowed by the declared input bounds (it could wrap mod p; declare narrower input bounds)",
            value: other.map_or(u128::MAX, |iv| iv.0.unsigned_abs().max(iv.1.unsigned_abs())),
            limit: HALF.unsigned_abs(),
        })),
    }
}

pub(crate) fn table_range(t: &zkmlops_lookup::TableSpec) -> Iv {
    let mut out: Option<Iv> = None;
    for x in t.lo..=t.hi {
        let y = i128::from(t.eval(x));
        out = Some(join(out, (y, y)));
    }
    out.unwrap_or((0, 0))
}

/// The analysis state: each wire's interval and the bound chips added so far. Chips record
/// what they prove through it ([`crate::chips::ChipKind::intervals`]).
pub(crate) struct State<'a> {
    /// The Program (declared input bounds).
    pub(crate) program: &'a Program,
    wires: &'a [Wire],
    iv: Vec<Option<Iv>>,
    extra: Vec<Chip>,
    /// Wires with a bound chip, and its index in `extra`.
    checked: BTreeMap<u32, usize>,
}

impl State<'_> {
    /// Record the interval of wire `w`. A packed committed output's declared bound narrows it:
    /// the circuit always proves that bound (the commitment chip's limbs or a bound chip after
    /// the producer, `circuit.rs`), so its readers may rely on it.
    pub(crate) fn set(&mut self, w: u32, iv: Iv) {
        let declared = self
            .program
            .tensors()
            .get(w as usize)
            .and_then(zkmlops_tensor::TensorDecl::output_bound);
        let iv = declared.map_or(iv, |(lo, hi)| meet(iv, (lo.into(), hi.into())));
        if let Some(slot) = self.iv.get_mut(w as usize) {
            *slot = Some(iv);
        }
    }

    /// The interval of wire `w`, if set.
    pub(crate) fn peek(&self, w: u32) -> Option<Iv> {
        self.iv.get(w as usize).copied().flatten()
    }

    /// The interval of wire `w`, which its producer set.
    ///
    /// # Errors
    /// A wire read before its producer (a compiler bug, reported rather than panicking).
    pub(crate) fn get(&self, w: u32) -> Result<Iv, FriError> {
        // A wire read before any producer set its interval would be a compiler bug.
        self.iv[w as usize].ok_or(FriError::Prove(ProveError::Unsupported {
            backend: BACKEND,
            feature: "a tensor read before it is produced",
        }))
    }

    fn name(&self, w: u32) -> &str {
        &self.wires[w as usize].name
    }

    /// Prove `w` in the signed `bits`-bit range with a bound chip (one per wire, narrowed if
    /// asked again) and narrow its interval.
    pub(crate) fn narrow(&mut self, w: u32, bits: u32) -> Result<Iv, FriError> {
        let x = self.get(w)?;
        let range = Signed::new(bits);
        let t = range.range();
        if t.0 <= x.0 && x.1 <= t.1 {
            return Ok(x);
        }
        match self.checked.get(&w) {
            Some(&at) => {
                if let Some(Chip::Bound(b)) = self.extra.get_mut(at)
                    && b.range.bits > bits
                {
                    b.range = range;
                }
            }
            None => {
                self.checked.insert(w, self.extra.len());
                self.extra.push(Chip::Bound(BoundChip {
                    wires: vec![(w, self.wires[w as usize].len)],
                    range,
                    log_height: 0,
                }));
            }
        }
        let n = meet(x, t);
        self.iv[w as usize] = Some(n);
        Ok(n)
    }

    /// The interval of an arithmetic result `f(inputs)` (`fixed` gives the interval of an
    /// input that lives inline, not on the bus). When it could wrap, the bus inputs are proved
    /// to lie in the widest signed range, from the 32-bit activation range down to
    /// [`MIN_NARROW_BITS`], that makes the result fit; the Program is refused if none does.
    pub(crate) fn arith(
        &mut self,
        out: u32,
        inputs: &[u32],
        fixed: &[Option<Iv>],
        f: impl Fn(&[Iv]) -> Option<Iv>,
    ) -> Result<Iv, FriError> {
        let current: Vec<Iv> = inputs
            .iter()
            .zip(fixed)
            .map(|(w, fx)| fx.map_or_else(|| self.get(*w), Ok))
            .collect::<Result<_, _>>()?;
        if let Ok(iv) = no_wrap(f(&current), self.name(out)) {
            return Ok(iv);
        }
        for bits in (MIN_NARROW_BITS..=ACT_BITS).rev() {
            let t = Signed::new(bits).range();
            let narrowed: Vec<Iv> = current
                .iter()
                .zip(fixed)
                .map(|(iv, fx)| if fx.is_some() { *iv } else { meet(*iv, t) })
                .collect();
            if no_wrap(f(&narrowed), self.name(out)).is_ok() {
                for (w, fx) in inputs.iter().zip(fixed) {
                    if fx.is_none() {
                        self.narrow(*w, bits)?;
                    }
                }
                // `narrow` stored exactly these intervals.
                return no_wrap(f(&narrowed), self.name(out));
            }
        }
        no_wrap(f(&current), self.name(out))
    }
}

/// Derive every wire's interval; returns the bound chips to add (inputs of a max whose
/// interval is too wide), or the error naming a tensor that could wrap.
pub(crate) fn analyse(
    program: &Program,
    wires: &[Wire],
    chips: &[Chip],
) -> Result<Vec<Chip>, FriError> {
    let mut st = State {
        program,
        wires,
        iv: vec![None; wires.len()],
        extra: Vec::new(),
        checked: BTreeMap::new(),
    };
    for chip in chips {
        chip.intervals(&mut st)?;
    }
    Ok(st.extra)
}
