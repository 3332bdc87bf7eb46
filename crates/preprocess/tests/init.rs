//! `init_pipeline`: a skeleton chosen from the data proves and verifies as written; quoted CSV
//! fields parse; text, a non-integer label and malformed CSV are errors naming the place.
#![allow(clippy::unwrap_used)]

use zkmlops_fri::{FriBackend, FriConfig};
use zkmlops_preprocess::{
    InitOptions, Pipeline, PreprocessError, RawTable, Salts, init_pipeline, prove,
};
use zkmlops_proof::VerifyPolicy;

/// 30 rows: a wide continuous column (values to 8210), a small one with missing cells, a
/// categorical column (1, 2, 3), a binary column, a 0/1 label; quoted header and cells.
fn raw() -> String {
    let mut csv = String::from("\"income (yearly)\",score,city,member,label\n");
    for i in 0..30i64 {
        let income = 10 * i * i - 200;
        let score = if i % 7 == 3 {
            "NA".to_string()
        } else {
            format!("{:.3}", (i as f64 * 0.37).sin())
        };
        csv.push_str(&format!(
            "\"{income}\", {score} ,{},\"{}\",{}\n",
            1 + i % 3,
            i % 2,
            i64::from(i > 14)
        ));
    }
    csv
}

#[test]
fn a_skeleton_from_the_data_proves_as_written() {
    let (toml, choices) = init_pipeline(&raw(), &InitOptions::default()).unwrap();
    let roles: Vec<(&str, &str)> = choices.iter().map(|c| (c.name.as_str(), c.role)).collect();
    assert_eq!(
        roles,
        vec![
            ("income (yearly)", "continuous"),
            ("score", "continuous"),
            ("city", "categorical"),
            ("member", "binary"),
            ("label", "label"),
        ]
    );
    assert!(choices[1].nullable && !choices[0].nullable);
    assert_eq!(choices[2].categories, vec![1, 2, 3]);
    // income reaches 8210 (deviation ~5500 from the mean): 5500^2 * 4^s < 2^30 -> s = 2.
    assert_eq!(choices[0].scale_bits, 2, "{}", choices[0].reason);
    assert_eq!(choices[1].scale_bits, 14, "{}", choices[1].reason);
    let p: Pipeline = toml::from_str(&toml).unwrap();
    assert_eq!(
        p.output.features,
        vec![
            "income (yearly)",
            "score",
            "city=1",
            "city=2",
            "city=3",
            "member"
        ]
    );
    assert_eq!(p.output.test_rows, 6);
    // Small data: raw cells (income 8210 at 2^2, score at 2^14) and the standardized output
    // (within sqrt(30) + 1 deviations at 2^8) fit 21 bits, three to a field element.
    assert_eq!((p.value_bits, p.output.value_bits), (21, 21), "{toml}");
    let table = RawTable::from_csv(&p, &raw()).unwrap();
    let k = FriConfig::KECCAK;
    let (proof, processed) =
        prove(&p, &table, &Salts::fresh().unwrap(), &FriBackend, k.name()).unwrap();
    proof.verify(&FriBackend, &VerifyPolicy::default()).unwrap();
    assert_eq!(processed.train.layout.rows, 24);
    assert!(proof.profile.is_some());
}

#[test]
fn bad_inputs_name_the_place() {
    let o = InitOptions::default();
    // Text in a cell (a quoted comma does not split it).
    let text = "a,b,label\n1,\"x, y\",0\n2,3,1\n3,4,0\n4,5,1\n";
    match init_pipeline(text, &o) {
        Err(PreprocessError::Csv { line, column, .. }) => {
            assert_eq!((line, column.as_str()), (2, "b"))
        }
        other => panic!("{other:?}"),
    }
    // A label that is not an integer class.
    let text = "a,label\n1,0.5\n2,1\n3,0\n4,1\n";
    assert!(matches!(
        init_pipeline(text, &o),
        Err(PreprocessError::Spec { .. })
    ));
    // A column whose deviations no scale keeps in range: the error says to rescale it.
    let text = "a,label\n0.5,0\n1,1\n2,0\n100000.5,1\n";
    match init_pipeline(text, &o) {
        Err(PreprocessError::Spec { name, allowed, .. }) => {
            assert_eq!(name, "a");
            assert!(allowed.contains("rescale"), "{allowed}");
        }
        other => panic!("{other:?}"),
    }
    // A named label that does not exist; a constant column; too few rows; an open quote.
    let named = InitOptions {
        label: Some("y".into()),
        ..InitOptions::default()
    };
    assert!(matches!(
        init_pipeline("a,label\n1,0\n2,1\n3,0\n4,1\n", &named),
        Err(PreprocessError::Spec { .. })
    ));
    assert!(matches!(
        init_pipeline("a,label\n1.5,0\n1.5,1\n1.5,0\n1.5,1\n", &o),
        Err(PreprocessError::Spec { .. })
    ));
    assert!(matches!(
        init_pipeline("a,label\n1.5,0\n", &o),
        Err(PreprocessError::Spec { .. })
    ));
    assert!(matches!(
        init_pipeline("a,label\n1,0\n2,1\n3,0\n\"4,1\n", &o),
        Err(PreprocessError::Csv { .. })
    ));
}
