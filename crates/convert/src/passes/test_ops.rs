//! Minimal stand-in operators for testing the passes without depending on
//! the real operator implementations: just enough of Shape, Gather (axis 0),
//! Unsqueeze, Concat (axis 0), Reshape, Add, Equal, Relu and
//! ConstantOfShape, written here from the ONNX definitions.

use pocketnn_format::{AttrValue, Attribute, DType, OpCode};
use pocketnn_ops::{InputInfo, OpError, OpResult, Operator, OutputSpec, RunContext};
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Builds the stand-in for `op`, or `Unsupported`.
pub(crate) fn build(op: OpCode, attrs: &[Attribute]) -> OpResult<Box<dyn Operator>> {
    let fill = attrs
        .iter()
        .find_map(|a| match (a.name.as_str(), &a.value) {
            ("value_float", AttrValue::Float(v)) => Some(*v),
            _ => None,
        });
    match op {
        OpCode::Shape
        | OpCode::Gather
        | OpCode::Unsqueeze
        | OpCode::Concat
        | OpCode::Reshape
        | OpCode::Add
        | OpCode::Equal
        | OpCode::Relu => Ok(Box::new(Fake { op, fill: 0.0 })),
        OpCode::ConstantOfShape => Ok(Box::new(Fake {
            op,
            fill: fill.unwrap_or(0.0),
        })),
        _ => Err(OpError::Unsupported {
            what: format!("operator {op}"),
        }),
    }
}

/// The always-unsupported builder (what `pocketnn_ops` gives today).
pub(crate) fn build_none(op: OpCode, _: &[Attribute]) -> OpResult<Box<dyn Operator>> {
    Err(OpError::Unsupported {
        what: format!("operator {op}"),
    })
}

#[derive(Debug)]
struct Fake {
    op: OpCode,
    fill: f32,
}

fn input<'a>(inputs: &[Option<InputInfo<'a>>], i: usize) -> OpResult<InputInfo<'a>> {
    inputs
        .get(i)
        .copied()
        .flatten()
        .ok_or(OpError::MissingInput { index: i })
}

fn value(inputs: &[Option<InputInfo<'_>>], i: usize) -> OpResult<Vec<i64>> {
    let v = input(inputs, i)?
        .value
        .ok_or(OpError::NeedsValue { index: i })?;
    Ok(v.to_i64_vec()?)
}

fn mismatch(reason: &str) -> OpError {
    OpError::ShapeMismatch {
        reason: reason.to_string(),
    }
}

impl Operator for Fake {
    fn op(&self) -> OpCode {
        self.op
    }

    fn reads_input_value(&self, index: usize) -> bool {
        !(self.op == OpCode::Shape && index == 0)
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        let x = input(inputs, 0)?;
        let spec = match self.op {
            OpCode::Shape => OutputSpec::new(DType::I64, vec![x.shape.len()]),
            OpCode::Gather => {
                if x.shape.len() != 1 {
                    return Err(mismatch("gather stand-in needs 1-D data"));
                }
                OutputSpec::new(x.dtype, input(inputs, 1)?.shape.to_vec())
            }
            OpCode::Unsqueeze => {
                let mut shape = x.shape.to_vec();
                for axis in value(inputs, 1)? {
                    let axis = usize::try_from(axis).map_err(|_| mismatch("negative axis"))?;
                    if axis > shape.len() {
                        return Err(mismatch("axis out of range"));
                    }
                    shape.insert(axis, 1);
                }
                OutputSpec::new(x.dtype, shape)
            }
            OpCode::Concat => {
                let mut shape = x.shape.to_vec();
                for i in 1..inputs.len() {
                    let y = input(inputs, i)?;
                    if y.shape.get(1..) != x.shape.get(1..) || y.dtype != x.dtype {
                        return Err(mismatch("concat inputs differ"));
                    }
                    shape[0] += y.shape[0];
                }
                OutputSpec::new(x.dtype, shape)
            }
            OpCode::Reshape => {
                let total: usize = x.shape.iter().product();
                let target = value(inputs, 1)?;
                let mut shape = Vec::new();
                let mut infer_at = None;
                for (i, &d) in target.iter().enumerate() {
                    match d {
                        -1 => {
                            infer_at = Some(i);
                            shape.push(1);
                        }
                        0 => shape.push(*x.shape.get(i).ok_or_else(|| mismatch("0 past rank"))?),
                        d => shape.push(usize::try_from(d).map_err(|_| mismatch("bad dim"))?),
                    }
                }
                let known: usize = shape.iter().product();
                if let Some(i) = infer_at {
                    if known == 0 || !total.is_multiple_of(known) {
                        return Err(mismatch("cannot infer -1"));
                    }
                    shape[i] = total / known;
                } else if known != total {
                    return Err(mismatch("element count differs"));
                }
                OutputSpec::new(x.dtype, shape)
            }
            OpCode::Add | OpCode::Equal => {
                let y = input(inputs, 1)?;
                let shape = if y.shape.is_empty() {
                    x.shape.to_vec()
                } else {
                    y.shape.to_vec()
                };
                if !(x.shape.is_empty() || y.shape.is_empty() || x.shape == y.shape) {
                    return Err(mismatch("add stand-in broadcasts scalars only"));
                }
                let dtype = if self.op == OpCode::Equal {
                    DType::Bool
                } else {
                    x.dtype
                };
                OutputSpec::new(dtype, shape)
            }
            OpCode::Relu => OutputSpec::new(x.dtype, x.shape.to_vec()),
            OpCode::ConstantOfShape => {
                let shape = value(inputs, 0)?
                    .into_iter()
                    .map(|d| usize::try_from(d).map_err(|_| mismatch("negative dim")))
                    .collect::<OpResult<Vec<_>>>()?;
                OutputSpec::new(DType::F32, shape)
            }
            _ => {
                return Err(OpError::Unsupported {
                    what: self.op.to_string(),
                });
            }
        };
        Ok(vec![spec])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = inputs
            .first()
            .copied()
            .flatten()
            .ok_or(OpError::MissingInput { index: 0 })?;
        let out = outputs.first_mut().ok_or(OpError::Unsupported {
            what: "no output".into(),
        })?;
        match self.op {
            OpCode::Shape => {
                let dims: Vec<i64> = x.shape().iter().map(|&d| d as i64).collect();
                out.as_slice_mut::<i64>()?.copy_from_slice(&dims);
            }
            OpCode::Gather => {
                let size = x.dtype().size();
                let indices = inputs[1]
                    .ok_or(OpError::MissingInput { index: 1 })?
                    .to_i64_vec()?;
                let bytes = out.bytes_mut();
                for (k, &i) in indices.iter().enumerate() {
                    let i = if i < 0 { i + x.shape()[0] as i64 } else { i } as usize;
                    bytes[k * size..(k + 1) * size]
                        .copy_from_slice(&x.bytes()[i * size..(i + 1) * size]);
                }
            }
            OpCode::Unsqueeze | OpCode::Reshape => out.bytes_mut().copy_from_slice(x.bytes()),
            OpCode::Concat => {
                let mut at = 0;
                let bytes = out.bytes_mut();
                for v in inputs.iter().flatten() {
                    bytes[at..at + v.bytes().len()].copy_from_slice(v.bytes());
                    at += v.bytes().len();
                }
            }
            OpCode::Add | OpCode::Equal => {
                let y = inputs[1].ok_or(OpError::MissingInput { index: 1 })?;
                let (a, b) = (x.to_f32_vec()?, y.to_f32_vec()?);
                let n = a.len().max(b.len());
                let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                match (self.op, out.dtype()) {
                    (OpCode::Equal, _) => {
                        let o = out.as_slice_mut::<u8>()?;
                        (0..n).for_each(|i| o[i] = u8::from(at(&a, i) == at(&b, i)));
                    }
                    (_, DType::I64) => {
                        let (a, b) = (x.to_i64_vec()?, y.to_i64_vec()?);
                        let at = |v: &[i64], i: usize| if v.len() == 1 { v[0] } else { v[i] };
                        let o = out.as_slice_mut::<i64>()?;
                        (0..n).for_each(|i| o[i] = at(&a, i) + at(&b, i));
                    }
                    _ => {
                        let o = out.as_slice_mut::<f32>()?;
                        (0..n).for_each(|i| o[i] = at(&a, i) + at(&b, i));
                    }
                }
            }
            OpCode::Relu => {
                let a = x.as_slice::<f32>()?;
                let o = out.as_slice_mut::<f32>()?;
                o.iter_mut().zip(a).for_each(|(o, &v)| *o = v.max(0.0));
            }
            OpCode::ConstantOfShape => out.as_slice_mut::<f32>()?.fill(self.fill),
            _ => {
                return Err(OpError::Unsupported {
                    what: self.op.to_string(),
                });
            }
        }
        Ok(())
    }
}

/// Builds graphs for pass tests.
pub(crate) struct GraphBuilder {
    /// The graph.
    pub g: crate::graph::Graph,
}

impl GraphBuilder {
    /// An empty graph.
    pub fn new() -> Self {
        GraphBuilder {
            g: crate::graph::Graph::new(21),
        }
    }

    /// A graph input.
    pub fn input(&mut self, name: &str, dtype: DType, dims: Vec<pocketnn_format::Dim>) -> usize {
        let id = self.g.add_value(name, dtype, Some(dims));
        self.g.inputs.push(id);
        id
    }

    /// A constant.
    pub fn constant(&mut self, name: &str, t: pocketnn_tensor::Tensor) -> usize {
        self.g.add_constant(name, t)
    }

    /// A node in `body` with one output per entry of `out_dtypes`.
    pub fn node_in(
        &mut self,
        body: usize,
        op: OpCode,
        inputs: &[Option<usize>],
        out_dtypes: &[DType],
        attributes: Vec<Attribute>,
    ) -> Vec<usize> {
        let name = format!("n{}", self.g.values.len());
        let outputs: Vec<usize> = out_dtypes
            .iter()
            .enumerate()
            .map(|(i, &d)| self.g.add_value(&format!("{name}_out{i}"), d, None))
            .collect();
        while self.g.bodies.len() <= body {
            self.g.bodies.push(crate::graph::Body::default());
        }
        self.g.bodies[body].nodes.push(crate::graph::Node {
            name,
            op,
            inputs: inputs.to_vec(),
            outputs: outputs.clone(),
            attributes,
        });
        outputs
    }

    /// A one-output node in the main body.
    pub fn node(&mut self, op: OpCode, inputs: &[usize], dtype: DType) -> usize {
        let inputs: Vec<Option<usize>> = inputs.iter().map(|&i| Some(i)).collect();
        self.node_in(0, op, &inputs, &[dtype], Vec::new())[0]
    }

    /// Marks a main-graph output.
    pub fn output(&mut self, id: usize) {
        self.g.bodies[0].outputs.push(id);
    }

    /// The ops of body `b`, in order.
    pub fn ops(&self, b: usize) -> Vec<OpCode> {
        self.g.bodies[b].nodes.iter().map(|n| n.op).collect()
    }
}

/// An attribute.
pub(crate) fn attr(name: &str, value: AttrValue) -> Attribute {
    Attribute {
        name: name.to_string(),
        value,
    }
}
