//! 2-D convolution (ONNX `Conv`, NCHW layout).

use serde::{Deserialize, Serialize};

use crate::tensor::fit;
use crate::{OpError, Tensor};

/// Parameters of a 2-D convolution, as ONNX `Conv` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conv2dParams {
    /// Stride along height and width.
    pub strides: [usize; 2],
    /// Zero padding: top, left, bottom, right.
    pub pads: [usize; 4],
    /// Dilation along height and width.
    pub dilations: [usize; 2],
    /// Number of groups: input and output channels are split into this many groups.
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Conv2dParams {
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            groups: 1,
        }
    }
}

fn usize_param(op: &'static str, param: &'static str, v: usize) -> OpError {
    OpError::Param {
        op,
        param,
        value: i64::try_from(v).unwrap_or(i64::MAX),
    }
}

/// Output length of one spatial axis, or `None` when the (dilated) kernel does not fit.
pub(crate) fn out_len(
    input: usize,
    pad: usize,
    kernel: usize,
    dilation: usize,
    stride: usize,
) -> Option<usize> {
    let span = dilation
        .checked_mul(kernel.checked_sub(1)?)?
        .checked_add(1)?;
    let padded = input.checked_add(pad)?;
    Some(padded.checked_sub(span)? / stride + 1)
}

/// Output shape of [`conv2d`]: input `[N, C, H, W]`, weight `[O, C / groups, KH, KW]`, optional
/// bias `[O]` -> `[N, O, OH, OW]`.
///
/// # Errors
/// [`OpError::Rank`], [`OpError::Incompatible`] for channel mismatches, [`OpError::Param`] for a
/// zero stride/dilation/group count, groups that do not divide the channels, or a kernel larger
/// than the padded input.
pub fn conv2d_shape(
    x: &[usize],
    w: &[usize],
    bias: Option<&[usize]>,
    p: &Conv2dParams,
) -> Result<Vec<usize>, OpError> {
    const OP: &str = "conv2d";
    let [n, c, h, wd] = *x else {
        return Err(OpError::Rank {
            op: OP,
            input: 0,
            expected: 4,
            got: x.to_vec(),
        });
    };
    let [o, cg, kh, kw] = *w else {
        return Err(OpError::Rank {
            op: OP,
            input: 1,
            expected: 4,
            got: w.to_vec(),
        });
    };
    for (name, v) in [
        ("stride", p.strides[0]),
        ("stride", p.strides[1]),
        ("dilation", p.dilations[0]),
        ("dilation", p.dilations[1]),
        ("groups", p.groups),
    ] {
        if v == 0 {
            return Err(usize_param(OP, name, v));
        }
    }
    if c % p.groups != 0 || o % p.groups != 0 {
        return Err(usize_param(OP, "groups", p.groups));
    }
    if cg != c / p.groups || kh == 0 || kw == 0 {
        return Err(OpError::Incompatible {
            op: OP,
            lhs: x.to_vec(),
            rhs: w.to_vec(),
        });
    }
    if let Some(b) = bias
        && b != [o]
    {
        return Err(OpError::Incompatible {
            op: OP,
            lhs: w.to_vec(),
            rhs: b.to_vec(),
        });
    }
    let oh = out_len(h, p.pads[0] + p.pads[2], kh, p.dilations[0], p.strides[0])
        .ok_or_else(|| usize_param(OP, "kernel_height", kh))?;
    let ow = out_len(wd, p.pads[1] + p.pads[3], kw, p.dilations[1], p.strides[1])
        .ok_or_else(|| usize_param(OP, "kernel_width", kw))?;
    Ok(vec![n, o, oh, ow])
}

/// 2-D convolution (cross-correlation, as ONNX and every ML framework define it) with zero
/// padding, stride, dilation and groups.
///
/// # Errors
/// As [`conv2d_shape`], plus [`OpError::Overflow`].
pub fn conv2d(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
    p: &Conv2dParams,
) -> Result<Tensor, OpError> {
    const OP: &str = "conv2d";
    let shape = conv2d_shape(x.shape(), w.shape(), bias.map(Tensor::shape), p)?;
    let [n, o, oh, ow] = [shape[0], shape[1], shape[2], shape[3]];
    let [_, c, h, wd] = [x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]];
    let [_, cg, kh, kw] = [w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]];
    let og = o / p.groups;
    let (xd, wdat) = (x.data(), w.data());
    let mut out = Vec::with_capacity(n * o * oh * ow);
    for b in 0..n {
        for oc in 0..o {
            let g = oc / og;
            for oy in 0..oh {
                for ox in 0..ow {
                    let idx = out.len();
                    let mut acc = bias.map_or(0i128, |t| i128::from(t.data()[oc]));
                    for ic in 0..cg {
                        let cin = g * cg + ic;
                        for ky in 0..kh {
                            let iy =
                                (oy * p.strides[0] + ky * p.dilations[0]).checked_sub(p.pads[0]);
                            let Some(iy) = iy.filter(|&v| v < h) else {
                                continue;
                            };
                            for kx in 0..kw {
                                let ix = (ox * p.strides[1] + kx * p.dilations[1])
                                    .checked_sub(p.pads[1]);
                                let Some(ix) = ix.filter(|&v| v < wd) else {
                                    continue;
                                };
                                let xv = xd[((b * c + cin) * h + iy) * wd + ix];
                                let wv = wdat[((oc * cg + ic) * kh + ky) * kw + kx];
                                acc = acc
                                    .checked_add(i128::from(xv) * i128::from(wv))
                                    .ok_or(OpError::Overflow { op: OP, index: idx })?;
                            }
                        }
                    }
                    out.push(fit(OP, idx, acc)?);
                }
            }
        }
    }
    Tensor::new(shape, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: &[usize], data: Vec<i64>) -> Tensor {
        Tensor::new(shape.to_vec(), data).unwrap()
    }

    #[test]
    fn conv_hand_vector_3x3_with_padding() {
        // 1x1x3x3 input, 1x1x2x2 kernel, pad 1 on every side, stride 1 -> 4x4
        let x = t(&[1, 1, 3, 3], vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let w = t(&[1, 1, 2, 2], vec![1, -1, 2, 0]);
        let p = Conv2dParams {
            pads: [1, 1, 1, 1],
            ..Default::default()
        };
        let y = conv2d(&x, &w, Some(&Tensor::vector(vec![10])), &p).unwrap();
        assert_eq!(y.shape(), &[1, 1, 4, 4]);
        // y[0][0]: window rows -1..0, cols -1..0 -> only x[0][0]*w[1][1] = 1*0 = 0 -> 10
        // y[1][1]: x[0][0]*1 + x[0][1]*-1 + x[1][0]*2 + x[1][1]*0 = 1 - 2 + 8 = 7 -> 17
        // y[3][3]: only x[2][2]*w[0][0] = 9 -> 19
        assert_eq!(y.get(&[0, 0, 0, 0]), Some(10));
        assert_eq!(y.get(&[0, 0, 1, 1]), Some(17));
        assert_eq!(y.get(&[0, 0, 3, 3]), Some(19));
        // y[0][1]: row -1 is padding; row 0: x[0][0]*w[1][0] + x[0][1]*w[1][1] = 1*2 + 0 = 2 -> 12
        assert_eq!(y.get(&[0, 0, 0, 1]), Some(12));
    }

    #[test]
    fn stride_dilation_groups() {
        // 2 channels, depthwise (groups = 2), kernel 1x1 with weights 3 and -2, stride 2
        let x = t(&[1, 2, 3, 3], (0..18).collect());
        let w = t(&[2, 1, 1, 1], vec![3, -2]);
        let p = Conv2dParams {
            strides: [2, 2],
            groups: 2,
            ..Default::default()
        };
        let y = conv2d(&x, &w, None, &p).unwrap();
        assert_eq!(y.shape(), &[1, 2, 2, 2]);
        assert_eq!(y.data(), &[0, 6, 18, 24, -18, -22, -30, -34]);
        // dilation 2 on a 3x3 input with a 2x2 kernel touches the corners only
        let x = t(&[1, 1, 3, 3], vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let w = t(&[1, 1, 2, 2], vec![1, 1, 1, 1]);
        let p = Conv2dParams {
            dilations: [2, 2],
            ..Default::default()
        };
        assert_eq!(conv2d(&x, &w, None, &p).unwrap().data(), &[1 + 3 + 7 + 9]);
    }

    #[test]
    fn shape_errors() {
        let x = t(&[1, 2, 3, 3], vec![0; 18]);
        let w = t(&[1, 1, 4, 4], vec![0; 16]);
        assert!(matches!(
            conv2d(&x, &w, None, &Conv2dParams::default()),
            Err(OpError::Incompatible { .. })
        ));
        let w = t(&[1, 2, 4, 4], vec![0; 32]);
        assert!(matches!(
            conv2d(&x, &w, None, &Conv2dParams::default()),
            Err(OpError::Param { .. })
        ));
        let w = t(&[1, 2, 1, 1], vec![0; 2]);
        let p = Conv2dParams {
            strides: [0, 1],
            ..Default::default()
        };
        assert!(matches!(
            conv2d(&x, &w, None, &p),
            Err(OpError::Param {
                param: "stride",
                ..
            })
        ));
        let p = Conv2dParams {
            groups: 3,
            ..Default::default()
        };
        assert!(matches!(
            conv2d(&x, &w, None, &p),
            Err(OpError::Param {
                param: "groups",
                ..
            })
        ));
    }
}
