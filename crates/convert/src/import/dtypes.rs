//! Output element types of pocketnn nodes, from their inputs' types and
//! attributes. ONNX files rarely declare intermediate types, but every
//! `.pnn` value has one.

use super::NodeCtx;
use crate::error::ConvertError;
use crate::graph::Graph;
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};

fn attr<'a>(attributes: &'a [Attribute], name: &str) -> Option<&'a AttrValue> {
    attributes.iter().find(|a| a.name == name).map(|a| &a.value)
}

/// The dtype named by integer attribute `name` (a pocketnn/ONNX dtype code).
fn dtype_attr(attributes: &[Attribute], name: &str) -> Option<DType> {
    match attr(attributes, name) {
        Some(AttrValue::Int(code)) => u8::try_from(*code).ok().and_then(DType::from_code),
        _ => None,
    }
}

/// The dtypes of a node's first `count` outputs.
pub(crate) fn output_dtypes(
    op: OpCode,
    attributes: &[Attribute],
    inputs: &[Option<DType>],
    count: usize,
    graph: &Graph,
    ctx: &NodeCtx,
) -> Result<Vec<DType>, ConvertError> {
    let input = |i: usize| {
        inputs
            .get(i)
            .copied()
            .flatten()
            .ok_or_else(|| ctx.input_error(i, "required but missing"))
    };
    let all = |dtype: DType| Ok(vec![dtype; count]);
    match op {
        OpCode::Shape | OpCode::Size | OpCode::ArgMax | OpCode::ArgMin => all(DType::I64),
        OpCode::Equal
        | OpCode::Less
        | OpCode::Greater
        | OpCode::LessOrEqual
        | OpCode::GreaterOrEqual
        | OpCode::Not
        | OpCode::And
        | OpCode::Or
        | OpCode::Xor => all(DType::Bool),
        OpCode::Cast => {
            all(dtype_attr(attributes, "to").ok_or_else(|| ctx.attr_error("to", "missing"))?)
        }
        OpCode::ConstantOfShape => all(dtype_attr(attributes, "dtype").unwrap_or(DType::F32)),
        OpCode::EyeLike => all(match dtype_attr(attributes, "dtype") {
            Some(d) => d,
            None => input(0)?,
        }),
        OpCode::Where => all(input(1)?),
        // output 0 is the pooled tensor, output 1 the indices
        OpCode::MaxPool => {
            let x = input(0)?;
            Ok((0..count)
                .map(|i| if i == 0 { x } else { DType::I64 })
                .collect())
        }
        // outputs 1 and 2 (mean, inverse std dev) are computed in f32
        OpCode::LayerNormalization => {
            let x = input(0)?;
            Ok((0..count)
                .map(|i| if i == 0 { x } else { DType::F32 })
                .collect())
        }
        OpCode::If => {
            let body = match attr(attributes, "then_branch") {
                Some(AttrValue::Body(b)) => usize::try_from(*b).ok(),
                _ => None,
            };
            let outputs = body
                .and_then(|b| graph.bodies.get(b))
                .map(|b| b.outputs.clone())
                .unwrap_or_default();
            if outputs.len() != count {
                return Err(ctx.attr_error(
                    "then_branch",
                    format!("has {} outputs, the node {count}", outputs.len()),
                ));
            }
            Ok(outputs
                .iter()
                .map(|&o| graph.value(o).map_or(DType::F32, |v| v.dtype))
                .collect())
        }
        _ => all(input(0)?),
    }
}
