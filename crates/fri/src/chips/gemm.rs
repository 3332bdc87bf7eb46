//! Gemm chip: `Y = op(A) x op(B)` with one bus read per activation and per weight.
//!
//! Rows walk `(tile, m, k)`: row `(tile, m, k)` reads `A[m, k]` once and the `T` weights
//! `B[k, tile*T .. tile*T + T]`, and updates `T` running sums. The last `k` row of a block
//! sends the finished `Y[m, tile*T + t]` (the preprocessed multiplicities are zero elsewhere, so
//! partial sums never reach the bus). A multiply-accumulate costs no bus message of its own.
//! When the weights are a private input that only this gemm reads, once each (one output row),
//! they live in the trace alone and cost no bus message either. Gemms of the same tile (and
//! inline-weight bound) share one instance, one after the other: each row's wires and weight
//! stride are then structure columns too.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::limbs::Signed;
use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::{State, mul, sum_of};

/// Largest tile (accumulators per row).
pub(crate) const MAX_TILE: usize = 8;

// Structure columns. A chip of several gemms (merged, [`GemmChip::shared`]) also has each row's
// wires and weight stride as structure columns; a lone gemm has them as AIR constants.
const SEL: usize = 0;
const FIRST: usize = 1;
const A_IDX: usize = 2;
const B_BASE: usize = 3;
const OUT_BASE: usize = 4;
const MULT0: usize = 5;
/// Offsets after the multiplicities of the shared-instance columns.
const A_WIRE: usize = 0;
const B_WIRE: usize = 1;
const Y_WIRE: usize = 2;
const B_STRIDE: usize = 3;
const SHARED_COLS: usize = 4;

/// One gemm `Y = op(A) x op(B)` of a chip: its wires, dimensions and multiplicities.
#[derive(Debug, Clone)]
pub(crate) struct GemmPart {
    pub(crate) a_wire: u32,
    pub(crate) b_wire: u32,
    pub(crate) y_wire: u32,
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) trans_a: bool,
    pub(crate) trans_b: bool,
    pub(crate) mults: Vec<u32>,
}

/// Gemms of one tile (and inline-weight bound), one after the other.
#[derive(Debug, Clone)]
pub(crate) struct GemmChip {
    /// The weights live only in this chip's trace (a private input read by this gemm alone,
    /// each weight exactly once): no bus read, no source chip; each weight is range-checked
    /// here to the input's declared bound instead.
    pub(crate) b_inline: Option<Signed>,
    pub(crate) tile: usize,
    pub(crate) parts: Vec<GemmPart>,
    pub(crate) log_height: usize,
}

/// The largest divisor of `n` that is at most [`MAX_TILE`].
pub(crate) fn tile_for(n: usize) -> usize {
    (1..=MAX_TILE.min(n))
        .rev()
        .find(|t| n.is_multiple_of(*t))
        .unwrap_or(1)
}

/// One real row: its part and `(tile index, m, k)`.
type Row<'a> = (&'a GemmPart, (usize, usize, usize));

impl GemmPart {
    fn real_rows(&self, tile: usize) -> usize {
        (self.n / tile) * self.m * self.k
    }

    /// `(tile index, m, k)` of each real row, in order.
    fn rows(&self, tile: usize) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.real_rows(tile)).map(move |r| {
            let ki = r % self.k;
            let mi = (r / self.k) % self.m;
            (r / (self.k * self.m), mi, ki)
        })
    }

    fn a_index(&self, mi: usize, ki: usize) -> usize {
        if self.trans_a {
            ki * self.m + mi
        } else {
            mi * self.k + ki
        }
    }

    fn b_stride(&self) -> usize {
        if self.trans_b { self.k } else { 1 }
    }

    fn b_base(&self, tile: usize, t_n: usize, ki: usize) -> usize {
        let j0 = tile * t_n;
        if self.trans_b {
            j0 * self.k + ki
        } else {
            ki * self.n + j0
        }
    }
}

impl GemmChip {
    pub(crate) fn real_rows(&self) -> usize {
        self.parts.iter().map(|p| p.real_rows(self.tile)).sum()
    }

    /// Whether several gemms share this instance (wires as structure columns).
    fn shared(&self) -> bool {
        self.parts.len() > 1
    }

    fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        self.parts
            .iter()
            .flat_map(|p| p.rows(self.tile).map(move |r| (p, r)))
    }

    /// Limb columns per inline weight.
    fn b_limbs(&self) -> usize {
        self.b_inline.map_or(0, Signed::limbs)
    }
}

impl ChipKind for GemmChip {
    fn kind_name(&self) -> &'static str {
        "gemm"
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        1 + (2 + self.b_limbs()) * self.tile
    }
    fn preprocessed_width(&self) -> usize {
        MULT0 + self.tile + if self.shared() { SHARED_COLS } else { 0 }
    }
    fn preprocessed_next(&self) -> Vec<usize> {
        vec![FIRST]
    }
    fn main_next(&self) -> Vec<usize> {
        (0..self.width()).collect()
    }
    fn num_constraints(&self) -> usize {
        2 * self.tile + 1 + 2 * self.tile + usize::from(self.b_inline.is_some()) * self.tile
    }
    fn interactions(&self) -> usize {
        1 + self.tile * self.b_inline.map_or(2, |r| 1 + r.lookups())
    }
    fn range_lookups(&self) -> bool {
        self.b_inline.is_some()
    }
    fn output_wire(&self) -> Option<u32> {
        self.parts.first().map(|p| p.y_wire)
    }
    fn outputs(&self) -> Vec<(u32, usize)> {
        super::stacked(
            self.parts
                .iter()
                .map(|p| (p.y_wire, p.real_rows(self.tile))),
        )
    }
    fn merge_key(&self) -> Option<super::MergeKey> {
        Some(super::MergeKey::Gemm {
            tile: self.tile,
            b_inline: self.b_inline,
        })
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        for (p, (tile, mi, ki)) in self.rows() {
            f(p.a_wire, p.a_index(mi, ki));
            if self.b_inline.is_none() {
                let base = p.b_base(tile, self.tile, ki);
                (0..self.tile).for_each(|t| f(p.b_wire, base + t * p.b_stride()));
            }
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        for p in &mut self.parts {
            p.mults = take(p.y_wire);
        }
        self.real_rows()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        let b_fixed = self.b_inline.map(Signed::range);
        for p in &self.parts {
            let k = p.k;
            let out = st.arith(p.y_wire, &[p.a_wire, p.b_wire], &[None, b_fixed], |v| {
                mul(v[0], v[1]).and_then(|t| sum_of(t, k, k))
            })?;
            st.set(p.y_wire, out);
        }
        Ok(())
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        let t_n = self.tile;
        let shared = MULT0 + t_n;
        let mut rows = self.rows();
        Some(matrix(
            self.preprocessed_width(),
            self.log_height,
            |_, row| {
                let Some((p, (tile, mi, ki))) = rows.next() else {
                    row[FIRST] = F::ONE;
                    return;
                };
                row[SEL] = F::ONE;
                row[FIRST] = F::from_bool(ki == 0);
                row[A_IDX] = usize_felt(p.a_index(mi, ki));
                row[B_BASE] = usize_felt(p.b_base(tile, t_n, ki));
                let out_base = mi * p.n + tile * t_n;
                row[OUT_BASE] = usize_felt(out_base);
                if ki + 1 == p.k {
                    for t in 0..t_n {
                        row[MULT0 + t] =
                            F::from_u32(p.mults.get(out_base + t).copied().unwrap_or(0));
                    }
                }
                if self.shared() {
                    row[shared + A_WIRE] = F::from_u32(p.a_wire);
                    row[shared + B_WIRE] = F::from_u32(p.b_wire);
                    row[shared + Y_WIRE] = F::from_u32(p.y_wire);
                    row[shared + B_STRIDE] = usize_felt(p.b_stride());
                }
            },
        ))
    }

    fn trace(
        &self,
        values: &[Vec<i64>],
        range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        type F = Goldilocks;
        let get = |w: u32| values.get(w as usize).map_or(&[][..], Vec::as_slice);
        let t_n = self.tile;
        let nl = self.b_limbs();
        let mut acc = vec![F::ZERO; t_n];
        let mut rows = self.rows();
        Some(matrix(self.width(), self.log_height, |_, row| {
            let Some((p, (tile, mi, ki))) = rows.next() else {
                // Padding rows: zero weights, whose limbs are those of 0 (looked up by no one).
                if let Some(range) = self.b_inline {
                    for t in 0..t_n {
                        let at = 1 + 2 * t_n + t * nl;
                        range.fill(0, &mut row[at..at + nl], &mut |_| {});
                    }
                }
                return;
            };
            let (a, b) = (get(p.a_wire), get(p.b_wire));
            let av: F = felt(a.get(p.a_index(mi, ki)).copied().unwrap_or(0));
            row[0] = av;
            let base = p.b_base(tile, t_n, ki);
            for t in 0..t_n {
                let wv = b.get(base + t * p.b_stride()).copied().unwrap_or(0);
                let w: F = felt(wv);
                row[1 + t] = w;
                acc[t] = if ki == 0 { av * w } else { acc[t] + av * w };
                row[1 + t_n + t] = acc[t];
                if let Some(range) = self.b_inline {
                    let at = 1 + 2 * t_n + t * nl;
                    range.fill(wv, &mut row[at..at + nl], &mut |l| {
                        super::tally(range_counts, l)
                    });
                }
            }
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let t_n = self.tile;
        let main = builder.main();
        let (local, next) = (main.current_slice().to_vec(), main.next_slice().to_vec());
        let first_next = pn[FIRST].clone();
        // One constraint of degree 2 on every row, the last wrapping to row 0: row 0 always
        // starts a block (a real row with k = 0, or padding), so there it reads `acc = a * w`,
        // the first-row constraint. Written as a first-row and a transition constraint it
        // would be degree 3 (the first-row selector times `a * w`), which doubles the quotient
        // (8 chunks instead of 4 with hiding).
        for t in 0..t_n {
            let acc = local[1 + t_n + t];
            let carried = (AB::Expr::ONE - first_next.clone()) * acc;
            builder.assert_eq(next[1 + t_n + t], carried + next[0] * next[1 + t]);
        }
        // Wires and the weight stride: structure columns of a shared instance, constants of a
        // lone gemm.
        let (a_wire, b_wire, y_wire, b_stride) = match self.parts.as_slice() {
            [one] => (
                AB::Expr::from_u32(one.a_wire),
                AB::Expr::from_u32(one.b_wire),
                AB::Expr::from_u32(one.y_wire),
                usize_felt::<AB::Expr>(one.b_stride()),
            ),
            _ => {
                let at = MULT0 + t_n;
                (
                    p[at + A_WIRE].clone(),
                    p[at + B_WIRE].clone(),
                    p[at + Y_WIRE].clone(),
                    p[at + B_STRIDE].clone(),
                )
            }
        };
        let read = || Count::bounded(-p[SEL].clone(), 1);
        builder.push_interaction(
            TENSOR_BUS,
            [a_wire, p[A_IDX].clone(), local[0].into()],
            read(),
        );
        let nl = self.b_limbs();
        for t in 0..t_n {
            if let Some(range) = self.b_inline {
                let at = 1 + 2 * t_n + t * nl;
                let limbs: Vec<AB::Expr> = local[at..at + nl].iter().map(|v| (*v).into()).collect();
                range.eval(builder, local[1 + t].into(), &limbs, &read);
            } else {
                let b_idx = p[B_BASE].clone() + b_stride.clone() * usize_felt::<AB::Expr>(t);
                builder.push_interaction(
                    TENSOR_BUS,
                    [b_wire.clone(), b_idx, local[1 + t].into()],
                    read(),
                );
            }
            let out_idx = p[OUT_BASE].clone() + usize_felt::<AB::Expr>(t);
            builder.push_interaction(
                TENSOR_BUS,
                [y_wire.clone(), out_idx, local[1 + t_n + t].into()],
                Count::provided(p[MULT0 + t].clone()),
            );
        }
    }
}
