//! Operators of onnxruntime's `com.microsoft` domain that its quantization
//! tools write, lowered to standard pocketnn operators.
//!
//! * `QGemm` (QOperator form of a quantized `Gemm`): inputs `A, a_scale,
//!   a_zero_point, B, b_scale, b_zero_point, C?, y_scale?, y_zero_point?`,
//!   attributes `alpha`, `transA`, `transB`. onnxruntime computes the i32
//!   sum `acc = C + Σ (a - za)(b - zb)` and then either the f32 value
//!   `acc · s` or the quantized `saturate(round(acc · s) + y_zero_point)`,
//!   with `s = alpha · a_scale · b_scale / y_scale` (per column when
//!   `b_scale` is) computed in f32. It becomes
//!   `MatMulInteger → Add(C) → Cast(f32) → Mul(s)`, followed by
//!   `QuantizeLinear(scale 1, y_zero_point)` when quantized, with `s` made
//!   by `Mul`/`Div` nodes in onnxruntime's order (folded to a constant when
//!   the scales are constants), so every f32 operation is the one
//!   onnxruntime does.

use super::attrs::OnnxAttrs;
use super::lower::{Inputs, attribute, dtype_of, required};
use super::{Importer, NodeCtx};
use crate::error::ConvertError;
use crate::graph::ValueId;
use crate::onnx::proto::NodeProto;
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::Tensor;

/// True when this build lowers `domain::op_type`.
pub(crate) fn is_supported(domain: &str, op_type: &str) -> bool {
    domain == "com.microsoft" && op_type == "QGemm"
}

/// Emits `op` with a fresh intermediate output named after the node.
fn emit_temp(
    imp: &mut Importer,
    ctx: &NodeCtx,
    op: OpCode,
    inputs: Inputs,
    attributes: Vec<Attribute>,
    what: &str,
) -> Result<ValueId, ConvertError> {
    let name = imp.graph.unique_name(&format!("{}_{what}", ctx.node));
    imp.emit(ctx, op, inputs, attributes, std::slice::from_ref(&name))?;
    imp.lookup(&name)
        .ok_or_else(|| ConvertError::UndefinedValue {
            name,
            node: ctx.node.clone(),
        })
}

fn flag(attrs: &OnnxAttrs<'_>, ctx: &NodeCtx, name: &str) -> Result<bool, ConvertError> {
    match attrs.int(name)?.unwrap_or(0) {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(ctx.attr_error(name, format!("{other} is neither 0 nor 1"))),
    }
}

/// Lowers `com.microsoft::QGemm` (see the module docs).
pub(crate) fn qgemm(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<(), ConvertError> {
    let alpha = attrs.float("alpha")?.unwrap_or(1.0);
    let (trans_a, trans_b) = (flag(attrs, ctx, "transA")?, flag(attrs, ctx, "transB")?);
    let input = |i: usize| inputs.get(i).copied().flatten();
    let mut a = required(&inputs, 0, ctx)?;
    let a_scale = required(&inputs, 1, ctx)?;
    let a_zero = required(&inputs, 2, ctx)?;
    let mut b = required(&inputs, 3, ctx)?;
    let b_scale = required(&inputs, 4, ctx)?;
    let b_zero = required(&inputs, 5, ctx)?;
    let (c, y_scale, y_zero) = (input(6), input(7), input(8));
    if y_zero.is_some() && y_scale.is_none() {
        return Err(ctx.input_error(7, "y_zero_point without y_scale"));
    }
    if let Some(c) = c
        && dtype_of(imp, c) != DType::I32
    {
        return Err(ctx.input_error(6, "C must be int32"));
    }
    let transpose = || vec![attribute("perm", AttrValue::Ints(vec![1, 0]))];
    if trans_a {
        a = emit_temp(
            imp,
            ctx,
            OpCode::Transpose,
            vec![Some(a)],
            transpose(),
            "a_t",
        )?;
    }
    if trans_b {
        b = emit_temp(
            imp,
            ctx,
            OpCode::Transpose,
            vec![Some(b)],
            transpose(),
            "b_t",
        )?;
    }
    let product = vec![Some(a), Some(b), Some(a_zero), Some(b_zero)];
    let mut acc = emit_temp(imp, ctx, OpCode::MatMulInteger, product, vec![], "acc")?;
    if let Some(c) = c {
        acc = emit_temp(
            imp,
            ctx,
            OpCode::Add,
            vec![Some(acc), Some(c)],
            vec![],
            "acc_c",
        )?;
    }
    let to_f32 = vec![attribute(
        "to",
        AttrValue::Int(i64::from(DType::F32.code())),
    )];
    let acc_f32 = emit_temp(imp, ctx, OpCode::Cast, vec![Some(acc)], to_f32, "acc_f32")?;
    // s = alpha · a_scale · b_scale [/ y_scale], in this order.
    let alpha = imp.add_constant(&format!("{}_alpha", ctx.node), Tensor::scalar(alpha));
    let mut scale = emit_temp(
        imp,
        ctx,
        OpCode::Mul,
        vec![Some(alpha), Some(a_scale)],
        vec![],
        "scale_a",
    )?;
    scale = emit_temp(
        imp,
        ctx,
        OpCode::Mul,
        vec![Some(scale), Some(b_scale)],
        vec![],
        "scale_ab",
    )?;
    if let Some(y_scale) = y_scale {
        scale = emit_temp(
            imp,
            ctx,
            OpCode::Div,
            vec![Some(scale), Some(y_scale)],
            vec![],
            "scale",
        )?;
    }
    let outputs = &node.output[..node.output.len().min(1)];
    let Some(y_zero) = y_zero else {
        return imp.emit(
            ctx,
            OpCode::Mul,
            vec![Some(acc_f32), Some(scale)],
            vec![],
            outputs,
        );
    };
    let scaled = emit_temp(
        imp,
        ctx,
        OpCode::Mul,
        vec![Some(acc_f32), Some(scale)],
        vec![],
        "scaled",
    )?;
    let one = imp.add_constant(&format!("{}_one", ctx.node), Tensor::scalar(1f32));
    imp.emit(
        ctx,
        OpCode::QuantizeLinear,
        vec![Some(scaled), Some(one), Some(y_zero)],
        vec![],
        outputs,
    )
}
