//! The sparse operators (`docs/ops/sparse.md`) through the whole runtime: a
//! `.pnn` built in memory with the format writer, loaded as a `Model` and
//! run by `Session`s, checked against dense products computed here.

use pocketnn::format::{
    AttrValue, Attribute, Body, DType, Dim, GraphDef, Metadata, NodeDef, OpCode, PnnWriter,
    TensorSpec, ValueDef,
};
use pocketnn::{Model, Session, SessionOptions, TensorView};

/// A tiny graph builder: one body, constants from raw bytes.
#[derive(Default)]
struct G {
    graph: GraphDef,
    body: Body,
    tensors: Vec<(TensorSpec, Vec<u8>)>,
}

impl G {
    fn value(&mut self, name: &str, dtype: DType, shape: Option<Vec<Dim>>) -> u32 {
        self.graph.values.push(ValueDef {
            name: name.into(),
            dtype,
            shape,
            constant: None,
        });
        self.graph.values.len() as u32 - 1
    }

    fn input(&mut self, name: &str, dtype: DType, shape: Vec<Dim>) -> u32 {
        let v = self.value(name, dtype, Some(shape));
        self.graph.inputs.push(v);
        v
    }

    /// A 1-D constant of `count` elements stored as `bytes`.
    fn constant(&mut self, name: &str, dtype: DType, count: usize, bytes: Vec<u8>) -> u32 {
        let v = self.value(name, dtype, None);
        self.graph.values[v as usize].constant = Some(self.tensors.len() as u32);
        self.tensors
            .push((TensorSpec::new(name, dtype, vec![count as u64]), bytes));
        v
    }

    fn node(
        &mut self,
        op: OpCode,
        inputs: &[u32],
        out: &str,
        dtype: DType,
        attributes: Vec<Attribute>,
    ) -> u32 {
        let o = self.value(out, dtype, None);
        self.body.nodes.push(NodeDef {
            name: format!("{op}_{out}"),
            op,
            inputs: inputs.iter().map(|&i| Some(i)).collect(),
            outputs: vec![o],
            attributes,
        });
        o
    }

    fn finish(mut self, outputs: &[u32]) -> Vec<u8> {
        self.body.outputs = outputs.to_vec();
        self.graph.bodies = vec![self.body];
        let mut w = PnnWriter::new(Metadata::default(), self.graph);
        for (spec, data) in self.tensors {
            w.add_tensor(spec, data);
        }
        w.to_bytes().expect("valid test model")
    }
}

fn attr(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.into(),
        value,
    }
}

fn le_bytes<T, const N: usize>(values: &[T], to_le: impl Fn(&T) -> [u8; N]) -> Vec<u8> {
    values.iter().flat_map(to_le).collect()
}

const K: usize = 12;
const M: usize = 5;

/// `W` (`M × K`) with 1×4 blocks: block (row, first column) → values.
fn dense_weights() -> Vec<f32> {
    let mut w = vec![0.0f32; M * K];
    let blocks: [(usize, usize, [f32; 4]); 5] = [
        (0, 0, [1.0, -2.0, 0.5, 0.0]),
        (0, 8, [0.25, 0.0, 0.0, 3.0]),
        (2, 4, [-1.0, 1.0, -1.0, 1.0]),
        (3, 0, [2.0, 0.0, 0.0, 0.0]),
        (3, 8, [0.0, -0.5, 0.0, 0.75]),
    ];
    for (row, col, values) in blocks {
        w[row * K + col..row * K + col + 4].copy_from_slice(&values);
    }
    w
}

/// x [N, K] → SparseLinear (1×4 blocks, u16 columns, bias, ReLU) → y [N, M].
fn sparse_linear_model() -> Vec<u8> {
    let dense = dense_weights();
    // The parts by hand: block rows 0..5 hold 2, 0, 1, 2, 0 blocks.
    let columns: [u16; 5] = [0, 8, 4, 0, 8];
    let block_ptr: [i32; 6] = [0, 2, 2, 3, 5, 5];
    let mut values = vec![];
    for (&first, row) in columns.iter().zip([0usize, 0, 2, 3, 3]) {
        let first = usize::from(first);
        values.extend_from_slice(&dense[row * K + first..row * K + first + 4]);
    }
    let bias: [f32; M] = [0.5, -1.0, 0.25, -0.5, 2.0];
    let mut g = G::default();
    let x = g.input(
        "x",
        DType::F32,
        vec![Dim::Symbolic("N".into()), Dim::Fixed(K as u64)],
    );
    let values = g.constant(
        "values",
        DType::F32,
        values.len(),
        le_bytes(&values, |v| v.to_le_bytes()),
    );
    let block_ptr = g.constant(
        "block_ptr",
        DType::I32,
        6,
        le_bytes(&block_ptr, |v| v.to_le_bytes()),
    );
    let columns = g.constant(
        "columns",
        DType::U8,
        10,
        le_bytes(&columns, |v| v.to_le_bytes()),
    );
    let bias = g.constant("bias", DType::F32, M, le_bytes(&bias, |v| v.to_le_bytes()));
    let attributes = vec![
        attr("rows", AttrValue::Int(M as i64)),
        attr("cols", AttrValue::Int(K as i64)),
        attr("block", AttrValue::String("1x4".into())),
        attr("activation", AttrValue::String("relu".into())),
    ];
    let y = g.node(
        OpCode::SparseLinear,
        &[x, values, block_ptr, columns, bias],
        "y",
        DType::F32,
        attributes,
    );
    g.finish(&[y])
}

fn expected(x: &[f32], n: usize) -> Vec<f32> {
    let w = dense_weights();
    let bias = [0.5f32, -1.0, 0.25, -0.5, 2.0];
    let mut y = vec![0.0f32; n * M];
    for i in 0..n {
        for j in 0..M {
            let mut sum = bias[j];
            for p in 0..K {
                sum += x[i * K + p] * w[j * K + p];
            }
            y[i * M + j] = sum.max(0.0);
        }
    }
    y
}

#[test]
fn a_sparse_linear_layer_runs_in_a_session() {
    let model = Model::from_bytes(&sparse_linear_model()).unwrap();
    // Two sessions share the model (and the operator's validated matrix).
    for _ in 0..2 {
        let mut session = Session::new(&model, SessionOptions::default()).unwrap();
        for n in [1usize, 3, 1, 7] {
            let x: Vec<f32> = (0..n * K)
                .map(|i| ((i * 7) % 11) as f32 * 0.5 - 2.0)
                .collect();
            let shape = [n, K];
            let out = session
                .run_views(&[("x", TensorView::from_slice(&shape, &x).unwrap())])
                .unwrap();
            let y = out.get("y").unwrap();
            assert_eq!(y.shape(), &[n, M]);
            let got = y.as_slice::<f32>().unwrap();
            for (g, w) in got.iter().zip(expected(&x, n)) {
                assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{got:?} vs {w}");
            }
        }
    }
}

#[test]
fn a_model_with_malformed_parts_fails_with_a_typed_error() {
    // block_ptr ends at 4 while 5 blocks are stored.
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![Dim::Fixed(1), Dim::Fixed(K as u64)]);
    let values = vec![1.0f32; 20];
    let values = g.constant(
        "values",
        DType::F32,
        20,
        le_bytes(&values, |v| v.to_le_bytes()),
    );
    let block_ptr = g.constant(
        "block_ptr",
        DType::I32,
        6,
        le_bytes(&[0i32, 2, 2, 3, 4, 4], |v| v.to_le_bytes()),
    );
    let columns = g.constant(
        "columns",
        DType::I32,
        5,
        le_bytes(&[0i32, 8, 4, 0, 8], |v| v.to_le_bytes()),
    );
    let attributes = vec![
        attr("rows", AttrValue::Int(M as i64)),
        attr("cols", AttrValue::Int(K as i64)),
        attr("block", AttrValue::String("1x4".into())),
    ];
    let y = g.node(
        OpCode::SparseLinear,
        &[x, values, block_ptr, columns],
        "y",
        DType::F32,
        attributes,
    );
    let bytes = g.finish(&[y]);
    let x = vec![1.0f32; K];
    let result = Model::from_bytes(&bytes).and_then(|model| {
        let mut session = Session::new(&model, SessionOptions::default())?;
        session
            .run_views(&[("x", TensorView::from_slice(&[1, K], &x).unwrap())])
            .map(|_| ())
    });
    let error = result.expect_err("malformed parts must fail");
    assert!(
        matches!(
            &error,
            pocketnn::Error::Node {
                op: OpCode::SparseLinear,
                source: pocketnn_ops::OpError::Tensor(
                    pocketnn::tensor::TensorError::InvalidSparseMatrix { .. }
                ),
                ..
            }
        ),
        "{error:?}"
    );
}

/// x u8 [1, 8, 2, 3] → SparseQLinearConv (4×1 blocks, i32 columns, per
/// channel scales, bias) → y u8 [1, 6, 2, 3], against the formula.
#[test]
fn a_sparse_qlinearconv_layer_runs_in_a_session() {
    const QK: usize = 8;
    const QM: usize = 6;
    // W (6 × 8), 4×1 blocks: block row 0 (rows 0..4) at columns 1 and 6,
    // block row 1 (rows 4..6, padded to 4) at column 3.
    let columns: [i32; 3] = [1, 6, 3];
    let block_ptr: [i32; 3] = [0, 2, 3];
    let values: [i8; 12] = [5, -7, 0, 127, -127, 3, 9, -1, 11, -13, 0, 0];
    let mut dense = [0i8; QM * QK];
    for (j, (&first, block_row)) in columns.iter().zip([0usize, 0, 1]).enumerate() {
        for r in 0..4 {
            let row = block_row * 4 + r;
            if row < QM {
                dense[row * QK + first as usize] = values[j * 4 + r];
            }
        }
    }
    let w_scale: [f32; QM] = [0.01, 0.02, 0.005, 0.01, 0.03, 0.015];
    let bias: [i32; QM] = [100, -250, 0, 30, -5, 1000];
    let (x_scale, x_zero, y_scale, y_zero) = (0.05f32, 120u8, 0.08f32, 128u8);
    let mut g = G::default();
    let x = g.input(
        "x",
        DType::U8,
        vec![
            Dim::Fixed(1),
            Dim::Fixed(QK as u64),
            Dim::Fixed(2),
            Dim::Fixed(3),
        ],
    );
    let f = |v: &f32| v.to_le_bytes();
    let i = |v: &i32| v.to_le_bytes();
    let x_scale_c = g.constant("x_scale", DType::F32, 1, le_bytes(&[x_scale], f));
    let x_zero_c = g.constant("x_zero", DType::U8, 1, vec![x_zero]);
    let values_c = g.constant(
        "values",
        DType::I8,
        12,
        le_bytes(&values, |v| v.to_le_bytes()),
    );
    let block_ptr_c = g.constant("block_ptr", DType::I32, 3, le_bytes(&block_ptr, i));
    let columns_c = g.constant("columns", DType::I32, 3, le_bytes(&columns, i));
    let w_scale_c = g.constant("w_scale", DType::F32, QM, le_bytes(&w_scale, f));
    let y_scale_c = g.constant("y_scale", DType::F32, 1, le_bytes(&[y_scale], f));
    let y_zero_c = g.constant("y_zero", DType::U8, 1, vec![y_zero]);
    let bias_c = g.constant("bias", DType::I32, QM, le_bytes(&bias, i));
    let attributes = vec![
        attr("rows", AttrValue::Int(QM as i64)),
        attr("cols", AttrValue::Int(QK as i64)),
        attr("block", AttrValue::String("4x1".into())),
    ];
    let y = g.node(
        OpCode::SparseQLinearConv,
        &[
            x,
            x_scale_c,
            x_zero_c,
            values_c,
            block_ptr_c,
            columns_c,
            w_scale_c,
            y_scale_c,
            y_zero_c,
            bias_c,
        ],
        "y",
        DType::U8,
        attributes,
    );
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let x: Vec<u8> = (0..QK * 6).map(|v| ((v * 37 + 11) % 256) as u8).collect();
    for _ in 0..2 {
        let out = session
            .run_views(&[("x", TensorView::from_slice(&[1, QK, 2, 3], &x).unwrap())])
            .unwrap();
        let got = out.get("y").unwrap();
        assert_eq!(got.shape(), &[1, QM, 2, 3]);
        let got = got.as_slice::<u8>().unwrap();
        for j in 0..QM {
            for p in 0..6 {
                let mut sum = i64::from(bias[j]);
                for q in 0..QK {
                    let xv = i64::from(x[q * 6 + p]) - i64::from(x_zero);
                    sum += i64::from(dense[j * QK + q]) * xv;
                }
                let scale = f64::from(x_scale) * f64::from(w_scale[j]) / f64::from(y_scale);
                let want = ((sum as f64 * scale).round_ties_even() + f64::from(y_zero))
                    .clamp(0.0, 255.0) as u8;
                let have = got[j * 6 + p];
                assert!(
                    have.abs_diff(want) <= 1,
                    "channel {j}, pixel {p}: {have} vs {want}"
                );
            }
        }
    }
}
