//! Reading a node's ONNX attributes as typed values, with errors that name
//! the op, the node, the opset and the attribute.

use super::NodeCtx;
use crate::error::ConvertError;
use crate::onnx::proto::{AttributeProto, GraphProto, TensorProto, attribute_proto::AttributeType};
use pocketnn_format::{AttrValue, Attribute};

/// One attribute's ONNX value.
#[derive(Debug)]
pub(crate) enum OnnxAttr<'a> {
    /// A value pocketnn keeps as an [`AttrValue`].
    Plain(AttrValue),
    /// A tensor (`Constant.value`, `ConstantOfShape.value`).
    Tensor(&'a TensorProto),
    /// A subgraph (`If`'s branches).
    Graph(&'a GraphProto),
}

/// The attributes of one ONNX node.
pub(crate) struct OnnxAttrs<'a> {
    list: Vec<(&'a str, OnnxAttr<'a>)>,
    ctx: &'a NodeCtx,
}

fn utf8(bytes: &[u8], ctx: &NodeCtx, name: &str) -> Result<String, ConvertError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| ctx.attr_error(name, "string is not UTF-8"))
}

/// The attribute's type, from its `type` field or, for very old models
/// that leave it unset, from the field that holds a value.
fn attribute_type(a: &AttributeProto) -> AttributeType {
    match a.r#type() {
        AttributeType::Undefined => {
            if a.f.is_some() {
                AttributeType::Float
            } else if a.i.is_some() {
                AttributeType::Int
            } else if a.s.is_some() {
                AttributeType::String
            } else if a.t.is_some() {
                AttributeType::Tensor
            } else if a.g.is_some() {
                AttributeType::Graph
            } else if !a.floats.is_empty() {
                AttributeType::Floats
            } else if !a.ints.is_empty() {
                AttributeType::Ints
            } else if !a.strings.is_empty() {
                AttributeType::Strings
            } else {
                AttributeType::Undefined
            }
        }
        t => t,
    }
}

fn convert<'a>(a: &'a AttributeProto, ctx: &NodeCtx) -> Result<OnnxAttr<'a>, ConvertError> {
    let name = a.name();
    if a.ref_attr_name.as_deref().is_some_and(|r| !r.is_empty()) {
        return Err(ctx.attr_error(name, "attribute references belong in functions, not graphs"));
    }
    Ok(match attribute_type(a) {
        AttributeType::Float => OnnxAttr::Plain(AttrValue::Float(a.f())),
        AttributeType::Int => OnnxAttr::Plain(AttrValue::Int(a.i())),
        AttributeType::String => OnnxAttr::Plain(AttrValue::String(utf8(a.s(), ctx, name)?)),
        AttributeType::Floats => OnnxAttr::Plain(AttrValue::Floats(a.floats.clone())),
        AttributeType::Ints => OnnxAttr::Plain(AttrValue::Ints(a.ints.clone())),
        AttributeType::Strings => OnnxAttr::Plain(AttrValue::Strings(
            a.strings
                .iter()
                .map(|s| utf8(s, ctx, name))
                .collect::<Result<_, _>>()?,
        )),
        AttributeType::Tensor => match &a.t {
            Some(t) => OnnxAttr::Tensor(t),
            None => return Err(ctx.attr_error(name, "tensor attribute has no tensor")),
        },
        AttributeType::Graph => match &a.g {
            Some(g) => OnnxAttr::Graph(g),
            None => return Err(ctx.attr_error(name, "graph attribute has no graph")),
        },
        other => {
            return Err(ctx.attr_error(
                name,
                format!(
                    "attributes of type {} are not supported",
                    other.as_str_name()
                ),
            ));
        }
    })
}

impl<'a> OnnxAttrs<'a> {
    /// Reads every attribute of a node.
    pub fn new(protos: &'a [AttributeProto], ctx: &'a NodeCtx) -> Result<Self, ConvertError> {
        let mut list = Vec::with_capacity(protos.len());
        for a in protos {
            let name = a.name();
            if list.iter().any(|(n, _)| *n == name) {
                return Err(ctx.attr_error(name, "given twice"));
            }
            list.push((name, convert(a, ctx)?));
        }
        Ok(OnnxAttrs { list, ctx })
    }

    /// True when the attribute is present.
    pub fn has(&self, name: &str) -> bool {
        self.list.iter().any(|(n, _)| *n == name)
    }

    fn get(&self, name: &str) -> Option<&OnnxAttr<'a>> {
        self.list.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    fn plain(&self, name: &str) -> Option<&AttrValue> {
        match self.get(name) {
            Some(OnnxAttr::Plain(v)) => Some(v),
            _ => None,
        }
    }

    fn wrong(&self, name: &str, expected: &str) -> ConvertError {
        self.ctx.attr_error(name, format!("expected {expected}"))
    }

    /// An optional integer attribute.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ConvertError> {
        match (self.get(name), self.plain(name)) {
            (None, _) => Ok(None),
            (_, Some(AttrValue::Int(v))) => Ok(Some(*v)),
            _ => Err(self.wrong(name, "an integer")),
        }
    }

    /// An optional float attribute.
    pub fn float(&self, name: &str) -> Result<Option<f32>, ConvertError> {
        match (self.get(name), self.plain(name)) {
            (None, _) => Ok(None),
            (_, Some(AttrValue::Float(v))) => Ok(Some(*v)),
            _ => Err(self.wrong(name, "a float")),
        }
    }

    /// An optional list of integers.
    pub fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, ConvertError> {
        match (self.get(name), self.plain(name)) {
            (None, _) => Ok(None),
            (_, Some(AttrValue::Ints(v))) => Ok(Some(v.clone())),
            _ => Err(self.wrong(name, "a list of integers")),
        }
    }

    /// An optional list of floats.
    pub fn floats(&self, name: &str) -> Result<Option<Vec<f32>>, ConvertError> {
        match (self.get(name), self.plain(name)) {
            (None, _) => Ok(None),
            (_, Some(AttrValue::Floats(v))) => Ok(Some(v.clone())),
            _ => Err(self.wrong(name, "a list of floats")),
        }
    }

    /// An optional string.
    pub fn string(&self, name: &str) -> Result<Option<String>, ConvertError> {
        match (self.get(name), self.plain(name)) {
            (None, _) => Ok(None),
            (_, Some(AttrValue::String(v))) => Ok(Some(v.clone())),
            _ => Err(self.wrong(name, "a string")),
        }
    }

    /// An optional tensor attribute.
    pub fn tensor(&self, name: &str) -> Result<Option<&'a TensorProto>, ConvertError> {
        match self.get(name) {
            None => Ok(None),
            Some(OnnxAttr::Tensor(t)) => Ok(Some(t)),
            Some(_) => Err(self.wrong(name, "a tensor")),
        }
    }

    /// A required subgraph attribute.
    pub fn graph(&self, name: &str) -> Result<&'a GraphProto, ConvertError> {
        match self.get(name) {
            Some(OnnxAttr::Graph(g)) => Ok(g),
            Some(_) => Err(self.wrong(name, "a graph")),
            None => Err(self.ctx.attr_error(name, "required but missing")),
        }
    }

    /// Checks that string attribute `name`, when present, is one of `allowed`.
    pub fn check_string(&self, name: &str, allowed: &[&str]) -> Result<(), ConvertError> {
        match self.string(name)? {
            Some(v) if !allowed.contains(&v.as_str()) => Err(self.ctx.attr_error(
                name,
                format!(
                    "value \"{v}\" is not supported (supported: {})",
                    allowed.join(", ")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Every attribute except those in `skip`, as pocketnn attributes.
    /// Tensor and graph attributes not skipped are an error.
    pub fn pass_through(&self, skip: &[&str]) -> Result<Vec<Attribute>, ConvertError> {
        let mut out = Vec::with_capacity(self.list.len());
        for (name, value) in &self.list {
            if skip.contains(name) {
                continue;
            }
            match value {
                OnnxAttr::Plain(v) => out.push(Attribute {
                    name: (*name).to_string(),
                    value: v.clone(),
                }),
                OnnxAttr::Tensor(_) | OnnxAttr::Graph(_) => {
                    return Err(self
                        .ctx
                        .attr_error(name, "tensor and graph attributes are not supported here"));
                }
            }
        }
        Ok(out)
    }
}
