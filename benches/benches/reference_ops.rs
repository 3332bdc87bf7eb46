//! The integer reference semantics: matmul and conv2d at a few sizes.
#![allow(missing_docs, clippy::cast_possible_wrap)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zkmlops_tensor::Tensor;
use zkmlops_tensor::ops::{self, Conv2dParams};

fn filled(shape: Vec<usize>, seed: i64) -> Tensor {
    let n: usize = shape.iter().product();
    let data = (0..n as i64)
        .map(|i| ((i * 2_654_435_761 + seed) % 255) - 127)
        .collect();
    Tensor::new(shape, data).expect("shape and data agree")
}

fn matmul(c: &mut Criterion) {
    let mut g = c.benchmark_group("reference/matmul");
    for n in [16usize, 64, 256] {
        let a = filled(vec![n, n], 1);
        let b = filled(vec![n, n], 2);
        g.throughput(Throughput::Elements((n * n * n) as u64));
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |bench, _| {
            bench.iter(|| ops::matmul(&a, &b))
        });
    }
    g.finish();
}

fn conv2d(c: &mut Criterion) {
    let mut g = c.benchmark_group("reference/conv2d");
    for (hw, ch) in [(8usize, 4usize), (16, 8), (32, 16)] {
        let x = filled(vec![1, ch, hw, hw], 3);
        let w = filled(vec![ch, ch, 3, 3], 4);
        let p = Conv2dParams {
            pads: [1; 4],
            ..Default::default()
        };
        g.throughput(Throughput::Elements((hw * hw * ch * ch * 9) as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!("{hw}x{hw}x{ch}")),
            &hw,
            |bench, _| bench.iter(|| ops::conv2d(&x, &w, None, &p)),
        );
    }
    g.finish();
}

criterion_group!(benches, matmul, conv2d);
criterion_main!(benches);
