//! Hostile inputs: every call must return (an output or an error), never
//! panic, and sizes that cannot exist must be `TooLarge`.

use super::*;

fn i64s(v: &[i64]) -> Tensor {
    i64t(&[v.len()], v)
}

/// Runs `code` and returns whether it succeeded; a panic fails the test.
fn survives(code: OpCode, attrs: Vec<Attribute>, inputs: &[Option<&Tensor>]) -> bool {
    match build_operator(code, &attrs) {
        Ok(op) => run(&*op, inputs).is_ok(),
        Err(_) => false,
    }
}

#[test]
fn huge_outputs_are_too_large() {
    let x = f32t(&[2, 2], &[1., 2., 3., 4.]);
    let too_large = |code, extra: Tensor| {
        let e = run_err(code, vec![], &[Some(&x), Some(&extra)]);
        assert!(matches!(e, OpError::TooLarge { .. }), "{code}: {e}");
    };
    too_large(OpCode::Tile, i64s(&[i64::MAX, 2]));
    too_large(OpCode::Tile, i64s(&[1 << 40, 1 << 40]));
    too_large(OpCode::Expand, i64s(&[1 << 62, 1 << 62, 2, 2]));
    too_large(OpCode::Pad, i64s(&[i64::MAX, 0, 0, 0]));
    too_large(OpCode::Pad, i64s(&[1 << 40, 1 << 40, 0, 0]));
    too_large(OpCode::Reshape, i64s(&[i64::MAX, i64::MAX]));
    let e = run_err(
        OpCode::Pad,
        vec![],
        &[Some(&x), Some(&i64s(&[i64::MIN, 0, 0, 0]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }), "{e}");
}

#[test]
fn extreme_slice_values_do_not_overflow() {
    let x = f32t(&[4], &[1., 2., 3., 4.]);
    let cases: [[i64; 3]; 6] = [
        [i64::MAX, i64::MIN, i64::MIN],
        [i64::MIN, i64::MAX, i64::MAX],
        [i64::MAX, i64::MIN, -1],
        [i64::MIN, i64::MAX, 1],
        [-1, i64::MIN, i64::MIN + 1],
        [0, 4, i64::MAX],
    ];
    let expected: [&[f32]; 6] = [
        &[4.],
        &[1.],
        &[4., 3., 2., 1.],
        &[1., 2., 3., 4.],
        &[4.],
        &[1.],
    ];
    for ([s, e, st], want) in cases.into_iter().zip(expected) {
        let out = run1(
            OpCode::Slice,
            vec![],
            &[
                Some(&x),
                Some(&i64s(&[s])),
                Some(&i64s(&[e])),
                None,
                Some(&i64s(&[st])),
            ],
        );
        assert_eq!(out.as_slice::<f32>().unwrap(), want, "{s}:{e}:{st}");
    }
}

#[test]
fn empty_tensors_with_huge_dimensions_never_panic() {
    // Zero elements, so this is a valid tensor, but its other dimensions
    // multiply past usize::MAX.
    let big = usize::MAX / 2;
    let x = Tensor::from_bytes(DType::F32, &[0, big, 4], &[]).unwrap();
    let all = |v: &[i64]| i64s(v);
    let x_only = [Some(&x)];
    let _ = survives(OpCode::Transpose, vec![], &x_only);
    let _ = survives(OpCode::Transpose, vec![ints("perm", &[1, 2, 0])], &x_only);
    let _ = survives(OpCode::Flatten, vec![int("axis", 2)], &x_only);
    let _ = survives(OpCode::Squeeze, vec![], &x_only);
    let _ = survives(OpCode::Concat, vec![int("axis", 0)], &[Some(&x), Some(&x)]);
    let _ = survives(OpCode::Concat, vec![int("axis", 2)], &[Some(&x), Some(&x)]);
    let _ = survives(
        OpCode::Split,
        vec![int("axis", 1), int("num_outputs", 2)],
        &x_only,
    );
    let _ = survives(
        OpCode::Split,
        vec![int("axis", 2), int("num_outputs", 2)],
        &x_only,
    );
    let _ = survives(
        OpCode::Slice,
        vec![],
        &[Some(&x), Some(&all(&[0, 1])), Some(&all(&[1, 3]))],
    );
    let _ = survives(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&all(&[-1, -1, -1])),
            Some(&all(&[i64::MIN; 3])),
            None,
            Some(&all(&[-1; 3])),
        ],
    );
    let _ = survives(OpCode::Tile, vec![], &[Some(&x), Some(&all(&[3, 1, 1]))]);
    let _ = survives(
        OpCode::Expand,
        vec![],
        &[Some(&x), Some(&all(&[2, 1, 1, 1]))],
    );
    let _ = survives(
        OpCode::Gather,
        vec![int("axis", 1)],
        &[Some(&x), Some(&all(&[0]))],
    );
    let _ = survives(
        OpCode::Gather,
        vec![int("axis", 0)],
        &[Some(&x), Some(&all(&[]))],
    );
    let idx = i64t(&[0, 1, 1], &[]);
    let _ = survives(
        OpCode::GatherElements,
        vec![int("axis", 1)],
        &[Some(&x), Some(&idx)],
    );
    let _ = survives(OpCode::Reshape, vec![], &[Some(&x), Some(&all(&[-1, 4]))]);
    let _ = survives(OpCode::Unsqueeze, vec![], &[Some(&x), Some(&all(&[0, -1]))]);
    for mode in ["constant", "edge", "reflect", "wrap"] {
        let pads = all(&[1, -(big as i64) + 1, 0, 0, -(big as i64) + 1, 0]);
        let _ = survives(
            OpCode::Pad,
            vec![string("mode", mode)],
            &[Some(&x), Some(&pads)],
        );
    }
    let _ = survives(
        OpCode::Resize,
        vec![],
        &[Some(&x), None, Some(&f32t(&[3], &[1., 1., 2.]))],
    );
    let _ = survives(
        OpCode::Resize,
        vec![string("mode", "linear")],
        &[Some(&x), None, None, Some(&all(&[0, 1, 8]))],
    );
    let y = Tensor::from_bytes(DType::U8, &[big, 0, big, 4], &[]).unwrap();
    let _ = survives(OpCode::DepthToSpace, vec![int("blocksize", 2)], &[Some(&y)]);
    let _ = survives(OpCode::SpaceToDepth, vec![int("blocksize", 2)], &[Some(&y)]);
    let _ = survives(OpCode::Transpose, vec![], &[Some(&y)]);
}

#[test]
fn out_of_range_axes_are_errors() {
    let x = f32t(&[2, 3], &[0.; 6]);
    let one = [Some(&x)];
    assert!(!survives(OpCode::Concat, vec![int("axis", 2)], &one));
    assert!(!survives(OpCode::Concat, vec![int("axis", -3)], &one));
    assert!(!survives(
        OpCode::Split,
        vec![int("axis", 9), int("num_outputs", 1)],
        &one
    ));
    assert!(!survives(
        OpCode::Gather,
        vec![int("axis", -3)],
        &[Some(&x), Some(&i64s(&[0]))]
    ));
    assert!(!survives(
        OpCode::GatherElements,
        vec![int("axis", 2)],
        &[Some(&x), Some(&x)]
    ));
    assert!(!survives(OpCode::Flatten, vec![int("axis", 3)], &one));
    assert!(!survives(
        OpCode::Squeeze,
        vec![],
        &[Some(&x), Some(&i64s(&[i64::MIN]))]
    ));
    assert!(!survives(
        OpCode::Unsqueeze,
        vec![],
        &[Some(&x), Some(&i64s(&[i64::MAX]))]
    ));
    assert!(!survives(
        OpCode::Pad,
        vec![],
        &[Some(&x), Some(&i64s(&[1, 1])), None, Some(&i64s(&[2]))]
    ));
    assert!(!survives(
        OpCode::Resize,
        vec![ints("axes", &[7])],
        &[Some(&x), None, Some(&f32t(&[1], &[2.]))]
    ));
    assert!(!survives(
        OpCode::Slice,
        vec![],
        &[
            Some(&x),
            Some(&i64s(&[0])),
            Some(&i64s(&[1])),
            Some(&i64s(&[-3]))
        ]
    ));
}

#[test]
fn wrong_input_counts_and_missing_inputs_are_errors() {
    let x = f32t(&[2, 3], &[0.; 6]);
    let s = i64s(&[0]);
    let count = |code, inputs: &[Option<&Tensor>]| {
        let e = run_err(code, vec![int("num_outputs", 1), int("axis", 0)], inputs);
        assert!(
            matches!(e, OpError::InputCount { .. } | OpError::MissingInput { .. }),
            "{code}: {e}"
        );
    };
    count(OpCode::Concat, &[]);
    count(OpCode::Slice, &[Some(&x), Some(&s)]);
    count(OpCode::Gather, &[Some(&x)]);
    count(OpCode::Pad, &[Some(&x), Some(&s), None, None, None]);
    count(OpCode::Split, &[Some(&x), None, None]);
    count(OpCode::Reshape, &[Some(&x), None]);
    count(OpCode::Tile, &[None, Some(&s)]);
    count(OpCode::Resize, &[]);
    count(OpCode::Transpose, &[Some(&x), Some(&x)]);
    // shape-like inputs must be 1-D integers
    let matrix = i64t(&[1, 2], &[2, 3]);
    let e = run_err(OpCode::Reshape, vec![], &[Some(&x), Some(&matrix)]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }), "{e}");
    let floats = f32t(&[2], &[2., 3.]);
    let e = run_err(OpCode::Reshape, vec![], &[Some(&x), Some(&floats)]);
    assert!(
        matches!(e, OpError::UnsupportedDType { index: 1, .. }),
        "{e}"
    );
    let e = run_err(OpCode::Gather, vec![], &[Some(&x), Some(&floats)]);
    assert!(
        matches!(e, OpError::UnsupportedDType { index: 1, .. }),
        "{e}"
    );
}

#[test]
fn outputs_of_the_wrong_shape_are_rejected() {
    let op = op(OpCode::Transpose, vec![]);
    let x = f32t(&[2, 3], &[0.; 6]);
    let mut wrong = Tensor::zeros(DType::F32, &[2, 3]).unwrap();
    let mut views = [wrong.view_mut()];
    let mut scratch = pocketnn_tensor::AlignedBuf::new();
    let mut ctx = crate::RunContext {
        isa: Isa::Scalar,
        threads: 1,
        scratch: &mut scratch,
    };
    let e = op.run(&mut ctx, &[Some(x.view())], &mut views).unwrap_err();
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
}
