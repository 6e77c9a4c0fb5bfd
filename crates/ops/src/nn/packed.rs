//! The `B` operand of a Gemm or MatMul, which the model may store
//! pre-packed for the GEMM (`docs/format.md`, layout `PackedGemmB`).
//!
//! A packed weight whose panel width is the session tier's is used in
//! place (zero-copy from the model file). One packed for another tier
//! still works: it is unpacked for the call (a slow path, never wrong).
//! An f16 weight (`--quantize fp16`) is handed to the GEMM as is, which
//! widens it while packing.

use crate::error::OpResult;
use crate::operator::RunContext;
use crate::util;
use pocketnn_tensor::kernels::gemm::{
    GemmB, GemmOptions, MatMut, MatRef, PackedBRef, f32_gemm_kernel, gemm_f32_with,
};
use pocketnn_tensor::{TensorView, f16};

use super::common::shape_error;
use super::weight::{Weight, expect_weight, weight_of};

/// Where the `B` operand's values are.
#[derive(Debug)]
pub(crate) enum BSource<'a> {
    /// Row-major or transposed strided values.
    Strided(MatRef<'a>),
    /// Packed panels the session's kernel reads.
    Packed(PackedBRef<'a>),
    /// Packed for another tier: unpacked row-major `k × n` for this call.
    Unpacked(Vec<f32>, usize, usize),
    /// Half floats (an f16 weight), widened by the GEMM while it packs.
    StridedF16(MatRef<'a, f16>),
}

impl BSource<'_> {
    /// `C = options(A · B)`.
    pub(crate) fn run(
        &self,
        ctx: &RunContext<'_>,
        a: MatRef<'_>,
        c: MatMut<'_>,
        options: &GemmOptions<'_>,
    ) -> OpResult<()> {
        let b = match self {
            BSource::Strided(b) => GemmB::Strided(*b),
            BSource::Packed(b) => GemmB::Packed(*b),
            BSource::Unpacked(values, k, n) => GemmB::Strided(MatRef::row_major(values, *k, *n)?),
            BSource::StridedF16(b) => GemmB::StridedF16(*b),
        };
        gemm_f32_with(ctx.isa, a, b, c, options)?;
        Ok(())
    }
}

/// Input `index` as the `k × n` operand `B`: the tensor itself, or its
/// transpose when `transposed` (a Gemm `transB` weight `[n, k]`).
pub(crate) fn b_operand<'a>(
    ctx: &RunContext<'_>,
    view: TensorView<'a>,
    index: usize,
    (k, n): (usize, usize),
    transposed: bool,
) -> OpResult<BSource<'a>> {
    expect_weight(view.dtype(), index)?;
    if let Some((packed, packed_transposed)) = view.as_packed_b() {
        let layout = packed.layout();
        if packed_transposed != transposed || (layout.k, layout.n) != (k, n) {
            return Err(shape_error(format!(
                "input {index} is packed as a {}×{} B{}, the product needs {k}×{n}{}",
                layout.k,
                layout.n,
                if packed_transposed {
                    " (transposed)"
                } else {
                    ""
                },
                if transposed { " (transposed)" } else { "" },
            )));
        }
        if layout.nr == f32_gemm_kernel(ctx.isa).nr {
            return Ok(BSource::Packed(packed));
        }
        return Ok(BSource::Unpacked(packed.to_row_major(false), k, n));
    }
    let (rows, cols) = if transposed { (n, k) } else { (k, n) };
    Ok(match weight_of(&view, index)? {
        Weight::F32(values) => {
            let b = MatRef::row_major(values, rows, cols)?;
            BSource::Strided(if transposed { b.t() } else { b })
        }
        Weight::F16(values) => {
            let b = MatRef::row_major(values, rows, cols)?;
            BSource::StridedF16(if transposed { b.t() } else { b })
        }
    })
}

/// The view of required input `index`.
pub(crate) fn input_view<'a>(
    inputs: &[Option<TensorView<'a>>],
    index: usize,
) -> OpResult<TensorView<'a>> {
    util::required(inputs, index)
}
