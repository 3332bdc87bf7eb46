//! The lowering: a Program's ops as [`Gates`] calls, with the bound analysis and the hints.

use zkmlops_tensor::ops::{self, Rounding};
use zkmlops_tensor::{Op, Program, Tensor, TensorId, TensorKind, Visibility, Witness};

use crate::{Gates, Refusal};

/// ReLU inputs must lie in `[-2^62, 2^62)`.
const RELU_HALF: i128 = 1 << 62;
/// Max inputs must lie in `[-2^61, 2^61)`, so that a difference is below `2^62`.
const MAX_HALF: i128 = 1 << 61;

fn limit(tensor: &str, what: &'static str, value: i128, limit: i128) -> Refusal {
    Refusal::Limit {
        tensor: tensor.to_string(),
        what,
        value: value.unsigned_abs(),
        limit: limit.unsigned_abs(),
    }
}

fn unsupported(feature: &'static str) -> Refusal {
    Refusal::Unsupported { feature }
}

/// The integer a dividend is computed from: one element, or the sum of several.
#[derive(Debug, Clone)]
enum Num {
    Elem(TensorId, usize),
    Sum(TensorId, Vec<usize>),
}

/// Each hint's kind and values (`[q, r]`, `[h, m]`, `[c, d]`).
pub type HintValues = Vec<(&'static str, Vec<i128>)>;

/// A value the prover supplies, with how to compute it from the witness.
#[derive(Debug, Clone)]
enum Hint<W> {
    /// `a n + o = q D + r`.
    Div {
        q: W,
        r: W,
        num: Num,
        a: i128,
        o: i128,
        d: i128,
        /// `|q| < q_half` is what the circuit checks.
        q_half: i128,
        /// The tensor the quotient belongs to (for errors).
        tensor: TensorId,
    },
    /// Division by a tensor: `k a + o(b) = q (k b) + r` (`k = 2`, `o = b` half up; `k = 1`,
    /// `o = 0` floor).
    DivT {
        q: W,
        r: W,
        a: (TensorId, usize),
        b: (TensorId, usize),
        half_up: bool,
        q_half: i128,
        tensor: TensorId,
    },
    /// `x + 2^62 = h 2^62 + m`.
    Sign { h: W, m: W, x: (TensorId, usize) },
    /// `a - b + 2^62 = h 2^62 + m` (a comparison: `h = [a >= b]`).
    SignDiff {
        h: W,
        m: W,
        a: (TensorId, usize),
        b: (TensorId, usize),
    },
    /// The clamp of a table lookup's input: `below = [x < lo]` with `d_lo = below (lo - x - 1)
    /// + (1 - below)(x - lo)`, and `above = [x > hi]` likewise.
    Clamp {
        below: W,
        d_lo: W,
        above: W,
        d_hi: W,
        x: (TensorId, usize),
        lo: i64,
        hi: i64,
    },
    /// `y = floor(sqrt(x))`: `x = y^2 + r1`, `y^2 + 2y = x + r2`, `y` in 31 bits, `r1`, `r2` in
    /// 62 bits.
    Sqrt {
        y: W,
        r1: W,
        r2: W,
        x: (TensorId, usize),
    },
    /// The output of a stable partition of `x` by `mask` (`kept` ones), which the circuit then
    /// proves a permutation of `x` to the destinations the mask gives.
    Partition {
        outs: Vec<W>,
        x: TensorId,
        mask: TensorId,
        kept: usize,
    },
    /// Step `j` of a max chain over `cells` of tensor `t`: `c = [x_j > max(x_0..x_j)]`,
    /// `d = c (x_j - acc - 1) + (1 - c)(acc - x_j)`.
    Max {
        c: W,
        d: W,
        t: TensorId,
        cells: Vec<usize>,
        j: usize,
    },
}

impl<W: Copy> Hint<W> {
    /// The targets the prover sets, in the order of its values.
    fn targets(&self) -> Vec<W> {
        match self {
            Hint::Div { q, r, .. } | Hint::DivT { q, r, .. } => vec![*q, *r],
            Hint::Sign { h, m, .. } | Hint::SignDiff { h, m, .. } => vec![*h, *m],
            Hint::Max { c, d, .. } => vec![*c, *d],
            Hint::Sqrt { y, r1, r2, .. } => vec![*y, *r1, *r2],
            Hint::Partition { outs, .. } => outs.clone(),
            Hint::Clamp {
                below,
                d_lo,
                above,
                d_hi,
                ..
            } => vec![*below, *d_lo, *above, *d_hi],
        }
    }
}

/// An inclusive interval of integers: what the proof guarantees about a value.
type Iv = (i128, i128);

fn iv_add(a: Iv, b: Iv) -> Iv {
    (a.0.saturating_add(b.0), a.1.saturating_add(b.1))
}

fn iv_mul(a: Iv, b: Iv) -> Iv {
    let c = [
        a.0.saturating_mul(b.0),
        a.0.saturating_mul(b.1),
        a.1.saturating_mul(b.0),
        a.1.saturating_mul(b.1),
    ];
    let lo = c.iter().copied().min().unwrap_or(0);
    let hi = c.iter().copied().max().unwrap_or(0);
    (lo, hi)
}

/// The interval of a sum of `k` terms of `t` (the empty sum is 0).
fn iv_sum(t: Iv, k: usize) -> Iv {
    let k = i128::try_from(k).unwrap_or(i128::MAX);
    (
        t.0.saturating_mul(k).min(0).min(t.0.max(0)),
        t.1.saturating_mul(k).max(0).max(t.1.min(0)),
    )
}

fn iv_join(a: Option<Iv>, b: Iv) -> Iv {
    a.map_or(b, |a| (a.0.min(b.0), a.1.max(b.1)))
}

fn iv_div(a: Iv, d: i128, rounding: Rounding) -> Iv {
    let f = |x: i128| ops::div_round(x, d, rounding).unwrap_or(x);
    (f(a.0), f(a.1))
}

/// A lowered Program: every tensor's wires, the prover's hints and the ranges the circuit
/// proves (for the prover's typed limit errors).
#[derive(Debug, Clone)]
pub struct Lowered<W> {
    /// Tensors the circuit range-checks to a signed width (see [`Lowered::check_limits`]).
    pub narrowed: Vec<(TensorId, u32)>,
    /// Tensors the circuit proves in `[1, 2^32]` (divisors).
    pub divisors: Vec<TensorId>,
    tensors: Vec<Vec<W>>,
    hints: Vec<Hint<W>>,
    /// Input tensors, whose wires the prover sets ([`Lowered::assignments`]): every input.
    pub inputs: Vec<TensorId>,
}

struct Builder<'a, G: Gates> {
    g: &'a mut G,
    program: &'a Program,
    /// The largest magnitude a value may reach ([`Gates::half`]).
    half: i128,
    tensors: Vec<Vec<G::Wire>>,
    ivs: Vec<Iv>,
    hints: Vec<Hint<G::Wire>>,
    /// Tensors range-checked to a signed width so that arithmetic on them cannot wrap.
    narrowed: Vec<(TensorId, u32)>,
    /// Tensors used as divisors: proved in `[1, 2^32]`.
    divisors: Vec<TensorId>,
    /// The lookup tables added so far, with their index and output offset.
    tables: Vec<(zkmlops_lookup::TableSpec, usize, i64)>,
}

/// The narrowest signed width the analysis imposes on an operand (as the FRI backend does);
/// below it the Program is refused instead.
const MIN_NARROW_BITS: u32 = 16;
/// The widest.
const MAX_NARROW_BITS: u32 = 32;

fn meet(a: Iv, b: Iv) -> Iv {
    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
    if lo > hi { (lo, lo) } else { (lo, hi) }
}

fn fits(iv: Iv, limit: i128) -> bool {
    -limit <= iv.0 && iv.1 <= limit
}

/// Check that every division's honest quotient fits the range the circuit checks (a typed
/// error naming the tensor, before plonky2 would refuse the witness).
fn check_quotients<W: Copy>(
    program: &Program,
    compiled: &Lowered<W>,
    witness: &Witness,
) -> Result<(), Refusal> {
    for (h, (_, values)) in compiled.hints.iter().zip(compiled.hint_values(witness)) {
        if let Hint::Div { q_half, tensor, .. } | Hint::DivT { q_half, tensor, .. } = h
            && let Some(&q) = values.first()
            && !(-q_half..*q_half).contains(&q)
        {
            let name = program.tensor(*tensor).map_or("?", |d| d.name.as_str());
            return Err(limit(name, "quotient of a rounded division", q, *q_half));
        }
    }
    Ok(())
}

/// Largest divisor tensor value.
const MAX_DIVISOR: i64 = 1 << 32;

/// The first value of tensor `id` outside `[lo, hi]`, as a typed limit naming the tensor.
fn out_of_range(
    program: &Program,
    witness: &Witness,
    id: TensorId,
    (lo, hi): (i64, i64),
    what: &'static str,
) -> Result<(), Refusal> {
    if let Some(t) = witness.get(id)
        && let Some(&v) = t.data().iter().find(|v| !(lo..=hi).contains(*v))
    {
        let name = program.tensor(id).map_or("?", |d| d.name.as_str());
        return Err(limit(name, what, i128::from(v), i128::from(hi)));
    }
    Ok(())
}

impl<W: Copy> Lowered<W> {
    /// The prover's checks of the ranges the circuit proves: every narrowed tensor within its
    /// width, every divisor in `[1, 2^32]`, every quotient within its range check (typed errors
    /// naming the tensor, before plonky2's witness generators would refuse the witness).
    pub fn check_limits(&self, program: &Program, witness: &Witness) -> Result<(), Refusal> {
        for &(id, bits) in &self.narrowed {
            let half = 1i64 << (bits - 1);
            out_of_range(
                program,
                witness,
                id,
                (-half, half - 1),
                "value the proof range-checks (so the arithmetic on it cannot wrap mod p)",
            )?;
        }
        for &id in &self.divisors {
            out_of_range(
                program,
                witness,
                id,
                (1, MAX_DIVISOR),
                "divisor (proved in [1, 2^32])",
            )?;
        }
        check_quotients(program, self, witness)
    }
}

impl<G: Gates> Builder<'_, G> {
    fn name(&self, id: TensorId) -> &str {
        self.program.tensor(id).map_or("?", |d| d.name.as_str())
    }

    fn targets(&self, id: TensorId) -> &[G::Wire] {
        self.tensors.get(id.index()).map_or(&[], Vec::as_slice)
    }

    fn iv(&self, id: TensorId) -> Iv {
        self.ivs.get(id.index()).copied().unwrap_or((0, 0))
    }

    /// Record a result, refusing one whose interval could leave the exact range.
    fn set(&mut self, id: TensorId, targets: Vec<G::Wire>, iv: Iv) -> Result<(), Refusal> {
        if iv.0 < -self.half || iv.1 > self.half {
            return Err(limit(
                self.name(id),
                "worst-case magnitude allowed by the declared input bounds (it could wrap mod p; declare narrower input bounds)",
                iv.0.abs().max(iv.1.abs()),
                self.half,
            ));
        }
        self.tensors[id.index()] = targets;
        self.ivs[id.index()] = iv;
        Ok(())
    }

    /// Prove every element of `id` in the signed `bits`-bit range and narrow its interval.
    fn narrow(&mut self, id: TensorId, bits: u32) {
        if self.narrowed.iter().any(|&(t, b)| t == id && b <= bits) {
            return;
        }
        let half = 1i128 << (bits - 1);
        for t in self.targets(id).to_vec() {
            self.g.range_check_shifted(t, half, bits);
        }
        self.ivs[id.index()] = meet(self.iv(id), (-half, half - 1));
        self.narrowed.push((id, bits));
    }

    /// The interval of an arithmetic result `f(inputs)`. When it could exceed `limit`, the
    /// inputs are range-checked to the widest signed width from 32 down to 16 bits that makes
    /// it fit (an honest value outside is a typed limit error for the prover); the Program is
    /// refused if none does.
    fn arith(
        &mut self,
        out: TensorId,
        inputs: &[TensorId],
        limit_to: i128,
        f: &dyn Fn(&[Iv]) -> Iv,
    ) -> Result<Iv, Refusal> {
        let current: Vec<Iv> = inputs.iter().map(|&i| self.iv(i)).collect();
        let r = f(&current);
        if fits(r, limit_to) {
            return Ok(r);
        }
        for bits in (MIN_NARROW_BITS..=MAX_NARROW_BITS).rev() {
            let half = 1i128 << (bits - 1);
            let narrowed: Vec<Iv> = current
                .iter()
                .map(|&iv| meet(iv, (-half, half - 1)))
                .collect();
            let r = f(&narrowed);
            if fits(r, limit_to) {
                for (&i, (old, new)) in inputs.iter().zip(current.iter().zip(&narrowed)) {
                    if old != new {
                        self.narrow(i, bits);
                    }
                }
                return Ok(r);
            }
        }
        Err(limit(
            self.name(out),
            "worst-case magnitude allowed by the declared input bounds, even with operands narrowed to 16 bits (it could wrap mod p; declare narrower input bounds)",
            r.0.abs().max(r.1.abs()),
            limit_to,
        ))
    }

    /// `q` with `a n + o = q D + r`, `0 <= r < D`, proved over the integers.
    fn divide(
        &mut self,
        n: G::Wire,
        num: Num,
        n_iv: Iv,
        d: i128,
        rounding: Rounding,
        tensor: TensorId,
    ) -> Result<G::Wire, Refusal> {
        // Half up: floor((2n + d) / 2d) = floor((n + floor(d/2)) / d) for every d >= 1.
        let (a, o, big_d) = match rounding {
            Rounding::Floor => (1, 0, d),
            Rounding::HalfUp => (1, d / 2, d),
        };
        // |n + o| <= (p-1)/2 + D/2 and |q D + r| <= 2^62 + D (below): their difference is
        // smaller than p, so the field equation holds over the integers.
        let lo = n_iv.0 + o;
        let hi = n_iv.1 + o;
        if lo < -(self.half + big_d) || hi > self.half + big_d {
            return Err(limit(
                self.name(tensor),
                "worst-case dividend of a rounded division",
                lo.abs().max(hi.abs()),
                self.half,
            ));
        }
        if big_d > 1 << 48 {
            return Err(limit(self.name(tensor), "divisor", big_d, 1 << 48));
        }
        let q = self.g.input();
        let r = self.g.input();
        // a n + o == q D + r
        let an = self.g.mul_const(a, n);
        let lhs = self.g.add_const(an, o);
        let rhs = self.g.mul_const_add(big_d, q, r);
        self.g.connect(lhs, rhs);
        // 0 <= r < D
        let d_bits = bits_for(big_d);
        self.g.range_check(r, d_bits);
        if big_d != 1 << d_bits {
            let dm1 = self.g.constant(big_d - 1);
            let slack = self.g.sub(dm1, r);
            self.g.range_check(slack, d_bits);
        }
        // |q| < 2^(Q-1) with 2^(Q-1) D <= 2^62: then |q D + r| + |a n + o| < p, so the
        // equation holds over the integers and (q, r) is the unique quotient and remainder.
        let q_bits = 63 - d_bits;
        self.g.range_check_shifted(q, 1i128 << (q_bits - 1), q_bits);
        self.hints.push(Hint::Div {
            q,
            r,
            num,
            a,
            o,
            d: big_d,
            q_half: 1 << (q_bits - 1),
            tensor,
        });
        Ok(q)
    }

    /// `max(x, 0)` for `x` in `[-2^62, 2^62)`.
    fn relu(&mut self, x: G::Wire, at: (TensorId, usize)) -> G::Wire {
        let h = self.g.bool_input();
        let m = self.g.input();
        let shifted = self.g.add_const(x, 1i128 << 62);
        let rhs = self.g.mul_const_add(1i128 << 62, h, m);
        self.g.connect(shifted, rhs);
        self.g.range_check(m, 62);
        self.hints.push(Hint::Sign { h, m, x: at });
        self.g.mul(h, x)
    }

    /// `[a >= b]` for `a - b` in `[-2^62, 2^62)`: the sign split of the difference, its bit.
    fn at_least(
        &mut self,
        a: G::Wire,
        b: G::Wire,
        at: ((TensorId, usize), (TensorId, usize)),
    ) -> G::Wire {
        let h = self.g.bool_input();
        let m = self.g.input();
        let diff = self.g.sub(a, b);
        let shifted = self.g.add_const(diff, 1i128 << 62);
        let rhs = self.g.mul_const_add(1i128 << 62, h, m);
        self.g.connect(shifted, rhs);
        self.g.range_check(m, 62);
        self.hints.push(Hint::SignDiff {
            h,
            m,
            a: at.0,
            b: at.1,
        });
        h
    }

    /// `c (a - b - 1) + (1 - c)(b - a)` proved in `[0, 2^62)` for a bit `c`: then `c = [a > b]`
    /// over the integers, for `|a|, |b| < 2^61`. Returns `(c, d, a - b)`.
    fn compare(&mut self, a: G::Wire, b: G::Wire) -> (G::Wire, G::Wire, G::Wire) {
        let c = self.g.bool_input();
        let d = self.g.input();
        let diff = self.g.sub(a, b);
        let two_diff = self.g.mul_const(2, diff);
        let t1 = self.g.add_const(two_diff, -1);
        let back = self.g.neg(diff);
        let expect = self.g.mul_add(c, t1, back);
        self.g.connect(d, expect);
        self.g.range_check(d, 62);
        (c, d, diff)
    }

    /// `spec.eval(clamp(x))`: the clamp by two proved comparisons, then a lookup of
    /// `xc - lo` in the table `(i, eval(lo + i) - y_min)` (16-bit entries).
    fn lookup(
        &mut self,
        x: G::Wire,
        at: (TensorId, usize),
        spec: zkmlops_lookup::TableSpec,
    ) -> Result<G::Wire, Refusal> {
        let (index, y_min) = match self.tables.iter().find(|(s, _, _)| *s == spec) {
            Some(&(_, i, m)) => (i, m),
            None => {
                let ys: Vec<i64> = (spec.lo..=spec.hi).map(|v| spec.eval(v)).collect();
                let y_min = ys.iter().copied().min().unwrap_or(0);
                let y_max = ys.iter().copied().max().unwrap_or(0);
                let rows = ys.len();
                if rows > 1 << 16 || y_max - y_min >= 1 << 16 {
                    return Err(limit(
                        self.name(at.0),
                        "table rows or output span (lookup tables are 16-bit)",
                        i128::try_from(rows)
                            .unwrap_or(i128::MAX)
                            .max(i128::from(y_max - y_min)),
                        1 << 16,
                    ));
                }
                let pairs: Vec<(u16, u16)> = ys
                    .iter()
                    .enumerate()
                    .map(|(i, &y)| {
                        (
                            u16::try_from(i).unwrap_or(u16::MAX),
                            u16::try_from(y - y_min).unwrap_or(u16::MAX),
                        )
                    })
                    .collect();
                let i = self.g.table(std::sync::Arc::new(pairs));
                self.tables.push((spec, i, y_min));
                (i, y_min)
            }
        };
        let lo_t = self.g.constant(i128::from(spec.lo));
        let hi_t = self.g.constant(i128::from(spec.hi));
        // below = [lo > x], above = [x > hi]
        let (below, d_lo, _) = self.compare(lo_t, x);
        let (above, d_hi, _) = self.compare(x, hi_t);
        self.hints.push(Hint::Clamp {
            below,
            d_lo,
            above,
            d_hi,
            x: at,
            lo: spec.lo,
            hi: spec.hi,
        });
        // xc = x + below (lo - x) + above (hi - x)
        let to_lo = self.g.sub(lo_t, x);
        let to_hi = self.g.sub(hi_t, x);
        let part = self.g.mul_add(below, to_lo, x);
        let xc = self.g.mul_add(above, to_hi, part);
        let offset = self.g.add_const(xc, -i128::from(spec.lo));
        let y_off = self.g.lookup(index, offset);
        Ok(self.g.add_const(y_off, i128::from(y_min)))
    }

    /// The maximum of `cells` of tensor `t`, by a proved comparison chain.
    fn max_of(&mut self, t: TensorId, cells: &[usize]) -> Option<G::Wire> {
        let xs: Vec<G::Wire> = cells
            .iter()
            .map(|&i| self.targets(t).get(i).copied())
            .collect::<Option<_>>()?;
        let mut acc = *xs.first()?;
        for (j, &x) in xs.iter().enumerate().skip(1) {
            let (c, d, diff) = self.compare(x, acc);
            self.hints.push(Hint::Max {
                c,
                d,
                t,
                cells: cells.to_vec(),
                j,
            });
            // acc' = acc + c (x - acc)
            acc = self.g.mul_add(c, diff, acc);
        }
        Some(acc)
    }

    /// The index of the first maximum of `cells` of `t` (the max chain of [`Builder::max_of`],
    /// carrying `idx' = idx + c (j - idx)`).
    fn argmax_of(&mut self, t: TensorId, cells: &[usize]) -> Option<G::Wire> {
        let xs: Vec<G::Wire> = cells
            .iter()
            .map(|&i| self.targets(t).get(i).copied())
            .collect::<Option<_>>()?;
        let mut acc = *xs.first()?;
        let mut idx = self.g.constant(0);
        for (j, &x) in xs.iter().enumerate().skip(1) {
            let (c, d, diff) = self.compare(x, acc);
            self.hints.push(Hint::Max {
                c,
                d,
                t,
                cells: cells.to_vec(),
                j,
            });
            acc = self.g.mul_add(c, diff, acc);
            let jt = self.g.constant(i128::try_from(j).unwrap_or(i128::MAX));
            let step = self.g.sub(jt, idx);
            idx = self.g.mul_add(c, step, idx);
        }
        Some(idx)
    }

    /// `floor(sqrt(x))`, which also proves `0 <= x < 2^62`: `y < 2^31`, `x - y^2` and
    /// `y^2 + 2y - x` in `[0, 2^62)` hold over the integers (no term reaches `p`), so
    /// `y^2 <= x < (y + 1)^2` and `x <= (2^31 - 1)^2 + 2 (2^31 - 1) = 2^62 - 1`.
    fn sqrt(&mut self, x: G::Wire, at: (TensorId, usize)) -> G::Wire {
        let y = self.g.input();
        let r1 = self.g.input();
        let r2 = self.g.input();
        self.g.range_check(y, 31);
        self.g.range_check(r1, 62);
        self.g.range_check(r2, 62);
        let yy = self.g.mul(y, y);
        let lo = self.g.add(yy, r1);
        self.g.connect(lo, x);
        let two_y = self.g.mul_const(2, y);
        let hi = self.g.add(yy, two_y);
        let rhs = self.g.add(x, r2);
        self.g.connect(hi, rhs);
        self.hints.push(Hint::Sqrt { y, r1, r2, x: at });
        y
    }

    /// A stable partition of `x` by the 0/1 `mask` with `kept` ones. The mask is proved
    /// boolean with `kept` ones; each element's destination is computed in the circuit from
    /// the prefix counts (`pos_i = ones_before_i` for a 1, `kept + zeros_before_i` for a 0: a
    /// permutation of `0..n`); the prover supplies the output and the circuit proves the
    /// multiset equality `{(pos_i, x_i)} = {(j, out_j)}` ([`Gates::multiset_eq`]). So
    /// `out[pos_i] = x_i` for every `i`.
    fn partition(
        &mut self,
        x: TensorId,
        mask: TensorId,
        kept: usize,
    ) -> Result<Vec<G::Wire>, Refusal> {
        let xs = self.targets(x).to_vec();
        let ms = self.targets(mask).to_vec();
        if xs.len() != ms.len() {
            return Err(unsupported("a partition of unequal lengths"));
        }
        let mut ones = self.g.constant(0);
        let mut pos = Vec::with_capacity(xs.len());
        for (i, &m) in ms.iter().enumerate() {
            self.g.assert_bool(m);
            let base = self
                .g
                .constant(i128::try_from(kept + i).unwrap_or(i128::MAX));
            let zero_pos = self.g.sub(base, ones);
            let to_ones = self.g.sub(ones, zero_pos);
            pos.push(self.g.mul_add(m, to_ones, zero_pos));
            ones = self.g.add(ones, m);
        }
        let k = self.g.constant(i128::try_from(kept).unwrap_or(i128::MAX));
        self.g.connect(ones, k);
        let outs: Vec<G::Wire> = (0..xs.len()).map(|_| self.g.input()).collect();
        let mut seed = xs.clone();
        seed.extend(&ms);
        seed.extend(&outs);
        let mut left = Vec::with_capacity(xs.len());
        let mut right = Vec::with_capacity(xs.len());
        for (i, (&p, &v)) in pos.iter().zip(&xs).enumerate() {
            left.push((p, v));
            let j = self.g.constant(i128::try_from(i).unwrap_or(i128::MAX));
            right.push((j, outs[i]));
        }
        self.g.multiset_eq(&seed, &left, &right)?;
        self.hints.push(Hint::Partition {
            outs: outs.clone(),
            x,
            mask,
            kept,
        });
        Ok(outs)
    }
}

/// `floor(sqrt(v))` for `v >= 0`.
fn isqrt(v: i128) -> i128 {
    let v = u128::try_from(v).unwrap_or(0);
    i128::try_from(v.isqrt()).unwrap_or(0)
}

/// Bits needed to hold values `0..d` (`d >= 1`): `ceil(log2 d)`.
fn bits_for(d: i128) -> u32 {
    let mut b = 0;
    while (1i128 << b) < d {
        b += 1;
    }
    b
}

/// The op features this backend compiles.
const SUPPORTED_OPS: [&str; 21] = [
    "at_least",
    "div",
    "partition",
    "sqrt",
    "argmax",
    "matmul",
    "gemm",
    "conv2d",
    "conv2d/grouped",
    "add",
    "sub",
    "mul",
    "rescale",
    "relu",
    "sum",
    "mean",
    "reshape",
    "flatten",
    "transpose",
    "concat",
    "slice",
];

/// Pooling, `reduce_max` and every table lookup (`lookup/<function>`) too.
pub fn supported_features() -> Vec<String> {
    SUPPORTED_OPS
        .iter()
        .chain(&["max_pool2d", "avg_pool2d", "reduce_max"])
        .map(|s| (*s).to_string())
        .chain(
            zkmlops_lookup::Function::ALL
                .iter()
                .map(|f| format!("lookup/{}", f.name())),
        )
        .collect()
}

#[allow(clippy::too_many_lines)]
fn compile_node<G: Gates>(
    bld: &mut Builder<'_, G>,
    node: &zkmlops_tensor::Node,
) -> Result<(), Refusal> {
    let program = bld.program;
    let out = node.output;
    let shape_of = |id: TensorId| {
        program
            .tensor(id)
            .map_or_else(Vec::new, |d| d.shape.clone())
    };
    let ins: Vec<TensorId> = node.inputs.clone();
    let in0 = ins
        .first()
        .copied()
        .ok_or(unsupported("an op without inputs"))?;
    let out_shape = shape_of(out);
    let out_len = zkmlops_tensor::numel(&out_shape).unwrap_or(0);
    match &node.op {
        Op::MatMul | Op::Gemm { .. } => {
            let (ta, tb) = match node.op {
                Op::Gemm { trans_a, trans_b } => (trans_a, trans_b),
                _ => (false, false),
            };
            let (sa, sb) = (shape_of(in0), shape_of(ins[1]));
            let (m, k) = if ta { (sa[1], sa[0]) } else { (sa[0], sa[1]) };
            let n = if tb { sb[0] } else { sb[1] };
            let bias = ins.get(2).copied();
            let iv = bld.arith(out, &ins, bld.half, &|v: &[Iv]| {
                let p = iv_sum(iv_mul(v[0], v[1]), k);
                v.get(2).map_or(p, |&c| iv_add(p, c))
            })?;
            let a = bld.targets(in0).to_vec();
            let b = bld.targets(ins[1]).to_vec();
            let bias_map = bias.map(|c| ops::broadcast_index_map(&shape_of(c), &[m, n]));
            let mut ts = Vec::with_capacity(m * n);
            for i in 0..m {
                for j in 0..n {
                    let pairs: Vec<(G::Wire, G::Wire)> = (0..k)
                        .map(|kk| {
                            let ai = if ta { kk * m + i } else { i * k + kk };
                            let bi = if tb { j * k + kk } else { kk * n + j };
                            (a[ai], b[bi])
                        })
                        .collect();
                    let init = match (bias, &bias_map) {
                        (Some(c), Some(map)) => Some(bld.targets(c)[map[i * n + j]]),
                        _ => None,
                    };
                    ts.push(bld.g.dot(&pairs, init));
                }
            }
            bld.set(out, ts, iv)
        }
        Op::Conv2d(p) => {
            let (xs, ws) = (shape_of(in0), shape_of(ins[1]));
            let [_, c, h, wd] = [xs[0], xs[1], xs[2], xs[3]];
            let [_, cg, kh, kw] = [ws[0], ws[1], ws[2], ws[3]];
            let [nb, o, oh, ow] = [out_shape[0], out_shape[1], out_shape[2], out_shape[3]];
            let og = o / p.groups.max(1);
            let max_taps = cg * kh * kw;
            let iv = bld.arith(out, &ins, bld.half, &|v: &[Iv]| {
                let p = iv_sum(iv_mul(v[0], v[1]), max_taps);
                v.get(2).map_or(p, |&c| iv_add(p, c))
            })?;
            let x = bld.targets(in0).to_vec();
            let w = bld.targets(ins[1]).to_vec();
            let bias = ins.get(2).map(|&b| bld.targets(b).to_vec());
            let mut ts = Vec::with_capacity(out_len);
            for b in 0..nb {
                for oc in 0..o {
                    let g = oc / og.max(1);
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut pairs = Vec::new();
                            for ic in 0..cg {
                                let cin = g * cg + ic;
                                for ky in 0..kh {
                                    let Some(iy) = (oy * p.strides[0] + ky * p.dilations[0])
                                        .checked_sub(p.pads[0])
                                        .filter(|&v| v < h)
                                    else {
                                        continue;
                                    };
                                    for kx in 0..kw {
                                        let Some(ix) = (ox * p.strides[1] + kx * p.dilations[1])
                                            .checked_sub(p.pads[1])
                                            .filter(|&v| v < wd)
                                        else {
                                            continue;
                                        };
                                        pairs.push((
                                            x[((b * c + cin) * h + iy) * wd + ix],
                                            w[((oc * cg + ic) * kh + ky) * kw + kx],
                                        ));
                                    }
                                }
                            }
                            let init = bias.as_ref().map(|bt| bt[oc]);
                            ts.push(bld.g.dot(&pairs, init));
                        }
                    }
                }
            }
            bld.set(out, ts, iv)
        }
        Op::Add | Op::Sub | Op::Mul => {
            let op = node.op.clone();
            let iv = bld.arith(out, &ins, bld.half, &|v: &[Iv]| match op {
                Op::Add => iv_add(v[0], v[1]),
                Op::Sub => iv_add(v[0], (v[1].1.saturating_neg(), v[1].0.saturating_neg())),
                _ => iv_mul(v[0], v[1]),
            })?;
            let ma = ops::broadcast_index_map(&shape_of(in0), &out_shape);
            let mb = ops::broadcast_index_map(&shape_of(ins[1]), &out_shape);
            let (a, b) = (bld.targets(in0).to_vec(), bld.targets(ins[1]).to_vec());
            let ts: Vec<G::Wire> = (0..out_len)
                .map(|i| {
                    let (x, y) = (a[ma[i]], b[mb[i]]);
                    match node.op {
                        Op::Add => bld.g.add(x, y),
                        Op::Sub => bld.g.sub(x, y),
                        _ => bld.g.mul(x, y),
                    }
                })
                .collect();
            bld.set(out, ts, iv)
        }
        Op::Rescale { shift, rounding } => {
            let x = bld.targets(in0).to_vec();
            let xiv = bld.iv(in0);
            if *shift == 0 {
                return bld.set(out, x, xiv);
            }
            let d = 1i128 << shift;
            let mut ts = Vec::with_capacity(x.len());
            for (i, &t) in x.iter().enumerate() {
                ts.push(bld.divide(t, Num::Elem(in0, i), xiv, d, *rounding, out)?);
            }
            bld.set(out, ts, iv_div(xiv, d, *rounding))
        }
        Op::Relu => {
            // The sign split needs x in [-2^62, 2^62): range-check wider inputs to that.
            if !fits(bld.iv(in0), RELU_HALF - 1) {
                bld.narrow(in0, 63);
            }
            let xiv = bld.iv(in0);
            let x = bld.targets(in0).to_vec();
            let ts = x
                .iter()
                .enumerate()
                .map(|(i, &t)| bld.relu(t, (in0, i)))
                .collect();
            bld.set(out, ts, (xiv.0.max(0), xiv.1.max(0)))
        }
        Op::AtLeast => {
            // The sign split needs a - b in [-2^62, 2^62): narrow the inputs as a subtraction.
            bld.arith(out, &ins, RELU_HALF - 1, &|v: &[Iv]| {
                iv_add(v[0], (v[1].1.saturating_neg(), v[1].0.saturating_neg()))
            })?;
            let ma = ops::broadcast_index_map(&shape_of(in0), &out_shape);
            let mb = ops::broadcast_index_map(&shape_of(ins[1]), &out_shape);
            let (a, b) = (bld.targets(in0).to_vec(), bld.targets(ins[1]).to_vec());
            let ts: Vec<G::Wire> = (0..out_len)
                .map(|i| bld.at_least(a[ma[i]], b[mb[i]], ((in0, ma[i]), (ins[1], mb[i]))))
                .collect();
            bld.set(out, ts, (0, 1))
        }
        Op::Sum { axes, .. } | Op::Mean { axes, .. } => {
            let shape = shape_of(in0);
            let (map, groups) =
                ops::reduce_index_map(&shape, axes).map_err(|_| unsupported("this reduction"))?;
            let mut members = vec![Vec::new(); groups];
            for (i, &g) in map.iter().enumerate() {
                members[g].push(i);
            }
            let n = members.first().map_or(0, Vec::len);
            let count = i128::try_from(n).unwrap_or(i128::MAX);
            let bound = bld.half;
            let sum_iv = bld.arith(out, &[in0], bound, &|v: &[Iv]| iv_sum(v[0], n))?;
            let x = bld.targets(in0).to_vec();
            let mut ts = Vec::with_capacity(groups);
            for cells in &members {
                let terms: Vec<G::Wire> = cells.iter().map(|&i| x[i]).collect();
                let s = bld.g.add_many(&terms);
                ts.push(match &node.op {
                    Op::Mean { rounding, .. } => bld.divide(
                        s,
                        Num::Sum(in0, cells.clone()),
                        sum_iv,
                        count,
                        *rounding,
                        out,
                    )?,
                    _ => s,
                });
            }
            let iv = match &node.op {
                Op::Mean { rounding, .. } => iv_div(sum_iv, count, *rounding),
                _ => sum_iv,
            };
            bld.set(out, ts, iv)
        }
        Op::AvgPool2d { params, rounding } => {
            let windows = ops::pool2d_windows("avg_pool2d", &shape_of(in0), params)
                .map_err(|_| unsupported("this avg_pool2d"))?;
            let widest = windows.iter().map(Vec::len).max().unwrap_or(0);
            bld.arith(out, &[in0], bld.half, &|v: &[Iv]| iv_sum(v[0], widest))?;
            let x = bld.targets(in0).to_vec();
            let xiv = bld.iv(in0);
            let mut ts = Vec::with_capacity(windows.len());
            let mut iv: Option<Iv> = None;
            for cells in &windows {
                let count = i128::try_from(cells.len()).unwrap_or(i128::MAX);
                let s_iv = iv_sum(xiv, cells.len());
                let terms: Vec<G::Wire> = cells.iter().map(|&i| x[i]).collect();
                let s = bld.g.add_many(&terms);
                ts.push(bld.divide(
                    s,
                    Num::Sum(in0, cells.clone()),
                    s_iv,
                    count.max(1),
                    *rounding,
                    out,
                )?);
                iv = Some(iv_join(iv, iv_div(s_iv, count.max(1), *rounding)));
            }
            bld.set(out, ts, iv.unwrap_or((0, 0)))
        }
        Op::MaxPool2d(_) | Op::ReduceMax { .. } => {
            let windows = match &node.op {
                Op::MaxPool2d(params) => ops::pool2d_windows("max_pool2d", &shape_of(in0), params)
                    .map_err(|_| unsupported("this max_pool2d"))?,
                Op::ReduceMax { axis, .. } => {
                    let (map, groups) = ops::reduce_index_map(&shape_of(in0), &[*axis])
                        .map_err(|_| unsupported("this reduce_max"))?;
                    let mut members = vec![Vec::new(); groups];
                    for (i, &g) in map.iter().enumerate() {
                        members[g].push(i);
                    }
                    members
                }
                _ => Vec::new(),
            };
            // Comparisons need |x| < 2^61: range-check wider inputs to that.
            if !fits(bld.iv(in0), MAX_HALF - 1) {
                bld.narrow(in0, 62);
            }
            let xiv = bld.iv(in0);
            let mut ts = Vec::with_capacity(windows.len());
            for cells in &windows {
                ts.push(
                    bld.max_of(in0, cells)
                        .ok_or(unsupported("an empty max window"))?,
                );
            }
            bld.set(out, ts, xiv)
        }
        Op::ArgMax { axis, .. } => {
            let (map, groups) = ops::reduce_index_map(&shape_of(in0), &[*axis])
                .map_err(|_| unsupported("this argmax"))?;
            let mut members = vec![Vec::new(); groups];
            for (i, &g) in map.iter().enumerate() {
                members[g].push(i);
            }
            if !fits(bld.iv(in0), MAX_HALF - 1) {
                bld.narrow(in0, 62);
            }
            let n = members.first().map_or(1, Vec::len);
            let mut ts = Vec::with_capacity(groups);
            for cells in &members {
                ts.push(
                    bld.argmax_of(in0, cells)
                        .ok_or(unsupported("an empty argmax"))?,
                );
            }
            bld.set(
                out,
                ts,
                (0, i128::try_from(n).unwrap_or(i128::MAX).saturating_sub(1)),
            )
        }
        Op::Partition { kept } => {
            let mask = *ins
                .get(1)
                .ok_or(unsupported("a partition without a mask"))?;
            let ts = bld.partition(in0, mask, *kept)?;
            let iv = bld.iv(in0);
            bld.set(out, ts, iv)
        }
        Op::Sqrt => {
            let x = bld.targets(in0).to_vec();
            let hi = bld.iv(in0).1.clamp(0, (1 << 62) - 1);
            let mut ts = Vec::with_capacity(x.len());
            for (i, &t) in x.iter().enumerate() {
                ts.push(bld.sqrt(t, (in0, i)));
            }
            bld.set(out, ts, (0, isqrt(hi)))
        }
        Op::Div { rounding } => {
            // a must keep 2a + b far from wrapping: |a| < 2^61.
            if !fits(bld.iv(in0), MAX_HALF - 1) {
                bld.narrow(in0, 62);
            }
            let divisor = ins[1];
            if !bld.divisors.contains(&divisor) {
                for t in bld.targets(divisor).to_vec() {
                    bld.g.range_check_shifted(t, -1, 32);
                }
                bld.divisors.push(divisor);
            }
            let half_up = *rounding == Rounding::HalfUp;
            let (k, r_bits) = if half_up { (2u64, 33) } else { (1, 32) };
            // |q| < 2^29 keeps |q (k b) + r| <= 2^62 + 2^33; with |k a + b| <= 2^62 + 2^32 the
            // equation holds over the integers.
            let q_half: i128 = 1 << 29;
            let ma = ops::broadcast_index_map(&shape_of(in0), &out_shape);
            let mb = ops::broadcast_index_map(&shape_of(divisor), &out_shape);
            let (a, bt) = (bld.targets(in0).to_vec(), bld.targets(divisor).to_vec());
            let kf = i128::from(k);
            let mut ts = Vec::with_capacity(out_len);
            for i in 0..out_len {
                let (x, y) = (a[ma[i]], bt[mb[i]]);
                let q = bld.g.input();
                let r = bld.g.input();
                let kx = bld.g.mul_const(kf, x);
                let lhs = if half_up { bld.g.add(kx, y) } else { kx };
                let ky = bld.g.mul_const(kf, y);
                let rhs = bld.g.mul_add(q, ky, r);
                bld.g.connect(lhs, rhs);
                // 0 <= r < k b
                bld.g.range_check(r, r_bits);
                let ky_m1 = bld.g.add_const(ky, -1);
                let slack = bld.g.sub(ky_m1, r);
                bld.g.range_check(slack, r_bits);
                bld.g.range_check_shifted(q, 1i128 << 29, 30);
                bld.hints.push(Hint::DivT {
                    q,
                    r,
                    a: (in0, ma[i]),
                    b: (divisor, mb[i]),
                    half_up,
                    q_half,
                    tensor: out,
                });
                ts.push(q);
            }
            bld.set(out, ts, (-q_half, q_half - 1))
        }
        Op::Lookup(spec) => {
            // The clamp's comparisons need |x| < 2^61: range-check wider inputs to that.
            if !fits(bld.iv(in0), MAX_HALF - 1) {
                bld.narrow(in0, 62);
            }
            let x = bld.targets(in0).to_vec();
            let mut ts = Vec::with_capacity(x.len());
            for (i, &t) in x.iter().enumerate() {
                ts.push(bld.lookup(t, (in0, i), *spec)?);
            }
            let ys = (spec.lo..=spec.hi).map(|v| i128::from(spec.eval(v)));
            let iv = ys.fold(None, |acc, y| Some(iv_join(acc, (y, y))));
            bld.set(out, ts, iv.unwrap_or((0, 0)))
        }
        Op::Reshape { .. }
        | Op::Flatten { .. }
        | Op::Transpose { .. }
        | Op::Slice { .. }
        | Op::Concat { .. } => {
            // The reference op on element indices says where each output element comes from.
            let mut index_inputs = Vec::with_capacity(ins.len());
            let mut sources: Vec<G::Wire> = Vec::new();
            let mut iv: Option<Iv> = None;
            for &i in &ins {
                let base = sources.len();
                let len = bld.targets(i).len();
                let indices = (base..base + len)
                    .map(i64::try_from)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| unsupported("this data movement"))?;
                let idx = Tensor::new(shape_of(i), indices)
                    .map_err(|_| unsupported("this data movement"))?;
                index_inputs.push(idx);
                sources.extend_from_slice(bld.targets(i));
                iv = Some(iv_join(iv, bld.iv(i)));
            }
            let refs: Vec<&Tensor> = index_inputs.iter().collect();
            let moved = node
                .op
                .apply(&refs)
                .map_err(|_| unsupported("this data movement"))?;
            let ts = moved
                .data()
                .iter()
                .map(|&s| {
                    usize::try_from(s)
                        .ok()
                        .and_then(|s| sources.get(s).copied())
                        .ok_or(unsupported("this data movement"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            bld.set(out, ts, iv.unwrap_or((0, 0)))
        }
        _ => Err(unsupported("this op")),
    }
}

impl<W: Copy> Lowered<W> {
    /// Each hint's kind and the values an honest prover gives it (`[q, r]`, `[h, m]`,
    /// `[c, d]`), from the witness.
    pub fn hint_values(&self, witness: &Witness) -> HintValues {
        let value = |id: TensorId, i: usize| -> i128 {
            witness
                .get(id)
                .and_then(|t| t.data().get(i))
                .copied()
                .map_or(0, i128::from)
        };
        self.hints
            .iter()
            .map(|h| match h {
                Hint::Div { num, a, o, d, .. } => {
                    let n = match num {
                        Num::Elem(id, i) => value(*id, *i),
                        Num::Sum(id, cells) => cells.iter().map(|&i| value(*id, i)).sum(),
                    };
                    let total = a * n + o;
                    ("div", vec![total.div_euclid(*d), total.rem_euclid(*d)])
                }
                Hint::DivT { a, b, half_up, .. } => {
                    let (av, bv) = (value(a.0, a.1), value(b.0, b.1).max(1));
                    let (n, d) = if *half_up {
                        (2 * av + bv, 2 * bv)
                    } else {
                        (av, bv)
                    };
                    ("div-tensor", vec![n.div_euclid(d), n.rem_euclid(d)])
                }
                Hint::Sign { x, .. } => {
                    let v = value(x.0, x.1) + (1 << 62);
                    ("relu", vec![v >> 62, v & ((1 << 62) - 1)])
                }
                Hint::SignDiff { a, b, .. } => {
                    let v = value(a.0, a.1) - value(b.0, b.1) + (1 << 62);
                    ("at_least", vec![v >> 62, v & ((1 << 62) - 1)])
                }
                Hint::Clamp { x, lo, hi, .. } => {
                    let v = value(x.0, x.1);
                    let (lo, hi) = (i128::from(*lo), i128::from(*hi));
                    let (b, dl) = if lo > v { (1, lo - v - 1) } else { (0, v - lo) };
                    let (a, dh) = if v > hi { (1, v - hi - 1) } else { (0, hi - v) };
                    ("clamp", vec![b, dl, a, dh])
                }
                Hint::Partition { x, mask, kept, .. } => {
                    let out = match (witness.get(*x), witness.get(*mask)) {
                        (Some(x), Some(m)) => ops::partition(x, m, *kept)
                            .map(|t| t.data().iter().map(|&v| i128::from(v)).collect())
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    };
                    ("partition", out)
                }
                Hint::Sqrt { x, .. } => {
                    let v = value(x.0, x.1).max(0);
                    let y = isqrt(v);
                    ("sqrt", vec![y, v - y * y, y * y + 2 * y - v])
                }
                Hint::Max { t, cells, j, .. } => {
                    let acc = cells
                        .get(..*j)
                        .unwrap_or_default()
                        .iter()
                        .map(|&i| value(*t, i))
                        .max()
                        .unwrap_or(0);
                    let x = cells.get(*j).map_or(0, |&i| value(*t, i));
                    let (c, d) = if x > acc {
                        (1, x - acc - 1)
                    } else {
                        (0, acc - x)
                    };
                    ("max", vec![c, d])
                }
            })
            .collect()
    }
}

/// Lower `program` onto `g`: every input gets wires ([`Gates::input`]; private inputs are
/// range-checked to their declared bound), every op its constraints. Deterministic: the
/// verifier lowers the same Program onto the same circuit. Public inputs, the statement and
/// commitments are the caller's to add, from [`Lowered::wires`].
///
/// # Errors
/// [`Refusal`] for an op it cannot prove or a worst-case magnitude that could wrap.
pub fn lower<G: Gates>(program: &Program, g: &mut G) -> Result<Lowered<G::Wire>, Refusal> {
    let n = program.tensors().len();
    let half = g.half();
    let wide = !g.covers_field();
    let mut bld = Builder {
        g,
        program,
        half,
        tensors: vec![Vec::new(); n],
        ivs: vec![(0, 0); n],
        hints: Vec::new(),
        narrowed: Vec::new(),
        divisors: Vec::new(),
        tables: Vec::new(),
    };
    let mut inputs = Vec::new();
    for (i, d) in program.tensors().iter().enumerate() {
        let id = TensorId(u32::try_from(i).map_err(|_| unsupported("this many tensors"))?);
        let len = zkmlops_tensor::numel(&d.shape).unwrap_or(0);
        match &d.kind {
            TensorKind::Constant(t) => {
                let ts = t.iter().map(|&v| bld.g.constant(i128::from(v))).collect();
                let iv = t.iter().fold((0, 0), |(lo, hi), &v| {
                    (lo.min(i128::from(v)), hi.max(i128::from(v)))
                });
                bld.set(id, ts, iv)?;
            }
            TensorKind::Input => {
                let ts: Vec<G::Wire> = (0..len).map(|_| bld.g.input()).collect();
                let bound = d.input_bound().filter(|_| d.bits < 64);
                let iv = match bound {
                    Some((lo, hi)) => (lo.into(), hi.into()),
                    // Every field element is in [-half, half] (Goldilocks), or the input is
                    // proved to be an i64 below.
                    None if wide => (i128::from(i64::MIN), i128::from(i64::MAX)),
                    None => (-half, half),
                };
                if d.visibility == Visibility::Public {
                    // The verifier checks public inputs against their bound itself, and
                    // supplies them as i64 values.
                } else if let Some((lo, _)) = bound {
                    // Private: prove v - lo in [0, 2^bits).
                    for &t in &ts {
                        bld.g
                            .range_check_shifted(t, -i128::from(lo), u32::from(d.bits));
                    }
                } else if wide {
                    // A 255-bit field: prove the value an i64.
                    for &t in &ts {
                        bld.g.range_check_shifted(t, 1i128 << 63, 64);
                    }
                }
                bld.tensors[i] = ts;
                bld.ivs[i] = iv;
                inputs.push(id);
            }
            TensorKind::Computed => {}
        }
    }
    for node in program.nodes() {
        compile_node(&mut bld, node)?;
        // A packed committed output is proved within its declared bits (what makes its
        // packing in the commitment injective), before its readers, which may rely on it.
        if let Some(d) = program.tensor(node.output)
            && d.output_bound().is_some()
        {
            bld.narrow(node.output, u32::from(d.bits));
        }
    }
    let Builder {
        tensors,
        hints,
        narrowed,
        divisors,
        ..
    } = bld;
    Ok(Lowered {
        narrowed,
        divisors,
        tensors,
        hints,
        inputs,
    })
}

impl<W: Copy> Lowered<W> {
    /// The wires of tensor `id` (empty for an unknown id).
    #[must_use]
    pub fn wires(&self, id: TensorId) -> &[W] {
        self.tensors.get(id.index()).map_or(&[], Vec::as_slice)
    }

    /// The wires of hint `i`, in the order of its values.
    #[must_use]
    pub fn hint_wires(&self, i: usize) -> Option<Vec<W>> {
        self.hints.get(i).map(Hint::targets)
    }

    /// How many hints there are.
    #[must_use]
    pub fn hint_count(&self) -> usize {
        self.hints.len()
    }

    /// Every wire the prover sets with its value: input elements from `witness`, then each
    /// hint's wires with `hints` (the honest [`Lowered::hint_values`], or a test's edit).
    ///
    /// # Errors
    /// The id of an input tensor the witness lacks.
    pub fn assignments(
        &self,
        witness: &Witness,
        hints: &[(&'static str, Vec<i128>)],
    ) -> Result<Vec<(W, i128)>, TensorId> {
        let mut out = Vec::new();
        for &id in &self.inputs {
            let values = witness.get(id).ok_or(id)?;
            for (&w, &v) in self.wires(id).iter().zip(values.data()) {
                out.push((w, i128::from(v)));
            }
        }
        for (h, (_, values)) in self.hints.iter().zip(hints) {
            for (w, &v) in h.targets().into_iter().zip(values) {
                out.push((w, v));
            }
        }
        Ok(out)
    }
}
