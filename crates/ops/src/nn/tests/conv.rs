//! Conv against the naive reference: sweeps over rank, kernel, stride,
//! dilation, pads, groups and auto_pad, covering the pointwise, depthwise
//! and im2col paths and tiling.

use super::reference::{self, Window, conv_out};
use super::{Lcg, check, int, ints, string};
use pocketnn_format::{Attribute, OpCode};
use pocketnn_tensor::Tensor;

/// One Conv case with explicit pads; checks against the reference.
struct Case {
    x: Vec<usize>,
    /// Output channels.
    m: usize,
    kernel: Vec<usize>,
    group: usize,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    pads_begin: Vec<i64>,
    pads_end: Vec<i64>,
    bias: bool,
}

impl Case {
    fn plain(x: &[usize], m: usize, kernel: &[usize]) -> Case {
        let r = kernel.len();
        Case {
            x: x.to_vec(),
            m,
            kernel: kernel.to_vec(),
            group: 1,
            strides: vec![1; r],
            dilations: vec![1; r],
            pads_begin: vec![0; r],
            pads_end: vec![0; r],
            bias: true,
        }
    }

    fn window(&self) -> Window {
        Window {
            strides: self.strides.clone(),
            dilations: self.dilations.clone(),
            pads_begin: self.pads_begin.clone(),
            pads_end: self.pads_end.clone(),
        }
    }

    /// Runs the case with these attributes (pads excluded), `expected_pads`
    /// being what the reference uses. Returns false when the kernel does
    /// not fit (the operator must then fail).
    fn run(&self, attrs: &[Attribute], rng: &mut Lcg) -> bool {
        let win = self.window();
        let out: Option<Vec<usize>> = (0..self.kernel.len())
            .map(|d| {
                conv_out(
                    self.x[2 + d],
                    self.kernel[d],
                    win.strides[d],
                    win.dilations[d],
                    win.pads_begin[d],
                    win.pads_end[d],
                )
            })
            .collect();
        let mut w_shape = vec![self.m, self.x[1] / self.group];
        w_shape.extend_from_slice(&self.kernel);
        let x = rng.tensor(&self.x);
        let w = rng.tensor(&w_shape);
        let b = rng.tensor(&[self.m]);
        let op = super::build(OpCode::Conv, attrs);
        let inputs = if self.bias {
            vec![Some(&x), Some(&w), Some(&b)]
        } else {
            vec![Some(&x), Some(&w)]
        };
        let Some(out) = out else {
            let views: Vec<_> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
            assert!(crate::eval(&*op, &views, pocketnn_tensor::Isa::Scalar).is_err());
            return false;
        };
        let expected = reference::conv(
            &x,
            &w,
            self.bias.then(|| b.as_slice().unwrap()),
            self.group,
            &win,
            &out,
        );
        let mut shape = vec![self.x[0], self.m];
        shape.extend_from_slice(&out);
        check(
            &*op,
            &inputs,
            &shape,
            &expected,
            1e-4,
            &format!("Conv {attrs:?} x {:?}", self.x),
        );
        true
    }

    fn explicit_attrs(&self) -> Vec<Attribute> {
        let to_i64 = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<_>>();
        let mut pads = self.pads_begin.clone();
        pads.extend_from_slice(&self.pads_end);
        vec![
            ints("strides", &to_i64(&self.strides)),
            ints("dilations", &to_i64(&self.dilations)),
            ints("pads", &pads),
            int("group", self.group as i64),
        ]
    }
}

#[test]
fn conv_2d_sweep_matches_reference() {
    let mut rng = Lcg(1);
    let mut ran = 0;
    for kernel in [1, 2, 3] {
        for stride in [1, 2, 3] {
            for dilation in [1, 2] {
                for (pb, pe) in [(0, 0), (1, 0), (1, 2)] {
                    for group in [1, 2] {
                        let mut case = Case::plain(&[2, 4, 7, 6], 6, &[kernel, kernel.max(2) - 1]);
                        case.group = group;
                        case.strides = vec![stride, 1];
                        case.dilations = vec![dilation, 1];
                        case.pads_begin = vec![pb, pe];
                        case.pads_end = vec![pe, pb];
                        case.bias = group == 1;
                        let mut attrs = case.explicit_attrs();
                        if kernel == 2 {
                            attrs.push(ints("kernel_shape", &[2, 1]));
                        }
                        ran += case.run(&attrs, &mut rng) as usize;
                    }
                }
            }
        }
    }
    assert!(ran > 90, "only {ran} cases ran");
}

#[test]
fn conv_1d_and_3d_sweeps_match_reference() {
    let mut rng = Lcg(2);
    for kernel in [1, 2, 4] {
        for stride in [1, 3] {
            for dilation in [1, 3] {
                for group in [1, 3] {
                    let mut case = Case::plain(&[1, 3, 11], 6, &[kernel]);
                    case.group = group;
                    case.strides = vec![stride];
                    case.dilations = vec![dilation];
                    case.pads_begin = vec![1];
                    case.pads_end = vec![2];
                    case.run(&case.explicit_attrs(), &mut rng);
                }
            }
        }
    }
    for (kernel, stride, dilation, pads) in [
        ([1, 1, 1], [1, 1, 1], [1, 1, 1], [0, 0, 0, 0, 0, 0]),
        ([2, 3, 2], [1, 2, 1], [2, 1, 1], [1, 0, 1, 0, 1, 1]),
        ([3, 3, 3], [2, 2, 2], [1, 1, 1], [1, 1, 1, 1, 1, 1]),
        ([1, 2, 3], [3, 1, 2], [1, 2, 1], [0, 2, 0, 1, 0, 2]),
    ] {
        for group in [1, 2] {
            let mut case = Case::plain(&[2, 2, 5, 4, 6], 4, &kernel);
            case.group = group;
            case.strides = stride.to_vec();
            case.dilations = dilation.to_vec();
            case.pads_begin = pads[..3].to_vec();
            case.pads_end = pads[3..].to_vec();
            assert!(case.run(&case.explicit_attrs(), &mut rng));
        }
    }
}

#[test]
fn depthwise_conv_matches_reference() {
    let mut rng = Lcg(3);
    for multiplier in [1, 2] {
        for kernel in [1, 3, 5] {
            for stride in [1, 2] {
                for dilation in [1, 2] {
                    for pad in [0, 1, 2] {
                        for x in [vec![2, 3, 9, 8], vec![1, 3, 13]] {
                            let r = x.len() - 2;
                            let mut case = Case::plain(&x, 3 * multiplier, &vec![kernel; r]);
                            case.group = 3;
                            case.strides = vec![stride; r];
                            case.dilations = vec![dilation; r];
                            case.pads_begin = vec![pad; r];
                            case.pads_end = vec![(pad + 1) % 3; r];
                            case.bias = pad != 1;
                            case.run(&case.explicit_attrs(), &mut rng);
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn pointwise_and_large_convs_match_reference() {
    let mut rng = Lcg(4);
    // Pointwise (GEMM without im2col), grouped, 1-D to 3-D.
    for x in [vec![2, 4, 5], vec![1, 4, 3, 5], vec![1, 4, 2, 3, 2]] {
        for group in [1, 2, 4] {
            let r = x.len() - 2;
            let mut case = Case::plain(&x, 8, &vec![1; r]);
            case.group = group;
            case.run(&case.explicit_attrs(), &mut rng);
            // The same with stride 2 takes the im2col path.
            case.strides = vec![2; r];
            case.run(&case.explicit_attrs(), &mut rng);
        }
    }
    // Columns beyond one scratch tile (K = 144, 4096 output positions).
    let mut case = Case::plain(&[1, 16, 64, 64], 4, &[3, 3]);
    case.pads_begin = vec![1, 1];
    case.pads_end = vec![1, 1];
    case.run(&case.explicit_attrs(), &mut rng);
    // Odd tile boundaries inside rows, with stride and dilation.
    let mut case = Case::plain(&[1, 40, 30, 33], 3, &[3, 5]);
    case.strides = vec![1, 2];
    case.dilations = vec![2, 1];
    case.pads_begin = vec![2, 0];
    case.pads_end = vec![0, 3];
    case.run(&case.explicit_attrs(), &mut rng);
}

/// The pads SAME_* gives, computed here from the ONNX definition.
fn same_pads(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    upper: bool,
) -> (i64, i64) {
    let out = input.div_ceil(stride) as i64;
    let total =
        ((out - 1) * stride as i64 + ((kernel - 1) * dilation + 1) as i64 - input as i64).max(0);
    if upper {
        (total / 2, total - total / 2)
    } else {
        (total - total / 2, total / 2)
    }
}

#[test]
fn auto_pad_modes_match_reference() {
    let mut rng = Lcg(5);
    for mode in ["SAME_UPPER", "SAME_LOWER", "VALID"] {
        for x in [vec![1, 2, 10], vec![2, 2, 7, 8], vec![1, 2, 4, 5, 3]] {
            for kernel in [1, 2, 3, 4] {
                for stride in [1, 2, 3] {
                    for dilation in [1, 2] {
                        let r = x.len() - 2;
                        let mut case = Case::plain(&x, 4, &vec![kernel; r]);
                        case.strides = vec![stride; r];
                        case.dilations = vec![dilation; r];
                        for d in 0..r {
                            let (pb, pe) = match mode {
                                "VALID" => (0, 0),
                                m => {
                                    same_pads(x[2 + d], kernel, stride, dilation, m == "SAME_UPPER")
                                }
                            };
                            case.pads_begin[d] = pb;
                            case.pads_end[d] = pe;
                        }
                        let attrs = [
                            string("auto_pad", mode),
                            ints("strides", &vec![stride as i64; r]),
                            ints("dilations", &vec![dilation as i64; r]),
                        ];
                        let ran = case.run(&attrs, &mut rng);
                        if mode != "VALID" {
                            assert!(ran, "SAME always fits");
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn empty_batch_and_channels() {
    let op = super::build(OpCode::Conv, &[ints("pads", &[1, 1, 1, 1])]);
    let w = Tensor::from_slice(&[2, 0, 3, 3], &[0.0f32; 0]).unwrap();
    let b = Tensor::from_slice(&[2], &[1.5f32, -2.0]).unwrap();
    // No input channels: the output is the bias, for every batch item.
    let x = Tensor::from_slice(&[2, 0, 2, 2], &[0.0f32; 0]).unwrap();
    let mut expected = vec![1.5; 4];
    expected.extend([-2.0; 4]);
    expected.extend_from_within(..);
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &[2, 2, 2, 2],
        &expected,
        0.0,
        "C = 0",
    );
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[2, 2, 2, 2],
        &[0.0; 16],
        0.0,
        "C = 0, no bias",
    );
    // Empty batch: empty output.
    let x = Tensor::from_slice(&[0, 1, 2, 2], &[0.0f32; 0]).unwrap();
    let w = Tensor::from_slice(&[2, 1, 3, 3], &[1.0f32; 18]).unwrap();
    check(
        &*op,
        &[Some(&x), Some(&w), Some(&b)],
        &[0, 2, 2, 2],
        &[],
        0.0,
        "N = 0",
    );
    // No output channels.
    let x = Tensor::from_slice(&[1, 1, 2, 2], &[1.0f32; 4]).unwrap();
    let w = Tensor::from_slice(&[0, 1, 3, 3], &[0.0f32; 0]).unwrap();
    check(
        &*op,
        &[Some(&x), Some(&w)],
        &[1, 0, 2, 2],
        &[],
        0.0,
        "M = 0",
    );
}
