"""Generates reference_*.rs: expected outputs of the data operators computed
by onnx's reference implementation (onnx.reference.ReferenceEvaluator) on
one-node opset-21 models.

Run from this directory with the project venv:
    /work/venv/bin/python reference.py
then `cargo fmt` leaves the generated files alone (they are `rustfmt::skip`).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

OPSET = 21
RNG = np.random.default_rng(20240611)

ONNX_TYPES = {
    np.float32: TensorProto.FLOAT,
    np.float16: TensorProto.FLOAT16,
    np.int64: TensorProto.INT64,
    np.int32: TensorProto.INT32,
    np.int8: TensorProto.INT8,
    np.uint8: TensorProto.UINT8,
    np.bool_: TensorProto.BOOL,
}
RUST_CTOR = {
    np.float32: "f32t",
    np.float16: "f16t",
    np.int64: "i64t",
    np.int32: "i32t",
    np.int8: "i8t",
    np.uint8: "u8t",
    np.bool_: "boolt",
}


def reference(op_type, inputs, attrs, n_outputs=1):
    names = [f"in{i}" if x is not None else "" for i, x in enumerate(inputs)]
    outs = [f"out{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, names, outs, **attrs)
    graph_inputs = [
        helper.make_tensor_value_info(n, ONNX_TYPES[x.dtype.type], list(x.shape))
        for n, x in zip(names, inputs)
        if x is not None
    ]
    graph_outputs = [helper.make_tensor_value_info(o, TensorProto.UNDEFINED, None) for o in outs]
    graph = helper.make_graph([node], "case", graph_inputs, graph_outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    feeds = {n: x for n, x in zip(names, inputs) if x is not None}
    return ReferenceEvaluator(model).run(None, feeds)


def number(v, dtype):
    if dtype in (np.float32, np.float16):
        s = str(dtype(v))  # shortest text that reads back as the same value
        return s if ("." in s or "e" in s) else s + ".0"
    if dtype == np.bool_:
        return "1" if v else "0"
    return str(int(v))


def rust_tensor(x):
    x = np.asarray(x)
    dtype = x.dtype.type
    shape = ", ".join(str(d) for d in x.shape)
    data = ", ".join(number(v, dtype) for v in x.reshape(-1))
    return f"{RUST_CTOR[dtype]}(&[{shape}], &[{data}])"


def rust_attr(name, value):
    if isinstance(value, bool) or isinstance(value, int):
        return f'int("{name}", {int(value)})'
    if isinstance(value, float):
        return f'float("{name}", {value!r})'
    if isinstance(value, str):
        return f'string("{name}", "{value}")'
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, int) for v in value):
            return f'ints("{name}", &[{", ".join(str(v) for v in value)}])'
    raise TypeError(value)


def case(name, op_type, inputs, attrs=None, n_outputs=1, tol="EXACT"):
    attrs = attrs or {}
    outputs = reference(op_type, inputs, attrs, n_outputs)
    lines = [
        "#[test]",
        f"fn {name}() {{",
        "    check(",
        f"        OpCode::{op_type},",
        f"        vec![{', '.join(rust_attr(k, v) for k, v in attrs.items())}],",
        "        vec![",
    ]
    for x in inputs:
        lines.append(f"            {'None' if x is None else 'Some(' + rust_tensor(x) + ')'},")
    lines.append("        ],")
    lines.append("        vec![")
    for y in outputs:
        lines.append(f"            {rust_tensor(y)},")
    lines.append("        ],")
    lines.append(f"        {tol},")
    lines.append("    );")
    lines.append("}")
    return "\n".join(lines)


def ints(*v):
    return np.array(v, dtype=np.int64)


def floats(*v):
    return np.array(v, dtype=np.float32)


def randf(*shape):
    return np.round(RNG.standard_normal(shape), 3).astype(np.float32)


def randi(dtype, *shape):
    return RNG.integers(-100, 100, shape).astype(dtype)


I64_MAX = np.iinfo(np.int64).max
I64_MIN = np.iinfo(np.int64).min


def shape_cases():
    x234 = randf(2, 3, 4)
    yield case("concat_negative_axis_with_empty_input", "Concat",
               [x234, randf(2, 3, 0), randf(2, 3, 2)], {"axis": -1})
    yield case("concat_axis0_i8", "Concat", [randi(np.int8, 1, 3), randi(np.int8, 2, 3)], {"axis": 0})
    yield case("split_uneven_by_num_outputs", "Split", [randf(7, 2)], {"axis": 0, "num_outputs": 3}, 3)
    yield case("split_with_sizes_negative_axis", "Split", [randi(np.int32, 2, 5), ints(1, 0, 4)],
               {"axis": -1, "num_outputs": 3}, 3)
    x45 = randf(4, 5)
    yield case("slice_basic_with_axes", "Slice", [x45, ints(1), ints(3), ints(1)])
    yield case("slice_negative_steps", "Slice", [x45, ints(-1, 4), ints(I64_MIN, 0), ints(0, 1), ints(-1, -2)])
    yield case("slice_int64_max_end", "Slice", [x45, ints(1, -3), ints(I64_MAX, I64_MAX)])
    yield case("slice_negative_axes_and_step_3", "Slice", [x45, ints(0), ints(-1), ints(-1), ints(3)])
    yield case("slice_clamped_to_empty", "Slice", [x45, ints(10), ints(20), ints(0)])
    yield case("slice_negative_step_from_end", "Slice", [randi(np.uint8, 6), ints(-2), ints(-7), ints(0), ints(-2)])
    yield case("gather_axis1_negative_indices", "Gather", [x234, ints(-1, 0, 2, -3)], {"axis": 1})
    yield case("gather_scalar_index_i32", "Gather", [x234, np.array(-2, dtype=np.int32)], {"axis": 0})
    yield case("gather_2d_indices_f16", "Gather", [randf(3, 2).astype(np.float16), ints(2, 0, 1, 1).reshape(2, 2)])
    yield case("gather_elements_axis1_negative", "GatherElements",
               [randf(3, 3), ints(0, -1, 1, 2, 0, -3, 1, 1, 2).reshape(3, 3)], {"axis": 1})
    yield case("gather_elements_axis0", "GatherElements",
               [randi(np.int64, 3, 2), ints(2, 0, 1, 1).reshape(2, 2)], {"axis": 0})
    yield case("reshape_zero_and_minus_one", "Reshape", [x234, ints(0, -1)])
    yield case("reshape_allowzero_with_zero_dim", "Reshape", [randf(0, 3), ints(3, 0)], {"allowzero": 1})
    yield case("flatten_negative_axis", "Flatten", [randf(2, 3, 4, 1)], {"axis": -2})
    yield case("flatten_axis0", "Flatten", [x234], {"axis": 0})


def layout_cases():
    x234 = randf(2, 3, 4)
    yield case("transpose_perm_3d", "Transpose", [x234], {"perm": [1, 2, 0]})
    yield case("transpose_default_reverses_bool", "Transpose", [RNG.integers(0, 2, (2, 3, 2)).astype(np.bool_)])
    yield case("transpose_4d_nchw_to_nhwc", "Transpose", [randf(2, 3, 2, 5)], {"perm": [0, 2, 3, 1]})
    yield case("squeeze_negative_axis", "Squeeze", [randf(1, 3, 1, 2), ints(-2)])
    yield case("squeeze_all_ones", "Squeeze", [randf(1, 3, 1, 2)])
    yield case("unsqueeze_negative_axes", "Unsqueeze", [randf(3, 2), ints(-1, 0)])
    yield case("expand_bidirectional", "Expand", [randf(3, 1), ints(2, 1, 4)])
    yield case("expand_to_smaller_shape", "Expand", [randi(np.int32, 2, 3), ints(3)])
    yield case("tile_2d", "Tile", [randi(np.int64, 2, 3), ints(2, 3)])
    yield case("tile_with_zero_repeat", "Tile", [randf(2, 2), ints(0, 2)])
    x33 = randi(np.int32, 3, 3)
    for mode in ["constant", "reflect", "edge", "wrap"]:
        yield case(f"pad_{mode}", "Pad", [randf(3, 4), ints(1, 2, 2, 3)], {"mode": mode})
        yield case(f"pad_{mode}_axes_large", "Pad", [x33, ints(4, 5), None, ints(-1)], {"mode": mode})
    yield case("pad_constant_value_with_axes", "Pad",
               [randf(2, 3), ints(1, 2), floats(1.5), ints(0)], {"mode": "constant"})
    x1 = randf(1, 8, 2, 3)
    yield case("depth_to_space_dcr", "DepthToSpace", [x1], {"blocksize": 2})
    yield case("depth_to_space_crd", "DepthToSpace", [x1], {"blocksize": 2, "mode": "CRD"})
    yield case("space_to_depth", "SpaceToDepth", [randf(2, 2, 4, 6)], {"blocksize": 2})


def resize_mode_cases():
    x = randf(1, 1, 3, 4)
    coord_modes = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel",
                   "align_corners", "asymmetric"]
    for ctm in coord_modes:
        for mode in ["nearest", "linear", "cubic"]:
            yield case(f"resize_{mode}_{ctm}_up_scales", "Resize",
                       [x, None, floats(1, 1, 1.7, 2.5)],
                       {"mode": mode, "coordinate_transformation_mode": ctm}, tol="RESIZE")
            yield case(f"resize_{mode}_{ctm}_down_sizes", "Resize",
                       [randf(1, 2, 5, 7), None, None, ints(1, 2, 3, 3)],
                       {"mode": mode, "coordinate_transformation_mode": ctm}, tol="RESIZE")


def resize_option_cases():
    for nm in ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]:
        # half_pixel at scale 0.5 and asymmetric at scale 2 sample exact .5 ties.
        yield case(f"resize_nearest_{nm}_half_pixel_ties", "Resize",
                   [randi(np.uint8, 1, 8), None, floats(1, 0.5)],
                   {"mode": "nearest", "nearest_mode": nm}, tol="RESIZE")
        yield case(f"resize_nearest_{nm}_asymmetric_ties", "Resize",
                   [randi(np.uint8, 1, 5), None, floats(1, 2)],
                   {"mode": "nearest", "nearest_mode": nm, "coordinate_transformation_mode": "asymmetric"},
                   tol="RESIZE")
        yield case(f"resize_nearest_{nm}_align_corners", "Resize",
                   [randf(1, 4), None, None, ints(1, 9)],
                   {"mode": "nearest", "nearest_mode": nm, "coordinate_transformation_mode": "align_corners"},
                   tol="RESIZE")
        yield case(f"resize_nearest_{nm}_asymmetric_down", "Resize",
                   [randi(np.int8, 1, 9), None, floats(1, 0.6)],
                   {"mode": "nearest", "nearest_mode": nm, "coordinate_transformation_mode": "asymmetric"},
                   tol="RESIZE")
    yield case("resize_linear_axes_sizes", "Resize",
               [randf(2, 3, 4), None, None, ints(5, 2)],
               {"mode": "linear", "axes": [2, 0]}, tol="RESIZE")
    yield case("resize_linear_not_larger", "Resize",
               [randf(1, 1, 4, 6), None, None, ints(7, 7)],
               {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": "not_larger"}, tol="RESIZE")
    yield case("resize_nearest_not_smaller", "Resize",
               [randf(1, 1, 4, 6), None, None, ints(7, 7)],
               {"mode": "nearest", "axes": [2, 3], "keep_aspect_ratio_policy": "not_smaller"}, tol="RESIZE")
    yield case("resize_cubic_exclude_outside_a_half", "Resize",
               [randf(1, 1, 4, 4), None, floats(1, 1, 0.8, 1.6)],
               {"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5}, tol="RESIZE")
    yield case("resize_linear_tf_crop_and_resize", "Resize",
               [randf(1, 1, 4, 4), floats(0, 0, 0.4, 0.6, 1, 1, 0.6, 1.3), None, ints(1, 1, 3, 3)],
               {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                "extrapolation_value": 10.0}, tol="RESIZE")
    yield case("resize_nearest_tf_crop_and_resize_i32", "Resize",
               [randi(np.int32, 1, 1, 4, 4), floats(0.2, -0.1, 1.1, 0.7), None, ints(4, 3)],
               {"mode": "nearest", "axes": [2, 3], "coordinate_transformation_mode": "tf_crop_and_resize",
                "extrapolation_value": -7.0}, tol="RESIZE")
    yield case("resize_linear_downsample_3d", "Resize",
               [randf(3, 4, 5), None, floats(0.5, 0.6, 0.3)], {"mode": "linear"}, tol="RESIZE")
    for mode in ["linear", "cubic"]:
        yield case(f"resize_{mode}_mixed_up_and_down", "Resize",
                   [randf(2, 6, 3), None, None, ints(2, 3, 5)], {"mode": mode}, tol="RESIZE")
    yield case("resize_nearest_f16", "Resize",
               [randf(1, 2, 3).astype(np.float16), None, floats(1, 1.5, 1.5)], {"mode": "nearest"}, tol="RESIZE")
    yield case("resize_nearest_u8_ceil", "Resize",
               [randi(np.uint8, 2, 3), None, None, ints(3, 5)],
               {"mode": "nearest", "nearest_mode": "ceil"}, tol="RESIZE")


HEADER = """//! Generated by `reference.py` from onnx {version}'s reference implementation: do not edit.

use super::*;
"""


def write(path, cases):
    with open(path, "w") as f:
        f.write(HEADER.format(version=onnx.__version__))
        for c in cases:
            f.write("\n" + c + "\n")


if __name__ == "__main__":
    write("reference_shape.rs", shape_cases())
    write("reference_layout.rs", layout_cases())
    write("reference_resize_modes.rs", resize_mode_cases())
    write("reference_resize_options.rs", resize_option_cases())
