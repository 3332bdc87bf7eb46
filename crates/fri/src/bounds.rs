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
//!   declaration; constants: their values;
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
use zkmlops_tensor::{Program, TensorKind};

use crate::chips::{ACT_BITS, BinOp, BoundChip, Chip, MapKind, PublicMode, ReduceKind, Signed};
use crate::circuit::Wire;
use crate::{BACKEND, FriError};

/// The narrowest range the analysis imposes on a value to rule out wrap-around; below it the
/// Program is refused instead (a narrower check would make honest proofs fail for values of
/// ordinary size).
const MIN_NARROW_BITS: u32 = 16;

/// An inclusive interval of integers.
type Iv = (i128, i128);

/// The largest magnitude whose field value is the integer itself: `(p - 1) / 2`.
const HALF: i128 = zkmlops_field::MAX_ABS as i128;
/// Goldilocks.
const P: i128 = zkmlops_field::GOLDILOCKS_P as i128;

fn act() -> Iv {
    Signed::new(ACT_BITS).range()
}

fn meet(a: Iv, b: Iv) -> Iv {
    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
    // An empty intersection means no honest value exists; any point keeps the pass going (the
    // chip's own constraints then admit no row at all).
    if lo > hi { (lo, lo) } else { (lo, hi) }
}

fn join(a: Option<Iv>, b: Iv) -> Iv {
    a.map_or(b, |a| (a.0.min(b.0), a.1.max(b.1)))
}

fn mul(a: Iv, b: Iv) -> Option<Iv> {
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
fn sum_of(t: Iv, n_min: usize, n_max: usize) -> Option<Iv> {
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

fn isqrt(x: i128) -> i128 {
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

fn table_range(t: &zkmlops_lookup::TableSpec) -> Iv {
    let mut out: Option<Iv> = None;
    for x in t.lo..=t.hi {
        let y = i128::from(t.eval(x));
        out = Some(join(out, (y, y)));
    }
    out.unwrap_or((0, 0))
}

/// The analysis state: each wire's interval and the bound chips added so far.
struct State<'a> {
    wires: &'a [Wire],
    iv: Vec<Option<Iv>>,
    extra: Vec<Chip>,
    /// Wires with a bound chip, and its index in `extra`.
    checked: BTreeMap<u32, usize>,
}

impl State<'_> {
    fn get(&self, w: u32) -> Result<Iv, FriError> {
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
    fn narrow(&mut self, w: u32, bits: u32) -> Result<Iv, FriError> {
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
    fn arith(
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
        wires,
        iv: vec![None; wires.len()],
        extra: Vec::new(),
        checked: BTreeMap::new(),
    };
    for chip in chips {
        match chip {
            Chip::Public(p) => {
                if let PublicMode::Source { .. } = p.mode {
                    let decl = program.tensors().get(p.wire as usize);
                    st.iv[p.wire as usize] = Some(match decl.map(|d| (&d.kind, d.input_bound())) {
                        // A public input: the verifier checks its values against this.
                        Some((TensorKind::Input, Some((lo, hi)))) => (lo.into(), hi.into()),
                        // Constants (and internal zeros): their values.
                        _ => p.values.iter().fold((0, 0), |(lo, hi), &v| {
                            (lo.min(i128::from(v)), hi.max(i128::from(v)))
                        }),
                    });
                }
            }
            Chip::Source(s) => st.iv[s.wire as usize] = Some(s.range.range()),
            Chip::Bound(c) => {
                for &(w, _) in &c.wires {
                    let w = w as usize;
                    st.iv[w] = Some(st.iv[w].map_or(c.range.range(), |v| meet(v, c.range.range())));
                }
            }
            // Committed inputs: their declared bound, proved by a bound chip (seen before, which
            // set it) or, for the full-range bound, true of every field element.
            Chip::Commit(c) => {
                for s in c.slots.iter().filter(|s| s.source) {
                    let w = s.wire as usize;
                    if st.iv[w].is_none()
                        && let Some((lo, hi)) =
                            program.tensors().get(w).and_then(|d| d.input_bound())
                    {
                        st.iv[w] = Some((lo.into(), hi.into()));
                    }
                }
            }
            Chip::Range(_) | Chip::Table(_) => {}
            Chip::Gemm(g) => {
                let b_fixed = g.b_inline.map(Signed::range);
                let k = g.k;
                let out = st.arith(g.y_wire, &[g.a_wire, g.b_wire], &[None, b_fixed], |v| {
                    mul(v[0], v[1]).and_then(|t| sum_of(t, k, k))
                })?;
                st.iv[g.y_wire as usize] = Some(out);
            }
            Chip::Map(m) => {
                let out = match m.kind {
                    MapKind::Binary {
                        op,
                        a_wire,
                        b_wire,
                        b_inline,
                    } => st.arith(
                        m.out_wire,
                        &[a_wire, b_wire],
                        &[None, b_inline.map(Signed::range)],
                        |v| {
                            let (a, b) = (v[0], v[1]);
                            match op {
                                BinOp::Add => a.0.checked_add(b.0).zip(a.1.checked_add(b.1)),
                                BinOp::Sub => a.0.checked_sub(b.1).zip(a.1.checked_sub(b.0)),
                                BinOp::Mul => mul(a, b),
                            }
                        },
                    )?,
                    MapKind::Copy => {
                        let mut out = None;
                        for r in &m.rows {
                            out = Some(join(out, st.get(r.src_wire)?));
                        }
                        out.unwrap_or((0, 0))
                    }
                    MapKind::DivConst { in_wire } => {
                        let x = st.get(in_wire)?;
                        let mut out = None;
                        for r in &m.rows {
                            let (d, o) = (i128::from(r.d.max(1)), i128::from(r.offset));
                            let q = ((x.0 + o).div_euclid(d), (x.1 + o).div_euclid(d));
                            out = Some(join(out, q));
                        }
                        meet(out.unwrap_or((0, 0)), act())
                    }
                    MapKind::Relu { in_wire } => {
                        let x = meet(st.get(in_wire)?, act());
                        (x.0.max(0), x.1.max(0))
                    }
                    MapKind::Lookup { spec, .. } => table_range(&spec),
                    MapKind::DivTensor { .. } => act(),
                    MapKind::Sqrt { in_wire } => {
                        let x = st.get(in_wire)?;
                        meet((isqrt(x.0), isqrt(x.1)), (0, (1 << 31) - 1))
                    }
                };
                st.iv[m.out_wire as usize] = Some(out);
            }
            Chip::Reduce(r) => {
                let out = match r.kind {
                    ReduceKind::Sum => {
                        let n_min = r.groups.iter().map(Vec::len).min().unwrap_or(0);
                        let n_max = r.groups.iter().map(Vec::len).max().unwrap_or(0);
                        st.arith(r.out_wire, &[r.in_wire], &[None], |v| {
                            sum_of(v[0], n_min, n_max)
                        })?
                    }
                    ReduceKind::Max => {
                        // `d = x - acc - 1` or `acc - x` in [0, 2^32) is the integer comparison
                        // unless two inputs can be p - 2^32 apart.
                        let x = st.get(r.in_wire)?;
                        if x.1 - x.0 >= P - (1i128 << 32) {
                            st.narrow(r.in_wire, ACT_BITS)?
                        } else {
                            x
                        }
                    }
                };
                st.iv[r.out_wire as usize] = Some(out);
            }
            Chip::Partition(c) => st.iv[c.out_wire as usize] = Some(st.get(c.x_wire)?),
        }
    }
    Ok(st.extra)
}
