//! Tests of the elementwise family. Expected values are hand-computed or
//! generated with numpy (float64, then rounded to f32) and pasted in; where
//! a generated table is used its generator is described next to it.

// Pasted numpy values carry all the digits numpy printed.
#![allow(clippy::excessive_precision)]

use crate::{OpError, OpResult, Operator, build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::{Element, Isa, Tensor};

mod binary;
mod broadcast;
mod cast;
mod compare;
mod creation;
mod reduce;
mod softmax;
mod unary;
mod unary_tiers;
#[rustfmt::skip]
mod unary_reference;

pub(super) const INF: f32 = f32::INFINITY;
pub(super) const NAN: f32 = f32::NAN;

/// An attribute for [`op`].
pub(super) fn int(name: &str, v: i64) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: AttrValue::Int(v),
    }
}

/// A float attribute.
pub(super) fn float(name: &str, v: f32) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: AttrValue::Float(v),
    }
}

/// A string attribute.
pub(super) fn string(name: &str, v: &str) -> Attribute {
    Attribute {
        name: name.to_string(),
        value: AttrValue::String(v.to_string()),
    }
}

/// Builds an operator that must build.
pub(super) fn op(code: OpCode, attrs: &[Attribute]) -> Box<dyn Operator> {
    match build_operator(code, attrs) {
        Ok(op) => op,
        Err(e) => panic!("building {code} failed: {e}"),
    }
}

/// A tensor from a shape and values.
pub(super) fn t<T: Element>(shape: &[usize], data: &[T]) -> Tensor {
    Tensor::from_slice(shape, data).expect("test tensor")
}

/// A bool tensor.
pub(super) fn b(shape: &[usize], data: &[u8]) -> Tensor {
    Tensor::from_bytes(DType::Bool, shape, data).expect("test tensor")
}

/// Runs `op` on all-present inputs.
pub(super) fn try_run(op: &dyn Operator, inputs: &[&Tensor]) -> OpResult<Vec<Tensor>> {
    let views: Vec<_> = inputs.iter().map(|t| Some(t.view())).collect();
    eval(op, &views, Isa::Scalar)
}

/// Runs `op` with optional inputs.
pub(super) fn try_run_opt(op: &dyn Operator, inputs: &[Option<&Tensor>]) -> OpResult<Vec<Tensor>> {
    let views: Vec<_> = inputs.iter().map(|t| t.map(|t| t.view())).collect();
    eval(op, &views, Isa::Scalar)
}

/// Runs `op`, which must succeed, and returns its only output.
pub(super) fn run(op: &dyn Operator, inputs: &[&Tensor]) -> Tensor {
    match try_run(op, inputs) {
        Ok(mut out) => {
            assert_eq!(out.len(), 1, "one output");
            out.remove(0)
        }
        Err(e) => panic!("{} failed: {e}", op.op()),
    }
}

/// The output's values as `T`, checking its shape.
pub(super) fn values<T: Element>(out: &Tensor, shape: &[usize]) -> Vec<T> {
    assert_eq!(out.shape(), shape, "output shape");
    out.as_slice::<T>().expect("output dtype").to_vec()
}

/// Distance in units in the last place between two finite-or-infinite f32.
fn ulps(a: f32, b: f32) -> u64 {
    let key = |v: f32| {
        let bits = v.to_bits() as i32;
        i64::from(if bits < 0 { i32::MIN - bits } else { bits })
    };
    key(a).abs_diff(key(b))
}

/// Element-wise comparison within `max_ulps`; NaN must match NaN,
/// infinities must match exactly, and values below 1e-37 in magnitude
/// (subnormal territory) only need to agree to 1e-37 absolute.
#[track_caller]
pub(super) fn assert_close(actual: &[f32], expected: &[f32], max_ulps: u64) {
    assert_eq!(actual.len(), expected.len(), "length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = if e.is_nan() {
            a.is_nan()
        } else if e.is_infinite() {
            a == e
        } else {
            ulps(a, e) <= max_ulps || (a - e).abs() <= 1e-37
        };
        assert!(
            ok,
            "element {i}: got {a:e}, expected {e:e} (within {max_ulps} ulps)\nactual   {actual:?}\nexpected {expected:?}"
        );
    }
}

/// Element-wise comparison with an absolute and relative tolerance.
#[track_caller]
pub(super) fn assert_near(actual: &[f32], expected: &[f32], tolerance: f32) {
    assert_eq!(actual.len(), expected.len(), "length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok =
            (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= tolerance * (1.0 + e.abs());
        assert!(
            ok,
            "element {i}: got {a}, expected {e}\nactual   {actual:?}\nexpected {expected:?}"
        );
    }
}

/// Asserts that building fails with an attribute error naming `name`.
#[track_caller]
pub(super) fn assert_bad_attribute(code: OpCode, attrs: &[Attribute], name: &str) {
    match build_operator(code, attrs) {
        Err(OpError::InvalidAttribute { name: n, .. })
        | Err(OpError::MissingAttribute { name: n }) => {
            assert_eq!(n, name)
        }
        Err(e) => panic!("{code}: expected an error about `{name}`, got {e}"),
        Ok(op) => panic!("{code}: expected an error about `{name}`, built {op:?}"),
    }
}
