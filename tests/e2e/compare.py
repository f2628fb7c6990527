#!/usr/bin/python3
"""Compare two folders of output_<k>.npy (reference first, then the one under test).

    compare.py REF_DIR OUT_DIR [--rtol R] [--atol A]

Same number of outputs, same dtype and shape for each, and values equal: floats within
|out - ref| <= atol + rtol * |ref| (NaN matches NaN, infinities must match exactly), integers
and bools exactly. On failure prints which output and its worst element; exit 0 (match) or 1.
"""
import argparse
import os
import re
import sys

import numpy as np

OUT_RE = re.compile(r"^output_(\d+)\.npy$")


def list_outputs(d):
    if not os.path.isdir(d):
        raise SystemExit(f"compare: {d}: not a directory")
    ks = sorted(int(m.group(1)) for m in map(OUT_RE.match, os.listdir(d)) if m)
    if ks != list(range(len(ks))):
        raise SystemExit(f"compare: {d}: outputs are not numbered 0..n-1: {ks}")
    return len(ks)


def load(path):
    try:
        return np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is a failure to report
        raise SystemExit(f"compare: {path}: cannot read: {e}")


def compare_one(k, ref, out, rtol, atol):
    """Returns None when equal, else a one-paragraph description of the mismatch."""
    if ref.dtype != out.dtype:
        return f"output_{k}: dtype {out.dtype}, expected {ref.dtype}"
    if ref.shape != out.shape:
        return f"output_{k}: shape {out.shape}, expected {ref.shape}"
    if ref.size == 0:
        return None
    if np.issubdtype(ref.dtype, np.floating):
        r = ref.astype(np.float64)
        o = out.astype(np.float64)
        both_nan = np.isnan(r) & np.isnan(o)
        inf = np.isinf(r) | np.isinf(o)
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.abs(o - r)
            ok = (err <= atol + rtol * np.abs(r)) & ~inf
        ok |= both_nan | (inf & (r == o))
        # Rank violations by how far past the tolerance they are; NaN/inf mismatches first.
        with np.errstate(invalid="ignore", divide="ignore"):
            excess = np.where(ok, -np.inf, err / (atol + rtol * np.abs(r)))
        excess = np.where(~ok & np.isnan(excess), np.inf, excess)
    else:
        ok = ref == out
        excess = np.where(ok, 0, 1).astype(np.float64)
        err = np.abs(ref.astype(np.float64) - out.astype(np.float64))
    bad = int(np.count_nonzero(~ok))
    if bad == 0:
        return None
    worst = np.unravel_index(int(np.argmax(excess)), ref.shape)
    rv, ov = ref[worst], out[worst]
    e = float(err[worst]) if np.ndim(err) else float(err)
    rel = e / abs(float(rv)) if float(rv) != 0 else float("inf")
    max_err = float(np.nanmax(np.where(ok, 0, err))) if bad else 0.0
    return (f"output_{k}: {bad} of {ref.size} elements differ ({ref.dtype}{list(ref.shape)}, "
            f"rtol {rtol} atol {atol}); worst at {tuple(int(i) for i in worst)}: "
            f"expected {rv!r}, got {ov!r} (abs err {e:.3g}, rel err {rel:.3g}); "
            f"max abs err {max_err:.3g}")


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("ref")
    ap.add_argument("out")
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-4)
    a = ap.parse_args(argv)
    n_ref, n_out = list_outputs(a.ref), list_outputs(a.out)
    if n_ref == 0:
        print(f"compare: {a.ref}: no output_<k>.npy files", file=sys.stderr)
        return 1
    if n_ref != n_out:
        print(f"compare: {n_out} outputs in {a.out}, expected {n_ref}", file=sys.stderr)
        return 1
    failed = False
    for k in range(n_ref):
        msg = compare_one(k, load(os.path.join(a.ref, f"output_{k}.npy")),
                          load(os.path.join(a.out, f"output_{k}.npy")), a.rtol, a.atol)
        if msg:
            print(f"compare: {msg}", file=sys.stderr)
            failed = True
    if not failed:
        print(f"compare: {n_ref} output(s) match")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
