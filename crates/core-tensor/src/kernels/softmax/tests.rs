//! Softmax and log-softmax on every tier this CPU has against an f64
//! reference written here: row lengths 1..=40 and large rows, several
//! rows per call, large magnitudes, underflowing terms, NaN and infinities.

use super::*;

/// The reference: `x - max` rounded to f32 (as the kernel defines it),
/// everything else in f64.
fn reference(x: &[f32], row_len: usize, log: bool) -> Vec<f64> {
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(row_len) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let has_nan = row.iter().any(|v| v.is_nan());
        let shifted: Vec<f32> = row.iter().map(|&v| v - max).collect();
        let sum: f64 = shifted.iter().map(|&d| f64::from(d).exp()).sum();
        for &d in &shifted {
            let v = if has_nan {
                f64::NAN
            } else if log {
                f64::from(d) - sum.ln()
            } else {
                f64::from(d).exp() / sum
            };
            y.push(v);
        }
    }
    y
}

/// xorshift, values in [-scale, scale).
fn values(seed: &mut u64, len: usize, scale: f32) -> Vec<f32> {
    (0..len)
        .map(|_| {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            ((*seed >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
        })
        .collect()
}

#[track_caller]
fn check(isa: Isa, x: &[f32], row_len: usize, log: bool, what: &str) {
    let expected = reference(x, row_len, log);
    let mut got = vec![f32::NAN; x.len()];
    softmax_rows_f32(isa, x, &mut got, row_len, log).unwrap();
    let name = kernel_name(log, isa);
    for (i, (&g, &e)) in got.iter().zip(&expected).enumerate() {
        let ok = if e.is_nan() {
            g.is_nan()
        } else if e.is_infinite() {
            f64::from(g) == e
        } else if log {
            // (x - m) - ln(sum): a few roundings of the larger term.
            let row = &x[i / row_len * row_len..][..row_len];
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let scale = f64::from((x[i] - max).abs()) + (row_len as f64).ln() + 1.0;
            (f64::from(g) - e).abs() <= 4.0 * f64::from(f32::EPSILON) * scale
        } else {
            // exp within 2 ulp, the f32 inverse and product one each.
            (f64::from(g) - e).abs() <= 5.0 * f64::from(f32::EPSILON) * e + 1e-44
        };
        assert!(
            ok,
            "{name} {what} row_len {row_len}: element {i} = {g:e}, reference {e:e}"
        );
    }
}

#[test]
fn every_row_length_on_every_tier() {
    let mut seed = 0x9E37_79B9_7F4A_7C15;
    for isa in Isa::available() {
        for log in [false, true] {
            for row_len in (1..=40).chain([63, 64, 65, 1000]) {
                for scale in [1.0, 30.0, 200.0] {
                    let x = values(&mut seed, 3 * row_len, scale);
                    check(isa, &x, row_len, log, &format!("scale {scale}"));
                }
            }
        }
    }
}

#[test]
fn special_values_on_every_tier() {
    let inf = f32::INFINITY;
    let rows: [&[f32]; 8] = [
        &[0.0, -inf, 1.0, -inf, 2.0],
        &[-inf, -inf, -inf],
        &[1.0, f32::NAN, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        &[1.0, inf, 2.0],
        &[f32::MAX, -f32::MAX, 0.0, f32::MAX],
        &[1e-40, -1e-40, 0.0, f32::MIN_POSITIVE],
        &[
            0.0, -90.0, -105.0, -200.0, -87.0, -104.0, 10.0, -0.5, -1.5, -3.0, -20.0,
        ],
        &[88.0; 17],
    ];
    for isa in Isa::available() {
        for log in [false, true] {
            for row in rows {
                check(isa, row, row.len(), log, "special");
                // The same row twice, the second copy unaligned in a vector.
                let twice: Vec<f32> = row.iter().chain(row).copied().collect();
                check(isa, &twice, row.len(), log, "special twice");
            }
        }
    }
}

#[test]
fn bad_arguments_are_errors() {
    let x = [0.0f32; 6];
    let mut y = [0.0f32; 6];
    assert!(softmax_rows_f32(Isa::Scalar, &x, &mut y[..5], 3, false).is_err());
    assert!(softmax_rows_f32(Isa::Scalar, &x, &mut y, 4, false).is_err());
    assert!(softmax_rows_f32(Isa::Scalar, &x, &mut y, 0, false).is_err());
    assert!(softmax_rows_f32(Isa::Scalar, &[], &mut [], 0, true).is_ok());
    for isa in Isa::ALL {
        let result = softmax_rows_f32(isa, &x, &mut y, 3, false);
        assert_eq!(result.is_ok(), isa.is_available(), "{isa}");
    }
    assert_eq!(kernel_name(true, Isa::Avx2), "f32-logsoftmax-avx2");
}
