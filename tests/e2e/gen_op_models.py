#!/usr/bin/python3
"""Generate one small ONNX model per op variant for dlc's end-to-end tests.

    gen_op_models.py OUTDIR            write OUTDIR/<case>/{model.onnx,input_<i>.npy,meta.json}
    gen_op_models.py --list            print the case names, one a line
    gen_op_models.py OUTDIR --only A,B write only these cases

Each case dir holds the model, its seeded random inputs (in graph input order; constants are
initializers, not inputs), and meta.json: {"rtol", "atol", "ref", "why"}. "ref" is "ort"
(ONNX Runtime computes the reference) or "numpy" when ONNX Runtime has no CPU kernel for that
op/dtype pair; then the generator also writes the expected outputs to numpy/output_<k>.npy.
Some ORT-referenced cases carry a numpy reference too: the oracle self-check compares them.

Regeneration is skipped when OUTDIR/.stamp matches this script's hash (cheap up-to-date check).
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DEFAULT_OPSET = 13
INT_MAX = np.iinfo(np.int64).max
INT_MIN = np.iinfo(np.int64).min

CASES = {}  # name -> builder function returning a Case


class Case:
    def __init__(self, nodes, inputs, inits=(), outputs=None, opset=DEFAULT_OPSET,
                 expect=None, rtol=None, atol=None, why=None, ref="ort"):
        self.nodes = nodes
        self.inputs = list(inputs)      # [(name, ndarray)] graph inputs, in order
        self.inits = list(inits)        # [(name, ndarray)] initializers
        self.outputs = outputs or [o for o in nodes[-1].output if o]
        self.opset = opset
        self.expect = expect            # list of ndarrays (numpy reference) or None
        self.rtol, self.atol, self.why, self.ref = rtol, atol, why, ref


def case(name):
    def reg(fn):
        assert name not in CASES, name
        CASES[name] = fn
        return fn
    return reg


def rng_for(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


# ---------------------------------------------------------------- helpers for the builders

NP2ONNX = {np.dtype(k): v for k, v in {
    np.float32: TensorProto.FLOAT, np.float64: TensorProto.DOUBLE, np.float16: TensorProto.FLOAT16,
    np.int8: TensorProto.INT8, np.int16: TensorProto.INT16, np.int32: TensorProto.INT32,
    np.int64: TensorProto.INT64, np.uint8: TensorProto.UINT8, np.uint16: TensorProto.UINT16,
    np.uint32: TensorProto.UINT32, np.uint64: TensorProto.UINT64, np.bool_: TensorProto.BOOL}.items()}

DT = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "i8": np.int8, "i16": np.int16,
      "i32": np.int32, "i64": np.int64, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32,
      "u64": np.uint64, "bool": np.bool_}
FLOATS = ("f32", "f64", "f16")
SIGNED = ("i8", "i16", "i32", "i64")
UNSIGNED = ("u8", "u16", "u32", "u64")


def rand(r, shape, dtype=np.float32, lo=-1.0, hi=1.0):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return r.random(shape) < 0.5
    if np.issubdtype(dtype, np.integer):
        return r.integers(int(lo), int(hi) + 1, size=shape).astype(dtype)
    return r.uniform(lo, hi, size=shape).astype(dtype)


def i64(*v):
    return np.array(v, dtype=np.int64)


def node(op, ins, outs=("y",), **attrs):
    return helper.make_node(op, list(ins), list(outs), **attrs)


def single(op, inputs, inits=(), attrs=None, node_ins=None, n_out=1, **kw):
    """A one-node model: node inputs default to graph inputs then initializers, in order."""
    names = node_ins if node_ins is not None else [n for n, _ in inputs] + [n for n, _ in inits]
    outs = ["y"] if n_out == 1 else [f"y{i}" for i in range(n_out)]
    return Case([node(op, names, outs, **(attrs or {}))], inputs, inits, **kw)


# ---------------------------------------------------------------- elementwise, f32

UNARY_F32 = {
    # name: (op, attrs, input range, numpy reference or None)
    "relu": ("Relu", {}, (-1, 1), lambda x: np.maximum(x, 0)),
    "leakyrelu": ("LeakyRelu", {"alpha": 0.1}, (-1, 1), lambda x: np.where(x < 0, 0.1 * x, x)),
    "sigmoid": ("Sigmoid", {}, (-6, 6), lambda x: 1 / (1 + np.exp(-x))),
    "hardsigmoid": ("HardSigmoid", {"alpha": 0.25, "beta": 0.4}, (-4, 4),
                    lambda x: np.clip(0.25 * x + 0.4, 0, 1)),
    "tanh": ("Tanh", {}, (-4, 4), np.tanh),
    "exp": ("Exp", {}, (-5, 5), np.exp),
    "log": ("Log", {}, (0.01, 10), np.log),
    "sqrt": ("Sqrt", {}, (0, 10), np.sqrt),
    "erf": ("Erf", {}, (-3, 3), None),
    "neg": ("Neg", {}, (-5, 5), np.negative),
    "abs": ("Abs", {}, (-5, 5), np.abs),
    "reciprocal": ("Reciprocal", {}, (0.1, 5), np.reciprocal),
    "floor": ("Floor", {}, (-5, 5), np.floor),
    "ceil": ("Ceil", {}, (-5, 5), np.ceil),
    "softplus": ("Softplus", {}, (-10, 10), lambda x: np.log1p(np.exp(x))),
    "elu": ("Elu", {"alpha": 0.7}, (-3, 3), lambda x: np.where(x < 0, 0.7 * (np.exp(x) - 1), x)),
    "selu": ("Selu", {}, (-3, 3), None),
    "sin": ("Sin", {}, (-6, 6), np.sin),
    "cos": ("Cos", {}, (-6, 6), np.cos),
    "tan": ("Tan", {}, (-1.4, 1.4), np.tan),
    "sign": ("Sign", {}, (-2, 2), np.sign),
    "identity": ("Identity", {}, (-1, 1), lambda x: x),
}


def _unary(name, op, attrs, lo_hi, ref):
    @case(f"{name}")
    def build(name=name):
        r = rng_for(name)
        x = rand(r, (2, 3, 4, 5), lo=lo_hi[0], hi=lo_hi[1])
        if op == "Sign":
            x[0, 0, 0, :3] = 0  # Sign(0) = 0
        exp = [ref(x).astype(np.float32)] if ref else None
        return single(op, [("x", x)], attrs=attrs, expect=exp)


for _n, (_op, _a, _lh, _ref) in UNARY_F32.items():
    _unary(_n, _op, _a, _lh, _ref)


@case("round")
def _():
    # Round is half to even; include exact halves.
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.4, -0.6, 3.7, -3.2, 0.0, 7.5], np.float32)
    return single("Round", [("x", x.reshape(3, 4))], expect=[np.round(x).reshape(3, 4)])


@case("isnan")
def _():
    x = np.array([1.0, np.nan, -np.inf, np.inf, 0.0, -np.nan], np.float32).reshape(2, 3)
    return single("IsNaN", [("x", x)], expect=[np.isnan(x)])


@case("isinf")
def _():
    x = np.array([1.0, np.nan, -np.inf, np.inf, 0.0, 3e38], np.float32).reshape(2, 3)
    return single("IsInf", [("x", x)], expect=[np.isinf(x)])


@case("isinf_pos_only")
def _():
    x = np.array([1.0, np.nan, -np.inf, np.inf, 0.0, 3e38], np.float32).reshape(2, 3)
    return single("IsInf", [("x", x)], attrs={"detect_negative": 0},
                  expect=[np.isposinf(x)])


@case("not")
def _():
    x = rand(rng_for("not"), (3, 4), np.bool_)
    return single("Not", [("x", x)], expect=[~x])


@case("dropout_inference")
def _():
    # Dropout outside training is the identity, also with a ratio input.
    x = rand(rng_for("dropout"), (2, 8))
    return single("Dropout", [("x", x)], [("ratio", np.array(0.3, np.float32))], expect=[x])


@case("dropout_mask")
def _():
    x = rand(rng_for("dropout_mask"), (2, 8))
    return single("Dropout", [("x", x)], n_out=2, expect=[x, np.ones_like(x, dtype=np.bool_)])


@case("relu_i32_opset14")
def _():
    x = rand(rng_for("relu_i32"), (4, 5), np.int32, -100, 100)
    return single("Relu", [("x", x)], opset=14, expect=[np.maximum(x, 0)])


@case("gelu_erf_composition")
def _():
    # What torch exports for GELU before opset 20: x * 0.5 * (1 + erf(x / sqrt(2))).
    x = rand(rng_for("gelu"), (2, 16), lo=-3, hi=3)
    inits = [("s2", np.array(math.sqrt(2), np.float32)), ("one", np.array(1, np.float32)),
             ("half", np.array(0.5, np.float32))]
    nodes = [node("Div", ["x", "s2"], ["t0"]), node("Erf", ["t0"], ["t1"]),
             node("Add", ["t1", "one"], ["t2"]), node("Mul", ["x", "t2"], ["t3"]),
             node("Mul", ["t3", "half"], ["y"])]
    return Case(nodes, [("x", x)], inits)


# ---------------------------------------------------------------- binary and variadic, f32

BINARY_F32 = {"add": ("Add", np.add), "sub": ("Sub", np.subtract), "mul": ("Mul", np.multiply),
              "div": ("Div", np.divide)}

BCAST_SHAPES = {
    "same": ((2, 3, 4), (2, 3, 4)),
    "bcast": ((2, 3, 4), (4,)),
    "bcast2": ((2, 1, 4), (3, 1)),
    "scalar": ((2, 3), ()),
    "lhs_bcast": ((1, 4), (3, 2, 1)),
}


def _binary(name, op, fn, sa, sb):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        a = rand(r, sa)
        b = rand(r, sb, lo=0.5, hi=2) if op == "Div" else rand(r, sb)
        return single(op, [("a", a), ("b", b)], expect=[fn(a, b).astype(np.float32)])


for _n, (_op, _fn) in BINARY_F32.items():
    for _s, (_sa, _sb) in BCAST_SHAPES.items():
        if _n != "add" and _s not in ("same", "bcast2"):
            continue
        _binary(f"{_n}_{_s}", _op, _fn, _sa, _sb)


@case("add_const_weight")
def _():
    r = rng_for("add_const_weight")
    return single("Add", [("a", rand(r, (4, 6)))], [("w", rand(r, (6,)))])


@case("pow")
def _():
    r = rng_for("pow")
    a, b = rand(r, (3, 4), lo=0.1, hi=3), rand(r, (3, 4), lo=-2, hi=2)
    return single("Pow", [("a", a), ("b", b)], expect=[np.power(a, b)])


@case("pow_square_const")
def _():
    # x^2 with a constant exponent (what LayerNorm decompositions emit).
    x = rand(rng_for("pow_sq"), (3, 4), lo=-3, hi=3)
    return single("Pow", [("x", x)], [("e", np.array(2.0, np.float32))], expect=[x * x])


@case("pow_int_exponent")
def _():
    # Pow-13 allows the exponent to be of another type than the base.
    r = rng_for("pow_int")
    a = rand(r, (3, 4), lo=-2, hi=2)
    b = rand(r, (4,), np.int64, 0, 3)
    return single("Pow", [("a", a), ("b", b)], expect=[np.power(a, b.astype(np.float32))])


@case("max_variadic")
def _():
    r = rng_for("max_var")
    a, b, c = rand(r, (2, 3, 4)), rand(r, (3, 1)), rand(r, (4,))
    return single("Max", [("a", a), ("b", b), ("c", c)], expect=[np.maximum(np.maximum(a, b), c)])


@case("min_variadic")
def _():
    r = rng_for("min_var")
    a, b, c = rand(r, (2, 3, 4)), rand(r, (3, 1)), rand(r, (4,))
    return single("Min", [("a", a), ("b", b), ("c", c)], expect=[np.minimum(np.minimum(a, b), c)])


@case("max_single")
def _():
    a = rand(rng_for("max1"), (3, 4))
    return single("Max", [("a", a)], expect=[a])


@case("sum_variadic")
def _():
    r = rng_for("sum_var")
    a, b, c = rand(r, (2, 3, 4)), rand(r, (3, 1)), rand(r, (4,))
    return single("Sum", [("a", a), ("b", b), ("c", c)], expect=[a + b + c])


@case("mean_variadic")
def _():
    r = rng_for("mean_var")
    a, b, c = rand(r, (2, 3, 4)), rand(r, (3, 1)), rand(r, (4,))
    return single("Mean", [("a", a), ("b", b), ("c", c)], expect=[(a + b + c) / 3])


@case("mod_fmod_f32")
def _():
    r = rng_for("fmod")
    a, b = rand(r, (3, 4), lo=-10, hi=10), rand(r, (3, 4), lo=0.5, hi=3)
    b[0] *= -1
    return single("Mod", [("a", a), ("b", b)], attrs={"fmod": 1}, expect=[np.fmod(a, b)])


@case("mod_i32")
def _():
    # Integer Mod (fmod=0) takes the sign of the divisor, like Python's %.
    r = rng_for("mod_i32")
    a = rand(r, (3, 4), np.int32, -20, 20)
    b = rand(r, (3, 4), np.int32, 1, 6)
    b[1] *= -1
    return single("Mod", [("a", a), ("b", b)], expect=[np.mod(a, b)])


@case("mod_fmod_i64")
def _():
    r = rng_for("mod_fmod_i64")
    a = rand(r, (3, 4), np.int64, -20, 20)
    b = rand(r, (3, 4), np.int64, 1, 6)
    b[1] *= -1
    return single("Mod", [("a", a), ("b", b)], attrs={"fmod": 1}, expect=[np.fmod(a, b)])


CMP = {"equal": ("Equal", np.equal, 11), "less": ("Less", np.less, 13),
       "greater": ("Greater", np.greater, 13), "lessorequal": ("LessOrEqual", np.less_equal, 16),
       "greaterorequal": ("GreaterOrEqual", np.greater_equal, 16)}


def _cmp(name, op, fn, opset, dtype):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        a = rand(r, (3, 4), dtype, -3, 3)
        b = rand(r, (4,), dtype, -3, 3)
        if np.issubdtype(np.dtype(dtype), np.floating):
            a, b = np.round(a), np.round(b)  # make ties likely so == and <= are exercised
        return single(op, [("a", a), ("b", b)], opset=opset, expect=[fn(a, b)])


for _n, (_op, _fn, _opset) in CMP.items():
    _cmp(f"{_n}_f32", _op, _fn, _opset, np.float32)
    _cmp(f"{_n}_i64", _op, _fn, _opset, np.int64)
_cmp("equal_bool", "Equal", np.equal, 13, np.bool_)


@case("and")
def _():
    r = rng_for("and")
    a, b = rand(r, (3, 4), np.bool_), rand(r, (4,), np.bool_)
    return single("And", [("a", a), ("b", b)], expect=[a & b])


@case("or")
def _():
    r = rng_for("or")
    a, b = rand(r, (3, 4), np.bool_), rand(r, (3, 1), np.bool_)
    return single("Or", [("a", a), ("b", b)], expect=[a | b])


@case("where")
def _():
    r = rng_for("where")
    c, a, b = rand(r, (3, 4), np.bool_), rand(r, (4,)), rand(r, (3, 1))
    return single("Where", [("c", c), ("a", a), ("b", b)], expect=[np.where(c, a, b)])


@case("where_bcast_i64")
def _():
    r = rng_for("where_bcast_i64")
    c, a, b = rand(r, (2, 3, 4), np.bool_), rand(r, (3, 4), np.int64, -9, 9), rand(r, (), np.int64, -9, 9)
    return single("Where", [("c", c), ("a", a), ("b", b)], expect=[np.where(c, a, b)])


# Clip: opset 13 takes min/max as optional inputs; opset 6 as attributes.
@case("clip_min_max")
def _():
    x = rand(rng_for("clip"), (3, 8), lo=-3, hi=9)
    return single("Clip", [("x", x)], [("lo", np.array(0, np.float32)), ("hi", np.array(6, np.float32))],
                  expect=[np.clip(x, 0, 6)])


@case("clip_min_only")
def _():
    x = rand(rng_for("clip_min"), (3, 8), lo=-3, hi=3)
    return single("Clip", [("x", x)], [("lo", np.array(-0.5, np.float32))],
                  expect=[np.maximum(x, -0.5)])


@case("clip_max_only")
def _():
    # Skipping the min input leaves an empty name in its place.
    x = rand(rng_for("clip_max"), (3, 8), lo=-3, hi=3)
    return single("Clip", [("x", x)], [("hi", np.array(0.5, np.float32))], node_ins=["x", "", "hi"],
                  expect=[np.minimum(x, 0.5)])


@case("clip_none")
def _():
    x = rand(rng_for("clip_none"), (3, 8), lo=-3, hi=3)
    return single("Clip", [("x", x)], expect=[x])


@case("clip_runtime_bounds")
def _():
    # min/max as graph inputs rather than constants.
    x = rand(rng_for("clip_rt"), (3, 8), lo=-3, hi=3)
    lo, hi = np.array(-1, np.float32), np.array(2, np.float32)
    return single("Clip", [("x", x), ("lo", lo), ("hi", hi)], expect=[np.clip(x, lo, hi)])


@case("clip_opset6_attrs")
def _():
    x = rand(rng_for("clip6"), (3, 8), lo=-3, hi=9)
    return single("Clip", [("x", x)], attrs={"min": 0.0, "max": 6.0}, opset=6,
                  expect=[np.clip(x, 0, 6)])


@case("clip_i32")
def _():
    x = rand(rng_for("clip_i32"), (3, 8), np.int32, -50, 50)
    return single("Clip", [("x", x)], [("lo", np.array(-10, np.int32)), ("hi", np.array(20, np.int32))],
                  expect=[np.clip(x, -10, 20)])


# ---------------------------------------------------------------- elementwise, every dtype
# ONNX Runtime's CPU provider registers only some dtypes for many elementwise ops; for the rest
# numpy computes the reference (see NO_ORT_KERNEL below, found by trying).
# Values are kept small enough that no integer op overflows (signed overflow is UB in C).

def _dtype_case(name, op, dt, n_in, fn, lo, hi, attrs=None, opset=DEFAULT_OPSET, nonzero=False):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        shapes = [(3, 4), (4,), (3, 1)][:n_in]
        xs = [rand(r, s, DT[dt], lo, hi) for s in shapes]
        if nonzero:
            for x in xs[1:]:
                x[x == 0] = 1
        expect = [np.asarray(fn(*xs))]
        if expect[0].dtype != np.bool_:
            expect[0] = expect[0].astype(DT[dt])
        tol = {"rtol": 2e-3, "atol": 1e-3,
               "why": "float16 results round to 11 bits"} if dt == "f16" else {}
        # 8- and 16-bit integer types arrived in opset 14 for these.
        o = max(opset, 14) if op in ("Add", "Sub", "Mul", "Div", "Relu") else opset
        return single(op, [(f"x{i}", x) for i, x in enumerate(xs)], attrs=attrs, opset=o,
                      expect=expect, **tol)


def _int_div(a, b):
    # ORT divides integers in C, truncating toward zero; numpy floors.
    q = np.trunc(a.astype(np.float64) / b.astype(np.float64))
    return q.astype(a.dtype)


for _dt in FLOATS + SIGNED + UNSIGNED:
    _lo, _hi = (0, 40) if _dt in UNSIGNED else (-40, 40)
    _dtype_case(f"add_{_dt}", "Add", _dt, 2, np.add, _lo, _hi)
    _dtype_case(f"sub_{_dt}", "Sub", _dt, 2, np.subtract, _lo, _hi)
    _dtype_case(f"mul_{_dt}", "Mul", _dt, 2, np.multiply, 0 if _dt in UNSIGNED else -10, 10)
    if _dt in FLOATS:
        _dtype_case(f"div_{_dt}", "Div", _dt, 2, np.divide, 0.5, 4)
    else:
        _dtype_case(f"div_{_dt}", "Div", _dt, 2, _int_div, _lo, _hi, nonzero=True)
    _dtype_case(f"max_{_dt}", "Max", _dt, 3, lambda a, b, c: np.maximum(np.maximum(a, b), c), _lo, _hi)
    _dtype_case(f"min_{_dt}", "Min", _dt, 2, np.minimum, _lo, _hi)
    if _dt not in ("f32", "i64"):  # those two are covered by the comparison cases above
        _dtype_case(f"equal_{_dt}", "Equal", _dt, 2, np.equal, 0, 3)
        _dtype_case(f"less_{_dt}", "Less", _dt, 2, np.less, 0, 3)
    if _dt not in UNSIGNED and _dt != "f32":  # f32 has its own cases above
        _dtype_case(f"neg_{_dt}", "Neg", _dt, 1, np.negative, -40, 40)
        _dtype_case(f"abs_{_dt}", "Abs", _dt, 1, np.abs, -40, 40)
        _dtype_case(f"sign_{_dt}", "Sign", _dt, 1, np.sign, -3, 3)
for _dt in ("f64", "f16"):
    _dtype_case(f"relu_{_dt}", "Relu", _dt, 1, lambda x: np.maximum(x, 0), -2, 2)
    _dtype_case(f"exp_{_dt}", "Exp", _dt, 1, np.exp, -3, 3)
    _dtype_case(f"sqrt_{_dt}", "Sqrt", _dt, 1, np.sqrt, 0, 4)
    _dtype_case(f"sigmoid_{_dt}", "Sigmoid", _dt, 1, lambda x: 1 / (1 + np.exp(-x)), -4, 4)
    _dtype_case(f"tanh_{_dt}", "Tanh", _dt, 1, np.tanh, -3, 3)


def _where_cases():
    for dt in FLOATS + SIGNED + UNSIGNED:
        name = f"where_{dt}"

        @case(name)
        def build(name=name, dt=dt):
            r = rng_for(name)
            lo = 0 if dt in UNSIGNED else -40
            c = rand(r, (3, 4), np.bool_)
            a, b = rand(r, (3, 4), DT[dt], lo, 40), rand(r, (4,), DT[dt], lo, 40)
            return single("Where", [("c", c), ("a", a), ("b", b)], expect=[np.where(c, a, b)])


_where_cases()


@case("bool_ops")
def _():
    r = rng_for("bool_ops")
    a, b = rand(r, (3, 4), np.bool_), rand(r, (3, 4), np.bool_)
    nodes = [node("And", ["a", "b"], ["t0"]), node("Not", ["t0"], ["t1"]), node("Or", ["t1", "a"], ["y"])]
    return Case(nodes, [("a", a), ("b", b)], expect=[(~(a & b)) | a])


# ---------------------------------------------------------------- Cast

CASTS = [("f32", "i32"), ("f32", "i64"), ("f32", "f16"), ("f16", "f32"), ("f32", "f64"),
         ("f64", "f32"), ("i64", "f32"), ("i32", "i64"), ("i64", "i32"), ("f32", "bool"),
         ("bool", "f32"), ("bool", "i64"), ("i32", "i8"), ("u8", "f32"), ("f32", "u8"),
         ("i8", "i32"), ("u16", "i32"), ("i32", "u32"), ("f32", "i8")]


def _cast(src, dst):
    @case(f"cast_{src}_{dst}")
    def build(name=f"cast_{src}_{dst}"):
        r = rng_for(name)
        if src in FLOATS:
            # Avoid values whose conversion is undefined (out of range, exact .5 for ints).
            lo, hi = (0, 200) if dst in UNSIGNED else (-100, 100)
            x = rand(r, (3, 5), DT[src], lo, hi)
            if dst == "bool":
                x[0, :3] = 0
        elif src == "bool":
            x = rand(r, (3, 5), np.bool_)
        else:
            lo = 0 if src in UNSIGNED or dst in UNSIGNED else -100
            x = rand(r, (3, 5), DT[src], lo, 100)
        return single("Cast", [("x", x)], attrs={"to": NP2ONNX[np.dtype(DT[dst])]},
                      expect=[x.astype(DT[dst])])


for _s, _d in CASTS:
    _cast(_s, _d)


# ---------------------------------------------------------------- MatMul and Gemm

MATMULS = {
    "matmul_2d": ((3, 4), (4, 5)),
    "matmul_batched": ((2, 3, 4), (2, 4, 5)),
    "matmul_bcast_batch": ((2, 1, 3, 4), (3, 4, 5)),
    "matmul_bcast_rhs2d": ((2, 3, 4), (4, 5)),
    "matmul_bcast_lhs2d": ((3, 4), (2, 4, 5)),
    "matmul_1d_2d": ((4,), (4, 5)),
    "matmul_2d_1d": ((3, 4), (4,)),
    "matmul_1d_1d": ((4,), (4,)),
    "matmul_1d_3d": ((4,), (2, 4, 5)),
    "matmul_big": ((64, 96), (96, 80)),
}


def _matmul(name, sa, sb):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        a, b = rand(r, sa), rand(r, sb)
        return single("MatMul", [("a", a), ("b", b)], expect=[np.matmul(a, b)])


for _n, (_sa, _sb) in MATMULS.items():
    _matmul(_n, _sa, _sb)


@case("matmul_const_weight")
def _():
    r = rng_for("matmul_const_weight")
    return single("MatMul", [("a", rand(r, (2, 8, 16)))], [("w", rand(r, (16, 12)))])


# pack-matmul-weights (CPU default pipeline) packs a constant B into blocks of two vectors of
# columns, or one if two do not divide N: N = 48 is three blocks of 16 with AVX2 and with
# AVX-512; odd M and K leave partial register blocks and tiles in e2e/contractions; A has a
# batch dim.
@case("matmul_const_packed")
def _():
    r = rng_for("matmul_const_packed")
    a, w = rand(r, (2, 7, 13)), rand(r, (13, 48))
    return single("MatMul", [("a", a)], [("w", w)], expect=[np.matmul(a, w)])


@case("matmul_i32")
def _():
    r = rng_for("matmul_i32")
    a, b = rand(r, (3, 4), np.int32, -5, 5), rand(r, (4, 5), np.int32, -5, 5)
    return single("MatMul", [("a", a), ("b", b)], expect=[a @ b])


@case("matmul_f64")
def _():
    r = rng_for("matmul_f64")
    a, b = rand(r, (3, 4), np.float64), rand(r, (4, 5), np.float64)
    return single("MatMul", [("a", a), ("b", b)], expect=[a @ b])


def _gemm(name, ta, tb, alpha, beta, cshape, const_bc=True, mkn=(3, 5, 4)):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        m, k, n = mkn
        a = rand(r, (k, m) if ta else (m, k))
        b = rand(r, (n, k) if tb else (k, n))
        inits = [("b", b)] if const_bc else []
        inputs = [("a", a)] if const_bc else [("a", a), ("b", b)]
        names = ["a", "b"]
        ref = alpha * ((a.T if ta else a) @ (b.T if tb else b))
        if cshape is not None:
            c = rand(r, cshape)
            (inits if const_bc else inputs).append(("c", c))
            names.append("c")
            ref = ref + beta * c
        attrs = {"transA": ta, "transB": tb, "alpha": alpha, "beta": beta}
        return single("Gemm", inputs, inits, attrs=attrs, node_ins=names,
                      expect=[ref.astype(np.float32)])


_gemm("gemm_default", 0, 0, 1.0, 1.0, (3, 4))
_gemm("gemm_transA", 1, 0, 1.0, 1.0, (3, 4))
_gemm("gemm_transB", 0, 1, 1.0, 1.0, (4,))
_gemm("gemm_transAB", 1, 1, 1.0, 1.0, (1, 4))
_gemm("gemm_alpha_beta", 0, 1, 0.5, 2.0, (3, 1))
_gemm("gemm_scalar_c", 0, 0, 1.0, 1.0, ())
_gemm("gemm_no_c", 0, 1, 1.0, 1.0, None)
_gemm("gemm_inputs", 1, 0, 1.5, 0.5, (3, 4), const_bc=False)
# constant B packed by pack-matmul-weights, odd M and K: N = 32 (two blocks of 16 with AVX2,
# one of 32 with AVX-512), N = 48 (three blocks of 16) from a transposed B (the packing undoes
# transB)
_gemm("gemm_packed", 1, 0, 1.5, 0.5, (7, 32), mkn=(7, 9, 32))
_gemm("gemm_packed_transB", 0, 1, 1.0, 1.0, (48,), mkn=(5, 11, 48))


# ---------------------------------------------------------------- Conv

def _conv(name, xshape, wshape, bias=True, opset=DEFAULT_OPSET, **attrs):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        x, w = rand(r, xshape), rand(r, wshape, lo=-0.5, hi=0.5)
        inits = [("w", w)] + ([("b", rand(r, (wshape[0],)))] if bias else [])
        return single("Conv", [("x", x)], inits, attrs=attrs, opset=opset)


_conv("conv2d", (1, 3, 8, 8), (4, 3, 3, 3))
_conv("conv2d_nobias", (2, 3, 7, 9), (5, 3, 3, 2), bias=False)
_conv("conv2d_pads", (1, 3, 8, 8), (4, 3, 3, 3), pads=[1, 1, 1, 1])
_conv("conv2d_pads_asym", (1, 2, 7, 6), (3, 2, 3, 3), pads=[0, 1, 2, 1])
_conv("conv2d_strides", (1, 3, 9, 9), (4, 3, 3, 3), strides=[2, 2], pads=[1, 1, 1, 1])
_conv("conv2d_strides_uneven", (1, 3, 10, 11), (4, 3, 3, 2), strides=[3, 2])
_conv("conv2d_dilations", (1, 2, 10, 10), (3, 2, 3, 3), dilations=[2, 2], pads=[2, 2, 2, 2])
_conv("conv2d_groups", (1, 4, 6, 6), (6, 2, 3, 3), group=2, pads=[1, 1, 1, 1])
_conv("conv2d_depthwise", (1, 6, 8, 8), (6, 1, 3, 3), group=6, pads=[1, 1, 1, 1])
_conv("conv2d_depthwise_mult", (1, 3, 8, 8), (6, 1, 3, 3), group=3, strides=[2, 2])
# MobileNetV2's downsampling layer: padded, stride 2, an odd size (the window sums innermost)
_conv("conv2d_depthwise_s2", (1, 8, 9, 9), (8, 1, 3, 3), group=8, strides=[2, 2], pads=[1, 1, 1, 1])
# unit-stride depthwise (the CPU's split-depthwise: every box of interior and border positions
# one statement): a dilated 5x5 window with 4 border positions per side, a channel multiplier
# with asymmetric pads and no bias, and a 7x7 window (49 taps: accumulated tap by tap)
_conv("conv2d_depthwise_5x5_dil", (1, 4, 9, 10), (4, 1, 5, 5), group=4, dilations=[2, 2], pads=[4, 4, 4, 4])
_conv("conv2d_depthwise_mult_asym", (2, 3, 7, 6), (6, 1, 3, 3), bias=False, group=3, pads=[1, 0, 2, 1])
_conv("conv2d_depthwise_7x7", (1, 4, 10, 10), (4, 1, 7, 7), group=4, pads=[3, 3, 3, 3])
_conv("conv2d_1x1", (2, 8, 5, 5), (16, 8, 1, 1))
_conv("conv2d_7x7_s2", (1, 3, 32, 32), (8, 3, 7, 7), strides=[2, 2], pads=[3, 3, 3, 3])
_conv("conv2d_auto_same_upper", (1, 2, 7, 7), (3, 2, 4, 4), auto_pad="SAME_UPPER")
_conv("conv2d_auto_same_lower", (1, 2, 7, 7), (3, 2, 4, 4), auto_pad="SAME_LOWER")
_conv("conv2d_auto_same_upper_s2", (1, 2, 9, 8), (3, 2, 3, 3), auto_pad="SAME_UPPER", strides=[2, 2])
_conv("conv2d_auto_valid", (1, 2, 7, 7), (3, 2, 3, 3), auto_pad="VALID")
_conv("conv2d_kernel_shape_attr", (1, 2, 6, 6), (3, 2, 3, 3), kernel_shape=[3, 3])
# Winograd F(2x2, 3x3) on the CPU (winograd-conv: >= 16 channels in and out, unit stride, even
# output sizes): padded with a bias and two images; unpadded without one; an odd output width
# stays direct
_conv("conv2d_winograd", (2, 16, 10, 12), (24, 16, 3, 3), pads=[1, 1, 1, 1])
_conv("conv2d_winograd_nopad", (1, 16, 8, 10), (16, 16, 3, 3), bias=False)
_conv("conv2d_winograd_odd", (1, 16, 6, 7), (16, 16, 3, 3), pads=[1, 1, 1, 1])
_conv("conv1d", (2, 3, 16), (4, 3, 5), pads=[2, 2])
_conv("conv1d_strides_dil", (1, 4, 20), (6, 2, 3), group=2, strides=[2], dilations=[3])
_conv("conv3d", (1, 2, 5, 6, 7), (3, 2, 3, 3, 3), pads=[1, 1, 1, 1, 1, 1])
_conv("conv3d_strides", (1, 2, 6, 6, 6), (2, 2, 2, 3, 2), strides=[2, 1, 2])


# ---------------------------------------------------------------- pooling

def _pool(name, op, xshape, opset=DEFAULT_OPSET, torch_ref=None, **attrs):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), xshape, lo=-2, hi=2)
        if torch_ref is None:
            return single(op, [("x", x)], attrs=attrs, opset=opset)
        import torch
        y = torch_ref(torch.from_numpy(x)).numpy()
        return single(op, [("x", x)], attrs=attrs, opset=opset, expect=[y], ref="numpy",
                      why="ONNX Runtime 1.20 divides by the whole kernel where a ceil_mode window "
                          "runs past the padding; the ONNX reference and torch count only the "
                          "taps inside the padded input")


_pool("maxpool_2x2", "MaxPool", (1, 3, 8, 8), kernel_shape=[2, 2], strides=[2, 2])
_pool("maxpool_3x3_s2_p1", "MaxPool", (1, 4, 9, 9), kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
_pool("maxpool_ceil", "MaxPool", (1, 2, 7, 7), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
_pool("maxpool_ceil_pads", "MaxPool", (1, 2, 8, 8), kernel_shape=[3, 3], strides=[2, 2],
      pads=[1, 1, 1, 1], ceil_mode=1)
_pool("maxpool_dilations", "MaxPool", (1, 2, 9, 9), kernel_shape=[2, 2], dilations=[2, 2])
_pool("maxpool_same_upper", "MaxPool", (1, 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
      auto_pad="SAME_UPPER")
_pool("maxpool_stride1", "MaxPool", (2, 3, 6, 6), kernel_shape=[3, 3])
_pool("maxpool_1d", "MaxPool", (1, 3, 12), kernel_shape=[3], strides=[2])
_pool("maxpool_3d", "MaxPool", (1, 2, 6, 6, 6), kernel_shape=[2, 2, 2], strides=[2, 2, 2])
_pool("avgpool_2x2", "AveragePool", (1, 3, 8, 8), kernel_shape=[2, 2], strides=[2, 2])
_pool("avgpool_pads_exclude", "AveragePool", (1, 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
      pads=[1, 1, 1, 1], count_include_pad=0)
_pool("avgpool_pads_include", "AveragePool", (1, 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
      pads=[1, 1, 1, 1], count_include_pad=1)
_pool("avgpool_ceil", "AveragePool", (1, 2, 7, 7), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
_pool("avgpool_ceil_pads_include", "AveragePool", (1, 2, 8, 8), kernel_shape=[3, 3], strides=[2, 2],
      pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1,
      torch_ref=lambda x: __import__("torch").nn.functional.avg_pool2d(
          x, 3, 2, padding=1, ceil_mode=True, count_include_pad=True))
_pool("avgpool_same_upper", "AveragePool", (1, 2, 7, 7), kernel_shape=[3, 3], strides=[2, 2],
      auto_pad="SAME_UPPER")
_pool("avgpool_1d", "AveragePool", (1, 3, 12), kernel_shape=[4], strides=[4])
_pool("globalavgpool", "GlobalAveragePool", (2, 3, 5, 7))
_pool("globalavgpool_3d", "GlobalAveragePool", (1, 3, 3, 4, 5))
_pool("globalmaxpool", "GlobalMaxPool", (2, 3, 5, 7))
_pool("globalmaxpool_1d", "GlobalMaxPool", (2, 3, 9))


# ---------------------------------------------------------------- normalisation

@case("batchnorm")
def _():
    r = rng_for("batchnorm")
    c = 4
    x = rand(r, (2, c, 5, 5), lo=-2, hi=2)
    inits = [("scale", rand(r, (c,), lo=0.5, hi=1.5)), ("bias", rand(r, (c,))),
             ("mean", rand(r, (c,))), ("var", rand(r, (c,), lo=0.5, hi=2))]
    return single("BatchNormalization", [("x", x)], inits, attrs={"epsilon": 1e-3})


@case("batchnorm_2d_input")
def _():
    r = rng_for("batchnorm_2d")
    c = 6
    x = rand(r, (3, c), lo=-2, hi=2)
    inits = [("scale", rand(r, (c,), lo=0.5, hi=1.5)), ("bias", rand(r, (c,))),
             ("mean", rand(r, (c,))), ("var", rand(r, (c,), lo=0.5, hi=2))]
    return single("BatchNormalization", [("x", x)], inits, opset=15)


def _layernorm(name, shape, axis, bias=True, eps=1e-5):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        x = rand(r, shape, lo=-2, hi=2)
        nshape = shape[axis:]
        inits = [("scale", rand(r, nshape, lo=0.5, hi=1.5))]
        if bias:
            inits.append(("bias", rand(r, nshape)))
        axes = tuple(range(axis if axis >= 0 else len(shape) + axis, len(shape)))
        mu = x.mean(axis=axes, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=axes, keepdims=True)
        ref = (x - mu) / np.sqrt(var + eps) * inits[0][1] + (inits[1][1] if bias else 0)
        return single("LayerNormalization", [("x", x)], inits, attrs={"axis": axis, "epsilon": eps},
                      opset=17, expect=[ref.astype(np.float32)])


_layernorm("layernorm_last", (2, 5, 16), -1)
_layernorm("layernorm_axis1", (2, 3, 4, 5), 1)
_layernorm("layernorm_nobias", (4, 8), -1, bias=False)


def _softmax(name, op, shape, axis, opset):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), shape, lo=-4, hi=4)
        attrs = {} if axis is None else {"axis": axis}
        return single(op, [("x", x)], attrs=attrs, opset=opset)


_softmax("softmax_last", "Softmax", (2, 3, 8), -1, 13)
_softmax("softmax_axis1_opset13", "Softmax", (2, 3, 4), 1, 13)
_softmax("softmax_axis1_opset11", "Softmax", (2, 3, 4), 1, 11)   # coerces to 2-D: [2, 12]
_softmax("softmax_default_opset11", "Softmax", (2, 3, 4), None, 11)
_softmax("softmax_default_opset13", "Softmax", (2, 3, 4), None, 13)
_softmax("softmax_axis0", "Softmax", (5, 3), 0, 13)
_softmax("logsoftmax_last", "LogSoftmax", (2, 3, 8), -1, 13)
_softmax("logsoftmax_axis1_opset11", "LogSoftmax", (2, 3, 4), 1, 11)


@case("softmax_large_values")
def _():
    # Needs the max-subtraction trick: naive exp overflows.
    x = np.array([[1000, 1001, 999, 1002], [-1000, -999, -1001, -998]], np.float32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return single("Softmax", [("x", x)], attrs={"axis": 1}, expect=[e / e.sum(axis=1, keepdims=True)])


# ---------------------------------------------------------------- reductions

def _reduce(name, op, shape, axes, keepdims, opset, axes_input=False, dtype=np.float32, **extra):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        lo, hi = (0.5, 1.5) if op == "ReduceProd" else (-2, 2)
        x = rand(r, shape, dtype, lo if dtype == np.float32 else -20, hi if dtype == np.float32 else 20)
        attrs = dict(extra)
        if keepdims is not None:
            attrs["keepdims"] = keepdims
        inits = []
        if axes is not None:
            if axes_input:
                inits = [("axes", i64(*axes))]
            else:
                attrs["axes"] = list(axes)
        return single(op, [("x", x)], inits, attrs=attrs, opset=opset)


for _op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSum"):
    _l = _op[6:].lower()
    if _op == "ReduceSum":
        # ReduceSum-13 takes axes as an input; ReduceSum-11 as an attribute.
        _reduce(f"reduce{_l}_axes_input_keep", _op, (2, 3, 4), (1,), 1, 13, axes_input=True)
        _reduce(f"reduce{_l}_axes_input_nokeep", _op, (2, 3, 4), (0, 2), 0, 13, axes_input=True)
        _reduce(f"reduce{_l}_axes_attr_opset11", _op, (2, 3, 4), (-1,), 0, 11)
        _reduce(f"reduce{_l}_all", _op, (2, 3, 4), None, 0, 13)
    else:
        _reduce(f"reduce{_l}_keep", _op, (2, 3, 4), (1,), 1, 13)
        _reduce(f"reduce{_l}_nokeep", _op, (2, 3, 4), (0, 2), 0, 13)
        _reduce(f"reduce{_l}_neg_axis_opset11", _op, (2, 3, 4), (-1,), 0, 11)
        _reduce(f"reduce{_l}_all", _op, (2, 3, 4), None, None, 13)
@case("reducesum_noop_empty_axes")
def _():
    x = rand(rng_for("reducesum_noop"), (2, 3, 4))
    return single("ReduceSum", [("x", x)], attrs={"keepdims": 1, "noop_with_empty_axes": 1}, expect=[x])


_reduce("reducemean_spatial", "ReduceMean", (2, 8, 5, 5), (2, 3), 1, 13)
_reduce("reducemax_i32", "ReduceMax", (3, 5), (1,), 0, 13, dtype=np.int32)
_reduce("reducesum_i64", "ReduceSum", (3, 5), (0,), 1, 13, axes_input=True, dtype=np.int64)


def _arg(name, op, axis, keepdims, last=0, ties=False):
    @case(name)
    def build(name=name):
        r = rng_for(name)
        x = rand(r, (3, 4, 5), np.float32, -3, 3)
        if ties:
            x = np.round(x)  # many ties: select_last_index matters
        return single(op, [("x", x)], attrs={"axis": axis, "keepdims": keepdims,
                                             "select_last_index": last})


_arg("argmax_keep", "ArgMax", 1, 1)
_arg("argmax_nokeep", "ArgMax", -1, 0)
_arg("argmax_ties_first", "ArgMax", 2, 1, 0, True)
_arg("argmax_ties_last", "ArgMax", 2, 1, 1, True)
_arg("argmin_keep", "ArgMin", 0, 1)
_arg("argmin_ties_last", "ArgMin", 1, 0, 1, True)


# ---------------------------------------------------------------- shape manipulation

@case("flatten_axis1")
def _():
    x = rand(rng_for("flatten1"), (2, 3, 4, 5))
    return single("Flatten", [("x", x)], attrs={"axis": 1}, expect=[x.reshape(2, 60)])


@case("flatten_axis0")
def _():
    x = rand(rng_for("flatten0"), (2, 3, 4))
    return single("Flatten", [("x", x)], attrs={"axis": 0}, expect=[x.reshape(1, 24)])


@case("flatten_axis_neg")
def _():
    x = rand(rng_for("flattenn"), (2, 3, 4, 5))
    return single("Flatten", [("x", x)], attrs={"axis": -1}, expect=[x.reshape(24, 5)])


@case("reshape_minus1")
def _():
    x = rand(rng_for("reshape_m1"), (2, 3, 4))
    return single("Reshape", [("x", x)], [("s", i64(4, -1))], expect=[x.reshape(4, 6)])


@case("reshape_zero")
def _():
    # 0 copies the input's dimension.
    x = rand(rng_for("reshape_0"), (2, 3, 4))
    return single("Reshape", [("x", x)], [("s", i64(0, -1, 2))], expect=[x.reshape(2, 6, 2)])


@case("reshape_to_scalar_like")
def _():
    x = rand(rng_for("reshape_s"), (1, 1, 6))
    return single("Reshape", [("x", x)], [("s", i64(6))], expect=[x.reshape(6)])


@case("transpose_default")
def _():
    x = rand(rng_for("tr_def"), (2, 3, 4))
    return single("Transpose", [("x", x)], expect=[x.transpose()])


@case("transpose_perm")
def _():
    x = rand(rng_for("tr_perm"), (2, 3, 4, 5))
    return single("Transpose", [("x", x)], attrs={"perm": [0, 2, 3, 1]}, expect=[x.transpose(0, 2, 3, 1)])


@case("transpose_i64")
def _():
    x = rand(rng_for("tr_i64"), (3, 5), np.int64, -100, 100)
    return single("Transpose", [("x", x)], attrs={"perm": [1, 0]}, expect=[x.T])


@case("concat_axis1")
def _():
    r = rng_for("concat1")
    a, b, c = rand(r, (2, 3, 4)), rand(r, (2, 1, 4)), rand(r, (2, 5, 4))
    return single("Concat", [("a", a), ("b", b), ("c", c)], attrs={"axis": 1},
                  expect=[np.concatenate([a, b, c], 1)])


@case("concat_neg_axis_const")
def _():
    r = rng_for("concatn")
    a, w = rand(r, (2, 3)), rand(r, (2, 2))
    return single("Concat", [("a", a)], [("w", w)], attrs={"axis": -1}, expect=[np.concatenate([a, w], -1)])


@case("concat_i64")
def _():
    r = rng_for("concat_i64")
    a, b = rand(r, (2,), np.int64, 0, 9), rand(r, (3,), np.int64, 0, 9)
    return single("Concat", [("a", a), ("b", b)], attrs={"axis": 0}, expect=[np.concatenate([a, b])])


def _slice(name, shape, starts, ends, axes=None, steps=None, expect=None):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), shape)
        inits = [("starts", i64(*starts)), ("ends", i64(*ends))]
        if axes is not None:
            inits.append(("axes", i64(*axes)))
        if steps is not None:
            inits.append(("steps", i64(*steps)))
        return single("Slice", [("x", x)], inits, expect=[expect(x)] if expect else None)


_slice("slice_basic", (4, 6), (1, 2), (3, 5), expect=lambda x: x[1:3, 2:5])
_slice("slice_axes", (3, 4, 5), (1,), (4,), axes=(2,), expect=lambda x: x[:, :, 1:4])
_slice("slice_negative", (4, 6), (-3, -4), (-1, 100), expect=lambda x: x[-3:-1, -4:])
_slice("slice_steps", (8, 7), (0, 1), (8, 7), axes=(0, 1), steps=(2, 3), expect=lambda x: x[0:8:2, 1:7:3])
_slice("slice_neg_step_reverse", (5, 4), (INT_MAX,), (INT_MIN,), axes=(0,), steps=(-1,),
       expect=lambda x: x[::-1])
_slice("slice_neg_step", (9, 4), (-2, 3), (1, 0), axes=(0, 1), steps=(-2, -1),
       expect=lambda x: x[-2:1:-2, 3:0:-1])
_slice("slice_neg_axis_clamp", (3, 10), (2,), (INT_MAX,), axes=(-1,), expect=lambda x: x[:, 2:])
_slice("slice_empty", (3, 4), (2,), (2,), axes=(1,), expect=lambda x: x[:, 2:2])


def _gather(name, shape, idx, axis, dtype=np.int64):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), shape)
        i = np.array(idx, dtype=dtype)
        ref = np.take(x, np.where(i < 0, i + shape[axis], i), axis=axis)
        return single("Gather", [("x", x)], [("i", i)], attrs={"axis": axis}, expect=[ref])


_gather("gather_axis0", (5, 4), [0, 3, 1], 0)
_gather("gather_negative_idx", (5, 4), [-1, 0, -5, 2], 0)
_gather("gather_axis1", (3, 5, 2), [[0, 4], [-2, 1]], 1)
_gather("gather_scalar_idx", (3, 5), 2, 1)
_gather("gather_i32_idx", (6, 3), [5, -6, 0], 0, np.int32)


@case("gather_runtime_idx")
def _():
    r = rng_for("gather_rt")
    x, i = rand(r, (6, 3)), np.array([[5, 0], [-1, 2]], np.int64)
    return single("Gather", [("x", x), ("i", i)], expect=[np.take(x, np.where(i < 0, i + 6, i), axis=0)])


@case("squeeze_axes")
def _():
    x = rand(rng_for("squeeze"), (1, 3, 1, 4))
    return single("Squeeze", [("x", x)], [("axes", i64(0, -2))], expect=[x.reshape(3, 4)])


@case("squeeze_all")
def _():
    x = rand(rng_for("squeeze_all"), (1, 3, 1, 4, 1))
    return single("Squeeze", [("x", x)], expect=[x.reshape(3, 4)])


@case("squeeze_opset11_attr")
def _():
    x = rand(rng_for("squeeze11"), (1, 3, 1, 4))
    return single("Squeeze", [("x", x)], attrs={"axes": [2]}, opset=11, expect=[x.reshape(1, 3, 4)])


@case("unsqueeze")
def _():
    x = rand(rng_for("unsqueeze"), (3, 4))
    return single("Unsqueeze", [("x", x)], [("axes", i64(0, -1))], expect=[x.reshape(1, 3, 4, 1)])


@case("unsqueeze_middle")
def _():
    x = rand(rng_for("unsqueeze_m"), (3, 4))
    return single("Unsqueeze", [("x", x)], [("axes", i64(1, 3))], expect=[x.reshape(3, 1, 4, 1)])


@case("unsqueeze_opset11_attr")
def _():
    x = rand(rng_for("unsqueeze11"), (3, 4))
    return single("Unsqueeze", [("x", x)], attrs={"axes": [1]}, opset=11, expect=[x.reshape(3, 1, 4)])


@case("shape")
def _():
    x = rand(rng_for("shape"), (2, 3, 4))
    return single("Shape", [("x", x)], expect=[i64(2, 3, 4)])


@case("shape_start_end")
def _():
    x = rand(rng_for("shape15"), (2, 3, 4, 5))
    return single("Shape", [("x", x)], attrs={"start": 1, "end": -1}, opset=15, expect=[i64(3, 4)])


@case("shape_reshape_chain")
def _():
    # The torch export pattern: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    x = rand(rng_for("shape_chain"), (2, 3, 4))
    inits = [("i0", np.array(0, np.int64)), ("ax", i64(0)), ("m1", i64(-1))]
    nodes = [node("Shape", ["x"], ["s"]), node("Gather", ["s", "i0"], ["d0"], axis=0),
             node("Unsqueeze", ["d0", "ax"], ["d0u"]), node("Concat", ["d0u", "m1"], ["ns"], axis=0),
             node("Reshape", ["x", "ns"], ["y"])]
    return Case(nodes, [("x", x)], inits, expect=[x.reshape(2, 12)])


@case("constant")
def _():
    x = rand(rng_for("constant"), (2, 3))
    c = rand(rng_for("constant_c"), (3,))
    nodes = [node("Constant", [], ["c"], value=numpy_helper.from_array(c, "c")), node("Add", ["x", "c"], ["y"])]
    return Case(nodes, [("x", x)], expect=[x + c])


@case("constant_value_float")
def _():
    x = rand(rng_for("constant_vf"), (2, 3))
    nodes = [node("Constant", [], ["c"], value_float=2.5), node("Mul", ["x", "c"], ["y"])]
    return Case(nodes, [("x", x)], expect=[x * np.float32(2.5)])


@case("constant_value_ints")
def _():
    x = rand(rng_for("constant_vi"), (2, 3, 4))
    nodes = [node("Constant", [], ["s"], value_ints=[6, 4]), node("Reshape", ["x", "s"], ["y"])]
    return Case(nodes, [("x", x)], expect=[x.reshape(6, 4)])


@case("constantofshape")
def _():
    nodes = [node("ConstantOfShape", ["s"], ["y"], value=numpy_helper.from_array(np.array([1.5], np.float32)))]
    x = rand(rng_for("cos_x"), (2, 3))
    nodes.append(node("Add", ["x", "y"], ["z"]))
    return Case(nodes, [("x", x)], [("s", i64(2, 3))], expect=[x + np.float32(1.5)])


@case("constantofshape_default_i64")
def _():
    # No value attribute: float zeros. Here int64 via the value attribute.
    nodes = [node("ConstantOfShape", ["s"], ["y"], value=numpy_helper.from_array(np.array([7], np.int64)))]
    return Case(nodes, [], [("s", i64(3, 2))], expect=[np.full((3, 2), 7, np.int64)])


@case("constantofshape_runtime_shape")
def _():
    # Shape from a graph input's shape (static after inference).
    x = rand(rng_for("cos_rt"), (2, 5))
    nodes = [node("Shape", ["x"], ["s"]), node("ConstantOfShape", ["s"], ["z"]),
             node("Add", ["x", "z"], ["y"])]
    return Case(nodes, [("x", x)], expect=[x])


@case("expand")
def _():
    x = rand(rng_for("expand"), (3, 1))
    return single("Expand", [("x", x)], [("s", i64(2, 3, 4))], expect=[np.broadcast_to(x, (2, 3, 4)).copy()])


@case("expand_smaller_shape")
def _():
    # The shape argument may have fewer dims / ones: result is the broadcast of both.
    x = rand(rng_for("expand2"), (2, 1, 4))
    return single("Expand", [("x", x)], [("s", i64(3, 1))], expect=[np.broadcast_to(x, (2, 3, 4)).copy()])


@case("split_equal")
def _():
    x = rand(rng_for("split_eq"), (2, 6))
    return single("Split", [("x", x)], attrs={"axis": 1}, n_out=3, expect=list(np.split(x, 3, axis=1)))


@case("split_sizes_input")
def _():
    x = rand(rng_for("split_sz"), (7, 3))
    return single("Split", [("x", x)], [("sp", i64(2, 4, 1))], n_out=3,
                  expect=[x[:2], x[2:6], x[6:]])


@case("split_opset11_attr")
def _():
    x = rand(rng_for("split11"), (2, 5))
    return single("Split", [("x", x)], attrs={"axis": -1, "split": [3, 2]}, n_out=2, opset=11,
                  expect=[x[:, :3], x[:, 3:]])


@case("range_f32")
def _():
    inits = [("start", np.array(1.0, np.float32)), ("limit", np.array(4.0, np.float32)),
             ("delta", np.array(0.5, np.float32))]
    return single("Range", [], inits, opset=11, expect=[np.arange(1, 4, 0.5, dtype=np.float32)])


@case("range_i64_neg")
def _():
    inits = [("start", np.array(10, np.int64)), ("limit", np.array(1, np.int64)),
             ("delta", np.array(-3, np.int64))]
    return single("Range", [], inits, opset=11, expect=[np.arange(10, 1, -3, dtype=np.int64)])


@case("tile")
def _():
    x = rand(rng_for("tile"), (2, 3))
    return single("Tile", [("x", x)], [("r", i64(2, 3))], expect=[np.tile(x, (2, 3))])


@case("tile_i32_3d")
def _():
    x = rand(rng_for("tile3"), (2, 1, 3), np.int32, -9, 9)
    return single("Tile", [("x", x)], [("r", i64(1, 4, 2))], expect=[np.tile(x, (1, 4, 2))])


def _pad(name, mode, pads, value=None, shape=(2, 3, 4, 5)):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), shape)
        inits = [("p", i64(*pads))]
        if value is not None:
            inits.append(("v", np.array(value, np.float32)))
        n = len(shape)
        npw = [(pads[i], pads[i + n]) for i in range(n)]
        if any(p < 0 for p in pads):
            ref = None
        elif mode == "constant":
            ref = np.pad(x, npw, mode="constant", constant_values=value or 0)
        else:
            ref = np.pad(x, npw, mode={"reflect": "reflect", "edge": "edge"}[mode])
        return single("Pad", [("x", x)], inits, attrs={"mode": mode}, expect=[ref] if ref is not None else None)


_pad("pad_constant", "constant", [0, 0, 1, 2, 0, 0, 2, 1], 0.5)
_pad("pad_constant_zero", "constant", [0, 1, 1, 1, 0, 0, 1, 1])
_pad("pad_reflect", "reflect", [0, 0, 2, 1, 0, 0, 1, 3])
_pad("pad_edge", "edge", [0, 0, 2, 1, 0, 0, 1, 3])
_pad("pad_negative", "constant", [0, 0, -1, 1, 0, 0, 1, -2])
_pad("pad_1d_reflect", "reflect", [3, 2], shape=(6,))


@case("pad_opset11_i64")
def _():
    x = rand(rng_for("pad_i64"), (3, 4), np.int64, -9, 9)
    return single("Pad", [("x", x)], [("p", i64(1, 0, 0, 2)), ("v", np.array(-1, np.int64))], opset=11,
                  expect=[np.pad(x, [(1, 0), (0, 2)], constant_values=-1)])


# ---------------------------------------------------------------- Resize

def _resize(name, shape, scales=None, sizes=None, opset=13, **attrs):
    @case(name)
    def build(name=name):
        x = rand(rng_for(name), shape)
        inits = [("roi", np.array([], np.float32))]
        names = ["x", "roi"]
        if scales is not None:
            inits.append(("scales", np.array(scales, np.float32)))
            names.append("scales")
        else:
            inits.append(("sizes", i64(*sizes)))
            names += ["", "sizes"]
        return single("Resize", [("x", x)], inits, attrs=attrs, node_ins=names, opset=opset)


_resize("resize_nearest_up2_asym_floor", (1, 2, 3, 4), scales=[1, 1, 2, 2], mode="nearest",
        coordinate_transformation_mode="asymmetric", nearest_mode="floor")
_resize("resize_nearest_default", (1, 2, 3, 4), scales=[1, 1, 2, 3], mode="nearest")
_resize("resize_nearest_half_pixel_ceil", (1, 1, 4, 5), scales=[1, 1, 1.5, 0.6], mode="nearest",
        coordinate_transformation_mode="half_pixel", nearest_mode="ceil")
_resize("resize_nearest_align_corners", (1, 1, 3, 3), sizes=[1, 1, 5, 7], mode="nearest",
        coordinate_transformation_mode="align_corners", nearest_mode="round_prefer_ceil")
_resize("resize_nearest_sizes_down", (1, 2, 8, 8), sizes=[1, 2, 3, 5], mode="nearest")
_resize("resize_nearest_pytorch_half_pixel", (1, 2, 4, 4), scales=[1, 1, 2, 2], mode="nearest",
        coordinate_transformation_mode="pytorch_half_pixel", nearest_mode="round_prefer_floor")
_resize("resize_linear_half_pixel", (1, 2, 3, 4), scales=[1, 1, 2, 2], mode="linear")
_resize("resize_linear_align_corners", (1, 1, 4, 4), sizes=[1, 1, 7, 5], mode="linear",
        coordinate_transformation_mode="align_corners")


@case("resize_opset11_scales")
def _():
    x = rand(rng_for("resize11"), (1, 2, 3, 3))
    inits = [("roi", np.array([], np.float32)), ("scales", np.array([1, 1, 2, 2], np.float32))]
    return single("Resize", [("x", x)], inits, attrs={"mode": "nearest"}, opset=11)


# ---------------------------------------------------------------- small multi-op graphs

@case("conv_bn_relu_pool")
def _():
    r = rng_for("cbrp")
    x = rand(r, (1, 3, 12, 12))
    c = 8
    inits = [("w", rand(r, (c, 3, 3, 3), lo=-0.5, hi=0.5)), ("b", rand(r, (c,))),
             ("scale", rand(r, (c,), lo=0.5, hi=1.5)), ("bias", rand(r, (c,))),
             ("mean", rand(r, (c,))), ("var", rand(r, (c,), lo=0.5, hi=2))]
    nodes = [node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             node("BatchNormalization", ["c", "scale", "bias", "mean", "var"], ["n"]),
             node("Relu", ["n"], ["r"]),
             node("MaxPool", ["r"], ["y"], kernel_shape=[2, 2], strides=[2, 2])]
    return Case(nodes, [("x", x)], inits)


@case("multi_output_shared")
def _():
    # Two graph outputs, one of them also consumed by another node.
    r = rng_for("multi_out")
    a, b = rand(r, (3, 4)), rand(r, (3, 4))
    nodes = [node("Add", ["a", "b"], ["s"]), node("Mul", ["s", "a"], ["p"])]
    return Case(nodes, [("a", a), ("b", b)], outputs=["p", "s"], expect=[(a + b) * a, a + b])


@case("output_is_input")
def _():
    # A graph output that is directly a graph input (through Identity) plus a computed one.
    x = rand(rng_for("out_in"), (2, 3))
    nodes = [node("Identity", ["x"], ["y0"]), node("Neg", ["x"], ["y1"])]
    return Case(nodes, [("x", x)], outputs=["y0", "y1"], expect=[x, -x])


@case("scalar_input")
def _():
    r = rng_for("scalar_in")
    a, b = np.array(3.5, np.float32), rand(r, (4,))
    return single("Mul", [("a", a), ("b", b)], expect=[a * b])


# ---------------------------------------------------------------- writer

# (op, dtype) pairs for which ONNX Runtime 1.20's CPU provider has no kernel: the reference
# comes from numpy instead (found by running every case through ORT, see --probe-ort).
_NARROW = ("i8", "i16", "u8", "u16")
NO_ORT_KERNEL = {f"{op}_{dt}" for op, dts in {
    "add": _NARROW + ("u32", "u64"), "sub": _NARROW + ("u32", "u64"),
    "mul": _NARROW + ("u32", "u64"), "div": _NARROW + ("u32", "u64"),
    "equal": _NARROW + ("u32", "u64"), "less": _NARROW + ("u32", "u64"),
    "max": _NARROW, "min": _NARROW, "neg": ("i16",),
    "where": ("i8", "i16", "u16", "u32", "u64")}.items() for dt in dts}
# ORT 1.20 rejects ReduceSum with noop_with_empty_axes=1 and no axes ("Reduction on all axes,
# output size should be 1"), although the spec says the op is then the identity.
NO_ORT_KERNEL.add("reducesum_noop_empty_axes")

# Cases not run against dlc at all (none yet).
META_OVERRIDES = {}


def build_case(name):
    c = CASES[name]()
    graph_inputs = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype], a.shape) for n, a in c.inputs]
    inits = [numpy_helper.from_array(np.asarray(a), n) for n, a in c.inits]
    outputs = [helper.make_empty_tensor_value_info(o) for o in c.outputs]
    g = helper.make_graph(c.nodes, name, graph_inputs, outputs, initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", c.opset)],
                          producer_name="dlc-gen_op_models")
    m.ir_version = 8  # what ONNX 1.12 writes; ORT 1.20 reads up to 10
    inferred = onnx.shape_inference.infer_shapes(m, strict_mode=True, data_prop=True)
    for k, o in enumerate(inferred.graph.output):
        tt = o.type.tensor_type
        if not tt.elem_type:
            raise RuntimeError(f"{name}: shape inference gave no type for output {o.name}")
        if not tt.HasField("shape"):
            # ONNX 1.12 cannot propagate e.g. Constant(value_ints) into Reshape: take the shape
            # from the numpy reference.
            if c.expect is None:
                raise RuntimeError(f"{name}: shape inference gave no shape for output {o.name}")
            for d in np.shape(c.expect[k]):
                tt.shape.dim.add().dim_value = d
    del m.graph.output[:]
    m.graph.output.extend(inferred.graph.output)  # typed outputs, no value_info hints
    onnx.checker.check_model(m, full_check=True)
    return c, m


def write_case(outdir, name):
    c, m = build_case(name)
    d = os.path.join(outdir, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    onnx.save(m, os.path.join(d, "model.onnx"))
    for i, (_, a) in enumerate(c.inputs):
        np.save(os.path.join(d, f"input_{i}.npy"), np.asarray(a))
    ref = c.ref
    if name in NO_ORT_KERNEL:
        ref = "numpy"
    if c.expect is not None:
        os.makedirs(os.path.join(d, "numpy"))
        for k, e in enumerate(c.expect):
            np.save(os.path.join(d, "numpy", f"output_{k}.npy"), np.asarray(e))
    if ref == "numpy" and c.expect is None:
        raise RuntimeError(f"{name}: numpy reference requested but the case has none")
    meta = {"rtol": c.rtol, "atol": c.atol, "ref": ref, "why": c.why, "opset": c.opset,
            "n_inputs": len(c.inputs), "n_outputs": len(c.outputs)}
    meta.update(META_OVERRIDES.get(name, {}))
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


def script_hash():
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    h.update(f"onnx {onnx.__version__} numpy {np.__version__}".encode())
    return h.hexdigest()


def main(argv):
    ap = argparse.ArgumentParser(description="generate dlc's per-op ONNX test models")
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--list", action="store_true", help="print case names and exit")
    ap.add_argument("--only", help="comma-separated case names")
    ap.add_argument("--force", action="store_true", help="regenerate even if up to date")
    a = ap.parse_args(argv)
    if a.list:
        print("\n".join(CASES))
        return 0
    if not a.outdir:
        ap.error("OUTDIR is required")
    names = a.only.split(",") if a.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        ap.error(f"unknown case(s): {', '.join(unknown)}")
    stamp = os.path.join(a.outdir, ".stamp")
    h = script_hash()
    if not a.only and not a.force and os.path.exists(stamp):
        with open(stamp) as f:
            if f.read().strip() == h and all(os.path.exists(os.path.join(a.outdir, n, "meta.json"))
                                             for n in names):
                return 0
    os.makedirs(a.outdir, exist_ok=True)
    if not a.only:
        # Drop cases that no longer exist so that nothing stale gets tested.
        for d in os.listdir(a.outdir):
            if d not in CASES and os.path.exists(os.path.join(a.outdir, d, "meta.json")):
                shutil.rmtree(os.path.join(a.outdir, d))
    for n in names:
        write_case(a.outdir, n)
    if not a.only:
        with open(stamp, "w") as f:
            f.write(h + "\n")
    print(f"gen_op_models: wrote {len(names)} models to {a.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
