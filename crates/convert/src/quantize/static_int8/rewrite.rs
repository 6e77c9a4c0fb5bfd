//! The graph rewrite of `--quantize int8`: every selected layer becomes a
//! `QLinearConv` on u8 activations and i8 weights. A layer's u8 output
//! feeds the next quantized layer directly, also through `Reshape`,
//! `Flatten` and `MaxPool` (which run on u8 as they are); `QuantizeLinear` and
//! `DequantizeLinear` are inserted only where float and integer parts meet.
//! Float nodes left without readers are removed by dead-code elimination.

use super::layers::{FloatOutput, Layer, LayerKind};
use super::math::{ActivationParams, ChannelWeights, quantize_bias, quantize_weights};
use crate::error::ConvertError;
use crate::graph::{Graph, Node, ValueId};
use pocketnn_format::{DType, Dim, OpCode};
use pocketnn_tensor::{Tensor, TensorError};
use std::collections::HashMap;

fn error(reason: impl Into<String>) -> ConvertError {
    ConvertError::Quantization {
        reason: reason.into(),
    }
}

/// What the rewrite made of a layer.
#[derive(Clone, Debug)]
pub(crate) struct QuantizedLayer {
    /// The value holding the layer's output: u8, or the f32 output itself
    /// for a layer with a float result.
    pub output: ValueId,
    /// Its quantization (`None` for an f32 output).
    pub params: Option<ActivationParams>,
    /// Bytes of the layer's constants after quantization.
    pub bytes: u64,
}

/// Rewrites the main body of `graph`: `layers` (in node order) with the
/// activation parameters `params` of their inputs and outputs. Returns one
/// entry per layer, in the same order.
pub(crate) fn rewrite(
    graph: &mut Graph,
    layers: &[&Layer],
    params: &HashMap<ValueId, ActivationParams>,
) -> Result<Vec<QuantizedLayer>, ConvertError> {
    let nodes = match graph.bodies.first_mut() {
        Some(main) => std::mem::take(&mut main.nodes),
        None => return Ok(Vec::new()),
    };
    let mut state = State {
        graph,
        params,
        quantized: HashMap::new(),
        column_form: HashMap::new(),
        emitted: Vec::with_capacity(nodes.len() + 4 * layers.len()),
    };
    let by_node: HashMap<usize, &Layer> = layers.iter().map(|l| (l.node, *l)).collect();
    let mut done = HashMap::new();
    for (index, node) in nodes.into_iter().enumerate() {
        match by_node.get(&index) {
            Some(layer) => {
                let q = state.layer(layer)?;
                done.insert(index, q);
            }
            None => state.pass_through(node),
        }
    }
    let emitted = std::mem::take(&mut state.emitted);
    if let Some(main) = graph.bodies.first_mut() {
        main.nodes = emitted;
    }
    layers
        .iter()
        .map(|l| {
            done.remove(&l.node)
                .ok_or_else(|| error(format!("layer {} was not rewritten", l.name)))
        })
        .collect()
}

struct State<'g> {
    graph: &'g mut Graph,
    params: &'g HashMap<ValueId, ActivationParams>,
    /// Float value → its u8 twin and quantization.
    quantized: HashMap<ValueId, (ValueId, ActivationParams)>,
    /// The `[N, n]` u8 output of a dense layer → the `[N, n, 1]` value its
    /// `QLinearConv` wrote: the next dense layer reads that directly
    /// instead of reshaping back and forth.
    column_form: HashMap<ValueId, ValueId>,
    emitted: Vec<Node>,
}

impl State<'_> {
    fn node(
        &mut self,
        name: &str,
        op: OpCode,
        inputs: Vec<Option<ValueId>>,
        outputs: Vec<ValueId>,
    ) {
        self.emitted.push(Node {
            name: self.graph.unique_name(name),
            op,
            inputs,
            outputs,
            attributes: Vec::new(),
        });
    }

    fn scalar_params(&mut self, hint: &str, p: ActivationParams) -> (ValueId, ValueId) {
        let scale = self
            .graph
            .add_constant(&format!("{hint}_scale"), Tensor::scalar(p.scale));
        let zero = self
            .graph
            .add_constant(&format!("{hint}_zero_point"), Tensor::scalar(p.zero_point));
        (scale, zero)
    }

    fn u8_value(&mut self, like: ValueId, suffix: &str) -> ValueId {
        let (name, shape) = match self.graph.value(like) {
            Some(v) => (format!("{}{suffix}", v.name), v.shape.clone()),
            None => (format!("q{suffix}"), None),
        };
        self.graph.add_value(&name, DType::U8, shape)
    }

    /// The u8 form of float value `x`, quantizing it here if needed.
    fn quantized_input(&mut self, x: ValueId) -> Result<(ValueId, ActivationParams), ConvertError> {
        if let Some(&q) = self.quantized.get(&x) {
            return Ok(q);
        }
        let p =
            self.params.get(&x).copied().ok_or_else(|| {
                error(format!("no calibrated range for `{}`", self.graph.name(x)))
            })?;
        let q = self.u8_value(x, "_quantized");
        let (scale, zero) = self.scalar_params(self.graph.name(x).to_string().as_str(), p);
        let name = format!("{}_QuantizeLinear", self.graph.name(x));
        self.node(
            &name,
            OpCode::QuantizeLinear,
            vec![Some(x), Some(scale), Some(zero)],
            vec![q],
        );
        self.quantized.insert(x, (q, p));
        Ok((q, p))
    }

    /// Keeps a float node; records what it means for the u8 path.
    fn pass_through(&mut self, node: Node) {
        let data = node.inputs.first().copied().flatten();
        let range_preserving =
            matches!(node.op, OpCode::Reshape | OpCode::Flatten | OpCode::MaxPool);
        let single = match node.outputs.as_slice() {
            &[y] if self.graph.value(y).is_some_and(|v| v.dtype == DType::F32) => Some(y),
            _ => None,
        };
        let known = data.and_then(|x| self.quantized.get(&x).map(|q| q.1));
        let (Some(x), Some(y), Some(p), true) = (data, single, known, range_preserving) else {
            self.emitted.push(node);
            return;
        };
        // Reshape and Flatten move bytes and MaxPool picks one of them (the
        // maximum of quantized values is the quantized maximum): run a u8
        // twin next to the float node with the input's quantization
        // (whichever has no reader goes at dead-code elimination).
        let twin_input = match self.quantized_input(x) {
            Ok((q, _)) => q,
            Err(_) => {
                self.emitted.push(node);
                return;
            }
        };
        let twin_output = self.u8_value(y, "_quantized");
        let mut twin = node.clone();
        twin.name = self.graph.unique_name(&format!("{}_u8", node.name));
        if let Some(first) = twin.inputs.first_mut() {
            *first = Some(twin_input);
        }
        twin.outputs = vec![twin_output];
        self.emitted.push(node);
        self.emitted.push(twin);
        self.quantized.insert(y, (twin_output, p));
    }

    /// Emits the integer form of `layer`, then a `DequantizeLinear` that
    /// makes its float output for any float reader.
    fn layer(&mut self, layer: &Layer) -> Result<QuantizedLayer, ConvertError> {
        let (x_q, x_p) = self.quantized_input(layer.input)?;
        let weights = quantize_weights(&layer.weights, layer.channels).ok_or_else(|| {
            error(format!(
                "{}: weights do not split into channels",
                layer.name
            ))
        })?;
        if let Some(float) = &layer.float_output {
            return self.float_output_layer(layer, (x_q, x_p), &weights, float);
        }
        let y_p = *self.params.get(&layer.output).ok_or_else(|| {
            error(format!(
                "no calibrated range for the output of {}",
                layer.name
            ))
        })?;
        let bias = quantize_bias(&layer.bias, x_p.scale, &weights.scales);
        let m = layer.channels;
        let (weight_shape, attributes) = match &layer.kind {
            LayerKind::Conv {
                attributes,
                weight_shape,
            } => (weight_shape.clone(), attributes.clone()),
            LayerKind::Dense { k, n } => (vec![*n, *k, 1], Vec::new()),
        };
        let bias = Tensor::from_slice(&[m], &bias);
        let (w, w_scale, b, bytes) =
            self.weight_constants(layer, &weight_shape, &weights, (bias, "bias_quantized"))?;
        // The weight zero point: one more byte.
        let bytes = bytes + 1;
        let hint = layer.name.clone();
        let w_zero = self
            .graph
            .add_constant(&format!("{hint}_weight_zero_point"), Tensor::scalar(0i8));
        let (x_scale, x_zero) = self.scalar_params(&format!("{hint}_input"), x_p);
        let (y_scale, y_zero) = self.scalar_params(&format!("{hint}_output"), y_p);
        let y_q = self.u8_value(layer.output, "_quantized");

        let (conv_in, conv_out) = match layer.kind {
            LayerKind::Conv { .. } => (x_q, y_q),
            LayerKind::Dense { k, n } => {
                let to_3d = match self.column_form.get(&x_q) {
                    Some(&three_d) => three_d,
                    None => self.reshape(x_q, layer, &[-1, k as i64, 1], &[None, Some(k), Some(1)]),
                };
                let out_3d = self
                    .graph
                    .add_value(&format!("{hint}_output_3d"), DType::U8, None);
                let _ = n;
                (to_3d, out_3d)
            }
        };
        self.emitted.push(Node {
            name: self.graph.unique_name(&format!("{hint}_QLinearConv")),
            op: OpCode::QLinearConv,
            inputs: [
                conv_in, x_scale, x_zero, w, w_scale, w_zero, y_scale, y_zero, b,
            ]
            .into_iter()
            .map(Some)
            .collect(),
            outputs: vec![conv_out],
            attributes,
        });
        if let LayerKind::Dense { n, .. } = layer.kind {
            self.reshape_into(conv_out, y_q, layer, &[-1, n as i64]);
            self.column_form.insert(y_q, conv_out);
        }
        // The float output, for float readers (removed when there are none).
        self.node(
            &format!("{hint}_DequantizeLinear"),
            OpCode::DequantizeLinear,
            vec![Some(y_q), Some(y_scale), Some(y_zero)],
            vec![layer.output],
        );
        self.quantized.insert(layer.output, (y_q, y_p));
        Ok(QuantizedLayer {
            output: y_q,
            params: Some(y_p),
            bytes,
        })
    }

    /// Emits a `QLinearConvF32` that writes the layer's f32 output itself,
    /// with the float bias, the residual and the activation.
    fn float_output_layer(
        &mut self,
        layer: &Layer,
        (x_q, x_p): (ValueId, ActivationParams),
        weights: &ChannelWeights,
        float: &FloatOutput,
    ) -> Result<QuantizedLayer, ConvertError> {
        let LayerKind::Conv {
            attributes,
            weight_shape,
        } = &layer.kind
        else {
            return Err(error(format!("{}: an f32 result needs a Conv", layer.name)));
        };
        let bias = Tensor::from_slice(&[layer.channels], &layer.bias);
        let (w, w_scale, b, bytes) =
            self.weight_constants(layer, weight_shape, weights, (bias, "bias"))?;
        let hint = layer.name.clone();
        let (x_scale, x_zero) = self.scalar_params(&format!("{hint}_input"), x_p);
        self.emitted.push(Node {
            name: self.graph.unique_name(&format!("{hint}_QLinearConvF32")),
            op: OpCode::QLinearConvF32,
            inputs: vec![
                Some(x_q),
                Some(x_scale),
                Some(x_zero),
                Some(w),
                Some(w_scale),
                None,
                Some(b),
                float.residual,
            ],
            outputs: vec![layer.output],
            attributes: attributes
                .iter()
                .chain(&float.activation)
                .cloned()
                .collect(),
        });
        Ok(QuantizedLayer {
            output: layer.output,
            params: None,
            bytes,
        })
    }

    /// Adds `layer`'s quantized weights (`weight_shape`), their scales and
    /// its bias (named `<layer>_<bias_name>`) as constants; returns their
    /// ids and bytes.
    fn weight_constants(
        &mut self,
        layer: &Layer,
        weight_shape: &[usize],
        weights: &ChannelWeights,
        (bias, bias_name): (Result<Tensor, TensorError>, &str),
    ) -> Result<(ValueId, ValueId, ValueId, u64), ConvertError> {
        let tensor_error = |e: TensorError| error(format!("{}: {e}", layer.name));
        let w = Tensor::from_slice(weight_shape, &weights.values).map_err(tensor_error)?;
        let w_scale =
            Tensor::from_slice(&[layer.channels], &weights.scales).map_err(tensor_error)?;
        let b = bias.map_err(tensor_error)?;
        let bytes = (w.bytes().len() + w_scale.bytes().len() + b.bytes().len()) as u64;
        let hint = &layer.name;
        let w = self
            .graph
            .add_constant(&format!("{hint}_weight_quantized"), w);
        let w_scale = self
            .graph
            .add_constant(&format!("{hint}_weight_scale"), w_scale);
        let b = self.graph.add_constant(&format!("{hint}_{bias_name}"), b);
        Ok((w, w_scale, b, bytes))
    }

    /// `Reshape(x, shape)` into a new u8 value; `dims` is its known shape.
    fn reshape(
        &mut self,
        x: ValueId,
        layer: &Layer,
        shape: &[i64],
        dims: &[Option<usize>],
    ) -> ValueId {
        let batch = self
            .graph
            .value(layer.input)
            .and_then(|v| v.shape.as_ref())
            .and_then(|s| s.first().cloned());
        let known: Option<Vec<Dim>> = dims
            .iter()
            .enumerate()
            .map(|(i, d)| match d {
                Some(d) => Some(Dim::Fixed(*d as u64)),
                None if i == 0 => batch.clone(),
                None => None,
            })
            .collect();
        let out = self
            .graph
            .add_value(&format!("{}_input_3d", layer.name), DType::U8, known);
        self.reshape_into(x, out, layer, shape);
        out
    }

    fn reshape_into(&mut self, x: ValueId, out: ValueId, layer: &Layer, shape: &[i64]) {
        let shape_tensor =
            Tensor::from_slice(&[shape.len()], shape).unwrap_or_else(|_| Tensor::scalar(0i64));
        let shape_id = self
            .graph
            .add_constant(&format!("{}_shape", layer.name), shape_tensor);
        self.node(
            &format!("{}_Reshape", layer.name),
            OpCode::Reshape,
            vec![Some(x), Some(shape_id)],
            vec![out],
        );
    }
}
