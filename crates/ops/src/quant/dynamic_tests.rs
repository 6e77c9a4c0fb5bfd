//! Tests of `DynamicQuantMatMul` against a scalar reference written here:
//! each row quantized as ONNX `DynamicQuantizeLinear` specifies, the
//! integer product summed in i64, dequantized in f64.

use crate::{OpError, build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::kernels::qgemm::MAX_DEPTH;
use pocketnn_tensor::{Isa, Tensor};

/// A small deterministic generator (64-bit LCG).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }

    /// Uniform in `[low, high)`.
    fn float(&mut self, low: f32, high: f32) -> f32 {
        low + (high - low) * (self.next() as f32 / (1u64 << 31) as f32)
    }

    fn weight(&mut self) -> i8 {
        ((self.next() % 255) as i32 - 127) as i8
    }
}

/// Row `row` quantized to u8: `(q, scale, zero)` (scale 1, zero 0 for an
/// all-zero row).
fn reference_quantize(row: &[f32]) -> (Vec<u8>, f32, i64) {
    let low = row.iter().fold(0f32, |m, &v| m.min(v));
    let high = row.iter().fold(0f32, |m, &v| m.max(v));
    let scale = (high - low) / 255.0;
    if scale == 0.0 {
        return (vec![0; row.len()], 1.0, 0);
    }
    let zero = (-low / scale).round_ties_even().clamp(0.0, 255.0);
    let q = row
        .iter()
        .map(|&v| ((v / scale).round_ties_even() + zero).clamp(0.0, 255.0) as u8)
        .collect();
    (q, scale, zero as i64)
}

/// The expected output for `a` (`rows × k`), weights `b` (`k × n`),
/// column scales, bias, and ReLU when `relu`.
fn reference(
    a: &[f32],
    (rows, k, n): (usize, usize, usize),
    b: &[i8],
    scales: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f64> {
    let mut out = Vec::with_capacity(rows * n);
    for i in 0..rows {
        let (q, row_scale, zero) = reference_quantize(&a[i * k..(i + 1) * k]);
        for j in 0..n {
            let sum: i64 = (0..k)
                .map(|p| (i64::from(q[p]) - zero) * i64::from(b[p * n + j]))
                .sum();
            let col_scale = if scales.len() == 1 {
                scales[0]
            } else {
                scales[j]
            };
            let mut y = sum as f64 * f64::from(row_scale) * f64::from(col_scale);
            if let Some(bias) = bias {
                y += f64::from(bias[j]);
            }
            if relu {
                y = y.max(0.0);
            }
            out.push(y);
        }
    }
    out
}

fn relu_attr() -> Vec<Attribute> {
    vec![Attribute {
        name: "activation".into(),
        value: AttrValue::String("relu".into()),
    }]
}

/// Runs the operator on every tier of this CPU; all tiers must agree
/// exactly. Returns the output.
fn run(attrs: &[Attribute], inputs: &[Option<&Tensor>]) -> Result<Tensor, OpError> {
    let op = build_operator(OpCode::DynamicQuantMatMul, attrs)?;
    let views: Vec<_> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let mut result: Option<Tensor> = None;
    for isa in Isa::available() {
        let out = eval(op.as_ref(), &views, isa)?.remove(0);
        if let Some(previous) = &result {
            assert_eq!(out.bytes(), previous.bytes(), "tier {isa} differs");
        }
        result = Some(out);
    }
    Ok(result.expect("at least the scalar tier"))
}

/// Asserts `got` matches `want` up to f32 rounding of the dequantization.
fn assert_close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tolerance = 1e-5 * w.abs().max(1.0);
        assert!(
            (f64::from(g) - w).abs() <= tolerance,
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}

struct Case {
    a_shape: Vec<usize>,
    a: Vec<f32>,
    b: Vec<i8>,
    scales: Vec<f32>,
    bias: Option<Vec<f32>>,
}

impl Case {
    fn random(rng: &mut Lcg, a_shape: &[usize], n: usize, per_column: bool, bias: bool) -> Case {
        let k = *a_shape.last().unwrap();
        let len: usize = a_shape.iter().product();
        let a = (0..len).map(|_| rng.float(-3.0, 5.0)).collect();
        let b = (0..k * n).map(|_| rng.weight()).collect();
        let scales = (0..if per_column { n } else { 1 })
            .map(|_| rng.float(0.001, 0.05))
            .collect();
        let bias = bias.then(|| (0..n).map(|_| rng.float(-1.0, 1.0)).collect());
        Case {
            a_shape: a_shape.to_vec(),
            a,
            b,
            scales,
            bias,
        }
    }

    fn n(&self) -> usize {
        self.scales
            .len()
            .max(self.bias.as_ref().map_or(0, Vec::len))
    }

    fn check(&self, n: usize, relu: bool, what: &str) {
        let k = *self.a_shape.last().unwrap();
        let rows: usize = self.a_shape[..self.a_shape.len() - 1].iter().product();
        let a = Tensor::from_slice(&self.a_shape, &self.a).unwrap();
        let b = Tensor::from_slice(&[k, n], &self.b).unwrap();
        let scales = Tensor::from_slice(&[self.scales.len()], &self.scales).unwrap();
        let bias = self
            .bias
            .as_ref()
            .map(|v| Tensor::from_slice(&[n], v).unwrap());
        let attrs = if relu { relu_attr() } else { vec![] };
        let out = run(&attrs, &[Some(&a), Some(&b), Some(&scales), bias.as_ref()]).unwrap();
        let mut want_shape = self.a_shape[..self.a_shape.len() - 1].to_vec();
        want_shape.push(n);
        assert_eq!(out.shape(), want_shape.as_slice(), "{what}: shape");
        assert_eq!(out.dtype(), DType::F32);
        let want = reference(
            &self.a,
            (rows, k, n),
            &self.b,
            &self.scales,
            self.bias.as_deref(),
            relu,
        );
        assert_close(out.as_slice::<f32>().unwrap(), &want, what);
    }
}

#[test]
fn random_products_match_the_reference() {
    let mut rng = Lcg(7);
    for rows in [1, 2, 5, 8, 13, 97] {
        for k in [1, 3, 16, 31, 100] {
            for n in [1, 5, 17, 40] {
                let per_column = (rows + k + n) % 2 == 0;
                let bias = (rows + n) % 3 != 0;
                let case = Case::random(&mut rng, &[rows, k], n, per_column, bias);
                assert!(case.n() <= n);
                let what = format!("{rows}x{k}x{n}");
                case.check(n, rows % 2 == 1, &what);
            }
        }
    }
}

#[test]
fn batch_ranks_above_two_and_one_dimensional_a() {
    let mut rng = Lcg(11);
    for shape in [vec![2, 3, 7], vec![2, 1, 3, 9], vec![12]] {
        let case = Case::random(&mut rng, &shape, 6, true, true);
        case.check(6, false, &format!("{shape:?}"));
    }
}

#[test]
fn zero_and_constant_rows() {
    let (k, n) = (6, 3);
    let mut rng = Lcg(3);
    let mut case = Case::random(&mut rng, &[5, k], n, true, true);
    let rows: [[f32; 6]; 5] = [
        [0.0; 6],
        [2.5; 6],
        [-1.25; 6],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1e-3],
        [-4.0, 4.0, -4.0, 4.0, 0.0, 0.5],
    ];
    case.a = rows.iter().flatten().copied().collect();
    case.check(n, false, "special rows");
    // An all-zero row gives exactly the bias.
    let a = Tensor::from_slice(&[1, k], &[0f32; 6]).unwrap();
    let b = Tensor::from_slice(&[k, n], &case.b).unwrap();
    let scales = Tensor::from_slice(&[n], &case.scales).unwrap();
    let bias_values = case.bias.clone().unwrap();
    let bias = Tensor::from_slice(&[n], &bias_values).unwrap();
    let out = run(&[], &[Some(&a), Some(&b), Some(&scales), Some(&bias)]).unwrap();
    assert_eq!(out.as_slice::<f32>().unwrap(), bias_values.as_slice());
}

#[test]
fn largest_depth_with_extreme_values_is_exact() {
    // Every sum at its extreme: q = 255 or 0 against ±127 over MAX_DEPTH.
    let (rows, k, n) = (3, MAX_DEPTH, 3);
    let mut a = vec![0f32; rows * k];
    for (p, v) in a.iter_mut().enumerate() {
        let (row, col) = (p / k, p % k);
        *v = match row {
            0 => 1.0,
            1 => -1.0,
            _ => {
                if col % 2 == 0 {
                    -2.0
                } else {
                    3.0
                }
            }
        };
    }
    let b: Vec<i8> = (0..k * n)
        .map(|i| match i % n {
            0 => 127,
            1 => -127,
            _ => -128,
        })
        .collect();
    let case = Case {
        a_shape: vec![rows, k],
        a,
        b,
        scales: vec![0.5, 0.25, 1.0],
        bias: None,
    };
    case.check(n, false, "MAX_DEPTH");
}

#[test]
fn non_finite_rows_give_nan_and_others_are_unaffected() {
    let (k, n) = (4, 2);
    let a = Tensor::from_slice(
        &[3, k],
        &[
            1.0f32,
            2.0,
            3.0,
            4.0,
            f32::NAN,
            0.0,
            1.0,
            2.0,
            1.0,
            f32::INFINITY,
            0.0,
            0.0,
        ],
    )
    .unwrap();
    let b_values = [1i8, -1, 2, 0, 0, 3, -4, 1];
    let b = Tensor::from_slice(&[k, n], &b_values).unwrap();
    let scales = Tensor::from_slice(&[1], &[0.5f32]).unwrap();
    let out = run(&[], &[Some(&a), Some(&b), Some(&scales), None]).unwrap();
    let out = out.as_slice::<f32>().unwrap();
    let want = reference(
        &[1.0, 2.0, 3.0, 4.0],
        (1, k, n),
        &b_values,
        &[0.5],
        None,
        false,
    );
    assert_close(&out[..n], &want, "finite row");
    assert!(out[n..].iter().all(|v| v.is_nan()), "{out:?}");
}

#[test]
fn cached_packing_follows_changed_weights() {
    // One operator, two runs with different weights of the same shape.
    let op = build_operator(OpCode::DynamicQuantMatMul, &[]).unwrap();
    let mut rng = Lcg(5);
    let (rows, k, n) = (3, 20, 9);
    for round in 0..3 {
        let case = Case::random(&mut rng, &[rows, k], n, true, false);
        let a = Tensor::from_slice(&[rows, k], &case.a).unwrap();
        let b = Tensor::from_slice(&[k, n], &case.b).unwrap();
        let scales = Tensor::from_slice(&[n], &case.scales).unwrap();
        let views = [Some(a.view()), Some(b.view()), Some(scales.view())];
        let out = eval(op.as_ref(), &views, Isa::best()).unwrap().remove(0);
        let want = reference(&case.a, (rows, k, n), &case.b, &case.scales, None, false);
        assert_close(
            out.as_slice::<f32>().unwrap(),
            &want,
            &format!("round {round}"),
        );
    }
}

#[test]
fn invalid_inputs_are_errors() {
    let a = Tensor::from_slice(&[2, 3], &[0f32; 6]).unwrap();
    let b = Tensor::from_slice(&[3, 2], &[0i8; 6]).unwrap();
    let b_wrong_k = Tensor::from_slice(&[4, 2], &[0i8; 8]).unwrap();
    let b_u8 = Tensor::from_slice(&[3, 2], &[0u8; 6]).unwrap();
    let scales = Tensor::from_slice(&[2], &[1f32, 1.0]).unwrap();
    let bad_scales = Tensor::from_slice(&[3], &[1f32, 1.0, 1.0]).unwrap();
    let zero_scale = Tensor::from_slice(&[2], &[1f32, 0.0]).unwrap();
    let bad_bias = Tensor::from_slice(&[3], &[0f32; 3]).unwrap();
    let deep_a = Tensor::zeros(DType::F32, &[1, MAX_DEPTH + 1]).unwrap();
    let deep_b = Tensor::zeros(DType::I8, &[MAX_DEPTH + 1, 1]).unwrap();
    let one_scale = Tensor::from_slice(&[1], &[1f32]).unwrap();
    let cases: [(&str, Vec<Option<&Tensor>>); 7] = [
        ("k differs", vec![Some(&a), Some(&b_wrong_k), Some(&scales)]),
        ("u8 weights", vec![Some(&a), Some(&b_u8), Some(&scales)]),
        ("scales", vec![Some(&a), Some(&b), Some(&bad_scales)]),
        ("zero scale", vec![Some(&a), Some(&b), Some(&zero_scale)]),
        (
            "bias",
            vec![Some(&a), Some(&b), Some(&scales), Some(&bad_bias)],
        ),
        (
            "too deep",
            vec![Some(&deep_a), Some(&deep_b), Some(&one_scale)],
        ),
        ("missing scales", vec![Some(&a), Some(&b)]),
    ];
    for (what, inputs) in cases {
        assert!(run(&[], &inputs).is_err(), "{what}: accepted");
    }
}

#[test]
fn small_rounding_is_round_half_to_even() {
    let mut rng = Lcg(17);
    let quarters = (-1200..=1200).map(|i| i as f32 / 4.0);
    let random = (0..10_000).map(|_| rng.float(-300.0, 300.0));
    for x in quarters
        .chain(random)
        .chain([0.5, -0.5, 1.5, 2.5, 254.5, 255.5, -0.0])
    {
        assert_eq!(super::dynamic::round_small(x), x.round_ties_even(), "{x}");
    }
}
