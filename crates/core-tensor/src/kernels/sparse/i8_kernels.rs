//! The int8 sparse products: u8 activations × symmetric i8 weights, exact
//! i32 sums, then the int8 GEMM's requantizing or dequantizing epilogue.
//!
//! The pointwise product packs `X` (k × n) per call into `[k / 4][n'][4]`
//! (`n'` = `n` rounded up to [`PIXEL_TILE`], zero padded; shifted to i8 by
//! `x ^ 0x80` for the signed ARM kernels) and runs a tier kernel over the
//! grouped weight words (see [`SparseI8Matrix`]); the scalar kernel is the
//! reference and reads the matrix directly. The linear product (batch ×
//! k times the transposed matrix) is a dot product per output over the
//! grouped form: gathered with AVX2 (the AVX2 and AVX-512 kernels, see
//! `i8_linear_avx2.rs`), with lane loads on NEON (the NEON and dotprod
//! kernels, on activations shifted to i8, see `i8_linear_neon.rs`), in
//! portable code on the scalar kernel.

use super::i8_epilogue::RequantizeRun;
use super::i8_matrix::SparseI8Matrix;
use super::matrix::{BlockShape, ColumnIndex, Columns, SparseMatrix};
use super::{check_len, checked_len};
use crate::error::TensorError;
use crate::features::Feature;
use crate::isa::Isa;
use crate::kernels::qgemm::{Dequantize, Requantize};
use crate::kernels::simd::run_on;

/// Pixels per tile of the SIMD pointwise kernels (the packed `n` is padded
/// to a multiple of it).
pub(crate) const PIXEL_TILE: usize = 16;

/// One int8 sparse kernel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparseI8Kernel {
    /// `i8-sparse-<variant>`, the name tests and benches use.
    pub name: &'static str,
    /// The tier whose registers it uses.
    pub isa: Isa,
    /// The optional feature it needs on top of the tier.
    pub feature: Option<Feature>,
    /// Whether it reads the activations shifted to i8 (`x - 128`).
    pub signed: bool,
}

impl SparseI8Kernel {
    /// True when this CPU can run the kernel.
    pub fn is_available(&self) -> bool {
        self.isa.is_available() && self.feature.is_none_or(Feature::is_available)
    }

    /// The best kernel for tier `isa` on this CPU (the scalar one for a
    /// tier without an int8 sparse kernel).
    pub fn best_for(isa: Isa) -> SparseI8Kernel {
        let candidates: &[SparseI8Kernel] = match isa {
            Isa::Avx512 => &[AVX512_VNNI, AVX2],
            Isa::Avx2 => &[AVX2],
            Isa::Neon => &[NEON_DOT, NEON],
            _ => &[],
        };
        candidates
            .iter()
            .copied()
            .find(SparseI8Kernel::is_available)
            .unwrap_or(SCALAR)
    }
}

const fn kernel(
    name: &'static str,
    isa: Isa,
    feature: Option<Feature>,
    signed: bool,
) -> SparseI8Kernel {
    SparseI8Kernel {
        name,
        isa,
        feature,
        signed,
    }
}

pub(crate) const SCALAR: SparseI8Kernel = kernel("i8-sparse-scalar", Isa::Scalar, None, false);
pub(crate) const AVX2: SparseI8Kernel = kernel("i8-sparse-avx2", Isa::Avx2, None, false);
pub(crate) const AVX512_VNNI: SparseI8Kernel = kernel(
    "i8-sparse-avx512vnni",
    Isa::Avx512,
    Some(Feature::Avx512Vnni),
    false,
);
pub(crate) const NEON: SparseI8Kernel = kernel("i8-sparse-neon", Isa::Neon, None, true);
pub(crate) const NEON_DOT: SparseI8Kernel =
    kernel("i8-sparse-dotprod", Isa::Neon, Some(Feature::DotProd), true);

/// Every int8 sparse kernel, whatever the CPU (check
/// [`SparseI8Kernel::is_available`] before running one).
pub const SPARSE_I8_KERNELS: [SparseI8Kernel; 5] = [SCALAR, AVX2, AVX512_VNNI, NEON, NEON_DOT];

/// Where an int8 sparse product goes. Channel `m` (a row of the weight
/// matrix) picks the requantization multiplier and bias (and the weight
/// scale); the activation row (the pixel of a pointwise product, the batch
/// row of a linear one) picks the activation scale of [`Dequantize`].
#[derive(Debug)]
pub enum SparseQOutput<'a> {
    /// The exact sums `Σ W (x - zx)`.
    I32(&'a mut [i32]),
    /// Requantized u8 values.
    U8 {
        /// The output, laid out like the product's `Y`.
        c: &'a mut [u8],
        /// Multipliers and bias (one or one per channel), zero point, clamp.
        requantize: &'a Requantize,
    },
    /// Dequantized f32 values.
    F32 {
        /// The output, laid out like the product's `Y`.
        c: &'a mut [f32],
        /// Scales (activation: one or one per activation row; weight: one
        /// or one per channel) and bias (per channel).
        dequantize: &'a Dequantize,
    },
}

impl SparseQOutput<'_> {
    /// Checks lengths and parameters for `act_rows` activation rows and
    /// `channels` channels.
    fn check(&self, act_rows: usize, channels: usize) -> Result<(), TensorError> {
        let len = match self {
            SparseQOutput::I32(c) => c.len(),
            SparseQOutput::U8 { c, requantize } => {
                requantize.check(channels)?;
                c.len()
            }
            SparseQOutput::F32 { c, dequantize } => {
                dequantize.check(act_rows, channels)?;
                c.len()
            }
        };
        check_len(len, act_rows, channels)
    }

    /// Stores `sums[i]` at `start + i`, channel `channel(i)`, activation
    /// row `act_row(i)`.
    #[inline]
    fn store(
        &mut self,
        start: usize,
        sums: &[i32],
        channel: impl Fn(usize) -> usize,
        act_row: impl Fn(usize) -> usize,
    ) {
        let range = start..start + sums.len();
        match self {
            SparseQOutput::I32(c) => c[range].copy_from_slice(sums),
            SparseQOutput::U8 { c, requantize } => {
                for (i, (o, &acc)) in c[range].iter_mut().zip(sums).enumerate() {
                    *o = requantize.apply(acc, channel(i));
                }
            }
            SparseQOutput::F32 { c, dequantize } => {
                for (i, (o, &acc)) in c[range].iter_mut().zip(sums).enumerate() {
                    *o = dequantize.apply(acc, act_row(i), channel(i));
                }
            }
        }
    }
}

/// Fails unless `kernel` is one of [`SPARSE_I8_KERNELS`] and this CPU has it.
fn check_kernel(kernel: &SparseI8Kernel) -> Result<(), TensorError> {
    if SPARSE_I8_KERNELS.contains(kernel) && kernel.is_available() {
        Ok(())
    } else {
        Err(TensorError::KernelUnavailable {
            kernel: kernel.name,
        })
    }
}

/// Pointwise layout: `Y (m × n) = W (m × k) · (X (k × n) - x_zero)`, `X`
/// and `Y` row-major, written as `out` asks (channel = row of `Y`,
/// activation row = column of `Y`).
///
/// Fails when the CPU lacks `kernel`, when `x` is not `k · n` long, or
/// when `out` does not fit `m × n` or its parameters do not fit `m`
/// channels and `n` activation rows.
pub fn sparse_pointwise_u8i8(
    kernel: &SparseI8Kernel,
    w: &SparseI8Matrix,
    x: &[u8],
    x_zero: u8,
    n: usize,
    mut out: SparseQOutput<'_>,
) -> Result<(), TensorError> {
    check_kernel(kernel)?;
    let (m, k) = (w.matrix().rows(), w.matrix().cols());
    check_len(x.len(), k, n)?;
    out.check(n, m)?;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if kernel.isa == Isa::Scalar {
        pointwise_reference(w, x, x_zero, n, &mut out);
        return Ok(());
    }
    let grouped = w.grouped();
    let n_pad = n.div_ceil(PIXEL_TILE) * PIXEL_TILE;
    let packed = pack_x(x, k, n, n_pad, grouped.group_count, kernel.signed)?;
    let rows_per_block = grouped.rows_per_block;
    let mut sums = vec![0i32; checked_len(rows_per_block, n_pad)?];
    // Σ W (x - zx) = Σ W x' + shift · row_sum, with x' = x (shift = -zx)
    // or x' = x - 128 (shift = 128 - zx).
    let shift = if kernel.signed { 128 } else { 0 } - i32::from(x_zero);
    for (b, pair) in grouped.block_ptr.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        let entries = Entries {
            groups: &grouped.groups[start..end],
            words: &grouped.words[start * rows_per_block..end * rows_per_block],
            group_count: grouped.group_count,
        };
        run_block_row(kernel, w.is_col4x1(), entries, &packed, n_pad, &mut sums)?;
        for r in 0..rows_per_block {
            let row = b * rows_per_block + r;
            if row >= m {
                break;
            }
            let correction = shift.wrapping_mul(w.row_sums()[row]);
            let row_sums = &mut sums[r * n_pad..r * n_pad + n];
            row_sums
                .iter_mut()
                .for_each(|s| *s = s.wrapping_add(correction));
            if let SparseQOutput::U8 { c, requantize } = &mut out {
                let run = RequantizeRun {
                    requantize,
                    channel: row,
                    sums: row_sums,
                    out: &mut c[row * n..(row + 1) * n],
                };
                run_on(kernel.isa, run)?;
            } else {
                out.store(row * n, row_sums, |_| row, |i| i);
            }
        }
    }
    Ok(())
}

/// The entries of one block row of the grouped form.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
pub(crate) struct Entries<'a> {
    /// Group index of each entry.
    pub(crate) groups: &'a [u32],
    /// `R` weight words per entry.
    pub(crate) words: &'a [i32],
    /// Groups in the packed activations.
    pub(crate) group_count: usize,
}

#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(dead_code)
)]
impl Entries<'_> {
    /// Asserts what the SIMD kernels rely on before they read through raw
    /// pointers: `R` words per entry, every group inside `packed`
    /// (`group_count · n_pad · 4` bytes), `sums` of `R · n_pad`, `n_pad` a
    /// multiple of [`PIXEL_TILE`].
    pub(crate) fn check<const R: usize>(&self, packed: &[u8], n_pad: usize, sums: &[i32]) {
        assert_eq!(self.words.len(), self.groups.len() * R, "words per entry");
        assert!(n_pad.is_multiple_of(PIXEL_TILE), "pixels not padded");
        assert_eq!(packed.len(), self.group_count * n_pad * 4, "packed size");
        assert_eq!(sums.len(), R * n_pad, "sums size");
        assert!(
            self.groups.iter().all(|&g| (g as usize) < self.group_count),
            "group out of range"
        );
    }
}

/// `sums (R × n_pad) = Σ_entries word[r] · packed[group]` on `kernel`.
fn run_block_row(
    kernel: &SparseI8Kernel,
    col4x1: bool,
    entries: Entries<'_>,
    packed: &[u8],
    n_pad: usize,
    sums: &mut [i32],
) -> Result<(), TensorError> {
    let unavailable = TensorError::KernelUnavailable {
        kernel: kernel.name,
    };
    // 32-bit ARM has no block routine: every arm below is compiled out.
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    let _ = (&entries, packed, n_pad, &sums);
    let ran: Option<()> = match (kernel.isa, kernel.feature, col4x1) {
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, None, false) => super::i8_avx2::block_row::<1>(entries, packed, n_pad, sums),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, None, true) => super::i8_avx2::block_row::<4>(entries, packed, n_pad, sums),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, Some(Feature::Avx512Vnni), false) => {
            super::i8_avx512vnni::block_row::<1>(entries, packed, n_pad, sums)
        }
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx512, Some(Feature::Avx512Vnni), true) => {
            super::i8_avx512vnni::block_row::<4>(entries, packed, n_pad, sums)
        }
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, None, false) => super::i8_neon::block_row::<1>(entries, packed, n_pad, sums),
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, None, true) => super::i8_neon::block_row::<4>(entries, packed, n_pad, sums),
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, Some(Feature::DotProd), false) => {
            super::i8_neon::block_row_dot::<1>(entries, packed, n_pad, sums)
        }
        #[cfg(target_arch = "aarch64")]
        (Isa::Neon, Some(Feature::DotProd), true) => {
            super::i8_neon::block_row_dot::<4>(entries, packed, n_pad, sums)
        }
        _ => None,
    };
    ran.ok_or(unavailable)
}

/// `X (k × n)` as `[ceil(k / 4)][n_pad][4]`, zero padded, `^ 0x80` when
/// `signed`.
fn pack_x(
    x: &[u8],
    k: usize,
    n: usize,
    n_pad: usize,
    group_count: usize,
    signed: bool,
) -> Result<Vec<u8>, TensorError> {
    let len = checked_len(checked_len(group_count, n_pad)?, 4)?;
    let flip = if signed { 0x80 } else { 0 };
    let mut packed = vec![0u8; len];
    for (c, x_row) in x.chunks_exact(n).take(k).enumerate() {
        let (g, q) = (c / 4, c % 4);
        let group = &mut packed[g * n_pad * 4..(g + 1) * n_pad * 4];
        for (quad, &v) in group.chunks_exact_mut(4).zip(x_row) {
            quad[q] = v ^ flip;
        }
    }
    Ok(packed)
}

/// The reference: `Σ W (x - zx)` over the stored blocks, one output at a time.
fn pointwise_reference(
    w: &SparseI8Matrix,
    x: &[u8],
    x_zero: u8,
    n: usize,
    out: &mut SparseQOutput<'_>,
) {
    let matrix = w.matrix();
    let columns = matrix.columns();
    let mut row_sums = vec![0i32; n];
    for row in 0..matrix.rows() {
        row_sums.fill(0);
        for (c, value) in row_entries(matrix, &columns, row) {
            let x_row = &x[c * n..(c + 1) * n];
            for (s, &v) in row_sums.iter_mut().zip(x_row) {
                *s += i32::from(value) * (i32::from(v) - i32::from(x_zero));
            }
        }
        out.store(row * n, &row_sums, |_| row, |i| i);
    }
}

/// The `(column, weight)` pairs stored for `row`.
fn row_entries<'a>(
    matrix: &'a SparseMatrix<i8>,
    columns: &'a [u32],
    row: usize,
) -> impl Iterator<Item = (usize, i8)> + 'a {
    let shape = matrix.shape();
    let (br, bc) = (shape.block_rows(), shape.block_cols());
    let (b, r) = (row / br, row % br);
    let (start, end) = (
        matrix.block_ptr()[b] as usize,
        matrix.block_ptr()[b + 1] as usize,
    );
    (start..end).flat_map(move |j| {
        (0..bc).map(move |q| {
            (
                columns[j] as usize + q,
                matrix.values()[j * br * bc + r * bc + q],
            )
        })
    })
}

/// Linear layout: `Y (batch × m) = (X (batch × k) - x_zero) · Wᵀ`, `X` and
/// `Y` row-major, written as `out` asks (channel = column of `Y`,
/// activation row = row of `Y`). The AVX2 and AVX-512 kernels gather the
/// activations with AVX2, the NEON and dotprod kernels with NEON lane
/// loads; the scalar kernel runs portable dot products (the kernel is
/// checked, so callers can pass one for both layouts).
///
/// Fails like [`sparse_pointwise_u8i8`].
pub fn sparse_linear_u8i8(
    kernel: &SparseI8Kernel,
    w: &SparseI8Matrix,
    x: &[u8],
    x_zero: u8,
    batch: usize,
    mut out: SparseQOutput<'_>,
) -> Result<(), TensorError> {
    check_kernel(kernel)?;
    let (m, k) = (w.matrix().rows(), w.matrix().cols());
    check_len(x.len(), batch, k)?;
    out.check(batch, m)?;
    let matrix = w.matrix();
    let mut sums = vec![0i32; m];
    let mut x_words = vec![0i32; w.grouped().group_count];
    for i in 0..batch {
        let x_row = &x[i * k..(i + 1) * k];
        let offset =
            linear_row_simd(kernel, w, x_row, &mut x_words, &mut sums).unwrap_or_else(|| {
                match matrix.column_indices() {
                    Columns::U16(c) => linear_row(matrix, c, x_row, &mut sums),
                    Columns::U32(c) => linear_row(matrix, c, x_row, &mut sums),
                }
                0
            });
        // Σ W (x - zx) = Σ W (x - offset) + (offset - zx) · Σ W, in wrapping
        // i32 (exact: the result fits, see `i8_linear_neon.rs`).
        let shift = offset - i32::from(x_zero);
        for (s, &row_sum) in sums.iter_mut().zip(w.row_sums()) {
            *s = s.wrapping_add(shift.wrapping_mul(row_sum));
        }
        out.store(i * m, &sums, |j| j, |_| i);
    }
    Ok(())
}

/// `sums[row] = Σ W[row, c] · (x[c] - offset)` for every row with
/// `kernel`'s SIMD code, when it has some: returns `offset` (0 on x86, 128
/// on ARM, whose kernels read the activations shifted to i8), or `None`
/// when nothing was computed. `x_words` is scratch for the row as words of
/// four activations (`ceil(k / 4)` long).
#[cfg_attr(
    not(any(target_arch = "x86_64", target_arch = "aarch64")),
    allow(unused_variables)
)]
fn linear_row_simd(
    kernel: &SparseI8Kernel,
    w: &SparseI8Matrix,
    x_row: &[u8],
    x_words: &mut [i32],
    sums: &mut [i32],
) -> Option<i32> {
    #[cfg(target_arch = "x86_64")]
    if matches!(kernel.isa, Isa::Avx2 | Isa::Avx512) {
        fill_words(x_words, x_row, 0);
        return super::i8_linear_avx2::linear_row(w.grouped(), x_words, sums).map(|()| 0);
    }
    #[cfg(target_arch = "aarch64")]
    if kernel.isa == Isa::Neon {
        use super::i8_linear_neon;
        fill_words(x_words, x_row, 0x80);
        let ran = match kernel.feature {
            None => i8_linear_neon::linear_row(w.grouped(), x_words, sums),
            Some(Feature::DotProd) => i8_linear_neon::linear_row_dot(w.grouped(), x_words, sums),
            Some(_) => return None,
        };
        return ran.map(|()| 128);
    }
    None
}

/// `x_words[g]` = activations `4g .. 4g + 4` of `x_row` as a little-endian
/// word, each byte `^ flip` (the bytes past the row are `0 ^ flip`; they
/// meet zero weights).
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
fn fill_words(x_words: &mut [i32], x_row: &[u8], flip: u8) {
    for (word, quad) in x_words.iter_mut().zip(x_row.chunks(4)) {
        let mut bytes = [0u8; 4];
        bytes[..quad.len()].copy_from_slice(quad);
        *word = i32::from_le_bytes(bytes.map(|b| b ^ flip));
    }
}

/// `sums[row] = Σ W[row, c] · x[c]` for every row.
fn linear_row<I: ColumnIndex>(
    matrix: &SparseMatrix<i8>,
    columns: &[I],
    x: &[u8],
    sums: &mut [i32],
) {
    match matrix.shape() {
        BlockShape::Csr => linear_row_blocks::<I, 1, 1>(matrix, columns, x, sums),
        BlockShape::Row1x4 => linear_row_blocks::<I, 1, 4>(matrix, columns, x, sums),
        BlockShape::Col4x1 => linear_row_blocks::<I, 4, 1>(matrix, columns, x, sums),
    }
}

/// [`linear_row`] for blocks of `R × C`, four independent partial sums per
/// row (exact: every partial is a sub-sum of a sum that fits in i32).
fn linear_row_blocks<I: ColumnIndex, const R: usize, const C: usize>(
    matrix: &SparseMatrix<i8>,
    columns: &[I],
    x: &[u8],
    sums: &mut [i32],
) {
    let values = matrix.values();
    for (b, pair) in matrix.block_ptr().windows(2).enumerate() {
        let mut partial = [[0i32; 4]; R];
        for j in pair[0] as usize..pair[1] as usize {
            let x_block = &x[columns[j].get()..][..C];
            let v = &values[j * R * C..][..R * C];
            for (r, p) in partial.iter_mut().enumerate() {
                for (c, &xv) in x_block.iter().enumerate() {
                    p[(j + c) % 4] += i32::from(v[r * C + c]) * i32::from(xv);
                }
            }
        }
        for (r, p) in partial.iter().enumerate() {
            if let Some(s) = sums.get_mut(b * R + r) {
                *s = p.iter().fold(0i32, |a, &q| a.wrapping_add(q));
            }
        }
    }
}
