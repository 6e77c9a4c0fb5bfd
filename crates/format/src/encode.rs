//! Encoding the METADATA, GRAPH and TENSOR_INDEX sections (see
//! `docs/format.md`). The model has been validated before it gets here.

use crate::bytes::{Encoder, NONE_ID};
use crate::{AttrValue, Body, Dim, GraphDef, Metadata, NodeDef, TensorEntry, ValueDef};

/// Attribute type tags.
pub(crate) mod attr_tag {
    pub(crate) const INT: u8 = 1;
    pub(crate) const FLOAT: u8 = 2;
    pub(crate) const STRING: u8 = 3;
    pub(crate) const INTS: u8 = 4;
    pub(crate) const FLOATS: u8 = 5;
    pub(crate) const STRINGS: u8 = 6;
    pub(crate) const BODY: u8 = 7;
}

/// Dimension tags.
pub(crate) mod dim_tag {
    pub(crate) const FIXED: u8 = 0;
    pub(crate) const SYMBOLIC: u8 = 1;
}

/// The fewest bytes each list item can take, used to reject counts that
/// promise more items than a section can hold.
pub(crate) mod min_len {
    /// Two empty strings.
    pub(crate) const PROPERTY: usize = 8;
    /// Empty name, dtype, absent shape, constant id.
    pub(crate) const VALUE: usize = 4 + 1 + 1 + 4;
    /// Tag and an empty symbol.
    pub(crate) const DIM: usize = 1 + 4;
    /// Two empty lists.
    pub(crate) const BODY: usize = 8;
    /// Empty name, op code, three empty lists.
    pub(crate) const NODE: usize = 4 + 2 + 4 + 4 + 4;
    /// Empty name, tag, 4-byte payload.
    pub(crate) const ATTRIBUTE: usize = 4 + 1 + 4;
    /// Empty name, dtype, empty shape, layout, absent quant, offset, len.
    pub(crate) const TENSOR: usize = 4 + 1 + 4 + 2 + 1 + 8 + 8;
}

fn optional_id(e: &mut Encoder, id: Option<u32>) {
    e.u32(id.unwrap_or(NONE_ID));
}

fn ids(e: &mut Encoder, ids: &[u32]) {
    e.count(ids.len());
    ids.iter().for_each(|&id| e.u32(id));
}

/// Encodes a METADATA section.
pub(crate) fn metadata(meta: &Metadata) -> Vec<u8> {
    let mut e = Encoder::default();
    e.string(&meta.name);
    e.string(&meta.producer);
    e.count(meta.properties.len());
    for (key, value) in &meta.properties {
        e.string(key);
        e.string(value);
    }
    e.bytes
}

/// Encodes a GRAPH section.
pub(crate) fn graph(graph: &GraphDef) -> Vec<u8> {
    let mut e = Encoder::default();
    e.count(graph.values.len());
    for v in &graph.values {
        value(&mut e, v);
    }
    ids(&mut e, &graph.inputs);
    e.count(graph.bodies.len());
    for b in &graph.bodies {
        body(&mut e, b);
    }
    e.bytes
}

/// Encodes a TENSOR_INDEX section.
pub(crate) fn tensor_index(tensors: &[TensorEntry]) -> Vec<u8> {
    let mut e = Encoder::default();
    e.count(tensors.len());
    for t in tensors {
        e.string(&t.name);
        e.u8(t.dtype.code());
        e.count(t.shape.len());
        t.shape.iter().for_each(|&d| e.u64(d));
        e.u16(t.layout.code());
        e.presence(t.quant.is_some());
        if let Some(q) = &t.quant {
            optional_id(&mut e, q.axis);
            e.count(q.scales.len());
            q.scales.iter().for_each(|&s| e.f32(s));
            e.count(q.zero_points.len());
            q.zero_points.iter().for_each(|&z| e.i32(z));
        }
        e.u64(t.offset);
        e.u64(t.len);
    }
    e.bytes
}

fn value(e: &mut Encoder, v: &ValueDef) {
    e.string(&v.name);
    e.u8(v.dtype.code());
    e.presence(v.shape.is_some());
    if let Some(shape) = &v.shape {
        e.count(shape.len());
        for d in shape {
            match d {
                Dim::Fixed(n) => {
                    e.u8(dim_tag::FIXED);
                    e.u64(*n);
                }
                Dim::Symbolic(s) => {
                    e.u8(dim_tag::SYMBOLIC);
                    e.string(s);
                }
            }
        }
    }
    optional_id(e, v.constant);
}

fn body(e: &mut Encoder, b: &Body) {
    e.count(b.nodes.len());
    for n in &b.nodes {
        node(e, n);
    }
    ids(e, &b.outputs);
}

fn node(e: &mut Encoder, n: &NodeDef) {
    e.string(&n.name);
    e.u16(n.op as u16);
    e.count(n.inputs.len());
    n.inputs.iter().for_each(|&id| optional_id(e, id));
    ids(e, &n.outputs);
    e.count(n.attributes.len());
    for a in &n.attributes {
        e.string(&a.name);
        match &a.value {
            AttrValue::Int(v) => {
                e.u8(attr_tag::INT);
                e.i64(*v);
            }
            AttrValue::Float(v) => {
                e.u8(attr_tag::FLOAT);
                e.f32(*v);
            }
            AttrValue::String(s) => {
                e.u8(attr_tag::STRING);
                e.string(s);
            }
            AttrValue::Ints(v) => {
                e.u8(attr_tag::INTS);
                e.count(v.len());
                v.iter().for_each(|&x| e.i64(x));
            }
            AttrValue::Floats(v) => {
                e.u8(attr_tag::FLOATS);
                e.count(v.len());
                v.iter().for_each(|&x| e.f32(x));
            }
            AttrValue::Strings(v) => {
                e.u8(attr_tag::STRINGS);
                e.count(v.len());
                v.iter().for_each(|s| e.string(s));
            }
            AttrValue::Body(id) => {
                e.u8(attr_tag::BODY);
                e.u32(*id);
            }
        }
    }
}
