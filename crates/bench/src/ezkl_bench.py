"""One phase of EZKL's pipeline on an ONNX model, for `zkmlops bench` (its peer row).

Usage: python3 ezkl_bench.py PHASE WORKDIR MODEL.onnx INPUT.json PARAM_VISIBILITY

PHASE is `setup` (gen-settings, calibrate, compile, SRS, keys: run once per cell), `prove` or
`verify` (run once per repetition, each in a fresh process like zkmlops' own worker). Prints one
JSON object on stdout: the phase's timings in milliseconds, file sizes in bytes and the
process's peak resident memory in MB. The SRS is generated locally with `gen_srs` (EZKL's
"testing only" path: nothing is downloaded; a real deployment uses a ceremony's SRS).
"""

import asyncio
import inspect
import json
import os
import resource
import sys
import time

import ezkl


def call(f, *args, **kwargs):
    """EZKL's Python API made some calls async across versions: await them when they are."""
    r = f(*args, **kwargs)
    if inspect.isawaitable(r):
        r = asyncio.run(_await(r))
    return r


async def _await(r):
    return await r


def ms(t):
    return (time.perf_counter() - t) * 1e3


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def size(p):
    return os.path.getsize(p) if os.path.exists(p) else None


def main():
    phase, work, model, data, vis = sys.argv[1:6]
    p = lambda name: os.path.join(work, name)
    settings, compiled, srs = p("settings.json"), p("network.compiled"), p("kzg.srs")
    pk, vk, witness, proof = p("pk.key"), p("vk.key"), p("witness.json"), p("proof.json")
    out = {"ezkl_version": getattr(ezkl, "__version__", "unknown")}
    if phase == "setup":
        args = ezkl.PyRunArgs()
        args.input_visibility = "private"
        args.output_visibility = "public"
        args.param_visibility = vis
        t = time.perf_counter()
        call(ezkl.gen_settings, model, settings, py_run_args=args)
        out["gen_settings_ms"] = ms(t)
        t = time.perf_counter()
        call(ezkl.calibrate_settings, data, model, settings, "resources")
        out["calibrate_ms"] = ms(t)
        t = time.perf_counter()
        call(ezkl.compile_circuit, model, compiled, settings)
        out["compile_ms"] = ms(t)
        with open(settings) as f:
            s = json.load(f)
        logrows = s["run_args"]["logrows"]
        out["logrows"] = logrows
        out["scale"] = s["run_args"].get("input_scale")
        t = time.perf_counter()
        call(ezkl.gen_srs, srs, logrows)
        out["srs_ms"] = ms(t)
        t = time.perf_counter()
        call(ezkl.gen_witness, data, compiled, witness)
        out["witness_ms"] = ms(t)
        t = time.perf_counter()
        call(ezkl.setup, compiled, vk, pk, srs)
        out["keygen_ms"] = ms(t)
        out["setup_ms"] = out["srs_ms"] + out["keygen_ms"]
        out["pk_bytes"], out["vk_bytes"], out["srs_bytes"] = size(pk), size(vk), size(srs)
    elif phase == "prove":
        t = time.perf_counter()
        call(ezkl.gen_witness, data, compiled, witness)
        out["witness_ms"] = ms(t)
        t = time.perf_counter()
        call(ezkl.prove, witness, compiled, pk, proof, srs)
        out["prove_ms"] = ms(t) + out["witness_ms"]
        out["file_bytes"] = size(proof)
        with open(proof) as f:
            pj = json.load(f)
        raw = pj.get("proof")
        if isinstance(raw, list):
            out["proof_bytes"] = len(raw)
        elif isinstance(raw, str):
            out["proof_bytes"] = len(raw.removeprefix("0x")) // 2
    elif phase == "verify":
        t = time.perf_counter()
        ok = call(ezkl.verify, proof, settings, vk, srs)
        out["verify_ms"] = ms(t)
        out["verified"] = bool(ok)
    else:
        raise SystemExit(f"unknown phase {phase}")
    out["peak_rss_mb"] = peak_mb()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
