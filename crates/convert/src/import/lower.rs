//! Lowering one ONNX node to pocketnn: the op of the same name in its
//! opset-21 form. Older forms are normalised here (attributes that later
//! opsets turned into inputs become constant inputs, legacy semantics get
//! explicit attributes); see `docs/convert.md` for the table.

use super::attrs::OnnxAttrs;
use super::lower_shape;
use super::tensor::{dtype_from_onnx, onnx_type_name, tensor_from_proto};
use super::{Importer, NodeCtx};
use crate::error::ConvertError;
use crate::graph::ValueId;
use crate::onnx::proto::NodeProto;
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::{Tensor, f16};

/// The accepted values of `auto_pad`.
const AUTO_PAD: &[&str] = &["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"];

/// Inputs of the node being lowered.
pub(crate) type Inputs = Vec<Option<ValueId>>;

/// A required input.
pub(crate) fn required(
    inputs: &Inputs,
    index: usize,
    ctx: &NodeCtx,
) -> Result<ValueId, ConvertError> {
    inputs
        .get(index)
        .copied()
        .flatten()
        .ok_or_else(|| ctx.input_error(index, "required but missing"))
}

/// An attribute.
pub(crate) fn attribute(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.to_string(),
        value,
    }
}

/// A tensor made by the importer (shapes and sizes are tiny and valid).
pub(crate) fn small_tensor<T: pocketnn_tensor::Element>(
    shape: &[usize],
    data: &[T],
    ctx: &NodeCtx,
) -> Result<Tensor, ConvertError> {
    Tensor::from_slice(shape, data).map_err(|source| ConvertError::Tensor {
        tensor: ctx.node.clone(),
        source,
    })
}

/// A 1-D i64 constant (an attribute that became an input).
pub(crate) fn i64_input(
    imp: &mut Importer,
    ctx: &NodeCtx,
    what: &str,
    data: &[i64],
) -> Result<ValueId, ConvertError> {
    let t = small_tensor(&[data.len()], data, ctx)?;
    Ok(imp.add_constant(&format!("{}_{what}", ctx.node), t))
}

/// A scalar constant of float dtype `dtype` (f32 or f16) holding `value`.
pub(crate) fn float_scalar_input(
    imp: &mut Importer,
    ctx: &NodeCtx,
    what: &str,
    dtype: DType,
    value: f32,
) -> Result<ValueId, ConvertError> {
    let t = match dtype {
        DType::F32 => Tensor::scalar(value),
        DType::F16 => Tensor::scalar(f16::from_f32(value)),
        other => {
            return Err(
                ctx.input_error(0, format!("dtype {other} is not valid for this op version"))
            );
        }
    };
    Ok(imp.add_constant(&format!("{}_{what}", ctx.node), t))
}

/// The dtype of value `id`.
pub(crate) fn dtype_of(imp: &Importer, id: ValueId) -> DType {
    imp.graph.value(id).map_or(DType::F32, |v| v.dtype)
}

/// Lowers `node` (already checked: supported op, known schema version).
pub(crate) fn lower_node(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    let v = ctx.version;
    match ctx.op.as_str() {
        "Constant" => constant(imp, node, ctx, attrs),
        "Identity" => pass_through_node(imp, node, ctx, inputs),
        "Dropout" => dropout(imp, node, ctx, inputs),
        "If" => if_node(imp, node, ctx, attrs, inputs),
        "Clip" if v < 11 => clip_v6(imp, node, ctx, attrs, inputs),
        "Softmax" | "LogSoftmax" if v < 13 => {
            let mut attributes = attrs.pass_through(&["axis"])?;
            attributes.push(attribute(
                "axis",
                AttrValue::Int(attrs.int("axis")?.unwrap_or(1)),
            ));
            attributes.push(attribute("coerce_2d", AttrValue::Int(1)));
            generic(imp, node, ctx, inputs, attributes)
        }
        "BatchNormalization" => batch_norm(imp, node, ctx, attrs, inputs),
        "ConstantOfShape" => constant_of_shape(imp, node, ctx, attrs, inputs),
        "Cast" => {
            let to = attrs
                .int("to")?
                .ok_or_else(|| ctx.attr_error("to", "required but missing"))?;
            let code = i32::try_from(to).map_err(|_| ctx.attr_error("to", "not a type code"))?;
            let dtype = dtype_from_onnx(code, "").map_err(|_| {
                ctx.attr_error(
                    "to",
                    format!("target type {} is not supported", onnx_type_name(code)),
                )
            })?;
            let mut attributes = attrs.pass_through(&["to"])?;
            attributes.push(attribute("to", AttrValue::Int(i64::from(dtype.code()))));
            generic(imp, node, ctx, inputs, attributes)
        }
        "CastLike" => {
            let target = inputs
                .get(1)
                .copied()
                .flatten()
                .ok_or_else(|| ctx.input_error(1, "the target_type input is required"))?;
            let dtype = dtype_of(imp, target);
            let mut attributes = attrs.pass_through(&[])?;
            attributes.push(attribute("to", AttrValue::Int(i64::from(dtype.code()))));
            imp.emit(
                ctx,
                OpCode::Cast,
                inputs[..1].to_vec(),
                attributes,
                &node.output,
            )
        }
        "EyeLike" => {
            let mut attributes = attrs.pass_through(&["dtype"])?;
            if let Some(code) = attrs.int("dtype")? {
                let dtype = i32::try_from(code)
                    .ok()
                    .and_then(|c| dtype_from_onnx(c, "").ok())
                    .ok_or_else(|| {
                        ctx.attr_error("dtype", format!("type code {code} is not supported"))
                    })?;
                attributes.push(attribute("dtype", AttrValue::Int(i64::from(dtype.code()))));
            }
            generic(imp, node, ctx, inputs, attributes)
        }
        "LayerNormalization" => {
            if let Some(stash) = attrs.int("stash_type")?
                && stash != 1
            {
                return Err(ctx.attr_error(
                    "stash_type",
                    format!("only 1 (compute in f32) is supported, got {stash}"),
                ));
            }
            let attributes = attrs.pass_through(&[])?;
            generic(imp, node, ctx, inputs, attributes)
        }
        "Conv" | "MaxPool" | "AveragePool" | "ConvTranspose" => {
            attrs.check_string("auto_pad", AUTO_PAD)?;
            if ctx.op == "ConvTranspose"
                && v < 11
                && attrs
                    .string("auto_pad")?
                    .is_some_and(|p| p.starts_with("SAME"))
            {
                return Err(ctx.attr_error(
                    "auto_pad",
                    "SAME padding of ConvTranspose before version 11 is not supported",
                ));
            }
            let attributes = attrs.pass_through(&[])?;
            generic(imp, node, ctx, inputs, attributes)
        }
        "Gelu" => {
            attrs.check_string("approximate", &["none", "tanh"])?;
            generic(imp, node, ctx, inputs, attrs.pass_through(&[])?)
        }
        "DepthToSpace" | "SpaceToDepth" => {
            attrs.check_string("mode", &["DCR", "CRD"])?;
            generic(imp, node, ctx, inputs, attrs.pass_through(&[])?)
        }
        _ => match lower_shape::lower(imp, node, ctx, attrs, inputs)? {
            Some((inputs, attributes)) => generic(imp, node, ctx, inputs, attributes),
            None => Ok(()),
        },
    }
}

/// Emits the pocketnn op named like the ONNX op.
pub(crate) fn generic(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    inputs: Inputs,
    attributes: Vec<Attribute>,
) -> Result<(), ConvertError> {
    let name = if ctx.op == "Upsample" {
        "Resize"
    } else {
        ctx.op.as_str()
    };
    let op = OpCode::from_name(name).ok_or_else(|| ConvertError::UnsupportedOp {
        op: ctx.op.clone(),
        domain: String::new(),
        node: ctx.node.clone(),
        opset: ctx.opset,
    })?;
    imp.emit(ctx, op, inputs, attributes, &node.output)
}

/// `Constant`: the output becomes a constant value.
fn constant(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
) -> Result<(), ConvertError> {
    let name = node.output.first().map(String::as_str).unwrap_or_default();
    let tensor = if let Some(t) = attrs.tensor("value")? {
        tensor_from_proto(t, name)?
    } else if let Some(f) = attrs.float("value_float")? {
        Tensor::scalar(f)
    } else if let Some(fs) = attrs.floats("value_floats")? {
        small_tensor(&[fs.len()], &fs, ctx)?
    } else if let Some(i) = attrs.int("value_int")? {
        Tensor::scalar(i)
    } else if let Some(is) = attrs.ints("value_ints")? {
        small_tensor(&[is.len()], &is, ctx)?
    } else if attrs.has("value_string") || attrs.has("value_strings") {
        return Err(ConvertError::UnsupportedDType {
            tensor: name.to_string(),
            dtype: "STRING".into(),
        });
    } else if attrs.has("sparse_value") {
        return Err(ctx.attr_error("sparse_value", "sparse constants are not supported"));
    } else {
        return Err(ctx.attr_error("value", "the node has no value attribute"));
    };
    imp.define_constant(name, tensor)
}

/// `Identity` (and `Dropout` in inference): removed, its consumers read its
/// input; kept as `Identity` when its output is a graph output, so the
/// output keeps its name.
fn pass_through_node(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    let source = required(&inputs, 0, ctx)?;
    let Some(out) = node.output.first().filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    if imp.is_graph_output(out) {
        imp.emit(
            ctx,
            OpCode::Identity,
            vec![Some(source)],
            Vec::new(),
            std::slice::from_ref(out),
        )
    } else {
        imp.alias(out, source)
    }
}

/// `Dropout`: identity at inference. The mask output and training mode are
/// not supported.
fn dropout(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    if let Some(Some(mode)) = inputs.get(2) {
        let off = imp
            .graph
            .constant(*mode)
            .and_then(|t| t.view().to_i64_vec().ok())
            .is_some_and(|v| v.iter().all(|&x| x == 0));
        if !off {
            return Err(ctx.input_error(2, "training_mode must be a constant false"));
        }
    }
    if let Some(mask) = node.output.get(1) {
        imp.forbid_use(
            mask,
            ctx,
            1,
            "the dropout mask is not computed at inference",
        );
    }
    pass_through_node(imp, node, ctx, inputs)
}

/// `If`: both branches become subgraph bodies.
fn if_node(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    required(&inputs, 0, ctx)?;
    let then_graph = attrs.graph("then_branch")?;
    let else_graph = attrs.graph("else_branch")?;
    let outputs = node.output.len();
    for (name, g) in [("then_branch", then_graph), ("else_branch", else_graph)] {
        if g.output.len() != outputs {
            return Err(ctx.attr_error(
                name,
                format!(
                    "yields {} values but the node has {outputs} outputs",
                    g.output.len()
                ),
            ));
        }
    }
    let then_body = imp.import_subgraph(then_graph)?;
    let else_body = imp.import_subgraph(else_graph)?;
    let body_id = |b: usize| {
        u32::try_from(b)
            .map(AttrValue::Body)
            .map_err(|_| ctx.attr_error("then_branch", "too many subgraphs"))
    };
    let attributes = vec![
        attribute("then_branch", body_id(then_body)?),
        attribute("else_branch", body_id(else_body)?),
    ];
    imp.emit(ctx, OpCode::If, inputs, attributes, &node.output)
}

/// `Clip` before version 11: `min`/`max` attributes become inputs.
fn clip_v6(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    let x = required(&inputs, 0, ctx)?;
    let dtype = dtype_of(imp, x);
    let min = match attrs.float("min")? {
        Some(m) => Some(float_scalar_input(imp, ctx, "min", dtype, m)?),
        None => None,
    };
    let max = match attrs.float("max")? {
        Some(m) => Some(float_scalar_input(imp, ctx, "max", dtype, m)?),
        None => None,
    };
    let mut new_inputs = vec![Some(x), min, max];
    while new_inputs.last().is_some_and(Option::is_none) {
        new_inputs.pop();
    }
    generic(
        imp,
        node,
        ctx,
        new_inputs,
        attrs.pass_through(&["min", "max"])?,
    )
}

/// `BatchNormalization` in inference form: only output 0; the legacy
/// `spatial` attribute must be 1 and `training_mode` 0.
fn batch_norm(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    if let Some(spatial) = attrs.int("spatial")?
        && spatial != 1
    {
        return Err(ctx.attr_error(
            "spatial",
            "only spatial=1 (per-channel statistics) is supported",
        ));
    }
    if let Some(mode) = attrs.int("training_mode")?
        && mode != 0
    {
        return Err(ctx.attr_error("training_mode", "training mode is not supported"));
    }
    for (index, name) in node.output.iter().enumerate().skip(1) {
        imp.forbid_use(
            name,
            ctx,
            index,
            "training statistics are not computed at inference",
        );
    }
    let attributes = attrs.pass_through(&["spatial", "training_mode", "momentum", "is_test"])?;
    let outputs: Vec<String> = node.output.iter().take(1).cloned().collect();
    imp.emit(
        ctx,
        OpCode::BatchNormalization,
        inputs,
        attributes,
        &outputs,
    )
}

/// `ConstantOfShape`: the `value` tensor becomes `dtype` plus `value_float`
/// or `value_int`.
fn constant_of_shape(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    let mut attributes = Vec::new();
    match attrs.tensor("value")? {
        None => {
            attributes.push(attribute(
                "dtype",
                AttrValue::Int(i64::from(DType::F32.code())),
            ));
            attributes.push(attribute("value_float", AttrValue::Float(0.0)));
        }
        Some(t) => {
            let value = tensor_from_proto(t, &format!("{}.value", ctx.node))?;
            if value.shape().iter().product::<usize>() != 1 {
                return Err(ctx.attr_error("value", "must hold exactly one element"));
            }
            let dtype = value.dtype();
            attributes.push(attribute("dtype", AttrValue::Int(i64::from(dtype.code()))));
            let view = value.view();
            let convert_error = |e| ConvertError::Tensor {
                tensor: format!("{}.value", ctx.node),
                source: e,
            };
            match dtype {
                DType::F32 | DType::F16 => {
                    let v = view.to_f32_vec().map_err(convert_error)?;
                    let x = v.first().copied().unwrap_or(0.0);
                    attributes.push(attribute("value_float", AttrValue::Float(x)));
                }
                _ => {
                    let v = view.to_i64_vec().map_err(convert_error)?;
                    let x = v.first().copied().unwrap_or(0);
                    attributes.push(attribute("value_int", AttrValue::Int(x)));
                }
            }
        }
    }
    generic(imp, node, ctx, inputs, attributes)
}
