//! Writing a student as a standard ONNX model (opset 17) or as `.pnn`.
//!
//! The graph uses only Flatten, Gemm (`transB = 1`), Relu, Conv and
//! MaxPool. Input `input` is float32 `[N, <sample shape>]` with a symbolic
//! batch `N`; output `logits` is float32 `[N, classes]`.

use crate::error::DistillError;
use crate::layers::Layer;
use crate::network::Student;
use pocketnn_convert::onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType,
    tensor_shape_proto::{Dimension, dimension},
    type_proto,
};
use prost::Message;
use std::path::Path;

/// The ONNX opset the student is written for.
pub const ONNX_OPSET: i64 = 17;
/// The ONNX IR version written (the one that goes with opset 17).
const IR_VERSION: i64 = 8;
/// ONNX's code for float32.
const FLOAT: i32 = 1;

fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Ints as i32),
        ints: values.to_vec(),
        ..AttributeProto::default()
    }
}

fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(AttributeType::Int as i32),
        i: Some(value),
        ..AttributeProto::default()
    }
}

fn tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: Some(FLOAT),
        raw_data: Some(values.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..TensorProto::default()
    }
}

fn value_info(name: &str, dims: &[usize]) -> ValueInfoProto {
    let mut dim = vec![Dimension {
        value: Some(dimension::Value::DimParam("N".into())),
        ..Dimension::default()
    }];
    dim.extend(dims.iter().map(|&d| Dimension {
        value: Some(dimension::Value::DimValue(d as i64)),
        ..Dimension::default()
    }));
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(FLOAT),
                shape: Some(TensorShapeProto { dim }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}

impl Student {
    /// The student as an ONNX model (the bytes of a `.onnx` file).
    pub fn to_onnx(&self) -> Vec<u8> {
        let mut nodes = Vec::new();
        let mut initializers = Vec::new();
        let mut current = "input".to_string();
        let (mut convs, mut pools, mut relus, mut denses) = (0, 0, 0, 0);
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            let output = if i == last {
                "logits".to_string()
            } else {
                format!("x{}", i + 1)
            };
            let node = |op: &str, name: String, inputs: Vec<String>, attribute| NodeProto {
                op_type: Some(op.into()),
                name: Some(name),
                input: inputs,
                output: vec![output.clone()],
                attribute,
                ..NodeProto::default()
            };
            let node = match layer {
                Layer::Conv2d(c) => {
                    convs += 1;
                    let (w, b) = (format!("conv{convs}.weight"), format!("conv{convs}.bias"));
                    let dims = [c.out_channels, c.in_channels, c.kernel, c.kernel];
                    initializers.push(tensor(&w, &dims, &self.params[c.weight..c.bias]));
                    initializers.push(tensor(
                        &b,
                        &[c.out_channels],
                        &self.params[c.bias..][..c.out_channels],
                    ));
                    let (k, p) = (c.kernel as i64, c.padding as i64);
                    node(
                        "Conv",
                        format!("conv{convs}"),
                        vec![current.clone(), w, b],
                        vec![
                            ints("kernel_shape", &[k, k]),
                            ints("pads", &[p, p, p, p]),
                            ints("strides", &[1, 1]),
                        ],
                    )
                }
                Layer::MaxPool(p) => {
                    pools += 1;
                    let s = p.size as i64;
                    node(
                        "MaxPool",
                        format!("pool{pools}"),
                        vec![current.clone()],
                        vec![ints("kernel_shape", &[s, s]), ints("strides", &[s, s])],
                    )
                }
                Layer::Relu { .. } => {
                    relus += 1;
                    node(
                        "Relu",
                        format!("relu{relus}"),
                        vec![current.clone()],
                        vec![],
                    )
                }
                Layer::Flatten { .. } => node(
                    "Flatten",
                    "flatten".into(),
                    vec![current.clone()],
                    vec![int("axis", 1)],
                ),
                Layer::Linear(l) => {
                    denses += 1;
                    let (w, b) = (format!("fc{denses}.weight"), format!("fc{denses}.bias"));
                    initializers.push(tensor(
                        &w,
                        &[l.outputs, l.inputs],
                        &self.params[l.weight..l.bias],
                    ));
                    initializers.push(tensor(
                        &b,
                        &[l.outputs],
                        &self.params[l.bias..][..l.outputs],
                    ));
                    node(
                        "Gemm",
                        format!("fc{denses}"),
                        vec![current.clone(), w, b],
                        vec![int("transB", 1)],
                    )
                }
            };
            nodes.push(node);
            current = output;
        }
        let model = ModelProto {
            ir_version: Some(IR_VERSION),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(ONNX_OPSET),
            }],
            producer_name: Some("pocketnn-distill".into()),
            producer_version: Some(env!("CARGO_PKG_VERSION").into()),
            graph: Some(GraphProto {
                node: nodes,
                name: Some("student".into()),
                initializer: initializers,
                input: vec![value_info("input", self.input_shape())],
                output: vec![value_info("logits", &[self.classes()])],
                ..GraphProto::default()
            }),
            ..ModelProto::default()
        };
        model.encode_to_vec()
    }

    /// The student as `.pnn` bytes (its ONNX form converted in memory).
    pub fn to_pnn(&self) -> Result<Vec<u8>, DistillError> {
        let converted = pocketnn_convert::convert(
            &self.to_onnx(),
            &pocketnn_convert::ConvertOptions::default(),
        )?;
        Ok(converted.to_pnn_bytes()?)
    }

    /// Writes the student to `path`: `.pnn` when the extension says so,
    /// else ONNX. The bytes go to a temporary file in the same directory,
    /// which is renamed over `path` only when complete, so an interrupted
    /// write never leaves a half-written model.
    pub fn save(&self, path: &Path) -> Result<(), DistillError> {
        let is_pnn = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pnn"));
        let bytes = if is_pnn {
            self.to_pnn()?
        } else {
            self.to_onnx()
        };
        write_atomically(path, &bytes)
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), DistillError> {
    use std::io::Write;
    let io_error = |p: &Path| {
        let p = p.to_path_buf();
        move |source| DistillError::Io { path: p, source }
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "student".into(), |n| n.to_string_lossy().into_owned());
    static NEXT_TEMP: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT_TEMP.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let temp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp).map_err(io_error(&temp))?;
        file.write_all(bytes).map_err(io_error(&temp))?;
        file.sync_all().map_err(io_error(&temp))?;
        std::fs::rename(&temp, path).map_err(io_error(path))
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and incomplete.
        let _ = std::fs::remove_file(&temp);
    }
    result
}
