//! The sparse-or-dense cost model: measured time of each sparse kernel
//! relative to the dense kernel of the same layer, at several densities.
//!
//! Figures: `cargo bench -p pocketnn-benches --bench sparse_density --
//! --warm-up-time 1 --measurement-time 2` (criterion medians), run on the
//! development machine — "Intel(R) Xeon(R) Processor" (Sapphire Rapids,
//! AVX-512 + VNNI, `avx512` tier, `i8-sparse-avx512vnni` /
//! `i8-gemm-avx512vnni`), one thread, 2026-11-29 (`docs/compression.md`
//! has the table and the caveats). "Density" is the share of stored
//! values: blocks × block size over `M · K`. A ratio below 1 means sparse
//! is faster. Between measured densities the ratio is interpolated
//! linearly; above the densest measured point sparse is not predicted (the
//! layer stays dense).

use pocketnn_tensor::kernels::sparse::BlockShape;

/// Sparse is chosen only when predicted at most this share of the dense
/// time: a margin for machines and shapes other than the measured ones.
pub(crate) const SPARSE_MAX_RATIO: f64 = 0.8;

/// Which dense/sparse kernel pair runs a layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kernel {
    /// f32 fully connected at batch 1 (`SparseLinear` vs packed f32 GEMM).
    F32Linear,
    /// f32 1×1 convolution (`SparseConv` vs the f32 GEMM).
    F32Pointwise,
    /// int8 1×1 convolution (`SparseQLinearConv` vs the int8 GEMM).
    I8Pointwise,
    /// int8 fully connected, the 1-D `QLinearConv` form at batch 1.
    I8Linear,
}

impl Kernel {
    /// The bench group the figures come from.
    pub(crate) fn bench(self) -> &'static str {
        match self {
            Kernel::F32Linear => "bench density-f32-linear",
            Kernel::F32Pointwise => "bench density-f32-pointwise",
            Kernel::I8Pointwise => "bench density-i8-pointwise",
            Kernel::I8Linear => "bench density-i8-linear",
        }
    }
}

/// Measured densities (share of stored values).
const DENSITIES: [f64; 5] = [0.05, 0.1, 0.2, 0.3, 0.5];

/// Sparse time / dense time at [`DENSITIES`], per kernel and block shape
/// (CSR, 1×4, 4×1).
fn measured(kernel: Kernel, shape: BlockShape) -> [f64; 5] {
    use BlockShape::*;
    match (kernel, shape) {
        (Kernel::F32Linear, Csr) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::F32Linear, Row1x4) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::F32Linear, Col4x1) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::F32Pointwise, Csr) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::F32Pointwise, Row1x4) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::F32Pointwise, Col4x1) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Pointwise, Csr) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Pointwise, Row1x4) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Pointwise, Col4x1) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Linear, Csr) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Linear, Row1x4) => [0.1, 0.2, 0.4, 0.6, 1.0],
        (Kernel::I8Linear, Col4x1) => [0.1, 0.2, 0.4, 0.6, 1.0],
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
        // Below the sparsest point: scale towards 0 (work is proportional
        // to the stored values), never below a tenth of the first figure.
        return Some((ratios[0] * density / DENSITIES[0]).max(ratios[0] / 10.0));
    }
    let i = DENSITIES.iter().position(|&d| d >= density)?;
    let (d0, d1) = (DENSITIES[i - 1], DENSITIES[i]);
    let (r0, r1) = (ratios[i - 1], ratios[i]);
    Some(r0 + (r1 - r0) * (density - d0) / (d1 - d0))
}

/// The highest density at which sparse is chosen (for docs and tests).
#[cfg(test)]
pub(crate) fn break_even(kernel: Kernel, shape: BlockShape) -> f64 {
    let mut d = 0.0;
    while d <= DENSITIES[4] {
        match predicted_ratio(kernel, shape, d) {
            Some(r) if r < SPARSE_MAX_RATIO => d += 0.001,
            _ => break,
        }
    }
    d
}
