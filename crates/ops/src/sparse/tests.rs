//! `SparseLinear` and `SparseConv` against dense products written here
//! (plain loops over the dense weights, bias and activation applied after),
//! for every block shape, both column encodings, shapes around the kernels'
//! tile sizes and every ISA tier of this CPU. The parts are encoded by the
//! test's own encoder (`encode`), not by the kernels' `from_dense`.

use crate::fused::activation_attributes;
use crate::{OpResult, build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_tensor::kernels::activation::Activation;
use pocketnn_tensor::{Element, Isa, Tensor, TensorView};

/// A small deterministic generator (xorshift).
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform in [-1, 1).
    pub(super) fn unit(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    /// True with probability `p`.
    pub(super) fn chance(&mut self, p: f32) -> bool {
        ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32) < p
    }
}

/// The block shapes by attribute name: (name, block rows, block columns).
pub(super) const BLOCKS: [(&str, usize, usize); 3] = [("csr", 1, 1), ("1x4", 1, 4), ("4x1", 4, 1)];

/// How `columns` is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Encoding {
    I32,
    U16,
}

/// The sparse parts of a row-major `m × k` matrix, written independently of
/// the kernels: every `br × bc` block holding a non-zero is kept.
pub(super) struct Parts<T> {
    pub(super) values: Vec<T>,
    pub(super) block_ptr: Vec<i32>,
    pub(super) columns: Vec<i32>,
}

pub(super) fn encode<T: Copy + Default + PartialEq>(
    dense: &[T],
    (m, k): (usize, usize),
    (br, bc): (usize, usize),
) -> Parts<T> {
    let mut parts = Parts {
        values: vec![],
        block_ptr: vec![0],
        columns: vec![],
    };
    let at = |r: usize, c: usize| {
        if r < m {
            dense[r * k + c]
        } else {
            T::default()
        }
    };
    for b in 0..m.div_ceil(br) {
        for c0 in (0..k).step_by(bc) {
            let block: Vec<T> = (0..br)
                .flat_map(|r| (0..bc).map(move |q| (b * br + r, c0 + q)))
                .map(|(r, c)| at(r, c))
                .collect();
            if block.iter().any(|&v| v != T::default()) {
                parts.columns.push(c0 as i32);
                parts.values.extend(block);
            }
        }
        parts.block_ptr.push(parts.columns.len() as i32);
    }
    parts
}

/// The `columns` input in `encoding`.
pub(super) fn columns_tensor(columns: &[i32], encoding: Encoding) -> Tensor {
    match encoding {
        Encoding::I32 => Tensor::from_slice(&[columns.len()], columns).unwrap(),
        Encoding::U16 => {
            let bytes: Vec<u8> = columns
                .iter()
                .flat_map(|&c| (c as u16).to_le_bytes())
                .collect();
            Tensor::from_slice(&[bytes.len()], &bytes).unwrap()
        }
    }
}

/// The tensors `values`, `block_ptr`, `columns`.
pub(super) fn part_tensors<T: Element>(parts: &Parts<T>, encoding: Encoding) -> [Tensor; 3] {
    [
        Tensor::from_slice(&[parts.values.len()], &parts.values).unwrap(),
        Tensor::from_slice(&[parts.block_ptr.len()], &parts.block_ptr).unwrap(),
        columns_tensor(&parts.columns, encoding),
    ]
}

pub(super) fn attrs(m: usize, k: usize, block: &str) -> Vec<Attribute> {
    vec![
        Attribute {
            name: "rows".into(),
            value: AttrValue::Int(m as i64),
        },
        Attribute {
            name: "cols".into(),
            value: AttrValue::Int(k as i64),
        },
        Attribute {
            name: "block".into(),
            value: AttrValue::String(block.into()),
        },
    ]
}

/// A random `m × k` matrix whose `br × bc` blocks are non-zero with
/// probability `density` (and whose kept blocks may hold zeros too).
pub(super) fn sparse_dense(
    rng: &mut Rng,
    (m, k): (usize, usize),
    (br, bc): (usize, usize),
    density: f32,
) -> Vec<f32> {
    let mut dense = vec![0.0f32; m * k];
    for b in 0..m.div_ceil(br) {
        for c0 in (0..k).step_by(bc) {
            if !rng.chance(density) {
                continue;
            }
            for r in b * br..(b * br + br).min(m) {
                for c in c0..c0 + bc {
                    dense[r * k + c] = if rng.chance(0.9) { rng.unit() } else { 0.0 };
                }
            }
        }
    }
    dense
}

/// The activation, written from its definition.
fn activate(activation: Activation, v: f32) -> f32 {
    match activation {
        Activation::None => v,
        Activation::Relu => v.max(0.0),
        Activation::Clip { min, max } => v.clamp(min, max),
        Activation::LeakyRelu { alpha } => {
            if v < 0.0 {
                alpha * v
            } else {
                v
            }
        }
        Activation::Sigmoid => 1.0 / (1.0 + (-v).exp()),
        other => panic!("no reference for {other:?}"),
    }
}

/// A tier, its output values and the output's shape.
type TierOutput = (Isa, Vec<f32>, Vec<usize>);

/// Runs `op` on every tier; returns each tier's first output as f32.
fn run_tiers(
    code: OpCode,
    attributes: &[Attribute],
    inputs: &[Option<&Tensor>],
) -> OpResult<Vec<TierOutput>> {
    let op = build_operator(code, attributes)?;
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let mut results = vec![];
    for isa in Isa::available() {
        let out = eval(op.as_ref(), &views, isa)?;
        results.push((
            isa,
            out[0].as_slice::<f32>().unwrap().to_vec(),
            out[0].shape().to_vec(),
        ));
    }
    Ok(results)
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tolerance = 1e-5 * (1.0 + w.abs()) * 8.0;
        assert!(
            (g - w).abs() <= tolerance,
            "{what}: element {i} is {g}, expected {w}"
        );
    }
}

const ACTIVATIONS: [Activation; 4] = [
    Activation::None,
    Activation::Relu,
    Activation::Clip {
        min: -0.25,
        max: 0.5,
    },
    Activation::Sigmoid,
];

#[test]
fn sparse_linear_matches_a_dense_product() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    // (batch shape, m, k): batch 1 and more, rows around the 4×1 block
    // rows and the kernels' unrolls, columns around 4-wide blocks.
    let cases: [(&[usize], usize, usize); 6] = [
        (&[1], 1, 4),
        (&[1], 13, 40),
        (&[3], 9, 68),
        (&[2, 3], 17, 8),
        (&[], 5, 12),
        (&[4], 33, 132),
    ];
    let mut checked = 0;
    for (b, &(name, br, bc)) in BLOCKS.iter().enumerate() {
        for (c, &(batch, m, k)) in cases.iter().enumerate() {
            let density = [0.1, 0.3, 0.7][(b + c) % 3];
            let dense = sparse_dense(&mut rng, (m, k), (br, bc), density);
            let parts = encode(&dense, (m, k), (br, bc));
            let rows: usize = batch.iter().product();
            let mut x_shape = batch.to_vec();
            x_shape.push(k);
            let x: Vec<f32> = (0..rows * k).map(|_| rng.unit()).collect();
            let bias: Vec<f32> = (0..m).map(|_| rng.unit()).collect();
            let x_t = Tensor::from_slice(&x_shape, &x).unwrap();
            let bias_t = Tensor::from_slice(&[m], &bias).unwrap();
            for encoding in [Encoding::I32, Encoding::U16] {
                let [values, block_ptr, columns] = part_tensors(&parts, encoding);
                for (a, &activation) in ACTIVATIONS.iter().enumerate() {
                    let with_bias = a % 2 == 1 || c % 2 == 1;
                    let mut attributes = attrs(m, k, name);
                    attributes.extend(activation_attributes(activation));
                    let mut inputs =
                        vec![Some(&x_t), Some(&values), Some(&block_ptr), Some(&columns)];
                    if with_bias {
                        inputs.push(Some(&bias_t));
                    }
                    let mut want = vec![0.0f32; rows * m];
                    for i in 0..rows {
                        for j in 0..m {
                            let mut sum = 0.0f32;
                            for p in 0..k {
                                sum += x[i * k + p] * dense[j * k + p];
                            }
                            if with_bias {
                                sum += bias[j];
                            }
                            want[i * m + j] = activate(activation, sum);
                        }
                    }
                    let mut y_shape = batch.to_vec();
                    y_shape.push(m);
                    for (isa, got, shape) in
                        run_tiers(OpCode::SparseLinear, &attributes, &inputs).unwrap()
                    {
                        assert_eq!(shape, y_shape);
                        let what = format!(
                            "{name} {encoding:?} {batch:?}×{m}×{k} {activation:?} bias {with_bias} on {isa}"
                        );
                        assert_close(&got, &want, &what);
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked >= 3 * 6 * 2 * 4);
}

#[test]
fn sparse_conv_matches_a_dense_pointwise_convolution() {
    let mut rng = Rng(0x5eed_1234_abcd_0002);
    // (n, m, k, h, w): pixel counts around the vector widths (4, 8, 16)
    // and register tiles (up to 4 vectors of 16).
    let cases = [
        (1, 4, 4, 1, 1),
        (1, 9, 12, 1, 7),
        (2, 6, 8, 3, 6),
        (1, 13, 20, 5, 13),
        (3, 5, 16, 8, 8),
        (1, 17, 36, 1, 67),
    ];
    for (b, &(name, br, bc)) in BLOCKS.iter().enumerate() {
        for (c, &(n, m, k, h, w)) in cases.iter().enumerate() {
            let density = [0.2, 0.5, 0.9][(b + c) % 3];
            let dense = sparse_dense(&mut rng, (m, k), (br, bc), density);
            let parts = encode(&dense, (m, k), (br, bc));
            let hw = h * w;
            let x: Vec<f32> = (0..n * k * hw).map(|_| rng.unit()).collect();
            let bias: Vec<f32> = (0..m).map(|_| rng.unit()).collect();
            let x_t = Tensor::from_slice(&[n, k, h, w], &x).unwrap();
            let bias_t = Tensor::from_slice(&[m], &bias).unwrap();
            for encoding in [Encoding::I32, Encoding::U16] {
                let [values, block_ptr, columns] = part_tensors(&parts, encoding);
                for (a, &activation) in ACTIVATIONS.iter().enumerate() {
                    let with_bias = (a + c) % 2 == 0;
                    let mut attributes = attrs(m, k, name);
                    attributes.extend(activation_attributes(activation));
                    let mut inputs =
                        vec![Some(&x_t), Some(&values), Some(&block_ptr), Some(&columns)];
                    if with_bias {
                        inputs.push(Some(&bias_t));
                    }
                    let mut want = vec![0.0f32; n * m * hw];
                    for img in 0..n {
                        for j in 0..m {
                            for p in 0..hw {
                                let mut sum = 0.0f32;
                                for q in 0..k {
                                    sum += dense[j * k + q] * x[(img * k + q) * hw + p];
                                }
                                if with_bias {
                                    sum += bias[j];
                                }
                                want[(img * m + j) * hw + p] = activate(activation, sum);
                            }
                        }
                    }
                    for (isa, got, shape) in
                        run_tiers(OpCode::SparseConv, &attributes, &inputs).unwrap()
                    {
                        assert_eq!(shape, [n, m, h, w]);
                        let what = format!(
                            "{name} {encoding:?} {n}×{m}×{k}×{h}×{w} {activation:?} bias {with_bias} on {isa}"
                        );
                        assert_close(&got, &want, &what);
                    }
                }
            }
        }
    }
}

#[test]
fn an_empty_matrix_gives_the_activated_bias() {
    // No stored block at all: Y = act(bias); K = 0 as well.
    for (name, _, _) in BLOCKS {
        for k in [0usize, 8] {
            let m = 6;
            let values = Tensor::from_slice::<f32>(&[0], &[]).unwrap();
            let block_rows = if name == "4x1" { 2 } else { m };
            let block_ptr =
                Tensor::from_slice(&[block_rows + 1], &vec![0i32; block_rows + 1]).unwrap();
            let columns = Tensor::from_slice::<i32>(&[0], &[]).unwrap();
            let bias_values = [-1.0f32, 2.0, -3.0, 0.5, 0.0, 7.0];
            let bias = Tensor::from_slice(&[m], &bias_values).unwrap();
            let x = Tensor::from_slice(&[2, k], &vec![1.0f32; 2 * k]).unwrap();
            let mut attributes = attrs(m, k, name);
            attributes.extend(activation_attributes(Activation::Relu));
            let inputs = [
                Some(&x),
                Some(&values),
                Some(&block_ptr),
                Some(&columns),
                Some(&bias),
            ];
            for (_, got, _) in run_tiers(OpCode::SparseLinear, &attributes, &inputs).unwrap() {
                let row = [0.0, 2.0, 0.0, 0.5, 0.0, 7.0];
                assert_eq!(got, [row, row].concat(), "{name}, k = {k}");
            }
            let x4 = Tensor::from_slice(&[1, k, 1, 2], &vec![1.0f32; 2 * k]).unwrap();
            let inputs = [
                Some(&x4),
                Some(&values),
                Some(&block_ptr),
                Some(&columns),
                Some(&bias),
            ];
            for (_, got, _) in run_tiers(OpCode::SparseConv, &attributes, &inputs).unwrap() {
                assert_eq!(
                    got,
                    [0.0, 0.0, 2.0, 2.0, 0.0, 0.0, 0.5, 0.5, 0.0, 0.0, 7.0, 7.0]
                );
            }
        }
    }
}

#[test]
fn hand_computed_csr_product() {
    // W = [[0, 2, 0], [1, 0, -1]] in CSR, x = [3, 4, 5]: y = [8, -2].
    let values = Tensor::from_slice(&[3], &[2.0f32, 1.0, -1.0]).unwrap();
    let block_ptr = Tensor::from_slice(&[3], &[0i32, 1, 3]).unwrap();
    let columns = columns_tensor(&[1, 0, 2], Encoding::U16);
    let x = Tensor::from_slice(&[1, 3], &[3.0f32, 4.0, 5.0]).unwrap();
    let inputs = [Some(&x), Some(&values), Some(&block_ptr), Some(&columns)];
    for (_, got, shape) in run_tiers(OpCode::SparseLinear, &attrs(2, 3, "csr"), &inputs).unwrap() {
        assert_eq!(shape, [1, 2]);
        assert_eq!(got, [8.0, -2.0]);
    }
}

#[test]
fn constant_parts_are_validated_once_and_computed_parts_every_run() {
    // The cache is keyed by the constants' addresses: changing the bytes
    // behind a constant view (which a model never does) shows whether the
    // matrix was rebuilt.
    let op = build_operator(OpCode::SparseLinear, &attrs(1, 2, "csr")).unwrap();
    let mut values = [2.0f32];
    let block_ptr = [0i32, 1];
    let columns = [1i32];
    let x = [10.0f32, 100.0];
    fn mark(v: TensorView<'_>, constant: bool) -> TensorView<'_> {
        if constant { v.constant() } else { v }
    }
    let run = |values: &[f32], constant: bool| {
        let inputs = [
            Some(TensorView::from_slice(&[1, 2], &x).unwrap()),
            Some(mark(
                TensorView::from_slice(&[1], values).unwrap(),
                constant,
            )),
            Some(mark(
                TensorView::from_slice(&[2], &block_ptr).unwrap(),
                constant,
            )),
            Some(mark(
                TensorView::from_slice(&[1], &columns).unwrap(),
                constant,
            )),
        ];
        let out = eval(op.as_ref(), &inputs, Isa::Scalar).unwrap();
        out[0].as_slice::<f32>().unwrap()[0]
    };
    assert_eq!(run(&values, true), 200.0);
    values[0] = 3.0;
    assert_eq!(run(&values, true), 200.0, "constant parts are cached");
    assert_eq!(
        run(&values, false),
        300.0,
        "computed parts are read each run"
    );
    values[0] = 4.0;
    assert_eq!(run(&values, false), 400.0);
}
