//! Hand-computed Resize cases and Resize's errors.

use super::*;

fn scales(v: &[f32]) -> Tensor {
    f32t(&[v.len()], v)
}

fn sizes(v: &[i64]) -> Tensor {
    i64t(&[v.len()], v)
}

fn linear(ctm: &str) -> Vec<Attribute> {
    vec![
        string("mode", "linear"),
        string("coordinate_transformation_mode", ctm),
    ]
}

#[test]
fn linear_by_hand() {
    let x = f32t(&[1, 2], &[1., 2.]);
    // half_pixel, x2: samples at -0.25, 0.25, 0.75, 1.25 (clamped at the edges)
    let out = run1(
        OpCode::Resize,
        linear("half_pixel"),
        &[Some(&x), None, Some(&scales(&[1., 2.]))],
    );
    assert_eq!(out.as_slice::<f32>().unwrap(), [1., 1.25, 1.75, 2.]);
    // align_corners to 3: samples at 0, 0.5, 1
    let out = run1(
        OpCode::Resize,
        linear("align_corners"),
        &[Some(&x), None, None, Some(&sizes(&[1, 3]))],
    );
    assert_eq!(out.as_slice::<f32>().unwrap(), [1., 1.5, 2.]);
    // asymmetric x2: samples at 0, 0.5, 1, 1.5
    let out = run1(
        OpCode::Resize,
        linear("asymmetric"),
        &[Some(&x), None, Some(&scales(&[1., 2.]))],
    );
    assert_eq!(out.as_slice::<f32>().unwrap(), [1., 1.5, 2., 2.]);
    // 2-D: bilinear centre of a 2x2 block with half_pixel and sizes 1x1
    let x = f32t(&[2, 2], &[1., 2., 3., 4.]);
    let out = run1(
        OpCode::Resize,
        linear("half_pixel"),
        &[Some(&x), None, None, Some(&sizes(&[1, 1]))],
    );
    assert_eq!(out.as_slice::<f32>().unwrap(), [2.5]);
}

#[test]
fn nearest_works_on_every_dtype() {
    let attrs = || vec![string("coordinate_transformation_mode", "asymmetric")];
    let x = boolt(&[2], &[1, 0]);
    let out = run1(
        OpCode::Resize,
        attrs(),
        &[Some(&x), None, Some(&scales(&[2.]))],
    );
    assert_eq!(out.dtype(), DType::Bool);
    assert_eq!(out.bytes(), [1, 1, 0, 0]);
    let x = i64t(&[2], &[i64::MAX, i64::MIN]);
    let out = run1(
        OpCode::Resize,
        attrs(),
        &[Some(&x), None, Some(&scales(&[1.5]))],
    );
    assert_eq!(
        out.as_slice::<i64>().unwrap(),
        [i64::MAX, i64::MIN, i64::MIN]
    );
}

#[test]
fn axes_attribute_with_negative_axis() {
    let x = f32t(&[2, 2], &[1., 2., 3., 4.]);
    let attrs = vec![
        ints("axes", &[-1]),
        string("coordinate_transformation_mode", "asymmetric"),
    ];
    let out = run1(
        OpCode::Resize,
        attrs,
        &[Some(&x), None, Some(&scales(&[2.]))],
    );
    assert_eq!(out.shape(), &[2, 4]);
    assert_eq!(
        out.as_slice::<f32>().unwrap(),
        [1., 1., 2., 2., 3., 3., 4., 4.]
    );
    let dup = vec![ints("axes", &[1, -1])];
    let e = run_err(
        OpCode::Resize,
        dup,
        &[Some(&x), None, Some(&scales(&[2., 2.]))],
    );
    assert!(matches!(e, OpError::ShapeMismatch { .. }));
}

#[test]
fn empty_scales_count_as_absent() {
    // Older exporters pass an empty scales tensor next to sizes.
    let x = f32t(&[1, 2], &[1., 2.]);
    let empty = f32t(&[0], &[]);
    let out = run1(
        OpCode::Resize,
        vec![],
        &[Some(&x), Some(&empty), Some(&empty), Some(&sizes(&[1, 4]))],
    );
    assert_eq!(out.as_slice::<f32>().unwrap(), [1., 1., 2., 2.]);
}

#[test]
fn unsupported_and_invalid_attributes() {
    let unsupported = build_operator(OpCode::Resize, &[int("antialias", 1)]).unwrap_err();
    assert!(
        matches!(unsupported, OpError::Unsupported { .. }),
        "{unsupported}"
    );
    let bad = [
        string("mode", "bilinear"),
        string("coordinate_transformation_mode", "corners"),
        string("nearest_mode", "nearest"),
        string("keep_aspect_ratio_policy", "fit"),
        int("exclude_outside", 2),
        int("antialias", 3),
    ];
    for attr in bad {
        let e = build_operator(OpCode::Resize, std::slice::from_ref(&attr)).unwrap_err();
        assert!(
            matches!(e, OpError::InvalidAttribute { .. }),
            "{attr:?}: {e}"
        );
    }
    assert!(build_operator(OpCode::Resize, &[string("mode", "cubic")]).is_ok());
}

#[test]
fn invalid_inputs_are_errors() {
    let x = f32t(&[1, 2], &[1., 2.]);
    let nearest = || vec![];
    let e = run_err(OpCode::Resize, nearest(), &[Some(&x)]);
    assert!(matches!(e, OpError::InvalidInput { index: 2, .. }), "{e}");
    let both = [
        Some(&x),
        None,
        Some(&scales(&[1., 2.])),
        Some(&sizes(&[1, 4])),
    ];
    assert!(matches!(
        run_err(OpCode::Resize, nearest(), &both),
        OpError::InvalidInput { index: 3, .. }
    ));
    for s in [0., -1., f32::NAN, f32::INFINITY] {
        let e = run_err(
            OpCode::Resize,
            nearest(),
            &[Some(&x), None, Some(&scales(&[1., s]))],
        );
        assert!(
            matches!(e, OpError::InvalidInput { index: 2, .. }),
            "{s}: {e}"
        );
    }
    let e = run_err(
        OpCode::Resize,
        nearest(),
        &[Some(&x), None, Some(&scales(&[2.]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 2, .. }));
    let e = run_err(
        OpCode::Resize,
        nearest(),
        &[Some(&x), None, None, Some(&sizes(&[1, -4]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 3, .. }));
    let e = run_err(
        OpCode::Resize,
        nearest(),
        &[Some(&x), None, Some(&scales(&[1., 3e38]))],
    );
    assert!(matches!(e, OpError::TooLarge { .. }), "{e}");
    let ints_in = i32t(&[1, 2], &[1, 2]);
    let e = run_err(
        OpCode::Resize,
        linear("half_pixel"),
        &[Some(&ints_in), None, Some(&scales(&[1., 2.]))],
    );
    assert!(matches!(e, OpError::UnsupportedDType { index: 0, .. }));
    let e = run_err(
        OpCode::Resize,
        linear("tf_crop_and_resize"),
        &[Some(&x), None, Some(&scales(&[1., 2.]))],
    );
    assert!(matches!(e, OpError::MissingInput { index: 1 }), "{e}");
    let short_roi = f32t(&[2], &[0., 1.]);
    let e = run_err(
        OpCode::Resize,
        linear("tf_crop_and_resize"),
        &[Some(&x), Some(&short_roi), Some(&scales(&[1., 2.]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 1, .. }), "{e}");
    // resizing an empty axis to a non-empty one
    let empty = f32t(&[1, 0], &[]);
    let e = run_err(
        OpCode::Resize,
        nearest(),
        &[Some(&empty), None, None, Some(&sizes(&[1, 3]))],
    );
    assert!(matches!(e, OpError::InvalidInput { index: 3, .. }));
    let out = run1(
        OpCode::Resize,
        nearest(),
        &[Some(&empty), None, Some(&scales(&[2., 2.]))],
    );
    assert_eq!(out.shape(), &[2, 0]);
}

#[test]
fn scales_and_sizes_are_needed_during_planning() {
    let op = op(OpCode::Resize, vec![]);
    let x = f32t(&[1, 2], &[1., 2.]);
    let s = scales(&[1., 2.]);
    fn unknown(t: &Tensor) -> crate::InputInfo<'_> {
        crate::InputInfo {
            value: None,
            ..crate::InputInfo::from(t.view())
        }
    }
    let known = crate::InputInfo::from(x.view());
    assert_eq!(
        op.infer(&[Some(known), None, Some(unknown(&s))]),
        Err(OpError::NeedsValue { index: 2 })
    );
    let z = sizes(&[1, 3]);
    assert_eq!(
        op.infer(&[Some(known), None, None, Some(unknown(&z))]),
        Err(OpError::NeedsValue { index: 3 })
    );
    // the data itself is not needed
    let specs = op
        .infer(&[
            Some(unknown(&x)),
            None,
            Some(crate::InputInfo::from(s.view())),
        ])
        .unwrap();
    assert_eq!(specs[0].shape, [1, 4]);
}
