#!/usr/bin/python3
"""`dlc sim` through the driver (called by ctest, see tests/asic.cmake).

    cli_sim.py --dlc DLC --gen DLC_ASIC_GEN --work DIR

Generates hand-assembled programs with dlc_asic_gen, then checks: --help; --disasm output;
running a GEMM and a ReLU+add program with -i/-o against the C reference outputs; the JSON
report's required keys; the Chrome trace; --arch; and clean one-line errors for a corrupt
file and a bad arch file.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    check(not any(m in r.stderr for m in SANITIZER_MARKS), f"{cmd}: sanitizer report: {r.stderr[-3000:]}")
    return r


def check(cond, msg):
    if not cond:
        print(f"asic_sim: FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


def expect_error(dlc, args, needle):
    r = run([dlc] + args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 1, f"{args}: exit {r.returncode}, want 1; stderr {r.stderr[-2000:]}")
    check(len(lines) == 1 and lines[0].startswith("dlc: error:"), f"{args}: want one error line, got {lines}")
    check(needle in lines[0], f"{args}: '{needle}' not in '{lines[0]}'")
    print(f"ok   {lines[0]}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("--work", required=True)
    a = ap.parse_args()
    w = a.work
    os.makedirs(w, exist_ok=True)
    r = run([a.gen, w, "128", "96", "64"])
    check(r.returncode == 0, f"generator failed: {r.stderr}")

    r = run([a.dlc, "sim", "--help"])
    check(r.returncode == 0 and "usage: dlc sim" in r.stdout and "--disasm" in r.stdout, "sim --help")
    r = run([a.dlc, "--help"])
    check("sim " in r.stdout, "dlc --help lists sim")

    # Disassembly: header, io table, one numbered line per command.
    r = run([a.dlc, "sim", "--disasm", f"{w}/relu_add.dlcx"])
    check(r.returncode == 0, f"--disasm: {r.stderr}")
    out = r.stdout
    for needle in ("; input  'x' f32[100] at dram[0x0]", "; output 'out' f32[100]",
                   "    2  vector  vec.max acc[8192 s=1,0] <- acc[0 s=1,0], 0 n 1x100 wait(load)  ; relu",
                   "    4  store   dma.store dram[0x320 s=400,0] <- acc[8192 s=100,0] block 1x1x100 wait(vector)  ; add"):
        check(needle in out, f"disasm lacks {needle!r}:\n{out}")
    cmd_lines = [l for l in out.splitlines() if not l.startswith(";")]
    check(len(cmd_lines) == 5, f"want 5 command lines, got {cmd_lines}")
    r = run([a.dlc, "sim", "--disasm", f"{w}/gemm.dlcx"])
    check(r.returncode == 0 and "mat.gemm acc[" in r.stdout and "mat.loadw weight[" in r.stdout, "gemm disasm")
    print("ok   disasm")

    # Run the GEMM with inputs, outputs, report and trace.
    rep, tr, od = f"{w}/report.json", f"{w}/trace.json", f"{w}/out"
    r = run([a.dlc, "sim", f"{w}/gemm.dlcx", "-i", f"{w}/a.npy", "-i", f"{w}/b.npy", "-o", od,
             "--report", rep, "--trace", tr])
    check(r.returncode == 0, f"sim gemm: {r.stderr}")
    check("model estimates" in r.stdout and "gemm" in r.stdout, f"table: {r.stdout}")
    c = np.load(f"{od}/output_0.npy")
    ref = np.load(f"{w}/c_ref.npy")
    check(c.shape == ref.shape and np.allclose(c, ref, rtol=1e-4, atol=1e-5), "gemm output differs from C reference")
    j = json.load(open(rep))
    for sec, key in (("total", "cycles"), ("total", "macs"), ("total", "dram_bytes"), ("total", "energy_pj"),
                     ("arch", "macs_per_cycle"), ("arch", "dram_bytes_per_cycle")):
        check(isinstance(j[sec][key], (int, float)) and j[sec][key] > 0, f"report {sec}.{key} = {j[sec].get(key)}")
    check(j["total"]["macs"] == 128 * 96 * 64, "total.macs")
    check("estimates" in j and "model" in j["estimates"], "report says figures are estimates")
    L = j["layers"]
    check(len(L) == 1 and L[0]["name"] == "gemm", f"layers {L}")
    for key in ("cycles", "macs", "dram_bytes", "energy_pj", "utilisation"):
        check(key in L[0], f"layers[0].{key}")
    t = json.load(open(tr))
    tids = {e["tid"] for e in t["traceEvents"] if e["ph"] == "X"}
    names = {e["args"]["name"] for e in t["traceEvents"] if e.get("name") == "thread_name"}
    check(names == {"load", "matrix", "vector", "store"} and tids == {0, 1, 3}, f"trace tracks {names} {tids}")
    print(f"ok   gemm: {j['total']['cycles']} cycles, bound {j['total']['bound_cycles']:.0f}")

    # ReLU + add on the vector unit, with an --arch that changes timing only.
    arch = json.loads(run([a.dlc, "sim", "--print-arch"]).stdout)
    arch["vector"]["lanes"] = 8
    with open(f"{w}/arch8.json", "w") as f:
        json.dump(arch, f)
    r = run([a.dlc, "sim", f"{w}/relu_add.dlcx", "-i", f"{w}/x.npy", "-i", f"{w}/y.npy", "-o", od,
             "--arch", f"{w}/arch8.json", "--report", rep, "--quiet"])
    check(r.returncode == 0 and r.stdout == "", f"sim relu_add: {r.stderr} {r.stdout}")
    check(np.array_equal(np.load(f"{od}/output_0.npy"), np.load(f"{w}/out_ref.npy")), "relu_add output")
    j = json.load(open(rep))
    check(j["engines"][2]["busy_cycles"] == 2 * 13, f"8 lanes: {j['engines'][2]}")
    print("ok   relu_add")

    # Errors: one line each.
    data = open(f"{w}/relu_add.dlcx", "rb").read()
    open(f"{w}/trunc.dlcx", "wb").write(data[:len(data) // 2])
    expect_error(a.dlc, ["sim", f"{w}/trunc.dlcx"], "truncated")
    open(f"{w}/magic.dlcx", "wb").write(b"NOPE" + data[4:])
    expect_error(a.dlc, ["sim", "--disasm", f"{w}/magic.dlcx"], "bad magic")
    arch["matrix"]["rows"] = 16
    with open(f"{w}/arch16.json", "w") as f:
        json.dump(arch, f)
    expect_error(a.dlc, ["sim", f"{w}/relu_add.dlcx", "--arch", f"{w}/arch16.json"],
                 "the program was compiled for 32x32 fp32")
    with open(f"{w}/archbad.json", "w") as f:
        f.write('{"dram": {"latency": -5}}')
    expect_error(a.dlc, ["sim", f"{w}/relu_add.dlcx", "--arch", f"{w}/archbad.json"], "key 'dram.latency'")
    expect_error(a.dlc, ["sim", f"{w}/relu_add.dlcx", "-i", f"{w}/x.npy"], "takes 2 inputs, 1 given")
    expect_error(a.dlc, ["sim", f"{w}/relu_add.dlcx", "-i", f"{w}/a.npy", "-i", f"{w}/y.npy"],
                 "input 'x': expected f32[100], got f32[128,96]")
    print("asic_sim: all ok")


if __name__ == "__main__":
    main()
