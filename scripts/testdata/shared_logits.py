"""Reference logits of the shared real models, computed by onnxruntime.

Reads the models folder (POCKETNN_SHARED_MODELS, default `<repo>/../shared/models`; see its README.md) and writes

    OUT/shared/seed_mlp_logits.npy           float32 [1000, 10]   seed_mlp.onnx on mnist5k_test_x.npy, one batch
    OUT/shared/seed_cnn_logits.npy           float32 [1000, 10]   seed_cnn.onnx on mnist5k_test_x.npy, one batch
    OUT/shared/efficientnet_lite0_logits.npy float32 [8, 1000]    efficientnet_lite0.onnx on photos_x.npy, batch 1
    OUT/shared/manifest.json                 inputs' SHA-256, accuracies and the checks below

onnxruntime runs as for the other generated data: CPUExecutionProvider, 1 thread, graph optimisations disabled.
Checks (failures stop the script): MNIST test accuracy equals the README's (0.934 and 0.971); the one-batch
logits agree with row-by-row runs; the EfficientNet logits agree with the shipped `photos_ort_logits.npy`
(made with onnxruntime's default optimisations) within 1e-3 and give the same top-1.

Usage: python shared_logits.py [OUT]     (OUT defaults to <repo>/testdata)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from common import REPO_ROOT, Timer, env_path, fresh_dir, log, output_root, sha256_file, write_json

MNIST_ACCURACY = {"seed_mlp": 0.934, "seed_cnn": 0.971}
PHOTO_TOLERANCE = 1e-3
BATCH_TOLERANCE = 1e-4


def session(path: Path) -> ort.InferenceSession:
    """An onnxruntime session computing the plain graph on one thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def run_rows(model: ort.InferenceSession, rows: np.ndarray) -> np.ndarray:
    """Logits of each row run on its own (batch 1), stacked."""
    name = model.get_inputs()[0].name
    return np.concatenate([model.run(None, {name: rows[index : index + 1]})[0] for index in range(len(rows))])


def mnist_logits(models: Path, out: Path, name: str, images: np.ndarray, labels: np.ndarray) -> dict[str, Any]:
    """Write `<name>_logits.npy` for all test images (one batch) and check it."""
    timer = Timer()
    model = session(models / f"{name}.onnx")
    input_name = model.get_inputs()[0].name
    logits = model.run(None, {input_name: images})[0]
    if logits.dtype != np.float32 or logits.shape != (len(images), 10):
        raise ValueError(f"{name}: unexpected logits {logits.dtype} {logits.shape}")
    if not np.all(np.isfinite(logits)):
        raise ValueError(f"{name}: NaN or inf in logits")
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    if round(accuracy, 3) != MNIST_ACCURACY[name]:
        raise ValueError(f"{name}: accuracy {accuracy} but the README says {MNIST_ACCURACY[name]}")
    batch_difference = float(np.abs(run_rows(model, images) - logits).max())
    if batch_difference > BATCH_TOLERANCE:
        raise ValueError(f"{name}: batch-1 and batch-{len(images)} logits differ by {batch_difference}")
    np.save(out / f"{name}_logits.npy", np.ascontiguousarray(logits))
    log(
        f"shared: {name}: accuracy {accuracy:.3f}, max |logit| {float(np.abs(logits).max()):.3f}, "
        f"batch-1 vs batch-{len(images)} max diff {batch_difference:.2e}, {timer.seconds():.1f} s"
    )
    return {
        "model_sha256": sha256_file(models / f"{name}.onnx"),
        "input": "mnist5k_test_x.npy, all rows in one batch",
        "shape": list(logits.shape),
        "accuracy": accuracy,
        "max_abs_logit": float(np.abs(logits).max()),
        "max_diff_batch1_vs_one_batch": batch_difference,
    }


def efficientnet_logits(models: Path, out: Path) -> dict[str, Any]:
    """Write `efficientnet_lite0_logits.npy` (one photo per run) and compare with the shipped logits."""
    timer = Timer()
    photos = np.load(models / "photos_x.npy")
    shipped = np.load(models / "photos_ort_logits.npy")
    logits = run_rows(session(models / "efficientnet_lite0.onnx"), photos)
    if logits.dtype != np.float32 or logits.shape != shipped.shape:
        raise ValueError(f"efficientnet_lite0: unexpected logits {logits.dtype} {logits.shape}")
    difference = float(np.abs(logits - shipped).max())
    same_top1 = bool(np.array_equal(np.argmax(logits, axis=1), np.argmax(shipped, axis=1)))
    if difference > PHOTO_TOLERANCE or not same_top1:
        raise ValueError(
            f"efficientnet_lite0: differs from photos_ort_logits.npy by {difference}, top-1 same: {same_top1}"
        )
    np.save(out / "efficientnet_lite0_logits.npy", np.ascontiguousarray(logits))
    log(
        f"shared: efficientnet_lite0: max |logit| {float(np.abs(logits).max()):.3f}, max diff vs "
        f"photos_ort_logits.npy {difference:.2e}, top-1 same: {same_top1}, {timer.seconds():.1f} s"
    )
    return {
        "model_sha256": sha256_file(models / "efficientnet_lite0.onnx"),
        "input": "photos_x.npy, one photo per run (the model's batch is fixed at 1)",
        "shape": list(logits.shape),
        "top1": [int(index) for index in np.argmax(logits, axis=1)],
        "max_abs_logit": float(np.abs(logits).max()),
        "max_diff_vs_photos_ort_logits": difference,
    }


def main() -> None:
    timer = Timer()
    models = env_path("POCKETNN_SHARED_MODELS", REPO_ROOT.parent / "shared" / "models")
    if not (models / "README.md").is_file():
        raise SystemExit(f"shared models folder not found: {models} (set POCKETNN_SHARED_MODELS)")
    out = fresh_dir(output_root(sys.argv) / "shared")
    images = np.load(models / "mnist5k_test_x.npy")
    labels = np.load(models / "mnist5k_test_y.npy")
    manifest = {name: mnist_logits(models, out, name, images, labels) for name in ("seed_mlp", "seed_cnn")}
    manifest["efficientnet_lite0"] = efficientnet_logits(models, out)
    write_json(
        out / "manifest.json",
        {
            "generator": "scripts/testdata/shared_logits.py",
            "onnxruntime_version": ort.__version__,
            "onnxruntime_settings": "CPUExecutionProvider, 1 thread, sequential, graph optimisations disabled",
            "inputs_sha256": {
                name: sha256_file(models / name)
                for name in ("mnist5k_test_x.npy", "mnist5k_test_y.npy", "photos_x.npy", "photos_ort_logits.npy")
            },
            "models": manifest,
        },
    )
    log(f"shared: wrote 3 logits files in {timer.seconds():.1f} s")


if __name__ == "__main__":
    main()
