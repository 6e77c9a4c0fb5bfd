//! `ConvInteger` (i32 result) and `QLinearConv` (requantized result): 1-D
//! and 2-D convolutions of u8/i8 tensors, as im2col (padding with the input
//! zero point, so padded taps add nothing) times the weights on the `qgemm`
//! kernels, one group at a time. The columns are built channel-major (the
//! f32 convolution's im2col) and a 1×1 convolution reads its input planes
//! in place: the GEMM packs both column-major operands directly.

use super::matmul::{WeightsI8, activations_u8};
use super::pack_cache::{ConstCache, DerivedKey, PackCache};
use super::{output_quantization, per, zero_points};
use crate::attrs::Attrs;
use crate::data::common::{check_outputs, infos};
use crate::error::{OpError, OpResult};
use crate::nn::im2col::im2col;
use crate::nn::window::{Axis, Geometry, WindowAttrs};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, optional, required};
use bytemuck::Pod;
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::kernels::depthwise::{
    DepthwiseGeometry, DepthwiseU8I8, MAX_TAPS, depthwise_u8i8,
};
use pocketnn_tensor::kernels::qgemm::{
    PackedI8B, QGemmKernel, QOutput, Requantize, U8Matrix, ZeroPoints, gemm_u8i8,
};
use pocketnn_tensor::kernels::transpose::transpose;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Window attributes and groups, shared by both operators.
#[derive(Debug)]
pub(super) struct ConvAttrs {
    window: WindowAttrs,
    group: usize,
}

/// Sizes of one call.
#[derive(Clone, Copy, Debug)]
pub(super) struct Plan {
    batch: usize,
    in_channels: usize,
    pub(super) out_channels: usize,
    pub(super) group: usize,
    /// (height, width); a 1-D convolution has a unit height.
    axes: [Axis; 2],
}

impl Plan {
    fn in_per_group(&self) -> usize {
        self.in_channels / self.group
    }
    pub(super) fn out_per_group(&self) -> usize {
        self.out_channels / self.group
    }
    /// Output positions per image.
    fn positions(&self) -> usize {
        self.axes[0].output * self.axes[1].output
    }
    /// One group and, per image, one output position whose window is the
    /// whole unpadded input: the im2col row of image `n` is `x[n]` itself.
    fn is_one_position_per_image(&self) -> bool {
        self.group == 1
            && self
                .axes
                .iter()
                .all(|a| a.input == 1 && a.kernel == 1 && a.output == 1 && a.pad_begin == 0)
    }
    /// The geometry of the dedicated int8 depthwise kernel, when this is a
    /// 2-D depthwise convolution it runs: one input and one output channel
    /// per group, a square filter, equal strides, no dilation, padding not
    /// negative.
    fn depthwise_geometry(&self) -> Option<DepthwiseGeometry> {
        let [h, w] = self.axes;
        let depthwise = self.group == self.in_channels && self.group == self.out_channels;
        let square = h.kernel == w.kernel && h.stride == w.stride;
        let plain = h.dilation == 1 && w.dilation == 1 && h.pad_begin >= 0 && w.pad_begin >= 0;
        (depthwise
            && square
            && plain
            && h.kernel
                .checked_mul(w.kernel)
                .is_some_and(|t| t <= MAX_TAPS))
        .then(|| {
            DepthwiseGeometry::new(
                h.kernel,
                h.stride,
                (h.input, w.input),
                (h.output, w.output),
                (h.pad_begin as usize, w.pad_begin as usize),
            )
        })
    }

    /// A 1×1 window with stride 1 and no padding: every output position is
    /// an input pixel.
    fn is_pointwise(&self) -> bool {
        self.axes
            .iter()
            .all(|a| a.kernel == 1 && a.stride == 1 && a.pad_begin == 0 && a.output == a.input)
    }

    /// Depth of the product: input channels per group times kernel taps.
    fn depth(&self) -> usize {
        self.in_per_group() * self.axes[0].kernel * self.axes[1].kernel
    }
}

pub(super) fn shape_error(reason: String) -> OpError {
    OpError::ShapeMismatch { reason }
}

impl ConvAttrs {
    pub(super) fn parse(attrs: &Attrs<'_>) -> OpResult<ConvAttrs> {
        let group = attrs.int("group", 1)?;
        if !(1..=i64::from(i32::MAX)).contains(&group) {
            return Err(attrs.invalid("group", format!("{group} is not positive")));
        }
        Ok(ConvAttrs {
            window: WindowAttrs::parse(attrs, false)?,
            group: group as usize,
        })
    }

    /// Validates X (`[N, C, spatial..]`) against W (`[M, C / group, kernel..]`).
    pub(super) fn plan(&self, x: InputInfo<'_>, w: InputInfo<'_>) -> OpResult<Plan> {
        let (x, w) = (x.shape, w.shape);
        if !(3..=4).contains(&x.len()) || w.len() != x.len() {
            return Err(OpError::Unsupported {
                what: format!("quantized convolution of X {x:?} with W {w:?} (1-D and 2-D only)"),
            });
        }
        let kernel = &w[2..];
        if let Some(k) = &self.window.kernel_shape
            && k.as_slice() != kernel
        {
            return Err(shape_error(format!(
                "kernel_shape {k:?} does not match the weight's spatial shape {kernel:?}"
            )));
        }
        let (batch, in_channels, out_channels, group) = (x[0], x[1], w[0], self.group);
        if in_channels % group != 0 || out_channels % group != 0 || w[1] != in_channels / group {
            return Err(shape_error(format!(
                "W {w:?} does not fit X {x:?} in {group} groups"
            )));
        }
        let geometry = self.window.forward(&x[2..], kernel, false)?;
        let axes = geometry.as_2d().ok_or_else(|| OpError::Unsupported {
            what: "quantized convolution above 2-D".into(),
        })?;
        Ok(Plan {
            batch,
            in_channels,
            out_channels,
            group,
            axes,
        })
    }

    pub(super) fn output_spec(
        &self,
        plan: &Plan,
        dtype: DType,
        spatial: usize,
    ) -> OpResult<OutputSpec> {
        let mut shape = vec![plan.batch, plan.out_channels];
        let [h, w] = plan.axes;
        if spatial == 2 {
            shape.push(h.output);
        }
        shape.push(w.output);
        Ok(OutputSpec::new(dtype, checked_shape(shape, dtype.size())?))
    }
}

/// Bytes of im2col columns built at a time: the output positions are done
/// in tiles of this many bytes of columns, whatever the image size (tiny in
/// unit tests, so that they cross tiles).
const COLUMN_BUDGET: usize = if cfg!(test) { 64 } else { 1 << 20 };

/// At most this many output positions per tile: the product's scratch
/// (positions × channels) is then read back channel by channel with every
/// cache line of a position still in L1.
const MAX_TILE_POSITIONS: usize = 256;

/// Runs the convolution group by group and tile by tile: `product(n · G + g,
/// columns, zero points, packed weights, weight zero points, scratch)`
/// computes `count × M/G` outputs of image `n`, group `g` into `scratch`,
/// which is then written to `y` in NCHW order.
pub(super) fn convolve<T: Pod + Default>(
    (kernel, plan): (&QGemmKernel, &Plan),
    (x, x_zero): (&[u8], u8),
    (w, cache): (&WeightsI8<'_>, &PackCache),
    y: &mut [T],
    mut product: impl FnMut(
        usize,
        U8Matrix<'_>,
        ZeroPoints<'_>,
        &PackedI8B,
        &[i8],
        &mut [T],
    ) -> OpResult<()>,
) -> OpResult<()> {
    let (positions, depth, m_g) = (plan.positions(), plan.depth(), plan.out_per_group());
    let packed = (0..plan.group)
        .map(|g| {
            w.packed(
                cache,
                kernel,
                (g, g * m_g * depth),
                (depth, m_g),
                (1, depth),
            )
        })
        .collect::<OpResult<Vec<_>>>()?;
    if plan.is_one_position_per_image() {
        // Every image is one row of the product as it lies in memory (a
        // fully connected layer written as a convolution): one product for
        // the whole batch, straight into `y` (N × M is Y's layout too).
        let (batch, m) = (plan.batch, plan.out_channels);
        let a = U8Matrix::row_major(x.get(..batch * depth).unwrap_or(x), batch, depth)?;
        let y = y.get_mut(..batch * m).unwrap_or(&mut []);
        return product(0, a, ZeroPoints::PerTensor(x_zero), &packed[0], &w.zeros, y);
    }
    let tile = (COLUMN_BUDGET / depth.max(1)).clamp(1, positions.clamp(1, MAX_TILE_POSITIONS));
    let geometry = Geometry::new(&plan.axes)?;
    let (channels, plane) = (plan.in_per_group(), geometry.input_size());
    let mut columns = Vec::new();
    let mut scratch = vec![T::default(); tile * m_g];
    for n in 0..plan.batch {
        for (g, packed) in packed.iter().enumerate() {
            let zeros = match w.zeros.as_slice() {
                [z] => std::slice::from_ref(z),
                all => &all[g * m_g..][..m_g],
            };
            let images = &x[(n * plan.in_channels + g * channels) * plane..][..channels * plane];
            let out = &mut y[(n * plan.out_channels + g * m_g) * positions..][..m_g * positions];
            for first in (0..positions).step_by(tile) {
                let count = tile.min(positions - first);
                // Both forms are column-major (a column per input channel
                // or tap, a row per output position), which the GEMM packs
                // directly: the input planes themselves for a 1×1 window,
                // otherwise the im2col columns of this tile.
                let a = if plan.is_pointwise() {
                    U8Matrix::column_major(&images[first..], count, depth, plane)?
                } else {
                    columns.clear();
                    columns.resize(depth * count, x_zero);
                    let pad = (channels, x_zero);
                    im2col(&geometry, images, pad, first, count, &mut columns);
                    U8Matrix::column_major(&columns, count, depth, count)?
                };
                let rows = &mut scratch[..count * m_g];
                product(
                    n * plan.group + g,
                    a,
                    ZeroPoints::PerTensor(x_zero),
                    packed,
                    zeros,
                    rows,
                )?;
                // rows is count × m_g; the output wants m_g × positions.
                transpose(rows, (count, m_g), &mut out[first..], positions)?;
            }
        }
    }
    Ok(())
}

pub(super) fn check_int8(info: InputInfo<'_>, index: usize) -> OpResult<()> {
    match info.dtype {
        DType::U8 | DType::I8 => Ok(()),
        dtype => Err(OpError::UnsupportedDType { index, dtype }),
    }
}

pub(super) fn check_same(
    info: Option<InputInfo<'_>>,
    expected: DType,
    index: usize,
) -> OpResult<()> {
    match info {
        Some(z) if z.dtype != expected => Err(OpError::DTypeMismatch {
            index,
            expected,
            actual: z.dtype,
        }),
        _ => Ok(()),
    }
}

/// ONNX `ConvInteger`: `conv(X - x_zero_point, W - w_zero_point)` in i32;
/// `w_zero_point` per tensor or per output channel.
#[derive(Debug)]
pub(crate) struct ConvInteger(ConvAttrs, PackCache);

impl ConvInteger {
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<ConvInteger> {
        Ok(ConvInteger(ConvAttrs::parse(attrs)?, PackCache::default()))
    }
}

impl Operator for ConvInteger {
    fn op(&self) -> OpCode {
        OpCode::ConvInteger
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 2, 4, "2 to 4")?;
        let (x, w) = (required(inputs, 0)?, required(inputs, 1)?);
        check_int8(x, 0)?;
        check_int8(w, 1)?;
        check_same(optional(inputs, 2), x.dtype, 2)?;
        check_same(optional(inputs, 3), w.dtype, 3)?;
        let plan = self.0.plan(x, w)?;
        Ok(vec![self.0.output_spec(
            &plan,
            DType::I32,
            x.shape.len() - 2,
        )?])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let (x, w) = (required(inputs, 0)?, required(inputs, 1)?);
        let plan = self.0.plan(x.into(), w.into())?;
        let x_zero = zero_points(optional(inputs, 2), None, 2)?;
        let w_zero = zero_points(optional(inputs, 3), Some(plan.out_channels), 3)?;
        let (x, x_zero) = activations_u8(x, &x_zero)?;
        let w = WeightsI8::new(w, &w_zero)?;
        let m_g = plan.out_per_group();
        let kernel = QGemmKernel::best_for(ctx.isa);
        convolve(
            (&kernel, &plan),
            (&x, x_zero[0]),
            (&w, &self.1),
            out.as_slice_mut::<i32>()?,
            |_, a, za, packed, zb, scratch| {
                let out = QOutput::I32 {
                    c: scratch,
                    row_stride: m_g,
                };
                Ok(gemm_u8i8(&kernel, a, za, packed, zb, out)?)
            },
        )
    }
}

/// ONNX `QLinearConv`: the convolution of quantized X and W, plus an i32
/// bias, requantized to Y's scale and zero point (u8 or i8, Y's zero
/// point's type); W's scale and zero point per tensor or per output channel.
#[derive(Debug)]
pub(crate) struct QLinearConv {
    attrs: ConvAttrs,
    packs: PackCache,
    /// The requantization of each group, when the scales, zero points
    /// and bias are model constants.
    requantizers: ConstCache<DerivedKey, Vec<Requantize>>,
}

impl QLinearConv {
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<QLinearConv> {
        Ok(QLinearConv {
            attrs: ConvAttrs::parse(attrs)?,
            packs: PackCache::default(),
            requantizers: ConstCache::default(),
        })
    }
}

/// One requantization per group: `x_scale · w_scale[j] / y_scale` as a
/// requantization multiplier per output channel `j`, the bias, the output zero
/// point and range (shifted by 128 for an i8 output).
fn requantizers(
    inputs: &[Option<TensorView<'_>>],
    plan: &Plan,
    out_dtype: DType,
) -> OpResult<Vec<Requantize>> {
    let channels = plan.out_channels;
    let output = output_quantization(inputs, channels, out_dtype)?;
    let bias = match optional(inputs, 8) {
        Some(b) => b.as_slice::<i32>()?.to_vec(),
        None => vec![0; channels],
    };
    let m_g = plan.out_per_group();
    (0..plan.group)
        .map(|g| {
            let multipliers = (g * m_g..(g + 1) * m_g)
                .map(|j| per(&output.multipliers, j))
                .collect();
            Ok(Requantize::new(
                multipliers,
                bias[g * m_g..][..m_g].to_vec(),
                output.zero,
                output.range,
            )?)
        })
        .collect()
}

impl Operator for QLinearConv {
    fn op(&self) -> OpCode {
        OpCode::QLinearConv
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 8, 9, "8 or 9")?;
        let (x, w) = (required(inputs, 0)?, required(inputs, 3)?);
        check_int8(x, 0)?;
        check_int8(w, 3)?;
        check_same(Some(required(inputs, 2)?), x.dtype, 2)?;
        check_same(Some(required(inputs, 5)?), w.dtype, 5)?;
        let y_zero = required(inputs, 7)?;
        check_int8(y_zero, 7)?;
        let plan = self.attrs.plan(x, w)?;
        if let Some(bias) = optional(inputs, 8)
            && (bias.dtype != DType::I32 || bias.shape != [plan.out_channels])
        {
            return Err(shape_error(format!(
                "bias must be i32 [{}], got {} {:?}",
                plan.out_channels, bias.dtype, bias.shape
            )));
        }
        Ok(vec![self.attrs.output_spec(
            &plan,
            y_zero.dtype,
            x.shape.len() - 2,
        )?])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let specs = self.infer(&infos(inputs))?;
        check_outputs(&specs, outputs)?;
        let Some(out) = outputs.first_mut() else {
            return Ok(());
        };
        let (x, w) = (required(inputs, 0)?, required(inputs, 3)?);
        let plan = self.attrs.plan(x.into(), w.into())?;
        let channels = plan.out_channels;
        let x_zero = zero_points(optional(inputs, 2), None, 2)?;
        let w_zero = zero_points(optional(inputs, 5), Some(channels), 5)?;
        let signed_output = out.dtype() == DType::I8;
        let m_g = plan.out_per_group();
        let depthwise = plan.depthwise_geometry().filter(|_| w.dtype() == DType::I8);
        // The depthwise kernel takes one requantization for all channels.
        let groups = if depthwise.is_some() { 1 } else { plan.group };
        // The output dtype, channels and groups also shape the requantizers.
        let extra = ((channels as u64) << 16) | ((groups as u64) << 8) | out.dtype() as u64;
        let key = DerivedKey::of(inputs, &[1, 4, 6, 7, 8], extra);
        let requantizers = self.requantizers.get_or_pack(key, || {
            requantizers(
                inputs,
                &Plan {
                    group: groups,
                    ..plan
                },
                out.dtype(),
            )
        })?;
        let (x, x_zero) = activations_u8(x, &x_zero)?;
        let w = WeightsI8::new(w, &w_zero)?;
        if let Some(geometry) = depthwise {
            let y = out.bytes_mut();
            let weights = w.values_i8()?;
            let (image_in, image_out) = (x.len() / plan.batch.max(1), y.len() / plan.batch.max(1));
            for (x, y) in x
                .chunks_exact(image_in.max(1))
                .zip(y.chunks_exact_mut(image_out.max(1)))
            {
                let operands = DepthwiseU8I8 {
                    input: x,
                    input_zero: x_zero[0],
                    weights,
                    weight_zeros: &w.zeros,
                    requantize: &requantizers[0],
                };
                depthwise_u8i8(ctx.isa, &geometry, operands, y)?;
            }
            if signed_output {
                y.iter_mut().for_each(|v| *v ^= 0x80);
            }
            return Ok(());
        }
        let kernel = QGemmKernel::best_for(ctx.isa);
        let y = out.bytes_mut();
        let group = plan.group;
        convolve(
            (&kernel, &plan),
            (&x, x_zero[0]),
            (&w, &self.packs),
            &mut *y,
            |index, a, za, packed, zb, scratch| {
                let out = QOutput::U8 {
                    c: scratch,
                    row_stride: m_g,
                    requantize: &requantizers[index % group],
                };
                Ok(gemm_u8i8(&kernel, a, za, packed, zb, out)?)
            },
        )?;
        if signed_output {
            y.iter_mut().for_each(|v| *v ^= 0x80);
        }
        Ok(())
    }
}
