//! The operators with several threads (rows of the batch, or images, split
//! over the rayon pool) against dense references written here.

use super::tests::{Encoding, Rng, attrs, encode, part_tensors, sparse_dense};
use crate::operator::{InputInfo, Operator, RunContext};
use crate::{build_operator, eval};
use pocketnn_format::OpCode;
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};

/// `op` on `inputs` with `threads` threads, on the best tier.
fn run_threaded(op: &dyn Operator, inputs: &[Option<&Tensor>], threads: usize) -> Tensor {
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let infos: Vec<Option<InputInfo<'_>>> = views.iter().map(|v| v.map(InputInfo::from)).collect();
    let spec = op.infer(&infos).unwrap().remove(0);
    let mut out = Tensor::zeros(spec.dtype, &spec.shape).unwrap();
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa: Isa::best(),
        threads,
        scratch: &mut scratch,
    };
    let mut outputs: Vec<TensorViewMut<'_>> = vec![out.view_mut()];
    op.run(&mut ctx, &views, &mut outputs).unwrap();
    drop(outputs);
    out
}

#[test]
fn f32_operators_split_rows_and_images_over_threads() {
    let mut rng = Rng(0x5eed_1234_abcd_0004);
    let (m, k) = (11, 24);
    let dense = sparse_dense(&mut rng, (m, k), (4, 1), 0.5);
    let parts = encode(&dense, (m, k), (4, 1));
    let [values, block_ptr, columns] = part_tensors(&parts, Encoding::U16);
    let bias: Vec<f32> = (0..m).map(|_| rng.unit()).collect();
    let bias_t = Tensor::from_slice(&[m], &bias).unwrap();
    // SparseLinear over 7 rows.
    let rows = 7;
    let x: Vec<f32> = (0..rows * k).map(|_| rng.unit()).collect();
    let x_t = Tensor::from_slice(&[rows, k], &x).unwrap();
    let op = build_operator(OpCode::SparseLinear, &attrs(m, k, "4x1")).unwrap();
    let inputs = [
        Some(&x_t),
        Some(&values),
        Some(&block_ptr),
        Some(&columns),
        Some(&bias_t),
    ];
    for threads in [2, 3, 8] {
        let y = run_threaded(op.as_ref(), &inputs, threads);
        let y = y.as_slice::<f32>().unwrap();
        for i in 0..rows {
            for j in 0..m {
                let want: f32 =
                    bias[j] + (0..k).map(|p| x[i * k + p] * dense[j * k + p]).sum::<f32>();
                let got = y[i * m + j];
                assert!(
                    (got - want).abs() <= 1e-4,
                    "{threads} threads: row {i}, output {j}"
                );
            }
        }
    }
    // SparseConv over 5 images of 3 × 3.
    let (n, hw) = (5, 9);
    let x: Vec<f32> = (0..n * k * hw).map(|_| rng.unit()).collect();
    let x_t = Tensor::from_slice(&[n, k, 3, 3], &x).unwrap();
    let op = build_operator(OpCode::SparseConv, &attrs(m, k, "4x1")).unwrap();
    let inputs = [
        Some(&x_t),
        Some(&values),
        Some(&block_ptr),
        Some(&columns),
        Some(&bias_t),
    ];
    for threads in [2, 4] {
        let y = run_threaded(op.as_ref(), &inputs, threads);
        let y = y.as_slice::<f32>().unwrap();
        for img in 0..n {
            for j in 0..m {
                for p in 0..hw {
                    let want: f32 = bias[j]
                        + (0..k)
                            .map(|q| dense[j * k + q] * x[(img * k + q) * hw + p])
                            .sum::<f32>();
                    let got = y[(img * m + j) * hw + p];
                    assert!((got - want).abs() <= 1e-4, "{threads} threads: image {img}");
                }
            }
        }
    }
}

#[test]
fn the_int8_operator_splits_rows_and_images_over_threads() {
    let (m, k) = (9, 20);
    let mut dense = vec![0i8; m * k];
    for (i, w) in dense.iter_mut().enumerate() {
        if i % 3 != 1 {
            *w = ((i * 37) % 255) as i8;
        }
    }
    let parts = encode(&dense, (m, k), (1, 1));
    let [values, block_ptr, columns] = part_tensors(&parts, Encoding::I32);
    let (x_scale, x_zero) = (Tensor::scalar(0.02f32), Tensor::scalar(90u8));
    let (y_scale, y_zero) = (Tensor::scalar(0.2f32), Tensor::scalar(128u8));
    let w_scale = Tensor::scalar(0.01f32);
    let w_zero = Tensor::scalar(0i8);
    let sparse = build_operator(OpCode::SparseQLinearConv, &attrs(m, k, "csr")).unwrap();
    let dense_op = build_operator(OpCode::QLinearConv, &[]).unwrap();
    for x_shape in [vec![6, k, 1], vec![3, k, 2, 5]] {
        let len: usize = x_shape.iter().product();
        let x: Vec<u8> = (0..len).map(|i| ((i * 101 + 7) % 256) as u8).collect();
        let x_t = Tensor::from_slice(&x_shape, &x).unwrap();
        let mut w_shape = vec![m, k];
        w_shape.extend(std::iter::repeat_n(1, x_shape.len() - 2));
        let w = Tensor::from_slice(&w_shape, &dense).unwrap();
        let dense_inputs = [
            Some(&x_t),
            Some(&x_scale),
            Some(&x_zero),
            Some(&w),
            Some(&w_scale),
            Some(&w_zero),
            Some(&y_scale),
            Some(&y_zero),
        ];
        let views: Vec<_> = dense_inputs.iter().map(|t| t.map(Tensor::view)).collect();
        let want = eval(dense_op.as_ref(), &views, Isa::Scalar)
            .unwrap()
            .remove(0);
        let inputs = [
            Some(&x_t),
            Some(&x_scale),
            Some(&x_zero),
            Some(&values),
            Some(&block_ptr),
            Some(&columns),
            Some(&w_scale),
            Some(&y_scale),
            Some(&y_zero),
        ];
        for threads in [2, 5] {
            let got = run_threaded(sparse.as_ref(), &inputs, threads);
            assert_eq!(got.bytes(), want.bytes(), "{x_shape:?}, {threads} threads");
        }
    }
}
