//! `read_tensor_proto` on tensors written by onnx's own Python helpers
//! (tests/data/make_tensors.py), compared with the values the script wrote.

use pocketnn_convert::{ConvertError, read_tensor_proto};
use pocketnn_tensor::{DType, Tensor, f16};

fn read(name: &str) -> Result<Tensor, ConvertError> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    read_tensor_proto(&std::fs::read(path).unwrap())
}

#[test]
fn raw_data_tensors() {
    let t = read("f32_raw.pb").unwrap();
    assert_eq!((t.dtype(), t.shape()), (DType::F32, &[2usize, 3][..]));
    assert_eq!(
        t.as_slice::<f32>().unwrap(),
        &[1.5, -2.0, 3.25, 0.0, 1e-3, -7.0]
    );
    let t = read("f16_raw.pb").unwrap();
    let v: Vec<f32> = t
        .as_slice::<f16>()
        .unwrap()
        .iter()
        .map(|h| h.to_f32())
        .collect();
    assert_eq!(v, [1.0, -0.5, 65504.0]);
    let t = read("i64_raw.pb").unwrap();
    assert_eq!(t.as_slice::<i64>().unwrap(), &[-1, 2, 1 << 40]);
    let t = read("bool_raw.pb").unwrap();
    assert_eq!(t.dtype(), DType::Bool);
    assert_eq!(t.bytes(), &[1, 0, 1]);
    let t = read("scalar_i64.pb").unwrap();
    assert_eq!(t.shape(), &[] as &[usize]);
    assert_eq!(t.as_slice::<i64>().unwrap(), &[42]);
}

#[test]
fn typed_data_tensors() {
    assert_eq!(
        read("f32_typed.pb").unwrap().as_slice::<f32>().unwrap(),
        &[0.25, -4.0]
    );
    assert_eq!(
        read("i8_typed.pb").unwrap().as_slice::<i8>().unwrap(),
        &[-128, 0, 127]
    );
    assert_eq!(
        read("u8_typed.pb").unwrap().as_slice::<u8>().unwrap(),
        &[0, 255]
    );
    let t = read("f16_typed.pb").unwrap();
    let v: Vec<f32> = t
        .as_slice::<f16>()
        .unwrap()
        .iter()
        .map(|h| h.to_f32())
        .collect();
    assert_eq!(v, [2.0, -1.5]);
    let t = read("i32_typed.pb").unwrap();
    assert_eq!(
        (t.shape(), t.as_slice::<i32>().unwrap()),
        (&[1usize, 2][..], &[-5, 70000][..])
    );
}

#[test]
fn unsupported_and_broken_tensors_are_errors() {
    let e = read("f64_raw.pb").unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor `d` has element type DOUBLE, which pocketnn does not support"
    );
    // truncated raw data: the length no longer matches the dims
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/f32_raw.pb");
    let mut bytes = std::fs::read(path).unwrap();
    bytes.truncate(bytes.len() - 4);
    assert!(read_tensor_proto(&bytes).is_err());
    assert!(matches!(
        read_tensor_proto(&[0x0a]),
        Err(ConvertError::Decode { .. })
    ));
}
