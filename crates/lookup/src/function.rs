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
        }
    }

    /// Every function, with leaky ReLU at slope 1/100.
    pub const ALL: [Function; 14] = [
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
    ];

    /// Whether `x` is in the function's mathematical domain.
    #[must_use]
    pub fn defined_at(self, x: f64) -> bool {
        match self {
            Function::Reciprocal => x != 0.0,
            Function::Rsqrt | Function::Log => x > 0.0,
            Function::Sqrt => x >= 0.0,
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
