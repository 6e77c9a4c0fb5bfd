//! Typed access to node attributes, with errors that name the attribute.

use crate::error::{OpError, OpResult};
use pocketnn_format::{AttrValue, Attribute, BodyId};

/// A node's attributes.
#[derive(Clone, Copy, Debug)]
pub struct Attrs<'a> {
    list: &'a [Attribute],
}

fn wrong_type(name: &str, expected: &str) -> OpError {
    OpError::InvalidAttribute {
        name: name.to_string(),
        reason: format!("expected {expected}"),
    }
}

impl<'a> Attrs<'a> {
    /// Wraps an attribute list.
    pub fn new(list: &'a [Attribute]) -> Self {
        Attrs { list }
    }

    /// The raw value, if present.
    pub fn get(&self, name: &str) -> Option<&'a AttrValue> {
        self.list.iter().find(|a| a.name == name).map(|a| &a.value)
    }

    /// An optional integer.
    pub fn int_opt(&self, name: &str) -> OpResult<Option<i64>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::Int(v)) => Ok(Some(*v)),
            Some(_) => Err(wrong_type(name, "an integer")),
        }
    }

    /// An integer with a default.
    pub fn int(&self, name: &str, default: i64) -> OpResult<i64> {
        Ok(self.int_opt(name)?.unwrap_or(default))
    }

    /// A required integer.
    pub fn int_req(&self, name: &str) -> OpResult<i64> {
        self.int_opt(name)?
            .ok_or_else(|| OpError::MissingAttribute {
                name: name.to_string(),
            })
    }

    /// An optional float.
    pub fn float_opt(&self, name: &str) -> OpResult<Option<f32>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::Float(v)) => Ok(Some(*v)),
            Some(AttrValue::Int(v)) => Ok(Some(*v as f32)),
            Some(_) => Err(wrong_type(name, "a float")),
        }
    }

    /// A float with a default.
    pub fn float(&self, name: &str, default: f32) -> OpResult<f32> {
        Ok(self.float_opt(name)?.unwrap_or(default))
    }

    /// An optional list of integers.
    pub fn ints_opt(&self, name: &str) -> OpResult<Option<&'a [i64]>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::Ints(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "a list of integers")),
        }
    }

    /// An optional list of floats.
    pub fn floats_opt(&self, name: &str) -> OpResult<Option<&'a [f32]>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::Floats(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "a list of floats")),
        }
    }

    /// An optional string.
    pub fn string_opt(&self, name: &str) -> OpResult<Option<&'a str>> {
        match self.get(name) {
            None => Ok(None),
            Some(AttrValue::String(v)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// A string with a default.
    pub fn string(&self, name: &str, default: &'a str) -> OpResult<&'a str> {
        Ok(self.string_opt(name)?.unwrap_or(default))
    }

    /// A required subgraph reference.
    pub fn body(&self, name: &str) -> OpResult<BodyId> {
        match self.get(name) {
            None => Err(OpError::MissingAttribute {
                name: name.to_string(),
            }),
            Some(AttrValue::Body(b)) => Ok(*b),
            Some(_) => Err(wrong_type(name, "a subgraph")),
        }
    }

    /// An error for an attribute whose value is out of range.
    pub fn invalid(&self, name: &str, reason: impl Into<String>) -> OpError {
        OpError::InvalidAttribute {
            name: name.to_string(),
            reason: reason.into(),
        }
    }
}
