//! Decoding the METADATA, GRAPH and TENSOR_INDEX sections (see
//! `docs/format.md`). Each function reads a whole section and rejects
//! trailing bytes; cross-references are checked later by `validate`.

use crate::bytes::{NONE_ID, Reader, check_limit};
use crate::encode::{attr_tag, dim_tag, min_len};
use crate::{
    AttrValue, Attribute, Body, DType, Dim, FormatError, GraphDef, Layout, Limits, Metadata,
    NodeDef, OpCode, QuantParams, TensorEntry, ValueDef,
};

/// Decodes a METADATA section.
pub(crate) fn metadata(mut r: Reader<'_>, limits: &Limits) -> Result<Metadata, FormatError> {
    let name = r.string(limits.max_string_len)?;
    let producer = r.string(limits.max_string_len)?;
    let count = r.count(
        "metadata properties",
        limits.max_list_len,
        min_len::PROPERTY,
    )?;
    let mut properties = Vec::with_capacity(count);
    for _ in 0..count {
        let key = r.string(limits.max_string_len)?;
        let value = r.string(limits.max_string_len)?;
        properties.push((key, value));
    }
    r.finish()?;
    Ok(Metadata {
        name,
        producer,
        properties,
    })
}

/// Decodes a GRAPH section.
pub(crate) fn graph(mut r: Reader<'_>, limits: &Limits) -> Result<GraphDef, FormatError> {
    let count = r.count("values", limits.max_values, min_len::VALUE)?;
    let mut values = Vec::with_capacity(count);
    for _ in 0..count {
        values.push(value(&mut r, limits)?);
    }
    let inputs = ids(&mut r, "graph inputs", limits)?;
    let count = r.count("bodies", limits.max_bodies, min_len::BODY)?;
    let mut bodies = Vec::with_capacity(count);
    let mut total_nodes = 0usize;
    for _ in 0..count {
        bodies.push(body(&mut r, limits, &mut total_nodes)?);
    }
    r.finish()?;
    Ok(GraphDef {
        values,
        inputs,
        bodies,
    })
}

/// Decodes a TENSOR_INDEX section.
pub(crate) fn tensor_index(
    mut r: Reader<'_>,
    limits: &Limits,
) -> Result<Vec<TensorEntry>, FormatError> {
    let count = r.count("tensors", limits.max_tensors, min_len::TENSOR)?;
    let mut tensors = Vec::with_capacity(count);
    for _ in 0..count {
        tensors.push(tensor(&mut r, limits)?);
    }
    r.finish()?;
    Ok(tensors)
}

fn dtype(r: &mut Reader<'_>) -> Result<DType, FormatError> {
    let offset = r.offset();
    let code = r.u8()?;
    DType::from_code(code).ok_or(FormatError::UnknownDType {
        section: r.section(),
        offset,
        code,
    })
}

/// A `u32` id where [`NONE_ID`] means "absent".
fn optional_id(r: &mut Reader<'_>) -> Result<Option<u32>, FormatError> {
    let id = r.u32()?;
    Ok((id != NONE_ID).then_some(id))
}

fn ids(r: &mut Reader<'_>, what: &'static str, limits: &Limits) -> Result<Vec<u32>, FormatError> {
    let count = r.count(what, limits.max_list_len, 4)?;
    (0..count).map(|_| r.u32()).collect()
}

fn value(r: &mut Reader<'_>, limits: &Limits) -> Result<ValueDef, FormatError> {
    let name = r.string(limits.max_string_len)?;
    let dtype = dtype(r)?;
    let shape = if r.presence()? {
        let rank = r.count("dimensions", limits.max_rank, min_len::DIM)?;
        let mut dims = Vec::with_capacity(rank);
        for _ in 0..rank {
            dims.push(dim(r, limits)?);
        }
        Some(dims)
    } else {
        None
    };
    let constant = optional_id(r)?;
    Ok(ValueDef {
        name,
        dtype,
        shape,
        constant,
    })
}

fn dim(r: &mut Reader<'_>, limits: &Limits) -> Result<Dim, FormatError> {
    let offset = r.offset();
    match r.u8()? {
        dim_tag::FIXED => Ok(Dim::Fixed(r.u64()?)),
        dim_tag::SYMBOLIC => Ok(Dim::Symbolic(r.string(limits.max_string_len)?)),
        tag => Err(FormatError::InvalidTag {
            section: r.section(),
            offset,
            what: "dim",
            tag,
        }),
    }
}

fn body(r: &mut Reader<'_>, limits: &Limits, total_nodes: &mut usize) -> Result<Body, FormatError> {
    let count = r.count("nodes", limits.max_nodes, min_len::NODE)?;
    *total_nodes = total_nodes.saturating_add(count);
    check_limit("nodes", *total_nodes, limits.max_nodes)?;
    let mut nodes = Vec::with_capacity(count);
    for _ in 0..count {
        nodes.push(node(r, limits)?);
    }
    let outputs = ids(r, "body outputs", limits)?;
    Ok(Body { nodes, outputs })
}

fn node(r: &mut Reader<'_>, limits: &Limits) -> Result<NodeDef, FormatError> {
    let name = r.string(limits.max_string_len)?;
    let offset = r.offset();
    let code = r.u16()?;
    let op = OpCode::from_code(code).ok_or(FormatError::UnknownOp {
        section: r.section(),
        offset,
        code,
    })?;
    let count = r.count("node inputs", limits.max_list_len, 4)?;
    let inputs = (0..count)
        .map(|_| optional_id(r))
        .collect::<Result<_, _>>()?;
    let outputs = ids(r, "node outputs", limits)?;
    let count = r.count(
        "attributes",
        limits.max_attributes_per_node,
        min_len::ATTRIBUTE,
    )?;
    let mut attributes = Vec::with_capacity(count);
    for _ in 0..count {
        attributes.push(attribute(r, limits)?);
    }
    Ok(NodeDef {
        name,
        op,
        inputs,
        outputs,
        attributes,
    })
}

fn attribute(r: &mut Reader<'_>, limits: &Limits) -> Result<Attribute, FormatError> {
    let name = r.string(limits.max_string_len)?;
    let offset = r.offset();
    let list = "attribute list items";
    let value = match r.u8()? {
        attr_tag::INT => AttrValue::Int(r.i64()?),
        attr_tag::FLOAT => AttrValue::Float(r.f32()?),
        attr_tag::STRING => AttrValue::String(r.string(limits.max_string_len)?),
        attr_tag::INTS => {
            let count = r.count(list, limits.max_list_len, 8)?;
            AttrValue::Ints((0..count).map(|_| r.i64()).collect::<Result<_, _>>()?)
        }
        attr_tag::FLOATS => {
            let count = r.count(list, limits.max_list_len, 4)?;
            AttrValue::Floats((0..count).map(|_| r.f32()).collect::<Result<_, _>>()?)
        }
        attr_tag::STRINGS => {
            let count = r.count(list, limits.max_list_len, 4)?;
            let strings = (0..count)
                .map(|_| r.string(limits.max_string_len))
                .collect::<Result<_, _>>()?;
            AttrValue::Strings(strings)
        }
        attr_tag::BODY => AttrValue::Body(r.u32()?),
        tag => {
            return Err(FormatError::UnknownAttributeTag {
                section: r.section(),
                offset,
                tag,
            });
        }
    };
    Ok(Attribute { name, value })
}

fn tensor(r: &mut Reader<'_>, limits: &Limits) -> Result<TensorEntry, FormatError> {
    let name = r.string(limits.max_string_len)?;
    let dtype = dtype(r)?;
    let rank = r.count("dimensions", limits.max_rank, 8)?;
    let shape = (0..rank).map(|_| r.u64()).collect::<Result<_, _>>()?;
    let offset = r.offset();
    let code = r.u16()?;
    let layout = Layout::from_code(code).ok_or(FormatError::UnknownLayout {
        section: r.section(),
        offset,
        code,
    })?;
    let quant = if r.presence()? {
        let axis = optional_id(r)?;
        let count = r.count("quantization scales", limits.max_list_len, 4)?;
        let scales = (0..count).map(|_| r.f32()).collect::<Result<_, _>>()?;
        let count = r.count("quantization zero points", limits.max_list_len, 4)?;
        let zero_points = (0..count).map(|_| r.i32()).collect::<Result<_, _>>()?;
        Some(QuantParams {
            axis,
            scales,
            zero_points,
        })
    } else {
        None
    };
    let offset = r.u64()?;
    let len = r.u64()?;
    Ok(TensorEntry {
        name,
        dtype,
        shape,
        layout,
        quant,
        offset,
        len,
    })
}
