//! Resource limits: models and inputs that would need more memory than the
//! limits allow fail with `Error::LimitExceeded` at load, at planning or at
//! run time — before anything is allocated — and the session stays usable.
//! Sizes in the assertions are computed by hand from the shapes.

use pocketnn::format::{
    Body, DType, Dim, GraphDef, Metadata, NodeDef, OpCode, PnnWriter, TensorSpec, ValueDef,
};
use pocketnn::{Error, Limits, LoadOptions, Model, Session, SessionOptions, TensorView};

/// A tiny graph builder: values, constants, one body.
#[derive(Default)]
struct G {
    graph: GraphDef,
    tensors: Vec<(TensorSpec, Vec<u8>)>,
    nodes: Vec<NodeDef>,
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
    fn constant(&mut self, name: &str, dtype: DType, shape: Vec<u64>, bytes: Vec<u8>) -> u32 {
        let v = self.value(name, dtype, None);
        self.graph.values[v as usize].constant = Some(self.tensors.len() as u32);
        self.tensors
            .push((TensorSpec::new(name, dtype, shape), bytes));
        v
    }
    fn const_i64(&mut self, name: &str, data: &[i64]) -> u32 {
        let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        self.constant(name, DType::I64, vec![data.len() as u64], bytes)
    }
    fn node(&mut self, op: OpCode, inputs: &[Option<u32>], out: &str, dtype: DType) -> u32 {
        let o = self.value(out, dtype, None);
        self.nodes.push(NodeDef {
            name: format!("{op}_{out}"),
            op,
            inputs: inputs.to_vec(),
            outputs: vec![o],
            attributes: vec![],
        });
        o
    }
    fn finish(mut self, outputs: &[u32]) -> Vec<u8> {
        self.graph.bodies = vec![Body {
            nodes: self.nodes,
            outputs: outputs.to_vec(),
        }];
        let mut w = PnnWriter::new(Metadata::default(), self.graph);
        for (spec, data) in self.tensors {
            w.add_tensor(spec, data);
        }
        w.to_bytes().expect("valid test model")
    }
}

fn n() -> Dim {
    Dim::Symbolic("N".into())
}

/// `x [N] f32 -> y = ConstantOfShape(s) + 0` where `s [k] i64` is an input.
fn constant_of_shape_model() -> Vec<u8> {
    let mut g = G::default();
    let s = g.input("s", DType::I64, vec![n()]);
    let y = g.node(OpCode::ConstantOfShape, &[Some(s)], "y", DType::F32);
    g.finish(&[y])
}

fn limit_error(e: Error) -> (String, u64, u64) {
    match e {
        Error::LimitExceeded { what, value, limit } => (what, value, limit),
        other => panic!("expected LimitExceeded, got {other:?}"),
    }
}

fn run_shape(session: &mut Session, shape: &[i64]) -> pocketnn::Result<Vec<usize>> {
    let dims = [shape.len()];
    let out = session.run_views(&[("s", TensorView::from_slice(&dims, shape).unwrap())])?;
    Ok(out.get("y")?.shape().to_vec())
}

#[test]
fn a_data_dependent_shape_over_the_tensor_limit_fails_at_run_time_and_the_session_recovers() {
    let model = Model::from_bytes(&constant_of_shape_model()).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    assert_eq!(run_shape(&mut session, &[2, 3]).unwrap(), vec![2, 3]);
    // 2^20 x 2^20 f32 = 4 TiB: over the default 1 GiB, refused before allocating.
    let (what, value, limit) =
        limit_error(run_shape(&mut session, &[1 << 20, 1 << 20]).unwrap_err());
    assert!(what.contains("output `y`"), "{what}");
    assert_eq!((value, limit), (4 << 40, 1 << 30));
    // An empty tensor with huge dimensions is refused too: by the dimension
    // bound (2^30 by default) ...
    let (what, value, _) = limit_error(run_shape(&mut session, &[0, 1 << 40]).unwrap_err());
    assert!(what.contains("a dimension of"), "{what}");
    assert_eq!(value, 1 << 40);
    // ... and by its span, zero counting as one: 2^29 x 2^29 x 4 bytes.
    let (what, value, _) =
        limit_error(run_shape(&mut session, &[1 << 29, 0, 1 << 29]).unwrap_err());
    assert!(what.contains("bytes of"), "{what}");
    assert_eq!(value, 1 << 60);
    // The session still works, and with a shape it has not seen before.
    assert_eq!(run_shape(&mut session, &[4, 5]).unwrap(), vec![4, 5]);
    assert_eq!(run_shape(&mut session, &[2, 3]).unwrap(), vec![2, 3]);
}

#[test]
fn growing_buffers_count_against_the_session_activation_limit() {
    let model = Model::from_bytes(&constant_of_shape_model()).unwrap();
    let limits = Limits {
        max_tensor_bytes: 1 << 20,
        max_activation_bytes: 64 << 10,
        ..Limits::default()
    };
    let options = SessionOptions {
        limits: Some(limits),
        ..SessionOptions::default()
    };
    let mut session = Session::new(&model, options).unwrap();
    // 16 x 1024 f32 = 64 KiB: exactly the activation limit.
    assert_eq!(
        run_shape(&mut session, &[16, 1024]).unwrap(),
        vec![16, 1024]
    );
    // 17 x 1024 x 4 = 69,632 bytes: under the tensor limit, over the total.
    let (what, value, limit) = limit_error(run_shape(&mut session, &[17, 1024]).unwrap_err());
    assert!(what.contains("activation"), "{what}");
    assert_eq!((value, limit), (69_632, 65_536));
    assert_eq!(run_shape(&mut session, &[1, 1]).unwrap(), vec![1, 1]);
}

/// Range(start, limit, delta) with scalar i64 inputs.
#[test]
fn range_with_a_huge_count_is_refused() {
    let mut g = G::default();
    let start = g.input("start", DType::I64, vec![]);
    let stop = g.input("limit", DType::I64, vec![]);
    let delta = g.input("delta", DType::I64, vec![]);
    let y = g.node(
        OpCode::Range,
        &[Some(start), Some(stop), Some(delta)],
        "y",
        DType::I64,
    );
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let mut run = |a: i64, b: i64, d: i64| -> pocketnn::Result<usize> {
        fn scalar(v: &[i64; 1]) -> TensorView<'_> {
            TensorView::from_slice(&[], v).unwrap()
        }
        let (a, b, d) = ([a], [b], [d]);
        let out = session.run_views(&[
            ("start", scalar(&a)),
            ("limit", scalar(&b)),
            ("delta", scalar(&d)),
        ])?;
        Ok(out.get("y")?.len())
    };
    assert_eq!(run(0, 10, 3).unwrap(), 4); // 0 3 6 9
    // 2^28 elements of 8 bytes: 2 GiB
    let (_, value, _) = limit_error(run(0, 1 << 28, 1).unwrap_err());
    assert_eq!(value, 2 << 30);
    // Larger counts, and counts that overflow, the operator refuses itself.
    assert!(matches!(run(0, 1 << 40, 1), Err(Error::Node { .. })));
    assert!(matches!(
        run(i64::MIN, i64::MAX, 1),
        Err(Error::Node { .. })
    ));
    assert_eq!(run(5, 0, -2).unwrap(), 3); // 5 3 1
}

/// Expand, Tile and Pad driven by shape inputs known only at run time.
#[test]
fn expand_tile_and_pad_over_the_limit_are_refused() {
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![Dim::Fixed(2)]);
    let shape = g.input("shape", DType::I64, vec![Dim::Fixed(2)]);
    let repeats = g.input("repeats", DType::I64, vec![Dim::Fixed(1)]);
    let pads = g.input("pads", DType::I64, vec![Dim::Fixed(2)]);
    let e = g.node(OpCode::Expand, &[Some(x), Some(shape)], "e", DType::F32);
    let t = g.node(OpCode::Tile, &[Some(x), Some(repeats)], "t", DType::F32);
    let p = g.node(OpCode::Pad, &[Some(x), Some(pads)], "p", DType::F32);
    let model = Model::from_bytes(&g.finish(&[e, t, p])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let xs = [1.0f32, 2.0];
    let mut run = |shape: [i64; 2], repeats: i64, pads: [i64; 2]| {
        let r = [repeats];
        let out = session.run_views(&[
            ("x", TensorView::from_slice(&[2], &xs).unwrap()),
            ("shape", TensorView::from_slice(&[2], &shape).unwrap()),
            ("repeats", TensorView::from_slice(&[1], &r).unwrap()),
            ("pads", TensorView::from_slice(&[2], &pads).unwrap()),
        ])?;
        let lens: Vec<usize> = ["e", "t", "p"]
            .iter()
            .map(|name| out.get(name).map(|v| v.len()))
            .collect::<pocketnn::Result<_>>()?;
        Ok::<_, Error>(lens)
    };
    assert_eq!(run([3, 2], 2, [1, 2]).unwrap(), vec![6, 4, 5]);
    // Expand to [2^30, 2]: 8 GiB
    let (what, value, _) = limit_error(run([1 << 30, 2], 1, [0, 0]).unwrap_err());
    assert!(what.contains("output `e`"), "{what}");
    assert_eq!(value, 8 << 30);
    // Tile x 2^28: 2^29 elements, 2 GiB
    let (what, value, _) = limit_error(run([1, 2], 1 << 28, [0, 0]).unwrap_err());
    assert!(what.contains("output `t`"), "{what}");
    assert_eq!(value, 2 << 30);
    // Pad by 2^28 on each side: (2 + 2^29) x 4 bytes
    let (what, value, _) = limit_error(run([1, 2], 1, [1 << 28, 1 << 28]).unwrap_err());
    assert!(what.contains("output `p`"), "{what}");
    assert_eq!(value, ((1u64 << 29) + 2) * 4);
    assert_eq!(run([2, 2], 3, [0, 1]).unwrap(), vec![4, 6, 3]);
}

/// Resize with scales given at run time.
#[test]
fn resize_to_a_huge_output_is_refused() {
    let mut g = G::default();
    let x = g.input(
        "x",
        DType::F32,
        vec![Dim::Fixed(1), Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(2)],
    );
    let scales = g.input("scales", DType::F32, vec![Dim::Fixed(4)]);
    let y = g.node(
        OpCode::Resize,
        &[Some(x), None, Some(scales)],
        "y",
        DType::F32,
    );
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let xs = [1.0f32; 4];
    let mut run = |s: [f32; 4]| {
        let out = session.run_views(&[
            ("x", TensorView::from_slice(&[1, 1, 2, 2], &xs).unwrap()),
            ("scales", TensorView::from_slice(&[4], &s).unwrap()),
        ])?;
        Ok::<_, Error>(out.get("y")?.shape().to_vec())
    };
    assert_eq!(run([1.0, 1.0, 2.0, 3.0]).unwrap(), vec![1, 1, 4, 6]);
    // 2 * 2^20 on both spatial axes: 2^42 floats
    let (_, value, _) = limit_error(run([1.0, 1.0, 1048576.0, 1048576.0]).unwrap_err());
    assert_eq!(value, 16 << 40);
    assert_eq!(run([1.0, 1.0, 1.0, 1.0]).unwrap(), vec![1, 1, 2, 2]);
}

#[test]
fn a_constant_shape_over_the_limit_fails_at_planning() {
    // ConstantOfShape of a constant shape: the planner knows the output
    // shape before running, and refuses it on the first run.
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![Dim::Fixed(1)]);
    let s = g.const_i64("s", &[1 << 16, 1 << 16]);
    let c = g.node(OpCode::ConstantOfShape, &[Some(s)], "c", DType::F32);
    let y = g.node(OpCode::Add, &[Some(c), Some(x)], "y", DType::F32);
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let mut session = Session::new(&model, SessionOptions::default()).unwrap();
    let xs = [1.0f32];
    let e = session
        .run_views(&[("x", TensorView::from_slice(&[1], &xs).unwrap())])
        .unwrap_err();
    let (what, value, limit) = limit_error(e);
    assert!(what.contains("output `c`"), "{what}");
    assert_eq!((value, limit), (16 << 30, 1 << 30));
}

#[test]
fn planned_activations_over_the_total_fail_at_planning() {
    // x [N, 1024] f32 -> Relu -> Relu: two live buffers of N x 4 KiB at most.
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![n(), Dim::Fixed(1024)]);
    let a = g.node(OpCode::Relu, &[Some(x)], "a", DType::F32);
    let b = g.node(OpCode::Neg, &[Some(a)], "b", DType::F32);
    let model = Model::from_bytes(&g.finish(&[a, b])).unwrap();
    let options = SessionOptions {
        limits: Some(Limits {
            max_activation_bytes: 32 << 10,
            ..Limits::default()
        }),
        ..SessionOptions::default()
    };
    let mut session = Session::new(&model, options).unwrap();
    let data = vec![-1.0f32; 8 * 1024];
    let mut run = |rows: usize| {
        let out = session.run_views(&[(
            "x",
            TensorView::from_slice(&[rows, 1024], &data[..rows * 1024]).unwrap(),
        )])?;
        Ok::<_, Error>(out.get("b")?.as_slice::<f32>()?[0])
    };
    // 4 rows: two outputs of 16 KiB = 32 KiB, both graph outputs (live to the end).
    assert_eq!(run(4).unwrap(), -0.0);
    let (what, value, limit) = limit_error(run(5).unwrap_err());
    assert!(what.contains("activation"), "{what}");
    assert_eq!((value, limit), (40960, 32768));
}

#[test]
fn declared_shapes_over_the_limits_fail_at_load() {
    let model_with = |shape: Vec<Dim>| {
        let mut g = G::default();
        let x = g.input("x", DType::F32, shape);
        let y = g.node(OpCode::Relu, &[Some(x)], "y", DType::F32);
        g.finish(&[y])
    };
    // 2^16 x 2^16 f32 declared: 16 GiB
    let bytes = model_with(vec![Dim::Fixed(1 << 16), Dim::Fixed(1 << 16)]);
    let (what, value, limit) = limit_error(Model::from_bytes(&bytes).unwrap_err());
    assert!(what.contains("value `x`"), "{what}");
    assert_eq!((value, limit), (16 << 30, 1 << 30));
    // A symbolic dimension: only the fixed ones are checked at load.
    let bytes = model_with(vec![n(), Dim::Fixed(1 << 31)]);
    let (what, value, limit) = limit_error(Model::from_bytes(&bytes).unwrap_err());
    assert!(what.contains("dimension"), "{what}");
    assert_eq!((value, limit), (1 << 31, 1 << 30));
    let bytes = model_with(vec![n(), Dim::Fixed(1 << 20)]);
    assert!(Model::from_bytes(&bytes).is_ok());
    // Tighter load limits refuse what the defaults allow.
    let options = LoadOptions {
        limits: Limits {
            max_dim: 1 << 10,
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    assert!(matches!(
        Model::from_bytes_with(&bytes, &options),
        Err(Error::LimitExceeded {
            value: 1048576,
            limit: 1024,
            ..
        })
    ));
    // The reader's structural limits are the same struct's `file` field.
    let options = LoadOptions {
        limits: Limits {
            file: pocketnn::format::Limits {
                max_nodes: 0,
                ..Default::default()
            },
            ..Limits::default()
        },
        ..LoadOptions::default()
    };
    assert!(matches!(
        Model::from_bytes_with(&bytes, &options),
        Err(Error::Format(
            pocketnn::format::FormatError::LimitExceeded { what: "nodes", .. }
        ))
    ));
}

#[test]
fn an_empty_constant_with_a_huge_dimension_fails_at_load() {
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![Dim::Fixed(1)]);
    let c = g.constant("c", DType::F32, vec![0, 1 << 40], vec![]);
    let y = g.node(OpCode::Add, &[Some(x), Some(c)], "y", DType::F32);
    let (what, value, _) = limit_error(Model::from_bytes(&g.finish(&[y])).unwrap_err());
    assert!(what.contains("constant `c`"), "{what}");
    assert_eq!(value, 1 << 40);
}

#[test]
fn symbolic_dimensions_and_inputs_are_bounded_at_run() {
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![n(), Dim::Fixed(2)]);
    let y = g.node(OpCode::Relu, &[Some(x)], "y", DType::F32);
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let options = SessionOptions {
        limits: Some(Limits {
            symbol_bounds: vec![("N".into(), 3)],
            ..Limits::default()
        }),
        ..SessionOptions::default()
    };
    let mut session = Session::new(&model, options).unwrap();
    assert_eq!(session.limits().symbol_bounds.len(), 1);
    let data = [0.5f32; 8];
    let mut run = |rows: usize| {
        session
            .run_views(&[(
                "x",
                TensorView::from_slice(&[rows, 2], &data[..rows * 2]).unwrap(),
            )])
            .map(|o| o.len())
    };
    assert_eq!(run(3).unwrap(), 1);
    let (what, value, limit) = limit_error(run(4).unwrap_err());
    assert!(what.contains("`N`"), "{what}");
    assert_eq!((value, limit), (4, 3));
    // The session without options uses the model's (default) limits.
    let mut free = Session::new(&model, SessionOptions::default()).unwrap();
    assert_eq!(free.limits(), model.limits());
    assert!(
        free.run_views(&[("x", TensorView::from_slice(&[4, 2], &data).unwrap())])
            .is_ok()
    );
}

#[test]
fn an_empty_input_with_a_huge_dimension_is_refused() {
    let mut g = G::default();
    let x = g.input("x", DType::F32, vec![n(), Dim::Symbolic("M".into())]);
    let y = g.node(OpCode::Relu, &[Some(x)], "y", DType::F32);
    let model = Model::from_bytes(&g.finish(&[y])).unwrap();
    let options = SessionOptions {
        limits: Some(Limits {
            max_symbolic_dim: usize::MAX,
            max_dim: usize::MAX,
            ..Limits::default()
        }),
        ..SessionOptions::default()
    };
    let mut session = Session::new(&model, options).unwrap();
    let empty: [f32; 0] = [];
    let mut run = |shape: &[usize]| {
        session
            .run_views(&[("x", TensorView::from_slice(shape, &empty).unwrap())])
            .map(|o| o.get("y").map(|y| y.shape().to_vec()))
    };
    assert_eq!(run(&[0, 1000]).unwrap().unwrap(), vec![0, 1000]);
    // [0, 2^40] holds nothing but spans 4 TiB: kernels would loop over it.
    let (what, value, _) = limit_error(run(&[0, 1 << 40]).unwrap_err());
    assert!(what.contains("input `x`"), "{what}");
    assert_eq!(value, 4 << 40);
}
