#!/usr/bin/env python3
"""Side-by-side latency of pocketnn and onnxruntime on the same models and inputs.

In one run, for each model and thread count, it alternates blocks of timed
runs of onnxruntime (CPUExecutionProvider, intra_op_num_threads = ours,
inter_op_num_threads = 1, all graph optimisations) and of pocketnn (the
`pocketnn bench --json` CLI of a release build, which reports every run's
time), so both see the same machine load. It prints the median of all runs
of each, and the ratio pocketnn / onnxruntime (below 1.00: pocketnn faster).

    /work/venv/bin/python benches/compare/peers.py \
        --pocketnn target/release/pocketnn --threads 1 2 --runs 20

Inputs: one seeded random f32 tensor per model (standard normal; uniform
[0, 1) for the MNIST models), written as .npy and fed to both runtimes.
Symbolic dims (the batch) take the model spec's batch size.
Timing: onnxruntime is timed around `session.run` in Python (a few µs of
call overhead included); pocketnn around `Session::run_views` in Rust.
Model load time and process start-up are not in either number.

With --int8 it compares quantized models instead, in three columns that
alternate the same way: pocketnn fp32, pocketnn int8 (`pocketnn convert
--quantize int8 --calibrate`) and onnxruntime running the QDQ model its own
quantizer (`onnxruntime.quantization.quantize_static`, QDQ format, weights
int8 per channel, activations uint8, min/max calibration) makes from the same
calibration data: the first 200 MNIST training images for the MNIST models,
the 8 photos for EfficientNet-Lite0, 8 seeded random inputs for the others.

    /work/venv/bin/python benches/compare/peers.py --int8 --threads 1 \
        --models seed_cnn efficientnet_lite0 resnet50
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import onnx
import onnx.version_converter
import onnxruntime as ort

SHARED = Path(os.environ.get("POCKETNN_SHARED_MODELS", "/work/shared/models"))
TESTDATA = Path(os.environ.get("POCKETNN_TESTDATA", "/work/main/testdata"))

# (label, onnx path, batch for symbolic dims, input distribution)
MODELS = {
    "seed_mlp": (SHARED / "seed_mlp.onnx", 1, "uniform"),
    "seed_mlp_b32": (SHARED / "seed_mlp.onnx", 32, "uniform"),
    "seed_cnn": (SHARED / "seed_cnn.onnx", 1, "uniform"),
    "seed_cnn_b32": (SHARED / "seed_cnn.onnx", 32, "uniform"),
    "efficientnet_lite0": (SHARED / "efficientnet_lite0.onnx", 1, "normal"),
    "squeezenet": (TESTDATA / "light/squeezenet/model.onnx", 1, "normal"),
    "resnet50": (TESTDATA / "light/resnet50/model.onnx", 1, "normal"),
    "shufflenet": (TESTDATA / "light/shufflenet/model.onnx", 1, "normal"),
    "densenet121": (TESTDATA / "light/densenet121/model.onnx", 1, "normal"),
}
DEFAULT_MODELS = ["seed_mlp", "seed_mlp_b32", "seed_cnn", "seed_cnn_b32",
                  "efficientnet_lite0", "squeezenet", "resnet50"]


def ort_session(path, threads):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def make_input(label, path, batch, dist, workdir):
    """The model's single input as a seeded random array, saved as .npy."""
    info = ort_session(path, 1).get_inputs()
    if len(info) != 1:
        sys.exit(f"{label}: expected one input, got {len(info)}")
    shape = [d if isinstance(d, int) else batch for d in info[0].shape]
    rng = np.random.default_rng(zlib.crc32(label.encode()))
    if dist == "uniform":
        x = rng.random(shape, dtype=np.float32)
    else:
        x = rng.standard_normal(shape, dtype=np.float32)
    npy = workdir / f"{label}_input.npy"
    np.save(npy, x)
    return info[0].name, x, npy


def convert(pocketnn, onnx_path, workdir):
    out = workdir / (onnx_path.parent.name + "_" + onnx_path.stem + ".pnn")
    if not out.exists():
        subprocess.run([pocketnn, "convert", str(onnx_path), "-o", str(out)],
                       check=True, stdout=subprocess.DEVNULL)
    return out


def calibration_data(label, path, x, workdir):
    """Calibration inputs for `label` (stacked samples), saved as .npy."""
    if path.parent == SHARED and path.name.startswith("seed_"):
        data = np.load(SHARED / "mnist5k_train_x.npy")[:200]
    elif label == "efficientnet_lite0":
        data = np.load(SHARED / "photos_x.npy")
    else:
        rng = np.random.default_rng(zlib.crc32(label.encode()) + 1)
        data = rng.standard_normal((8,) + x.shape[1:], dtype=np.float32)
    npy = workdir / f"{label}_calibration.npy"
    np.save(npy, data.astype(np.float32))
    return data.astype(np.float32), npy


def quantize_pocketnn(pocketnn, onnx_path, calibration, workdir, label):
    out = workdir / f"{label}_int8.pnn"
    subprocess.run([pocketnn, "convert", str(onnx_path), "-o", str(out), "--quantize", "int8",
                    "--calibrate", str(calibration)], check=True, stdout=subprocess.DEVNULL)
    return out


def quantize_onnxruntime(onnx_path, name, data, batch, workdir, label):
    """onnxruntime's own static QDQ quantization of `onnx_path`."""
    from onnxruntime import quantization as q

    class Reader(q.CalibrationDataReader):
        def __init__(self):
            self.batches = iter([{name: data[i:i + batch]} for i in range(0, len(data), batch)])

        def get_next(self):
            return next(self.batches, None)

    source = onnx_path
    model = onnx.load(str(onnx_path))
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=0)
    if opset < 13:
        # Per-channel DequantizeLinear (its `axis`) needs opset 13.
        source = workdir / f"{label}_opset13.onnx"
        onnx.save(onnx.version_converter.convert_version(model, 13), str(source))
    prepared = workdir / f"{label}_prepared.onnx"
    try:
        q.quant_pre_process(str(source), str(prepared), skip_symbolic_shape=True)
    except Exception as e:  # noqa: BLE001 -- preprocessing is optional
        print(f"{label}: quant_pre_process failed ({e}); quantizing the original", flush=True)
        prepared = source
    out = workdir / f"{label}_ort_qdq.onnx"
    q.quantize_static(str(prepared), str(out), Reader(), quant_format=q.QuantFormat.QDQ,
                      per_channel=True, activation_type=q.QuantType.QUInt8,
                      weight_type=q.QuantType.QInt8, calibrate_method=q.CalibrationMethod.MinMax)
    return out


def pocketnn_block(pocketnn, pnn, name, npy, threads, runs):
    cmd = [pocketnn, "bench", str(pnn), "--threads", str(threads), "--iters", str(runs),
           "--warmup", "2", "--input", f"{name}={npy}", "--json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["times_ms"]


def ort_block(session, name, x, runs):
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        session.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1e3)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pocketnn", default="target/release/pocketnn")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--runs", type=int, default=20, help="timed runs per runtime (>= 20)")
    ap.add_argument("--blocks", type=int, default=4, help="alternations per model and thread count")
    ap.add_argument("--models", nargs="+", default=DEFAULT_MODELS, choices=sorted(MODELS))
    ap.add_argument("--workdir", default="/tmp/pocketnn-peers")
    ap.add_argument("--markdown", help="also write the table here")
    ap.add_argument("--int8", action="store_true",
                    help="compare pocketnn fp32, pocketnn int8 and onnxruntime's own QDQ int8")
    args = ap.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    per_block = max(1, -(-args.runs // args.blocks))

    print(f"onnxruntime {ort.__version__}, {per_block} runs x {args.blocks} blocks each, "
          f"alternating", flush=True)
    if args.int8:
        rows = int8_table(args, workdir, per_block)
    else:
        rows = f32_table(args, workdir, per_block)
    if args.markdown:
        Path(args.markdown).write_text("\n".join(rows) + "\n")


def f32_table(args, workdir, per_block):
    header = "| model | batch | threads | onnxruntime ms | pocketnn ms | ratio |"
    rows = [header, "|---|---:|---:|---:|---:|---:|"]
    print(header)
    for label in args.models:
        path, batch, dist = MODELS[label]
        name, x, npy = make_input(label, path, batch, dist, workdir)
        pnn = convert(args.pocketnn, path, workdir)
        for threads in args.threads:
            session = ort_session(path, threads)
            ort_block(session, name, x, 3)  # warm-up
            ort_times, pnn_times = [], []
            for _ in range(args.blocks):
                ort_times += ort_block(session, name, x, per_block)
                pnn_times += pocketnn_block(args.pocketnn, pnn, name, npy, threads, per_block)
            o, p = statistics.median(ort_times), statistics.median(pnn_times)
            row = f"| {label} | {batch} | {threads} | {o:.3f} | {p:.3f} | {p / o:.2f} |"
            rows.append(row)
            print(row, flush=True)
            del session
    return rows


def int8_table(args, workdir, per_block):
    header = ("| model | threads | pocketnn fp32 ms | pocketnn int8 ms | int8 / fp32 "
              "| onnxruntime QDQ int8 ms | pocketnn int8 / onnxruntime int8 |")
    rows = [header, "|---|---:|---:|---:|---:|---:|---:|"]
    print(header)
    for label in args.models:
        path, batch, dist = MODELS[label]
        name, x, npy = make_input(label, path, batch, dist, workdir)
        data, calibration = calibration_data(label, path, x, workdir)
        pnn = convert(args.pocketnn, path, workdir)
        pnn_int8 = quantize_pocketnn(args.pocketnn, path, calibration, workdir, label)
        ort_int8 = quantize_onnxruntime(path, name, data, batch, workdir, label)
        for threads in args.threads:
            session = ort_session(ort_int8, threads)
            ort_block(session, name, x, 3)  # warm-up
            fp32, int8, ort_times = [], [], []
            for _ in range(args.blocks):
                fp32 += pocketnn_block(args.pocketnn, pnn, name, npy, threads, per_block)
                int8 += pocketnn_block(args.pocketnn, pnn_int8, name, npy, threads, per_block)
                ort_times += ort_block(session, name, x, per_block)
            f, i, o = (statistics.median(t) for t in (fp32, int8, ort_times))
            row = (f"| {label} | {threads} | {f:.3f} | {i:.3f} | {i / f:.2f} | {o:.3f} "
                   f"| {i / o:.2f} |")
            rows.append(row)
            print(row, flush=True)
            del session
    return rows


if __name__ == "__main__":
    main()
