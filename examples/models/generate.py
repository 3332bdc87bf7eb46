#!/usr/bin/env python3
"""Generate the bundled example models and the operator-conformance models.

Run from the repository root: `python3 examples/models/generate.py`. Needs `onnx`, `numpy` and
`scikit-learn` (PyPI); the tree, SVM and control-flow models also `skl2onnx` and `onnxruntime`, the boosters
`xgboost`, `lightgbm` and `onnxmltools`; `generate.py torch` (PyTorch exports, not part of the
default run) `torch` and `hummingbird-ml`. The outputs are committed; the Rust build and tests never run Python.

Bundled models (trained on scikit-learn's bundled datasets, no download):
  logreg  breast cancer, 30 features: Sub(mean) -> Div(std) -> Gemm -> Sigmoid
  mlp     digits 8x8 flattened, 64 -> 32 -> 10: Gemm -> Relu -> Gemm (logits)
  cnn     digits [1,1,8,8]: Conv 3x3 (4 ch) -> BatchNormalization -> Relu -> MaxPool 2x2
          -> Flatten -> Gemm -> 10 logits (conv filters fixed at random, BN statistics and
          the head fitted to the training split)
Each comes with `<name>.input.json` (one sample) and `<name>.data.json` (64 held-out samples)
in EZKL's layout {"input_data": [[...], ...]}, flattened row-major.

Conformance models (crates/onnx/tests/models/): one small graph per supported operator with
random weights, plus malformed and unsupported ones for the error paths.
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier

ROOT = os.path.dirname(os.path.abspath(__file__))
OPS = os.path.join(ROOT, "..", "..", "crates", "onnx", "tests", "models")
OPSET = 17


def f32(a):
    return np.asarray(a, dtype=np.float32)


def save(graph, path, opset=OPSET):
    model = helper.make_model(
        graph,
        producer_name="zkmlops-generate",
        opset_imports=[helper.make_opsetid("", opset)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def write_inputs(name, one, many):
    with open(os.path.join(ROOT, f"{name}.input.json"), "w") as f:
        json.dump({"input_data": [[round(float(v), 6) for v in one.ravel()]]}, f)
    with open(os.path.join(ROOT, f"{name}.data.json"), "w") as f:
        json.dump(
            {"input_data": [[round(float(v), 6) for v in x.ravel()] for x in many]}, f
        )


def logreg():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    clf = LogisticRegression(max_iter=5000).fit((Xtr - mean) / std, ytr)
    acc = clf.score((Xte - mean) / std, yte)
    inits = [
        numpy_helper.from_array(f32(mean.reshape(1, -1)), "mean"),
        numpy_helper.from_array(f32(std.reshape(1, -1)), "std"),
        numpy_helper.from_array(f32(clf.coef_), "weight"),
        numpy_helper.from_array(f32(clf.intercept_), "bias"),
    ]
    nodes = [
        helper.make_node("Sub", ["input", "mean"], ["centred"], name="center"),
        helper.make_node("Div", ["centred", "std"], ["standardised"], name="standardise"),
        helper.make_node("Gemm", ["standardised", "weight", "bias"], ["logit"], name="linear", transB=1),
        helper.make_node("Sigmoid", ["logit"], ["probability"], name="sigmoid"),
    ]
    g = helper.make_graph(
        nodes, "logreg",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 30])],
        [helper.make_tensor_value_info("probability", TensorProto.FLOAT, [1, 1])],
        inits,
    )
    save(g, os.path.join(ROOT, "logreg.onnx"))
    write_inputs("logreg", Xte[0], Xte[:64])
    print(f"logreg: test accuracy {acc:.3f}")


def mlp():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=600, random_state=0).fit(Xtr, ytr)
    acc = clf.score(Xte, yte)
    (w1, w2), (b1, b2) = clf.coefs_, clf.intercepts_
    inits = [
        numpy_helper.from_array(f32(w1.T), "fc1.weight"),
        numpy_helper.from_array(f32(b1), "fc1.bias"),
        numpy_helper.from_array(f32(w2.T), "fc2.weight"),
        numpy_helper.from_array(f32(b2), "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["h"], name="fc1", transB=1),
        helper.make_node("Relu", ["h"], ["a"], name="relu"),
        helper.make_node("Gemm", ["a", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
    ]
    g = helper.make_graph(
        nodes, "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    save(g, os.path.join(ROOT, "mlp.onnx"))
    write_inputs("mlp", Xte[0], Xte[:64])
    print(f"mlp: test accuracy {acc:.3f}")


def conv3x3_same(x, w):
    """x [N,1,8,8], w [C,1,3,3] -> [N,C,8,8] (cross-correlation, zero padding 1)."""
    n = x.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w.shape[0], 8, 8))
    for c in range(w.shape[0]):
        for i in range(3):
            for j in range(3):
                out[:, c] += w[c, 0, i, j] * xp[:, 0, i:i + 8, j:j + 8]
    return out


def cnn():
    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).reshape(-1, 1, 8, 8)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    rng = np.random.default_rng(7)
    w = rng.normal(0.0, 0.5, size=(4, 1, 3, 3))
    b = rng.normal(0.0, 0.1, size=4)
    z = conv3x3_same(Xtr, w) + b[None, :, None, None]
    mean, var = z.mean(axis=(0, 2, 3)), z.var(axis=(0, 2, 3))
    gamma, beta, eps = np.ones(4), np.zeros(4), 1e-5

    def features(x):
        z = conv3x3_same(x, w) + b[None, :, None, None]
        z = (z - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + eps)
        z = np.maximum(z * gamma[None, :, None, None] + beta[None, :, None, None], 0)
        return z.reshape(-1, 4, 4, 2, 4, 2).max(axis=(3, 5)).reshape(len(x), -1)

    head = LogisticRegression(max_iter=5000).fit(features(Xtr), ytr)
    acc = head.score(features(Xte), yte)
    inits = [
        numpy_helper.from_array(f32(w), "conv.weight"),
        numpy_helper.from_array(f32(b), "conv.bias"),
        numpy_helper.from_array(f32(gamma), "bn.scale"),
        numpy_helper.from_array(f32(beta), "bn.bias"),
        numpy_helper.from_array(f32(mean), "bn.mean"),
        numpy_helper.from_array(f32(var), "bn.var"),
        numpy_helper.from_array(f32(head.coef_), "fc.weight"),
        numpy_helper.from_array(f32(head.intercept_), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
                         ["n"], name="bn", epsilon=eps),
        helper.make_node("Relu", ["n"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    ]
    g = helper.make_graph(
        nodes, "cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        inits,
    )
    save(g, os.path.join(ROOT, "cnn.onnx"))
    write_inputs("cnn", Xte[0], Xte[:64])
    print(f"cnn: test accuracy {acc:.3f}")


# ---- conformance models ----------------------------------------------------------------------

RNG = np.random.default_rng(2024)


def rnd(*shape, scale=0.5):
    return f32(RNG.normal(0.0, scale, size=shape))


def op_model(name, nodes, in_shape, out_name, inits=(), opset=OPSET, in_name="x"):
    g = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info(in_name, TensorProto.FLOAT, list(in_shape))],
        [helper.make_tensor_value_info(out_name, TensorProto.FLOAT, [])],
        [numpy_helper.from_array(v, k) for k, v in inits],
    )
    save(g, os.path.join(OPS, f"{name}.onnx"), opset)


def node(op, ins, outs, **attrs):
    return helper.make_node(op, ins, outs, name=f"{op.lower()}_{outs[0]}", **attrs)


def conformance():
    os.makedirs(OPS, exist_ok=True)
    op_model("gemm", [node("Gemm", ["x", "w", "b"], ["y"], transB=1, alpha=0.5, beta=2.0)],
             [2, 6], "y", [("w", rnd(4, 6)), ("b", rnd(4))])
    op_model("matmul", [node("MatMul", ["x", "w"], ["y"])], [3, 5], "y", [("w", rnd(5, 4))])
    op_model("add", [node("Add", ["x", "c"], ["y"])], [2, 3], "y", [("c", rnd(3))])
    op_model("sub", [node("Sub", ["c", "x"], ["y"])], [2, 3], "y", [("c", rnd(2, 1))])
    op_model("mul", [node("Mul", ["x", "x"], ["sq"]), node("Mul", ["sq", "c"], ["y"])],
             [2, 3], "y", [("c", rnd(3))])
    op_model("div", [node("Div", ["x", "c"], ["y"])], [2, 3], "y", [("c", f32([[4.0, -0.5, 3.0]]))])
    op_model("conv", [node("Conv", ["x", "w", "b"], ["y"], strides=[2, 1], pads=[1, 0, 1, 2],
                           dilations=[1, 2])],
             [1, 2, 7, 6], "y", [("w", rnd(3, 2, 3, 2)), ("b", rnd(3))])
    op_model("conv_groups", [node("Conv", ["x", "w"], ["y"], group=2, kernel_shape=[3, 3],
                                  pads=[1, 1, 1, 1])],
             [1, 4, 5, 5], "y", [("w", rnd(6, 2, 3, 3))])
    op_model("relu", [node("Relu", ["x"], ["y"])], [2, 5], "y")
    op_model("leaky_relu", [node("LeakyRelu", ["x"], ["y"], alpha=0.1)], [2, 5], "y")
    op_model("sigmoid", [node("Sigmoid", ["x"], ["y"])], [2, 5], "y")
    op_model("tanh", [node("Tanh", ["x"], ["y"])], [2, 5], "y")
    op_model("erf", [node("Erf", ["x"], ["y"])], [2, 5], "y")
    op_model("gelu", [node("Gelu", ["x"], ["y"])], [2, 5], "y", opset=20)
    op_model("softmax", [node("Softmax", ["x"], ["y"], axis=-1)], [2, 6], "y")
    op_model("max_pool", [node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2],
                               pads=[1, 1, 1, 1])], [1, 2, 6, 6], "y")
    op_model("average_pool", [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2],
                                   strides=[2, 2])], [1, 2, 6, 6], "y")
    op_model("global_average_pool", [node("GlobalAveragePool", ["x"], ["y"])], [1, 3, 4, 4], "y")
    # ceil_mode: a last, partial window on each axis (5 = 2 + 2 + 1; with padding 1, 7 cells
    # in windows of 3 every 2: 3 outputs).
    op_model("max_pool_ceil", [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                                    ceil_mode=1)], [1, 2, 5, 5], "y")
    op_model("average_pool_dilated", [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 3],
                                           strides=[1, 2], dilations=[2, 2], pads=[1, 1, 1, 1])],
             [1, 2, 6, 7], "y", opset=19)
    op_model("average_pool_dilated_count_pad",
             [node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2],
                   dilations=[2, 2], pads=[1, 0, 1, 0], count_include_pad=1)],
             [1, 2, 6, 6], "y", opset=19)
    op_model("average_pool_ceil", [node("AveragePool", ["x"], ["y"], kernel_shape=[3, 3],
                                        strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)],
             [1, 2, 6, 6], "y")
    op_model("batch_norm", [node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"],
                                 epsilon=1e-3)], [1, 3, 2, 2], "y",
             [("g", rnd(3)), ("b", rnd(3)), ("m", rnd(3)), ("v", f32(RNG.uniform(0.5, 2, 3)))])
    op_model("conv_batch_norm",
             [node("Conv", ["x", "w", "cb"], ["c"], kernel_shape=[3, 3]),
              node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], epsilon=1e-5)],
             [1, 2, 5, 5], "y",
             [("w", rnd(3, 2, 3, 3)), ("cb", rnd(3)), ("g", rnd(3)), ("b", rnd(3)),
              ("m", rnd(3)), ("v", f32(RNG.uniform(0.5, 2, 3)))])
    op_model("layer_norm", [node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-1,
                                 epsilon=1e-5)], [2, 8], "y", [("g", rnd(8)), ("b", rnd(8))])
    op_model("flatten", [node("Flatten", ["x"], ["y"], axis=2)], [1, 2, 3, 2], "y")
    op_model("reshape", [node("Reshape", ["x", "s"], ["y"])], [2, 6], "y",
             [("s", np.array([0, 3, -1], dtype=np.int64))])
    op_model("transpose", [node("Transpose", ["x"], ["y"], perm=[1, 0, 2])], [2, 3, 2], "y")
    op_model("concat", [node("Concat", ["x", "c"], ["y"], axis=-1)], [2, 3], "y", [("c", rnd(2, 2))])
    op_model("squeeze_unsqueeze",
             [node("Unsqueeze", ["x", "a"], ["u"]), node("Squeeze", ["u", "a"], ["y"])],
             [2, 3], "y", [("a", np.array([0], dtype=np.int64))])
    op_model("identity_constant",
             [node("Constant", [], ["k"], value=numpy_helper.from_array(rnd(2, 3), "k")),
              node("Identity", ["x"], ["i"]), node("Add", ["i", "k"], ["y"])],
             [2, 3], "y")
    # Error paths.
    op_model("unsupported_unique", [node("Unique", ["x"], ["y"])], [3, 3], "y")
    with open(os.path.join(OPS, "malformed.onnx"), "wb") as f:
        f.write(b"\x08\x07\x12\x05hello this is not an onnx protobuf \xff\xff\xff")


def training_data():
    """Breast cancer (569 x 30), split 455 / 114 (seed 0), standardised with the training
    split's mean and standard deviation, label last; for the training stage's tests."""
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    out = os.path.join(ROOT, "..", "..", "crates", "train", "data")
    os.makedirs(out, exist_ok=True)
    for name, A, b in [("train", Xtr, ytr), ("test", Xte, yte)]:
        with open(os.path.join(out, f"breast_cancer_{name}.csv"), "w") as f:
            f.write(",".join([f"f{i}" for i in range(30)] + ["label"]) + "\n")
            for row, label in zip((A - mean) / std, b):
                f.write(",".join(f"{v:.6f}" for v in row) + f",{int(label)}\n")
    print(f"training data: {len(ytr)} train / {len(yte)} test rows")
    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.2, random_state=0)
    for name, A, b in [("train", Xtr, ytr), ("test", Xte, yte)]:
        with open(os.path.join(out, f"digits_{name}.csv"), "w") as f:
            f.write(",".join([f"p{i}" for i in range(64)] + ["label"]) + "\n")
            for row, label in zip(A, b):
                f.write(",".join(f"{v:.4f}" for v in row) + f",{int(label)}\n")
    print(f"digits: {len(ytr)} train / {len(yte)} test rows")
    # Diabetes (442 x 10, a real-valued target): linear regression. Features and target
    # standardised with the training split's statistics.
    X, y = load_diabetes(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = Xtr.mean(axis=0), Xtr.std(axis=0)
    ym, ys = ytr.mean(), ytr.std()
    for name, A, b in [("train", Xtr, ytr), ("test", Xte, yte)]:
        with open(os.path.join(out, f"diabetes_{name}.csv"), "w") as f:
            f.write(",".join([f"f{i}" for i in range(10)] + ["target"]) + "\n")
            for row, t in zip((A - mean) / std, (b - ym) / ys):
                f.write(",".join(f"{v:.6f}" for v in row) + f",{t:.6f}\n")
    print(f"diabetes: {len(ytr)} train / {len(yte)} test rows")


def attention_ops():
    """ONNX's `Attention` operator (opsets 23-25) and its function body (issue 18): expected
    outputs from ONNX's reference implementation (tract 0.23 and onnxruntime 1.32 do not run
    every attribute). Each `<name>.expected.json` holds the graph inputs concatenated in graph
    order (EZKL's layout) and every output flattened."""
    from onnx.backend.test.case.node import function_testcase_helper
    from onnx.reference import ReferenceEvaluator
    rng = np.random.default_rng(23)
    rn = lambda *s: f32(rng.normal(0.0, 0.6, size=s))
    vi = helper.make_tensor_value_info
    F, I, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL

    def write(name, graph, opset, feeds, inputs):
        save(graph, os.path.join(OPS, f"{name}.onnx"), opset)
        m = onnx.load(os.path.join(OPS, f"{name}.onnx"))
        outs = ReferenceEvaluator(m).run(None, feeds)
        flat = np.concatenate([np.asarray(feeds[n], dtype=np.float64).ravel() for n in inputs])
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump({"input": [round(float(v), 9) for v in flat],
                       "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                                   for o in outs]}, f)

    # Self-attention from one input: projections, 3-D Attention with grouped-query heads
    # (4 query heads over 2 key/value heads), a causal mask and a soft cap.
    g = helper.make_graph(
        [node("MatMul", ["x", "wq"], ["q"]), node("MatMul", ["x", "wk"], ["k"]),
         node("MatMul", ["x", "wv"], ["v"]),
         node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=2,
              is_causal=1, softcap=4.0)],
        "attention_gqa_causal", [vi("x", F, [2, 5, 16])], [vi("y", F, [2, 5, 16])],
        [numpy_helper.from_array(rn(16, 16), "wq"), numpy_helper.from_array(rn(16, 8), "wk"),
         numpy_helper.from_array(rn(16, 8), "wv")])
    write("attention_gqa_causal", g, 23, {"x": rn(2, 5, 16)}, ["x"])

    # 4-D inputs, a cache of two keys (initializers), a boolean mask input whose second row
    # masks every key (probabilities 0 there), the probabilities as output 3 (mode 3).
    mask = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=bool)
    g = helper.make_graph(
        [node("Attention", ["q", "k", "v", "mask", "past_k", "past_v"],
              ["y", "present_k", "present_v", "probs"], qk_matmul_output_mode=3)],
        "attention_masks",
        [vi("q", F, [1, 2, 3, 4]), vi("k", F, [1, 2, 3, 4]), vi("v", F, [1, 2, 3, 4]),
         vi("mask", B, [3, 5])],
        [vi("y", F, [1, 2, 3, 4]), vi("present_k", F, [1, 2, 5, 4]),
         vi("present_v", F, [1, 2, 5, 4]), vi("probs", F, [1, 2, 3, 5])],
        [numpy_helper.from_array(rn(1, 2, 2, 4), "past_k"),
         numpy_helper.from_array(rn(1, 2, 2, 4), "past_v")])
    feeds = {"q": rn(1, 2, 3, 4), "k": rn(1, 2, 3, 4), "v": rn(1, 2, 3, 4), "mask": mask}
    write("attention_masks", g, 23, feeds, ["q", "k", "v", "mask"])

    # An external cache: per-batch valid key counts (an int64 input) with a causal mask and a
    # sliding window of 2 keys to the left (opset 25).
    g = helper.make_graph(
        [node("Attention", ["q", "k", "v", "", "", "", "nonpad"], ["y"], is_causal=1,
              left_window_size=2)],
        "attention_nonpad",
        [vi("q", F, [2, 2, 2, 4]), vi("k", F, [2, 2, 5, 4]), vi("v", F, [2, 2, 5, 4]),
         vi("nonpad", I, [2])],
        [vi("y", F, [2, 2, 2, 4])])
    feeds = {"q": rn(2, 2, 2, 4), "k": rn(2, 2, 5, 4), "v": rn(2, 2, 5, 4),
             "nonpad": np.array([3, 5], dtype=np.int64)}
    write("attention_nonpad", g, 25, feeds, ["q", "k", "v", "nonpad"])

    # Attention's function body as ONNX expands it: a causal bias of -inf constants added to a
    # float mask, `Equal(row max, -inf)` to find fully masked rows, `Where` to zero them.
    att = node("Attention", ["q", "k", "v", "bias"], ["y"], is_causal=1)
    types = [helper.make_tensor_type_proto(F, s) for s in
             ([1, 2, 3, 4], [1, 2, 3, 4], [1, 2, 3, 4], [3, 3])]
    (nodes, _), = function_testcase_helper(att, types, "expanded")[0][:1]
    g = helper.make_graph(
        nodes, "attention_expanded",
        [vi("q", F, [1, 2, 3, 4]), vi("k", F, [1, 2, 3, 4]), vi("v", F, [1, 2, 3, 4]),
         vi("bias", F, [3, 3])],
        [vi("y", F, [1, 2, 3, 4])])
    feeds = {"q": rn(1, 2, 3, 4), "k": rn(1, 2, 3, 4), "v": rn(1, 2, 3, 4), "bias": rn(3, 3)}
    write("attention_expanded", g, 23, feeds, ["q", "k", "v", "bias"])

    # PyTorch's additive mask: finfo(float32).min above the diagonal, added to the scores.
    upper = np.triu(np.full((4, 4), np.finfo(np.float32).min, dtype=np.float32), 1)
    g = helper.make_graph(
        [node("Add", ["x", "causal"], ["s"]), node("Softmax", ["s"], ["y"], axis=-1)],
        "mask_sentinel", [vi("x", F, [2, 4, 4])], [vi("y", F, [2, 4, 4])],
        [numpy_helper.from_array(upper, "causal")])
    write("mask_sentinel", g, 17, {"x": rn(2, 4, 4)}, ["x"])

    # RotaryEmbedding (opset 23): 3-D input split into 2 heads, caches picked by int64
    # position ids (an input), interleaved pairs, the first 6 of 8 features rotated; and a
    # 4-D input without position ids (the caches already per batch and position).
    pos = np.array([[0, 3, 1], [4, 2, 5]], dtype=np.int64)
    g = helper.make_graph(
        [node("RotaryEmbedding", ["x", "cos", "sin", "pos"], ["y"], num_heads=2,
              interleaved=1, rotary_embedding_dim=6),
         node("RotaryEmbedding", ["x4", "cos4", "sin4"], ["y4"])],
        "rotary_embedding",
        [vi("x", F, [2, 3, 16]), vi("pos", I, [2, 3]), vi("x4", F, [1, 2, 3, 4])],
        [vi("y", F, [2, 3, 16]), vi("y4", F, [1, 2, 3, 4])],
        [numpy_helper.from_array(f32(np.cos(np.outer(np.arange(6), [1.0, 0.3, 0.1]))), "cos"),
         numpy_helper.from_array(f32(np.sin(np.outer(np.arange(6), [1.0, 0.3, 0.1]))), "sin"),
         numpy_helper.from_array(f32(np.cos(rn(1, 3, 2))), "cos4"),
         numpy_helper.from_array(f32(np.sin(rn(1, 3, 2))), "sin4")])
    feeds = {"x": rn(2, 3, 16), "pos": pos, "x4": rn(1, 2, 3, 4)}
    write("rotary_embedding", g, 23, feeds, ["x", "pos", "x4"])

    # 3-D inputs without the head counts: refused naming the node.
    g = helper.make_graph(
        [node("Attention", ["x", "x", "x"], ["y"])], "attention_no_heads",
        [vi("x", F, [1, 3, 8])], [vi("y", F, [1, 3, 8])])
    save(g, os.path.join(OPS, "attention_no_heads.onnx"), 23)


def losses():
    """The training losses (issue 18): SoftmaxCrossEntropyLoss with class weights and an
    ignored label (mean, and its log-probabilities), NegativeLogLikelihoodLoss summed and per
    element. Expected outputs from ONNX's reference implementation."""
    from onnx.reference import ReferenceEvaluator
    rng = np.random.default_rng(12)
    vi = helper.make_tensor_value_info
    F, I = TensorProto.FLOAT, TensorProto.INT64
    g = helper.make_graph(
        [node("SoftmaxCrossEntropyLoss", ["scores", "labels", "w"], ["sce", "log_prob"],
              ignore_index=1),
         node("NegativeLogLikelihoodLoss", ["log_prob", "labels"], ["nll_sum"],
              reduction="sum"),
         node("NegativeLogLikelihoodLoss", ["scores", "labels"], ["nll_none"],
              reduction="none")],
        "losses", [vi("scores", F, [3, 4, 2]), vi("labels", I, [3, 2])],
        [vi("sce", F, []), vi("log_prob", F, [3, 4, 2]), vi("nll_sum", F, []),
         vi("nll_none", F, [3, 2])],
        [numpy_helper.from_array(f32([0.5, 2.0, 1.0, 1.5]), "w")])
    save(g, os.path.join(OPS, "losses.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "losses.onnx"))
    scores = f32(rng.normal(0.0, 1.0, size=(3, 4, 2)))
    labels = np.array([[0, 3], [1, 2], [3, 1]], dtype=np.int64)
    outs = ReferenceEvaluator(m).run(None, {"scores": scores, "labels": labels})
    flat = np.concatenate([scores.astype(np.float64).ravel(), labels.astype(np.float64).ravel()])
    with open(os.path.join(OPS, "losses.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs]}, f)


def computed_parameters():
    """Weights given as graph inputs (issue 18): a Conv whose kernel and bias are inputs, a
    LayerNormalization with input scale and bias and its Mean/InvStdDev outputs, RMSNormalization
    with an input scale, Clip with input bounds, PRelu with an input slope. Expected outputs
    from ONNX's reference implementation."""
    from onnx.reference import ReferenceEvaluator
    rng = np.random.default_rng(7)
    rn = lambda *s: f32(rng.normal(0.0, 0.7, size=s))
    vi = helper.make_tensor_value_info
    F = TensorProto.FLOAT
    ins = [("x", [1, 2, 5, 5]), ("w", [3, 2, 3, 3]), ("b", [3]), ("g", [3, 3, 3]),
           ("beta", [3, 3, 3]), ("r", [3, 3, 3]), ("lo", []), ("hi", []), ("slope", [3, 1, 1])]
    out = [1, 3, 3, 3]
    g = helper.make_graph(
        [node("Conv", ["x", "w", "b"], ["c"], pads=[0, 0, 0, 0]),
         node("LayerNormalization", ["c", "g", "beta"], ["ln", "mean", "inv"], axis=1),
         node("RMSNormalization", ["c", "r"], ["rms"], axis=1),
         node("Clip", ["c", "lo", "hi"], ["clip"]),
         node("PRelu", ["c", "slope"], ["prelu"])],
        "computed_parameters", [vi(n, F, s) for n, s in ins],
        [vi("ln", F, out), vi("mean", F, [1, 1, 1, 1]), vi("inv", F, [1, 1, 1, 1]),
         vi("rms", F, out), vi("clip", F, out), vi("prelu", F, out)])
    save(g, os.path.join(OPS, "computed_parameters.onnx"), 23)
    m = onnx.load(os.path.join(OPS, "computed_parameters.onnx"))
    feeds = {n: rn(*s) for n, s in ins}
    feeds["lo"], feeds["hi"] = f32(-0.5), f32(0.75)
    feeds["slope"] = feeds["slope"].reshape(3, 1, 1)
    outs = ReferenceEvaluator(m).run(None, feeds)
    flat = np.concatenate([np.asarray(feeds[n], dtype=np.float64).ravel() for n, _ in ins])
    with open(os.path.join(OPS, "computed_parameters.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs]}, f)


def index_and_integer_ops():
    """ArgMax/ArgMin with `select_last_index` (ties), Mod of integer tensors by a computed
    divisor (both signs, `fmod` 0 and 1), ReduceProd of a computed tensor, and a ReduceSum with
    empty axes and `noop_with_empty_axes` (issue 18). Expected outputs from ONNX's reference
    implementation."""
    from onnx.reference import ReferenceEvaluator
    vi = helper.make_tensor_value_info
    F, I = TensorProto.FLOAT, TensorProto.INT64
    g = helper.make_graph(
        [node("ArgMax", ["x"], ["last_max"], axis=2, select_last_index=1, keepdims=0),
         node("ArgMin", ["x"], ["last_min"], axis=1, select_last_index=1),
         node("Mod", ["a", "d"], ["floor_mod"]),
         node("Mod", ["a", "d"], ["trunc_mod"], fmod=1),
         node("ReduceProd", ["x"], ["prod"], axes=[1], keepdims=0),
         node("ReduceSum", ["x", "no_axes"], ["same"], noop_with_empty_axes=1)],
        "index_integer_ops", [vi("x", F, [2, 3, 4]), vi("a", I, [2, 3]), vi("d", I, [2, 3])],
        [vi("last_max", I, [2, 3]), vi("last_min", I, [2, 1, 4]), vi("floor_mod", I, [2, 3]),
         vi("trunc_mod", I, [2, 3]), vi("prod", F, [2, 4]), vi("same", F, [2, 3, 4])],
        [numpy_helper.from_array(np.zeros(0, dtype=np.int64), "no_axes")])
    save(g, os.path.join(OPS, "index_integer_ops.onnx"), 13)
    # CumProd (opset 26): inclusive along axis 1, exclusive and reversed along axis 0.
    ax1, ax0 = np.array(1, dtype=np.int64), np.array(0, dtype=np.int64)
    g = helper.make_graph(
        [node("CumProd", ["x", "ax1"], ["forward"]),
         node("CumProd", ["x", "ax0"], ["backward"], exclusive=1, reverse=1)],
        "cumprod", [vi("x", F, [3, 4])], [vi("forward", F, [3, 4]), vi("backward", F, [3, 4])],
        [numpy_helper.from_array(ax1, "ax1"), numpy_helper.from_array(ax0, "ax0")])
    save(g, os.path.join(OPS, "cumprod.onnx"), 26)
    m = onnx.load(os.path.join(OPS, "cumprod.onnx"))
    xc = f32([[1.5, -0.5, 2.0, 0.75], [0.9, 1.1, -1.2, 0.5], [2.0, 0.25, -1.0, 1.5]])
    outs = ReferenceEvaluator(m).run(None, {"x": xc})
    with open(os.path.join(OPS, "cumprod.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in xc.ravel()],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs]}, f)
    # BitShift of uint8 by computed amounts, past the width too (0 both ways).
    U8 = TensorProto.UINT8
    g = helper.make_graph(
        [node("BitShift", ["x", "k"], ["left"], direction="LEFT"),
         node("BitShift", ["x", "k"], ["right"], direction="RIGHT")],
        "bitshift_computed", [vi("x", U8, [7]), vi("k", U8, [7])],
        [vi("left", U8, [7]), vi("right", U8, [7])])
    save(g, os.path.join(OPS, "bitshift_computed.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "bitshift_computed.onnx"))
    xs = np.array([200, 3, 255, 16, 1, 129, 77], dtype=np.uint8)
    ks = np.array([1, 0, 7, 3, 9, 4, 2], dtype=np.uint8)
    outs = ReferenceEvaluator(m).run(None, {"x": xs, "k": ks})
    with open(os.path.join(OPS, "bitshift_computed.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in np.concatenate([xs, ks])],
                   "outputs": [[float(v) for v in np.asarray(o).ravel()] for o in outs]}, f)
    # Opset 28's signed BitShift: int8 wraps in two's complement on the left, shifts
    # arithmetically on the right; amounts outside 0..8 give 0 (or -1 right of a negative).
    I8, I32 = TensorProto.INT8, TensorProto.INT32
    g = helper.make_graph(
        [node("BitShift", ["x", "k"], ["left"], direction="LEFT"),
         node("BitShift", ["x", "k"], ["right"], direction="RIGHT"),
         node("BitShift", ["w", "kw"], ["wide_left"], direction="LEFT")],
        "bitshift_signed", [vi("x", I8, [8]), vi("k", I8, [8]), vi("w", I32, [3]),
                            vi("kw", I32, [3])],
        [vi("left", I8, [8]), vi("right", I8, [8]), vi("wide_left", I32, [3])])
    save(g, os.path.join(OPS, "bitshift_signed.onnx"), 28)
    m = onnx.load(os.path.join(OPS, "bitshift_signed.onnx"))
    xs = np.array([64, 1, -64, -8, 5, -1, 100, -128], dtype=np.int8)
    ks = np.array([1, 7, 1, 2, -1, 9, 0, 3], dtype=np.int8)
    ws = np.array([3, -3, 1000], dtype=np.int32)
    kws = np.array([20, 26, 12], dtype=np.int32)
    outs = ReferenceEvaluator(m).run(None, {"x": xs, "k": ks, "w": ws, "kw": kws})
    with open(os.path.join(OPS, "bitshift_signed.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in np.concatenate([xs, ks]).astype(np.int64)]
                   + [float(v) for v in np.concatenate([ws, kws]).astype(np.int64)],
                   "outputs": [[float(v) for v in np.asarray(o).ravel()] for o in outs]}, f)
    # auto_pad SAME_UPPER / SAME_LOWER (TensorFlow and Keras exports): a strided Conv, a max
    # pool and an average pool whose pads come from the input size (against tract).
    rng = np.random.default_rng(5)
    op_model("auto_pad",
             [node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER", strides=[2, 2]),
              node("MaxPool", ["c"], ["m"], auto_pad="SAME_LOWER", kernel_shape=[2, 2],
                   strides=[2, 2]),
              node("AveragePool", ["x"], ["a"], auto_pad="SAME_UPPER", kernel_shape=[3, 2]),
              node("Flatten", ["m"], ["mf"]), node("Flatten", ["a"], ["af"]),
              node("Concat", ["mf", "af"], ["y"], axis=1)],
             [1, 2, 7, 7], "y", [("w", f32(rng.normal(0.0, 0.5, size=(3, 2, 3, 3))))])
    m = onnx.load(os.path.join(OPS, "index_integer_ops.onnx"))
    # Ties along both reduced axes (so first and last differ), factors near 1 for the product.
    x = f32([[[1.0, 0.5, 1.0, -1.0], [0.5, 0.5, -0.5, 0.75], [1.25, 0.9, 1.25, 0.9]],
             [[-1.0, -1.0, 0.8, 0.8], [0.6, -1.0, 1.1, -0.7], [1.2, 1.2, 1.2, -1.0]]])
    a = np.array([[7, -7, 7], [-7, 9, -10]], dtype=np.int64)
    d = np.array([[3, 3, -3], [-3, -4, 4]], dtype=np.int64)
    outs = ReferenceEvaluator(m).run(None, {"x": x, "a": a, "d": d})
    flat = np.concatenate([x.astype(np.float64).ravel(), a.astype(np.float64).ravel(),
                           d.astype(np.float64).ravel()])
    with open(os.path.join(OPS, "index_integer_ops.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs]}, f)


def fixed_weights():
    """Weights and scales given as graph inputs where a circuit needs constants (issue 18): a
    Pow by a tensor of exponents and a Mod by a tensor of divisors (one circuit per distinct
    value), Resize scales for a subset of axes (opset 18 `axes`, `align_corners` on a
    downscaled axis), `tf_crop_and_resize` with an extrapolation value, a `keep_aspect_ratio_
    policy`, `half_pixel_symmetric`, and QuantizeLinear to int16 by its zero point's type.
    Calibration fixes the float inputs `e`, `d` and `scales` and the int16 `zp` from the
    sample. Expected outputs from ONNX's reference implementation."""
    from onnx.reference import ReferenceEvaluator
    vi = helper.make_tensor_value_info
    F, I16, I64 = TensorProto.FLOAT, TensorProto.INT16, TensorProto.INT64
    inits = [numpy_helper.from_array(f32([0.0, -0.25, 1.0, 1.0]), "roi"),
             numpy_helper.from_array(np.array([3, 3], dtype=np.int64), "crop_sizes"),
             numpy_helper.from_array(np.array([4, 6], dtype=np.int64), "aspect_sizes"),
             numpy_helper.from_array(f32([1.0, 1.0, 1.5, 1.25]), "sym_scales"),
             numpy_helper.from_array(f32(0.01), "q_scale")]
    g = helper.make_graph(
        [node("Pow", ["x", "e"], ["pow"]),
         node("Mod", ["x", "d"], ["mod"]),
         node("Resize", ["x", "", "scales"], ["corners"], mode="linear", axes=[2, 3],
              coordinate_transformation_mode="align_corners"),
         node("Resize", ["x", "roi", "", "crop_sizes"], ["crop"], mode="linear", axes=[2, 3],
              coordinate_transformation_mode="tf_crop_and_resize", extrapolation_value=10.0),
         node("Resize", ["x", "", "", "aspect_sizes"], ["aspect"], mode="nearest", axes=[2, 3],
              keep_aspect_ratio_policy="not_larger"),
         node("Resize", ["x", "", "sym_scales"], ["symmetric"], mode="linear",
              coordinate_transformation_mode="half_pixel_symmetric"),
         node("QuantizeLinear", ["x", "q_scale", "zp"], ["q"])],
        "fixed_weights",
        [vi("x", F, [1, 1, 2, 4]), vi("e", F, [4]), vi("d", F, [4]), vi("scales", F, [2]),
         vi("zp", I16, [])],
        [vi("pow", F, [1, 1, 2, 4]), vi("mod", F, [1, 1, 2, 4]), vi("corners", F, [1, 1, 3, 3]),
         vi("crop", F, [1, 1, 3, 3]), vi("aspect", F, [1, 1, 3, 6]),
         vi("symmetric", F, [1, 1, 3, 5]), vi("q", I16, [1, 1, 2, 4])],
        inits)
    save(g, os.path.join(OPS, "fixed_weights.onnx"), 19)
    # CenterCropPad by a shape input (crop one axis, pad the other), SwiGLU, optional values
    # of a tensor, and a Range whose limit is computed from a graph input (calibration fixes
    # the input it comes from).
    g2 = helper.make_graph(
        [node("CenterCropPad", ["x", "shape"], ["crop_pad"], axes=[2, 3]),
         node("SwiGLU", ["x", "x"], ["swiglu"], alpha=1.5),
         node("Optional", ["x"], ["opt"]),
         node("OptionalGetElement", ["opt"], ["got"]),
         node("OptionalHasElement", ["x"], ["has"]),
         node("Add", ["count", "one"], ["limit"]),
         node("Range", ["zero", "limit", "one"], ["range"])],
        "crop_swiglu_range",
        [vi("x", F, [1, 1, 4, 5]), vi("shape", I64, [2]), vi("count", I64, [])],
        [vi("crop_pad", F, [1, 1, 3, 7]), vi("swiglu", F, [1, 1, 4, 5]),
         vi("got", F, [1, 1, 4, 5]), vi("has", TensorProto.BOOL, []), vi("range", I64, [5])],
        [numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
         numpy_helper.from_array(np.array(0, dtype=np.int64), "zero")])
    save(g2, os.path.join(OPS, "crop_swiglu_range.onnx"), 28)
    # Scatter reductions mul / max / min at constant indices, duplicates included.
    g3 = helper.make_graph(
        [node("ScatterElements", ["x", "idx", "u"], ["el_max"], axis=0, reduction="max"),
         node("ScatterElements", ["x", "idx", "u"], ["el_min"], axis=0, reduction="min"),
         node("ScatterElements", ["x", "idx", "u"], ["el_mul"], axis=0, reduction="mul"),
         node("ScatterND", ["x", "rows", "u"], ["nd_max"], reduction="max"),
         node("ScatterND", ["x", "rows", "u"], ["nd_mul"], reduction="mul")],
        "scatter_reductions", [vi("x", F, [4, 3]), vi("u", F, [2, 3])],
        [vi(n, F, [4, 3]) for n in ["el_max", "el_min", "el_mul", "nd_max", "nd_mul"]],
        [numpy_helper.from_array(np.array([[1, 0, 2], [1, 3, 0]], dtype=np.int64), "idx"),
         numpy_helper.from_array(np.array([[1], [1]], dtype=np.int64), "rows")])
    save(g3, os.path.join(OPS, "scatter_reductions.onnx"), 18)
    m3 = onnx.load(os.path.join(OPS, "scatter_reductions.onnx"))
    x3 = f32([[0.5, -1.0, 1.5], [2.0, 0.25, -0.5], [-1.5, 1.0, 0.75], [1.25, -0.75, 0.5]])
    u3 = f32([[1.5, 0.5, -2.0], [-1.0, 1.75, 1.25]])
    outs3 = ReferenceEvaluator(m3).run(None, {"x": x3, "u": u3})
    with open(os.path.join(OPS, "scatter_reductions.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in np.concatenate([x3.ravel(), u3.ravel()])],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs3]}, f)
    # ConvTranspose whose pads come from `output_shape` (one extra row: a negative total) or
    # from `auto_pad` SAME_UPPER.
    w4 = f32(np.linspace(-1.0, 1.0, 18).reshape(1, 2, 3, 3))
    g4 = helper.make_graph(
        [node("ConvTranspose", ["x", "w"], ["shaped"], strides=[3, 2], output_shape=[10, 8]),
         node("ConvTranspose", ["x", "w"], ["same"], strides=[2, 2], auto_pad="SAME_UPPER")],
        "convtranspose_shapes", [vi("x", F, [1, 1, 3, 3])],
        [vi("shaped", F, [1, 2, 10, 8]), vi("same", F, [1, 2, 6, 6])],
        [numpy_helper.from_array(w4, "w")])
    save(g4, os.path.join(OPS, "convtranspose_shapes.onnx"), 18)
    m4 = onnx.load(os.path.join(OPS, "convtranspose_shapes.onnx"))
    x4 = f32(np.arange(9).reshape(1, 1, 3, 3) / 4.0 - 1.0)
    outs4 = ReferenceEvaluator(m4).run(None, {"x": x4})
    with open(os.path.join(OPS, "convtranspose_shapes.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in x4.ravel()],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs4]}, f)
    m2 = onnx.load(os.path.join(OPS, "crop_swiglu_range.onnx"))
    x2 = f32(np.linspace(-2.0, 2.0, 20).reshape(1, 1, 4, 5))
    feeds2 = {"x": x2, "shape": np.array([3, 7], dtype=np.int64),
              "count": np.array(4, dtype=np.int64)}
    outs2 = ReferenceEvaluator(m2).run(None, feeds2)
    flat2 = np.concatenate([np.asarray(feeds2[n], dtype=np.float64).ravel()
                            for n in ["x", "shape", "count"]])
    with open(os.path.join(OPS, "crop_swiglu_range.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat2],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o, dtype=np.float64).ravel()]
                               for o in outs2]}, f)

    m = onnx.load(os.path.join(OPS, "fixed_weights.onnx"))
    feeds = {"x": f32([[[[1.5, -0.5, 2.25, 0.75], [-1.25, 3.0, 0.5, -2.0]]]]),
             "e": f32([1.0, 2.0, 3.0, 0.0]), "d": f32([2.5, -1.5, 1.0, 2.5]),
             "scales": f32([1.5, 0.75]), "zp": np.array(1000, dtype=np.int16)}
    outs = ReferenceEvaluator(m).run(None, feeds)
    flat = np.concatenate([np.asarray(feeds[n], dtype=np.float64).ravel()
                           for n in ["x", "e", "d", "scales", "zp"]])
    with open(os.path.join(OPS, "fixed_weights.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                               for o in outs]}, f)


def reference_case(name, feeds, order, opset):
    """Save `name`'s expected outputs from ONNX's reference implementation on `feeds`, the
    input as EZKL lays it out (the graph inputs in `order`, flattened)."""
    from onnx.reference import ReferenceEvaluator
    m = onnx.load(os.path.join(OPS, name + ".onnx"))
    outs = ReferenceEvaluator(m).run(None, feeds)
    flat = np.concatenate([np.asarray(feeds[n], dtype=np.float64).ravel() for n in order])
    with open(os.path.join(OPS, name + ".expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in flat],
                   "outputs": [[round(float(v), 9) for v in np.asarray(o, dtype=np.float64).ravel()]
                               for o in outs]}, f)


def empty_reductions():
    """Reductions over no elements (a reduced axis of length 0), as ONNX's `*_empty_set` node
    tests: the sums and norms give 0, the product 1, the maximum and minimum of booleans false
    and true (opset 20), with and without `keepdims`; `empty_max` reduces numbers to their
    maximum over nothing (-inf), which is refused. Expected outputs from ONNX's reference."""
    vi = helper.make_tensor_value_info
    F, B = TensorProto.FLOAT, TensorProto.BOOL
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    zero = numpy_helper.from_array(f32(0.0), "zero")
    reduce = lambda op, x, y, keep=0: node(op, [x, "axes"], [y], keepdims=keep)
    g = helper.make_graph(
        [reduce("ReduceSum", "x", "s"), reduce("ReduceL1", "x", "l1"),
         reduce("ReduceL2", "x", "l2"), reduce("ReduceSumSquare", "x", "ss"),
         reduce("ReduceProd", "x", "p"), node("Greater", ["x", "zero"], ["gt"]),
         reduce("ReduceMax", "gt", "any"), reduce("ReduceMin", "gt", "all"),
         node("Cast", ["any"], ["any_f"], to=F), node("Cast", ["all"], ["all_f"], to=F),
         node("Mul", ["y", "p"], ["yp"]), node("Sum", ["yp", "s", "l1", "l2", "ss", "any_f",
                                                       "all_f"], ["out"]),
         reduce("ReduceSum", "x", "kept", keep=1)],
        "empty_reductions",
        [vi("x", F, [2, 0, 3]), vi("y", F, [2, 3])],
        [vi("out", F, [2, 3]), vi("kept", F, [2, 1, 3])],
        [axes, zero])
    save(g, os.path.join(OPS, "empty_reductions.onnx"), opset=20)
    rng = np.random.default_rng(23)
    reference_case("empty_reductions",
                   {"x": np.zeros((2, 0, 3), dtype=np.float32),
                    "y": f32(rng.uniform(-1, 1, (2, 3)))}, ["x", "y"], 20)
    g = helper.make_graph(
        [reduce("ReduceMax", "x", "m"), node("Add", ["m", "y"], ["out"])],
        "empty_max",
        [vi("x", F, [2, 0, 3]), vi("y", F, [2, 3])],
        [vi("out", F, [2, 3])],
        [axes])
    save(g, os.path.join(OPS, "empty_max.onnx"), opset=20)


def conv_transpose_3d():
    """3-D ConvTranspose (as a 3-D U-Net's decoder has it): strides 2 with output_padding,
    pads and dilations, with a bias; and SAME_UPPER padding from the stride. Expected outputs
    from ONNX's reference (whose grouped ConvTranspose fails on 3-D kernels: groups are
    covered in 2-D)."""
    vi = helper.make_tensor_value_info
    F = TensorProto.FLOAT
    rng = np.random.default_rng(29)
    w = numpy_helper.from_array(f32(rng.uniform(-0.5, 0.5, (4, 2, 2, 3, 2))), "w")
    b = numpy_helper.from_array(f32(rng.uniform(-0.2, 0.2, 2)), "b")
    w2 = numpy_helper.from_array(f32(rng.uniform(-0.5, 0.5, (4, 2, 3, 2, 2))), "w2")
    g = helper.make_graph(
        [node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 1, 2],
              pads=[1, 0, 0, 0, 1, 1], output_padding=[1, 0, 1], dilations=[1, 2, 1]),
         node("ConvTranspose", ["x", "w2"], ["z"], strides=[2, 2, 1], auto_pad="SAME_UPPER")],
        "conv_transpose_3d",
        [vi("x", F, [1, 4, 2, 3, 3])],
        [vi("y", F, [1, 2, 4, 6, 6]), vi("z", F, [1, 2, 4, 6, 3])],
        [w, b, w2])
    save(g, os.path.join(OPS, "conv_transpose_3d.onnx"))
    reference_case("conv_transpose_3d",
                   {"x": f32(rng.uniform(-1, 1, (1, 4, 2, 3, 3)))}, ["x"], OPSET)


def gather_nd_batch_dims():
    """GatherND with batch_dims: one (constant index tuples, and tuples from an int64 graph
    input: computed, selected by one-hot rows, a negative one among them) and two (constant).
    Expected outputs from ONNX's reference."""
    vi = helper.make_tensor_value_info
    F, I64 = TensorProto.FLOAT, TensorProto.INT64
    rng = np.random.default_rng(31)
    fixed = numpy_helper.from_array(np.array([[[2], [0]], [[1], [1]]], dtype=np.int64), "fixed")
    last = numpy_helper.from_array(np.array([[[3], [0], [2]], [[1], [1], [0]]], dtype=np.int64),
                                   "last")
    g = helper.make_graph(
        [node("GatherND", ["data", "fixed"], ["rows"], batch_dims=1),
         node("GatherND", ["data", "idx"], ["cells"], batch_dims=1),
         node("GatherND", ["data", "last"], ["per_row"], batch_dims=2)],
        "gather_nd_batch_dims",
        [vi("data", F, [2, 3, 4]), vi("idx", I64, [2, 2, 2])],
        [vi("rows", F, [2, 2, 4]), vi("cells", F, [2, 2]), vi("per_row", F, [2, 3])],
        [fixed, last])
    save(g, os.path.join(OPS, "gather_nd_batch_dims.onnx"))
    reference_case("gather_nd_batch_dims",
                   {"data": f32(rng.uniform(-1, 1, (2, 3, 4))),
                    "idx": np.array([[[0, 3], [2, -1]], [[-3, 1], [1, 2]]], dtype=np.int64)},
                   ["data", "idx"], OPSET)


def max_pool_indices():
    """MaxPool's Indices output (2-D): padded and strided windows with ties (the first maximum in
    window order wins), column-major `storage_order`, and dilations, two channels so the
    positions count whole planes. Expected outputs from ONNX's reference, every pool strided or
    dilated: its stride-1 path numbers column-major indices without the plane offset and not as
    `w H + h`, unlike its strided path and the indices the node test
    `maxpool_with_argmax_2d_precomputed_strides` spells out."""
    vi = helper.make_tensor_value_info
    F, I64 = TensorProto.FLOAT, TensorProto.INT64
    g = helper.make_graph(
        [node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 3], strides=[2, 1],
              pads=[1, 1, 0, 1]),
         node("MaxPool", ["x"], ["yc", "ic"], kernel_shape=[2, 2], strides=[1, 2],
              storage_order=1),
         node("MaxPool", ["x"], ["yd", "id"], kernel_shape=[2, 2], dilations=[2, 2])],
        "max_pool_indices",
        [vi("x", F, [1, 2, 4, 5])],
        [vi("y", F, [1, 2, 2, 5]), vi("i", I64, [1, 2, 2, 5]), vi("yc", F, [1, 2, 3, 2]),
         vi("ic", I64, [1, 2, 3, 2]), vi("yd", F, [1, 2, 2, 3]), vi("id", I64, [1, 2, 2, 3])],
        [])
    save(g, os.path.join(OPS, "max_pool_indices.onnx"), opset=12)
    # Quarter steps: equal values in many windows.
    x = (np.arange(40) * 7 % 9 - 4).astype(np.float32).reshape(1, 2, 4, 5) / 4
    reference_case("max_pool_indices", {"x": x}, ["x"], 12)


def if_sequence():
    """An If on a boolean graph input whose branches give sequences (as ONNX's `test_if_seq`): a
    sequence cannot be blended, so the condition is fixed at compile time (from the sample)
    and the branch taken is inlined. Expected outputs from ONNX's reference."""
    vi = helper.make_tensor_value_info
    F = TensorProto.FLOAT
    then_g = helper.make_graph(
        [node("Relu", ["x"], ["r"]), node("SequenceConstruct", ["x", "r"], ["seq_t"])],
        "then", [], [helper.make_tensor_sequence_value_info("seq_t", F, [2, 3])])
    else_g = helper.make_graph(
        [node("Neg", ["x"], ["n"]), node("SequenceConstruct", ["n"], ["seq_e"])],
        "else", [], [helper.make_tensor_sequence_value_info("seq_e", F, [2, 3])])
    g = helper.make_graph(
        [node("If", ["flag"], ["seq"], then_branch=then_g, else_branch=else_g),
         node("ConcatFromSequence", ["seq"], ["y"], axis=0)],
        "if_sequence",
        [vi("flag", TensorProto.BOOL, []), vi("x", F, [2, 3])],
        [vi("y", F, [4, 3])],
        [])
    save(g, os.path.join(OPS, "if_sequence.onnx"))
    rng = np.random.default_rng(37)
    reference_case("if_sequence", {"flag": np.array(True), "x": f32(rng.uniform(-1, 1, (2, 3)))},
                   ["flag", "x"], OPSET)


def loop_inputs():
    """A Loop whose trip count and first condition are graph inputs (ONNX's `test_loop11`):
    both fixed at compile time from the sample, the body unrolled that many times (a carried
    value and a scan output). Expected outputs from ONNX's reference."""
    vi = helper.make_tensor_value_info
    F, I64, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    body = helper.make_graph(
        [node("Identity", ["cond_in"], ["cond_out"]), node("Mul", ["y_in", "x"], ["p"]),
         node("Add", ["p", "x"], ["y_out"]), node("Identity", ["y_out"], ["scan"])],
        "body",
        [vi("i", I64, []), vi("cond_in", B, []), vi("y_in", F, [2])],
        [vi("cond_out", B, []), vi("y_out", F, [2]), vi("scan", F, [2])])
    g = helper.make_graph(
        [node("Loop", ["trips", "cond", "y0"], ["y", "scans"], body=body)],
        "loop_inputs",
        [vi("trips", I64, []), vi("cond", B, []), vi("y0", F, [2]), vi("x", F, [2])],
        [vi("y", F, [2]), vi("scans", F, [3, 2])],
        [])
    save(g, os.path.join(OPS, "loop_inputs.onnx"))
    reference_case("loop_inputs", {"trips": np.array(3, dtype=np.int64), "cond": np.array(True),
                                   "y0": f32([0.5, -0.25]), "x": f32([0.75, -0.5])},
                   ["trips", "cond", "y0", "x"], OPSET)


def linear_maps():
    """Operators that are constant linear maps or index moves once their other inputs are known
    (issue 18): GridSample by a grid given as a graph input (fixed from the sample) in three
    modes, AffineGrid of a computed theta, DFT (one-sided, inverse, irfft), STFT with a window,
    Col2Im, ReverseSequence, TensorScatter and MaxUnpool by index inputs fixed at compile time;
    the state-carrying CausalConvWithState and LinearAttention, Det, bitwise operators of int16
    inputs, DynamicQuantizeLinear, blocked QuantizeLinear; a window of a lone integer input.
    Expected outputs from ONNX's reference implementation."""
    vi = helper.make_tensor_value_info
    F, I16, I64 = TensorProto.FLOAT, TensorProto.INT16, TensorProto.INT64
    rng = np.random.default_rng(18)
    # GridSample / AffineGrid / DFT / STFT.
    g = helper.make_graph(
        [node("GridSample", ["x", "grid"], ["bilinear"], mode="linear", padding_mode="zeros"),
         node("GridSample", ["x", "grid"], ["nearest"], mode="nearest", padding_mode="border",
              align_corners=1),
         node("GridSample", ["x", "grid"], ["bicubic"], mode="cubic", padding_mode="reflection"),
         node("AffineGrid", ["theta", "size"], ["affine"], align_corners=0),
         node("DFT", ["signal", "", "axis"], ["spectrum"], onesided=1),
         node("DFT", ["spectrum_in", "", "axis"], ["inverse"], inverse=1),
         node("DFT", ["half", "", "axis"], ["irfft"], inverse=1, onesided=1),
         node("STFT", ["sig", "step", "window"], ["stft"])],
        "linear_maps",
        [vi("x", F, [1, 2, 3, 4]), vi("grid", F, [1, 2, 3, 2]), vi("theta", F, [2, 2, 3]),
         vi("signal", F, [1, 6, 1]), vi("spectrum_in", F, [1, 5, 2]), vi("half", F, [1, 4, 2]),
         vi("sig", F, [1, 16, 1])],
        [vi("bilinear", F, [1, 2, 2, 3]), vi("nearest", F, [1, 2, 2, 3]),
         vi("bicubic", F, [1, 2, 2, 3]), vi("affine", F, [2, 2, 3, 2]),
         vi("spectrum", F, [1, 4, 2]), vi("inverse", F, [1, 5, 2]), vi("irfft", F, [1, 6, 1]),
         vi("stft", F, [1, 5, 3, 2])],
        [numpy_helper.from_array(np.array([1, 1, 2, 3], dtype=np.int64), "size"),
         numpy_helper.from_array(np.array(1, dtype=np.int64), "axis"),
         numpy_helper.from_array(np.array(3, dtype=np.int64), "step"),
         numpy_helper.from_array(f32(np.hanning(6)[:4] + 0.25), "window")])
    save(g, os.path.join(OPS, "linear_maps.onnx"), 22)
    feeds = {"x": f32(rng.uniform(-2, 2, (1, 2, 3, 4))),
             "grid": f32([[[[-1.2, -0.9], [0.1, 0.35], [0.8, 1.3]],
                           [[-0.4, 0.6], [0.55, -0.75], [1.6, 0.2]]]]),
             "theta": f32(rng.uniform(-1, 1, (2, 2, 3))),
             "signal": f32(rng.uniform(-1, 1, (1, 6, 1))),
             "spectrum_in": f32(rng.uniform(-1, 1, (1, 5, 2))),
             "half": f32(rng.uniform(-1, 1, (1, 4, 2))),
             "sig": f32(rng.uniform(-1, 1, (1, 16, 1)))}
    reference_case("linear_maps", feeds, ["x", "grid", "theta", "signal", "spectrum_in", "half",
                                          "sig"], 22)
    # Index moves by inputs fixed at compile time.
    g2 = helper.make_graph(
        [node("Col2Im", ["cols", "image", "block"], ["im"], strides=[1, 2], pads=[0, 1, 0, 0]),
         node("ReverseSequence", ["seq", "lens"], ["reversed"], batch_axis=0, time_axis=1),
         node("TensorScatter", ["cache", "update", "writes"], ["scattered"], mode="circular"),
         node("MaxUnpool", ["pooled", "where"], ["unpooled"], kernel_shape=[2, 2],
              strides=[2, 2])],
        "index_moves",
        [vi("cols", F, [1, 4, 4]), vi("seq", F, [3, 4]), vi("lens", I64, [3]),
         vi("cache", F, [2, 4, 3]), vi("update", F, [2, 2, 3]), vi("writes", I64, [2]),
         vi("pooled", F, [1, 1, 2, 2]), vi("where", I64, [1, 1, 2, 2])],
        [vi("im", F, [1, 1, 3, 4]), vi("reversed", F, [3, 4]), vi("scattered", F, [2, 4, 3]),
         vi("unpooled", F, [1, 1, 4, 4])],
        [numpy_helper.from_array(np.array([3, 4], dtype=np.int64), "image"),
         numpy_helper.from_array(np.array([2, 2], dtype=np.int64), "block")])
    save(g2, os.path.join(OPS, "index_moves.onnx"), 24)
    feeds2 = {"cols": f32(rng.uniform(-1, 1, (1, 4, 4))), "seq": f32(rng.uniform(-1, 1, (3, 4))),
              "lens": np.array([4, 2, 0], dtype=np.int64),
              "cache": f32(rng.uniform(-1, 1, (2, 4, 3))),
              "update": f32(rng.uniform(-1, 1, (2, 2, 3))),
              "writes": np.array([1, 3], dtype=np.int64),
              "pooled": f32([[[[0.5, -1.0], [2.0, 1.5]]]]),
              "where": np.array([[[[1, 6], [8, 15]]]], dtype=np.int64)}
    reference_case("index_moves", feeds2, ["cols", "seq", "lens", "cache", "update", "writes",
                                           "pooled", "where"], 24)
    # State-carrying operators and Det, every input computed (graph inputs).
    g3 = helper.make_graph(
        [node("CausalConvWithState", ["conv_in", "conv_w", "conv_b", "conv_past"],
              ["conv_out", "conv_state"], activation="silu"),
         node("LinearAttention", ["q", "k", "v", "", "decay", "beta"], ["att", "att_state"],
              q_num_heads=4, kv_num_heads=2),
         node("Det", ["m"], ["det"])],
        "stateful_ops",
        [vi("conv_in", F, [1, 2, 5]), vi("conv_w", F, [2, 1, 3]), vi("conv_b", F, [2]),
         vi("conv_past", F, [1, 2, 2]), vi("q", F, [1, 3, 8]), vi("k", F, [1, 3, 4]),
         vi("v", F, [1, 3, 4]), vi("decay", F, [1, 3, 2]), vi("beta", F, [1, 3, 2]),
         vi("m", F, [2, 3, 3])],
        [vi("conv_out", F, [1, 2, 5]), vi("conv_state", F, [1, 2, 2]), vi("att", F, [1, 3, 8]),
         vi("att_state", F, [1, 2, 2, 2]), vi("det", F, [2])])
    save(g3, os.path.join(OPS, "stateful_ops.onnx"), 27)
    feeds3 = {"conv_in": f32(rng.uniform(-1, 1, (1, 2, 5))),
              "conv_w": f32(rng.uniform(-1, 1, (2, 1, 3))),
              "conv_b": f32(rng.uniform(-0.5, 0.5, (2,))),
              "conv_past": f32(rng.uniform(-1, 1, (1, 2, 2))),
              "q": f32(rng.uniform(-1, 1, (1, 3, 8))), "k": f32(rng.uniform(-1, 1, (1, 3, 4))),
              "v": f32(rng.uniform(-1, 1, (1, 3, 4))),
              "decay": f32(rng.uniform(-0.5, 0.0, (1, 3, 2))),
              "beta": f32(rng.uniform(0.2, 0.9, (1, 3, 2))),
              "m": f32(rng.uniform(-1.5, 1.5, (2, 3, 3)))}
    reference_case("stateful_ops", feeds3, ["conv_in", "conv_w", "conv_b", "conv_past", "q", "k",
                                            "v", "decay", "beta", "m"], 27)
    # Bitwise operators of int16 inputs, DynamicQuantizeLinear, blocked QuantizeLinear.
    g4 = helper.make_graph(
        [node("BitwiseAnd", ["a", "b"], ["and"]), node("BitwiseOr", ["a", "b"], ["or"]),
         node("BitwiseXor", ["a", "b"], ["xor"]), node("BitwiseNot", ["a"], ["not"]),
         node("DynamicQuantizeLinear", ["x"], ["q", "q_scale", "q_zero"]),
         node("QuantizeLinear", ["x", "block_scale"], ["blocked"], axis=1, block_size=2)],
        "bitwise_quantize",
        [vi("a", I16, [2, 3]), vi("b", I16, [3]), vi("x", F, [2, 4])],
        [vi("and", I16, [2, 3]), vi("or", I16, [2, 3]), vi("xor", I16, [2, 3]),
         vi("not", I16, [2, 3]), vi("q", TensorProto.UINT8, [2, 4]), vi("q_scale", F, []),
         vi("q_zero", TensorProto.UINT8, []), vi("blocked", TensorProto.UINT8, [2, 4])],
        [numpy_helper.from_array(f32([[0.02, 0.05], [0.04, 0.01]]), "block_scale")])
    save(g4, os.path.join(OPS, "bitwise_quantize.onnx"), 21)
    # |a| small enough for 24-bit inputs at scale 2^12 (the DynamicQuantizeLinear needs it).
    feeds4 = {"a": np.array([[5, -3, 1200], [-2048, 77, 0]], dtype=np.int16),
              "b": np.array([12, -1, -700], dtype=np.int16),
              # Chosen so no x / scale lands on a rounding tie (float32 and exact differ there).
              "x": f32([[0.3, -1.1, 0.75, 2.0], [-0.45, 1.27, 0.1, -0.9]])}
    reference_case("bitwise_quantize", feeds4, ["a", "b", "x"], 21)
    # A window whose size is the model's only input (an integer: fixed at compile time).
    g5 = helper.make_graph([node("HannWindow", ["size"], ["window"], periodic=0)],
                           "window_of_size", [vi("size", I64, [])], [vi("window", F, [7])])
    save(g5, os.path.join(OPS, "window_of_size.onnx"), 17)
    reference_case("window_of_size", {"size": np.array(7, dtype=np.int64)}, ["size"], 17)


def training_ops():
    """Training-time operators (issue 18): the `ai.onnx.preview.training` optimizers Adagrad,
    Adam and Momentum (nesterov) over computed tensors with the step count `t` a graph input
    (fixed at compile time), BatchNormalization in training mode (batch statistics, running
    statistics outputs; after a Conv with constant parameters, where the inference form would
    be folded), Dropout's mask outside training; and an Einsum with a diagonal and an
    implicit output, a dilated 3-D MaxPool, a sequence built from SequenceEmpty. Expected
    outputs from ONNX's reference."""
    vi = helper.make_tensor_value_info
    F, I64 = TensorProto.FLOAT, TensorProto.INT64
    rng = np.random.default_rng(19)
    tr = "ai.onnx.preview.training"
    g = helper.make_graph(
        [helper.make_node("Adagrad", ["r", "t", "x", "g", "h"], ["x_ada", "h_ada"], domain=tr,
                          name="adagrad", decay_factor=0.1, epsilon=1e-3, norm_coefficient=0.01),
         helper.make_node("Adam", ["r", "t", "x", "g", "v", "h"], ["x_adam", "v_adam", "h_adam"],
                          domain=tr, name="adam", alpha=0.9, beta=0.99, epsilon=1e-2,
                          norm_coefficient=0.02, norm_coefficient_post=0.01),
         helper.make_node("Momentum", ["r", "t", "x", "g", "v"], ["x_mom", "v_mom"], domain=tr,
                          name="momentum", alpha=0.9, beta=0.5, mode="nesterov",
                          norm_coefficient=0.01),
         node("BatchNormalization", ["bx", "scale", "bias", "mean", "var"],
              ["by", "running_mean", "running_var"], training_mode=1, momentum=0.8),
         node("Dropout", ["bx"], ["dropped", "mask"]),
         node("Einsum", ["sq"], ["diag"], equation="ii->i"),
         node("Einsum", ["a", "b"], ["implicit"], equation="ij,jk"),
         node("MaxPool", ["vol"], ["pooled"], kernel_shape=[2, 2, 2], dilations=[2, 1, 2]),
         # A Conv whose output a training-mode BatchNormalization reads: never folded.
         node("Conv", ["cx", "cw"], ["conv_out"]),
         node("BatchNormalization", ["conv_out", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
              ["conv_bn"], training_mode=1),
         node("SequenceEmpty", [], ["empty"], dtype=TensorProto.FLOAT),
         node("SequenceInsert", ["empty", "a"], ["one_seq"]),
         node("ConcatFromSequence", ["one_seq"], ["from_seq"], axis=0)],
        "training_ops",
        [vi("r", F, []), vi("t", I64, []), vi("x", F, [2, 3]), vi("g", F, [2, 3]),
         vi("v", F, [2, 3]), vi("h", F, [2, 3]), vi("bx", F, [2, 3, 2]), vi("scale", F, [3]),
         vi("bias", F, [3]), vi("mean", F, [3]), vi("var", F, [3]), vi("sq", F, [3, 3]),
         vi("a", F, [2, 3]), vi("b", F, [3, 2]), vi("vol", F, [1, 1, 4, 3, 4]),
         vi("cx", F, [1, 1, 3, 3])],
        [vi("x_ada", F, [2, 3]), vi("h_ada", F, [2, 3]), vi("x_adam", F, [2, 3]),
         vi("v_adam", F, [2, 3]), vi("h_adam", F, [2, 3]), vi("x_mom", F, [2, 3]),
         vi("v_mom", F, [2, 3]), vi("by", F, [2, 3, 2]), vi("running_mean", F, [3]),
         vi("running_var", F, [3]), vi("dropped", F, [2, 3, 2]),
         vi("mask", TensorProto.BOOL, [2, 3, 2]), vi("diag", F, [3]), vi("implicit", F, [2, 2]),
         vi("pooled", F, [1, 1, 2, 2, 2]), vi("conv_bn", F, [1, 3, 2, 2]),
         vi("from_seq", F, [2, 3])],
        [numpy_helper.from_array(f32(np.linspace(-2, 2, 12).reshape(3, 1, 2, 2)), "cw"),
         numpy_helper.from_array(f32([1.0, 0.5, 1.5]), "bn_scale"),
         numpy_helper.from_array(f32([0.1, -0.2, 0.3]), "bn_bias"),
         numpy_helper.from_array(f32([0.2, -0.1, 0.0]), "bn_mean"),
         numpy_helper.from_array(f32([1.0, 2.0, 0.5]), "bn_var")])
    model = helper.make_model(g, producer_name="zkmlops-generate",
                              opset_imports=[helper.make_opsetid("", 17),
                                             helper.make_opsetid(tr, 1)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OPS, "training_ops.onnx"))
    feeds = {"r": f32(0.1), "t": np.array(3, dtype=np.int64),
             "x": f32(rng.uniform(-1, 1, (2, 3))), "g": f32(rng.uniform(-1, 1, (2, 3))),
             "v": f32(rng.uniform(-0.5, 0.5, (2, 3))), "h": f32(rng.uniform(0.1, 1.0, (2, 3))),
             "bx": f32(rng.uniform(-2, 2, (2, 3, 2))), "scale": f32(rng.uniform(0.5, 1.5, 3)),
             "bias": f32(rng.uniform(-0.5, 0.5, 3)), "mean": f32(rng.uniform(-0.2, 0.2, 3)),
             "var": f32(rng.uniform(0.5, 1.5, 3)), "sq": f32(rng.uniform(-1, 1, (3, 3))),
             "a": f32(rng.uniform(-1, 1, (2, 3))), "b": f32(rng.uniform(-1, 1, (3, 2))),
             "vol": f32(rng.uniform(-1, 1, (1, 1, 4, 3, 4))),
             "cx": f32(rng.uniform(-2, 2, (1, 1, 3, 3)))}
    reference_case("training_ops", feeds, list(feeds), 17)


def malformed_models():
    """Well-formed protobufs with inconsistent contents: the importer must name the problem,
    never panic (`python3 examples/models/generate.py malformed` writes only these)."""
    os.makedirs(OPS, exist_ok=True)
    r = np.random.default_rng(7)

    def rn(*shape):
        return f32(r.normal(0.0, 0.5, size=shape))

    # A BatchNormalization with 2 channels after a Conv with 3 output channels.
    op_model("conv_batch_norm_mismatch",
             [node("Conv", ["x", "w", "cb"], ["c"], kernel_shape=[3, 3]),
              node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], epsilon=1e-5)],
             [1, 2, 5, 5], "y",
             [("w", rn(3, 2, 3, 3)), ("cb", rn(3)), ("g", rn(2)), ("b", rn(2)),
              ("m", rn(2)), ("v", f32([1.0, 1.5]))])
    # The same after a Gemm with 4 columns.
    op_model("gemm_batch_norm_mismatch",
             [node("Gemm", ["x", "w", "gb"], ["c"], transB=1),
              node("BatchNormalization", ["c", "g", "b", "m", "v"], ["y"], epsilon=1e-5)],
             [2, 6], "y",
             [("w", rn(4, 6)), ("gb", rn(4)), ("g", rn(3)), ("b", rn(3)),
              ("m", rn(3)), ("v", f32([1.0, 1.5, 2.0]))])
    # A Conv whose bias has the wrong length.
    op_model("conv_bias_mismatch",
             [node("Conv", ["x", "w", "cb"], ["y"], kernel_shape=[3, 3])],
             [1, 2, 5, 5], "y", [("w", rn(3, 2, 3, 3)), ("cb", rn(5))])


def more_ops():
    """Activations, clipping, reductions, slicing and powers (importer's `import/more.rs`)."""
    global RNG
    saved, RNG = RNG, np.random.default_rng(2026)
    i64 = lambda v: np.array(v, dtype=np.int64)
    op_model("neg", [node("Neg", ["x"], ["y"])], [2, 5], "y")
    op_model("abs", [node("Abs", ["x"], ["y"])], [2, 5], "y")
    op_model("min_max", [node("Max", ["x", "c", "d"], ["m"]), node("Min", ["m", "e"], ["y"])],
             [2, 3], "y", [("c", rnd(3)), ("d", rnd(2, 1)), ("e", f32([0.75]))])
    op_model("sum_nary", [node("Sum", ["x", "c", "x"], ["y"])], [2, 3], "y", [("c", rnd(3))])
    op_model("clip", [node("Clip", ["x", "lo", "hi"], ["y"])], [2, 5], "y",
             [("lo", f32(-0.5)), ("hi", f32(1.0))])
    op_model("clip_max_only", [node("Clip", ["x", "", "hi"], ["y"])], [2, 5], "y",
             [("hi", f32(0.25))])
    op_model("hard_sigmoid", [node("HardSigmoid", ["x"], ["y"], alpha=0.3, beta=0.4)], [2, 5], "y")
    op_model("hard_swish", [node("HardSwish", ["x"], ["y"])], [2, 5], "y", opset=14)
    op_model("prelu", [node("PRelu", ["x", "slope"], ["y"])], [1, 3, 2, 2], "y",
             [("slope", rnd(3, 1, 1))])
    op_model("elu", [node("Elu", ["x"], ["y"], alpha=0.7)], [2, 5], "y")
    op_model("selu", [node("Selu", ["x"], ["y"])], [2, 5], "y")
    op_model("celu", [node("Celu", ["x"], ["y"], alpha=1.0)], [2, 5], "y", opset=12)
    op_model("celu_alpha2", [node("Celu", ["x"], ["y"], alpha=2.0)], [2, 5], "y", opset=12)
    op_model("softplus", [node("Softplus", ["x"], ["y"])], [2, 5], "y")
    op_model("mish", [node("Mish", ["x"], ["y"])], [2, 5], "y", opset=18)
    op_model("sqrt", [node("Abs", ["x"], ["a"]), node("Sqrt", ["a"], ["y"])], [2, 5], "y")
    op_model("sqrt_raw", [node("Sqrt", ["x"], ["y"])], [2, 2], "y")
    op_model("pow", [node("Pow", ["x", "two"], ["sq"]), node("Pow", ["x", "three"], ["cube"]),
                     node("Abs", ["x"], ["a"]), node("Pow", ["a", "half"], ["root"]),
                     node("Add", ["sq", "cube"], ["t"]), node("Add", ["t", "root"], ["y"])],
             [2, 5], "y", [("two", f32(2.0)), ("three", f32(3.0)), ("half", f32(0.5))])
    op_model("reduce_sum", [node("ReduceSum", ["x", "axes"], ["y"], keepdims=1)], [2, 3, 4], "y",
             [("axes", i64([1]))], opset=13)
    op_model("reduce_mean", [node("ReduceMean", ["x"], ["y"], axes=[-1], keepdims=0)],
             [2, 3, 4], "y", opset=13)
    op_model("reduce_max", [node("ReduceMax", ["x"], ["y"], axes=[1, 2], keepdims=0)],
             [2, 3, 4], "y", opset=13)
    op_model("reduce_min", [node("ReduceMin", ["x"], ["y"], axes=[0], keepdims=1)],
             [2, 3, 4], "y", opset=13)
    op_model("reduce_sum_square", [node("ReduceSumSquare", ["x"], ["y"], axes=[2], keepdims=0)],
             [2, 3, 4], "y", opset=13)
    op_model("reduce_l1", [node("ReduceL1", ["x"], ["y"], axes=[1], keepdims=1)],
             [2, 3, 4], "y", opset=13)
    op_model("reduce_l2", [node("ReduceL2", ["x"], ["y"], axes=[2], keepdims=0)],
             [2, 3, 4], "y", opset=13)
    op_model("slice", [node("Slice", ["x", "starts", "ends", "axes"], ["y"])], [3, 5], "y",
             [("starts", i64([0, 1])), ("ends", i64([2, -1])), ("axes", i64([0, 1]))])

    # Shape arithmetic folded at import (as PyTorch exports it around Reshape and friends).
    i64c = lambda name, v: node("Constant", [], [name], value=numpy_helper.from_array(i64(v), name))
    op_model("shape_subgraph",
             [node("Shape", ["x"], ["s"]), i64c("zero", 0), node("Gather", ["s", "zero"], ["b"]),
              i64c("ax", [0]), node("Unsqueeze", ["b", "ax"], ["bu"]), i64c("m1", [-1]),
              node("Concat", ["bu", "m1"], ["target"], axis=0),
              node("Reshape", ["x", "target"], ["f"]),
              node("Cast", ["f"], ["c"], to=TensorProto.FLOAT), node("Relu", ["c"], ["y"])],
             [2, 3, 4], "y")
    op_model("constant_folding",
             [node("Shape", ["x"], ["s"]),
              node("ConstantOfShape", ["s"], ["z"],
                   value=numpy_helper.from_array(f32([0.5]), "v")),
              i64c("start", 0), i64c("limit", 3), i64c("delta", 1),
              node("Range", ["start", "limit", "delta"], ["r"]),
              node("Cast", ["r"], ["fl"], to=TensorProto.FLOAT),
              node("Greater", ["fl", "one"], ["g"]), node("Where", ["g", "fl", "zf"], ["w"]),
              i64c("one_i", 1), node("Gather", ["s", "one_i"], ["cols"]), i64c("two", 2),
              node("Div", ["cols", "two"], ["half"]), node("Unsqueeze", ["half", "ax0"], ["hu"]),
              node("Slice", ["x", "zs", "hu", "ones"], ["left"]),
              node("Add", ["x", "z"], ["a"]), node("Mul", ["x", "w"], ["m"]),
              node("Add", ["a", "m"], ["am"]), node("ReduceSum", ["left"], ["ls"], keepdims=1),
              node("Add", ["am", "ls"], ["y"])],
             [2, 3], "y",
             [("one", f32(1.0)), ("zf", f32(0.0)), ("ax0", i64([0])), ("zs", i64([0])),
              ("ones", i64([1]))], opset=13)

    # Data movement on computed tensors, and a 1-D convolution.
    op_model("pad", [node("Relu", ["x"], ["r"]), node("Pad", ["r", "pads", "v"], ["y"])], [2, 3], "y",
             [("pads", i64([0, 1, 1, 2])), ("v", f32(0.25))], opset=13)
    op_model("pad_crop", [node("Pad", ["x", "pads"], ["y"])], [3, 4], "y",
             [("pads", i64([-1, 1, 0, -2]))], opset=13)
    op_model("gather_dynamic", [node("Gather", ["x", "idx"], ["g"], axis=1),
                                node("Gather", ["g", "row"], ["y"], axis=0)], [3, 4], "y",
             [("idx", i64([2, 0, 1, 3, 3])), ("row", i64(-1))])
    op_model("split", [node("Split", ["x", "sizes"], ["a", "b"], axis=1),
                       node("Concat", ["b", "a"], ["y"], axis=1)], [2, 6], "y",
             [("sizes", i64([2, 4]))], opset=13)
    op_model("tile_expand", [node("Tile", ["x", "reps"], ["t"]),
                             node("Expand", ["t", "shape"], ["y"])], [3, 1], "y",
             [("reps", i64([1, 2])), ("shape", i64([2, 3, 2]))], opset=13)
    op_model("conv1d", [node("Conv", ["x", "w", "b"], ["y"], strides=[2], pads=[1, 1],
                             kernel_shape=[3])], [1, 2, 10], "y", [("w", rnd(3, 2, 3)), ("b", rnd(3))])

    # Several graph inputs (EZKL's input_data layout), one of them int64.
    g = helper.make_graph(
        [node("Mul", ["x", "z"], ["xz"]), node("Add", ["xz", "x"], ["y"])], "two_inputs",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    save(g, os.path.join(OPS, "two_inputs.onnx"))
    g = helper.make_graph(
        [node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT), node("Mul", ["x", "kf"], ["y"])],
        "int_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
         helper.make_tensor_value_info("k", TensorProto.INT64, [2, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    save(g, os.path.join(OPS, "int_input.onnx"))
    # A mask constant cast like a computed tensor stays a constant (its -inf too): a softmax
    # over the positive entries of each row.
    g = helper.make_graph(
        [node("CastLike", ["minus_inf", "x"], ["m"]), node("Greater", ["x", "zero"], ["c"]),
         node("Where", ["c", "x", "m"], ["s"]), node("Softmax", ["s"], ["y"], axis=1)],
        "castlike_mask",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.array(-np.inf, dtype=np.float64), "minus_inf"),
         numpy_helper.from_array(f32(0.0), "zero")])
    save(g, os.path.join(OPS, "castlike_mask.onnx"), 15)
    # Integer division truncates toward zero: int64 by int64, and by an int64 constant.
    g = helper.make_graph(
        [node("Div", ["a", "b"], ["q"]), node("Div", ["a", "three"], ["t"]),
         node("Concat", ["q", "t"], ["y"], axis=0)],
        "int_div",
        [helper.make_tensor_value_info("a", TensorProto.INT64, [6]),
         helper.make_tensor_value_info("b", TensorProto.INT64, [6])],
        [helper.make_tensor_value_info("y", TensorProto.INT64, [12])],
        [helper.make_tensor("three", TensorProto.INT64, [], [3])])
    save(g, os.path.join(OPS, "int_div.onnx"))
    # A shape given as a graph input (as in onnx's `test_expand_shape_model*`): fixed at compile
    # time from the sample input.
    g = helper.make_graph(
        [node("Expand", ["x", "shape"], ["y"])],
        "expand_shape_input",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 1]),
         helper.make_tensor_value_info("shape", TensorProto.INT64, [3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    save(g, os.path.join(OPS, "expand_shape_input.onnx"))

    # Stacks of matrices: a stack times weights, two activations (attention's Q K^T), batch
    # broadcasting, and a single-head attention block.
    op_model("matmul_stack", [node("MatMul", ["x", "w"], ["y"])], [2, 3, 4], "y", [("w", rnd(4, 5))])
    op_model("matmul_activations", [node("Transpose", ["x"], ["xt"], perm=[0, 2, 1]),
                                    node("MatMul", ["x", "xt"], ["y"])], [2, 3, 4], "y")
    op_model("matmul_broadcast", [node("MatMul", ["x", "c"], ["y"])], [2, 1, 3, 4], "y",
             [("c", rnd(3, 4, 2))])
    d = 8
    op_model("attention",
             [node("MatMul", ["x", "wq"], ["q"]), node("MatMul", ["x", "wk"], ["k"]),
              node("MatMul", ["x", "wv"], ["v"]), node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
              node("MatMul", ["q", "kt"], ["s"]), node("Div", ["s", "sqrt_d"], ["s2"]),
              node("Softmax", ["s2"], ["p"], axis=-1), node("MatMul", ["p", "v"], ["y"])],
             [1, 4, d], "y",
             [("wq", rnd(d, d, scale=0.3)), ("wk", rnd(d, d, scale=0.3)), ("wv", rnd(d, d, scale=0.3)),
              ("sqrt_d", f32(np.sqrt(d)))])

    # Softmax over an inner axis (opset 13: that axis; opset 11: flattened from it), LogSoftmax,
    # ArgMax / ArgMin.
    op_model("softmax_axis1", [node("Softmax", ["x"], ["y"], axis=1)], [2, 3, 4], "y", opset=13)
    op_model("softmax_opset11", [node("Softmax", ["x"], ["y"], axis=1)], [2, 3, 4], "y", opset=11)
    op_model("log_softmax", [node("LogSoftmax", ["x"], ["y"], axis=-1)], [2, 5], "y", opset=13)
    op_model("argmax", [node("ArgMax", ["x"], ["i"], axis=1, keepdims=0),
                        node("ArgMin", ["x"], ["j"], axis=0, keepdims=1),
                        node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
                        node("Cast", ["j"], ["fj"], to=TensorProto.FLOAT),
                        node("ReduceSum", ["fj"], ["sj"], keepdims=0),
                        node("Add", ["fi", "sj"], ["y"])], [3, 4], "y", opset=13)

    # A causal mask as PyTorch exports masked_fill: Where(mask == 0, -inf, scores), Softmax.
    op_model("causal_mask",
             [node("Equal", ["mask", "zero_f"], ["masked"]),
              node("Where", ["masked", "ninf", "x"], ["w"]),
              node("Softmax", ["w"], ["y"], axis=-1)], [1, 4, 4], "y",
             [("mask", f32(np.tril(np.ones((4, 4))))), ("zero_f", f32(0.0)),
              ("ninf", f32(-np.inf))], opset=13)

    # Comparisons, logic and Where on activations; Sign, Floor, Ceil.
    op_model("compare_logic",
             [node("Greater", ["x", "quarter"], ["g"]),
              node("LessOrEqual", ["x", "mhalf"], ["l"]),
              node("Or", ["g", "l"], ["o"]), node("Not", ["l"], ["nl"]),
              node("And", ["g", "nl"], ["a"]), node("Xor", ["g", "nl"], ["xo"]),
              node("Floor", ["x"], ["fl"]), node("Ceil", ["x"], ["ce"]),
              node("Sign", ["x"], ["sg"]), node("Equal", ["fl", "fl"], ["eq"]),
              node("Where", ["o", "sg", "fl"], ["w"]),
              node("Cast", ["a"], ["af"], to=TensorProto.FLOAT),
              node("Cast", ["xo"], ["xf"], to=TensorProto.FLOAT),
              node("Cast", ["eq"], ["ef"], to=TensorProto.FLOAT),
              node("Add", ["w", "af"], ["t1"]), node("Add", ["t1", "ce"], ["t2"]),
              node("Add", ["t2", "xf"], ["t3"]), node("Add", ["t3", "ef"], ["y"])],
             [2, 5], "y", [("quarter", f32(0.25)), ("mhalf", f32(-0.5))], opset=13)

    # Normalisation over several trailing axes, and per instance.
    op_model("layer_norm_2axes", [node("LayerNormalization", ["x", "g", "b"], ["y"], axis=-2,
                                       epsilon=1e-5)], [2, 3, 4], "y",
             [("g", rnd(3, 4)), ("b", rnd(3, 4))], opset=17)
    op_model("instance_norm", [node("InstanceNormalization", ["x", "sc", "bi"], ["y"],
                                    epsilon=1e-5)], [1, 3, 4, 4], "y",
             [("sc", rnd(3)), ("bi", rnd(3))])

    # Nearest upsampling by whole factors; Mean, ThresholdedRelu, Trilu, GlobalMaxPool,
    # ReduceLogSumExp.
    op_model("resize_nearest", [node("Resize", ["x", "", "scales"], ["y"], mode="nearest")],
             [1, 2, 3, 3], "y", [("scales", f32([1, 1, 2, 3]))], opset=13)
    op_model("resize_sizes_asymmetric",
             [node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor")],
             [1, 2, 3, 3], "y", [("sizes", i64([1, 2, 6, 6]))], opset=13)
    op_model("upsample", [node("Upsample", ["x", "scales"], ["y"], mode="nearest")],
             [1, 1, 2, 3], "y", [("scales", f32([1, 1, 2, 2]))], opset=9)
    op_model("mean_trilu_pool",
             [node("Mean", ["x", "c"], ["m"]), node("ThresholdedRelu", ["m"], ["t"], alpha=0.3),
              node("Trilu", ["t", "k"], ["tr"], upper=0), node("GlobalMaxPool", ["tr"], ["g"]),
              node("ReduceLogSumExp", ["tr"], ["r"], axes=[3], keepdims=1),
              node("Add", ["r", "g"], ["y"])],
             [1, 2, 3, 3], "y", [("c", rnd(3)), ("k", i64(1))], opset=14)

    # 1-D pooling (lifted to 2-D as Conv1d), Shrink, Hardmax.
    op_model("pool1d", [node("MaxPool", ["x"], ["m"], kernel_shape=[3], strides=[2], pads=[1, 1]),
                        node("AveragePool", ["m"], ["y"], kernel_shape=[2], strides=[1])],
             [1, 2, 9], "y")
    op_model("shrink", [node("Shrink", ["x"], ["y"], bias=0.1, lambd=0.4)], [2, 5], "y")
    op_model("hardmax", [node("Hardmax", ["x"], ["y"], axis=-1)], [3, 4], "y", opset=13)

    # The rest: Dropout (inference: identity), Less, GreaterOrEqual, CastLike, Size.
    op_model("misc_ops",
             [node("Dropout", ["x"], ["d"]), node("Less", ["d", "c"], ["lt"]),
              node("GreaterOrEqual", ["d", "c"], ["ge"]),
              node("CastLike", ["lt", "x"], ["ltf"]), node("CastLike", ["ge", "x"], ["gef"]),
              node("Size", ["x"], ["n"]), node("Cast", ["n"], ["nf"], to=TensorProto.FLOAT),
              node("Div", ["ltf", "nf"], ["q"]), node("Add", ["q", "gef"], ["y"])],
             [2, 5], "y", [("c", f32(0.1))], opset=15)

    # Error path: a repetition too large to import (a typed error, not an allocation).
    op_model("tile_huge", [node("Tile", ["x", "reps"], ["y"])], [2, 3], "y",
             [("reps", i64([1, 1 << 20]))], opset=13)
    RNG = saved


def sequences_and_indices():
    """Recurrent layers, ConvTranspose, division by computed tensors and gathers at computed
    indices (importer's `import/recurrent.rs`, `deconv.rs`, `index.rs`; `python3
    examples/models/generate.py sequences` writes only these)."""
    r = np.random.default_rng(31)
    rn = lambda *shape: f32(r.normal(0.0, 0.5, size=shape))
    i64 = lambda v: np.array(v, dtype=np.int64)
    seq, batch, inp, hid = 5, 2, 3, 4
    # LSTM forward with peepholes and both outputs; bidirectional with initial states.
    op_model("lstm", [node("LSTM", ["x", "w", "r", "b", "", "", "", "p"], ["y", "yh"],
                           hidden_size=hid),
                      node("ReduceSum", ["yh", "ax"], ["s"], keepdims=1),
                      node("Add", ["y", "s"], ["out"])],
             [seq, batch, inp], "out",
             [("w", rn(1, 4 * hid, inp)), ("r", rn(1, 4 * hid, hid)), ("b", rn(1, 8 * hid)),
              ("p", rn(1, 3 * hid)), ("ax", i64([0]))], opset=14)
    op_model("lstm_bidirectional",
             [node("LSTM", ["x", "w", "r", "b", "", "h0", "c0"], ["y", "", "yc"],
                   hidden_size=hid, direction="bidirectional"),
              node("Flatten", ["y"], ["fy"], axis=0), node("Flatten", ["yc"], ["fc"], axis=0),
              node("Concat", ["fy", "fc"], ["out"], axis=1)],
             [seq, batch, inp], "out",
             [("w", rn(2, 4 * hid, inp)), ("r", rn(2, 4 * hid, hid)), ("b", rn(2, 8 * hid)),
              ("h0", rn(2, batch, hid)), ("c0", rn(2, batch, hid))], opset=14)
    # GRU as PyTorch exports it (linear_before_reset = 1, batch-first through layout = 1),
    # and the ONNX default (linear_before_reset = 0) in reverse.
    op_model("gru", [node("GRU", ["x", "w", "r", "b"], ["y", "yh"], hidden_size=hid,
                          linear_before_reset=1, layout=1)],
             [batch, seq, inp], "y",
             [("w", rn(1, 3 * hid, inp)), ("r", rn(1, 3 * hid, hid)), ("b", rn(1, 6 * hid))],
             opset=14)
    gw, gr, gb, gh0 = rn(1, 3 * hid, inp), rn(1, 3 * hid, hid), rn(1, 6 * hid), rn(1, batch, hid)
    op_model("gru_reverse", [node("GRU", ["x", "w", "r", "b", "", "h0"], ["", "yh"],
                                  hidden_size=hid, direction="reverse")],
             [seq, batch, inp], "yh",
             [("w", gw), ("r", gr), ("b", gb), ("h0", gh0)], opset=14)
    # tract 0.23's float run of a reverse GRU disagrees with the ONNX definition (and with
    # onnxruntime), so this model's reference output is computed here, in float64.
    x = r.uniform(-2.0, 2.0, size=(seq, batch, inp))
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))
    w, rr, b = gw[0].astype(np.float64), gr[0].astype(np.float64), gb[0].astype(np.float64)
    h = gh0[0].astype(np.float64)
    for t in reversed(range(seq)):
        xw = x[t] @ w.T + b[:3 * hid]
        z = sig(xw[:, :hid] + h @ rr[:hid].T + b[3 * hid:4 * hid])
        rg = sig(xw[:, hid:2 * hid] + h @ rr[hid:2 * hid].T + b[4 * hid:5 * hid])
        cand = np.tanh(xw[:, 2 * hid:] + (rg * h) @ rr[2 * hid:].T + b[5 * hid:])
        h = (1.0 - z) * cand + z * h
    with open(os.path.join(OPS, "gru_reverse.expected.json"), "w") as f:
        json.dump({"input": [round(float(v), 9) for v in x.ravel()],
                   "output": [round(float(v), 9) for v in h.ravel()]}, f)
    op_model("rnn", [node("RNN", ["x", "w", "r", "b"], ["y", "yh"], hidden_size=hid)],
             [seq, batch, inp], "y",
             [("w", rn(1, hid, inp)), ("r", rn(1, hid, hid)), ("b", rn(1, 2 * hid))])
    # ConvTranspose: strides, pads, output_padding, bias; a grouped, dilated one.
    op_model("conv_transpose",
             [node("ConvTranspose", ["x", "w", "b"], ["y"], strides=[2, 2], pads=[1, 0, 1, 1],
                   output_padding=[1, 0])],
             [1, 2, 3, 4], "y", [("w", rn(2, 3, 3, 3)), ("b", rn(3))])
    op_model("conv_transpose_groups",
             [node("ConvTranspose", ["x", "w"], ["y"], group=2, dilations=[2, 1],
                   pads=[0, 2, 0, 2])],
             [1, 4, 3, 3], "y", [("w", rn(4, 1, 2, 3))])
    # Division by computed tensors of either sign, and Reciprocal.
    op_model("div_computed",
             [node("Abs", ["x"], ["a"]), node("Add", ["a", "half"], ["d"]),
              node("Mul", ["d", "signs"], ["den"]), node("Div", ["x", "den"], ["q"]),
              node("Reciprocal", ["den"], ["rc"]), node("Add", ["q", "rc"], ["y"])],
             [2, 4], "y", [("half", f32(0.5)), ("signs", f32([1, -1, 1, -1]))])
    op_model("reciprocal_raw", [node("Reciprocal", ["x"], ["y"])], [2, 3], "y")
    # Exp and Log on calibrated ranges, Softsign, Round (halves to even), LpPool.
    op_model("exp_log_softsign",
             [node("Exp", ["x"], ["e"]), node("Abs", ["x"], ["a"]), node("Add", ["a", "c"], ["p"]),
              node("Log", ["p"], ["l"]), node("Softsign", ["x"], ["ss"]),
              node("Add", ["e", "l"], ["el"]), node("Add", ["el", "ss"], ["y"])],
             [2, 5], "y", [("c", f32(0.25))])
    op_model("round", [node("Round", ["x"], ["y"])], [2, 4], "y", opset=11)
    op_model("lp_pool",
             [node("LpPool", ["x"], ["l2"], kernel_shape=[2, 2], strides=[1, 1], p=2),
              node("LpPool", ["x"], ["l1"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 0, 1, 1],
                   p=1),
              node("Flatten", ["l2"], ["f2"], axis=1), node("Flatten", ["l1"], ["f1"], axis=1),
              node("Concat", ["f2", "f1"], ["y"], axis=1)],
             [1, 2, 4, 4], "y", opset=18)
    # Trigonometric and hyperbolic functions (tables on calibrated ranges), each input kept
    # inside the function's domain.
    op_model("trig",
             [node("Mul", ["x", "k"], ["xs"]), node("Abs", ["x"], ["ax"]),
              node("Add", ["ax", "one"], ["x1"]),
              node("Sin", ["x"], ["a"]), node("Cos", ["x"], ["b"]), node("Tan", ["xs"], ["c"]),
              node("Asin", ["xs"], ["d"]), node("Acos", ["xs"], ["e"]), node("Atan", ["x"], ["f"]),
              node("Sinh", ["x"], ["g"]), node("Cosh", ["x"], ["h"]), node("Asinh", ["x"], ["i"]),
              node("Acosh", ["x1"], ["j"]), node("Atanh", ["xs"], ["l"]),
              node("Concat", ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "l"], ["y"],
                   axis=1)],
             [2, 3], "y", [("k", f32(0.45)), ("one", f32(1.0))], opset=13)
    # Periodic functions far outside one period (reduced before the table).
    op_model("periodic",
             [node("Sin", ["x"], ["a"]), node("Cos", ["x"], ["b"]), node("Tan", ["x"], ["c"]),
              node("Concat", ["a", "b", "c"], ["y"], axis=0)],
             [6], "y", opset=13)
    # Scatters: constant targets (replace; add with a duplicate target) and computed ones.
    vi = lambda n, t, sh: helper.make_tensor_value_info(n, t, sh)
    F, I = TensorProto.FLOAT, TensorProto.INT64
    g = helper.make_graph(
        [node("ScatterND", ["x", "nd_idx", "u"], ["a"]),
         node("ScatterElements", ["x", "el_idx", "u"], ["b"], axis=0),
         node("ScatterND", ["x", "dup_idx", "u"], ["c"], reduction="add"),
         node("Concat", ["a", "b", "c"], ["y"], axis=0)],
        "scatter_constant", [vi("x", F, [4, 3]), vi("u", F, [2, 3])], [vi("y", F, [])],
        [numpy_helper.from_array(i64([[1], [3]]), "nd_idx"),
         numpy_helper.from_array(i64([[3, 0, 1], [0, 2, -1]]), "el_idx"),
         numpy_helper.from_array(i64([[2], [2]]), "dup_idx")])
    save(g, os.path.join(OPS, "scatter_constant.onnx"), 16)
    g = helper.make_graph(
        [node("ScatterND", ["x", "nd_idx", "u"], ["a"]),
         node("ScatterElements", ["x", "el_idx", "u"], ["b"], axis=1),
         node("Concat", ["a", "b"], ["y"], axis=0)],
        "scatter_computed",
        [vi("x", F, [4, 3]), vi("u", F, [2, 3]), vi("nd_idx", I, [2, 1]),
         vi("el_idx", I, [2, 3])], [vi("y", F, [])])
    save(g, os.path.join(OPS, "scatter_computed.onnx"), 13)
    # Pow by other exponents (0, 4, -2, 1.5), CumSum, Mod (fmod on floats; floor mod on ints).
    op_model("pow_more",
             [node("Abs", ["x"], ["a"]), node("Add", ["a", "q"], ["p"]),
              node("Pow", ["x", "e0"], ["y0"]), node("Pow", ["x", "e4"], ["y4"]),
              node("Pow", ["p", "em2"], ["ym2"]), node("Pow", ["p", "e15"], ["y15"]),
              node("Concat", ["y0", "y4", "ym2", "y15"], ["y"], axis=1)],
             [2, 3], "y", [("q", f32(0.5)), ("e0", f32(0.0)), ("e4", f32(4.0)),
                           ("em2", f32(-2.0)), ("e15", f32(1.5))], opset=13)
    op_model("cumsum",
             [node("CumSum", ["x", "a1"], ["c1"]),
              node("CumSum", ["x", "a0"], ["c0"], exclusive=1, reverse=1),
              node("Concat", ["c1", "c0"], ["y"], axis=1)],
             [3, 4], "y", [("a1", i64(1)), ("a0", i64(0))], opset=14)
    op_model("mod_float",
             [node("Mod", ["x", "c"], ["m"], fmod=1), node("Mod", ["x", "n"], ["k"], fmod=1),
              node("Concat", ["m", "k"], ["y"], axis=1)],
             [2, 4], "y", [("c", f32(0.75)), ("n", f32(-0.5))], opset=13)
    g = helper.make_graph(
        [node("Mod", ["k", "three"], ["a"]), node("Mod", ["k", "mthree"], ["b"]),
         node("Concat", ["a", "b"], ["c"], axis=0), node("Cast", ["c"], ["y"], to=F)],
        "mod_int", [vi("k", I, [6])], [vi("y", F, [])],
        [numpy_helper.from_array(i64(3), "three"), numpy_helper.from_array(i64(-3), "mthree")])
    save(g, os.path.join(OPS, "mod_int.onnx"), 13)
    # QuantizeLinear / DequantizeLinear round trips: uint8 (zero point 128) and int8, with
    # clipping at both ends.
    g = helper.make_graph(
        [node("QuantizeLinear", ["x", "s", "zu"], ["qu"]),
         node("DequantizeLinear", ["qu", "s", "zu"], ["du"]),
         node("QuantizeLinear", ["x", "s", "zs"], ["qs"]),
         node("DequantizeLinear", ["qs", "s", "zs"], ["ds"]),
         node("Concat", ["du", "ds"], ["y"], axis=1)],
        "quantize_dequantize", [vi("x", F, [2, 4])], [vi("y", F, [])],
        [numpy_helper.from_array(f32(0.01), "s"),
         numpy_helper.from_array(np.array(128, dtype=np.uint8), "zu"),
         numpy_helper.from_array(np.array(0, dtype=np.int8), "zs")])
    save(g, os.path.join(OPS, "quantize_dequantize.onnx"), 13)
    # Einsum (weights, two activations, a permutation with a sum), depth/space moves, norms.
    op_model("einsum",
             [node("Einsum", ["x", "w"], ["e1"], equation="bij,jk->bik"),
              node("Einsum", ["x", "x"], ["e2"], equation="bij,bkj->bik"),
              node("Einsum", ["x"], ["e3"], equation="bij->jb"),
              node("Flatten", ["e1"], ["f1"], axis=0), node("Flatten", ["e2"], ["f2"], axis=0),
              node("Flatten", ["e3"], ["f3"], axis=0),
              node("Concat", ["f1", "f2", "f3"], ["y"], axis=1)],
             [2, 3, 4], "y", [("w", rn(4, 5))], opset=13)
    # The same with ellipses: batch dimensions a term's letters leave over.
    op_model("einsum_ellipsis",
             [node("Einsum", ["x", "w"], ["e1"], equation="...ij,jk->...ik"),
              node("Einsum", ["e1", "e1"], ["e2"], equation="...ij,...kj->...ik"),
              node("Einsum", ["x"], ["e3"], equation="b...->...b"),
              node("Flatten", ["e2"], ["f2"], axis=0), node("Flatten", ["e3"], ["f3"], axis=0),
              node("Concat", ["f2", "f3"], ["y"], axis=1)],
             [2, 3, 4], "y", [("w", rn(4, 5))], opset=13)
    op_model("depth_space",
             [node("DepthToSpace", ["x"], ["d"], blocksize=2),
              node("DepthToSpace", ["x"], ["c"], blocksize=2, mode="CRD"),
              node("SpaceToDepth", ["d"], ["s"], blocksize=2),
              node("Flatten", ["d"], ["fd"], axis=0), node("Flatten", ["c"], ["fc"], axis=0),
              node("Flatten", ["s"], ["fs"], axis=0),
              node("Concat", ["fd", "fc", "fs"], ["y"], axis=1)],
             [1, 8, 2, 3], "y", opset=13)
    # SpaceToDepth's CRD mode (opset 28): tract does not know it, the test computes it.
    op_model("space_to_depth_crd",
             [node("SpaceToDepth", ["x"], ["y"], blocksize=2, mode="CRD")],
             [1, 2, 4, 6], "y", opset=28)
    op_model("lp_norms",
             [node("LpNormalization", ["x"], ["a"], axis=1, p=2),
              node("LpNormalization", ["x"], ["b"], axis=-1, p=1),
              node("Flatten", ["a"], ["fa"], axis=0), node("Flatten", ["b"], ["fb"], axis=0),
              node("Concat", ["fa", "fb"], ["y"], axis=1)],
             [1, 2, 3, 3], "y", opset=13)
    # (tract 0.23's GlobalLpPool disagrees with the definition and it cannot type Compress:
    # the test writes this model's expectation out.)
    op_model("global_lp_pool_compress",
             [node("GlobalLpPool", ["x"], ["c"], p=2), node("GlobalLpPool", ["x"], ["d"], p=1),
              node("Compress", ["x", "keep"], ["k"], axis=3),
              node("Flatten", ["c"], ["fc"], axis=0), node("Flatten", ["d"], ["fd"], axis=0),
              node("Flatten", ["k"], ["fk"], axis=0),
              node("Concat", ["fc", "fd", "fk"], ["y"], axis=1)],
             [1, 2, 3, 3], "y", [("keep", np.array([True, False, True]))], opset=13)
    op_model("swish", [node("Swish", ["x"], ["y"])], [2, 5], "y", opset=24)
    # BitShift of an unsigned input by constant amounts: left by 2 (wrapping at 8 bits),
    # right by 1, right by an amount per element.
    g = helper.make_graph(
        [node("BitShift", ["x", "two"], ["a"], direction="LEFT"),
         node("BitShift", ["x", "one"], ["b"], direction="RIGHT"),
         node("BitShift", ["x", "each"], ["c"], direction="RIGHT"),
         node("Concat", ["a", "b", "c"], ["y"], axis=0)],
        "bit_shift", [vi("x", TensorProto.UINT8, [6])], [vi("y", TensorProto.UINT8, [18])],
        [numpy_helper.from_array(np.array(2, dtype=np.uint8), "two"),
         numpy_helper.from_array(np.array(1, dtype=np.uint8), "one"),
         numpy_helper.from_array(np.array([1, 2, 3, 0, 1, 2], dtype=np.uint8), "each")])
    save(g, os.path.join(OPS, "bit_shift.onnx"), 13)
    # Casts of computed tensors: to int64 (truncation toward zero) and to bool (x != 0).
    op_model("cast_computed",
             [node("Mul", ["x", "k"], ["m"]), node("Cast", ["m"], ["i"], to=TensorProto.INT64),
              node("Cast", ["i"], ["fi"], to=TensorProto.FLOAT),
              node("Floor", ["x"], ["f"]), node("Cast", ["f"], ["b"], to=TensorProto.BOOL),
              node("Cast", ["b"], ["fb"], to=TensorProto.FLOAT),
              node("Concat", ["fi", "fb"], ["y"], axis=0)],
             [6], "y", [("k", f32(2.5))], opset=13)
    # Window functions of a constant size (folded at import) times the input.
    op_model("windows",
             [node("BlackmanWindow", ["n"], ["bw"]), node("HannWindow", ["n"], ["hw"], periodic=0),
              node("HammingWindow", ["n"], ["mw"]),
              node("Mul", ["x", "bw"], ["a"]), node("Mul", ["x", "hw"], ["b"]),
              node("Mul", ["x", "mw"], ["c"]), node("Concat", ["a", "b", "c"], ["y"], axis=0)],
             [8], "y", [("n", i64(8))], opset=17)
    g = helper.make_graph(
        [node("OneHot", ["ids", "depth", "vals"], ["h"], axis=0),
         node("EyeLike", ["x"], ["eye"], k=1), node("Add", ["x", "eye"], ["xe"]),
         node("Flatten", ["h"], ["fh"], axis=0), node("Flatten", ["xe"], ["fe"], axis=0),
         node("Concat", ["fh", "fe"], ["y"], axis=1)],
        "one_hot_eye", [vi("ids", I, [4]), vi("x", F, [3, 4])], [vi("y", F, [])],
        [numpy_helper.from_array(i64(5), "depth"), numpy_helper.from_array(f32([-1, 2]), "vals")])
    save(g, os.path.join(OPS, "one_hot_eye.onnx"), 13)
    # A model of constants only (no graph input): its input file is `{"input_data": []}`.
    g = helper.make_graph(
        [node("MatMul", ["a", "b"], ["c"]), node("Relu", ["c"], ["y"])],
        "constants_only", [], [vi("y", F, [2, 2])],
        [numpy_helper.from_array(f32([[1.5, -2], [0.25, 3]]), "a"),
         numpy_helper.from_array(f32([[0.5, 1], [-1, 2]]), "b")])
    save(g, os.path.join(OPS, "constants_only.onnx"), 13)
    # Resize by constant linear maps: bilinear (half_pixel, align_corners), nearest down and
    # by fractional factors.
    op_model("resize_linear",
             [node("Resize", ["x", "", "sc"], ["a"], mode="linear"),
              node("Resize", ["x", "", "", "sz"], ["b"], mode="linear",
                   coordinate_transformation_mode="align_corners"),
              node("Flatten", ["a"], ["fa"], axis=0), node("Flatten", ["b"], ["fb"], axis=0),
              node("Concat", ["fa", "fb"], ["y"], axis=1)],
             [1, 2, 3, 3], "y", [("sc", f32([1, 1, 2, 2])), ("sz", i64([1, 2, 5, 4]))],
             opset=13)
    op_model("resize_nearest_fractional",
             [node("Resize", ["x", "", "sc"], ["a"], mode="nearest",
                   coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
              node("Resize", ["x", "", "", "sz"], ["b"], mode="nearest"),
              node("Flatten", ["a"], ["fa"], axis=0), node("Flatten", ["b"], ["fb"], axis=0),
              node("Concat", ["fa", "fb"], ["y"], axis=1)],
             [1, 1, 4, 6], "y", [("sc", f32([1, 1, 0.5, 0.5])), ("sz", i64([1, 1, 6, 9]))],
             opset=13)
    # Resize in cubic mode (Keys' kernel): up by 2 (half_pixel, the default coefficient), to
    # a size with align_corners, down by 0.5 with exclude_outside and another coefficient.
    op_model("resize_cubic",
             [node("Resize", ["x", "", "sc"], ["a"], mode="cubic"),
              node("Resize", ["x", "", "", "sz"], ["b"], mode="cubic",
                   coordinate_transformation_mode="align_corners"),
              node("Resize", ["x", "", "half"], ["c"], mode="cubic", exclude_outside=1,
                   cubic_coeff_a=-0.5),
              node("Flatten", ["a"], ["fa"], axis=0), node("Flatten", ["b"], ["fb"], axis=0),
              node("Flatten", ["c"], ["fc"], axis=0),
              node("Concat", ["fa", "fb", "fc"], ["y"], axis=1)],
             [1, 1, 4, 4], "y", [("sc", f32([1, 1, 2, 2])), ("sz", i64([1, 1, 5, 7])),
                                 ("half", f32([1, 1, 0.5, 0.5]))],
             opset=13)
    # GroupNormalization (per-channel scale, opset 21), MeanVarianceNormalization,
    # RMSNormalization (opset 23).
    op_model("group_norm", [node("GroupNormalization", ["x", "g", "b"], ["y"], num_groups=2,
                                 epsilon=1e-5)],
             [1, 4, 3, 3], "y", [("g", rn(4)), ("b", rn(4))], opset=21)
    op_model("mean_variance_norm", [node("MeanVarianceNormalization", ["x"], ["y"])],
             [2, 3, 2, 2], "y", opset=13)
    op_model("rms_norm", [node("RMSNormalization", ["x", "g"], ["y"], axis=-1, epsilon=1e-5)],
             [2, 3, 8], "y", [("g", rn(8))], opset=23)
    # TopK: the three largest along the last axis, the two smallest along the first.
    g = helper.make_graph(
        [node("TopK", ["x", "k3"], ["v", "i"], axis=-1),
         node("TopK", ["x", "k2"], ["vs", "is"], axis=0, largest=0)],
        "top_k", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 5])],
        [helper.make_tensor_value_info(n, t, []) for n, t in
         [("v", TensorProto.FLOAT), ("i", TensorProto.INT64), ("vs", TensorProto.FLOAT),
          ("is", TensorProto.INT64)]],
        [numpy_helper.from_array(i64([3]), "k3"), numpy_helper.from_array(i64([2]), "k2")])
    save(g, os.path.join(OPS, "top_k.onnx"), 11)
    # Gathers at computed indices: token ids into an embedding (negative ids wrap), elements
    # along an axis, index tuples; and GatherElements / GatherND at constant indices.
    g = helper.make_graph(
        [node("Gather", ["emb", "ids"], ["e"]),
         node("Gather", ["e", "ids2"], ["y"], axis=2)],
        "gather_computed",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 6]),
         helper.make_tensor_value_info("ids2", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])],
        [numpy_helper.from_array(rn(10, 4), "emb")])
    save(g, os.path.join(OPS, "gather_computed.onnx"))
    g = helper.make_graph(
        [node("GatherElements", ["x", "idx"], ["ge"], axis=1),
         node("GatherND", ["x", "tup"], ["gn"]),
         node("Flatten", ["ge"], ["fe"], axis=0), node("Flatten", ["gn"], ["fn"], axis=0),
         node("Concat", ["fe", "fn"], ["y"], axis=1)],
        "gather_elements_nd",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4]),
         helper.make_tensor_value_info("idx", TensorProto.INT64, [3, 2]),
         helper.make_tensor_value_info("tup", TensorProto.INT64, [2, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [])])
    save(g, os.path.join(OPS, "gather_elements_nd.onnx"), 13)
    op_model("gather_constant_indices",
             [node("GatherElements", ["x", "idx"], ["ge"], axis=0),
              node("GatherND", ["x", "tup"], ["gn"]),
              node("Flatten", ["ge"], ["fe"], axis=0), node("Flatten", ["gn"], ["fn"], axis=0),
              node("Concat", ["fe", "fn"], ["y"], axis=1)],
             [3, 4], "y",
             [("idx", i64([[2, 0, 1, -1], [0, 0, 2, 1]])), ("tup", i64([[1], [2], [0]]))],
             opset=13)

    # A 3-D convolution (strides, asymmetric pads, a depth dilation) followed by a folded
    # BatchNormalization.
    op_model("conv3d",
             [node("Conv", ["x", "w", "b"], ["c"], strides=[2, 1, 2], pads=[1, 1, 0, 1, 0, 1],
                   dilations=[2, 1, 1]),
              node("BatchNormalization", ["c", "g", "bb", "m", "v"], ["y"], epsilon=1e-5)],
             [1, 2, 5, 4, 5], "y",
             [("w", rn(3, 2, 2, 3, 3)), ("b", rn(3)), ("g", rn(3)), ("bb", rn(3)), ("m", rn(3)),
              ("v", f32(r.uniform(0.5, 2, 3)))])
    # 3-D pooling: max and average over depth windows (height/width pads on the average).
    op_model("pool3d",
             [node("MaxPool", ["x"], ["m"], kernel_shape=[2, 2, 2], strides=[1, 2, 2]),
              node("AveragePool", ["x"], ["a"], kernel_shape=[3, 2, 2], strides=[1, 1, 1],
                   pads=[0, 1, 0, 0, 1, 0]),
              node("Flatten", ["m"], ["fm"], axis=0), node("Flatten", ["a"], ["fa"], axis=0),
              node("Concat", ["fm", "fa"], ["y"], axis=1)],
             [1, 2, 4, 4, 4], "y")
    # Pad in reflect and edge modes; a per-channel PRelu slope given as one value per channel.
    op_model("pad_modes",
             [node("Pad", ["x", "p"], ["r"], mode="reflect"),
              node("Pad", ["x", "p"], ["e"], mode="edge"),
              node("Flatten", ["r"], ["fr"], axis=0), node("Flatten", ["e"], ["fe"], axis=0),
              node("Concat", ["fr", "fe"], ["y"], axis=1)],
             [1, 2, 4, 5], "y", [("p", i64([0, 0, 1, 2, 0, 0, 2, 1]))], opset=13)
    op_model("prelu_channels", [node("PRelu", ["x", "slope"], ["y"])], [2, 3, 4], "y",
             [("slope", f32([0.1, -0.5, 0.25]))], opset=9)
    # Dilated max pooling (padding too) and a 3-D max pool with depth padding.
    op_model("max_pool_dilated",
             [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 3], strides=[1, 2],
                   dilations=[2, 2], pads=[1, 1, 1, 1])], [1, 2, 6, 7], "y", opset=12)
    op_model("max_pool3d_padded",
             [node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2, 2], strides=[2, 1, 1],
                   pads=[1, 0, 1, 1, 1, 0])], [1, 2, 3, 4, 4], "y", opset=12)

def binary_classifier(name, n, ml_opset, rows):
    """Save a model of the one ai.onnx.ml classifier node `n` (input x [N, 4]; outputs label
    [N] and probabilities [N, 2]) and, given `rows`, onnxruntime's outputs on them."""
    import onnxruntime
    g = helper.make_graph(
        [n], name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("label", TensorProto.INT64, [None]),
         helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 2])])
    onx = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                              helper.make_opsetid("ai.onnx.ml", ml_opset)])
    onx.ir_version = 8
    onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
    if rows is None:
        return
    label, probs = onnxruntime.InferenceSession(onx.SerializeToString()).run(None, {"x": rows})
    with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in rows.ravel()],
                   "label": [int(v) for v in label],
                   "probabilities": [round(float(v), 9) for v in probs.ravel()]}, f)


def trees():
    """Tree ensembles as skl2onnx exports them (`ai.onnx.ml`; needs `skl2onnx`, and
    `onnxruntime` for the hand-built binary classifiers' expected outputs): a decision
    tree and gradient boosting classifier on iris, a random forest regressor on diabetes. Each
    comes with `<name>.expected.json`: 8 held-out rows and scikit-learn's own predictions
    (tract 0.23 cannot run TreeEnsembleRegressor, and scikit-learn is the reference anyway).
    `python3 examples/models/generate.py trees` writes only these."""
    from skl2onnx import to_onnx
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
    from sklearn.tree import DecisionTreeClassifier

    opsets = {"": 13, "ai.onnx.ml": 3}
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=8, random_state=3)
    for name, model in [
        ("tree_classifier", DecisionTreeClassifier(max_depth=4, random_state=0)),
        ("boosted_classifier", GradientBoostingClassifier(n_estimators=6, max_depth=2,
                                                          random_state=0)),
    ]:
        model.fit(Xtr, ytr)
        onx = to_onnx(model, Xtr[:1], options={"zipmap": False}, target_opset=opsets)
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump({"input": [float(v) for v in Xte.ravel()],
                       "label": [int(v) for v in model.predict(Xte)],
                       "probabilities": [round(float(v), 9)
                                         for v in model.predict_proba(Xte).ravel()]}, f)
    # Binary classifiers with one score column (class_ids all 0): scikit-learn's gradient
    # boosting (LOGISTIC, base value, leaf weights of both signs) against scikit-learn, and
    # two hand-built ensembles as XGBoost/LightGBM export them against onnxruntime (its
    # semantics: all-positive leaf weights give [1 - v, v] and the label v > 0.5, otherwise
    # [-v, v] and v > 0; LOGISTIC takes the sigmoid of both, the label stays on v).
    yb = (y == 2).astype(np.int64)
    Xtr, Xte, ytr, _ = train_test_split(X, yb, test_size=8, random_state=3)
    model = GradientBoostingClassifier(n_estimators=5, max_depth=2, random_state=0)
    model.fit(Xtr, ytr)
    onx = to_onnx(model, Xtr[:1], options={"zipmap": False}, target_opset=opsets)
    onnx.save(onx, os.path.join(OPS, "boosted_binary.onnx"))
    with open(os.path.join(OPS, "boosted_binary.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in Xte.ravel()],
                   "label": [int(v) for v in model.predict(Xte)],
                   "probabilities": [round(float(v), 9)
                                     for v in model.predict_proba(Xte).ravel()]}, f)
    mixed = [-0.8, 0.6, -0.3, 0.9, 0.4, -0.5, 0.2]
    positive = [0.1, 0.7, 0.1, 0.3, 0.25, 0.05, 0.15]
    for name, weights, post, base in [
        ("margin_binary", mixed, "NONE", [0.1]),
        ("positive_binary", positive, "LOGISTIC", None),
        # Refused by name (no expected outputs): PROBIT, and two base values.
        ("binary_probit", positive, "PROBIT", None),
        ("binary_two_bases", mixed, "NONE", [0.1, 0.2]),
    ]:
        # Two depth-1 trees and one depth-2 tree on petal length (2), petal width (3) and
        # sepal length (0); leaves in node order.
        attrs = dict(
            nodes_treeids=[0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 2],
            nodes_nodeids=[0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 4],
            nodes_featureids=[2, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0],
            nodes_values=[4.8, 0, 0, 1.6, 0, 0, 6.0, 1.3, 0, 0, 0],
            nodes_modes=["BRANCH_LEQ", "LEAF", "LEAF", "BRANCH_LT", "LEAF", "LEAF",
                         "BRANCH_LEQ", "BRANCH_LEQ", "LEAF", "LEAF", "LEAF"],
            nodes_truenodeids=[1, 0, 0, 1, 0, 0, 1, 2, 0, 0, 0],
            nodes_falsenodeids=[2, 0, 0, 2, 0, 0, 4, 3, 0, 0, 0],
            class_treeids=[0, 0, 1, 1, 2, 2, 2],
            class_nodeids=[1, 2, 1, 2, 2, 3, 4],
            class_ids=[0] * 7, class_weights=weights,
            classlabels_int64s=[0, 1], post_transform=post)
        if base is not None:
            attrs["base_values"] = base
        n = helper.make_node("TreeEnsembleClassifier", ["x"], ["label", "probabilities"],
                             domain="ai.onnx.ml", **attrs)
        binary_classifier(name, n, 3, None if name.startswith("binary_") else Xte)
    # LinearClassifier with one coefficient row and two labels (onnxruntime's binary layout:
    # scores [1 - v, v], or of the sigmoid with LOGISTIC; the label v > 0), against onnxruntime.
    for name, post in [("linear_binary", "NONE"), ("linear_binary_logistic", "LOGISTIC")]:
        n = helper.make_node("LinearClassifier", ["x"], ["label", "probabilities"],
                             domain="ai.onnx.ml", coefficients=[0.4, -0.2, 0.9, -1.1],
                             intercepts=[-2.3], classlabels_ints=[0, 1], post_transform=post)
        binary_classifier(name, n, 1, Xte)
    # scikit-learn classifiers whose skl2onnx graphs map the winning index to its label with
    # ArrayFeatureExtractor and Cast it to int64: an MLP, Gaussian naive Bayes, a binary
    # LinearSVC (one coefficient row); and k-means (distances, ArgMin). Against scikit-learn.
    from sklearn.cluster import KMeans
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import LinearSVC
    Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=8, random_state=3)
    for name, model, target in [
        ("sklearn_mlp", MLPClassifier((8,), max_iter=2000, random_state=0), y),
        ("gaussian_nb", GaussianNB(), y),
        ("linear_svc_binary", LinearSVC(random_state=0), (y == 2).astype(np.int64)),
        ("kmeans", KMeans(3, n_init=3, random_state=0), None),
    ]:
        Xtr, Xte, ytr, _ = train_test_split(X, y if target is None else target, test_size=8,
                                            random_state=3)
        if target is None:
            model.fit(Xtr)
        else:
            model.fit(Xtr, ytr)
        options = {"zipmap": False} if hasattr(model, "predict_proba") else None
        onx = to_onnx(model, Xtr[:1], options=options, target_opset=opsets)
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        expected = {"input": [float(v) for v in Xte.ravel()],
                    "label": [int(v) for v in model.predict(Xte)]}
        if hasattr(model, "predict_proba"):
            expected["probabilities"] = [round(float(v), 9)
                                         for v in model.predict_proba(Xte).ravel()]
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump(expected, f)
    # Support vector machines (SVMClassifier one-against-one, SVMRegressor): SVC with an RBF
    # kernel (3 classes), a binary SVC with a polynomial kernel, SVR with an RBF kernel.
    from sklearn.svm import SVC, SVR
    for name, model, target in [
        ("svc_rbf", SVC(), y),
        ("svc_poly_binary", SVC(kernel="poly", degree=2), (y == 2).astype(np.int64)),
        ("svr_rbf", SVR(), None),
        # Refused by name (probability estimates: prob_a, prob_b); no expected outputs.
        ("svc_probability", SVC(probability=True, random_state=0), y),
    ]:
        regression = target is None
        Xtr, Xte, ytr, _ = train_test_split(X, X[:, 0] if regression else target, test_size=8,
                                            random_state=3)
        model.fit(Xtr, ytr)
        options = None if regression else {"zipmap": False}
        onx = to_onnx(model, Xtr[:1], options=options, target_opset=opsets)
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        if name == "svc_probability":
            continue
        expected = {"input": [float(v) for v in Xte.ravel()]}
        if regression:
            expected["output"] = [round(float(v), 9) for v in model.predict(Xte)]
        else:
            expected["label"] = [int(v) for v in model.predict(Xte)]
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump(expected, f)
    # Linear models: a scaled binary logistic regression (Scaler, LinearClassifier with
    # LOGISTIC), a multi-class one (SOFTMAX, then Normalizer L1), a binarized linear regression.
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import Binarizer, StandardScaler
    # (Binary on iris: raw breast-cancer features span 1e-3 to 2.5e3, and one input scale
    # quantizes the smallest to a few units, which the scaler's factors of ~300 magnify.)
    for name, model, (Xa, ya) in [
        ("logistic_scaled", make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)),
         (X, (y == 2).astype(np.int64))),
        ("logistic_multiclass", LogisticRegression(max_iter=1000), (X, y)),
    ]:
        Xtr2, Xte2, ytr2, _ = train_test_split(Xa, ya, test_size=8, random_state=3)
        model.fit(Xtr2, ytr2)
        onx = to_onnx(model, Xtr2[:1], options={"zipmap": False}, target_opset=opsets)
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump({"input": [float(v) for v in Xte2.ravel()],
                       "label": [int(v) for v in model.predict(Xte2)],
                       "probabilities": [round(float(v), 9)
                                         for v in model.predict_proba(Xte2).ravel()]}, f)
    Xd, yd = load_diabetes(return_X_y=True)
    Xd = Xd.astype(np.float32)
    Xtr, Xte, ytr, _ = train_test_split(Xd, yd, test_size=8, random_state=3)
    model = RandomForestRegressor(n_estimators=4, max_depth=3, random_state=0).fit(Xtr, ytr)
    onx = to_onnx(model, Xtr[:1], target_opset=opsets)
    onnx.save(onx, os.path.join(OPS, "forest_regressor.onnx"))
    with open(os.path.join(OPS, "forest_regressor.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in Xte.ravel()],
                   "output": [round(float(v), 9) for v in model.predict(Xte)]}, f)
    model = make_pipeline(Binarizer(threshold=0.0), LinearRegression()).fit(Xtr, ytr)
    onx = to_onnx(model, Xtr[:1], target_opset=opsets)
    onnx.save(onx, os.path.join(OPS, "binarized_regressor.onnx"))
    with open(os.path.join(OPS, "binarized_regressor.expected.json"), "w") as f:
        json.dump({"input": [float(v) for v in Xte.ravel()],
                   "output": [round(float(v), 9) for v in model.predict(Xte)]}, f)


def control_flow():
    """Sequences, If on a constant condition, an unrolled Loop, LRN and ReduceLogSum (issue
    18). tract cannot run sequences or every Loop, so the models whose reference output tract
    does not give carry one computed here by onnxruntime."""
    import onnxruntime
    rng = np.random.default_rng(18)
    rn = lambda *s: f32(rng.normal(0.0, 0.5, size=s))
    op_model("lrn", [node("LRN", ["x"], ["a"], size=3, alpha=0.02, beta=0.75, bias=1.0),
                     node("LRN", ["x"], ["b"], size=4, alpha=0.5, beta=0.5, bias=2.0),
                     node("Concat", ["a", "b"], ["y"], axis=1)],
             [1, 6, 3, 3], "y")
    op_model("reduce_log_sum",
             [node("Mul", ["x", "x"], ["sq"]), node("Add", ["sq", "q"], ["pos"]),
              node("ReduceLogSum", ["pos"], ["y"], axes=[1], keepdims=0)],
             [2, 5], "y", [("q", f32([0.25]))])

    def expected(name, model, feeds, tag=""):
        sess = onnxruntime.InferenceSession(model.SerializeToString(),
                                            providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
        x = next(iter(feeds.values()))
        with open(os.path.join(OPS, f"{name}{tag}.expected.json"), "w") as f:
            json.dump({"input": [round(float(v), 9) for v in x.ravel()],
                       "outputs": [[round(float(v), 9) for v in np.asarray(o).ravel()]
                                   for o in outs]}, f)

    vi = helper.make_tensor_value_info
    F, I, B = TensorProto.FLOAT, TensorProto.INT64, TensorProto.BOOL
    # If: the condition folds (Size(x) = 6 > 4); the branch reads the outer x and has its own
    # initializer.
    then_g = helper.make_graph(
        [node("Relu", ["x"], ["r"]), node("Mul", ["r", "c"], ["t_out"])], "then",
        [], [vi("t_out", F, [2, 3])], [numpy_helper.from_array(rn(3), "c")])
    else_g = helper.make_graph([node("Neg", ["x"], ["e_out"])], "else", [],
                               [vi("e_out", F, [2, 3])])
    g = helper.make_graph(
        [node("Size", ["x"], ["n"]), node("Greater", ["n", "four"], ["cond"]),
         node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g)],
        "if_constant", [vi("x", F, [2, 3])], [vi("y", F, [2, 3])],
        [numpy_helper.from_array(np.array(4, dtype=np.int64), "four")])
    save(g, os.path.join(OPS, "if_constant.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "if_constant.onnx"))
    expected("if_constant", m, {"x": rn(2, 3)})
    # Loop: three iterations of h <- tanh(h W + 0.1 i), W from the outer graph, the iteration
    # number cast to float; the final h and every iteration's h (a scan output).
    body = helper.make_graph(
        [node("Cast", ["i"], ["fi"], to=F), node("Mul", ["fi", "tenth"], ["shift"]),
         node("MatMul", ["h", "w"], ["hw"]), node("Add", ["hw", "shift"], ["u"]),
         node("Tanh", ["u"], ["h_next"]), node("Identity", ["cond_in"], ["cond_out"]),
         node("Identity", ["h_next"], ["h_scan"])],
        "body", [vi("i", I, []), vi("cond_in", B, []), vi("h", F, [1, 4])],
        [vi("cond_out", B, []), vi("h_next", F, [1, 4]), vi("h_scan", F, [1, 4])],
        [numpy_helper.from_array(f32(0.1), "tenth")])
    g = helper.make_graph(
        [node("Loop", ["trips", "", "x"], ["h_final", "hs"], body=body),
         node("Flatten", ["hs"], ["hs_flat"], axis=0)],
        "loop_unrolled", [vi("x", F, [1, 4])],
        [vi("h_final", F, [1, 4]), vi("hs_flat", F, [1, 12])],
        [numpy_helper.from_array(np.array(3, dtype=np.int64), "trips"),
         numpy_helper.from_array(rn(4, 4), "w")])
    save(g, os.path.join(OPS, "loop_unrolled.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "loop_unrolled.onnx"))
    expected("loop_unrolled", m, {"x": rn(1, 4)})
    # Sequences with constant positions: construct, erase, insert, at (negative), concat,
    # stack (new_axis), split to pieces (keepdims 0) and their length (a constant output).
    i64 = lambda v: numpy_helper.from_array(np.array(v, dtype=np.int64))
    g = helper.make_graph(
        [node("Relu", ["x"], ["r"]), node("Neg", ["x"], ["nx"]),
         node("SequenceConstruct", ["x", "r", "nx"], ["s1"]),
         node("SequenceErase", ["s1", "one"], ["s2"]),
         node("SequenceInsert", ["s2", "r", "zero"], ["s3"]),
         node("SequenceAt", ["s3", "minus_one"], ["last"]),
         node("ConcatFromSequence", ["s3"], ["cat"], axis=0),
         node("ConcatFromSequence", ["s3"], ["stack"], axis=-1, new_axis=1),
         node("SplitToSequence", ["x"], ["pieces"], axis=1, keepdims=0),
         node("SequenceLength", ["pieces"], ["count"]),
         node("SequenceAt", ["pieces", "one"], ["column"])],
        "sequence_ops", [vi("x", F, [2, 3])],
        [vi("last", F, [2, 3]), vi("cat", F, [6, 3]), vi("stack", F, [2, 3, 3]),
         vi("count", I, []), vi("column", F, [2])],
        [helper.make_tensor("one", I, [], [1]), helper.make_tensor("zero", I, [], [0]),
         helper.make_tensor("minus_one", I, [], [-1])])
    save(g, os.path.join(OPS, "sequence_ops.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "sequence_ops.onnx"))
    expected("sequence_ops", m, {"x": rn(2, 3)})
    # If on a condition computed from the input (sum(x) > 0): both branches are proved and
    # the output selected; a second If picks between two constant tensors. Expected outputs
    # for an input taking each branch.
    const_then = helper.make_graph(
        [node("Constant", [], ["k_then"], value=numpy_helper.from_array(f32([1.5, -2.0, 0.25])))],
        "const_then", [], [vi("k_then", F, [3])])
    const_else = helper.make_graph(
        [node("Constant", [], ["k_else"], value=numpy_helper.from_array(f32([-0.5, 3.0, 1.0])))],
        "const_else", [], [vi("k_else", F, [3])])
    g = helper.make_graph(
        [node("ReduceSum", ["x"], ["total"], keepdims=0), node("Greater", ["total", "zf"], ["cond"]),
         node("If", ["cond"], ["y"], then_branch=then_g, else_branch=else_g),
         node("If", ["cond"], ["k"], then_branch=const_then, else_branch=const_else)],
        "if_computed", [vi("x", F, [2, 3])], [vi("y", F, [2, 3]), vi("k", F, [3])],
        [numpy_helper.from_array(f32(0.0), "zf")])
    save(g, os.path.join(OPS, "if_computed.onnx"), 13)
    m = onnx.load(os.path.join(OPS, "if_computed.onnx"))
    x = rn(2, 3)
    x = x - x.mean() + 0.3
    expected("if_computed", m, {"x": x}, ".then")
    expected("if_computed", m, {"x": -x}, ".else")
    # Boolean graph inputs as conditions: a mask for Where and a scalar flag for If.
    g = helper.make_graph(
        [node("Neg", ["x"], ["nx"]), node("Where", ["mask", "x", "nx"], ["y"]),
         node("If", ["flag"], ["z"], then_branch=then_g, else_branch=else_g)],
        "bool_inputs", [vi("x", F, [2, 3]), vi("mask", B, [2, 3]), vi("flag", B, [])],
        [vi("y", F, [2, 3]), vi("z", F, [2, 3])])
    save(g, os.path.join(OPS, "bool_inputs.onnx"), 13)
    # Refusals: a computed condition choosing between shapes, a position past the end.
    flat_else = helper.make_graph([node("Flatten", ["x"], ["f_out"], axis=0)], "flat_else", [],
                                  [vi("f_out", F, [1, 6])])
    g = helper.make_graph(
        [node("ReduceSum", ["x"], ["total"], keepdims=0), node("Greater", ["total", "zf"], ["cond"]),
         node("If", ["cond"], ["y"], then_branch=then_g, else_branch=flat_else)],
        "if_computed_shapes", [vi("x", F, [2, 3])], [vi("y", F, ["rows", "cols"])],
        [numpy_helper.from_array(f32(0.0), "zf")])
    save(g, os.path.join(OPS, "if_computed_shapes.onnx"), 13)
    g = helper.make_graph(
        [node("SequenceConstruct", ["x", "x"], ["s"]), node("SequenceAt", ["s", "two"], ["y"])],
        "sequence_position_out_of_range", [vi("x", F, [2, 3])], [vi("y", F, [2, 3])],
        [helper.make_tensor("two", I, [], [2])])
    save(g, os.path.join(OPS, "sequence_position_out_of_range.onnx"), 13)
    # A loop of 4096 iterations inside one of 4096: 16M body nodes to unroll, refused by the
    # importer's bound on inlined nodes.
    inner = helper.make_graph(
        [node("Identity", ["c_in"], ["c_out"]), node("Identity", ["v"], ["v_out"])],
        "inner", [vi("j", I, []), vi("c_in", B, []), vi("v", F, [2, 3])],
        [vi("c_out", B, []), vi("v_out", F, [2, 3])])
    outer = helper.make_graph(
        [node("Loop", ["many", "", "u"], ["u_inner"], body=inner),
         node("Identity", ["oc_in"], ["oc_out"])],
        "outer", [vi("i", I, []), vi("oc_in", B, []), vi("u", F, [2, 3])],
        [vi("oc_out", B, []), vi("u_inner", F, [2, 3])])
    g = helper.make_graph(
        [node("Loop", ["many", "", "x"], ["y"], body=outer)],
        "nested_loops", [vi("x", F, [2, 3])], [vi("y", F, [2, 3])],
        [helper.make_tensor("many", I, [], [4096])])
    save(g, os.path.join(OPS, "nested_loops.onnx"), 13)


def neighbors():
    """k-nearest neighbours as skl2onnx exports them (a `Scan` over the training points for
    the distances, `TopK`, `ArrayFeatureExtractor` of the neighbours' labels or targets, votes
    or a mean), on iris with 8 held-out rows and scikit-learn's predictions.
    `python3 examples/models/generate.py neighbors` writes only these."""
    from skl2onnx import to_onnx
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    for name, model, target in [
        ("knn_classifier", KNeighborsClassifier(n_neighbors=3), y),
        ("knn_regressor", KNeighborsRegressor(n_neighbors=3), None),
        # skl2onnx's default export, ending in a ZipMap.
        ("knn_zipmap", KNeighborsClassifier(n_neighbors=3), y),
    ]:
        regression = target is None
        Xtr, Xte, ytr, _ = train_test_split(X, X[:, 3] if regression else target, test_size=8,
                                            random_state=3)
        # Every tenth training row: a small Scan (15 iterations) with the same graph shape.
        Xtr, ytr = Xtr[::10], ytr[::10]
        model.fit(Xtr, ytr)
        options = None if regression or name == "knn_zipmap" else {"zipmap": False}
        onx = to_onnx(model, Xtr[:1], options=options, target_opset={"": 13, "ai.onnx.ml": 3})
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        expected = {"input": [float(v) for v in Xte.ravel()]}
        if regression:
            expected["output"] = [round(float(v), 9) for v in model.predict(Xte)]
        else:
            expected["label"] = [int(v) for v in model.predict(Xte)]
            expected["probabilities"] = [round(float(v), 9)
                                         for v in model.predict_proba(Xte).ravel()]
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump(expected, f)


def string_labels():
    """scikit-learn classifiers fitted on string class names (iris species), as skl2onnx
    exports them: a decision tree (`TreeEnsembleClassifier` with `classlabels_strings`) and an
    MLP (`ArgMax`, then `ArrayFeatureExtractor` over a string initializer of the class names).
    The proof's label is each class's index in `classes_`; the expected file holds those
    indices, the names and the probabilities for 8 held-out rows.
    `python3 examples/models/generate.py string_labels` writes only these."""
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier
    X, y = load_iris(return_X_y=True)
    X = X.astype(np.float32)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    Xtr, Xte, ytr, _ = train_test_split(X, names, test_size=8, random_state=3)
    for name, model in [
        ("iris_string_labels", DecisionTreeClassifier(max_depth=4, random_state=0)),
        ("iris_string_mlp", MLPClassifier((8,), max_iter=2000, random_state=0)),
    ]:
        model.fit(Xtr, ytr)
        onx = to_onnx(model, Xtr[:1], options={"zipmap": False},
                      target_opset={"": 13, "ai.onnx.ml": 3})
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        classes = [str(c) for c in model.classes_]
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump({"input": [float(v) for v in Xte.ravel()],
                       "classes": classes,
                       "label": [classes.index(str(v)) for v in model.predict(Xte)],
                       "probabilities": [round(float(v), 9)
                                         for v in model.predict_proba(Xte).ravel()]}, f)
    # Refused by name: a `Gather` reading the class names (only `ArrayFeatureExtractor` may).
    classes = helper.make_tensor("classes", TensorProto.STRING, [3],
                                 [b"setosa", b"versicolor", b"virginica"])
    g = helper.make_graph(
        [helper.make_node("ArgMax", ["x"], ["i"], axis=1, keepdims=0),
         helper.make_node("Gather", ["classes", "i"], ["label"])],
        "string_gather",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("label", TensorProto.STRING, [2])],
        [classes])
    save(g, os.path.join(OPS, "string_gather.onnx"), opset=13)


def boosters():
    """XGBoost and LightGBM models as onnxmltools exports them (needs `xgboost`, `lightgbm`,
    `onnxmltools`): multiclass (iris), binary (breast cancer: one score column, LOGISTIC) and
    regression (diabetes), 5 trees of depth 3 each, with 8 held-out rows and the library's own
    predictions. `python3 examples/models/generate.py boosters` writes only these."""
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    data = {"iris": load_iris(return_X_y=True), "cancer": load_breast_cancer(return_X_y=True),
            "diabetes": load_diabetes(return_X_y=True)}
    for name, model, source, convert in [
        ("xgb_multiclass", xgb.XGBClassifier(n_estimators=5, max_depth=3), "iris",
         convert_xgboost),
        ("xgb_binary", xgb.XGBClassifier(n_estimators=5, max_depth=3), "cancer",
         convert_xgboost),
        ("xgb_regressor", xgb.XGBRegressor(n_estimators=5, max_depth=3), "diabetes",
         convert_xgboost),
        ("lgb_multiclass", lgb.LGBMClassifier(n_estimators=5, max_depth=3, verbose=-1), "iris",
         convert_lightgbm),
        ("lgb_binary", lgb.LGBMClassifier(n_estimators=5, max_depth=3, verbose=-1), "cancer",
         convert_lightgbm),
        ("lgb_regressor", lgb.LGBMRegressor(n_estimators=5, max_depth=3, verbose=-1),
         "diabetes", convert_lightgbm),
    ]:
        X, y = data[source]
        X = X.astype(np.float32)
        Xtr, Xte, ytr, _ = train_test_split(X, y, test_size=8, random_state=0)
        model.fit(Xtr, ytr)
        types = [("input", FloatTensorType([None, X.shape[1]]))]
        classifier = hasattr(model, "predict_proba")
        if classifier and convert is convert_lightgbm:
            onx = convert(model, initial_types=types, target_opset=13, zipmap=False)
        else:
            onx = convert(model, initial_types=types, target_opset=13)
        onnx.save(onx, os.path.join(OPS, f"{name}.onnx"))
        expected = {"input": [float(v) for v in Xte.ravel()]}
        if classifier:
            expected["label"] = [int(v) for v in model.predict(Xte)]
            expected["probabilities"] = [round(float(v), 9)
                                         for v in model.predict_proba(Xte).ravel()]
        else:
            expected["output"] = [round(float(v), 9) for v in model.predict(Xte)]
        with open(os.path.join(OPS, f"{name}.expected.json"), "w") as f:
            json.dump(expected, f)


# What PyTorch's TorchScript exporter writes (issue 18's real-world collection is made this
# way): exported by `crates/onnx/scripts/torch_suite.py`'s definitions, expected outputs from
# onnxruntime. Each covers an export pattern that once failed to import.
TORCH_EXPORTS = {
    "1l_average": None,        # AveragePool with count_include_pad (PyTorch's default)
    "1l_downsample": None,     # Slice with step 2 and end INT64_MAX
    "1l_pad": None,            # pads reversed by a Slice of step -1 (opset 11)
    "1l_upsample": None,       # Resize with an empty roi (a range with no finite value)
    "1l_topk": 9,              # TopK with `k` an attribute (opset < 10)
    "arange": 9,               # arange of a traced size: NonZero of ConstantOfShape (opset 9)
    "conv_transpose_1d": None, # ConvTranspose of [N, C, L]
    "einsum_bilinear": None,   # Einsum of three operands
    "matmul_vector": None,     # MatMul with a rank-1 operand on either side
    "multihead_attention": None,  # Shape()[-1:] (start -1, end INT64_MAX), in_proj slices
    "decision_tree": None,     # hummingbird's GEMM trees: Gemm with a constant A
    "scatter_nd": None,        # two graph inputs sharing a symbolic batch axis
}


def torch_exports():
    import sys

    sys.path.insert(0, os.path.join(ROOT, "..", "..", "crates", "onnx", "scripts"))
    import torch_suite

    for name, opset in TORCH_EXPORTS.items():
        tmp_dir = os.path.join(OPS, "tmp_torch")
        os.makedirs(tmp_dir, exist_ok=True)
        path, arrays, want = torch_suite.export(name, tmp_dir, opset)
        base = f"torch_{name}"
        os.replace(path, os.path.join(OPS, f"{base}.onnx"))
        os.rmdir(tmp_dir)
        with open(os.path.join(OPS, f"{base}.expected.json"), "w") as f:
            json.dump({"inputs": [a.ravel().tolist() for a in arrays],
                       "outputs": [w.tolist() for w in want]}, f)


if __name__ == "__main__":
    import sys
    if sys.argv[1:] == ["malformed"]:
        malformed_models()
        sys.exit(0)
    if sys.argv[1:] == ["trees"]:
        trees()
        sys.exit(0)
    if sys.argv[1:] == ["sequences"]:
        sequences_and_indices()
        sys.exit(0)
    if sys.argv[1:] == ["boosters"]:
        boosters()
        sys.exit(0)
    if sys.argv[1:] == ["neighbors"]:
        neighbors()
        sys.exit(0)
    if sys.argv[1:] == ["control"]:
        control_flow()
        sys.exit(0)
    if sys.argv[1:] == ["string_labels"]:
        string_labels()
        sys.exit(0)
    if sys.argv[1:] == ["torch"]:
        torch_exports()
        sys.exit(0)
    if sys.argv[1:] == ["computed_parameters"]:
        computed_parameters()
        sys.exit(0)
    if sys.argv[1:] == ["index_integer_ops"]:
        index_and_integer_ops()
        sys.exit(0)
    if sys.argv[1:] == ["training_ops"]:
        training_ops()
        sys.exit(0)
    if sys.argv[1:] == ["loop_inputs"]:
        loop_inputs()
        sys.exit(0)
    if sys.argv[1:] == ["if_sequence"]:
        if_sequence()
        sys.exit(0)
    if sys.argv[1:] == ["max_pool_indices"]:
        max_pool_indices()
        sys.exit(0)
    if sys.argv[1:] == ["gather_nd_batch_dims"]:
        gather_nd_batch_dims()
        sys.exit(0)
    if sys.argv[1:] == ["conv_transpose_3d"]:
        conv_transpose_3d()
        sys.exit(0)
    if sys.argv[1:] == ["empty_reductions"]:
        empty_reductions()
        sys.exit(0)
    if sys.argv[1:] == ["linear_maps"]:
        linear_maps()
        sys.exit(0)
    if sys.argv[1:] == ["fixed_weights"]:
        fixed_weights()
        sys.exit(0)
    if sys.argv[1:] == ["losses"]:
        losses()
        sys.exit(0)
    if sys.argv[1:] == ["attention"]:
        attention_ops()
        sys.exit(0)
    if sys.argv[1:] == ["more_ops"]:
        more_ops()
        sys.exit(0)
    training_data()
    logreg()
    mlp()
    cnn()
    conformance()
    malformed_models()
    more_ops()
    sequences_and_indices()
    trees()
    control_flow()
    neighbors()
    string_labels()
    boosters()
    attention_ops()
    losses()
    computed_parameters()
    index_and_integer_ops()
    fixed_weights()
    linear_maps()
    training_ops()
    empty_reductions()
    conv_transpose_3d()
    gather_nd_batch_dims()
    max_pool_indices()
    if_sequence()
    loop_inputs()
