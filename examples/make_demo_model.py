#!/usr/bin/python3
"""Writes the demo model: a small MNIST-style CNN with magnitude-pruned weights (70% zeros),
plus one input. Usage: make_demo_model.py OUTDIR  ->  OUTDIR/cnn.onnx, OUTDIR/input_0.npy"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(0)


def pruned(shape, fan_in, sparsity=0.7):
    w = rng.standard_normal(shape).astype(np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    w[np.abs(w) < np.quantile(np.abs(w), sparsity)] = 0  # magnitude pruning
    return w


inits = [
    numpy_helper.from_array(pruned((8, 1, 3, 3), 9), "conv1.weight"),
    numpy_helper.from_array(np.zeros(8, np.float32), "conv1.bias"),
    numpy_helper.from_array(pruned((16, 8, 3, 3), 72), "conv2.weight"),
    numpy_helper.from_array(np.full(16, 0.01, np.float32), "conv2.bias"),
    numpy_helper.from_array(pruned((10, 16 * 7 * 7), 784), "fc.weight"),
    numpy_helper.from_array(np.zeros(10, np.float32), "fc.bias"),
    numpy_helper.from_array(np.array([1, -1], np.int64), "flat_shape"),
]
nodes = [
    helper.make_node("Conv", ["image", "conv1.weight", "conv1.bias"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
    helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Reshape", ["p2", "flat_shape"], ["flat"], name="flatten"),
    helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
    helper.make_node("Softmax", ["logits"], ["probs"], name="softmax", axis=1),
]
graph = helper.make_graph(
    nodes, "demo_cnn",
    [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 28, 28])],
    [helper.make_tensor_value_info("probs", TensorProto.FLOAT, [1, 10])],
    inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="dlc-demo")
onnx.checker.check_model(model)
onnx.save(model, os.path.join(out, "cnn.onnx"))
np.save(os.path.join(out, "input_0.npy"), rng.random((1, 1, 28, 28), dtype=np.float32))
print(f"wrote {out}/cnn.onnx and {out}/input_0.npy")
