//! Max chip: the maximum of each group of input elements (a reduction along an axis).
//!
//! One row per input element, grouped by output element like the sum chip. On a group's first
//! row `acc = x`; on the others a bit `c = [x > acc_prev]` selects
//! `acc = c * x + (1 - c) * acc_prev`, and `d = c ? x - acc_prev - 1 : acc_prev - x` is four
//! 8-bit limbs, which proves the comparison over the integers (inputs are signed 32-bit).

use p3_air::{AirBuilder, WindowAccess};
use p3_field::{Field, PrimeCharacteristicRing};
use p3_lookup::{Count, InteractionBuilder};
use p3_matrix::dense::RowMajorMatrix;

use super::{RANGE_BUS, TENSOR_BUS, felt, matrix};

use super::sum::{FIRST, IN_IDX, MULT, OUT_IDX, SEL, grouped_rows, grouped_structure};

#[derive(Debug, Clone)]
pub(crate) struct MaxChip {
    pub(crate) in_wire: u32,
    pub(crate) out_wire: u32,
    /// Input indices of each output element, in output order (none empty).
    pub(crate) groups: Vec<Vec<usize>>,
    pub(crate) mults: Vec<u32>,
    pub(crate) log_height: usize,
}

impl MaxChip {
    fn rows(&self) -> Vec<(usize, usize, bool, bool)> {
        grouped_rows(&self.groups)
    }

    pub(crate) fn real_rows(&self) -> usize {
        self.groups.iter().map(Vec::len).sum()
    }
    /// Columns: `x, acc, c, d0..d3`.
    pub(crate) fn width(&self) -> usize {
        7
    }
    pub(crate) fn preprocessed_width(&self) -> usize {
        5
    }
    pub(crate) fn preprocessed_next(&self) -> Vec<usize> {
        vec![FIRST]
    }
    pub(crate) fn main_next(&self) -> Vec<usize> {
        (0..7).collect()
    }
    pub(crate) fn num_constraints(&self) -> usize {
        4
    }

    pub(crate) fn preprocessed<F: Field>(&self) -> Option<RowMajorMatrix<F>> {
        Some(grouped_structure(
            &self.groups,
            &self.mults,
            self.log_height,
        ))
    }

    /// The main trace; range lookups are tallied into `range_counts`.
    pub(crate) fn main<F: Field>(&self, x: &[i64], range_counts: &mut [u32]) -> RowMajorMatrix<F> {
        let rows = self.rows();
        let mut acc = 0i64;
        matrix(7, self.log_height, |r, row| {
            let Some(&(i, _, first, _)) = rows.get(r) else {
                return;
            };
            let v = x[i];
            let (c, d) = if first {
                (false, 0)
            } else if v > acc {
                (true, v - acc - 1)
            } else {
                (false, acc - v)
            };
            acc = if first || c { v } else { acc };
            row[0] = felt(v);
            row[1] = felt(acc);
            row[2] = F::from_bool(c);
            let limbs = [d & 0xff, (d >> 8) & 0xff, (d >> 16) & 0xff, d >> 24];
            for (k, l) in limbs.into_iter().enumerate() {
                row[3 + k] = felt(l);
                if let Some(slot) = usize::try_from(l)
                    .ok()
                    .and_then(|l| range_counts.get_mut(l))
                {
                    *slot += 1;
                }
            }
        })
    }

    pub(crate) fn eval<AB: AirBuilder + InteractionBuilder>(
        &self,
        builder: &mut AB,
        p: &[AB::Expr],
        pn: &[AB::Expr],
    ) {
        let main = builder.main();
        let local: Vec<AB::Expr> = main.current_slice().iter().map(|v| (*v).into()).collect();
        let next: Vec<AB::Expr> = main.next_slice().iter().map(|v| (*v).into()).collect();
        let first_next = pn[FIRST].clone();
        let one = AB::Expr::ONE;
        let compose = |c: &[AB::Expr]| {
            c[3..7].iter().rev().fold(AB::Expr::ZERO, |acc, l| {
                acc * AB::Expr::from_u64(256) + l.clone()
            })
        };
        builder
            .when_first_row()
            .assert_eq(local[1].clone(), local[0].clone());
        builder.assert_bool(local[2].clone());
        let (x, c) = (next[0].clone(), next[2].clone());
        let acc = local[1].clone();
        let chosen = c.clone() * x.clone() + (one.clone() - c.clone()) * acc.clone();
        builder.when_transition().assert_eq(
            next[1].clone(),
            first_next.clone() * x.clone() + (one.clone() - first_next.clone()) * chosen,
        );
        let diff =
            c.clone() * (x.clone() - acc.clone() - one.clone()) + (one.clone() - c) * (acc - x);
        builder
            .when_transition()
            .assert_zero((one - first_next) * (diff - compose(&next)));
        let read = || Count::bounded(-p[SEL].clone(), 1);
        for limb in &local[3..7] {
            builder.push_interaction(RANGE_BUS, [limb.clone()], read());
        }
        builder.push_interaction(
            TENSOR_BUS,
            [
                AB::Expr::from_u32(self.in_wire),
                p[IN_IDX].clone(),
                local[0].clone(),
            ],
            read(),
        );
        builder.push_interaction(
            TENSOR_BUS,
            [
                AB::Expr::from_u32(self.out_wire),
                p[OUT_IDX].clone(),
                local[1].clone(),
            ],
            Count::provided(p[MULT].clone()),
        );
    }
}
