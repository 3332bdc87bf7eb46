//! Workspace-level criterion benchmarks (`cargo bench -p zkmlops-benches`).
