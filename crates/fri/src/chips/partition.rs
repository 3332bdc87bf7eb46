//! Partition chip: the stable partition of a vector by a 0/1 mask (a row filter's proof).
//!
//! One row per input element `i`: main `x` (read at `(x, i)`), `k` (read at `(mask, i)`, a
//! bit), `c` the running count of ones (`c_0 = k_0`, `c_{i+1} = c_i + k_{i+1}`, and
//! `c_{n-1} = kept`, the Program's count), and `dest = k (c - 1) + (1 - k)(kept + i - c)`, the
//! element's output position. Each row sends `(out, dest, x)` once; given the constraints,
//! `dest` is a permutation of `0..n`, so the output wire holds each position exactly once.
//! Readers' multiplicities cannot depend on `dest`, so the output is an internal wire that one
//! copy chip re-sends under the Program tensor with its real multiplicities.

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use p3_goldilocks::Goldilocks;

use super::{ChipKind, TENSOR_BUS, felt, matrix, usize_felt};
use crate::FriError;
use crate::bounds::State;

// Structure columns.
const SEL: usize = 0;
const IDX: usize = 1;
const FIRST: usize = 2;
const CONT: usize = 3;
const LAST: usize = 4;
// Main columns.
const X: usize = 0;
const K: usize = 1;
const C: usize = 2;
const DEST: usize = 3;

#[derive(Debug, Clone)]
pub(crate) struct PartitionChip {
    pub(crate) x_wire: u32,
    pub(crate) mask_wire: u32,
    /// The internal wire each element is sent to once, at its destination.
    pub(crate) out_wire: u32,
    pub(crate) len: usize,
    pub(crate) kept: usize,
    pub(crate) log_height: usize,
}

impl ChipKind for PartitionChip {
    fn kind_name(&self) -> &'static str {
        "partition"
    }
    fn log_height(&self) -> usize {
        self.log_height
    }
    fn set_log_height(&mut self, log_height: usize) {
        self.log_height = log_height;
    }
    fn width(&self) -> usize {
        4
    }
    fn preprocessed_width(&self) -> usize {
        5
    }
    fn preprocessed_next(&self) -> Vec<usize> {
        vec![CONT]
    }
    fn main_next(&self) -> Vec<usize> {
        vec![K, C]
    }
    fn num_constraints(&self) -> usize {
        5
    }
    fn interactions(&self) -> usize {
        3
    }
    fn output_wire(&self) -> Option<u32> {
        Some(self.out_wire)
    }

    fn reads(&self, f: &mut dyn FnMut(u32, usize)) {
        for i in 0..self.len {
            f(self.x_wire, i);
            f(self.mask_wire, i);
        }
    }

    fn take_mults(&mut self, take: &mut dyn FnMut(u32) -> Vec<u32>) -> usize {
        // Each destination is read once, by the copy chip.
        take(self.out_wire);
        self.len
    }

    fn intervals(&self, st: &mut State<'_>) -> Result<(), FriError> {
        let x = st.get(self.x_wire)?;
        st.set(self.out_wire, x);
        Ok(())
    }

    fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(matrix(5, self.log_height, |r, row| {
            row[IDX] = usize_felt(r);
            if r < self.len {
                row[SEL] = F::ONE;
                row[FIRST] = F::from_bool(r == 0);
                row[CONT] = F::from_bool(r > 0);
                row[LAST] = F::from_bool(r + 1 == self.len);
            }
        }))
    }

    fn trace(
        &self,
        values: &[Vec<i64>],
        _range_counts: &mut [u32],
    ) -> Option<RowMajorMatrix<Goldilocks>> {
        let x = values
            .get(self.x_wire as usize)
            .map_or(&[][..], Vec::as_slice);
        let mask = values
            .get(self.mask_wire as usize)
            .map_or(&[][..], Vec::as_slice);
        let mut count = 0i64;
        let kept = i64::try_from(self.kept).unwrap_or(0);
        Some(matrix(4, self.log_height, |r, row| {
            let i = i64::try_from(r).unwrap_or(0);
            // The mask was checked 0/1 by the reference before proving.
            let (v, k) = if r < self.len {
                (
                    x.get(r).copied().unwrap_or(0),
                    mask.get(r).copied().unwrap_or(0),
                )
            } else {
                (0, 0)
            };
            if r < self.len {
                count = count.wrapping_add(k);
            } else {
                count = 0;
            }
            row[X] = felt(v);
            row[K] = felt(k);
            row[C] = felt(count);
            row[DEST] = felt(if k == 1 {
                count.wrapping_sub(1)
            } else {
                kept.wrapping_add(i).wrapping_sub(count)
            });
        }))
    }

    fn eval<AB: AirBuilder<F = Goldilocks> + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
        _statement_values: usize,
    ) {
        let main = builder.main();
        let local: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let next: Vec<AB::Expr> = main.next_slice().iter().map(|v| (*v).into()).collect();
        let (x, k, c, dest) = (
            local[X].clone(),
            local[K].clone(),
            local[C].clone(),
            local[DEST].clone(),
        );
        let kept = AB::Expr::from_u64(self.kept as u64);
        builder.assert_bool(k.clone());
        builder.assert_zero(p[FIRST].clone() * (c.clone() - k.clone()));
        builder.assert_zero(pn[CONT].clone() * (next[C].clone() - c.clone() - next[K].clone()));
        builder.assert_zero(p[LAST].clone() * (c.clone() - kept.clone()));
        builder.assert_eq(
            dest.clone(),
            k.clone() * (c.clone() - AB::Expr::ONE)
                + (AB::Expr::ONE - k.clone()) * (kept + p[IDX].clone() - c),
        );
        let read = || Count::bounded(-p[SEL].clone(), 1);
        let wire = |w: u32| AB::Expr::from_u32(w);
        builder.push_interaction(
            TENSOR_BUS,
            [wire(self.x_wire), p[IDX].clone(), x.clone()],
            read(),
        );
        builder.push_interaction(
            TENSOR_BUS,
            [wire(self.mask_wire), p[IDX].clone(), k],
            read(),
        );
        builder.push_interaction(
            TENSOR_BUS,
            [wire(self.out_wire), dest, x],
            Count::provided(p[SEL].clone()),
        );
    }
}
