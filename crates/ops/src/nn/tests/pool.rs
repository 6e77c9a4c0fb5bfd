//! MaxPool, AveragePool and the global pools against the naive reference:
//! sweeps over rank, kernel, stride, dilation, pads, ceil_mode, auto_pad,
//! count_include_pad and storage_order.

use super::reference::{self, PoolKind, Window, pool_out, unravel};
use super::{Lcg, check, eval_tiers, int, ints, run_first_output_only, string};
use pocketnn_format::{Attribute, OpCode};
use pocketnn_tensor::Tensor;

/// The column-major (storage_order = 1) form of a row-major flat index:
/// batch and channel stay outermost, spatial axes are reversed.
fn column_major(flat: i64, x_shape: &[usize]) -> i64 {
    let idx = unravel(flat as usize, x_shape);
    let spatial = &x_shape[2..];
    let plane: usize = spatial.iter().product();
    let mut offset = 0;
    let mut stride = 1;
    for d in 0..spatial.len() {
        offset += idx[2 + d] * stride;
        stride *= spatial[d];
    }
    ((idx[0] * x_shape[1] + idx[1]) * plane + offset) as i64
}

/// Checks one pool configuration with explicit pads (`None` pads = the
/// attrs use auto_pad and these are the pads it must pick).
#[allow(clippy::too_many_arguments)]
fn check_pool(
    rng: &mut Lcg,
    x_shape: &[usize],
    kernel: &[usize],
    win: &Window,
    ceil: bool,
    kind: PoolKind,
    attrs: &[Attribute],
    column_major_indices: bool,
) -> bool {
    let out: Option<Vec<usize>> = (0..kernel.len())
        .map(|d| {
            pool_out(
                x_shape[2 + d],
                kernel[d],
                win.strides[d],
                win.dilations[d],
                win.pads_begin[d],
                win.pads_end[d],
                ceil,
            )
        })
        .collect();
    let x = rng.tensor(x_shape);
    let op_code = match kind {
        PoolKind::Max => OpCode::MaxPool,
        PoolKind::Average { .. } => OpCode::AveragePool,
    };
    let op = super::build(op_code, attrs);
    let Some(out) = out else {
        assert!(crate::eval(&*op, &[Some(x.view())], pocketnn_tensor::Isa::Scalar).is_err());
        return false;
    };
    let (values, indices) =
        reference::pool(x.as_slice().unwrap(), x_shape, kernel, win, &out, kind);
    let mut shape = x_shape[..2].to_vec();
    shape.extend_from_slice(&out);
    let what = format!("{op_code} {attrs:?} on {x_shape:?}");
    check(&*op, &[Some(&x)], &shape, &values, 1e-5, &what);
    if let PoolKind::Max = kind {
        // The same windows over u8 values (2-D pools them as bytes, N-D
        // through f32): the reference's maxima of their exact f32 images,
        // an empty window giving the lowest byte.
        let bytes: Vec<u8> = x
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .map(|v| (v.abs() * 97.0) as u8)
            .collect();
        let image: Vec<f32> = bytes.iter().map(|&b| f32::from(b)).collect();
        let (want, _) = reference::pool(&image, x_shape, kernel, win, &out, kind);
        let x_u8 = Tensor::from_slice(x_shape, &bytes).unwrap();
        let y = crate::eval(&*op, &[Some(x_u8.view())], pocketnn_tensor::Isa::Scalar)
            .unwrap()
            .remove(0);
        let got: Vec<f32> = y
            .as_slice::<u8>()
            .unwrap()
            .iter()
            .map(|&b| b.into())
            .collect();
        let want: Vec<f32> = want.iter().map(|&v| v.max(0.0)).collect();
        assert_eq!(got, want, "u8 {what}");
    }
    if let PoolKind::Max = kind {
        for (_, outputs) in eval_tiers(&*op, &[Some(&x)]) {
            let expected: Vec<i64> = indices
                .iter()
                .map(|&i| {
                    if column_major_indices && i >= 0 {
                        column_major(i, x_shape)
                    } else {
                        i
                    }
                })
                .collect();
            assert_eq!(
                outputs[1].as_slice::<i64>().unwrap(),
                expected,
                "{what}: indices"
            );
        }
        // Indices omitted: Y alone is still right.
        let y = run_first_output_only(&*op, &[Some(&x)]);
        assert_eq!(
            y.as_slice::<f32>().unwrap(),
            values,
            "{what}: Y without indices"
        );
    }
    true
}

fn explicit_attrs(kernel: &[usize], win: &Window, ceil: bool) -> Vec<Attribute> {
    let to_i64 = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
    let mut pads = win.pads_begin.clone();
    pads.extend_from_slice(&win.pads_end);
    vec![
        ints("kernel_shape", &to_i64(kernel)),
        ints("strides", &to_i64(&win.strides)),
        ints("dilations", &to_i64(&win.dilations)),
        ints("pads", &pads),
        int("ceil_mode", ceil as i64),
    ]
}

#[test]
fn pool_sweep_matches_reference() {
    let mut rng = Lcg(31);
    let mut ran = 0;
    for x_shape in [vec![2, 3, 9], vec![1, 2, 7, 6], vec![1, 2, 5, 4, 6]] {
        let r = x_shape.len() - 2;
        for kernel in [1, 2, 3] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2] {
                    for (pb, pe) in [(0, 0), (1, 0), (0, 1), (1, 2)] {
                        for ceil in [false, true] {
                            let kernel: Vec<usize> = (0..r).map(|d| kernel + d % 2).collect();
                            let win = Window {
                                strides: vec![stride; r],
                                dilations: vec![dilation; r],
                                pads_begin: vec![pb; r],
                                pads_end: vec![pe; r],
                            };
                            let attrs = explicit_attrs(&kernel, &win, ceil);
                            if kernel.iter().any(|&k| pb >= k as i64 || pe >= k as i64) {
                                // Pads must be smaller than the kernel.
                                assert!(crate::build_operator(OpCode::MaxPool, &attrs).is_err());
                                continue;
                            }
                            for kind in [
                                PoolKind::Max,
                                PoolKind::Average { include_pad: false },
                                PoolKind::Average { include_pad: true },
                            ] {
                                let mut attrs = attrs.clone();
                                if let PoolKind::Average { include_pad: true } = kind {
                                    attrs.push(int("count_include_pad", 1));
                                }
                                ran += check_pool(
                                    &mut rng, &x_shape, &kernel, &win, ceil, kind, &attrs, false,
                                ) as usize;
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(ran > 700, "only {ran} cases ran");
}

#[test]
fn max_pool_column_major_indices() {
    let mut rng = Lcg(32);
    for x_shape in [vec![2, 3, 5, 7], vec![1, 2, 4, 3, 5], vec![1, 2, 9]] {
        let r = x_shape.len() - 2;
        let kernel = vec![2; r];
        let win = Window {
            strides: vec![2; r],
            dilations: vec![1; r],
            pads_begin: vec![1; r],
            pads_end: vec![0; r],
        };
        let mut attrs = explicit_attrs(&kernel, &win, true);
        attrs.push(int("storage_order", 1));
        assert!(check_pool(
            &mut rng,
            &x_shape,
            &kernel,
            &win,
            true,
            PoolKind::Max,
            &attrs,
            true
        ));
    }
}

#[test]
fn pool_auto_pad_modes() {
    let mut rng = Lcg(33);
    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        for x_shape in [vec![1usize, 2, 10], vec![2, 1, 7, 8]] {
            let r = x_shape.len() - 2;
            for kernel in [1, 2, 3] {
                for stride in [1, 2, 3] {
                    let (mut pads_begin, mut pads_end) = (vec![0; r], vec![0; r]);
                    if mode != "VALID" {
                        for d in 0..r {
                            let input = x_shape[2 + d];
                            let out = input.div_ceil(stride);
                            let total = ((out - 1) * stride + kernel).saturating_sub(input) as i64;
                            let small = total / 2;
                            (pads_begin[d], pads_end[d]) = if mode == "SAME_UPPER" {
                                (small, total - small)
                            } else {
                                (total - small, small)
                            };
                        }
                    }
                    let win = Window {
                        strides: vec![stride; r],
                        dilations: vec![1; r],
                        pads_begin,
                        pads_end,
                    };
                    let attrs = [
                        ints("kernel_shape", &vec![kernel as i64; r]),
                        ints("strides", &vec![stride as i64; r]),
                        string("auto_pad", mode),
                    ];
                    for kind in [PoolKind::Max, PoolKind::Average { include_pad: false }] {
                        check_pool(
                            &mut rng,
                            &x_shape,
                            &vec![kernel; r],
                            &win,
                            false,
                            kind,
                            &attrs,
                            false,
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn global_pools_reduce_each_plane() {
    let mut rng = Lcg(34);
    for x_shape in [vec![2, 3, 5], vec![1, 4, 3, 2], vec![2, 2, 2, 3, 2]] {
        let x = rng.tensor(&x_shape);
        let plane: usize = x_shape[2..].iter().product();
        let values = x.as_slice::<f32>().unwrap();
        let mut shape = x_shape.clone();
        shape[2..].fill(1);
        let means: Vec<f32> = values
            .chunks(plane)
            .map(|p| p.iter().sum::<f32>() / plane as f32)
            .collect();
        let maxes: Vec<f32> = values
            .chunks(plane)
            .map(|p| p.iter().cloned().fold(f32::MIN, f32::max))
            .collect();
        let avg = super::build(OpCode::GlobalAveragePool, &[]);
        check(
            &*avg,
            &[Some(&x)],
            &shape,
            &means,
            1e-6,
            "GlobalAveragePool",
        );
        let max = super::build(OpCode::GlobalMaxPool, &[]);
        check(&*max, &[Some(&x)], &shape, &maxes, 0.0, "GlobalMaxPool");
    }
    // Empty batch: empty output.
    let x = Tensor::from_slice(&[0, 3, 2, 2], &[0.0f32; 0]).unwrap();
    let avg = super::build(OpCode::GlobalAveragePool, &[]);
    check(&*avg, &[Some(&x)], &[0, 3, 1, 1], &[], 0.0, "empty batch");
}

#[test]
fn max_pool_of_u8_and_i8_keeps_the_type_and_picks_the_maximum() {
    // 1×1×2×3, kernel 2×2, stride 1: two windows, hand-computed maxima.
    let op = super::build(
        OpCode::MaxPool,
        &[ints("kernel_shape", &[2, 2]), ints("strides", &[1, 1])],
    );
    let x = Tensor::from_slice(&[1, 1, 2, 3], &[3u8, 250, 7, 255, 0, 9]).unwrap();
    let first = |x: &Tensor| {
        let views = [Some(x.view())];
        crate::eval(op.as_ref(), &views, pocketnn_tensor::Isa::Scalar)
            .unwrap()
            .remove(0)
    };
    let y = first(&x);
    assert_eq!(y.shape(), &[1, 1, 1, 2]);
    assert_eq!(y.as_slice::<u8>().unwrap(), &[255, 250]);
    let x = Tensor::from_slice(&[1, 1, 2, 3], &[-128i8, -5, 127, -100, -7, -6]).unwrap();
    let y = first(&x);
    assert_eq!(y.as_slice::<i8>().unwrap(), &[-5, 127]);
    // AveragePool stays f32-only.
    let avg = super::build(OpCode::AveragePool, &[ints("kernel_shape", &[2, 2])]);
    let views = [Some(x.view())];
    assert!(crate::eval(avg.as_ref(), &views, pocketnn_tensor::Isa::Scalar).is_err());
}

#[test]
fn max_pool_2x2_stride_2_matches_reference() {
    // The fast path (2×2, stride 2, windows inside the input) and its edges:
    // odd sizes (a row and a column left over), padding and ceil_mode (the
    // general loop), one output, f32 and u8 (check_pool runs both).
    let mut rng = Lcg(33);
    let mut ran = 0;
    for x_shape in [
        vec![1, 3, 8, 8],
        vec![2, 2, 7, 9],
        vec![1, 1, 2, 2],
        vec![1, 1, 3, 3],
        vec![1, 16, 28, 28],
    ] {
        for (pe, ceil) in [(0, false), (0, true), (1, false)] {
            let kernel = vec![2, 2];
            let win = Window {
                strides: vec![2, 2],
                dilations: vec![1, 1],
                pads_begin: vec![0, 0],
                pads_end: vec![pe, pe],
            };
            let attrs = explicit_attrs(&kernel, &win, ceil);
            ran += check_pool(
                &mut rng,
                &x_shape,
                &kernel,
                &win,
                ceil,
                PoolKind::Max,
                &attrs,
                false,
            ) as usize;
        }
    }
    assert_eq!(ran, 15);
    // NaN never wins; a window of NaNs gives -inf (as in the general loop).
    let op = super::build(
        OpCode::MaxPool,
        &[ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
    );
    let nan = f32::NAN;
    let x = Tensor::from_slice(&[1, 1, 2, 4], &[nan, 1.0, nan, nan, 2.0, nan, nan, nan]).unwrap();
    let y = crate::eval(op.as_ref(), &[Some(x.view())], pocketnn_tensor::Isa::Scalar)
        .unwrap()
        .remove(0);
    assert_eq!(y.as_slice::<f32>().unwrap(), &[2.0, f32::NEG_INFINITY]);
}
