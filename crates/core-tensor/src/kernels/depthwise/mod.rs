//! f32 depthwise 2-D convolution, NCHW, one filter per channel: dedicated
//! kernels for 3×3 and 5×5 filters with stride 1 or 2, any padding, a bias
//! and an [`Activation`] epilogue. The int8 form is [`depthwise_u8i8`].
//!
//! Kernel names: `f32-dwconv<k>x<k>-s<stride>-<isa>` (`f32-dwconv3x3-s1-avx512`,
//! see [`kernel_name`]); the reference is `f32-dwconv-scalar`
//! ([`depthwise_f32_reference`]).
//!
//! Each output row is computed `LANES` columns at a time: one accumulator
//! vector starts at the bias and takes one fused multiply-add per filter
//! tap, reading the input row at the tap's offset (stride 2: the even and
//! odd columns are split by a deinterleaving load). Input rows are read in
//! place when no column padding is involved; otherwise (and for rows whose
//! whole-vector reads would leave the plane) each input row is copied once
//! into a ring of `K` zero-bordered rows wide enough for whole vectors, so
//! the inner loop has no edge cases and the scratch stays in L1. The
//! activation runs over each finished plane.
//!
//! ```
//! use pocketnn_tensor::Isa;
//! use pocketnn_tensor::kernels::activation::Activation;
//! use pocketnn_tensor::kernels::depthwise::{DepthwiseGeometry, depthwise_f32};
//!
//! // A 3×3 box filter over a 4×4 plane of ones, padding 1: corners see 4.
//! let geometry = DepthwiseGeometry::new(3, 1, (4, 4), (4, 4), (1, 1));
//! let x = [1.0f32; 16];
//! let mut y = [0.0f32; 16];
//! depthwise_f32(Isa::best(), &geometry, &x, &[1.0; 9], None, Activation::None, &mut y)?;
//! assert_eq!((y[0], y[1], y[5]), (4.0, 6.0, 9.0));
//! # Ok::<(), pocketnn_tensor::TensorError>(())
//! ```

use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::activation::{Activation, VectorFunction, VectorKernel};
use crate::kernels::simd::{Simd, SimdKernel, run_on, store_partial};

#[cfg(test)]
mod tests;
mod u8;
#[cfg(test)]
mod u8_tests;
#[cfg(target_arch = "x86_64")]
mod u8_x86;

pub use u8::{DepthwiseU8I8, MAX_TAPS, depthwise_u8i8, depthwise_u8i8_reference, kernel_name_u8i8};

/// The name of the kernel for a `kernel × kernel` filter with `stride` on
/// tier `isa`: `f32-dwconv3x3-s2-avx2`.
pub fn kernel_name(kernel: usize, stride: usize, isa: Isa) -> String {
    format!("f32-dwconv{kernel}x{kernel}-s{stride}-{isa}")
}

/// True when a dedicated kernel exists for this filter size and stride
/// (3×3 or 5×5, stride 1 or 2; dilation 1).
pub fn is_supported(kernel: usize, stride: usize) -> bool {
    matches!(kernel, 3 | 5) && matches!(stride, 1 | 2)
}

/// The geometry of one channel: output `(oh, ow)` reads input rows
/// `oh·stride + kh - pad_top` and columns `ow·stride + kw - pad_left` for
/// taps `kh, kw < kernel`; taps outside the input read zero (so any output
/// size is valid: the end padding is implied).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepthwiseGeometry {
    /// Filter height and width.
    pub kernel: usize,
    /// Step between windows, both axes.
    pub stride: usize,
    /// Input height and width.
    pub input: (usize, usize),
    /// Output height and width.
    pub output: (usize, usize),
    /// Rows above and columns left of the input that are padding.
    pub pad: (usize, usize),
}

impl DepthwiseGeometry {
    /// A geometry: `(height, width)` pairs and `pad = (top, left)`.
    pub fn new(
        kernel: usize,
        stride: usize,
        input: (usize, usize),
        output: (usize, usize),
        pad: (usize, usize),
    ) -> DepthwiseGeometry {
        DepthwiseGeometry {
            kernel,
            stride,
            input,
            output,
            pad,
        }
    }

    fn input_len(&self) -> Option<usize> {
        self.input.0.checked_mul(self.input.1)
    }

    fn output_len(&self) -> Option<usize> {
        self.output.0.checked_mul(self.output.1)
    }
}

/// Checks `len(data) == planes · plane_len` for 4-byte elements, with
/// checked arithmetic.
fn check_len(
    planes: usize,
    plane_len: Option<usize>,
    data: usize,
    kernel: &'static str,
) -> Result<(), TensorError> {
    check_len_of(4, planes, plane_len, data, kernel)
}

/// Checks `len(data) == planes · plane_len` for elements of `bytes` bytes
/// (the error counts bytes), with checked arithmetic.
fn check_len_of(
    bytes: usize,
    planes: usize,
    plane_len: Option<usize>,
    data: usize,
    kernel: &'static str,
) -> Result<(), TensorError> {
    let expected = plane_len.and_then(|p| p.checked_mul(planes)).ok_or(
        TensorError::InvalidKernelArguments {
            kernel,
            reason: "the planes' size overflows",
        },
    )?;
    if expected != data {
        return Err(TensorError::LengthMismatch {
            expected: expected.saturating_mul(bytes),
            actual: data.saturating_mul(bytes),
        });
    }
    Ok(())
}

/// Validates the arguments of a depthwise call over `planes` channels.
fn check_arguments(
    geometry: &DepthwiseGeometry,
    planes: usize,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    output: &[f32],
) -> Result<(), TensorError> {
    const NAME: &str = "f32-dwconv";
    if !is_supported(geometry.kernel, geometry.stride) {
        return Err(TensorError::InvalidKernelArguments {
            kernel: NAME,
            reason: "only 3×3 and 5×5 filters with stride 1 or 2 have a kernel",
        });
    }
    check_len(planes, geometry.input_len(), input.len(), NAME)?;
    check_len(planes, geometry.output_len(), output.len(), NAME)?;
    check_len(
        planes,
        Some(geometry.kernel * geometry.kernel),
        weights.len(),
        NAME,
    )?;
    if let Some(bias) = bias {
        check_len(planes, Some(1), bias.len(), NAME)?;
    }
    Ok(())
}

/// Depthwise convolution of one or more channels: `input` holds the
/// channels' planes one after the other (`input.0 × input.1` each),
/// `weights` one `kernel × kernel` filter per channel, `bias` one value per
/// channel; `output` receives `output.0 × output.1` values per channel.
///
/// Fails when the filter has no dedicated kernel ([`is_supported`]), the
/// slice lengths do not match the geometry and channel count, or this CPU
/// lacks the tier.
pub fn depthwise_f32(
    isa: Isa,
    geometry: &DepthwiseGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    output: &mut [f32],
) -> Result<(), TensorError> {
    let planes = weights.len() / (geometry.kernel * geometry.kernel).max(1);
    check_arguments(geometry, planes, input, weights, bias, output)?;
    if planes == 0 || output.is_empty() {
        return Ok(());
    }
    let kernel = DepthwiseKernel {
        geometry,
        input,
        weights,
        bias,
        activation,
        output,
    };
    match (geometry.kernel, geometry.stride) {
        (3, 1) => run_on(isa, Typed::<3, 1>(kernel)),
        (3, 2) => run_on(isa, Typed::<3, 2>(kernel)),
        (5, 1) => run_on(isa, Typed::<5, 1>(kernel)),
        _ => run_on(isa, Typed::<5, 2>(kernel)),
    }
}

/// `f32-dwconv-scalar`: the reference, plain loops over every tap with
/// bounds checks, multiply and add unfused, then
/// [`Activation::apply_reference`]. Same arguments as [`depthwise_f32`]
/// (any filter size and stride above 0).
pub fn depthwise_f32_reference(
    geometry: &DepthwiseGeometry,
    input: &[f32],
    weights: &[f32],
    bias: Option<&[f32]>,
    activation: Activation,
    output: &mut [f32],
) -> Result<(), TensorError> {
    let k = geometry.kernel;
    let planes = weights.len() / (k * k).max(1);
    check_len(
        planes,
        geometry.input_len(),
        input.len(),
        "f32-dwconv-scalar",
    )?;
    check_len(
        planes,
        geometry.output_len(),
        output.len(),
        "f32-dwconv-scalar",
    )?;
    let (h, w) = geometry.input;
    let (oh_count, ow_count) = geometry.output;
    for c in 0..planes {
        let x = &input[c * h * w..][..h * w];
        let filter = &weights[c * k * k..][..k * k];
        let y = &mut output[c * oh_count * ow_count..][..oh_count * ow_count];
        for oh in 0..oh_count {
            for ow in 0..ow_count {
                let mut sum = bias.map_or(0.0, |b| b[c]);
                for kh in 0..k {
                    for kw in 0..k {
                        let ih = (oh * geometry.stride + kh) as i64 - geometry.pad.0 as i64;
                        let iw = (ow * geometry.stride + kw) as i64 - geometry.pad.1 as i64;
                        if (0..h as i64).contains(&ih) && (0..w as i64).contains(&iw) {
                            sum += filter[kh * k + kw] * x[ih as usize * w + iw as usize];
                        }
                    }
                }
                y[oh * ow_count + ow] = activation.apply_reference(sum);
            }
        }
    }
    Ok(())
}

/// The arguments of one call, validated.
struct DepthwiseKernel<'a> {
    geometry: &'a DepthwiseGeometry,
    input: &'a [f32],
    weights: &'a [f32],
    bias: Option<&'a [f32]>,
    activation: Activation,
    output: &'a mut [f32],
}

/// [`DepthwiseKernel`] for filter size `K` and stride `STRIDE`.
struct Typed<'a, const K: usize, const STRIDE: usize>(DepthwiseKernel<'a>);

impl<const K: usize, const STRIDE: usize> SimdKernel for Typed<'_, K, STRIDE> {
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let DepthwiseKernel {
            geometry,
            input,
            weights,
            bias,
            activation,
            output,
        } = self.0;
        let rows = Rows::new::<S, K, STRIDE>(geometry);
        let mut ring = vec![0.0f32; rows.ring_floats()];
        let in_plane = geometry.input.0 * geometry.input.1;
        let out_plane = geometry.output.0 * geometry.output.1;
        for (c, (filter, y)) in weights
            .chunks_exact(K * K)
            .zip(output.chunks_exact_mut(out_plane))
            .enumerate()
        {
            let x = &input[c * in_plane..][..in_plane];
            let bias = bias.map_or(0.0, |b| b[c]);
            plane::<S, K, STRIDE>(s, &rows, x, filter, bias, y, &mut ring);
            if activation != Activation::None {
                s.run(VectorKernel {
                    function: VectorFunction::Activation(activation),
                    input: None,
                    output: y,
                });
            }
        }
    }
}

/// How the input rows of a plane are read: straight from the input when
/// whole vectors can be read there, else from a ring of `K` zero-bordered
/// copies.
struct Rows {
    geometry: DepthwiseGeometry,
    /// Values one output row reads from each input row: `vectors·LANES·stride
    /// + K` (the last vector's unused lanes read values past the last output
    /// column, which are never stored). Column `j` is input column
    /// `j - pad_left`.
    row_len: usize,
    /// True when no column padding is read, so rows can be read in place
    /// (reads past a row's end then land in the next row or are refused
    /// when they would leave the plane).
    in_place: bool,
}

impl Rows {
    fn new<S: Simd, const K: usize, const STRIDE: usize>(geometry: &DepthwiseGeometry) -> Rows {
        let (_, w) = geometry.input;
        let out_w = geometry.output.1;
        let vectors = out_w.div_ceil(S::LANES);
        let row_len = vectors * S::LANES * STRIDE + K;
        let in_place = geometry.pad.1 == 0 && out_w > 0 && (out_w - 1) * STRIDE + K <= w;
        Rows {
            geometry: *geometry,
            row_len,
            in_place,
        }
    }

    /// Scratch values the ring needs.
    fn ring_floats(&self) -> usize {
        self.geometry.kernel * self.row_len
    }

    /// The input row `ih` (may be padding) read in place, if possible.
    fn in_place<'x>(&self, x: &'x [f32], ih: i64) -> Option<&'x [f32]> {
        let (h, w) = self.geometry.input;
        if !self.in_place || ih < 0 || ih >= h as i64 {
            return None;
        }
        x.get(ih as usize * w..)?.get(..self.row_len)
    }

    /// Writes input row `ih` into `slot`, zero outside the input.
    fn copy(&self, x: &[f32], ih: i64, slot: &mut [f32]) {
        let (h, w) = self.geometry.input;
        if ih < 0 || ih >= h as i64 {
            slot.fill(0.0);
            return;
        }
        let pad_left = self.geometry.pad.1.min(slot.len());
        let copied = w.min(slot.len() - pad_left);
        slot[..pad_left].fill(0.0);
        slot[pad_left..pad_left + copied].copy_from_slice(&x[ih as usize * w..][..copied]);
        slot[pad_left + copied..].fill(0.0);
    }
}

/// One channel: `y = bias + Σ taps`, row by row.
#[inline(always)]
fn plane<S: Simd, const K: usize, const STRIDE: usize>(
    s: S,
    rows: &Rows,
    x: &[f32],
    filter: &[f32],
    bias: f32,
    y: &mut [f32],
    ring: &mut [f32],
) {
    let (out_h, out_w) = rows.geometry.output;
    let pad_top = rows.geometry.pad.0 as i64;
    let lanes = S::LANES;
    let row_len = rows.row_len;
    // Which input row each ring slot holds.
    let mut held = [i64::MIN; K];
    // Values of an input row one output vector reads.
    let window = lanes * STRIDE + K;
    let full = out_w / lanes;
    // The filter taps as vectors, once per plane (plain loops: a closure
    // handed to a generic helper may be compiled outside the tier's
    // `#[target_feature]` context and call every vector operation).
    let mut weights = [[s.splat(0.0); K]; K];
    for (kh, weights_row) in weights.iter_mut().enumerate() {
        for (kw, w) in weights_row.iter_mut().enumerate() {
            *w = s.splat(filter[kh * K + kw]);
        }
    }
    for oh in 0..out_h {
        let first = (oh * STRIDE) as i64 - pad_top;
        for kh in 0..K {
            let ih = first + kh as i64;
            let slot = ih.rem_euclid(K as i64) as usize;
            if rows.in_place(x, ih).is_none() && held[slot] != ih {
                rows.copy(x, ih, &mut ring[slot * row_len..][..row_len]);
                held[slot] = ih;
            }
        }
        // A plain loop again, not `array::from_fn`: its closure was compiled
        // out of line (9% of EfficientNet-Lite0 once the crate grew).
        let mut sources: [&[f32]; K] = [&[]; K];
        for (kh, source) in sources.iter_mut().enumerate() {
            let ih = first + kh as i64;
            let slot = ih.rem_euclid(K as i64) as usize;
            *source = rows
                .in_place(x, ih)
                .unwrap_or(&ring[slot * row_len..][..row_len]);
        }
        let out_row = &mut y[oh * out_w..][..out_w];
        let bias = s.splat(bias);
        let vector = |v: usize| {
            output_vector::<S, K, STRIDE>(s, &sources, &weights, bias, v * lanes * STRIDE, window)
        };
        for (v, out) in out_row[..full * lanes].chunks_exact_mut(lanes).enumerate() {
            s.store(out, vector(v));
        }
        if full * lanes < out_w {
            store_partial(s, &mut out_row[full * lanes..], vector(full));
        }
    }
}

/// One vector of outputs: `bias` plus every tap, the window of each input
/// row starting at `base`.
#[inline(always)]
fn output_vector<S: Simd, const K: usize, const STRIDE: usize>(
    s: S,
    sources: &[&[f32]; K],
    weights: &[[S::F; K]; K],
    bias: S::F,
    base: usize,
    window: usize,
) -> S::F {
    let mut acc = bias;
    for (source, weights_row) in sources.iter().zip(weights) {
        acc = row_taps::<S, K, STRIDE>(s, &source[base..base + window], weights_row, acc);
    }
    acc
}

/// `acc + Σ_kw w[kw] · src[kw + i·STRIDE]` for the `LANES` outputs `i`.
#[inline(always)]
fn row_taps<S: Simd, const K: usize, const STRIDE: usize>(
    s: S,
    src: &[f32],
    weights: &[S::F; K],
    mut acc: S::F,
) -> S::F {
    if STRIDE == 1 {
        for (kw, &w) in weights.iter().enumerate() {
            acc = s.mul_add(w, s.load(&src[kw..]), acc);
        }
    } else {
        // Columns kw, kw + 2, …: even columns from offset kw - kw % 2.
        let mut kw = 0;
        while kw < K {
            let (even, odd) = s.load_even_odd(&src[kw..]);
            acc = s.mul_add(weights[kw], even, acc);
            if kw + 1 < K {
                acc = s.mul_add(weights[kw + 1], odd, acc);
            }
            kw += 2;
        }
    }
    acc
}
