//! `--low-rank R|energy:E`: factorizes the weights of fully connected and
//! convolution layers by truncated SVD (`docs/low-rank.md`).
//!
//! A layer with an `M × K` weight `W` (`Gemm`/`MatMul` with a constant
//! weight, or a `Conv` with `W` seen as `M × (C·kh·kw)`, one group) becomes
//! two ordinary nodes holding `W ≈ U · V` (singular values folded into `U`):
//!
//! * `Gemm(A, W)` → `Gemm(A, V, transB=1)` → `Gemm(T, U, C, transB=1)`;
//! * `MatMul(A, W)` → `MatMul(A, Vᵀ)` → `MatMul(T, Uᵀ)`;
//! * a `kh×kw` `Conv` with `M` outputs → a `kh×kw` `Conv` with `r` outputs
//!   and no bias → a `1×1` `Conv` with `M` outputs, the bias, residual and
//!   activation.
//!
//! The second node keeps the layer's bias, residual, activation and output
//! value. A layer is factorized only where it saves work:
//! `r · (M + K) < M · K`; otherwise it is kept and the report says why.
//! The pass runs after BatchNorm folding and epilogue fusion and before
//! quantization, so `--quantize` handles each factor like any layer; then
//! [`fuse_pairs`] turns each fully connected pair that is still f32 into one
//! `LowRankLinear` node (op 211, the fused kernel).

mod fuse;
mod rewrite;
mod svd;
#[cfg(test)]
mod tests;

pub(crate) use fuse::fuse_pairs;
pub(crate) use rewrite::apply;

use std::fmt;
use std::str::FromStr;

/// How much of each weight's rank `--low-rank` keeps.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum LowRank {
    /// `R` in (0, 1]: keep `ceil(R · full rank)` singular values.
    Fraction(f32),
    /// `E` in (0, 1]: keep the fewest singular values whose squares hold at
    /// least that share of their total (the "energy").
    Energy(f32),
}

impl fmt::Display for LowRank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LowRank::Fraction(r) => write!(f, "{r}"),
            LowRank::Energy(e) => write!(f, "energy:{e}"),
        }
    }
}

impl FromStr for LowRank {
    type Err = String;

    /// `R` (a fraction of the full rank) or `energy:E`, both in (0, 1].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (energy, number) = match text.strip_prefix("energy:") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let value: f32 = number
            .parse()
            .map_err(|_| format!("`{text}` is not R or energy:E with a number in (0, 1]"))?;
        if !(value > 0.0 && value <= 1.0) {
            return Err(format!("`{text}`: the value must be in (0, 1]"));
        }
        Ok(if energy {
            LowRank::Energy(value)
        } else {
            LowRank::Fraction(value)
        })
    }
}

/// What `--low-rank` did to one layer with a constant weight.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct LowRankLayer {
    /// The node's name.
    pub name: String,
    /// Its operator (`Gemm`, `MatMul`, `Conv`).
    pub op: String,
    /// Rank kept (the rank that was considered when the layer was kept).
    pub rank: usize,
    /// Full rank `min(M, K)`.
    pub full_rank: usize,
    /// Weight and bias values before.
    pub params_before: u64,
    /// Weight and bias values after (equal when kept).
    pub params_after: u64,
    /// Bytes of the weights and bias before (f32).
    pub bytes_before: u64,
    /// Bytes after.
    pub bytes_after: u64,
    /// Floating-point operations (2 per multiply-add) of one inference at
    /// batch 1 (per row, or per output pixel when the spatial size is
    /// unknown) before.
    pub flops_before: u64,
    /// The same after.
    pub flops_after: u64,
    /// Share of the squared singular values kept, when the SVD was computed.
    pub energy_kept: Option<f64>,
    /// Why the layer was not factorized; `None` when it was.
    pub kept: Option<String>,
}

impl LowRankLayer {
    /// True when the layer was factorized.
    pub fn factorized(&self) -> bool {
        self.kept.is_none()
    }
}

/// The per-layer low-rank table and its totals, in the style of the
/// quantization table.
pub(crate) fn write_table(
    f: &mut fmt::Formatter<'_>,
    mode: LowRank,
    layers: &[LowRankLayer],
) -> fmt::Result {
    writeln!(f, "low-rank {mode}:")?;
    writeln!(
        f,
        "  {:<24} {:<6} {:>11} {:>9} {:>9} {:>12} {:>12} {:>12} {:>12} {:>7}  note",
        "layer",
        "op",
        "rank",
        "params",
        "after",
        "bytes before",
        "bytes after",
        "FLOPs before",
        "FLOPs after",
        "energy"
    )?;
    for l in layers {
        let energy = l
            .energy_kept
            .map_or_else(|| "-".to_string(), |e| format!("{:.4}", e));
        let note = match &l.kept {
            Some(reason) => format!("kept: {reason}"),
            None => "factorized".to_string(),
        };
        writeln!(
            f,
            "  {:<24} {:<6} {:>11} {:>9} {:>9} {:>12} {:>12} {:>12} {:>12} {:>7}  {note}",
            l.name,
            l.op,
            format!("{}/{}", l.rank, l.full_rank),
            l.params_before,
            l.params_after,
            l.bytes_before,
            l.bytes_after,
            l.flops_before,
            l.flops_after,
            energy
        )?;
    }
    let sum = |get: fn(&LowRankLayer) -> u64| layers.iter().map(get).sum::<u64>();
    let (bytes_before, bytes_after) = (sum(|l| l.bytes_before), sum(|l| l.bytes_after));
    let (flops_before, flops_after) = (sum(|l| l.flops_before), sum(|l| l.flops_after));
    let ratio = |a: u64, b: u64| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    writeln!(
        f,
        "  total: {} of {} layer(s) factorized, weights {bytes_before} -> {bytes_after} bytes ({:.2}x smaller), FLOPs {flops_before} -> {flops_after} ({:.2}x fewer)",
        layers.iter().filter(|l| l.factorized()).count(),
        layers.len(),
        ratio(bytes_before, bytes_after),
        ratio(flops_before, flops_after),
    )
}
