use super::*;
use crate::test_onnx::{FLOAT, tensor_f32};

fn proto(dtype: i32, dims: &[i64]) -> TensorProto {
    TensorProto {
        name: Some("t".into()),
        dims: dims.to_vec(),
        data_type: Some(dtype),
        ..TensorProto::default()
    }
}

#[test]
fn typed_fields_are_range_checked() {
    let mut p = proto(3, &[2]); // INT8
    p.int32_data = vec![-128, 128];
    let e = tensor_from_proto(&p, "t").unwrap_err().to_string();
    assert_eq!(e, "tensor `t`: value 128 is out of range");
    let mut p = proto(10, &[1]); // FLOAT16 bits
    p.int32_data = vec![70000];
    assert!(tensor_from_proto(&p, "t").is_err());
    let mut p = proto(9, &[3]); // BOOL: any nonzero is true
    p.int32_data = vec![0, 1, 5];
    assert_eq!(tensor_from_proto(&p, "t").unwrap().bytes(), &[0, 1, 1]);
}

#[test]
fn lengths_and_dims_must_match() {
    let p = tensor_f32("w", &[2, 2], &[1.0, 2.0, 3.0]);
    let e = tensor_from_proto(&p, "w").unwrap_err().to_string();
    assert_eq!(
        e,
        "tensor `w`: shape [2, 2] has 4 elements but the data holds 3"
    );
    let p = tensor_f32("w", &[-1], &[]);
    assert!(tensor_from_proto(&p, "w").is_err());
    let mut p = proto(FLOAT, &[i64::MAX, i64::MAX]);
    p.raw_data = Some(vec![0; 4]);
    assert!(tensor_from_proto(&p, "t").is_err());
    let mut p = proto(FLOAT, &[2]);
    p.raw_data = Some(vec![0; 7]);
    let e = tensor_from_proto(&p, "t").unwrap_err().to_string();
    assert_eq!(
        e,
        "tensor `t`: shape [2] of f32 needs 8 bytes but raw_data holds 7"
    );
    // an empty tensor is fine
    let p = tensor_f32("e", &[0, 3], &[]);
    assert_eq!(tensor_from_proto(&p, "e").unwrap().shape(), &[0, 3]);
}

#[test]
fn raw_data_is_little_endian() {
    let mut p = proto(7, &[1]); // INT64
    p.raw_data = Some(vec![1, 2, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        tensor_from_proto(&p, "t")
            .unwrap()
            .as_slice::<i64>()
            .unwrap(),
        &[0x0201]
    );
    let mut p = proto(1, &[]); // FLOAT scalar 1.0 = 0x3f800000
    p.raw_data = Some(vec![0, 0, 0x80, 0x3f]);
    assert_eq!(
        tensor_from_proto(&p, "t")
            .unwrap()
            .as_slice::<f32>()
            .unwrap(),
        &[1.0]
    );
}

#[test]
fn element_types_outside_the_list_are_rejected() {
    for (code, name) in [
        (5, "INT16"),
        (4, "UINT16"),
        (11, "DOUBLE"),
        (8, "STRING"),
        (16, "BFLOAT16"),
    ] {
        let e = tensor_from_proto(&proto(code, &[0]), "t")
            .unwrap_err()
            .to_string();
        assert!(e.contains(name), "{e}");
    }
}
