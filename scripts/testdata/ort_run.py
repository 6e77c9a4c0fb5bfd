"""Run an ONNX model with onnxruntime on one .npy input and save its first output.

Used by tests/distill.rs to check that a student written by `pocketnn distill` is a standard ONNX model: the
model is first checked with `onnx.checker.check_model(full_check=True)`, then run by onnxruntime's
CPUExecutionProvider (graph optimisations off, so the numbers are the plain op-by-op ones).

Usage: python ort_run.py MODEL.onnx INPUT.npy OUTPUT.npy
"""

from __future__ import annotations

import sys

import numpy as np
import onnx
import onnxruntime as ort


def main() -> None:
    model_path, input_path, output_path = sys.argv[1:4]
    onnx.checker.check_model(onnx.load(model_path), full_check=True)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    (name,) = [i.name for i in session.get_inputs()]
    (output,) = session.run(None, {name: np.load(input_path)})[:1]
    np.save(output_path, np.ascontiguousarray(output, dtype=np.float32))


if __name__ == "__main__":
    main()
