//! Structured corruption: decode a real file, change its graph, attributes
//! or tensor index, and write it again with `PnnWriter`, so the checksums
//! are right and the change reaches the runtime.

use crate::harness::{Expect, Rng, Tally};
use pocketnn::format::{AttrValue, Dim, ModelDef, OpCode, PnnFile, PnnWriter, TensorSpec};

/// A model and its tensor bytes, editable.
#[derive(Clone)]
pub struct Editable {
    /// The decoded model.
    pub model: ModelDef,
    /// Each tensor's bytes.
    pub data: Vec<Vec<u8>>,
}

impl Editable {
    /// Decodes a valid file.
    pub fn decode(bytes: &[u8]) -> Editable {
        let file = PnnFile::parse(bytes).expect("a valid subject");
        let data = (0..file.model().tensors.len() as u32)
            .map(|t| file.tensor_data(t).expect("tensor data").to_vec())
            .collect();
        Editable {
            model: file.model().clone(),
            data,
        }
    }

    /// Writes the file; the writer's error when it refuses the model (it
    /// validates exactly as the reader does).
    pub fn encode(&self) -> Result<Vec<u8>, pocketnn::format::FormatError> {
        let mut w = PnnWriter::new(self.model.metadata.clone(), self.model.graph.clone());
        for (t, bytes) in self.model.tensors.iter().zip(&self.data) {
            w.add_tensor(
                TensorSpec {
                    name: t.name.clone(),
                    dtype: t.dtype,
                    shape: t.shape.clone(),
                    layout: t.layout.clone(),
                    quant: t.quant.clone(),
                },
                bytes.as_slice(),
            );
        }
        w.to_bytes()
    }

    /// Encodes and runs one case; a model the writer refuses counts as a
    /// load error (the reader would refuse the same file).
    pub fn try_case(&self, tally: &mut Tally, label: &dyn Fn() -> String, expect: Expect) {
        match self.encode() {
            Ok(bytes) => tally.case(label, &bytes, expect),
            Err(_) => {
                tally.cases += 1;
                tally.load_errors += 1;
                if expect == Expect::Runs {
                    tally
                        .failures
                        .push(format!("{}: the writer refused it", label()));
                }
            }
        }
    }

    /// Every (body, node) position.
    pub fn node_positions(&self) -> Vec<(usize, usize)> {
        self.model
            .graph
            .bodies
            .iter()
            .enumerate()
            .flat_map(|(b, body)| (0..body.nodes.len()).map(move |n| (b, n)))
            .collect()
    }
}

/// Values an attribute is replaced with: out of range, huge, negative,
/// empty, non-finite and of the wrong type.
pub fn hostile_attribute_values() -> Vec<AttrValue> {
    vec![
        AttrValue::Int(-1),
        AttrValue::Int(0),
        AttrValue::Int(1 << 40),
        AttrValue::Int(i64::MIN),
        AttrValue::Int(i64::MAX),
        AttrValue::Ints(vec![]),
        AttrValue::Ints(vec![0]),
        AttrValue::Ints(vec![-1; 4]),
        AttrValue::Ints(vec![1 << 40; 4]),
        AttrValue::Ints(vec![i64::MIN, i64::MAX, 0, 1]),
        AttrValue::Float(f32::NAN),
        AttrValue::Float(f32::INFINITY),
        AttrValue::Float(-1.0),
        AttrValue::String("bogus".into()),
        AttrValue::Floats(vec![f32::NAN; 3]),
        AttrValue::Body(0),
    ]
}

/// Replaces each attribute of the chosen nodes by each hostile value, and
/// removes it. `max_nodes` bounds the nodes tried (chosen at random).
pub fn attribute_cases(
    base: &Editable,
    name: &str,
    max_nodes: usize,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    let mut nodes: Vec<(usize, usize)> = base
        .node_positions()
        .into_iter()
        .filter(|&(b, n)| !base.model.graph.bodies[b].nodes[n].attributes.is_empty())
        .collect();
    while nodes.len() > max_nodes {
        nodes.swap_remove(rng.below(nodes.len()));
    }
    for (b, n) in nodes {
        let count = base.model.graph.bodies[b].nodes[n].attributes.len();
        for a in 0..count {
            let mut values: Vec<Option<AttrValue>> =
                hostile_attribute_values().into_iter().map(Some).collect();
            values.push(None);
            for value in values {
                let mut e = base.clone();
                let node = &mut e.model.graph.bodies[b].nodes[n];
                let attr_name = node.attributes[a].name.clone();
                match &value {
                    Some(v) => node.attributes[a].value = v.clone(),
                    None => {
                        node.attributes.remove(a);
                    }
                }
                let label = || format!("{name}: node {b}/{n} attribute `{attr_name}` = {value:?}");
                e.try_case(tally, &label, Expect::NoCrash);
            }
        }
    }
}

/// Rewires nodes: other op codes, other inputs, an input dropped, a node
/// removed. `max_nodes` bounds the nodes tried.
pub fn graph_cases(
    base: &Editable,
    name: &str,
    max_nodes: usize,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    let mut nodes = base.node_positions();
    while nodes.len() > max_nodes {
        nodes.swap_remove(rng.below(nodes.len()));
    }
    let n_values = base.model.graph.values.len();
    for (b, n) in nodes {
        for k in 0..4 {
            let mut e = base.clone();
            let node = &mut e.model.graph.bodies[b].nodes[n];
            let op = OpCode::ALL[rng.below(OpCode::ALL.len())];
            let what = match k {
                0 => {
                    node.op = op;
                    format!("op -> {op}")
                }
                1 if !node.inputs.is_empty() => {
                    let i = rng.below(node.inputs.len());
                    let v = rng.below(n_values) as u32;
                    node.inputs[i] = Some(v);
                    format!("input {i} -> value {v}")
                }
                2 if !node.inputs.is_empty() => {
                    let i = rng.below(node.inputs.len());
                    node.inputs.remove(i);
                    format!("input {i} removed")
                }
                _ => {
                    e.model.graph.bodies[b].nodes.remove(n);
                    "node removed".to_string()
                }
            };
            let label = || format!("{name}: node {b}/{n}: {what}");
            e.try_case(tally, &label, Expect::NoCrash);
        }
    }
}

/// Huge dimensions in declared value shapes and constant tensor shapes:
/// the load must fail with a typed error.
pub fn huge_dimension_cases(
    base: &Editable,
    name: &str,
    max_each: usize,
    rng: &mut Rng,
    tally: &mut Tally,
) {
    const HUGE: [u64; 3] = [1 << 31, 1 << 40, u64::MAX];
    let declared: Vec<(usize, usize)> = base
        .model
        .graph
        .values
        .iter()
        .enumerate()
        .flat_map(|(v, value)| {
            let dims = value.shape.as_ref().map_or(0, Vec::len);
            (0..dims).map(move |d| (v, d))
        })
        .collect();
    for _ in 0..max_each.min(declared.len()) {
        let (v, d) = declared[rng.below(declared.len())];
        for huge in HUGE {
            let mut e = base.clone();
            if let Some(shape) = &mut e.model.graph.values[v].shape {
                shape[d] = Dim::Fixed(huge);
            }
            let label = || format!("{name}: value {v} dim {d} = {huge}");
            e.try_case(tally, &label, Expect::LoadError);
        }
    }
    let tensors = base.model.tensors.len();
    for _ in 0..max_each.min(tensors) {
        let t = rng.below(tensors);
        for huge in HUGE {
            // empty (a zero dimension), so the data length still matches
            let mut e = base.clone();
            e.model.tensors[t].shape = vec![0, huge];
            e.data[t].clear();
            let label = || format!("{name}: tensor {t} shape [0, {huge}]");
            e.try_case(tally, &label, Expect::LoadError);
        }
        // an empty tensor with sane dimensions: no crash, whatever happens
        let mut e = base.clone();
        e.model.tensors[t].shape = vec![0];
        e.data[t].clear();
        let label = || format!("{name}: tensor {t} shape [0]");
        e.try_case(tally, &label, Expect::NoCrash);
    }
}

/// Rewrites integer constants (shapes, axes, indices) with hostile values.
pub fn tensor_value_cases(base: &Editable, name: &str, rng: &mut Rng, tally: &mut Tally) {
    const VALUES: [i64; 5] = [-1, 0, 1 << 40, i64::MIN, i64::MAX];
    for (t, entry) in base.model.tensors.iter().enumerate() {
        let size = entry.dtype.size();
        let elements = base.data[t].len() / size;
        if entry.dtype != pocketnn::DType::I64 || elements == 0 || elements > 64 {
            continue;
        }
        for value in VALUES {
            let mut e = base.clone();
            let at = rng.below(elements) * size;
            e.data[t][at..at + size].copy_from_slice(&value.to_le_bytes());
            let label = || format!("{name}: tensor {t} element {} = {value}", at / size);
            e.try_case(tally, &label, Expect::NoCrash);
        }
    }
}
