"""Write docs/onnx-operators.md: every ai.onnx operator with its status in zkmlops-onnx and the
generated test models (crates/onnx/tests/models, examples/models) that use it.

Run from the repository root: python3 crates/onnx/scripts/operator_table.py
Keep SUPPORTED / LIMITS / CONSTANTS in step with crates/onnx/src/import*.rs (the Rust error
message SUPPORTED_OPERATORS lists the same operators).
"""

import glob
import os

import onnx
import onnx.defs

# Lowered on computed tensors (and constants).
SUPPORTED = {
    "Abs", "Add", "And", "ArgMax", "ArgMin", "AveragePool", "BatchNormalization", "Cast",
    "CastLike", "Ceil", "Celu", "Clip", "Concat", "Constant", "Conv", "Div", "Dropout", "Elu",
    "Equal", "Erf", "Expand", "Flatten", "Floor", "Gather", "Gelu", "Gemm", "GlobalAveragePool",
    "GlobalMaxPool", "Greater", "GreaterOrEqual", "HardSigmoid", "HardSwish", "Hardmax",
    "Identity", "InstanceNormalization", "LayerNormalization", "LeakyRelu", "Less",
    "LessOrEqual", "LogSoftmax", "MatMul", "Max", "MaxPool", "Mean", "Min", "Mish", "Mul", "Neg",
    "Not", "Or", "PRelu", "Pad", "Pow", "ReduceL1", "ReduceL2", "ReduceLogSumExp", "ReduceMax",
    "ReduceMean", "ReduceMin", "ReduceSum", "ReduceSumSquare", "Relu", "Reshape", "Resize",
    "Selu", "Shape", "Shrink", "Sigmoid", "Sign", "Size", "Slice", "Softmax", "Softplus", "Split",
    "Sqrt", "Squeeze", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Tile", "Transpose", "Trilu",
    "Unsqueeze", "Upsample", "Where", "Xor", "LSTM", "GRU", "RNN", "ConvTranspose",
    "GatherElements", "GatherND", "Reciprocal", "Exp", "Log", "Softsign", "Round", "LpPool",
    "TopK", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
    "Atanh", "ScatterElements", "ScatterND", "Scatter", "CumSum", "Mod", "QuantizeLinear",
    "DequantizeLinear", "Einsum", "DepthToSpace", "SpaceToDepth", "Swish", "LpNormalization",
    "GlobalLpPool", "OneHot", "EyeLike", "Compress", "GroupNormalization", "Attention", "RotaryEmbedding",
    "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss", "ReduceProd", "CumProd",
    "MeanVarianceNormalization", "RMSNormalization", "BitShift", "LRN", "ReduceLogSum",
    "SwiGLU", "CenterCropPad", "Optional", "OptionalGetElement", "OptionalHasElement",
    "SequenceConstruct", "SequenceEmpty", "SequenceInsert", "SequenceErase", "SequenceAt",
    "SequenceLength", "ConcatFromSequence", "SplitToSequence", "If", "Loop", "Scan",
    "GridSample", "AffineGrid", "DFT", "STFT", "Col2Im", "ReverseSequence", "TensorScatter",
    "MaxUnpool", "CausalConvWithState", "LinearAttention", "Det", "DynamicQuantizeLinear",
    "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot",
}
# Supported with limits worth a line (the rest of the detail is in docs/onnx.md).
LIMITS = {
    "LRN": "powers tabulated on the range the input's calibrated magnitude allows",
    "ReduceLogSum": "ln tabulated on the sums the input's calibrated range allows",
    "SequenceInsert": "constant position (sequences are resolved at import)",
    "SequenceErase": "constant position (sequences are resolved at import)",
    "SequenceAt": "constant position (sequences are resolved at import)",
    "SplitToSequence": "constant split; pieces of at least one element",
    "If": "a condition that folds at import inlines the branch taken; a computed one proves "
          "both branches and selects (their outputs of one shape)",
    "Optional": "of a tensor (optional-typed graph inputs are not read)",
    "OptionalGetElement": "of a tensor (optional-typed graph inputs are not read)",
    "OptionalHasElement": "of a tensor or an absent input (a constant)",
    "CenterCropPad": "constant target shape",
    "Scan": "opset 9+; unrolled over the scanned axis (at most 2^12 iterations); no nested subgraph reading the body's names",
    "Loop": "a constant trip count and a condition constant in every iteration (unrolled, at most 2^12 iterations); no nested subgraph reading the body's names",
    "Div": "a computed divisor must be nonzero (a typed error otherwise); integer tensors "
           "truncate as ONNX does",
    "Reciprocal": "nonzero input (a typed error otherwise)",
    "Exp": "tabulated on the calibrated input range (+25% each side), clamped beyond",
    "Sin": "reduced by whole periods, then a table on one period: every input",
    "Cos": "reduced by whole periods, then a table on one period: every input",
    "Tan": "reduced by whole periods, then a table on [-1.5, 1.5] (clamped near the poles)",
    "Asin": "as Exp, within the function's domain",
    "Acos": "as Exp, within the function's domain",
    "Atan": "as Exp, within the function's domain",
    "Sinh": "as Exp, within the function's domain",
    "Cosh": "as Exp, within the function's domain",
    "Asinh": "as Exp, within the function's domain",
    "Acosh": "as Exp, within the function's domain",
    "Atanh": "as Exp, within the function's domain",
    "Log": "tabulated on the calibrated input range (+25% each side), clamped beyond",
    "LSTM": "unrolled; default or Sigmoid/Tanh/Relu activations; no clip, input_forget or short sequence_lens",
    "GRU": "unrolled; as LSTM; both linear_before_reset",
    "RNN": "unrolled; Tanh, Sigmoid or Relu",
    "ConvTranspose": "1-D, 2-D and 3-D; pads given or generated from output_shape / auto_pad",
    "GatherElements": "constant or computed indices",
    "GatherND": "constant or computed indices, any batch_dims",
    "LpPool": "1-D and 2-D, p 1, 2 or 4 (roots by exact square roots), no dilations",
    "TopK": "constant K (input or, before opset 10, attribute)",
    "ScatterElements": "reduction none or add at constant or computed indices; mul, max, min at "
                       "constant indices",
    "ScatterND": "reduction none or add at constant or computed indices; mul, max, min at "
                 "constant indices",
    "Scatter": "as ScatterElements",
    "Pow": "constant exponent (a scalar, or a tensor of at most 16 distinct values): whole "
           "numbers up to 16 in magnitude exactly (products, a division for negative ones), 0.5 "
           "by the exact sqrt, others as e^(p ln x) by tables on the calibrated range (x > 0)",
    "Mod": "constant divisor (a scalar, or a tensor of at most 16 distinct values); integer "
           "tensors by a computed divisor",
    "CumSum": "constant axis",
    "QuantizeLinear": "constant scale and zero point (per tensor, per channel or blocked), or a "
                      "computed per-tensor scale; 4, 8 or 16 bits, signed or not",
    "DequantizeLinear": "constant scale and zero point (per tensor, per channel or blocked), or "
                        "a computed per-tensor scale",
    "Einsum": "explicit or implicit output, ellipses (no broadcasting of 1), repeated labels "
              "(diagonals); three or more operands contracted pairwise, left to right",
    "GridSample": "a constant grid (an initializer, or a graph input fixed at compile time); "
                  "every mode and padding mode, 2-D and 3-D",
    "AffineGrid": "constant size",
    "DFT": "known length and axis (constants or graph inputs fixed at compile time)",
    "STFT": "known frame_step, window and frame_length; signal [batch, length, 1 or 2]",
    "Col2Im": "constant image and block shapes",
    "ReverseSequence": "known sequence_lens (a constant or a graph input fixed at compile time)",
    "TensorScatter": "known write_indices (a constant or a graph input fixed at compile time)",
    "MaxUnpool": "known indices (a constant or a graph input fixed at compile time)",
    "Det": "matrices up to 4x4 (Leibniz's sum)",
    "BitwiseAnd": "integer graph inputs of one type of at most 16 bits",
    "BitwiseOr": "integer graph inputs of one type of at most 16 bits",
    "BitwiseXor": "integer graph inputs of one type of at most 16 bits",
    "BitwiseNot": "integer graph inputs of at most 16 bits",
    "Dropout": "outside training, or training with ratio 0 (its mask all true)",
    "LinearAttention": "unrolled over the sequence (at most 4096 steps)",
    "LpNormalization": "p 1 or 2",
    "GlobalLpPool": "p 1 or 2",
    "OneHot": "constant depth and values",
    "Compress": "constant condition",
    "Gather": "constant or computed indices (one-hot selection)",
    "Where": "condition constant, or computed 0/1 (a comparison or logical output, a boolean input)",
    "Resize": "nearest, linear or cubic; every coordinate mode, axes, keep_aspect_ratio_policy; "
              "no downscaling antialias",
    "Upsample": "nearest or linear",
    "Pad": "constant, reflect, edge, wrap",
    "Slice": "constant bounds and steps (any sign; INT64_MAX/MIN as the end)",
    "Cast": "computed tensors: floating types as they are, integer types truncated, bool x != 0",
    "CastLike": "as Cast",
    "Conv": "1-D, 2-D and 3-D",
    "MaxPool": "1-D, 2-D and 3-D, dilations, ceil_mode; the indices output of 2-D pools",
    "AveragePool": "1-D, 2-D and 3-D (no depth padding), dilations, count_include_pad, "
                   "ceil_mode",
    "BitShift": "constant or computed amounts; LEFT of an integer graph input of at most 32 bits "
                "(wraps at its width, two's complement for signed)",
    "Softmax": "any axis",
    "Clip": "scalar bounds",
    "Trilu": "constant k",
    "Expand": "constant shape",
    "Tile": "constant repeats",
    "Split": "constant sizes",
    "MatMul": "vectors, matrices or stacks of them",
}
# ai.onnx.ml operators lowered (the rest of that domain is unsupported).
ML_SUPPORTED = {
    "TreeEnsembleClassifier": "integer labels (string labels as their index); SUM; NONE, LOGISTIC or SOFTMAX; the binary "
                              "one-column layout as onnxruntime (one base value)",
    "TreeEnsembleRegressor": "SUM or AVERAGE; NONE, LOGISTIC or SOFTMAX",
    "LinearClassifier": "integer labels (string labels as their index), one coefficient row per label (or one row for two "
                        "labels, onnxruntime's binary layout); NONE, LOGISTIC or SOFTMAX",
    "LinearRegressor": "NONE, LOGISTIC or SOFTMAX",
    "Scaler": "one value or one per feature",
    "Normalizer": "MAX, L1, L2 over rows (exact divisions; a zero norm is a typed error)",
    "Binarizer": "exact on the quantized values",
    "ArrayFeatureExtractor": "along the last axis; constant or computed indices; a string "
                             "class list gives class indices",
    "SVMClassifier": "one-against-one as onnxruntime (string labels as their index); LINEAR, POLY, RBF, SIGMOID kernels; no "
                     "probability estimates (prob_a) or post transform",
    "SVMRegressor": "LINEAR, POLY, RBF, SIGMOID kernels; not one_class; no post transform",
    "ZipMap": "the output is the probability matrix (columns in classlabels order), not a "
              "sequence of maps",
}
# ai.onnx.preview.training operators lowered.
TRAINING_SUPPORTED = {
    "Adagrad": "a known step count T (a constant or a graph input fixed at compile time)",
    "Adam": "a known step count T (a constant or a graph input fixed at compile time)",
    "Momentum": "a known step count T; standard and nesterov",
}
# Evaluated at import when every input is a constant (shape arithmetic), not on activations.
CONSTANTS = {
    "ConstantOfShape", "Range", "NonZero", "BlackmanWindow", "HannWindow", "HammingWindow",
    "MelWeightMatrix",
}


# Test models that exist to be refused by name: not tests of the operators they contain.
REFUSED = {"if_computed_shapes", "string_gather", "unsupported_unique", "binary_probit", "binary_two_bases"}


def test_models():
    uses = {}
    for path in sorted(glob.glob("crates/onnx/tests/models/*.onnx") + glob.glob("examples/models/**/*.onnx", recursive=True)):
        try:
            m = onnx.load(path)
        except Exception:
            continue
        name = os.path.splitext(os.path.basename(path))[0]
        if name in REFUSED:
            continue
        for n in m.graph.node:
            uses.setdefault(n.op_type, set()).add(name)
    return uses


def main():
    ops = sorted({s.name for s in onnx.defs.get_all_schemas()
                  if s.domain in ("", "ai.onnx") and not s.deprecated})
    uses = test_models()
    rows, counts = [], {"supported": 0, "with limits": 0, "constants only": 0, "unsupported": 0}
    for op in ops:
        if op in SUPPORTED:
            status = "supported with limits" if op in LIMITS else "supported"
            counts["with limits" if op in LIMITS else "supported"] += 1
        elif op in CONSTANTS:
            status = "constants only (folded at import)"
            counts["constants only"] += 1
        else:
            status = "unsupported"
            counts["unsupported"] += 1
        tests = ", ".join(f"`{t}`" for t in sorted(uses.get(op, ()))[:6])
        rows.append(f"| {op} | {status} | {LIMITS.get(op, '')} | {tests} |")
    with open("docs/onnx-operators.md", "w") as f:
        f.write("# ONNX operators in zkmlops-onnx\n\n")
        f.write("Generated by `python3 crates/onnx/scripts/operator_table.py` from the `onnx` "
                f"package's operator schemas ({onnx.__version__}, domain ai.onnx, deprecated ones "
                "left out) and the generated test models. Every supported operator has a model "
                "in `crates/onnx/tests/models/` (or `examples/models/`) that the importer's "
                "conformance test compares with tract's float run (with a written expectation "
                "where tract cannot run it or disagrees with the ONNX definition: Upsample, "
                "negative Pad and GatherND indices, Celu's alpha, LpPool, GlobalLpPool, Compress, "
                "a reverse GRU) and "
                "proves with the FRI backend, and that every backend's conformance suite proves "
                "(`crates/conformance/src/lifecycle.rs`). How each is lowered: "
                "[`onnx.md`](onnx.md#operators).\n\n")
        f.write(f"{len(ops)} operators: {counts['supported']} supported, "
                f"{counts['with limits']} supported with limits, {counts['constants only']} on "
                f"constants only, {counts['unsupported']} unsupported.\n\n")
        f.write("| operator | status | limits | test models |\n|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")
        domain_table(f, uses, "ai.onnx.ml", ML_SUPPORTED,
                     "(tested against scikit-learn's own predictions on skl2onnx exports), the "
                     "rest unsupported. TreeEnsembleClassifier and TreeEnsembleRegressor, which "
                     "skl2onnx and onnxmltools emit, are deprecated since ai.onnx.ml 5 in favour "
                     "of TreeEnsemble, which no exporter we tried emits yet.")
        domain_table(f, uses, "ai.onnx.preview.training", TRAINING_SUPPORTED,
                     "(lowered through the nodes of ONNX's reference formulas), the rest "
                     "unsupported.")


def domain_table(f, uses, domain, supported, note):
    """A section listing every operator of `domain`: supported (with its limits) or not."""
    ops = sorted({s.name for s in onnx.defs.get_all_schemas() if s.domain == domain})
    n = sum(1 for op in ops if op in supported)
    f.write(f"\n## Domain {domain}\n\n{len(ops)} operators: {n} supported with limits {note}\n\n")
    f.write("| operator | status | limits | test models |\n|---|---|---|---|\n")
    for op in ops:
        status = "supported with limits" if op in supported else "unsupported"
        tests = ", ".join(f"`{t}`" for t in sorted(uses.get(op, ()))[:6])
        f.write(f"| {op} | {status} | {supported.get(op, '')} | {tests} |\n")

if __name__ == "__main__":
    main()
