use super::infer_shapes;
use crate::passes::PassLog;
use crate::passes::test_ops::{GraphBuilder, attr, build};
use pocketnn_format::{AttrValue, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;

fn n() -> Dim {
    Dim::Symbolic("N".into())
}

fn fixed(dims: &[u64]) -> Vec<Dim> {
    dims.iter().map(|&d| Dim::Fixed(d)).collect()
}

fn i64s(v: &[i64]) -> Tensor {
    Tensor::from_slice(&[v.len()], v).unwrap()
}

/// `x: [N, 1, 28, 28]` and `Shape(x)`.
fn mnist_input(b: &mut GraphBuilder) -> (usize, usize) {
    let x = b.input(
        "x",
        DType::F32,
        vec![n(), Dim::Fixed(1), Dim::Fixed(28), Dim::Fixed(28)],
    );
    let shape = b.node(OpCode::Shape, &[x], DType::I64);
    (x, shape)
}

/// PyTorch's export of `flatten(x, 1)`:
/// Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0), [0]), [-1])).
#[test]
fn flatten_pattern_gets_symbolic_batch() {
    let mut b = GraphBuilder::new();
    let (x, shape) = mnist_input(&mut b);
    let zero = b.constant("zero", Tensor::scalar(0i64));
    let axes = b.constant("axes", i64s(&[0]));
    let minus_one = b.constant("m1", i64s(&[-1]));
    let batch = b.node(OpCode::Gather, &[shape, zero], DType::I64);
    let batch1 = b.node(OpCode::Unsqueeze, &[batch, axes], DType::I64);
    let target = b.node(OpCode::Concat, &[batch1, minus_one], DType::I64);
    let flat = b.node(OpCode::Reshape, &[x, target], DType::F32);
    let y = b.node(OpCode::Relu, &[flat], DType::F32);
    b.output(y);

    let mut log = PassLog::default();
    // nothing can be folded: every computed value depends on N
    assert_eq!(infer_shapes(&mut b.g, &mut log, &build).unwrap(), 0);
    assert!(log.warnings.is_empty(), "{:?}", log.warnings);
    let shape_of = |id: usize| b.g.values[id].shape.clone();
    assert_eq!(shape_of(flat), Some(vec![n(), Dim::Fixed(784)]));
    assert_eq!(shape_of(y), Some(vec![n(), Dim::Fixed(784)]));
    assert_eq!(shape_of(shape), Some(fixed(&[4])));
    assert_eq!(shape_of(batch), Some(vec![]));
    assert_eq!(shape_of(target), Some(fixed(&[2])));
    assert_eq!(b.g.bodies[0].nodes.len(), 6);
    assert!(b.g.constant(target).is_none());
}

/// Values computed from fixed dims only become constants.
#[test]
fn symbol_free_shape_values_are_folded() {
    let mut b = GraphBuilder::new();
    let (x, shape) = mnist_input(&mut b);
    let three = b.constant("three", Tensor::scalar(3i64));
    let axes = b.constant("axes", i64s(&[0]));
    let minus_one = b.constant("m1", i64s(&[-1]));
    let width = b.node(OpCode::Gather, &[shape, three], DType::I64);
    let width1 = b.node(OpCode::Unsqueeze, &[width, axes], DType::I64);
    let target = b.node(OpCode::Concat, &[minus_one, width1], DType::I64);
    let rows = b.node(OpCode::Reshape, &[x, target], DType::F32);
    b.output(rows);

    let mut log = PassLog::default();
    assert_eq!(infer_shapes(&mut b.g, &mut log, &build).unwrap(), 3);
    assert_eq!(
        b.g.constant(target).unwrap().as_slice::<i64>().unwrap(),
        &[-1, 28]
    );
    assert_eq!(b.ops(0), [OpCode::Shape, OpCode::Reshape]);
    // [N*28, 28]: the first dim is neither fixed nor N
    assert_eq!(b.g.values[rows].shape, None);
    assert_eq!(log.folded_nodes, 3);
}

/// `N == 1` is false for both probes but not for every N: not folded.
#[test]
fn comparisons_with_the_batch_are_not_folded() {
    let mut b = GraphBuilder::new();
    let (_, shape) = mnist_input(&mut b);
    let zero = b.constant("zero", Tensor::scalar(0i64));
    let one = b.constant("one", Tensor::scalar(1i64));
    let batch = b.node(OpCode::Gather, &[shape, zero], DType::I64);
    let is_one = b.node(OpCode::Equal, &[batch, one], DType::Bool);
    b.output(is_one);
    assert_eq!(
        infer_shapes(&mut b.g, &mut PassLog::default(), &build).unwrap(),
        0
    );
    assert!(b.g.constant(is_one).is_none());
    assert_eq!(b.g.values[is_one].shape, Some(vec![]));
    assert_eq!(b.ops(0), [OpCode::Shape, OpCode::Gather, OpCode::Equal]);
}

#[test]
fn two_symbols_and_elementwise_masks() {
    let mut b = GraphBuilder::new();
    let x = b.input(
        "x",
        DType::F32,
        vec![n(), Dim::Symbolic("T".into()), Dim::Fixed(8)],
    );
    let y = b.node(OpCode::Relu, &[x], DType::F32);
    let shape = b.node(OpCode::Shape, &[y], DType::I64);
    // Add(shape, 0): elements 0 and 1 depend on symbols, element 2 does not
    let zero = b.constant("zero", Tensor::scalar(0i64));
    let same = b.node(OpCode::Add, &[shape, zero], DType::I64);
    let two = b.constant("two", Tensor::scalar(2i64));
    let last = b.node(OpCode::Gather, &[same, two], DType::I64);
    b.output(y);
    b.output(last);
    assert_eq!(
        infer_shapes(&mut b.g, &mut PassLog::default(), &build).unwrap(),
        1
    );
    assert_eq!(
        b.g.values[y].shape,
        Some(vec![n(), Dim::Symbolic("T".into()), Dim::Fixed(8)])
    );
    assert_eq!(b.g.constant(last).unwrap().as_slice::<i64>().unwrap(), &[8]);
    assert!(b.g.constant(same).is_none());
}

#[test]
fn failures_leave_shapes_unknown_with_a_warning() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![n(), Dim::Fixed(6)]);
    // 6N elements cannot be [5, -1] for N = 2
    let bad = b.constant("bad", i64s(&[5, -1]));
    let r = b.node(OpCode::Reshape, &[x, bad], DType::F32);
    let y = b.node(OpCode::Relu, &[r], DType::F32);
    // an operator this build does not have
    let z = b.node(OpCode::Neg, &[x], DType::F32);
    let w = b.node_in(
        0,
        OpCode::Relu,
        &[Some(z)],
        &[DType::F32],
        vec![attr("unused", AttrValue::Int(0))],
    )[0];
    b.output(y);
    b.output(w);
    let mut log = PassLog::default();
    infer_shapes(&mut b.g, &mut log, &build).unwrap();
    for id in [r, y, z, w] {
        assert_eq!(b.g.values[id].shape, None);
    }
    assert_eq!(log.warnings.len(), 2, "{:?}", log.warnings);
    assert!(log.warnings[0].contains("Reshape"), "{:?}", log.warnings);
    assert!(
        log.warnings[1].contains("Neg is not available"),
        "{:?}",
        log.warnings
    );
}
