//! Helpers shared by the `nn` operators: dtype checks, typed input and output
//! slices, session scratch memory.

use crate::error::{OpError, OpResult};
use crate::operator::InputInfo;
use crate::util;
use pocketnn_format::DType;
use pocketnn_tensor::{AlignedBuf, TensorError, TensorView, TensorViewMut};

/// Floats of scratch one im2col / col2im tile may use (512 KiB): big enough
/// for wide GEMM panels, small enough to stay in a phone's L2 cache.
pub(crate) const TILE_BUDGET: usize = 1 << 17;

/// A shape error with a reason.
pub(crate) fn shape_error(reason: impl Into<String>) -> OpError {
    OpError::ShapeMismatch {
        reason: reason.into(),
    }
}

/// Fails unless `dtype` is f32.
pub(crate) fn expect_f32(dtype: DType, index: usize) -> OpResult<()> {
    if dtype != DType::F32 {
        return Err(OpError::UnsupportedDType { index, dtype });
    }
    Ok(())
}

/// Input `index` during inference: required and f32.
pub(crate) fn f32_info<'a>(
    inputs: &[Option<InputInfo<'a>>],
    index: usize,
) -> OpResult<InputInfo<'a>> {
    let info = util::required(inputs, index)?;
    expect_f32(info.dtype, index)?;
    Ok(info)
}

/// Input `index` during inference when optional: absent, or f32.
pub(crate) fn optional_f32_info<'a>(
    inputs: &[Option<InputInfo<'a>>],
    index: usize,
) -> OpResult<Option<InputInfo<'a>>> {
    let info = util::optional(inputs, index);
    if let Some(info) = info {
        expect_f32(info.dtype, index)?;
    }
    Ok(info)
}

/// The run-time inputs as inference infos, so `run` validates them with the
/// same code as `infer`, without allocating. Fails when more than `N`
/// inputs are given.
pub(crate) fn infos_of<'a, const N: usize>(
    inputs: &[Option<TensorView<'a>>],
    expected: &'static str,
) -> OpResult<[Option<InputInfo<'a>>; N]> {
    util::check_input_count(inputs, 0, N, expected)?;
    Ok(std::array::from_fn(|i| {
        inputs.get(i).copied().flatten().map(InputInfo::from)
    }))
}

/// The elements of required f32 input `index`.
pub(crate) fn f32_input<'a>(
    inputs: &[Option<TensorView<'a>>],
    index: usize,
) -> OpResult<&'a [f32]> {
    let view = util::required(inputs, index)?;
    expect_f32(view.dtype(), index)?;
    Ok(view.as_slice::<f32>()?)
}

/// The elements of optional f32 input `index`, if given.
pub(crate) fn optional_f32_input<'a>(
    inputs: &[Option<TensorView<'a>>],
    index: usize,
) -> OpResult<Option<&'a [f32]>> {
    match util::optional(inputs, index) {
        None => Ok(None),
        Some(view) => {
            expect_f32(view.dtype(), index)?;
            Ok(Some(view.as_slice::<f32>()?))
        }
    }
}

/// Fails when the runtime passes more than `max` outputs (an output the
/// operator does not produce) or none at all.
pub(crate) fn check_output_count(actual: usize, max: usize, what: &str) -> OpResult<()> {
    if actual == 0 || actual > max {
        return Err(OpError::Unsupported {
            what: format!("{actual} outputs for {what} (it produces 1 to {max})"),
        });
    }
    Ok(())
}

/// The elements of an output, checked to hold `expected` elements of `T`.
pub(crate) fn output_slice<'s, T: pocketnn_tensor::Element>(
    output: &'s mut TensorViewMut<'_>,
    index: usize,
    expected: usize,
) -> OpResult<&'s mut [T]> {
    let data = output.as_slice_mut::<T>()?;
    if data.len() != expected {
        return Err(shape_error(format!(
            "output {index} holds {} elements, the inputs give {expected}",
            data.len()
        )));
    }
    Ok(data)
}

/// The session scratch buffer as `len` floats (contents arbitrary).
pub(crate) fn scratch_f32(buf: &mut AlignedBuf, len: usize) -> OpResult<&mut [f32]> {
    let bytes = len
        .checked_mul(std::mem::size_of::<f32>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or(OpError::TooLarge { shape: vec![len] })?;
    buf.resize(bytes);
    bytemuck::try_cast_slice_mut(buf.as_bytes_mut()).map_err(|_| {
        OpError::Tensor(TensorError::Misaligned {
            align: std::mem::align_of::<f32>(),
        })
    })
}

/// The product of `dims`, or `TooLarge`.
pub(crate) fn checked_product(dims: &[usize]) -> OpResult<usize> {
    pocketnn_tensor::num_elements(dims).ok_or_else(|| OpError::TooLarge {
        shape: dims.to_vec(),
    })
}

/// `a * b`, or `TooLarge` naming the two factors.
pub(crate) fn checked_mul(a: usize, b: usize) -> OpResult<usize> {
    a.checked_mul(b)
        .ok_or_else(|| OpError::TooLarge { shape: vec![a, b] })
}
