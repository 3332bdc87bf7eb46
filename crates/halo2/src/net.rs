//! The netlist: a Program lowered onto rows of one PLONK gate, range-check and table lookups,
//! and copy constraints, before any halo2 type is involved.
//!
//! Every row has five advice cells `a b c d e`, and one gate over them:
//!
//! ```text
//! q_ab a b + q_cd c d + q_a a + q_b b + q_c c + q_d d + q_e e + q_n e[next] + q_k = 0
//! ```
//!
//! so a row is a sum, a product, a multiply-add, a linear combination of five cells, or one
//! link of a chain whose accumulator runs down column `e` (a dot product does two products per
//! row: `e[next] = e + a b + c d`). Cells `a b c d` can each be range-checked to `1..=8` bits
//! by a lookup, and `(a, b)` looked up as an `(input, output)` pair of a nonlinearity table.
//! A value used in several cells is one variable: the first cell is its home and the others
//! are tied to it by copy constraints (halo2's permutation argument).
//!
//! The prover's values are computed by replaying the recorded steps over the inputs and hints
//! (`Net::evaluate`); the constraints never trust them.

use std::collections::HashMap;
use std::sync::Arc;

use ff::{Field, PrimeField};
use halo2_proofs::pasta::Fp;
use zkmlops_plonkish::{Gates, Refusal};

/// `2^126`: the largest magnitude the bound analysis lets a value reach (products of two such
/// values stay far below `p / 2 ~ 2^253`).
pub(crate) const HALF: i128 = 1 << 126;

/// Bits of one range-check limb (the range table holds `0..2^r` for every `r <= 8`).
pub(crate) const LIMB_BITS: u32 = 8;

/// The first table tag of a nonlinearity table (tags `1..=8` are the range tables).
pub(crate) const FIRST_TABLE_TAG: u64 = 9;

/// A signed integer in the field (negatives as `p - |x|`).
pub(crate) fn fp(x: i128) -> Fp {
    let m = Fp::from_u128(x.unsigned_abs());
    if x < 0 { -m } else { m }
}

/// The integer a field element stands for, when it is within `i128` (either sign).
pub(crate) fn to_i128(x: Fp) -> Option<i128> {
    let small = |f: Fp| -> Option<u128> {
        let bytes = f.to_repr();
        if bytes[16..].iter().any(|&b| b != 0) {
            return None;
        }
        let mut lo = [0u8; 16];
        lo.copy_from_slice(&bytes[..16]);
        Some(u128::from_le_bytes(lo))
    };
    if let Some(v) = small(x) {
        return i128::try_from(v).ok();
    }
    small(-x).and_then(|v| i128::try_from(v).ok()).map(|v| -v)
}

/// A variable: one value, placed in one or more cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Var(pub(crate) u32);

impl Var {
    fn index(self) -> usize {
        self.0 as usize
    }
}

/// The gate's coefficients on one row (small integers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Coeffs {
    pub(crate) ab: i128,
    pub(crate) cd: i128,
    pub(crate) lin: [i128; 5],
    pub(crate) next: i128,
    pub(crate) k: i128,
}

/// One row: its cells, gate coefficients, range tags of `a..d` (bits, 0 for none) and the
/// nonlinearity table of `(a, b)` (0 for none).
#[derive(Debug, Clone, Default)]
pub(crate) struct Row {
    pub(crate) cells: [Option<Var>; 5],
    pub(crate) q: Coeffs,
    pub(crate) range: [u8; 4],
    pub(crate) table: u64,
}

/// A Poseidon chain in the circuit: from `iv` over `words`. Its result is a commitment's digest
/// (an instance row, in order) when `out` is `None`, else the variable `out` (a challenge).
#[derive(Debug, Clone)]
pub(crate) struct CommitPlan {
    pub(crate) iv: Fp,
    pub(crate) words: Vec<Var>,
    pub(crate) out: Option<Var>,
}

/// Domain tag of the multiset argument's first challenge (`"zkmb"`).
const TAG_BETA: u64 = 0x7a6b_6d62;
/// Domain tag of its second challenge (`"zkmg"`).
const TAG_GAMMA: u64 = 0x7a6b_6d67;

/// How the prover computes a variable.
#[derive(Debug, Clone)]
enum Step {
    /// `out = k + sum c_i v_i`.
    Lin {
        out: Var,
        terms: Vec<(i128, Var)>,
        k: i128,
    },
    /// `out = a b + c` (`c` optional).
    MulAdd {
        out: Var,
        a: Var,
        b: Var,
        c: Option<Var>,
    },
    /// `out = e[next]` of chain row `row`: its terms plus its accumulator.
    ChainRow { row: usize, out: Var },
    /// The little-endian bytes of `x + k`, one limb each.
    Limbs { x: Var, k: i128, limbs: Vec<Var> },
    /// The output of table `table` at `x`.
    Lookup { out: Var, table: usize, x: Var },
    /// `out = H(...H(H(iv, w0), w1)..., wn)` (Poseidon two-to-one).
    Hash { out: Var, iv: Fp, words: Vec<Var> },
    /// `out = gamma - p - beta v` (a factor of the multiset argument's products).
    Factor {
        out: Var,
        beta: Var,
        gamma: Var,
        p: Var,
        v: Var,
    },
}

/// A lowered Program's rows, tables, copies and public cells.
#[derive(Debug, Default)]
pub struct Net {
    pub(crate) rows: Vec<Row>,
    /// The first cell of each variable: `(row, column)`.
    pub(crate) home: Vec<Option<(u32, u8)>>,
    /// Variables whose value the prover sets (inputs, hints), in creation order.
    pub(crate) inputs: Vec<Var>,
    steps: Vec<Step>,
    /// Constant variables and their values.
    constants: HashMap<i128, Var>,
    const_values: Vec<(Var, i128)>,
    /// Pairs of variables proved equal (`connect`).
    pub(crate) connects: Vec<(Var, Var)>,
    /// Nonlinearity tables: `(input, output)` pairs.
    pub(crate) tables: Vec<Arc<Vec<(u16, u16)>>>,
    /// Variables exposed as public inputs, after the statement digest.
    pub(crate) public: Vec<Var>,
    /// Poseidon chains: committed groups (initial value and packed words) and in-circuit
    /// challenges.
    pub(crate) commits: Vec<CommitPlan>,
    /// A row whose `e` cell holds a chain's result and whose gate is still free (a chain may
    /// start on it).
    open: Option<usize>,
    next_var: u32,
}

impl Net {
    pub(crate) fn new() -> Self {
        Net::default()
    }

    /// How many variables there are.
    pub(crate) fn var_count(&self) -> usize {
        self.next_var as usize
    }

    fn fresh(&mut self) -> Var {
        let v = Var(self.next_var);
        self.next_var += 1;
        self.home.push(None);
        v
    }

    fn new_row(&mut self) -> usize {
        self.rows.push(Row::default());
        self.open = None;
        self.rows.len() - 1
    }

    /// A row a chain may start on: the open row when it is the last one, else a new row.
    fn chain_row(&mut self) -> usize {
        match self.open.take() {
            Some(r) if r + 1 == self.rows.len() => r,
            _ => self.new_row(),
        }
    }

    fn place(&mut self, row: usize, col: usize, v: Var) {
        self.rows[row].cells[col] = Some(v);
        let home = &mut self.home[v.index()];
        if home.is_none() {
            *home = Some((
                u32::try_from(row).unwrap_or(u32::MAX),
                u8::try_from(col).unwrap_or(0),
            ));
        }
    }

    /// A one-row gate over `cells` (output, if any, in `e`).
    fn gate(&mut self, cells: [Option<Var>; 5], q: Coeffs) -> usize {
        let r = self.new_row();
        for (col, v) in cells.into_iter().enumerate() {
            if let Some(v) = v {
                self.place(r, col, v);
            }
        }
        self.rows[r].q = q;
        r
    }

    /// `out = k + sum c_i v_i` for up to four terms, in one row.
    pub(crate) fn lin(&mut self, terms: &[(i128, Var)], k: i128) -> Var {
        let out = self.fresh();
        let mut cells = [None; 5];
        let mut q = Coeffs {
            k,
            ..Coeffs::default()
        };
        for (i, &(c, v)) in terms.iter().enumerate().take(4) {
            cells[i] = Some(v);
            q.lin[i] = c;
        }
        cells[4] = Some(out);
        q.lin[4] = -1;
        self.gate(cells, q);
        self.steps.push(Step::Lin {
            out,
            terms: terms.to_vec(),
            k,
        });
        out
    }

    /// Place a chain whose rows are `(cells a..d, coefficients)`: row `j` adds its terms to
    /// the accumulator in `e` (`init` on the first row, or nothing), and the result `out` lands
    /// in `e` of the row after the last, which becomes the open row.
    fn chain(
        &mut self,
        rows: &[([Option<Var>; 4], Coeffs)],
        init: Option<Var>,
        out: Var,
        compute_out: bool,
    ) {
        let mut prev: Option<usize> = None;
        for (j, (cells, q)) in rows.iter().enumerate() {
            let r = match (prev, init) {
                (Some(p), _) => {
                    // The running value after row `p` sits in e of this row.
                    let partial = self.fresh();
                    let r = self.new_row();
                    self.place(r, 4, partial);
                    self.steps.push(Step::ChainRow {
                        row: p,
                        out: partial,
                    });
                    r
                }
                // Reuse the open row when its e already holds the initial value.
                (None, Some(i)) => match self.open.take() {
                    Some(o) if o + 1 == self.rows.len() && self.rows[o].cells[4] == Some(i) => o,
                    _ => {
                        let r = self.new_row();
                        self.place(r, 4, i);
                        r
                    }
                },
                (None, None) => self.chain_row(),
            };
            for (col, v) in cells.iter().enumerate() {
                if let Some(v) = *v {
                    self.place(r, col, v);
                }
            }
            let mut q = *q;
            q.lin[4] = if j == 0 && init.is_none() { 0 } else { 1 };
            q.next = -1;
            self.rows[r].q = q;
            prev = Some(r);
        }
        let r = self.new_row();
        self.place(r, 4, out);
        if compute_out && let Some(p) = prev {
            self.steps.push(Step::ChainRow { row: p, out });
        }
        self.open = Some(r);
    }

    /// Values of every variable: the prover's `assigned` inputs and hints, constants, then the
    /// recorded steps in order. `None` for a variable no step computes (never for a lowered
    /// Program whose inputs are all assigned).
    pub(crate) fn evaluate(&self, assigned: &[(Var, i128)]) -> Vec<Fp> {
        let mut vals = vec![Fp::ZERO; self.var_count()];
        for &(v, x) in assigned {
            if let Some(slot) = vals.get_mut(v.index()) {
                *slot = fp(x);
            }
        }
        let tables: Vec<HashMap<u16, u16>> = self
            .tables
            .iter()
            .map(|t| t.iter().copied().collect())
            .collect();
        for &(v, x) in &self.const_values {
            vals[v.index()] = fp(x);
        }
        for step in &self.steps {
            match step {
                Step::Lin { out, terms, k } => {
                    let mut acc = fp(*k);
                    for &(c, v) in terms {
                        acc += fp(c) * vals[v.index()];
                    }
                    vals[out.index()] = acc;
                }
                Step::MulAdd { out, a, b, c } => {
                    let mut acc = vals[a.index()] * vals[b.index()];
                    if let Some(c) = c {
                        acc += vals[c.index()];
                    }
                    vals[out.index()] = acc;
                }
                Step::Hash { out, iv, words } => {
                    let mut acc = *iv;
                    for w in words {
                        acc = crate::commit::hash2(acc, vals[w.index()]);
                    }
                    vals[out.index()] = acc;
                }
                Step::Factor {
                    out,
                    beta,
                    gamma,
                    p,
                    v,
                } => {
                    vals[out.index()] = vals[gamma.index()]
                        - vals[p.index()]
                        - vals[beta.index()] * vals[v.index()];
                }
                Step::ChainRow { row, out } => {
                    let Some(row) = self.rows.get(*row) else {
                        continue;
                    };
                    let v = |c: Option<Var>| c.map_or(Fp::ZERO, |v| vals[v.index()]);
                    let [a, b, c, d, e] = row.cells.map(v);
                    let q = &row.q;
                    vals[out.index()] = fp(q.ab) * a * b
                        + fp(q.cd) * c * d
                        + fp(q.lin[0]) * a
                        + fp(q.lin[1]) * b
                        + fp(q.lin[2]) * c
                        + fp(q.lin[3]) * d
                        + fp(q.lin[4]) * e
                        + fp(q.k);
                }
                Step::Limbs { x, k, limbs } => {
                    let bytes = (vals[x.index()] + fp(*k)).to_repr();
                    for (i, l) in limbs.iter().enumerate() {
                        vals[l.index()] = Fp::from(u64::from(bytes.get(i).copied().unwrap_or(0)));
                    }
                }
                Step::Lookup { out, table, x } => {
                    let y = to_i128(vals[x.index()])
                        .and_then(|x| u16::try_from(x).ok())
                        .and_then(|x| tables.get(*table).and_then(|t| t.get(&x)))
                        .map_or(Fp::ZERO, |&y| Fp::from(u64::from(y)));
                    vals[out.index()] = y;
                }
            }
        }
        vals
    }

    /// Make sure every variable a copy or a public input refers to has a cell.
    pub(crate) fn finish(&mut self) {
        let mut homeless: Vec<Var> = Vec::new();
        let refs = self
            .connects
            .iter()
            .flat_map(|&(a, b)| [a, b])
            .chain(self.public.iter().copied())
            .chain(self.commits.iter().flat_map(|c| c.words.iter().copied()))
            .chain(self.commits.iter().filter_map(|c| c.out));
        for v in refs {
            if self.home[v.index()].is_none() && !homeless.contains(&v) {
                homeless.push(v);
            }
        }
        for chunk in homeless.chunks(5) {
            let r = self.new_row();
            for (col, &v) in chunk.iter().enumerate() {
                self.place(r, col, v);
            }
        }
    }

    /// Whether the circuit hashes (commitments or challenges): the Poseidon chip is configured.
    pub(crate) fn hashes(&self) -> bool {
        !self.commits.is_empty()
    }

    /// Chains whose digest is a public commitment (instance rows after the public values).
    pub(crate) fn commitment_count(&self) -> usize {
        self.commits.iter().filter(|c| c.out.is_none()).count()
    }

    /// A challenge: Poseidon from `iv` over `words`, in the circuit and natively.
    fn challenge(&mut self, iv: Fp, words: Vec<Var>) -> Var {
        let out = self.fresh();
        self.steps.push(Step::Hash {
            out,
            iv,
            words: words.clone(),
        });
        self.commits.push(CommitPlan {
            iv,
            words,
            out: Some(out),
        });
        out
    }

    /// `prod (gamma - p_i - beta v_i)` over `pairs`: one row per factor
    /// (`-beta v - p + gamma - t = 0`), one per product.
    fn grand_product(&mut self, beta: Var, gamma: Var, pairs: &[(Var, Var)]) -> Var {
        let mut acc: Option<Var> = None;
        for &(p, v) in pairs {
            let t = self.fresh();
            let q = Coeffs {
                ab: -1,
                lin: [0, 0, -1, 1, -1],
                ..Coeffs::default()
            };
            self.gate([Some(beta), Some(v), Some(p), Some(gamma), Some(t)], q);
            self.steps.push(Step::Factor {
                out: t,
                beta,
                gamma,
                p,
                v,
            });
            acc = Some(match acc {
                None => t,
                Some(a) => self.mul(a, t),
            });
        }
        match acc {
            Some(a) => a,
            None => self.constant(1),
        }
    }

    /// Rows of the lookup table: the zero row, the range tables, the nonlinearity tables.
    pub(crate) fn table_rows(&self) -> usize {
        1 + ((1usize << (LIMB_BITS + 1)) - 2) + self.tables.iter().map(|t| t.len()).sum::<usize>()
    }

    /// Check every row's gate, range tags, lookups and copies over `vals`: the first row
    /// that fails (the prover's last line of defence against its own bugs).
    pub(crate) fn first_violation(&self, vals: &[Fp]) -> Option<String> {
        let val = |c: Option<Var>| c.map_or(Fp::ZERO, |v| vals[v.index()]);
        let tables: Vec<HashMap<u16, u16>> = self
            .tables
            .iter()
            .map(|t| t.iter().copied().collect())
            .collect();
        for (r, row) in self.rows.iter().enumerate() {
            let [a, b, c, d, e] = row.cells.map(val);
            let next = self.rows.get(r + 1).map_or(Fp::ZERO, |n| val(n.cells[4]));
            let q = &row.q;
            let sum = fp(q.ab) * a * b
                + fp(q.cd) * c * d
                + fp(q.lin[0]) * a
                + fp(q.lin[1]) * b
                + fp(q.lin[2]) * c
                + fp(q.lin[3]) * d
                + fp(q.lin[4]) * e
                + fp(q.next) * next
                + fp(q.k);
            if sum != Fp::ZERO {
                return Some(format!("gate of row {r}"));
            }
            for (i, &bits) in row.range.iter().enumerate() {
                if bits > 0 {
                    let ok =
                        to_i128(val(row.cells[i])).is_some_and(|x| (0..1 << bits).contains(&x));
                    if !ok {
                        return Some(format!("range check of row {r}"));
                    }
                }
            }
            if row.table > 0 {
                let t = usize::try_from(row.table - FIRST_TABLE_TAG).unwrap_or(usize::MAX);
                let (x, y) = (to_i128(a), to_i128(b));
                let ok = x
                    .and_then(|x| u16::try_from(x).ok())
                    .and_then(|x| tables.get(t).and_then(|t| t.get(&x)))
                    .is_some_and(|&out| Some(i128::from(out)) == y);
                if !ok {
                    return Some(format!("table lookup of row {r}"));
                }
            }
        }
        for &(a, b) in &self.connects {
            if vals[a.index()] != vals[b.index()] {
                return Some("a copy constraint".into());
            }
        }
        None
    }
}

impl Gates for Net {
    type Wire = Var;

    fn half(&self) -> i128 {
        HALF
    }

    fn covers_field(&self) -> bool {
        false
    }

    fn input(&mut self) -> Var {
        let v = self.fresh();
        self.inputs.push(v);
        v
    }

    fn constant(&mut self, v: i128) -> Var {
        if let Some(&c) = self.constants.get(&v) {
            return c;
        }
        let c = self.fresh();
        let mut q = Coeffs {
            k: -v,
            ..Coeffs::default()
        };
        q.lin[4] = 1;
        self.gate([None, None, None, None, Some(c)], q);
        self.constants.insert(v, c);
        self.const_values.push((c, v));
        c
    }

    fn add(&mut self, a: Var, b: Var) -> Var {
        self.lin(&[(1, a), (1, b)], 0)
    }

    fn sub(&mut self, a: Var, b: Var) -> Var {
        self.lin(&[(1, a), (-1, b)], 0)
    }

    fn neg(&mut self, a: Var) -> Var {
        self.lin(&[(-1, a)], 0)
    }

    fn mul(&mut self, a: Var, b: Var) -> Var {
        let out = self.fresh();
        let mut q = Coeffs {
            ab: 1,
            ..Coeffs::default()
        };
        q.lin[4] = -1;
        self.gate([Some(a), Some(b), None, None, Some(out)], q);
        self.steps.push(Step::MulAdd { out, a, b, c: None });
        out
    }

    fn mul_add(&mut self, a: Var, b: Var, c: Var) -> Var {
        let out = self.fresh();
        let mut q = Coeffs {
            ab: 1,
            ..Coeffs::default()
        };
        q.lin[2] = 1;
        q.lin[4] = -1;
        self.gate([Some(a), Some(b), Some(c), None, Some(out)], q);
        self.steps.push(Step::MulAdd {
            out,
            a,
            b,
            c: Some(c),
        });
        out
    }

    fn mul_const(&mut self, k: i128, a: Var) -> Var {
        self.lin(&[(k, a)], 0)
    }

    fn add_const(&mut self, a: Var, k: i128) -> Var {
        self.lin(&[(1, a)], k)
    }

    fn mul_const_add(&mut self, k: i128, a: Var, b: Var) -> Var {
        self.lin(&[(k, a), (1, b)], 0)
    }

    fn add_many(&mut self, terms: &[Var]) -> Var {
        match terms {
            [] => self.constant(0),
            [t] => *t,
            _ if terms.len() <= 4 => {
                let t: Vec<(i128, Var)> = terms.iter().map(|&v| (1, v)).collect();
                self.lin(&t, 0)
            }
            _ => {
                let out = self.fresh();
                let rows: Vec<([Option<Var>; 4], Coeffs)> = terms
                    .chunks(4)
                    .map(|c| {
                        let mut cells = [None; 4];
                        let mut q = Coeffs::default();
                        for (i, &v) in c.iter().enumerate() {
                            cells[i] = Some(v);
                            q.lin[i] = 1;
                        }
                        (cells, q)
                    })
                    .collect();
                self.chain(&rows, None, out, true);
                out
            }
        }
    }

    fn dot(&mut self, pairs: &[(Var, Var)], init: Option<Var>) -> Var {
        match (pairs, init) {
            ([], None) => self.constant(0),
            ([], Some(i)) => i,
            ([(a, b)], Some(c)) => self.mul_add(*a, *b, c),
            _ => {
                let out = self.fresh();
                let rows: Vec<([Option<Var>; 4], Coeffs)> = pairs
                    .chunks(2)
                    .map(|c| {
                        let mut cells = [Some(c[0].0), Some(c[0].1), None, None];
                        let mut q = Coeffs {
                            ab: 1,
                            ..Coeffs::default()
                        };
                        if let Some(&(x, y)) = c.get(1) {
                            cells[2] = Some(x);
                            cells[3] = Some(y);
                            q.cd = 1;
                        }
                        (cells, q)
                    })
                    .collect();
                self.chain(&rows, init, out, true);
                out
            }
        }
    }

    fn connect(&mut self, a: Var, b: Var) {
        if a != b {
            self.connects.push((a, b));
        }
    }

    fn range_check(&mut self, x: Var, bits: u32) {
        self.range_check_shifted(x, 0, bits);
    }

    /// The limbs of `x + k` in one row (`k` in the row's constant), or a chain of rows ending
    /// in `x` with `k` in the first row's constant.
    fn range_check_shifted(&mut self, x: Var, k: i128, bits: u32) {
        if bits == 0 {
            let minus_k = self.constant(-k);
            self.connect(x, minus_k);
            return;
        }
        let n = bits.div_ceil(LIMB_BITS) as usize;
        let limbs: Vec<Var> = (0..n).map(|_| self.fresh()).collect();
        self.steps.push(Step::Limbs {
            x,
            k,
            limbs: limbs.clone(),
        });
        let top = bits - LIMB_BITS * (u32::try_from(n).unwrap_or(1) - 1);
        let tag = |i: usize| -> u8 {
            let b = if i + 1 == n { top } else { LIMB_BITS };
            u8::try_from(b).unwrap_or(8)
        };
        let weight = |i: usize| 1i128 << (LIMB_BITS as usize * i);
        if n <= 4 {
            // One row: a + 2^8 b + 2^16 c + 2^24 d - x - k = 0.
            let mut cells = [None; 5];
            let mut q = Coeffs {
                k: -k,
                ..Coeffs::default()
            };
            for (i, &l) in limbs.iter().enumerate() {
                cells[i] = Some(l);
                q.lin[i] = weight(i);
            }
            cells[4] = Some(x);
            q.lin[4] = -1;
            let r = self.gate(cells, q);
            for i in 0..n {
                self.rows[r].range[i] = tag(i);
            }
            return;
        }
        // A chain of rows of four limbs (the first row subtracts k); its result is x itself.
        let rows: Vec<([Option<Var>; 4], Coeffs)> = limbs
            .chunks(4)
            .enumerate()
            .map(|(j, c)| {
                let mut cells = [None; 4];
                let mut q = Coeffs {
                    k: if j == 0 { -k } else { 0 },
                    ..Coeffs::default()
                };
                for (i, &l) in c.iter().enumerate() {
                    cells[i] = Some(l);
                    q.lin[i] = weight(4 * j + i);
                }
                (cells, q)
            })
            .collect();
        self.chain(&rows, None, x, false);
        // The chain may have started on the open row.
        let last = self.rows.len() - 1;
        let first = last - rows.len();
        for j in 0..rows.len() {
            for i in 0..4 {
                if 4 * j + i < n {
                    self.rows[first + j].range[i] = tag(4 * j + i);
                }
            }
        }
    }

    fn assert_bool(&mut self, a: Var) {
        let mut q = Coeffs {
            ab: 1,
            ..Coeffs::default()
        };
        q.lin[0] = -1;
        self.gate([Some(a), Some(a), None, None, None], q);
    }

    fn table(&mut self, pairs: Arc<Vec<(u16, u16)>>) -> usize {
        self.tables.push(pairs);
        self.tables.len() - 1
    }

    fn lookup(&mut self, table: usize, x: Var) -> Var {
        let out = self.fresh();
        let r = self.gate([Some(x), Some(out), None, None, None], Coeffs::default());
        self.rows[r].table = FIRST_TABLE_TAG + table as u64;
        self.steps.push(Step::Lookup { out, table, x });
        out
    }

    /// A grand product at challenges drawn in the circuit (Fiat–Shamir inside the proof, as
    /// the plonky2 backend does): `beta = H(iv, seed...)` with Poseidon over Pasta, `gamma =
    /// H(TAG, beta)`, and `prod (gamma - l0 - beta l1) = prod (gamma - r0 - beta r1)`. Since
    /// the seed holds every value the pairs depend on, a forger fixes the pairs before the
    /// challenges exist; Schwartz–Zippel leaves `2n / p` (about `2^-243` for `n = 1024`).
    fn multiset_eq(
        &mut self,
        seed: &[Var],
        left: &[(Var, Var)],
        right: &[(Var, Var)],
    ) -> Result<(), Refusal> {
        let iv = crate::commit::hash2(Fp::from(TAG_BETA), Fp::from(seed.len() as u64));
        let beta = self.challenge(iv, seed.to_vec());
        let gamma = self.challenge(Fp::from(TAG_GAMMA), vec![beta]);
        let l = self.grand_product(beta, gamma, left);
        let r = self.grand_product(beta, gamma, right);
        self.connect(l, r);
        Ok(())
    }
}
