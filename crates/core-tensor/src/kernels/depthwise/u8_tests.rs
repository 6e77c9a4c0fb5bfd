//! The int8 depthwise kernel on every tier this CPU has against
//! `u8i8-dwconv-scalar`, bit for bit: filter sizes 1–7, strides 1–3,
//! output widths around the vector widths, every padding up to the filter
//! size, zero points per tensor and per channel, bias, clamp ranges that
//! fuse ReLU; then argument errors.

use super::*;
use crate::kernels::qgemm::{QuantMultiplier, Requantize};

/// xorshift64*, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// Output size along one axis for input `n`, padding `begin + end`.
fn output_size(n: usize, k: usize, stride: usize, begin: usize, end: usize) -> usize {
    (n + begin + end).saturating_sub(k) / stride + usize::from(n + begin + end >= k)
}

/// A per-channel requantization with varied multipliers and bias.
fn requantize(rng: &mut Rng, channels: usize, relu: bool) -> Requantize {
    let multipliers = (0..channels)
        .map(|_| QuantMultiplier::new(1e-4 + (rng.next() % 1000) as f64 * 2e-5).unwrap())
        .collect();
    let bias = (0..channels)
        .map(|_| (rng.next() % 20_001) as i32 - 10_000)
        .collect();
    let zero = rng.next() as u8;
    let range = if relu { (zero, 255) } else { (0, 255) };
    Requantize::new(multipliers, bias, zero, range).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn check_case(
    rng: &mut Rng,
    channels: usize,
    kernel: usize,
    stride: usize,
    input: (usize, usize),
    pad: (usize, usize),
    pad_end: (usize, usize),
    per_channel_zeros: bool,
) {
    let output = (
        output_size(input.0, kernel, stride, pad.0, pad_end.0),
        output_size(input.1, kernel, stride, pad.1, pad_end.1),
    );
    let geometry = DepthwiseGeometry::new(kernel, stride, input, output, pad);
    let x = rng.bytes(channels * input.0 * input.1);
    let w: Vec<i8> = rng
        .bytes(channels * kernel * kernel)
        .into_iter()
        .map(|b| b as i8)
        .collect();
    let zeros: Vec<i8> = if per_channel_zeros {
        rng.bytes(channels).into_iter().map(|b| b as i8).collect()
    } else {
        vec![0]
    };
    let requantize = requantize(rng, channels, per_channel_zeros);
    let operands = DepthwiseU8I8 {
        input: &x,
        input_zero: rng.next() as u8,
        weights: &w,
        weight_zeros: &zeros,
        requantize: &requantize,
    };
    let len = channels * output.0 * output.1;
    let mut want = vec![0u8; len];
    depthwise_u8i8_reference(&geometry, operands, &mut want).unwrap();
    for isa in Isa::available() {
        let mut got = vec![0xAAu8; len];
        depthwise_u8i8(isa, &geometry, operands, &mut got).unwrap();
        assert_eq!(
            got,
            want,
            "{} {geometry:?} x_zero {} zeros {zeros:?}",
            kernel_name_u8i8(isa),
            operands.input_zero
        );
    }
}

#[test]
fn every_tier_matches_the_reference_over_filters_strides_and_paddings() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for kernel in [1, 2, 3, 5, 7] {
        for stride in 1..=3 {
            for input in [(1, 1), (3, 4), (6, 15), (7, 16), (9, 17), (4, 33), (5, 66)] {
                for pad in 0..kernel.min(3) {
                    let per_channel = (kernel + stride + pad) % 2 == 0;
                    let pad_end = (pad, (pad + 1) % kernel);
                    check_case(
                        &mut rng,
                        3,
                        kernel,
                        stride,
                        input,
                        (pad, pad),
                        pad_end,
                        per_channel,
                    );
                }
            }
        }
    }
}

#[test]
fn extreme_values_and_uneven_padding_match_the_reference() {
    let mut rng = Rng(42);
    // A filter larger than the input and padding on one side only.
    check_case(&mut rng, 2, 5, 1, (3, 3), (4, 0), (0, 4), true);
    check_case(&mut rng, 2, 3, 2, (8, 8), (0, 2), (2, 0), false);
    // Saturating inputs, weights and zero points.
    let geometry = DepthwiseGeometry::new(3, 1, (4, 20), (4, 20), (1, 1));
    let x = vec![255u8; 80];
    let w = vec![-128i8; 9];
    let requantize = Requantize::new(
        vec![QuantMultiplier::new(0.5).unwrap()],
        vec![i32::MAX],
        7,
        (0, 255),
    )
    .unwrap();
    for (input_zero, weight_zero) in [(0u8, 127i8), (255, -128), (0, -128)] {
        let operands = DepthwiseU8I8 {
            input: &x,
            input_zero,
            weights: &w,
            weight_zeros: &[weight_zero],
            requantize: &requantize,
        };
        let mut want = vec![0u8; 80];
        depthwise_u8i8_reference(&geometry, operands, &mut want).unwrap();
        for isa in Isa::available() {
            let mut got = vec![0u8; 80];
            depthwise_u8i8(isa, &geometry, operands, &mut got).unwrap();
            assert_eq!(got, want, "{isa} {input_zero} {weight_zero}");
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let requantize = Requantize::new(
        vec![QuantMultiplier::new(0.01).unwrap()],
        vec![],
        0,
        (0, 255),
    )
    .unwrap();
    let geometry = DepthwiseGeometry::new(3, 1, (4, 4), (4, 4), (1, 1));
    let (x, w) = (vec![0u8; 32], vec![0i8; 18]);
    let operands = DepthwiseU8I8 {
        input: &x,
        input_zero: 0,
        weights: &w,
        weight_zeros: &[0],
        requantize: &requantize,
    };
    let isa = Isa::best();
    let mut y = vec![0u8; 32];
    depthwise_u8i8(isa, &geometry, operands, &mut y).unwrap();
    // Output, input and weights of the wrong length.
    assert!(depthwise_u8i8(isa, &geometry, operands, &mut y[..31]).is_err());
    let short = DepthwiseU8I8 {
        input: &x[..31],
        ..operands
    };
    assert!(depthwise_u8i8(isa, &geometry, short, &mut y).is_err());
    let ragged = DepthwiseU8I8 {
        weights: &w[..17],
        ..operands
    };
    assert!(depthwise_u8i8(isa, &geometry, ragged, &mut y).is_err());
    // Three weight zero points for two channels.
    let zeros = DepthwiseU8I8 {
        weight_zeros: &[0, 0, 0],
        ..operands
    };
    assert!(depthwise_u8i8(isa, &geometry, zeros, &mut y).is_err());
    // A zero stride, an empty filter, more taps than i32 sums allow.
    for (kernel, stride) in [(3, 0), (0, 1), (182, 1)] {
        let geometry = DepthwiseGeometry {
            stride,
            kernel,
            ..geometry
        };
        assert!(depthwise_u8i8(isa, &geometry, operands, &mut y).is_err());
        assert!(depthwise_u8i8_reference(&geometry, operands, &mut y).is_err());
    }
    // A per-channel requantization for the wrong channel count.
    let two = Requantize::new(
        vec![QuantMultiplier::new(0.01).unwrap(); 3],
        vec![],
        0,
        (0, 255),
    )
    .unwrap();
    let wrong = DepthwiseU8I8 {
        requantize: &two,
        ..operands
    };
    assert!(depthwise_u8i8(isa, &geometry, wrong, &mut y).is_err());
}
