//! Hand-computed cases: Transpose, Expand, Tile, Pad, DepthToSpace and
//! SpaceToDepth.

use super::*;

fn i64s(v: &[i64]) -> Tensor {
    i64t(&[v.len()], v)
}

#[test]
fn transpose_by_hand_and_perm_validation() {
    let x = i32t(&[2, 3], &[1, 2, 3, 4, 5, 6]);
    let out = run1(OpCode::Transpose, vec![], &[Some(&x)]);
    assert_eq!(out.shape(), &[3, 2]);
    assert_eq!(out.as_slice::<i32>().unwrap(), [1, 4, 2, 5, 3, 6]);
    for bad in [&[0, 0][..], &[0, 2], &[-1, 0], &[1]] {
        let built = build_operator(OpCode::Transpose, &[ints("perm", bad)]);
        if bad.len() == 1 {
            // [1] is not a permutation of 0..1
            assert!(built.is_err());
            continue;
        }
        assert!(
            matches!(built, Err(OpError::InvalidAttribute { .. })),
            "{bad:?}"
        );
    }
    // a valid perm of the wrong length for the input
    let e = run_err(
        OpCode::Transpose,
        vec![ints("perm", &[0, 1, 2])],
        &[Some(&x)],
    );
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
    // rank 0 and empty inputs
    let s = Tensor::scalar(7i64);
    assert_eq!(
        run1(OpCode::Transpose, vec![], &[Some(&s)])
            .as_slice::<i64>()
            .unwrap(),
        [7]
    );
    let empty = f32t(&[0, 3], &[]);
    assert_eq!(
        run1(OpCode::Transpose, vec![], &[Some(&empty)]).shape(),
        &[3, 0]
    );
}

#[test]
fn expand_and_tile_by_hand() {
    let x = u8t(&[2, 1], &[1, 2]);
    let out = run1(OpCode::Expand, vec![], &[Some(&x), Some(&i64s(&[1, 3]))]);
    assert_eq!(out.shape(), &[2, 3]);
    assert_eq!(out.as_slice::<u8>().unwrap(), [1, 1, 1, 2, 2, 2]);
    let e = run_err(OpCode::Expand, vec![], &[Some(&x), Some(&i64s(&[3, 3]))]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
    let e = run_err(OpCode::Expand, vec![], &[Some(&x), Some(&i64s(&[-1]))]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
    // expanding to a zero dimension
    let out = run1(OpCode::Expand, vec![], &[Some(&x), Some(&i64s(&[2, 0]))]);
    assert_eq!(out.shape(), &[2, 0]);

    let out = run1(OpCode::Tile, vec![], &[Some(&x), Some(&i64s(&[2, 2]))]);
    assert_eq!(out.shape(), &[4, 2]);
    assert_eq!(out.as_slice::<u8>().unwrap(), [1, 1, 2, 2, 1, 1, 2, 2]);
    let e = run_err(OpCode::Tile, vec![], &[Some(&x), Some(&i64s(&[2]))]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
    let e = run_err(OpCode::Tile, vec![], &[Some(&x), Some(&i64s(&[1, -2]))]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
}

#[test]
fn pad_negative_pads_crop_before_padding() {
    let x = f32t(&[5], &[1., 2., 3., 4., 5.]);
    let pads = i64s(&[-1, 2]);
    let cases = [
        ("constant", [2., 3., 4., 5., 0., 0.]),
        ("reflect", [2., 3., 4., 5., 4., 3.]),
        ("edge", [2., 3., 4., 5., 5., 5.]),
        ("wrap", [2., 3., 4., 5., 2., 3.]),
    ];
    for (mode, expected) in cases {
        let out = run1(
            OpCode::Pad,
            vec![string("mode", mode)],
            &[Some(&x), Some(&pads)],
        );
        assert_eq!(out.as_slice::<f32>().unwrap(), expected, "{mode}");
    }
    // cropping only
    let out = run1(OpCode::Pad, vec![], &[Some(&x), Some(&i64s(&[-2, -1]))]);
    assert_eq!(out.as_slice::<f32>().unwrap(), [3., 4.]);
    // cropping everything away, then padding from nothing
    let e = run_err(
        OpCode::Pad,
        vec![string("mode", "edge")],
        &[Some(&x), Some(&i64s(&[-5, 1]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
    let out = run1(OpCode::Pad, vec![], &[Some(&x), Some(&i64s(&[-5, 1]))]);
    assert_eq!(out.as_slice::<f32>().unwrap(), [0.]);
    // cropping below zero
    let e = run_err(OpCode::Pad, vec![], &[Some(&x), Some(&i64s(&[-4, -2]))]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
}

#[test]
fn pad_constant_value_and_dtypes() {
    let x = boolt(&[2], &[1, 0]);
    let one = boolt(&[], &[1]);
    let out = run1(
        OpCode::Pad,
        vec![],
        &[Some(&x), Some(&i64s(&[1, 1])), Some(&one)],
    );
    assert_eq!(out.bytes(), [1, 1, 0, 1]);
    let wrong = f32t(&[], &[1.]);
    let e = run_err(
        OpCode::Pad,
        vec![],
        &[Some(&x), Some(&i64s(&[1, 1])), Some(&wrong)],
    );
    assert!(matches!(e, OpError::DTypeMismatch { index: 2, .. }));
    // an empty constant_value means 0
    let x = i64t(&[1, 2], &[5, 6]);
    let none = i64t(&[0], &[]);
    let out = run1(
        OpCode::Pad,
        vec![],
        &[Some(&x), Some(&i64s(&[0, 1, 0, 0])), Some(&none)],
    );
    assert_eq!(out.as_slice::<i64>().unwrap(), [0, 5, 6]);
    // reflect of a single element repeats it; edge of an empty axis fails
    let single = i8t(&[1], &[-3]);
    let out = run1(
        OpCode::Pad,
        vec![string("mode", "reflect")],
        &[Some(&single), Some(&i64s(&[2, 1]))],
    );
    assert_eq!(out.as_slice::<i8>().unwrap(), [-3, -3, -3, -3]);
    let empty = i8t(&[0], &[]);
    let e = run_err(
        OpCode::Pad,
        vec![string("mode", "edge")],
        &[Some(&empty), Some(&i64s(&[1, 0]))],
    );
    assert!(matches!(e, OpError::InvalidInput { .. }));
    let out = run1(OpCode::Pad, vec![], &[Some(&empty), Some(&i64s(&[1, 2]))]);
    assert_eq!(out.as_slice::<i8>().unwrap(), [0, 0, 0]);
    // wrong pad count, bad mode
    let e = run_err(OpCode::Pad, vec![], &[Some(&single), Some(&i64s(&[1]))]);
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }));
    assert!(build_operator(OpCode::Pad, &[string("mode", "mirror")]).is_err());
}

#[test]
fn depth_to_space_and_back_by_hand() {
    // C = 4 = b², one pixel: DCR puts channel k at (k / 2, k % 2).
    let x = i32t(&[1, 4, 1, 1], &[0, 1, 2, 3]);
    let out = run1(OpCode::DepthToSpace, vec![int("blocksize", 2)], &[Some(&x)]);
    assert_eq!(out.shape(), &[1, 1, 2, 2]);
    assert_eq!(out.as_slice::<i32>().unwrap(), [0, 1, 2, 3]);
    // C = 8 with two output channels: DCR takes channel c + 2k, CRD 4c + k.
    let x = i32t(&[1, 8, 1, 1], &[0, 1, 2, 3, 4, 5, 6, 7]);
    let dcr = run1(OpCode::DepthToSpace, vec![int("blocksize", 2)], &[Some(&x)]);
    assert_eq!(dcr.as_slice::<i32>().unwrap(), [0, 2, 4, 6, 1, 3, 5, 7]);
    let crd = run1(
        OpCode::DepthToSpace,
        vec![int("blocksize", 2), string("mode", "CRD")],
        &[Some(&x)],
    );
    assert_eq!(crd.as_slice::<i32>().unwrap(), [0, 1, 2, 3, 4, 5, 6, 7]);
    let back = run1(
        OpCode::SpaceToDepth,
        vec![int("blocksize", 2)],
        &[Some(&dcr)],
    );
    assert_eq!(back.shape(), &[1, 8, 1, 1]);
    assert_eq!(back.bytes(), x.bytes());
    let e = run_err(OpCode::DepthToSpace, vec![int("blocksize", 3)], &[Some(&x)]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
    let e = run_err(OpCode::SpaceToDepth, vec![int("blocksize", 2)], &[Some(&x)]);
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
    let flat = i32t(&[4], &[0; 4]);
    let e = run_err(
        OpCode::SpaceToDepth,
        vec![int("blocksize", 1)],
        &[Some(&flat)],
    );
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
    for b in [0, -2] {
        assert!(build_operator(OpCode::DepthToSpace, &[int("blocksize", b)]).is_err());
    }
    assert!(build_operator(OpCode::SpaceToDepth, &[]).is_err());
    assert!(
        build_operator(
            OpCode::DepthToSpace,
            &[int("blocksize", 2), string("mode", "XYZ")]
        )
        .is_err()
    );
}
