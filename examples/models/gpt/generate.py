"""A GPT-2-style decoder (nanoGPT layout: pre-LayerNorm blocks of causal multi-head
self-attention and a GELU MLP, a final LayerNorm and an LM head) written with onnx.helper in the
node patterns PyTorch's exporter emits (Shape/Gather/Concat feeding Reshape, Split of the fused
QKV projection, Transpose/MatMul attention, masked_fill as Where(mask == 0, -inf), GELU in its
erf form). The input is the token ids (int64 [1, T], a character-level vocabulary of 65 as
nanoGPT's Shakespeare model): a Gather into the token embedding (tied to the LM head, as
nanoGPT ties them) plus a learned position embedding.

Run: python3 examples/models/gpt/generate.py  (writes gpt.onnx, gpt.input.json, gpt.data.json)
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
T, D, H, LAYERS, VOCAB = 16, 64, 4, 2, 65
HD = D // H
rng = np.random.default_rng(7)
nodes, inits = [], []


def f32(a):
    return np.asarray(a, dtype=np.float32)


def init(name, value):
    inits.append(numpy_helper.from_array(value, name))
    return name


def w(name, *shape, scale=0.08):
    return init(name, f32(rng.normal(0.0, scale, size=shape)))


def n(op, ins, outs, **attrs):
    nodes.append(helper.make_node(op, ins, outs, name=f"{op}_{outs[0]}", **attrs))
    return outs[0]


def layer_norm(x, p):
    return n("LayerNormalization", [x, init(f"{p}.g", f32(1 + rng.normal(0, 0.05, D))),
                                    init(f"{p}.b", f32(rng.normal(0, 0.05, D)))],
             [f"{p}.out"], axis=-1, epsilon=1e-5)


def linear(x, p, din, dout):
    y = n("MatMul", [x, w(f"{p}.w", din, dout)], [f"{p}.mm"])
    return n("Add", [y, w(f"{p}.b", dout, scale=0.02)], [f"{p}.out"])


i64 = lambda v: np.array(v, dtype=np.int64)
init("heads_shape", i64([H, HD]))
init("merged", i64([D]))
init("zero_i", i64([0]))
init("two_i", i64([2]))
init("scale", f32(1.0 / np.sqrt(HD)))
init("mask", f32(np.tril(np.ones((T, T)))).reshape(1, 1, T, T))
init("zero_f", f32(0.0))
init("ninf", f32(-np.inf))
init("half", f32(0.5))
init("one", f32(1.0))
init("sqrt2", f32(np.sqrt(2.0)))
init("split3", i64([D, D, D]))

tok = n("Gather", [w("wte", VOCAB, D, scale=0.2), "idx"], ["tok_emb"], axis=0)
x = n("Add", [tok, w("wpe", 1, T, D, scale=0.1)], ["x0"])
for l in range(LAYERS):
    p = f"h{l}"
    a = layer_norm(x, f"{p}.ln1")
    qkv = linear(a, f"{p}.attn.c_attn", D, 3 * D)
    q, k, v = f"{p}.q", f"{p}.k", f"{p}.v"
    n("Split", [qkv, "split3"], [q, k, v], axis=2)
    # (B, T) from the tensor's shape, then (B, T, H, HD): PyTorch's view() pattern.
    n("Shape", [q], [f"{p}.shape"])
    n("Slice", [f"{p}.shape", "zero_i", "two_i"], [f"{p}.bt"])
    n("Concat", [f"{p}.bt", "heads_shape"], [f"{p}.bthd"], axis=0)
    heads = []
    for t in (q, k, v):
        r = n("Reshape", [t, f"{p}.bthd"], [f"{t}.heads"])
        heads.append(n("Transpose", [r], [f"{t}.bhtd"], perm=[0, 2, 1, 3]))
    qh, kh, vh = heads
    kt = n("Transpose", [kh], [f"{p}.kt"], perm=[0, 1, 3, 2])
    att = n("MatMul", [qh, kt], [f"{p}.att"])
    att = n("Mul", [att, "scale"], [f"{p}.att_scaled"])
    masked = n("Equal", ["mask", "zero_f"], [f"{p}.masked"])
    att = n("Where", [masked, "ninf", att], [f"{p}.att_masked"])
    att = n("Softmax", [att], [f"{p}.probs"], axis=-1)
    y = n("MatMul", [att, vh], [f"{p}.y"])
    y = n("Transpose", [y], [f"{p}.y_t"], perm=[0, 2, 1, 3])
    n("Concat", [f"{p}.bt", "merged"], [f"{p}.btd"], axis=0)
    y = n("Reshape", [y, f"{p}.btd"], [f"{p}.y_merged"])
    y = linear(y, f"{p}.attn.c_proj", D, D)
    x = n("Add", [x, y], [f"{p}.res1"])
    m = layer_norm(x, f"{p}.ln2")
    m = linear(m, f"{p}.mlp.c_fc", D, 4 * D)
    # GELU, erf form: x * 0.5 * (1 + erf(x / sqrt 2)).
    e = n("Div", [m, "sqrt2"], [f"{p}.gelu.div"])
    e = n("Erf", [e], [f"{p}.gelu.erf"])
    e = n("Add", [e, "one"], [f"{p}.gelu.add"])
    g = n("Mul", [m, e], [f"{p}.gelu.mul"])
    g = n("Mul", [g, "half"], [f"{p}.gelu.out"])
    m = linear(g, f"{p}.mlp.c_proj", 4 * D, D)
    x = n("Add", [x, m], [f"{p}.res2"])
x = layer_norm(x, "ln_f")
n("Transpose", ["wte"], ["lm_head"], perm=[1, 0])
n("MatMul", [x, "lm_head"], ["logits"])

graph = helper.make_graph(
    nodes, "gpt", [helper.make_tensor_value_info("idx", TensorProto.INT64, [1, T])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, T, VOCAB])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                          producer_name="zkmlops-gpt")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "gpt.onnx"))
samples = [[int(v) for v in rng.integers(0, VOCAB, T)] for _ in range(5)]
with open(os.path.join(HERE, "gpt.input.json"), "w") as f:
    json.dump({"input_data": samples[:1]}, f)
with open(os.path.join(HERE, "gpt.data.json"), "w") as f:
    json.dump({"input_data": samples}, f)
