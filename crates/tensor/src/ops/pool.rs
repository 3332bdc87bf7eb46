//! 2-D pooling (ONNX `MaxPool` / `AveragePool`, NCHW layout).

use serde::{Deserialize, Serialize};

use super::conv::out_len;
use super::{Rounding, div_round};
use crate::tensor::fit;
use crate::{OpError, Tensor};

/// Parameters of a 2-D pooling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Pool2dParams {
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub strides: [usize; 2],
    /// Padding: top, left, bottom, right. Padded cells never take part (ONNX semantics for
    /// max pooling, and `count_include_pad = 0` for average pooling); each pad must be smaller
    /// than the kernel so no window is all padding.
    pub pads: [usize; 4],
}

/// Output shape of a pooling op: `[N, C, H, W] -> [N, C, OH, OW]`.
///
/// # Errors
/// [`OpError::Rank`], [`OpError::Param`] for a zero kernel or stride, a pad not smaller than the
/// kernel, or a window larger than the padded input.
pub fn pool2d_shape(
    op: &'static str,
    x: &[usize],
    p: &Pool2dParams,
) -> Result<Vec<usize>, OpError> {
    let [n, c, h, w] = *x else {
        return Err(OpError::Rank {
            op,
            input: 0,
            expected: 4,
            got: x.to_vec(),
        });
    };
    let param = |name, v: usize| OpError::Param {
        op,
        param: name,
        value: i64::try_from(v).unwrap_or(i64::MAX),
    };
    for ax in 0..2 {
        if p.kernel[ax] == 0 {
            return Err(param("kernel", 0));
        }
        if p.strides[ax] == 0 {
            return Err(param("stride", 0));
        }
        if p.pads[ax] >= p.kernel[ax] || p.pads[ax + 2] >= p.kernel[ax] {
            return Err(param("pad", p.pads[ax].max(p.pads[ax + 2])));
        }
    }
    let oh = out_len(h, p.pads[0] + p.pads[2], p.kernel[0], 1, p.strides[0])
        .ok_or_else(|| param("kernel", p.kernel[0]))?;
    let ow = out_len(w, p.pads[1] + p.pads[3], p.kernel[1], 1, p.strides[1])
        .ok_or_else(|| param("kernel", p.kernel[1]))?;
    Ok(vec![n, c, oh, ow])
}

/// For each output cell (row-major over `[N, C, OH, OW]`), the flat input indices of its
/// window's valid (unpadded) cells. Backends group exactly as the reference does with this.
///
/// # Errors
/// As [`pool2d_shape`].
pub fn pool2d_windows(
    op: &'static str,
    shape: &[usize],
    p: &Pool2dParams,
) -> Result<Vec<Vec<usize>>, OpError> {
    let out = pool2d_shape(op, shape, p)?;
    let [n, c, oh, ow] = [out[0], out[1], out[2], out[3]];
    let [h, w] = [shape[2], shape[3]];
    let mut windows = Vec::with_capacity(n * c * oh * ow);
    for plane in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let base = plane * h * w;
                let cells = (0..p.kernel[0]).flat_map(|ky| {
                    (0..p.kernel[1]).filter_map(move |kx| {
                        let iy = (oy * p.strides[0] + ky)
                            .checked_sub(p.pads[0])
                            .filter(|&v| v < h)?;
                        let ix = (ox * p.strides[1] + kx)
                            .checked_sub(p.pads[1])
                            .filter(|&v| v < w)?;
                        Some(base + iy * w + ix)
                    })
                });
                windows.push(cells.collect());
            }
        }
    }
    Ok(windows)
}

/// Visit each output cell's window of valid (unpadded) input values.
fn pool(
    op: &'static str,
    x: &Tensor,
    p: &Pool2dParams,
    mut reduce: impl FnMut(usize, &mut dyn Iterator<Item = i64>) -> Result<i64, OpError>,
) -> Result<Tensor, OpError> {
    let shape = pool2d_shape(op, x.shape(), p)?;
    let xd = x.data();
    let out = pool2d_windows(op, x.shape(), p)?
        .iter()
        .enumerate()
        .map(|(i, win)| reduce(i, &mut win.iter().map(|&j| xd[j])))
        .collect::<Result<Vec<_>, _>>()?;
    Tensor::new(shape, out)
}

/// Max pooling over each window's valid cells.
///
/// # Errors
/// As [`pool2d_shape`].
pub fn max_pool2d(x: &Tensor, p: &Pool2dParams) -> Result<Tensor, OpError> {
    const OP: &str = "max_pool2d";
    pool(OP, x, p, |i, it| {
        it.max().ok_or(OpError::Overflow { op: OP, index: i })
    })
}

/// Average pooling: the sum of each window's valid cells divided by their count, rounded as
/// `rounding` says (see [`div_round`]).
///
/// # Errors
/// As [`pool2d_shape`], plus [`OpError::Overflow`].
pub fn avg_pool2d(x: &Tensor, p: &Pool2dParams, rounding: Rounding) -> Result<Tensor, OpError> {
    const OP: &str = "avg_pool2d";
    pool(OP, x, p, |i, it| {
        let (mut sum, mut count) = (0i128, 0i128);
        for v in it {
            sum += i128::from(v);
            count += 1;
        }
        let q = div_round(sum, count, rounding).ok_or(OpError::Overflow { op: OP, index: i })?;
        fit(OP, i, q)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_and_avg_hand_vectors() {
        let x = Tensor::new(
            vec![1, 1, 4, 4],
            vec![1, 2, 3, 4, 5, 6, 7, 8, -9, -10, -11, -12, 13, 14, 15, -16],
        )
        .unwrap();
        let p = Pool2dParams {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
        };
        assert_eq!(max_pool2d(&x, &p).unwrap().data(), &[6, 8, 14, 15]);
        // sums: 14, 22, 8, -24 over 4 cells: 3.5 -> 4, 5.5 -> 6, 2, -6
        assert_eq!(
            avg_pool2d(&x, &p, Rounding::HalfUp).unwrap().data(),
            &[4, 6, 2, -6]
        );
        assert_eq!(
            avg_pool2d(&x, &p, Rounding::Floor).unwrap().data(),
            &[3, 5, 2, -6]
        );
    }

    #[test]
    fn padding_is_ignored() {
        let x = Tensor::new(vec![1, 1, 2, 2], vec![-1, -2, -3, -4]).unwrap();
        let p = Pool2dParams {
            kernel: [2, 2],
            strides: [1, 1],
            pads: [1, 1, 0, 0],
        };
        // windows: {-1}, {-1,-2}, {-1,-3}, {-1,-2,-3,-4}
        assert_eq!(max_pool2d(&x, &p).unwrap().data(), &[-1, -1, -1, -1]);
        // averages: -1, -1.5 -> -1 (ties up), -2, -2.5 -> -2
        assert_eq!(
            avg_pool2d(&x, &p, Rounding::HalfUp).unwrap().data(),
            &[-1, -1, -2, -2]
        );
    }

    #[test]
    fn bad_params() {
        let x = Tensor::new(vec![1, 1, 2, 2], vec![0; 4]).unwrap();
        let p = Pool2dParams {
            kernel: [2, 2],
            strides: [1, 1],
            pads: [2, 0, 0, 0],
        };
        assert!(matches!(
            max_pool2d(&x, &p),
            Err(OpError::Param { param: "pad", .. })
        ));
        let p = Pool2dParams {
            kernel: [3, 3],
            strides: [1, 1],
            pads: [0; 4],
        };
        assert!(matches!(
            max_pool2d(&x, &p),
            Err(OpError::Param {
                param: "kernel",
                ..
            })
        ));
        let p = Pool2dParams {
            kernel: [1, 1],
            strides: [0, 1],
            pads: [0; 4],
        };
        assert!(matches!(
            max_pool2d(&x, &p),
            Err(OpError::Param {
                param: "stride",
                ..
            })
        ));
    }
}
