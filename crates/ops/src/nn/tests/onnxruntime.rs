//! Values computed by onnxruntime 1.32.0 (CPU) on one-node opset-21 models,
//! pasted into `onnxruntime/values.rs` from `make_onnxruntime_values.py`
//! (re-run it to regenerate).
//! `LRN_SIZE_4` comes from the script's numpy version of the ONNX formula,
//! because onnxruntime rejects even LRN sizes (and onnx 1.23's reference
//! evaluator gets them wrong). Inputs are `pattern(n, seed)`.

#[rustfmt::skip]
mod values;

use super::{check, eval_tiers, float, int, ints, patterned, string};
use pocketnn_format::OpCode;
use values::*;

#[test]
fn conv_matches_onnxruntime() {
    let op = super::build(
        OpCode::Conv,
        &[ints("strides", &[2, 2]), ints("pads", &[1, 1, 1, 1])],
    );
    let (x, w, b) = (
        patterned(&[1, 3, 5, 6], 1),
        patterned(&[2, 3, 3, 3], 2),
        patterned(&[2], 3),
    );
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &[1, 2, 3, 3],
        &CONV_2D,
        1e-6,
        "Conv 2-D",
    );

    let op = super::build(
        OpCode::Conv,
        &[
            int("group", 2),
            ints("strides", &[2, 1]),
            ints("pads", &[1, 0, 1, 2]),
            ints("dilations", &[1, 2]),
        ],
    );
    let (x, w, b) = (
        patterned(&[1, 2, 5, 5], 4),
        patterned(&[4, 1, 3, 3], 5),
        patterned(&[4], 6),
    );
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &[1, 4, 3, 3],
        &CONV_DEPTHWISE,
        1e-6,
        "Conv depthwise",
    );

    let op = super::build(
        OpCode::Conv,
        &[ints("strides", &[2]), string("auto_pad", "SAME_LOWER")],
    );
    let (x, w) = (patterned(&[1, 2, 7], 7), patterned(&[3, 2, 3], 8));
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 3, 4],
        &CONV_1D_SAME_LOWER,
        1e-6,
        "Conv 1-D SAME_LOWER",
    );

    let op = super::build(
        OpCode::Conv,
        &[
            int("group", 2),
            ints("strides", &[1, 2, 1]),
            ints("pads", &[1, 0, 1, 0, 1, 1]),
            ints("dilations", &[2, 1, 1]),
        ],
    );
    let (x, w) = (
        patterned(&[1, 2, 4, 4, 3], 9),
        patterned(&[2, 1, 2, 3, 2], 10),
    );
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 2, 3, 2, 4],
        &CONV_3D,
        1e-6,
        "Conv 3-D",
    );
}

#[test]
fn conv_transpose_matches_onnxruntime() {
    let (x, w, b) = (
        patterned(&[1, 2, 3, 3], 11),
        patterned(&[2, 3, 3, 3], 12),
        patterned(&[3], 13),
    );
    let op = super::build(
        OpCode::ConvTranspose,
        &[ints("strides", &[2, 2]), ints("output_shape", &[6, 7])],
    );
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &[1, 3, 6, 7],
        &CONV_TRANSPOSE_OUTPUT_SHAPE,
        1e-6,
        "output_shape",
    );

    let op = super::build(
        OpCode::ConvTranspose,
        &[
            ints("strides", &[2, 3]),
            ints("pads", &[1, 0, 1, 0]),
            ints("output_padding", &[1, 2]),
        ],
    );
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 3, 6, 11],
        &CONV_TRANSPOSE_OUTPUT_PADDING,
        1e-6,
        "output_padding",
    );

    let (x, w) = (patterned(&[1, 4, 3, 2], 14), patterned(&[4, 1, 2, 2], 15));
    let op = super::build(
        OpCode::ConvTranspose,
        &[
            int("group", 2),
            ints("strides", &[1, 2]),
            ints("dilations", &[2, 1]),
        ],
    );
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 2, 5, 4],
        &CONV_TRANSPOSE_GROUPED,
        1e-6,
        "grouped, dilated",
    );

    let (x, w) = (patterned(&[1, 1, 4], 16), patterned(&[1, 2, 3], 17));
    let op = super::build(
        OpCode::ConvTranspose,
        &[ints("strides", &[2]), string("auto_pad", "SAME_UPPER")],
    );
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 2, 8],
        &CONV_TRANSPOSE_1D_SAME_UPPER,
        1e-6,
        "1-D SAME_UPPER",
    );
}

#[test]
fn max_pool_ceil_mode_matches_onnxruntime() {
    // Axis H: 5 + 1 + 1 padded, kernel 2, stride 2: ceil gives 4 windows but
    // the 4th would start in the end padding, so 3 remain. Axis W: 8,
    // kernel 3, stride 2: ceil keeps a 4th, partial window.
    let x = patterned(&[1, 2, 5, 8], 18);
    for (storage_order, indices) in [
        (0, &MAX_POOL_CEIL_INDICES),
        (1, &MAX_POOL_CEIL_INDICES_COLUMN_MAJOR),
    ] {
        let op = super::build(
            OpCode::MaxPool,
            &[
                ints("kernel_shape", &[2, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[1, 0, 1, 0]),
                int("ceil_mode", 1),
                int("storage_order", storage_order),
            ],
        );
        check(
            &*op,
            &[Some(&x)],
            &[1, 2, 3, 4],
            &MAX_POOL_CEIL,
            0.0,
            "MaxPool ceil_mode",
        );
        for (isa, outputs) in eval_tiers(&*op, &[Some(&x)]) {
            assert_eq!(outputs[1].shape(), [1, 2, 3, 4]);
            assert_eq!(
                outputs[1].as_slice::<i64>().unwrap(),
                indices,
                "indices, storage_order {storage_order}, {isa}"
            );
        }
    }
}

#[test]
fn average_pool_count_include_pad_matches_onnxruntime() {
    let x = patterned(&[1, 2, 5, 6], 19);
    for (include, expected) in [
        (1, &AVERAGE_POOL_INCLUDE_PAD),
        (0, &AVERAGE_POOL_EXCLUDE_PAD),
    ] {
        let op = super::build(
            OpCode::AveragePool,
            &[
                ints("kernel_shape", &[3, 3]),
                ints("strides", &[2, 2]),
                ints("pads", &[1, 1, 0, 1]),
                int("count_include_pad", include),
                int("ceil_mode", 1),
            ],
        );
        check(
            &*op,
            &[Some(&x)],
            &[1, 2, 3, 4],
            expected,
            1e-6,
            &format!("count_include_pad {include}"),
        );
    }
    // Dilated taps, the last (ceil_mode) window reaching past the end pad.
    let x = patterned(&[1, 2, 9], 25);
    let op = super::build(
        OpCode::AveragePool,
        &[
            ints("kernel_shape", &[3]),
            ints("strides", &[2]),
            ints("pads", &[2, 1]),
            ints("dilations", &[2]),
            int("count_include_pad", 1),
            int("ceil_mode", 1),
        ],
    );
    check(
        &*op,
        &[Some(&x)],
        &[1, 2, 5],
        &AVERAGE_POOL_DILATED_1D,
        1e-6,
        "dilated, count_include_pad",
    );
}

#[test]
fn lrn_matches_onnxruntime() {
    let x = patterned(&[2, 5, 2, 2], 20);
    let op = super::build(
        OpCode::LRN,
        &[
            int("size", 3),
            float("alpha", 0.02),
            float("beta", 0.6),
            float("bias", 1.5),
        ],
    );
    check(
        &*op,
        &[Some(&x)],
        &[2, 5, 2, 2],
        &LRN_SIZE_3,
        1e-6,
        "LRN size 3",
    );
    let op = super::build(
        OpCode::LRN,
        &[
            int("size", 4),
            float("alpha", 0.5),
            float("beta", 0.75),
            float("bias", 2.0),
        ],
    );
    check(
        &*op,
        &[Some(&x)],
        &[2, 5, 2, 2],
        &LRN_SIZE_4,
        1e-6,
        "LRN size 4",
    );
}

#[test]
fn layer_normalization_matches_onnxruntime() {
    let x = patterned(&[2, 3, 4], 21);
    let (scale, bias) = (patterned(&[3, 4], 22), patterned(&[4], 23));
    let op = super::build(
        OpCode::LayerNormalization,
        &[int("axis", 1), float("epsilon", 1e-3)],
    );
    let inputs = [Some(&x), Some(&scale), Some(&bias)];
    check(
        &*op,
        &inputs,
        &[2, 3, 4],
        &LAYER_NORM_AXIS_1,
        1e-5,
        "LayerNormalization axis 1",
    );
    for (isa, outputs) in eval_tiers(&*op, &inputs) {
        assert_eq!(outputs[1].shape(), [2, 1, 1]);
        super::assert_close(
            outputs[1].as_slice().unwrap(),
            &LAYER_NORM_AXIS_1_MEAN,
            1e-6,
            &format!("Mean {isa}"),
        );
        super::assert_close(
            outputs[2].as_slice().unwrap(),
            &LAYER_NORM_AXIS_1_INV_STD,
            1e-5,
            &format!("InvStdDev {isa}"),
        );
    }
    let scale = patterned(&[4], 24);
    let op = super::build(OpCode::LayerNormalization, &[]);
    check(
        &*op,
        &[Some(&x), Some(&scale)],
        &[2, 3, 4],
        &LAYER_NORM_LAST_AXIS,
        1e-5,
        "LayerNormalization last axis",
    );
}
