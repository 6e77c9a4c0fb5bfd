//! Hand-computed cases: Concat, Split, Slice, Gather, GatherElements and
//! the reshaping ops.

use super::*;

fn iota(shape: &[usize]) -> Tensor {
    let n: usize = shape.iter().product();
    f32t(shape, &(0..n).map(|i| i as f32).collect::<Vec<_>>())
}

fn values(t: &Tensor) -> Vec<f32> {
    t.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn concat_middle_axis() {
    let a = iota(&[2, 1, 2]);
    let b = f32t(&[2, 2, 2], &[10., 11., 12., 13., 14., 15., 16., 17.]);
    let out = run1(OpCode::Concat, vec![int("axis", 1)], &[Some(&a), Some(&b)]);
    assert_eq!(out.shape(), &[2, 3, 2]);
    assert_eq!(
        values(&out),
        [0., 1., 10., 11., 12., 13., 2., 3., 14., 15., 16., 17.]
    );
}

#[test]
fn concat_rejects_mismatches() {
    let a = iota(&[2, 2]);
    let b = iota(&[3, 3]);
    let e = run_err(OpCode::Concat, vec![int("axis", 0)], &[Some(&a), Some(&b)]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }), "{e}");
    let c = i64t(&[2, 2], &[0; 4]);
    let e = run_err(OpCode::Concat, vec![int("axis", 0)], &[Some(&a), Some(&c)]);
    assert!(matches!(e, OpError::DTypeMismatch { index: 1, .. }), "{e}");
    let e = run_err(OpCode::Concat, vec![int("axis", 2)], &[Some(&a)]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }), "{e}");
    assert!(matches!(
        build_operator(OpCode::Concat, &[]),
        Err(OpError::MissingAttribute { .. })
    ));
}

#[test]
fn split_evenly_and_with_sizes() {
    let x = iota(&[2, 4]);
    let op = op(OpCode::Split, vec![int("axis", 1), int("num_outputs", 2)]);
    let outs = run(&*op, &[Some(&x)]).unwrap();
    assert_eq!(values(&outs[0]), [0., 1., 4., 5.]);
    assert_eq!(values(&outs[1]), [2., 3., 6., 7.]);
    // ONNX 18: 5 into 3 parts is 2, 2, 1.
    let x = iota(&[5]);
    let op3 = super::op(OpCode::Split, vec![int("num_outputs", 3)]);
    let outs = run(&*op3, &[Some(&x)]).unwrap();
    let shapes: Vec<_> = outs.iter().map(|t| t.shape().to_vec()).collect();
    assert_eq!(shapes, [vec![2], vec![2], vec![1]]);
    assert_eq!(values(&outs[2]), [4.]);
    // 5 into 4 parts of 2 is impossible.
    let op4 = super::op(OpCode::Split, vec![int("num_outputs", 4)]);
    assert!(run(&*op4, &[Some(&x)]).is_err());
    // sizes that do not add up
    let sizes = i64t(&[3], &[1, 1, 1]);
    assert!(matches!(
        run(&*op3, &[Some(&x), Some(&sizes)]),
        Err(OpError::InvalidInput { index: 1, .. })
    ));
    let negative = i64t(&[3], &[3, 3, -1]);
    assert!(run(&*op3, &[Some(&x), Some(&negative)]).is_err());
    assert!(build_operator(OpCode::Split, &[]).is_err());
    assert!(build_operator(OpCode::Split, &[int("num_outputs", 0)]).is_err());
}

#[test]
fn split_may_omit_trailing_outputs() {
    let x = iota(&[4]);
    let op = op(OpCode::Split, vec![int("num_outputs", 2)]);
    let mut first = Tensor::zeros(DType::F32, &[2]).unwrap();
    let mut views = [first.view_mut()];
    let mut scratch = pocketnn_tensor::AlignedBuf::new();
    let mut ctx = crate::RunContext {
        isa: Isa::Scalar,
        threads: 1,
        scratch: &mut scratch,
    };
    op.run(&mut ctx, &[Some(x.view())], &mut views).unwrap();
    assert_eq!(values(&first), [0., 1.]);
}

#[test]
fn slice_by_hand() {
    let x = iota(&[3, 4]);
    let s = |v: &[i64]| i64t(&[v.len()], v);
    // rows 2..0 backwards, columns 1.. step 2
    let out = run1(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&s(&[2, 1])),
            Some(&s(&[0, 100])),
            None,
            Some(&s(&[-1, 2])),
        ],
    );
    assert_eq!(out.shape(), &[2, 2]);
    assert_eq!(values(&out), [9., 11., 5., 7.]);
    // the whole of axis -1 reversed, i32 inputs
    let s32 = |v: &[i32]| i32t(&[v.len()], v);
    let out = run1(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&s32(&[-1])),
            Some(&s32(&[i32::MIN])),
            Some(&s32(&[-1])),
            Some(&s32(&[-1])),
        ],
    );
    assert_eq!(
        values(&out),
        [3., 2., 1., 0., 7., 6., 5., 4., 11., 10., 9., 8.]
    );
}

#[test]
fn slice_errors() {
    let x = iota(&[3, 4]);
    let s = |v: &[i64]| i64t(&[v.len()], v);
    let step0 = run_err(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&s(&[0])),
            Some(&s(&[1])),
            None,
            Some(&s(&[0])),
        ],
    );
    assert!(matches!(step0, OpError::InvalidInput { index: 4, .. }));
    let dup = run_err(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&s(&[0, 0])),
            Some(&s(&[1, 1])),
            Some(&s(&[1, -1])),
        ],
    );
    assert!(matches!(dup, OpError::ShapeMismatch { .. }), "{dup}");
    let axis = run_err(
        OpCode::Slice,
        vec![],
        &[Some(&x), Some(&s(&[0])), Some(&s(&[1])), Some(&s(&[2]))],
    );
    assert!(matches!(axis, OpError::ShapeMismatch { .. }), "{axis}");
    let lengths = run_err(
        OpCode::Slice,
        vec![],
        &[Some(&x), Some(&s(&[0])), Some(&s(&[1, 2]))],
    );
    assert!(matches!(lengths, OpError::InvalidInput { index: 2, .. }));
    let float = f32t(&[1], &[0.]);
    let dtype = run_err(
        OpCode::Slice,
        vec![],
        &[Some(&x), Some(&float), Some(&s(&[1]))],
    );
    assert!(matches!(dtype, OpError::UnsupportedDType { index: 1, .. }));
}

#[test]
fn gather_by_hand_and_out_of_range() {
    let x = iota(&[3, 2]);
    let idx = i64t(&[2], &[-1, 0]);
    let out = run1(OpCode::Gather, vec![], &[Some(&x), Some(&idx)]);
    assert_eq!(values(&out), [4., 5., 0., 1.]);
    for bad in [3, -4, i64::MAX, i64::MIN] {
        let idx = i64t(&[1], &[bad]);
        let e = run_err(OpCode::Gather, vec![], &[Some(&x), Some(&idx)]);
        assert!(matches!(e, OpError::InvalidInput { index: 1, .. }), "{e}");
    }
    // empty indices give an empty output
    let none = i64t(&[0], &[]);
    let out = run1(
        OpCode::Gather,
        vec![int("axis", 1)],
        &[Some(&x), Some(&none)],
    );
    assert_eq!(out.shape(), &[3, 0]);
}

#[test]
fn gather_elements_by_hand() {
    let x = iota(&[2, 3]);
    let idx = i64t(&[2, 2], &[2, -3, 1, 1]);
    let out = run1(
        OpCode::GatherElements,
        vec![int("axis", -1)],
        &[Some(&x), Some(&idx)],
    );
    assert_eq!(values(&out), [2., 0., 4., 4.]);
    let bad = i64t(&[1, 1], &[3]);
    let e = run_err(
        OpCode::GatherElements,
        vec![int("axis", 1)],
        &[Some(&x), Some(&bad)],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
    let rank = i64t(&[2], &[0, 0]);
    let e = run_err(OpCode::GatherElements, vec![], &[Some(&x), Some(&rank)]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
}

#[test]
fn reshape_rules() {
    let x = iota(&[2, 3, 4]);
    let shape_of = |v: &[i64]| i64t(&[v.len()], v);
    let reshape = |shape: &[i64], allow_zero: i64| {
        let op = op(OpCode::Reshape, vec![int("allowzero", allow_zero)]);
        run(&*op, &[Some(&x), Some(&shape_of(shape))]).map(|o| o[0].shape().to_vec())
    };
    assert_eq!(reshape(&[0, -1], 0).unwrap(), [2, 12]);
    assert_eq!(reshape(&[-1, 0, 2], 0).unwrap(), [4, 3, 2]);
    assert_eq!(reshape(&[4, 6], 1).unwrap(), [4, 6]);
    assert_eq!(reshape(&[24], 0).unwrap(), [24]);
    // errors: two -1, wrong count, 0 past the input rank, -2, 0 with -1 under allowzero
    assert!(reshape(&[-1, -1], 0).is_err());
    assert!(reshape(&[5, -1], 0).is_err());
    assert!(reshape(&[7, 4], 0).is_err());
    assert!(reshape(&[1, 1, 1, 0], 0).is_err());
    assert!(reshape(&[-2, 12], 0).is_err());
    assert!(reshape(&[0, -1], 1).is_err());
    assert!(reshape(&[i64::MAX, i64::MAX, 0], 1).is_err());
    // the data is copied unchanged
    let out = run1(
        OpCode::Reshape,
        vec![],
        &[Some(&x), Some(&shape_of(&[4, -1]))],
    );
    assert_eq!(out.bytes(), x.bytes());
    // a -1 over an empty input cannot be resolved
    let empty = f32t(&[0, 3], &[]);
    let op = op(OpCode::Reshape, vec![]);
    assert!(run(&*op, &[Some(&empty), Some(&shape_of(&[0, -1]))]).is_err());
    assert_eq!(
        run(&*op, &[Some(&empty), Some(&shape_of(&[-1, 3]))]).unwrap()[0].shape(),
        &[0, 3]
    );
}

#[test]
fn reshape_needs_the_shape_value_during_planning() {
    let op = op(OpCode::Reshape, vec![]);
    let x = iota(&[2, 2]);
    let shape = i64t(&[1], &[4]);
    let infos = [
        Some(crate::InputInfo::from(x.view())),
        Some(crate::InputInfo {
            value: None,
            ..crate::InputInfo::from(shape.view())
        }),
    ];
    assert_eq!(op.infer(&infos), Err(OpError::NeedsValue { index: 1 }));
}

#[test]
fn flatten_squeeze_unsqueeze_shapes() {
    let x = iota(&[1, 3, 1, 2]);
    let shape = |code, attrs, extra: Option<Tensor>| {
        let op = op(code, attrs);
        let inputs = match &extra {
            Some(e) => vec![Some(&x), Some(e)],
            None => vec![Some(&x)],
        };
        run(&*op, &inputs).map(|o| o[0].shape().to_vec())
    };
    assert_eq!(shape(OpCode::Flatten, vec![], None).unwrap(), [1, 6]);
    assert_eq!(
        shape(OpCode::Flatten, vec![int("axis", 4)], None).unwrap(),
        [6, 1]
    );
    assert_eq!(
        shape(OpCode::Flatten, vec![int("axis", -4)], None).unwrap(),
        [1, 6]
    );
    assert!(shape(OpCode::Flatten, vec![int("axis", 5)], None).is_err());
    assert!(shape(OpCode::Flatten, vec![int("axis", -5)], None).is_err());
    assert_eq!(shape(OpCode::Squeeze, vec![], None).unwrap(), [3, 2]);
    assert_eq!(
        shape(OpCode::Squeeze, vec![], Some(i64t(&[0], &[]))).unwrap(),
        [3, 2]
    );
    assert_eq!(
        shape(OpCode::Squeeze, vec![], Some(i64t(&[1], &[0]))).unwrap(),
        [3, 1, 2]
    );
    assert!(shape(OpCode::Squeeze, vec![], Some(i64t(&[1], &[1]))).is_err());
    assert!(shape(OpCode::Squeeze, vec![], Some(i64t(&[2], &[0, -4]))).is_err());
    assert!(shape(OpCode::Squeeze, vec![], Some(i64t(&[1], &[4]))).is_err());
    let unsqueeze =
        |axes: &[i64]| shape(OpCode::Unsqueeze, vec![], Some(i64t(&[axes.len()], axes)));
    assert_eq!(unsqueeze(&[0, -1]).unwrap(), [1, 1, 3, 1, 2, 1]);
    assert_eq!(unsqueeze(&[2, 5]).unwrap(), [1, 3, 1, 1, 2, 1]);
    assert!(unsqueeze(&[1, 1]).is_err());
    assert!(unsqueeze(&[1, -5]).is_err());
    assert!(unsqueeze(&[6]).is_err());
    let op = op(OpCode::Unsqueeze, vec![]);
    assert!(matches!(
        run(&*op, &[Some(&x)]),
        Err(OpError::InputCount { .. })
    ));
    // Flatten of a scalar
    let scalar = Tensor::scalar(5.0f32);
    let out = run1(OpCode::Flatten, vec![int("axis", 0)], &[Some(&scalar)]);
    assert_eq!(out.shape(), &[1, 1]);
}
