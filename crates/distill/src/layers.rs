//! The student's layers: forward and backward for one sample.
//!
//! Every layer reads its parameters from the network's flat parameter
//! vector at fixed offsets and adds its parameter gradients into a gradient
//! vector of the same layout. Activations are `[C, H, W]` in row-major
//! order; a flat vector is `[len, 1, 1]`. Sizes are checked when the network
//! is built ([`crate::Student::new`]), so the loops here index buffers whose
//! lengths they know.

/// A Conv2d layer: stride 1, square kernel, zero padding on all sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Conv2d {
    pub in_channels: usize,
    pub out_channels: usize,
    pub kernel: usize,
    pub padding: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
    /// Offset of the weights `[out_channels, in_channels, kernel, kernel]`.
    pub weight: usize,
    /// Offset of the bias `[out_channels]`.
    pub bias: usize,
}

/// Max pooling with window `size` and stride `size` (the remainder rows
/// and columns are dropped, like ONNX's floor rounding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MaxPool {
    pub channels: usize,
    pub size: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_h: usize,
    pub out_w: usize,
}

/// A fully connected layer `y = W x + b` with `W` of shape `[outputs, inputs]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Linear {
    pub inputs: usize,
    pub outputs: usize,
    /// Offset of the weights `[outputs, inputs]`.
    pub weight: usize,
    /// Offset of the bias `[outputs]`.
    pub bias: usize,
}

/// One layer of a student.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Layer {
    Conv2d(Conv2d),
    MaxPool(MaxPool),
    /// `max(x, 0)` over `len` values.
    Relu {
        len: usize,
    },
    /// `[C, H, W]` to `[C·H·W]`: the values do not move.
    Flatten {
        len: usize,
    },
    Linear(Linear),
}

impl Conv2d {
    fn patch_len(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    fn positions(&self) -> usize {
        self.out_h * self.out_w
    }

    /// The input unrolled: row `(ic, ky, kx)`, column `(oy, ox)` holds
    /// `input[ic, oy + ky - padding, ox + kx - padding]` (0 outside).
    fn im2col(&self, input: &[f32]) -> Vec<f32> {
        let positions = self.positions();
        let mut cols = vec![0.0; self.patch_len() * positions];
        let mut rows = cols.chunks_exact_mut(positions.max(1));
        for ic in 0..self.in_channels {
            let plane = &input[ic * self.in_h * self.in_w..][..self.in_h * self.in_w];
            for ky in 0..self.kernel {
                for kx in 0..self.kernel {
                    let Some(row) = rows.next() else { return cols };
                    for oy in 0..self.out_h {
                        let Some(iy) = (oy + ky).checked_sub(self.padding) else {
                            continue;
                        };
                        if iy >= self.in_h {
                            continue;
                        }
                        let src = &plane[iy * self.in_w..][..self.in_w];
                        let dst = &mut row[oy * self.out_w..][..self.out_w];
                        for (ox, d) in dst.iter_mut().enumerate() {
                            if let Some(ix) = (ox + kx).checked_sub(self.padding)
                                && ix < self.in_w
                            {
                                *d = src[ix];
                            }
                        }
                    }
                }
            }
        }
        cols
    }

    /// Adds the unrolled gradient back onto the input positions it came from.
    fn col2im(&self, dcols: &[f32], grad_in: &mut [f32]) {
        let positions = self.positions();
        let mut rows = dcols.chunks_exact(positions.max(1));
        for ic in 0..self.in_channels {
            let plane = &mut grad_in[ic * self.in_h * self.in_w..][..self.in_h * self.in_w];
            for ky in 0..self.kernel {
                for kx in 0..self.kernel {
                    let Some(row) = rows.next() else { return };
                    for oy in 0..self.out_h {
                        let Some(iy) = (oy + ky).checked_sub(self.padding) else {
                            continue;
                        };
                        if iy >= self.in_h {
                            continue;
                        }
                        let dst = &mut plane[iy * self.in_w..][..self.in_w];
                        let src = &row[oy * self.out_w..][..self.out_w];
                        for (ox, s) in src.iter().enumerate() {
                            if let Some(ix) = (ox + kx).checked_sub(self.padding)
                                && ix < self.in_w
                            {
                                dst[ix] += s;
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `y += a * x`.
fn axpy(a: f32, x: &[f32], y: &mut [f32]) {
    for (y, x) in y.iter_mut().zip(x) {
        *y += a * x;
    }
}

/// The dot product, summed in eight fixed lanes (vectorisable, and the
/// same on every run).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let a_chunks = a.chunks_exact(8);
    let b_chunks = b.chunks_exact(8);
    let tail: f32 = a_chunks
        .remainder()
        .iter()
        .zip(b_chunks.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a_chunks.zip(b_chunks) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// What a layer's forward pass keeps for its backward pass.
#[derive(Clone, Debug, Default)]
pub(crate) struct Saved {
    /// The unrolled input of a Conv2d (empty for other layers).
    cols: Vec<f32>,
}

impl Layer {
    /// Parameters this layer owns.
    #[cfg(test)]
    pub fn param_count(&self) -> usize {
        match self {
            Layer::Conv2d(c) => c.out_channels * c.patch_len() + c.out_channels,
            Layer::Linear(l) => l.outputs * l.inputs + l.outputs,
            Layer::MaxPool(_) | Layer::Relu { .. } | Layer::Flatten { .. } => 0,
        }
    }

    /// Values this layer produces.
    pub fn output_len(&self) -> usize {
        match self {
            Layer::Conv2d(c) => c.out_channels * c.positions(),
            Layer::MaxPool(p) => p.channels * p.out_h * p.out_w,
            Layer::Relu { len } | Layer::Flatten { len } => *len,
            Layer::Linear(l) => l.outputs,
        }
    }

    /// Computes the output for `input`; returns it with what backward needs.
    pub fn forward(&self, params: &[f32], input: &[f32]) -> (Vec<f32>, Saved) {
        let mut out = vec![0.0; self.output_len()];
        let mut saved = Saved::default();
        match self {
            Layer::Conv2d(c) => {
                let cols = c.im2col(input);
                let (patch, positions) = (c.patch_len(), c.positions());
                let weights = &params[c.weight..][..c.out_channels * patch];
                let bias = &params[c.bias..][..c.out_channels];
                for ((o, w), b) in out
                    .chunks_exact_mut(positions.max(1))
                    .zip(weights.chunks_exact(patch.max(1)))
                    .zip(bias)
                {
                    o.fill(*b);
                    for (w, col) in w.iter().zip(cols.chunks_exact(positions.max(1))) {
                        axpy(*w, col, o);
                    }
                }
                saved.cols = cols;
            }
            Layer::MaxPool(p) => {
                for ch in 0..p.channels {
                    let plane = &input[ch * p.in_h * p.in_w..][..p.in_h * p.in_w];
                    for oy in 0..p.out_h {
                        for ox in 0..p.out_w {
                            let (iy, ix) = pool_argmax(p, plane, oy, ox);
                            out[(ch * p.out_h + oy) * p.out_w + ox] = plane[iy * p.in_w + ix];
                        }
                    }
                }
            }
            Layer::Relu { .. } => {
                for (o, x) in out.iter_mut().zip(input) {
                    *o = x.max(0.0);
                }
            }
            Layer::Flatten { .. } => out.copy_from_slice(input),
            Layer::Linear(l) => {
                let weights = &params[l.weight..][..l.outputs * l.inputs];
                let bias = &params[l.bias..][..l.outputs];
                for ((o, w), b) in out.iter_mut().zip(weights.chunks_exact(l.inputs)).zip(bias) {
                    *o = b + dot(w, input);
                }
            }
        }
        (out, saved)
    }

    /// Given the gradient of the loss with respect to this layer's output,
    /// adds the parameter gradients into `grads` and, when `grad_in` is
    /// given, writes the gradient with respect to the input into it.
    pub fn backward(
        &self,
        params: &[f32],
        input: &[f32],
        saved: &Saved,
        grad_out: &[f32],
        grads: &mut [f32],
        grad_in: Option<&mut [f32]>,
    ) {
        match self {
            Layer::Conv2d(c) => {
                let (patch, positions) = (c.patch_len(), c.positions());
                let weights = &params[c.weight..][..c.out_channels * patch];
                let cols = &saved.cols;
                let (before_bias, bias_grads) = grads.split_at_mut(c.bias);
                let weight_grads = &mut before_bias[c.weight..][..c.out_channels * patch];
                for ((g, dw), db) in grad_out
                    .chunks_exact(positions.max(1))
                    .zip(weight_grads.chunks_exact_mut(patch.max(1)))
                    .zip(bias_grads.iter_mut())
                {
                    *db += g.iter().sum::<f32>();
                    for (dw, col) in dw.iter_mut().zip(cols.chunks_exact(positions.max(1))) {
                        *dw += dot(g, col);
                    }
                }
                if let Some(grad_in) = grad_in {
                    let mut dcols = vec![0.0; patch * positions];
                    for (g, w) in grad_out
                        .chunks_exact(positions.max(1))
                        .zip(weights.chunks_exact(patch.max(1)))
                    {
                        for (w, dcol) in w.iter().zip(dcols.chunks_exact_mut(positions.max(1))) {
                            axpy(*w, g, dcol);
                        }
                    }
                    grad_in.fill(0.0);
                    c.col2im(&dcols, grad_in);
                }
            }
            Layer::MaxPool(p) => {
                let Some(grad_in) = grad_in else { return };
                grad_in.fill(0.0);
                for ch in 0..p.channels {
                    let plane = &input[ch * p.in_h * p.in_w..][..p.in_h * p.in_w];
                    let gplane = &mut grad_in[ch * p.in_h * p.in_w..][..p.in_h * p.in_w];
                    for oy in 0..p.out_h {
                        for ox in 0..p.out_w {
                            let (iy, ix) = pool_argmax(p, plane, oy, ox);
                            gplane[iy * p.in_w + ix] +=
                                grad_out[(ch * p.out_h + oy) * p.out_w + ox];
                        }
                    }
                }
            }
            Layer::Relu { .. } => {
                let Some(grad_in) = grad_in else { return };
                for ((gi, g), x) in grad_in.iter_mut().zip(grad_out).zip(input) {
                    *gi = if *x > 0.0 { *g } else { 0.0 };
                }
            }
            Layer::Flatten { .. } => {
                if let Some(grad_in) = grad_in {
                    grad_in.copy_from_slice(grad_out);
                }
            }
            Layer::Linear(l) => {
                let weights = &params[l.weight..][..l.outputs * l.inputs];
                let (before_bias, bias_grads) = grads.split_at_mut(l.bias);
                let weight_grads = &mut before_bias[l.weight..][..l.outputs * l.inputs];
                for ((g, dw), db) in grad_out
                    .iter()
                    .zip(weight_grads.chunks_exact_mut(l.inputs))
                    .zip(bias_grads.iter_mut())
                {
                    *db += g;
                    axpy(*g, input, dw);
                }
                if let Some(grad_in) = grad_in {
                    grad_in.fill(0.0);
                    for (g, w) in grad_out.iter().zip(weights.chunks_exact(l.inputs)) {
                        axpy(*g, w, grad_in);
                    }
                }
            }
        }
    }
}

/// The position of the largest input in pooling window `(oy, ox)` (the first
/// of equals in row-major order).
fn pool_argmax(p: &MaxPool, plane: &[f32], oy: usize, ox: usize) -> (usize, usize) {
    let mut best = (oy * p.size, ox * p.size);
    let mut best_value = f32::NEG_INFINITY;
    for iy in oy * p.size..(oy + 1) * p.size {
        for ix in ox * p.size..(ox + 1) * p.size {
            let v = plane[iy * p.in_w + ix];
            if v > best_value {
                best_value = v;
                best = (iy, ix);
            }
        }
    }
    best
}
