//! `SparseQLinearConv` against two independent references: the dense
//! `QLinearConv` operator (im2col and the int8 GEMM, a separate code path)
//! run on the same weights, which must agree bit for bit, and the formula
//! of `docs/ops/quant.md` computed in i64/f64 here (within one step: the
//! operators requantize in f32).

use super::tests::{BLOCKS, Encoding, Rng, attrs, encode, part_tensors};
use crate::{build_operator, eval};
use pocketnn_format::OpCode;
use pocketnn_tensor::{Isa, Tensor, TensorView};

/// One quantized layer: weights, parameters and an input.
struct Case {
    m: usize,
    k: usize,
    /// `x`'s shape, `[N, K, ...]`.
    x_shape: Vec<usize>,
    dense: Vec<i8>,
    x: Vec<u8>,
    x_scale: f32,
    x_zero: u8,
    w_scale: Vec<f32>,
    y_scale: f32,
    y_zero: u8,
    bias: Option<Vec<i32>>,
}

impl Case {
    fn new(
        rng: &mut Rng,
        (m, k): (usize, usize),
        x_shape: Vec<usize>,
        (br, bc): (usize, usize),
        (per_channel, with_bias): (bool, bool),
    ) -> Case {
        let mut dense = vec![0i8; m * k];
        for b in 0..m.div_ceil(br) {
            for c0 in (0..k).step_by(bc) {
                if !rng.chance(0.4) {
                    continue;
                }
                for r in b * br..(b * br + br).min(m) {
                    for c in c0..c0 + bc {
                        // Symmetric weights: -127..=127.
                        dense[r * k + c] = ((rng.next_u64() % 255) as i32 - 127) as i8;
                    }
                }
            }
        }
        let len: usize = x_shape.iter().product();
        let x = (0..len).map(|_| (rng.next_u64() >> 32) as u8).collect();
        let channels = if per_channel { m } else { 1 };
        let w_scale = (0..channels)
            .map(|_| 0.005 + 0.015 * (rng.unit() + 1.0) / 2.0)
            .collect();
        let bias = with_bias.then(|| {
            (0..m)
                .map(|_| (rng.next_u64() % 4001) as i32 - 2000)
                .collect()
        });
        Case {
            m,
            k,
            x_shape,
            dense,
            x,
            x_scale: 0.02,
            x_zero: 1 + (rng.next_u64() % 250) as u8,
            w_scale,
            y_scale: 0.1,
            y_zero: 100 + (rng.next_u64() % 50) as u8,
            bias,
        }
    }

    fn pixels(&self) -> usize {
        self.x_shape[2..].iter().product()
    }

    /// The output from the formula, in exact integers and f64.
    fn formula(&self) -> Vec<u8> {
        let (m, k, pixels, images) = (self.m, self.k, self.pixels(), self.x_shape[0]);
        let mut y = vec![0u8; images * m * pixels];
        for n in 0..images {
            for j in 0..m {
                for p in 0..pixels {
                    let mut sum = 0i64;
                    for q in 0..k {
                        let x = i64::from(self.x[(n * k + q) * pixels + p]);
                        sum += i64::from(self.dense[j * k + q]) * (x - i64::from(self.x_zero));
                    }
                    if let Some(bias) = &self.bias {
                        sum += i64::from(bias[j]);
                    }
                    let w_scale = self.w_scale[if self.w_scale.len() == 1 { 0 } else { j }];
                    let scale =
                        f64::from(self.x_scale) * f64::from(w_scale) / f64::from(self.y_scale);
                    let q = (sum as f64 * scale).round_ties_even() + f64::from(self.y_zero);
                    y[(n * m + j) * pixels + p] = q.clamp(0.0, 255.0) as u8;
                }
            }
        }
        y
    }

    /// The dense `QLinearConv` on the same weights (a 1-D or 2-D 1×1
    /// convolution; rank 2 as 1-D of length 1), on tier `isa`.
    fn dense_operator(&self, isa: Isa) -> Vec<u8> {
        let mut x_shape = self.x_shape.clone();
        if x_shape.len() == 2 {
            x_shape.push(1);
        }
        let mut w_shape = vec![self.m, self.k];
        w_shape.extend(std::iter::repeat_n(1, x_shape.len() - 2));
        let channels = self.w_scale.len();
        let x = Tensor::from_slice(&x_shape, &self.x).unwrap();
        let w = Tensor::from_slice(&w_shape, &self.dense).unwrap();
        let w_scale = Tensor::from_slice(&[channels], &self.w_scale).unwrap();
        let w_zero = Tensor::from_slice(&[channels], &vec![0i8; channels]).unwrap();
        let scalars = self.scalars();
        let bias = self
            .bias
            .as_ref()
            .map(|b| Tensor::from_slice(&[self.m], b).unwrap());
        let mut inputs = vec![
            Some(&x),
            Some(&scalars[0]),
            Some(&scalars[1]),
            Some(&w),
            Some(&w_scale),
            Some(&w_zero),
            Some(&scalars[2]),
            Some(&scalars[3]),
        ];
        inputs.push(bias.as_ref());
        let op = build_operator(OpCode::QLinearConv, &[]).unwrap();
        let views: Vec<_> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
        let out = eval(op.as_ref(), &views, isa).unwrap();
        out[0].as_slice::<u8>().unwrap().to_vec()
    }

    /// `x_scale`, `x_zero_point`, `y_scale`, `y_zero_point`.
    fn scalars(&self) -> [Tensor; 4] {
        [
            Tensor::scalar(self.x_scale),
            Tensor::scalar(self.x_zero),
            Tensor::scalar(self.y_scale),
            Tensor::scalar(self.y_zero),
        ]
    }

    /// The sparse operator with `block`, columns in `encoding`, on `isa`.
    fn sparse_operator(
        &self,
        block: (&str, usize, usize),
        encoding: Encoding,
        isa: Isa,
    ) -> Vec<u8> {
        let (name, br, bc) = block;
        let parts = encode(&self.dense, (self.m, self.k), (br, bc));
        let [values, block_ptr, columns] = part_tensors(&parts, encoding);
        let x = Tensor::from_slice(&self.x_shape, &self.x).unwrap();
        let w_scale = match self.w_scale.as_slice() {
            [one] => Tensor::scalar(*one),
            all => Tensor::from_slice(&[all.len()], all).unwrap(),
        };
        let scalars = self.scalars();
        let bias = self
            .bias
            .as_ref()
            .map(|b| Tensor::from_slice(&[self.m], b).unwrap());
        let mut inputs = vec![
            Some(&x),
            Some(&scalars[0]),
            Some(&scalars[1]),
            Some(&values),
            Some(&block_ptr),
            Some(&columns),
            Some(&w_scale),
            Some(&scalars[2]),
            Some(&scalars[3]),
        ];
        if let Some(b) = &bias {
            inputs.push(Some(b));
        }
        let op = build_operator(OpCode::SparseQLinearConv, &attrs(self.m, self.k, name)).unwrap();
        let views: Vec<Option<TensorView<'_>>> =
            inputs.iter().map(|t| t.map(Tensor::view)).collect();
        let out = eval(op.as_ref(), &views, isa).unwrap();
        let mut y_shape = self.x_shape.clone();
        y_shape[1] = self.m;
        assert_eq!(out[0].shape(), y_shape);
        out[0].as_slice::<u8>().unwrap().to_vec()
    }
}

#[test]
fn sparse_qlinearconv_matches_dense_qlinearconv_and_the_formula() {
    let mut rng = Rng(0x5eed_1234_abcd_0003);
    // (m, k, x shape): rank 2 (batch 1 and more), rank 3 and 4 with one
    // pixel (the linear kernel) and with pixel counts around the int8
    // kernels' 16-pixel tile.
    let cases: Vec<(usize, usize, Vec<usize>)> = vec![
        (1, 4, vec![1, 4]),
        (13, 40, vec![1, 40]),
        (9, 68, vec![5, 68]),
        (6, 12, vec![2, 12, 1]),
        (7, 20, vec![3, 20, 1, 1]),
        (5, 8, vec![1, 8, 15]),
        (10, 24, vec![2, 24, 16]),
        (17, 36, vec![1, 36, 17]),
        (4, 16, vec![2, 16, 5, 8]),
        (33, 132, vec![1, 132, 3, 3]),
    ];
    let mut compared = 0;
    for (c, (m, k, x_shape)) in cases.into_iter().enumerate() {
        for (b, &block) in BLOCKS.iter().enumerate() {
            let flags = ((b + c) % 2 == 0, (b + c) % 3 != 0);
            let case = Case::new(&mut rng, (m, k), x_shape.clone(), (block.1, block.2), flags);
            let formula = case.formula();
            let dense = case.dense_operator(Isa::Scalar);
            for (i, (&d, &f)) in dense.iter().zip(&formula).enumerate() {
                assert!(d.abs_diff(f) <= 1, "dense QLinearConv vs formula at {i}");
            }
            for isa in Isa::available() {
                for encoding in [Encoding::I32, Encoding::U16] {
                    let got = case.sparse_operator(block, encoding, isa);
                    assert_eq!(
                        got, dense,
                        "{} {encoding:?} {x_shape:?} → {m} on {isa} (per channel, bias: {flags:?})",
                        block.0
                    );
                    compared += 1;
                }
            }
        }
    }
    assert!(compared >= 10 * 3 * 2);
}

#[test]
fn hand_computed_sparse_qlinearconv() {
    // W = [[2, 0], [0, -3]] (CSR), x = [[10, 4]] with zero point 4:
    // sums [12, 0]; bias [3, 30]: [15, 30]; scale 1·1/3 → [5, 10]; + 7.
    let values = Tensor::from_slice(&[2], &[2i8, -3]).unwrap();
    let block_ptr = Tensor::from_slice(&[3], &[0i32, 1, 2]).unwrap();
    let columns = Tensor::from_slice(&[2], &[0i32, 1]).unwrap();
    let x = Tensor::from_slice(&[1, 2], &[10u8, 4]).unwrap();
    let bias = Tensor::from_slice(&[2], &[3i32, 30]).unwrap();
    let (one, y_scale) = (Tensor::scalar(1.0f32), Tensor::scalar(3.0f32));
    let (x_zero, y_zero) = (Tensor::scalar(4u8), Tensor::scalar(7u8));
    let inputs = [
        Some(&x),
        Some(&one),
        Some(&x_zero),
        Some(&values),
        Some(&block_ptr),
        Some(&columns),
        Some(&one),
        Some(&y_scale),
        Some(&y_zero),
        Some(&bias),
    ];
    let op = build_operator(OpCode::SparseQLinearConv, &attrs(2, 2, "csr")).unwrap();
    let views: Vec<_> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    for isa in Isa::available() {
        let out = eval(op.as_ref(), &views, isa).unwrap();
        assert_eq!(out[0].as_slice::<u8>().unwrap(), [12, 17], "{isa}");
    }
}
