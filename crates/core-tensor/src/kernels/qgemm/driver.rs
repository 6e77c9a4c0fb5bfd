//! The int8 GEMM loop: pack a block of A rows, run the micro-kernel over
//! every (A tile, B panel) pair into an i32 tile in registers' reach, then
//! correct for zero points and apply the epilogue while the tile is hot.

use super::epilogue::{Dequantize, Requantize};
use super::pack::{PackedI8B, U8Matrix, pack_a};
use super::{MAX_TILE, QGemmKernel, check_available, scalar};
use crate::error::TensorError;
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
use crate::features::Feature;
use crate::isa::Isa;
use std::cell::RefCell;

/// One int8 micro-kernel.
///
/// Contract of [`QMicroKernel::tile`] (checked by [`check_tile`]):
/// `1 <= rows <= MR`; `depth` is a multiple of `KG`; `a` holds an A tile of
/// at least `MR · depth` bytes (`[depth / KG][MR][KG]`) and `b` a B panel
/// of at least `NR · depth` values (`[depth / KG][NR][KG]`). The kernel
/// writes `out[r · NR + j] = Σ_p a(r, p) · b(p, j)` for `r < rows`,
/// `j < NR`, reading A as i8 when the kernel is signed.
pub(crate) trait QMicroKernel: Copy {
    /// The kernel's description.
    const INFO: QGemmKernel;

    /// Computes one tile of sums.
    fn tile(self, rows: usize, depth: usize, a: &[u8], b: &[i8], out: &mut [i32; MAX_TILE]);
}

/// Asserts the [`QMicroKernel::tile`] contract (SIMD kernels call this
/// before reading through raw pointers).
#[inline(always)]
pub(crate) fn check_tile(info: &QGemmKernel, rows: usize, depth: usize, a: &[u8], b: &[i8]) {
    assert!(rows >= 1 && rows <= info.mr, "tile rows out of range");
    assert!(depth.is_multiple_of(info.kg), "depth not a multiple of KG");
    assert!(a.len() >= info.mr * depth, "short A tile");
    assert!(b.len() >= info.nr * depth, "short B panel");
    assert!(info.mr * info.nr <= MAX_TILE, "tile larger than MAX_TILE");
}

/// Zero points of the u8 activations.
#[derive(Clone, Copy, Debug)]
pub enum ZeroPoints<'a> {
    /// One zero point for the whole matrix.
    PerTensor(u8),
    /// One zero point per row (dynamic per-row quantization).
    PerRow(&'a [u8]),
}

/// Where the product goes, and in which form.
#[derive(Debug)]
pub enum QOutput<'a> {
    /// The exact sums `Σ (a - za)(b - zb)`.
    I32 {
        /// Row-major output, rows `row_stride` apart.
        c: &'a mut [i32],
        /// Distance between rows (`>= n`).
        row_stride: usize,
    },
    /// Requantized u8 values.
    U8 {
        /// Row-major output, rows `row_stride` apart.
        c: &'a mut [u8],
        /// Distance between rows (`>= n`).
        row_stride: usize,
        /// Multipliers, bias, output zero point and clamp.
        requantize: &'a Requantize,
    },
    /// Dequantized f32 values.
    F32 {
        /// Row-major output, rows `row_stride` apart.
        c: &'a mut [f32],
        /// Distance between rows (`>= n`).
        row_stride: usize,
        /// Scales and bias.
        dequantize: &'a Dequantize,
    },
}

impl QOutput<'_> {
    fn check(&self, m: usize, n: usize) -> Result<(), TensorError> {
        let (len, row_stride) = match self {
            QOutput::I32 { c, row_stride } => (c.len(), *row_stride),
            QOutput::U8 {
                c,
                row_stride,
                requantize,
            } => {
                requantize.check(n)?;
                (c.len(), *row_stride)
            }
            QOutput::F32 {
                c,
                row_stride,
                dequantize,
            } => {
                dequantize.check(m, n)?;
                (c.len(), *row_stride)
            }
        };
        if m == 0 || n == 0 {
            return Ok(());
        }
        let needed = (m - 1)
            .checked_mul(row_stride)
            .and_then(|x| x.checked_add(n));
        match needed {
            Some(needed) if row_stride >= n && needed <= len => Ok(()),
            _ => Err(TensorError::MatMulShapeMismatch {
                a: (m, 0),
                b: (0, n),
                c: (len / row_stride.max(1), row_stride),
            }),
        }
    }

    /// Writes a tile of corrected sums, rows `row0..` and columns
    /// `col0..col0 + cols`: row `r` of `sums` starts at `r · stride`. One
    /// SIMD dispatch per tile for the requantization, not one per row.
    /// With `offsets` (u8 output only) the sums are uncorrected and the
    /// requantization adds `offsets[c]` instead of the bias.
    #[inline]
    fn store_tile(
        &mut self,
        isa: Isa,
        (row0, col0): (usize, usize),
        (sums, stride): (&[i32], usize),
        cols: usize,
        offsets: Option<&[i64]>,
    ) {
        match self {
            QOutput::U8 {
                c,
                row_stride,
                requantize,
            } => {
                let out = &mut c[row0 * *row_stride + col0..];
                let tile = (sums, stride);
                requantize.apply_tile_on(isa, tile, (col0, cols), (out, *row_stride), offsets);
            }
            _ => {
                for (r, row) in sums.chunks(stride).enumerate() {
                    self.store_row(isa, row0 + r, col0, &row[..cols]);
                }
            }
        }
    }

    /// Writes the corrected sums of row `i` from column `col0` on; the
    /// epilogue arithmetic is compiled for `isa` (the kernel's tier).
    #[inline]
    fn store_row(&mut self, isa: Isa, i: usize, col0: usize, sums: &[i32]) {
        match self {
            QOutput::I32 { c, row_stride } => {
                c[i * *row_stride + col0..][..sums.len()].copy_from_slice(sums);
            }
            QOutput::U8 {
                c,
                row_stride,
                requantize,
            } => {
                let row = &mut c[i * *row_stride + col0..][..sums.len()];
                requantize.apply_row_on(isa, sums, col0, row);
            }
            QOutput::F32 {
                c,
                row_stride,
                dequantize,
            } => {
                let row = &mut c[i * *row_stride + col0..][..sums.len()];
                dequantize.apply_row(sums, i, col0, row);
            }
        }
    }
}

/// `C = (A - za) · (B - zb)`, written as `out` asks, with `kernel`.
///
/// `a` is `m × k` u8, `b` the `k × n` weights packed for `kernel`, `b_zero`
/// the weights' zero points (empty for symmetric weights, else one or one
/// per column). Fails when the CPU lacks the kernel, when `b` was packed for
/// another kernel, and when shapes, zero points or output parameters do not
/// fit — never reads or writes out of bounds.
pub fn gemm_u8i8(
    kernel: &QGemmKernel,
    a: U8Matrix<'_>,
    a_zero: ZeroPoints<'_>,
    b: &PackedI8B,
    b_zero: &[i8],
    mut out: QOutput<'_>,
) -> Result<(), TensorError> {
    check_available(kernel)?;
    if b.kernel_name() != kernel.name {
        return Err(TensorError::PackedKernelMismatch {
            kernel: kernel.name,
            packed_for: b.kernel_name(),
        });
    }
    let (m, k, n) = (a.rows(), a.cols(), b.n());
    if k != b.k() {
        return Err(TensorError::MatMulShapeMismatch {
            a: (m, k),
            b: (b.k(), n),
            c: (m, n),
        });
    }
    let bad_len = |what: &str, len: usize, count: usize| TensorError::InvalidQuantization {
        reason: format!("{len} {what} zero points for {count} rows or columns"),
    };
    if let ZeroPoints::PerRow(z) = a_zero
        && z.len() != m
    {
        return Err(bad_len("activation", z.len(), m));
    }
    if !(b_zero.is_empty() || b_zero.len() == 1 || b_zero.len() == n) {
        return Err(bad_len("weight", b_zero.len(), n));
    }
    out.check(m, n)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    match (kernel.isa, kernel.feature) {
        (Isa::Scalar, None) => run(scalar::ScalarKernel, a, a_zero, b, b_zero, &mut out),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, None) => {
            let token = crate::isa::Avx2Token::new().ok_or(unavailable(kernel))?;
            run(
                super::avx2::Avx2Kernel(token),
                a,
                a_zero,
                b,
                b_zero,
                &mut out,
            );
        }
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, Some(Feature::Avx512Vnni)) => {
            let kernel = super::avx512vnni::Avx512VnniKernel::new().ok_or(unavailable(kernel))?;
            run(kernel, a, a_zero, b, b_zero, &mut out);
        }
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, None) => {
            let token = crate::isa::NeonToken::new().ok_or(unavailable(kernel))?;
            run(
                super::neon::NeonKernel(token),
                a,
                a_zero,
                b,
                b_zero,
                &mut out,
            );
        }
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, Some(Feature::DotProd)) => {
            let kernel = super::neon_dot::DotProdKernel::new().ok_or(unavailable(kernel))?;
            run(kernel, a, a_zero, b, b_zero, &mut out);
        }
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, Some(Feature::I8mm)) => {
            let kernel = super::neon_i8mm::I8mmKernel::new().ok_or(unavailable(kernel))?;
            run(kernel, a, a_zero, b, b_zero, &mut out);
        }
        _ => return Err(unavailable(kernel)),
    }
    Ok(())
}

fn unavailable(kernel: &QGemmKernel) -> TensorError {
    TensorError::KernelUnavailable {
        kernel: kernel.name,
    }
}

thread_local! {
    /// The packed A block, reused across calls on one thread.
    static PACKED_A: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Rows of A packed and processed per block (a multiple of every `MR`).
const BLOCK_ROWS: usize = 96;

fn run<K: QMicroKernel>(
    kernel: K,
    a: U8Matrix<'_>,
    a_zero: ZeroPoints<'_>,
    b: &PackedI8B,
    b_zero: &[i8],
    out: &mut QOutput<'_>,
) {
    PACKED_A.with(|cell| match cell.try_borrow_mut() {
        Ok(mut packed) => run_with(kernel, a, a_zero, b, b_zero, out, &mut packed),
        Err(_) => run_with(kernel, a, a_zero, b, b_zero, out, &mut Vec::new()),
    });
}

fn run_with<K: QMicroKernel>(
    kernel: K,
    a: U8Matrix<'_>,
    a_zero: ZeroPoints<'_>,
    b: &PackedI8B,
    b_zero: &[i8],
    out: &mut QOutput<'_>,
    packed_a: &mut Vec<u8>,
) {
    let info = K::INFO;
    let (m, k, n) = (a.rows(), a.cols(), b.n());
    let depth = b.padded_depth();
    // Signed kernels read a - 128: add 128 · colsum back through za.
    let a_offset = if info.a_signed { 128 } else { 0 };
    let mut tile = [0i32; MAX_TILE];
    if depth == 0 {
        // An empty sum: every output is the epilogue of zero.
        let zeros = vec![0i32; n];
        for i in 0..m {
            out.store_row(K::INFO.isa, i, 0, &zeros);
        }
        return;
    }
    let has_b_zero = b_zero.iter().any(|&z| z != 0);
    // A u8 output with one activation zero point and symmetric weights:
    // the zero-point correction `za · colsum[j]` and the bias become one
    // exact i64 term per column, which the requantization adds itself.
    let fused_offsets: Option<Vec<i64>> = match (&*out, a_zero, has_b_zero) {
        (QOutput::U8 { requantize, .. }, ZeroPoints::PerTensor(z), false) => {
            let za = i64::from(z) - a_offset;
            let col_sums = b.col_sums().iter().enumerate();
            Some(
                col_sums
                    .map(|(j, &s)| requantize.bias_at(j) - za * i64::from(s))
                    .collect(),
            )
        }
        _ => None,
    };
    // Otherwise, with one activation zero point, `za · colsum[j]` is the
    // same for every row: computed once here, not per tile row.
    let column_offsets: Option<Vec<i32>> = match (a_zero, &fused_offsets) {
        (ZeroPoints::PerTensor(z), None) => {
            let za = (i64::from(z) - a_offset) as i32;
            Some(b.col_sums().iter().map(|&s| za.wrapping_mul(s)).collect())
        }
        _ => None,
    };
    for block in (0..m).step_by(BLOCK_ROWS) {
        let rows = block..m.min(block + BLOCK_ROWS);
        pack_a(&info, &a, rows.clone(), depth, packed_a);
        // Σ_p (a - za) per row, needed only with weight zero points.
        let centred_row_sums: Vec<i32> = rows
            .clone()
            .map(|i| {
                if has_b_zero {
                    (a.row_sum(i) - k as i64 * zero_point(a_zero, i)) as i32
                } else {
                    0
                }
            })
            .collect();
        for (panel_index, col0) in (0..n).step_by(info.nr).enumerate() {
            let panel = b.panel(panel_index);
            let cols = info.nr.min(n - col0);
            for (tile_index, a_tile) in packed_a.chunks_exact(info.mr * depth).enumerate() {
                let row0 = rows.start + tile_index * info.mr;
                let tile_rows = info.mr.min(rows.end - row0);
                kernel.tile(tile_rows, depth, a_tile, panel, &mut tile);
                if let Some(offsets) = &fused_offsets {
                    let sums = (&tile[..tile_rows * info.nr], info.nr);
                    let offsets = Some(&offsets[col0..col0 + cols]);
                    out.store_tile(K::INFO.isa, (row0, col0), sums, cols, offsets);
                    continue;
                }
                for r in 0..tile_rows {
                    let i = row0 + r;
                    // In i32 with wrapping: the exact result fits in i32
                    // (see MAX_DEPTH), so arithmetic modulo 2^32 gives it.
                    let row_sum = centred_row_sums[i - rows.start];
                    let sums = &mut tile[r * info.nr..][..cols];
                    match &column_offsets {
                        Some(offsets) => {
                            for (sum, &offset) in sums.iter_mut().zip(&offsets[col0..]) {
                                *sum = sum.wrapping_sub(offset);
                            }
                        }
                        None => {
                            let za = (zero_point(a_zero, i) - a_offset) as i32;
                            for (sum, &col_sum) in sums.iter_mut().zip(&b.col_sums()[col0..]) {
                                *sum = sum.wrapping_sub(za.wrapping_mul(col_sum));
                            }
                        }
                    }
                    if has_b_zero {
                        for (c, sum) in sums.iter_mut().enumerate() {
                            let zb = i32::from(b_zero.get(col0 + c).copied().unwrap_or(b_zero[0]));
                            *sum = sum.wrapping_sub(zb.wrapping_mul(row_sum));
                        }
                    }
                }
                let sums = &tile[..tile_rows * info.nr];
                out.store_tile(K::INFO.isa, (row0, col0), (sums, info.nr), cols, None);
            }
        }
    }
}

/// The activation zero point of row `i`.
#[inline]
fn zero_point(a_zero: ZeroPoints<'_>, i: usize) -> i64 {
    i64::from(match a_zero {
        ZeroPoints::PerTensor(z) => z,
        ZeroPoints::PerRow(z) => z[i],
    })
}
