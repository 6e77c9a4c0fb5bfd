//! 2-D (and 1-D, as height 1) max and average pooling: the common case,
//! with plain nested loops over each window's valid taps.

use super::window::{Axis, scaled, valid_range};

/// Input coordinate of tap 0 of window `o` and the range of valid taps.
#[inline]
fn taps(a: &Axis, o: usize) -> (i64, usize, usize) {
    let start = scaled(o, a.stride) - a.pad_begin;
    let (lo, hi) = valid_range(0, a.kernel, a.dilation, start, a.input);
    (start, lo, hi)
}

/// The windows `lo..hi` whose taps all fall inside the input (their tap
/// ranges need no computing, which saves two divisions per output).
fn interior(a: &Axis) -> (usize, usize) {
    let last_tap = scaled(a.kernel - 1, a.dilation);
    let (first_lo, first_hi) = valid_range(0, a.output, a.stride, -a.pad_begin, a.input);
    let (last_lo, last_hi) = valid_range(0, a.output, a.stride, last_tap - a.pad_begin, a.input);
    let lo = first_lo.max(last_lo);
    (lo, first_hi.min(last_hi).max(lo))
}

/// Tap-0 coordinate and valid taps of window `o` along `a`, whose
/// fully-inside windows are `inside`.
#[inline]
fn taps_fast(a: &Axis, inside: (usize, usize), o: usize) -> (i64, usize, usize) {
    if o >= inside.0 && o < inside.1 {
        (scaled(o, a.stride) - a.pad_begin, 0, a.kernel)
    } else {
        taps(a, o)
    }
}

/// Taps of window `o` inside the padded input (for `count_include_pad`).
#[inline]
fn padded_taps(a: &Axis, start: i64) -> usize {
    let padded = (a.input as i64 + a.pad_begin + a.pad_end) as usize;
    let (lo, hi) = valid_range(0, a.kernel, a.dilation, start + a.pad_begin, padded);
    hi - lo
}

/// A value max pooling compares: f32 (where NaN never wins), or the
/// quantized u8 / i8 (whose maximum is the quantized maximum).
pub(crate) trait PoolValue: Copy + PartialOrd {
    /// Below or equal to every value (the result of an empty window).
    const LOWEST: Self;
    /// True for NaN.
    fn is_nan(self) -> bool;
}

impl PoolValue for f32 {
    const LOWEST: f32 = f32::NEG_INFINITY;
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
}

impl PoolValue for u8 {
    const LOWEST: u8 = u8::MIN;
    fn is_nan(self) -> bool {
        false
    }
}

impl PoolValue for i8 {
    const LOWEST: i8 = i8::MIN;
    fn is_nan(self) -> bool {
        false
    }
}

/// Max pooling of `planes` planes; `indices` (flat over the whole input,
/// spatial part column-major when asked) when given.
pub(crate) fn max_pool<T: PoolValue>(
    planes: usize,
    [h, w]: &[Axis; 2],
    x: &[T],
    y: &mut [T],
    mut indices: Option<&mut [i64]>,
    column_major: bool,
) {
    let (in_plane, out_plane) = (h.input * w.input, h.output * w.output);
    if indices.is_none() && is_2x2_stride_2_inside(h) && is_2x2_stride_2_inside(w) {
        max_pool_2x2(planes, [h, w], x, y);
        return;
    }
    let inside = interior(w);
    for p in 0..planes {
        let x_p = &x[p * in_plane..][..in_plane];
        for oh in 0..h.output {
            let (start_h, kh_lo, kh_hi) = taps(h, oh);
            for ow in 0..w.output {
                let (start_w, kw_lo, kw_hi) = taps_fast(w, inside, ow);
                let (mut best, mut best_at) = (T::LOWEST, None);
                for kh in kh_lo..kh_hi {
                    let ih = (start_h + scaled(kh, h.dilation)) as usize;
                    let row = &x_p[ih * w.input..][..w.input];
                    if indices.is_none() {
                        // Branch-free maximum; NaNs never win.
                        for kw in kw_lo..kw_hi {
                            let v = row[(start_w + scaled(kw, w.dilation)) as usize];
                            best = if v > best { v } else { best };
                        }
                        continue;
                    }
                    for kw in kw_lo..kw_hi {
                        let iw = (start_w + scaled(kw, w.dilation)) as usize;
                        let v = row[iw];
                        if v > best || (best_at.is_none() && !v.is_nan()) {
                            best = v;
                            best_at = Some((ih, iw));
                        }
                    }
                }
                let out = p * out_plane + oh * w.output + ow;
                y[out] = best;
                if let Some(indices) = indices.as_deref_mut() {
                    indices[out] = match best_at {
                        Some((ih, iw)) => {
                            let spatial = if column_major {
                                iw * h.input + ih
                            } else {
                                ih * w.input + iw
                            };
                            (p * in_plane + spatial) as i64
                        }
                        None => -1,
                    };
                }
            }
        }
    }
}

/// True when `a` has windows, each 2 taps 2 apart, all inside the input.
fn is_2x2_stride_2_inside(a: &Axis) -> bool {
    let (taps, inside) = (a.kernel == 2 && a.dilation == 1, a.pad_begin == 0);
    taps && inside && a.stride == 2 && a.output > 0 && a.output * 2 <= a.input
}

/// The common 2×2, stride 2 max pooling without padding: each output is
/// the maximum of two pairs of neighbours in two rows, taken in the order
/// of the general loop (so NaNs never win there either).
fn max_pool_2x2<T: PoolValue>(planes: usize, [h, w]: [&Axis; 2], x: &[T], y: &mut [T]) {
    let max = |best: T, v: T| if v > best { v } else { best };
    let (in_plane, out_plane) = (h.input * w.input, h.output * w.output);
    for (x_p, y_p) in x
        .chunks_exact(in_plane)
        .zip(y.chunks_exact_mut(out_plane))
        .take(planes)
    {
        for (oh, y_row) in y_p.chunks_exact_mut(w.output).enumerate() {
            let top = &x_p[2 * oh * w.input..][..2 * w.output];
            let bottom = &x_p[(2 * oh + 1) * w.input..][..2 * w.output];
            for ((out, t), b) in y_row
                .iter_mut()
                .zip(top.chunks_exact(2))
                .zip(bottom.chunks_exact(2))
            {
                *out = max(max(max(max(T::LOWEST, t[0]), t[1]), b[0]), b[1]);
            }
        }
    }
}

/// Average pooling of `planes` planes.
pub(crate) fn average_pool(
    planes: usize,
    [h, w]: &[Axis; 2],
    x: &[f32],
    y: &mut [f32],
    include_pad: bool,
) {
    let in_plane = h.input * w.input;
    let inside = interior(w);
    let mut out = 0;
    for p in 0..planes {
        let x_p = &x[p * in_plane..][..in_plane];
        for oh in 0..h.output {
            let (start_h, kh_lo, kh_hi) = taps(h, oh);
            let rows = if include_pad {
                padded_taps(h, start_h)
            } else {
                kh_hi - kh_lo
            };
            for ow in 0..w.output {
                let (start_w, kw_lo, kw_hi) = taps_fast(w, inside, ow);
                let cols = if include_pad && (ow < inside.0 || ow >= inside.1) {
                    padded_taps(w, start_w)
                } else {
                    kw_hi - kw_lo
                };
                let mut sum = 0.0f32;
                for kh in kh_lo..kh_hi {
                    let ih = (start_h + scaled(kh, h.dilation)) as usize;
                    let row = &x_p[ih * w.input..][..w.input];
                    for kw in kw_lo..kw_hi {
                        sum += row[(start_w + scaled(kw, w.dilation)) as usize];
                    }
                }
                y[out] = sum / (rows * cols) as f32;
                out += 1;
            }
        }
    }
}
