#!/usr/bin/python3
"""Benchmark models: the torch exports of tests/e2e/gen_torch_models.py (MLP, ResNet-18,
MobileNetV2, TransformerEncoderLayer) and a 1024x1024x1024 MatMul (B a constant weight).

    make_models.py OUTDIR        writes OUTDIR/<name>/{model.onnx,input_0.npy}
"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH = ["mlp", "resnet18", "mobilenet_v2", "transformer_opset17"]


def matmul(outdir, n=1024):
    d = os.path.join(outdir, f"matmul{n}")
    os.makedirs(d, exist_ok=True)
    r = np.random.default_rng(0)
    b = r.standard_normal((n, n), dtype=np.float32)
    g = helper.make_graph([helper.make_node("MatMul", ["a", "b"], ["c"])], "matmul",
                          [helper.make_tensor_value_info("a", TensorProto.FLOAT, [n, n])],
                          [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
                          [numpy_helper.from_array(b, "b")])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]),
              os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "input_0.npy"), r.standard_normal((n, n), dtype=np.float32))


def main():
    out = sys.argv[1]
    subprocess.run(["/usr/bin/python3", os.path.join(HERE, "..", "tests", "e2e", "gen_torch_models.py"),
                    out, "--only", ",".join(TORCH)], check=True)
    matmul(out)


if __name__ == "__main__":
    main()
