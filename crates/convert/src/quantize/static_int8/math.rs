//! The quantization arithmetic of `--quantize int8`: activation parameters
//! from a range, per-channel symmetric weights, i32 biases, and the choice
//! of a clipping range from a histogram (`minmax`, `percentile`, `mse`).

use std::fmt;
use std::str::FromStr;

/// The largest magnitude of a symmetric int8 weight: `[-127, 127]`, so the
/// range is symmetric and `-128` never occurs.
pub(crate) const WEIGHT_MAX: f32 = 127.0;

/// Bins of the activation histograms.
pub(crate) const HISTOGRAM_BINS: usize = 2048;

/// How the activation range of a tensor is chosen from its calibration
/// values.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum CalibrationMethod {
    /// The smallest and largest value seen.
    MinMax,
    /// Clip the given percentage (e.g. 99.99) of the values: the range runs
    /// from the `(100 - p)`-th to the `p`-th percentile.
    Percentile(f64),
    /// The clipping range that minimises the mean squared error between the
    /// values and their quantized form (searched on a histogram); the
    /// default.
    #[default]
    Mse,
}

impl fmt::Display for CalibrationMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalibrationMethod::MinMax => f.write_str("minmax"),
            CalibrationMethod::Percentile(p) => write!(f, "percentile={p}"),
            CalibrationMethod::Mse => f.write_str("mse"),
        }
    }
}

impl FromStr for CalibrationMethod {
    type Err = String;

    /// `minmax`, `mse`, `percentile` (99.99) or `percentile=P` with
    /// `50 < P <= 100`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "minmax" => return Ok(CalibrationMethod::MinMax),
            "mse" => return Ok(CalibrationMethod::Mse),
            "percentile" => return Ok(CalibrationMethod::Percentile(99.99)),
            _ => {}
        }
        if let Some(p) = text.strip_prefix("percentile=") {
            let p: f64 = p
                .parse()
                .map_err(|_| format!("`{p}` is not a number (percentile=P)"))?;
            if p > 50.0 && p <= 100.0 {
                return Ok(CalibrationMethod::Percentile(p));
            }
            return Err(format!("percentile {p} must be in (50, 100]"));
        }
        Err(format!(
            "unknown calibration method `{text}` (expected minmax, percentile[=P] or mse)"
        ))
    }
}

/// Per-tensor u8 asymmetric parameters: `x ≈ (q - zero_point) · scale`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct ActivationParams {
    /// Positive, finite.
    pub scale: f32,
    /// In `0..=255`.
    pub zero_point: u8,
}

impl ActivationParams {
    /// Parameters covering `[low, high]` widened to contain 0 (so that 0,
    /// e.g. padding, is exact): `scale = (high - low) / 255`,
    /// `zero_point = round(-low / scale)`. A degenerate or non-finite range
    /// gets scale 1 and zero point 0.
    pub fn from_range(low: f32, high: f32) -> ActivationParams {
        let (low, high) = (low.min(0.0), high.max(0.0));
        let scale = (f64::from(high) - f64::from(low)) / 255.0;
        if !(scale.is_finite() && scale > 0.0 && (scale as f32) > 0.0) {
            return ActivationParams {
                scale: 1.0,
                zero_point: 0,
            };
        }
        let zero = (-f64::from(low) / scale).round().clamp(0.0, 255.0);
        ActivationParams {
            scale: scale as f32,
            zero_point: zero as u8,
        }
    }

    /// `x` quantized (rounded half to even, saturated), like `QuantizeLinear`.
    pub fn quantize(&self, x: f32) -> u8 {
        let q = (x / self.scale).round_ties_even() + f32::from(self.zero_point);
        q.clamp(0.0, 255.0) as u8
    }

    /// `q` dequantized, like `DequantizeLinear`.
    pub fn dequantize(&self, q: u8) -> f32 {
        (i32::from(q) - i32::from(self.zero_point)) as f32 * self.scale
    }
}

/// Weights quantized symmetrically per output channel (axis 0).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ChannelWeights {
    /// `round(w / scale[c])` in `[-127, 127]`, same layout as the input.
    pub values: Vec<i8>,
    /// One scale per output channel: `max |w| / 127` (1 for an all-zero
    /// channel).
    pub scales: Vec<f32>,
}

/// Quantizes `weights`, `channels` rows of equal length, per row.
pub(crate) fn quantize_weights(weights: &[f32], channels: usize) -> Option<ChannelWeights> {
    if channels == 0 || !weights.len().is_multiple_of(channels) {
        return None;
    }
    let per = weights.len() / channels;
    let mut values = Vec::with_capacity(weights.len());
    let mut scales = Vec::with_capacity(channels);
    for row in weights.chunks_exact(per.max(1)).take(channels) {
        let max = row.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        let scale = if max > 0.0 && max.is_finite() {
            max / WEIGHT_MAX
        } else {
            1.0
        };
        scales.push(scale);
        values.extend(
            row.iter()
                .map(|&w| (w / scale).round_ties_even().clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8),
        );
    }
    if per == 0 {
        scales.resize(channels, 1.0);
    }
    Some(ChannelWeights { values, scales })
}

/// A bias quantized to i32 with scale `input_scale · weight_scale[c]`
/// (rounded half to even, saturated to the i32 range).
pub(crate) fn quantize_bias(bias: &[f32], input_scale: f32, weight_scales: &[f32]) -> Vec<i32> {
    bias.iter()
        .zip(weight_scales)
        .map(|(&b, &ws)| {
            let scale = f64::from(input_scale) * f64::from(ws);
            let q = (f64::from(b) / scale).round_ties_even();
            q.clamp(f64::from(i32::MIN), f64::from(i32::MAX)) as i32
        })
        .collect()
}

/// A histogram of values over a fixed range `[low, high]`, equal bins.
#[derive(Clone, Debug)]
pub(crate) struct Histogram {
    pub low: f32,
    pub high: f32,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// An empty histogram over `[low, high]`.
    pub fn new(low: f32, high: f32, bins: usize) -> Histogram {
        Histogram {
            low,
            high,
            counts: vec![0; bins.max(1)],
        }
    }

    fn bin_width(&self) -> f64 {
        (f64::from(self.high) - f64::from(self.low)) / self.counts.len() as f64
    }

    /// Counts `values` (values outside the range go to the end bins; NaN is
    /// skipped).
    pub fn add(&mut self, values: &[f32]) {
        let width = self.bin_width();
        let last = self.counts.len() - 1;
        for &v in values {
            if v.is_nan() {
                continue;
            }
            let bin = if width > 0.0 {
                ((f64::from(v) - f64::from(self.low)) / width).floor()
            } else {
                0.0
            };
            let bin = bin.clamp(0.0, last as f64) as usize;
            if let Some(c) = self.counts.get_mut(bin) {
                *c += 1;
            }
        }
    }

    /// Centre of bin `i`.
    fn centre(&self, i: usize) -> f64 {
        f64::from(self.low) + (i as f64 + 0.5) * self.bin_width()
    }

    /// Lower edge of bin `i` (`i == bins` gives the upper end).
    fn edge(&self, i: usize) -> f64 {
        f64::from(self.low) + i as f64 * self.bin_width()
    }

    /// The range holding all but `(100 - p)`% of the values at each end:
    /// from the lower edge of the bin where the cumulative count first
    /// exceeds `(100 - p)`% to the upper edge of the bin where it reaches
    /// `p`%.
    pub fn percentile_range(&self, p: f64) -> (f32, f32) {
        let total: u64 = self.counts.iter().sum();
        if total == 0 {
            return (self.low, self.high);
        }
        let tail = total as f64 * (1.0 - p / 100.0);
        let (mut low_bin, mut high_bin) = (0, self.counts.len() - 1);
        let mut sum = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            sum += c;
            if sum as f64 > tail {
                low_bin = i;
                break;
            }
        }
        sum = 0;
        for (i, &c) in self.counts.iter().enumerate().rev() {
            sum += c;
            if sum as f64 > tail {
                high_bin = i;
                break;
            }
        }
        (self.edge(low_bin) as f32, self.edge(high_bin + 1) as f32)
    }

    /// Mean squared error of quantizing the histogram's values (each taken
    /// at its bin centre) with `params`.
    pub fn quantization_error(&self, params: ActivationParams) -> f64 {
        let mut error = 0.0;
        for (i, &c) in self.counts.iter().enumerate() {
            if c == 0 {
                continue;
            }
            let x = self.centre(i);
            let q = f64::from(params.dequantize(params.quantize(x as f32)));
            error += c as f64 * (x - q) * (x - q);
        }
        error
    }

    /// The range `[a·low, a·high]`, `a` in `(0, 1]` on a grid of 200
    /// steps, whose quantization error is smallest (the full range wins
    /// ties).
    pub fn mse_range(&self) -> (f32, f32) {
        const STEPS: usize = 200;
        let (low, high) = (self.low.min(0.0), self.high.max(0.0));
        let mut best = (low, high);
        let mut best_error = self.quantization_error(ActivationParams::from_range(low, high));
        for step in 1..STEPS {
            let a = (STEPS - step) as f32 / STEPS as f32;
            let (l, h) = (low * a, high * a);
            let error = self.quantization_error(ActivationParams::from_range(l, h));
            if error < best_error {
                best_error = error;
                best = (l, h);
            }
        }
        best
    }
}

/// Signal-to-quantization-noise ratio in dB: `10 log10(Σx² / Σ(x-y)²)`;
/// infinite when the two agree exactly.
pub(crate) fn sqnr_db(signal: f64, noise: f64) -> f64 {
    if noise <= 0.0 {
        return f64::INFINITY;
    }
    10.0 * (signal / noise).log10()
}

#[cfg(test)]
mod tests;
