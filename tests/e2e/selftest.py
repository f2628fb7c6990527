#!/usr/bin/python3
"""Self-tests of the end-to-end tooling itself (no dlc, no ONNX Runtime needed).

    selftest.py compare        compare.py accepts equal folders and rejects every kind of mismatch
    selftest.py npy WORKDIR    npy.mjs reads what numpy writes and writes what numpy reads back,
                               for every dtype, scalars and empty arrays; rejects bad files
    selftest.py ortrun CASE WORKDIR
                               ort_run.mjs on CASE (a torch model dir) with --threads/--bench
                               matches torch's own outputs (CASE/numpy) and prints the timings
Prints 'N passed, N failed' and exits non-zero on any failure.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL: {what}", file=sys.stderr)


def run_compare(ref, out, rtol=None, atol=None):
    with tempfile.TemporaryDirectory() as d:
        for sub, arrs in (("ref", ref), ("out", out)):
            os.makedirs(os.path.join(d, sub))
            for k, a in enumerate(arrs):
                np.save(os.path.join(d, sub, f"output_{k}.npy"), a)
        args = [os.path.join(d, "ref"), os.path.join(d, "out")]
        if rtol is not None:
            args += ["--rtol", str(rtol)]
        if atol is not None:
            args += ["--atol", str(atol)]
        p = subprocess.run([sys.executable, os.path.join(HERE, "compare.py")] + args,
                           capture_output=True, text=True)
        return p.returncode, p.stderr


def test_compare():
    f = np.array([[1.0, 2.0, np.nan], [np.inf, -np.inf, 0.0]], np.float32)
    check(run_compare([f], [f.copy()])[0] == 0, "identical floats (with NaN, inf) match")
    check(run_compare([f], [f + np.float32(5e-5)])[0] == 0, "within atol matches")
    g = f.copy(); g[0, 1] = 2.01
    rc, err = run_compare([f], [g])
    check(rc == 1 and "(0, 1)" in err and "expected 2.0" in err, f"value mismatch names worst element: {err}")
    check(run_compare([f], [g], rtol=1e-2)[0] == 0, "--rtol loosens")
    g = f.copy(); g[0, 2] = 1.0
    check(run_compare([f], [g])[0] == 1, "NaN vs number differs")
    g = f.copy(); g[1, 0] = -np.inf
    check(run_compare([f], [g])[0] == 1, "inf vs -inf differs")
    g = f.copy(); g[1, 0] = 3e38
    check(run_compare([f], [g])[0] == 1, "inf vs finite differs")
    check(run_compare([f], [f.astype(np.float64)])[0] == 1, "dtype mismatch")
    check(run_compare([f], [f.reshape(3, 2)])[0] == 1, "shape mismatch")
    check(run_compare([f], [f, f])[0] == 1, "output count mismatch")
    check(run_compare([], [])[0] == 1, "no outputs at all is a failure")
    i = np.arange(12, dtype=np.int64).reshape(3, 4)
    check(run_compare([i, f], [i.copy(), f])[0] == 0, "two outputs, ints exact")
    j = i.copy(); j[2, 3] += 1
    rc, err = run_compare([i], [j], rtol=1, atol=10)
    check(rc == 1 and "(2, 3)" in err, f"ints compare exactly whatever the tolerance: {err}")
    b = np.array([True, False, True])
    check(run_compare([b], [b.copy()])[0] == 0, "bools match")
    check(run_compare([b], [~b])[0] == 1, "bools differ")
    h = np.array([1.0, 2.0], np.float16)
    check(run_compare([h], [h + np.float16(0.002)], rtol=2e-3, atol=1e-3)[0] == 0, "float16 with tolerance")
    e = np.zeros((0, 3), np.float32)
    check(run_compare([e], [e.copy()])[0] == 0, "empty tensors match")


def test_npy(work):
    os.makedirs(work, exist_ok=True)
    r = np.random.default_rng(1)
    arrays = {
        "f32": r.standard_normal((2, 3, 4)).astype(np.float32),
        "f64": r.standard_normal((5,)),
        "f16": r.standard_normal((3, 3)).astype(np.float16),
        "i8": r.integers(-128, 128, (7,)).astype(np.int8),
        "i16": r.integers(-30000, 30000, (2, 2)).astype(np.int16),
        "i32": r.integers(-2**31, 2**31, (4,)).astype(np.int32),
        "i64": np.array([-2**63, 2**63 - 1, 0, -1], np.int64),
        "u8": np.arange(256, dtype=np.uint8),
        "u16": np.array([0, 65535, 1234], np.uint16),
        "u32": np.array([0, 2**32 - 1], np.uint32),
        "u64": np.array([0, 2**64 - 1, 2**53 + 1], np.uint64),
        "bool": np.array([[True, False], [False, True]]),
        "scalar": np.array(3.25, np.float32),
        "empty": np.zeros((2, 0, 3), np.int32),
        "long_shape": np.zeros((1,) * 30 + (2,), np.float32),
        "nan_inf": np.array([np.nan, np.inf, -np.inf, -0.0], np.float32),
    }
    for name, a in arrays.items():
        src, dst = os.path.join(work, f"{name}.npy"), os.path.join(work, f"{name}.out.npy")
        np.save(src, a)
        p = subprocess.run(["node", os.path.join(HERE, "npy_roundtrip.mjs"), src, dst],
                           capture_output=True, text=True)
        if p.returncode != 0:
            check(False, f"npy {name}: {p.stderr.strip()}")
            continue
        b = np.load(dst)
        same = b.dtype == a.dtype and b.shape == a.shape and \
            a.tobytes() == b.tobytes()  # bitwise: NaN payloads, -0.0 and f16 bits too
        check(same, f"npy {name}: round trip changed {a.dtype}{a.shape} into {b.dtype}{b.shape}")
        with open(dst, "rb") as fh:
            head = fh.read(10)
        hlen = int.from_bytes(head[8:10], "little")
        check((10 + hlen) % 64 == 0, f"npy {name}: data not 64-byte aligned")
    bad = {
        "bad_magic.npy": b"NOTNUMPY" + b"\0" * 100,
        "truncated.npy": open(os.path.join(work, "f32.npy"), "rb").read()[:-5],
        "big_endian.npy": None,
        "fortran.npy": None,
    }
    np.save(os.path.join(work, "big_endian.npy"), np.arange(3, dtype=">i4"))
    np.save(os.path.join(work, "fortran.npy"), np.asfortranarray(np.ones((2, 3), np.float32)))
    for name, data in bad.items():
        path = os.path.join(work, name)
        if data is not None:
            with open(path, "wb") as fh:
                fh.write(data)
        p = subprocess.run(["node", os.path.join(HERE, "npy_roundtrip.mjs"), path,
                            os.path.join(work, "x.npy")], capture_output=True, text=True)
        check(p.returncode == 1 and p.stderr.count("\n") == 1, f"npy {name} rejected: {p.stderr!r}")


def test_ortrun(case, work):
    import json
    import re
    with open(os.path.join(case, "meta.json")) as f:
        meta = json.load(f)
    ins = [os.path.join(case, f"input_{i}.npy") for i in range(meta["n_inputs"])]
    run = ["node", os.path.join(HERE, "ort_run.mjs"), os.path.join(case, "model.onnx"), work]
    p = subprocess.run(run + ins + ["--threads", "1", "--bench", "3"], capture_output=True, text=True)
    check(p.returncode == 0, f"ort_run failed: {p.stderr.strip()}")
    check(re.fullmatch(r"median \d+\.\d+ ms min \d+\.\d+ ms max \d+\.\d+ ms\n", p.stdout) is not None,
          f"--bench output: {p.stdout!r}")
    rtol = meta.get("rtol") or 1e-3
    atol = meta.get("atol") or 1e-4
    q = subprocess.run([sys.executable, os.path.join(HERE, "compare.py"), os.path.join(case, "numpy"), work,
                        "--rtol", str(rtol), "--atol", str(atol)], capture_output=True, text=True)
    check(q.returncode == 0, f"ort_run outputs differ from torch's: {q.stderr.strip()}")
    # Wrong number of inputs and a bad option: exit non-zero with one line of explanation.
    p = subprocess.run(run, capture_output=True, text=True)
    check(p.returncode == 1 and "inputs" in p.stderr, f"missing inputs: {p.returncode} {p.stderr!r}")
    p = subprocess.run(run + ins + ["--bench", "0"], capture_output=True, text=True)
    check(p.returncode == 2, f"--bench 0 rejected: {p.returncode} {p.stderr!r}")


def main(argv):
    if argv[:1] == ["compare"]:
        test_compare()
    elif argv[:1] == ["npy"] and len(argv) == 2:
        test_npy(argv[1])
    elif argv[:1] == ["ortrun"] and len(argv) == 3:
        test_ortrun(argv[1], argv[2])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
