//! Every function's table against f64 and its edges.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use zkmlops_field::Scale;
use zkmlops_lookup::{Function, LookupError, TableSpec};

fn s(b: u32) -> Scale {
    Scale::new(b).unwrap()
}

/// A sensible domain per function at input scale 2^8.
fn spec(f: Function) -> TableSpec {
    let (lo, hi) = match f {
        Function::Reciprocal | Function::Rsqrt | Function::Log => (1, 16 * 256),
        Function::Sqrt => (0, 64 * 256),
        Function::Exp => (-16 * 256, 0),
        _ => (-8 * 256, 8 * 256),
    };
    TableSpec::new(f, s(8), s(8), lo, hi).unwrap()
}

#[test]
fn every_row_is_within_half_an_output_unit() {
    for f in Function::ALL {
        let t = spec(f);
        let half = 0.5 / 256.0 + 1e-12;
        assert!(
            t.max_abs_error() <= half,
            "{}: {}",
            f.name(),
            t.max_abs_error()
        );
        for (x, y) in t.entries() {
            let exact = f.apply(f64::from(i32::try_from(x).unwrap()) / 256.0) * 256.0;
            assert!(
                (y as f64 - exact).abs() <= 0.5 + 1e-9,
                "{} at {x}: {y} vs {exact}",
                f.name()
            );
        }
    }
}

#[test]
fn hand_values() {
    let sig = spec(Function::Sigmoid);
    assert_eq!(sig.eval(0), 128);
    assert_eq!(sig.eval(256), 187); // sigmoid(1) = 0.7311 -> 187.16
    assert_eq!(spec(Function::Tanh).eval(-256), -195); // tanh(-1) = -0.7616 -> -194.97
    assert_eq!(spec(Function::Relu).eval(-5), 0);
    assert_eq!(
        spec(Function::LeakyRelu { num: 1, den: 100 }).eval(-256 * 3),
        -8
    ); // -0.03 -> -7.68
    assert_eq!(spec(Function::Exp).eval(0), 256);
    assert_eq!(spec(Function::Reciprocal).eval(512), 128);
    assert_eq!(spec(Function::Rsqrt).eval(1024), 128);
    assert_eq!(spec(Function::Sqrt).eval(1024), 512);
    assert_eq!(spec(Function::Log).eval(256), 0);
    assert_eq!(spec(Function::Gelu).eval(0), 0);
}

#[test]
fn clamping_at_and_beyond_the_ends() {
    let t = spec(Function::Tanh);
    for x in [
        t.lo,
        t.lo - 1,
        t.lo - 1000,
        i64::MIN,
        zkmlops_field::MAX_ABS,
    ] {
        let end = if x < 0 { t.lo } else { t.hi };
        assert_eq!(t.eval(x), t.eval(end), "{x}");
    }
    assert_eq!(t.eval(t.hi + 1), t.eval(t.hi));
    // Saturating functions are exact there at this scale.
    assert_eq!(t.eval(t.hi), 256);
    assert_eq!(spec(Function::Sigmoid).eval(i64::MAX), 256);
}

#[test]
fn bad_specs_are_typed_errors() {
    assert!(matches!(
        TableSpec::new(Function::Log, s(8), s(8), 0, 10),
        Err(LookupError::Undefined { .. })
    ));
    assert!(matches!(
        TableSpec::new(Function::Reciprocal, s(8), s(8), -1, 1),
        Err(LookupError::Undefined { .. })
    ));
    assert!(matches!(
        TableSpec::new(Function::Relu, s(8), s(8), 1, 0),
        Err(LookupError::EmptyDomain { .. })
    ));
    assert!(matches!(
        TableSpec::new(Function::Relu, s(8), s(8), 0, 1 << 16),
        Err(LookupError::TooLarge { .. })
    ));
    assert!(TableSpec::new(Function::Relu, s(8), s(8), 0, (1 << 16) - 1).is_ok());
    assert!(matches!(
        TableSpec::new(Function::Exp, s(0), s(60), 0, 10),
        Err(LookupError::Output { .. })
    ));
}

#[test]
fn digest_binds_every_field() {
    let base = spec(Function::Sigmoid);
    let d = base.digest();
    assert_eq!(d, spec(Function::Sigmoid).digest());
    for other in [
        TableSpec {
            function: Function::Tanh,
            ..base
        },
        TableSpec {
            in_scale: s(7),
            ..base
        },
        TableSpec {
            out_scale: s(9),
            ..base
        },
        TableSpec {
            lo: base.lo + 1,
            ..base
        },
        TableSpec {
            hi: base.hi - 1,
            ..base
        },
    ] {
        assert_ne!(other.digest(), d, "{other:?}");
    }
}

proptest! {
    #[test]
    fn eval_is_monotone_for_monotone_functions(a in -5000i64..5000, b in -5000i64..5000) {
        let (lo, hi) = (a.min(b), a.max(b));
        for f in [Function::Sigmoid, Function::Tanh, Function::Softplus, Function::Relu] {
            let t = spec(f);
            prop_assert!(t.eval(lo) <= t.eval(hi));
        }
    }
}

#[test]
fn wide_domains_are_fitted_by_lowering_the_input_scale() {
    // [-8, 8] at 2^16 would need 2^20 + 1 rows; at 2^12 still 2^16 + 1: the input scale drops
    // by 5 bits to 2^11.
    let (shift, t) = TableSpec::fitted(Function::Tanh, s(16), s(16), -8.0, 8.0).unwrap();
    assert_eq!(shift, 5);
    assert_eq!(t.in_scale, s(11));
    assert!(t.rows() <= zkmlops_lookup::MAX_TABLE_ROWS);
    // The extra error of rounding the input is accounted for: bounded by half a coarse step
    // times the slope (tanh' <= 1) plus the table's own rounding.
    let e = t.max_abs_error_with_input_rounding();
    assert!(e >= t.max_abs_error());
    assert!(e <= 0.5 / 2048.0 + 0.5 / 65536.0 + 1e-9, "{e}");
    let (shift, _) = TableSpec::fitted(Function::Sigmoid, s(8), s(8), -8.0, 8.0).unwrap();
    assert_eq!(shift, 0);
    assert!(TableSpec::fitted(Function::Sigmoid, s(8), s(8), 1.0, -1.0).is_err());
    for f in Function::ALL {
        let (_, t) = TableSpec::default_for(f, s(8), s(8)).unwrap();
        assert!(t.max_abs_error() <= 0.5 / 256.0 + 1e-12, "{}", f.name());
    }
}
