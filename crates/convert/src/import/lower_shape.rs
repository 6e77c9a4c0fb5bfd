//! Lowering of shape, data-movement and resampling ops whose older versions
//! took attributes that later versions take as inputs.

use super::attrs::OnnxAttrs;
use super::lower::{
    Inputs, attribute, dtype_of, float_scalar_input, i64_input, required, small_tensor,
};
use super::{Importer, NodeCtx};
use crate::error::ConvertError;
use crate::onnx::proto::NodeProto;
use pocketnn_format::{AttrValue, Attribute};

/// Inputs and attributes of the pocketnn node for `node`, or `None` when
/// the node was already emitted.
type Lowered = Option<(Inputs, Vec<Attribute>)>;

/// Lowers ops not handled in `lower.rs`; most pass through unchanged.
pub(super) fn lower(
    imp: &mut Importer,
    node: &NodeProto,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<Lowered, ConvertError> {
    let v = ctx.version;
    match ctx.op.as_str() {
        "Pad" => pad(imp, ctx, attrs, inputs),
        "Slice" if v < 10 => {
            let x = required(&inputs, 0, ctx)?;
            let need = |name: &str| {
                attrs
                    .ints(name)?
                    .ok_or_else(|| ctx.attr_error(name, "required but missing"))
            };
            let starts = i64_input(imp, ctx, "starts", &need("starts")?)?;
            let ends = i64_input(imp, ctx, "ends", &need("ends")?)?;
            let mut new_inputs = vec![Some(x), Some(starts), Some(ends)];
            if let Some(axes) = attrs.ints("axes")? {
                new_inputs.push(Some(i64_input(imp, ctx, "axes", &axes)?));
            }
            Ok(Some((
                new_inputs,
                attrs.pass_through(&["starts", "ends", "axes"])?,
            )))
        }
        "Split" => {
            let outputs = i64::try_from(node.output.len()).unwrap_or(i64::MAX);
            if let Some(n) = attrs.int("num_outputs")?
                && n != outputs
            {
                return Err(ctx.attr_error(
                    "num_outputs",
                    format!("is {n} but the node has {outputs} outputs"),
                ));
            }
            let mut new_inputs = inputs;
            if v < 13 {
                let x = required(&new_inputs, 0, ctx)?;
                new_inputs = vec![Some(x)];
                if let Some(split) = attrs.ints("split")? {
                    new_inputs.push(Some(i64_input(imp, ctx, "split", &split)?));
                }
            }
            let mut attributes = attrs.pass_through(&["split", "num_outputs"])?;
            attributes.push(attribute("num_outputs", AttrValue::Int(outputs)));
            Ok(Some((new_inputs, attributes)))
        }
        "Squeeze" | "Unsqueeze" if v < 13 => axes_to_input(imp, ctx, attrs, inputs),
        "ReduceSum" if v < 13 => axes_to_input(imp, ctx, attrs, inputs),
        "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" if v < 18 => {
            axes_to_input(imp, ctx, attrs, inputs)
        }
        "Upsample" => upsample(imp, ctx, attrs, inputs),
        "Resize" => resize(ctx, attrs, inputs),
        _ => Ok(Some((inputs, attrs.pass_through(&[])?))),
    }
}

/// Moves an `axes` attribute (when present) to input 1.
fn axes_to_input(
    imp: &mut Importer,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<Lowered, ConvertError> {
    let x = required(&inputs, 0, ctx)?;
    let mut new_inputs = vec![Some(x)];
    if let Some(axes) = attrs.ints("axes")? {
        new_inputs.push(Some(i64_input(imp, ctx, "axes", &axes)?));
    } else if ctx.op == "Unsqueeze" {
        return Err(ctx.attr_error("axes", "required but missing"));
    }
    Ok(Some((new_inputs, attrs.pass_through(&["axes"])?)))
}

/// `Pad`: before version 11, `pads` and `value` were attributes.
fn pad(
    imp: &mut Importer,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<Lowered, ConvertError> {
    let modes: &[&str] = if ctx.version >= 19 {
        &["constant", "reflect", "edge", "wrap"]
    } else {
        &["constant", "reflect", "edge"]
    };
    attrs.check_string("mode", modes)?;
    if ctx.version >= 11 {
        return Ok(Some((inputs, attrs.pass_through(&[])?)));
    }
    let x = required(&inputs, 0, ctx)?;
    let pads = attrs
        .ints("pads")?
        .ok_or_else(|| ctx.attr_error("pads", "required but missing"))?;
    let pads = i64_input(imp, ctx, "pads", &pads)?;
    let mut new_inputs = vec![Some(x), Some(pads)];
    let constant_mode = attrs.string("mode")?.is_none_or(|m| m == "constant");
    if let Some(value) = attrs.float("value")?
        && constant_mode
        && value != 0.0
    {
        let dtype = dtype_of(imp, x);
        new_inputs.push(Some(float_scalar_input(imp, ctx, "value", dtype, value)?));
    }
    Ok(Some((new_inputs, attrs.pass_through(&["pads", "value"])?)))
}

/// The attributes every legacy resampling op (Upsample, Resize-10) gets.
fn legacy_resize_attributes(
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
) -> Result<Vec<Attribute>, ConvertError> {
    attrs.check_string("mode", &["nearest", "linear", "cubic"])?;
    let mode = attrs
        .string("mode")?
        .unwrap_or_else(|| "nearest".to_string());
    let _ = ctx;
    Ok(vec![
        attribute("mode", AttrValue::String(mode)),
        attribute(
            "coordinate_transformation_mode",
            AttrValue::String("asymmetric".into()),
        ),
        attribute("nearest_mode", AttrValue::String("floor".into())),
    ])
}

/// `Upsample` (7: `scales` attribute; 9: `scales` input) → `Resize`.
fn upsample(
    imp: &mut Importer,
    ctx: &NodeCtx,
    attrs: &OnnxAttrs<'_>,
    inputs: Inputs,
) -> Result<Lowered, ConvertError> {
    let x = required(&inputs, 0, ctx)?;
    let scales = if ctx.version < 9 {
        let scales = attrs
            .floats("scales")?
            .ok_or_else(|| ctx.attr_error("scales", "required but missing"))?;
        let t = small_tensor(&[scales.len()], &scales, ctx)?;
        imp.add_constant(&format!("{}_scales", ctx.node), t)
    } else {
        required(&inputs, 1, ctx)?
    };
    Ok(Some((
        vec![Some(x), None, Some(scales)],
        legacy_resize_attributes(ctx, attrs)?,
    )))
}

/// `Resize`: version 10 took `(X, scales)` with asymmetric coordinates and
/// floor rounding; later versions pass through.
fn resize(ctx: &NodeCtx, attrs: &OnnxAttrs<'_>, inputs: Inputs) -> Result<Lowered, ConvertError> {
    if ctx.version < 11 {
        let x = required(&inputs, 0, ctx)?;
        let scales = required(&inputs, 1, ctx)?;
        return Ok(Some((
            vec![Some(x), None, Some(scales)],
            legacy_resize_attributes(ctx, attrs)?,
        )));
    }
    attrs.check_string("mode", &["nearest", "linear", "cubic"])?;
    attrs.check_string(
        "coordinate_transformation_mode",
        &[
            "half_pixel",
            "half_pixel_symmetric",
            "pytorch_half_pixel",
            "align_corners",
            "asymmetric",
            "tf_crop_and_resize",
        ],
    )?;
    attrs.check_string(
        "nearest_mode",
        &["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"],
    )?;
    attrs.check_string(
        "keep_aspect_ratio_policy",
        &["stretch", "not_larger", "not_smaller"],
    )?;
    Ok(Some((inputs, attrs.pass_through(&[])?)))
}
