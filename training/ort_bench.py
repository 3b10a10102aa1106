#!/usr/bin/env python3
"""onnxruntime's side of `hubrig bench inference`.

Reads {"model": path, "inputs": [[...F floats], ...], "calls": N} on stdin, runs the model
once per call on a single input (the way the hub calls its runtime), and prints
{"median_us": ..., "outputs": [[...], ...]} with the outputs for each input.
"""
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def main():
    request = json.load(sys.stdin)
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(request["model"], options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    inputs = [np.array(v, dtype=np.float32)[None, :] for v in request["inputs"]]
    for x in inputs[:50]:
        session.run(None, {name: x})
    times = []
    for i in range(request["calls"]):
        x = inputs[i % len(inputs)]
        start = time.perf_counter_ns()
        session.run(None, {name: x})
        times.append(time.perf_counter_ns() - start)
    outputs = [session.run(None, {name: x})[0][0].astype(float).tolist() for x in inputs]
    json.dump({"median_us": float(np.median(times)) / 1000, "outputs": outputs}, sys.stdout)


if __name__ == "__main__":
    main()
