#!/usr/bin/python3
"""dlc against ONNX Runtime (and OpenBLAS for the MatMul), interleaved in one run.

    run.py --dlc build/dlc --models DIR --sgemm PATH [--rounds 3] [--runs 20] [--out FILE]
           [--variant NAME=ARGS]...    also time dlc with extra arguments (e.g. a pipeline)

For each model and thread count (1, 2) it alternates dlc and ONNX Runtime for --rounds rounds;
each round is one process that times --runs executions after a warm-up and reports their
median. The figure kept is the median over rounds. Ratios are dlc / reference (below 1.0 means
dlc is faster). The machine is shared and noisy: compare ratios, not absolute times.
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_RUN = os.path.join(HERE, "..", "tests", "e2e", "ort_run.mjs")
MEDIAN = re.compile(r"median ([0-9.]+) ms")


def timed(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    m = MEDIAN.search(p.stdout + p.stderr)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"{' '.join(cmd)} failed (status {p.returncode}):\n{p.stderr[-2000:]}")
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--sgemm", help="bench/sgemm_openblas binary")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--only", help="comma-separated model names")
    ap.add_argument("--out", help="also write the table (markdown) here")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=ARGS",
                    help="also time dlc with these extra arguments (e.g. tile='--pipeline "
                         "infer-shapes,fold-constants,dce,check-static,lower,isl-tile'); repeatable")
    a = ap.parse_args()
    variants = []
    for v in a.variant:
        if "=" not in v:
            ap.error(f"--variant {v!r}: expected NAME=ARGS")
        name, args = v.split("=", 1)
        variants.append((name, shlex.split(args)))
    names = sorted(n for n in os.listdir(a.models) if os.path.exists(os.path.join(a.models, n, "model.onnx")))
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    rows = []
    for name in names:
        d = os.path.join(a.models, name)
        model, x = os.path.join(d, "model.onnx"), os.path.join(d, "input_0.npy")
        runs = max(3, a.runs // 4) if name.startswith("matmul") or name == "resnet18" else a.runs
        for t in (int(s) for s in a.threads.split(",")):
            dlc_ms, ort_ms, blas_ms = [], [], []
            var_ms = {vn: [] for vn, _ in variants}
            for _ in range(a.rounds):
                base = [a.dlc, "run", model, "-i", x, "--quiet", "--threads", str(t), "--bench", str(runs)]
                dlc_ms.append(timed(base))
                for vn, vargs in variants:
                    var_ms[vn].append(timed(base + vargs))
                ort_ms.append(timed(["node", ORT_RUN, model, os.path.join(d, "ort_out"), x,
                                     "--threads", str(t), "--bench", str(runs)]))
                if name.startswith("matmul") and a.sgemm:
                    n = int(name[len("matmul"):])
                    blas_ms.append(timed([a.sgemm, str(n), str(runs), str(t)]))
            row = {"model": name, "threads": t, "dlc": statistics.median(dlc_ms),
                   "ort": statistics.median(ort_ms)}
            for vn, ms in var_ms.items():
                row["var:" + vn] = statistics.median(ms)
            if blas_ms:
                row["blas"] = statistics.median(blas_ms)
                row["gflops_dlc"] = 2 * n ** 3 / row["dlc"] / 1e6
                row["gflops_blas"] = 2 * n ** 3 / row["blas"] / 1e6
            rows.append(row)
            print(f"  {name} x{t}: dlc {row['dlc']:.3f} ms, ort {row['ort']:.3f} ms"
                  + (f", openblas {row['blas']:.3f} ms" if blas_ms else ""), file=sys.stderr)
    # Compile time of ResNet-18 to an object file at -O3: the median of 3 (one compile on a
    # shared machine varies by a second).
    compile_s = None
    if "resnet18" in names:
        times = []
        for _ in range(3):
            t0 = time.time()
            subprocess.run([a.dlc, "compile", os.path.join(a.models, "resnet18", "model.onnx"), "-O3",
                            "-o", os.path.join(a.models, "resnet18", "model.o")], check=True,
                           capture_output=True)
            times.append(time.time() - t0)
        compile_s = statistics.median(times)
    L = [f"dlc vs ONNX Runtime (onnxruntime-node, graph optimisation 'all'), medians of "
         f"{a.rounds} interleaved rounds", "",
         "| model | threads | dlc ms | ORT ms | dlc / ORT | OpenBLAS ms | dlc / OpenBLAS | dlc GFLOP/s | OpenBLAS GFLOP/s |",
         "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["model"], r["threads"], f"{r['dlc']:.3f}", f"{r['ort']:.3f}", f"{r['dlc'] / r['ort']:.2f}"]
        if "blas" in r:
            cells += [f"{r['blas']:.2f}", f"{r['dlc'] / r['blas']:.2f}", f"{r['gflops_dlc']:.1f}",
                      f"{r['gflops_blas']:.1f}"]
        else:
            cells += [""] * 4
        L.append("| " + " | ".join(str(c) for c in cells) + " |")
    if variants:
        L += ["", "dlc variants (median ms; ratio to dlc's default in the same rounds)", "",
              "| model | threads | dlc ms | " + " | ".join(f"{vn} ms | {vn} / dlc" for vn, _ in variants) + " |",
              "|---|---|---|" + "---|---|" * len(variants)]
        for r in rows:
            cells = [r["model"], r["threads"], f"{r['dlc']:.3f}"]
            for vn, _ in variants:
                cells += [f"{r['var:' + vn]:.3f}", f"{r['var:' + vn] / r['dlc']:.2f}"]
            L.append("| " + " | ".join(str(c) for c in cells) + " |")
    if compile_s is not None:
        L += ["", f"ResNet-18 ONNX -> object at -O3: {compile_s:.2f} s (median of 3)"]
    text = "\n".join(L) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
