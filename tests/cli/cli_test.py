#!/usr/bin/python3
"""Driver-level tests of `dlc` (called by ctest, see tests/cli.cmake).

    cli_test.py CASE --dlc DLC --work DIR [--cc CC --cflags ... --libs ...]

Cases:
  bad_models   malformed models (negative / huge dims, missing initializer, symbolic dims,
               undefined output) fail with one "dlc: error:" line naming the problem
  help         every command answers --help with its usage and exit status 0
  ir_dump      --print-ir-after-all shows graph IR and loop IR after every pass, and each dump
               parses back through `dlc opt` to the identical text; --time-passes times them
  aot          `dlc compile -o model.o` + model.h linked into a C program gives the same
               outputs as `dlc run`; an object optimised in parts defines only its entry
"""
import argparse
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "UndefinedBehaviorSanitizer")
HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def check(cond, msg):
    if not cond:
        print(f"cli: FAIL: {msg}", file=sys.stderr)
        sys.exit(1)


def expect_error(dlc, args, needle):
    r = run([dlc] + args)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    check(r.returncode == 1, f"{args}: exit {r.returncode}, want 1; stderr: {r.stderr[-2000:]}")
    check(not any(m in r.stderr for m in SANITIZER_MARKS), f"{args}: sanitizer report: {r.stderr[-3000:]}")
    check(len(lines) == 1 and lines[0].startswith("dlc: error:"), f"{args}: want one error line, got {lines}")
    check(needle in lines[0], f"{args}: '{needle}' not in '{lines[0]}'")
    print(f"ok   {needle!r:40} <- {lines[0]}")


def save(model, path):
    onnx.save(model, path)
    return path


def tiny_model(inputs, nodes, outputs, inits=(), opset=13):
    g = helper.make_graph(nodes, "t", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def case_bad_models(a):
    w = a.work
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])
    relu = helper.make_node("Relu", ["x"], ["y"], name="r")

    neg = tiny_model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, -3])], [relu], [y])
    expect_error(a.dlc, ["run", save(neg, f"{w}/negdim.onnx")], "negdim.onnx")

    # An initializer that claims 2^45 elements (and holds none): must not try to allocate.
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 15, 1 << 15, 1 << 15])
    m = tiny_model([x], [helper.make_node("Add", ["x", "w"], ["y"], name="add")], [y], [huge])
    expect_error(a.dlc, ["run", save(m, f"{w}/hugedim.onnx")], "hugedim.onnx")

    # An initializer whose data does not match its dims.
    short = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 3], float_data=[1.0, 2.0])
    m = tiny_model([x], [helper.make_node("Add", ["x", "w"], ["y"], name="add")], [y], [short])
    expect_error(a.dlc, ["run", save(m, f"{w}/shortdata.onnx")], "'w'")

    # A node input nothing defines (a missing initializer).
    m = tiny_model([x], [helper.make_node("Add", ["x", "bias"], ["y"], name="add_bias")], [y])
    expect_error(a.dlc, ["run", save(m, f"{w}/missing_init.onnx")], "bias")

    # Shapes that do not fit an op.
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [4, 5])
    m = tiny_model([x, z], [helper.make_node("MatMul", ["x", "z"], ["y"], name="mm")], [y])
    expect_error(a.dlc, ["run", save(m, f"{w}/mismatch.onnx")], "mm")

    # A symbolic dimension: an error that names it, unless pinned with --shape.
    sym = tiny_model([helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])], [relu],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])])
    p = save(sym, f"{w}/symbolic.onnx")
    expect_error(a.dlc, ["run", p], "batch")
    r = run([a.dlc, "run", p, "--shape", "x=4x3", "-o", f"{w}/sym_out"])
    check(r.returncode == 0, f"--shape x=4x3 should run: {r.stderr}")
    out = np.load(f"{w}/sym_out/output_0.npy")
    check(out.shape == (4, 3) and (out >= 0).all(), f"symbolic output {out.shape}")
    expect_error(a.dlc, ["run", p, "--shape", "nosuch=4x3"], "nosuch")
    expect_error(a.dlc, ["run", p, "--shape", "x=4xq"], "--shape")

    # Options and files that make no sense.
    expect_error(a.dlc, ["run", p, "--threads", "-2"], "--threads")
    expect_error(a.dlc, ["run", p, "--target", "tpu9000"], "tpu9000")
    expect_error(a.dlc, ["compile", p, "--emit", "pdf"], "pdf")
    expect_error(a.dlc, ["run", p, "--frobnicate"], "--frobnicate")
    expect_error(a.dlc, ["frobnicate"], "frobnicate")
    expect_error(a.dlc, ["run", p, "--plugin", f"{w}/nosuch.so"], "nosuch.so")


def case_bind(a):
    """An input whose value decides a shape: dlc compile asks for --bind, dlc run binds it
    from its -i file (and says so), and the result is the reshaped input."""
    w = a.work
    m = tiny_model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 6]),
                    helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                   [helper.make_node("Reshape", ["x", "shape"], ["y"], name="rs"),
                    helper.make_node("Neg", ["y"], ["z"], name="neg")],
                   [helper.make_tensor_value_info("z", TensorProto.FLOAT, None)])
    p = save(m, f"{w}/reshape_input.onnx")
    x = np.arange(12, dtype=np.float32).reshape(2, 6)
    np.save(f"{w}/x.npy", x)
    for shape in ([3, 4], [4, -1], [12, 1]):
        np.save(f"{w}/shape.npy", np.array(shape, dtype=np.int64))
        r = run([a.dlc, "run", p, "-i", f"{w}/x.npy", "-i", f"{w}/shape.npy", "-o", f"{w}/out", "--quiet"])
        check(r.returncode == 0, f"run with shape {shape}: {r.stderr}")
        check("compiling for the value of input 'shape'" in r.stderr, f"no note in: {r.stderr}")
        got = np.load(f"{w}/out/output_0.npy")
        check(np.array_equal(got, -x.reshape(shape)), f"shape {shape}: got {got.shape}")
    expect_error(a.dlc, ["compile", p, "--emit", "loop"], "--bind shape=FILE")
    r = run([a.dlc, "compile", p, "--emit", "graph", "--bind", f"shape={w}/shape.npy"])
    check(r.returncode == 0 and "shape = [12, 1]" in r.stdout, f"--bind: {r.stdout} {r.stderr}")
    np.save(f"{w}/bad_shape.npy", np.array([3, 4], dtype=np.int32))
    expect_error(a.dlc, ["compile", p, "--bind", f"shape={w}/bad_shape.npy"], "'shape'")
    expect_error(a.dlc, ["compile", p, "--bind", f"nosuch={w}/shape.npy"], "nosuch")
    print("ok   shape-deciding input bound by dlc run (3 shapes) and by --bind")


def case_help(a):
    for cmd in ("run", "compile", "inspect", "opt"):
        r = run([a.dlc, cmd, "--help"])
        check(r.returncode == 0 and r.stdout.startswith(f"usage: dlc {cmd}"), f"{cmd} --help: {r.stdout[:200]} {r.stderr}")
    r = run([a.dlc, "--help"])
    check(r.returncode == 0 and "commands:" in r.stdout, "dlc --help")
    r = run([a.dlc, "--passes"])
    for p in ("infer-shapes", "fold-constants", "dce", "lower"):
        check(p in r.stdout, f"--passes lacks {p}")
    r = run([a.dlc, "--targets"])
    check(r.stdout.startswith("cpu"), f"--targets: {r.stdout}")
    print("ok   --help of every command, --passes, --targets")


def demo_model(a):
    d = os.path.join(a.work, "demo")
    r = run(["/usr/bin/python3", os.path.join(SRC, "examples", "make_demo_model.py"), d])
    check(r.returncode == 0, f"make_demo_model: {r.stderr}")
    return os.path.join(d, "cnn.onnx"), os.path.join(d, "input_0.npy")


def case_ir_dump(a):
    model, _ = demo_model(a)
    r = run([a.dlc, "compile", model, "--print-ir-after-all", "--emit", "loop", "-o", os.devnull])
    check(r.returncode == 0, f"compile: {r.stderr[-2000:]}")
    sections = re.split(r"^# ----- IR after (\S+) -----\n", r.stderr, flags=re.M)[1:]
    passes = sections[0::2]
    # the default graph passes, the CPU's own graph passes (explicit-pad), lower, loop passes
    check(passes[:4] == ["infer-shapes", "fold-constants", "dce", "check-static"] and
          "lower" in passes and passes.index("explicit-pad") < passes.index("lower") and
          passes.index("plan-memory") > passes.index("lower"), f"passes printed: {passes}")
    for name, text in zip(sections[0::2], sections[1::2]):
        kind = "graph" if text.lstrip().startswith("graph") else "loop"
        check(kind == ("loop" if passes.index(name) >= passes.index("lower") else "graph"),
              f"{name} printed {kind} IR")
        back = run([a.dlc, "opt", "-"], input=text)
        check(back.returncode == 0, f"after {name}: dlc opt failed: {back.stderr}")
        check(back.stdout.strip() == text.strip(), f"after {name}: {kind} IR does not print back identically")
        print(f"ok   IR after {name:15} ({kind}, {len(text.splitlines())} lines) parses back identically")
    # Constants printed in full parse back too, and the result still runs the same.
    full = run([a.dlc, "compile", model, "--emit", "loop", "--print-constants"])
    check(full.returncode == 0 and "elided" not in full.stdout, "--print-constants")
    back = run([a.dlc, "opt", "-", "--print-constants"], input=full.stdout)
    check(back.stdout == full.stdout, "full-constant loop IR does not print back identically")
    print("ok   loop IR with all constants printed parses back identically")
    # --time-passes: the import, one line per pass that ran, in the order they ran, and (for
    # an object) the CPU backend's phases after them
    t = run([a.dlc, "compile", model, "--time-passes", "--emit", "loop", "-o", os.devnull])
    timed = re.findall(r"^# time: (\S+) +([0-9.]+) ms$", t.stderr, flags=re.M)
    check(t.returncode == 0 and [n for n, _ in timed] == ["onnx-import"] + passes,
          f"--time-passes lists {[n for n, _ in timed]}, the passes that ran were {passes}")
    obj = os.path.join(a.work, "timed.o")
    t = run([a.dlc, "compile", model, "--time-passes", "-o", obj])
    timed = [n for n, _ in re.findall(r"^# time: (\S+) +([0-9.]+) ms$", t.stderr, flags=re.M)]
    backend = ["llvm-codegen", "llvm-optimize", "llvm-emit-obj"]
    check(t.returncode == 0 and timed[-3:] == backend and timed[0] == "onnx-import",
          f"--time-passes for an object lists {timed}, want onnx-import first and {backend} last")
    print(f"ok   --time-passes times the import, the {len(passes)} passes that ran and the backend's phases")


def case_aot(a):
    model, inp = demo_model(a)
    w = a.work
    obj = os.path.join(w, "cnn.o")
    r = run([a.dlc, "compile", model, "-o", obj, "--entry", "cnn_model"])
    check(r.returncode == 0, f"compile: {r.stderr}")
    hdr = os.path.join(w, "cnn.h")
    check(os.path.exists(hdr), "no header next to the object")
    exe = os.path.join(w, "aot_main")
    cmd = [a.cc] + a.cflags.split() + ["-I", w, "-I", SRC, os.path.join(HERE, "aot_main.c"), obj] + a.libs.split() + ["-o", exe]
    r = run(cmd)
    check(r.returncode == 0, f"link: {' '.join(cmd)}\n{r.stderr}")
    r = run([exe, inp, os.path.join(w, "aot_out.npy")])
    check(r.returncode == 0, f"aot program: {r.stdout} {r.stderr}")
    r = run([a.dlc, "run", model, "-i", inp, "-o", os.path.join(w, "jit_out")])
    check(r.returncode == 0, f"dlc run: {r.stderr}")
    aot = np.load(os.path.join(w, "aot_out.npy"))
    jit = np.load(os.path.join(w, "jit_out", "output_0.npy"))
    check(aot.shape == jit.shape and np.array_equal(aot, jit), f"AOT {aot} != JIT {jit}")
    check(abs(float(aot.sum()) - 1.0) < 1e-4, f"softmax output does not sum to 1: {aot}")
    print(f"ok   AOT object linked into a C program matches dlc run exactly: {aot.ravel()[:4]}...")
    # A module large enough for the CPU backend to optimise it in parts (18 conv layers:
    # above 20000 instructions), whose shared symbols are made external for the split: the
    # object must still define only its entry point, so that two models link into one program.
    r = np.random.default_rng(0)
    nodes, inits, prev = [], [], "x"
    for i in range(18):
        inits.append(numpy_helper.from_array((r.standard_normal((16, 16, 3, 3)) * 0.1).astype(np.float32), f"w{i}"))
        nodes += [helper.make_node("Conv", [prev, f"w{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"y{i}"])]
        prev = f"y{i}"
    big = save(tiny_model([helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 8, 8])], nodes,
                          [helper.make_tensor_value_info(prev, TensorProto.FLOAT, [1, 16, 8, 8])], inits),
               os.path.join(w, "chain.onnx"))
    bobj = os.path.join(w, "chain.o")
    r = run([a.dlc, "compile", big, "-o", bobj, "--entry", "chain_model"])
    check(r.returncode == 0, f"compile chain: {r.stderr}")
    nm = run(["nm", "-g", "--defined-only", bobj])
    check(nm.returncode == 0, f"nm: {nm.stderr}")
    syms = sorted(line.split()[-1] for line in nm.stdout.splitlines() if line.strip())
    check(syms == ["chain_model"], f"the object defines global symbols {syms}, expected only chain_model")
    print("ok   a module optimised in parts defines only its entry point")


def case_plugin(a):
    """The example C backend, loaded as a plug-in, turns the demo CNN into C that a plain C
    compiler builds; the program's outputs match `dlc run` (same loops, other compiler)."""
    model, x = demo_model(a)
    w = a.work
    r = run([a.dlc, "--targets", "--plugin", a.plugin_lib])
    check(r.returncode == 0 and "\nc " in "\n" + r.stdout, f"--targets with the plug-in: {r.stdout} {r.stderr}")
    r = run([a.dlc, "compile", model, "--plugin", a.plugin_lib, "--target", "c", "--emit", "c",
             "-o", f"{w}/cnn.c"])
    check(r.returncode == 0, f"compile --target c: {r.stderr}")
    xin = np.load(x).astype(np.float32)
    xin.tofile(f"{w}/x.bin")
    with open(f"{w}/main.c", "w") as f:
        f.write('''#include <stdio.h>
void dlc_model(const float *x, float *y);
int main(int argc, char **argv) {
    static float x[%d], y[10];
    FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
    if (!in || !out || fread(x, sizeof x, 1, in) != 1) return 1;
    dlc_model(x, y);
    return fwrite(y, sizeof y, 1, out) == 1 && fclose(out) == 0 ? 0 : 1;
}
''' % xin.size)
    r = run([a.cc, "-std=c17", "-O1", "-o", f"{w}/cnn_c", f"{w}/main.c", f"{w}/cnn.c", "-lm"])
    check(r.returncode == 0, f"cc on the generated C: {r.stderr[-3000:]}")
    r = run([f"{w}/cnn_c", f"{w}/x.bin", f"{w}/y.bin"])
    check(r.returncode == 0, f"generated program: {r.stderr}")
    got = np.fromfile(f"{w}/y.bin", dtype=np.float32)
    r = run([a.dlc, "run", model, "-i", x, "-o", f"{w}/jit_out", "--quiet"])
    check(r.returncode == 0, f"dlc run: {r.stderr}")
    want = np.load(f"{w}/jit_out/output_0.npy").ravel()
    check(np.allclose(got, want, rtol=1e-4, atol=1e-6), f"C backend {got} != dlc run {want}")
    expect_error(a.dlc, ["compile", model, "--plugin", a.plugin_lib, "--target", "c", "--emit", "obj"], "--emit obj")
    print(f"ok   plug-in C backend: generated C matches dlc run: {got[:3]}...")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--cc", default="cc")
    ap.add_argument("--cflags", default="")
    ap.add_argument("--libs", default="")
    ap.add_argument("--plugin-lib", default="")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    {"bad_models": case_bad_models, "bind": case_bind, "help": case_help, "ir_dump": case_ir_dump, "aot": case_aot,
     "plugin": case_plugin}[a.case](a)


if __name__ == "__main__":
    main()
