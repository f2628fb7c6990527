#!/usr/bin/python3
"""Runs one pass test: a text file holding input IR, the pipeline, and the expected IR.

    run_pass_test.py --dlc build/dlc tests/passes/fold_shape_chain.test
    run_pass_test.py --dlc build/dlc --update tests/passes/*.test   # rewrite the expectations

File format (IR text uses '#' for comments, so the directives are comments too):

    # RUN: --pipeline infer-shapes,fold-constants      arguments for `dlc opt INPUT`
    # Free text saying what the test shows.
    graph @main opset 13 { ... }                      the input (graph or loop IR)
    # EXPECT:
    graph @main opset 13 { ... }                      exactly what `dlc opt` prints

or, for a pipeline that must fail, instead of the EXPECT section:

    # EXPECT-ERROR: text that the one-line error must contain

The expected IR is compared byte for byte (after stripping trailing white space) and is then
parsed back by `dlc opt` itself, so every expectation is also a round-trip test.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile


def parse(path):
    with open(path) as f:
        lines = f.read().split("\n")
    args, inp, exp, err, cur = None, [], None, None, "in"
    for line in lines:
        s = line.strip()
        if s.startswith("# RUN:"):
            args = shlex.split(s[len("# RUN:"):])
        elif s.startswith("# EXPECT-ERROR:"):
            err = s[len("# EXPECT-ERROR:"):].strip()
            cur = "done"
        elif s == "# EXPECT:":
            exp, cur = [], "exp"
        elif cur == "in":
            inp.append(line)
        elif cur == "exp":
            exp.append(line)
    if args is None:
        raise SystemExit(f"{path}: no '# RUN:' line")
    if (exp is None) == (err is None):
        raise SystemExit(f"{path}: needs exactly one of '# EXPECT:' and '# EXPECT-ERROR:'")
    return args, "\n".join(inp).rstrip() + "\n", None if exp is None else "\n".join(exp).rstrip() + "\n", err


def run_dlc(dlc, args, text, suffix):
    with tempfile.NamedTemporaryFile("w", suffix=suffix, delete=False) as t:
        t.write(text)
    try:
        return subprocess.run([dlc, "opt", t.name] + args, capture_output=True, text=True)
    finally:
        os.unlink(t.name)


def check(dlc, path, update):
    args, inp, exp, err = parse(path)
    p = run_dlc(dlc, args, inp, ".dlc")
    name = os.path.basename(path)
    if err is not None:
        lines = p.stderr.strip().split("\n")
        if p.returncode == 0:
            return f"{name}: expected an error containing '{err}', but dlc succeeded:\n{p.stdout}"
        if p.returncode < 0 or len(lines) != 1 or err not in lines[0]:
            return f"{name}: expected one error line containing '{err}', got (status {p.returncode}):\n{p.stderr}"
        return None
    if p.returncode != 0:
        return f"{name}: dlc opt failed (status {p.returncode}):\n{p.stderr}"
    got = p.stdout.rstrip() + "\n"
    if update:
        with open(path) as f:
            text = f.read()
        head = text[:text.index("# EXPECT:\n") + len("# EXPECT:\n")]
        with open(path, "w") as f:
            f.write(head + got)
        return None
    if got != exp:
        import difflib
        diff = "".join(difflib.unified_diff(exp.splitlines(True), got.splitlines(True),
                                            "expected", "dlc opt"))
        return f"{name}: output differs from the expectation:\n{diff}"
    # The expectation must itself be valid IR that prints back unchanged.
    q = run_dlc(dlc, [], exp, ".dlc")
    if q.returncode != 0 or q.stdout.rstrip() + "\n" != exp:
        return f"{name}: the expected IR does not parse and print back unchanged:\n{q.stderr}"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dlc", required=True)
    ap.add_argument("--update", action="store_true", help="rewrite EXPECT sections from dlc's output")
    ap.add_argument("tests", nargs="+")
    a = ap.parse_args()
    bad = [m for m in (check(a.dlc, t, a.update) for t in a.tests) if m]
    for m in bad:
        print(m, file=sys.stderr)
    print(f"{len(a.tests) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
