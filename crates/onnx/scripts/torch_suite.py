#!/usr/bin/env python3
"""Export the model families people prove with EZKL from PyTorch, then run each through the CLI.

Issue 18 measures a collection of real ONNX models that another zkML project proves in its CI:
small PyTorch modules exported with PyTorch's TorchScript exporter (dynamic batch axes, opsets
10-17, `do_constant_folding`), scikit-learn models converted by hummingbird, and a few larger
networks (LeNet, a MobileNet block stack, LSTM/GRU/RNN, attention, a GAN generator, nanoGPT). This
script writes models of those families the same way (PyTorch's exporter, not `onnx.helper`), one
input in EZKL's layout (`{"input_data": [[...]]}`), and the expected outputs from onnxruntime;
then, like `backend_suite.py`, compiles with `--calibrate` on that input, proves (FRI,
transparent), verifies and compares (2% of max(1, |y|)).

Needs `torch`, `onnx`, `onnxruntime`, `numpy`, `scikit-learn`, `hummingbird-ml`, optionally `sk2torch`, `xgboost`, `lightgbm` (PyPI). Nothing
here is part of the build or the tests; the models are written to a temporary directory (or
`--keep DIR`).

    cargo build --release -p zkmlops-cli
    python3 crates/onnx/scripts/torch_suite.py [--only NAME,...] [--keep DIR] [--markdown out.md]
"""

import argparse
import json
import os
import sys
import tempfile
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backend_suite import BIN, check, report  # noqa: E402

warnings.filterwarnings("ignore")
torch.manual_seed(0)
# nn.MultiheadAttention's fused inference path has no ONNX export; the collection's models took
# the composite one.
torch.backends.mha.set_fastpath_enabled(False)
np.random.seed(0)


class Fn(nn.Module):
    """A module computing `f(*inputs)`."""

    def __init__(self, f, *params):
        super().__init__()
        self.f = f
        self.p = nn.ParameterList([nn.Parameter(p, requires_grad=False) for p in params])

    def forward(self, *xs):
        return self.f(self, *xs)


def fn(f, *params):
    return Fn(f, *params)


def r(*shape):
    return torch.rand(*shape)


def sym(*shape):
    return torch.rand(*shape) * 2 - 1


MODELS = {}
# Larger members of the families (minutes and gigabytes each): run with `--large`.
LARGE = set()


def model(name, opset=14, dynamic=True, large=False):
    def reg(make):
        MODELS[name] = (make, opset, dynamic)
        if large:
            LARGE.add(name)
        return make

    return reg


# ---- one-layer models -------------------------------------------------------------------------
@model("1l_average", opset=10)
def _():
    return nn.AvgPool2d(2, 1, (1, 1)), [r(1, 3, 2, 2)]


@model("1l_batch_norm", opset=10)
def _():
    m = nn.BatchNorm2d(3)
    m.running_mean.data = sym(3)
    m.running_var.data = r(3) + 0.5
    return m.eval(), [r(1, 3, 2, 2)]


@model("1l_concat")
def _():
    return fn(lambda s, x: torch.cat([x, x], 1)), [r(1, 3, 2, 2)]


@model("1l_conv", opset=12)
def _():
    return nn.Conv2d(3, 4, 5, stride=4, padding=1), [r(1, 3, 8, 8)]


@model("1l_conv_transpose", opset=12)
def _():
    return nn.ConvTranspose2d(3, 3, 5, stride=2, padding=1, output_padding=1), [r(1, 3, 5, 5)]


@model("1l_div", opset=10)
def _():
    return fn(lambda s, x: x / 10000), [r(1, 3)]


@model("1l_downsample", opset=10)
def _():
    return fn(lambda s, x: x[:, :, ::2, ::2]), [r(1, 3, 6, 6)]


@model("1l_eltwise_div")
def _():
    return fn(lambda s, x: x / (x + 1)), [r(1, 3, 2)]


@model("1l_elu")
def _():
    return nn.ELU(), [sym(1, 3, 2)]


@model("1l_erf")
def _():
    return fn(lambda s, x: torch.erf(x)), [sym(1, 3)]


@model("1l_flatten")
def _():
    return nn.Flatten(), [r(1, 3, 2, 2)]


@model("1l_gelu_noappx")
def _():
    return nn.GELU(), [sym(1, 3)]


@model("1l_gelu_tanh_appx")
def _():
    return nn.GELU(approximate="tanh"), [sym(1, 3)]


@model("1l_identity")
def _():
    return nn.Identity(), [r(1, 3)]


@model("1l_instance_norm", opset=12)
def _():
    return nn.InstanceNorm2d(3, affine=True), [r(1, 3, 4, 4)]


@model("1l_leakyrelu")
def _():
    return nn.LeakyReLU(0.1), [sym(1, 3)]


@model("1l_linear", opset=10)
def _():
    return nn.Linear(3, 4), [r(1, 3)]


@model("1l_lppool")
def _():
    return nn.LPPool2d(2, 2), [r(1, 3, 4, 4)]


@model("1l_max_pool", opset=10)
def _():
    return nn.MaxPool2d(2, 1), [sym(1, 3, 4, 4)]


@model("1l_mean")
def _():
    return fn(lambda s, x: torch.mean(x, dim=1, keepdim=True)), [r(1, 3, 2)]


@model("1l_mlp", opset=10)
def _():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)), [r(1, 3)]


@model("1l_pad", opset=11)
def _():
    return nn.ZeroPad2d((1, 1, 2, 0)), [r(1, 3, 2, 2)]


@model("1l_powf")
def _():
    return fn(lambda s, x: torch.pow(x, 3.1)), [r(1, 3) + 0.1]


@model("1l_prelu")
def _():
    return nn.PReLU(3), [sym(1, 3, 2, 2)]


@model("1l_relu", opset=10)
def _():
    return nn.ReLU(), [sym(1, 3)]


@model("1l_reshape")
def _():
    return fn(lambda s, x: x.reshape(1, 6)), [r(1, 3, 2)]


@model("1l_sigmoid", opset=10)
def _():
    return nn.Sigmoid(), [sym(1, 3)]


@model("1l_slice")
def _():
    return fn(lambda s, x: x[:, 1:3]), [r(1, 4)]


@model("1l_softmax")
def _():
    return nn.Softmax(dim=1), [sym(1, 3)]


@model("1l_sqrt")
def _():
    return fn(lambda s, x: torch.sqrt(x)), [r(1, 3)]


@model("1l_tiny_div")
def _():
    return fn(lambda s, x: x / 2), [r(1, 3)]


@model("1l_topk")
def _():
    return fn(lambda s, x: torch.topk(x, 2, dim=1)[0]), [sym(1, 5)]


@model("1l_upsample", opset=11)
def _():
    return nn.Upsample(scale_factor=2, mode="nearest"), [r(1, 3, 2, 2)]


@model("1l_upsample_bilinear", opset=11)
def _():
    return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), [r(1, 3, 2, 2)]


@model("1l_var")
def _():
    return fn(lambda s, x: torch.var(x, dim=1, keepdim=True)), [r(1, 3, 4)]


@model("1l_where")
def _():
    return fn(lambda s, x: torch.where(x > 0.5, x, torch.zeros_like(x))), [r(1, 3)]


# ---- element-wise families --------------------------------------------------------------------
@model("celu")
def _():
    return nn.CELU(), [sym(1, 3)]


@model("clip")
def _():
    return fn(lambda s, x: torch.clamp(x, -0.5, 0.5)), [sym(1, 3)]


@model("hard_sigmoid")
def _():
    return nn.Hardsigmoid(), [sym(1, 3) * 4]


@model("hard_swish")
def _():
    return nn.Hardswish(), [sym(1, 3) * 4]


@model("hard_max")
def _():
    return fn(lambda s, x: F.one_hot(torch.argmax(x, 1), 3)), [sym(1, 3)]


@model("mish")
def _():
    return nn.Mish(), [sym(1, 3)]


@model("selu")
def _():
    return nn.SELU(), [sym(1, 3)]


@model("softplus")
def _():
    return nn.Softplus(), [sym(1, 3)]


@model("softsign")
def _():
    return nn.Softsign(), [sym(1, 3)]


@model("log_softmax")
def _():
    return nn.LogSoftmax(dim=1), [sym(1, 3)]


@model("logsumexp")
def _():
    return fn(lambda s, x: torch.logsumexp(x, dim=1)), [sym(1, 3)]


@model("trig")
def _():
    return fn(lambda s, x: torch.sin(x) + torch.cos(x) + torch.tan(x) + torch.asin(x)
              + torch.acos(x) + torch.atan(x) + torch.tanh(x)), [sym(1, 3) * 0.8]


@model("rounding_ops")
def _():
    return fn(lambda s, x: (torch.floor(x), torch.ceil(x), torch.round(x))), [sym(1, 4) * 3]


@model("remainder")
def _():
    return fn(lambda s, x: torch.remainder(x, 0.3)), [sym(1, 3) * 2]


@model("reducel1")
def _():
    return fn(lambda s, x: torch.norm(x, p=1, dim=1)), [sym(1, 3, 2)]


@model("reducel2")
def _():
    return fn(lambda s, x: torch.norm(x, p=2, dim=1)), [sym(1, 3, 2)]


@model("max")
def _():
    return fn(lambda s, x, y: torch.max(x, y)), [sym(1, 3), sym(1, 3)]


@model("min")
def _():
    return fn(lambda s, x, y: torch.min(x, y)), [sym(1, 3), sym(1, 3)]


@model("less")
def _():
    return fn(lambda s, x, y: torch.lt(x, y)), [sym(1, 3), sym(1, 3)]


@model("boolean")
def _():
    return fn(lambda s, x, y: torch.logical_and(x > 0, torch.logical_not(y > 0)) | (x > y)), \
        [sym(1, 4), sym(1, 4)]


@model("bitwise_ops")
def _():
    return fn(lambda s, w, x, y, z: ~((w & x) | (y ^ z))), \
        [torch.rand(1, 4) > 0.5 for _ in range(4)]


@model("boolean_identity")
def _():
    return fn(lambda s, x: x), [torch.rand(1, 4) > 0.5]


@model("bitshift")
def _():
    return fn(lambda s, x: torch.bitwise_left_shift(x, 2)), [torch.randint(0, 8, (1, 4),
                                                                           dtype=torch.uint8)]


@model("arange")
def _():
    return fn(lambda s, x: x + torch.arange(0, x.size(1), dtype=torch.float32)), [r(1, 3)]


@model("eye")
def _():
    return fn(lambda s, x: x @ torch.eye(3)), [r(1, 3)]


@model("blackman_window", opset=17)
def _():
    return fn(lambda s, x: x * torch.blackman_window(4)), [r(1, 4)]


@model("tril")
def _():
    return fn(lambda s, x: torch.tril(x)), [r(1, 3, 3)]


@model("triu")
def _():
    return fn(lambda s, x: torch.triu(x, 1)), [r(1, 3, 3)]


@model("gather_elements")
def _():
    idx = torch.tensor([[0, 1, 0], [1, 0, 1]])
    return fn(lambda s, x: torch.gather(x, 1, idx)), [r(2, 3)]


@model("gather_nd")
def _():
    return fn(lambda s, x: x[[0, 1], [1, 2]]), [r(2, 3)]


@model("scatter_elements")
def _():
    idx = torch.tensor([[1, 0, 2]])
    return fn(lambda s, x, y: torch.scatter(x, 1, idx, y)), [r(1, 3), r(1, 3)]


@model("scatter_nd", opset=16)
def _():
    def f(s, x, y):
        z = x.clone()
        z[:, 1] = y
        return z

    return fn(f), [r(2, 3), r(2)]


@model("quantize_dequantize", opset=13)
def _():
    return fn(lambda s, x: torch.fake_quantize_per_tensor_affine(x, 0.05, 10, 0, 255)), [r(1, 4)]


@model("range_check")
def _():
    return fn(lambda s, x: torch.clamp(x * 4 - 2, 0, 1)), [r(1, 4)]


# ---- networks ---------------------------------------------------------------------------------
@model("2l_relu_sigmoid_small", opset=12)
def _():
    return nn.Sequential(nn.Linear(3, 3), nn.ReLU(), nn.Linear(3, 3), nn.Sigmoid()), [r(1, 3)]


@model("2l_relu_sigmoid_conv", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3), nn.Sigmoid()), \
        [r(1, 3, 6, 6)]


@model("3l_relu_conv_fc", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3), nn.ReLU(),
                         nn.Flatten(), nn.Linear(2 * 4 * 4, 3)), [r(1, 1, 8, 8)]


@model("4l_relu_conv_fc", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(2, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(3 * 2 * 2, 4), nn.ReLU(), nn.Linear(4, 2)), \
        [r(1, 1, 8, 8)]


@model("large_mlp", opset=12)
def _():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                         nn.Linear(128, 10)), [r(1, 64)]


@model("lenet_5", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                         nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                         nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                         nn.Linear(84, 10)), [r(1, 1, 28, 28)]


def dw_block(cin, cout, stride):
    return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin),
            nn.ReLU6(), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU6()]


@model("mobilenet", opset=13)
def _():
    layers = [nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU6()]
    layers += dw_block(8, 16, 1) + dw_block(16, 32, 2) + dw_block(32, 32, 1)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10)]
    m = nn.Sequential(*layers)
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.data = sym(b.num_features) * 0.1
            b.running_var.data = r(b.num_features) + 0.5
    return m.eval(), [r(1, 3, 16, 16)]


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(4, 4, 3, padding=1)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        return F.relu(x + self.c2(F.relu(self.c1(x))))


@model("resnet_block", opset=13)
def _():
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), Residual(), Residual(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 3)), [r(1, 3, 8, 8)]


@model("doodles", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(8 * 7 * 7, 16), nn.ReLU(),
                         nn.Dropout(0.2), nn.Linear(16, 5)).eval(), [r(1, 1, 28, 28)]


@model("mnist_gan", opset=12)
def _():
    m = nn.Sequential(nn.Linear(16, 32), nn.LeakyReLU(0.2), nn.Linear(32, 64),
                      nn.BatchNorm1d(64), nn.LeakyReLU(0.2), nn.Linear(64, 196), nn.Tanh())
    m[3].running_mean.data = sym(64) * 0.1
    m[3].running_var.data = r(64) + 0.5
    return m.eval(), [sym(1, 16)]


class Rec(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        return self.cell(x)[0]


@model("lstm", opset=12)
def _():
    return Rec(nn.LSTM(3, 4, batch_first=True)), [sym(1, 5, 3)]


@model("lstm_medium", opset=12)
def _():
    return Rec(nn.LSTM(8, 16, num_layers=2, batch_first=True)), [sym(1, 6, 8)]


@model("gru", opset=12)
def _():
    return Rec(nn.GRU(3, 4, batch_first=True)), [sym(1, 5, 3)]


@model("rnn", opset=12)
def _():
    return Rec(nn.RNN(3, 4, batch_first=True)), [sym(1, 5, 3)]


@model("bi_lstm", opset=12)
def _():
    return Rec(nn.LSTM(3, 4, batch_first=True, bidirectional=True)), [sym(1, 4, 3)]


class SelfAttention(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.q, self.k, self.v = nn.Linear(d, d), nn.Linear(d, d), nn.Linear(d, d)
        self.d = d

    def forward(self, x):
        q, k, v = self.q(x), self.k(x), self.v(x)
        a = torch.softmax(q @ k.transpose(-2, -1) / self.d ** 0.5, dim=-1)
        return a @ v


@model("self_attention", opset=14)
def _():
    return SelfAttention(8), [sym(1, 4, 8)]


class MHA(nn.Module):
    def __init__(self):
        super().__init__()
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x):
        return self.mha(x, x, x, need_weights=False)[0]


@model("multihead_attention", opset=14)
def _():
    return MHA().eval(), [sym(1, 4, 8)]


class Block(nn.Module):
    def __init__(self, d, heads, t):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.Linear(d, 3 * d)
        self.proj = nn.Linear(d, d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.h = heads
        self.register_buffer("mask", torch.tril(torch.ones(t, t)).view(1, 1, t, t))

    def forward(self, x):
        b, t, c = x.size()
        q, k, v = self.attn(self.ln1(x)).split(c, dim=2)
        q = q.view(b, t, self.h, c // self.h).transpose(1, 2)
        k = k.view(b, t, self.h, c // self.h).transpose(1, 2)
        v = v.view(b, t, self.h, c // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / (k.size(-1) ** 0.5))
        att = att.masked_fill(self.mask[:, :, :t, :t] == 0, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, t, c)
        x = x + self.proj(y)
        return x + self.mlp(self.ln2(x))


class NanoGPT(nn.Module):
    def __init__(self, vocab=32, d=32, t=8, layers=2, heads=4):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Embedding(t, d)
        self.blocks = nn.Sequential(*[Block(d, heads, t) for _ in range(layers)])
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, idx):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long).unsqueeze(0)
        x = self.wte(idx) + self.wpe(pos)
        return self.head(self.ln(self.blocks(x)))


@model("nanogpt", opset=14, dynamic=False)
def _():
    return NanoGPT().eval(), [torch.randint(0, 32, (1, 8))]


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, x):
        return self.enc(x)


@model("transformer_encoder", opset=14, dynamic=False)
def _():
    return Transformer().eval(), [sym(1, 4, 8)]


class Ltsf(nn.Module):
    """DLinear (time-series forecasting): moving-average decomposition and two linear maps."""

    def __init__(self, seq=12, pred=4, k=5):
        super().__init__()
        self.k = k
        self.avg = nn.AvgPool1d(k, 1, 0)
        self.s = nn.Linear(seq, pred)
        self.t = nn.Linear(seq, pred)

    def forward(self, x):  # [b, seq, channels]
        front = x[:, 0:1, :].repeat(1, (self.k - 1) // 2, 1)
        end = x[:, -1:, :].repeat(1, (self.k - 1) // 2, 1)
        xp = torch.cat([front, x, end], dim=1)
        trend = self.avg(xp.permute(0, 2, 1)).permute(0, 2, 1)
        season = x - trend
        out = self.s(season.permute(0, 2, 1)) + self.t(trend.permute(0, 2, 1))
        return out.permute(0, 2, 1)


@model("ltsf", opset=13)
def _():
    return Ltsf(), [sym(1, 12, 2)]


@model("variable_cnn", opset=12)
def _():
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 3, stride=2), nn.ReLU(),
                         nn.AdaptiveAvgPool2d((2, 2)), nn.Flatten(), nn.Linear(8, 2)), \
        [r(1, 1, 11, 11)]


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 4), nn.Linear(2, 4)

    def forward(self, x, y):
        return torch.relu(self.a(x) + self.b(y))


@model("two_inputs_mlp", opset=12)
def _():
    return TwoInputs(), [r(1, 3), r(1, 2)]


# ---- more layers and idioms -------------------------------------------------------------------
@model("layer_norm")
def _():
    return nn.LayerNorm(8), [sym(1, 4, 8)]


@model("group_norm")
def _():
    return nn.GroupNorm(2, 4), [sym(1, 4, 3, 3)]


@model("batch_norm_1d")
def _():
    m = nn.BatchNorm1d(4)
    m.running_mean.data = sym(4) * 0.1
    m.running_var.data = r(4) + 0.5
    return m.eval(), [sym(1, 4, 6)]


@model("conv1d_pool1d")
def _():
    return nn.Sequential(nn.Conv1d(2, 3, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
                         nn.AvgPool1d(2)), [sym(1, 2, 8)]


@model("conv_transpose_1d")
def _():
    return nn.ConvTranspose1d(2, 2, 3, stride=2), [sym(1, 2, 5)]


@model("conv3d")
def _():
    return nn.Conv3d(1, 2, 2), [sym(1, 1, 3, 3, 3)]


@model("conv_dilated_grouped")
def _():
    return nn.Conv2d(4, 4, 3, dilation=2, groups=2, padding=2), [sym(1, 4, 6, 6)]


@model("embedding_bag")
def _():
    e = nn.Embedding(10, 4)
    return fn(lambda s, i: s.p[0][i].sum(1), e.weight.data), [torch.randint(0, 10, (1, 3))]


@model("embedding_mlp")
def _():
    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.e, self.l = nn.Embedding(10, 4), nn.Linear(12, 2)

        def forward(self, i):
            return self.l(self.e(i).flatten(1))

    return M(), [torch.randint(0, 10, (1, 3))]


class IntInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(3, 2)

    def forward(self, x):
        return self.l(x.float() * 0.5)


@model("int_input_cast")
def _():
    return IntInput(), [torch.randint(0, 5, (1, 3))]


@model("pixel_shuffle")
def _():
    return nn.PixelShuffle(2), [sym(1, 4, 2, 2)]


@model("relu6_hardtanh")
def _():
    return fn(lambda s, x: F.relu6(x * 4) + F.hardtanh(x)), [sym(1, 4) * 2]


@model("silu_logsigmoid_glu")
def _():
    return fn(lambda s, x: F.silu(x) + F.logsigmoid(x) + F.glu(torch.cat([x, x], 1), 1)), \
        [sym(1, 4)]


@model("shrink_threshold")
def _():
    return fn(lambda s, x: F.softshrink(x, 0.3) + F.hardshrink(x, 0.2)
              + F.tanhshrink(x)), [sym(1, 5)]


@model("argmax_argmin")
def _():
    return fn(lambda s, x: (torch.argmax(x, 1), torch.argmin(x, 1))), [sym(1, 5)]


@model("max_over_dim")
def _():
    return fn(lambda s, x: torch.max(x, 1)[0] + torch.amin(x, 1)), [sym(1, 4, 3)]


@model("cumsum_flip")
def _():
    return fn(lambda s, x: torch.cumsum(torch.flip(x, [1]), 1)), [sym(1, 5)]


@model("roll")
def _():
    return fn(lambda s, x: torch.roll(x, 1, 1)), [sym(1, 5)]


@model("matmul_two_inputs")
def _():
    return fn(lambda s, x, y: x @ y), [sym(1, 3, 4), sym(1, 4, 2)]


@model("matmul_vector")
def _():
    return fn(lambda s, x: (x @ s.p[0], s.p[1] @ x.transpose(0, 1)), sym(3), sym(3)), [sym(1, 3)]


@model("einsum_bilinear")
def _():
    w = sym(3, 4)
    return fn(lambda s, x, y: torch.einsum("bi,ij,bj->b", x, s.p[0], y), w), [sym(1, 3), sym(1, 4)]


@model("chunk_stack")
def _():
    return fn(lambda s, x: torch.stack(torch.chunk(x, 2, 1), 0).sum(0)), [sym(1, 6)]


@model("expand_repeat")
def _():
    return fn(lambda s, x: x.expand(3, 4) + x.repeat(3, 1)), [sym(1, 4)]


@model("masked_fill_computed")
def _():
    return fn(lambda s, x: x.masked_fill(x < 0, 0.5)), [sym(1, 5)]


@model("pow_std")
def _():
    return fn(lambda s, x: torch.pow(x, 2).sum(1) + torch.std(x, 1)), [sym(1, 5)]


@model("normalize_cosine")
def _():
    return fn(lambda s, x, y: F.normalize(x, dim=1) + F.cosine_similarity(x, y).unsqueeze(1)), \
        [sym(1, 4), sym(1, 4)]


@model("avgpool_ceil")
def _():
    return nn.AvgPool2d(2, 2, ceil_mode=True), [sym(1, 2, 5, 5)]


@model("interpolate_align_corners", opset=11)
def _():
    return fn(lambda s, x: F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)), \
        [sym(1, 1, 3, 3)]


@model("global_max_pool")
def _():
    return nn.AdaptiveMaxPool2d(1), [sym(1, 3, 4, 4)]


@model("autoencoder")
def _():
    return nn.Sequential(nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 8),
                         nn.ReLU(), nn.Linear(8, 16), nn.Sigmoid()), [r(1, 16)]


class TinyUNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.d = nn.Conv2d(1, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.u = nn.ConvTranspose2d(4, 4, 2, stride=2)
        self.o = nn.Conv2d(8, 1, 1)

    def forward(self, x):
        d = F.relu(self.d(x))
        b = F.relu(self.b(F.max_pool2d(d, 2)))
        return torch.sigmoid(self.o(torch.cat([self.u(b), d], 1)))


@model("tiny_unet")
def _():
    return TinyUNet(), [r(1, 1, 8, 8)]


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.dec = nn.TransformerDecoderLayer(8, 2, 16, dropout=0.0, batch_first=True)

    def forward(self, x, mem):
        return self.dec(x, mem)


@model("transformer_decoder", dynamic=False)
def _():
    return Decoder().eval(), [sym(1, 3, 8), sym(1, 4, 8)]


class VaeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.l = nn.Linear(4, 2 * 4 * 4)
        self.c = nn.ConvTranspose2d(2, 1, 4, stride=2, padding=1)

    def forward(self, z):
        return torch.sigmoid(self.c(F.leaky_relu(self.l(z)).view(-1, 2, 4, 4)))


@model("vae_decoder")
def _():
    return VaeDecoder(), [sym(1, 4)]


class CausalMask(nn.Module):
    def __init__(self, t=4):
        super().__init__()
        self.register_buffer("mask", torch.tril(torch.ones(t, t)).view(1, t, t))

    def forward(self, x):
        return F.softmax(x.masked_fill(self.mask == 0, float("-inf")), dim=-1)


@model("causal_mask")
def _():
    return CausalMask(), [sym(1, 4, 4)]


# ---- larger members of the families (minutes, not seconds, on two cores) --------------------
@model("lstm_large", opset=12, large=True)
def _():
    return Rec(nn.LSTM(8, 64, num_layers=2, batch_first=True)), [sym(1, 16, 8)]


@model("mobilenet_32px", opset=13, large=True)
def _():
    layers = [nn.Conv2d(3, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6()]
    layers += dw_block(16, 32, 1) + dw_block(32, 64, 2) + dw_block(64, 64, 1) \
        + dw_block(64, 128, 2)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10)]
    m = nn.Sequential(*layers)
    for b in m.modules():
        if isinstance(b, nn.BatchNorm2d):
            b.running_mean.data = sym(b.num_features) * 0.1
            b.running_var.data = r(b.num_features) + 0.5
    return m.eval(), [r(1, 3, 32, 32)]


@model("nanogpt_medium", opset=14, dynamic=False, large=True)
def _():
    return NanoGPT(vocab=65, d=64, t=32, layers=4, heads=4).eval(), [torch.randint(0, 65, (1, 32))]


@model("no_input_constant", dynamic=False)
def _():
    return fn(lambda s: torch.ones(1, 3) * 2 + torch.arange(3)), []


# ---- scikit-learn through hummingbird ---------------------------------------------------------
def sklearn_model(name, make, task="clf", strategy=None):
    @model(name, dynamic=False)
    def _():
        from hummingbird.ml import convert
        from sklearn.datasets import load_iris, load_diabetes

        if task == "clf":
            x, y = load_iris(return_X_y=True)
        else:
            x, y = load_diabetes(return_X_y=True)
            x = x[:, :4]
        est = make().fit(x, y)
        sample = x[:1].astype(np.float32)
        # hummingbird's own ONNX backend calls PyTorch's new exporter, which cannot trace its
        # executor: convert to PyTorch and export that with the TorchScript exporter (what
        # hummingbird did when the collection's models were made).
        extra = {"tree_implementation": strategy} if strategy else {}
        return convert(est, "torch", sample, extra_config=extra).model.eval(), \
            [torch.from_numpy(sample)]


def _trees():
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.svm import LinearSVC
    from sklearn.neural_network import MLPClassifier
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sklearn_model("decision_tree", lambda: DecisionTreeClassifier(max_depth=3))
    sklearn_model("decision_tree_trav", lambda: DecisionTreeClassifier(max_depth=3),
                  strategy="tree_trav")
    sklearn_model("random_forest_perf_trav", lambda: RandomForestClassifier(4, max_depth=3),
                  strategy="perf_tree_trav")
    sklearn_model("decision_tree_regressor", lambda: DecisionTreeRegressor(max_depth=3), task="reg")
    sklearn_model("sklearn_mlp", lambda: MLPClassifier((8,), max_iter=300))
    sklearn_model("random_forest", lambda: RandomForestClassifier(4, max_depth=3))
    sklearn_model("gradient_boosted_trees", lambda: GradientBoostingClassifier(n_estimators=4,
                                                                            max_depth=2))
    sklearn_model("linear_regression", LinearRegression, task="reg")
    sklearn_model("logistic_regression", lambda: LogisticRegression(max_iter=500))
    sklearn_model("linear_svc", lambda: LinearSVC(max_iter=5000))
    try:
        import xgboost
        import lightgbm

        sklearn_model("xgboost", lambda: xgboost.XGBClassifier(n_estimators=4, max_depth=2))
        sklearn_model("lightgbm", lambda: lightgbm.LGBMClassifier(n_estimators=4, max_depth=2,
                                                                  verbose=-1))
    except ImportError:
        pass


class Method(nn.Module):
    """One method of a wrapped estimator as the module's forward."""

    def __init__(self, inner, method):
        super().__init__()
        self.inner, self.method = inner, method

    def forward(self, x):
        return getattr(self.inner, self.method)(x)


def sk2torch_model(name, make, task="clf", method="forward"):
    """scikit-learn through sk2torch (a PyTorch module per estimator), exported the same way."""

    @model(name, dynamic=False)
    def _():
        import sk2torch
        from sklearn.datasets import load_diabetes, load_iris

        x, y = load_iris(return_X_y=True) if task == "clf" else load_diabetes(return_X_y=True)
        est = make().fit(x, y)
        return Method(sk2torch.wrap(est).float().eval(), method), \
            [torch.from_numpy(x[:1].astype(np.float32))]


def _sk2torch():
    from sklearn.linear_model import LinearRegression, SGDClassifier
    from sklearn.neural_network import MLPClassifier
    from sklearn.svm import SVC, LinearSVC

    sk2torch_model("sk2torch_mlp", lambda: MLPClassifier((8,), max_iter=300),
                   method="predict_proba")
    sk2torch_model("sk2torch_linear_svc", lambda: LinearSVC(max_iter=5000),
                   method="decision_function")
    sk2torch_model("sk2torch_svc_rbf", lambda: SVC(), method="decision_function")
    sk2torch_model("sk2torch_sgd", lambda: SGDClassifier(), method="decision_function")
    sk2torch_model("sk2torch_linear_regression", LinearRegression, task="reg", method="predict")
    # (sk2torch's decision tree exports a graph onnxruntime itself refuses: an int8 Cast.)


_trees()
try:
    _sk2torch()
except ImportError:
    pass


# ---- export and check -------------------------------------------------------------------------
def export(name, directory, opset=None):
    make, default_opset, dynamic = MODELS[name]
    opset = opset or default_opset
    m, xs = make()
    path = os.path.join(directory, f"{name}@{opset}.onnx")
    if True:
        names = [f"input{i}" if len(xs) > 1 else "input" for i in range(len(xs))]
        axes = {n: {0: "batch_size"} for n in names} if dynamic else None
        with torch.no_grad():
            torch.onnx.export(m, tuple(xs), path, dynamo=False, opset_version=opset,
                              do_constant_folding=True, input_names=names,
                              dynamic_axes=axes, export_params=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {}
    for i, x in zip(sess.get_inputs(), xs):
        a = x.numpy()
        if "float" in i.type and a.dtype != np.float32:
            a = a.astype(np.float32)
        if "int64" in i.type:
            a = a.astype(np.int64)
        feeds[i.name] = a
    want = [np.asarray(o, dtype=float).ravel() for o in sess.run(None, feeds)]
    arrays = [x.numpy().astype(float) for x in xs]
    return path, arrays, want


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=int, default=300)
    ap.add_argument("--only")
    ap.add_argument("--keep")
    ap.add_argument("--markdown")
    ap.add_argument("--large", action="store_true",
                    help="also the larger members (an LSTM of 2 x 64, a 32 px MobileNet, a "
                    "4-layer nanoGPT of 32 tokens: minutes and up to 13 GB each)")
    ap.add_argument("--no-calibrate", action="store_true",
                    help="compile at the default settings (scale 2^10, declared shapes)")
    ap.add_argument("--prove-args", default="--transparent",
                    help="arguments of `zkmlops prove` (default `--transparent`; '' for the CLI's "
                    "defaults, `--backend plonky2`, ...)")
    ap.add_argument("--opsets", help="export every model at each of these opsets (e.g. 10,13,17) "
                    "instead of its own; models PyTorch cannot export at one are skipped there")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: cargo build --release -p zkmlops-cli")
    names = args.only.split(",") if args.only else \
        [n for n in MODELS if args.large or n not in LARGE]
    opsets = [int(o) for o in args.opsets.split(",")] if args.opsets else [None]
    directory = args.keep or tempfile.mkdtemp()
    os.makedirs(directory, exist_ok=True)
    rows, start = [], time.time()
    for name in names:
        for opset in opsets:
            label = f"{name}@{opset}" if opset else name
            try:
                path, arrays, want = export(name, directory, opset)
            except Exception as e:  # noqa: BLE001 (an export failure is reported, not fatal)
                rows.append((label, "export", str(e).splitlines()[0][:200]))
                print(f"export   {label} {rows[-1][2]}", flush=True)
                continue
            status, why = check(path, arrays, want, args.timeout, not args.no_calibrate,
                                args.prove_args.split())
            rows.append((label, status, why))
            print(f"{status:8} {label} {why}", flush=True)
    n = sum(1 for _, s, _ in rows if s != "export")
    p = sum(1 for _, s, _ in rows if s == "pass")
    lines = [f"PyTorch {torch.__version__} exports (TorchScript exporter), onnx {onnx.__version__}, "
             f"{time.time() - start:.0f} s: **{p} / {n} pass ({100.0 * p / max(n, 1):.0f}%)**",
             ""]
    lines += [f"- `{name}`: {status}: {why}" for name, status, why in rows
              if status not in ("pass", "export")]
    skipped = [name for name, status, _ in rows if status == "export"]
    if skipped:
        lines += ["", f"Not exportable by PyTorch ({len(skipped)}): " + ", ".join(skipped)]
    report(lines, args.markdown)


if __name__ == "__main__":
    main()
