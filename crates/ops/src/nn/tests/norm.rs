//! The normalisations against direct formulas computed in f64.

use super::reference::unravel;
use super::{Lcg, check, eval_tiers, float, int, run_first_output_only};
use pocketnn_format::OpCode;
use pocketnn_tensor::Tensor;

#[test]
fn batch_normalization_matches_formula() {
    let mut rng = Lcg(41);
    for x_shape in [
        vec![3, 4],
        vec![2, 3, 5],
        vec![2, 2, 3, 4],
        vec![1, 2, 2, 2, 3],
    ] {
        let c = x_shape[1];
        let x = rng.tensor(&x_shape);
        let [scale, bias, mean] = [0, 1, 2].map(|_| rng.tensor(&[c]));
        let var_values: Vec<f32> = (0..c).map(|i| 0.25 + i as f32).collect();
        let var = Tensor::from_slice(&[c], &var_values).unwrap();
        let eps = 1e-3f32;
        let (s, b, m) = (
            scale.as_slice::<f32>().unwrap(),
            bias.as_slice::<f32>().unwrap(),
            mean.as_slice::<f32>().unwrap(),
        );
        let expected: Vec<f32> = x
            .as_slice::<f32>()
            .unwrap()
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let ch = unravel(i, &x_shape)[1];
                let norm = (f64::from(v) - f64::from(m[ch]))
                    / (f64::from(var_values[ch]) + f64::from(eps)).sqrt();
                (norm * f64::from(s[ch]) + f64::from(b[ch])) as f32
            })
            .collect();
        let op = super::build(
            OpCode::BatchNormalization,
            &[float("epsilon", eps), float("momentum", 0.9)],
        );
        check(
            &*op,
            &[Some(&x), Some(&scale), Some(&bias), Some(&mean), Some(&var)],
            &x_shape,
            &expected,
            1e-5,
            "BatchNormalization",
        );
    }
}

#[test]
fn instance_normalization_matches_formula() {
    let mut rng = Lcg(42);
    for x_shape in [
        vec![2, 3, 5],
        vec![2, 2, 3, 4],
        vec![1, 2, 2, 2, 3],
        vec![2, 2, 1],
    ] {
        let c = x_shape[1];
        let x = rng.tensor(&x_shape);
        let scale = rng.tensor(&[c]);
        let bias = rng.tensor(&[c]);
        let plane: usize = x_shape[2..].iter().product();
        let values = x.as_slice::<f32>().unwrap();
        let (s, b) = (
            scale.as_slice::<f32>().unwrap(),
            bias.as_slice::<f32>().unwrap(),
        );
        let mut expected = Vec::new();
        for (p, chunk) in values.chunks(plane).enumerate() {
            let ch = p % c;
            let mean = chunk.iter().map(|&v| f64::from(v)).sum::<f64>() / plane as f64;
            let var = chunk
                .iter()
                .map(|&v| (f64::from(v) - mean).powi(2))
                .sum::<f64>()
                / plane as f64;
            for &v in chunk {
                expected.push(
                    ((f64::from(v) - mean) / (var + 1e-5).sqrt() * f64::from(s[ch])
                        + f64::from(b[ch])) as f32,
                );
            }
        }
        let op = super::build(OpCode::InstanceNormalization, &[]);
        check(
            &*op,
            &[Some(&x), Some(&scale), Some(&bias)],
            &x_shape,
            &expected,
            1e-4,
            "InstanceNormalization",
        );
    }
}

/// LayerNormalization by its definition; `scale`/`bias` given with their
/// shapes, broadcast against the normalised axes right-aligned.
fn layer_norm(
    x: &Tensor,
    axis: usize,
    scale: Option<&Tensor>,
    bias: Option<&Tensor>,
    eps: f64,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let shape = x.shape();
    let norm_shape = &shape[axis..];
    let row: usize = norm_shape.iter().product();
    let param = |t: Option<&Tensor>, j: usize, default: f32| -> f32 {
        let Some(t) = t else { return default };
        let idx = unravel(j, norm_shape);
        let ps = t.shape();
        let coords: Vec<usize> = ps
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                if d == 1 {
                    0
                } else {
                    idx[idx.len() - ps.len() + i]
                }
            })
            .collect();
        t.as_slice::<f32>().unwrap()[super::reference::ravel(&coords, ps)]
    };
    let (mut y, mut means, mut inv) = (Vec::new(), Vec::new(), Vec::new());
    for chunk in x.as_slice::<f32>().unwrap().chunks(row.max(1)) {
        let mean = chunk.iter().map(|&v| f64::from(v)).sum::<f64>() / row as f64;
        let var = chunk
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / row as f64;
        let inv_std = 1.0 / (var + eps).sqrt();
        means.push(mean as f32);
        inv.push(inv_std as f32);
        for (j, &v) in chunk.iter().enumerate() {
            let s = f64::from(param(scale, j, 1.0));
            let b = f64::from(param(bias, j, 0.0));
            y.push(((f64::from(v) - mean) * inv_std * s + b) as f32);
        }
    }
    (y, means, inv)
}

/// X shape, axis, Scale shape, B shape.
type LayerNormCase<'a> = (&'a [usize], i64, Option<&'a [usize]>, Option<&'a [usize]>);

#[test]
fn layer_normalization_axes_broadcasts_and_statistics() {
    let mut rng = Lcg(43);
    let cases: &[LayerNormCase<'_>] = &[
        (&[2, 3, 4], -1, Some(&[4]), Some(&[4])),
        (&[2, 3, 4], 1, Some(&[3, 4]), Some(&[3, 4])),
        (&[2, 3, 4], 1, Some(&[4]), None),
        (&[2, 3, 4], 1, Some(&[3, 1]), Some(&[1])),
        (&[2, 3, 4], 0, Some(&[1, 3, 4]), Some(&[2, 1, 4])),
        (&[5, 6], -2, None, None),
        (&[7], 0, Some(&[7]), Some(&[7])),
        (&[3, 2, 2, 5], 2, Some(&[2, 5]), Some(&[5])),
    ];
    for &(x_shape, axis, scale_shape, bias_shape) in cases {
        let x = rng.tensor(x_shape);
        let scale = scale_shape.map(|s| rng.tensor(s));
        let bias = bias_shape.map(|s| rng.tensor(s));
        let axis_index = if axis < 0 {
            (axis + x_shape.len() as i64) as usize
        } else {
            axis as usize
        };
        let (y, mean, inv) = layer_norm(&x, axis_index, scale.as_ref(), bias.as_ref(), 1e-5);
        let op = super::build(OpCode::LayerNormalization, &[int("axis", axis)]);
        let inputs = [Some(&x), scale.as_ref(), bias.as_ref()];
        let inputs: &[Option<&Tensor>] = if bias.is_some() {
            &inputs
        } else {
            &inputs[..2]
        };
        let what = format!("LayerNormalization {x_shape:?} axis {axis}");
        check(&*op, inputs, x_shape, &y, 1e-4, &what);
        let mut stats_shape = x_shape.to_vec();
        stats_shape[axis_index..].fill(1);
        for (isa, outputs) in eval_tiers(&*op, inputs) {
            assert_eq!(outputs[1].shape(), stats_shape);
            super::assert_close(
                outputs[1].as_slice().unwrap(),
                &mean,
                1e-5,
                &format!("{what} Mean on {isa}"),
            );
            super::assert_close(
                outputs[2].as_slice().unwrap(),
                &inv,
                1e-4,
                &format!("{what} InvStdDev on {isa}"),
            );
        }
        let alone = run_first_output_only(&*op, inputs);
        super::assert_close(
            alone.as_slice().unwrap(),
            &y,
            1e-4,
            &format!("{what} Y alone"),
        );
    }
}

/// LRN by the ONNX formula, window bounds computed per channel.
fn lrn(x: &Tensor, size: usize, alpha: f32, beta: f32, bias: f32) -> Vec<f32> {
    let shape = x.shape();
    let values = x.as_slice::<f32>().unwrap();
    let c_count = shape[1] as i64;
    values
        .iter()
        .enumerate()
        .map(|(flat, &v)| {
            let mut idx = unravel(flat, shape);
            let c = idx[1] as i64;
            let lo = (c - ((size as i64 - 1) / 2)).max(0);
            let hi = (c + (size as i64 - 1 + 1) / 2).min(c_count - 1);
            let mut sum = 0.0f64;
            for i in lo..=hi {
                idx[1] = i as usize;
                let u = f64::from(values[super::reference::ravel(&idx, shape)]);
                sum += u * u;
            }
            (f64::from(v)
                / (f64::from(bias) + f64::from(alpha) / size as f64 * sum).powf(f64::from(beta)))
                as f32
        })
        .collect()
}

#[test]
fn lrn_matches_formula_for_odd_and_even_sizes() {
    let mut rng = Lcg(44);
    for x_shape in [vec![2, 7, 3, 2], vec![1, 5, 4], vec![1, 3, 2, 2, 2]] {
        for size in 1..=8 {
            let x = rng.tensor(&x_shape);
            let (alpha, beta, bias) = (0.3, 0.7, 1.2);
            let expected = lrn(&x, size, alpha, beta, bias);
            let op = super::build(
                OpCode::LRN,
                &[
                    int("size", size as i64),
                    float("alpha", alpha),
                    float("beta", beta),
                    float("bias", bias),
                ],
            );
            check(
                &*op,
                &[Some(&x)],
                &x_shape,
                &expected,
                1e-5,
                &format!("LRN size {size} on {x_shape:?}"),
            );
        }
    }
}
