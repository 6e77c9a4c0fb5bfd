"""Makes the small ONNX models read by tests/onnx_models.rs with onnx.helper,
each checked by onnx.checker.

Usage: /work/venv/bin/python crates/convert/tests/data/make_models.py
"""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))


def save(name, graph, opset):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="make_models.py")
    model.ir_version = 7 if opset < 15 else 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.path.join(HERE, name))


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


# Opset 9: attribute forms that later opsets turned into inputs.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 1, 8, 8])
z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 8, 8])
nodes = [
    helper.make_node("Clip", ["x"], ["clipped"], name="clip", min=0.0, max=6.0),
    helper.make_node("Pad", ["clipped"], ["padded"], name="pad", pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.5),
    helper.make_node("Slice", ["padded"], ["sliced"], name="slice", starts=[1, 1], ends=[5, 5], axes=[2, 3]),
    helper.make_node("BatchNormalization", ["sliced", "s", "b", "m", "v"], ["bn"], name="bn", epsilon=1e-5),
    helper.make_node("Dropout", ["bn"], ["dropped"], name="drop", ratio=0.1),
    helper.make_node("Upsample", ["dropped", "scales"], ["up"], name="up", mode="nearest"),
    helper.make_node("Split", ["up"], ["y", "half"], name="split", axis=1, split=[1, 1]),
    helper.make_node("Squeeze", ["half"], ["squeezed"], name="squeeze", axes=[1]),
    helper.make_node("Softmax", ["squeezed"], ["z"], name="softmax"),
]
inits = [
    init("s", np.ones(2, np.float32)),
    init("b", np.zeros(2, np.float32)),
    init("m", np.zeros(2, np.float32)),
    init("v", np.ones(2, np.float32)),
    init("scales", np.array([1, 1, 2, 2], np.float32)),
]
save("legacy_opset9.onnx", helper.make_graph(nodes, "legacy", [x], [y, z], inits), 9)

# Opset 13: If with branches reading an outer value, and Constant nodes.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
cond = helper.make_tensor_value_info("cond", TensorProto.BOOL, [])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
then_out = helper.make_tensor_value_info("then_y", TensorProto.FLOAT, ["N", 3])
else_out = helper.make_tensor_value_info("else_y", TensorProto.FLOAT, ["N", 3])
then_g = helper.make_graph(
    [
        helper.make_node("Constant", [], ["two"], name="two", value_float=2.0),
        helper.make_node("Mul", ["relu", "two"], ["then_y"], name="double"),
    ],
    "then", [], [then_out],
)
else_g = helper.make_graph([helper.make_node("Neg", ["relu"], ["else_y"], name="negate")], "else", [], [else_out])
nodes = [
    helper.make_node("Relu", ["x"], ["relu"], name="relu"),
    helper.make_node("If", ["cond"], ["y"], name="branch", then_branch=then_g, else_branch=else_g),
]
save("if_opset13.onnx", helper.make_graph(nodes, "branches", [x, cond], [y]), 13)
print("onnx", onnx.__version__)
