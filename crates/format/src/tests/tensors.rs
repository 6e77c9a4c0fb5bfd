//! Rejection rules of tensor entries and quantization parameters.

use super::helpers::*;
use crate::*;

fn entry(name: &str, dtype: DType, shape: &[u64], offset: u64, len: u64) -> TensorEntry {
    TensorEntry {
        name: name.into(),
        dtype,
        shape: shape.to_vec(),
        layout: Layout::RowMajor,
        quant: None,
        offset,
        len,
    }
}

fn quant(axis: Option<u32>, scales: usize, zero_points: usize) -> QuantParams {
    QuantParams {
        axis,
        scales: vec![0.5; scales],
        zero_points: vec![0; zero_points],
    }
}

/// Parses a file holding these tensors over `data_len` zero bytes.
fn read(tensors: &[TensorEntry], data_len: usize) -> Result<(), FormatError> {
    let bytes = assemble(
        &Metadata::default(),
        &relu_graph(),
        tensors,
        Some(vec![0; data_len]),
    );
    PnnFile::parse(&bytes).map(|_| ())
}

/// Writes one tensor with the writer and returns the error, if any.
fn write(spec: TensorSpec, data: Vec<u8>) -> Result<(), FormatError> {
    let mut writer = PnnWriter::new(Metadata::default(), relu_graph());
    writer.add_tensor(spec, data);
    writer.to_bytes().map(|_| ())
}

#[test]
fn valid_tensors_including_empty_and_scalar() {
    let tensors = [
        entry("a", DType::F32, &[2, 3], 0, 24),
        entry("scalar", DType::I64, &[], 64, 8),
        entry("empty", DType::F16, &[0, 5], 64, 0), // empty: may sit anywhere aligned
        entry("b", DType::Bool, &[3], 128, 3),
    ];
    read(&tensors, 131).unwrap();
}

#[test]
fn shape_overflow() {
    let tensors = [entry("big", DType::F32, &[u64::MAX / 2, 3], 0, 0)];
    let error = FormatError::ShapeOverflow {
        tensor: 0,
        name: "big".into(),
    };
    assert_eq!(read(&tensors, 64), Err(error.clone()));
    let spec = TensorSpec::new("big", DType::F32, vec![u64::MAX / 2, 3]);
    assert_eq!(write(spec, vec![]), Err(error));
    // The element count fits but the byte count does not.
    let tensors = [entry("big", DType::I64, &[1 << 61], 0, 0)];
    assert_eq!(
        read(&tensors, 64),
        Err(FormatError::ShapeOverflow {
            tensor: 0,
            name: "big".into()
        })
    );
}

#[test]
fn length_mismatch() {
    let tensors = [entry("t", DType::F32, &[2, 3], 0, 25)];
    let error = FormatError::TensorLengthMismatch {
        tensor: 0,
        name: "t".into(),
        expected: 24,
        found: 25,
    };
    assert_eq!(read(&tensors, 64), Err(error.clone()));
    assert_eq!(
        write(TensorSpec::new("t", DType::F32, vec![2, 3]), vec![0; 25]),
        Err(error)
    );
}

#[test]
fn misaligned_tensor() {
    let tensors = [entry("t", DType::U8, &[4], 32, 4)];
    assert_eq!(
        read(&tensors, 64),
        Err(FormatError::TensorMisaligned {
            tensor: 0,
            name: "t".into(),
            offset: 32
        })
    );
}

#[test]
fn tensor_out_of_bounds() {
    let out = |offset, len, data_len| FormatError::TensorOutOfBounds {
        tensor: 0,
        name: "t".into(),
        offset,
        len,
        data_len,
    };
    let tensors = [entry("t", DType::U8, &[5], 64, 5)];
    assert_eq!(read(&tensors, 68), Err(out(64, 5, 68)));
    let tensors = [entry("t", DType::U8, &[5], u64::MAX - 63, 5)];
    assert_eq!(read(&tensors, 68), Err(out(u64::MAX - 63, 5, 68)));
}

#[test]
fn tensors_overlap() {
    let tensors = [
        entry("a", DType::U8, &[100], 0, 100),
        entry("b", DType::U8, &[4], 64, 4),
    ];
    assert_eq!(
        read(&tensors, 128),
        Err(FormatError::TensorsOverlap {
            first: 0,
            second: 1
        })
    );
    let tensors = [
        entry("a", DType::U8, &[8], 64, 8),
        entry("b", DType::U8, &[8], 64, 8),
    ];
    assert_eq!(
        read(&tensors, 128),
        Err(FormatError::TensorsOverlap {
            first: 0,
            second: 1
        })
    );
    // Touching is not overlapping; empty tensors occupy no bytes.
    let tensors = [
        entry("a", DType::U8, &[64], 0, 64),
        entry("b", DType::U8, &[1], 64, 1),
        entry("c", DType::U8, &[0], 0, 0),
    ];
    read(&tensors, 65).unwrap();
}

#[test]
fn missing_tensor_data_section() {
    let tensors = [entry("t", DType::U8, &[0], 0, 0)];
    let bytes = assemble(&Metadata::default(), &relu_graph(), &tensors, None);
    assert_eq!(
        parse_err(&bytes),
        FormatError::MissingSection {
            kind: SectionKind::TensorData
        }
    );
}

#[test]
fn total_tensor_bytes_limit() {
    let tensors = [
        entry("a", DType::U8, &[8], 0, 8),
        entry("b", DType::U8, &[8], 64, 8),
    ];
    let bytes = assemble(
        &Metadata::default(),
        &relu_graph(),
        &tensors,
        Some(vec![0; 72]),
    );
    let limits = Limits {
        max_total_tensor_bytes: 15,
        ..Limits::default()
    };
    let options = ReadOptions {
        limits: limits.clone(),
        ..ReadOptions::default()
    };
    let error = FormatError::LimitExceeded {
        what: "total tensor bytes",
        found: 16,
        limit: 15,
    };
    assert_eq!(PnnFile::parse_with(&bytes, &options).unwrap_err(), error);

    let mut writer = PnnWriter::new(Metadata::default(), relu_graph()).with_limits(limits);
    writer.add_tensor(TensorSpec::new("a", DType::U8, vec![8]), vec![0; 8]);
    writer.add_tensor(TensorSpec::new("b", DType::U8, vec![8]), vec![0; 8]);
    assert_eq!(writer.to_bytes().unwrap_err(), error);
}

#[test]
fn quant_params() {
    let name = || "q".to_string();
    let cases: Vec<(&[u64], QuantParams, Option<FormatError>)> = vec![
        (&[4, 3], quant(None, 1, 1), None),
        (&[4, 3], quant(Some(0), 4, 4), None),
        (&[4, 3], quant(Some(1), 3, 3), None),
        (&[4, 3], quant(Some(1), 1, 1), None),
        (
            &[4, 3],
            quant(Some(0), 4, 3),
            Some(FormatError::QuantCountMismatch {
                tensor: 0,
                name: name(),
                scales: 4,
                zero_points: 3,
            }),
        ),
        (
            &[4, 3],
            quant(None, 0, 0),
            Some(FormatError::QuantCountMismatch {
                tensor: 0,
                name: name(),
                scales: 0,
                zero_points: 0,
            }),
        ),
        (
            &[4, 3],
            quant(Some(2), 1, 1),
            Some(FormatError::QuantAxisOutOfRange {
                tensor: 0,
                name: name(),
                axis: 2,
                rank: 2,
            }),
        ),
        (
            &[],
            quant(Some(0), 1, 1),
            Some(FormatError::QuantAxisOutOfRange {
                tensor: 0,
                name: name(),
                axis: 0,
                rank: 0,
            }),
        ),
        (
            &[4, 3],
            quant(Some(0), 3, 3),
            Some(FormatError::QuantChannelMismatch {
                tensor: 0,
                name: name(),
                count: 3,
                dim: Some(4),
            }),
        ),
        (
            &[4, 3],
            quant(None, 4, 4),
            Some(FormatError::QuantChannelMismatch {
                tensor: 0,
                name: name(),
                count: 4,
                dim: None,
            }),
        ),
    ];
    for (shape, q, expected) in cases {
        let len: u64 = shape.iter().product();
        let mut tensor = entry("q", DType::I8, shape, 0, len);
        tensor.quant = Some(q.clone());
        let spec = TensorSpec::new("q", DType::I8, shape.to_vec()).with_quant(q);
        assert_eq!(
            read(&[tensor], len as usize).err(),
            expected,
            "reader, {shape:?}"
        );
        assert_eq!(
            write(spec, vec![0; len as usize]).err(),
            expected,
            "writer, {shape:?}"
        );
    }
    // u32::MAX encodes "per-tensor", so only the writer can be handed it.
    let spec = TensorSpec::new("q", DType::I8, vec![2]).with_quant(quant(Some(u32::MAX), 1, 1));
    let error = FormatError::QuantAxisOutOfRange {
        tensor: 0,
        name: name(),
        axis: u32::MAX,
        rank: 1,
    };
    assert_eq!(write(spec, vec![0; 2]), Err(error));
}

#[test]
fn data_is_zero_copy_and_aligned() {
    let bytes = sample_bytes();
    let file = PnnFile::parse(&bytes).unwrap();
    for id in 0..file.model().tensors.len() as u32 {
        let data = file.tensor_data(id).unwrap();
        let range = file.tensor_range(id).unwrap();
        assert_eq!(range.start % TENSOR_ALIGN, 0);
        // The slice points into the input buffer at that range.
        assert_eq!(data.as_ptr(), bytes[range.clone()].as_ptr());
        assert_eq!(data.len(), range.len());
    }
    assert_eq!(
        file.tensor_data(0).unwrap(),
        &f32_bytes(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])[..]
    );
    assert_eq!(file.tensor_data(1).unwrap(), &[1u8, 2, 3, 4, 5, 6][..]);
    assert_eq!(file.tensor_data(2), None);
    assert_eq!(file.tensor_range(2), None);
}
