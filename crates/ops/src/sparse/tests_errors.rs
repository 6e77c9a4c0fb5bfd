//! Malformed attributes, parts and inputs: each is a typed error, at build,
//! inference or run time, never a panic.

use super::tests::attrs;
use crate::{OpError, OpResult, build_operator, eval};
use pocketnn_format::{AttrValue, Attribute, OpCode};
use pocketnn_tensor::{Element, Isa, Tensor, TensorError, TensorView};

fn t<T: Element>(shape: &[usize], data: &[T]) -> Tensor {
    Tensor::from_slice(shape, data).unwrap()
}

fn run(
    code: OpCode,
    attributes: &[Attribute],
    inputs: &[Option<&Tensor>],
) -> OpResult<Vec<Tensor>> {
    let op = build_operator(code, attributes)?;
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    eval(op.as_ref(), &views, Isa::best())
}

fn is_invalid_matrix(result: &OpResult<Vec<Tensor>>) -> bool {
    matches!(
        result,
        Err(OpError::Tensor(TensorError::InvalidSparseMatrix { .. }))
    )
}

/// A valid 2 × 4 CSR SparseLinear: W = [[1, 0, 2, 0], [0, 0, 0, 3]].
struct Linear {
    x: Tensor,
    values: Tensor,
    block_ptr: Tensor,
    columns: Tensor,
}

impl Linear {
    fn new() -> Self {
        Linear {
            x: t(&[1, 4], &[1.0f32, 2.0, 3.0, 4.0]),
            values: t(&[3], &[1.0f32, 2.0, 3.0]),
            block_ptr: t(&[3], &[0i32, 2, 3]),
            columns: t(&[3], &[0i32, 2, 3]),
        }
    }

    fn run(&self) -> OpResult<Vec<Tensor>> {
        self.run_with(&attrs(2, 4, "csr"))
    }

    fn run_with(&self, attributes: &[Attribute]) -> OpResult<Vec<Tensor>> {
        let inputs = [
            Some(&self.x),
            Some(&self.values),
            Some(&self.block_ptr),
            Some(&self.columns),
        ];
        run(OpCode::SparseLinear, attributes, &inputs)
    }
}

#[test]
fn the_valid_layer_runs() {
    let out = Linear::new().run().unwrap();
    assert_eq!(out[0].as_slice::<f32>().unwrap(), [7.0, 12.0]);
}

#[test]
fn malformed_parts_are_invalid_sparse_matrices() {
    type Breakage = fn(&mut Linear);
    let cases: [(&str, Breakage); 10] = [
        ("negative offset", |l| l.block_ptr = t(&[3], &[0i32, -1, 3])),
        ("decreasing offsets", |l| {
            l.block_ptr = t(&[3], &[0i32, 3, 2])
        }),
        ("offsets not starting at 0", |l| {
            l.block_ptr = t(&[3], &[1i32, 2, 3])
        }),
        ("offsets not ending at the block count", |l| {
            l.block_ptr = t(&[3], &[0i32, 2, 2])
        }),
        ("one offset too many", |l| {
            l.block_ptr = t(&[4], &[0i32, 1, 2, 3])
        }),
        ("negative column", |l| l.columns = t(&[3], &[0i32, -2, 3])),
        ("column out of range", |l| {
            l.columns = t(&[3], &[0i32, 2, 4])
        }),
        ("columns out of order", |l| {
            l.columns = t(&[3], &[2i32, 0, 3])
        }),
        ("too few values", |l| l.values = t(&[2], &[1.0f32, 2.0])),
        ("odd u16 bytes", |l| l.columns = t(&[5], &[0u8, 0, 2, 0, 3])),
    ];
    for (what, break_it) in cases {
        let mut layer = Linear::new();
        break_it(&mut layer);
        let result = layer.run();
        assert!(is_invalid_matrix(&result), "{what}: {result:?}");
    }
    // u16 columns out of range (the little-endian 4 is 0x0004; 0x0400 is
    // 1024) and a 2-D part.
    let mut layer = Linear::new();
    layer.columns = t(&[6], &[0u8, 0, 2, 0, 0, 4]);
    assert!(is_invalid_matrix(&layer.run()));
    let mut layer = Linear::new();
    layer.values = t(&[3, 1], &[1.0f32, 2.0, 3.0]);
    assert!(is_invalid_matrix(&layer.run()));
}

#[test]
fn wrong_dtypes_and_shapes_are_typed_errors() {
    let mut layer = Linear::new();
    layer.columns = t(&[3], &[0.0f32, 2.0, 3.0]);
    assert!(matches!(
        layer.run(),
        Err(OpError::UnsupportedDType { index: 3, .. })
    ));
    let mut layer = Linear::new();
    layer.block_ptr = t(&[3], &[0i64, 2, 3]);
    assert!(matches!(
        layer.run(),
        Err(OpError::UnsupportedDType { index: 2, .. })
    ));
    let mut layer = Linear::new();
    layer.values = t(&[3], &[1i8, 2, 3]);
    assert!(matches!(
        layer.run(),
        Err(OpError::UnsupportedDType { index: 1, .. })
    ));
    let mut layer = Linear::new();
    layer.x = t(&[1, 3], &[1.0f32, 2.0, 3.0]);
    assert!(matches!(layer.run(), Err(OpError::ShapeMismatch { .. })));
    let layer = Linear::new();
    let scalar_x = Tensor::scalar(1.0f32);
    let inputs = [
        Some(&scalar_x),
        Some(&layer.values),
        Some(&layer.block_ptr),
        Some(&layer.columns),
    ];
    assert!(matches!(
        run(OpCode::SparseLinear, &attrs(2, 4, "csr"), &inputs),
        Err(OpError::ShapeMismatch { .. })
    ));
    // Bias of the wrong length; too few inputs.
    let bias = t(&[3], &[0.0f32; 3]);
    let mut inputs = inputs.to_vec();
    inputs[0] = Some(&layer.x);
    inputs.push(Some(&bias));
    assert!(matches!(
        run(OpCode::SparseLinear, &attrs(2, 4, "csr"), &inputs),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        run(OpCode::SparseLinear, &attrs(2, 4, "csr"), &inputs[..3]),
        Err(OpError::InputCount { .. })
    ));
    // SparseConv wants a 4-D X.
    assert!(matches!(
        run(OpCode::SparseConv, &attrs(2, 4, "csr"), &inputs[..4]),
        Err(OpError::ShapeMismatch { .. })
    ));
}

#[test]
fn bad_attributes_are_refused_at_build() {
    let layer = Linear::new();
    let attr = |name: &str, value: AttrValue| Attribute {
        name: name.into(),
        value,
    };
    let missing_rows = vec![attr("cols", AttrValue::Int(4))];
    assert!(matches!(
        layer.run_with(&missing_rows),
        Err(OpError::MissingAttribute { .. })
    ));
    let cases = [
        attrs(2, 4, "2x2"),
        attrs(2, 6, "1x4"),
        vec![
            attr("rows", AttrValue::Int(-2)),
            attr("cols", AttrValue::Int(4)),
        ],
        vec![
            attr("rows", AttrValue::Int(2)),
            attr("cols", AttrValue::Int(1 << 40)),
        ],
        vec![
            attr("rows", AttrValue::Int(2)),
            attr("cols", AttrValue::Int(4)),
            attr("block", AttrValue::Int(1)),
        ],
    ];
    for attributes in cases {
        for code in [
            OpCode::SparseLinear,
            OpCode::SparseConv,
            OpCode::SparseQLinearConv,
        ] {
            assert!(
                matches!(
                    build_operator(code, &attributes),
                    Err(OpError::InvalidAttribute { .. })
                ),
                "{code} {attributes:?}"
            );
        }
    }
    let mut bad_activation = attrs(2, 4, "csr");
    bad_activation.push(attr("activation", AttrValue::String("swish?".into())));
    for code in [OpCode::SparseLinear, OpCode::SparseConv] {
        assert!(matches!(
            build_operator(code, &bad_activation),
            Err(OpError::InvalidAttribute { .. })
        ));
    }
    // Wider than the int8 kernels' exact depth.
    assert!(matches!(
        build_operator(OpCode::SparseQLinearConv, &attrs(2, 1 << 20, "csr")),
        Err(OpError::Unsupported { .. })
    ));
}

#[test]
fn u16_columns_need_at_most_65536_columns() {
    // K = 65,540 with u8 (u16) columns: refused; i32 columns are fine.
    let k = 65_540;
    let x = t(&[1, k], &vec![1.0f32; k]);
    let values = t(&[1], &[5.0f32]);
    let block_ptr = t(&[2], &[0i32, 1]);
    let narrow = t(&[2], &[0u8, 0]);
    let wide = t(&[1], &[65_539i32]);
    let inputs = [Some(&x), Some(&values), Some(&block_ptr), Some(&narrow)];
    assert!(is_invalid_matrix(&run(
        OpCode::SparseLinear,
        &attrs(1, k, "csr"),
        &inputs
    )));
    let inputs = [Some(&x), Some(&values), Some(&block_ptr), Some(&wide)];
    let out = run(OpCode::SparseLinear, &attrs(1, k, "csr"), &inputs).unwrap();
    assert_eq!(out[0].as_slice::<f32>().unwrap(), [5.0]);
}

#[test]
fn quantized_parameters_are_checked() {
    let x = t(&[1, 2], &[10u8, 4]);
    let values = t(&[1], &[2i8]);
    let block_ptr = t(&[3], &[0i32, 1, 1]);
    let columns = t(&[1], &[0i32]);
    let (one, zero) = (Tensor::scalar(1.0f32), Tensor::scalar(0u8));
    let f32_values = t(&[1], &[2.0f32]);
    let i8_x = t(&[1, 2], &[10i8, 4]);
    let i8_zero = Tensor::scalar(0i8);
    let two_scales = t(&[3], &[1.0f32, 1.0, 1.0]);
    let zero_scale = Tensor::scalar(0.0f32);
    let bad_bias = t(&[2], &[1.0f32, 2.0]);
    let x_5d = t(&[1, 2, 1, 1, 1], &[1u8, 2]);
    let base = [
        Some(&x),
        Some(&one),
        Some(&zero),
        Some(&values),
        Some(&block_ptr),
        Some(&columns),
        Some(&one),
        Some(&one),
        Some(&zero),
    ];
    let q =
        |inputs: &[Option<&Tensor>]| run(OpCode::SparseQLinearConv, &attrs(2, 2, "csr"), inputs);
    assert!(q(&base).is_ok());
    let replaced = |index: usize, tensor: &Tensor| {
        let mut inputs = base.to_vec();
        inputs[index] = Some(tensor);
        q(&inputs)
    };
    assert!(matches!(
        replaced(0, &i8_x),
        Err(OpError::UnsupportedDType { index: 0, .. })
    ));
    assert!(matches!(
        replaced(2, &i8_zero),
        Err(OpError::UnsupportedDType { index: 2, .. })
    ));
    assert!(matches!(
        replaced(3, &f32_values),
        Err(OpError::UnsupportedDType { index: 3, .. })
    ));
    assert!(matches!(
        replaced(6, &two_scales),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        replaced(1, &two_scales),
        Err(OpError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        replaced(7, &zero_scale),
        Err(OpError::InvalidInput { index: 7, .. })
    ));
    assert!(matches!(
        replaced(8, &i8_zero),
        Err(OpError::UnsupportedDType { index: 8, .. })
    ));
    assert!(matches!(
        replaced(0, &x_5d),
        Err(OpError::ShapeMismatch { .. })
    ));
    let mut inputs = base.to_vec();
    inputs.push(Some(&bad_bias));
    assert!(matches!(q(&inputs), Err(OpError::ShapeMismatch { .. })));
    assert!(matches!(q(&base[..8]), Err(OpError::InputCount { .. })));
}
