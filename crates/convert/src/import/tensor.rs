//! ONNX `TensorProto` → [`Tensor`]: raw little-endian data or the typed
//! `*_data` fields, for the element types pocketnn supports.

use crate::error::ConvertError;
use crate::onnx::proto::{TensorProto, tensor_proto};
use pocketnn_format::DType;
use pocketnn_tensor::{Element, Tensor, f16};

/// The pocketnn dtype for an ONNX element type code, or the error naming
/// `tensor` and the ONNX type.
pub(crate) fn dtype_from_onnx(code: i32, tensor: &str) -> Result<DType, ConvertError> {
    let supported = match tensor_proto::DataType::try_from(code) {
        Ok(tensor_proto::DataType::Float) => Some(DType::F32),
        Ok(tensor_proto::DataType::Float16) => Some(DType::F16),
        Ok(tensor_proto::DataType::Int8) => Some(DType::I8),
        Ok(tensor_proto::DataType::Uint8) => Some(DType::U8),
        Ok(tensor_proto::DataType::Int32) => Some(DType::I32),
        Ok(tensor_proto::DataType::Int64) => Some(DType::I64),
        Ok(tensor_proto::DataType::Bool) => Some(DType::Bool),
        _ => None,
    };
    supported.ok_or_else(|| ConvertError::UnsupportedDType {
        tensor: tensor.to_string(),
        dtype: onnx_type_name(code),
    })
}

/// ONNX's name of an element type code (`DOUBLE`, `INT16` ...).
pub(crate) fn onnx_type_name(code: i32) -> String {
    tensor_proto::DataType::try_from(code)
        .map(|d| d.as_str_name().to_string())
        .unwrap_or_else(|_| format!("code {code}"))
}

fn invalid(tensor: &str, reason: impl Into<String>) -> ConvertError {
    ConvertError::InvalidTensor {
        tensor: tensor.to_string(),
        reason: reason.into(),
    }
}

/// Converts a `TensorProto`; `name` is used in errors when the proto has none.
pub(crate) fn tensor_from_proto(proto: &TensorProto, name: &str) -> Result<Tensor, ConvertError> {
    let name = match proto.name.as_deref() {
        Some(n) if !n.is_empty() => n,
        _ => name,
    };
    if proto.data_location() == tensor_proto::DataLocation::External
        || !proto.external_data.is_empty()
    {
        return Err(ConvertError::ExternalData {
            tensor: name.to_string(),
        });
    }
    if proto.segment.is_some() {
        return Err(invalid(name, "segmented tensors are not supported"));
    }
    let dtype = dtype_from_onnx(proto.data_type.unwrap_or(0), name)?;
    let shape = proto
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| invalid(name, format!("negative dim {d}"))))
        .collect::<Result<Vec<usize>, _>>()?;
    let count = pocketnn_tensor::num_elements(&shape)
        .ok_or_else(|| invalid(name, format!("shape {shape:?} is too large")))?;

    if let Some(raw) = proto.raw_data.as_deref() {
        return from_raw(dtype, &shape, count, raw, name);
    }
    let check = |len: usize| {
        if len == count {
            Ok(())
        } else {
            Err(invalid(
                name,
                format!("shape {shape:?} has {count} elements but the data holds {len}"),
            ))
        }
    };
    let tensor = match dtype {
        DType::F32 => {
            check(proto.float_data.len())?;
            Tensor::from_slice(&shape, &proto.float_data)
        }
        DType::I64 => {
            check(proto.int64_data.len())?;
            Tensor::from_slice(&shape, &proto.int64_data)
        }
        DType::I32 => {
            check(proto.int32_data.len())?;
            Tensor::from_slice(&shape, &proto.int32_data)
        }
        DType::F16 => {
            check(proto.int32_data.len())?;
            let data = narrow::<u16>(&proto.int32_data, name)?;
            let data: Vec<f16> = data.into_iter().map(f16::from_bits).collect();
            Tensor::from_slice(&shape, &data)
        }
        DType::I8 => {
            check(proto.int32_data.len())?;
            Tensor::from_slice(&shape, &narrow::<i8>(&proto.int32_data, name)?)
        }
        DType::U8 => {
            check(proto.int32_data.len())?;
            Tensor::from_slice(&shape, &narrow::<u8>(&proto.int32_data, name)?)
        }
        DType::Bool => {
            check(proto.int32_data.len())?;
            let data: Vec<u8> = proto.int32_data.iter().map(|&v| u8::from(v != 0)).collect();
            Tensor::from_bytes(DType::Bool, &shape, &data)
        }
    };
    tensor.map_err(|source| ConvertError::Tensor {
        tensor: name.to_string(),
        source,
    })
}

/// Narrows ONNX's `int32_data` (which holds every small integer type) to `T`.
fn narrow<T: TryFrom<i32>>(data: &[i32], name: &str) -> Result<Vec<T>, ConvertError> {
    data.iter()
        .map(|&v| T::try_from(v).map_err(|_| invalid(name, format!("value {v} is out of range"))))
        .collect()
}

/// Decodes `raw_data` (little-endian, as ONNX specifies) into a tensor.
fn from_raw(
    dtype: DType,
    shape: &[usize],
    count: usize,
    raw: &[u8],
    name: &str,
) -> Result<Tensor, ConvertError> {
    let expected = count.checked_mul(dtype.size());
    if expected != Some(raw.len()) {
        return Err(invalid(
            name,
            format!(
                "shape {shape:?} of {dtype} needs {} bytes but raw_data holds {}",
                expected.map_or_else(|| "too many".to_string(), |e| e.to_string()),
                raw.len()
            ),
        ));
    }
    let tensor = match dtype {
        DType::F32 => decode_le::<f32, 4>(shape, raw, f32::from_le_bytes),
        DType::F16 => decode_le::<f16, 2>(shape, raw, |b| f16::from_bits(u16::from_le_bytes(b))),
        DType::I32 => decode_le::<i32, 4>(shape, raw, i32::from_le_bytes),
        DType::I64 => decode_le::<i64, 8>(shape, raw, i64::from_le_bytes),
        DType::I8 | DType::U8 => Tensor::from_bytes(dtype, shape, raw),
        DType::Bool => {
            let data: Vec<u8> = raw.iter().map(|&v| u8::from(v != 0)).collect();
            Tensor::from_bytes(DType::Bool, shape, &data)
        }
    };
    tensor.map_err(|source| ConvertError::Tensor {
        tensor: name.to_string(),
        source,
    })
}

fn decode_le<T: Element, const N: usize>(
    shape: &[usize],
    raw: &[u8],
    convert: impl Fn([u8; N]) -> T,
) -> Result<Tensor, pocketnn_tensor::TensorError> {
    let data: Vec<T> = raw
        .chunks_exact(N)
        .map(|chunk| {
            let mut bytes = [0u8; N];
            bytes.copy_from_slice(chunk);
            convert(bytes)
        })
        .collect();
    Tensor::from_slice(shape, &data)
}

#[cfg(test)]
mod tests;
