//! Algebraic identities of the reference ops on small random integers.

#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss
)]

use proptest::prelude::*;
use zkmlops_tensor::Tensor;
use zkmlops_tensor::ops::{self, Conv2dParams, Rounding};

fn matrix(rows: usize, cols: usize) -> impl Strategy<Value = Tensor> {
    prop::collection::vec(-50i64..50, rows * cols)
        .prop_map(move |d| Tensor::new(vec![rows, cols], d).unwrap())
}

/// im2col: the convolution as a matrix product of unfolded patches and flattened kernels.
fn conv_by_im2col(x: &Tensor, w: &Tensor, p: &Conv2dParams) -> Tensor {
    let [n, c, h, wd] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let [o, _, kh, kw] = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
    let out = ops::conv2d_shape(x.shape(), w.shape(), None, p).unwrap();
    let (oh, ow) = (out[2], out[3]);
    let mut cols = Vec::new(); // rows: (b, oy, ox); cols: (c, ky, kx)
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ci in 0..c {
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * p.strides[0] + ky * p.dilations[0]) as isize
                                - p.pads[0] as isize;
                            let ix = (ox * p.strides[1] + kx * p.dilations[1]) as isize
                                - p.pads[1] as isize;
                            let v = if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd
                            {
                                x.get(&[b, ci, iy as usize, ix as usize]).unwrap()
                            } else {
                                0
                            };
                            cols.push(v);
                        }
                    }
                }
            }
        }
    }
    let patches = Tensor::new(vec![n * oh * ow, c * kh * kw], cols).unwrap();
    let kernels = ops::reshape(w, &[o, c * kh * kw]).unwrap();
    let y = ops::gemm(&patches, &kernels, None, false, true).unwrap(); // [(b,oy,ox), o]
    let y = ops::reshape(&y, &[n, oh, ow, o]).unwrap();
    ops::transpose(&y, &[0, 3, 1, 2]).unwrap()
}

proptest! {
    #[test]
    fn matmul_is_associative(a in matrix(3, 4), b in matrix(4, 2), c in matrix(2, 5)) {
        let left = ops::matmul(&ops::matmul(&a, &b).unwrap(), &c).unwrap();
        let right = ops::matmul(&a, &ops::matmul(&b, &c).unwrap()).unwrap();
        prop_assert_eq!(left, right);
    }

    #[test]
    fn matmul_transpose_identity(a in matrix(3, 4), b in matrix(4, 2)) {
        // (AB)^T = B^T A^T, and gemm's transpose flags agree with explicit transposes
        let ab_t = ops::transpose(&ops::matmul(&a, &b).unwrap(), &[1, 0]).unwrap();
        let bt = ops::transpose(&b, &[1, 0]).unwrap();
        let at = ops::transpose(&a, &[1, 0]).unwrap();
        prop_assert_eq!(&ab_t, &ops::matmul(&bt, &at).unwrap());
        prop_assert_eq!(&ab_t, &ops::gemm(&b, &a, None, true, true).unwrap());
    }

    #[test]
    fn conv2d_equals_im2col_matmul(
        xs in prop::collection::vec(-20i64..20, 2 * 2 * 5 * 6),
        ws in prop::collection::vec(-5i64..5, 3 * 2 * 2 * 3),
        stride in 1usize..3, dil in 1usize..3, pad in 0usize..2,
    ) {
        let x = Tensor::new(vec![2, 2, 5, 6], xs).unwrap();
        let w = Tensor::new(vec![3, 2, 2, 3], ws).unwrap();
        let p = Conv2dParams { strides: [stride, 1], pads: [pad, 0, pad, 1], dilations: [dil, 1], groups: 1 };
        prop_assert_eq!(ops::conv2d(&x, &w, None, &p).unwrap(), conv_by_im2col(&x, &w, &p));
    }

    #[test]
    fn add_sub_inverse_and_mul_distributes(a in matrix(2, 3), b in matrix(2, 3), c in matrix(1, 3)) {
        prop_assert_eq!(ops::sub(&ops::add(&a, &b).unwrap(), &b).unwrap(), a.clone());
        let left = ops::mul(&ops::add(&a, &b).unwrap(), &c).unwrap();
        let right = ops::add(&ops::mul(&a, &c).unwrap(), &ops::mul(&b, &c).unwrap()).unwrap();
        prop_assert_eq!(left, right);
    }

    #[test]
    fn rescale_matches_the_division_identity(v in -1_000_000i64..1_000_000, k in 0u32..20) {
        // n + o = q * 2^k + r with 0 <= r < 2^k, o = 0 (floor) or 2^(k-1) (half up)
        let d = 1i64 << k;
        for (mode, o) in [(Rounding::Floor, 0), (Rounding::HalfUp, d / 2)] {
            let q = ops::rescale(&Tensor::scalar(v), k, mode).unwrap().data()[0];
            let r = v + o - q * d;
            prop_assert!((0..d).contains(&r), "mode {:?}: {} = {} * {} + {}", mode, v, q, d, r);
        }
    }

    #[test]
    fn sum_all_equals_sum_of_row_sums(a in matrix(4, 5)) {
        let total = ops::sum(&a, &[], false).unwrap();
        let rows = ops::sum(&a, &[1], false).unwrap();
        prop_assert_eq!(total, ops::sum(&rows, &[0], false).unwrap());
    }

    #[test]
    fn concat_then_slice_recovers(a in matrix(2, 3), b in matrix(2, 4)) {
        let c = ops::concat(&[&a, &b], 1).unwrap();
        prop_assert_eq!(ops::slice(&c, 1, 0, 3).unwrap(), a);
        prop_assert_eq!(ops::slice(&c, 1, 3, 7).unwrap(), b);
    }

    #[test]
    fn relu_max_pool_commute(xs in prop::collection::vec(-30i64..30, 16)) {
        let x = Tensor::new(vec![1, 1, 4, 4], xs).unwrap();
        let p = ops::Pool2dParams { kernel: [2, 2], strides: [2, 2], pads: [0; 4] };
        prop_assert_eq!(
            ops::relu(&ops::max_pool2d(&x, &p).unwrap()),
            ops::max_pool2d(&ops::relu(&x), &p).unwrap()
        );
    }
}
