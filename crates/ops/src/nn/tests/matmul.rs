//! Gemm and MatMul against plain triple loops.

use super::reference::{self, transpose, unravel};
use super::{Lcg, check, float, int};
use pocketnn_format::OpCode;
use pocketnn_tensor::Tensor;

#[test]
fn gemm_all_transposes_scalings_and_bias_shapes() {
    let mut rng = Lcg(21);
    let (m, k, n) = (5, 7, 3);
    for trans_a in [false, true] {
        for trans_b in [false, true] {
            for (alpha, beta) in [(1.0, 1.0), (0.5, 2.0), (1.0, 0.0), (-1.5, 1.0)] {
                let c_shapes: [Option<&[usize]>; 6] = [
                    None,
                    Some(&[]),
                    Some(&[n]),
                    Some(&[1, n]),
                    Some(&[m, 1]),
                    Some(&[m, n]),
                ];
                for c_shape in c_shapes {
                    let a_shape = if trans_a { [k, m] } else { [m, k] };
                    let b_shape = if trans_b { [n, k] } else { [k, n] };
                    let a = rng.tensor(&a_shape);
                    let b = rng.tensor(&b_shape);
                    let c = c_shape.map(|s| rng.tensor(s));
                    let a_plain = if trans_a {
                        transpose(a.as_slice().unwrap(), k, m)
                    } else {
                        a.as_slice::<f32>().unwrap().to_vec()
                    };
                    let b_plain = if trans_b {
                        transpose(b.as_slice().unwrap(), n, k)
                    } else {
                        b.as_slice::<f32>().unwrap().to_vec()
                    };
                    let mut expected = reference::matmul(&a_plain, &b_plain, m, k, n);
                    for (flat, v) in expected.iter_mut().enumerate() {
                        let (i, j) = (flat / n, flat % n);
                        let c_value = match (&c, c_shape) {
                            (Some(c), Some(s)) => {
                                let c = c.as_slice::<f32>().unwrap();
                                match s {
                                    [] => c[0],
                                    [_] => c[j],
                                    [1, _] => c[j],
                                    [_, 1] => c[i],
                                    _ => c[i * n + j],
                                }
                            }
                            _ => 0.0,
                        };
                        *v = alpha * *v + beta * c_value;
                    }
                    let op = super::build(
                        OpCode::Gemm,
                        &[
                            float("alpha", alpha),
                            float("beta", beta),
                            int("transA", trans_a as i64),
                            int("transB", trans_b as i64),
                        ],
                    );
                    let what =
                        format!("Gemm tA={trans_a} tB={trans_b} a={alpha} b={beta} C {c_shape:?}");
                    check(
                        &*op,
                        &[Some(&a), Some(&b), c.as_ref()],
                        &[m, n],
                        &expected,
                        1e-5,
                        &what,
                    );
                }
            }
        }
    }
}

#[test]
fn gemm_with_empty_inner_dimension_gives_bias() {
    let op = super::build(OpCode::Gemm, &[float("beta", 2.0)]);
    let a = Tensor::from_slice(&[2, 0], &[0.0f32; 0]).unwrap();
    let b = Tensor::from_slice(&[0, 3], &[0.0f32; 0]).unwrap();
    let c = Tensor::from_slice(&[3], &[1.0f32, 2.0, 3.0]).unwrap();
    check(
        &*op,
        &[Some(&a), Some(&b), Some(&c)],
        &[2, 3],
        &[2.0, 4.0, 6.0, 2.0, 4.0, 6.0],
        0.0,
        "K = 0",
    );
}

/// numpy's matmul, by definition: promote 1-D operands, broadcast batch
/// dims, multiply each pair of matrices, drop the promoted dims.
fn numpy_matmul(a: &Tensor, b: &Tensor) -> (Vec<usize>, Vec<f32>) {
    let (a_shape, b_shape) = (a.shape().to_vec(), b.shape().to_vec());
    let a2 = if a_shape.len() == 1 {
        vec![1, a_shape[0]]
    } else {
        a_shape.clone()
    };
    let b2 = if b_shape.len() == 1 {
        vec![b_shape[0], 1]
    } else {
        b_shape.clone()
    };
    let (m, k, n) = (a2[a2.len() - 2], a2[a2.len() - 1], b2[b2.len() - 1]);
    let (ab, bb) = (&a2[..a2.len() - 2], &b2[..b2.len() - 2]);
    let rank = ab.len().max(bb.len());
    let pad = |s: &[usize]| {
        let mut v = vec![1; rank - s.len()];
        v.extend_from_slice(s);
        v
    };
    let (ab, bb) = (pad(ab), pad(bb));
    let batch: Vec<usize> = ab
        .iter()
        .zip(&bb)
        .map(|(&x, &y)| if x == 1 { y } else { x })
        .collect();
    let total: usize = batch.iter().product();
    let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
    let mut out = Vec::new();
    for i in 0..total {
        let idx = unravel(i, &batch);
        let ai: Vec<usize> = idx
            .iter()
            .zip(&ab)
            .map(|(&c, &d)| if d == 1 { 0 } else { c })
            .collect();
        let bi: Vec<usize> = idx
            .iter()
            .zip(&bb)
            .map(|(&c, &d)| if d == 1 { 0 } else { c })
            .collect();
        let (ao, bo) = (
            reference::ravel(&ai, &ab) * m * k,
            reference::ravel(&bi, &bb) * k * n,
        );
        out.extend(reference::matmul(
            &a[ao..ao + m * k],
            &b[bo..bo + k * n],
            m,
            k,
            n,
        ));
    }
    let mut shape = batch;
    if a_shape.len() > 1 {
        shape.push(m);
    }
    if b_shape.len() > 1 {
        shape.push(n);
    }
    (shape, out)
}

#[test]
fn matmul_promotes_and_broadcasts_like_numpy() {
    let mut rng = Lcg(22);
    let cases: &[(&[usize], &[usize])] = &[
        (&[4], &[4]),
        (&[4], &[4, 3]),
        (&[2, 4], &[4]),
        (&[3, 4], &[4, 5]),
        (&[2, 3, 4], &[4, 5]),
        (&[2, 1, 3, 4], &[3, 4, 5]),
        (&[3, 4], &[2, 4, 5]),
        (&[4], &[2, 4, 3]),
        (&[2, 3, 4], &[4]),
        (&[2, 1, 3, 4], &[1, 5, 4, 2]),
        (&[1, 3, 4], &[6, 4, 2]),
        (&[0, 3, 4], &[4, 2]),
        (&[3, 0], &[0, 2]),
        (&[2, 3, 4], &[2, 4, 0]),
        (&[1, 3, 4], &[0, 4, 2]),
        (&[0, 1, 3, 4], &[5, 4, 2]),
    ];
    let op = super::build(OpCode::MatMul, &[]);
    for &(a_shape, b_shape) in cases {
        let a = rng.tensor(a_shape);
        let b = rng.tensor(b_shape);
        let (shape, expected) = numpy_matmul(&a, &b);
        check(
            &*op,
            &[Some(&a), Some(&b)],
            &shape,
            &expected,
            1e-5,
            &format!("MatMul {a_shape:?} x {b_shape:?}"),
        );
    }
}
