//! The runtime on small hand-built graphs: values checked against results
//! computed in the test, input validation errors, plan caching across
//! shapes, `If`, sharing a model across threads, loading from a file.

use pocketnn::format::{
    AttrValue, Attribute, Body, DType, Dim, GraphDef, Metadata, NodeDef, OpCode, PnnWriter,
    TensorSpec, ValueDef,
};
use pocketnn::{Error, Model, Session, SessionOptions, TensorView};

/// A tiny graph builder for tests.
#[derive(Default)]
struct G {
    graph: GraphDef,
    tensors: Vec<(TensorSpec, Vec<u8>)>,
    bodies: Vec<Body>,
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
    fn const_i64(&mut self, name: &str, data: &[i64]) -> u32 {
        let v = self.value(name, DType::I64, None);
        let t = self.tensors.len() as u32;
        self.tensors.push((
            TensorSpec::new(name, DType::I64, vec![data.len() as u64]),
            data.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ));
        self.graph.values[v as usize].constant = Some(t);
        v
    }
    fn node(
        &mut self,
        body: usize,
        op: OpCode,
        inputs: &[u32],
        out: &str,
        dtype: DType,
        attrs: Vec<Attribute>,
    ) -> u32 {
        let o = self.value(out, dtype, None);
        while self.bodies.len() <= body {
            self.bodies.push(Body::default());
        }
        self.bodies[body].nodes.push(NodeDef {
            name: format!("{op}_{out}"),
            op,
            inputs: inputs.iter().map(|&i| Some(i)).collect(),
            outputs: vec![o],
            attributes: attrs,
        });
        o
    }
    fn finish(mut self, outputs: &[u32]) -> Vec<u8> {
        if self.bodies.is_empty() {
            self.bodies.push(Body::default());
        }
        self.bodies[0].outputs = outputs.to_vec();
        self.graph.bodies = self.bodies;
        let mut w = PnnWriter::new(Metadata::default(), self.graph);
        for (spec, data) in self.tensors {
            w.add_tensor(spec, data);
        }
        w.to_bytes().expect("valid test model")
    }
}

fn ints(name: &str, v: &[i64]) -> Attribute {
    Attribute {
        name: name.into(),
        value: AttrValue::Ints(v.to_vec()),
    }
}

/// x [N,2,3] -> Transpose(0,2,1) -> Reshape([-1, 6]) -> Concat(axis 0 with itself)
fn transpose_model() -> Vec<u8> {
    let mut g = G::default();
    let x = g.input(
        "x",
        DType::F32,
        vec![Dim::Symbolic("N".into()), Dim::Fixed(2), Dim::Fixed(3)],
    );
    let t = g.node(
        0,
        OpCode::Transpose,
        &[x],
        "t",
        DType::F32,
        vec![ints("perm", &[0, 2, 1])],
    );
    let shape = g.const_i64("shape", &[-1, 6]);
    let r = g.node(0, OpCode::Reshape, &[t, shape], "r", DType::F32, vec![]);
    let attr = Attribute {
        name: "axis".into(),
        value: AttrValue::Int(0),
    };
    let c = g.node(0, OpCode::Concat, &[r, r], "y", DType::F32, vec![attr]);
    g.finish(&[c])
}

fn expected_transpose(n: usize, x: &[f32]) -> Vec<f32> {
    let mut r = Vec::new();
    for b in 0..n {
        for j in 0..3 {
            for i in 0..2 {
                r.push(x[b * 6 + i * 3 + j]);
            }
        }
    }
    let mut y = r.clone();
    y.extend_from_slice(&r);
    y
}

fn run_transpose(session: &mut Session, n: usize) -> Vec<f32> {
    let x: Vec<f32> = (0..n * 6).map(|i| i as f32 * 0.5 - 3.0).collect();
    let shape = [n, 2, 3];
    let out = session
        .run_views(&[("x", TensorView::from_slice(&shape, &x).unwrap())])
        .unwrap();
    let y = out.get("y").unwrap();
    assert_eq!(y.shape(), &[2 * n, 6]);
    let y = y.as_slice::<f32>().unwrap().to_vec();
    assert_eq!(y, expected_transpose(n, &x));
    y
}

#[test]
fn runs_a_graph_and_replans_for_new_shapes() {
    let model = Model::from_bytes(&transpose_model()).unwrap();
    assert_eq!(model.inputs()[0].shape_string(), "[N, 2, 3]");
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    for n in [1, 3, 1, 5, 3, 0] {
        run_transpose(&mut session, n);
    }
}

#[test]
fn ndarray_inputs_and_outputs() {
    let model = Model::from_bytes(&transpose_model()).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let x =
        ndarray::Array3::<f32>::from_shape_fn((2, 2, 3), |(b, i, j)| (b * 6 + i * 3 + j) as f32);
    // a non-contiguous view is copied once, with the same result
    let xt = x.clone().reversed_axes().reversed_axes();
    let want = expected_transpose(2, x.as_slice().unwrap());
    for input in [(&x).into(), xt.view().into()] {
        let out = session.run(&[("x", input)]).unwrap();
        let y = out.f32("y").unwrap();
        assert_eq!(y.shape(), &[4, 6]);
        assert_eq!(y.iter().copied().collect::<Vec<_>>(), want);
    }
}

#[test]
fn input_errors_are_typed() {
    let model = Model::from_bytes(&transpose_model()).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let x = [0f32; 12];
    let good = TensorView::from_slice(&[2, 2, 3], &x).unwrap();
    assert!(matches!(
        session.run_views(&[]),
        Err(Error::MissingInput { .. })
    ));
    assert!(matches!(
        session.run_views(&[("x", good), ("z", good)]),
        Err(Error::UnknownInput { .. })
    ));
    assert!(matches!(
        session.run_views(&[("x", good), ("x", good)]),
        Err(Error::DuplicateInput { .. })
    ));
    let wrong_shape = TensorView::from_slice(&[3, 2, 2], &x).unwrap();
    let err = session.run_views(&[("x", wrong_shape)]).unwrap_err();
    assert!(matches!(err, Error::InputShape { .. }), "{err}");
    assert!(err.to_string().contains("[N, 2, 3]"), "{err}");
    let ints = [0i64; 12];
    let wrong_dtype = TensorView::from_slice(&[2, 2, 3], &ints).unwrap();
    assert!(matches!(
        session.run_views(&[("x", wrong_dtype)]),
        Err(Error::InputDType { .. })
    ));
    let outputs = session.run_views(&[("x", good)]).unwrap();
    assert!(matches!(
        outputs.get("nope"),
        Err(Error::UnknownOutput { .. })
    ));
}

#[test]
fn symbolic_dims_must_agree_across_inputs() {
    let mut g = G::default();
    let a = g.input("a", DType::F32, vec![Dim::Symbolic("N".into())]);
    let b = g.input("b", DType::F32, vec![Dim::Symbolic("N".into())]);
    let attr = Attribute {
        name: "axis".into(),
        value: AttrValue::Int(0),
    };
    let c = g.node(0, OpCode::Concat, &[a, b], "c", DType::F32, vec![attr]);
    let model = Model::from_bytes(&g.finish(&[c])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let x = [1f32, 2.0, 3.0];
    let a3 = TensorView::from_slice(&[3], &x).unwrap();
    let b2 = TensorView::from_slice(&[2], &x[..2]).unwrap();
    assert!(matches!(
        session.run_views(&[("a", a3), ("b", b2)]),
        Err(Error::InputShape { .. })
    ));
    let out = session.run_views(&[("a", a3), ("b", a3)]).unwrap();
    assert_eq!(
        out.get("c").unwrap().as_slice::<f32>().unwrap(),
        &[1.0, 2.0, 3.0, 1.0, 2.0, 3.0]
    );
}

#[test]
fn if_runs_the_branch_the_condition_picks() {
    let mut g = G::default();
    let cond = g.input("cond", DType::Bool, vec![]);
    let x = g.input("x", DType::F32, vec![Dim::Fixed(2), Dim::Fixed(3)]);
    let t = g.node(
        1,
        OpCode::Transpose,
        &[x],
        "then_out",
        DType::F32,
        vec![ints("perm", &[1, 0])],
    );
    let flat = g.const_i64("flat", &[-1]);
    let e = g.node(
        2,
        OpCode::Reshape,
        &[x, flat],
        "else_out",
        DType::F32,
        vec![],
    );
    g.bodies[1].outputs = vec![t];
    g.bodies[2].outputs = vec![e];
    let attrs = vec![
        Attribute {
            name: "then_branch".into(),
            value: AttrValue::Body(1),
        },
        Attribute {
            name: "else_branch".into(),
            value: AttrValue::Body(2),
        },
    ];
    let y = g.node(0, OpCode::If, &[cond, x], "y", DType::F32, attrs);
    // If's only real input is the condition; x is read by the bodies
    g.bodies[0].nodes[0].inputs.truncate(1);
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let xs = [1f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let xv = TensorView::from_slice(&[2, 3], &xs).unwrap();
    for (flag, shape, data) in [
        (1u8, vec![3, 2], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
        (0u8, vec![6], xs.to_vec()),
        (1u8, vec![3, 2], vec![1.0, 4.0, 2.0, 5.0, 3.0, 6.0]),
    ] {
        let c = TensorView::new(DType::Bool, &[], std::slice::from_ref(&flag)).unwrap();
        let out = session.run_views(&[("cond", c), ("x", xv)]).unwrap();
        let y = out.get("y").unwrap();
        assert_eq!(y.shape(), shape.as_slice());
        assert_eq!(y.as_slice::<f32>().unwrap(), data.as_slice());
    }
}

#[test]
fn an_output_that_is_an_input_is_copied_out() {
    let mut g = G::default();
    let x = g.input("x", DType::I64, vec![Dim::Fixed(2)]);
    let model = Model::from_bytes(&g.finish(&[x])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let data = [7i64, 9];
    let out = session
        .run_views(&[("x", TensorView::from_slice(&[2], &data).unwrap())])
        .unwrap();
    assert_eq!(out.get("x").unwrap().as_slice::<i64>().unwrap(), &[7, 9]);
}

#[test]
fn one_model_many_threads_same_results() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Model>();
    let model = Model::from_bytes(&transpose_model()).unwrap();
    let mut single = Session::new(&model, SessionOptions::default()).unwrap();
    let want = run_transpose(&mut single, 4);
    std::thread::scope(|s| {
        for t in 0..4 {
            let model = model.clone();
            let want = want.clone();
            s.spawn(move || {
                let mut session =
                    Session::new(&model, SessionOptions::with_threads(1 + t % 2)).unwrap();
                for _ in 0..50 {
                    assert_eq!(run_transpose(&mut session, 4), want);
                }
            });
        }
    });
}

#[test]
fn loads_from_a_file_by_memory_map() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.pnn");
    std::fs::write(&path, transpose_model()).unwrap();
    let model = Model::load(&path).unwrap();
    assert!(model.is_memory_mapped());
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    run_transpose(&mut session, 2);
    assert!(matches!(
        Model::load(dir.path().join("missing.pnn")),
        Err(Error::Io { .. })
    ));
    std::fs::write(&path, b"POCKETNN but not really").unwrap();
    assert!(matches!(Model::load(&path), Err(Error::Format(_))));
}

#[test]
fn maps_a_model_stored_inside_a_larger_file() {
    use std::io::Write;
    let bytes = transpose_model();
    // A 64-byte aligned range is mapped in place; any other offset is copied
    // once into aligned memory. Both must run like the original.
    for (prefix, mapped) in [(128usize, true), (4096, true), (3, false), (100, false)] {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![0xAB; prefix]).unwrap();
        file.write_all(&bytes).unwrap();
        file.write_all(&[0xCD; 17]).unwrap();
        let model = Model::map_file_range(&file, prefix as u64, bytes.len() as u64).unwrap();
        assert_eq!(model.is_memory_mapped(), mapped, "offset {prefix}");
        assert_eq!(model.file_size(), bytes.len());
        drop(file); // the mapping outlives the descriptor
        let mut session = Session::new(&model, SessionOptions::default()).unwrap();
        run_transpose(&mut session, 2);
    }
}

#[test]
fn a_file_range_past_the_end_is_an_io_error() {
    use std::io::Write;
    let bytes = transpose_model();
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&bytes).unwrap();
    let len = bytes.len() as u64;
    for (offset, n) in [(0, len + 1), (64, len), (u64::MAX, 2), (len, 1)] {
        let err = Model::map_file_range(&file, offset, n).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{offset}+{n}: {err}");
    }
    // a range inside the file that is not a model is a format error
    let err = Model::map_file_range(&file, 64, len - 64).unwrap_err();
    assert!(matches!(err, Error::Format(_)), "{err}");
}
