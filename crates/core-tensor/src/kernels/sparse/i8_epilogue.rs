//! Requantization of a run of sums that share one channel (a row of the
//! pointwise product): the arithmetic of
//! [`Requantize`](crate::kernels::qgemm::Requantize) with the channel's
//! parameters hoisted, written as straight-line code that the compiler
//! vectorises when it is compiled for a SIMD tier (through `run_on`).

use crate::kernels::qgemm::Requantize;
use crate::kernels::qgemm::epilogue::requantize_one;
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
        let (multiplier, bias, zero, range) = self.requantize.channel(self.channel);
        for (o, &acc) in self.out.iter_mut().zip(self.sums) {
            *o = requantize_one(acc.saturating_add(bias), multiplier, zero, range);
        }
    }
}
