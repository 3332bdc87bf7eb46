//! The FRI backend on one gemm `[1, K] x [K, N]` (private input and weights, public output),
//! from 2^10 to 2^18 multiply-accumulates, default preset: prove, and verify.
#![allow(missing_docs, clippy::cast_possible_wrap, clippy::unwrap_used)]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use zkmlops_field::Scale;
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};
use zkmlops_tensor::{Op, Program, ProgramBuilder, Tensor, Witness};

fn gemm(k: usize, n: usize) -> (Program, Witness) {
    let s = Scale::new(8).unwrap();
    let mut b = ProgramBuilder::new();
    let x = b.input("x", &[1, k], s, zkmlops_tensor::Visibility::Private);
    let w = b.input("w", &[n, k], s, zkmlops_tensor::Visibility::Private);
    let y = b
        .op(
            "y",
            Op::Gemm {
                trans_a: false,
                trans_b: true,
            },
            &[x, w],
        )
        .unwrap();
    b.output(y, zkmlops_tensor::Visibility::Public).unwrap();
    let p = b.build().unwrap();
    let fill = |len: usize, seed: i64| {
        (0..len as i64)
            .map(|i| ((i * 7919 + seed) % 511) - 255)
            .collect()
    };
    let wit = p
        .evaluate(&[
            Tensor::new(vec![1, k], fill(k, 1)).unwrap(),
            Tensor::new(vec![n, k], fill(n * k, 2)).unwrap(),
        ])
        .unwrap();
    (p, wit)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("fri/gemm");
    g.sample_size(10);
    for log_macs in [10u32, 12, 14, 16, 18] {
        let k = 1usize << (log_macs / 2);
        let n = 1usize << (log_macs - log_macs / 2);
        let (p, w) = gemm(k, n);
        g.throughput(Throughput::Elements(1 << log_macs));
        g.bench_with_input(
            BenchmarkId::new("prove", format!("2^{log_macs}")),
            &log_macs,
            |bench, _| {
                bench.iter(|| {
                    FriBackend
                        .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
                        .unwrap()
                })
            },
        );
        let env = FriBackend
            .prove(&p, &w, StageTag::Generic, FriConfig::KECCAK.name())
            .unwrap();
        g.bench_with_input(
            BenchmarkId::new("verify", format!("2^{log_macs}")),
            &log_macs,
            |bench, _| {
                bench.iter(|| {
                    FriBackend
                        .verify(&p, &env, &VerifyPolicy::default())
                        .unwrap()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
