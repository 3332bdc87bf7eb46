//! Nonlinearities by table lookup: every function against its reference, at and beyond the
//! domain's ends, end to end in an MLP, and the soundness tampers.
#![allow(clippy::unwrap_used)]

mod common;

use common::{prove_and_verify, random, rng};
use zkmlops_field::Scale;
use zkmlops_fri::testing::{Tamper, instances, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_lookup::{Function, TableSpec};
use zkmlops_proof::{Backend, ProveError, StageTag, StatementError, VerifyError, VerifyPolicy};
use zkmlops_tensor::ops::Rounding;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility};

const K: FriConfig = FriConfig::KECCAK;

fn s8() -> Scale {
    Scale::new(8).unwrap()
}

fn spec(f: Function) -> TableSpec {
    let (lo, hi) = f.grid_domain(8);
    TableSpec::new(f, s8(), s8(), lo, hi).unwrap()
}

fn one_op(spec: TableSpec, n: usize) -> Program {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[n], s8(), Visibility::Private);
    // Inputs far outside the table's domain too.
    b.set_bits(x, 40).unwrap();
    let y = b.op("y", Op::Lookup(spec), &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

#[test]
fn every_function_matches_its_reference_inside_at_and_beyond_the_domain() {
    let mut r = rng(11);
    for f in Function::ALL {
        let t = spec(f);
        let mut xs = vec![
            t.lo,
            t.hi,
            t.lo - 1,
            t.hi + 1,
            t.lo - 100_000,
            t.hi + 100_000,
            t.lo - (1 << 31),
            t.hi + (1 << 31),
        ];
        xs.extend(random(&mut r, &[24], t.lo, t.hi + 1).into_data());
        let p = one_op(t, xs.len());
        let (w, _) = prove_and_verify(&p, &[Tensor::vector(xs.clone())], K);
        let expected: Vec<i64> = xs.iter().map(|&x| t.eval(x)).collect();
        assert_eq!(
            w.get(p.outputs()[0]).unwrap().data(),
            expected.as_slice(),
            "{}",
            f.name()
        );
    }
}

#[test]
fn inputs_too_far_outside_the_domain_are_a_typed_error() {
    let t = spec(Function::Sigmoid);
    let p = one_op(t, 2);
    let w = p
        .evaluate(&[Tensor::vector(vec![0, t.hi + (1 << 33)])])
        .unwrap();
    let err = FriBackend
        .prove(&p, &w, StageTag::Generic, K.name())
        .unwrap_err();
    assert!(
        matches!(&err, ProveError::Limit { tensor, .. } if tensor == "y"),
        "{err:?}"
    );
}

/// gemm -> rescale -> sigmoid -> gemm -> rescale -> tanh.
fn sigmoid_mlp() -> Program {
    sigmoid_mlp_with(spec(Function::Sigmoid))
}

fn sigmoid_mlp_with(sigmoid: TableSpec) -> Program {
    let s = s8();
    let ss = s.product(s).unwrap();
    let gemm = Op::Gemm {
        trans_a: false,
        trans_b: true,
    };
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 6], s, Visibility::Private);
    let w1 = b.input("w1", &[12, 6], s, Visibility::Private);
    let b1 = b.input("b1", &[12], ss, Visibility::Private);
    let w2 = b.input("w2", &[3, 12], s, Visibility::Private);
    let h = b.op("h", gemm.clone(), &[x, w1, b1]).unwrap();
    let h = b
        .op(
            "h8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let a = b.op("a", Op::Lookup(sigmoid), &[h]).unwrap();
    let y = b.op("y", gemm, &[a, w2]).unwrap();
    let y = b
        .op(
            "y8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[y],
        )
        .unwrap();
    let z = b.op("z", Op::Lookup(spec(Function::Tanh)), &[y]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn sigmoid_mlp_inputs() -> Vec<Tensor> {
    let mut r = rng(12);
    vec![
        random(&mut r, &[1, 6], -256, 256),
        random(&mut r, &[12, 6], -256, 256),
        random(&mut r, &[12], -65536, 65536),
        random(&mut r, &[3, 12], -256, 256),
    ]
}

#[test]
fn sigmoid_mlp_proves_and_verifies_under_every_preset() {
    let p = sigmoid_mlp();
    for config in FriConfig::ALL {
        prove_and_verify(&p, &sigmoid_mlp_inputs(), config);
    }
}

#[test]
fn ops_with_the_same_table_share_one_table_chip() {
    let t = spec(Function::Gelu);
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[5], s8(), Visibility::Private);
    let y = b.op("y", Op::Lookup(t), &[x]).unwrap();
    let z = b.op("z", Op::Lookup(t), &[y]).unwrap();
    let u = b.op("u", Op::Lookup(spec(Function::Silu)), &[x]).unwrap();
    b.output(z, Visibility::Public).unwrap();
    b.output(u, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    assert_eq!(
        instances(&p, K).iter().filter(|k| **k == "table").count(),
        2
    );
    prove_and_verify(&p, &[Tensor::vector(vec![-3000, -1, 0, 77, 9000])], K);
}

#[test]
fn lookup_tampers_rejected() {
    let p = sigmoid_mlp();
    let w = p.evaluate(&sigmoid_mlp_inputs()).unwrap();
    let kinds = instances(&p, K);
    let verify = |env| FriBackend.verify(&p, &env, &VerifyPolicy::default());
    // A wrong output value in the lookup chip (column 2 is y).
    let sig = kinds.iter().position(|k| *k == "sigmoid").unwrap();
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Generic,
        K,
        Tamper::MainCell {
            instance: sig,
            row: 1,
            col: 2,
            delta: 1,
        },
    )
    .unwrap();
    assert!(verify(env).unwrap_err().is_cryptographic());
    // A wrong multiplicity in a table (column 0).
    let table = kinds.iter().position(|k| *k == "table").unwrap();
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Generic,
        K,
        Tamper::MainCell {
            instance: table,
            row: 3,
            col: 0,
            delta: 1,
        },
    )
    .unwrap();
    assert!(verify(env).unwrap_err().is_cryptographic());
    // A table value other than the spec's (column 2 is the copy of y).
    let env = prove_tampered(
        &p,
        &w,
        StageTag::Generic,
        K,
        Tamper::MainCell {
            instance: table,
            row: 5,
            col: 2,
            delta: 1,
        },
    )
    .unwrap();
    assert!(verify(env).unwrap_err().is_cryptographic());
    // A proof made for the Program's table does not verify for a Program with another table:
    // the Program digest binds the spec.
    let env = FriBackend
        .prove(&p, &w, StageTag::Generic, K.name())
        .unwrap();
    let narrower = TableSpec {
        hi: spec(Function::Sigmoid).hi - 1,
        ..spec(Function::Sigmoid)
    };
    let other = sigmoid_mlp_with(narrower);
    assert!(matches!(
        FriBackend.verify(&other, &env, &VerifyPolicy::default()),
        Err(VerifyError::Statement(StatementError::ProgramDigest { .. }))
    ));
}

#[test]
fn division_and_max_match_the_reference() {
    let mut r = rng(13);
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[3, 5], s8(), Visibility::Private);
    let d = b.input("d", &[3, 1], Scale::new(4).unwrap(), Visibility::Private);
    let q = b
        .op(
            "q",
            Op::Div {
                rounding: Rounding::HalfUp,
            },
            &[a, d],
        )
        .unwrap();
    let f = b
        .op(
            "f",
            Op::Div {
                rounding: Rounding::Floor,
            },
            &[a, d],
        )
        .unwrap();
    let m = b
        .op(
            "m",
            Op::ReduceMax {
                axis: 1,
                keep_dims: false,
            },
            &[a],
        )
        .unwrap();
    let m0 = b
        .op(
            "m0",
            Op::ReduceMax {
                axis: 0,
                keep_dims: true,
            },
            &[a],
        )
        .unwrap();
    for o in [q, f, m, m0] {
        b.output(o, Visibility::Public).unwrap();
    }
    let p = b.build().unwrap();
    let mut av = random(&mut r, &[3, 5], -100_000, 100_000).into_data();
    av[0] = -7; // ties and negatives
    av[1] = 7;
    prove_and_verify(
        &p,
        &[
            Tensor::new(vec![3, 5], av).unwrap(),
            Tensor::new(vec![3, 1], vec![2, 7, 1 << 20]).unwrap(),
        ],
        K,
    );
    // Division by a constant (a public tensor in the Program).
    let mut b = ProgramBuilder::new();
    let a = b.input("a", &[6], s8(), Visibility::Private);
    let three = b.constant("three", Tensor::scalar(3), Scale::ONE).unwrap();
    let q = b
        .op(
            "q",
            Op::Div {
                rounding: Rounding::HalfUp,
            },
            &[a, three],
        )
        .unwrap();
    b.output(q, Visibility::Public).unwrap();
    let pc = b.build().unwrap();
    let (w, _) = prove_and_verify(&pc, &[Tensor::vector(vec![-5, -4, -1, 0, 4, 5])], K);
    assert_eq!(w.get(q).unwrap().data(), &[-2, -1, 0, 0, 1, 2]);
    // A zero divisor is refused by the reference itself.
    assert!(
        p.evaluate(&[
            Tensor::new(vec![3, 5], vec![1; 15]).unwrap(),
            Tensor::new(vec![3, 1], vec![1, 0, 1]).unwrap()
        ])
        .is_err()
    );
}

fn softmax_program(n: usize) -> Program {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, n], s8(), Visibility::Private);
    let y = zkmlops_tensor::composite::softmax(&mut b, "softmax", x, s8(), s8(), s8(), -16 * 256)
        .unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

#[test]
fn softmax_over_10_and_1000_elements() {
    let mut r = rng(14);
    for n in [10, 1000] {
        let p = softmax_program(n);
        let (w, _) = prove_and_verify(&p, &[random(&mut r, &[1, n], -2048, 2048)], K);
        let y = w.get(p.outputs()[0]).unwrap().data();
        let total: i64 = y.iter().sum();
        assert!(
            (total - 256).abs() <= i64::try_from(n).unwrap() / 2 + 1,
            "softmax sums to ~1: {total}"
        );
    }
}

#[test]
fn mlp_with_softmax_head_and_layer_norm() {
    let s = s8();
    let gemm = Op::Gemm {
        trans_a: false,
        trans_b: true,
    };
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, 8], s, Visibility::Private);
    let w1 = b.input("w1", &[16, 8], s, Visibility::Private);
    let w2 = b.input("w2", &[4, 16], s, Visibility::Private);
    let h = b.op("h", gemm.clone(), &[x, w1]).unwrap();
    let h = b
        .op(
            "h8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[h],
        )
        .unwrap();
    let h = zkmlops_tensor::composite::layer_norm(&mut b, "ln", h, s, 3, 64 * 256).unwrap();
    let a = b.op("a", Op::Relu, &[h]).unwrap();
    let y = b.op("y", gemm, &[a, w2]).unwrap();
    let y = b
        .op(
            "y8",
            Op::Rescale {
                shift: 8,
                rounding: Rounding::HalfUp,
            },
            &[y],
        )
        .unwrap();
    let p_out = zkmlops_tensor::composite::softmax(&mut b, "probs", y, s, s, s, -16 * 256).unwrap();
    b.output(p_out, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let mut r = rng(15);
    let inputs = [
        random(&mut r, &[1, 8], -256, 256),
        random(&mut r, &[16, 8], -256, 256),
        random(&mut r, &[4, 16], -128, 128),
    ];
    for config in [FriConfig::KECCAK, FriConfig::POSEIDON2_ZK] {
        prove_and_verify(&p, &inputs, config);
    }
}

#[test]
fn division_and_max_tampers_rejected() {
    let p = softmax_program(10);
    let mut r = rng(16);
    let w = p
        .evaluate(&[random(&mut r, &[1, 10], -2048, 2048)])
        .unwrap();
    let kinds = instances(&p, K);
    let verify = |env| FriBackend.verify(&p, &env, &VerifyPolicy::default());
    for (kind, col) in [("max", 1), ("max", 2), ("div-tensor", 2), ("div-tensor", 4)] {
        let instance = kinds.iter().position(|k| *k == kind).unwrap();
        let env = prove_tampered(
            &p,
            &w,
            StageTag::Generic,
            K,
            Tamper::MainCell {
                instance,
                row: 1,
                col,
                delta: 1,
            },
        )
        .unwrap();
        assert!(
            verify(env).unwrap_err().is_cryptographic(),
            "{kind} column {col}"
        );
    }
}
