"""The seed models quantized by onnxruntime's own tools, and onnxruntime's logits for them.

Reads the models folder (POCKETNN_SHARED_MODELS, default `<repo>/../shared/models`; see its README.md) and writes,
for NAME in seed_mlp, seed_cnn:

    OUT/ort_quantized/NAME_qdq.onnx              quantize_static, QuantFormat.QDQ, per-tensor weights (ORT's default)
    OUT/ort_quantized/NAME_qdq_per_channel.onnx  the same with per_channel=True
    OUT/ort_quantized/NAME_qop.onnx              quantize_static, QuantFormat.QOperator (QLinearConv, QLinearMatMul ...)
    OUT/ort_quantized/NAME_qop_per_channel.onnx  the same with per_channel=True
    OUT/ort_quantized/NAME_dynamic.onnx          quantize_dynamic (int8 weights, activations quantized at run time)
    OUT/ort_quantized/<model>_logits.npy         float32 [1000, 10]: onnxruntime's logits of <model> on
                                                 mnist5k_test_x.npy, in batches of 100 (a dynamically quantized
                                                 model's activation ranges span the batch, so a test must run the
                                                 same batches to get the same numbers)
    OUT/ort_quantized/manifest.json              models, accuracies, settings

Quantization settings: onnxruntime's defaults (int8 activations and weights, MinMax calibration, symmetric int8
weights) except where named above. The static models are calibrated on the first 200 images of
mnist5k_train_x.npy (batch 1, as a CalibrationDataReader feeds them). Every model goes through `quant_pre_process`
first, as onnxruntime recommends (symbolic shape inference is skipped: the seed models' only dynamic axis is the
batch, which onnx shape inference handles, and it needs sympy).

onnxruntime runs as for the other generated data: CPUExecutionProvider, 1 thread, graph optimisations disabled, so
the logits are those of the graph as written (QuantizeLinear/DequantizeLinear pairs computed as such, not fused into
integer kernels). Checks: every quantized model's test accuracy is within 2 points of the float model's.

Usage: python ort_quantized.py [OUT]     (OUT defaults to <repo>/testdata)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    QuantFormat,
    quant_pre_process,
    quantize_dynamic,
    quantize_static,
)

from common import REPO_ROOT, Timer, env_path, fresh_dir, log, model_op_types, output_root, sha256_file, write_json

import onnx

CALIBRATION_IMAGES = 200
BATCH = 100
ACCURACY_TOLERANCE = 0.02


class MnistReader(CalibrationDataReader):
    """The first CALIBRATION_IMAGES training images, one per call."""

    def __init__(self, images: np.ndarray, input_name: str) -> None:
        self.images = images
        self.input_name = input_name
        self.index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.index >= len(self.images):
            return None
        batch = self.images[self.index : self.index + 1]
        self.index += 1
        return {self.input_name: batch}

    def rewind(self) -> None:
        self.index = 0


def session(path: Path) -> ort.InferenceSession:
    """An onnxruntime session computing the plain graph on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def logits_of(path: Path, images: np.ndarray) -> np.ndarray:
    model = session(path)
    name = model.get_inputs()[0].name
    logits = np.concatenate(
        [model.run(None, {name: images[start : start + BATCH]})[0] for start in range(0, len(images), BATCH)]
    )
    if logits.dtype != np.float32 or logits.shape != (len(images), 10) or not np.all(np.isfinite(logits)):
        raise ValueError(f"{path.name}: unexpected logits {logits.dtype} {logits.shape}")
    return logits


def quantize_all(source: Path, prepared: Path, out: Path, name: str, calibration: np.ndarray) -> dict[str, Path]:
    """Every quantized variant of `name`, written to `out`."""
    quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    input_name = session(prepared).get_inputs()[0].name
    models: dict[str, Path] = {}
    for fmt, fmt_name in ((QuantFormat.QDQ, "qdq"), (QuantFormat.QOperator, "qop")):
        for per_channel in (False, True):
            variant = f"{name}_{fmt_name}" + ("_per_channel" if per_channel else "")
            path = out / f"{variant}.onnx"
            quantize_static(
                str(prepared),
                str(path),
                MnistReader(calibration, input_name),
                quant_format=fmt,
                per_channel=per_channel,
            )
            models[variant] = path
    path = out / f"{name}_dynamic.onnx"
    quantize_dynamic(str(prepared), str(path))
    models[f"{name}_dynamic"] = path
    return models


def main() -> None:
    timer = Timer()
    shared = env_path("POCKETNN_SHARED_MODELS", REPO_ROOT.parent / "shared" / "models")
    if not (shared / "README.md").is_file():
        raise SystemExit(f"shared models folder not found: {shared} (set POCKETNN_SHARED_MODELS)")
    out = fresh_dir(output_root(sys.argv) / "ort_quantized")
    images = np.load(shared / "mnist5k_test_x.npy")
    labels = np.load(shared / "mnist5k_test_y.npy")
    calibration = np.load(shared / "mnist5k_train_x.npy")[:CALIBRATION_IMAGES]
    manifest: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name in ("seed_mlp", "seed_cnn"):
            float_accuracy = float(np.mean(np.argmax(logits_of(shared / f"{name}.onnx", images), axis=1) == labels))
            prepared = Path(scratch) / f"{name}_prepared.onnx"
            for variant, path in quantize_all(shared / f"{name}.onnx", prepared, out, name, calibration).items():
                logits = logits_of(path, images)
                accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
                if abs(accuracy - float_accuracy) > ACCURACY_TOLERANCE:
                    raise ValueError(f"{variant}: accuracy {accuracy}, float model {float_accuracy}")
                np.save(out / f"{variant}_logits.npy", np.ascontiguousarray(logits))
                ops = model_op_types(onnx.load(str(path)))
                log(f"ort_quantized: {variant}: accuracy {accuracy:.3f} (float {float_accuracy:.3f}), ops {ops}")
                manifest[variant] = {
                    "source_sha256": sha256_file(shared / f"{name}.onnx"),
                    "accuracy": accuracy,
                    "float_accuracy": float_accuracy,
                    "ops": ops,
                    "shape": list(logits.shape),
                }
    write_json(
        out / "manifest.json",
        {
            "generator": "scripts/testdata/ort_quantized.py",
            "onnxruntime_version": ort.__version__,
            "onnxruntime_settings": "CPUExecutionProvider, 1 thread, sequential, graph optimisations disabled",
            "calibration": f"first {CALIBRATION_IMAGES} images of mnist5k_train_x.npy, batch 1, MinMax",
            "inputs_sha256": {
                file: sha256_file(shared / file)
                for file in ("mnist5k_train_x.npy", "mnist5k_test_x.npy", "mnist5k_test_y.npy")
            },
            "models": manifest,
        },
    )
    log(f"ort_quantized: wrote {len(manifest)} models in {timer.seconds():.1f} s")


if __name__ == "__main__":
    main()
