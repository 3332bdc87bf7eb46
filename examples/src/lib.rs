//! Runnable examples of zkmlops live beside this crate (`cargo run --release --example mlp`).
