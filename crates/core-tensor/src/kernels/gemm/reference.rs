//! `f32-gemm-scalar`: the reference GEMM, plain loops kept deliberately
//! simple. It is the oracle every blocked kernel (including the blocked
//! scalar one, `f32-gemm-4x8-scalar`) is tested against, and shares no code
//! with them.

use super::{Accumulate, MatMut, MatRef};

/// `C = A·B` or `C += A·B`, f32 accumulation in k order, one multiply and
/// one add per step (no fused multiply-add).
pub(crate) fn f32_gemm_scalar(
    a: MatRef<'_>,
    b: MatRef<'_>,
    mut c: MatMut<'_>,
    accumulate: Accumulate,
) {
    for i in 0..c.rows() {
        let row = c.row_mut(i);
        if accumulate == Accumulate::No {
            row.fill(0.0);
        }
        for p in 0..a.cols() {
            let aip = a.at(i, p);
            for (j, out) in row.iter_mut().enumerate() {
                *out += aip * b.at(p, j);
            }
        }
    }
}
