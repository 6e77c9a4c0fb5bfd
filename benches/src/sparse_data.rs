//! Deterministic test matrices for the sparse benchmarks (`sparse`,
//! `sparse_density`).

use pocketnn_tensor::kernels::sparse::BlockShape;

/// A deterministic stream of values in `[0, 1)`.
pub struct Stream(pub u64);

impl Stream {
    /// The next value.
    pub fn next_unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A row-major `rows × cols` matrix whose blocks of `shape` are non-zero
/// with probability `density`, their values from `value` (given a draw in
/// `[0, 1)`); the draws come from a [`Stream`] seeded with `seed`.
pub fn with_density<T: Copy + Default>(
    rows: usize,
    cols: usize,
    shape: BlockShape,
    density: f64,
    seed: u64,
    mut value: impl FnMut(f64) -> T,
) -> Vec<T> {
    let mut stream = Stream(seed);
    let (br, bc) = (shape.block_rows(), shape.block_cols());
    let mut dense = vec![T::default(); rows * cols];
    for b in 0..rows.div_ceil(br) {
        for g in 0..cols.div_ceil(bc) {
            if stream.next_unit() >= density {
                continue;
            }
            for r in (b * br..(b + 1) * br).filter(|&r| r < rows) {
                for c in (g * bc..(g + 1) * bc).filter(|&c| c < cols) {
                    dense[r * cols + c] = value(stream.next_unit());
                }
            }
        }
    }
    dense
}

/// A non-zero f32 weight from a draw: `(-0.51, -0.01] ∪ [0.01, 0.51)`.
pub fn f32_value(u: f64) -> f32 {
    (u - 0.5) as f32 + if u < 0.5 { -0.01 } else { 0.01 }
}

/// A non-zero i8 weight from a draw, in `-127..=127`.
pub fn i8_value(u: f64) -> i8 {
    let q = (u * 254.0) as i32 - 127;
    if q == 0 { 1 } else { q as i8 }
}

/// `len` activations in `[-0.5, 0.5)`.
pub fn filled(len: usize, seed: u64) -> Vec<f32> {
    let mut stream = Stream(seed);
    (0..len).map(|_| stream.next_unit() as f32 - 0.5).collect()
}
