//! The converter's working graph: like the `.pnn` [`GraphDef`] but with
//! constants held as owned tensors, so passes can add, fold and remove them.
//!
//! [`GraphDef`]: pocketnn_format::GraphDef

use pocketnn_format::{AttrValue, Attribute, DType, Dim, OpCode};
use pocketnn_tensor::Tensor;
use std::collections::HashSet;

/// Index of a [`Value`] in [`Graph::values`].
pub(crate) type ValueId = usize;

/// A value: a graph input, a constant or a node output.
#[derive(Clone, Debug)]
pub(crate) struct Value {
    /// Unique name.
    pub name: String,
    /// Element type.
    pub dtype: DType,
    /// Known shape (declared for inputs, inferred for the rest).
    pub shape: Option<Vec<Dim>>,
    /// The data, for constants.
    pub constant: Option<Tensor>,
}

/// One operator application, already in pocketnn's form.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    /// The node's name, or `#<index>` when the ONNX node had none (used in
    /// errors and the written file).
    pub name: String,
    /// The operator.
    pub op: OpCode,
    /// Inputs in operator order; `None` for omitted optional inputs.
    pub inputs: Vec<Option<ValueId>>,
    /// Outputs.
    pub outputs: Vec<ValueId>,
    /// Attributes in pocketnn's form.
    pub attributes: Vec<Attribute>,
}

impl Node {
    /// The attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&AttrValue> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| &a.value)
    }

    /// Sets (adds or replaces) an attribute.
    pub fn set_attribute(&mut self, name: &str, value: AttrValue) {
        match self.attributes.iter_mut().find(|a| a.name == name) {
            Some(a) => a.value = value,
            None => self.attributes.push(Attribute {
                name: name.to_string(),
                value,
            }),
        }
    }

    /// The subgraph bodies this node owns (`If`'s branches).
    pub fn bodies(&self) -> impl Iterator<Item = usize> + '_ {
        self.attributes.iter().filter_map(|a| match a.value {
            AttrValue::Body(b) => usize::try_from(b).ok(),
            _ => None,
        })
    }
}

/// A list of nodes in topological order and the values it yields.
#[derive(Clone, Debug, Default)]
pub(crate) struct Body {
    /// Nodes in execution order.
    pub nodes: Vec<Node>,
    /// The body's results.
    pub outputs: Vec<ValueId>,
}

/// The whole model: values of every body, inputs, and bodies (0 = main).
#[derive(Clone, Debug, Default)]
pub(crate) struct Graph {
    /// Every value.
    pub values: Vec<Value>,
    /// Graph inputs, fed at run time.
    pub inputs: Vec<ValueId>,
    /// Body 0 is the main graph; others are subgraphs.
    pub bodies: Vec<Body>,
    /// The model's opset of the default ONNX domain (for messages).
    pub opset: i64,
    /// Every name in use, to keep new names unique.
    names: HashSet<String>,
}

impl Graph {
    /// An empty graph for a model of `opset`.
    pub fn new(opset: i64) -> Self {
        Graph {
            opset,
            bodies: vec![Body::default()],
            ..Graph::default()
        }
    }

    /// A name not used yet, `hint` itself when it is free.
    pub fn unique_name(&mut self, hint: &str) -> String {
        let mut name = hint.to_string();
        let mut n = 1u64;
        while self.names.contains(&name) {
            name = format!("{hint}_{n}");
            n += 1;
        }
        self.names.insert(name.clone());
        name
    }

    /// Marks `name` as taken, so [`Graph::unique_name`] never makes it.
    pub fn reserve_name(&mut self, name: &str) {
        self.names.insert(name.to_string());
    }

    /// Adds a value named exactly `name` (which the caller reserved).
    pub fn add_value_exact(
        &mut self,
        name: &str,
        dtype: DType,
        shape: Option<Vec<Dim>>,
    ) -> ValueId {
        self.names.insert(name.to_string());
        self.values.push(Value {
            name: name.to_string(),
            dtype,
            shape,
            constant: None,
        });
        self.values.len() - 1
    }

    /// Adds a value with a name made unique from `hint`.
    pub fn add_value(&mut self, hint: &str, dtype: DType, shape: Option<Vec<Dim>>) -> ValueId {
        let name = self.unique_name(hint);
        self.values.push(Value {
            name,
            dtype,
            shape,
            constant: None,
        });
        self.values.len() - 1
    }

    /// Adds a constant value holding `tensor`.
    pub fn add_constant(&mut self, hint: &str, tensor: Tensor) -> ValueId {
        let shape = fixed_shape(tensor.shape());
        let id = self.add_value(hint, tensor.dtype(), Some(shape));
        if let Some(v) = self.values.get_mut(id) {
            v.constant = Some(tensor);
        }
        id
    }

    /// Turns an existing value into a constant holding `tensor`.
    pub fn make_constant(&mut self, id: ValueId, tensor: Tensor) {
        if let Some(v) = self.values.get_mut(id) {
            v.dtype = tensor.dtype();
            v.shape = Some(fixed_shape(tensor.shape()));
            v.constant = Some(tensor);
        }
    }

    /// The value `id` (ids come from this graph, so it exists).
    pub fn value(&self, id: ValueId) -> Option<&Value> {
        self.values.get(id)
    }

    /// The constant data of `id`, if it is a constant.
    pub fn constant(&self, id: ValueId) -> Option<&Tensor> {
        self.values.get(id).and_then(|v| v.constant.as_ref())
    }

    /// The value's name, for messages.
    pub fn name(&self, id: ValueId) -> &str {
        self.values.get(id).map_or("?", |v| v.name.as_str())
    }

    /// How often each value is read: by node inputs in every body and as a
    /// body output.
    pub fn use_counts(&self) -> Vec<usize> {
        let mut counts = vec![0usize; self.values.len()];
        let mut bump = |id: ValueId| {
            if let Some(c) = counts.get_mut(id) {
                *c += 1;
            }
        };
        for body in &self.bodies {
            for node in &body.nodes {
                node.inputs.iter().flatten().for_each(|&i| bump(i));
            }
            body.outputs.iter().for_each(|&i| bump(i));
        }
        counts
    }

    /// True when `id` is an output of any body.
    pub fn is_body_output(&self, id: ValueId) -> bool {
        self.bodies.iter().any(|b| b.outputs.contains(&id))
    }
}

/// A shape of fixed dims.
pub(crate) fn fixed_shape(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d as u64)).collect()
}
