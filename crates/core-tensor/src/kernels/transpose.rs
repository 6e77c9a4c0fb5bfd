//! Matrix transposes: `dst[c · dst_stride + r] = src[r · cols + c]`, for
//! turning a product computed position-major (a row per output pixel) into
//! NCHW planes (a row per channel).
//!
//! Bytes go in 16×16 blocks on x86_64 (four rounds of SSE2 unpacking,
//! `transpose/sse2.rs`), and elsewhere and at the edges in 8×8 blocks,
//! each a recursive swap of 1-, 2- and 4-byte groups between rows held as
//! `u64` words (portable: about five integer operations per 64 bytes and
//! stage). Other element
//! types go in 8×8 blocks element by element, which keeps both sides of a
//! block in a few cache lines.
//!
//! ```
//! use pocketnn_tensor::kernels::transpose::transpose;
//!
//! let src = [1u8, 2, 3, 4, 5, 6]; // 2 × 3
//! let mut dst = [0u8; 6];
//! transpose(&src, (2, 3), &mut dst, 2)?;
//! assert_eq!(dst, [1, 4, 2, 5, 3, 6]);
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use bytemuck::Pod;

#[cfg(target_arch = "x86_64")]
mod sse2;

/// Side of the square blocks.
const BLOCK: usize = 8;

/// Checks that `src` holds `rows × cols` and `dst` holds `cols` rows of
/// `rows` values, `dst_stride` apart.
fn check(
    src_len: usize,
    (rows, cols): (usize, usize),
    dst_len: usize,
    dst_stride: usize,
) -> Result<(), TensorError> {
    let overflow = || TensorError::ShapeOverflow {
        shape: vec![rows, cols, dst_stride],
    };
    let src_needed = rows.checked_mul(cols).ok_or_else(overflow)?;
    if src_len < src_needed {
        return Err(TensorError::LengthMismatch {
            expected: src_needed,
            actual: src_len,
        });
    }
    if rows == 0 || cols == 0 {
        return Ok(());
    }
    let dst_needed = (cols - 1)
        .checked_mul(dst_stride)
        .and_then(|x| x.checked_add(rows))
        .ok_or_else(overflow)?;
    if dst_stride < rows || dst_len < dst_needed {
        return Err(TensorError::LengthMismatch {
            expected: dst_needed,
            actual: dst_len,
        });
    }
    Ok(())
}

/// Transposes the `rows × cols` row-major `src` into `dst`, whose rows
/// (one per column of `src`) are `dst_stride` apart. Fails, writing
/// nothing, when a slice is too short or `dst_stride < rows`.
pub fn transpose<T: Pod>(
    src: &[T],
    (rows, cols): (usize, usize),
    dst: &mut [T],
    dst_stride: usize,
) -> Result<(), TensorError> {
    check(src.len(), (rows, cols), dst.len(), dst_stride)?;
    if size_of::<T>() == 1 {
        let (src, dst) = (bytemuck::cast_slice(src), bytemuck::cast_slice_mut(dst));
        transpose_bytes(src, (rows, cols), dst, dst_stride);
        return Ok(());
    }
    for r0 in (0..rows).step_by(BLOCK) {
        let r1 = rows.min(r0 + BLOCK);
        for c0 in (0..cols).step_by(BLOCK) {
            let c1 = cols.min(c0 + BLOCK);
            if (r1 - r0, c1 - c0) == (BLOCK, BLOCK) {
                transpose_block(src, (r0, c0), cols, dst, dst_stride);
                continue;
            }
            for c in c0..c1 {
                let out = &mut dst[c * dst_stride + r0..][..r1 - r0];
                for (o, r) in out.iter_mut().zip(r0..r1) {
                    *o = src[r * cols + c];
                }
            }
        }
    }
    Ok(())
}

/// One full 8×8 block at `(r0, c0)`, through a fixed-size copy the
/// compiler turns into register shuffles.
#[inline(always)]
fn transpose_block<T: Pod>(
    src: &[T],
    (r0, c0): (usize, usize),
    cols: usize,
    dst: &mut [T],
    dst_stride: usize,
) {
    let mut block = [[T::zeroed(); BLOCK]; BLOCK];
    for (i, row) in block.iter_mut().enumerate() {
        row.copy_from_slice(&src[(r0 + i) * cols + c0..][..BLOCK]);
    }
    for j in 0..BLOCK {
        let out = &mut dst[(c0 + j) * dst_stride + r0..][..BLOCK];
        for (o, row) in out.iter_mut().zip(&block) {
            *o = row[j];
        }
    }
}

/// [`transpose`] of bytes (checked by the caller): 16×16 blocks with SSE2
/// on x86_64, then 8×8 blocks as `u64` words, then element by element.
fn transpose_bytes(src: &[u8], (rows, cols): (usize, usize), dst: &mut [u8], dst_stride: usize) {
    // The top-left part done in 16×16 blocks.
    #[cfg(target_arch = "x86_64")]
    let wide = {
        let wide = (rows - rows % sse2::BLOCK, cols - cols % sse2::BLOCK);
        for r0 in (0..wide.0).step_by(sse2::BLOCK) {
            for c0 in (0..wide.1).step_by(sse2::BLOCK) {
                sse2::transpose_block(src, (r0, c0), cols, dst, dst_stride);
            }
        }
        wide
    };
    #[cfg(not(target_arch = "x86_64"))]
    let wide = (0, 0);
    let (full_rows, full_cols) = (rows - rows % BLOCK, cols - cols % BLOCK);
    for r0 in (0..full_rows).step_by(BLOCK) {
        let first_col = if r0 < wide.0 { wide.1 } else { 0 };
        for c0 in (first_col..full_cols).step_by(BLOCK) {
            let mut words = [0u64; BLOCK];
            for (i, word) in words.iter_mut().enumerate() {
                let row = &src[(r0 + i) * cols + c0..][..BLOCK];
                *word = u64::from_le_bytes(row.try_into().unwrap_or([0; BLOCK]));
            }
            transpose_8x8(&mut words);
            for (i, word) in words.iter().enumerate() {
                dst[(c0 + i) * dst_stride + r0..][..BLOCK].copy_from_slice(&word.to_le_bytes());
            }
        }
    }
    // The ragged right columns and bottom rows, element by element.
    for r in 0..rows {
        let first_col = if r < full_rows { full_cols } else { 0 };
        for c in first_col..cols {
            dst[c * dst_stride + r] = src[r * cols + c];
        }
    }
}

/// Transposes an 8×8 byte matrix held as eight little-endian rows: swaps
/// the off-diagonal 1×1, then 2×2, then 4×4 blocks of each 2×2 arrangement.
#[inline(always)]
fn transpose_8x8(rows: &mut [u64; BLOCK]) {
    for (distance, shift, mask) in [
        (1, 8, 0x00FF_00FF_00FF_00FF_u64),
        (2, 16, 0x0000_FFFF_0000_FFFF),
        (4, 32, 0x0000_0000_FFFF_FFFF),
    ] {
        for i in (0..BLOCK).filter(|i| i & distance == 0) {
            let (a, b) = (rows[i], rows[i + distance]);
            let swapped = ((a >> shift) ^ b) & mask;
            rows[i + distance] = b ^ swapped;
            rows[i] = a ^ (swapped << shift);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, element by element.
    fn naive(src: &[u8], (rows, cols): (usize, usize), dst_stride: usize) -> Vec<u8> {
        let mut dst = vec![0xEE; cols.saturating_sub(1) * dst_stride + rows];
        for r in 0..rows {
            for c in 0..cols {
                dst[c * dst_stride + r] = src[r * cols + c];
            }
        }
        dst
    }

    #[test]
    fn every_shape_around_the_block_matches_the_definition() {
        // Around the 8×8 and (x86_64) 16×16 blocks, and mixes of both.
        for rows in [1, 2, 7, 8, 9, 16, 17, 24, 31, 32, 48] {
            for cols in [1, 3, 8, 9, 16, 24, 33, 40, 64] {
                for pad in [0, 5] {
                    let stride = rows + pad;
                    let src: Vec<u8> = (0..rows * cols).map(|i| (i * 7 + 3) as u8).collect();
                    let want = naive(&src, (rows, cols), stride);
                    let mut got = vec![0xEE; want.len()];
                    transpose(&src, (rows, cols), &mut got, stride).unwrap();
                    assert_eq!(got, want, "u8 {rows}x{cols} stride {stride}");
                    let wide: Vec<f32> = src.iter().map(|&v| f32::from(v)).collect();
                    let mut got = vec![238.0f32; want.len()];
                    transpose(&wide, (rows, cols), &mut got, stride).unwrap();
                    let want: Vec<f32> = want.iter().map(|&v| f32::from(v)).collect();
                    assert_eq!(got, want, "f32 {rows}x{cols} stride {stride}");
                }
            }
        }
    }

    #[test]
    fn short_buffers_and_strides_are_errors() {
        let mut dst = [0u8; 6];
        assert!(transpose(&[0; 5], (2, 3), &mut dst, 2).is_err());
        assert!(transpose(&[0; 6], (2, 3), &mut dst, 1).is_err());
        assert!(transpose(&[0; 6], (2, 3), &mut dst[..5], 2).is_err());
        assert!(transpose(&[0u8; 6], (usize::MAX, 3), &mut dst, 2).is_err());
        assert!(transpose::<u8>(&[], (0, 3), &mut [], 0).is_ok());
    }
}
