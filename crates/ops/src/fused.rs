//! The attributes by which a `Conv`, `Gemm` or `MatMul` node carries a fused
//! activation (pocketnn extension; see `docs/ops/fusion.md`).
//!
//! * `activation` (string, default `"none"`): one of `none`, `relu`, `clip`,
//!   `leaky_relu`, `hard_sigmoid`, `hard_swish`, `sigmoid`, `tanh`, `silu`,
//!   `gelu`, `gelu_tanh`;
//! * `activation_alpha`, `activation_beta` (floats): `clip`'s min and max,
//!   `leaky_relu`'s alpha, `hard_sigmoid`'s alpha and beta.
//!
//! The converter writes them with [`activation_attributes`]; operators read
//! them with [`activation_from_attributes`].

use crate::attrs::Attrs;
use crate::error::OpResult;
use pocketnn_format::{AttrValue, Attribute};
use pocketnn_tensor::kernels::activation::Activation;

/// Name of the attribute holding the activation kind.
pub const ACTIVATION: &str = "activation";
/// Name of the first activation parameter.
pub const ACTIVATION_ALPHA: &str = "activation_alpha";
/// Name of the second activation parameter.
pub const ACTIVATION_BETA: &str = "activation_beta";

/// Reads the fused activation of a node (`Activation::None` when absent).
pub fn activation_from_attributes(attrs: &Attrs<'_>) -> OpResult<Activation> {
    let alpha = attrs.float_opt(ACTIVATION_ALPHA)?;
    let beta = attrs.float_opt(ACTIVATION_BETA)?;
    let need = |v: Option<f32>, name: &str| {
        v.ok_or_else(|| attrs.invalid(name, "required by this activation"))
    };
    Ok(match attrs.string(ACTIVATION, "none")? {
        "none" => Activation::None,
        "relu" => Activation::Relu,
        "clip" => {
            let (min, max) = (need(alpha, ACTIVATION_ALPHA)?, need(beta, ACTIVATION_BETA)?);
            if min.is_nan() || max.is_nan() {
                return Err(attrs.invalid(ACTIVATION, "clip bounds must not be NaN"));
            }
            Activation::Clip { min, max }
        }
        "leaky_relu" => Activation::LeakyRelu {
            alpha: need(alpha, ACTIVATION_ALPHA)?,
        },
        "hard_sigmoid" => Activation::HardSigmoid {
            alpha: need(alpha, ACTIVATION_ALPHA)?,
            beta: need(beta, ACTIVATION_BETA)?,
        },
        "hard_swish" => Activation::HardSwish,
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "silu" => Activation::Silu,
        "gelu" => Activation::Gelu,
        "gelu_tanh" => Activation::GeluTanh,
        other => return Err(attrs.invalid(ACTIVATION, format!("unknown activation `{other}`"))),
    })
}

/// The attributes that describe `activation` (none for `Activation::None`).
pub fn activation_attributes(activation: Activation) -> Vec<Attribute> {
    let kind = |name: &str| Attribute {
        name: ACTIVATION.into(),
        value: AttrValue::String(name.into()),
    };
    let param = |name: &str, v: f32| Attribute {
        name: name.into(),
        value: AttrValue::Float(v),
    };
    match activation {
        Activation::None => vec![],
        Activation::Relu => vec![kind("relu")],
        Activation::Clip { min, max } => vec![
            kind("clip"),
            param(ACTIVATION_ALPHA, min),
            param(ACTIVATION_BETA, max),
        ],
        Activation::LeakyRelu { alpha } => vec![kind("leaky_relu"), param(ACTIVATION_ALPHA, alpha)],
        Activation::HardSigmoid { alpha, beta } => vec![
            kind("hard_sigmoid"),
            param(ACTIVATION_ALPHA, alpha),
            param(ACTIVATION_BETA, beta),
        ],
        Activation::HardSwish => vec![kind("hard_swish")],
        Activation::Sigmoid => vec![kind("sigmoid")],
        Activation::Tanh => vec![kind("tanh")],
        Activation::Silu => vec![kind("silu")],
        Activation::Gelu => vec![kind("gelu")],
        Activation::GeluTanh => vec![kind("gelu_tanh")],
        _ => vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_activation_round_trips_through_attributes() {
        for act in [
            Activation::None,
            Activation::Relu,
            Activation::Clip { min: 0.0, max: 6.0 },
            Activation::LeakyRelu { alpha: 0.1 },
            Activation::HardSigmoid {
                alpha: 0.2,
                beta: 0.5,
            },
            Activation::HardSwish,
            Activation::Sigmoid,
            Activation::Tanh,
            Activation::Silu,
            Activation::Gelu,
            Activation::GeluTanh,
        ] {
            let attrs = activation_attributes(act);
            assert_eq!(
                activation_from_attributes(&Attrs::new(&attrs)).unwrap(),
                act
            );
        }
        let bad = [Attribute {
            name: ACTIVATION.into(),
            value: AttrValue::String("clip".into()),
        }];
        assert!(activation_from_attributes(&Attrs::new(&bad)).is_err());
    }
}
