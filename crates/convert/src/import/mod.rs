//! ONNX `ModelProto` → the converter's [`Graph`].
//!
//! The importer walks the graph (and `If` subgraphs) in order, turns
//! initializers and `Constant` nodes into constant values, resolves each
//! node's schema version from the model's opset, and lowers every node to
//! the pocketnn operator of the same name in its opset-21 form
//! ([`lower`]). Anything it cannot map exactly is an error that names the
//! op, the node and the opset.

mod attrs;
mod contrib;
mod dtypes;
mod lower;
mod lower_shape;
pub(crate) mod tensor;
mod versions;

use crate::error::ConvertError;
use crate::graph::{Graph, ValueId};
use crate::onnx::NEWEST_ONNX_OPSET;
use crate::onnx::proto::{
    GraphProto, ModelProto, NodeProto, ValueInfoProto, tensor_shape_proto, type_proto,
};
use attrs::OnnxAttrs;
use pocketnn_format::{Attribute, DType, Dim, OpCode};
use prost::Message;
use std::collections::{BTreeMap, HashMap, HashSet};

/// The smallest opset of the default domain the importer accepts.
pub(crate) const MIN_OPSET: i64 = 7;

/// Where a node's errors point: op, node label, opset and schema version.
#[derive(Clone, Debug)]
pub(crate) struct NodeCtx {
    /// The ONNX op type.
    pub op: String,
    /// The node's name, or `#<index>`.
    pub node: String,
    /// The model's opset.
    pub opset: i64,
    /// The op's schema version at that opset.
    pub version: u32,
}

impl NodeCtx {
    /// An attribute error.
    pub fn attr_error(&self, attribute: &str, reason: impl Into<String>) -> ConvertError {
        ConvertError::UnsupportedAttribute {
            op: self.op.clone(),
            node: self.node.clone(),
            opset: self.opset,
            attribute: attribute.to_string(),
            reason: reason.into(),
        }
    }

    /// An input error.
    pub fn input_error(&self, index: usize, reason: impl Into<String>) -> ConvertError {
        ConvertError::UnsupportedInput {
            op: self.op.clone(),
            node: self.node.clone(),
            opset: self.opset,
            index,
            reason: reason.into(),
        }
    }

    /// An output error.
    pub fn output_error(&self, index: usize, reason: impl Into<String>) -> ConvertError {
        ConvertError::UnsupportedOutput {
            op: self.op.clone(),
            node: self.node.clone(),
            opset: self.opset,
            index,
            reason: reason.into(),
        }
    }

    /// The schema version is not one the importer knows.
    pub fn unknown_version(&self) -> ConvertError {
        ConvertError::UnsupportedOpVersion {
            op: self.op.clone(),
            node: self.node.clone(),
            opset: self.opset,
            version: self.version,
        }
    }
}

/// What the importer saw, for the conversion report.
#[derive(Clone, Debug, Default)]
pub(crate) struct ImportStats {
    /// ONNX nodes per op type (`domain::Op` outside the default domain),
    /// subgraphs included.
    pub ops_before: BTreeMap<String, usize>,
    /// Nodes dropped at import (`Identity`, `Dropout`; `Constant` nodes
    /// become constant values and are not counted here).
    pub removed_nodes: usize,
    /// The model's opset of the default domain.
    pub opset: i64,
    /// The main graph's name.
    pub graph_name: String,
    /// The tool that made the ONNX file (`producer_name producer_version`).
    pub producer: String,
}

/// The error for a model that imports no opset of the default domain: the
/// first node of another domain (an unsupported operator), else
/// [`ConvertError::MissingOpset`].
fn other_domain_error(model: &ModelProto) -> ConvertError {
    let nodes = model.graph.iter().flat_map(|g| g.node.iter()).enumerate();
    for (index, node) in nodes {
        if !matches!(node.domain(), "" | "ai.onnx") {
            return ConvertError::UnsupportedOp {
                op: node.op_type().to_string(),
                domain: format!("{}::", node.domain()),
                node: if node.name().is_empty() {
                    format!("#{index}")
                } else {
                    node.name().to_string()
                },
                opset: 0,
            };
        }
    }
    ConvertError::MissingOpset
}

/// Decodes and imports an ONNX model.
pub(crate) fn import_model(bytes: &[u8]) -> Result<(Graph, ImportStats), ConvertError> {
    let model = ModelProto::decode(bytes).map_err(|source| ConvertError::Decode {
        message: "ModelProto",
        source,
    })?;
    let opset = model
        .opset_import
        .iter()
        .filter(|o| matches!(o.domain(), "" | "ai.onnx"))
        .map(|o| o.version())
        .max()
        .ok_or_else(|| other_domain_error(&model))?;
    // Beyond the newest opset of the version table, an op may have changed
    // in a way the table does not show.
    if opset < MIN_OPSET || opset > i64::from(NEWEST_ONNX_OPSET) {
        return Err(ConvertError::UnsupportedOpset { opset });
    }
    let main = model.graph.as_ref().ok_or(ConvertError::MissingOpset)?;
    let mut importer = Importer {
        graph: Graph::new(opset),
        stats: ImportStats {
            opset,
            graph_name: main.name().to_string(),
            producer: format!("{} {}", model.producer_name(), model.producer_version())
                .trim()
                .to_string(),
            ..ImportStats::default()
        },
        scopes: Vec::new(),
        output_names: Vec::new(),
        symbols: HashSet::new(),
        body_stack: Vec::new(),
        forbidden: HashMap::new(),
    };
    importer.reserve_names(main);
    importer.import_graph(main, 0, true)?;
    Ok((importer.graph, importer.stats))
}

/// The importer's state while walking a model.
pub(crate) struct Importer {
    /// The graph being built.
    pub graph: Graph,
    stats: ImportStats,
    /// Names visible in each (nested) graph, innermost last.
    scopes: Vec<HashMap<String, ValueId>>,
    /// Output names of each graph being imported, innermost last.
    output_names: Vec<HashSet<String>>,
    /// Dim symbols in use (named by the model or generated).
    symbols: HashSet<String>,
    /// The bodies being imported, innermost last (empty = main graph).
    body_stack: Vec<usize>,
    /// Outputs that must not be read, with the error reading them gives.
    forbidden: HashMap<String, ConvertError>,
}

fn node_label(node: &NodeProto, index: usize) -> String {
    match node.name.as_deref() {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("#{index}"),
    }
}

impl Importer {
    /// Reserves every value name of the main graph, so generated names never
    /// take the name of a model value (inputs and outputs keep theirs).
    fn reserve_names(&mut self, g: &GraphProto) {
        for name in g
            .input
            .iter()
            .chain(&g.output)
            .map(|v| v.name())
            .chain(g.initializer.iter().map(|t| t.name()))
            .chain(
                g.node
                    .iter()
                    .flat_map(|n| n.output.iter().map(String::as_str)),
            )
        {
            self.graph.reserve_name(name);
        }
        for input in &g.input {
            if let Some(type_proto::Value::TensorType(t)) =
                input.r#type.as_ref().and_then(|t| t.value.as_ref())
            {
                for d in t.shape.iter().flat_map(|s| &s.dim) {
                    if let Some(tensor_shape_proto::dimension::Value::DimParam(p)) = &d.value {
                        self.symbols.insert(p.clone());
                    }
                }
            }
        }
    }

    /// The value a name refers to in the innermost scope that defines it.
    pub(crate) fn lookup(&self, name: &str) -> Option<ValueId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    /// Binds `name` to `id` in the current scope.
    pub(crate) fn define(&mut self, name: &str, id: ValueId) -> Result<(), ConvertError> {
        let scope = self
            .scopes
            .last_mut()
            .ok_or_else(|| ConvertError::UndefinedValue {
                name: name.to_string(),
                node: "graph".to_string(),
            })?;
        if scope.insert(name.to_string(), id).is_some() {
            return Err(ConvertError::DuplicateValue {
                name: name.to_string(),
            });
        }
        Ok(())
    }

    /// A new value for ONNX name `name`: the exact name in the main graph,
    /// a unique one in subgraphs.
    pub(crate) fn new_value(&mut self, name: &str, dtype: DType) -> ValueId {
        if self.scopes.len() <= 1 {
            self.graph.add_value_exact(name, dtype, None)
        } else {
            self.graph.add_value(name, dtype, None)
        }
    }

    /// True when `name` is an output of the graph being imported.
    pub(crate) fn is_graph_output(&self, name: &str) -> bool {
        self.output_names.last().is_some_and(|s| s.contains(name))
    }

    /// Imports graph `g` into body `body`.
    fn import_graph(
        &mut self,
        g: &GraphProto,
        body: usize,
        is_main: bool,
    ) -> Result<(), ConvertError> {
        self.scopes.push(HashMap::new());
        self.output_names
            .push(g.output.iter().map(|o| o.name().to_string()).collect());
        for init in &g.initializer {
            let t = tensor::tensor_from_proto(init, init.name())?;
            let id = if is_main {
                let id = self.graph.add_value_exact(init.name(), t.dtype(), None);
                self.graph.make_constant(id, t);
                id
            } else {
                self.graph.add_constant(init.name(), t)
            };
            self.define(init.name(), id)?;
        }
        if !is_main && !g.input.is_empty() {
            return Err(ConvertError::UnsupportedValue {
                name: g
                    .input
                    .first()
                    .map(|i| i.name().to_string())
                    .unwrap_or_default(),
                reason: "subgraphs with inputs (loops, scans) are not supported".into(),
            });
        }
        for input in &g.input {
            // IR < 4 models list their weights as inputs too.
            if self
                .scopes
                .last()
                .is_some_and(|s| s.contains_key(input.name()))
            {
                continue;
            }
            let (dtype, shape) = self.input_type(input)?;
            let id = self.graph.add_value_exact(input.name(), dtype, shape);
            self.define(input.name(), id)?;
            self.graph.inputs.push(id);
        }
        for (index, node) in g.node.iter().enumerate() {
            self.import_node(node, index)?;
        }
        let mut outputs = Vec::with_capacity(g.output.len());
        for out in &g.output {
            let Some(id) = self.lookup(out.name()) else {
                return Err(self.undefined(out.name(), "graph output"));
            };
            if let Some(code) = tensor_elem_type(out) {
                tensor::dtype_from_onnx(code, out.name())?;
            }
            outputs.push(id);
        }
        if let Some(b) = self.graph.bodies.get_mut(body) {
            b.outputs = outputs;
        }
        self.output_names.pop();
        self.scopes.pop();
        Ok(())
    }

    /// A graph input's dtype and declared shape.
    fn input_type(
        &mut self,
        input: &ValueInfoProto,
    ) -> Result<(DType, Option<Vec<Dim>>), ConvertError> {
        let unsupported = |reason: &str| ConvertError::UnsupportedValue {
            name: input.name().to_string(),
            reason: reason.to_string(),
        };
        let Some(type_proto::Value::TensorType(t)) =
            input.r#type.as_ref().and_then(|t| t.value.as_ref())
        else {
            return Err(unsupported("only tensor inputs are supported"));
        };
        let dtype = tensor::dtype_from_onnx(t.elem_type(), input.name())?;
        let Some(shape) = &t.shape else {
            return Ok((dtype, None));
        };
        let mut dims = Vec::with_capacity(shape.dim.len());
        for (axis, d) in shape.dim.iter().enumerate() {
            dims.push(match &d.value {
                Some(tensor_shape_proto::dimension::Value::DimValue(v)) if *v >= 0 => {
                    Dim::Fixed(*v as u64)
                }
                Some(tensor_shape_proto::dimension::Value::DimParam(p)) if !p.is_empty() => {
                    Dim::Symbolic(p.clone())
                }
                _ => Dim::Symbolic(self.new_symbol(input.name(), axis)),
            });
        }
        Ok((dtype, Some(dims)))
    }

    /// A fresh symbol for an unnamed dim of an input.
    fn new_symbol(&mut self, input: &str, axis: usize) -> String {
        let mut symbol = format!("{input}_dim{axis}");
        while self.symbols.contains(&symbol) {
            symbol.push('_');
        }
        self.symbols.insert(symbol.clone());
        symbol
    }

    fn import_node(&mut self, node: &NodeProto, index: usize) -> Result<(), ConvertError> {
        let op_type = node.op_type();
        let domain = node.domain();
        let default_domain = matches!(domain, "" | "ai.onnx");
        let key = if default_domain {
            op_type.to_string()
        } else {
            format!("{domain}::{op_type}")
        };
        *self.stats.ops_before.entry(key).or_insert(0) += 1;
        let label = node_label(node, index);
        let opset = self.graph.opset;
        let unsupported = || ConvertError::UnsupportedOp {
            op: op_type.to_string(),
            domain: if default_domain {
                String::new()
            } else {
                format!("{domain}::")
            },
            node: label.clone(),
            opset,
        };
        if !default_domain {
            if !contrib::is_supported(domain, op_type) {
                return Err(unsupported());
            }
            let ctx = NodeCtx {
                op: op_type.to_string(),
                node: label.clone(),
                opset,
                version: 1,
            };
            let inputs = self.node_inputs(node, &label)?;
            let attrs = OnnxAttrs::new(&node.attribute, &ctx)?;
            return contrib::qgemm(self, node, &ctx, &attrs, inputs);
        }
        let version = u32::try_from(opset)
            .ok()
            .and_then(|o| crate::onnx::schema_version(op_type, o))
            .ok_or_else(unsupported)?;
        let known = versions::known_versions(op_type).ok_or_else(unsupported)?;
        let ctx = NodeCtx {
            op: op_type.to_string(),
            node: label.clone(),
            opset,
            version,
        };
        if !known.contains(&version) {
            return Err(ctx.unknown_version());
        }
        let inputs = self.node_inputs(node, &label)?;
        let attrs = OnnxAttrs::new(&node.attribute, &ctx)?;
        lower::lower_node(self, node, &ctx, &attrs, inputs)
    }

    /// The values of `node`'s inputs (`None` for omitted optional ones,
    /// trailing omitted ones dropped).
    fn node_inputs(
        &mut self,
        node: &NodeProto,
        label: &str,
    ) -> Result<Vec<Option<ValueId>>, ConvertError> {
        let mut inputs = Vec::with_capacity(node.input.len());
        for name in &node.input {
            if name.is_empty() {
                inputs.push(None);
            } else {
                match self.lookup(name) {
                    Some(id) => inputs.push(Some(id)),
                    None => return Err(self.undefined(name, label)),
                }
            }
        }
        while inputs.last().is_some_and(Option::is_none) {
            inputs.pop();
        }
        Ok(inputs)
    }

    /// Emits a pocketnn node whose outputs are the ONNX values `names`
    /// (trailing empty names are dropped), computing their dtypes.
    pub(crate) fn emit(
        &mut self,
        ctx: &NodeCtx,
        op: OpCode,
        inputs: Vec<Option<ValueId>>,
        attributes: Vec<Attribute>,
        names: &[String],
    ) -> Result<(), ConvertError> {
        let mut names: Vec<&str> = names.iter().map(String::as_str).collect();
        while names.last().is_some_and(|n| n.is_empty()) {
            names.pop();
        }
        let input_dtypes: Vec<Option<DType>> = inputs
            .iter()
            .map(|i| i.and_then(|id| self.graph.value(id)).map(|v| v.dtype))
            .collect();
        let dtypes = dtypes::output_dtypes(
            op,
            &attributes,
            &input_dtypes,
            names.len(),
            &self.graph,
            ctx,
        )?;
        let mut outputs = Vec::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            let dtype = dtypes.get(i).copied().unwrap_or(DType::F32);
            let id = if name.is_empty() {
                // A skipped output in the middle: keep its slot.
                let hint = format!("{}_unused{i}", ctx.node);
                self.graph.add_value(&hint, dtype, None)
            } else {
                let id = self.new_value(name, dtype);
                self.define(name, id)?;
                id
            };
            outputs.push(id);
        }
        let body = self.current_body();
        if let Some(b) = self.graph.bodies.get_mut(body) {
            b.nodes.push(crate::graph::Node {
                name: ctx.node.clone(),
                op,
                inputs,
                outputs,
                attributes,
            });
        }
        Ok(())
    }

    /// Marks ONNX output `name` of a node as one pocketnn cannot compute:
    /// reading it later is an error, leaving it unused is fine.
    pub(crate) fn forbid_use(&mut self, name: &str, ctx: &NodeCtx, index: usize, reason: &str) {
        if !name.is_empty() {
            self.forbidden
                .insert(name.to_string(), ctx.output_error(index, reason));
        }
    }

    /// The error for reading `name`, which is not defined.
    fn undefined(&mut self, name: &str, node: &str) -> ConvertError {
        self.forbidden
            .remove(name)
            .unwrap_or_else(|| ConvertError::UndefinedValue {
                name: name.to_string(),
                node: node.to_string(),
            })
    }

    /// The body nodes are being added to.
    fn current_body(&self) -> usize {
        self.body_stack.last().copied().unwrap_or(0)
    }

    /// Makes ONNX output `name` another name for `source` (a removed
    /// `Identity` or `Dropout`).
    pub(crate) fn alias(&mut self, name: &str, source: ValueId) -> Result<(), ConvertError> {
        self.stats.removed_nodes += 1;
        self.define(name, source)
    }

    /// Defines ONNX output `name` as a constant.
    pub(crate) fn define_constant(
        &mut self,
        name: &str,
        tensor: pocketnn_tensor::Tensor,
    ) -> Result<(), ConvertError> {
        let id = self.new_value(name, tensor.dtype());
        self.graph.make_constant(id, tensor);
        self.define(name, id)
    }

    /// Adds a constant made by the importer (e.g. an attribute turned into an
    /// input) and returns its id.
    pub(crate) fn add_constant(&mut self, hint: &str, tensor: pocketnn_tensor::Tensor) -> ValueId {
        self.graph.add_constant(hint, tensor)
    }

    /// Imports `g` as a new subgraph body and returns its id.
    pub(crate) fn import_subgraph(&mut self, g: &GraphProto) -> Result<usize, ConvertError> {
        self.graph.bodies.push(crate::graph::Body::default());
        let id = self.graph.bodies.len() - 1;
        self.body_stack.push(id);
        let result = self.import_graph(g, id, false);
        self.body_stack.pop();
        result.map(|()| id)
    }
}

/// The element type a value info declares, if it is a tensor with one.
fn tensor_elem_type(v: &ValueInfoProto) -> Option<i32> {
    match v.r#type.as_ref()?.value.as_ref()? {
        type_proto::Value::TensorType(t) => t.elem_type.filter(|&e| e != 0),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
