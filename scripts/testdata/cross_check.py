"""Optional check of generated test data against onnxruntime run differently from the generators.

Not run by gen-testdata.sh. It reads the files back from disk (so it also tests the writers) and reports:

* node cases with only plain tensors: how many onnxruntime can run, and how many of those match the stored
  expected outputs (rtol 1e-3, atol 1e-5; integers exactly). The expected outputs come from the ONNX reference
  implementation, so a mismatch is a disagreement between onnxruntime and ONNX, not a broken file;
* light models: the stored logits against onnxruntime with ALL graph optimisations (fusions) on 2 threads. The
  difference is a fair idea of the tolerance an independent implementation needs.

Usage: python cross_check.py [OUT]     (OUT defaults to <repo>/testdata)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import numpy_helper

from common import output_root


def read_tensor(path: Path) -> onnx.TensorProto:
    """One TensorProto file."""
    return onnx.load_tensor(str(path))


def outputs_match(got: np.ndarray, want: np.ndarray) -> bool:
    """Float/complex compare with rtol 1e-3, atol 1e-5 (NaN equal to NaN); anything else exactly."""
    got = np.asarray(got)
    if got.shape != want.shape:
        return False
    if want.dtype.kind in "fc":
        return bool(np.allclose(got.astype(want.dtype), want, rtol=1e-3, atol=1e-5, equal_nan=True))
    return bool(np.array_equal(got, want))


def check_node_cases(root: Path) -> None:
    """Run every plain-tensor node case through onnxruntime and count agreements."""
    manifest = json.loads((root / "manifest.json").read_text())["cases"]
    counts: Counter[str] = Counter()
    disagreements = []
    for name, entry in manifest.items():
        if not entry["all_tensors"]:
            counts["not plain tensors"] += 1
            continue
        case_dir = root / name
        set_dir = case_dir / "test_data_set_0"
        inputs = [read_tensor(set_dir / f"input_{j}.pb") for j in range(len(entry["inputs"]))]
        outputs = [read_tensor(set_dir / f"output_{j}.pb") for j in range(len(entry["outputs"]))]
        if [t.name for t in inputs] != [v["name"] for v in entry["inputs"]]:
            raise ValueError(f"{name}: input names differ from the manifest")
        try:
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            session = ort.InferenceSession(str(case_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
            results = session.run(None, {t.name: numpy_helper.to_array(t) for t in inputs})
        except Exception:  # onnxruntime lacks the op, opset or type
            counts["onnxruntime cannot run"] += 1
            continue
        if all(outputs_match(got, numpy_helper.to_array(want)) for got, want in zip(results, outputs, strict=True)):
            counts["onnxruntime agrees"] += 1
        else:
            counts["onnxruntime disagrees"] += 1
            disagreements.append(name)
    print(f"node: {dict(counts)}")
    print(f"node: onnxruntime disagrees on: {' '.join(disagreements)}")


def check_light_models(root: Path) -> None:
    """Compare the stored logits with onnxruntime using all graph optimisations."""
    manifest = json.loads((root / "manifest.json").read_text())["models"]
    for name, entry in manifest.items():
        model_dir = root / name
        image = read_tensor(model_dir / "test_data_set_0" / "input_0.pb")
        index = entry["logits_output"]
        stored = numpy_helper.to_array(read_tensor(model_dir / "test_data_set_0" / f"output_{index}.pb"))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(str(model_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])
        fused = session.run(None, {image.name: numpy_helper.to_array(image)})[index]
        difference = float(np.abs(fused - stored).max())
        scale = float(np.abs(stored).max())
        same_top1 = int(np.argmax(fused)) == int(np.argmax(stored))
        print(
            f"light: {name:13s} max |diff| {difference:.2e} (relative to max |logit| {difference / scale:.2e}), "
            f"same top-1: {same_top1}"
        )


def main() -> None:
    ort.set_default_logger_severity(4)
    out = output_root(sys.argv)
    check_node_cases(out / "node")
    check_light_models(out / "light")


if __name__ == "__main__":
    main()
