//! The functions, evaluated in `f64` with `libm` (deterministic across platforms).

use serde::{Deserialize, Serialize};

/// A nonlinear function of one real variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Function {
    /// `max(x, 0)`.
    Relu,
    /// `x` for `x >= 0`, `alpha * x` below, with `alpha = num / den`.
    LeakyRelu {
        /// Numerator of the slope.
        num: u32,
        /// Denominator of the slope (non-zero).
        den: u32,
    },
    /// `1 / (1 + e^-x)`.
    Sigmoid,
    /// `tanh(x)`.
    Tanh,
    /// `x/2 * (1 + erf(x / sqrt 2))` (the exact, erf form).
    Gelu,
    /// `x * sigmoid(x)`.
    Silu,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `e^x` (softmax uses it on `x - max <= 0`).
    Exp,
    /// `1 / x` (domain must exclude 0).
    Reciprocal,
    /// `1 / sqrt(x)` (domain must be positive).
    Rsqrt,
    /// `sqrt(x)` (domain must be non-negative).
    Sqrt,
    /// `ln(x)` (domain must be positive).
    Log,
    /// The error function `erf(x)` (ONNX `Erf`).
    Erf,
    /// The standard normal CDF `Phi(x) = (1 + erf(x / sqrt 2)) / 2`: GELU is `x * Phi(x)`, a
    /// product with a saturating table, exact for inputs of any size.
    NormalCdf,
    /// `sin(x)` (appended with the other trigonometric and hyperbolic functions: older
    /// encodings decode unchanged).
    Sin,
    /// `cos(x)`.
    Cos,
    /// `tan(x)` (a domain between two poles).
    Tan,
    /// `asin(x)` (domain within `[-1, 1]`).
    Asin,
    /// `acos(x)` (domain within `[-1, 1]`).
    Acos,
    /// `atan(x)`.
    Atan,
    /// `sinh(x)`.
    Sinh,
    /// `cosh(x)`.
    Cosh,
    /// `asinh(x)`.
    Asinh,
    /// `acosh(x)` (domain within `[1, inf)`).
    Acosh,
    /// `atanh(x)` (domain within `(-1, 1)`).
    Atanh,
}

impl Function {
    /// A short, stable name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Function::Relu => "relu",
            Function::LeakyRelu { .. } => "leaky_relu",
            Function::Sigmoid => "sigmoid",
            Function::Tanh => "tanh",
            Function::Gelu => "gelu",
            Function::Silu => "silu",
            Function::Softplus => "softplus",
            Function::Exp => "exp",
            Function::Reciprocal => "reciprocal",
            Function::Rsqrt => "rsqrt",
            Function::Sqrt => "sqrt",
            Function::Log => "log",
            Function::Erf => "erf",
            Function::NormalCdf => "normal_cdf",
            Function::Sin => "sin",
            Function::Cos => "cos",
            Function::Tan => "tan",
            Function::Asin => "asin",
            Function::Acos => "acos",
            Function::Atan => "atan",
            Function::Sinh => "sinh",
            Function::Cosh => "cosh",
            Function::Asinh => "asinh",
            Function::Acosh => "acosh",
            Function::Atanh => "atanh",
        }
    }

    /// Every function, with leaky ReLU at slope 1/100.
    pub const ALL: [Function; 25] = [
        Function::Relu,
        Function::LeakyRelu { num: 1, den: 100 },
        Function::Sigmoid,
        Function::Tanh,
        Function::Gelu,
        Function::Silu,
        Function::Softplus,
        Function::Exp,
        Function::Reciprocal,
        Function::Rsqrt,
        Function::Sqrt,
        Function::Log,
        Function::Erf,
        Function::NormalCdf,
        Function::Sin,
        Function::Cos,
        Function::Tan,
        Function::Asin,
        Function::Acos,
        Function::Atan,
        Function::Sinh,
        Function::Cosh,
        Function::Asinh,
        Function::Acosh,
        Function::Atanh,
    ];

    /// A default real domain for a table of the function, where it is defined and moderate:
    /// `[-16, 0]` for `exp`, `[0, 16]` for `1/x`, `1/sqrt x`, `ln x` (open at 0: a table
    /// starts one input unit above), `[0, 64]` for `sqrt`, `[-1, 1]` for `asin`, `acos`,
    /// `atanh` (open for `atanh`), `[1, 16]` for `acosh`, `[-1.5, 1.5]` for `tan`, `[-4, 4]`
    /// for `sinh` and `cosh` (their values grow as `e^|x|`), else `[-8, 8]`. Use [`Function::grid_domain`] for the integer bounds at a scale.
    #[must_use]
    pub fn default_domain(self) -> (f64, f64) {
        match self {
            Function::Exp => (-16.0, 0.0),
            Function::Reciprocal | Function::Rsqrt | Function::Log => (0.0, 16.0),
            Function::Sqrt => (0.0, 64.0),
            Function::Asin | Function::Acos | Function::Atanh => (-1.0, 1.0),
            Function::Acosh => (1.0, 16.0),
            Function::Tan => (-1.5, 1.5),
            Function::Sinh | Function::Cosh => (-4.0, 4.0),
            _ => (-8.0, 8.0),
        }
    }

    /// [`Function::default_domain`] as integers at scale `2^bits`, each end moved one unit
    /// inwards where the function is undefined there.
    #[must_use]
    pub fn grid_domain(self, bits: u32) -> (i64, i64) {
        let f = f64::from(1u32 << bits.min(30));
        let (lo, hi) = self.default_domain();
        #[allow(clippy::cast_possible_truncation)]
        let (lo, hi) = ((lo * f).round() as i64, (hi * f).round() as i64);
        #[allow(clippy::cast_precision_loss)]
        let defined = |x: i64| self.defined_at(x as f64 / f);
        (
            if defined(lo) { lo } else { lo + 1 },
            if defined(hi) { hi } else { hi - 1 },
        )
    }

    /// Whether `x` is in the function's mathematical domain.
    #[must_use]
    pub fn defined_at(self, x: f64) -> bool {
        match self {
            Function::Reciprocal => x != 0.0,
            Function::Rsqrt | Function::Log => x > 0.0,
            Function::Sqrt => x >= 0.0,
            Function::Asin | Function::Acos => (-1.0..=1.0).contains(&x),
            Function::Atanh => x > -1.0 && x < 1.0,
            Function::Acosh => x >= 1.0,
            Function::Tan => libm::cos(x) != 0.0,
            Function::LeakyRelu { den, .. } => den != 0,
            _ => true,
        }
    }

    /// For a monotone function that saturates at both ends: its largest slope `|f'|` over the
    /// reals and its limits at `-inf` and `+inf`. `None` for every other function. These make a
    /// table cheaper at no cost in exactness beyond one output unit (see
    /// [`crate::TableSpec::economical`]).
    #[must_use]
    pub fn saturation(self) -> Option<(f64, f64, f64)> {
        match self {
            Function::Sigmoid => Some((0.25, 0.0, 1.0)),
            Function::Tanh => Some((1.0, -1.0, 1.0)),
            Function::Erf => Some((core::f64::consts::FRAC_2_SQRT_PI, -1.0, 1.0)),
            // 1 / sqrt(2 pi)
            Function::NormalCdf => Some((0.398_942_280_401_432_7, 0.0, 1.0)),
            _ => None,
        }
    }

    /// `f(x)` in `f64`.
    #[must_use]
    pub fn apply(self, x: f64) -> f64 {
        match self {
            Function::Relu => x.max(0.0),
            Function::LeakyRelu { num, den } => {
                if x >= 0.0 {
                    x
                } else {
                    x * f64::from(num) / f64::from(den)
                }
            }
            Function::Sigmoid => sigmoid(x),
            Function::Tanh => libm::tanh(x),
            Function::Gelu => 0.5 * x * (1.0 + libm::erf(x / core::f64::consts::SQRT_2)),
            Function::Silu => x * sigmoid(x),
            // ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), stable for large |x|.
            Function::Softplus => x.max(0.0) + libm::log1p(libm::exp(-x.abs())),
            Function::Exp => libm::exp(x),
            Function::Reciprocal => 1.0 / x,
            Function::Rsqrt => 1.0 / libm::sqrt(x),
            Function::Sqrt => libm::sqrt(x),
            Function::Log => libm::log(x),
            Function::Erf => libm::erf(x),
            Function::NormalCdf => 0.5 * (1.0 + libm::erf(x / core::f64::consts::SQRT_2)),
            Function::Sin => libm::sin(x),
            Function::Cos => libm::cos(x),
            Function::Tan => libm::tan(x),
            Function::Asin => libm::asin(x),
            Function::Acos => libm::acos(x),
            Function::Atan => libm::atan(x),
            Function::Sinh => libm::sinh(x),
            Function::Cosh => libm::cosh(x),
            Function::Asinh => libm::asinh(x),
            Function::Acosh => libm::acosh(x),
            Function::Atanh => libm::atanh(x),
        }
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + libm::exp(-x))
    } else {
        let e = libm::exp(x);
        e / (1.0 + e)
    }
}
