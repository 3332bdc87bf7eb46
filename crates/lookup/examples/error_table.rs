//! Print the error table of the default tables (a Markdown table for `docs/lookup.md`).
//!
//! `cargo run --release -p zkmlops-lookup --example error_table`
#![allow(clippy::unwrap_used)]

use zkmlops_field::Scale;
use zkmlops_lookup::{Function, TableSpec};

fn main() {
    println!(
        "| function | in scale | out scale | domain (real) | rows | max abs error | with input rounded to the table scale |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (si, so) in [(8, 8), (12, 12), (16, 16)] {
        for f in Function::ALL {
            let (shift, t) =
                TableSpec::default_for(f, Scale::new(si).unwrap(), Scale::new(so).unwrap())
                    .unwrap();
            let coarse = TableSpec::fitted(
                f,
                t.in_scale,
                t.out_scale,
                t.in_scale.decode(t.lo),
                t.in_scale.decode(t.hi),
            )
            .map(|(_, c)| c)
            .unwrap();
            let _ = coarse;
            println!(
                "| {} | 2^{}{} | 2^{} | [{}, {}] | {} | {:.2e} | {:.2e} |",
                f.name(),
                t.in_scale.bits(),
                if shift > 0 {
                    format!(" (2^{si} lowered by {shift})")
                } else {
                    String::new()
                },
                so,
                t.in_scale.decode(t.lo),
                t.in_scale.decode(t.hi),
                t.rows(),
                t.max_abs_error(),
                t.max_abs_error_with_input_rounding(),
            );
        }
    }
}
