//! `f32-gemm-scalar`: the reference GEMM every SIMD variant is tested against.

use super::{Accumulate, MatMut, MatRef};

/// `C = A·B` or `C += A·B`, plain loops, f32 accumulation in k order.
pub(crate) fn gemm(a: MatRef<'_>, b: MatRef<'_>, mut c: MatMut<'_>, accumulate: Accumulate) {
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
