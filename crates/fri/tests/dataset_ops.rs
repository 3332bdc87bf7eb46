//! The ops dataset pipelines need: integer square root and the stable partition behind row
//! filters, each against the reference (random values and edges) and tampered.
#![allow(clippy::unwrap_used)]

mod common;

use common::{prove_and_verify, random, rng};
use zkmlops_field::Scale;
use zkmlops_fri::testing::{Tamper, instances, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::ops::SQRT_MAX_INPUT;
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, TensorId, Visibility, Witness};

const K: FriConfig = FriConfig::KECCAK;

fn sqrt_program(n: usize) -> Program {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[n], Scale::new(16).unwrap(), Visibility::Private);
    b.set_bits(x, 63).unwrap();
    let y = b.op("y", Op::Sqrt, &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    b.build().unwrap()
}

#[test]
fn sqrt_matches_the_reference_on_edges_and_random_values() {
    let mut r = rng(1);
    let mut xs: Vec<i64> = vec![0, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) - 1];
    xs.extend([SQRT_MAX_INPUT, SQRT_MAX_INPUT - 1, (1 << 60) + 12_345]);
    xs.extend(random(&mut r, &[51], 0, 1 << 48).into_data());
    let p = sqrt_program(xs.len());
    let (w, _) = prove_and_verify(&p, &[Tensor::vector(xs.clone())], K);
    let y = w.get(p.outputs()[0]).unwrap().data();
    for (&x, &y) in xs.iter().zip(y) {
        let (x, y) = (i128::from(x), i128::from(y));
        assert!(y * y <= x && (y + 1) * (y + 1) > x, "sqrt({x}) = {y}");
    }
    assert_eq!(p.tensors()[p.outputs()[0].index()].scale.bits(), 8);
    // The reference refuses a negative input, so the prover never sees one.
    let e = p
        .evaluate(&[Tensor::vector(vec![-1; xs.len()])])
        .unwrap_err();
    assert!(e.to_string().contains("sqrt"), "{e}");
    // An odd input scale has no square-root scale.
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[2], Scale::new(3).unwrap(), Visibility::Private);
    assert!(b.op("y", Op::Sqrt, &[x]).is_err());
}

fn partition_program(n: usize, kept: usize) -> Program {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[n], Scale::new(8).unwrap(), Visibility::Private);
    let t = b.input("t", &[1], Scale::new(8).unwrap(), Visibility::Public);
    // mask = [x >= t] = relu(x - t + 1) - relu(x - t) on integers.
    let d = b.op("d", Op::Sub, &[x, t]).unwrap();
    let one = b
        .constant("one", Tensor::vector(vec![1]), Scale::new(8).unwrap())
        .unwrap();
    let d1 = b.op("d1", Op::Add, &[d, one]).unwrap();
    let r1 = b.op("r1", Op::Relu, &[d1]).unwrap();
    let r0 = b.op("r0", Op::Relu, &[d]).unwrap();
    let mask = b.op("mask", Op::Sub, &[r1, r0]).unwrap();
    let y = b.op("y", Op::Partition { kept }, &[x, mask]).unwrap();
    let kept_rows = b
        .op(
            "kept",
            Op::Slice {
                axis: 0,
                start: 0,
                end: kept,
            },
            &[y],
        )
        .unwrap();
    b.output(kept_rows, Visibility::Public).unwrap();
    b.build().unwrap()
}

fn partitioned(p: &Program) -> TensorId {
    let i = p.tensors().iter().position(|t| t.name == "y").unwrap();
    TensorId(u32::try_from(i).unwrap())
}

fn filter_case(xs: &[i64], t: i64) -> (Program, Vec<Tensor>, Vec<i64>) {
    let expect: Vec<i64> = xs.iter().copied().filter(|&v| v >= t).collect();
    let p = partition_program(xs.len(), expect.len());
    (
        p,
        vec![Tensor::vector(xs.to_vec()), Tensor::vector(vec![t])],
        expect,
    )
}

#[test]
fn partition_filters_like_the_reference() {
    let mut r = rng(2);
    for (n, t) in [(1, 0), (5, 0), (37, 100), (64, -50), (200, 0)] {
        let xs = random(&mut r, &[n], -300, 300).into_data();
        let (p, inputs, expect) = filter_case(&xs, t);
        let (w, _) = prove_and_verify(&p, &inputs, K);
        assert_eq!(w.get(p.outputs()[0]).unwrap().data(), expect, "n={n} t={t}");
        // The dropped rows follow, in order.
        let all = w.get(partitioned(&p)).unwrap().data().to_vec();
        let dropped: Vec<i64> = xs.iter().copied().filter(|&v| v < t).collect();
        assert_eq!(&all[expect.len()..], dropped.as_slice());
    }
    // Nothing kept and everything kept.
    for t in [1000, -1000] {
        let xs = random(&mut r, &[9], -300, 300).into_data();
        let (p, inputs, expect) = filter_case(&xs, t);
        if expect.is_empty() {
            // An empty public output: prove the partition itself.
            let w = p.evaluate(&inputs).unwrap();
            assert!(w.get(p.outputs()[0]).unwrap().is_empty());
        } else {
            let (w, _) = prove_and_verify(&p, &inputs, K);
            assert_eq!(w.get(p.outputs()[0]).unwrap().data(), xs.as_slice());
        }
    }
    // A declared count the data does not give is a reference error.
    let p = partition_program(4, 3);
    let e = p
        .evaluate(&[Tensor::vector(vec![1, 2, 3, 4]), Tensor::vector(vec![0])])
        .unwrap_err();
    assert!(e.to_string().contains("kept"), "{e}");
}

fn tamper_rejected(p: &Program, w: &Witness, kind: &str, cols: &[usize]) {
    let kinds = instances(p, K);
    let instance = kinds.iter().position(|k| *k == kind).unwrap();
    for &col in cols {
        for row in [0, 1] {
            let env = prove_tampered(
                p,
                w,
                StageTag::Generic,
                K,
                Tamper::MainCell {
                    instance,
                    row,
                    col,
                    delta: 1,
                },
            )
            .unwrap();
            let e = FriBackend
                .verify(p, &env, &VerifyPolicy::default())
                .unwrap_err();
            assert!(e.is_cryptographic(), "{kind} row {row} column {col}: {e}");
        }
    }
}

#[test]
fn sqrt_and_partition_tampers_rejected() {
    let p = sqrt_program(6);
    let w = p
        .evaluate(&[Tensor::vector(vec![0, 5, 99, 1 << 30, 7, 1 << 50])])
        .unwrap();
    tamper_rejected(&p, &w, "sqrt", &[0, 1, 2, 6, 10]);

    let (p, inputs, _) = filter_case(&[5, -3, 8, 0, -1, 4], 0);
    let w = p.evaluate(&inputs).unwrap();
    tamper_rejected(&p, &w, "partition", &[0, 1, 2, 3]);
}

#[test]
fn a_claimed_filter_output_that_is_not_the_stable_partition_is_rejected() {
    let mut r = rng(3);
    let xs = random(&mut r, &[16], -100, 100).into_data();
    let (p, inputs, expect) = filter_case(&xs, 0);
    assert!(expect.len() >= 2);
    let honest = p.evaluate(&inputs).unwrap();
    // Swap two kept rows (the same multiset: only the order betrays it), and separately drop a
    // kept row for a dropped one.
    let y = partitioned(&p);
    let mut swapped = honest.clone();
    let mut all = swapped.get(y).unwrap().data().to_vec();
    all.swap(0, 1);
    let mut replaced = honest.clone();
    let mut other = all.clone();
    other.swap(0, 1);
    other.swap(0, expect.len());
    for (w, data) in [(&mut swapped, all), (&mut replaced, other)] {
        w.values_mut()[y.index()] = Tensor::vector(data.clone());
        let out = p.outputs()[0].index();
        w.values_mut()[out] = Tensor::vector(data[..expect.len()].to_vec());
        let env = prove_tampered(&p, w, StageTag::Generic, K, Tamper::SkipWitnessCheck).unwrap();
        let e = FriBackend
            .verify(&p, &env, &VerifyPolicy::default())
            .unwrap_err();
        assert!(e.is_cryptographic(), "{e}");
    }
}
