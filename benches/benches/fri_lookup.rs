//! The FRI backend on nonlinearities: N sigmoid lookups (fixed cost and per-lookup cost), a
//! 2^16-row table queried once (the table's fixed cost), and softmax over 10 and 1,000 elements.
#![allow(missing_docs, clippy::cast_possible_wrap, clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_lookup::{Function, TableSpec};
use zkmlops_proof::{Backend, StageTag};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Visibility, Witness};

fn lookups(spec: TableSpec, n: usize) -> (Program, Witness) {
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[n], spec.in_scale, Visibility::Private);
    let y = b.op("y", Op::Lookup(spec), &[x]).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let span = spec.hi - spec.lo + 1;
    let xs = (0..n as i64).map(|i| spec.lo + (i * 7919) % span).collect();
    let w = p.evaluate(&[Tensor::vector(xs)]).unwrap();
    (p, w)
}

fn softmax(n: usize) -> (Program, Witness) {
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, n], s, Visibility::Private);
    let y = zkmlops_tensor::composite::softmax(&mut b, "softmax", x, s, s, s, -16 * 256).unwrap();
    b.output(y, Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let xs = (0..n as i64).map(|i| (i * 7919) % 4096 - 2048).collect();
    let w = p.evaluate(&[Tensor::new(vec![1, n], xs).unwrap()]).unwrap();
    (p, w)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fri/lookup");
    g.sample_size(10);
    let s8 = Scale::new(8).unwrap();
    let sigmoid = TableSpec::new(Function::Sigmoid, s8, s8, -8 * 256, 8 * 256).unwrap();
    let big = TableSpec::new(
        Function::Tanh,
        Scale::new(12).unwrap(),
        Scale::new(12).unwrap(),
        -32768,
        32767,
    )
    .unwrap();
    let mut cases = vec![];
    for n in [1usize, 1 << 10, 1 << 14] {
        cases.push((format!("sigmoid_4097_rows/{n}"), lookups(sigmoid, n)));
    }
    cases.push(("tanh_65536_rows/1".to_string(), lookups(big, 1)));
    for n in [10usize, 1000] {
        cases.push((format!("softmax/{n}"), softmax(n)));
    }
    for (id, (p, w)) in &cases {
        g.bench_with_input(BenchmarkId::new("prove", id), id, |bench, _| {
            bench.iter(|| {
                FriBackend
                    .prove(p, w, StageTag::Generic, FriConfig::KECCAK.name())
                    .unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
