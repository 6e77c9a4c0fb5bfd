//! The loops pocketnn ran before its SIMD kernels, copied from the ops
//! crate at commit 0314dfd (the plain scalar Rust the compiler
//! autovectorises for the baseline target), so that a bench reports the
//! speedup of each kernel over them within one run.

pub mod unary {
    //! `ops/src/elementwise/math.rs` and the unary loops of `unary.rs`.

    const ERF_SMALL: [f64; 8] = [
        1.128_379_167_062_360_6,
        -0.376_126_384_759_913_9,
        0.112_837_826_220_648_17,
        -0.026_865_438_310_722_536,
        0.005_221_053_413_221_886,
        -0.000_848_439_656_161_803_4,
        0.000_112_682_539_800_971_2,
        -9.673_591_071_686_486e-6,
    ];
    const ERFC_LARGE: [f64; 13] = [
        0.210_806_364_275_941_04,
        -0.111_521_004_695_382_08,
        0.056_110_472_584_286_93,
        -0.027_005_725_289_739_98,
        0.012_489_703_671_465_863,
        -0.005_567_332_909_517_806,
        0.002_401_701_695_442_436_7,
        -0.001_017_117_774_343_870_8,
        0.000_414_508_097_947_036_3,
        -0.000_143_948_597_845_603_5,
        5.494_724_808_078_708e-5,
        -3.692_872_359_102_761_4e-5,
        1.381_908_906_009_815_6e-5,
    ];
    const ERFC_TAIL: [f64; 6] = [
        0.564_189_559_906_176_4,
        -0.282_088_962_357_264_44,
        0.422_588_666_466_005_24,
        -1.031_429_265_497_247_4,
        3.007_809_354_815_53,
        -6.279_102_045_342_119,
    ];

    #[inline(always)]
    fn polynomial(coefficients: &[f64], x: f64) -> f64 {
        coefficients.iter().rev().fold(0.0, |acc, &c| acc * x + c)
    }

    #[inline(always)]
    fn erf_small(x: f64) -> f64 {
        x * polynomial(&ERF_SMALL, x * x)
    }

    #[inline(always)]
    fn erfc_positive(x: f64) -> f64 {
        if x < 1.0 {
            1.0 - erf_small(x)
        } else if x < 4.0 {
            (-x * x).exp() * polynomial(&ERFC_LARGE, (2.0 * x - 5.0) / 3.0)
        } else if x < 10.0 {
            (-x * x).exp() * polynomial(&ERFC_TAIL, 1.0 / (x * x)) / x
        } else if x >= 10.0 {
            0.0
        } else {
            x
        }
    }

    /// The old `Sigmoid`.
    #[inline(always)]
    pub fn sigmoid(x: f32) -> f32 {
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }

    /// The old `Gelu` (exact form).
    #[inline(always)]
    pub fn gelu(x: f32) -> f32 {
        let x = f64::from(x);
        let v = x * std::f64::consts::FRAC_1_SQRT_2;
        let y = if x >= 0.0 {
            let erf = if v < 1.0 {
                erf_small(v)
            } else {
                1.0 - erfc_positive(v)
            };
            0.5 * x * (1.0 + erf)
        } else {
            0.5 * x * erfc_positive(-v)
        };
        y as f32
    }

    /// The old `Gelu` (tanh form).
    #[inline(always)]
    pub fn gelu_tanh(x: f32) -> f32 {
        let x = f64::from(x);
        let u = 2.0 * (2.0 / std::f64::consts::PI).sqrt() * (x + 0.044_715 * x * x * x);
        let sigmoid = if u >= 0.0 {
            1.0 / (1.0 + (-u).exp())
        } else {
            let e = u.exp();
            e / (1.0 + e)
        };
        (x * sigmoid) as f32
    }

    /// The old `HardSwish`.
    #[inline(always)]
    pub fn hard_swish(x: f32) -> f32 {
        x * (x / 6.0 + 0.5).clamp(0.0, 1.0)
    }

    /// The old loop: `y[i] = f(x[i])`.
    #[inline(always)]
    pub fn map(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
        for (o, &v) in y.iter_mut().zip(x) {
            *o = f(v);
        }
    }
}

pub mod depthwise {
    //! The direct depthwise loop of `ops/src/nn/depthwise.rs`: per tap, a
    //! scaled strided input row added to the output rows it reaches.

    fn valid_range(
        first: usize,
        len: usize,
        stride: usize,
        offset: i64,
        size: usize,
    ) -> (usize, usize) {
        let s = stride as i64;
        let size = size as i64;
        let lo_index = if offset >= 0 { 0 } else { (s - 1 - offset) / s };
        let hi_index = if size <= offset {
            0
        } else {
            (size - offset + s - 1) / s
        };
        let first = first as i64;
        let len = len as i64;
        let lo = (lo_index - first).clamp(0, len);
        let hi = (hi_index - first).clamp(lo, len);
        (lo as usize, hi as usize)
    }

    #[inline]
    fn accumulate_row(y_row: &mut [f32], x_row: &[f32], weight: f32, stride: usize) {
        if stride == 1 {
            let x_row = &x_row[..y_row.len()];
            for (o, &v) in y_row.iter_mut().zip(x_row) {
                *o += weight * v;
            }
        } else {
            for (o, &v) in y_row.iter_mut().zip(x_row.iter().step_by(stride)) {
                *o += weight * v;
            }
        }
    }

    /// `y = conv(x, w) + bias` over `channels` planes (square filter `k`,
    /// same stride and padding on both axes).
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        channels: usize,
        k: usize,
        stride: usize,
        (in_h, in_w): (usize, usize),
        (out_h, out_w): (usize, usize),
        (pad_top, pad_left): (usize, usize),
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        y: &mut [f32],
    ) {
        let (in_plane, out_plane) = (in_h * in_w, out_h * out_w);
        for c in 0..channels {
            let x_c = &x[c * in_plane..][..in_plane];
            let w_c = &w[c * k * k..][..k * k];
            let y_c = &mut y[c * out_plane..][..out_plane];
            y_c.fill(bias[c]);
            for kh in 0..k {
                let offset_h = kh as i64 - pad_top as i64;
                let (oh_lo, oh_hi) = valid_range(0, out_h, stride, offset_h, in_h);
                for kw in 0..k {
                    let weight = w_c[kh * k + kw];
                    let offset_w = kw as i64 - pad_left as i64;
                    let (lo, hi) = valid_range(0, out_w, stride, offset_w, in_w);
                    if hi <= lo {
                        continue;
                    }
                    let first_iw = ((lo * stride) as i64 + offset_w) as usize;
                    for oh in oh_lo..oh_hi {
                        let ih = ((oh * stride) as i64 + offset_h) as usize;
                        let x_row = &x_c[ih * in_w + first_iw..(ih + 1) * in_w];
                        let y_row = &mut y_c[oh * out_w + lo..oh * out_w + hi];
                        accumulate_row(y_row, x_row, weight, stride);
                    }
                }
            }
        }
    }
}

pub mod softmax {
    //! `softmax_row` of `ops/src/elementwise/softmax.rs`: f32 `exp`, sums in
    //! four f64 lanes.

    /// Softmax (or log-softmax) of one contiguous row.
    pub fn row(x: &[f32], y: &mut [f32], log: bool) {
        let max = x.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        let mut lanes = [0.0f64; 4];
        let mut tail = 0.0f64;
        let mut chunks = x.chunks_exact(4);
        let mut out_chunks = y.chunks_exact_mut(4);
        for (chunk, out) in (&mut chunks).zip(&mut out_chunks) {
            for ((lane, o), &v) in lanes.iter_mut().zip(out.iter_mut()).zip(chunk) {
                let e = (v - max).exp();
                *lane += f64::from(e);
                *o = if log { v - max } else { e };
            }
        }
        for (o, &v) in out_chunks
            .into_remainder()
            .iter_mut()
            .zip(chunks.remainder())
        {
            let e = (v - max).exp();
            tail += f64::from(e);
            *o = if log { v - max } else { e };
        }
        let sum = lanes.iter().sum::<f64>() + tail;
        if log {
            let log_sum = sum.ln() as f32;
            for o in y.iter_mut() {
                *o -= log_sum;
            }
        } else {
            let inverse = 1.0 / sum;
            for o in y.iter_mut() {
                *o = (f64::from(*o) * inverse) as f32;
            }
        }
    }
}
