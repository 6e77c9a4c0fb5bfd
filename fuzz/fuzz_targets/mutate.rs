//! Structural mutations of a decoded model: the fuzzer's bytes choose which
//! node, attribute, value or tensor to change and how. The mutated model is
//! re-encoded with `PnnWriter`, so every checksum is right and the mutation
//! reaches the runtime (graph building, planning, running) instead of being
//! stopped by the reader.
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use pocketnn_format::{
    AttrValue, Attribute, DType, Dim, ModelDef, OpCode, PnnFile, PnnWriter, QuantParams, TensorSpec,
};

/// A model and its tensor bytes, in the writer's terms.
pub struct Editable {
    /// The decoded model (tensor offsets are recomputed by the writer).
    pub model: ModelDef,
    /// Bytes of each tensor, in tensor-index order.
    pub data: Vec<Vec<u8>>,
}

/// Attribute names the operators read, plus a few they do not.
const ATTRIBUTE_NAMES: &[&str] = &[
    "activation",
    "activation_alpha",
    "activation_beta",
    "allowzero",
    "alpha",
    "antialias",
    "approximate",
    "auto_pad",
    "axes",
    "axis",
    "beta",
    "bias",
    "blocksize",
    "ceil_mode",
    "coordinate_transformation_mode",
    "count_include_pad",
    "cubic_coeff_a",
    "dilations",
    "dtype",
    "end",
    "epsilon",
    "exclude_outside",
    "extrapolation_value",
    "fmod",
    "gamma",
    "group",
    "k",
    "keep_aspect_ratio_policy",
    "keepdims",
    "kernel_shape",
    "mode",
    "momentum",
    "nearest_mode",
    "noop_with_empty_axes",
    "num_outputs",
    "output_padding",
    "output_shape",
    "pads",
    "perm",
    "saturate",
    "select_last_index",
    "size",
    "start",
    "stash_type",
    "storage_order",
    "strides",
    "to",
    "training_mode",
    "transA",
    "transB",
    "value_float",
    "value_int",
    "value",
    "split",
    "then_branch",
    "else_branch",
    "unknown",
];

/// String attribute values the operators understand, plus nonsense.
const STRINGS: &[&str] = &[
    "",
    "none",
    "relu",
    "clip",
    "leaky_relu",
    "hard_sigmoid",
    "NOTSET",
    "SAME_UPPER",
    "SAME_LOWER",
    "VALID",
    "constant",
    "reflect",
    "edge",
    "wrap",
    "nearest",
    "linear",
    "cubic",
    "half_pixel",
    "asymmetric",
    "align_corners",
    "pytorch_half_pixel",
    "tf_crop_and_resize",
    "round_prefer_floor",
    "round_prefer_ceil",
    "floor",
    "ceil",
    "DCR",
    "CRD",
    "tanh",
    "stretch",
    "not_larger",
    "not_smaller",
    "\u{1F600}",
];

fn interesting_int(u: &mut Unstructured<'_>) -> Result<i64> {
    const INTS: &[i64] = &[
        0,
        1,
        2,
        3,
        4,
        -1,
        -2,
        -3,
        7,
        16,
        255,
        256,
        1 << 16,
        1 << 20,
        1 << 31,
        1 << 32,
        1 << 40,
        i32::MAX as i64,
        i32::MIN as i64,
        i64::MAX,
        i64::MIN,
        i64::MAX / 2,
    ];
    if u.ratio(3, 4)? {
        Ok(*u.choose(INTS)?)
    } else {
        u.arbitrary()
    }
}

fn interesting_float(u: &mut Unstructured<'_>) -> Result<f32> {
    const FLOATS: &[f32] = &[
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        1e-6,
        1e30,
        -1e30,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
        f32::MIN_POSITIVE,
        f32::MAX,
    ];
    if u.ratio(3, 4)? {
        Ok(*u.choose(FLOATS)?)
    } else {
        u.arbitrary()
    }
}

fn small_list<T>(
    u: &mut Unstructured<'_>,
    mut item: impl FnMut(&mut Unstructured<'_>) -> Result<T>,
) -> Result<Vec<T>> {
    let n = u.int_in_range(0..=6)?;
    (0..n).map(|_| item(u)).collect()
}

fn attr_value(u: &mut Unstructured<'_>, bodies: usize) -> Result<AttrValue> {
    Ok(match u.int_in_range(0..=6)? {
        0 => AttrValue::Int(interesting_int(u)?),
        1 => AttrValue::Float(interesting_float(u)?),
        2 => AttrValue::String(u.choose(STRINGS)?.to_string()),
        3 => AttrValue::Ints(small_list(u, interesting_int)?),
        4 => AttrValue::Floats(small_list(u, interesting_float)?),
        5 => AttrValue::Strings(small_list(u, |u| Ok(u.choose(STRINGS)?.to_string()))?),
        _ => AttrValue::Body(u.int_in_range(0..=bodies as u32)?),
    })
}

fn dtype(u: &mut Unstructured<'_>) -> Result<DType> {
    Ok(*u.choose(&DType::ALL)?)
}

fn dim(u: &mut Unstructured<'_>) -> Result<u64> {
    const DIMS: &[u64] = &[0, 1, 2, 3, 4, 5, 8, 10, 64, 1 << 20, 1 << 32, u64::MAX];
    Ok(*u.choose(DIMS)?)
}

/// The writer's view of a parsed file.
pub fn editable(file: &PnnFile<'_>) -> Editable {
    let model = file.model().clone();
    let data = (0..model.tensors.len() as u32)
        .map(|t| file.tensor_data(t).unwrap_or_default().to_vec())
        .collect();
    Editable { model, data }
}

impl Editable {
    /// Encodes the model; `None` when the writer rejects it.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let mut writer = PnnWriter::new(self.model.metadata.clone(), self.model.graph.clone());
        for (entry, bytes) in self.model.tensors.iter().zip(&self.data) {
            let spec = TensorSpec {
                name: entry.name.clone(),
                dtype: entry.dtype,
                shape: entry.shape.clone(),
                layout: entry.layout.clone(),
                quant: entry.quant.clone(),
            };
            writer.add_tensor(spec, bytes.as_slice());
        }
        writer.to_bytes().ok()
    }

    /// Applies up to 8 mutations chosen by `u`.
    pub fn mutate(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let count = u.int_in_range(0..=8)?;
        for _ in 0..count {
            self.mutate_once(u)?;
        }
        Ok(())
    }

    fn mutate_once(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let graph = &mut self.model.graph;
        let n_values = graph.values.len() as u32;
        let n_bodies = graph.bodies.len();
        match u.int_in_range(0..=15)? {
            // ----- nodes
            0 => {
                if let Some(node) = pick_node(u, graph)? {
                    node.op = *u.choose(OpCode::ALL)?;
                }
            }
            1 => {
                if let Some(node) = pick_node(u, graph)? {
                    let value = attr_value(u, n_bodies)?;
                    if !node.attributes.is_empty() && u.ratio(1, 2)? {
                        let i = u.choose_index(node.attributes.len())?;
                        node.attributes[i].value = value;
                    } else {
                        let name = u.choose(ATTRIBUTE_NAMES)?.to_string();
                        node.attributes.retain(|a| a.name != name);
                        node.attributes.push(Attribute { name, value });
                    }
                }
            }
            2 => {
                if let Some(node) = pick_node(u, graph)?
                    && !node.attributes.is_empty()
                {
                    let i = u.choose_index(node.attributes.len())?;
                    node.attributes.remove(i);
                }
            }
            3 => {
                if let Some(node) = pick_node(u, graph)? {
                    let input = if u.ratio(1, 8)? {
                        None
                    } else {
                        Some(u.int_in_range(0..=n_values.saturating_sub(1))?)
                    };
                    if node.inputs.is_empty() || u.ratio(1, 4)? {
                        node.inputs.push(input);
                    } else {
                        let i = u.choose_index(node.inputs.len())?;
                        if u.ratio(1, 4)? {
                            node.inputs.remove(i);
                        } else {
                            node.inputs[i] = input;
                        }
                    }
                }
            }
            4 => {
                // swap, drop or move a node within its body
                let body = u.choose_index(n_bodies.max(1))?;
                if let Some(b) = graph.bodies.get_mut(body)
                    && !b.nodes.is_empty()
                {
                    let i = u.choose_index(b.nodes.len())?;
                    let j = u.choose_index(b.nodes.len())?;
                    if u.ratio(1, 3)? {
                        b.nodes.remove(i);
                    } else {
                        b.nodes.swap(i, j);
                    }
                }
            }
            5 => {
                if let Some(node) = pick_node(u, graph)?
                    && !node.outputs.is_empty()
                {
                    let i = u.choose_index(node.outputs.len())?;
                    node.outputs[i] = u.int_in_range(0..=n_values.saturating_sub(1))?;
                }
            }
            // ----- values
            6 => {
                if let Some(value) = pick(u, &mut graph.values)? {
                    value.shape = if u.ratio(1, 4)? {
                        None
                    } else {
                        Some(small_list(u, |u| {
                            Ok(if u.ratio(1, 3)? {
                                Dim::Symbolic(u.choose(&["N", "M", "seq"])?.to_string())
                            } else {
                                Dim::Fixed(dim(u)?)
                            })
                        })?)
                    };
                }
            }
            7 => {
                if let Some(value) = pick(u, &mut graph.values)? {
                    value.dtype = dtype(u)?;
                }
            }
            8 => {
                let n_tensors = self.model.tensors.len() as u32;
                if let Some(value) = pick(u, &mut graph.values)? {
                    value.constant = if n_tensors == 0 || u.ratio(1, 3)? {
                        None
                    } else {
                        Some(u.int_in_range(0..=n_tensors - 1)?)
                    };
                }
            }
            9 => {
                if u.ratio(1, 2)? && !graph.inputs.is_empty() {
                    let i = u.choose_index(graph.inputs.len())?;
                    graph.inputs.remove(i);
                } else {
                    graph
                        .inputs
                        .push(u.int_in_range(0..=n_values.saturating_sub(1))?);
                }
            }
            10 => {
                let body = u.choose_index(n_bodies.max(1))?;
                if let Some(b) = graph.bodies.get_mut(body) {
                    if !b.outputs.is_empty() && u.ratio(1, 2)? {
                        let i = u.choose_index(b.outputs.len())?;
                        b.outputs[i] = u.int_in_range(0..=n_values.saturating_sub(1))?;
                    } else {
                        b.outputs
                            .push(u.int_in_range(0..=n_values.saturating_sub(1))?);
                    }
                }
            }
            // ----- tensors (the data follows the new shape and dtype)
            11 => self.reshape_tensor(u)?,
            12 => self.overwrite_tensor_bytes(u)?,
            13 => {
                if let Some(t) = pick(u, &mut self.model.tensors)? {
                    t.quant = if u.ratio(1, 3)? {
                        None
                    } else {
                        let scales = small_list(u, interesting_float)?;
                        let zero_points = (0..scales.len())
                            .map(|_| u.arbitrary())
                            .collect::<Result<_>>()?;
                        Some(QuantParams {
                            axis: if u.arbitrary()? {
                                Some(u.int_in_range(0..=4)?)
                            } else {
                                None
                            },
                            scales,
                            zero_points,
                        })
                    };
                }
            }
            14 => {
                // retype a tensor and its value together, keeping the bytes
                let i = u.choose_index(self.model.tensors.len().max(1))?;
                if let Some(t) = self.model.tensors.get_mut(i) {
                    let new = dtype(u)?;
                    let elements = self.data[i].len() / new.size().max(1);
                    t.dtype = new;
                    t.shape = vec![elements as u64];
                    self.data[i].truncate(elements * new.size());
                    for v in &mut self.model.graph.values {
                        if v.constant == Some(i as u32) {
                            v.dtype = new;
                        }
                    }
                }
            }
            _ => {
                // duplicate a node (its outputs then have two producers,
                // unless they are redirected) or add an arbitrary one
                if let Some(node) = pick_node(u, graph)? {
                    let mut copy = node.clone();
                    copy.op = *u.choose(OpCode::ALL)?;
                    let body = u.choose_index(n_bodies.max(1))?;
                    if let Some(b) = graph.bodies.get_mut(body) {
                        graph.values.push(pocketnn_format::ValueDef {
                            name: format!("fuzz_{}", graph.values.len()),
                            dtype: dtype(u)?,
                            shape: None,
                            constant: None,
                        });
                        copy.outputs = vec![graph.values.len() as u32 - 1];
                        let at = u.int_in_range(0..=b.nodes.len())?;
                        b.nodes.insert(at, copy);
                    }
                }
            }
        }
        Ok(())
    }

    /// A new shape for a tensor; its bytes are cut or zero-extended to fit
    /// (up to 1 MiB, or the writer would spend the run copying).
    fn reshape_tensor(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let i = u.choose_index(self.model.tensors.len().max(1))?;
        let Some(t) = self.model.tensors.get_mut(i) else {
            return Ok(());
        };
        let shape = small_list(u, |u| {
            Ok(if u.ratio(1, 2)? {
                u.int_in_range(0..=8)?
            } else {
                dim(u)?
            })
        })?;
        let bytes = shape
            .iter()
            .try_fold(t.dtype.size() as u64, |acc, &d| acc.checked_mul(d));
        match bytes {
            Some(b) if b <= 1 << 20 => {
                t.shape = shape;
                self.data[i].resize(b as usize, 0);
            }
            _ if shape.contains(&0) => {
                // empty, with huge other dimensions: no bytes at all
                t.shape = shape;
                self.data[i].clear();
            }
            _ => {}
        }
        Ok(())
    }

    /// Writes interesting values into a tensor's bytes: shape tensors and
    /// indices are where run-time sizes come from.
    fn overwrite_tensor_bytes(&mut self, u: &mut Unstructured<'_>) -> Result<()> {
        let i = u.choose_index(self.model.tensors.len().max(1))?;
        let (Some(t), Some(bytes)) = (self.model.tensors.get(i), self.data.get_mut(i)) else {
            return Ok(());
        };
        let size = t.dtype.size();
        let elements = bytes.len() / size.max(1);
        if elements == 0 {
            return Ok(());
        }
        for _ in 0..u.int_in_range(1..=4)? {
            let at = u.choose_index(elements)? * size;
            let value: Vec<u8> = match t.dtype {
                DType::I64 => interesting_int(u)?.to_le_bytes().to_vec(),
                DType::I32 => (interesting_int(u)? as i32).to_le_bytes().to_vec(),
                DType::F32 => interesting_float(u)?.to_le_bytes().to_vec(),
                _ => (0..size).map(|_| u.arbitrary()).collect::<Result<_>>()?,
            };
            if let Some(dst) = bytes.get_mut(at..at + size) {
                dst.copy_from_slice(&value[..size]);
            }
        }
        Ok(())
    }
}

fn pick<'a, T>(u: &mut Unstructured<'_>, items: &'a mut [T]) -> Result<Option<&'a mut T>> {
    if items.is_empty() {
        return Ok(None);
    }
    let i = u.choose_index(items.len())?;
    Ok(items.get_mut(i))
}

fn pick_node<'a>(
    u: &mut Unstructured<'_>,
    graph: &'a mut pocketnn_format::GraphDef,
) -> Result<Option<&'a mut pocketnn_format::NodeDef>> {
    if graph.bodies.is_empty() {
        return Ok(None);
    }
    let body = u.choose_index(graph.bodies.len())?;
    pick(u, &mut graph.bodies[body].nodes)
}
