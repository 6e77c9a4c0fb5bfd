//! Reading and writing `.npy` files as pocketnn tensors.

use crate::error::CliError;
use npyz::{TypeChar, WriterBuilder};
use pocketnn::{DType, Tensor, TensorView, f16};
use std::io::{BufReader, BufWriter};
use std::path::Path;

fn bad(path: &Path, reason: impl Into<String>) -> CliError {
    CliError::Npy {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Reads a C-order `.npy` file of a dtype pocketnn supports.
pub fn read_npy(path: &Path) -> Result<Tensor, CliError> {
    let file = std::fs::File::open(path).map_err(|e| bad(path, e.to_string()))?;
    let npy = npyz::NpyFile::new(BufReader::new(file)).map_err(|e| bad(path, e.to_string()))?;
    if npy.order() != npyz::Order::C {
        return Err(bad(
            path,
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape: Vec<usize> = npy
        .shape()
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| bad(path, "dimension too large")))
        .collect::<Result<_, _>>()?;
    let npyz::DType::Plain(ty) = npy.dtype() else {
        return Err(bad(path, "structured arrays are not supported"));
    };
    let size = ty.size_field();
    let tensor = match (ty.type_char(), size) {
        (TypeChar::Float, 4) => Tensor::from_slice(&shape, &read_vec::<f32>(npy, path)?),
        (TypeChar::Float, 2) => Tensor::from_slice(&shape, &read_vec::<f16>(npy, path)?),
        (TypeChar::Int, 8) => Tensor::from_slice(&shape, &read_vec::<i64>(npy, path)?),
        (TypeChar::Int, 4) => Tensor::from_slice(&shape, &read_vec::<i32>(npy, path)?),
        (TypeChar::Int, 1) => Tensor::from_slice(&shape, &read_vec::<i8>(npy, path)?),
        (TypeChar::Uint, 1) => Tensor::from_slice(&shape, &read_vec::<u8>(npy, path)?),
        (TypeChar::Bool, 1) => {
            let v: Vec<u8> = read_vec::<bool>(npy, path)?
                .into_iter()
                .map(u8::from)
                .collect();
            Tensor::from_bytes(DType::Bool, &shape, &v)
        }
        (c, s) => {
            return Err(bad(
                path,
                format!(
                    "element type {}{} is not supported (use float32, float16, int64, int32, int8, uint8 or bool)",
                    c.to_str(),
                    s
                ),
            ));
        }
    };
    tensor.map_err(|e| bad(path, e.to_string()))
}

fn read_vec<T: npyz::Deserialize>(
    npy: npyz::NpyFile<BufReader<std::fs::File>>,
    path: &Path,
) -> Result<Vec<T>, CliError> {
    npy.into_vec::<T>().map_err(|e| bad(path, e.to_string()))
}

/// Writes a tensor as a C-order `.npy` file.
pub fn write_npy(path: &Path, view: &TensorView<'_>) -> Result<(), CliError> {
    let shape: Vec<u64> = view.shape().iter().map(|&d| d as u64).collect();
    let file = std::fs::File::create(path).map_err(|e| bad(path, e.to_string()))?;
    let writer = BufWriter::new(file);
    let io = |e: std::io::Error| bad(path, e.to_string());
    macro_rules! write_as {
        ($t:ty, $data:expr) => {{
            let mut w = npyz::WriteOptions::<$t>::new()
                .default_dtype()
                .shape(&shape)
                .writer(writer)
                .begin_nd()
                .map_err(io)?;
            w.extend($data).map_err(io)?;
            w.finish().map_err(io)
        }};
    }
    let typed = |e: pocketnn::tensor::TensorError| bad(path, e.to_string());
    match view.dtype() {
        DType::F32 => write_as!(f32, view.as_slice::<f32>().map_err(typed)?.iter().copied()),
        DType::F16 => write_as!(f16, view.as_slice::<f16>().map_err(typed)?.iter().copied()),
        DType::I64 => write_as!(i64, view.as_slice::<i64>().map_err(typed)?.iter().copied()),
        DType::I32 => write_as!(i32, view.as_slice::<i32>().map_err(typed)?.iter().copied()),
        DType::I8 => write_as!(i8, view.as_slice::<i8>().map_err(typed)?.iter().copied()),
        DType::U8 => write_as!(u8, view.as_slice::<u8>().map_err(typed)?.iter().copied()),
        DType::Bool => write_as!(bool, view.bytes().iter().map(|&b| b != 0)),
    }
}
