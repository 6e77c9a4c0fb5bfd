//! The fast path against the generic `Conv` operator (run on the scalar
//! tier, its direct depthwise loops) followed by the scalar activation
//! reference, on every tier this CPU has; and the shapes it must decline.

use super::*;
use crate::nn::window::Geometry;
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_tensor::Tensor;

/// A small deterministic generator in [-1, 1).
struct Lcg(u64);

impl Lcg {
    fn values(&mut self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }
}

fn ints(name: &str, values: &[i64]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(values.to_vec()),
    }
}

/// One depthwise case: N×C×H×W input, k×k filter, one stride, one
/// dilation, pads (top, left, bottom, right).
#[derive(Clone, Copy, Debug)]
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    pads: [usize; 4],
    /// Output channels per input channel.
    multiplier: usize,
}

impl Case {
    fn new(c: usize, (h, w): (usize, usize), k: usize, stride: usize, pads: [usize; 4]) -> Case {
        Case {
            n: 2,
            c,
            h,
            w,
            k,
            stride,
            dilation: 1,
            pads,
            multiplier: 1,
        }
    }

    fn out(&self, input: usize, begin: usize, end: usize) -> usize {
        let span = self.dilation * (self.k - 1) + 1;
        (input + begin + end - span) / self.stride + 1
    }

    /// The plan `Conv` would make.
    fn plan(&self) -> ConvPlan {
        let [top, left, bottom, right] = self.pads;
        let axis = |input: usize, begin: usize, end: usize| Axis {
            input,
            output: self.out(input, begin, end),
            kernel: self.k,
            stride: self.stride,
            dilation: self.dilation,
            pad_begin: begin as i64,
            pad_end: end as i64,
        };
        ConvPlan {
            batch: self.n,
            in_channels: self.c,
            out_channels: self.c * self.multiplier,
            group: self.c,
            geo: Geometry::new(&[axis(self.h, top, bottom), axis(self.w, left, right)]).unwrap(),
        }
    }

    /// Inputs x, w, bias.
    fn inputs(&self, rng: &mut Lcg) -> (Tensor, Tensor, Tensor) {
        let m = self.c * self.multiplier;
        let x = Tensor::from_slice(
            &[self.n, self.c, self.h, self.w],
            &rng.values(self.n * self.c * self.h * self.w),
        )
        .unwrap();
        let w =
            Tensor::from_slice(&[m, 1, self.k, self.k], &rng.values(m * self.k * self.k)).unwrap();
        let b = Tensor::from_slice(&[m], &rng.values(m)).unwrap();
        (x, w, b)
    }

    /// The generic Conv operator's output plus the scalar activation.
    fn expected(&self, x: &Tensor, w: &Tensor, b: &Tensor, activation: Activation) -> Tensor {
        let [top, left, bottom, right] = self.pads.map(|p| p as i64);
        let attrs = [
            ints("kernel_shape", &[self.k as i64; 2]),
            ints("strides", &[self.stride as i64; 2]),
            ints("dilations", &[self.dilation as i64; 2]),
            ints("pads", &[top, left, bottom, right]),
            Attribute {
                name: "group".into(),
                value: AttrValue::Int(self.c as i64),
            },
        ];
        let conv = crate::build_operator(OpCode::Conv, &attrs).unwrap();
        let mut y = crate::eval(
            &*conv,
            &[Some(x.view()), Some(w.view()), Some(b.view())],
            Isa::Scalar,
        )
        .unwrap()
        .remove(0);
        activation.apply_reference_slice(y.as_slice_mut::<f32>().unwrap());
        y
    }
}

/// Runs the fast path on `isa`; `None` when it declines.
fn fast(
    isa: Isa,
    case: &Case,
    x: &Tensor,
    w: &Tensor,
    b: &Tensor,
    activation: Activation,
) -> Option<Vec<f32>> {
    let plan = case.plan();
    let len = plan.batch * plan.out_channels * plan.geo.output_size();
    let mut y = vec![f32::NAN; len];
    let x = x.as_slice::<f32>().unwrap();
    let w = w.as_slice::<f32>().unwrap();
    let b = b.as_slice::<f32>().unwrap();
    run_fast(isa, &plan, x, w, Some(b), activation, &mut y).map(|r| {
        r.unwrap();
        y
    })
}

#[track_caller]
fn assert_close(got: &[f32], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}: lengths");
    for (i, (&g, &e)) in got.iter().zip(expected).enumerate() {
        // Sums of up to 26 products of values in [-1, 1]: absolute error
        // well below 1e-5; activations add a few ulp.
        let ok = (g.is_nan() && e.is_nan()) || (g - e).abs() <= 1e-5 * (1.0 + e.abs());
        assert!(ok, "{what}: element {i} is {g}, expected {e}");
    }
}

#[test]
fn fast_path_matches_the_generic_conv_on_every_tier() {
    let mut rng = Lcg(11);
    let mut cases = Vec::new();
    for (k, stride) in [(3, 1), (3, 2), (5, 1), (5, 2)] {
        // Widths around the vector widths (4, 8, 16 lanes) and odd ones.
        for w in [1, 3, 4, 7, 8, 9, 15, 16, 17, 31, 33, 40] {
            for pads in [[0; 4], [1, 1, 1, 1], [k / 2; 4], [0, 1, 2, 0], [2, 0, 0, 2]] {
                if w + pads[1] + pads[3] >= k {
                    cases.push(Case::new(3, (k + 2, w), k, stride, pads));
                }
            }
        }
    }
    // MobileNet / EfficientNet-like planes.
    cases.push(Case::new(8, (28, 28), 3, 1, [1; 4]));
    cases.push(Case::new(6, (29, 29), 3, 2, [0; 4]));
    cases.push(Case::new(4, (17, 17), 5, 2, [2; 4]));
    let activations = [
        Activation::None,
        Activation::Relu,
        Activation::Clip { min: 0.0, max: 6.0 },
        Activation::HardSwish,
        Activation::Silu,
    ];
    for (i, case) in cases.iter().enumerate() {
        let (x, w, b) = case.inputs(&mut rng);
        let activation = activations[i % activations.len()];
        let expected = case.expected(&x, &w, &b, activation);
        for isa in Isa::available() {
            let got = fast(isa, case, &x, &w, &b, activation)
                .unwrap_or_else(|| panic!("{case:?} was declined"));
            assert_close(
                &got,
                expected.as_slice::<f32>().unwrap(),
                &format!("{case:?} {activation:?} on {isa}"),
            );
        }
    }
}

#[test]
fn other_shapes_are_declined() {
    let mut rng = Lcg(5);
    let base = Case::new(2, (9, 9), 3, 1, [1; 4]);
    let declined = [
        Case { k: 7, ..base },
        Case { k: 1, ..base },
        Case { stride: 3, ..base },
        Case {
            dilation: 2,
            ..base
        },
        Case {
            multiplier: 2,
            ..base
        },
    ];
    for case in declined {
        let (x, w, b) = case.inputs(&mut rng);
        assert!(
            fast(Isa::Scalar, &case, &x, &w, &b, Activation::None).is_none(),
            "{case:?}"
        );
    }
    // A grouped conv with 2 channels per group and 1-D / 3-D geometries.
    let plan = base.plan();
    let grouped = ConvPlan { group: 1, ..plan };
    let one_d = ConvPlan {
        geo: Geometry::new(&plan.geo.axes()[1..]).unwrap(),
        ..plan
    };
    let three_d = ConvPlan {
        geo: Geometry::new(&[plan.geo.axes()[0]; 3]).unwrap(),
        ..plan
    };
    let mut y = [0.0f32; 4];
    for plan in [grouped, one_d, three_d] {
        assert!(run_fast(Isa::Scalar, &plan, &[], &[], None, Activation::None, &mut y).is_none());
    }
}

#[test]
fn wrong_lengths_are_errors_not_panics() {
    let case = Case::new(2, (6, 6), 3, 1, [1; 4]);
    let plan = case.plan();
    let mut y = vec![0.0f32; 2 * 2 * 36];
    let x = vec![0.0f32; 2 * 2 * 36];
    let w = [0.0f32; 18];
    assert!(
        run_fast(
            Isa::Scalar,
            &plan,
            &x[1..],
            &w,
            None,
            Activation::None,
            &mut y
        )
        .unwrap()
        .is_err()
    );
    assert!(
        run_fast(
            Isa::Scalar,
            &plan,
            &x,
            &w[1..],
            None,
            Activation::None,
            &mut y
        )
        .unwrap()
        .is_err()
    );
    assert!(
        run_fast(
            Isa::Scalar,
            &plan,
            &x,
            &w,
            Some(&[1.0]),
            Activation::None,
            &mut y
        )
        .unwrap()
        .is_err()
    );
    assert!(
        run_fast(
            Isa::Scalar,
            &plan,
            &x,
            &w,
            None,
            Activation::None,
            &mut y[1..]
        )
        .unwrap()
        .is_err()
    );
    assert!(
        run_fast(Isa::Scalar, &plan, &x, &w, None, Activation::None, &mut y)
            .unwrap()
            .is_ok()
    );
}
