//! Every depthwise kernel on every tier this CPU has against
//! `f32-dwconv-scalar`: output widths 0..=33 (below, at and above every
//! vector width), several heights and paddings, band crossings, bias and
//! activations, NaN and infinities in the input, and argument errors.

use super::*;

/// xorshift64*, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        bits as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    fn values(&mut self, len: usize) -> Vec<f32> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// Output size along one axis for input `n`, padding `begin + end`.
fn output_size(n: usize, k: usize, stride: usize, begin: usize, end: usize) -> usize {
    (n + begin + end).saturating_sub(k) / stride + usize::from(n + begin + end >= k)
}

/// Runs the kernel of `isa` and the reference and compares them.
#[allow(clippy::too_many_arguments)]
fn check(
    isa: Isa,
    geometry: &DepthwiseGeometry,
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    what: &str,
) {
    let planes = w.len() / (geometry.kernel * geometry.kernel);
    let out_len = planes * geometry.output.0 * geometry.output.1;
    let mut expected = vec![f32::NAN; out_len];
    depthwise_f32_reference(geometry, x, w, bias, activation, &mut expected).unwrap();
    // The pre-activation magnitudes bound the rounding differences.
    let mut magnitude = vec![0.0f32; out_len];
    let abs = |v: &[f32]| v.iter().map(|a| a.abs()).collect::<Vec<f32>>();
    let abs_bias = bias.map(abs);
    depthwise_f32_reference(
        geometry,
        &abs(x),
        &abs(w),
        abs_bias.as_deref(),
        Activation::None,
        &mut magnitude,
    )
    .unwrap();
    let mut got = vec![f32::NAN; out_len];
    depthwise_f32(isa, geometry, x, w, bias, activation, &mut got).unwrap();
    let name = kernel_name(geometry.kernel, geometry.stride, isa);
    let taps = (geometry.kernel * geometry.kernel) as f32;
    for (i, ((&g, &e), &m)) in got.iter().zip(&expected).zip(&magnitude).enumerate() {
        let ok = if e.is_nan() {
            g.is_nan()
        } else if e.is_infinite() {
            g == e
        } else {
            let tolerance = (taps + 2.0) * f32::EPSILON * m * 1.5 + 4.0 * f32::EPSILON * e.abs();
            (g - e).abs() <= tolerance + 1e-30
        };
        assert!(
            ok,
            "{name} {what} {geometry:?} {activation:?}: output {i} = {g:e}, reference {e:e}"
        );
    }
}

#[test]
fn every_width_height_and_padding_against_the_reference() {
    let mut rng = Rng(0x5EED);
    for isa in Isa::available() {
        for (k, stride) in [(3usize, 1usize), (3, 2), (5, 1), (5, 2)] {
            for out_w in 0..=33usize {
                for &(in_h, pad_top, pad_bottom) in &[(1, 0, 0), (4, 1, 1), (7, 2, 1), (6, 0, 2)] {
                    for pad_left in [0, 1, k / 2, k - 1] {
                        // The input width that gives `out_w` with this padding
                        // (end padding 0 or 1 more as it falls).
                        let in_w = (out_w.saturating_sub(1) * stride + k)
                            .saturating_sub(pad_left)
                            .max(1);
                        let pad_right =
                            (out_w.saturating_sub(1) * stride + k).saturating_sub(pad_left + in_w);
                        let out_h = output_size(in_h, k, stride, pad_top, pad_bottom);
                        let ow = output_size(in_w, k, stride, pad_left, pad_right).min(out_w);
                        let geometry = DepthwiseGeometry::new(
                            k,
                            stride,
                            (in_h, in_w),
                            (out_h, ow),
                            (pad_top, pad_left),
                        );
                        let planes = 2;
                        let x = rng.values(planes * in_h * in_w);
                        let w = rng.values(planes * k * k);
                        let bias = rng.values(planes);
                        check(
                            isa,
                            &geometry,
                            &x,
                            &w,
                            Some(&bias),
                            Activation::None,
                            "sweep",
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn large_planes_cross_bands_and_activations_are_applied() {
    let mut rng = Rng(77);
    for isa in Isa::available() {
        for (k, stride) in [(3usize, 1usize), (3, 2), (5, 1), (5, 2)] {
            for activation in [
                Activation::None,
                Activation::Relu,
                Activation::Clip { min: 0.0, max: 0.5 },
                Activation::HardSwish,
                Activation::Sigmoid,
                Activation::Silu,
            ] {
                // 1000 columns: a band holds only ~30 input rows.
                let (in_h, in_w) = (70, 1000);
                let pad = k / 2;
                let out_h = output_size(in_h, k, stride, pad, pad);
                let out_w = output_size(in_w, k, stride, pad, pad);
                let geometry =
                    DepthwiseGeometry::new(k, stride, (in_h, in_w), (out_h, out_w), (pad, pad));
                let x = rng.values(in_h * in_w);
                let w = rng.values(k * k);
                check(isa, &geometry, &x, &w, None, activation, "large");
            }
        }
    }
}

#[test]
fn efficientnet_shapes_without_padding_and_larger_pads() {
    let mut rng = Rng(3);
    for isa in Isa::available() {
        // (k, stride, input, output, pad): EfficientNet-Lite0 pads with
        // explicit Pad nodes; the last rows pad more than the filter.
        for (k, stride, input, output, pad) in [
            (3, 1, (18, 18), (16, 16), (0, 0)),
            (3, 2, (29, 29), (14, 14), (0, 0)),
            (5, 2, (17, 17), (7, 7), (0, 0)),
            (5, 1, (11, 11), (7, 7), (0, 0)),
            (3, 1, (5, 6), (9, 12), (4, 5)),
            (5, 2, (3, 3), (4, 6), (6, 7)),
        ] {
            let geometry = DepthwiseGeometry::new(k, stride, input, output, pad);
            let channels = 3;
            let x = rng.values(channels * input.0 * input.1);
            let w = rng.values(channels * k * k);
            let b = rng.values(channels);
            check(
                isa,
                &geometry,
                &x,
                &w,
                Some(&b),
                Activation::Clip { min: 0.0, max: 6.0 },
                "shapes",
            );
        }
    }
}

#[test]
fn nan_and_infinity_reach_exactly_the_outputs_that_read_them() {
    for isa in Isa::available() {
        for (k, stride) in [(3usize, 1usize), (3, 2), (5, 1), (5, 2)] {
            let (h, w) = (9, 21);
            let pad = k / 2;
            let geometry = DepthwiseGeometry::new(
                k,
                stride,
                (h, w),
                (
                    output_size(h, k, stride, pad, pad),
                    output_size(w, k, stride, pad, pad),
                ),
                (pad, pad),
            );
            let mut x = vec![0.25f32; h * w];
            x[4 * w + 10] = f32::NAN;
            x[w - 1] = f32::INFINITY;
            x[(h - 1) * w] = f32::NEG_INFINITY;
            let weights: Vec<f32> = (0..k * k).map(|i| i as f32 * 0.125 + 0.5).collect();
            check(
                isa,
                &geometry,
                &x,
                &weights,
                Some(&[1.0]),
                Activation::None,
                "special",
            );
        }
    }
}

#[test]
fn denormals_and_large_magnitudes_match_the_reference() {
    let tiny = f32::MIN_POSITIVE / 8.0; // subnormal
    for isa in Isa::available() {
        for (k, stride) in [(3usize, 1usize), (3, 2), (5, 1), (5, 2)] {
            let (h, w) = (6, 19);
            let pad = k / 2;
            let geometry = DepthwiseGeometry::new(
                k,
                stride,
                (h, w),
                (
                    output_size(h, k, stride, pad, pad),
                    output_size(w, k, stride, pad, pad),
                ),
                (pad, pad),
            );
            // Subnormal inputs and weights (products flush to zero or stay
            // subnormal), then large values of both signs (sums stay finite).
            let x: Vec<f32> = (0..h * w).map(|i| tiny * (i % 7) as f32).collect();
            let weights: Vec<f32> = (0..k * k).map(|i| 0.5 + i as f32 * 0.25).collect();
            check(
                isa,
                &geometry,
                &x,
                &weights,
                Some(&[tiny]),
                Activation::None,
                "denormal",
            );
            let x: Vec<f32> = (0..h * w).map(|i| 1e36 * (1.0 - (i % 3) as f32)).collect();
            check(
                isa,
                &geometry,
                &x,
                &weights,
                None,
                Activation::Relu,
                "large",
            );
            // All positive and far past f32::MAX in any order: +inf.
            let x = vec![f32::MAX / 2.0; h * w];
            check(
                isa,
                &geometry,
                &x,
                &weights,
                None,
                Activation::Relu,
                "overflow",
            );
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let g = DepthwiseGeometry::new(3, 1, (4, 4), (4, 4), (1, 1));
    let x = [0.0f32; 16];
    let mut y = [0.0f32; 16];
    let w = [0.0f32; 9];
    let bad_kernel = DepthwiseGeometry { kernel: 7, ..g };
    assert!(matches!(
        depthwise_f32(
            Isa::Scalar,
            &bad_kernel,
            &x,
            &[0.0; 49],
            None,
            Activation::None,
            &mut y
        ),
        Err(TensorError::InvalidKernelArguments { .. })
    ));
    assert!(matches!(
        depthwise_f32(
            Isa::Scalar,
            &g,
            &x[..15],
            &w,
            None,
            Activation::None,
            &mut y
        ),
        Err(TensorError::LengthMismatch { .. })
    ));
    assert!(matches!(
        depthwise_f32(
            Isa::Scalar,
            &g,
            &x,
            &w,
            Some(&[1.0, 2.0]),
            Activation::None,
            &mut y
        ),
        Err(TensorError::LengthMismatch { .. })
    ));
    let huge = DepthwiseGeometry::new(3, 1, (usize::MAX, 2), (1, 1), (0, 0));
    assert!(
        depthwise_f32(
            Isa::Scalar,
            &huge,
            &x,
            &w,
            None,
            Activation::None,
            &mut y[..1]
        )
        .is_err()
    );
    for isa in Isa::ALL {
        let result = depthwise_f32(isa, &g, &x, &w, None, Activation::None, &mut y);
        assert_eq!(result.is_ok(), isa.is_available(), "{isa}");
    }
    assert_eq!(kernel_name(5, 2, Isa::Avx512), "f32-dwconv5x5-s2-avx512");
}
