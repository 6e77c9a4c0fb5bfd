"""Helpers shared by the test-data generators in this folder.

Everything here is deterministic: seeds come from a hash of a text label, JSON is written with sorted keys, and
directories are rebuilt from scratch so that no file from an older run survives.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, TypeProto, numpy_helper

REPO_ROOT = Path(__file__).resolve().parents[2]


def output_root(argv: list[str]) -> Path:
    """The output directory: the first command-line argument, or `<repo>/testdata`."""
    return Path(argv[1]).resolve() if len(argv) > 1 else REPO_ROOT / "testdata"


def seeded_rng(label: str) -> np.random.Generator:
    """A NumPy generator whose seed is the first 8 bytes of sha256(label), so each label gets its own stream."""
    digest = hashlib.sha256(label.encode("utf-8")).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def fresh_dir(path: Path) -> Path:
    """Delete `path` if it exists and create it empty."""
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


def write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path`, creating parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_json(path: Path, value: Any) -> None:
    """Write `value` as pretty JSON with sorted keys and a trailing newline (stable bytes)."""
    write_bytes(path, (json.dumps(value, indent=1, sort_keys=True) + "\n").encode("utf-8"))


def tensor_proto(value: np.ndarray | TensorProto, name: str) -> TensorProto:
    """A named TensorProto from a NumPy array (a TensorProto is copied and renamed)."""
    if isinstance(value, TensorProto):
        proto = TensorProto()
        proto.CopyFrom(value)
        proto.name = name
        return proto
    return numpy_helper.from_array(np.asarray(value), name)


def elem_type_name(elem_type: int) -> str:
    """ONNX element type as lower-case text: `float`, `int64`, `float8e4m3fn`, ..."""
    return TensorProto.DataType.Name(elem_type).lower()


def type_text(type_proto: TypeProto) -> str:
    """A short, readable description of an ONNX type, e.g. `tensor(float)` or `seq(tensor(int64))`."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return f"tensor({elem_type_name(type_proto.tensor_type.elem_type)})"
    if kind == "sparse_tensor_type":
        return f"sparse_tensor({elem_type_name(type_proto.sparse_tensor_type.elem_type)})"
    if kind == "sequence_type":
        return f"seq({type_text(type_proto.sequence_type.elem_type)})"
    if kind == "optional_type":
        return f"optional({type_text(type_proto.optional_type.elem_type)})"
    if kind == "map_type":
        key = elem_type_name(type_proto.map_type.key_type)
        return f"map({key},{type_text(type_proto.map_type.value_type)})"
    return "unknown"


def graph_op_types(graph: onnx.GraphProto) -> set[str]:
    """Every op type used by `graph` and by all graphs nested in its nodes' attributes.

    Ops outside the default domain are written as `domain::OpType`.
    """
    found: set[str] = set()
    for node in graph.node:
        found.add(f"{node.domain}::{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type)
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found |= graph_op_types(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    found |= graph_op_types(sub)
    return found


def model_op_types(model: onnx.ModelProto) -> list[str]:
    """Sorted op types of the main graph, its subgraphs and any model-local functions."""
    found = graph_op_types(model.graph)
    for function in model.functions:
        found.add(f"{function.domain}::{function.name}")
        for node in function.node:
            found.add(f"{node.domain}::{node.op_type}" if node.domain not in ("", "ai.onnx") else node.op_type)
    return sorted(found)


def opset_map(model: onnx.ModelProto) -> dict[str, int]:
    """Opset imports as `{domain: version}`, the default domain written as `ai.onnx`."""
    return {(entry.domain or "ai.onnx"): entry.version for entry in model.opset_import}


class Timer:
    """Wall-clock timer for progress lines (not part of any output file)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def seconds(self) -> float:
        """Seconds since construction."""
        return time.perf_counter() - self.start


def log(message: str) -> None:
    """Progress on stderr, flushed so that CI logs show it at once."""
    print(message, file=sys.stderr, flush=True)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def env_path(name: str, default: Path) -> Path:
    """Path from environment variable `name`, or `default` when it is unset or empty."""
    value = os.environ.get(name, "")
    return Path(value).resolve() if value else default
