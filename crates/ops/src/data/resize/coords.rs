//! Resize's per-axis geometry: from an output index to the input
//! coordinate it samples, and from that coordinate to the input elements
//! and weights that make the output value.
//!
//! The arithmetic follows ONNX's reference implementation step by step, in
//! f64 (f32 where that implementation computes in f32), so that nearest
//! rounding agrees with it even on ties.

use crate::data::common::Pick;

/// `coordinate_transformation_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coordinates {
    /// `(y + 0.5) / scale - 0.5`.
    HalfPixel,
    /// `half_pixel`, shifted so the sampled region stays centred when the
    /// output size was rounded down.
    HalfPixelSymmetric,
    /// `half_pixel`, except `-0.5` when the output axis has length 1.
    PytorchHalfPixel,
    /// `y * (in - 1) / (out - 1)`: corner pixels stay aligned.
    AlignCorners,
    /// `y / scale`.
    Asymmetric,
    /// `half_pixel`-free crop of the region of interest `roi`, with
    /// `extrapolation_value` outside the input.
    TfCropAndResize,
}

impl Coordinates {
    /// The mode named by the ONNX attribute value.
    pub(crate) fn from_name(name: &str) -> Option<Coordinates> {
        Some(match name {
            "half_pixel" => Coordinates::HalfPixel,
            "half_pixel_symmetric" => Coordinates::HalfPixelSymmetric,
            "pytorch_half_pixel" => Coordinates::PytorchHalfPixel,
            "align_corners" => Coordinates::AlignCorners,
            "asymmetric" => Coordinates::Asymmetric,
            "tf_crop_and_resize" => Coordinates::TfCropAndResize,
            _ => return None,
        })
    }
}

/// `nearest_mode`: how a coordinate between two elements is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rounding {
    /// To the nearest, ties down.
    RoundPreferFloor,
    /// To the nearest, ties up.
    RoundPreferCeil,
    /// Down.
    Floor,
    /// Up.
    Ceil,
}

impl Rounding {
    /// The rounding named by the ONNX attribute value.
    pub(crate) fn from_name(name: &str) -> Option<Rounding> {
        Some(match name {
            "round_prefer_floor" => Rounding::RoundPreferFloor,
            "round_prefer_ceil" => Rounding::RoundPreferCeil,
            "floor" => Rounding::Floor,
            "ceil" => Rounding::Ceil,
            _ => return None,
        })
    }
}

/// `mode`, with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Interpolation {
    /// Copy the nearest element.
    Nearest(Rounding),
    /// Weighted mean of the two neighbours.
    Linear,
    /// Keys' cubic convolution over four neighbours with parameter `a`.
    Cubic {
        /// `cubic_coeff_a`.
        a: f64,
    },
}

/// What the sampling of one axis needs to know.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AxisGeometry {
    /// Input length.
    pub input: usize,
    /// Output length.
    pub output: usize,
    /// The scale factor (given, or `output / input` when sizes were given).
    pub scale: f64,
    /// Region of interest `(start, end)` (only `tf_crop_and_resize` reads it).
    pub roi: (f32, f32),
}

/// Settings shared by all axes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sampling {
    /// How output indices map to input coordinates.
    pub coordinates: Coordinates,
    /// How input elements are combined.
    pub interpolation: Interpolation,
    /// Give zero weight to neighbours outside the input (then renormalise).
    pub exclude_outside: bool,
}

/// The input coordinate sampled by output index `y`, and whether it lies
/// outside the input (only `tf_crop_and_resize` reports that).
fn source_coordinate(coordinates: Coordinates, g: &AxisGeometry, y: usize) -> (f64, bool) {
    let y = y as f64;
    let input = g.input as f64;
    let scale = g.scale;
    let output = scale * input;
    let x = match coordinates {
        Coordinates::HalfPixel => (y + 0.5) / scale - 0.5,
        Coordinates::HalfPixelSymmetric => {
            let adjustment = g.output as f64 / output;
            let offset = input / 2.0 * (1.0 - adjustment);
            offset + (y + 0.5) / scale - 0.5
        }
        Coordinates::PytorchHalfPixel if output == 1.0 => -0.5,
        Coordinates::PytorchHalfPixel => (y + 0.5) / scale - 0.5,
        Coordinates::AlignCorners if output == 1.0 => 0.0,
        Coordinates::AlignCorners => y * (input - 1.0) / (output - 1.0),
        Coordinates::Asymmetric => y / scale,
        Coordinates::TfCropAndResize => {
            // The reference computes the roi terms in f32.
            let (start, end) = g.roi;
            let last = (g.input as f32) - 1.0;
            let x = if output == 1.0 {
                f64::from((end - start) * last / 2.0)
            } else {
                y * f64::from(end - start) * (input - 1.0) / (output - 1.0)
            };
            let x = x + f64::from(start * last);
            return (x, x < 0.0 || x > input - 1.0);
        }
    };
    (x, false)
}

/// The (up to four) neighbours of coordinate `x` that an interpolation
/// reads, as `(first index, count)`, the first possibly negative. Picks the
/// `count` indices nearest to `x`, ties to the lower ones.
fn window(x: f64, count: usize) -> i128 {
    let half = (count / 2) as f64;
    let padded = x + half;
    let p = padded.floor();
    let frac = padded - p;
    // f64 -> i128 saturates; offsets below are small.
    let p = p as i128;
    let offset = if frac == 0.0 {
        -(count as i128 / 2)
    } else {
        -(count as i128 / 2) + 1
    };
    p + offset - count as i128 / 2
}

/// Weights of the neighbours for the fractional position `ratio` in
/// `(0, 1]` (1 when `x` is an integer).
fn coefficients(interpolation: Interpolation, ratio: f64) -> ([f64; 4], usize) {
    match interpolation {
        Interpolation::Nearest(rounding) => {
            let second = if ratio == ratio.floor() {
                true
            } else {
                match rounding {
                    Rounding::RoundPreferFloor => ratio > 0.5,
                    Rounding::RoundPreferCeil => ratio >= 0.5,
                    Rounding::Floor => false,
                    Rounding::Ceil => true,
                }
            };
            let w = if second { [0.0, 1.0] } else { [1.0, 0.0] };
            ([w[0], w[1], 0.0, 0.0], 2)
        }
        Interpolation::Linear => ([1.0 - ratio, ratio, 0.0, 0.0], 2),
        Interpolation::Cubic { a } => {
            let r = ratio;
            let s = 1.0 - ratio;
            (
                [
                    ((a * (r + 1.0) - 5.0 * a) * (r + 1.0) + 8.0 * a) * (r + 1.0) - 4.0 * a,
                    ((a + 2.0) * r - (a + 3.0)) * r * r + 1.0,
                    ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0,
                    ((a * (s + 1.0) - 5.0 * a) * (s + 1.0) + 8.0 * a) * (s + 1.0) - 4.0 * a,
                ],
                4,
            )
        }
    }
}

/// The neighbours and weights for output index `y`, indices clamped into
/// the input (edge padding), plus the out-of-input flag.
fn neighbours(
    sampling: &Sampling,
    g: &AxisGeometry,
    y: usize,
) -> ([usize; 4], [f64; 4], usize, bool) {
    let (x, outside) = source_coordinate(sampling.coordinates, g, y);
    let floor = x.floor();
    let ratio = if x == floor { 1.0 } else { x - floor };
    let (mut weights, count) = coefficients(sampling.interpolation, ratio);
    let first = window(x, count);
    let last_index = g.input.saturating_sub(1) as i128;
    let mut indices = [0usize; 4];
    for k in 0..count {
        let i = first + k as i128;
        if sampling.exclude_outside && !(0..=last_index).contains(&i) {
            weights[k] = 0.0;
        }
        indices[k] = i.clamp(0, last_index) as usize;
    }
    if sampling.exclude_outside {
        let sum: f64 = weights[..count].iter().sum();
        let sum = if sum == 0.0 { 1.0 } else { sum };
        for w in &mut weights[..count] {
            *w /= sum;
        }
    }
    (indices, weights, count, outside)
}

/// For nearest mode: the input index each output index copies. `Fill(0)`
/// means zero (the chosen neighbour was excluded by `exclude_outside`),
/// `Fill(1)` the extrapolation value.
pub(crate) fn nearest_map(sampling: &Sampling, g: &AxisGeometry) -> Vec<Pick> {
    (0..g.output)
        .map(|y| {
            let (indices, weights, _, outside) = neighbours(sampling, g, y);
            if outside {
                Pick::Fill(1)
            } else if weights[0] == 1.0 {
                Pick::Index(indices[0])
            } else if weights[1] == 1.0 {
                Pick::Index(indices[1])
            } else {
                Pick::Fill(0)
            }
        })
        .collect()
}

/// For linear and cubic modes: the neighbours and weights of every output
/// index along one axis.
#[derive(Debug)]
pub(crate) struct Taps {
    /// Neighbours per output index (2 or 4).
    pub count: usize,
    /// `output * count` input indices.
    pub indices: Vec<usize>,
    /// `output * count` weights.
    pub weights: Vec<f32>,
    /// Per output index: the extrapolation value instead of the weighted sum.
    pub outside: Vec<bool>,
}

/// The taps of one axis (see [`Taps`]).
pub(crate) fn interpolation_taps(sampling: &Sampling, g: &AxisGeometry) -> Taps {
    let count = match sampling.interpolation {
        Interpolation::Cubic { .. } => 4,
        _ => 2,
    };
    let mut taps = Taps {
        count,
        indices: Vec::with_capacity(g.output * count),
        weights: Vec::with_capacity(g.output * count),
        outside: Vec::with_capacity(g.output),
    };
    for y in 0..g.output {
        let (indices, weights, n, outside) = neighbours(sampling, g, y);
        taps.indices.extend_from_slice(&indices[..n]);
        taps.weights.extend(weights[..n].iter().map(|&w| w as f32));
        taps.outside.push(outside);
    }
    taps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(input: usize, output: usize) -> AxisGeometry {
        AxisGeometry {
            input,
            output,
            scale: output as f64 / input as f64,
            roi: (0.0, 1.0),
        }
    }

    #[test]
    fn half_pixel_coordinates_by_hand() {
        // 2 -> 4: x = (y + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25
        let g = axis(2, 4);
        let xs: Vec<f64> = (0..4)
            .map(|y| source_coordinate(Coordinates::HalfPixel, &g, y).0)
            .collect();
        assert_eq!(xs, [-0.25, 0.25, 0.75, 1.25]);
        let xs: Vec<f64> = (0..4)
            .map(|y| source_coordinate(Coordinates::AlignCorners, &g, y).0)
            .collect();
        assert_eq!(xs, [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0]);
    }

    #[test]
    fn windows_prefer_the_lower_neighbours() {
        assert_eq!(window(4.0, 2), 3); // [3, 4] with weights [0, 1]
        assert_eq!(window(4.4, 2), 4); // [4, 5]
        assert_eq!(window(4.4, 4), 3); // [3, 4, 5, 6]
        assert_eq!(window(4.0, 4), 2); // [2, 3, 4, 5], weight 1 on 4
        assert_eq!(window(-0.25, 2), -1);
    }

    #[test]
    fn cubic_weights_sum_to_one_and_pick_integers() {
        let (w, n) = coefficients(Interpolation::Cubic { a: -0.75 }, 1.0);
        assert_eq!(n, 4);
        assert_eq!(w, [0.0, 0.0, 1.0, 0.0]);
        let (w, _) = coefficients(Interpolation::Cubic { a: -0.5 }, 0.3);
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
}
