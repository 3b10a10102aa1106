#!/usr/bin/env python3
"""Writes fixtures/models/bad/: one broken package per load-time error the hub must name.

Each is the furnace package with one defect:
    unsupported-operator   a Relu node turned into LeakyRelu
    dynamic-shape          the input's feature dimension made symbolic
    mismatched-shape       the first weight matrix one column short
    nan-initializer        a NaN in a bias
    truncated-file         model.onnx cut in half
    missing-manifest-field manifest.json without "threshold"
    golden-mismatch        one golden output value changed
Run: training/.venv/bin/python training/make_bad_packages.py fixtures/models/furnace fixtures/models/bad
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper


def copy(source, target):
    if os.path.exists(target):
        shutil.rmtree(target)
    shutil.copytree(source, target)


def edit_model(directory, change):
    path = os.path.join(directory, "model.onnx")
    model = onnx.load(path)
    change(model)
    with open(path, "wb") as handle:
        handle.write(model.SerializeToString())


def main():
    source, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)

    def unsupported(model):
        node = next(n for n in model.graph.node if n.op_type == "Relu" and n.name.startswith("relu"))
        node.op_type = "LeakyRelu"

    def dynamic(model):
        model.graph.input[0].type.tensor_type.shape.dim[1].dim_param = "features"

    def mismatched(model):
        for index, tensor in enumerate(model.graph.initializer):
            if tensor.name == "W0":
                array = numpy_helper.to_array(tensor)[:, :-1]
                model.graph.initializer[index].CopyFrom(numpy_helper.from_array(array, "W0"))

    def nan(model):
        for index, tensor in enumerate(model.graph.initializer):
            if tensor.name == "B1":
                array = numpy_helper.to_array(tensor).copy()
                array[2] = np.nan
                model.graph.initializer[index].CopyFrom(numpy_helper.from_array(array, "B1"))

    for name, change in [("unsupported-operator", unsupported), ("dynamic-shape", dynamic),
                         ("mismatched-shape", mismatched), ("nan-initializer", nan)]:
        target = os.path.join(out, name)
        copy(source, target)
        edit_model(target, change)

    target = os.path.join(out, "truncated-file")
    copy(source, target)
    path = os.path.join(target, "model.onnx")
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])

    target = os.path.join(out, "missing-manifest-field")
    copy(source, target)
    path = os.path.join(target, "manifest.json")
    manifest = json.load(open(path))
    del manifest["threshold"]
    json.dump(manifest, open(path, "w"), indent=2)

    target = os.path.join(out, "golden-mismatch")
    copy(source, target)
    path = os.path.join(target, "golden.json")
    golden = json.load(open(path))
    golden["windows"][1]["output"][3] += 0.25
    json.dump(golden, open(path, "w"))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
