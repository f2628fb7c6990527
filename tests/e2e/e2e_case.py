#!/usr/bin/python3
"""Run one end-to-end test step (called by ctest, see tests/e2e.cmake).

    e2e_case.py check --dlc DLC CASE_DIR [--threads N] [--target T] [--check-report]
        run `DLC run CASE_DIR/model.onnx -i input_<i>.npy... -o CASE_DIR/dlc` and compare its
        outputs with CASE_DIR/ref (written by ort_refs.mjs), tolerances from meta.json.
        --check-report (target asic): also write --report/--trace and check that the report
        has the required keys (total, arch, one layer per ONNX node) and that the trace is
        Chrome trace JSON with one track per engine.
    e2e_case.py selfcheck ROOT
        oracle self-check: for every case of ROOT that has both an ONNX Runtime reference and a
        numpy one, they must agree (validates the models, the .npy I/O and compare.py).
    e2e_case.py error --dlc DLC --expect TEXT MODEL [INPUT...]
        `DLC run MODEL` must fail cleanly: non-zero exit (not a signal), exactly one line on
        stderr starting with "dlc: error:" and containing TEXT, and no sanitizer report.

Exit 0 when the step passes, 1 with the reason on stderr when it does not.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compare  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_RTOL, DEFAULT_ATOL = 1e-3, 1e-4
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer", "Segmentation fault", "core dumped")


def fail(msg):
    print(f"e2e: {msg}", file=sys.stderr)
    return 1


def load_meta(case):
    with open(os.path.join(case, "meta.json")) as f:
        return json.load(f)


def tolerances(meta):
    rtol = meta.get("rtol")
    atol = meta.get("atol")
    return (DEFAULT_RTOL if rtol is None else rtol), (DEFAULT_ATOL if atol is None else atol)


def compare_dirs(ref, out, rtol, atol):
    n_ref, n_out = compare.list_outputs(ref), compare.list_outputs(out)
    if n_ref == 0:
        return [f"no reference outputs in {ref}"]
    if n_ref != n_out:
        return [f"{n_out} outputs in {out}, expected {n_ref}"]
    msgs = []
    for k in range(n_ref):
        m = compare.compare_one(k, compare.load(os.path.join(ref, f"output_{k}.npy")),
                                compare.load(os.path.join(out, f"output_{k}.npy")), rtol, atol)
        if m:
            msgs.append(m)
    return msgs


def sanitizer_report(text):
    return next((m for m in SANITIZER_MARKS if m in text), None)


def cmd_check(a):
    case = os.path.abspath(a.case)
    meta = load_meta(case)
    ref = os.path.join(case, "ref")
    if os.path.exists(os.path.join(ref, "ERROR")):
        with open(os.path.join(ref, "ERROR")) as f:
            return fail(f"reference run failed: {f.read().strip()}")
    if not os.path.exists(os.path.join(ref, "DONE")):
        return fail(f"no reference outputs in {ref} (the e2e reference fixture did not run)")
    out = os.path.join(case, a.out)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    cmd = [a.dlc, "run", os.path.join(case, "model.onnx")]
    for i in range(meta["n_inputs"]):
        cmd += ["-i", os.path.join(case, f"input_{i}.npy")]
    cmd += ["-o", out]
    if a.threads:
        cmd += ["--threads", str(a.threads)]
    if a.opt_level is not None:
        cmd += [f"-O{a.opt_level}"]
    if a.pipeline:
        cmd += ["--pipeline", a.pipeline]
    if a.tile_sizes:
        cmd += ["--tile-sizes", a.tile_sizes]
    if a.register_tile:
        cmd += ["--register-tile", a.register_tile]
    if a.target:
        cmd += ["--target", a.target]
    report, trace = os.path.join(out, "report.json"), os.path.join(out, "trace.json")
    if a.check_report:
        cmd += ["--report", report, "--trace", trace]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       errors="replace")
    if p.returncode != 0:
        how = f"signal {-p.returncode}" if p.returncode < 0 else f"status {p.returncode}"
        return fail(f"dlc exited with {how}: {' '.join(cmd)}\n{p.stderr.strip()[-4000:]}")
    rep = sanitizer_report(p.stderr)
    if rep:
        return fail(f"sanitizer report ({rep}) from: {' '.join(cmd)}\n{p.stderr[-4000:]}")
    rtol, atol = tolerances(meta)
    msgs = compare_dirs(ref, out, rtol, atol)
    if msgs:
        return fail("dlc outputs differ from the reference "
                    f"({meta.get('ref', 'ort')}):\n  " + "\n  ".join(msgs))
    if a.check_report:
        msg = check_report(report, trace, p.stdout)
        if msg:
            return fail(msg)
    print(f"e2e: {os.path.basename(case)}: {meta['n_outputs']} output(s) match "
          f"(rtol {rtol} atol {atol})" + (f" on target {a.target}" if a.target else ""))
    return 0


REPORT_KEYS = {"total": ["cycles", "macs", "dram_bytes", "energy_pj"],
               "arch": ["macs_per_cycle", "dram_bytes_per_cycle"]}
LAYER_KEYS = ["name", "op", "cycles", "macs", "dram_bytes", "energy_pj", "utilisation"]
ENGINES = {"load", "matrix", "vector", "store"}


def check_report(report, trace, stdout):
    """The asic run's JSON report, Chrome trace and terminal table; a message if wrong."""
    try:
        with open(report) as f:
            r = json.load(f)
        with open(trace) as f:
            t = json.load(f)
    except (OSError, ValueError) as e:
        return f"report/trace not readable JSON: {e}"
    for sect, keys in REPORT_KEYS.items():
        for k in keys:
            if not isinstance(r.get(sect, {}).get(k), (int, float)):
                return f"report lacks numeric {sect}.{k}"
    if r["total"]["cycles"] <= 0 or r["total"]["energy_pj"] <= 0:
        return "report: total cycles and energy must be positive"
    layers = r.get("layers")
    if not isinstance(layers, list) or not layers:
        return "report has no layers[]"
    for L in layers:
        for k in LAYER_KEYS:
            if k not in L:
                return f"report layer {L.get('name')} lacks '{k}'"
    if sum(L["macs"] for L in layers) != r["total"]["macs"]:
        return "report: layer MACs do not add up to total.macs"
    ev = t.get("traceEvents")
    if not isinstance(ev, list):
        return "trace has no traceEvents"
    tracks = {e["args"]["name"] for e in ev if e.get("ph") == "M" and e.get("name") == "thread_name"}
    if tracks != ENGINES:
        return f"trace tracks {sorted(tracks)}, expected one per engine {sorted(ENGINES)}"
    slices = [e for e in ev if e.get("ph") == "X"]
    if not slices or any(e["dur"] < 0 for e in slices):
        return "trace has no (valid) command slices"
    if "layer" not in stdout or "total" not in stdout:
        return "no per-layer table on stdout"
    return None


def cmd_selfcheck(a):
    checked, bad = 0, []
    for name in sorted(os.listdir(a.root)):
        case = os.path.join(a.root, name)
        if not os.path.exists(os.path.join(case, "meta.json")):
            continue
        meta = load_meta(case)
        npd, ref = os.path.join(case, "numpy"), os.path.join(case, "ref")
        if meta.get("ref") != "ort" or not os.path.isdir(npd):
            continue
        if not os.path.exists(os.path.join(ref, "DONE")):
            bad.append(f"{name}: no ORT reference")
            continue
        rtol, atol = tolerances(meta)
        msgs = compare_dirs(ref, npd, rtol, atol)
        checked += 1
        bad += [f"{name}: {m}" for m in msgs]
    if checked == 0:
        return fail(f"no case under {a.root} has both references")
    if bad:
        return fail("ONNX Runtime and numpy disagree:\n  " + "\n  ".join(bad))
    print(f"e2e: ONNX Runtime agrees with numpy on {checked} cases")
    return 0


def make_bad_model(a):
    """Writes a.model from --truncate SRC:BYTES (a prefix of SRC) or --random-bytes N."""
    if a.truncate:
        src, _, nbytes = a.truncate.rpartition(":")
        with open(src, "rb") as f:
            data = f.read()
        n = int(nbytes)
        if n >= len(data):
            raise SystemExit(f"e2e: {src} has only {len(data)} bytes, cannot keep {n}")
        data = data[:n]
    elif a.random_bytes is not None:
        data = np.random.default_rng(1234).integers(0, 256, a.random_bytes, dtype=np.uint8).tobytes()
    else:
        return
    os.makedirs(os.path.dirname(os.path.abspath(a.model)), exist_ok=True)
    with open(a.model, "wb") as f:
        f.write(data)


def cmd_error(a):
    make_bad_model(a)
    cmd = [a.dlc, "run", a.model]
    for i in a.inputs:
        cmd += ["-i", i]
    out = a.outdir or (os.path.splitext(os.path.abspath(a.model))[0] + ".out")
    cmd += ["-o", out]
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=120)
    except subprocess.TimeoutExpired:
        return fail(f"dlc did not finish within 120 s: {' '.join(cmd)}")
    err = p.stderr
    if p.returncode == 0:
        return fail(f"dlc succeeded on bad input, expected an error: {' '.join(cmd)}")
    if p.returncode < 0 or p.returncode >= 128:
        return fail(f"dlc died (status {p.returncode}) instead of reporting an error\n{err[-4000:]}")
    rep = sanitizer_report(err)
    if rep:
        return fail(f"sanitizer report ({rep}):\n{err[-4000:]}")
    lines = err.splitlines()
    if len(lines) != 1:
        return fail(f"expected exactly one line on stderr, got {len(lines)}:\n{err[-4000:]}")
    if not lines[0].startswith("dlc: error: "):
        return fail(f"stderr line does not start with 'dlc: error: ': {lines[0]}")
    if a.expect and a.expect not in lines[0]:
        return fail(f"error line does not mention '{a.expect}': {lines[0]}")
    print(f"e2e: clean error: {lines[0]}")
    return 0


def cmd_listsync(a):
    # The ctest registration (tests/e2e.cmake) lists the cases statically; it must match what
    # the generator produces, or cases would silently go untested.
    p = subprocess.run([sys.executable, a.generator, "--list"], stdout=subprocess.PIPE, text=True)
    if p.returncode != 0:
        return fail(f"{a.generator} --list failed")
    gen = p.stdout.split()
    with open(a.listfile) as f:
        reg = f.read().split()
    missing, extra = sorted(set(gen) - set(reg)), sorted(set(reg) - set(gen))
    if missing or extra:
        return fail(f"tests/e2e.cmake is out of date with {os.path.basename(a.generator)}: "
                    f"not registered {missing}, registered but not generated {extra}")
    print(f"e2e: {len(gen)} cases registered")
    return 0


def main(argv):
    ap = argparse.ArgumentParser(description="one dlc end-to-end test step")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("--dlc", required=True)
    c.add_argument("--threads", type=int, default=0)
    c.add_argument("--out", default="dlc", help="output folder name inside CASE_DIR")
    c.add_argument("--pipeline", help="passed to dlc run (e.g. the default one plus a loop pass)")
    c.add_argument("--tile-sizes", help="passed to dlc run (isl-tile)")
    c.add_argument("--register-tile", help="passed to dlc run (isl-tile)")
    c.add_argument("--target", help="passed to dlc run (e.g. asic)")
    c.add_argument("--opt-level", type=int, choices=range(4), help="passed to dlc run as -O<N>")
    c.add_argument("--check-report", action="store_true",
                   help="target asic: also check --report and --trace outputs")
    c.add_argument("case")
    s = sub.add_parser("selfcheck")
    s.add_argument("root")
    e = sub.add_parser("error")
    e.add_argument("--dlc", required=True)
    e.add_argument("--expect", default="")
    e.add_argument("--outdir")
    e.add_argument("--truncate", metavar="SRC:BYTES", help="first write MODEL as a prefix of SRC")
    e.add_argument("--random-bytes", type=int, metavar="N", help="first write MODEL as N random bytes")
    e.add_argument("model")
    e.add_argument("inputs", nargs="*")
    ls = sub.add_parser("listsync")
    ls.add_argument("generator")
    ls.add_argument("listfile")
    a = ap.parse_args(argv)
    return {"check": cmd_check, "selfcheck": cmd_selfcheck, "error": cmd_error,
            "listsync": cmd_listsync}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
