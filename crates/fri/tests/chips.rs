//! Every chip against the integer reference: random tensors, prove, verify, compare.
#![allow(clippy::unwrap_used)]

mod common;

use common::{prove_and_verify, random, rng};
use zkmlops_field::Scale;
use zkmlops_fri::FriConfig;
use zkmlops_tensor::ops::{Conv2dParams, Rounding};
use zkmlops_tensor::{Op, ProgramBuilder, Tensor, Visibility};

const K: FriConfig = FriConfig::KECCAK;

fn s(bits: u32) -> Scale {
    Scale::new(bits).unwrap()
}

#[test]
fn matmul_and_gemm_variants() {
    let mut r = rng(1);
    for (trans_a, trans_b, bias) in [
        (false, false, false),
        (false, true, true),
        (true, false, true),
        (true, true, false),
    ] {
        let (m, k, n) = (3, 5, 7);
        let mut b = ProgramBuilder::new();
        let a_shape = if trans_a { [k, m] } else { [m, k] };
        let b_shape = if trans_b { [n, k] } else { [k, n] };
        let a = b.input("a", &a_shape, s(4), Visibility::Private);
        let w = b.input("w", &b_shape, s(4), Visibility::Private);
        let mut ins = vec![a, w];
        if bias {
            ins.push(b.input("bias", &[n], s(8), Visibility::Private));
        }
        let y = b.op("y", Op::Gemm { trans_a, trans_b }, &ins).unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let mut inputs = vec![
            random(&mut r, &a_shape, -200, 200),
            random(&mut r, &b_shape, -200, 200),
        ];
        if bias {
            inputs.push(random(&mut r, &[n], -5000, 5000));
        }
        prove_and_verify(&p, &inputs, K);
    }
    // plain MatMul with a wide output (several tiles) and public weights as a constant
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[2, 9], s(0), Visibility::Public);
    let w = b
        .constant("w", random(&mut r, &[9, 130], -9, 9), s(0))
        .unwrap();
    let y = b.op("y", Op::MatMul, &[a, w]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    prove_and_verify(
        &b.build().unwrap(),
        &[random(&mut r, &[2, 9], -100, 100)],
        K,
    );
}

#[test]
fn elementwise_with_broadcasting() {
    let mut r = rng(2);
    for op in [Op::Add, Op::Sub, Op::Mul] {
        let mut b = ProgramBuilder::new();
        let x = b.input("x", &[3, 4], s(2), Visibility::Private);
        let row = b.input("row", &[4], s(2), Visibility::Private);
        let col = b.input("col", &[3, 1], s(2), Visibility::Private);
        let y = b.op("y", op.clone(), &[x, row]).unwrap();
        b.output(y, Visibility::Public).unwrap();
        let z = b.op("z", op.clone(), &[col, row]).unwrap();
        b.output(z, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let inputs = [
            random(&mut r, &[3, 4], -1000, 1000),
            random(&mut r, &[4], -1000, 1000),
            random(&mut r, &[3, 1], -1000, 1000),
        ];
        prove_and_verify(&p, &inputs, K);
    }
}

#[test]
fn rescale_both_roundings_with_edges() {
    let mut r = rng(3);
    for rounding in [Rounding::Floor, Rounding::HalfUp] {
        for shift in [1u32, 8, 16] {
            let mut b = ProgramBuilder::new();
            let x = b.input("x", &[24], s(16), Visibility::Private);
            b.set_bits(x, 32).unwrap();
            let y = b.op("y", Op::Rescale { shift, rounding }, &[x]).unwrap();
            b.output(y, Visibility::Public).unwrap();
            let p = b.build().unwrap();
            let d = 1i64 << shift;
            let mut v = vec![
                0,
                1,
                -1,
                d / 2,
                -d / 2,
                d / 2 - 1,
                -(d / 2) - 1,
                d,
                -d,
                3 * d / 2,
                -3 * d / 2,
            ];
            v.extend(random(&mut r, &[13], -(1 << 30), 1 << 30).into_data());
            prove_and_verify(&p, &[Tensor::vector(v)], K);
        }
    }
}

#[test]
fn relu_edges() {
    let lim = (1i64 << 31) - 1;
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[10], s(0), Visibility::Private);
    b.set_bits(x, 32).unwrap();
    let y = b.op("y", Op::Relu, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let v = vec![
        0,
        1,
        -1,
        lim,
        -lim - 1,
        12345,
        -12345,
        1 << 15,
        -(1 << 15),
        1 << 16,
    ];
    let (w, _) = prove_and_verify(&p, &[Tensor::vector(v)], K);
    assert_eq!(
        w.get(y).unwrap().data(),
        &[0, 1, 0, lim, 0, 12345, 0, 1 << 15, 0, 1 << 16]
    );
}

#[test]
fn at_least_edges_and_its_limit() {
    // a - b at both ends of the signed 32-bit range the decomposition covers, ties, and a
    // broadcast operand.
    let lim = (1i64 << 31) - 1;
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[8], s(0), Visibility::Private);
    let t = b.input("t", &[8], s(0), Visibility::Private);
    let z = b.input("z", &[1], s(0), Visibility::Private);
    for id in [x, t, z] {
        b.set_bits(id, 32).unwrap();
    }
    let y = b.op("y", Op::AtLeast, &[x, t]).unwrap();
    let n = b.op("n", Op::AtLeast, &[x, z]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.output(n, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let xs = vec![0, 5, 5, lim, -lim - 1, -1, 0, 7];
    let ts = vec![0, 4, 6, 0, 0, 0, -lim - 1, 7];
    // The last two rows: 0 - (-2^31) = 2^31 does not fit; first prove without it.
    let mut ok_ts = ts.clone();
    ok_ts[6] = -lim;
    let (w, _) = prove_and_verify(
        &p,
        &[
            Tensor::vector(xs.clone()),
            Tensor::vector(ok_ts),
            Tensor::vector(vec![0]),
        ],
        K,
    );
    assert_eq!(w.get(y).unwrap().data(), &[1, 1, 0, 1, 0, 0, 1, 1]);
    assert_eq!(w.get(n).unwrap().data(), &[1, 1, 1, 1, 0, 0, 1, 1]);
    let w = p
        .evaluate(&[
            Tensor::vector(xs),
            Tensor::vector(ts),
            Tensor::vector(vec![0]),
        ])
        .unwrap();
    let err = zkmlops_proof::Backend::prove(
        &zkmlops_fri::FriBackend,
        &p,
        &w,
        zkmlops_proof::StageTag::Generic,
        K.name(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, zkmlops_proof::ProveError::Limit { tensor, value, .. } if tensor == "y" && *value == 1u128 << 31),
        "{err:?}"
    );
}

#[test]
fn sum_and_mean() {
    let mut r = rng(4);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[4, 3, 5], s(4), Visibility::Private);
    let outs = [
        b.op(
            "sum_rows",
            Op::Sum {
                axes: vec![0],
                keep_dims: false,
            },
            &[x],
        )
        .unwrap(),
        b.op(
            "sum_all",
            Op::Sum {
                axes: vec![],
                keep_dims: false,
            },
            &[x],
        )
        .unwrap(),
        b.op(
            "sum_02",
            Op::Sum {
                axes: vec![0, 2],
                keep_dims: true,
            },
            &[x],
        )
        .unwrap(),
        b.op(
            "mean_rows",
            Op::Mean {
                axes: vec![0],
                keep_dims: true,
                rounding: Rounding::HalfUp,
            },
            &[x],
        )
        .unwrap(),
        b.op(
            "mean_last",
            Op::Mean {
                axes: vec![2],
                keep_dims: false,
                rounding: Rounding::Floor,
            },
            &[x],
        )
        .unwrap(),
    ];
    for o in outs {
        b.output(o, Visibility::Public).unwrap();
    }
    prove_and_verify(
        &b.build().unwrap(),
        &[random(&mut r, &[4, 3, 5], -5000, 5000)],
        K,
    );
}

#[test]
fn data_movement() {
    let mut r = rng(5);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2, 3, 4], s(3), Visibility::Private);
    let y = b.input("y", &[2, 1, 4], s(3), Visibility::Private);
    let outs = [
        b.op("reshaped", Op::Reshape { shape: vec![6, 4] }, &[x])
            .unwrap(),
        b.op("flat", Op::Flatten { axis: 1 }, &[x]).unwrap(),
        b.op(
            "transposed",
            Op::Transpose {
                perm: vec![2, 0, 1],
            },
            &[x],
        )
        .unwrap(),
        b.op("cat", Op::Concat { axis: 1 }, &[x, y, x]).unwrap(),
        b.op(
            "sliced",
            Op::Slice {
                axis: 2,
                start: 1,
                end: 3,
            },
            &[x],
        )
        .unwrap(),
    ];
    for o in outs {
        b.output(o, Visibility::Public).unwrap();
    }
    let rescaled = b
        .op(
            "kept",
            Op::Rescale {
                shift: 0,
                rounding: Rounding::Floor,
            },
            &[x],
        )
        .unwrap();
    b.output(rescaled, Visibility::Public).unwrap();
    prove_and_verify(
        &b.build().unwrap(),
        &[
            random(&mut r, &[2, 3, 4], -99, 99),
            random(&mut r, &[2, 1, 4], -99, 99),
        ],
        K,
    );
}

#[test]
fn public_and_private_inputs_and_intermediates() {
    // A public input, a constant, private intermediates, a tensor read by three consumers.
    let mut r = rng(6);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 4], s(4), Visibility::Public);
    let c = b
        .constant("c", random(&mut r, &[4, 4], -16, 16), s(4))
        .unwrap();
    let h = b.op("h", Op::MatMul, &[x, c]).unwrap();
    let h2 = b
        .op(
            "h2",
            Op::Rescale {
                shift: 4,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let a = b.op("a", Op::Relu, &[h2]).unwrap();
    let sq = b.op("sq", Op::Mul, &[a, a]).unwrap();
    let t = b.op("t", Op::Add, &[a, h2]).unwrap();
    b.output(sq, Visibility::Public).unwrap();
    b.output(t, Visibility::Public).unwrap();
    prove_and_verify(&b.build().unwrap(), &[random(&mut r, &[1, 4], -64, 64)], K);
}

#[test]
fn conv2d_by_im2col() {
    let mut r = rng(7);
    let cases = [
        (Conv2dParams::default(), false),
        (
            Conv2dParams {
                pads: [1, 1, 1, 1],
                ..Default::default()
            },
            true,
        ),
        (
            Conv2dParams {
                strides: [2, 1],
                pads: [1, 0, 0, 1],
                dilations: [1, 2],
                groups: 1,
            },
            true,
        ),
    ];
    for (params, bias) in cases {
        let mut b = ProgramBuilder::new();
        let x = b.input("x", &[2, 3, 5, 6], s(4), Visibility::Private);
        let w = b.input("w", &[4, 3, 2, 3], s(4), Visibility::Private);
        let mut ins = vec![x, w];
        if bias {
            ins.push(b.input("bias", &[4], s(8), Visibility::Private));
        }
        let y = b.op("y", Op::Conv2d(params), &ins).unwrap();
        b.output(y, Visibility::Public).unwrap();
        let p = b.build().unwrap();
        let mut inputs = vec![
            random(&mut r, &[2, 3, 5, 6], -64, 64),
            random(&mut r, &[4, 3, 2, 3], -64, 64),
        ];
        if bias {
            inputs.push(random(&mut r, &[4], -4096, 4096));
        }
        prove_and_verify(&p, &inputs, K);
    }
}

#[test]
fn small_cnn() {
    // conv -> rescale -> relu -> flatten -> gemm: the shape of the digits CNN.
    let mut r = rng(8);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 1, 8, 8], s(8), Visibility::Private);
    let k = b.input("k", &[4, 1, 3, 3], s(8), Visibility::Private);
    let kb = b.input("kb", &[4], s(16), Visibility::Private);
    let h = b
        .op(
            "conv",
            Op::Conv2d(Conv2dParams {
                pads: [1; 4],
                ..Default::default()
            }),
            &[x, k, kb],
        )
        .unwrap();
    let h = b
        .op(
            "conv8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let h = b.op("relu", Op::Relu, &[h]).unwrap();
    let f = b.op("flat", Op::Flatten { axis: 1 }, &[h]).unwrap();
    let w = b.input("w", &[10, 256], s(8), Visibility::Private);
    let y = b
        .op(
            "logits",
            Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &[f, w],
        )
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    let inputs = [
        random(&mut r, &[1, 1, 8, 8], 0, 256),
        random(&mut r, &[4, 1, 3, 3], -128, 128),
        random(&mut r, &[4], -65536, 65536),
        random(&mut r, &[10, 256], -32, 32),
    ];
    prove_and_verify(&b.build().unwrap(), &inputs, K);
}

#[test]
fn max_and_average_pooling() {
    let mut r = rng(9);
    use zkmlops_tensor::ops::Pool2dParams;
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 2, 5, 5], s(4), Visibility::Private);
    let p2 = Pool2dParams {
        kernel: [2, 2],
        strides: [2, 2],
        pads: [0; 4],
    };
    let p3 = Pool2dParams {
        kernel: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
    };
    let outs = [
        b.op("max2", Op::MaxPool2d(p2), &[x]).unwrap(),
        b.op("max3", Op::MaxPool2d(p3), &[x]).unwrap(),
        b.op(
            "avg3",
            Op::AvgPool2d {
                params: p3,
                rounding: Rounding::HalfUp,
            },
            &[x],
        )
        .unwrap(),
        b.op(
            "gap",
            Op::AvgPool2d {
                params: Pool2dParams {
                    kernel: [5, 5],
                    strides: [1, 1],
                    pads: [0; 4],
                },
                rounding: Rounding::Floor,
            },
            &[x],
        )
        .unwrap(),
    ];
    for o in outs {
        b.output(o, Visibility::Public).unwrap();
    }
    prove_and_verify(
        &b.build().unwrap(),
        &[random(&mut r, &[1, 2, 5, 5], -1000, 1000)],
        K,
    );
}

#[test]
fn circuit_stats_name_each_instance_and_the_tensor_it_produces() {
    let s = Scale::new(4).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 3], s, Visibility::Public);
    let w = b.input("w", &[3, 2], s, Visibility::Private);
    let h = b.op("h", Op::MatMul, &[x, w]).unwrap();
    let y = b.op("y", Op::Relu, &[h]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let stats = zkmlops_fri::circuit_stats(&p, FriConfig::KECCAK).unwrap();
    let named: Vec<(&str, Option<&str>)> = stats
        .iter()
        .map(|s| (s.kind, s.tensor.as_deref()))
        .collect();
    assert!(named.contains(&("public-source", Some("x"))), "{named:?}");
    assert!(named.contains(&("gemm", Some("h"))), "{named:?}");
    assert!(named.contains(&("relu", Some("y"))), "{named:?}");
    assert!(named.contains(&("public-sink", Some("y"))), "{named:?}");
    assert!(named.contains(&("range", None)), "{named:?}");
    assert!(stats.iter().all(|s| s.width > 0 && s.log_height <= 26));
}
