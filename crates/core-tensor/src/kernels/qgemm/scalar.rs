//! `i8-gemm-4x8-scalar`: the portable int8 micro-kernel in safe Rust (the
//! reference every SIMD kernel is tested against, and the Miri path).

use super::driver::{QMicroKernel, check_tile};
use super::{MAX_TILE, QGemmKernel, SCALAR};

const MR: usize = SCALAR.mr;
const NR: usize = SCALAR.nr;
const KG: usize = SCALAR.kg;

/// The portable kernel (needs no token).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScalarKernel;

impl QMicroKernel for ScalarKernel {
    const INFO: QGemmKernel = SCALAR;

    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]) {
        check_tile(&SCALAR, rows, depth, a, b);
        let mut acc = [[0i32; NR]; MR];
        for (a_group, b_group) in a
            .chunks_exact(MR * KG)
            .zip(b.chunks_exact(NR * KG))
            .take(depth / KG)
        {
            for (r, acc_row) in acc.iter_mut().enumerate().take(rows) {
                let a_values = &a_group[r * KG..][..KG];
                for (sum, b_values) in acc_row.iter_mut().zip(b_group.chunks_exact(KG)) {
                    for (&x, &y) in a_values.iter().zip(b_values) {
                        *sum += i32::from(x) * i32::from(y);
                    }
                }
            }
        }
        for (r, acc_row) in acc.iter().enumerate().take(rows) {
            out[r * NR..][..NR].copy_from_slice(acc_row);
        }
    }
}
