#!/usr/bin/python3
"""The simulator's accuracy target on a compiler-generated command stream (ctest e2e/asic/gemm_*).

    gemm_bound.py --dlc DLC --work DIR M K N [--ratio 1.10] [--traffic 1.10]

Writes an ONNX model Y = X @ W (X [M,K] an input, W [K,N] an initializer), runs
`dlc run --target asic --report r.json` on a random X, checks Y against numpy and then the
report against the analytical bound of the default arch:

    bound  = max(MACs / macs_per_cycle, compulsory bytes / dram_bytes_per_cycle)
    compulsory bytes = 4 * (M*K + K*N + M*N)   (input, weight, output, each moved once)

total.cycles must be <= ratio * bound, and compulsory <= total.dram_bytes <= traffic * compulsory.
Prints the measured ratios. Exit 0 on success, 1 with the reason on stderr.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def fail(msg):
    print(f"gemm_bound: {msg}", file=sys.stderr)
    return 1


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--ratio", type=float, default=1.10)
    ap.add_argument("--traffic", type=float, default=1.10)
    ap.add_argument("m", type=int)
    ap.add_argument("k", type=int)
    ap.add_argument("n", type=int)
    a = ap.parse_args(argv)
    M, K, N = a.m, a.k, a.n
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(M * 31 + K * 7 + N)
    x = rng.standard_normal((M, K)).astype(np.float32)
    w = rng.standard_normal((K, N)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="MatMul_0")], "gemm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [M, K])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [M, N])],
        [numpy_helper.from_array(w, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    mpath = os.path.join(a.work, "model.onnx")
    onnx.save(model, mpath)
    xpath = os.path.join(a.work, "x.npy")
    np.save(xpath, x)
    out = os.path.join(a.work, "out")
    rpath = os.path.join(a.work, "r.json")
    for f in (rpath, os.path.join(out, "output_0.npy")):
        if os.path.exists(f):
            os.remove(f)
    p = subprocess.run([a.dlc, "run", mpath, "--target", "asic", "-i", xpath, "-o", out,
                        "--report", rpath], capture_output=True, text=True)
    if p.returncode != 0:
        return fail(f"dlc run failed ({p.returncode}): {p.stderr.strip()}")
    y = np.load(os.path.join(out, "output_0.npy"))
    ref = x.astype(np.float64) @ w.astype(np.float64)
    if y.shape != ref.shape:
        return fail(f"output shape {y.shape}, expected {ref.shape}")
    err = np.max(np.abs(y - ref) / (1e-3 * np.abs(ref) + 1e-3 * np.sqrt(K)))
    if not np.isfinite(err) or err > 1:
        return fail(f"output differs from numpy (worst error {err:.3g} of tolerance)")
    with open(rpath) as f:
        r = json.load(f)
    t, arch = r["total"], r["arch"]
    macs = M * K * N
    if t["macs"] != macs:
        return fail(f"report has {t['macs']} MACs, expected {macs}")
    compulsory = 4 * (M * K + K * N + M * N)
    bound = max(macs / arch["macs_per_cycle"], compulsory / arch["dram_bytes_per_cycle"])
    ratio = t["cycles"] / bound
    traffic = t["dram_bytes"] / compulsory
    print(f"gemm {M}x{K}x{N}: {t['cycles']} cycles, bound {bound:.0f}, ratio {ratio:.4f}; "
          f"DRAM {t['dram_bytes']} bytes, compulsory {compulsory}, ratio {traffic:.4f}; "
          f"utilisation {t['utilisation']:.4f}")
    if t["dram_bytes"] < compulsory:
        return fail(f"{t['dram_bytes']} DRAM bytes is less than the compulsory {compulsory}")
    if ratio > a.ratio:
        return fail(f"{t['cycles']} cycles is {ratio:.4f}x the bound {bound:.0f} (limit {a.ratio})")
    if traffic > a.traffic:
        return fail(f"{t['dram_bytes']} DRAM bytes is {traffic:.4f}x the compulsory {compulsory} "
                    f"(limit {a.traffic})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
