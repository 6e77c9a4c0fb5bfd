//! Tests of the nn operators: each against a separately written naive
//! reference (`reference.rs`) over sweeps of shapes and attributes, plus
//! values computed by onnxruntime (`onnxruntime.rs`) and error cases
//! (`errors.rs`). Every operator runs with the scalar kernels and with the
//! best tier of this CPU.

mod conv;
mod conv_transpose;
mod errors;
mod f16_weights;
mod fused;
mod low_rank;
mod matmul;
mod norm;
mod onnxruntime;
mod pool;
mod reference;

use crate::operator::{InputInfo, Operator, RunContext};
use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};

/// An integer-list attribute.
fn ints(name: &str, values: &[i64]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(values.to_vec()),
    }
}

/// An integer attribute.
fn int(name: &str, value: i64) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Int(value),
    }
}

/// A float attribute.
fn float(name: &str, value: f32) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Float(value),
    }
}

/// A string attribute.
fn string(name: &str, value: &str) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::String(value.into()),
    }
}

/// Builds an operator through the public registry.
fn build(op: OpCode, attrs: &[Attribute]) -> Box<dyn Operator> {
    match crate::build_operator(op, attrs) {
        Ok(op) => op,
        Err(e) => panic!("building {op} with {attrs:?} failed: {e}"),
    }
}

/// The values `make_onnxruntime_values.py` feeds: multiples of 1/8 in
/// [-1.375, 1.375], exact in f32.
fn pattern(len: usize, seed: u64) -> Vec<f32> {
    (0..len as u64)
        .map(|i| (((i * 37 + seed * 101 + 11) % 23) as f32 - 11.0) / 8.0)
        .collect()
}

/// A tensor of `pattern` values.
fn patterned(shape: &[usize], seed: u64) -> Tensor {
    let len = shape.iter().product();
    Tensor::from_slice(shape, &pattern(len, seed)).unwrap()
}

/// A small deterministic generator for sweep inputs.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }

    fn tensor(&mut self, shape: &[usize]) -> Tensor {
        let len: usize = shape.iter().product();
        let values: Vec<f32> = (0..len).map(|_| self.next()).collect();
        Tensor::from_slice(shape, &values).unwrap()
    }
}

/// The tiers to test: scalar and the best this CPU has.
fn tiers() -> Vec<Isa> {
    let mut tiers = vec![Isa::Scalar, Isa::best()];
    tiers.dedup();
    tiers
}

/// Evaluates `op` with every tier; returns each tier's outputs. Outputs
/// start filled with garbage (NaN, `i64::MIN`), so an element `run` forgets
/// to write shows up.
fn eval_tiers(op: &dyn Operator, inputs: &[Option<&Tensor>]) -> Vec<(Isa, Vec<Tensor>)> {
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let infos: Vec<Option<InputInfo<'_>>> = views.iter().map(|v| v.map(InputInfo::from)).collect();
    let specs = op
        .infer(&infos)
        .unwrap_or_else(|e| panic!("{:?} infer failed: {e}", op.op()));
    tiers()
        .into_iter()
        .map(|isa| {
            let mut outputs: Vec<Tensor> = specs
                .iter()
                .map(|s| {
                    let mut t = Tensor::zeros(s.dtype, &s.shape).unwrap();
                    match s.dtype {
                        DType::F32 => t.as_slice_mut::<f32>().unwrap().fill(f32::NAN),
                        DType::I64 => t.as_slice_mut::<i64>().unwrap().fill(i64::MIN),
                        _ => {}
                    }
                    t
                })
                .collect();
            let mut views_mut: Vec<TensorViewMut<'_>> =
                outputs.iter_mut().map(|t| t.view_mut()).collect();
            let mut scratch = AlignedBuf::new();
            let mut ctx = RunContext {
                isa,
                threads: 1,
                scratch: &mut scratch,
            };
            if let Err(e) = op.run(&mut ctx, &views, &mut views_mut) {
                panic!("{:?} failed on {isa}: {e}", op.op());
            }
            drop(views_mut);
            // The public helper must agree (it starts from zeros).
            let public = crate::eval(op, &views, isa).unwrap();
            for (a, b) in outputs.iter().zip(&public) {
                assert_eq!(a.shape(), b.shape());
            }
            (isa, outputs)
        })
        .collect()
}

/// Asserts `|actual - expected| <= tol * (1 + |expected|)` elementwise.
#[track_caller]
fn assert_close(actual: &[f32], expected: &[f32], tol: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let ok = (a.is_nan() && e.is_nan()) || a == e || (a - e).abs() <= tol * (1.0 + e.abs());
        assert!(ok, "{what}: element {i} is {a}, expected {e}");
    }
}

/// Runs `op` on every tier and checks output 0's shape and values.
#[track_caller]
fn check(
    op: &dyn Operator,
    inputs: &[Option<&Tensor>],
    shape: &[usize],
    expected: &[f32],
    tol: f32,
    what: &str,
) {
    for (isa, outputs) in eval_tiers(op, inputs) {
        let y = &outputs[0];
        assert_eq!(y.shape(), shape, "{what} on {isa}: shape");
        assert_close(
            y.as_slice::<f32>().unwrap(),
            expected,
            tol,
            &format!("{what} on {isa}"),
        );
    }
}

/// Runs `op` passing only its first output (the others omitted, as the
/// runtime does for unused trailing outputs). Returns that output.
fn run_first_output_only(op: &dyn Operator, inputs: &[Option<&Tensor>]) -> Tensor {
    let views: Vec<Option<TensorView<'_>>> = inputs.iter().map(|t| t.map(Tensor::view)).collect();
    let infos: Vec<Option<InputInfo<'_>>> = views.iter().map(|v| v.map(InputInfo::from)).collect();
    let specs = op.infer(&infos).unwrap();
    let mut y = Tensor::zeros(specs[0].dtype, &specs[0].shape).unwrap();
    y.as_slice_mut::<f32>().unwrap().fill(f32::NAN);
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa: Isa::Scalar,
        threads: 1,
        scratch: &mut scratch,
    };
    let mut outputs: Vec<TensorViewMut<'_>> = vec![y.view_mut()];
    op.run(&mut ctx, &views, &mut outputs).unwrap();
    drop(outputs);
    y
}

#[test]
fn every_nn_op_is_built_by_the_registry() {
    let attrs_for = |op: OpCode| match op {
        OpCode::MaxPool | OpCode::AveragePool => vec![ints("kernel_shape", &[2, 2])],
        OpCode::LRN => vec![int("size", 3)],
        _ => vec![],
    };
    for op in [
        OpCode::Conv,
        OpCode::ConvTranspose,
        OpCode::Gemm,
        OpCode::MatMul,
        OpCode::MaxPool,
        OpCode::AveragePool,
        OpCode::GlobalAveragePool,
        OpCode::GlobalMaxPool,
        OpCode::BatchNormalization,
        OpCode::LayerNormalization,
        OpCode::InstanceNormalization,
        OpCode::LRN,
    ] {
        assert_eq!(build(op, &attrs_for(op)).op(), op);
    }
    assert!(super::build(OpCode::Relu, &crate::attrs::Attrs::new(&[])).is_none());
}
