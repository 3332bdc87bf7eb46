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
    let (lo, hi) = f.grid_domain(8);
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

/// The economical table of each saturating function is within one output unit of `f` for every
/// input on the fine grid (inside, at and far beyond the caller's radius), and much smaller
/// than the fitted one (or more exact, where the fitted one lowered the input further).
#[test]
fn economical_tables_stay_within_one_output_unit_everywhere() {
    for (f, radius) in [
        (Function::Sigmoid, 16.0),
        (Function::Tanh, 8.0),
        (Function::Erf, 4.5),
        (Function::NormalCdf, 6.0),
    ] {
        for bits in [6u32, 8, 11, 13] {
            let (sin, sout) = (s(bits), s(bits));
            let (shift, eco) = TableSpec::economical(f, sin, sout, -radius, radius).unwrap();
            let (_, fit) = TableSpec::fitted(f, sin, sout, -radius, radius).unwrap();
            // Smaller, or (when the fitted table had to drop more input bits to fit) more exact.
            assert!(
                eco.hi - eco.lo <= fit.hi - fit.lo
                    || eco.max_abs_error_with_input_rounding()
                        < fit.max_abs_error_with_input_rounding(),
                "{f:?} 2^{bits}"
            );
            // Within one output unit, unless the fitted table itself had to lower the input
            // further (then no worse than it).
            let bound = eco.max_abs_error_with_input_rounding();
            assert!(
                bound <= (1.0 / sout.factor()).max(fit.max_abs_error_with_input_rounding()) + 1e-12,
                "{f:?} 2^{bits}: shift {shift}, error {} units",
                bound * sout.factor()
            );
            let unit = sin.factor();
            #[allow(clippy::cast_possible_truncation)]
            let far = (3.0 * radius * unit) as i64;
            for x in (-far..=far).step_by(7) {
                // The caller rescales by `shift` (half up), then looks up.
                let coarse = (x + ((1 << shift) >> 1)).div_euclid(1 << shift);
                let got = sout.decode(eco.eval(coarse));
                let want = f.apply(sin.decode(x));
                assert!(
                    (got - want).abs() <= bound.max(1.0 / sout.factor()) + 1e-12,
                    "{f:?} 2^{bits}: x = {x}: {got} vs {want}"
                );
            }
        }
    }
    // The bundled logistic regression's sigmoid (2^11 in and out, radius 16).
    let (shift, eco) = TableSpec::economical(Function::Sigmoid, s(11), s(11), -16.0, 16.0).unwrap();
    assert_eq!(shift, 2);
    assert!(eco.hi - eco.lo < 1 << 14, "{} rows", eco.hi - eco.lo + 1);
}

/// Functions without a saturation profile keep the fitted table.
#[test]
fn economical_is_fitted_for_other_functions() {
    for f in [Function::Exp, Function::Gelu, Function::Log] {
        let (lo, hi) = if f == Function::Log {
            (0.5, 16.0)
        } else {
            (-8.0, 0.0)
        };
        assert_eq!(
            TableSpec::economical(f, s(11), s(11), lo, hi).unwrap(),
            TableSpec::fitted(f, s(11), s(11), lo, hi).unwrap()
        );
    }
}

/// Every function has a default table at every scale up to 2^16, its ends defined (the
/// reciprocal family and atanh: a moved end must not round back onto the undefined point
/// when the input scale is lowered).
#[test]
fn default_tables_exist_at_every_scale() {
    for f in Function::ALL {
        for bits in [4, 8, 10, 12, 14, 16] {
            let (_, t) = TableSpec::default_for(f, s(bits), s(bits))
                .unwrap_or_else(|e| panic!("{} at 2^{bits}: {e}", f.name()));
            for x in [t.lo, t.hi] {
                assert!(
                    f.defined_at(t.in_scale.decode(x)),
                    "{} at 2^{bits}",
                    f.name()
                );
            }
        }
    }
}
