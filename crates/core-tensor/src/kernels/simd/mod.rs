//! One vector of f32 lanes per ISA tier, behind the [`Simd`] trait, and the
//! dispatcher that runs a kernel written once over that trait on a chosen
//! tier ([`run_on`]).
//!
//! The elementwise, depthwise, pooling, softmax and normalisation kernels
//! are written once, generic over `S: Simd`. Each tier implements [`Simd`]
//! in its own file (`scalar.rs`, `sse41.rs`, `avx2.rs`, `avx512.rs`,
//! `neon.rs`) on a zero-sized type that holds the tier's ISA token, so every
//! method is a safe function: holding the token proves the instructions
//! exist. [`run_on`] turns an [`Isa`] into that type (failing with
//! [`TensorError::IsaUnavailable`] when the CPU lacks the tier) and calls the
//! kernel inside a `#[target_feature]` trampoline; the kernel and every
//! trait method are `#[inline(always)]`, so the whole kernel is compiled for
//! the tier's instruction set.
//!
//! Semantics every implementation follows exactly (the tests rely on them):
//! * `min(a, b)` is `a < b ? a : b` and `max(a, b)` is `a > b ? a : b`, so a
//!   NaN in either operand gives `b`, and `max(0, -0)` is `-0`;
//! * `mul_add(a, b, c)` is `a·b + c`, fused (one rounding) when `FMA`;
//! * `pow2i(n)` is `2^n` for integral `n` in `-126..=127`;
//! * `load` / `store` take slices of at least `LANES` values (shorter
//!   slices panic; the kernels never pass one).

use crate::error::TensorError;
use crate::isa::Isa;

pub(crate) mod scalar;

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512;
#[cfg(target_arch = "aarch64")]
pub(crate) mod neon;
#[cfg(target_arch = "x86_64")]
pub(crate) mod sse41;

#[cfg(test)]
mod tests;

/// The most lanes of any tier (AVX-512: 16 f32).
pub(crate) const MAX_LANES: usize = 16;

/// One SIMD register of f32 lanes on one tier (see the module docs for the
/// exact semantics of each operation).
pub(crate) trait Simd: Copy + Send + Sync {
    /// The tier.
    const ISA: Isa;
    /// f32 lanes per vector (at most [`MAX_LANES`]).
    const LANES: usize;
    /// True when `mul_add` rounds once.
    const FMA: bool;
    /// A vector of `LANES` f32.
    type F: Copy;
    /// The result of a lane-wise comparison.
    type M: Copy;
    /// `LANES` f64 accumulators (sums of widened f32 lanes).
    type D: Copy;

    /// Every lane `value`.
    fn splat(self, value: f32) -> Self::F;
    /// The first `LANES` values of `src`.
    fn load(self, src: &[f32]) -> Self::F;
    /// Stores into the first `LANES` values of `dst`.
    fn store(self, dst: &mut [f32], v: Self::F);
    /// From the first `2·LANES` values of `src`: the even-indexed ones and
    /// the odd-indexed ones (`src[2i]`, `src[2i + 1]`).
    fn load_even_odd(self, src: &[f32]) -> (Self::F, Self::F);

    /// `a + b`.
    fn add(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a - b`.
    fn sub(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a · b`.
    fn mul(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a / b` (IEEE division).
    fn div(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a · b + c`, fused when `FMA`.
    fn mul_add(self, a: Self::F, b: Self::F, c: Self::F) -> Self::F;
    /// `a < b ? a : b`.
    fn min(self, a: Self::F, b: Self::F) -> Self::F;
    /// `a > b ? a : b`.
    fn max(self, a: Self::F, b: Self::F) -> Self::F;
    /// `|a|` (clears the sign bit).
    fn abs(self, a: Self::F) -> Self::F;
    /// `|magnitude|` with the sign bit of `sign`.
    fn copy_sign(self, magnitude: Self::F, sign: Self::F) -> Self::F;
    /// `2^n` for integral `n` in `-126..=127`.
    fn pow2i(self, n: Self::F) -> Self::F;

    /// `a < b` (false when either is NaN).
    fn lt(self, a: Self::F, b: Self::F) -> Self::M;
    /// `a == b` (false when either is NaN).
    fn eq(self, a: Self::F, b: Self::F) -> Self::M;
    /// True where `a` is NaN.
    fn is_nan(self, a: Self::F) -> Self::M;
    /// `a || b`.
    fn or(self, a: Self::M, b: Self::M) -> Self::M;
    /// `a && b`.
    fn and(self, a: Self::M, b: Self::M) -> Self::M;
    /// `mask ? a : b`, lane by lane.
    fn select(self, mask: Self::M, a: Self::F, b: Self::F) -> Self::F;

    /// f64 accumulators, all zero.
    fn wide_zero(self) -> Self::D;
    /// `acc + v`, each lane widened to f64 (exact).
    fn wide_add(self, acc: Self::D, v: Self::F) -> Self::D;
    /// The sum of the accumulators.
    fn wide_sum(self, acc: Self::D) -> f64;

    /// Runs `kernel` on this tier (from inside generic code: re-enters the
    /// tier's `#[target_feature]` trampoline, so `kernel` is compiled for it).
    fn run<K: SimdKernel>(self, kernel: K) -> K::Output;
}

/// A kernel written once over [`Simd`]: [`run_on`] calls `run` with the
/// chosen tier's vector type.
pub(crate) trait SimdKernel {
    /// What the kernel returns.
    type Output;
    /// The kernel body; implementations must be `#[inline(always)]` so that
    /// they are compiled inside the tier's trampoline.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// Runs `kernel` with the vectors of tier `isa`, or fails when this CPU
/// lacks the tier.
pub(crate) fn run_on<K: SimdKernel>(isa: Isa, kernel: K) -> Result<K::Output, TensorError> {
    // Built only on failure: this runs once per tile of some kernels, and
    // making and dropping an unused error there cost a few percent.
    let unavailable = || TensorError::IsaUnavailable { isa };
    Ok(match isa {
        Isa::Scalar => kernel.run(scalar::Scalar),
        #[cfg(target_arch = "x86_64")]
        Isa::Sse41 => sse41::Sse41::new().ok_or_else(unavailable)?.run(kernel),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => avx2::Avx2::new().ok_or_else(unavailable)?.run(kernel),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => avx512::Avx512::new().ok_or_else(unavailable)?.run(kernel),
        #[cfg(target_arch = "aarch64")]
        Isa::Neon => neon::Neon::new().ok_or_else(unavailable)?.run(kernel),
        #[allow(unreachable_patterns)]
        _ => return Err(unavailable()),
    })
}

/// Loads `src` (at most `LANES` values) into a vector whose other lanes are
/// `fill`.
#[inline(always)]
pub(crate) fn load_partial<S: Simd>(s: S, src: &[f32], fill: f32) -> S::F {
    let mut buffer = [fill; MAX_LANES];
    buffer[..src.len()].copy_from_slice(src);
    s.load(&buffer)
}

/// Stores the first `dst.len()` (at most `LANES`) lanes of `v` into `dst`.
#[inline(always)]
pub(crate) fn store_partial<S: Simd>(s: S, dst: &mut [f32], v: S::F) {
    let mut buffer = [0.0; MAX_LANES];
    s.store(&mut buffer, v);
    let len = dst.len();
    dst.copy_from_slice(&buffer[..len]);
}

/// `dst[i] = f(src[i])` over equally long slices, `LANES` at a time, the
/// tail through a partial vector (whose unused lanes hold `fill`).
#[inline(always)]
pub(crate) fn map<S: Simd>(
    s: S,
    src: &[f32],
    dst: &mut [f32],
    fill: f32,
    f: impl Fn(S::F) -> S::F,
) {
    let lanes = S::LANES;
    let len = src.len().min(dst.len());
    let (src, dst) = (&src[..len], &mut dst[..len]);
    let body = len - len % lanes;
    for (x, y) in src[..body]
        .chunks_exact(lanes)
        .zip(dst[..body].chunks_exact_mut(lanes))
    {
        s.store(y, f(s.load(x)));
    }
    if body < len {
        let v = f(load_partial(s, &src[body..], fill));
        store_partial(s, &mut dst[body..], v);
    }
}

/// `data[i] = f(data[i])`, like [`map`] in place.
#[inline(always)]
pub(crate) fn map_in_place<S: Simd>(s: S, data: &mut [f32], fill: f32, f: impl Fn(S::F) -> S::F) {
    let lanes = S::LANES;
    let len = data.len();
    let body = len - len % lanes;
    for chunk in data[..body].chunks_exact_mut(lanes) {
        let v = f(s.load(chunk));
        s.store(chunk, v);
    }
    if body < len {
        let v = f(load_partial(s, &data[body..], fill));
        store_partial(s, &mut data[body..], v);
    }
}

/// `a · b` as an unevaluated sum `hi + lo` with `hi = fl(a·b)` and `lo` its
/// rounding error (exact when no intermediate overflows or underflows; with
/// FMA one fused operation, else Dekker's product over Veltkamp halves,
/// valid for `|a|, |b| < 2^100`).
#[inline(always)]
pub(crate) fn two_product<S: Simd>(s: S, a: S::F, b: S::F) -> (S::F, S::F) {
    let hi = s.mul(a, b);
    if S::FMA {
        let neg_hi = s.sub(s.splat(0.0), hi);
        return (hi, s.mul_add(a, b, neg_hi));
    }
    let (a_hi, a_lo) = split(s, a);
    let (b_hi, b_lo) = split(s, b);
    let err = s.sub(s.mul(a_hi, b_hi), hi);
    let err = s.add(err, s.mul(a_hi, b_lo));
    let err = s.add(err, s.mul(a_lo, b_hi));
    (hi, s.add(err, s.mul(a_lo, b_lo)))
}

/// Veltkamp's split of `a` into a 12-bit high part and the exact rest.
#[inline(always)]
fn split<S: Simd>(s: S, a: S::F) -> (S::F, S::F) {
    let c = s.mul(s.splat(4097.0), a);
    let hi = s.sub(c, s.sub(c, a));
    (hi, s.sub(a, hi))
}

/// `a + b` as `hi + lo` with `hi = fl(a + b)` and `lo` its rounding error
/// (Knuth's two-sum, exact for finite values).
#[inline(always)]
pub(crate) fn two_sum<S: Simd>(s: S, a: S::F, b: S::F) -> (S::F, S::F) {
    let hi = s.add(a, b);
    let b_virtual = s.sub(hi, a);
    let a_virtual = s.sub(hi, b_virtual);
    let lo = s.add(s.sub(a, a_virtual), s.sub(b, b_virtual));
    (hi, lo)
}

/// The largest lane (`max` semantics, lanes folded in order).
#[inline(always)]
pub(crate) fn reduce_max<S: Simd>(s: S, v: S::F) -> f32 {
    let mut buffer = [0.0; MAX_LANES];
    s.store(&mut buffer, v);
    buffer[1..S::LANES]
        .iter()
        .fold(buffer[0], |m, &x| if m > x { m } else { x })
}
