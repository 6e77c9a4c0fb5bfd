"""Turn the "light" real-architecture models shipped in the `onnx` wheel into runnable test cases.

`onnx/backend/test/data/light/light_<name>.onnx` holds nine ImageNet classifiers (opset 9) whose weights are not
stored: each weight is a `ConstantOfShape` node that fills the tensor with one constant (0.02), and many weights are
graph inputs. Such a model computes nothing useful. For each model this script:

1. gives every weight deterministic random values as a graph initializer, seeded by sha256("<model>/<tensor>"):
   Conv/Gemm weights He-normal (std sqrt(2 / fan_in)), biases N(0, 0.02), BatchNormalization scale U(0.9, 1.1)
   and bias N(0, 0.05); per-channel Mul/Add after BatchNormalization (DenseNet, Inception-v2) U(0.9, 1.1) and
   N(0, 0.05). BatchNormalization mean and variance are calibrated like trained running statistics: mean = the
   channel mean of the layer's input on a seeded calibration image, variance = its variance times U(0.5, 1.5)
   (see `calibrate_batch_norms`; made-up statistics let ResNet-50's logits reach 3e4);
2. keeps the real image input as the only graph input and removes the now-dead nodes, inputs and initializers
   (IR version 3 -> 4, because IR 3 requires every initializer to be a graph input; the opset stays 9);
3. exposes the tensor entering the final Softmax as a second graph output named `logits_before_softmax`
   (DenseNet-121 has no Softmax: its only output already is the logits);
4. writes the model, checks it with `onnx.checker` (full check), runs onnxruntime on a seeded N(0, 1) input
   (CPUExecutionProvider, 1 thread, all graph optimisations disabled) and writes

       OUT/light/<name>/model.onnx
       OUT/light/<name>/test_data_set_0/input_0.pb
       OUT/light/<name>/test_data_set_0/output_<j>.pb

   plus `OUT/light/manifest.json` (inputs, outputs, which output is the logits, ops, output scale, top-1).

Usage: python light_models.py [OUT]     (OUT defaults to <repo>/testdata)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
from onnx import NodeProto, helper, numpy_helper

from common import (
    Timer,
    fresh_dir,
    log,
    model_op_types,
    opset_map,
    output_root,
    seeded_rng,
    sha256_file,
    write_bytes,
    write_json,
)

LIGHT_MODELS = (
    "bvlc_alexnet",
    "densenet121",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "shufflenet",
    "squeezenet",
    "vgg19",
    "zfnet512",
)
LIGHT_DIR = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
LOGITS_NAME = "logits_before_softmax"
IR_VERSION = 4


@dataclass(frozen=True)
class Weight:
    """One weight tensor to fill: its name, stored shape, role and (for matmul-like weights) fan-in."""

    name: str
    shape: tuple[int, ...]
    role: str
    fan_in: int


def consumers_by_name(graph: onnx.GraphProto) -> dict[str, list[tuple[NodeProto, int]]]:
    """For every tensor name, the (node, input index) pairs that read it."""
    found: dict[str, list[tuple[NodeProto, int]]] = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            if name:
                found.setdefault(name, []).append((node, index))
    return found


def attribute_int(node: NodeProto, name: str, default: int) -> int:
    """An integer attribute of `node`, or `default`."""
    for attr in node.attribute:
        if attr.name == name:
            return int(attr.i)
    return default


def role_of(
    name: str,
    shape: tuple[int, ...],
    consumers: dict[str, list[tuple[NodeProto, int]]],
    constants: dict[str, np.ndarray],
) -> tuple[str, int]:
    """The role of weight `name` and its fan-in (0 when it has none), found from the nodes that read it.

    Unsqueeze and Reshape are followed (a Reshape changes the shape seen by the next node).
    """
    uses = consumers.get(name, [])
    if len(uses) != 1:
        raise ValueError(f"weight {name!r} has {len(uses)} readers; expected exactly one")
    node, index = uses[0]
    op = node.op_type
    if op == "Reshape" and index == 0:
        target = tuple(int(v) for v in constants[node.input[1]])
        if -1 in target or 0 in target:
            raise ValueError(f"weight {name!r}: Reshape target {target} is not explicit")
        return role_of(node.output[0], target, consumers, constants)
    if op == "Unsqueeze" and index == 0:
        (after_node, after_index), *rest = consumers.get(node.output[0], []) or [(None, 0)]
        if after_node is None or rest:
            raise ValueError(f"weight {name!r}: Unsqueeze output must have one reader")
        kind = {"Mul": "channel_scale", "Add": "channel_bias"}.get(after_node.op_type)
        if kind is None:
            raise ValueError(f"weight {name!r}: Unsqueeze feeds {after_node.op_type}")
        return kind, 0
    if op == "Conv" and index == 1:
        return "conv_weight", int(np.prod(shape[1:]))
    if op == "Gemm" and index == 1:
        if len(shape) != 2:
            raise ValueError(f"weight {name!r}: Gemm weight shape {shape}")
        return "gemm_weight", shape[1] if attribute_int(node, "transB", 0) else shape[0]
    if op in ("Conv", "Gemm") and index == 2:
        return "bias", 0
    if op == "BatchNormalization" and 1 <= index <= 4:
        return ("bn_scale", "bn_bias", "bn_mean", "bn_var")[index - 1], 0
    raise ValueError(f"weight {name!r}: no rule for input {index} of {op}")


def find_weights(graph: onnx.GraphProto, constants: dict[str, np.ndarray]) -> list[Weight]:
    """Every weight: ConstantOfShape outputs and float initializers, in the order nodes first read them."""
    producers = {node.output[0]: node for node in graph.node if node.op_type == "ConstantOfShape"}
    consumers = consumers_by_name(graph)
    weights: list[Weight] = []
    seen: set[str] = set()
    for node in graph.node:
        if node.op_type == "ConstantOfShape":
            continue
        for name in node.input:
            if name in seen:
                continue
            if name in producers:
                shape = tuple(int(v) for v in constants[producers[name].input[0]])
            elif name in constants and constants[name].dtype == np.float32:
                shape = tuple(constants[name].shape)
            else:
                continue
            seen.add(name)
            role, fan_in = role_of(name, shape, consumers, constants)
            weights.append(Weight(name, shape, role, fan_in))
    return weights


def sample_weight(model_name: str, weight: Weight) -> np.ndarray:
    """Deterministic random values for one weight, drawn from the distribution of its role."""
    rng = seeded_rng(f"{model_name}/{weight.name}")
    shape = weight.shape
    if weight.role in ("conv_weight", "gemm_weight"):
        std = np.float32(np.sqrt(2.0 / weight.fan_in))
        return rng.standard_normal(shape, dtype=np.float32) * std
    if weight.role == "bias":
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    if weight.role in ("bn_bias", "channel_bias"):
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(0.05)
    if weight.role == "bn_mean":
        return np.zeros(shape, np.float32)  # replaced by calibrate_batch_norms
    if weight.role in ("bn_scale", "channel_scale"):
        return rng.uniform(0.9, 1.1, shape).astype(np.float32)
    if weight.role == "bn_var":  # the factor calibrate_batch_norms applies to the measured variance
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    raise ValueError(f"unknown role {weight.role!r}")


def live_nodes(nodes: list[NodeProto], outputs: list[str]) -> list[NodeProto]:
    """The nodes needed to compute `outputs`, in their original order."""
    needed = set(outputs)
    keep = [False] * len(nodes)
    for position in range(len(nodes) - 1, -1, -1):
        node = nodes[position]
        if any(name in needed for name in node.output):
            keep[position] = True
            needed.update(name for name in node.input if name)
    return [node for node, kept in zip(nodes, keep, strict=True) if kept]


def rename_tensor(nodes: list[NodeProto], old: str, new: str) -> None:
    """Rename tensor `old` to `new` in every node input and output."""
    for node in nodes:
        for index, name in enumerate(node.input):
            if name == old:
                node.input[index] = new
        for index, name in enumerate(node.output):
            if name == old:
                node.output[index] = new


def calibrate_batch_norms(
    model_name: str,
    nodes: list[NodeProto],
    values: dict[str, np.ndarray],
    data_input: onnx.ValueInfoProto,
    opset_imports: list[onnx.OperatorSetIdProto],
) -> None:
    """Set every BatchNormalization mean/variance from the statistics of its actual input.

    With fixed made-up statistics, each residual Sum doubles the activation variance (ResNet-50's logits reach
    3e4, ShuffleNet's 2e5). A trained network's running statistics match its data instead. To mimic that, one
    onnxruntime pass runs a copy of the graph in which every BatchNormalization is replaced by
    InstanceNormalization (batch 1: per-channel normalisation with the real statistics) with scale
    `scale / sqrt(factor)`, and records each BatchNormalization input on a seeded calibration image (not the test
    input). Then mean = measured mean and variance = measured variance * factor, where `factor` is the
    U(0.5, 1.5) value already drawn for the variance tensor. On the calibration image the final model computes
    what the copy computed (up to epsilon).
    """
    batch_norms = [node for node in nodes if node.op_type == "BatchNormalization"]
    if not batch_norms:
        return
    copy_nodes: list[NodeProto] = []
    copy_initializers: list[onnx.TensorProto] = []
    for node in nodes:
        if node.op_type != "BatchNormalization":
            copy_nodes.append(node)
            continue
        if len(node.output) != 1:
            raise ValueError(f"{model_name}: BatchNormalization with {len(node.output)} outputs")
        data, scale, bias, _mean, variance = node.input
        calibration_scale = f"{scale}__calibration"
        adjusted = values[scale] / np.sqrt(values[variance])
        copy_initializers.append(numpy_helper.from_array(adjusted.astype(np.float32), calibration_scale))
        epsilon = next((attr.f for attr in node.attribute if attr.name == "epsilon"), 1e-5)
        copy_nodes.append(
            helper.make_node(
                "InstanceNormalization", [data, calibration_scale, bias], list(node.output), epsilon=epsilon
            )
        )
    observed = list(dict.fromkeys(node.input[0] for node in batch_norms))
    read = {name for node in copy_nodes for name in node.input}
    copy_initializers += [numpy_helper.from_array(array, name) for name, array in values.items() if name in read]
    copy_graph = helper.make_graph(
        copy_nodes,
        "calibration",
        [data_input],
        [helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None) for name in observed],
        initializer=copy_initializers,
    )
    copy_model = helper.make_model(copy_graph, opset_imports=opset_imports, ir_version=IR_VERSION)
    shape = [dim.dim_value for dim in data_input.type.tensor_type.shape.dim]
    image = seeded_rng(f"{model_name}/calibration-input").standard_normal(shape, dtype=np.float32)
    results, _, _ = run_onnxruntime(copy_model.SerializeToString(), {data_input.name: image})
    activations = dict(zip(observed, results, strict=True))
    for node in batch_norms:
        activation = activations[node.input[0]].astype(np.float64)
        axes = (0, *range(2, activation.ndim))
        mean = activation.mean(axis=axes)
        variance = activation.var(axis=axes)
        if not (np.all(np.isfinite(variance)) and variance.min() > 1e-6):
            raise ValueError(f"{model_name}: calibration of {node.input[4]!r} saw variance {variance.min()}")
        values[node.input[3]] = mean.astype(np.float32)
        values[node.input[4]] = (variance * values[node.input[4]]).astype(np.float32)


def rebuild(model_name: str, original: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, Any]]:
    """The runnable model, and facts about it for the manifest."""
    graph = original.graph
    constants = {tensor.name: numpy_helper.to_array(tensor) for tensor in graph.initializer}
    data_inputs = [value for value in graph.input if value.name not in constants]
    if len(data_inputs) != 1 or len(graph.output) != 1:
        raise ValueError(f"{model_name}: expected one data input and one output")
    weights = find_weights(graph, constants)
    values = {weight.name: sample_weight(model_name, weight) for weight in weights}

    nodes = [onnx.NodeProto() for _ in graph.node]
    for copy, node in zip(nodes, graph.node, strict=True):
        copy.CopyFrom(node)
    nodes = [node for node in nodes if not (node.op_type == "ConstantOfShape" and node.output[0] in values)]

    final_output = onnx.ValueInfoProto()
    final_output.CopyFrom(graph.output[0])
    outputs = [final_output]
    softmax = [node for node in nodes if node.op_type == "Softmax" and node.output[0] == final_output.name]
    if softmax:
        rename_tensor(nodes, softmax[0].input[0], LOGITS_NAME)
        logits = onnx.ValueInfoProto()
        logits.CopyFrom(final_output)  # Softmax keeps the shape and the element type
        logits.name = LOGITS_NAME
        outputs.append(logits)

    nodes = live_nodes(nodes, [value.name for value in outputs])
    read = {name for node in nodes for name in node.input}
    for tensor in graph.initializer:
        if tensor.name in read and tensor.name not in values:
            values[tensor.name] = constants[tensor.name]
    calibrate_batch_norms(model_name, nodes, values, data_inputs[0], list(original.opset_import))
    model = helper.make_model(
        helper.make_graph(nodes, graph.name or model_name, [data_inputs[0]], outputs),
        opset_imports=list(original.opset_import),
        ir_version=IR_VERSION,
        producer_name="pocketnn-testdata",
        doc_string=f"light_{model_name}.onnx from onnx {onnx.__version__} with seeded random weights",
    )
    # One weight at a time, dropping each array once copied: VGG-19 alone has 575 MB of weights.
    for weight in weights:
        model.graph.initializer.append(numpy_helper.from_array(values.pop(weight.name), weight.name))
    names = weight_names(weights)
    model.graph.initializer.extend(
        tensor for tensor in graph.initializer if tensor.name in read and tensor.name not in names
    )
    roles: dict[str, int] = {}
    for weight in weights:
        roles[weight.role] = roles.get(weight.role, 0) + 1
    facts = {
        "weights": len(weights),
        "parameters": int(sum(int(np.prod(weight.shape)) for weight in weights)),
        "weight_roles": roles,
        "has_softmax": bool(softmax),
        "batch_norms_calibrated": sum(1 for node in nodes if node.op_type == "BatchNormalization"),
    }
    return model, facts


def weight_names(weights: list[Weight]) -> set[str]:
    """The names of `weights`."""
    return {weight.name for weight in weights}


def run_onnxruntime(model: bytes | str, feeds: dict[str, np.ndarray]) -> tuple[list[np.ndarray], float, float]:
    """Outputs of the plain graph (no ORT graph optimisation, 1 thread), session-create and run seconds."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    create = Timer()
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    create_seconds = create.seconds()
    run = Timer()
    results = session.run(None, feeds)
    return [np.asarray(result) for result in results], create_seconds, run.seconds()


def check_outputs(model_name: str, results: list[np.ndarray], logits_index: int) -> dict[str, Any]:
    """Fail on NaN/inf or constant outputs; return the output scale and the top-1 of softmax(logits)."""
    for index, result in enumerate(results):
        if not np.all(np.isfinite(result)):
            raise ValueError(f"{model_name}: output {index} has NaN or inf")
        if result.size > 1 and float(np.ptp(result)) == 0.0:
            raise ValueError(f"{model_name}: output {index} is constant")
    logits = results[logits_index].reshape(-1).astype(np.float64)
    shifted = np.exp(logits - logits.max())
    probabilities = shifted / shifted.sum()
    facts = {
        "max_abs_logit": float(np.abs(logits).max()),
        "logit_std": float(logits.std()),
        "top1_class": int(np.argmax(logits)),
        "top1_probability": float(probabilities.max()),
    }
    if logits_index != 0:
        softmax_error = float(np.abs(results[0].reshape(-1) - probabilities).max())
        if softmax_error > 1e-5:
            raise ValueError(f"{model_name}: ORT softmax differs from softmax(logits) by {softmax_error}")
    return facts


def make_case(root: Path, model_name: str) -> dict[str, Any]:
    """Build, check, run and write one light model; return its manifest entry."""
    timer = Timer()
    source = LIGHT_DIR / f"light_{model_name}.onnx"
    model, facts = rebuild(model_name, onnx.load(str(source)))
    # Plain copies: a reference into the model would keep all of it alive after `del model`.
    input_name = str(model.graph.input[0].name)
    shape = [int(dim.dim_value) for dim in model.graph.input[0].type.tensor_type.shape.dim]
    output_names = [str(value.name) for value in model.graph.output]
    facts.update(
        {
            "ops": model_op_types(model),
            "opset": opset_map(model),
            "ir_version": int(model.ir_version),
            "input": {"name": input_name, "shape": shape, "type": "float"},
        }
    )
    # Write first and let the checker and onnxruntime read the file, so that no extra copies of the weights
    # stay in memory.
    case_dir = root / model_name
    model_path = case_dir / "model.onnx"
    write_bytes(model_path, model.SerializeToString())
    del model
    onnx.checker.check_model(str(model_path), full_check=True)
    build_seconds = timer.seconds()

    image = seeded_rng(f"{model_name}/input").standard_normal(shape, dtype=np.float32)
    results, create_seconds, run_seconds = run_onnxruntime(str(model_path), {input_name: image})
    logits_index = output_names.index(LOGITS_NAME) if LOGITS_NAME in output_names else 0
    facts.update(check_outputs(model_name, results, logits_index))

    set_dir = case_dir / "test_data_set_0"
    write_bytes(set_dir / "input_0.pb", numpy_helper.from_array(image, input_name).SerializeToString())
    for index, (name, result) in enumerate(zip(output_names, results, strict=True)):
        write_bytes(set_dir / f"output_{index}.pb", numpy_helper.from_array(result, name).SerializeToString())
    model_bytes = model_path.stat().st_size

    log(
        f"light: {model_name:13s} {model_bytes / 1e6:7.1f} MB  params {facts['parameters']:>11,}  "
        f"max|logit| {facts['max_abs_logit']:8.3f}  logit std {facts['logit_std']:7.3f}  "
        f"top-1 {facts['top1_class']:3d} p={facts['top1_probability']:.4f}  "
        f"build {build_seconds:5.1f} s  ORT create {create_seconds:5.2f} s run {run_seconds:5.2f} s  "
        f"total {timer.seconds():5.1f} s"
    )
    facts.update(
        {
            "source": f"onnx {onnx.__version__} wheel: onnx/backend/test/data/light/light_{model_name}.onnx",
            "source_sha256": sha256_file(source),
            "model_bytes": model_bytes,
            "outputs": [
                {"name": name, "shape": list(result.shape), "type": str(result.dtype)}
                for name, result in zip(output_names, results, strict=True)
            ],
            "logits_output": logits_index,
            "probabilities_output": 0 if facts["has_softmax"] else None,
        }
    )
    return facts


def main() -> None:
    timer = Timer()
    root = fresh_dir(output_root(sys.argv) / "light")
    manifest = {name: make_case(root, name) for name in LIGHT_MODELS}
    write_json(
        root / "manifest.json",
        {
            "generator": "scripts/testdata/light_models.py",
            "onnx_version": onnx.__version__,
            "onnxruntime_version": ort.__version__,
            "onnxruntime_settings": "CPUExecutionProvider, 1 thread, sequential, graph optimisations disabled",
            "input_distribution": "N(0, 1), seeded by sha256('<model>/input')",
            "models": manifest,
        },
    )
    log(f"light: wrote {len(manifest)} models in {timer.seconds():.1f} s")


if __name__ == "__main__":
    main()
