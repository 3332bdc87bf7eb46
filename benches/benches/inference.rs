//! The inference stage on the bundled models (`examples/models`), compiled with default
//! settings: prove and verify with the default preset, and the hiding one.
#![allow(missing_docs, clippy::unwrap_used)]

use std::path::PathBuf;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_onnx::{CompiledModel, OnnxModel, Settings, compile};
use zkmlops_proof::VerifyPolicy;

fn model(name: &str) -> (CompiledModel, Vec<f64>) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/models");
    let m = compile(
        &OnnxModel::from_path(&dir.join(format!("{name}.onnx"))).unwrap(),
        &Settings::default(),
    )
    .unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{name}.input.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let x = v["input_data"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    (m, x)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("inference");
    g.sample_size(10);
    for name in ["logreg", "mlp", "cnn"] {
        let (m, x) = model(name);
        for config in [FriConfig::KECCAK, FriConfig::KECCAK_ZK] {
            let id = format!("{name}/{}", config.name());
            g.bench_function(BenchmarkId::new("prove", &id), |b| {
                b.iter(|| zkmlops_infer::prove(&m, &x, &FriBackend, config.name()).unwrap());
            });
            let p = zkmlops_infer::prove(&m, &x, &FriBackend, config.name()).unwrap();
            g.bench_function(BenchmarkId::new("verify", &id), |b| {
                b.iter(|| {
                    zkmlops_infer::verify(
                        &m.program,
                        &p.envelope,
                        &FriBackend,
                        &VerifyPolicy::default(),
                    )
                    .unwrap()
                });
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
