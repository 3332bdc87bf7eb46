//! Table definitions, their integer semantics, digests and error bounds.

use p3_keccak::Keccak256Hash;
use p3_symmetric::CryptographicHasher;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use zkmlops_field::{FieldError, Scale};

use crate::Function;

/// Largest table: `2^16` rows. Wider domains must be narrowed (a coarser input scale).
pub const MAX_TABLE_ROWS: u64 = 1 << 16;

/// Domain separator of table digests.
pub const TABLE_DIGEST_DOMAIN: &[u8] = b"zkmlops/lookup-table/v1";

/// Why a table cannot be built.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// `lo > hi`.
    #[error("{function}: empty domain [{lo}, {hi}]")]
    EmptyDomain {
        /// Function name.
        function: &'static str,
        /// Lower end.
        lo: i64,
        /// Upper end.
        hi: i64,
    },
    /// More rows than [`MAX_TABLE_ROWS`].
    #[error("{function}: domain [{lo}, {hi}] has {rows} rows, at most {max} are allowed")]
    TooLarge {
        /// Function name.
        function: &'static str,
        /// Lower end.
        lo: i64,
        /// Upper end.
        hi: i64,
        /// Rows requested.
        rows: u128,
        /// Largest allowed.
        max: u64,
    },
    /// The domain contains a point where the function is undefined.
    #[error("{function} is undefined at {x} (input {raw} at scale {scale})")]
    Undefined {
        /// Function name.
        function: &'static str,
        /// The real input.
        x: f64,
        /// The integer input.
        raw: i64,
        /// Input scale.
        scale: Scale,
    },
    /// An output that does not fit the fixed-point range.
    #[error("{function}: output at input {raw} does not fit: {source}")]
    Output {
        /// Function name.
        function: &'static str,
        /// The integer input.
        raw: i64,
        /// The encoding error.
        source: FieldError,
    },
}

/// A lookup table: `(x, round(f(x / 2^s_in) * 2^s_out))` for every integer `x` in `[lo, hi]`;
/// inputs outside are clamped to the ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TableSpec {
    /// The function.
    pub function: Function,
    /// Scale of the inputs.
    pub in_scale: Scale,
    /// Scale of the outputs.
    pub out_scale: Scale,
    /// Smallest tabulated input (integer at `in_scale`).
    pub lo: i64,
    /// Largest tabulated input.
    pub hi: i64,
}

impl TableSpec {
    /// A checked table definition: non-empty domain of at most [`MAX_TABLE_ROWS`] rows, the
    /// function defined and every output representable on the whole domain.
    ///
    /// # Errors
    /// [`LookupError`] naming what is wrong.
    pub fn new(
        function: Function,
        in_scale: Scale,
        out_scale: Scale,
        lo: i64,
        hi: i64,
    ) -> Result<Self, LookupError> {
        let spec = TableSpec {
            function,
            in_scale,
            out_scale,
            lo,
            hi,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Number of rows (`hi - lo + 1`).
    #[must_use]
    pub fn rows(&self) -> u64 {
        u64::try_from(i128::from(self.hi) - i128::from(self.lo) + 1).unwrap_or(0)
    }

    /// Re-run the checks of [`TableSpec::new`] (for specs that were deserialised).
    ///
    /// # Errors
    /// As [`TableSpec::new`].
    pub fn validate(&self) -> Result<(), LookupError> {
        let function = self.function.name();
        if self.lo > self.hi {
            return Err(LookupError::EmptyDomain {
                function,
                lo: self.lo,
                hi: self.hi,
            });
        }
        let rows = i128::from(self.hi) - i128::from(self.lo) + 1;
        if rows > i128::from(MAX_TABLE_ROWS) {
            return Err(LookupError::TooLarge {
                function,
                lo: self.lo,
                hi: self.hi,
                rows: rows.unsigned_abs(),
                max: MAX_TABLE_ROWS,
            });
        }
        for x in self.lo..=self.hi {
            self.exact(x)?;
        }
        Ok(())
    }

    fn exact(&self, x: i64) -> Result<i64, LookupError> {
        let function = self.function.name();
        let real = self.in_scale.decode(x);
        if !self.function.defined_at(real) {
            return Err(LookupError::Undefined {
                function,
                x: real,
                raw: x,
                scale: self.in_scale,
            });
        }
        self.out_scale
            .encode(self.function.apply(real))
            .map_err(|source| LookupError::Output {
                function,
                raw: x,
                source,
            })
    }

    /// `x` clamped to `[lo, hi]`.
    #[must_use]
    pub fn clamp(&self, x: i64) -> i64 {
        x.clamp(self.lo, self.hi)
    }

    /// The integer semantics: `round(f(clamp(x) / 2^s_in) * 2^s_out)`, ties away from zero.
    #[must_use]
    pub fn eval(&self, x: i64) -> i64 {
        // A validated spec has every in-domain output representable.
        self.exact(self.clamp(x)).unwrap_or(0)
    }

    /// The table rows `(x, eval(x))` for `x` in `lo..=hi`.
    #[must_use]
    pub fn entries(&self) -> Vec<(i64, i64)> {
        (self.lo..=self.hi).map(|x| (x, self.eval(x))).collect()
    }

    /// Largest `|eval(x) / 2^s_out - f(x / 2^s_in)|` over the domain: the rounding error of the
    /// table (at most half an output unit). Clamping adds `|f(x) - f(clamp(x))|` outside the
    /// domain, which is small only for saturating functions — choose the domain accordingly.
    #[must_use]
    pub fn max_abs_error(&self) -> f64 {
        (self.lo..=self.hi)
            .map(|x| {
                (self.out_scale.decode(self.eval(x)) - self.function.apply(self.in_scale.decode(x)))
                    .abs()
            })
            .fold(0.0, f64::max)
    }

    /// A table for `function` covering the real interval `[lo, hi]` with at most
    /// [`MAX_TABLE_ROWS`] rows. If the interval at `in_scale` needs more rows, the input scale
    /// is lowered by `shift` bits until it fits: callers rescale their input by `shift` first
    /// (the decomposition of wide inputs), and [`TableSpec::max_abs_error_with_input_rounding`]
    /// accounts for the extra error. Returns `(shift, spec)`.
    ///
    /// # Errors
    /// As [`TableSpec::new`], or [`LookupError::EmptyDomain`] if `lo > hi`.
    pub fn fitted(
        function: Function,
        in_scale: Scale,
        out_scale: Scale,
        lo: f64,
        hi: f64,
    ) -> Result<(u32, Self), LookupError> {
        let name = function.name();
        for shift in 0..=in_scale.bits() {
            let s = in_scale.lowered(shift);
            let (Ok(a), Ok(b)) = (s.encode(lo), s.encode(hi)) else {
                return Err(LookupError::EmptyDomain {
                    function: name,
                    lo: 0,
                    hi: -1,
                });
            };
            if a > b {
                return Err(LookupError::EmptyDomain {
                    function: name,
                    lo: a,
                    hi: b,
                });
            }
            if i128::from(b) - i128::from(a) < i128::from(MAX_TABLE_ROWS) {
                return Ok((shift, TableSpec::new(function, s, out_scale, a, b)?));
            }
        }
        Err(LookupError::TooLarge {
            function: name,
            lo: 0,
            hi: 0,
            rows: u128::MAX,
            max: MAX_TABLE_ROWS,
        })
    }

    /// The smallest exact-enough table of a saturating function ([`Function::saturation`]) on
    /// `[lo, hi]`, falling back to [`TableSpec::fitted`] for other functions. Two savings, both
    /// bounded:
    ///
    /// - **Coarser input.** The input is rescaled by the largest `shift` whose rounding moves
    ///   the output by at most half an output unit (`slope * 2^shift <= 2^(s_in - s_out)`), so
    ///   [`TableSpec::max_abs_error_with_input_rounding`] stays within one output unit.
    /// - **Saturation radius.** The domain ends where the rounded output already equals the
    ///   rounded limit: beyond that point every input rounds to the same output (the function is
    ///   monotone between there and its limit), so clamping there is exact.
    ///
    /// A sigmoid at input and output scale 2^11 on `[-16, 16]`: 2^15 + 1 rows with `fitted`
    /// (shift 1), about 8,500 with this (shift 2, radius 8.32).
    ///
    /// # Errors
    /// As [`TableSpec::fitted`].
    pub fn economical(
        function: Function,
        in_scale: Scale,
        out_scale: Scale,
        lo: f64,
        hi: f64,
    ) -> Result<(u32, Self), LookupError> {
        let Some((slope, below, above)) = function.saturation() else {
            return TableSpec::fitted(function, in_scale, out_scale, lo, hi);
        };
        // slope * 2^shift <= 2^(s_in - s_out)
        let budget = f64::from(in_scale.bits()) - f64::from(out_scale.bits()) - slope.log2();
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let shift = if budget >= 1.0 {
            (budget.floor() as u32).min(in_scale.bits())
        } else {
            0
        };
        let s = in_scale.lowered(shift);
        let (Ok(mut a), Ok(mut b), Ok(top), Ok(bottom)) = (
            s.encode(lo),
            s.encode(hi),
            out_scale.encode(above),
            out_scale.encode(below),
        ) else {
            return TableSpec::fitted(function, in_scale, out_scale, lo, hi);
        };
        let value = |x: i64| out_scale.encode(function.apply(s.decode(x))).ok();
        // Cut each end to the first point (from inside) that rounds to the limit. The function
        // is monotone, so "rounds to the limit" holds on a suffix (a prefix) of the domain:
        // binary search, logarithmic in the caller's radius whatever it is.
        if a < b && value(b) == Some(top) {
            let (mut lo_x, mut hi_x) = (a, b); // value(hi_x) == top
            while lo_x < hi_x {
                let mid = lo_x + (hi_x - lo_x) / 2;
                if value(mid) == Some(top) {
                    hi_x = mid;
                } else {
                    lo_x = mid + 1;
                }
            }
            b = hi_x;
        }
        if a < b && value(a) == Some(bottom) {
            let (mut lo_x, mut hi_x) = (a, b); // value(lo_x) == bottom
            while lo_x < hi_x {
                let mid = hi_x - (hi_x - lo_x) / 2;
                if value(mid) == Some(bottom) {
                    lo_x = mid;
                } else {
                    hi_x = mid - 1;
                }
            }
            a = lo_x;
        }
        let (rest, spec) = TableSpec::fitted(function, s, out_scale, s.decode(a), s.decode(b))?;
        Ok((shift + rest, spec))
    }

    /// The default table of a function at the given scales: the domain where it matters for
    /// ML (`[-8, 8]` for activations and saturating functions, `[-16, 0]` for `exp` as softmax
    /// uses it, `(0, 16]` for reciprocal, rsqrt and log, `[0, 64]` for sqrt), fitted with
    /// [`TableSpec::fitted`].
    ///
    /// # Errors
    /// As [`TableSpec::fitted`].
    pub fn default_for(
        function: Function,
        in_scale: Scale,
        out_scale: Scale,
    ) -> Result<(u32, Self), LookupError> {
        let (lo, hi) = function.default_domain();
        // An end where the function is undefined moves inwards by `step`.
        let inside = |step: f64| {
            (
                if function.defined_at(lo) {
                    lo
                } else {
                    lo + step
                },
                if function.defined_at(hi) {
                    hi
                } else {
                    hi - step
                },
            )
        };
        let (a, b) = inside(1.0 / in_scale.factor());
        let (shift, spec) = match TableSpec::fitted(function, in_scale, out_scale, a, b) {
            // Lowering the input scale rounded a moved end back onto the undefined point: move
            // it by two coarse steps instead (the span over 2^15 rows).
            Err(LookupError::Undefined { .. }) => {
                let (a, b) = inside((hi - lo) / 32768.0);
                TableSpec::fitted(function, in_scale, out_scale, a, b)?
            }
            other => other?,
        };
        // A positive-only domain must stay positive after lowering the scale.
        if spec.lo == 0
            && matches!(
                function,
                Function::Reciprocal | Function::Rsqrt | Function::Log
            )
        {
            return TableSpec::new(function, spec.in_scale, out_scale, 1, spec.hi)
                .map(|t| (shift, t));
        }
        Ok((shift, spec))
    }

    /// [`TableSpec::max_abs_error`] plus the error of rounding a finer input to this table's
    /// input scale first (half an input unit times the largest slope between table rows): the
    /// error bound of a lookup after a rescale by the `shift` of [`TableSpec::fitted`].
    #[must_use]
    pub fn max_abs_error_with_input_rounding(&self) -> f64 {
        let step = 1.0 / self.in_scale.factor();
        let slope = (self.lo..self.hi)
            .map(|x| {
                let (a, b) = (self.in_scale.decode(x), self.in_scale.decode(x + 1));
                ((self.function.apply(b) - self.function.apply(a)) / step).abs()
            })
            .fold(0.0, f64::max);
        self.max_abs_error() + slope * step / 2.0
    }

    /// The Keccak-256 digest of the canonical (postcard) encoding, domain-separated.
    #[must_use]
    pub fn digest(&self) -> [u8; 32] {
        let bytes = postcard::to_allocvec(self).unwrap_or_default();
        Keccak256Hash.hash_iter_slices([TABLE_DIGEST_DOMAIN, &bytes[..]])
    }
}
