use super::eliminate_dead_code;
use crate::passes::test_ops::{GraphBuilder, attr};
use pocketnn_format::{AttrValue, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;

#[test]
fn removes_nodes_that_reach_no_output() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![Dim::Fixed(2)]);
    let live = b.node(OpCode::Relu, &[x], DType::F32);
    let dead = b.node(OpCode::Neg, &[x], DType::F32);
    let _dead2 = b.node(OpCode::Abs, &[dead], DType::F32);
    b.output(live);
    assert_eq!(eliminate_dead_code(&mut b.g), 2);
    assert_eq!(b.ops(0), [OpCode::Relu]);
}

#[test]
fn keeps_what_live_subgraphs_read_and_drops_dead_subgraphs() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![Dim::Fixed(2)]);
    let cond = b.constant("c", Tensor::scalar(1u8));
    // read only inside the then-branch of the live If
    let outer = b.node(OpCode::Sigmoid, &[x], DType::F32);
    let then_out = b.node_in(1, OpCode::Relu, &[Some(outer)], &[DType::F32], vec![])[0];
    b.g.bodies[1].outputs.push(then_out);
    b.g.bodies.push(Default::default());
    b.g.bodies[2].outputs.push(x);
    // a dead If owning bodies 3 and 4
    let d3 = b.node_in(3, OpCode::Neg, &[Some(x)], &[DType::F32], vec![])[0];
    b.g.bodies[3].outputs.push(d3);
    b.g.bodies.push(Default::default());
    b.g.bodies[4].outputs.push(x);
    b.node_in(
        0,
        OpCode::If,
        &[Some(cond)],
        &[DType::F32],
        vec![
            attr("then_branch", AttrValue::Body(3)),
            attr("else_branch", AttrValue::Body(4)),
        ],
    );
    let y = b.node_in(
        0,
        OpCode::If,
        &[Some(cond)],
        &[DType::F32],
        vec![
            attr("then_branch", AttrValue::Body(1)),
            attr("else_branch", AttrValue::Body(2)),
        ],
    )[0];
    b.output(y);
    // the dead If and the Neg inside its branch go; bodies 3 and 4 go, 1 and 2 stay
    assert_eq!(eliminate_dead_code(&mut b.g), 2);
    assert_eq!(b.ops(0), [OpCode::Sigmoid, OpCode::If]);
    assert_eq!(b.g.bodies.len(), 3);
    let if_node = &b.g.bodies[0].nodes[1];
    assert_eq!(if_node.attribute("then_branch"), Some(&AttrValue::Body(1)));
    assert_eq!(b.ops(1), [OpCode::Relu]);
}

#[test]
fn renumbers_bodies_after_a_dead_one() {
    let mut b = GraphBuilder::new();
    let x = b.input("x", DType::F32, vec![]);
    let cond = b.constant("c", Tensor::scalar(1u8));
    for body in 1..=4 {
        let o = b.node_in(body, OpCode::Relu, &[Some(x)], &[DType::F32], vec![])[0];
        b.g.bodies[body].outputs.push(o);
    }
    b.node_in(
        0,
        OpCode::If,
        &[Some(cond)],
        &[DType::F32],
        vec![
            attr("then_branch", AttrValue::Body(1)),
            attr("else_branch", AttrValue::Body(2)),
        ],
    );
    let y = b.node_in(
        0,
        OpCode::If,
        &[Some(cond)],
        &[DType::F32],
        vec![
            attr("then_branch", AttrValue::Body(3)),
            attr("else_branch", AttrValue::Body(4)),
        ],
    )[0];
    b.output(y);
    eliminate_dead_code(&mut b.g);
    assert_eq!(b.g.bodies.len(), 3);
    let if_node = &b.g.bodies[0].nodes[0];
    assert_eq!(if_node.attribute("then_branch"), Some(&AttrValue::Body(1)));
    assert_eq!(if_node.attribute("else_branch"), Some(&AttrValue::Body(2)));
}
