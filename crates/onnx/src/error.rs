//! Errors of ONNX import, calibration and float inference.

use std::path::PathBuf;

use thiserror::Error;
use zkmlops_tensor::ProgramError;

/// The operators zkmlops imports, listed in errors about the others.
pub const SUPPORTED_OPERATORS: &str = "Gemm, MatMul, Add, Sub, Mul, Div, Reciprocal, Conv, \
    ConvTranspose, Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Softplus, Softsign, Mish, \
    HardSigmoid, HardSwish, Sigmoid, Tanh, Erf, Gelu, Exp, Log, Sin, Cos, Tan, Asin, Acos, Atan, \
    Sinh, Cosh, Asinh, Acosh, Atanh (calibrated ranges), Softmax, \
    LogSoftmax, ArgMax, ArgMin, TopK, Neg, Abs, Min, Max, Sum, Clip, Sqrt, Pow, CumSum, Mod, \
    QuantizeLinear, DequantizeLinear, \
    MaxPool, AveragePool, LpPool, GlobalAveragePool, ReduceSum, ReduceMean, ReduceMax, ReduceMin, \
    ReduceSumSquare, ReduceProd, CumProd, ReduceL1, ReduceL2, BatchNormalization, LayerNormalization, \
    InstanceNormalization, LSTM, GRU, RNN, TreeEnsembleClassifier, TreeEnsembleRegressor, Scaler, LinearClassifier, LinearRegressor, \
    Normalizer, Binarizer, ArrayFeatureExtractor, ZipMap (as the probability matrix), SVMRegressor, SVMClassifier, Einsum, DepthToSpace, SpaceToDepth, Swish, LpNormalization, \
    GlobalLpPool, OneHot, EyeLike, Compress, GroupNormalization, MeanVarianceNormalization, \
    RMSNormalization, Attention, RotaryEmbedding, SwiGLU, CenterCropPad, Optional, OptionalGetElement, OptionalHasElement, NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss, BitwiseAnd, BitwiseOr, BitwiseXor, BitwiseNot (integer inputs of up to 16 bits), GridSample (constant grid), AffineGrid, DFT, STFT, CausalConvWithState, LinearAttention, Col2Im, ReverseSequence, TensorScatter, MaxUnpool, DynamicQuantizeLinear, Det (up to 4x4), Adagrad, Adam, Momentum (a known step count), Flatten, Reshape, Transpose, Concat, Slice, Squeeze, \
    Unsqueeze, Pad, Gather, GatherElements, GatherND, ScatterElements, ScatterND, \
    Split, Tile, Expand, Where, \
    Greater, Less, GreaterOrEqual, LessOrEqual, Equal, Not, And, Or, Xor, Sign, Floor, Ceil, \
    Round, BitShift, Resize and Upsample (nearest, linear, cubic), Mean, ThresholdedRelu, Shrink, Hardmax, \
    Trilu, GlobalMaxPool, ReduceLogSumExp, ReduceLogSum, LRN, Conv, MaxPool and AveragePool (1-D, 2-D, \
    3-D), \
    Identity, Constant, Cast (to a floating type); resolved at import (constant positions, \
    conditions and trip counts): SequenceConstruct, SequenceEmpty, SequenceInsert, \
    SequenceErase, SequenceAt, SequenceLength, ConcatFromSequence, SplitToSequence, If, Loop, Scan; \
    on constants (folded at import): Shape, Size, \
    ConstantOfShape, Range, NonZero, BlackmanWindow, HannWindow, HammingWindow, MelWeightMatrix, Gather, Cast, Expand, Where, Equal, Less, Greater, And, Or, Not, Mod, \
    Floor, Ceil, Round \
    and the element-wise and shape operators above";

/// An error of the ONNX front end.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// A file could not be read or written.
    #[error("cannot access `{path}`: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model tract can parse.
    #[error("not a valid ONNX model: {source}")]
    Malformed {
        /// The parser's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The model uses an operator zkmlops does not import.
    #[error(
        "operator `{op_type}` (node `{node}`) is not supported; supported operators: {SUPPORTED_OPERATORS}"
    )]
    UnsupportedOperator {
        /// The ONNX operator.
        op_type: String,
        /// The node's name.
        node: String,
    },
    /// A supported operator used in a way zkmlops does not import.
    #[error("node `{node}` ({op_type}): {what} is not supported ({detail})")]
    UnsupportedUse {
        /// The node's name.
        node: String,
        /// The ONNX operator.
        op_type: String,
        /// What is not supported.
        what: &'static str,
        /// The offending value.
        detail: String,
    },
    /// A node reads a tensor no earlier node, input or initializer defines.
    #[error("node `{node}` ({op_type}) reads `{input}`, which nothing defines")]
    UnknownTensor {
        /// The node's name.
        node: String,
        /// The ONNX operator.
        op_type: String,
        /// The missing tensor.
        input: String,
    },
    /// An initializer or constant whose type or contents cannot be read.
    #[error("constant `{name}`: {what}")]
    Constant {
        /// The constant.
        name: String,
        /// What is wrong.
        what: &'static str,
    },
    /// A node needs a constant operand (a shape, axes, indices) and reads a computed tensor or
    /// a graph input. A graph input there can be fixed at compile time
    /// ([`crate::Settings::fixed_inputs`]; calibration fixes them from its first sample).
    #[error(
        "node `{node}` ({op_type}) needs input `{input}` to be a constant (a shape, axes, indices or a weight); a graph input there can be fixed at compile time (`fixed_inputs` in the settings, or calibrate on a sample)"
    )]
    NeedsConstant {
        /// The node's name.
        node: String,
        /// Its operator.
        op_type: String,
        /// The operand it reads.
        input: String,
    },
    /// A graph output folds to a constant that the fixed-point encoding cannot hold.
    #[error("graph output `{name}` is a constant outside the fixed-point range: {detail}")]
    ConstantOutput {
        /// The output.
        name: String,
        /// Why it does not encode.
        detail: String,
    },
    /// Building the Program failed at a node (shapes or scales).
    #[error("node `{node}` ({op_type}): {source}")]
    Program {
        /// The node's name.
        node: String,
        /// The ONNX operator.
        op_type: String,
        /// The builder's error.
        source: Box<ProgramError>,
    },
    /// An input sample does not fit the model's input.
    #[error("input sample {sample}: {what} (expected {expected} values for shape {shape:?})")]
    Input {
        /// Which sample (0-based).
        sample: usize,
        /// What is wrong.
        what: String,
        /// The number of values the shape needs.
        expected: usize,
        /// The model's input shape.
        shape: Vec<usize>,
    },
    /// Evaluating the quantized Program failed (an overflow, a value out of a table's range).
    #[error("quantized evaluation of sample {sample}: {source}")]
    Evaluate {
        /// Which sample (0-based).
        sample: usize,
        /// The reference's error.
        source: Box<ProgramError>,
    },
    /// The compiled model and the float model disagree on an output's size (an import bug,
    /// never a tolerance question).
    #[error(
        "output `{output}` has {quantized} values in the compiled model and {float} in tract's float run"
    )]
    OutputSize {
        /// The graph output.
        output: String,
        /// Values the compiled model produces.
        quantized: usize,
        /// Values tract produces.
        float: usize,
    },
    /// tract failed to type, optimise or run the float model.
    #[error("float inference with tract failed: {source}")]
    Float {
        /// tract's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The settings file is not valid.
    #[error("settings: {source}")]
    Settings {
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A setting is out of its range.
    #[error("setting `{name}` = {value} is out of range ({allowed})")]
    SettingRange {
        /// The setting.
        name: &'static str,
        /// Its value.
        value: String,
        /// The allowed range.
        allowed: &'static str,
    },
    /// The bytes are not a compiled model file.
    #[error("not a zkmlops compiled model: {what}")]
    ModelFile {
        /// What is wrong.
        what: &'static str,
    },
    /// The compiled model's Program does not decode.
    #[error("compiled model: {source}")]
    ModelProgram {
        /// The Program decoder's error.
        source: Box<ProgramError>,
    },
    /// No scale in the calibration range gives a Program the backend can prove on every sample.
    #[error(
        "calibration found no usable scale in 2^{lo}..=2^{hi}; at 2^{lo}, sample {sample}: {reason}"
    )]
    Calibration {
        /// The lowest scale tried.
        lo: u32,
        /// The highest scale tried.
        hi: u32,
        /// The failing sample at the lowest scale.
        sample: usize,
        /// Why it failed.
        reason: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The operating system's random source failed (salts need it).
    #[error("the operating system's random source failed")]
    Entropy,
    /// Calibration or fidelity was given no samples.
    #[error("no samples given")]
    NoSamples,
}

/// tract's errors carry their cause in a chain: keep all of it (`{:#}`) in one sentence.
pub(crate) fn float_err(e: impl std::fmt::Display) -> OnnxError {
    OnnxError::Float {
        source: format!("{e:#}").into(),
    }
}
