//! The sparse-or-dense cost model: measured time of each sparse kernel
//! relative to the dense kernel of the same layer, at several densities.
//!
//! Figures: `cargo bench -p pocketnn-benches --bench sparse_density --
//! --warm-up-time 1 --measurement-time 2` (criterion medians, release),
//! two full runs on the development machine — "Intel(R) Xeon(R)
//! Processor" (Sapphire Rapids, AVX-512 + VNNI: `avx512` f32 tier,
//! `i8-sparse-avx512vnni` against `i8-gemm-8x32-avx512vnni`), one
//! thread, 2026-11-29 16:08 – 16:27 UTC, the machine shared with other
//! builds (`docs/compression.md` has the table and the caveats). "Density" is the share of stored
//! values: blocks × block size over `M · K`. A ratio below 1 means sparse
//! is faster. Between measured densities the ratio is interpolated
//! linearly; above the densest measured point sparse is not predicted (the
//! layer stays dense).

use pocketnn_tensor::kernels::sparse::BlockShape;

/// Sparse is chosen only when predicted at most this share of the dense
/// time: a margin for machines and shapes other than the measured ones.
pub(crate) const SPARSE_MAX_RATIO: f64 = 0.8;

/// f32 fully connected layers with more weight bytes than this stream
/// them from memory at batch 1 (the measured machine's L2 is 2 MB); smaller
/// ones stay in cache, where the dense kernel is much harder to beat.
pub(crate) const CACHE_RESIDENT_BYTES: usize = 2 << 20;

/// Which dense/sparse kernel pair runs a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// f32 fully connected at batch 1, weights larger than
    /// [`CACHE_RESIDENT_BYTES`] (`SparseLinear` vs packed f32 GEMM,
    /// measured on 1024 × 6272, seed_cnn's fc1).
    F32LinearLarge,
    /// The same with cache-resident weights (measured on 256 × 784).
    F32LinearSmall,
    /// f32 1×1 convolution (`SparseConv` vs the f32 GEMM; 256 → 256
    /// channels at 14×14).
    F32Pointwise,
    /// int8 1×1 convolution (`SparseQLinearConv` vs the int8 GEMM with its
    /// activation transposition; same shape).
    I8Pointwise,
    /// int8 fully connected, the 1-D `QLinearConv` form, at batch 1
    /// (`sparse_linear_u8i8` vs the int8 GEMM; 1024 × 6272).
    I8Linear,
}

impl Kernel {
    /// The f32 fully connected kernel for `rows × cols` weights.
    pub(crate) fn f32_linear(rows: usize, cols: usize) -> Kernel {
        if rows.saturating_mul(cols).saturating_mul(4) > CACHE_RESIDENT_BYTES {
            Kernel::F32LinearLarge
        } else {
            Kernel::F32LinearSmall
        }
    }

    /// The bench group the figures come from.
    pub(crate) fn bench(self) -> &'static str {
        match self {
            Kernel::F32LinearLarge => "bench density-f32-linear-1024x6272",
            Kernel::F32LinearSmall => "bench density-f32-linear-256x784",
            Kernel::F32Pointwise => "bench density-f32-pointwise",
            Kernel::I8Pointwise => "bench density-i8-pointwise",
            Kernel::I8Linear => "bench density-i8-linear",
        }
    }
}

/// Measured densities (share of stored values).
const DENSITIES: [f64; 5] = [0.05, 0.1, 0.2, 0.3, 0.5];

/// Sparse time / dense time at [`DENSITIES`], per kernel and block shape:
/// of two full runs of the bench (machine shared, load average 5 – 6),
/// the figure less favourable to sparse.
fn measured(kernel: Kernel, shape: BlockShape) -> [f64; 5] {
    use BlockShape::*;
    match (kernel, shape) {
        (Kernel::F32LinearLarge, Csr) => [0.16, 0.25, 0.57, 0.80, 1.34],
        (Kernel::F32LinearLarge, Row1x4) => [0.17, 0.32, 0.64, 0.86, 1.50],
        (Kernel::F32LinearLarge, Col4x1) => [0.09, 0.22, 0.42, 0.76, 1.28],
        (Kernel::F32LinearSmall, Csr) => [0.64, 1.17, 1.75, 2.57, 3.48],
        (Kernel::F32LinearSmall, Row1x4) => [0.39, 0.61, 1.08, 1.78, 2.58],
        (Kernel::F32LinearSmall, Col4x1) => [0.52, 0.89, 1.74, 2.50, 2.40],
        (Kernel::F32Pointwise, Csr) => [0.30, 0.64, 1.28, 1.73, 2.90],
        (Kernel::F32Pointwise, Row1x4) => [0.30, 0.54, 0.97, 1.39, 2.36],
        (Kernel::F32Pointwise, Col4x1) => [0.19, 0.26, 0.37, 0.62, 1.02],
        (Kernel::I8Pointwise, Csr) => [0.28, 0.36, 0.54, 0.64, 0.73],
        (Kernel::I8Pointwise, Row1x4) => [0.25, 0.24, 0.36, 0.33, 0.41],
        (Kernel::I8Pointwise, Col4x1) => [0.25, 0.25, 0.37, 0.42, 0.47],
        // One run at 17:34 UTC, after the AVX2 int8 linear path (dense 237 µs).
        (Kernel::I8Linear, Csr) => [1.37, 2.42, 4.13, 5.53, 6.48],
        (Kernel::I8Linear, Row1x4) => [0.42, 0.75, 1.43, 2.14, 3.90],
        (Kernel::I8Linear, Col4x1) => [0.95, 1.73, 3.01, 2.57, 3.20],
    }
}

/// The predicted sparse / dense time at `density`; `None` above the
/// densest measured point.
pub(crate) fn predicted_ratio(kernel: Kernel, shape: BlockShape, density: f64) -> Option<f64> {
    let ratios = measured(kernel, shape);
    if !(0.0..=DENSITIES[4]).contains(&density) {
        return None;
    }
    if density <= DENSITIES[0] {
        // Below the sparsest point: its figure (no extrapolation).
        return Some(ratios[0]);
    }
    let i = DENSITIES.iter().position(|&d| d >= density)?;
    let (d0, d1) = (DENSITIES[i - 1], DENSITIES[i]);
    let (r0, r1) = (ratios[i - 1], ratios[i]);
    Some(r0 + (r1 - r0) * (density - d0) / (d1 - d0))
}

/// The highest density (to 0.1 %) at which sparse is chosen, 0 when never
/// (for docs and tests).
#[cfg(test)]
pub(crate) fn break_even(kernel: Kernel, shape: BlockShape) -> f64 {
    (0..=500)
        .map(|n| f64::from(n) / 1000.0)
        .take_while(|&d| predicted_ratio(kernel, shape, d).is_some_and(|r| r < SPARSE_MAX_RATIO))
        .last()
        .unwrap_or(0.0)
}
