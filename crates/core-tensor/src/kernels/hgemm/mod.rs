//! Half-precision arithmetic GEMM: `f16-gemm-8x8-neonfp16` (ARMv8.2 FP16).
//!
//! `C = A · B` with A and B in f16 and the **sums kept in f16** (`fmla
//! v.8h`), written to C as f32. Twice the multiply-adds per instruction of
//! the f32 kernels, but each of the `k` additions rounds to 11 significant
//! bits: the error bound is about `k · 2⁻¹¹ · Σ|a·b|` instead of
//! `k · 2⁻²⁴ · Σ|a·b|`, and sums beyond ±65504 overflow to infinity. It is
//! therefore never used unless asked for (see `docs/kernels.md`, "native
//! fp16 compute"); the default fp16 path widens f16 weights to f32.
//!
//! Only CPUs with the `fp16` feature ([`Feature::Fp16`]) run it;
//! [`gemm_f16_arith`] returns [`TensorError::KernelUnavailable`] elsewhere.
//! [`gemm_f16_arith_reference`] (exact sums in f64) is the oracle; the
//! tests allow the f16 error bound above.

use crate::error::TensorError;
use crate::features::Feature;
use half::f16;

#[cfg(target_arch = "aarch64")]
mod neon;
#[cfg(test)]
mod tests;

/// The kernel's name.
pub const F16_GEMM_KERNEL: &str = "f16-gemm-8x8-neonfp16";

/// Rows and columns of the register tile.
const TILE: usize = 8;

/// True when this CPU can run [`gemm_f16_arith`].
pub fn is_available() -> bool {
    Feature::Fp16.is_available()
}

fn check_dims(
    a: &[f16],
    b: &[f16],
    c: &[f32],
    (m, k, n): (usize, usize, usize),
) -> Result<(), TensorError> {
    let need = |rows: usize, cols: usize, len: usize| match rows.checked_mul(cols) {
        Some(want) if want == len => Ok(()),
        Some(want) => Err(TensorError::LengthMismatch {
            expected: want,
            actual: len,
        }),
        None => Err(TensorError::ShapeOverflow {
            shape: vec![rows, cols],
        }),
    };
    need(m, k, a.len())?;
    need(k, n, b.len())?;
    need(m, n, c.len())
}

/// `C = A · B`, row-major `A` (m×k), `B` (k×n) and `C` (m×n), with f16
/// products and f16 sums (the result widened to f32).
///
/// Fails when a slice's length is not its shape's, and with
/// [`TensorError::KernelUnavailable`] on a CPU without FP16 arithmetic.
pub fn gemm_f16_arith(
    a: &[f16],
    b: &[f16],
    c: &mut [f32],
    dims: (usize, usize, usize),
) -> Result<(), TensorError> {
    check_dims(a, b, c, dims)?;
    #[cfg(target_arch = "aarch64")]
    if let Some(token) = neon::Fp16Token::new() {
        if dims.1 == 0 {
            c.fill(0.0);
        } else {
            neon::gemm(token, a, b, c, dims);
        }
        return Ok(());
    }
    Err(TensorError::KernelUnavailable {
        kernel: F16_GEMM_KERNEL,
    })
}

/// The oracle: `C = A · B` with exact f64 sums of the f16 values.
pub fn gemm_f16_arith_reference(
    a: &[f16],
    b: &[f16],
    c: &mut [f32],
    dims: (usize, usize, usize),
) -> Result<(), TensorError> {
    check_dims(a, b, c, dims)?;
    let (_, k, n) = dims;
    for (i, row) in c.chunks_exact_mut(n.max(1)).enumerate() {
        for (j, out) in row.iter_mut().enumerate() {
            let sum: f64 = (0..k)
                .map(|p| f64::from(a[i * k + p].to_f32()) * f64::from(b[p * n + j].to_f32()))
                .sum();
            *out = sum as f32;
        }
    }
    Ok(())
}

/// Packs `rows` of a row-major `len`-wide matrix, read as columns when
/// `by_columns`, into `TILE`-wide panels of f16 bits: value `(p, t)` of
/// panel `i` is element `(i·TILE + t, p)` (zero past the end).
#[cfg_attr(not(target_arch = "aarch64"), allow(dead_code))]
fn pack_panels(data: &[f16], (rows, depth): (usize, usize), by_columns: bool) -> Vec<u16> {
    let panels = rows.div_ceil(TILE);
    let mut packed = vec![0u16; panels * depth * TILE];
    for (i, panel) in packed.chunks_exact_mut((depth * TILE).max(1)).enumerate() {
        for (p, group) in panel.chunks_exact_mut(TILE).enumerate() {
            for (t, slot) in group.iter_mut().enumerate() {
                let r = i * TILE + t;
                if r < rows {
                    let index = if by_columns {
                        p * rows + r
                    } else {
                        r * depth + p
                    };
                    *slot = data[index].to_bits();
                }
            }
        }
    }
    packed
}
