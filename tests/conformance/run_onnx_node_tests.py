#!/usr/bin/python3
"""ONNX backend node tests through dlc: run, classify, report, guard.

    run_onnx_node_tests.py --dlc build/dlc                         run all, print the summary
    run_onnx_node_tests.py --dlc build/dlc --table docs/onnx-support.md --expected-out F
    run_onnx_node_tests.py --dlc build/dlc --check tests/conformance/expected_pass.txt
    run_onnx_node_tests.py --dlc build/dlc -k conv                 only tests matching 'conv'

Each test (a folder with model.onnx and test_data_set_N/{input,output}_k.pb) runs as
`dlc run model.onnx -i input_0.pb ... -o OUT` for each data set, and the outputs are compared as
ONNX's backend test does: same shape and element type, |got - want| <= atol + rtol*|want|
(rtol 1e-3, atol 1e-7), NaN equal to NaN. A test ends as

    pass         every output of every data set matches
    fail         dlc ran, but an output differs (the reason names the worst element), or dlc
                 rejected the model with a clean error that is not about support
    unsupported  dlc rejected the model with a clean "unsupported ..." error
    crash        dlc died on a signal, a sanitizer report, a non-clean exit or a time-out

--check FILE fails (exit 1) if any test listed in FILE does not pass, or if anything crashed.
"""
import argparse
import concurrent.futures as cf
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper

DATA = "/usr/share/libonnx-testdata/data/node"
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


# Test-name prefixes that do not spell their op.
ALIASES = {"sce": "SoftmaxCrossEntropyLoss", "nllloss": "NegativeLogLikelihoodLoss",
           "mvn": "MeanVarianceNormalization", "strnormalizer": "StringNormalizer",
           "training": "Dropout", "basic": "Conv"}
_OPS = None


def op_of(test, model):
    """The operator a test is about: its single node's op, or for the *_expanded (function
    body) and multi-node tests the ONNX op whose name, lower-cased without underscores, is the
    longest prefix of the test's name written the same way."""
    global _OPS
    ops = [n.op_type for n in model.graph.node]
    if len(set(ops)) == 1 and not test.endswith("_expanded"):
        return ops[0]
    name = test[len("test_"):]
    if name.split("_")[0] in ALIASES:
        return ALIASES[name.split("_")[0]]
    if _OPS is None:
        _OPS = sorted({sc.name for sc in onnx.defs.get_all_schemas()}, key=len, reverse=True)
    flat = name.replace("_", "").lower()
    for op in _OPS:
        if flat.startswith(op.lower()):
            return op
    return ops[0] if ops else "?"


def first_line(text):
    for line in text.strip().split("\n"):
        if line.startswith("dlc: error:"):
            return line[len("dlc: error: "):]
    return text.strip().split("\n")[-1] if text.strip() else ""


def compare(want, got, rtol, atol):
    if want.dtype != got.dtype:
        return f"element type {got.dtype}, expected {want.dtype}"
    if want.shape != got.shape:
        return f"shape {list(got.shape)}, expected {list(want.shape)}"
    if want.dtype.kind in "fc":
        w, g = want.astype(np.float64), got.astype(np.float64)
        both_nan = np.isnan(w) & np.isnan(g)
        with np.errstate(invalid="ignore"):
            ok = both_nan | (w == g) | (np.abs(g - w) <= atol + rtol * np.abs(w))
    elif want.dtype.kind in "OUS":
        return "string tensors are not compared"
    else:
        ok = want == got
    if ok.all():
        return None
    idx = np.unravel_index(np.argmin(ok), ok.shape) if ok.ndim else ()
    return (f"{int((~ok).sum())} of {ok.size} elements differ; at {tuple(int(i) for i in idx)} "
            f"expected {want[idx]!r}, got {got[idx]!r}")


def load_pb(path):
    t = onnx.TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def run_test(dlc, root, test, timeout, rtol, atol):
    d = os.path.join(root, test)
    model = onnx.load(os.path.join(d, "model.onnx"), load_external_data=False)
    op = op_of(test, model)
    sets = sorted(s for s in os.listdir(d) if s.startswith("test_data_set_"))
    res = {"test": test, "op": op, "status": "pass", "reason": ""}
    t0 = time.time()
    with tempfile.TemporaryDirectory(prefix="dlc-onnx-") as tmp:
        for s in sets:
            sd = os.path.join(d, s)
            n_in = len([f for f in os.listdir(sd) if re.fullmatch(r"input_\d+\.pb", f)])
            n_out = len([f for f in os.listdir(sd) if re.fullmatch(r"output_\d+\.pb", f)])
            out = os.path.join(tmp, s)
            cmd = [dlc, "run", os.path.join(d, "model.onnx"), "--quiet", "-o", out]
            for i in range(n_in):
                cmd += ["-i", os.path.join(sd, f"input_{i}.pb")]
            try:
                p = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                                   timeout=timeout)
            except subprocess.TimeoutExpired:
                res.update(status="crash", reason=f"time-out after {timeout} s")
                break
            mark = next((m for m in SANITIZER_MARKS if m in p.stderr), None)
            if p.returncode < 0 or mark or p.returncode not in (0, 1):
                why = mark or (f"signal {-p.returncode}" if p.returncode < 0 else f"exit status {p.returncode}")
                res.update(status="crash", reason=why)
                break
            if p.returncode == 1:
                msg = first_line(p.stderr)
                lines = [l for l in p.stderr.strip().split("\n") if l and not l.startswith("dlc: note:")]
                if len(lines) != 1 or not lines[0].startswith("dlc: error:"):
                    res.update(status="crash", reason=f"not a one-line error: {msg}")
                elif "unsupported" in msg or "not supported" in msg:
                    res.update(status="unsupported", reason=msg)
                else:
                    res.update(status="fail", reason=msg)
                break
            for k in range(n_out):
                want = load_pb(os.path.join(sd, f"output_{k}.pb"))
                gp = os.path.join(out, f"output_{k}.npy")
                if not os.path.exists(gp):
                    why = f"output {k} was not written"
                else:
                    why = compare(want, np.load(gp), rtol, atol)
                if why:
                    res.update(status="fail", reason=f"{s} output {k}: {why}")
                    break
            if res["status"] != "pass":
                break
    res["seconds"] = round(time.time() - t0, 3)
    return res


def short(reason, n=150):
    reason = reason.replace("|", "\\|").replace("\n", " ")
    reason = re.sub(r"/\S*/(model\.onnx|input_\d+\.pb)", r"\1", reason)
    return reason if len(reason) <= n else reason[:n - 1] + "…"


def write_table(path, results, wall):
    by_op = {}
    for r in results:
        by_op.setdefault(r["op"], []).append(r)
    counts = {k: sum(r["status"] == k for r in results) for k in ("pass", "fail", "unsupported", "crash")}
    L = ["# ONNX operator support in dlc", "",
         "Generated by `scripts/onnx-conformance.sh` (tests/conformance/run_onnx_node_tests.py) from",
         "the ONNX backend node tests that Debian's `libonnx-testdata` (ONNX 1.12) installs; do not",
         "edit by hand. Outputs are compared as ONNX's backend test does: rtol 1e-3, atol 1e-7, NaN",
         "equals NaN, shapes and element types must match.", "",
         f"**{counts['pass']} of {len(results)} node tests pass**; {counts['fail']} fail, "
         f"{counts['unsupported']} are unsupported, {counts['crash']} crash "
         f"(suite wall time {wall:.0f} s).", "",
         "| op | pass | tests | not passing (reason) |", "|---|---|---|---|"]
    for op in sorted(by_op, key=str.lower):
        rs = sorted(by_op[op], key=lambda r: r["test"])
        ok = sum(r["status"] == "pass" for r in rs)
        notes = "<br>".join(f"`{r['test']}`: {r['status']}: {short(r['reason'])}"
                            for r in rs if r["status"] != "pass")
        L.append(f"| {op} | {ok} | {len(rs)} | {notes} |")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    ap = argparse.ArgumentParser(description="run the ONNX node tests through dlc")
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-k", dest="pattern", help="only tests whose name contains this")
    ap.add_argument("--timeout", type=float, default=120)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-7)
    ap.add_argument("--table", help="write the support table (markdown) here")
    ap.add_argument("--json", help="write every test's result here")
    ap.add_argument("--expected-out", help="write the list of passing tests here")
    ap.add_argument("--check", help="fail if a test listed in this file does not pass")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every test's result")
    a = ap.parse_args()
    if not os.path.isdir(a.data):
        sys.exit(f"no ONNX node test data at {a.data} (apt-get install libonnx-testdata)")
    tests = sorted(t for t in os.listdir(a.data) if t.startswith("test_")
                   and os.path.exists(os.path.join(a.data, t, "model.onnx")))
    if a.pattern:
        tests = [t for t in tests if a.pattern in t]
    t0 = time.time()
    with cf.ThreadPoolExecutor(a.jobs) as ex:
        results = list(ex.map(lambda t: run_test(a.dlc, a.data, t, a.timeout, a.rtol, a.atol), tests))
    wall = time.time() - t0
    counts = {k: sum(r["status"] == k for r in results) for k in ("pass", "fail", "unsupported", "crash")}
    for r in results:
        if a.verbose or r["status"] == "crash":
            print(f"{r['status']:11} {r['test']}: {r['reason']}")
    if a.table:
        write_table(a.table, results, wall)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    if a.expected_out:
        with open(a.expected_out, "w") as f:
            f.write("".join(r["test"] + "\n" for r in results if r["status"] == "pass"))
    rc = 0
    if a.check:
        with open(a.check) as f:
            want = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        status = {r["test"]: r for r in results}
        missing = [t for t in want if t not in status and not a.pattern]
        lost = [status[t] for t in want if t in status and status[t]["status"] != "pass"]
        for t in missing:
            print(f"expected to pass, but not found: {t}")
        for r in lost:
            print(f"expected to pass, now {r['status']}: {r['test']}: {r['reason']}")
        if missing or lost or counts["crash"]:
            rc = 1
    print(f"onnx node tests: {counts['pass']} pass, {counts['fail']} fail, "
          f"{counts['unsupported']} unsupported, {counts['crash']} crash, of {len(results)} "
          f"in {wall:.0f} s")
    return rc


if __name__ == "__main__":
    sys.exit(main())
