//! `f32-gemm-4x8-scalar`: the blocked GEMM's portable micro-kernel, in
//! plain safe Rust (the Miri path, and the fallback on any CPU).

use super::blocked::{ATile, MAX_TILE, MicroKernel, check_tile_contract};
use super::{GemmKernel, f32_gemm_kernel};
use crate::isa::Isa;

const INFO: GemmKernel = f32_gemm_kernel(Isa::Scalar);
const MR: usize = INFO.mr;
const NR: usize = INFO.nr;
const _: () =
    assert!(MR * NR <= MAX_TILE && INFO.mc.is_multiple_of(MR) && INFO.nc.is_multiple_of(NR));

/// The portable micro-kernel (needs no token).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScalarKernel;

impl MicroKernel for ScalarKernel {
    const MR: usize = MR;
    const NR: usize = NR;

    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: ATile<'_>,
        b: &[f32],
        c: &mut [f32],
        c_row_stride: usize,
        overwrite: bool,
    ) {
        let (a, a_row_stride) = check_tile_contract((MR, NR), rows, kc, a, b, c, c_row_stride);
        let tile = match rows {
            1 => f32_gemm_4x8_scalar::<1>,
            2 => f32_gemm_4x8_scalar::<2>,
            3 => f32_gemm_4x8_scalar::<3>,
            _ => f32_gemm_4x8_scalar::<4>,
        };
        tile(kc, a, a_row_stride, b, c, c_row_stride, overwrite);
    }
}

/// `C[0..ROWS, 0..NR] (+)= A tile · B panel`, slices as checked by
/// [`check_tile_contract`]; A is a packed panel when `a_row_stride` is
/// `None`, else rows of A that far apart.
fn f32_gemm_4x8_scalar<const ROWS: usize>(
    kc: usize,
    a: &[f32],
    a_row_stride: Option<usize>,
    b: &[f32],
    c: &mut [f32],
    c_row_stride: usize,
    overwrite: bool,
) {
    let mut acc = [[0.0f32; NR]; ROWS];
    for (p, b_row) in b.chunks_exact(NR).take(kc).enumerate() {
        let Ok(b_row) = <&[f32; NR]>::try_from(b_row) else {
            continue; // chunks_exact(NR) always yields NR values
        };
        for (r, acc_row) in acc.iter_mut().enumerate() {
            let a_value = match a_row_stride {
                None => a[p * MR + r],
                Some(row_stride) => a[r * row_stride + p],
            };
            for (sum, &b_value) in acc_row.iter_mut().zip(b_row) {
                *sum += a_value * b_value;
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let out = &mut c[r * c_row_stride..][..NR];
        if overwrite {
            out.copy_from_slice(acc_row);
        } else {
            for (o, &v) in out.iter_mut().zip(acc_row) {
                *o += v;
            }
        }
    }
}
