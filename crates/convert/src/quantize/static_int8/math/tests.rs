//! The quantization arithmetic against hand-computed values.

use super::*;

#[test]
fn activation_params_cover_the_range_and_zero() {
    // [-1, 3]: scale 4/255, zero point round(1 / (4/255)) = round(63.75) = 64.
    let p = ActivationParams::from_range(-1.0, 3.0);
    assert!((p.scale - 4.0 / 255.0).abs() < 1e-9);
    assert_eq!(p.zero_point, 64);
    // [0, 2.55]: scale 0.01, zero point 0 (a ReLU output).
    let p = ActivationParams::from_range(0.0, 2.55);
    assert!((p.scale - 0.01).abs() < 1e-9);
    assert_eq!(p.zero_point, 0);
    // A range above 0 is widened down to 0.
    let p = ActivationParams::from_range(0.5, 2.0);
    assert!((p.scale - 2.0 / 255.0).abs() < 1e-9);
    assert_eq!(p.zero_point, 0);
    // A range below 0: zero point 255.
    assert_eq!(ActivationParams::from_range(-5.0, -1.0).zero_point, 255);
    // Degenerate and non-finite ranges still give a valid scale.
    for (l, h) in [(0.0, 0.0), (f32::NEG_INFINITY, 1.0), (0.0, f32::NAN)] {
        let p = ActivationParams::from_range(l, h);
        assert_eq!((p.scale, p.zero_point), (1.0, 0), "{l} {h}");
    }
}

#[test]
fn activations_round_half_to_even_and_saturate() {
    let p = ActivationParams {
        scale: 0.5,
        zero_point: 10,
    };
    // 0.25 / 0.5 = 0.5 -> 0; 0.75 / 0.5 = 1.5 -> 2.
    assert_eq!(p.quantize(0.25), 10);
    assert_eq!(p.quantize(0.75), 12);
    assert_eq!(p.quantize(-100.0), 0);
    assert_eq!(p.quantize(1000.0), 255);
    assert_eq!(p.dequantize(12), 1.0);
    assert_eq!(p.dequantize(0), -5.0);
}

#[test]
fn weights_are_symmetric_per_output_channel() {
    // Row 0: max |w| = 1 -> scale 1/127; -0.5·127 = -63.5 -> -64 (even),
    // 0.25·127 = 31.75 -> 32. Row 1 is all zero: scale 1. Row 2: max 2 ->
    // scale 2/127; 1 / (2/127) = 63.5 -> 64.
    let w = [1.0, -0.5, 0.25, 0.0, 0.0, 0.0, 2.0, 1.0, -2.0];
    let q = quantize_weights(&w, 3).unwrap();
    assert_eq!(q.values, vec![127, -64, 32, 0, 0, 0, 127, 64, -127]);
    assert!((q.scales[0] - 1.0 / 127.0).abs() < 1e-9);
    assert_eq!(q.scales[1], 1.0);
    assert!((q.scales[2] - 2.0 / 127.0).abs() < 1e-9);
    assert!(quantize_weights(&w, 2).is_none());
    assert!(quantize_weights(&w, 0).is_none());
}

#[test]
fn bias_uses_input_scale_times_weight_scale() {
    // Scales 0.5·0.1 = 0.05 and 0.5·0.2 = 0.1; 1/0.05 = 20, -0.3/0.1 = -3.
    assert_eq!(quantize_bias(&[1.0, -0.3], 0.5, &[0.1, 0.2]), vec![20, -3]);
    // Halves to even: 0.25/0.5 = 0.5 -> 0, 0.75/0.5 = 1.5 -> 2.
    assert_eq!(quantize_bias(&[0.25, 0.75], 0.5, &[1.0, 1.0]), vec![0, 2]);
    // Saturates.
    assert_eq!(
        quantize_bias(&[1e12, -1e12], 1e-3, &[1e-3, 1e-3]),
        vec![i32::MAX, i32::MIN]
    );
}

#[test]
fn percentile_clips_both_tails() {
    // 100 values 0.5, 1.5, ..., 99.5 in 100 bins over [0, 100]: 1 % is one
    // value at each end, so 99 % clips to [1, 99].
    let mut h = Histogram::new(0.0, 100.0, 100);
    let values: Vec<f32> = (0..100).map(|i| i as f32 + 0.5).collect();
    h.add(&values);
    let (l, hi) = h.percentile_range(99.0);
    assert!(
        (l - 1.0).abs() < 1e-4 && (hi - 99.0).abs() < 1e-4,
        "{l} {hi}"
    );
    // 100 % keeps everything.
    let (l, hi) = h.percentile_range(100.0);
    assert!(l.abs() < 1e-4 && (hi - 100.0).abs() < 1e-4, "{l} {hi}");
}

#[test]
fn histogram_puts_outliers_in_the_end_bins_and_skips_nan() {
    let mut h = Histogram::new(0.0, 4.0, 4);
    h.add(&[-3.0, 0.5, 1.0, 3.99, 4.0, 9.0, f32::NAN]);
    assert_eq!(h.counts, vec![2, 1, 0, 3]);
}

/// Mean squared error of quantizing each value directly (no histogram).
fn direct_error(values: &[f32], low: f32, high: f32) -> f64 {
    let p = ActivationParams::from_range(low, high);
    values
        .iter()
        .map(|&x| {
            let d = f64::from(x) - f64::from(p.dequantize(p.quantize(x)));
            d * d
        })
        .sum()
}

#[test]
fn mse_range_matches_a_direct_search() {
    // Exponentially distributed values (quantiles of Exp(1)); max ≈ 10.6.
    // A direct search over the same grid of clipping factors, with the error
    // measured on the values themselves (no histogram), picks 10.33
    // (checked with numpy too): MSE clips the thin tail a little.
    let n = 20000;
    let values: Vec<f32> = (0..n)
        .map(|i| -(1.0 - (i as f64 + 0.5) / n as f64).ln() as f32)
        .collect();
    let max = values.iter().fold(0.0f32, |m, &v| m.max(v));
    let (direct_best, _) = (1..=200)
        .map(|a| {
            let high = max * a as f32 / 200.0;
            (high, direct_error(&values, 0.0, high))
        })
        .fold(
            (max, f64::INFINITY),
            |best, (h, e)| if e < best.1 { (h, e) } else { best },
        );
    let mut h = Histogram::new(0.0, max, HISTOGRAM_BINS);
    h.add(&values);
    let (l, hi) = h.mse_range();
    assert_eq!(l, 0.0);
    assert!(hi < max, "no clipping: {hi} of {max}");
    assert!(
        (hi - direct_best).abs() <= 2.0 * max / 200.0,
        "{hi} vs {direct_best}"
    );
    assert!((hi - 10.33).abs() < 0.15, "{hi}");
    assert!(direct_error(&values, l, hi) < direct_error(&values, 0.0, max));
}

#[test]
fn mse_keeps_the_full_range_of_uniform_values() {
    let values: Vec<f32> = (0..1000).map(|i| i as f32 / 999.0).collect();
    let mut h = Histogram::new(0.0, 1.0, HISTOGRAM_BINS);
    h.add(&values);
    let (_, hi) = h.mse_range();
    assert!(hi > 0.97, "{hi}");
}

#[test]
fn sqnr_in_decibels() {
    assert!((sqnr_db(100.0, 1.0) - 20.0).abs() < 1e-12);
    assert!((sqnr_db(2.0, 1.0) - 3.0103).abs() < 1e-4);
    assert_eq!(sqnr_db(1.0, 0.0), f64::INFINITY);
}

#[test]
fn calibration_methods_parse() {
    assert_eq!("minmax".parse(), Ok(CalibrationMethod::MinMax));
    assert_eq!("mse".parse(), Ok(CalibrationMethod::Mse));
    assert_eq!(
        "percentile".parse(),
        Ok(CalibrationMethod::Percentile(99.99))
    );
    assert_eq!(
        "percentile=99.9".parse(),
        Ok(CalibrationMethod::Percentile(99.9))
    );
    assert!("percentile=20".parse::<CalibrationMethod>().is_err());
    assert!("entropy".parse::<CalibrationMethod>().is_err());
}
