//! Matrix products.

use super::elementwise::broadcast_index_map;
use crate::tensor::fit;
use crate::{OpError, Tensor};

fn rank2(op: &'static str, input: usize, s: &[usize]) -> Result<(usize, usize), OpError> {
    match s {
        [r, c] => Ok((*r, *c)),
        _ => Err(OpError::Rank {
            op,
            input,
            expected: 2,
            got: s.to_vec(),
        }),
    }
}

/// Output shape of `matmul`: `[m, k] x [k, n] -> [m, n]`.
///
/// # Errors
/// [`OpError::Rank`] unless both inputs are matrices, [`OpError::Incompatible`] when the inner
/// dimensions differ.
pub fn matmul_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, OpError> {
    gemm_shape(a, b, None, false, false)
}

/// Output shape of `gemm`: `op(A) x op(B) (+ C)`, where `op` transposes when asked and `C`
/// broadcasts (numpy rules) to `[m, n]`.
///
/// # Errors
/// [`OpError::Rank`], [`OpError::Incompatible`] for mismatched inner dimensions or a bias that
/// does not broadcast to `[m, n]`.
pub fn gemm_shape(
    a: &[usize],
    b: &[usize],
    bias: Option<&[usize]>,
    trans_a: bool,
    trans_b: bool,
) -> Result<Vec<usize>, OpError> {
    const OP: &str = "gemm";
    let (m, ka) = rank2(OP, 0, a)?;
    let (m, ka) = if trans_a { (ka, m) } else { (m, ka) };
    let (kb, n) = rank2(OP, 1, b)?;
    let (kb, n) = if trans_b { (n, kb) } else { (kb, n) };
    if ka != kb {
        return Err(OpError::Incompatible {
            op: OP,
            lhs: a.to_vec(),
            rhs: b.to_vec(),
        });
    }
    let out = vec![m, n];
    if let Some(c) = bias
        && super::broadcast_shape(c, &out).ok().as_deref() != Some(out.as_slice())
    {
        return Err(OpError::Incompatible {
            op: OP,
            lhs: out,
            rhs: c.to_vec(),
        });
    }
    Ok(out)
}

/// `A x B` for matrices `A: [m, k]`, `B: [k, n]`.
///
/// # Errors
/// As [`matmul_shape`], plus [`OpError::Overflow`].
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor, OpError> {
    gemm(a, b, None, false, false)
}

/// `op(A) x op(B) + C`, with `op` an optional transpose and `C` an optional bias broadcast to
/// the output (ONNX `Gemm` with `alpha = beta = 1`).
///
/// # Errors
/// As [`gemm_shape`], plus [`OpError::Overflow`] naming the first output element that leaves
/// the fixed-point range.
pub fn gemm(
    a: &Tensor,
    b: &Tensor,
    bias: Option<&Tensor>,
    trans_a: bool,
    trans_b: bool,
) -> Result<Tensor, OpError> {
    const OP: &str = "gemm";
    let out_shape = gemm_shape(
        a.shape(),
        b.shape(),
        bias.map(Tensor::shape),
        trans_a,
        trans_b,
    )?;
    let (m, n) = (out_shape[0], out_shape[1]);
    let k = if trans_a { a.shape()[0] } else { a.shape()[1] };
    let (ad, bd) = (a.data(), b.data());
    let a_at = |i: usize, l: usize| {
        if trans_a {
            ad[l * m + i]
        } else {
            ad[i * k + l]
        }
    };
    let b_at = |l: usize, j: usize| {
        if trans_b {
            bd[j * k + l]
        } else {
            bd[l * n + j]
        }
    };
    let bias_map = bias.map(|c| (c.data(), broadcast_index_map(c.shape(), &out_shape)));
    let mut out = Vec::with_capacity(m * n);
    for i in 0..m {
        for j in 0..n {
            let idx = i * n + j;
            let mut acc: i128 = match &bias_map {
                Some((cd, map)) => i128::from(cd[map[idx]]),
                None => 0,
            };
            for l in 0..k {
                let p = i128::from(a_at(i, l)) * i128::from(b_at(l, j));
                acc = acc
                    .checked_add(p)
                    .ok_or(OpError::Overflow { op: OP, index: idx })?;
            }
            out.push(fit(OP, idx, acc)?);
        }
    }
    Tensor::new(out_shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matmul_hand_vector() {
        let a = Tensor::matrix(&[[1, -2, 3], [0, 4, -5]]).unwrap();
        let b = Tensor::matrix(&[[2, 0], [-1, 1], [3, -3]]).unwrap();
        // [1*2 + -2*-1 + 3*3, 0 + -2 + -9] = [13, -11]; [0 - 4 - 15, 0 + 4 + 15] = [-19, 19]
        assert_eq!(
            matmul(&a, &b).unwrap(),
            Tensor::matrix(&[[13, -11], [-19, 19]]).unwrap()
        );
    }

    #[test]
    fn gemm_transposes_and_bias() {
        let a = Tensor::matrix(&[[1, 2], [3, 4]]).unwrap();
        let bt = Tensor::matrix(&[[5, 6], [7, 8]]).unwrap(); // B^T
        let bias = Tensor::vector(vec![100, -100]);
        let y = gemm(&a, &bt, Some(&bias), false, true).unwrap();
        // A x B with B = [[5,7],[6,8]]: [[17, 23], [39, 53]]
        assert_eq!(y, Tensor::matrix(&[[117, -77], [139, -47]]).unwrap());
        let y = gemm(&a, &bt, None, true, false).unwrap();
        // A^T = [[1,3],[2,4]]; A^T x [[5,6],[7,8]] = [[26, 30], [38, 44]]
        assert_eq!(y, Tensor::matrix(&[[26, 30], [38, 44]]).unwrap());
        let col_bias = Tensor::new(vec![2, 1], vec![1, 2]).unwrap();
        let y = gemm(&a, &bt, Some(&col_bias), false, true).unwrap();
        assert_eq!(y, Tensor::matrix(&[[18, 24], [41, 55]]).unwrap());
    }

    #[test]
    fn shape_errors() {
        let a = Tensor::matrix(&[[1, 2]]).unwrap();
        assert!(matches!(matmul(&a, &a), Err(OpError::Incompatible { .. })));
        assert!(matches!(
            matmul(&Tensor::vector(vec![1]), &a),
            Err(OpError::Rank { .. })
        ));
        let bad_bias = Tensor::vector(vec![1, 2, 3]);
        let b = Tensor::matrix(&[[1], [2]]).unwrap();
        assert!(matches!(
            gemm(&a, &b, Some(&bad_bias), false, false),
            Err(OpError::Incompatible { .. })
        ));
    }

    #[test]
    fn overflow_names_the_element() {
        let big = zkmlops_field::MAX_ABS;
        let a = Tensor::matrix(&[[1, 1], [big, 1]]).unwrap();
        let b = Tensor::matrix(&[[1], [1]]).unwrap();
        assert_eq!(
            matmul(&a, &b),
            Err(OpError::Overflow {
                op: "gemm",
                index: 1
            })
        );
        // Products beyond i64 are fine as long as the sum comes back in range.
        let a = Tensor::matrix(&[[big, -big]]).unwrap();
        let b = Tensor::matrix(&[[big], [big]]).unwrap();
        assert_eq!(matmul(&a, &b).unwrap().data(), &[0]);
    }
}
