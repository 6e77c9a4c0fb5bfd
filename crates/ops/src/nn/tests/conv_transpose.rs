//! ConvTranspose against the naive scatter reference: sweeps over rank,
//! kernel, stride, dilation, pads, output_padding, output_shape, groups
//! and auto_pad.

use super::reference::{self, Window};
use super::{Lcg, check, int, ints, string};
use pocketnn_format::{Attribute, OpCode};

/// Runs ConvTranspose with `attrs` and checks it against the reference
/// with the given per-axis begin pads and output size.
#[allow(clippy::too_many_arguments)]
fn check_case(
    rng: &mut Lcg,
    x_shape: &[usize],
    w_shape: &[usize],
    group: usize,
    strides: &[usize],
    dilations: &[usize],
    pads_begin: &[i64],
    out_spatial: &[usize],
    attrs: &[Attribute],
) {
    let x = rng.tensor(x_shape);
    let w = rng.tensor(w_shape);
    let b = rng.tensor(&[w_shape[1] * group]);
    let win = Window {
        strides: strides.to_vec(),
        dilations: dilations.to_vec(),
        pads_begin: pads_begin.to_vec(),
        pads_end: vec![0; strides.len()],
    };
    let expected = reference::conv_transpose(
        &x,
        &w,
        Some(b.as_slice().unwrap()),
        group,
        &win,
        out_spatial,
    );
    let mut shape = vec![x_shape[0], w_shape[1] * group];
    shape.extend_from_slice(out_spatial);
    let op = super::build(OpCode::ConvTranspose, attrs);
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &shape,
        &expected,
        1e-4,
        &format!("ConvTranspose {attrs:?} x {x_shape:?} w {w_shape:?}"),
    );
}

#[test]
fn explicit_pads_and_output_padding_sweep() {
    let mut rng = Lcg(11);
    for x_spatial in [vec![5], vec![3, 4], vec![2, 3, 2]] {
        let r = x_spatial.len();
        for kernel in [1, 2, 3] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2] {
                    for (pb, pe) in [(0, 0), (1, 0), (2, 1)] {
                        for group in [1, 2] {
                            let extra = (stride.max(dilation) - 1).min(1);
                            let mut x_shape = vec![2, 4];
                            x_shape.extend_from_slice(&x_spatial);
                            let mut w_shape = vec![4, 3];
                            w_shape.extend(vec![kernel; r]);
                            let out: Vec<i64> = x_spatial
                                .iter()
                                .map(|&i| {
                                    (stride * (i - 1) + extra + (kernel - 1) * dilation + 1) as i64
                                        - pb
                                        - pe
                                })
                                .collect();
                            if out.iter().any(|&o| o < 0) {
                                continue;
                            }
                            let mut pads = vec![pb; r];
                            pads.extend(vec![pe; r]);
                            let attrs = [
                                ints("strides", &vec![stride as i64; r]),
                                ints("dilations", &vec![dilation as i64; r]),
                                ints("pads", &pads),
                                ints("output_padding", &vec![extra as i64; r]),
                                int("group", group as i64),
                            ];
                            let out: Vec<usize> = out.iter().map(|&o| o as usize).collect();
                            check_case(
                                &mut rng,
                                &x_shape,
                                &w_shape,
                                group,
                                &vec![stride; r],
                                &vec![dilation; r],
                                &vec![pb; r],
                                &out,
                                &attrs,
                            );
                        }
                    }
                }
            }
        }
    }
}

/// Begin pad the spec's formulas give for an explicit `output_shape`
/// (`upper` for SAME_UPPER), with the half rounded down as in the ONNX
/// reference implementation (Python's `//`).
fn begin_pad(natural: i64, output: i64, upper: bool) -> i64 {
    let total = natural - output;
    let half = total.div_euclid(2);
    if upper { half } else { total - half }
}

#[test]
fn output_shape_and_auto_pad_sweep() {
    let mut rng = Lcg(12);
    for x_spatial in [vec![4], vec![3, 2]] {
        let r = x_spatial.len();
        for kernel in [1, 2, 3] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2] {
                    let natural: Vec<i64> = x_spatial
                        .iter()
                        .map(|&i| (stride * (i - 1) + (kernel - 1) * dilation + 1) as i64)
                        .collect();
                    let mut x_shape = vec![1, 2];
                    x_shape.extend_from_slice(&x_spatial);
                    let mut w_shape = vec![2, 2];
                    w_shape.extend(vec![kernel; r]);
                    let common = [
                        ints("strides", &vec![stride as i64; r]),
                        ints("dilations", &vec![dilation as i64; r]),
                    ];
                    // Explicit output shapes around the natural one (smaller
                    // crops, larger leaves bias-only borders).
                    for delta in [-2i64, -1, 0, 1, 2] {
                        for mode in ["NOTSET", "SAME_UPPER"] {
                            let out: Vec<i64> =
                                natural.iter().map(|&n| (n + delta).max(1)).collect();
                            let pads: Vec<i64> = natural
                                .iter()
                                .zip(&out)
                                .map(|(&n, &o)| begin_pad(n, o, mode == "SAME_UPPER"))
                                .collect();
                            let mut attrs = common.to_vec();
                            attrs.push(ints("output_shape", &out));
                            attrs.push(string("auto_pad", mode));
                            let out: Vec<usize> = out.iter().map(|&o| o as usize).collect();
                            check_case(
                                &mut rng,
                                &x_shape,
                                &w_shape,
                                1,
                                &vec![stride; r],
                                &vec![dilation; r],
                                &pads,
                                &out,
                                &attrs,
                            );
                        }
                    }
                    // SAME_* without output_shape: output = input · stride,
                    // total padding clamped at 0.
                    for mode in ["SAME_UPPER", "SAME_LOWER"] {
                        let out: Vec<usize> = x_spatial.iter().map(|&i| i * stride).collect();
                        let pads: Vec<i64> = natural
                            .iter()
                            .zip(&out)
                            .map(|(&n, &o)| {
                                let total = (n - o as i64).max(0);
                                if mode == "SAME_UPPER" {
                                    total / 2
                                } else {
                                    total - total / 2
                                }
                            })
                            .collect();
                        let mut attrs = common.to_vec();
                        attrs.push(string("auto_pad", mode));
                        check_case(
                            &mut rng,
                            &x_shape,
                            &w_shape,
                            1,
                            &vec![stride; r],
                            &vec![dilation; r],
                            &pads,
                            &out,
                            &attrs,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn tiles_and_large_groups() {
    let mut rng = Lcg(13);
    // Several scratch tiles: rows = 8 * 9 = 72, 2100 input positions.
    let attrs = [ints("strides", &[2, 2]), ints("pads", &[1, 0, 0, 1])];
    let out = [2 * 41 + 3 - 1, 2 * 49 + 3 - 1];
    check_case(
        &mut rng,
        &[1, 3, 42, 50],
        &[3, 8, 3, 3],
        1,
        &[2, 2],
        &[1, 1],
        &[1, 0],
        &out,
        &attrs,
    );
    // Depthwise-style transpose (one channel per group).
    let attrs = [int("group", 4), ints("strides", &[3])];
    check_case(
        &mut rng,
        &[2, 4, 6],
        &[4, 2, 4],
        4,
        &[3],
        &[1],
        &[0],
        &[3 * 5 + 4],
        &attrs,
    );
}

/// From a `load_and_run` fuzz timeout: X `[1,1,204,3]`, W `[1,2,17155,3]`,
/// strides `[3,2]`, `output_shape` `[10,33]` — a kernel 17,155 taps tall
/// cropped to 10 rows (and widened to 33 columns by a negative begin pad).
/// Almost every tap lands outside the output, yet the op does all 63M
/// multiply-adds: bounded work, 38 s only under ASan and coverage
/// tracing. Here with a kernel a tenth as tall (to keep the test quick);
/// the few taps inside must be right.
#[test]
fn tall_kernel_cropped_by_output_shape() {
    let mut rng = Lcg(14);
    let natural = [3 * (204 - 1) + 1715, 2 * (3 - 1) + 3];
    let out = [10i64, 33];
    let pads = [
        begin_pad(natural[0], out[0], false),
        begin_pad(natural[1], out[1], false),
    ];
    assert_eq!(pads, [1157, -13]);
    let attrs = [ints("output_shape", &out), ints("strides", &[3, 2])];
    check_case(
        &mut rng,
        &[1, 1, 204, 3],
        &[1, 2, 1715, 3],
        1,
        &[3, 2],
        &[1, 1],
        &pads,
        &[10, 33],
        &attrs,
    );
}
