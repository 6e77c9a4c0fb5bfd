//! `f32-low-rank-linear-scalar`: the oracle of the low-rank kernel, plain
//! loops with no blocking or packing.

use super::{LowRankFactors, check_len, checked_len};
use crate::error::TensorError;
use crate::kernels::gemm::Epilogue;

/// `Y = epilogue((X · Vᵀ) · Uᵀ)` computed row by row with plain loops
/// (the intermediate of a row, then each output). Slow; the reference for
/// tests. Fails like [`super::low_rank_linear_f32`] on lengths and on an
/// epilogue that does not fit `Y`.
pub fn low_rank_linear_reference(
    factors: &LowRankFactors<'_>,
    x: &[f32],
    rows: usize,
    y: &mut [f32],
    epilogue: &Epilogue<'_>,
) -> Result<(), TensorError> {
    let (k, r, m) = (factors.inputs, factors.rank, factors.outputs);
    check_len(x.len(), checked_len(rows, k)?)?;
    check_len(y.len(), checked_len(rows, m)?)?;
    epilogue.check(rows, m)?;
    let mut t = vec![0.0f32; r];
    for row in 0..rows {
        let x_row = &x[row * k..(row + 1) * k];
        for (j, tj) in t.iter_mut().enumerate() {
            let v_row = &factors.v[j * k..(j + 1) * k];
            *tj = x_row.iter().zip(v_row).map(|(a, b)| a * b).sum();
        }
        let y_row = &mut y[row * m..(row + 1) * m];
        for (i, yi) in y_row.iter_mut().enumerate() {
            let u_row = &factors.u[i * r..(i + 1) * r];
            let product: f32 = t.iter().zip(u_row).map(|(a, b)| a * b).sum();
            let mut addend = 0.0;
            for extra in [epilogue.bias, epilogue.residual].into_iter().flatten() {
                addend += extra.at(row, i);
            }
            *yi = epilogue
                .activation
                .apply_reference(epilogue.alpha * product + epilogue.beta * addend);
        }
    }
    Ok(())
}
