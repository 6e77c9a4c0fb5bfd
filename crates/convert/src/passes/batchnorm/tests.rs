//! BN folding numerics: the folded Conv/Gemm computed with a naive reference
//! must equal the reference Conv/Gemm followed by the BN formula.

use super::fold_batch_norms;
use crate::passes::PassLog;
use crate::passes::test_ops::{GraphBuilder, attr};
use pocketnn_format::{AttrValue, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;

/// Deterministic pseudo-random values in [-1, 1).
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(12345);
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        })
        .collect()
}

/// Naive NCHW convolution, stride 1, no padding, `groups` groups.
fn conv(
    x: &[f32],
    xs: [usize; 4],
    w: &[f32],
    ws: [usize; 4],
    b: Option<&[f32]>,
    groups: usize,
) -> Vec<f32> {
    let [n, c, h, wd] = xs;
    let [m, cg, kh, kw] = ws;
    let (oh, ow) = (h - kh + 1, wd - kw + 1);
    let mut y = vec![0.0f32; n * m * oh * ow];
    for ni in 0..n {
        for mi in 0..m {
            let g = mi / (m / groups);
            for i in 0..oh {
                for j in 0..ow {
                    let mut acc = b.map_or(0.0, |b| b[mi]);
                    for ci in 0..cg {
                        let cin = g * cg + ci;
                        for u in 0..kh {
                            for v in 0..kw {
                                acc += x[((ni * c + cin) * h + i + u) * wd + j + v]
                                    * w[((mi * cg + ci) * kh + u) * kw + v];
                            }
                        }
                    }
                    y[((ni * m + mi) * oh + i) * ow + j] = acc;
                }
            }
        }
    }
    y
}

struct Bn {
    scale: Vec<f32>,
    bias: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
    eps: f32,
}

impl Bn {
    fn new(c: usize) -> Self {
        Bn {
            scale: values(c, 1),
            bias: values(c, 2),
            mean: values(c, 3),
            var: values(c, 4).iter().map(|v| v.abs() + 0.1).collect(),
            eps: 1e-3,
        }
    }

    /// The BN formula on channel `ch` of value `y`.
    fn apply(&self, y: f32, ch: usize) -> f32 {
        (y - self.mean[ch]) / (self.var[ch] + self.eps).sqrt() * self.scale[ch] + self.bias[ch]
    }

    fn add(&self, b: &mut GraphBuilder, input: usize) -> usize {
        let c = self.scale.len();
        let mut ids = vec![Some(input)];
        for (name, v) in [
            ("s", &self.scale),
            ("b", &self.bias),
            ("m", &self.mean),
            ("v", &self.var),
        ] {
            ids.push(Some(b.constant(name, Tensor::from_slice(&[c], v).unwrap())));
        }
        b.node_in(
            0,
            OpCode::BatchNormalization,
            &ids,
            &[DType::F32],
            vec![attr("epsilon", AttrValue::Float(self.eps))],
        )[0]
    }
}

fn close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= 1e-5 * (1.0 + y.abs()),
            "element {i}: {x} vs {y}"
        );
    }
}

fn f32s(b: &GraphBuilder, id: Option<usize>) -> Vec<f32> {
    b.g.constant(id.unwrap())
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

fn check_conv(groups: usize, with_bias: bool) {
    let (xs, ws) = ([2, 4, 5, 5], [6, 4 / groups, 3, 3]);
    let x = values(xs.iter().product(), 7);
    let w = values(ws.iter().product(), 8);
    let bias = values(6, 9);
    let bn = Bn::new(6);

    let mut b = GraphBuilder::new();
    let xin = b.input(
        "x",
        DType::F32,
        vec![Dim::Fixed(2), Dim::Fixed(4), Dim::Fixed(5), Dim::Fixed(5)],
    );
    let wid = b.constant("w", Tensor::from_slice(&ws, &w).unwrap());
    let mut inputs = vec![Some(xin), Some(wid)];
    if with_bias {
        inputs.push(Some(
            b.constant("bias", Tensor::from_slice(&[6], &bias).unwrap()),
        ));
    }
    let y = b.node_in(
        0,
        OpCode::Conv,
        &inputs,
        &[DType::F32],
        vec![attr("group", AttrValue::Int(groups as i64))],
    )[0];
    let z = bn.add(&mut b, y);
    b.output(z);
    assert_eq!(fold_batch_norms(&mut b.g, &mut PassLog::default()), 1);
    assert_eq!(b.ops(0), [OpCode::Conv]);
    let folded = &b.g.bodies[0].nodes[0];
    assert_eq!(folded.outputs, [z]);

    let reference: Vec<f32> = {
        let y = conv(&x, xs, &w, ws, with_bias.then_some(bias.as_slice()), groups);
        y.iter()
            .enumerate()
            .map(|(i, &v)| bn.apply(v, (i / 9) % 6))
            .collect()
    };
    let new_w = f32s(&b, folded.inputs[1]);
    let new_b = f32s(&b, folded.inputs[2]);
    close(&conv(&x, xs, &new_w, ws, Some(&new_b), groups), &reference);
    // the original weight is untouched (it could be shared)
    assert_eq!(f32s(&b, Some(wid)), w);
}

#[test]
fn conv_with_and_without_bias_and_groups() {
    check_conv(1, true);
    check_conv(1, false);
    check_conv(2, true);
}

/// Reference Gemm: alpha * A * op(B) + beta * C (C broadcast over rows).
#[allow(clippy::too_many_arguments)]
fn gemm(
    a: &[f32],
    m: usize,
    k: usize,
    bm: &[f32],
    n: usize,
    trans_b: bool,
    alpha: f32,
    beta: f32,
    c: &[f32],
) -> Vec<f32> {
    let mut y = vec![0.0; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0;
            for p in 0..k {
                let bv = if trans_b {
                    bm[j * k + p]
                } else {
                    bm[p * n + j]
                };
                acc += a[i * k + p] * bv;
            }
            let cv = if c.len() == 1 { c[0] } else { c[j] };
            y[i * n + j] = alpha * acc + beta * cv;
        }
    }
    y
}

fn check_gemm(trans_b: bool, c_shape: Option<&[usize]>) {
    let (m, k, n) = (3, 5, 4);
    let a = values(m * k, 11);
    let bmat = values(k * n, 12);
    let b_shape = if trans_b { [n, k] } else { [k, n] };
    let (alpha, beta) = (0.5, 2.0);
    let c_len = c_shape.map_or(0, |s| s.iter().product());
    let c = values(c_len, 13);
    let bn = Bn::new(n);

    let mut b = GraphBuilder::new();
    let ain = b.input("a", DType::F32, vec![Dim::Fixed(3), Dim::Fixed(5)]);
    let bid = b.constant("B", Tensor::from_slice(&b_shape, &bmat).unwrap());
    let mut inputs = vec![Some(ain), Some(bid)];
    if let Some(s) = c_shape {
        inputs.push(Some(b.constant("C", Tensor::from_slice(s, &c).unwrap())));
    }
    let attrs = vec![
        attr("transB", AttrValue::Int(i64::from(trans_b))),
        attr("alpha", AttrValue::Float(alpha)),
        attr("beta", AttrValue::Float(beta)),
    ];
    let y = b.node_in(0, OpCode::Gemm, &inputs, &[DType::F32], attrs)[0];
    let z = bn.add(&mut b, y);
    b.output(z);
    assert_eq!(
        fold_batch_norms(&mut b.g, &mut PassLog::default()),
        1,
        "transB {trans_b} C {c_shape:?}"
    );
    let folded = &b.g.bodies[0].nodes[0];
    assert_eq!(folded.attribute("beta"), Some(&AttrValue::Float(1.0)));

    let c_ref = if c_shape.is_some() {
        c.clone()
    } else {
        vec![0.0]
    };
    let reference: Vec<f32> = gemm(&a, m, k, &bmat, n, trans_b, alpha, beta, &c_ref)
        .iter()
        .enumerate()
        .map(|(i, &v)| bn.apply(v, i % n))
        .collect();
    let new_b = f32s(&b, folded.inputs[1]);
    let new_c = f32s(&b, folded.inputs[2]);
    close(
        &gemm(&a, m, k, &new_b, n, trans_b, alpha, 1.0, &new_c),
        &reference,
    );
}

#[test]
fn gemm_with_trans_b_alpha_beta_and_bias_shapes() {
    for trans_b in [false, true] {
        check_gemm(trans_b, Some(&[4]));
        check_gemm(trans_b, Some(&[1, 4]));
        check_gemm(trans_b, Some(&[1]));
        check_gemm(trans_b, None);
    }
}

#[test]
fn gives_up_cleanly_when_it_cannot_fold() {
    // a Gemm bias of shape [M, N] cannot absorb a per-column shift
    let mut b = GraphBuilder::new();
    let a = b.input("a", DType::F32, vec![Dim::Fixed(3), Dim::Fixed(2)]);
    let bm = b.constant("B", Tensor::from_slice(&[2, 4], &values(8, 1)).unwrap());
    let c = b.constant("C", Tensor::from_slice(&[3, 4], &values(12, 2)).unwrap());
    let y = b.node_in(
        0,
        OpCode::Gemm,
        &[Some(a), Some(bm), Some(c)],
        &[DType::F32],
        vec![],
    )[0];
    let z = Bn::new(4).add(&mut b, y);
    b.output(z);
    assert_eq!(fold_batch_norms(&mut b.g, &mut PassLog::default()), 0);
    assert_eq!(b.ops(0), [OpCode::Gemm, OpCode::BatchNormalization]);

    // the Conv output has another reader
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![]);
    let w = b.constant(
        "w",
        Tensor::from_slice(&[2, 1, 1, 1], &[1.0f32, 2.0]).unwrap(),
    );
    let y = b.node(OpCode::Conv, &[x, w], DType::F32);
    let z = Bn::new(2).add(&mut b, y);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    b.output(z);
    b.output(r);
    assert_eq!(fold_batch_norms(&mut b.g, &mut PassLog::default()), 0);

    // a weight that is not constant
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![]);
    let w = b.input("w", DType::F32, vec![]);
    let y = b.node(OpCode::Conv, &[x, w], DType::F32);
    let z = Bn::new(2).add(&mut b, y);
    b.output(z);
    assert_eq!(fold_batch_norms(&mut b.g, &mut PassLog::default()), 0);
}
