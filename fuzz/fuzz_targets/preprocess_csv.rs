//! Arbitrary text as the raw CSV of a pipeline with every step kind: parsing and building the
//! Program with the data (which runs every step's reference ops) must never panic; errors
//! are typed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use zkmlops_preprocess::{
    Cmp, ColumnSpec, Fill, OutputSpec, Pipeline, RawTable, Salts, Stat, Step,
};

fn pipeline() -> Pipeline {
    let col = |name: &str, scale_bits, nullable| ColumnSpec {
        name: name.into(),
        scale_bits,
        nullable,
    };
    Pipeline {
        version: 1,
        columns: vec![col("a", 4, false), col("b", 4, true), col("c", 0, false)],
        steps: vec![
            Step::Impute {
                column: "b".into(),
                value: Fill::Keyword("mean".into()),
            },
            Step::Clip {
                column: "a".into(),
                min: -8.0,
                max: 8.0,
            },
            Step::Filter {
                column: "a".into(),
                keep: Cmp::Ge,
                value: -4.0,
            },
            Step::OneHot {
                column: "c".into(),
                categories: vec![0, 1],
            },
            Step::Stats {
                column: "b".into(),
                public: Stat::ALL.to_vec(),
            },
            Step::Standardize {
                columns: vec!["a".into()],
                scale_bits: 8,
                given: Default::default(),
            },
            Step::MinMax {
                columns: vec!["b".into()],
                scale_bits: 8,
            },
        ],
        output: OutputSpec {
            features: vec!["a".into(), "b".into(), "c=0".into()],
            labels: vec!["c=1".into()],
            scale_bits: 8,
            test_rows: 1,
        },
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let p = pipeline();
    if let Ok(table) = RawTable::from_csv(&p, text) {
        let salts = Salts {
            raw: [1; 4],
            train: [2; 4],
            test: [3; 4],
        };
        let _ = zkmlops_preprocess::testing::inputs(&p, &table, &salts);
    }
});
