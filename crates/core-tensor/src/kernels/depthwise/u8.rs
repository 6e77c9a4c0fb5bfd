//! int8 depthwise 2-D convolution, NCHW, one filter per channel: u8
//! activations, i8 weights, exact i32 sums requantized to u8 per channel
//! (the `QLinearConv` of a depthwise layer).
//!
//! Kernel name: `u8i8-dwconv-<isa>` (`u8i8-dwconv-avx512`); the reference
//! is `u8i8-dwconv-scalar` ([`depthwise_u8i8_reference`]).
//!
//! A depthwise layer has one input channel per output: as a GEMM (what the
//! general int8 convolution does) every product is one output row deep and
//! nine taps long, all packing and no arithmetic. Here each channel's input
//! is first copied once as `x - x_zero` in i16, zero-padded and split into
//! `stride²` phases (even and odd rows and columns for stride 2), so that
//! each filter tap reads one contiguous run over the whole output plane —
//! computed `kernel - 1` columns too wide, the extra columns dropped —
//! `sum += x' · (w - w_zero)` in i32, with no edge cases and long vectors
//! even for 7×7 planes. The plane goes 64 outputs at a time through every
//! tap, the sums in registers. The sums are then requantized to u8. The
//! loops are plain Rust compiled once per tier ([`run_on`]), which
//! vectorises them.

use super::{DepthwiseGeometry, check_len_of};
use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::qgemm::Requantize;
use crate::kernels::qgemm::epilogue::requantize_one;
use crate::kernels::simd::{Simd, SimdKernel, run_on};

const NAME: &str = "u8i8-dwconv";

/// Wide outputs summed at a time, in registers (four AVX-512 vectors).
pub(super) const CHUNK: usize = 64;

/// The most taps whose sum is exact in i32: each product of `x - x_zero`
/// and `w - w_zero` is at most 255 · 255 in magnitude.
pub const MAX_TAPS: usize = (i32::MAX / (255 * 255)) as usize;

/// The name of the int8 depthwise kernel on tier `isa`: `u8i8-dwconv-avx2`.
pub fn kernel_name_u8i8(isa: Isa) -> String {
    format!("{NAME}-{isa}")
}

/// The quantized operands of one int8 depthwise call.
#[derive(Clone, Copy, Debug)]
pub struct DepthwiseU8I8<'a> {
    /// The channels' input planes one after the other.
    pub input: &'a [u8],
    /// The input's zero point.
    pub input_zero: u8,
    /// One `kernel × kernel` filter per channel.
    pub weights: &'a [i8],
    /// The weights' zero points: one for all channels or one per channel.
    pub weight_zeros: &'a [i8],
    /// Per channel (its columns are the channels): multiplier, i32 bias,
    /// output zero point and clamp range.
    pub requantize: &'a Requantize,
}

impl DepthwiseU8I8<'_> {
    /// The channel count, after checking every length against `geometry`
    /// and `output`.
    fn check(&self, geometry: &DepthwiseGeometry, output: &[u8]) -> Result<usize, TensorError> {
        let taps = geometry.kernel.checked_mul(geometry.kernel).ok_or(
            TensorError::InvalidKernelArguments {
                kernel: NAME,
                reason: "the filter size overflows",
            },
        )?;
        if taps == 0 || geometry.stride == 0 {
            return Err(TensorError::InvalidKernelArguments {
                kernel: NAME,
                reason: "the filter size and the stride must be positive",
            });
        }
        if taps > MAX_TAPS {
            return Err(TensorError::InvalidKernelArguments {
                kernel: NAME,
                reason: "the filter has too many taps for exact i32 sums",
            });
        }
        let planes = self.weights.len() / taps;
        check_len_of(1, planes, Some(taps), self.weights.len(), NAME)?;
        check_len_of(1, planes, geometry.input_len(), self.input.len(), NAME)?;
        check_len_of(1, planes, geometry.output_len(), output.len(), NAME)?;
        if self.weight_zeros.len() != 1 && self.weight_zeros.len() != planes {
            return Err(TensorError::InvalidQuantization {
                reason: format!(
                    "{} weight zero points for {planes} channels",
                    self.weight_zeros.len()
                ),
            });
        }
        self.requantize.check(planes)?;
        Ok(planes)
    }

    fn weight_zero(&self, channel: usize) -> i32 {
        i32::from(match self.weight_zeros {
            [zero] => *zero,
            zeros => zeros[channel],
        })
    }
}

/// Depthwise convolution of every channel of `operands` into `output`
/// (`geometry.output` values per channel), requantized to u8.
///
/// Fails when the lengths do not match the geometry and channel count, the
/// zero points or requantization do not have one entry (or one per
/// channel), or this CPU lacks the tier. Any square filter and stride work.
pub fn depthwise_u8i8(
    isa: Isa,
    geometry: &DepthwiseGeometry,
    operands: DepthwiseU8I8<'_>,
    output: &mut [u8],
) -> Result<(), TensorError> {
    let planes = operands.check(geometry, output)?;
    if planes == 0 || output.is_empty() {
        return Ok(());
    }
    run_on(
        isa,
        RowKernel {
            geometry,
            operands,
            output,
        },
    )
}

/// [`depthwise_u8i8`] as a kernel of the SIMD dispatcher.
struct RowKernel<'a> {
    geometry: &'a DepthwiseGeometry,
    operands: DepthwiseU8I8<'a>,
    output: &'a mut [u8],
}

impl SimdKernel for RowKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _s: S) {
        let paired = pairs_taps(S::ISA);
        let g = self.geometry;
        let k = g.kernel;
        let ((ih, iw), (oh, ow)) = (g.input, g.output);
        let mut phases = Phases::new(g);
        let width = phases.width;
        // Sums over the "wide" output: `width` columns per row, of which
        // the first `ow` are outputs; whole chunks, the extra ones unused.
        let mut sums = vec![0i32; phases.chunked_span()];
        let mut wide = vec![0u8; sums.len()];
        let mut taps = TapPairs::new(&phases, k, paired);
        let planes = self.operands.input.chunks_exact(ih * iw);
        let filters = self.operands.weights.chunks_exact(k * k);
        let outputs = self.output.chunks_exact_mut(oh * ow);
        for (c, ((plane, filter), out)) in planes.zip(filters).zip(outputs).enumerate() {
            phases.fill(plane, self.operands.input_zero);
            taps.set_weights(filter, self.operands.weight_zero(c));
            // A chunk of outputs at a time through every tap, the sums in
            // registers: one store per output instead of one per tap.
            for (index, chunk) in sums.chunks_exact_mut(CHUNK).enumerate() {
                taps.sum_chunk(S::ISA, &phases, index * CHUNK, chunk);
            }
            let (multiplier, bias, zero, range) = self.operands.requantize.channel(c);
            // The whole wide span in one loop (rows are short: 7 to 112
            // outputs), then the `ow` outputs of each row copied out.
            for (o, &sum) in wide.iter_mut().zip(&sums) {
                *o = requantize_one(sum.saturating_add(bias), multiplier, zero, range);
            }
            for (out_row, wide_row) in out.chunks_exact_mut(ow).zip(wide.chunks(width)) {
                out_row.copy_from_slice(&wide_row[..ow]);
            }
        }
    }
}

/// One channel's input as the inner loop reads it: `x - x_zero` in i16,
/// zero-padded, and split into `stride × stride` phases (rows and columns
/// `p, p + stride, …`), each `height × width`. Output `(oy, ox)` reads tap
/// `(ky, kx)` at phase `(ky % s, kx % s)`, position
/// `(oy + ky / s, ox + kx / s)`: for all outputs at once that is one
/// contiguous run ([`Phases::tap`]) over rows `width` wide.
struct Phases<'g> {
    geometry: &'g DepthwiseGeometry,
    /// Rows of one phase: `oh + (kernel - 1) / stride`.
    height: usize,
    /// Columns of one phase: `ow + (kernel - 1) / stride`.
    width: usize,
    /// `stride²` phases of `height × width` values.
    values: Vec<i16>,
}

impl<'g> Phases<'g> {
    fn new(geometry: &'g DepthwiseGeometry) -> Phases<'g> {
        let (k, s) = (geometry.kernel, geometry.stride);
        let (oh, ow) = geometry.output;
        let (height, width) = (oh + (k - 1) / s, ow + (k - 1) / s);
        Phases {
            geometry,
            height,
            width,
            // Slack after the last phase: the last tap's final chunk reads
            // up to CHUNK values past its span (CHUNK - 1, plus one for the
            // second tap of a pair, `TapPairs`).
            values: vec![0; s * s * height * width + CHUNK + 1],
        }
    }

    /// [`Self::span`] rounded up to whole chunks.
    fn chunked_span(&self) -> usize {
        self.span().div_ceil(CHUNK) * CHUNK
    }

    /// Values one tap reads for every output: `(oh - 1) · width + ow`.
    fn span(&self) -> usize {
        let (oh, ow) = self.geometry.output;
        (oh.max(1) - 1) * self.width + ow
    }

    /// Loads one channel's input `plane`: only the values inside the input
    /// are written, the padding around them is the same for every channel
    /// and stays as [`Phases::new`] zeroed it. Inlined into the tier's
    /// kernel, so that the conversion uses its vectors.
    #[inline(always)]
    fn fill(&mut self, plane: &[u8], zero: u8) {
        let g = self.geometry;
        let ((ih, iw), s) = (g.input, g.stride);
        let zero = i16::from(zero);
        let (height, width) = (self.height, self.width);
        let size = s * s * height * width;
        let phases = self.values[..size].chunks_exact_mut(height * width);
        for (phase, values) in phases.enumerate() {
            let (pr, pc) = (phase / s, phase % s);
            let (first, end) = inside_columns(pc, g.pad.1, s, iw, width);
            for (i, out) in values.chunks_exact_mut(width).enumerate() {
                let Some(row) = (i * s + pr).checked_sub(g.pad.0).filter(|&y| y < ih) else {
                    continue;
                };
                let row = &plane[row * iw..][..iw];
                if first < end {
                    let start = first * s + pc - g.pad.1;
                    let out = &mut out[first..end];
                    if s == 1 {
                        for (o, &x) in out.iter_mut().zip(&row[start..]) {
                            *o = i16::from(x) - zero;
                        }
                    } else if s == 2 {
                        // Every other byte, read as the low byte of
                        // little-endian u16 pairs: contiguous loads, which
                        // vectorise (a strided loop stays scalar).
                        let (pairs, last) = row[start..].as_chunks::<2>();
                        for (o, &pair) in out.iter_mut().zip(pairs) {
                            *o = (u16::from_le_bytes(pair) & 0xff) as i16 - zero;
                        }
                        if let (Some(o), Some(&x)) = (out.get_mut(pairs.len()), last.first()) {
                            *o = i16::from(x) - zero;
                        }
                    } else {
                        for (o, &x) in out.iter_mut().zip(row[start..].iter().step_by(s)) {
                            *o = i16::from(x) - zero;
                        }
                    }
                }
            }
        }
    }

    /// Where tap `(ky, kx)`'s values start: output `(oy, ox)` reads the
    /// value at `oy · width + ox` from there.
    fn tap_start(&self, ky: usize, kx: usize) -> usize {
        let s = self.geometry.stride;
        let phase = (ky % s) * s + kx % s;
        phase * self.height * self.width + (ky / s) * self.width + kx / s
    }

    /// The `CHUNK` values from `start` (a tap's start plus a multiple of
    /// `CHUNK` below [`Self::chunked_span`]: inside the slack).
    #[inline(always)]
    fn chunk_at(&self, start: usize) -> &[i16; CHUNK] {
        let values = &self.values[start..][..CHUNK];
        values.try_into().unwrap_or(&[0; CHUNK])
    }
}

/// A channel's filter tap by tap, `(start, [w, 0])`, or on AVX2 and
/// AVX-512 as pairs of taps `(start, [w_a, w_b])` whose runs are
/// neighbours (`w_b`'s starts at `start + 1`): taps `kx` and `kx + stride`
/// of a filter row, which the phases put side by side, a lone last tap of
/// a row with a zero `w_b`. `pmaddwd` sums both taps of a pair in one
/// instruction (`u8_x86.rs`); NEON's `smlal` multiplies and accumulates by
/// one weight, and the plain loop takes one tap at a time.
struct TapPairs {
    /// `(start, index of w_a, index of w_b)` in the filter.
    layout: Vec<(usize, usize, Option<usize>)>,
    /// `(start, [w_a - w_zero, w_b - w_zero])` of the current channel.
    pairs: Vec<(usize, [i16; 2])>,
}

/// Whether tier `isa` sums taps in pairs ([`TapPairs`]).
fn pairs_taps(isa: Isa) -> bool {
    cfg!(target_arch = "x86_64") && matches!(isa, Isa::Avx2 | Isa::Avx512)
}

impl TapPairs {
    fn new(phases: &Phases<'_>, k: usize, paired: bool) -> TapPairs {
        let s = phases.geometry.stride;
        let mut layout = Vec::with_capacity(k * k);
        for ky in 0..k {
            for first in 0..s.min(k) {
                let row: Vec<usize> = (first..k).step_by(s).collect();
                for taps in row.chunks(if paired { 2 } else { 1 }) {
                    let start = phases.tap_start(ky, taps[0]);
                    let second = taps.get(1).map(|kx| ky * k + kx);
                    layout.push((start, ky * k + taps[0], second));
                }
            }
        }
        TapPairs {
            pairs: vec![(0, [0; 2]); layout.len()],
            layout,
        }
    }

    /// Takes the weights of one channel's `filter`; `|w - w_zero| <= 255`
    /// fits i16.
    fn set_weights(&mut self, filter: &[i8], w_zero: i32) {
        let weight = |i: usize| (i32::from(filter[i]) - w_zero) as i16;
        for (pair, &(start, a, b)) in self.pairs.iter_mut().zip(&self.layout) {
            *pair = (start, [weight(a), b.map_or(0, weight)]);
        }
    }

    /// The sums over every tap of the `CHUNK` wide outputs from `first`.
    #[inline(always)]
    fn sum_chunk(&self, isa: Isa, phases: &Phases<'_>, first: usize, out: &mut [i32]) {
        let Ok(out) = <&mut [i32; CHUNK]>::try_from(out) else {
            return;
        };
        match isa {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the AVX-512 tier's kernel only runs on CPUs that have
            // AVX-512F and BW (`run_on`).
            Isa::Avx512 => unsafe {
                super::u8_x86::sum_pairs_avx512(&phases.values, &self.pairs, first, out)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: the AVX2 tier's kernel only runs on CPUs with AVX2.
            Isa::Avx2 => unsafe {
                super::u8_x86::sum_pairs_avx2(&phases.values, &self.pairs, first, out)
            },
            _ => {
                let mut acc = [0i32; CHUNK];
                for &(start, [w, _]) in &self.pairs {
                    let w = i32::from(w);
                    for (a, &x) in acc.iter_mut().zip(phases.chunk_at(start + first)) {
                        *a += i32::from(x) * w;
                    }
                }
                *out = acc;
            }
        }
    }
}

/// The output columns `first..end` whose tap `kx` reads inside a row of
/// `width` inputs: `0 <= ox·stride + kx - pad < width`.
fn inside_columns(
    kx: usize,
    pad: usize,
    stride: usize,
    width: usize,
    outputs: usize,
) -> (usize, usize) {
    let first = pad.saturating_sub(kx).div_ceil(stride);
    // Largest ox with ox·stride + kx <= width - 1 + pad.
    let end = match (width + pad).checked_sub(kx + 1) {
        Some(limit) => (limit / stride + 1).min(outputs),
        None => 0,
    };
    (first.min(end), end)
}

/// `u8i8-dwconv-scalar`: the reference, a plain loop over every output and
/// tap with bounds checks, in i64, then [`Requantize`]'s reference form.
/// Same arguments and errors as [`depthwise_u8i8`].
pub fn depthwise_u8i8_reference(
    geometry: &DepthwiseGeometry,
    operands: DepthwiseU8I8<'_>,
    output: &mut [u8],
) -> Result<(), TensorError> {
    let planes = operands.check(geometry, output)?;
    let (k, stride) = (geometry.kernel, geometry.stride);
    let ((ih, iw), (oh, ow)) = (geometry.input, geometry.output);
    let (pad_top, pad_left) = (geometry.pad.0 as i64, geometry.pad.1 as i64);
    for c in 0..planes {
        let w_zero = i64::from(operands.weight_zero(c));
        for oy in 0..oh {
            for ox in 0..ow {
                let mut sum = 0i64;
                for ky in 0..k {
                    for kx in 0..k {
                        let iy = (oy * stride + ky) as i64 - pad_top;
                        let ix = (ox * stride + kx) as i64 - pad_left;
                        if iy < 0 || ix < 0 || iy >= ih as i64 || ix >= iw as i64 {
                            continue;
                        }
                        let x = operands.input[(c * ih + iy as usize) * iw + ix as usize];
                        let w = operands.weights[c * k * k + ky * k + kx];
                        sum += (i64::from(x) - i64::from(operands.input_zero))
                            * (i64::from(w) - w_zero);
                    }
                }
                let sum = sum.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32;
                output[(c * oh + oy) * ow + ox] = operands.requantize.apply(sum, c);
            }
        }
    }
    Ok(())
}
