//! Weight inputs of `Conv`, `ConvTranspose`, `Gemm` and `MatMul`: f32, or
//! f16 in a model converted with `--quantize fp16` (`docs/kernels.md`,
//! "fp16 weights").
//!
//! The arithmetic is always f32. A `Gemm`/`MatMul` f16 `B` goes to the GEMM
//! as is: it is widened while packed, block by block, so no f32 copy of the
//! weight exists. A convolution's weight is the GEMM's `A` (or the direct
//! depthwise loops' filter): it is widened whole, once per run, into a
//! buffer that lives for the call (the size of that one layer's weight in
//! f32; the other layers stay f16).

use super::common::expect_f32;
use crate::error::{OpError, OpResult};
use crate::operator::InputInfo;
use crate::util;
use pocketnn_format::DType;
use pocketnn_tensor::kernels::widen::widen_f16;
use pocketnn_tensor::{Isa, TensorView, f16};
use std::borrow::Cow;

/// A weight's values.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Weight<'a> {
    /// f32 values.
    F32(&'a [f32]),
    /// Half floats, computed in f32.
    F16(&'a [f16]),
}

/// Fails unless `dtype` is f32 or f16 (a weight input).
pub(crate) fn expect_weight(dtype: DType, index: usize) -> OpResult<()> {
    if dtype == DType::F16 {
        return Ok(());
    }
    expect_f32(dtype, index)
}

/// Weight input `index` during inference: required, f32 or f16.
pub(crate) fn weight_info<'a>(
    inputs: &[Option<InputInfo<'a>>],
    index: usize,
) -> OpResult<InputInfo<'a>> {
    let info = util::required(inputs, index)?;
    expect_weight(info.dtype, index)?;
    Ok(info)
}

/// The values of a weight view.
pub(crate) fn weight_of<'a>(view: &TensorView<'a>, index: usize) -> OpResult<Weight<'a>> {
    match view.dtype() {
        DType::F16 => Ok(Weight::F16(view.as_slice::<f16>()?)),
        other => {
            expect_f32(other, index)?;
            Ok(Weight::F32(view.as_slice::<f32>()?))
        }
    }
}

/// The values of required weight input `index`.
pub(crate) fn weight_input<'a>(
    inputs: &[Option<TensorView<'a>>],
    index: usize,
) -> OpResult<Weight<'a>> {
    weight_of(&util::required(inputs, index)?, index)
}

impl<'a> Weight<'a> {
    /// The values as f32: borrowed, or widened into a new buffer with the
    /// `f16-f32-vcvt` kernel of `isa` (exact).
    pub(crate) fn to_f32(self, isa: Isa) -> OpResult<Cow<'a, [f32]>> {
        match self {
            Weight::F32(w) => Ok(Cow::Borrowed(w)),
            Weight::F16(w) => {
                let mut wide = Vec::new();
                wide.try_reserve_exact(w.len())
                    .map_err(|_| OpError::TooLarge {
                        shape: vec![w.len()],
                    })?;
                wide.resize(w.len(), 0.0);
                widen_f16(isa, w, &mut wide)?;
                Ok(Cow::Owned(wide))
            }
        }
    }
}
