"""Makes the TensorProto files read by tests/read_tensor_proto.rs, with onnx's
own numpy_helper (raw_data) and make_tensor (typed *_data fields).

Usage: /work/venv/bin/python crates/convert/tests/data/make_tensors.py
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, tensor):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(tensor.SerializeToString())


save("f32_raw.pb", numpy_helper.from_array(np.array([[1.5, -2.0, 3.25], [0.0, 1e-3, -7.0]], dtype=np.float32), "a"))
save("f16_raw.pb", numpy_helper.from_array(np.array([1.0, -0.5, 65504.0], dtype=np.float16), "h"))
save("i64_raw.pb", numpy_helper.from_array(np.array([-1, 2, 1 << 40], dtype=np.int64), "i"))
save("bool_raw.pb", numpy_helper.from_array(np.array([True, False, True]), "b"))
save("f32_typed.pb", helper.make_tensor("t", TensorProto.FLOAT, [2], [0.25, -4.0]))
save("i8_typed.pb", helper.make_tensor("q", TensorProto.INT8, [3], [-128, 0, 127]))
save("u8_typed.pb", helper.make_tensor("u", TensorProto.UINT8, [2], [0, 255]))
save("f16_typed.pb", helper.make_tensor("g", TensorProto.FLOAT16, [2], np.array([2.0, -1.5], dtype=np.float16)))
save("i32_typed.pb", helper.make_tensor("k", TensorProto.INT32, [1, 2], [-5, 70000]))
save("f64_raw.pb", numpy_helper.from_array(np.array([1.0], dtype=np.float64), "d"))
save("scalar_i64.pb", numpy_helper.from_array(np.array(42, dtype=np.int64), "s"))
print("onnx", onnx.__version__)
