//! Which elements of a shape-like value depend on a symbolic dim.
//!
//! Shape inference folds a value computed from shapes and constants into a
//! constant only when it is the same for every size of the symbolic dims.
//! Two probes cannot prove that (`Equal(N, 1)` is false for N = 2 and for
//! N = 3), so each computed value also carries a mask: which elements were
//! derived from a symbolic dim. A value is folded only when no element is.
//!
//! The mask of a `Shape` output marks the dims that differ between the
//! probes; other ops propagate masks by kind: elementwise ops combine their
//! inputs' masks with broadcasting, data-movement ops move the mask the way
//! they move the data (by running the op on the mask), and all other ops
//! mark every output element as soon as one input element is marked.

use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{Tensor, f16};

/// How an op's output elements depend on its input elements.
pub(crate) enum MaskRule {
    /// Output element = f(the broadcast input elements at that position).
    Elementwise,
    /// Output elements are copies of elements of the data inputs (listed);
    /// the other inputs only say which.
    Movement(&'static [usize]),
    /// Anything else.
    Opaque,
}

/// The rule for `op`.
pub(crate) fn rule(op: OpCode) -> MaskRule {
    use OpCode::*;
    match op {
        Add | Sub | Mul | Div | Pow | Max | Min | Sum | Mean | Mod | PRelu | Sqrt | Relu
        | LeakyRelu | Clip | Sigmoid | Tanh | HardSigmoid | HardSwish | Erf | Gelu | Softplus
        | Exp | Log | Neg | Abs | Reciprocal | Floor | Ceil | Round | Sign | Sin | Cos | Elu
        | Selu | Softsign | Silu | Mish | Identity | Equal | Less | Greater | LessOrEqual
        | GreaterOrEqual | Not | And | Or | Xor | Where | Cast => MaskRule::Elementwise,
        Concat => MaskRule::Movement(&[]),
        Gather | Slice | Reshape | Flatten | Transpose | Squeeze | Unsqueeze | Expand | Tile
        | GatherElements | Split | DepthToSpace | SpaceToDepth | Pad => MaskRule::Movement(&[0]),
        _ => MaskRule::Opaque,
    }
}

/// A tensor of `dtype` and `shape` holding 1 where `mask` is set, else 0.
pub(crate) fn mask_tensor(dtype: DType, shape: &[usize], mask: &[bool]) -> Option<Tensor> {
    let t = match dtype {
        DType::F32 => {
            let v: Vec<f32> = mask.iter().map(|&m| if m { 1.0 } else { 0.0 }).collect();
            Tensor::from_slice(shape, &v)
        }
        DType::F16 => {
            let v: Vec<f16> = mask
                .iter()
                .map(|&m| if m { f16::ONE } else { f16::ZERO })
                .collect();
            Tensor::from_slice(shape, &v)
        }
        DType::I32 => {
            let v: Vec<i32> = mask.iter().map(|&m| i32::from(m)).collect();
            Tensor::from_slice(shape, &v)
        }
        DType::I64 => {
            let v: Vec<i64> = mask.iter().map(|&m| i64::from(m)).collect();
            Tensor::from_slice(shape, &v)
        }
        DType::I8 | DType::U8 | DType::Bool => {
            let v: Vec<u8> = mask.iter().map(|&m| u8::from(m)).collect();
            Tensor::from_bytes(dtype, shape, &v)
        }
    };
    t.ok()
}

/// The mask a tensor made by [`mask_tensor`] (and moved by an op) holds.
pub(crate) fn read_mask(t: &Tensor) -> Option<Vec<bool>> {
    let size = t.dtype().size();
    Some(
        t.bytes()
            .chunks_exact(size)
            .map(|element| element.iter().any(|&b| b != 0))
            .collect(),
    )
}

/// The elementwise OR of masks of several shapes, broadcast numpy-style.
pub(crate) fn broadcast_or(masks: &[(&[usize], &[bool])]) -> Option<(Vec<usize>, Vec<bool>)> {
    let mut shape: Vec<usize> = Vec::new();
    for (s, _) in masks {
        shape = pocketnn_ops::util::broadcast_shapes(&shape, s).ok()?;
    }
    let total = pocketnn_tensor::num_elements(&shape)?;
    let mut out = vec![false; total];
    for (s, m) in masks {
        if m.len() != pocketnn_tensor::num_elements(s)? {
            return None;
        }
        let strides = pocketnn_ops::util::broadcast_strides(s, &shape);
        pocketnn_ops::util::for_each_broadcast(&shape, [&strides], |i, [offset]| {
            if let (Some(o), Some(&v)) = (out.get_mut(i), m.get(offset)) {
                *o |= v;
            }
        });
    }
    Some((shape, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_or_combines_masks_like_numpy() {
        // [2,1] | [3] -> [2,3]; row 0 marked in the first, column 2 in the second.
        let (shape, m) =
            broadcast_or(&[(&[2, 1], &[true, false]), (&[3], &[false, false, true])]).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(m, vec![true, true, true, false, false, true]);
        // scalar with nothing marked
        let (shape, m) = broadcast_or(&[(&[], &[false]), (&[2], &[false, true])]).unwrap();
        assert_eq!(shape, vec![2]);
        assert_eq!(m, vec![false, true]);
        assert!(broadcast_or(&[(&[2], &[true, true]), (&[3], &[false; 3])]).is_none());
    }

    #[test]
    fn mask_tensors_round_trip_in_every_dtype() {
        let mask = [true, false, true];
        for dtype in DType::ALL {
            let t = mask_tensor(dtype, &[3], &mask).unwrap();
            assert_eq!(t.dtype(), dtype);
            assert_eq!(read_mask(&t).unwrap(), mask);
        }
    }
}
