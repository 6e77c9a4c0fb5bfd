//! The ONNX operators the importer supports, and for each the schema
//! versions whose semantics it knows (and maps exactly onto pocketnn's
//! opset-21 operators in [`super::lower`]).
//!
//! A version is listed when the importer handles what changed in it. Many
//! later versions only add element types (bfloat16, float8, int4 ...) that
//! the importer rejects per tensor anyway, so they are listed as well.

/// Known schema versions of `op`, or `None` when the op is unsupported.
pub(crate) fn known_versions(op: &str) -> Option<&'static [u32]> {
    Some(match op {
        // linear algebra and convolution
        "Conv" => &[1, 11, 22],
        // ConvTranspose-1 computes SAME pads differently; see lower.rs.
        "ConvTranspose" => &[1, 11, 22],
        "Gemm" => &[7, 9, 11, 13],
        "MatMul" => &[1, 9, 13],
        // binary elementwise: version 7 introduced numpy broadcasting
        "Add" | "Sub" | "Mul" | "Div" => &[7, 13, 14],
        "Pow" => &[7, 12, 13, 15],
        // version 6 had no broadcasting: a subset of version 8's behaviour
        "Max" | "Min" => &[6, 8, 12, 13],
        "Sum" | "Mean" => &[6, 8, 13],
        "Mod" => &[10, 13, 28],
        "PRelu" => &[7, 9, 16],
        // unary elementwise
        "Sqrt" | "Sigmoid" | "Tanh" | "Exp" | "Log" | "Neg" | "Abs" | "Reciprocal" | "Floor"
        | "Ceil" => &[6, 13],
        "Relu" => &[6, 13, 14],
        "LeakyRelu" => &[6, 16],
        "Clip" => &[6, 11, 12, 13],
        "HardSigmoid" | "Elu" | "Selu" => &[6, 22],
        "HardSwish" => &[14, 22],
        "Erf" | "Sign" => &[9, 13],
        "Gelu" => &[20],
        "Softplus" | "Softsign" => &[1, 22],
        "Round" => &[11, 22],
        "Sin" | "Cos" => &[7, 22],
        "Mish" => &[18, 22],
        // comparisons and logic
        "Equal" => &[7, 11, 13, 19],
        "Less" | "Greater" => &[7, 9, 13],
        "LessOrEqual" | "GreaterOrEqual" => &[12, 16],
        "Not" => &[1],
        "And" | "Or" | "Xor" => &[7],
        "Where" => &[9, 16],
        // pooling and normalisation
        "MaxPool" => &[1, 8, 10, 11, 12, 22],
        "AveragePool" => &[7, 10, 11, 19, 22],
        "GlobalAveragePool" | "GlobalMaxPool" => &[1, 22],
        "BatchNormalization" => &[7, 9, 14, 15],
        "LayerNormalization" => &[17],
        "InstanceNormalization" => &[6, 22],
        "LRN" => &[1, 13],
        "Softmax" | "LogSoftmax" => &[1, 11, 13],
        // reductions
        "ReduceSum" => &[1, 11, 13],
        "ReduceMean" | "ReduceProd" => &[1, 11, 13, 18],
        "ReduceMax" | "ReduceMin" => &[1, 11, 12, 13, 18, 20],
        "ArgMax" | "ArgMin" => &[1, 11, 12, 13],
        // shape and data movement
        "Concat" => &[4, 11, 13],
        "Split" => &[2, 11, 13, 18],
        "Slice" => &[1, 10, 11, 13],
        "Gather" => &[1, 11, 13],
        "Reshape" => &[5, 13, 14, 19, 21, 23, 24, 25],
        "Flatten" => &[1, 9, 11, 13, 21, 23, 24, 25],
        "Transpose" | "Squeeze" | "Unsqueeze" => match op {
            "Transpose" => &[1, 13, 21, 23, 24, 25],
            _ => &[1, 11, 13, 21, 23, 24, 25],
        },
        "Expand" => &[8, 13],
        "Pad" => &[2, 11, 13, 18, 19, 21, 23, 24, 25],
        "Resize" => &[10, 11, 13, 18, 19],
        "Upsample" => &[7, 9],
        "Tile" => &[6, 13],
        "GatherElements" => &[11, 13],
        "DepthToSpace" => &[1, 11, 13, 28],
        "SpaceToDepth" => &[1, 13, 28],
        // tensor creation and metadata
        "Shape" => &[1, 13, 15, 19, 21, 23, 24, 25],
        "Size" => &[1, 13, 19, 21, 23, 24, 25],
        "Cast" => &[6, 9, 13, 19, 21, 23, 24, 25, 28],
        // lowered to Cast with the target input's dtype
        "CastLike" => &[15, 19, 21, 23, 24, 25],
        "ConstantOfShape" => &[9, 20, 21, 23, 24, 25],
        "Range" => &[11, 27],
        "EyeLike" => &[9, 22],
        "Constant" => &[1, 9, 11, 12, 13, 19, 21, 23, 24, 25],
        // removed at import
        "Identity" => &[1, 13, 14, 16, 19, 21, 23, 24, 25],
        "Dropout" => &[7, 10, 12, 13, 22],
        // quantization
        "QuantizeLinear" | "DequantizeLinear" => &[10, 13, 19, 21, 23, 24, 25, 28],
        "DynamicQuantizeLinear" => &[11],
        "MatMulInteger" => &[10],
        "QLinearMatMul" => &[10, 21],
        "ConvInteger" | "QLinearConv" => &[10],
        // control flow
        "If" => &[1, 11, 13, 16, 19, 21, 23, 24, 25],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::since_versions;
    use pocketnn_format::OpCode;

    /// Every known version is a real `since_version` of the op (so the table
    /// has no typos), and every pocketnn op except the pocketnn-only ones
    /// has an ONNX op of the same name that is supported.
    #[test]
    fn known_versions_are_real_and_cover_the_op_list() {
        for &op in OpCode::ALL {
            if matches!(
                op,
                OpCode::Silu
                    | OpCode::DynamicQuantMatMul
                    | OpCode::SparseLinear
                    | OpCode::SparseConv
                    | OpCode::SparseQLinearConv
                    | OpCode::LowRankLinear
                    | OpCode::QLinearConvF32
            ) {
                assert!(known_versions(op.name()).is_none());
                continue;
            }
            let known = known_versions(op.name()).unwrap_or_else(|| panic!("{op} missing"));
            let real = since_versions(op.name()).unwrap_or_else(|| panic!("{op} not in ONNX"));
            for v in known {
                assert!(real.contains(v), "{op}: {v} is not a since_version of ONNX");
            }
        }
        for extra in ["Constant", "Dropout", "Upsample", "CastLike"] {
            assert!(known_versions(extra).is_some());
        }
    }

    /// For every opset from 7 to 21, every supported op's schema version is
    /// known — the importer supports the whole range for all its ops (except
    /// ops that do not exist yet at that opset, and Upsample, which opset 10
    /// deprecated in favour of Resize).
    #[test]
    fn every_opset_from_7_to_21_resolves_to_known_versions() {
        for &op in OpCode::ALL {
            let Some(known) = known_versions(op.name()) else {
                continue;
            };
            for opset in 7..=21 {
                if let Some(v) = crate::onnx::schema_version(op.name(), opset) {
                    assert!(known.contains(&v), "{op} at opset {opset} is version {v}");
                }
            }
        }
    }
}
