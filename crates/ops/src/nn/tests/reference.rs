//! Naive reference implementations, written independently of the operator
//! code: one loop nest per definition, multi-indices decoded by division,
//! bounds checked per tap. Slow and obvious on purpose.

use pocketnn_tensor::Tensor;

/// Row-major multi-index of flat `index` in `shape`.
pub(super) fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut coords = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        coords[d] = index % shape[d];
        index /= shape[d];
    }
    coords
}

/// Flat row-major index of `coords` in `shape`.
pub(super) fn ravel(coords: &[usize], shape: &[usize]) -> usize {
    coords
        .iter()
        .zip(shape)
        .fold(0, |acc, (&c, &d)| acc * d + c)
}

/// Spatial window parameters of one reference call (one value per axis).
#[derive(Clone, Debug)]
pub(super) struct Window {
    pub strides: Vec<usize>,
    pub dilations: Vec<usize>,
    pub pads_begin: Vec<i64>,
    pub pads_end: Vec<i64>,
}

/// Conv output size with explicit pads: full windows inside the padded input.
pub(super) fn conv_out(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pb: i64,
    pe: i64,
) -> Option<usize> {
    let padded = input as i64 + pb + pe;
    let span = (kernel as i64 - 1) * dilation as i64 + 1;
    if padded < span {
        return None;
    }
    Some(((padded - span) / stride as i64 + 1) as usize)
}

/// `Y[n, m, o] = B[m] + Σ_{c in group(m), k} X[n, c, o*s + k*d - pb] · W[m, c, k]`.
pub(super) fn conv(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&[f32]>,
    group: usize,
    win: &Window,
    out_spatial: &[usize],
) -> Vec<f32> {
    let (x_shape, w_shape) = (x.shape(), w.shape());
    let (x, w) = (x.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
    let (n_batch, c_in, m_out) = (x_shape[0], x_shape[1], w_shape[0]);
    let (cg, mg) = (c_in / group, m_out / group);
    let kernel = &w_shape[2..];
    let mut out_shape = vec![n_batch, m_out];
    out_shape.extend_from_slice(out_spatial);
    let total: usize = out_shape.iter().product();
    let taps: usize = kernel.iter().product();
    let mut y = vec![0.0f32; total];
    for (flat, out) in y.iter_mut().enumerate() {
        let idx = unravel(flat, &out_shape);
        let (n, m) = (idx[0], idx[1]);
        let g = m / mg;
        let mut acc = bias.map_or(0.0, |b| b[m]);
        for c in 0..cg {
            for t in 0..taps {
                let k = unravel(t, kernel);
                let mut xi = vec![n, g * cg + c];
                let mut inside = true;
                for d in 0..kernel.len() {
                    let coord = (idx[2 + d] * win.strides[d] + k[d] * win.dilations[d]) as i64
                        - win.pads_begin[d];
                    if coord < 0 || coord >= x_shape[2 + d] as i64 {
                        inside = false;
                    }
                    xi.push(coord.max(0) as usize);
                }
                if inside {
                    let mut wi = vec![m, c];
                    wi.extend_from_slice(&k);
                    acc += x[ravel(&xi, x_shape)] * w[ravel(&wi, w_shape)];
                }
            }
        }
        *out = acc;
    }
    y
}

/// Scatters every input element through the kernel:
/// `Y[n, g*Mg + m, i*s + k*d - pb] += X[n, c, i] · W[c, m, k]`, plus bias.
pub(super) fn conv_transpose(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&[f32]>,
    group: usize,
    win: &Window,
    out_spatial: &[usize],
) -> Vec<f32> {
    let (x_shape, w_shape) = (x.shape(), w.shape());
    let (x, w) = (x.as_slice::<f32>().unwrap(), w.as_slice::<f32>().unwrap());
    let (n_batch, c_in, mg) = (x_shape[0], x_shape[1], w_shape[1]);
    let cg = c_in / group;
    let kernel = &w_shape[2..];
    let mut out_shape = vec![n_batch, mg * group];
    out_shape.extend_from_slice(out_spatial);
    let mut y = vec![0.0f32; out_shape.iter().product()];
    let taps: usize = kernel.iter().product();
    for (flat, &xv) in x.iter().enumerate() {
        let idx = unravel(flat, x_shape);
        let (n, c) = (idx[0], idx[1]);
        let g = c / cg;
        for m in 0..mg {
            for t in 0..taps {
                let k = unravel(t, kernel);
                let mut yi = vec![n, g * mg + m];
                let mut inside = true;
                for d in 0..kernel.len() {
                    let coord = (idx[2 + d] * win.strides[d] + k[d] * win.dilations[d]) as i64
                        - win.pads_begin[d];
                    if coord < 0 || coord >= out_spatial[d] as i64 {
                        inside = false;
                    }
                    yi.push(coord.max(0) as usize);
                }
                if inside {
                    let mut wi = vec![c, m];
                    wi.extend_from_slice(&k);
                    y[ravel(&yi, &out_shape)] += xv * w[ravel(&wi, w_shape)];
                }
            }
        }
    }
    if let Some(b) = bias {
        for (flat, v) in y.iter_mut().enumerate() {
            *v += b[unravel(flat, &out_shape)[1]];
        }
    }
    y
}

/// Pooling reductions.
#[derive(Clone, Copy, Debug)]
pub(super) enum PoolKind {
    Max,
    Average { include_pad: bool },
}

/// Pool output size: with `ceil`, partial windows count as long as they
/// start inside the input or the begin padding.
pub(super) fn pool_out(
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    pb: i64,
    pe: i64,
    ceil: bool,
) -> Option<usize> {
    if !ceil {
        return conv_out(input, kernel, stride, dilation, pb, pe);
    }
    let span = (kernel as i64 - 1) * dilation as i64 + 1;
    let padded = input as i64 + pb + pe;
    if padded < span {
        return None;
    }
    // Count windows one by one: a window is kept when it starts inside the
    // input or begin padding and does not lie entirely past a full window.
    let mut count = 0;
    loop {
        let start = count as i64 * stride as i64; // in padded coordinates
        let starts_inside = start - pb < input as i64;
        let not_past_end = start < padded - span + stride as i64;
        if !(starts_inside && not_past_end) {
            break;
        }
        count += 1;
    }
    Some(count)
}

/// Values and row-major flat argmax indices.
pub(super) fn pool(
    x: &[f32],
    x_shape: &[usize],
    kernel: &[usize],
    win: &Window,
    out_spatial: &[usize],
    kind: PoolKind,
) -> (Vec<f32>, Vec<i64>) {
    let mut out_shape = x_shape[..2].to_vec();
    out_shape.extend_from_slice(out_spatial);
    let total: usize = out_shape.iter().product();
    let taps: usize = kernel.iter().product();
    let (mut values, mut indices) = (vec![0.0; total], vec![-1; total]);
    for flat in 0..total {
        let idx = unravel(flat, &out_shape);
        let (mut best, mut best_at) = (f32::NEG_INFINITY, None);
        let (mut sum, mut count) = (0.0f32, 0usize);
        for t in 0..taps {
            let k = unravel(t, kernel);
            let mut xi = idx[..2].to_vec();
            let (mut inside, mut inside_padded) = (true, true);
            for d in 0..kernel.len() {
                let coord = (idx[2 + d] * win.strides[d] + k[d] * win.dilations[d]) as i64
                    - win.pads_begin[d];
                let size = x_shape[2 + d] as i64;
                inside &= coord >= 0 && coord < size;
                inside_padded &= coord >= -win.pads_begin[d] && coord < size + win.pads_end[d];
                xi.push(coord.max(0) as usize);
            }
            if inside {
                let at = ravel(&xi, x_shape);
                // The first maximum wins; NaNs are skipped (as onnxruntime).
                if x[at] > best || (best_at.is_none() && !x[at].is_nan()) {
                    best = x[at];
                    best_at = Some(at);
                }
                sum += x[at];
                count += 1;
            } else if inside_padded && matches!(kind, PoolKind::Average { include_pad: true }) {
                count += 1;
            }
        }
        match kind {
            PoolKind::Max => {
                values[flat] = best;
                indices[flat] = best_at.map_or(-1, |a| a as i64);
            }
            PoolKind::Average { .. } => values[flat] = sum / count as f32,
        }
    }
    (values, indices)
}

/// Plain triple loop: `a` is m×k, `b` is k×n, both row-major.
pub(super) fn matmul(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f64;
            for p in 0..k {
                acc += f64::from(a[i * k + p]) * f64::from(b[p * n + j]);
            }
            c[i * n + j] = acc as f32;
        }
    }
    c
}

/// The transpose of row-major `rows`×`cols` `a`.
pub(super) fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0f32; a.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}
