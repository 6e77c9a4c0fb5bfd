"""Writes seed_mlp_digits_logits.txt: onnxruntime's logits for models/digits.npy
with models/seed_mlp.onnx, the independent reference the C ABI tests (Rust, C,
C++, Java) compare pocketnn's outputs against.

Run from the repository root with the project venv (onnxruntime 1.32.0):
    /work/venv/bin/python crates/ffi/tests/data/make_reference.py
"""
import numpy as np
import onnxruntime as ort

digits = np.load("models/digits.npy")
session = ort.InferenceSession("models/seed_mlp.onnx", providers=["CPUExecutionProvider"])
(logits,) = session.run(["logits"], {"input": digits})
with open("crates/ffi/tests/data/seed_mlp_digits_logits.txt", "w") as out:
    out.write(f"# onnxruntime {ort.__version__} logits of models/seed_mlp.onnx for models/digits.npy\n")
    out.write(f"# {logits.shape[0]} rows (digits 0..9) x {logits.shape[1]} columns, written by make_reference.py\n")
    for row in logits:
        out.write(" ".join(f"{v:.9g}" for v in row) + "\n")
