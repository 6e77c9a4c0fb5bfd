use super::{check_operators, fold_constants};
use crate::error::ConvertError;
use crate::passes::PassLog;
use crate::passes::test_ops::{GraphBuilder, attr, build, build_none};
use pocketnn_format::{AttrValue, DType, Dim, OpCode};
use pocketnn_ops::OpError;
use pocketnn_tensor::Tensor;

#[test]
fn folds_chains_of_constant_nodes() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::I64, vec![Dim::Fixed(2)]);
    let c1 = b.constant("c1", Tensor::from_slice(&[2], &[1i64, 2]).unwrap());
    let c2 = b.constant("c2", Tensor::from_slice(&[2], &[10i64, 20]).unwrap());
    let s = b.node(OpCode::Add, &[c1, c2], DType::I64);
    let t = b.node(OpCode::Add, &[s, c1], DType::I64);
    let y = b.node(OpCode::Add, &[x, t], DType::I64);
    b.output(y);
    let mut log = PassLog::default();
    assert_eq!(fold_constants(&mut b.g, &mut log, &build), 2);
    assert_eq!(b.ops(0), [OpCode::Add]);
    // [1,2]+[10,20] = [11,22]; + [1,2] = [12,24]
    assert_eq!(
        b.g.constant(t).unwrap().as_slice::<i64>().unwrap(),
        &[12, 24]
    );
    assert_eq!(log.folded_nodes, 2);
    assert_eq!(log.folded_values.len(), 2);
    assert!(log.warnings.is_empty(), "{:?}", log.warnings);
}

#[test]
fn does_not_fold_results_much_larger_than_inputs() {
    let mut b = GraphBuilder::new();
    let big = b.constant("big", Tensor::from_slice(&[2], &[1024i64, 1024]).unwrap());
    let small = b.constant("small", Tensor::from_slice(&[1], &[16i64]).unwrap());
    let fill = vec![attr("value_float", AttrValue::Float(2.5))];
    let y_big = b.node_in(
        0,
        OpCode::ConstantOfShape,
        &[Some(big)],
        &[DType::F32],
        fill.clone(),
    )[0];
    let y_small = b.node_in(
        0,
        OpCode::ConstantOfShape,
        &[Some(small)],
        &[DType::F32],
        fill,
    )[0];
    b.output(y_big);
    b.output(y_small);
    let mut log = PassLog::default();
    // 4 MiB from 16 bytes stays a node; 64 bytes from 8 bytes is folded
    assert_eq!(fold_constants(&mut b.g, &mut log, &build), 1);
    assert_eq!(b.ops(0), [OpCode::ConstantOfShape]);
    assert!(b.g.constant(y_big).is_none());
    assert_eq!(
        b.g.constant(y_small).unwrap().as_slice::<f32>().unwrap(),
        &[2.5; 16]
    );
}

#[test]
fn unavailable_operators_and_if_stay_with_one_warning_per_op() {
    let mut b = GraphBuilder::new();
    let c = b.constant("c", Tensor::from_slice(&[1], &[1.0f32]).unwrap());
    let n1 = b.node(OpCode::Neg, &[c], DType::F32);
    let n2 = b.node(OpCode::Neg, &[n1], DType::F32);
    b.g.bodies.push(Default::default());
    b.g.bodies[1].outputs.push(c);
    let cond = b.constant("cond", Tensor::scalar(1u8));
    let y = b.node_in(
        0,
        OpCode::If,
        &[Some(cond)],
        &[DType::F32],
        vec![
            attr("then_branch", AttrValue::Body(1)),
            attr("else_branch", AttrValue::Body(1)),
        ],
    )[0];
    b.output(n2);
    b.output(y);
    let mut log = PassLog::default();
    assert_eq!(fold_constants(&mut b.g, &mut log, &build_none), 0);
    assert_eq!(b.ops(0), [OpCode::Neg, OpCode::Neg, OpCode::If]);
    assert_eq!(
        log.warnings,
        ["constant folding: operator Neg is not available; 1 constant node(s) left unfolded"]
    );
}

#[test]
fn operator_check_reports_missing_ops_and_rejects_bad_attributes() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![]);
    let y = b.node(OpCode::Relu, &[x], DType::F32);
    b.output(y);
    let mut log = PassLog::default();
    check_operators(&b.g, false, &mut log, &build_none).unwrap();
    assert_eq!(
        log.warnings,
        ["operator Relu (1 node(s)) is not implemented by this pocketnn build"]
    );
    let e = check_operators(&b.g, true, &mut PassLog::default(), &build_none).unwrap_err();
    assert!(
        matches!(
            e,
            ConvertError::Operator {
                op: OpCode::Relu,
                ..
            }
        ),
        "{e}"
    );
    let reject = |_: OpCode,
                  _: &[pocketnn_format::Attribute]|
     -> pocketnn_ops::OpResult<Box<dyn pocketnn_ops::Operator>> {
        Err(OpError::InvalidAttribute {
            name: "alpha".into(),
            reason: "must be positive".into(),
        })
    };
    let e = check_operators(&b.g, false, &mut PassLog::default(), &reject).unwrap_err();
    assert!(e.to_string().contains("alpha"), "{e}");
}
