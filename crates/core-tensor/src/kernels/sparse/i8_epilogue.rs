//! Requantization of a run of sums that share one channel (a row of the
//! pointwise product): the arithmetic of
//! [`Requantize`](crate::kernels::qgemm::Requantize) with the channel's
//! parameters hoisted, written as straight-line i64 code that the compiler
//! vectorises when it is compiled for a SIMD tier (through `run_on`).

use crate::kernels::qgemm::Requantize;
use crate::kernels::simd::{Simd, SimdKernel};

/// `out[i]` = the u8 value of `sums[i]` in channel `channel`.
pub(crate) struct RequantizeRun<'a> {
    pub(crate) requantize: &'a Requantize,
    pub(crate) channel: usize,
    pub(crate) sums: &'a [i32],
    pub(crate) out: &'a mut [u8],
}

impl SimdKernel for RequantizeRun<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _s: S) {
        let (multiplier, bias, zero, (min, max)) = self.requantize.channel(self.channel);
        let (mantissa, shift) = multiplier.parts();
        let half = 1i64 << (shift - 1);
        let (zero, min, max) = (i64::from(zero), i64::from(min), i64::from(max));
        for (o, &acc) in self.out.iter_mut().zip(self.sums) {
            // As `Requantize::apply`: the i32 saturations followed by the
            // final clamp to `min..=max` (inside 0..=255) give the same value
            // as one clamp of the exact i64 result.
            let biased = acc.saturating_add(bias);
            let product = i64::from(biased) * mantissa;
            let floor = product >> shift;
            let remainder = product - (floor << shift);
            let round_up = (remainder > half) | ((remainder == half) & (floor & 1 == 1));
            let rounded = floor + i64::from(round_up);
            *o = (rounded + zero).clamp(min, max) as u8;
        }
    }
}
