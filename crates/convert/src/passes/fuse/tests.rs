use super::fuse_epilogues;
use crate::graph::Graph;
use crate::passes::PassLog;
use crate::passes::test_ops::{GraphBuilder, attr};
use pocketnn_format::{AttrValue, Attribute, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;

fn dims(d: &[u64]) -> Vec<Dim> {
    d.iter().map(|&n| Dim::Fixed(n)).collect()
}

/// x [1,2,4,4] -> Conv(W [2,2,1,1], B) -> y, with y's shape declared.
fn conv(b: &mut GraphBuilder, x: usize) -> usize {
    let w = b.constant(
        "W",
        Tensor::from_slice(&[2, 2, 1, 1], &[1.0f32; 4]).unwrap(),
    );
    let bias = b.constant("B", Tensor::from_slice(&[2], &[0.5f32, 0.25]).unwrap());
    let y = b.node(OpCode::Conv, &[x, w, bias], DType::F32);
    b.g.values[y].shape = Some(dims(&[1, 2, 4, 4]));
    y
}

fn input(b: &mut GraphBuilder) -> usize {
    b.input("x", DType::F32, dims(&[1, 2, 4, 4]))
}

fn run(g: &mut Graph) -> (usize, PassLog) {
    let mut log = PassLog::default();
    let removed = fuse_epilogues(g, &mut log);
    (removed, log)
}

fn attribute<'g>(g: &'g Graph, node: usize, name: &str) -> Option<&'g AttrValue> {
    g.bodies[0].nodes[node].attribute(name)
}

fn string(s: &str) -> Option<AttrValue> {
    Some(AttrValue::String(s.into()))
}

#[test]
fn relu_after_conv_becomes_its_activation_and_keeps_the_output_name() {
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    b.output(r);
    let (removed, log) = run(&mut b.g);
    assert_eq!((removed, log.activations_fused), (1, 1));
    assert_eq!(b.ops(0), [OpCode::Conv]);
    assert_eq!(b.g.bodies[0].nodes[0].outputs, [r]);
    assert_eq!(attribute(&b.g, 0, "activation").cloned(), string("relu"));
}

#[test]
fn each_activation_maps_to_its_fused_attributes() {
    let f = |v: f32| AttrValue::Float(v);
    // (op, attributes, expected kind, expected alpha, expected beta)
    type Case = (
        OpCode,
        Vec<Attribute>,
        &'static str,
        Option<f32>,
        Option<f32>,
    );
    let cases: Vec<Case> = vec![
        (OpCode::Sigmoid, vec![], "sigmoid", None, None),
        (OpCode::Tanh, vec![], "tanh", None, None),
        (OpCode::HardSwish, vec![], "hard_swish", None, None),
        (OpCode::Silu, vec![], "silu", None, None),
        (OpCode::LeakyRelu, vec![], "leaky_relu", Some(0.01), None),
        (
            OpCode::LeakyRelu,
            vec![attr("alpha", f(0.3))],
            "leaky_relu",
            Some(0.3),
            None,
        ),
        (
            OpCode::HardSigmoid,
            vec![],
            "hard_sigmoid",
            Some(0.2),
            Some(0.5),
        ),
        (OpCode::Gelu, vec![], "gelu", None, None),
        (
            OpCode::Gelu,
            vec![attr("approximate", AttrValue::String("tanh".into()))],
            "gelu_tanh",
            None,
            None,
        ),
    ];
    for (op, attrs, kind, alpha, beta) in cases {
        let mut b = GraphBuilder::new();
        let x = input(&mut b);
        let y = conv(&mut b, x);
        let out = b.node_in(0, op, &[Some(y)], &[DType::F32], attrs)[0];
        b.output(out);
        run(&mut b.g);
        assert_eq!(b.ops(0), [OpCode::Conv], "{op}");
        assert_eq!(attribute(&b.g, 0, "activation").cloned(), string(kind));
        assert_eq!(
            attribute(&b.g, 0, "activation_alpha").cloned(),
            alpha.map(f)
        );
        assert_eq!(attribute(&b.g, 0, "activation_beta").cloned(), beta.map(f));
    }
}

#[test]
fn clip_with_constant_bounds_fuses_and_missing_bounds_are_infinite() {
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let lo = b.constant("lo", Tensor::scalar(0.0f32));
    let hi = b.constant("hi", Tensor::scalar(6.0f32));
    let out = b.node(OpCode::Clip, &[y, lo, hi], DType::F32);
    b.output(out);
    run(&mut b.g);
    assert_eq!(b.ops(0), [OpCode::Conv]);
    assert_eq!(attribute(&b.g, 0, "activation").cloned(), string("clip"));
    assert_eq!(
        attribute(&b.g, 0, "activation_beta"),
        Some(&AttrValue::Float(6.0))
    );

    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let hi = b.constant("hi", Tensor::scalar(6.0f32));
    let out = b.node_in(
        0,
        OpCode::Clip,
        &[Some(y), None, Some(hi)],
        &[DType::F32],
        vec![],
    )[0];
    b.output(out);
    run(&mut b.g);
    assert_eq!(
        attribute(&b.g, 0, "activation_alpha"),
        Some(&AttrValue::Float(f32::NEG_INFINITY))
    );
}

#[test]
fn clip_with_a_computed_bound_is_left_alone() {
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let lo = b.input("lo", DType::F32, vec![]);
    let y = conv(&mut b, x);
    let out = b.node(OpCode::Clip, &[y, lo], DType::F32);
    b.output(out);
    assert_eq!(run(&mut b.g).0, 0);
    assert_eq!(b.ops(0), [OpCode::Conv, OpCode::Clip]);
}

#[test]
fn mul_of_sigmoid_becomes_silu_in_either_order() {
    for swapped in [false, true] {
        let mut b = GraphBuilder::new();
        let x = input(&mut b);
        let y = conv(&mut b, x);
        let s = b.node(OpCode::Sigmoid, &[y], DType::F32);
        let inputs = if swapped { [s, y] } else { [y, s] };
        let out = b.node(OpCode::Mul, &inputs, DType::F32);
        b.output(out);
        let (removed, log) = run(&mut b.g);
        assert_eq!((removed, log.activations_fused), (2, 1));
        assert_eq!(b.ops(0), [OpCode::Conv]);
        assert_eq!(b.g.bodies[0].nodes[0].outputs, [out]);
        assert_eq!(attribute(&b.g, 0, "activation").cloned(), string("silu"));
    }
}

#[test]
fn an_output_read_twice_or_exported_is_not_fused() {
    // read by Relu and by another node
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    let n = b.node(OpCode::Neg, &[y], DType::F32);
    b.output(r);
    b.output(n);
    assert_eq!(run(&mut b.g).0, 0);
    assert_eq!(b.ops(0), [OpCode::Conv, OpCode::Relu, OpCode::Neg]);
    // the Conv output is itself a graph output
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    b.output(r);
    b.output(y);
    assert_eq!(run(&mut b.g).0, 0);
    // Sigmoid's output also read elsewhere: no SiLU
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let s = b.node(OpCode::Sigmoid, &[y], DType::F32);
    let m = b.node(OpCode::Mul, &[y, s], DType::F32);
    b.output(m);
    b.output(s);
    assert_eq!(run(&mut b.g).0, 0);
}

#[test]
fn matmul_fuses_only_with_a_constant_b() {
    for constant in [true, false] {
        let mut b = GraphBuilder::new();
        let a = b.input("a", DType::F32, dims(&[3, 4]));
        let w = if constant {
            b.constant("w", Tensor::from_slice(&[4, 2], &[1.0f32; 8]).unwrap())
        } else {
            b.input("w", DType::F32, dims(&[4, 2]))
        };
        let y = b.node(OpCode::MatMul, &[a, w], DType::F32);
        let r = b.node(OpCode::Relu, &[y], DType::F32);
        b.output(r);
        run(&mut b.g);
        let expected: &[OpCode] = if constant {
            &[OpCode::MatMul]
        } else {
            &[OpCode::MatMul, OpCode::Relu]
        };
        assert_eq!(b.ops(0), expected);
    }
}

#[test]
fn gemm_fuses_and_an_activated_node_takes_no_second_activation() {
    let mut b = GraphBuilder::new();
    let a = b.input("a", DType::F32, dims(&[3, 4]));
    let w = b.constant("w", Tensor::from_slice(&[4, 2], &[1.0f32; 8]).unwrap());
    let y = b.node(OpCode::Gemm, &[a, w], DType::F32);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    let t = b.node(OpCode::Tanh, &[r], DType::F32);
    b.output(t);
    assert_eq!(run(&mut b.g).0, 1);
    assert_eq!(b.ops(0), [OpCode::Gemm, OpCode::Tanh]);
    assert_eq!(attribute(&b.g, 0, "activation").cloned(), string("relu"));
}

#[test]
fn residual_add_then_relu_fold_into_the_conv() {
    for swapped in [false, true] {
        let mut b = GraphBuilder::new();
        let x = input(&mut b);
        let y = conv(&mut b, x);
        let inputs = if swapped { [x, y] } else { [y, x] };
        let sum = b.node(OpCode::Add, &inputs, DType::F32);
        let r = b.node(OpCode::Relu, &[sum], DType::F32);
        b.output(r);
        let (removed, log) = run(&mut b.g);
        assert_eq!(removed, 2);
        assert_eq!((log.residual_adds_fused, log.activations_fused), (1, 1));
        assert_eq!(b.ops(0), [OpCode::Conv]);
        let node = &b.g.bodies[0].nodes[0];
        assert_eq!(node.inputs.len(), 4);
        assert_eq!(node.inputs[3], Some(x));
        assert_eq!(node.outputs, [r]);
        assert_eq!(attribute(&b.g, 0, "activation").cloned(), string("relu"));
    }
}

#[test]
fn a_two_input_sum_is_a_residual_add_and_a_three_input_sum_is_not() {
    for extra in [false, true] {
        let mut b = GraphBuilder::new();
        let x = input(&mut b);
        let y = conv(&mut b, x);
        let inputs: &[usize] = if extra { &[y, x, x] } else { &[y, x] };
        let sum = b.node(OpCode::Sum, inputs, DType::F32);
        b.output(sum);
        run(&mut b.g);
        let expected: &[OpCode] = if extra {
            &[OpCode::Conv, OpCode::Sum]
        } else {
            &[OpCode::Conv]
        };
        assert_eq!(b.ops(0), expected);
    }
}

#[test]
fn residual_without_bias_keeps_the_bias_slot_empty() {
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let w = b.constant(
        "W",
        Tensor::from_slice(&[2, 2, 1, 1], &[1.0f32; 4]).unwrap(),
    );
    let y = b.node(OpCode::Conv, &[x, w], DType::F32);
    b.g.values[y].shape = Some(dims(&[1, 2, 4, 4]));
    let sum = b.node(OpCode::Add, &[y, x], DType::F32);
    b.output(sum);
    run(&mut b.g);
    assert_eq!(
        b.g.bodies[0].nodes[0].inputs,
        [Some(x), Some(w), None, Some(x)]
    );
}

#[test]
fn residual_made_after_the_conv_goes_into_the_later_conv() {
    // two convs of x; Add(first, second): only the second can take it
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let first = conv(&mut b, x);
    let second = conv(&mut b, x);
    let sum = b.node(OpCode::Add, &[first, second], DType::F32);
    b.output(sum);
    run(&mut b.g);
    assert_eq!(b.ops(0), [OpCode::Conv, OpCode::Conv]);
    let fused = &b.g.bodies[0].nodes[1];
    assert_eq!(fused.inputs[3], Some(first));
    assert_eq!(fused.outputs, [sum]);
    assert_eq!(b.g.bodies[0].nodes[0].inputs.len(), 3);
}

#[test]
fn residual_needing_broadcast_or_unknown_shape_is_not_fused() {
    for z_dims in [Some(dims(&[1, 2, 1, 1])), None] {
        let mut b = GraphBuilder::new();
        let x = input(&mut b);
        let z = b.input("z", DType::F32, vec![]);
        b.g.values[z].shape = z_dims;
        let y = conv(&mut b, x);
        let sum = b.node(OpCode::Add, &[y, z], DType::F32);
        b.output(sum);
        assert_eq!(run(&mut b.g).0, 0);
        assert_eq!(b.ops(0), [OpCode::Conv, OpCode::Add]);
    }
}

#[test]
fn residual_after_an_activation_is_not_fused() {
    // act(conv) + z is not act(conv + z)
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let y = conv(&mut b, x);
    let r = b.node(OpCode::Relu, &[y], DType::F32);
    b.g.values[r].shape = Some(dims(&[1, 2, 4, 4]));
    let sum = b.node(OpCode::Add, &[r, x], DType::F32);
    b.output(sum);
    run(&mut b.g);
    assert_eq!(b.ops(0), [OpCode::Conv, OpCode::Add]);
    assert_eq!(b.g.bodies[0].nodes[0].inputs.len(), 3);
}

/// x [1,2,4,4] -> Pad(pads) -> Conv(W 3×3, conv_attrs) -> y.
fn pad_then_conv(pads: &[i64], value: Option<f32>, conv_attrs: Vec<Attribute>) -> GraphBuilder {
    let mut b = GraphBuilder::new();
    let x = input(&mut b);
    let p = b.constant("p", Tensor::from_slice(&[pads.len()], pads).unwrap());
    let mut pad_inputs = vec![Some(x), Some(p)];
    if let Some(v) = value {
        pad_inputs.push(Some(b.constant("v", Tensor::scalar(v))));
    }
    let padded = b.node_in(0, OpCode::Pad, &pad_inputs, &[DType::F32], vec![])[0];
    let w = b.constant(
        "W",
        Tensor::from_slice(&[2, 2, 3, 3], &[1.0f32; 36]).unwrap(),
    );
    let y = b.node_in(
        0,
        OpCode::Conv,
        &[Some(padded), Some(w)],
        &[DType::F32],
        conv_attrs,
    )[0];
    b.output(y);
    b
}

#[test]
fn zero_spatial_pad_folds_into_the_conv_pads() {
    let conv_pads = vec![attr("pads", AttrValue::Ints(vec![1, 0, 0, 2]))];
    for (value, attrs) in [(None, vec![]), (Some(0.0), conv_pads)] {
        let had_pads = !attrs.is_empty();
        let mut b = pad_then_conv(&[0, 0, 0, 1, 0, 0, 2, 1], value, attrs);
        let (removed, log) = run(&mut b.g);
        assert_eq!((removed, log.pads_folded), (1, 1));
        assert_eq!(b.ops(0), [OpCode::Conv]);
        // pads are [h_begin, w_begin, h_end, w_end]
        let expected = if had_pads {
            vec![1, 1, 2, 3]
        } else {
            vec![0, 1, 2, 1]
        };
        assert_eq!(attribute(&b.g, 0, "pads"), Some(&AttrValue::Ints(expected)));
        assert_eq!(b.g.bodies[0].nodes[0].inputs[0], Some(b.g.inputs[0]));
    }
}

#[test]
fn pads_that_a_conv_cannot_take_are_left_alone() {
    let same = vec![attr("auto_pad", AttrValue::String("SAME_UPPER".into()))];
    let cases: Vec<(Vec<i64>, Option<f32>, Vec<Attribute>)> = vec![
        (vec![0, 0, 1, 1, 0, 0, 1, 1], Some(1.0), vec![]), // non-zero value
        (vec![0, 1, 1, 1, 0, 0, 1, 1], None, vec![]),      // pads a channel
        (vec![0, 0, -1, 1, 0, 0, 1, 1], None, vec![]),     // crops
        (vec![0, 0, 1, 1, 0, 0, 1, 1], None, same),        // auto_pad
    ];
    for (pads, value, attrs) in cases {
        let mut b = pad_then_conv(&pads, value, attrs);
        assert_eq!(run(&mut b.g).1.pads_folded, 0, "{pads:?}");
        assert_eq!(b.ops(0), [OpCode::Pad, OpCode::Conv]);
    }
    // reflect mode
    let mut b = pad_then_conv(&[0, 0, 1, 1, 0, 0, 1, 1], None, vec![]);
    b.g.bodies[0].nodes[0].set_attribute("mode", AttrValue::String("reflect".into()));
    assert_eq!(run(&mut b.g).1.pads_folded, 0);
}
