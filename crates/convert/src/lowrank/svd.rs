//! Truncated SVD of a weight matrix with faer, and the choice of rank.

use super::LowRank;
use faer::Mat;

/// The SVD `W = U · diag(s) · Vᵀ` of an `m × k` matrix, thin (`min(m, k)`
/// singular triplets), singular values in non-increasing order.
pub(crate) struct Decomposition {
    m: usize,
    k: usize,
    u: Mat<f32>,
    v: Mat<f32>,
    /// The singular values, largest first.
    pub singular: Vec<f32>,
}

/// `U · V` truncated to rank `r`: `u` is `m × r` row-major with the
/// singular values folded in, `v` is `r × k` row-major.
pub(crate) struct Factors {
    pub u: Vec<f32>,
    pub v: Vec<f32>,
}

/// The SVD of `w` (`m × k`, row-major, finite values); `None` when faer's
/// iteration does not converge.
pub(crate) fn decompose(w: &[f32], m: usize, k: usize) -> Option<Decomposition> {
    if w.len() != m.checked_mul(k)? || m == 0 || k == 0 {
        return None;
    }
    let matrix = Mat::from_fn(m, k, |i, j| w[i * k + j]);
    let svd = matrix.thin_svd().ok()?;
    let singular = svd.S().column_vector().iter().copied().collect();
    Some(Decomposition {
        m,
        k,
        u: svd.U().to_owned(),
        v: svd.V().to_owned(),
        singular,
    })
}

impl Decomposition {
    /// The factors of rank `r` (at most the full rank).
    pub(crate) fn truncate(&self, r: usize) -> Factors {
        let r = r.min(self.singular.len());
        let mut u = Vec::with_capacity(self.m * r);
        for i in 0..self.m {
            for j in 0..r {
                u.push(self.u[(i, j)] * self.singular[j]);
            }
        }
        let mut v = Vec::with_capacity(r * self.k);
        for j in 0..r {
            for p in 0..self.k {
                v.push(self.v[(p, j)]);
            }
        }
        Factors { u, v }
    }
}

/// The share of `Σ s²` the largest `r` singular values hold (1 for an
/// all-zero matrix).
pub(crate) fn energy_kept(singular: &[f32], r: usize) -> f64 {
    let squares = singular.iter().map(|&s| f64::from(s) * f64::from(s));
    let total: f64 = squares.clone().sum();
    if total <= 0.0 {
        return 1.0;
    }
    squares.take(r).sum::<f64>() / total
}

/// The rank `mode` keeps of a matrix of full rank `full` (`min(m, k)`):
/// at least 1, at most `full`. `Energy` needs the singular values.
pub(crate) fn rank_for(mode: LowRank, full: usize, singular: Option<&[f32]>) -> usize {
    let rank = match mode {
        // The tolerance keeps 0.3 · 10 (0.30000001 in f32) at 3.
        LowRank::Fraction(fraction) => (f64::from(fraction) * full as f64 - 1e-6).ceil() as usize,
        LowRank::Energy(share) => match singular {
            Some(singular) => {
                let wanted = f64::from(share);
                (1..=singular.len())
                    .find(|&r| energy_kept(singular, r) >= wanted - 1e-12)
                    .unwrap_or(singular.len())
            }
            None => full,
        },
    };
    rank.clamp(1, full.max(1))
}
