"""Generates the expected values in `onnxruntime/values.rs`.

Each case is a one-node ONNX model (opset 21) run by onnxruntime's CPU
provider (LRN with an even size: numpy, see `lrn_numpy`) on inputs from
`pattern(n, seed)`, which the Rust tests rebuild bit for bit. Run with the
project venv and paste the output below the file's header comment:

    /work/venv/bin/python crates/ops/src/nn/tests/make_onnxruntime_values.py
"""

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def pattern(n, seed):
    i = np.arange(n, dtype=np.int64)
    return ((((i * 37 + seed * 101 + 11) % 23) - 11) / 8).astype(np.float32)


def tensor(shape, seed):
    return pattern(int(np.prod(shape)), seed).reshape(shape)


def run(op, inputs, n_outputs=1, **attrs):
    names = [f"in{i}" for i in range(len(inputs))]
    outs = [f"out{i}" for i in range(n_outputs)]
    node = helper.make_node(op, names, outs, **attrs)
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, x.shape) for n, x in zip(names, inputs)],
        [helper.make_tensor_value_info(o, TensorProto.INT64 if (op == "MaxPool" and k == 1) else TensorProto.FLOAT, None) for k, o in enumerate(outs)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    model.ir_version = 10
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, dict(zip(names, inputs)))


def lrn_numpy(x, size, alpha, beta, bias):
    """The ONNX LRN formula in numpy, for the even sizes onnxruntime rejects
    (onnx's reference evaluator loops over the batch instead of channels)."""
    x64 = x.astype(np.float64)
    square_sum = np.zeros_like(x64)
    channels = x.shape[1]
    for c in range(channels):
        lo = max(0, c - (size - 1) // 2)
        hi = min(channels - 1, c + int(np.ceil((size - 1) / 2)))
        square_sum[:, c] = (x64[:, lo : hi + 1] ** 2).sum(axis=1)
    return (x64 / (bias + alpha / size * square_sum) ** beta).astype(np.float32)


def emit(name, array):
    flat = array.ravel()
    rust_type = "i64" if array.dtype == np.int64 else "f32"
    values = ", ".join(repr(int(v)) if rust_type == "i64" else str(np.float32(v)) for v in flat)
    print(f"/// shape {list(array.shape)}")
    print(f"pub(super) const {name}: [{rust_type}; {flat.size}] = [{values}];")


x = tensor([1, 3, 5, 6], 1)
w = tensor([2, 3, 3, 3], 2)
b = tensor([2], 3)
emit("CONV_2D", run("Conv", [x, w, b], strides=[2, 2], pads=[1, 1, 1, 1])[0])

x = tensor([1, 2, 5, 5], 4)
w = tensor([4, 1, 3, 3], 5)
b = tensor([4], 6)
emit("CONV_DEPTHWISE", run("Conv", [x, w, b], group=2, strides=[2, 1], pads=[1, 0, 1, 2], dilations=[1, 2])[0])

x = tensor([1, 2, 7], 7)
w = tensor([3, 2, 3], 8)
emit("CONV_1D_SAME_LOWER", run("Conv", [x, w], strides=[2], auto_pad="SAME_LOWER")[0])

x = tensor([1, 2, 4, 4, 3], 9)
w = tensor([2, 1, 2, 3, 2], 10)
emit("CONV_3D", run("Conv", [x, w], group=2, strides=[1, 2, 1], pads=[1, 0, 1, 0, 1, 1], dilations=[2, 1, 1])[0])

x = tensor([1, 2, 3, 3], 11)
w = tensor([2, 3, 3, 3], 12)
b = tensor([3], 13)
emit("CONV_TRANSPOSE_OUTPUT_SHAPE", run("ConvTranspose", [x, w, b], strides=[2, 2], output_shape=[6, 7])[0])
emit(
    "CONV_TRANSPOSE_OUTPUT_PADDING",
    run("ConvTranspose", [x, w], strides=[2, 3], pads=[1, 0, 1, 0], output_padding=[1, 2])[0],
)

x = tensor([1, 4, 3, 2], 14)
w = tensor([4, 1, 2, 2], 15)
emit("CONV_TRANSPOSE_GROUPED", run("ConvTranspose", [x, w], group=2, strides=[1, 2], dilations=[2, 1])[0])

x = tensor([1, 1, 4], 16)
w = tensor([1, 2, 3], 17)
emit("CONV_TRANSPOSE_1D_SAME_UPPER", run("ConvTranspose", [x, w], strides=[2], auto_pad="SAME_UPPER")[0])

x = tensor([1, 2, 5, 8], 18)
y, idx = run("MaxPool", [x], 2, kernel_shape=[2, 3], strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1)
emit("MAX_POOL_CEIL", y)
emit("MAX_POOL_CEIL_INDICES", idx)
_, idx = run("MaxPool", [x], 2, kernel_shape=[2, 3], strides=[2, 2], pads=[1, 0, 1, 0], ceil_mode=1, storage_order=1)
emit("MAX_POOL_CEIL_INDICES_COLUMN_MAJOR", idx)

x = tensor([1, 2, 5, 6], 19)
emit(
    "AVERAGE_POOL_INCLUDE_PAD",
    run("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 1], count_include_pad=1, ceil_mode=1)[0],
)
emit(
    "AVERAGE_POOL_EXCLUDE_PAD",
    run("AveragePool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 0, 1], count_include_pad=0, ceil_mode=1)[0],
)

x = tensor([1, 2, 9], 25)
emit(
    "AVERAGE_POOL_DILATED_1D",
    run("AveragePool", [x], kernel_shape=[3], strides=[2], pads=[2, 1], dilations=[2], count_include_pad=1, ceil_mode=1)[0],
)

x = tensor([2, 5, 2, 2], 20)
emit("LRN_SIZE_3", run("LRN", [x], size=3, alpha=0.02, beta=0.6, bias=1.5)[0])
emit("LRN_SIZE_4", lrn_numpy(x, size=4, alpha=0.5, beta=0.75, bias=2.0))

x = tensor([2, 3, 4], 21)
scale = tensor([3, 4], 22)
bias = tensor([4], 23)
y, mean, inv_std = run("LayerNormalization", [x, scale, bias], 3, axis=1, epsilon=1e-3)
emit("LAYER_NORM_AXIS_1", y)
emit("LAYER_NORM_AXIS_1_MEAN", mean)
emit("LAYER_NORM_AXIS_1_INV_STD", inv_std)
emit("LAYER_NORM_LAST_AXIS", run("LayerNormalization", [x, tensor([4], 24)], axis=-1)[0])
