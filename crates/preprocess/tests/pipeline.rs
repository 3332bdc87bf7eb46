//! The preprocessing stage: every step against an independent integer reference on random
//! tables, the edges, the soundness tampers, and the hand-off to training.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss
)]

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use zkmlops_fri::testing::{Tamper, prove_tampered};
use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_preprocess::{Pipeline, PreprocessError, RawTable, Salts, Stat, prove};
use zkmlops_proof::{Backend, StageTag, VerifyPolicy};

const PIPELINE: &str = r#"
version = 1
columns = [
    { name = "a", scale_bits = 4 },
    { name = "b", scale_bits = 4, nullable = true },
    { name = "c", scale_bits = 0 },
    { name = "y", scale_bits = 0 },
]
steps = [
    { op = "impute", column = "b", value = "mean" },
    { op = "clip", column = "a", min = -5, max = 5 },
    { op = "filter", column = "a", keep = ">=", value = -3 },
    { op = "one_hot", column = "c", categories = [0, 1, 2] },
    { op = "stats", column = "a" },
    { op = "standardize", columns = ["a"], scale_bits = 8 },
    { op = "min_max", columns = ["b"], scale_bits = 8 },
]
output = { features = ["a", "b", "c=0", "c=1", "c=2"], labels = ["y"], scale_bits = 8, test_rows = 3 }
"#;

fn pipeline() -> Pipeline {
    toml::from_str(PIPELINE).unwrap()
}

const K: FriConfig = FriConfig::KECCAK;

fn half_up(a: i128, b: i128) -> i128 {
    (a + b / 2).div_euclid(b)
}

fn isqrt(v: i128) -> i128 {
    let mut r = (v as f64).sqrt() as i128;
    while r * r > v {
        r -= 1;
    }
    while (r + 1) * (r + 1) <= v {
        r += 1;
    }
    r
}

/// A random raw table as CSV and as integer columns (`None` = missing).
fn random_table(rng: &mut StdRng, rows: usize) -> (String, Vec<[Option<i64>; 4]>) {
    let mut csv = String::from("a,b,c,y\n");
    let mut cells = Vec::new();
    for r in 0..rows {
        let a = rng.random_range(-160i64..160); // at scale 4: -10 .. 10
        let b = (r == 0 || rng.random_range(0..5) > 0).then(|| rng.random_range(-800i64..800));
        let c = rng.random_range(0i64..4); // 3 is outside the categories
        let y = rng.random_range(0i64..2);
        let bs = b.map_or(String::new(), |b| format!("{}", b as f64 / 16.0));
        csv.push_str(&format!("{},{bs},{c},{y}\n", a as f64 / 16.0));
        cells.push([Some(a), b, Some(c), Some(y)]);
    }
    (csv, cells)
}

struct Expected {
    x: Vec<i64>,
    y: Vec<i64>,
    stats: Vec<(Stat, i64)>,
    kept: usize,
}

/// The pipeline above, written out directly on integers.
fn reference(cells: &[[Option<i64>; 4]]) -> Expected {
    let present: Vec<i128> = cells.iter().filter_map(|c| c[1]).map(i128::from).collect();
    let mean_b = half_up(present.iter().sum(), present.len() as i128);
    let mut rows: Vec<[i128; 4]> = cells
        .iter()
        .map(|c| {
            [
                i128::from(c[0].unwrap()).clamp(-80, 80),
                c[1].map_or(mean_b, i128::from),
                i128::from(c[2].unwrap()),
                i128::from(c[3].unwrap()),
            ]
        })
        .collect();
    rows.retain(|r| r[0] >= -48);
    let n = rows.len() as i128;
    let a: Vec<i128> = rows.iter().map(|r| r[0]).collect();
    let sum: i128 = a.iter().sum();
    let mean = half_up(sum, n);
    let var = half_up(a.iter().map(|v| (v - mean) * (v - mean)).sum(), n);
    let stats = vec![
        (Stat::Count, n as i64),
        (Stat::Sum, sum as i64),
        (Stat::Mean, mean as i64),
        (Stat::Variance, var as i64),
        (Stat::Min, *a.iter().min().unwrap() as i64),
        (Stat::Max, *a.iter().max().unwrap() as i64),
    ];
    let sd = isqrt(var);
    let bs: Vec<i128> = rows.iter().map(|r| r[1]).collect();
    let (bmin, bmax) = (*bs.iter().min().unwrap(), *bs.iter().max().unwrap());
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for r in &rows {
        x.push(half_up((r[0] - mean) * 256, sd) as i64);
        x.push(half_up((r[1] - bmin) * 256, bmax - bmin) as i64);
        for k in 0..3 {
            x.push(if r[2] == k { 256 } else { 0 });
        }
        y.push((r[3] * 256) as i64);
    }
    Expected {
        x,
        y,
        stats,
        kept: rows.len(),
    }
}

#[test]
fn every_step_matches_the_integer_reference_on_random_tables() {
    let p = pipeline();
    for seed in 0..3 {
        let mut rng = StdRng::seed_from_u64(seed);
        let (csv, cells) = random_table(&mut rng, 40 + 7 * seed as usize);
        let table = RawTable::from_csv(&p, &csv).unwrap();
        let salts = Salts::fresh().unwrap();
        let (proof, processed) = prove(&p, &table, &salts, &FriBackend, K.name()).unwrap();
        let want = reference(&cells);
        assert_eq!(proof.kept, vec![want.kept]);
        let test = processed.test.as_ref().unwrap();
        let x: Vec<i64> = [processed.train.x.clone(), test.x.clone()].concat();
        let y: Vec<i64> = [processed.train.y.clone(), test.y.clone()].concat();
        assert_eq!(x, want.x, "seed {seed}");
        assert_eq!(y, want.y, "seed {seed}");
        assert_eq!(test.layout.rows, 3);
        let stats: Vec<(Stat, i64)> = proof.stats.iter().map(|s| (s.stat, s.value)).collect();
        assert_eq!(stats, want.stats);
        let v = proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
        assert_eq!(v.train_commitment, processed.train.commitment);
        assert_eq!(v.test.unwrap().0, test.commitment);
        assert_eq!(v.raw_commitment, table.commitment(&p, &salts.raw));
    }
}

fn small(p: &str, csv: &str) -> Result<(), PreprocessError> {
    let p: Pipeline = toml::from_str(p).unwrap();
    let table = RawTable::from_csv(&p, csv)?;
    prove(&p, &table, &Salts::fresh().unwrap(), &FriBackend, K.name()).map(|_| ())
}

const TWO: &str = r#"
version = 1
columns = [{ name = "x", scale_bits = 4 }, { name = "y", scale_bits = 0, nullable = true }]
steps = [STEP]
output = { features = ["x"], labels = ["y"], scale_bits = 4 }
"#;

fn two(step: &str) -> String {
    TWO.replace("STEP", step)
}

#[test]
fn edges_are_clear_errors() {
    let imputed = r#"{ op = "impute", column = "y", value = 0 }"#;
    // A constant column has no spread: a typed error, not a division by zero.
    for step in [
        r#"{ op = "standardize", columns = ["x"], scale_bits = 8 }"#,
        r#"{ op = "min_max", columns = ["x"], scale_bits = 8 }"#,
    ] {
        let e = small(&two(&format!("{imputed}, {step}")), "x,y\n2,1\n2,0\n2,1\n").unwrap_err();
        assert!(
            matches!(e, PreprocessError::ConstantColumn { step: 1, .. }),
            "{e}"
        );
    }
    // A filter that keeps nothing.
    let e = small(
        &two(&format!(
            r#"{imputed}, {{ op = "filter", column = "x", keep = ">", value = 5 }}"#
        )),
        "x,y\n1,1\n2,0\n",
    )
    .unwrap_err();
    assert!(matches!(e, PreprocessError::EmptyFilter { step: 1 }), "{e}");
    // Mean imputation with nothing present.
    let e = small(
        &two(r#"{ op = "impute", column = "y", value = "mean" }"#),
        "x,y\n1,\n2,NA\n",
    )
    .unwrap_err();
    assert!(
        matches!(e, PreprocessError::AllMissing { step: 0, .. }),
        "{e}"
    );
    // A nullable column used before it is imputed.
    let e = small(&two(""), "x,y\n1,1\n2,0\n").unwrap_err();
    assert!(matches!(e, PreprocessError::Nullable { .. }), "{e}");
    // CSV errors name the line and the column.
    let p = two(imputed);
    for (csv, line, column) in [
        ("x,y\n1,1\nfoo,0\n", 3, "x"),
        ("x,z\n1,1\n", 1, "y"),
        ("x,y\n1,1\n,0\n", 3, "x"),
        ("x,y\n1,1\n999999999,0\n", 3, "x"),
        ("x,y\n1,1\n2\n", 3, "y"),
    ] {
        match small(&p, csv).unwrap_err() {
            PreprocessError::Csv {
                line: l, column: c, ..
            } => assert_eq!((l, c.as_str()), (line, column), "{csv}"),
            e => panic!("{csv}: {e}"),
        }
    }
    // Unknown columns, bad split.
    let e = small(
        &two(r#"{ op = "clip", column = "nope", min = 0, max = 1 }"#),
        "x,y\n1,1\n",
    )
    .unwrap_err();
    assert!(
        matches!(e, PreprocessError::UnknownColumn { step: 0, .. }),
        "{e}"
    );
    let split = two(imputed).replace("scale_bits = 4 }\n", "scale_bits = 4, test_rows = 2 }\n");
    let e = small(&split, "x,y\n1,1\n2,0\n").unwrap_err();
    assert!(
        matches!(
            e,
            PreprocessError::Split {
                rows: 2,
                test_rows: 2
            }
        ),
        "{e}"
    );
    // Declared value bits: a raw cell outside the pipeline's `value_bits` is a CSV error
    // naming the place; widths outside 1..=31 are spec errors; a processed value outside
    // the output's `value_bits` is refused by name before proving.
    let narrow = two(imputed).replace("version = 1\n", "version = 1\nvalue_bits = 10\n");
    small(&narrow, "x,y\n31.9,1\n-32,0\n").unwrap();
    match small(&narrow, "x,y\n1,1\n32,0\n").unwrap_err() {
        PreprocessError::Csv {
            line: 3, column, ..
        } => assert_eq!(column, "x"),
        e => panic!("{e}"),
    }
    for bits in [0, 32] {
        // Raw cells' bits (top level) and the output's.
        for (from, to) in [
            (
                "version = 1\n",
                format!("version = 1\nvalue_bits = {bits}\n"),
            ),
            (
                "scale_bits = 4 }\n",
                format!("scale_bits = 4, value_bits = {bits} }}\n"),
            ),
        ] {
            let e = small(&two(imputed).replace(from, &to), "x,y\n1,1\n2,0\n").unwrap_err();
            assert!(
                matches!(
                    e,
                    PreprocessError::Spec {
                        what: "value_bits",
                        ..
                    }
                ),
                "{e}"
            );
        }
    }
    let out8 = two(imputed).replace("scale_bits = 4 }\n", "scale_bits = 4, value_bits = 8 }\n");
    small(&out8, "x,y\n7.9,1\n-8,0\n").unwrap();
    let e = small(&out8, "x,y\n1,1\n8,0\n").unwrap_err();
    assert!(
        e.to_string()
            .contains("outside the bound its packed commitment declares"),
        "{e}"
    );

    // A variance that the proof's division cannot hold names the column.
    let wide = two(&format!(
        r#"{imputed}, {{ op = "standardize", columns = ["x"], scale_bits = 8 }}"#
    ));
    let e = small(&wide, "x,y\n-60000,1\n60000,0\n").unwrap_err();
    assert!(
        matches!(e, PreprocessError::VarianceRange { step: 1, .. }),
        "{e}"
    );
}

fn setup() -> (
    Pipeline,
    RawTable,
    Salts,
    zkmlops_preprocess::PreprocessProof,
) {
    let p = pipeline();
    let mut rng = StdRng::seed_from_u64(9);
    let (csv, _) = random_table(&mut rng, 24);
    let table = RawTable::from_csv(&p, &csv).unwrap();
    let salts = Salts::fresh().unwrap();
    let (proof, _) = prove(&p, &table, &salts, &FriBackend, K.name()).unwrap();
    (p, table, salts, proof)
}

#[test]
fn tampered_claims_are_rejected() {
    let (p, table, salts, proof) = setup();
    let policy = VerifyPolicy::default();
    let check = |f: &dyn Fn(&mut zkmlops_preprocess::PreprocessProof)| {
        let mut bad = proof.clone();
        f(&mut bad);
        bad.verify(&FriBackend, &policy).unwrap_err()
    };
    proof.verify(&FriBackend, &policy).unwrap();
    // A row dropped or duplicated: the filter count or the raw row count changes.
    for delta in [usize::MAX, 1] {
        let e = check(&|b| b.kept[0] = b.kept[0].wrapping_add(delta));
        assert!(matches!(e, PreprocessError::Verify(_)), "{e}");
        let e = check(&|b| b.rows = b.rows.wrapping_add(delta));
        assert!(matches!(e, PreprocessError::Verify(_)), "{e}");
    }
    // A different pipeline.
    let e = check(&|b| {
        b.pipeline.steps[1] = toml::from_str::<toml::Table>(
            "s = { op = \"clip\", column = \"a\", min = -5, max = 6 }",
        )
        .unwrap()["s"]
            .clone()
            .try_into()
            .unwrap();
    });
    assert!(matches!(e, PreprocessError::Verify(_)), "{e}");
    // A different raw commitment (another salt) and another processed commitment.
    let other = Salts::fresh().unwrap();
    let e = check(&|b| b.raw_commitment = table.commitment(&p, &other.raw));
    assert!(
        matches!(e, PreprocessError::Commitment { which: "raw" }),
        "{e}"
    );
    let e = check(&|b| b.train_commitment = b.test_commitment.unwrap());
    assert!(
        matches!(e, PreprocessError::Commitment { which: "train" }),
        "{e}"
    );
    // A published statistic off by one.
    let e = check(&|b| b.stats[2].value += 1);
    assert!(matches!(e, PreprocessError::Statistic { .. }), "{e}");
    // A flipped proof byte.
    let e = check(&|b| {
        let n = b.envelope.proof.len();
        b.envelope.proof[n / 2] ^= 1;
    });
    assert!(matches!(e, PreprocessError::Verify(_)), "{e}");
    // The honest claim still verifies with the right salt's commitment.
    assert_eq!(proof.raw_commitment, table.commitment(&p, &salts.raw));
}

#[test]
fn one_processed_cell_changed_in_the_witness_is_rejected() {
    use zkmlops_tensor::Tensor;
    let p = pipeline();
    let mut rng = StdRng::seed_from_u64(5);
    let (csv, _) = random_table(&mut rng, 16);
    let table = RawTable::from_csv(&p, &csv).unwrap();
    let salts = Salts::fresh().unwrap();
    let (proof, _) = prove(&p, &table, &salts, &FriBackend, K.name()).unwrap();
    // The Program the verifier rebuilds, and a witness with one processed cell changed.
    let program = zkmlops_preprocess::testing::program(&proof).unwrap();
    let inputs = zkmlops_preprocess::testing::inputs(&p, &table, &salts).unwrap();
    let mut w = program.evaluate(&inputs).unwrap();
    let x_train = program
        .tensors()
        .iter()
        .position(|t| t.name == "s7/split/train_x/rows")
        .unwrap();
    let mut data = w.values()[x_train].data().to_vec();
    data[3] += 1;
    let shape = w.values()[x_train].shape().to_vec();
    w.values_mut()[x_train] = Tensor::new(shape, data).unwrap();
    let env = prove_tampered(
        &program,
        &w,
        StageTag::Preprocessing,
        K,
        Tamper::SkipWitnessCheck,
    )
    .unwrap();
    let e = FriBackend
        .verify(&program, &env, &VerifyPolicy::default())
        .unwrap_err();
    assert!(e.is_cryptographic(), "{e}");
}

#[test]
fn the_processed_split_is_the_dataset_training_commits_to() {
    let (p, _, salts, _) = setup();
    let mut rng = StdRng::seed_from_u64(9);
    let (csv, _) = random_table(&mut rng, 24);
    let table = RawTable::from_csv(&p, &csv).unwrap();
    let (_, processed) = prove(&p, &table, &salts, &FriBackend, K.name()).unwrap();
    let train_csv = processed.train.to_csv(&p.output.features).unwrap();
    let data = zkmlops_train::Dataset::from_csv(&train_csv).unwrap();
    let spec = zkmlops_train::LogRegSpec {
        features: 5,
        batch: 4,
        learning_rate: 0.5,
        scale_bits: 8,
        value_bits: zkmlops_train::DATA_VALUE_BITS,
        link: zkmlops_train::Link::Logistic,
    };
    assert_eq!(
        zkmlops_train::data_commitment(&spec, &data, &salts.train).unwrap(),
        processed.train.commitment
    );
}

#[test]
fn every_filter_comparison_keeps_the_rows_the_reference_keeps() {
    let xs = [-2.5f64, -1.0, 0.0, 0.5, 1.0, 1.0, 2.25, 3.0];
    let mut csv = String::from("x,y\n");
    for (i, x) in xs.iter().enumerate() {
        csv.push_str(&format!("{x},{}\n", i % 2));
    }
    for (cmp, keep) in [
        (">=", (|x: f64| x >= 1.0) as fn(f64) -> bool),
        (">", |x| x > 1.0),
        ("<=", |x| x <= 1.0),
        ("<", |x| x < 1.0),
        ("==", |x| x == 1.0),
        ("!=", |x| x != 1.0),
    ] {
        let spec = format!(
            r#"
version = 1
columns = [{{ name = "x", scale_bits = 4 }}, {{ name = "y", scale_bits = 0 }}]
steps = [{{ op = "filter", column = "x", keep = "{cmp}", value = 1.0 }}]
output = {{ features = ["x"], labels = ["y"], scale_bits = 4 }}
"#
        );
        let p: Pipeline = toml::from_str(&spec).unwrap();
        let table = RawTable::from_csv(&p, &csv).unwrap();
        let (proof, processed) =
            prove(&p, &table, &Salts::fresh().unwrap(), &FriBackend, K.name()).unwrap();
        let want: Vec<i64> = xs
            .iter()
            .filter(|&&x| keep(x))
            .map(|&x| (x * 16.0) as i64)
            .collect();
        assert_eq!(processed.train.x, want, "{cmp}");
        assert_eq!(proof.kept, vec![want.len()]);
        proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
    }
}

/// Random CSV text through parsing and the Program build with data (every step's reference
/// ops): typed errors, never a panic (the `preprocess_csv` fuzz target does the same).
#[test]
fn random_csv_text_never_panics() {
    let p = pipeline();
    let salts = Salts {
        raw: [1; 4],
        train: [2; 4],
        test: [3; 4],
    };
    let cells = [
        "0", "1", "2", "-1", "3.5", "-7.25", "", "NA", "nan", "x", "1e9", "1e300", "-4", "0.0625",
    ];
    let mut rng = StdRng::seed_from_u64(77);
    let (mut parsed, mut built) = (0, 0);
    for _ in 0..400 {
        let rows = rng.random_range(0..24);
        let mut text = String::from("a,b,c,y\n");
        for _ in 0..rows {
            let width = if rng.random_range(0..20) == 0 { 3 } else { 4 };
            let row: Vec<String> = (0..width)
                .map(|_| {
                    if rng.random_range(0..30) == 0 {
                        cells[rng.random_range(0..cells.len())].to_string()
                    } else {
                        format!("{}", f64::from(rng.random_range(-160i32..160)) / 16.0)
                    }
                })
                .collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        if let Ok(table) = RawTable::from_csv(&p, &text) {
            parsed += 1;
            if zkmlops_preprocess::testing::inputs(&p, &table, &salts).is_ok() {
                built += 1;
            }
        }
    }
    assert!(parsed > 20 && built > 0, "{parsed} parsed, {built} built");
}

/// The training split's profile: per feature the mean, variance and `[x >= edge]` counts of
/// the processed training rows, equal to an independent computation; a changed figure, a
/// dropped profile or another set of edges is rejected; edges the output scale cannot
/// represent are a clear error.
#[test]
fn the_training_profile_matches_the_processed_rows_and_is_bound_to_the_proof() {
    let mut p = pipeline();
    p.output.profile_edges = vec![-1.0, 0.0, 0.5];
    let mut rng = StdRng::seed_from_u64(9);
    let (csv, _) = random_table(&mut rng, 24);
    let table = RawTable::from_csv(&p, &csv).unwrap();
    let salts = Salts::fresh().unwrap();
    let (proof, processed) = prove(&p, &table, &salts, &FriBackend, K.name()).unwrap();
    let policy = VerifyPolicy::default();
    let verified = proof.verify(&FriBackend, &policy).unwrap();
    let profile = proof.profile.clone().unwrap();
    assert_eq!(verified.profile.as_ref(), Some(&profile));

    let train = &processed.train;
    let (rows, d) = (train.layout.rows, train.layout.features);
    assert_eq!((profile.rows, profile.columns()), (rows, d));
    assert_eq!(profile.edges, vec![-256, 0, 128]);
    for c in 0..d {
        let col: Vec<i128> = (0..rows).map(|r| i128::from(train.x[r * d + c])).collect();
        let n = rows as i128;
        // Half-up: floor((2 sum + n) / 2n).
        let mean = (2 * col.iter().sum::<i128>() + n).div_euclid(2 * n);
        let var =
            (2 * col.iter().map(|v| (v - mean) * (v - mean)).sum::<i128>() + n).div_euclid(2 * n);
        assert_eq!(i128::from(profile.mean[c]), mean, "mean of {c}");
        assert_eq!(i128::from(profile.variance[c]), var, "variance of {c}");
        for (e, &edge) in profile.edges.iter().enumerate() {
            let count = col.iter().filter(|&&v| v >= i128::from(edge)).count() as i64;
            assert_eq!(profile.at_least[e][c], count, "edge {e} of {c}");
        }
        assert_eq!(profile.bins(c).iter().sum::<i64>(), rows as i64);
    }

    // Tampered profiles.
    let check = |f: &dyn Fn(&mut zkmlops_preprocess::PreprocessProof)| {
        let mut bad = proof.clone();
        f(&mut bad);
        bad.verify(&FriBackend, &policy).unwrap_err()
    };
    for f in [
        &(|b: &mut zkmlops_preprocess::PreprocessProof| {
            b.profile.as_mut().unwrap().mean[1] += 1;
        }) as &dyn Fn(&mut zkmlops_preprocess::PreprocessProof),
        &|b| b.profile.as_mut().unwrap().variance[0] -= 1,
        &|b| b.profile.as_mut().unwrap().at_least[2][3] += 1,
        &|b| b.profile = None,
    ] {
        let e = check(f);
        assert!(matches!(e, PreprocessError::Statistic { .. }), "{e}");
    }
    // Other edges: another Program.
    let e = check(&|b| b.pipeline.output.profile_edges = vec![-1.0, 0.0, 1.0]);
    assert!(matches!(e, PreprocessError::Verify(_)), "{e}");

    // Edges that are not multiples of 2^-8, or not increasing.
    for edges in [vec![0.001], vec![0.5, 0.0]] {
        let mut q = pipeline();
        q.output.profile_edges = edges;
        let e = prove(&q, &table, &salts, &FriBackend, K.name()).unwrap_err();
        assert!(matches!(e, PreprocessError::Spec { .. }), "{e}");
    }
}
