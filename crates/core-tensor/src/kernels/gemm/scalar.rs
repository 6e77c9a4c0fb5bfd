//! `f32-gemm-4x8-scalar`: the blocked GEMM's portable micro-kernel, in
//! plain safe Rust (the Miri path, and the fallback on any CPU).

use super::blocked::{ATile, MAX_TILE, MicroKernel, check_dot_contract, check_tile_contract};
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

    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
        check_dot_contract(a, w, w_row_stride, c);
        f32_gemv_t_scalar(a, w, w_row_stride, c, overwrite);
    }

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

/// `f32-gemv-t-scalar`: `c[j] (+)= a · w[j·w_row_stride ..][..a.len()]`,
/// with eight independent partial sums per dot product (which the compiler
/// can keep in one or two vector registers).
fn f32_gemv_t_scalar(a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool) {
    const LANES: usize = 8;
    let k = a.len();
    for (j, out) in c.iter_mut().enumerate() {
        let row = &w[j * w_row_stride..][..k];
        let mut lanes = [0.0f32; LANES];
        for (a_chunk, w_chunk) in a.chunks_exact(LANES).zip(row.chunks_exact(LANES)) {
            for ((lane, &x), &y) in lanes.iter_mut().zip(a_chunk).zip(w_chunk) {
                *lane += x * y;
            }
        }
        let body = k - k % LANES;
        let tail: f32 = a[body..]
            .iter()
            .zip(&row[body..])
            .map(|(&x, &y)| x * y)
            .sum();
        let sum = lanes.iter().sum::<f32>() + tail;
        *out = if overwrite { sum } else { *out + sum };
    }
}
