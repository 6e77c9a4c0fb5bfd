"""Write the ONNX backend node conformance cases to disk.

The `onnx` wheel ships the *generators* of its node tests (`onnx.backend.test.case.node`), not their data. This
script runs them (`collect_testcases()`, which seeds NumPy with 0 before every export function, so the data are the
same on every run) and writes, for every case:

    OUT/node/<case>/model.onnx
    OUT/node/<case>/test_data_set_<i>/input_<j>.pb     (TensorProto, or SequenceProto/OptionalProto/MapProto)
    OUT/node/<case>/test_data_set_<i>/output_<j>.pb

plus `OUT/node/manifest.json`, which says per case which ops the model uses (subgraphs included), its opset, the
types of its inputs and outputs and whether all of them are plain tensors.

Usage: python node_cases.py [OUT]     (OUT defaults to <repo>/testdata)
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import onnx
from onnx import numpy_helper

from common import (
    Timer,
    elem_type_name,
    fresh_dir,
    log,
    model_op_types,
    opset_map,
    output_root,
    tensor_proto,
    type_text,
    write_bytes,
    write_json,
)


def value_bytes(value: Any, value_info: onnx.ValueInfoProto) -> bytes:
    """Serialise one input or output value according to the kind of its graph type."""
    kind = value_info.type.WhichOneof("value")
    if kind == "map_type":
        return numpy_helper.from_dict(value, value_info.name).SerializeToString()
    if kind == "sequence_type":
        return numpy_helper.from_list(value, value_info.name).SerializeToString()
    if kind == "optional_type":
        return numpy_helper.from_optional(value, value_info.name).SerializeToString()
    if kind == "tensor_type":
        return tensor_proto(value, value_info.name).SerializeToString()
    raise ValueError(f"value {value_info.name!r} has unsupported type kind {kind!r}")


def tensor_elem_types(value_infos: list[onnx.ValueInfoProto]) -> list[str]:
    """Element types of the plain-tensor entries."""
    return [
        elem_type_name(info.type.tensor_type.elem_type)
        for info in value_infos
        if info.type.WhichOneof("value") == "tensor_type"
    ]


def describe_case(case: Any) -> dict[str, Any]:
    """The manifest entry of one case."""
    graph = case.model.graph
    inputs = list(graph.input)
    outputs = list(graph.output)
    all_tensors = all(info.type.WhichOneof("value") == "tensor_type" for info in inputs + outputs)
    return {
        "ops": model_op_types(case.model),
        "opset": opset_map(case.model),
        "ir_version": case.model.ir_version,
        "inputs": [{"name": info.name, "type": type_text(info.type)} for info in inputs],
        "outputs": [{"name": info.name, "type": type_text(info.type)} for info in outputs],
        "elem_types": sorted(set(tensor_elem_types(inputs + outputs))),
        "all_tensors": all_tensors,
        "has_subgraph": any(
            attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for node in graph.node
            for attr in node.attribute
        ),
        "expanded_function": "_expanded" in case.name,
        "data_sets": len(case.data_sets),
        "rtol": case.rtol,
        "atol": case.atol,
    }


def write_case(root: Path, case: Any) -> None:
    """Write the model and every data set of one case below `root/<case name>`."""
    case_dir = root / case.name
    graph = case.model.graph
    write_bytes(case_dir / "model.onnx", case.model.SerializeToString())
    for set_index, (inputs, outputs) in enumerate(case.data_sets):
        set_dir = case_dir / f"test_data_set_{set_index}"
        if len(inputs) != len(graph.input) or len(outputs) != len(graph.output):
            raise ValueError(f"{case.name}: data set {set_index} does not match the graph's inputs/outputs")
        for index, value in enumerate(inputs):
            write_bytes(set_dir / f"input_{index}.pb", value_bytes(value, graph.input[index]))
        for index, value in enumerate(outputs):
            write_bytes(set_dir / f"output_{index}.pb", value_bytes(value, graph.output[index]))


def main() -> None:
    timer = Timer()
    root = fresh_dir(output_root(sys.argv) / "node")
    # Imported late: importing the case package runs every generator.
    from onnx.backend.test.case import node as node_case_package

    with warnings.catch_warnings():
        # Some generators compute expected outputs with overflow/NaN on purpose; NumPy warns about it.
        warnings.simplefilter("ignore")
        cases = sorted(node_case_package.collect_testcases(), key=lambda case: case.name)
    log(f"node: collected {len(cases)} cases in {timer.seconds():.1f} s")
    names = [case.name for case in cases]
    if len(set(names)) != len(names):
        raise ValueError("duplicate node case names")
    manifest: dict[str, Any] = {}
    for case in cases:
        write_case(root, case)
        manifest[case.name] = describe_case(case)
    plain = sum(1 for entry in manifest.values() if entry["all_tensors"])
    write_json(
        root / "manifest.json",
        {
            "generator": "scripts/testdata/node_cases.py",
            "onnx_version": onnx.__version__,
            "case_count": len(cases),
            "all_tensor_case_count": plain,
            "cases": manifest,
        },
    )
    ops = {op for entry in manifest.values() for op in entry["ops"]}
    log(
        f"node: wrote {len(cases)} cases ({plain} with only plain tensors, "
        f"{sum(1 for e in manifest.values() if e['expanded_function'])} expanded functions, "
        f"{len(ops)} distinct ops) in {timer.seconds():.1f} s"
    )


if __name__ == "__main__":
    main()
