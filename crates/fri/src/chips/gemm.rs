//! Gemm chip: `Y = op(A) x op(B)` with one bus read per activation and per weight.
//!
//! Rows walk `(tile, m, k)`: row `(tile, m, k)` reads `A[m, k]` once and the `T` weights
//! `B[k, tile*T .. tile*T + T]`, and updates `T` running sums. The last `k` row of a block
//! sends the finished `Y[m, tile*T + t]` (the preprocessed multiplicities are zero elsewhere, so
//! partial sums never reach the bus). A multiply-accumulate costs no bus message of its own.
//! When the weights are a private input that only this gemm reads, once each (one output row),
//! they live in the trace alone and cost no bus message either.

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

const SEL: usize = 0;
const FIRST: usize = 1;
const A_IDX: usize = 2;
const B_BASE: usize = 3;
const OUT_BASE: usize = 4;
const MULT0: usize = 5;

#[derive(Debug, Clone)]
pub(crate) struct GemmChip {
    pub(crate) a_wire: u32,
    pub(crate) b_wire: u32,
    /// The weights live only in this chip's trace (a private input read by this gemm alone,
    /// each weight exactly once): no bus read, no source chip; each weight is range-checked
    /// here to the input's declared bound instead.
    pub(crate) b_inline: Option<Signed>,
    pub(crate) y_wire: u32,
    pub(crate) m: usize,
    pub(crate) k: usize,
    pub(crate) n: usize,
    pub(crate) trans_a: bool,
    pub(crate) trans_b: bool,
    pub(crate) tile: usize,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

/// The largest divisor of `n` that is at most [`MAX_TILE`].
pub(crate) fn tile_for(n: usize) -> usize {
    (1..=MAX_TILE.min(n))
        .rev()
        .find(|t| n.is_multiple_of(*t))
        .unwrap_or(1)
}

impl GemmChip {
    pub(crate) fn real_rows(&self) -> usize {
        (self.n / self.tile) * self.m * self.k
    }

    /// `(tile index, m, k)` of a real row.
    fn decode(&self, r: usize) -> Option<(usize, usize, usize)> {
        (r < self.real_rows()).then(|| {
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

    fn b_base(&self, tile: usize, ki: usize) -> usize {
        let j0 = tile * self.tile;
        if self.trans_b {
            j0 * self.k + ki
        } else {
            ki * self.n + j0
        }
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
        MULT0 + self.tile
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
        Some(self.y_wire)
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        for r in 0..self.real_rows() {
            let Some((tile, mi, ki)) = self.decode(r) else {
                continue;
            };
            f(self.a_wire, self.a_index(mi, ki));
            if self.b_inline.is_none() {
                let base = self.b_base(tile, ki);
                (0..self.tile).for_each(|t| f(self.b_wire, base + t * self.b_stride()));
            }
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        self.mults = take(self.y_wire);
        self.real_rows()
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        let b_fixed = self.b_inline.map(Signed::range);
        let k = self.k;
        let out = st.arith(
            self.y_wire,
            &[self.a_wire, self.b_wire],
            &[None, b_fixed],
            |v| mul(v[0], v[1]).and_then(|t| sum_of(t, k, k)),
        )?;
        st.set(self.y_wire, out);
        Ok(())
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(
            self.preprocessed_width(),
            self.log_height,
            |r, row| {
                let Some((tile, mi, ki)) = self.decode(r) else {
                    row[FIRST] = F::ONE;
                    return;
                };
                row[SEL] = F::ONE;
                row[FIRST] = F::from_bool(ki == 0);
                row[A_IDX] = usize_felt(self.a_index(mi, ki));
                row[B_BASE] = usize_felt(self.b_base(tile, ki));
                let out_base = mi * self.n + tile * self.tile;
                row[OUT_BASE] = usize_felt(out_base);
                if ki + 1 == self.k {
                    for t in 0..self.tile {
                        row[MULT0 + t] =
                            F::from_u32(self.mults.get(out_base + t).copied().unwrap_or(0));
                    }
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
        let a = values
            .get(self.a_wire as usize)
            .map_or(&[][..], Vec::as_slice);
        let b = values
            .get(self.b_wire as usize)
            .map_or(&[][..], Vec::as_slice);
        let t_n = self.tile;
        let nl = self.b_limbs();
        let mut acc = vec![F::ZERO; t_n];
        Some(matrix(self.width(), self.log_height, |r, row| {
            let Some((tile, mi, ki)) = self.decode(r) else {
                // Padding rows: zero weights, whose limbs are those of 0 (looked up by no one).
                if let Some(range) = self.b_inline {
                    for t in 0..t_n {
                        let at = 1 + 2 * t_n + t * nl;
                        range.fill(0, &mut row[at..at + nl], &mut |_| {});
                    }
                }
                return;
            };
            let av: F = felt(a.get(self.a_index(mi, ki)).copied().unwrap_or(0));
            row[0] = av;
            let base = self.b_base(tile, ki);
            for t in 0..t_n {
                let wv = b.get(base + t * self.b_stride()).copied().unwrap_or(0);
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
        for t in 0..t_n {
            let (w, acc) = (local[1 + t], local[1 + t_n + t]);
            builder.when_first_row().assert_eq(acc, local[0] * w);
            let carried = (AB::Expr::ONE - first_next.clone()) * acc;
            builder
                .when_transition()
                .assert_eq(next[1 + t_n + t], carried + next[0] * next[1 + t]);
        }
        let read = || Count::bounded(-p[SEL].clone(), 1);
        builder.push_interaction(
            TENSOR_BUS,
            [
                AB::Expr::from_u32(self.a_wire),
                p[A_IDX].clone(),
                local[0].into(),
            ],
            read(),
        );
        let nl = self.b_limbs();
        for t in 0..t_n {
            if let Some(range) = self.b_inline {
                let at = 1 + 2 * t_n + t * nl;
                let limbs: Vec<AB::Expr> = local[at..at + nl].iter().map(|v| (*v).into()).collect();
                range.eval(builder, local[1 + t].into(), &limbs, &read);
            } else {
                let b_idx = p[B_BASE].clone() + usize_felt::<AB::Expr>(t * self.b_stride());
                builder.push_interaction(
                    TENSOR_BUS,
                    [AB::Expr::from_u32(self.b_wire), b_idx, local[1 + t].into()],
                    read(),
                );
            }
            let out_idx = p[OUT_BASE].clone() + usize_felt::<AB::Expr>(t);
            builder.push_interaction(
                TENSOR_BUS,
                [
                    AB::Expr::from_u32(self.y_wire),
                    out_idx,
                    local[1 + t_n + t].into(),
                ],
                Count::provided(p[MULT0 + t].clone()),
            );
        }
    }
}
