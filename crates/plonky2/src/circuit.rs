//! A Program as a plonky2 circuit.
//!
//! Every tensor element is a target. Inputs are virtual targets (private inputs range-checked to
//! their declared bound; public inputs registered as public inputs), constants are constants,
//! and each op is arithmetic on its inputs' targets:
//!
//! - products and sums (matmul, gemm, conv2d, add, sub, mul, sum) are `mul_add` chains: exact
//!   because the bound analysis ([`Bounds`]) proves every result stays in `[-(p-1)/2, (p-1)/2]`
//!   (otherwise the Program is refused, naming the tensor);
//! - rounded division (rescale, mean, average pooling, division by a tensor) is
//!   `n + o = q d + r` with `0 <= r < d` and `q` range-checked so that the equation holds over
//!   the integers;
//! - ReLU is a sign decomposition, max (reduce_max, max pooling) a proved comparison chain,
//!   a table lookup a proved clamp and a plonky2 lookup;
//! - committed tensors are absorbed by `zkmlops-commit`'s Poseidon2 sponge ([`crate::poseidon2`]);
//! - data movement (reshape, flatten, transpose, concat, slice) is pure rewiring: the reference
//!   op applied to a tensor of element indices says which target each output element is.
//!
//! The prover's hints (quotients, remainders, sign bits, comparison and clamp bits) are set from the
//! witness by [`Compiled::assign`]; the constraints never trust them.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use plonky2::field::goldilocks_field::GoldilocksField;
use plonky2::field::types::Field;
use plonky2::hash::poseidon::PoseidonHash;
use plonky2::iop::ext_target::ExtensionTarget;
use plonky2::iop::target::Target;
use plonky2::iop::witness::{PartialWitness, WitnessWrite};
use plonky2::plonk::circuit_builder::CircuitBuilder;
use plonky2::plonk::circuit_data::{CircuitConfig, CircuitData};
use plonky2::plonk::config::PoseidonGoldilocksConfig;
use zkmlops_proof::{ProveError, public_tensor_ids};
use zkmlops_tensor::ops::{self, Rounding};
use zkmlops_tensor::{Op, Program, Tensor, TensorId, TensorKind, Visibility, Witness};

use crate::BACKEND;

pub(crate) type F = GoldilocksField;
pub(crate) const D: usize = 2;
pub(crate) type C = PoseidonGoldilocksConfig;

/// Field elements of the statement digest, registered first among the public inputs.
pub(crate) const STATEMENT_LIMBS: usize = 4;

/// `(p - 1) / 2`: the largest magnitude whose field value is the integer itself.
const HALF: i128 = zkmlops_field::MAX_ABS as i128;
/// ReLU inputs must lie in `[-2^62, 2^62)`.
const RELU_HALF: i128 = 1 << 62;
/// Max inputs must lie in `[-2^61, 2^61)`, so that a difference is below `2^62`.
const MAX_HALF: i128 = 1 << 61;

/// A signed integer as a field element (negatives as `p - |x|`).
pub(crate) fn felt(x: i64) -> F {
    let m = F::from_canonical_u64(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

pub(crate) fn felt128(x: i128) -> F {
    let m = F::from_noncanonical_u128(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

fn limit(tensor: &str, what: &'static str, value: i128, limit: i128) -> ProveError {
    ProveError::Limit {
        backend: BACKEND,
        tensor: tensor.to_string(),
        what,
        value: value.unsigned_abs(),
        limit: limit.unsigned_abs(),
    }
}

fn unsupported(feature: &'static str) -> ProveError {
    ProveError::Unsupported {
        backend: BACKEND,
        feature,
    }
}

/// The integer a dividend is computed from: one element, or the sum of several.
#[derive(Debug, Clone)]
enum Num {
    Elem(TensorId, usize),
    Sum(TensorId, Vec<usize>),
}

/// Each hint's kind and values (`[q, r]`, `[h, m]`, `[c, d]`).
pub(crate) type HintValues = Vec<(&'static str, Vec<i128>)>;

/// A value the prover supplies, with how to compute it from the witness.
#[derive(Debug, Clone)]
enum Hint {
    /// `a n + o = q D + r`.
    Div {
        q: Target,
        r: Target,
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
        q: Target,
        r: Target,
        a: (TensorId, usize),
        b: (TensorId, usize),
        half_up: bool,
        q_half: i128,
        tensor: TensorId,
    },
    /// `x + 2^62 = h 2^62 + m`.
    Sign {
        h: Target,
        m: Target,
        x: (TensorId, usize),
    },
    /// The clamp of a table lookup's input: `below = [x < lo]` with `d_lo = below (lo - x - 1)
    /// + (1 - below)(x - lo)`, and `above = [x > hi]` likewise.
    Clamp {
        below: Target,
        d_lo: Target,
        above: Target,
        d_hi: Target,
        x: (TensorId, usize),
        lo: i64,
        hi: i64,
    },
    /// `y = floor(sqrt(x))`: `x = y^2 + r1`, `y^2 + 2y = x + r2`, `y` in 31 bits, `r1`, `r2` in
    /// 62 bits.
    Sqrt {
        y: Target,
        r1: Target,
        r2: Target,
        x: (TensorId, usize),
    },
    /// The output of a stable partition of `x` by `mask` (`kept` ones), which the circuit then
    /// proves a permutation of `x` to the destinations the mask gives.
    Partition {
        outs: Vec<Target>,
        x: TensorId,
        mask: TensorId,
        kept: usize,
    },
    /// Step `j` of a max chain over `cells` of tensor `t`: `c = [x_j > max(x_0..x_j)]`,
    /// `d = c (x_j - acc - 1) + (1 - c)(acc - x_j)`.
    Max {
        c: Target,
        d: Target,
        t: TensorId,
        cells: Vec<usize>,
        j: usize,
    },
}

impl Hint {
    /// The targets the prover sets, in the order of its values.
    fn targets(&self) -> Vec<Target> {
        match self {
            Hint::Div { q, r, .. } | Hint::DivT { q, r, .. } => vec![*q, *r],
            Hint::Sign { h, m, .. } => vec![*h, *m],
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

/// A compiled Program: the circuit, every tensor's targets and the prover's hints.
pub(crate) struct Compiled {
    pub(crate) data: CircuitData<F, C, D>,
    /// A hash of the common data, computed once (the aggregation circuits' cache key).
    pub(crate) common_key: OnceLock<[F; 4]>,
    /// Tensors the circuit range-checks to a signed width (see [`Compiled::check_limits`]).
    pub(crate) narrowed: Vec<(TensorId, u32)>,
    /// Tensors the circuit proves in `[1, 2^32]` (divisors).
    pub(crate) divisors: Vec<TensorId>,
    tensors: Vec<Vec<Target>>,
    hints: Vec<Hint>,
    statement: Vec<Target>,
    /// Input tensors whose targets the prover sets: every input.
    inputs: Vec<TensorId>,
}

struct Builder<'a> {
    b: CircuitBuilder<F, D>,
    program: &'a Program,
    tensors: Vec<Vec<Target>>,
    ivs: Vec<Iv>,
    hints: Vec<Hint>,
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
fn check_quotients(
    program: &Program,
    compiled: &Compiled,
    witness: &Witness,
) -> Result<(), ProveError> {
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
) -> Result<(), ProveError> {
    if let Some(t) = witness.get(id)
        && let Some(&v) = t.data().iter().find(|v| !(lo..=hi).contains(*v))
    {
        let name = program.tensor(id).map_or("?", |d| d.name.as_str());
        return Err(limit(name, what, i128::from(v), i128::from(hi)));
    }
    Ok(())
}

impl Compiled {
    /// The prover's checks of the ranges the circuit proves: every narrowed tensor within its
    /// width, every divisor in `[1, 2^32]`, every quotient within its range check (typed errors
    /// naming the tensor, before plonky2's witness generators would refuse the witness).
    pub(crate) fn check_limits(
        &self,
        program: &Program,
        witness: &Witness,
    ) -> Result<(), ProveError> {
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

impl Builder<'_> {
    fn name(&self, id: TensorId) -> &str {
        self.program.tensor(id).map_or("?", |d| d.name.as_str())
    }

    fn targets(&self, id: TensorId) -> &[Target] {
        self.tensors.get(id.index()).map_or(&[], Vec::as_slice)
    }

    fn iv(&self, id: TensorId) -> Iv {
        self.ivs.get(id.index()).copied().unwrap_or((0, 0))
    }

    /// Record a result, refusing one whose interval could leave the exact range.
    fn set(&mut self, id: TensorId, targets: Vec<Target>, iv: Iv) -> Result<(), ProveError> {
        if iv.0 < -HALF || iv.1 > HALF {
            return Err(limit(
                self.name(id),
                "worst-case magnitude allowed by the declared input bounds (it could wrap mod p; declare narrower input bounds)",
                iv.0.abs().max(iv.1.abs()),
                HALF,
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
            let shifted = self.b.add_const(t, felt128(half));
            self.b.range_check(shifted, bits as usize);
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
    ) -> Result<Iv, ProveError> {
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
        n: Target,
        num: Num,
        n_iv: Iv,
        d: i128,
        rounding: Rounding,
        tensor: TensorId,
    ) -> Result<Target, ProveError> {
        // Half up: floor((2n + d) / 2d) = floor((n + floor(d/2)) / d) for every d >= 1.
        let (a, o, big_d) = match rounding {
            Rounding::Floor => (1, 0, d),
            Rounding::HalfUp => (1, d / 2, d),
        };
        // |n + o| <= (p-1)/2 + D/2 and |q D + r| <= 2^62 + D (below): their difference is
        // smaller than p, so the field equation holds over the integers.
        let lo = n_iv.0 + o;
        let hi = n_iv.1 + o;
        if lo < -(HALF + big_d) || hi > HALF + big_d {
            return Err(limit(
                self.name(tensor),
                "worst-case dividend of a rounded division",
                lo.abs().max(hi.abs()),
                HALF,
            ));
        }
        if big_d > 1 << 48 {
            return Err(limit(self.name(tensor), "divisor", big_d, 1 << 48));
        }
        let q = self.b.add_virtual_target();
        let r = self.b.add_virtual_target();
        // a n + o == q D + r
        let an = self.b.mul_const(felt128(a), n);
        let lhs = self.b.add_const(an, felt128(o));
        let rhs = self.b.mul_const_add(felt128(big_d), q, r);
        self.b.connect(lhs, rhs);
        // 0 <= r < D
        let d_bits = bits_for(big_d);
        self.b.range_check(r, d_bits as usize);
        if big_d != 1 << d_bits {
            let dm1 = self.b.constant(felt128(big_d - 1));
            let slack = self.b.sub(dm1, r);
            self.b.range_check(slack, d_bits as usize);
        }
        // |q| < 2^(Q-1) with 2^(Q-1) D <= 2^62: then |q D + r| + |a n + o| < p, so the
        // equation holds over the integers and (q, r) is the unique quotient and remainder.
        let q_bits = 63 - d_bits;
        let shifted = self
            .b
            .add_const(q, F::from_canonical_u64(1 << (q_bits - 1)));
        self.b.range_check(shifted, q_bits as usize);
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
    fn relu(&mut self, x: Target, at: (TensorId, usize)) -> Target {
        let h = self.b.add_virtual_bool_target_safe();
        let m = self.b.add_virtual_target();
        let shifted = self.b.add_const(x, F::from_canonical_u64(1 << 62));
        let rhs = self
            .b
            .mul_const_add(F::from_canonical_u64(1 << 62), h.target, m);
        self.b.connect(shifted, rhs);
        self.b.range_check(m, 62);
        self.hints.push(Hint::Sign {
            h: h.target,
            m,
            x: at,
        });
        self.b.mul(h.target, x)
    }

    /// `c (a - b - 1) + (1 - c)(b - a)` proved in `[0, 2^62)` for a bit `c`: then `c = [a > b]`
    /// over the integers, for `|a|, |b| < 2^61`. Returns `(c, d, a - b)`.
    fn compare(&mut self, a: Target, b: Target) -> (Target, Target, Target) {
        let c = self.b.add_virtual_bool_target_safe();
        let d = self.b.add_virtual_target();
        let diff = self.b.sub(a, b);
        let two_diff = self.b.mul_const(F::TWO, diff);
        let t1 = self.b.add_const(two_diff, F::NEG_ONE);
        let back = self.b.neg(diff);
        let expect = self.b.mul_add(c.target, t1, back);
        self.b.connect(d, expect);
        self.b.range_check(d, 62);
        (c.target, d, diff)
    }

    /// `spec.eval(clamp(x))`: the clamp by two proved comparisons, then a plonky2 lookup of
    /// `xc - lo` in the table `(i, eval(lo + i) - y_min)` (16-bit entries).
    fn lookup(
        &mut self,
        x: Target,
        at: (TensorId, usize),
        spec: zkmlops_lookup::TableSpec,
    ) -> Result<Target, ProveError> {
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
                        "table rows or output span (plonky2 lookups are 16-bit)",
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
                let i = self
                    .b
                    .add_lookup_table_from_pairs(std::sync::Arc::new(pairs));
                self.tables.push((spec, i, y_min));
                (i, y_min)
            }
        };
        let lo_t = self.b.constant(felt(spec.lo));
        let hi_t = self.b.constant(felt(spec.hi));
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
        let to_lo = self.b.sub(lo_t, x);
        let to_hi = self.b.sub(hi_t, x);
        let part = self.b.mul_add(below, to_lo, x);
        let xc = self.b.mul_add(above, to_hi, part);
        let offset = self.b.add_const(xc, -felt(spec.lo));
        let y_off = self.b.add_lookup_from_index(offset, index);
        Ok(self.b.add_const(y_off, felt(y_min)))
    }

    /// The maximum of `cells` of tensor `t`, by a proved comparison chain.
    fn max_of(&mut self, t: TensorId, cells: &[usize]) -> Option<Target> {
        let xs: Vec<Target> = cells
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
            acc = self.b.mul_add(c, diff, acc);
        }
        Some(acc)
    }

    /// The index of the first maximum of `cells` of `t` (the max chain of [`Builder::max_of`],
    /// carrying `idx' = idx + c (j - idx)`).
    fn argmax_of(&mut self, t: TensorId, cells: &[usize]) -> Option<Target> {
        let xs: Vec<Target> = cells
            .iter()
            .map(|&i| self.targets(t).get(i).copied())
            .collect::<Option<_>>()?;
        let mut acc = *xs.first()?;
        let mut idx = self.b.zero();
        for (j, &x) in xs.iter().enumerate().skip(1) {
            let (c, d, diff) = self.compare(x, acc);
            self.hints.push(Hint::Max {
                c,
                d,
                t,
                cells: cells.to_vec(),
                j,
            });
            acc = self.b.mul_add(c, diff, acc);
            let jt = self.b.constant(F::from_canonical_usize(j));
            let step = self.b.sub(jt, idx);
            idx = self.b.mul_add(c, step, idx);
        }
        Some(idx)
    }

    /// `floor(sqrt(x))`, which also proves `0 <= x < 2^62`: `y < 2^31`, `x - y^2` and
    /// `y^2 + 2y - x` in `[0, 2^62)` hold over the integers (no term reaches `p`), so
    /// `y^2 <= x < (y + 1)^2` and `x <= (2^31 - 1)^2 + 2 (2^31 - 1) = 2^62 - 1`.
    fn sqrt(&mut self, x: Target, at: (TensorId, usize)) -> Target {
        let y = self.b.add_virtual_target();
        let r1 = self.b.add_virtual_target();
        let r2 = self.b.add_virtual_target();
        self.b.range_check(y, 31);
        self.b.range_check(r1, 62);
        self.b.range_check(r2, 62);
        let yy = self.b.mul(y, y);
        let lo = self.b.add(yy, r1);
        self.b.connect(lo, x);
        let two_y = self.b.mul_const(F::TWO, y);
        let hi = self.b.add(yy, two_y);
        let rhs = self.b.add(x, r2);
        self.b.connect(hi, rhs);
        self.hints.push(Hint::Sqrt { y, r1, r2, x: at });
        y
    }

    /// A stable partition of `x` by the 0/1 `mask` with `kept` ones. The mask is proved
    /// boolean with `kept` ones; each element's destination is computed in the circuit from
    /// the prefix counts (`pos_i = ones_before_i` for a 1, `kept + zeros_before_i` for a 0: a
    /// permutation of `0..n`); the prover supplies the output and the circuit proves the
    /// multiset equality `{(pos_i, x_i)} = {(j, out_j)}` by a grand product over the degree-2
    /// extension, `prod (g - pos_i - b x_i) = prod (g - j - b out_j)`, at challenges `(b, g)`
    /// hashed (Poseidon) from `x`, the mask and the output: Schwartz–Zippel leaves a forger
    /// `n / |F_p^2|` (about `2^-118` for `n = 1024`). So `out[pos_i] = x_i` for every `i`.
    fn partition(&mut self, x: TensorId, mask: TensorId, kept: usize) -> Option<Vec<Target>> {
        let xs = self.targets(x).to_vec();
        let ms = self.targets(mask).to_vec();
        if xs.len() != ms.len() {
            return None;
        }
        let mut ones = self.b.zero();
        let mut pos = Vec::with_capacity(xs.len());
        for (i, &m) in ms.iter().enumerate() {
            self.b
                .assert_bool(plonky2::iop::target::BoolTarget::new_unsafe(m));
            let base = self.b.constant(F::from_canonical_usize(kept + i));
            let zero_pos = self.b.sub(base, ones);
            let to_ones = self.b.sub(ones, zero_pos);
            pos.push(self.b.mul_add(m, to_ones, zero_pos));
            ones = self.b.add(ones, m);
        }
        let k = self.b.constant(F::from_canonical_usize(kept));
        self.b.connect(ones, k);
        let outs: Vec<Target> = (0..xs.len()).map(|_| self.b.add_virtual_target()).collect();
        let mut seed = xs.clone();
        seed.extend(&ms);
        seed.extend(&outs);
        let h = self.b.hash_n_to_hash_no_pad::<PoseidonHash>(seed).elements;
        let beta = ExtensionTarget([h[0], h[1]]);
        let gamma = ExtensionTarget([h[2], h[3]]);
        let mut lhs = self.b.one_extension();
        let mut rhs = self.b.one_extension();
        for (i, (&p, &v)) in pos.iter().zip(&xs).enumerate() {
            let term = self.b.scalar_mul_ext(v, beta);
            let p = self.b.convert_to_ext(p);
            let term = self.b.add_extension(term, p);
            let factor = self.b.sub_extension(gamma, term);
            lhs = self.b.mul_extension(lhs, factor);
            let term = self.b.scalar_mul_ext(*outs.get(i)?, beta);
            let j = self.b.constant(F::from_canonical_usize(i));
            let j = self.b.convert_to_ext(j);
            let term = self.b.add_extension(term, j);
            let factor = self.b.sub_extension(gamma, term);
            rhs = self.b.mul_extension(rhs, factor);
        }
        self.b.connect_extension(lhs, rhs);
        self.hints.push(Hint::Partition {
            outs: outs.clone(),
            x,
            mask,
            kept,
        });
        Some(outs)
    }

    fn dot(&mut self, pairs: &[(Target, Target)], init: Option<Target>) -> Target {
        let mut acc = init.unwrap_or_else(|| self.b.zero());
        for &(a, b) in pairs {
            acc = self.b.mul_add(a, b, acc);
        }
        acc
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
pub(crate) const SUPPORTED_OPS: [&str; 20] = [
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
pub(crate) fn supported_features() -> Vec<String> {
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

/// Compiled circuits kept for reuse, most recent last: building a circuit's polynomials is most
/// of a small proof's cost (a hiding circuit is at least 2^14 rows: plonky2 pads it with
/// blinding gates), and a verifier checking many proofs of one Program (or an aggregate of
/// many Programs) builds each once. At least [`CACHE_ENTRIES`] circuits are kept, more while
/// their rows add up to at most [`CACHE_ROWS`] (the prover data is a few KB per row).
const CACHE_ENTRIES: usize = 4;
/// Row budget of the cache beyond its first [`CACHE_ENTRIES`] circuits.
const CACHE_ROWS: usize = 1 << 18;

type CacheKey = (zkmlops_tensor::ProgramDigest, bool);
type Cache = Mutex<Vec<(CacheKey, Arc<Compiled>)>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(Vec::new()))
}

/// [`compile`], through a small cache keyed by the Program digest (a collision-resistant hash
/// of its canonical encoding) and the preset: the circuit is a function of exactly those.
pub(crate) fn compile_cached(
    program: &Program,
    zero_knowledge: bool,
    config: CircuitConfig,
) -> Result<Arc<Compiled>, ProveError> {
    let key = (program.digest(), zero_knowledge);
    if let Ok(mut c) = cache().lock()
        && let Some(at) = c.iter().position(|(k, _)| *k == key)
    {
        let entry = c.remove(at);
        let compiled = Arc::clone(&entry.1);
        c.push(entry);
        return Ok(compiled);
    }
    let compiled = Arc::new(compile(program, config)?);
    if let Ok(mut c) = cache().lock() {
        c.push((key, Arc::clone(&compiled)));
        let rows = |c: &Vec<(CacheKey, Arc<Compiled>)>| -> usize {
            c.iter().map(|(_, e)| e.data.common.degree()).sum()
        };
        while c.len() > CACHE_ENTRIES && rows(&c) > CACHE_ROWS {
            c.remove(0);
        }
    }
    Ok(compiled)
}

/// Compile `program` under `config`. Deterministic: the verifier rebuilds the same circuit.
pub(crate) fn compile(program: &Program, config: CircuitConfig) -> Result<Compiled, ProveError> {
    let (bld, statement, inputs) = constrain(program, config)?;
    let Builder {
        b,
        tensors,
        hints,
        narrowed,
        divisors,
        ..
    } = bld;
    let data = catch_unwind(AssertUnwindSafe(|| b.build::<C>()))
        .map_err(|_| unsupported("a circuit plonky2 cannot build"))?;
    Ok(Compiled {
        data,
        common_key: OnceLock::new(),
        narrowed,
        divisors,
        tensors,
        hints,
        statement,
        inputs,
    })
}

/// The constraints of `program`, with the statement targets and the input tensors.
fn constrain(
    program: &Program,
    config: CircuitConfig,
) -> Result<(Builder<'_>, Vec<Target>, Vec<TensorId>), ProveError> {
    let n = program.tensors().len();
    let mut bld = Builder {
        b: CircuitBuilder::new(config),
        program,
        tensors: vec![Vec::new(); n],
        ivs: vec![(0, 0); n],
        hints: Vec::new(),
        narrowed: Vec::new(),
        divisors: Vec::new(),
        tables: Vec::new(),
    };
    // The statement digest, first among the public inputs.
    let statement: Vec<Target> = (0..STATEMENT_LIMBS)
        .map(|_| bld.b.add_virtual_public_input())
        .collect();
    let mut inputs = Vec::new();
    for (i, d) in program.tensors().iter().enumerate() {
        let id = TensorId(u32::try_from(i).map_err(|_| unsupported("this many tensors"))?);
        let len = zkmlops_tensor::numel(&d.shape).unwrap_or(0);
        match &d.kind {
            TensorKind::Constant(t) => {
                let ts = t.iter().map(|&v| bld.b.constant(felt(v))).collect();
                let iv = t.iter().fold((0, 0), |(lo, hi), &v| {
                    (lo.min(i128::from(v)), hi.max(i128::from(v)))
                });
                bld.set(id, ts, iv)?;
            }
            TensorKind::Input => {
                let ts: Vec<Target> = (0..len).map(|_| bld.b.add_virtual_target()).collect();
                let iv = d
                    .input_bound()
                    .map_or((-HALF, HALF), |(lo, hi)| (lo.into(), hi.into()));
                if d.visibility == Visibility::Public {
                    // The verifier checks public inputs against their bound itself.
                } else if let Some((lo, _)) = d.input_bound().filter(|_| d.bits < 64) {
                    // Private: prove v - lo in [0, 2^bits).
                    for &t in &ts {
                        let shifted = bld.b.add_const(t, -felt(lo));
                        bld.b.range_check(shifted, usize::from(d.bits));
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
    }
    // Public tensors (inputs and outputs), in the statement's order.
    for id in public_tensor_ids(program) {
        let ts = bld.targets(id).to_vec();
        bld.b.register_public_inputs(&ts);
    }
    // Then each commitment group's digest (zkmlops-commit's sponge, absorbed in-circuit), in
    // the statement's order.
    let digest = program.digest();
    for (group, ids) in zkmlops_commit::commitment_groups(program) {
        let values: Vec<Target> = ids
            .iter()
            .flat_map(|&id| bld.targets(id).to_vec())
            .collect();
        if values.is_empty() {
            return Err(unsupported("committed tensors with no elements"));
        }
        let iv = zkmlops_commit::group_initial_state(&digest, group, values.len())
            .map(|x| p3_field::PrimeField64::as_canonical_u64(&x));
        let out = crate::poseidon2::absorb(&mut bld.b, iv, &values);
        bld.b.register_public_inputs(&out);
    }
    Ok((bld, statement, inputs))
}

#[allow(clippy::too_many_lines)]
fn compile_node(bld: &mut Builder<'_>, node: &zkmlops_tensor::Node) -> Result<(), ProveError> {
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
            let iv = bld.arith(out, &ins, HALF, &|v: &[Iv]| {
                let p = iv_sum(iv_mul(v[0], v[1]), k);
                v.get(2).map_or(p, |&c| iv_add(p, c))
            })?;
            let a = bld.targets(in0).to_vec();
            let b = bld.targets(ins[1]).to_vec();
            let bias_map = bias.map(|c| ops::broadcast_index_map(&shape_of(c), &[m, n]));
            let mut ts = Vec::with_capacity(m * n);
            for i in 0..m {
                for j in 0..n {
                    let pairs: Vec<(Target, Target)> = (0..k)
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
                    ts.push(bld.dot(&pairs, init));
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
            let iv = bld.arith(out, &ins, HALF, &|v: &[Iv]| {
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
                            ts.push(bld.dot(&pairs, init));
                        }
                    }
                }
            }
            bld.set(out, ts, iv)
        }
        Op::Add | Op::Sub | Op::Mul => {
            let op = node.op.clone();
            let iv = bld.arith(out, &ins, HALF, &|v: &[Iv]| match op {
                Op::Add => iv_add(v[0], v[1]),
                Op::Sub => iv_add(v[0], (v[1].1.saturating_neg(), v[1].0.saturating_neg())),
                _ => iv_mul(v[0], v[1]),
            })?;
            let ma = ops::broadcast_index_map(&shape_of(in0), &out_shape);
            let mb = ops::broadcast_index_map(&shape_of(ins[1]), &out_shape);
            let (a, b) = (bld.targets(in0).to_vec(), bld.targets(ins[1]).to_vec());
            let ts: Vec<Target> = (0..out_len)
                .map(|i| {
                    let (x, y) = (a[ma[i]], b[mb[i]]);
                    match node.op {
                        Op::Add => bld.b.add(x, y),
                        Op::Sub => bld.b.sub(x, y),
                        _ => bld.b.mul(x, y),
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
            let bound = HALF;
            let sum_iv = bld.arith(out, &[in0], bound, &|v: &[Iv]| iv_sum(v[0], n))?;
            let x = bld.targets(in0).to_vec();
            let mut ts = Vec::with_capacity(groups);
            for cells in &members {
                let terms: Vec<Target> = cells.iter().map(|&i| x[i]).collect();
                let s = bld.b.add_many(terms);
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
            bld.arith(out, &[in0], HALF, &|v: &[Iv]| iv_sum(v[0], widest))?;
            let x = bld.targets(in0).to_vec();
            let xiv = bld.iv(in0);
            let mut ts = Vec::with_capacity(windows.len());
            let mut iv: Option<Iv> = None;
            for cells in &windows {
                let count = i128::try_from(cells.len()).unwrap_or(i128::MAX);
                let s_iv = iv_sum(xiv, cells.len());
                let terms: Vec<Target> = cells.iter().map(|&i| x[i]).collect();
                let s = bld.b.add_many(terms);
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
            let ts = bld
                .partition(in0, mask, *kept)
                .ok_or(unsupported("a partition of unequal lengths"))?;
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
                    let shifted = bld.b.add_const(t, F::NEG_ONE);
                    bld.b.range_check(shifted, 32);
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
            let kf = F::from_canonical_u64(k);
            let mut ts = Vec::with_capacity(out_len);
            for i in 0..out_len {
                let (x, y) = (a[ma[i]], bt[mb[i]]);
                let q = bld.b.add_virtual_target();
                let r = bld.b.add_virtual_target();
                let kx = bld.b.mul_const(kf, x);
                let lhs = if half_up { bld.b.add(kx, y) } else { kx };
                let ky = bld.b.mul_const(kf, y);
                let rhs = bld.b.mul_add(q, ky, r);
                bld.b.connect(lhs, rhs);
                // 0 <= r < k b
                bld.b.range_check(r, r_bits);
                let ky_m1 = bld.b.add_const(ky, F::NEG_ONE);
                let slack = bld.b.sub(ky_m1, r);
                bld.b.range_check(slack, r_bits);
                let shifted = bld.b.add_const(q, F::from_canonical_u64(1 << 29));
                bld.b.range_check(shifted, 30);
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
            let mut sources: Vec<Target> = Vec::new();
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

impl Compiled {
    /// Each hint's kind and the values an honest prover gives it (`[q, r]`, `[h, m]`,
    /// `[c, d]`), from the witness.
    pub(crate) fn hint_values(&self, witness: &Witness) -> HintValues {
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

    /// The targets of hint `i` (testing: the cheating prover overwrites them).
    #[cfg(feature = "testing")]
    pub(crate) fn hint_targets(&self, i: usize) -> Option<Vec<Target>> {
        self.hints.get(i).map(Hint::targets)
    }

    /// The element targets of tensor `id` (testing).
    #[cfg(feature = "testing")]
    pub(crate) fn tensor_targets(&self, id: TensorId) -> &[Target] {
        self.tensors.get(id.index()).map_or(&[], Vec::as_slice)
    }

    /// The partial witness: inputs, the statement digest and every hint (values as
    /// [`Compiled::hint_values`] gives them, or a cheating test's edit of them).
    pub(crate) fn assign(
        &self,
        witness: &Witness,
        statement: &[F],
        hint_values: &[(&'static str, Vec<i128>)],
    ) -> Result<PartialWitness<F>, ProveError> {
        let mut pw = PartialWitness::new();
        let set = |pw: &mut PartialWitness<F>, t: Target, v: F| {
            pw.set_target(t, v).map_err(|e| ProveError::Backend {
                backend: BACKEND,
                source: e.into(),
            })
        };
        for (&t, &v) in self.statement.iter().zip(statement) {
            set(&mut pw, t, v)?;
        }
        for &id in &self.inputs {
            let values = witness.get(id).ok_or(ProveError::Statement(
                zkmlops_proof::StatementError::MissingTensor { id },
            ))?;
            for (&t, &v) in self.tensors[id.index()].iter().zip(values.data()) {
                set(&mut pw, t, felt(v))?;
            }
        }
        for (h, (_, values)) in self.hints.iter().zip(hint_values) {
            for (&t, &v) in h.targets().iter().zip(values) {
                set(&mut pw, t, felt128(v))?;
            }
        }
        Ok(pw)
    }
}
