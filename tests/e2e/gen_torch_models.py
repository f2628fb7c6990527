#!/usr/bin/python3
"""Export the end-to-end test networks with torch.onnx (random, seeded weights; no downloads).

    gen_torch_models.py OUTDIR [--only A,B] [--force]
    gen_torch_models.py --list

Writes OUTDIR/<name>/{model.onnx,input_0.npy,meta.json}, the same layout as gen_op_models.py.
A model whose meta.json carries this script's hash is up to date and not exported again
(ResNet-18 and MobileNetV2 take a while). The unsupported-op models are for the error tests:
they have no input files and are never run for results.
"""
import argparse
import hashlib
import json
import os
import shutil
import sys
import warnings

import numpy as np

MODELS = {}  # name -> (builder, meta overrides)


def model(name, **meta):
    def reg(fn):
        MODELS[name] = (fn, meta)
        return fn
    return reg


def script_hash():
    import torch
    import torchvision
    h = hashlib.sha256()
    with open(__file__, "rb") as f:
        h.update(f.read())
    h.update(f"torch {torch.__version__} torchvision {torchvision.__version__}".encode())
    return h.hexdigest()


# Every builder returns (module, example input tensor, opset).

@model("mlp")
def _mlp():
    import torch.nn as nn
    import torch
    m = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
    return m, torch.rand(1, 784), 13


@model("mnist_cnn")
def _cnn():
    import torch
    import torch.nn as nn
    m = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 7 * 7, 10), nn.Softmax(dim=1))
    return m, torch.rand(1, 1, 28, 28), 13


# Deep nets: ~20 layers of long dot products whose summation order differs between ORT (blocked
# GEMM/Winograd-like kernels) and dlc, so float32 rounding differences add up past 1e-4 absolute.
def calibrate_bn(m, shape):
    """Give BatchNorm layers realistic statistics. With torchvision's random init and default
    running stats (mean 0, var 1) activations shrink layer by layer (MobileNetV2's logits come
    out near 1e-9, so any tolerance passes and the test could not fail). One forward pass in
    training mode with momentum 1 sets the running stats to the batch statistics, so every layer
    is normalised; random affine parameters make the Conv+BN folding non-trivial."""
    import torch
    with torch.no_grad():
        for b in m.modules():
            if isinstance(b, torch.nn.BatchNorm2d):
                b.momentum = 1.0
                b.weight.uniform_(0.5, 1.5)
                b.bias.uniform_(-0.2, 0.2)
        m.train()
        m(torch.randn(4, *shape[1:]))
    m.eval()
    return m


@model("resnet18", rtol=1e-3, atol=1e-3,
       why="20 conv layers: float32 reassociation error accumulates beyond atol 1e-4")
def _resnet18():
    import torch
    import torchvision
    m = calibrate_bn(torchvision.models.resnet18(weights=None), (1, 3, 224, 224))
    return m, torch.randn(1, 3, 224, 224), 13


@model("mobilenet_v2", rtol=1e-3, atol=1e-3,
       why="53 conv layers: float32 reassociation error accumulates beyond atol 1e-4")
def _mobilenet_v2():
    import torch
    import torchvision
    # Opset 13 so that ReLU6 becomes Clip with min/max inputs.
    m = calibrate_bn(torchvision.models.mobilenet_v2(weights=None), (1, 3, 224, 224))
    return m, torch.randn(1, 3, 224, 224), 13


def _transformer(opset):
    import torch
    import torch.nn as nn
    m = nn.TransformerEncoderLayer(d_model=64, nhead=4, dim_feedforward=128, batch_first=True)
    return m, torch.randn(1, 16, 64), opset


@model("transformer_opset13")
def _tr13():
    return _transformer(13)


@model("transformer_opset17")
def _tr17():
    return _transformer(17)


@model("unsupported_nms", error=True, expect_op="NonMaxSuppression")
def _nms():
    # torchvision.ops.nms exports as NonMaxSuppression, which dlc does not implement.
    import torch
    import torchvision

    class Nms(torch.nn.Module):
        def forward(self, boxes, scores):
            return torchvision.ops.nms(boxes, scores, 0.5)

    g = torch.Generator().manual_seed(0)
    xy = torch.rand(10, 2, generator=g) * 50
    boxes = torch.cat([xy, xy + 10 + torch.rand(10, 2, generator=g) * 20], dim=1)
    return Nms(), (boxes, torch.rand(10, generator=g)), 13


def write_custom_domain_model(d):
    # An op from a custom domain: no runtime knows it; dlc must name it in its error.
    from onnx import TensorProto, helper
    import onnx
    n1 = helper.make_node("Relu", ["x"], ["t"], name="relu0")
    n2 = helper.make_node("FancyOp", ["t"], ["y"], name="fancy0", domain="com.example")
    g = helper.make_graph([n1, n2], "custom", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 1)])
    onnx.save(m, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "input_0.npy"), np.ones((2, 3), np.float32))
    return 1


def export(name, outdir, h):
    import torch
    fn, meta = MODELS[name]
    d = os.path.join(outdir, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    torch.manual_seed(0)
    np.random.seed(0)
    mod, example, opset = fn()
    mod.eval()
    ins = example if isinstance(example, tuple) else (example,)
    path = os.path.join(d, "model.onnx")
    # Not under torch.no_grad(): that would route TransformerEncoderLayer to its fused fast path
    # (aten::_transformer_encoder_layer_fwd), which has no ONNX export.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(mod, ins, path, opset_version=opset, do_constant_folding=True,
                          input_names=[f"input_{i}" for i in range(len(ins))])
    for i, t in enumerate(ins):
        np.save(os.path.join(d, f"input_{i}.npy"), t.numpy())
    if not meta.get("error"):
        # torch's own result: the oracle self-check compares it with ONNX Runtime's.
        with torch.no_grad():
            res = mod(*ins)
        os.makedirs(os.path.join(d, "numpy"))
        for k, t in enumerate(res if isinstance(res, (tuple, list)) else (res,)):
            np.save(os.path.join(d, "numpy", f"output_{k}.npy"), t.numpy())
    import onnx
    m = onnx.load(path)
    ops = sorted({n.op_type for n in m.graph.node})
    out = {"rtol": meta.get("rtol"), "atol": meta.get("atol"), "why": meta.get("why"),
           "ref": "ort", "opset": opset, "n_inputs": len(ins), "n_outputs": len(m.graph.output),
           "ops": ops, "error": meta.get("error", False), "expect_op": meta.get("expect_op"),
           "hash": h}
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(out, f, indent=1)
    return ops


def up_to_date(outdir, name, h):
    try:
        with open(os.path.join(outdir, name, "meta.json")) as f:
            return json.load(f).get("hash") == h and os.path.exists(os.path.join(outdir, name, "model.onnx"))
    except (OSError, ValueError):
        return False


def main(argv):
    ap = argparse.ArgumentParser(description="export dlc's end-to-end torch models")
    ap.add_argument("outdir", nargs="?")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--only")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args(argv)
    names = list(MODELS) + ["unsupported_custom_domain"]
    if a.list:
        print("\n".join(names))
        return 0
    if not a.outdir:
        ap.error("OUTDIR is required")
    if a.only:
        names = a.only.split(",")
    h = script_hash()
    os.makedirs(a.outdir, exist_ok=True)
    for n in names:
        if n == "unsupported_custom_domain":
            d = os.path.join(a.outdir, n)
            if a.force or not up_to_date(a.outdir, n, h):
                shutil.rmtree(d, ignore_errors=True)
                os.makedirs(d)
                write_custom_domain_model(d)
                with open(os.path.join(d, "meta.json"), "w") as f:
                    json.dump({"ref": "none", "error": True, "expect_op": "FancyOp", "n_inputs": 1,
                               "n_outputs": 1, "hash": h}, f, indent=1)
            continue
        if n not in MODELS:
            ap.error(f"unknown model {n}")
        if not a.force and up_to_date(a.outdir, n, h):
            continue
        ops = export(n, a.outdir, h)
        print(f"gen_torch_models: {n}: {', '.join(ops)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
