//! Invalid attributes, inputs and outputs give typed errors, never panics;
//! plus a randomised sweep of odd shapes and attributes that must not panic.

use super::{Lcg, float, int, ints, string};
use crate::error::OpError;
use crate::operator::{InputInfo, RunContext};
use pocketnn_format::{Attribute, DType, OpCode};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};

fn build_err(op: OpCode, attrs: &[Attribute]) -> OpError {
    match crate::build_operator(op, attrs) {
        Ok(_) => panic!("{op} {attrs:?} was accepted"),
        Err(e) => e,
    }
}

fn f32s(shape: &[usize]) -> Tensor {
    Tensor::zeros(DType::F32, shape).unwrap()
}

/// Infers with tensors of these shapes (`None` = omitted input).
fn infer_err(op: OpCode, attrs: &[Attribute], shapes: &[Option<&[usize]>]) -> OpError {
    let op = super::build(op, attrs);
    let tensors: Vec<Option<Tensor>> = shapes.iter().map(|s| s.map(f32s)).collect();
    let infos: Vec<Option<InputInfo<'_>>> = tensors
        .iter()
        .map(|t| t.as_ref().map(|t| InputInfo::from(t.view())))
        .collect();
    match op.infer(&infos) {
        Ok(specs) => panic!("{:?} {attrs:?} on {shapes:?} inferred {specs:?}", op.op()),
        Err(e) => e,
    }
}

#[test]
fn invalid_attributes_are_rejected_at_build() {
    use OpCode::*;
    let cases: Vec<(OpCode, Vec<Attribute>)> = vec![
        (Conv, vec![ints("strides", &[1, 0])]),
        (Conv, vec![ints("dilations", &[-1])]),
        (Conv, vec![ints("pads", &[0, -1])]),
        (Conv, vec![ints("pads", &[0, 1, 1])]),
        (Conv, vec![ints("pads", &[i64::MAX, 0])]),
        (Conv, vec![ints("kernel_shape", &[0, 3])]),
        (
            Conv,
            vec![ints("kernel_shape", &[3, 3]), ints("strides", &[1])],
        ),
        (Conv, vec![int("group", 0)]),
        (Conv, vec![string("auto_pad", "SAME")]),
        (Conv, vec![float("group", 1.0)]),
        (Conv, vec![ints("strides", &[1; 9])]),
        (ConvTranspose, vec![ints("output_padding", &[-1])]),
        (ConvTranspose, vec![ints("output_shape", &[])]),
        (Gemm, vec![int("transA", 2)]),
        (MaxPool, vec![]),
        (
            MaxPool,
            vec![ints("kernel_shape", &[2]), int("storage_order", 3)],
        ),
        (
            MaxPool,
            vec![ints("kernel_shape", &[2]), int("ceil_mode", -1)],
        ),
        (
            AveragePool,
            vec![ints("kernel_shape", &[2]), int("count_include_pad", 2)],
        ),
        (BatchNormalization, vec![int("training_mode", 1)]),
        (LayerNormalization, vec![int("stash_type", 11)]),
        (LRN, vec![]),
        (LRN, vec![int("size", 0)]),
    ];
    for (op, attrs) in cases {
        let err = build_err(op, &attrs);
        assert!(
            matches!(
                err,
                OpError::InvalidAttribute { .. }
                    | OpError::MissingAttribute { .. }
                    | OpError::Unsupported { .. }
            ),
            "{op} {attrs:?}: {err:?}"
        );
    }
}

/// Attributes and input shapes of one inference case.
type Case<'a> = (&'a [Attribute], &'a [Option<&'a [usize]>]);

#[test]
fn invalid_inputs_are_rejected_at_inference() {
    use OpCode::*;
    let shape = |e: &OpError| matches!(e, OpError::ShapeMismatch { .. });
    let conv_cases: &[Case<'_>] = &[
        (&[], &[Some(&[1, 2, 5]), Some(&[3, 2, 6])]), // kernel larger than input
        (&[], &[Some(&[1, 2]), Some(&[3, 2])]),       // no spatial axis
        (&[], &[Some(&[1, 2, 5, 5]), Some(&[3, 2, 3])]), // rank mismatch
        (&[], &[Some(&[1, 4, 5, 5]), Some(&[3, 2, 3, 3])]), // channels per group
        (
            &[int("group", 3)],
            &[Some(&[1, 4, 5, 5]), Some(&[3, 1, 3, 3])],
        ), // group ∤ C
        (
            &[int("group", 2)],
            &[Some(&[1, 4, 5, 5]), Some(&[3, 2, 3, 3])],
        ), // group ∤ M
        (&[], &[Some(&[1, 2, 5, 5]), Some(&[3, 2, 3, 3]), Some(&[2])]), // bias shape
        (
            &[ints("kernel_shape", &[2, 2])],
            &[Some(&[1, 2, 5, 5]), Some(&[3, 2, 3, 3])],
        ),
        (
            &[ints("strides", &[1])],
            &[Some(&[1, 2, 5, 5]), Some(&[3, 2, 3, 3])],
        ),
    ];
    for (attrs, shapes) in conv_cases {
        let err = infer_err(Conv, attrs, shapes);
        assert!(shape(&err), "Conv {attrs:?} {shapes:?}: {err:?}");
    }
    assert!(matches!(
        infer_err(Conv, &[], &[Some(&[1, 2, 5])]),
        OpError::InputCount { .. }
    ));
    assert!(matches!(
        infer_err(Conv, &[], &[Some(&[1, 2, 5]), None]),
        OpError::MissingInput { index: 1 }
    ));
    // Spatial outputs of 2^32 on two axes: 2^64 elements.
    let huge = [ints("pads", &[i32::MAX as i64; 4])];
    assert!(matches!(
        infer_err(Conv, &huge, &[Some(&[1, 1, 1, 1]), Some(&[1, 1, 1, 1])]),
        OpError::TooLarge { .. }
    ));
    let many_axes: &[usize] = &[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    assert!(matches!(
        infer_err(Conv, &[], &[Some(many_axes), Some(many_axes)]),
        OpError::Unsupported { .. }
    ));

    let ct_cases: &[Case<'_>] = &[
        (
            &[ints("pads", &[5, 5])],
            &[Some(&[1, 2, 3]), Some(&[2, 2, 3])],
        ),
        (
            &[ints("output_shape", &[4, 4])],
            &[Some(&[1, 2, 3]), Some(&[2, 2, 3])],
        ),
        (&[], &[Some(&[1, 2, 0]), Some(&[2, 2, 3])]),
        (&[], &[Some(&[1, 3, 4]), Some(&[2, 2, 3])]),
        (&[int("group", 2)], &[Some(&[1, 3, 4]), Some(&[3, 2, 3])]),
    ];
    for (attrs, shapes) in ct_cases {
        let err = infer_err(ConvTranspose, attrs, shapes);
        assert!(shape(&err), "ConvTranspose {attrs:?} {shapes:?}: {err:?}");
    }
    let err = infer_err(
        ConvTranspose,
        &[ints("output_padding", &[2]), ints("strides", &[2])],
        &[Some(&[1, 2, 3]), Some(&[2, 2, 3])],
    );
    assert!(matches!(err, OpError::InvalidAttribute { .. }), "{err:?}");

    for shapes in [
        [Some(&[2, 3, 4][..]), Some(&[4, 5][..])],
        [Some(&[2, 3][..]), Some(&[4, 5][..])],
    ] {
        assert!(shape(&infer_err(Gemm, &[], &shapes)));
    }
    assert!(shape(&infer_err(
        Gemm,
        &[],
        &[Some(&[2, 3]), Some(&[3, 4]), Some(&[3, 4])]
    )));
    for shapes in [
        [Some(&[][..]), Some(&[4][..])],
        [Some(&[3][..]), Some(&[4][..])],
        [Some(&[2, 3, 4][..]), Some(&[3, 4, 5][..])],
    ] {
        assert!(shape(&infer_err(MatMul, &[], &shapes)));
    }

    let pool = [ints("kernel_shape", &[3, 3])];
    for x in [&[1, 1, 2, 5][..], &[1, 1, 0, 5], &[1, 1, 5], &[1, 1]] {
        assert!(
            shape(&infer_err(MaxPool, &pool, &[Some(x)])),
            "MaxPool on {x:?}"
        );
        assert!(
            shape(&infer_err(AveragePool, &pool, &[Some(x)])),
            "AveragePool on {x:?}"
        );
    }
    assert!(shape(&infer_err(GlobalAveragePool, &[], &[Some(&[1, 2])])));
    assert!(shape(&infer_err(GlobalMaxPool, &[], &[Some(&[1, 2, 0])])));

    let bn: [Option<&[usize]>; 5] = [
        Some(&[2, 3, 4]),
        Some(&[3]),
        Some(&[3]),
        Some(&[4]),
        Some(&[3]),
    ];
    assert!(shape(&infer_err(BatchNormalization, &[], &bn)));
    assert!(matches!(
        infer_err(BatchNormalization, &[], &bn[..4]),
        OpError::InputCount { .. }
    ));
    assert!(shape(&infer_err(
        InstanceNormalization,
        &[],
        &[Some(&[2, 3]), Some(&[3]), Some(&[3])]
    )));
    assert!(shape(&infer_err(
        LayerNormalization,
        &[int("axis", 3)],
        &[Some(&[2, 3, 4])]
    )));
    assert!(shape(&infer_err(
        LayerNormalization,
        &[int("axis", -1)],
        &[Some(&[2, 3, 4]), Some(&[3])]
    )));
    assert!(shape(&infer_err(LayerNormalization, &[], &[Some(&[])])));
    assert!(shape(&infer_err(LRN, &[int("size", 3)], &[Some(&[4])])));
}

#[test]
fn wrong_dtypes_and_output_counts_are_errors() {
    let op = super::build(OpCode::Conv, &[]);
    let x = Tensor::zeros(DType::I64, &[1, 1, 3]).unwrap();
    let w = f32s(&[1, 1, 1]);
    let err = crate::eval(&*op, &[Some(x.view()), Some(w.view())], Isa::Scalar).unwrap_err();
    assert!(
        matches!(
            err,
            OpError::UnsupportedDType {
                index: 0,
                dtype: DType::I64
            }
        ),
        "{err:?}"
    );

    // BatchNormalization's training outputs do not exist in inference mode.
    let op = super::build(OpCode::BatchNormalization, &[]);
    let (x, c) = (f32s(&[1, 2, 2]), f32s(&[2]));
    let inputs: Vec<Option<TensorView<'_>>> = [&x, &c, &c, &c, &c]
        .iter()
        .map(|t| Some(t.view()))
        .collect();
    let (mut y, mut extra) = (f32s(&[1, 2, 2]), f32s(&[2]));
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa: Isa::Scalar,
        threads: 1,
        scratch: &mut scratch,
    };
    let mut outputs: Vec<TensorViewMut<'_>> = vec![y.view_mut(), extra.view_mut()];
    assert!(matches!(
        op.run(&mut ctx, &inputs, &mut outputs),
        Err(OpError::Unsupported { .. })
    ));
    // An output of the wrong size is an error, not an out-of-bounds write.
    let mut small = f32s(&[1, 2, 1]);
    let mut outputs: Vec<TensorViewMut<'_>> = vec![small.view_mut()];
    assert!(matches!(
        op.run(&mut ctx, &inputs, &mut outputs),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(op.run(&mut ctx, &inputs, &mut []).is_err());
}

/// Random ranks, sizes (including 0) and attribute values (including
/// extremes) for every op: each call must return, Ok or Err.
#[test]
fn random_shapes_and_attributes_never_panic() {
    let mut rng = Lcg(99);
    let mut pick = |n: usize| ((rng.next() + 1.0) * 0.5 * n as f32) as usize % n.max(1);
    let extremes = [0i64, 1, 2, 3, -1, i32::MAX as i64, i64::MAX, i64::MIN];
    let ops = [
        OpCode::Conv,
        OpCode::ConvTranspose,
        OpCode::Gemm,
        OpCode::MatMul,
        OpCode::MaxPool,
        OpCode::AveragePool,
        OpCode::GlobalAveragePool,
        OpCode::GlobalMaxPool,
        OpCode::BatchNormalization,
        OpCode::LayerNormalization,
        OpCode::InstanceNormalization,
        OpCode::LRN,
    ];
    let names = [
        "kernel_shape",
        "strides",
        "dilations",
        "pads",
        "group",
        "output_padding",
        "output_shape",
        "axis",
        "size",
        "ceil_mode",
        "storage_order",
        "count_include_pad",
        "transA",
        "transB",
    ];
    let mut outcomes = [0usize; 2];
    for round in 0..6000 {
        let op_code = ops[round % ops.len()];
        let mut attrs = Vec::new();
        for _ in 0..pick(4) {
            let name = names[pick(names.len())];
            let value = if pick(3) == 0 {
                extremes[pick(extremes.len())]
            } else {
                pick(4) as i64
            };
            if [
                "group",
                "axis",
                "size",
                "ceil_mode",
                "storage_order",
                "count_include_pad",
                "transA",
                "transB",
            ]
            .contains(&name)
            {
                attrs.push(int(name, value));
            } else {
                let len = pick(5);
                attrs.push(ints(name, &vec![value; len]));
            }
        }
        if pick(4) == 0 {
            attrs.push(string(
                "auto_pad",
                ["SAME_UPPER", "SAME_LOWER", "VALID"][pick(3)],
            ));
        }
        let Ok(op) = crate::build_operator(op_code, &attrs) else {
            continue;
        };
        let n_inputs = 1 + pick(5);
        let tensors: Vec<Tensor> = (0..n_inputs)
            .map(|_| {
                let rank = pick(6);
                let shape: Vec<usize> = (0..rank).map(|_| pick(5)).collect();
                f32s(&shape)
            })
            .collect();
        let views: Vec<Option<TensorView<'_>>> = tensors.iter().map(|t| Some(t.view())).collect();
        let infos: Vec<Option<InputInfo<'_>>> =
            views.iter().map(|v| v.map(InputInfo::from)).collect();
        let Ok(specs) = op.infer(&infos) else {
            outcomes[0] += 1;
            continue;
        };
        let small = specs.iter().all(|s| {
            s.shape
                .iter()
                .try_fold(1usize, |a, &d| a.checked_mul(d))
                .is_some_and(|n| n < 1 << 16)
        });
        if small {
            outcomes[1] += 1;
            crate::eval(&*op, &views, Isa::Scalar)
                .unwrap_or_else(|e| panic!("{op_code} {attrs:?}: infer passed, run failed: {e}"));
        }
    }
    assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
}
