//! Writes a few small, valid `.pnn` files into a directory, as seeds for the
//! fuzz targets (`fuzz/make_seeds.sh`). Between them they use every section,
//! attribute type, dim kind, quantization mode and sub-bodies.
//!
//! `cargo run -p pocketnn-format --example fuzz_seeds -- DIR`

use pocketnn_format::*;

fn value(name: &str, dtype: DType, constant: Option<TensorId>) -> ValueDef {
    ValueDef {
        name: name.into(),
        dtype,
        shape: None,
        constant,
    }
}

fn node(name: &str, op: OpCode, inputs: Vec<Option<ValueId>>, outputs: Vec<ValueId>) -> NodeDef {
    NodeDef {
        name: name.into(),
        op,
        inputs,
        outputs,
        attributes: vec![],
    }
}

fn attribute(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.into(),
        value,
    }
}

fn empty() -> PnnWriter<'static> {
    let graph = GraphDef {
        bodies: vec![Body::default()],
        ..GraphDef::default()
    };
    PnnWriter::new(Metadata::default(), graph)
}

fn relu() -> PnnWriter<'static> {
    let mut x = value("x", DType::F32, None);
    x.shape = Some(vec![Dim::Symbolic("N".into()), Dim::Fixed(4)]);
    let graph = GraphDef {
        values: vec![x, value("y", DType::F32, None)],
        inputs: vec![0],
        bodies: vec![Body {
            nodes: vec![node("relu", OpCode::Relu, vec![Some(0)], vec![1])],
            outputs: vec![1],
        }],
    };
    let metadata = Metadata {
        name: "relu".into(),
        producer: "fuzz_seeds".into(),
        properties: vec![],
    };
    PnnWriter::new(metadata, graph)
}

/// Conv-like weights (f32 and quantized i8), an `If` with two branches,
/// every attribute type, an omitted optional input, a zero-length tensor.
fn rich() -> PnnWriter<'static> {
    let values = vec![
        value("x", DType::F32, None),        // 0
        value("w", DType::F32, Some(0)),     // 1
        value("q", DType::I8, Some(1)),      // 2
        value("cond", DType::Bool, None),    // 3
        value("y", DType::F32, None),        // 4
        value("t", DType::F32, None),        // 5
        value("e", DType::F32, None),        // 6
        value("z", DType::F32, None),        // 7
        value("empty", DType::F16, Some(2)), // 8
    ];
    let mut conv = node("conv", OpCode::Conv, vec![Some(0), Some(1), None], vec![4]);
    conv.attributes = vec![
        attribute("group", AttrValue::Int(1)),
        attribute("alpha", AttrValue::Float(0.5)),
        attribute("auto_pad", AttrValue::String("NOTSET".into())),
        attribute("pads", AttrValue::Ints(vec![1, 1, 1, 1])),
        attribute("scales", AttrValue::Floats(vec![1.0, 2.0])),
        attribute("names", AttrValue::Strings(vec!["a".into(), "b".into()])),
    ];
    let mut if_node = node("if", OpCode::If, vec![Some(3)], vec![7]);
    if_node.attributes = vec![
        attribute("then_branch", AttrValue::Body(1)),
        attribute("else_branch", AttrValue::Body(2)),
    ];
    let graph = GraphDef {
        values,
        inputs: vec![0, 3],
        bodies: vec![
            Body {
                nodes: vec![conv, if_node],
                outputs: vec![7],
            },
            Body {
                nodes: vec![node("relu", OpCode::Relu, vec![Some(4)], vec![5])],
                outputs: vec![5],
            },
            Body {
                nodes: vec![node("neg", OpCode::Neg, vec![Some(4)], vec![6])],
                outputs: vec![6],
            },
        ],
    };
    let metadata = Metadata {
        name: "rich".into(),
        producer: "fuzz_seeds".into(),
        properties: vec![
            ("source".into(), "hand".into()),
            ("quantize".into(), "int8".into()),
        ],
    };
    let mut writer = PnnWriter::new(metadata, graph);
    let weights: Vec<u8> = (0..2 * 2 * 3 * 3)
        .flat_map(|i| (i as f32 * 0.25).to_le_bytes())
        .collect();
    writer.add_tensor(TensorSpec::new("w", DType::F32, vec![2, 2, 3, 3]), weights);
    let quant = QuantParams {
        axis: Some(0),
        scales: vec![0.1, 0.2],
        zero_points: vec![0, 0],
    };
    writer.add_tensor(
        TensorSpec::new("q", DType::I8, vec![2, 3]).with_quant(quant),
        vec![1, 255, 3, 4, 128, 6],
    );
    writer.add_tensor(TensorSpec::new("empty", DType::F16, vec![0]), Vec::new());
    writer
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).ok_or("usage: fuzz_seeds DIR")?;
    for (name, writer) in [("empty", empty()), ("relu", relu()), ("rich", rich())] {
        let path = std::path::Path::new(&dir).join(format!("{name}.pnn"));
        let bytes = writer.to_bytes()?;
        PnnFile::parse(&bytes)?;
        std::fs::write(&path, &bytes)?;
        println!("{} ({} bytes)", path.display(), bytes.len());
    }
    Ok(())
}
