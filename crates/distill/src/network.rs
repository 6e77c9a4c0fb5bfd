//! A student network: its layers, built from a [`StudentSpec`] for an input
//! shape, and its parameters in one flat vector.

use crate::error::DistillError;
use crate::layers::{Conv2d, Layer, Linear, MaxPool, Saved};
use crate::rng::Rng;
use crate::spec::{CnnItem, StudentSpec};

/// Largest number of parameters or activation values a student may have
/// (so a typo in a spec cannot ask for gigabytes).
pub const MAX_STUDENT_VALUES: usize = 1 << 28;

/// A student network with its parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Student {
    spec: StudentSpec,
    input_shape: Vec<usize>,
    pub(crate) layers: Vec<Layer>,
    pub(crate) params: Vec<f32>,
}

/// The forward pass of one sample, kept for the backward pass.
pub(crate) struct Trace {
    /// `values[i]` is the input of layer `i`; the last one is the logits.
    values: Vec<Vec<f32>>,
    saved: Vec<Saved>,
}

impl Trace {
    /// The network's output.
    pub fn logits(&self) -> &[f32] {
        self.values.last().map_or(&[], Vec::as_slice)
    }
}

fn too_big(what: &str) -> DistillError {
    DistillError::Mismatch(format!("the student's {what} is too large"))
}

/// Builds layers while tracking the activation shape and parameter count.
struct Builder {
    layers: Vec<Layer>,
    /// Current activation shape `[C, H, W]` (a flat vector is `[len, 1, 1]`).
    shape: [usize; 3],
    params: usize,
}

impl Builder {
    fn len(&self) -> Result<usize, DistillError> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= MAX_STUDENT_VALUES)
            .ok_or_else(|| too_big("activation"))
    }

    fn take_params(&mut self, count: usize) -> Result<usize, DistillError> {
        let offset = self.params;
        self.params = offset
            .checked_add(count)
            .filter(|&n| n <= MAX_STUDENT_VALUES)
            .ok_or_else(|| too_big("parameter count"))?;
        Ok(offset)
    }

    fn relu(&mut self) -> Result<(), DistillError> {
        let len = self.len()?;
        self.layers.push(Layer::Relu { len });
        Ok(())
    }

    fn flatten(&mut self) -> Result<(), DistillError> {
        let len = self.len()?;
        self.layers.push(Layer::Flatten { len });
        self.shape = [len, 1, 1];
        Ok(())
    }

    fn linear(&mut self, outputs: usize) -> Result<(), DistillError> {
        let inputs = self.len()?;
        let weight_count = inputs
            .checked_mul(outputs)
            .ok_or_else(|| too_big("layer"))?;
        let weight = self.take_params(weight_count)?;
        let bias = self.take_params(outputs)?;
        self.layers.push(Layer::Linear(Linear {
            inputs,
            outputs,
            weight,
            bias,
        }));
        self.shape = [outputs, 1, 1];
        Ok(())
    }

    fn conv(&mut self, outputs: usize, kernel: usize) -> Result<(), DistillError> {
        let [in_channels, in_h, in_w] = self.shape;
        let padding = kernel / 2;
        let out_dim = |d: usize| (d + 2 * padding + 1).checked_sub(kernel).filter(|&n| n > 0);
        let (Some(out_h), Some(out_w)) = (out_dim(in_h), out_dim(in_w)) else {
            return Err(DistillError::Mismatch(format!(
                "a {kernel}x{kernel} convolution does not fit a {in_h}x{in_w} input"
            )));
        };
        let weight_count = [outputs, in_channels, kernel, kernel]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| too_big("convolution"))?;
        let weight = self.take_params(weight_count)?;
        let bias = self.take_params(outputs)?;
        self.layers.push(Layer::Conv2d(Conv2d {
            in_channels,
            out_channels: outputs,
            kernel,
            padding,
            in_h,
            in_w,
            out_h,
            out_w,
            weight,
            bias,
        }));
        self.shape = [outputs, out_h, out_w];
        // The unrolled input must fit too.
        [in_channels, kernel, kernel, out_h, out_w]
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n <= MAX_STUDENT_VALUES)
            .ok_or_else(|| too_big("unrolled convolution input"))?;
        self.len()?;
        self.relu()
    }

    fn pool(&mut self, size: usize) -> Result<(), DistillError> {
        let [channels, in_h, in_w] = self.shape;
        if in_h < size || in_w < size {
            return Err(DistillError::Mismatch(format!(
                "a {size}x{size} pool does not fit a {in_h}x{in_w} input"
            )));
        }
        let (out_h, out_w) = (in_h / size, in_w / size);
        self.layers.push(Layer::MaxPool(MaxPool {
            channels,
            size,
            in_h,
            in_w,
            out_h,
            out_w,
        }));
        self.shape = [channels, out_h, out_w];
        Ok(())
    }
}

impl Student {
    /// Builds the student `spec` for samples of shape `input_shape` (one
    /// sample, without the batch axis) with He-initialised weights drawn
    /// from `seed` and zero biases.
    ///
    /// An MLP needs `input_shape`'s element count to equal its first size;
    /// a CNN needs a `[C, H, W]` sample.
    pub fn new(
        spec: &StudentSpec,
        input_shape: &[usize],
        seed: u64,
    ) -> Result<Student, DistillError> {
        let sample_len = input_shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .filter(|&n| n > 0 && n <= MAX_STUDENT_VALUES)
            .ok_or_else(|| {
                DistillError::Mismatch(format!("unusable sample shape {input_shape:?}"))
            })?;
        let mut b = Builder {
            layers: Vec::new(),
            shape: [sample_len, 1, 1],
            params: 0,
        };
        match spec {
            StudentSpec::Mlp { sizes } => {
                let (first, rest) = sizes.split_first().ok_or_else(|| {
                    DistillError::Mismatch("an mlp needs at least two sizes".into())
                })?;
                if *first != sample_len {
                    return Err(DistillError::Mismatch(format!(
                        "the mlp takes {first} inputs, a sample has {sample_len} values \
                         (shape {input_shape:?})"
                    )));
                }
                b.flatten()?;
                for (i, &outputs) in rest.iter().enumerate() {
                    if i > 0 {
                        b.relu()?;
                    }
                    b.linear(outputs)?;
                }
            }
            StudentSpec::Cnn { items } => {
                let &[c, h, w] = input_shape else {
                    return Err(DistillError::Mismatch(format!(
                        "a cnn needs [channels, height, width] samples, got shape {input_shape:?}"
                    )));
                };
                b.shape = [c, h, w];
                let mut flat = false;
                for item in items {
                    match *item {
                        CnnItem::Conv { outputs, kernel } => b.conv(outputs, kernel)?,
                        CnnItem::Pool { size } => b.pool(size)?,
                        CnnItem::Dense { outputs } => {
                            if !flat {
                                b.flatten()?;
                                flat = true;
                            } else {
                                b.relu()?;
                            }
                            b.linear(outputs)?;
                        }
                    }
                }
            }
        }
        let mut student = Student {
            spec: spec.clone(),
            input_shape: input_shape.to_vec(),
            layers: b.layers,
            params: vec![0.0; b.params],
        };
        student.initialise(seed);
        Ok(student)
    }

    /// He (Kaiming) normal initialisation: weights ~ N(0, 2 / fan_in).
    fn initialise(&mut self, seed: u64) {
        let mut rng = Rng::new(seed);
        for layer in &self.layers {
            let (offset, count, fan_in) = match layer {
                Layer::Conv2d(c) => (
                    c.weight,
                    c.bias - c.weight,
                    c.in_channels * c.kernel * c.kernel,
                ),
                Layer::Linear(l) => (l.weight, l.bias - l.weight, l.inputs),
                _ => continue,
            };
            let std = (2.0 / fan_in as f64).sqrt();
            for w in &mut self.params[offset..][..count] {
                *w = (rng.normal() * std) as f32;
            }
        }
    }

    /// The description this student was built from.
    pub fn spec(&self) -> &StudentSpec {
        &self.spec
    }

    /// The shape of one input sample.
    pub fn input_shape(&self) -> &[usize] {
        &self.input_shape
    }

    /// Number of values in one input sample.
    pub fn input_len(&self) -> usize {
        self.input_shape.iter().product()
    }

    /// Number of trainable parameters.
    pub fn param_count(&self) -> usize {
        self.params.len()
    }

    /// All parameters, layer by layer (weights then bias).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Number of outputs (classes).
    pub fn classes(&self) -> usize {
        self.layers.last().map_or(0, Layer::output_len)
    }

    /// The logits for one sample (`input_len()` values, else an error).
    pub fn forward(&self, sample: &[f32]) -> Result<Vec<f32>, DistillError> {
        if sample.len() != self.input_len() {
            return Err(DistillError::Mismatch(format!(
                "a sample has {} values, the student takes {}",
                sample.len(),
                self.input_len()
            )));
        }
        Ok(self.trace(sample).values.pop().unwrap_or_default())
    }

    /// The forward pass, keeping what the backward pass needs. `sample`
    /// must have `input_len()` values.
    pub(crate) fn trace(&self, sample: &[f32]) -> Trace {
        let mut values = Vec::with_capacity(self.layers.len() + 1);
        let mut saved = Vec::with_capacity(self.layers.len());
        values.push(sample.to_vec());
        for layer in &self.layers {
            let input = values.last().map_or(&[][..], Vec::as_slice);
            let (out, keep) = layer.forward(&self.params, input);
            values.push(out);
            saved.push(keep);
        }
        Trace { values, saved }
    }

    /// Adds the gradient of the loss with respect to every parameter into
    /// `grads`, given the gradient with respect to the logits.
    pub(crate) fn backward(&self, trace: &Trace, grad_logits: &[f32], grads: &mut [f32]) {
        let mut grad = grad_logits.to_vec();
        for (i, layer) in self.layers.iter().enumerate().rev() {
            let input = &trace.values[i];
            let mut grad_in = if i > 0 {
                vec![0.0; input.len()]
            } else {
                Vec::new()
            };
            layer.backward(
                &self.params,
                input,
                &trace.saved[i],
                &grad,
                grads,
                (i > 0).then_some(grad_in.as_mut_slice()),
            );
            if i == 0 {
                break;
            }
            grad = grad_in;
        }
    }
}
