#!/usr/bin/env python3
"""Run the ONNX package's shipped model tests through the zkmlops CLI and report a pass rate.

The `onnx` wheel ships small PyTorch-exported models with their inputs and expected outputs
(`onnx/backend/test/data/{pytorch-converted,pytorch-operator,simple}/*/model.onnx` and
`test_data_set_0/{input,output}_*.pb`). For each one this script, with the release binary:

  1. writes the inputs as EZKL-layout JSON (`input_data[i]` = graph input i, flattened);
  2. `zkmlops compile model.onnx --calibrate in.json` (scale from the sample, at most 2^12);
  3. `zkmlops prove` (FRI, transparent, the default committed weights) and `zkmlops verify`;
  4. compares the verified outputs with the expected ones: every element within
     2% of max(1, |y|) (issue 18's criterion).

A model passes when all four succeed. Stages that fail are counted by reason. Python needs only
`onnx` and `numpy`; nothing here is part of the build or the tests.

`--suites node` runs ONNX's per-operator node tests instead (1,884 cases in onnx 1.23, one or a
few nodes each). The wheel does not ship their files: they are generated here from
`onnx.backend.test.case.node`, inputs and expected outputs from ONNX's reference implementation.
`--only SUBSTRING` keeps the cases whose name contains it.

    cargo build --release -p zkmlops-cli
    python3 crates/onnx/scripts/backend_suite.py [--timeout 120] [--markdown out.md]
    python3 crates/onnx/scripts/backend_suite.py --suites node [--only reduce] [--markdown out.md]
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
SUITES = ["pytorch-operator", "pytorch-converted", "simple"]
BIN = os.environ.get("ZKMLOPS_BIN", os.path.join("target", "release", "zkmlops"))


def run(args, timeout):
    try:
        p = subprocess.run([BIN, "--quiet", *args], capture_output=True, text=True,
                           timeout=timeout)
        return p.returncode, (p.stdout + p.stderr).strip()
    except subprocess.TimeoutExpired:
        return 124, f"timed out after {timeout} s"


def first_error(rc, text):
    for line in text.splitlines():
        if line.startswith("error:"):
            return line[len("error:"):].strip()
    return text.splitlines()[-1] if text else f"exit code {rc} without a message (killed?)"


def check(model, arrays, want, timeout, calibrate=True, prove_args=("--transparent",)):
    """Compile `model` calibrated on `arrays` (one sample; with `calibrate=False` at the default
    settings), prove (with `prove_args`: FRI transparent by default), verify, compare with
    `want`.

    Returns `(status, reason)`: status `pass`, `compile`, `prove`, `verify` or `outputs`."""
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.json")
        with open(inp, "w") as f:
            json.dump({"input_data": [a.ravel().tolist() for a in arrays]}, f)
        zkm, proof = os.path.join(tmp, "m.zkm"), os.path.join(tmp, "p.zkp")
        # Calibration checks the scale against the backend that will prove.
        backend = [*prove_args[prove_args.index("--backend"):][:2]] \
            if "--backend" in prove_args else []
        rc, text = run(["compile", model, *(["--calibrate", inp] if calibrate else []),
                        *backend, "-o", zkm], timeout)
        if rc != 0:
            return "compile", first_error(rc, text)
        rc, text = run(["prove", zkm, "--input", inp, *prove_args, "-o", proof], timeout)
        if rc != 0:
            return "prove", first_error(rc, text)
        rc, text = run(["verify", proof, "--model", zkm, "--json"], timeout)
        if rc != 0:
            return "verify", first_error(rc, text)
        report = json.loads(text[text.index("{"):])
        got = [np.array(o["values"], dtype=float) for o in report["outputs"]]
    if len(got) != len(want):
        return "outputs", f"{len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        if g.shape != w.shape:
            return "outputs", f"output {i}: {g.size} values, expected {w.size}"
        err = np.abs(g - w) / np.maximum(1.0, np.abs(w))
        if err.max(initial=0.0) > 0.02:
            return "outputs", f"output {i}: relative error {err.max():.4f}"
    return "pass", ""


def case(model_dir, timeout):
    model = os.path.join(model_dir, "model.onnx")
    data = os.path.join(model_dir, "test_data_set_0")
    inputs = sorted(glob.glob(os.path.join(data, "input_*.pb")),
                    key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    outputs = sorted(glob.glob(os.path.join(data, "output_*.pb")),
                     key=lambda p: int(p.rsplit("_", 1)[1].split(".")[0]))
    if not os.path.exists(model) or not outputs:
        return "skipped", "no model or expected outputs"
    try:
        arrays = [numpy_helper.to_array(onnx.load_tensor(p)).astype(float) for p in inputs]
        want = [numpy_helper.to_array(onnx.load_tensor(p)).astype(float).ravel()
                for p in outputs]
    except (ValueError, TypeError) as e:
        return "skipped", f"non-numeric test data ({e})"
    return compare(model, arrays, want, timeout)


def node_case(test, timeout):
    """One of ONNX's generated node tests: its model and first data set, written to a temporary
    directory."""
    inputs, outputs = test.data_sets[0]
    try:
        arrays = [np.asarray(a).astype(float) for a in inputs]
        want = [np.asarray(a).astype(float).ravel() for a in outputs]
    except (ValueError, TypeError) as e:
        return "skipped", f"non-numeric test data ({e})"
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "model.onnx")
        with open(model, "wb") as f:
            f.write(test.model.SerializeToString())
        return compare(model, arrays, want, timeout)


def compare(model, arrays, want, timeout):
    """`check` unless the data holds values no fixed-point backend can be compared on."""
    # Some old PyTorch operator tests were exported from uninitialised tensors (values like
    # 1e216 or NaN); some node tests are about infinities and NaN themselves (IsInf, IsNaN).
    if any(not np.all(np.isfinite(a)) or np.abs(a).max(initial=0) > 1e6 for a in arrays + want):
        return "skipped", "non-finite or |x| > 1e6 test data"
    return check(model, arrays, want, timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--markdown")
    ap.add_argument("--suites", default=",".join(SUITES),
                    help=f"comma-separated, of {', '.join(SUITES)}, node")
    ap.add_argument("--only", default="", help="run the cases whose name contains this")
    args = ap.parse_args()
    if not os.path.exists(BIN):
        sys.exit(f"{BIN} not found: cargo build --release -p zkmlops-cli")
    rows, totals, skipped = [], {}, []
    start = time.time()
    for suite in args.suites.split(","):
        for name, run_case in cases(suite):
            if args.only not in name:
                continue
            status, why = run_case(args.timeout)
            if status == "skipped":
                if why != "no model or expected outputs":
                    skipped.append((name, why))
                continue
            totals.setdefault(suite, {}).setdefault(status, 0)
            totals[suite][status] += 1
            rows.append((name, status, why))
            print(f"{status:8} {name} {why}", flush=True)
    lines = [f"onnx {onnx.__version__} shipped model tests, {time.time() - start:.0f} s:", ""]
    lines.append("| suite | models | pass | compile fails | prove/verify fails | output mismatches |")
    lines.append("|---|---|---|---|---|---|")
    for suite, t in totals.items():
        n = sum(t.values())
        lines.append(f"| {suite} | {n} | {t.get('pass', 0)} | {t.get('compile', 0)} | "
                     f"{t.get('prove', 0) + t.get('verify', 0)} | {t.get('outputs', 0)} |")
    n = sum(sum(t.values()) for t in totals.values())
    p = sum(t.get("pass", 0) for t in totals.values())
    lines.append("")
    lines.append(f"**{p} / {n} pass ({100.0 * p / max(n, 1):.0f}%).** Failures:")
    lines.append("")
    lines += [f"- `{name}`: {status}: {why}" for name, status, why in rows if status != "pass"]
    if skipped:
        lines += ["", f"Skipped ({len(skipped)}): " + ", ".join(f"`{n}` ({w})" for n, w in skipped)]
    report(lines, args.markdown)


def cases(suite):
    """`(name, run)` for each case of `suite`; `run(timeout)` gives `(status, reason)`."""
    if suite == "node":
        from onnx.backend.test.case import node
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tests = node.collect_testcases()
        return [(f"node/{t.name}", lambda timeout, t=t: node_case(t, timeout))
                for t in sorted(tests, key=lambda t: t.name)]
    if suite not in SUITES:
        sys.exit(f"unknown suite {suite}: expected one of {', '.join(SUITES)}, node")
    return [(f"{suite}/{os.path.basename(d)}", lambda timeout, d=d: case(d, timeout))
            for d in sorted(glob.glob(os.path.join(DATA, suite, "*")))]


def report(lines, markdown):
    """Print the report's lines and, given a path, write them there as Markdown."""
    text = "\n".join(lines) + "\n"
    print(text)
    if markdown:
        with open(markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
