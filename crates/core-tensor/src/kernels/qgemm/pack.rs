//! Operands of the int8 GEMM: the u8 activation matrix, the pre-packed i8
//! weights, and the packing of activation tiles.

use super::{MAX_DEPTH, QGemmKernel, check_known};
use crate::error::TensorError;

/// A u8 matrix: `rows × cols` values, element `(r, c)` at `r · row_stride +
/// c · col_stride`, with one of the two strides 1 (row-major or
/// column-major). Construction checks that every element lies inside the
/// slice.
#[derive(Clone, Copy, Debug)]
pub struct U8Matrix<'a> {
    data: &'a [u8],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

impl<'a> U8Matrix<'a> {
    /// A row-major matrix whose rows are `row_stride` apart (`row_stride >=
    /// cols`).
    pub fn new(
        data: &'a [u8],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<Self, TensorError> {
        Self::checked(data, (rows, cols), (row_stride, 1))
    }

    /// A dense row-major matrix.
    pub fn row_major(data: &'a [u8], rows: usize, cols: usize) -> Result<Self, TensorError> {
        Self::new(data, rows, cols, cols)
    }

    /// A column-major matrix whose columns are `col_stride` apart
    /// (`col_stride >= rows`): column `c` is `data[c · col_stride..][..rows]`.
    /// An NCHW activation is one, with the pixels as rows and the channels
    /// as columns; the GEMM packs it without a separate transpose.
    pub fn column_major(
        data: &'a [u8],
        rows: usize,
        cols: usize,
        col_stride: usize,
    ) -> Result<Self, TensorError> {
        Self::checked(data, (rows, cols), (1, col_stride))
    }

    fn checked(
        data: &'a [u8],
        (rows, cols): (usize, usize),
        (row_stride, col_stride): (usize, usize),
    ) -> Result<Self, TensorError> {
        let shape_error = || TensorError::ShapeOverflow {
            shape: vec![rows, cols, row_stride.max(col_stride)],
        };
        if rows > 0 && cols > 0 {
            // The far corner, and strides that keep rows (or columns) apart.
            let needed = (rows - 1)
                .checked_mul(row_stride)
                .zip((cols - 1).checked_mul(col_stride))
                .and_then(|(r, c)| r.checked_add(c)?.checked_add(1))
                .ok_or_else(shape_error)?;
            let apart =
                (col_stride == 1 && row_stride >= cols) || (row_stride == 1 && col_stride >= rows);
            if !apart || needed > data.len() {
                return Err(TensorError::LengthMismatch {
                    expected: needed.max(rows.saturating_mul(cols)),
                    actual: data.len(),
                });
            }
        }
        Ok(U8Matrix {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// `Σ_c a[r][c]` (`r < rows`).
    pub(crate) fn row_sum(&self, r: usize) -> i64 {
        if self.col_stride == 1 {
            let row = &self.data[r * self.row_stride..][..self.cols];
            row.iter().map(|&v| i64::from(v)).sum()
        } else {
            (0..self.cols)
                .map(|c| i64::from(self.data[r + c * self.col_stride]))
                .sum()
        }
    }
}

/// i8 weights `B` (`k × n`) packed for one int8 GEMM kernel: `NR`-column
/// panels, each `[k / KG][NR][KG]` with zeros past `k` and past `n`, and the
/// sum of each column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedI8B {
    kernel: &'static str,
    nr: usize,
    kg: usize,
    k: usize,
    n: usize,
    data: Vec<i8>,
    col_sums: Vec<i32>,
}

impl PackedI8B {
    /// Packs `B` for `kernel`: element `(p, j)` (row `p < k`, column
    /// `j < n`) is `b[p · row_stride + j · col_stride]`. A Linear weight
    /// stored `n × k` row-major is `B` transposed: `row_stride = 1`,
    /// `col_stride = k`.
    pub fn pack(
        kernel: &QGemmKernel,
        b: &[i8],
        (k, n): (usize, usize),
        (row_stride, col_stride): (usize, usize),
    ) -> Result<Self, TensorError> {
        check_known(kernel)?;
        if k > MAX_DEPTH {
            return Err(TensorError::DepthTooLarge { k, max: MAX_DEPTH });
        }
        let overflow = || TensorError::ShapeOverflow {
            shape: vec![k, n, row_stride, col_stride],
        };
        if k > 0 && n > 0 {
            let last = (k - 1)
                .checked_mul(row_stride)
                .and_then(|x| (n - 1).checked_mul(col_stride)?.checked_add(x))
                .ok_or_else(overflow)?;
            if last >= b.len() {
                return Err(TensorError::LengthMismatch {
                    expected: last + 1,
                    actual: b.len(),
                });
            }
        }
        let (nr, kg) = (kernel.nr, kernel.kg);
        let depth = k.div_ceil(kg) * kg;
        let panels = n.div_ceil(nr);
        let len = panels
            .checked_mul(nr)
            .and_then(|x| x.checked_mul(depth))
            .ok_or_else(overflow)?;
        let mut data = vec![0i8; len];
        let mut col_sums = vec![0i32; n];
        for (j, sum) in col_sums.iter_mut().enumerate() {
            let panel = &mut data[(j / nr) * nr * depth..][..nr * depth];
            let column = j % nr;
            for p in 0..k {
                let value = b[p * row_stride + j * col_stride];
                panel[(p / kg) * nr * kg + column * kg + p % kg] = value;
                *sum += i32::from(value);
            }
        }
        Ok(PackedI8B {
            kernel: kernel.name,
            nr,
            kg,
            k,
            n,
            data,
            col_sums,
        })
    }

    /// The kernel the weights were packed for.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel
    }

    /// Rows of `B` (the depth of the product).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of `B`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The sum of each column of `B`.
    pub fn col_sums(&self) -> &[i32] {
        &self.col_sums
    }

    /// The packed bytes (what a `.pnn` file stores).
    pub fn packed_data(&self) -> &[i8] {
        &self.data
    }

    /// Depth rounded up to the kernel's group.
    pub(crate) fn padded_depth(&self) -> usize {
        self.k.div_ceil(self.kg) * self.kg
    }

    /// Panel `j` (`NR` columns from column `j · NR`).
    pub(crate) fn panel(&self, j: usize) -> &[i8] {
        let size = self.nr * self.padded_depth();
        &self.data[j * size..][..size]
    }
}

/// Packs rows `rows` of `a` into `MR`-row tiles `[k / KG][MR][KG]` (zeros
/// past `k`, and rows past the matrix hold zero), shifted
/// to i8 (`a ^ 0x80`) for kernels that read A signed. `out` receives
/// `ceil(rows / MR)` tiles of `MR · depth` bytes.
pub(crate) fn pack_a(
    kernel: &QGemmKernel,
    a: &U8Matrix<'_>,
    rows: std::ops::Range<usize>,
    depth: usize,
    out: &mut Vec<u8>,
) {
    let (mr, kg) = (kernel.mr, kernel.kg);
    let shift = if kernel.a_signed { 0x80 } else { 0 };
    let tiles = rows.len().div_ceil(mr);
    out.clear();
    out.resize(tiles * mr * depth, shift);
    if a.col_stride != 1 {
        pack_a_columns(kernel, a, rows, depth, out);
        return;
    }
    for (i, r) in rows.enumerate() {
        let tile = &mut out[(i / mr) * mr * depth..][..mr * depth];
        // Group g of this row goes to tile[g · MR · KG + row · KG ..][..KG].
        let groups = tile[(i % mr) * kg..].chunks_mut(mr * kg);
        let row = &a.data[r * a.row_stride..][..a.cols];
        for (dst, src) in groups.zip(row.chunks(kg)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s ^ shift;
            }
        }
    }
}

/// [`pack_a`] of a column-major `a`: each column's run of up to `MR` rows
/// is contiguous in the source and lands `KG` bytes apart in the tile (a
/// transpose done while packing, inside one L1-sized tile).
fn pack_a_columns(
    kernel: &QGemmKernel,
    a: &U8Matrix<'_>,
    rows: std::ops::Range<usize>,
    depth: usize,
    out: &mut [u8],
) {
    let (mr, kg) = (kernel.mr, kernel.kg);
    let shift = if kernel.a_signed { 0x80 } else { 0 };
    for (tile, row0) in out
        .chunks_exact_mut(mr * depth)
        .zip(rows.clone().step_by(mr))
    {
        let count = mr.min(rows.end - row0);
        if count == mr && (mr, kg) == (8, 4) {
            interleave_8x4(a, row0, shift, tile);
            continue;
        }
        for c in 0..a.cols {
            let src = &a.data[c * a.col_stride + row0..][..count];
            let dst = &mut tile[(c / kg) * mr * kg + c % kg..];
            for (r, &s) in src.iter().enumerate() {
                dst[r * kg] = s ^ shift;
            }
        }
    }
}

/// A full 8-row tile with groups of 4: four columns at a time, eight bytes
/// each, interleaved into 32 bytes `[row][column]`.
#[inline]
fn interleave_8x4(a: &U8Matrix<'_>, row0: usize, shift: u8, tile: &mut [u8]) {
    let flip = u64::from_ne_bytes([shift; 8]);
    let column = |c: usize| -> u64 {
        let bytes = match a.data.get(c * a.col_stride + row0..) {
            Some(rest) if c < a.cols => rest.first_chunk::<8>().copied().unwrap_or([0; 8]),
            _ => [0; 8],
        };
        u64::from_le_bytes(bytes) ^ flip
    };
    for (g, dst) in tile.chunks_exact_mut(32).enumerate() {
        let c = g * 4;
        if c >= a.cols {
            break;
        }
        let columns = [column(c), column(c + 1), column(c + 2), column(c + 3)];
        dst.copy_from_slice(&interleave_4_columns(columns));
    }
}

/// Eight rows of four bytes from four columns of eight (byte `r` of column
/// `c`, little-endian, goes to `out[4r + c]`): two rounds of byte and
/// 16-bit unpacking on x86_64 and aarch64, whose baseline has them.
#[inline]
fn interleave_4_columns(columns: [u64; 4]) -> [u8; 32] {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE2 is part of the x86_64 baseline: every x86_64 CPU has it.
    return unsafe { interleave_sse2(columns) };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: NEON is part of the aarch64 baseline: every arm64 CPU has it.
    return unsafe { interleave_neon(columns) };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        let mut out = [0u8; 32];
        for (r, quad) in out.chunks_exact_mut(4).enumerate() {
            for (c, column) in columns.iter().enumerate() {
                quad[c] = column.to_le_bytes()[r];
            }
        }
        out
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
fn interleave_sse2(columns: [u64; 4]) -> [u8; 32] {
    use std::arch::x86_64::{
        _mm_cvtsi64_si128, _mm_unpackhi_epi16, _mm_unpacklo_epi8, _mm_unpacklo_epi16,
    };
    let [c0, c1, c2, c3] = columns.map(|c| _mm_cvtsi64_si128(c as i64));
    let (pairs01, pairs23) = (_mm_unpacklo_epi8(c0, c1), _mm_unpacklo_epi8(c2, c3));
    bytemuck::cast([
        _mm_unpacklo_epi16(pairs01, pairs23),
        _mm_unpackhi_epi16(pairs01, pairs23),
    ])
}

#[cfg(target_arch = "aarch64")]
#[target_feature(enable = "neon")]
fn interleave_neon(columns: [u64; 4]) -> [u8; 32] {
    use std::arch::aarch64::{
        vcombine_u8, vcreate_u8, vgetq_lane_u64, vreinterpretq_u16_u8, vreinterpretq_u64_u16,
        vzip_u8, vzip1q_u16, vzip2q_u16,
    };
    let [c0, c1, c2, c3] = columns.map(|c| vcreate_u8(c));
    let (z01, z23) = (vzip_u8(c0, c1), vzip_u8(c2, c3));
    let pairs01 = vreinterpretq_u16_u8(vcombine_u8(z01.0, z01.1));
    let pairs23 = vreinterpretq_u16_u8(vcombine_u8(z23.0, z23.1));
    let low = vreinterpretq_u64_u16(vzip1q_u16(pairs01, pairs23));
    let high = vreinterpretq_u64_u16(vzip2q_u16(pairs01, pairs23));
    let words = [
        vgetq_lane_u64::<0>(low),
        vgetq_lane_u64::<1>(low),
        vgetq_lane_u64::<0>(high),
        vgetq_lane_u64::<1>(high),
    ];
    let mut out = [0u8; 32];
    for (dst, word) in out.chunks_exact_mut(8).zip(words) {
        dst.copy_from_slice(&word.to_le_bytes());
    }
    out
}
