//! Sliding-window geometry shared by Conv, ConvTranspose and the pools: the
//! `kernel_shape`, `strides`, `dilations`, `pads` and `auto_pad` attributes,
//! and the per-axis sizes they give for one input.
//!
//! Sizes are computed in `i128`, so no attribute value can overflow them;
//! attribute values are bounded by [`MAX_WINDOW_VALUE`], which keeps every
//! coordinate the kernels compute (`index * stride + tap * dilation - pad`)
//! inside `i64`.

use super::common::{checked_product, shape_error};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};

/// The most spatial axes a windowed operator accepts (ONNX models use 1 to 3).
pub(crate) const MAX_SPATIAL_RANK: usize = 8;

/// The largest kernel size, stride, dilation or pad accepted.
pub(crate) const MAX_WINDOW_VALUE: i64 = i32::MAX as i64;

/// How padding is chosen (`auto_pad`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AutoPad {
    /// Explicit `pads` (default 0).
    NotSet,
    /// Output size `ceil(input / stride)`, odd padding extra at the end.
    SameUpper,
    /// Output size `ceil(input / stride)`, odd padding extra at the start.
    SameLower,
    /// No padding.
    Valid,
}

impl AutoPad {
    fn parse(attrs: &Attrs<'_>) -> OpResult<AutoPad> {
        match attrs.string("auto_pad", "NOTSET")? {
            "NOTSET" => Ok(AutoPad::NotSet),
            "SAME_UPPER" => Ok(AutoPad::SameUpper),
            "SAME_LOWER" => Ok(AutoPad::SameLower),
            "VALID" => Ok(AutoPad::Valid),
            other => Err(attrs.invalid("auto_pad", format!("unknown mode `{other}`"))),
        }
    }

    /// True for the two `SAME_*` modes.
    pub(crate) fn is_same(self) -> bool {
        matches!(self, AutoPad::SameUpper | AutoPad::SameLower)
    }
}

/// One spatial axis of a windowed operation.
///
/// For Conv and the pools, output position `o` reads input coordinates
/// `o * stride + k * dilation - pad_begin` for taps `k < kernel`. For
/// ConvTranspose, input position `i` writes output coordinates
/// `i * stride + k * dilation - pad_begin`; there `pad_begin` may be
/// negative (an explicit `output_shape` larger than the natural one).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Axis {
    /// Input size.
    pub input: usize,
    /// Output size.
    pub output: usize,
    /// Kernel taps.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Step between taps.
    pub dilation: usize,
    /// Padding before the first element.
    pub pad_begin: i64,
    /// Padding after the last element.
    pub pad_end: i64,
}

impl Axis {
    /// An axis of size 1 that changes nothing (promotes 1-D to 2-D).
    pub(crate) const UNIT: Axis = Axis {
        input: 1,
        output: 1,
        kernel: 1,
        stride: 1,
        dilation: 1,
        pad_begin: 0,
        pad_end: 0,
    };
}

/// All spatial axes of one windowed operation, with their products.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    rank: usize,
    axes: [Axis; MAX_SPATIAL_RANK],
    input_size: usize,
    output_size: usize,
    kernel_size: usize,
}

impl Geometry {
    /// Geometry over `axes`; fails when there are too many axes or a product
    /// of sizes overflows.
    pub(crate) fn new(axes: &[Axis]) -> OpResult<Geometry> {
        if axes.is_empty() || axes.len() > MAX_SPATIAL_RANK {
            return Err(OpError::Unsupported {
                what: format!(
                    "{} spatial axes (1 to {MAX_SPATIAL_RANK} are supported)",
                    axes.len()
                ),
            });
        }
        let mut all = [Axis::default(); MAX_SPATIAL_RANK];
        all[..axes.len()].copy_from_slice(axes);
        let mut dims = [0usize; MAX_SPATIAL_RANK];
        let mut product = |field: fn(&Axis) -> usize| {
            for (d, a) in dims.iter_mut().zip(axes) {
                *d = field(a);
            }
            checked_product(&dims[..axes.len()])
        };
        Ok(Geometry {
            rank: axes.len(),
            axes: all,
            input_size: product(|a| a.input)?,
            output_size: product(|a| a.output)?,
            kernel_size: product(|a| a.kernel)?,
        })
    }

    /// The axes, outermost first.
    pub(crate) fn axes(&self) -> &[Axis] {
        &self.axes[..self.rank]
    }

    /// Elements of one input plane.
    pub(crate) fn input_size(&self) -> usize {
        self.input_size
    }

    /// Elements of one output plane.
    pub(crate) fn output_size(&self) -> usize {
        self.output_size
    }

    /// Taps of one kernel.
    pub(crate) fn kernel_size(&self) -> usize {
        self.kernel_size
    }

    /// The axes as (height, width), a 1-D geometry getting a unit height;
    /// `None` above 2-D.
    pub(crate) fn as_2d(&self) -> Option<[Axis; 2]> {
        match self.axes() {
            [w] => Some([Axis::UNIT, *w]),
            [h, w] => Some([*h, *w]),
            _ => None,
        }
    }
}

/// `index * step` as i64: coordinates are computed in i64 so they cannot
/// overflow on 32-bit targets (attribute bounds keep them within i64).
#[inline(always)]
pub(crate) fn scaled(index: usize, step: usize) -> i64 {
    index as i64 * step as i64
}

/// The range `lo..hi` of `j < len` for which the coordinate
/// `(first + j) * stride + offset` lies in `0..size`. `stride > 0`.
///
/// Used both for "which taps of a window fall inside the input" and for
/// "which positions of a row read (or write) inside the other tensor".
pub(crate) fn valid_range(
    first: usize,
    len: usize,
    stride: usize,
    offset: i64,
    size: usize,
) -> (usize, usize) {
    let s = stride as i64;
    let size = size as i64;
    // The smallest index i >= 0 with i * s + offset >= 0 ...
    let lo_index = if offset >= 0 { 0 } else { (s - 1 - offset) / s };
    // ... and with i * s + offset >= size.
    let hi_index = if size <= offset {
        0
    } else {
        (size - offset + s - 1) / s
    };
    let first = first as i64;
    let len = len as i64;
    let lo = (lo_index - first).clamp(0, len);
    let hi = (hi_index - first).clamp(lo, len);
    (lo as usize, hi as usize)
}

/// The window attributes of a Conv, ConvTranspose or pooling node.
#[derive(Clone, Debug)]
pub(crate) struct WindowAttrs {
    /// `kernel_shape`, if given.
    pub kernel_shape: Option<Vec<usize>>,
    strides: Option<Vec<usize>>,
    dilations: Option<Vec<usize>>,
    /// `[begin..., end...]`, if given.
    pads: Option<Vec<i64>>,
    /// `auto_pad`.
    pub auto_pad: AutoPad,
}

fn list_in_range(attrs: &Attrs<'_>, name: &str, min: i64) -> OpResult<Option<Vec<i64>>> {
    let Some(values) = attrs.ints_opt(name)? else {
        return Ok(None);
    };
    if let Some(bad) = values.iter().find(|&&v| v < min || v > MAX_WINDOW_VALUE) {
        return Err(attrs.invalid(
            name,
            format!("value {bad} is outside {min}..={MAX_WINDOW_VALUE}"),
        ));
    }
    Ok(Some(values.to_vec()))
}

fn positive_list(attrs: &Attrs<'_>, name: &str) -> OpResult<Option<Vec<usize>>> {
    Ok(list_in_range(attrs, name, 1)?.map(|v| v.into_iter().map(|x| x as usize).collect()))
}

impl WindowAttrs {
    /// Parses and validates the attributes (`kernel_shape` required or not).
    pub(crate) fn parse(attrs: &Attrs<'_>, kernel_required: bool) -> OpResult<WindowAttrs> {
        let window = WindowAttrs {
            kernel_shape: positive_list(attrs, "kernel_shape")?,
            strides: positive_list(attrs, "strides")?,
            dilations: positive_list(attrs, "dilations")?,
            pads: list_in_range(attrs, "pads", 0)?,
            auto_pad: AutoPad::parse(attrs)?,
        };
        if kernel_required && window.kernel_shape.is_none() {
            return Err(OpError::MissingAttribute {
                name: "kernel_shape".into(),
            });
        }
        let lengths = [
            ("kernel_shape", window.kernel_shape.as_ref().map(Vec::len)),
            ("strides", window.strides.as_ref().map(Vec::len)),
            ("dilations", window.dilations.as_ref().map(Vec::len)),
            ("pads", window.pads.as_ref().map(|p| p.len() / 2)),
        ];
        if let Some(pads) = &window.pads
            && pads.len() % 2 != 0
        {
            return Err(attrs.invalid("pads", "needs a begin and an end value per axis"));
        }
        let mut rank = None;
        for (name, len) in lengths {
            let Some(len) = len else { continue };
            if len == 0 || len > MAX_SPATIAL_RANK {
                return Err(attrs.invalid(
                    name,
                    format!("covers {len} axes (1 to {MAX_SPATIAL_RANK} are supported)"),
                ));
            }
            match rank {
                None => rank = Some(len),
                Some(r) if r != len => {
                    return Err(attrs.invalid(
                        name,
                        format!("covers {len} axes where other attributes cover {r}"),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(window)
    }

    /// Fails unless the attributes fit `spatial` axes.
    pub(crate) fn check_rank(&self, spatial: usize) -> OpResult<()> {
        let fits = |len: Option<usize>| len.is_none_or(|l| l == spatial);
        if !(fits(self.kernel_shape.as_ref().map(Vec::len))
            && fits(self.strides.as_ref().map(Vec::len))
            && fits(self.dilations.as_ref().map(Vec::len))
            && fits(self.pads.as_ref().map(|p| p.len() / 2)))
        {
            return Err(shape_error(format!(
                "the window attributes do not cover the input's {spatial} spatial axes"
            )));
        }
        if spatial == 0 || spatial > MAX_SPATIAL_RANK {
            return Err(OpError::Unsupported {
                what: format!("{spatial} spatial axes (1 to {MAX_SPATIAL_RANK} are supported)"),
            });
        }
        Ok(())
    }

    /// The explicit `pads` when they apply (`auto_pad` NOTSET).
    pub(crate) fn explicit_pads(&self) -> Option<&[i64]> {
        match self.auto_pad {
            AutoPad::NotSet => self.pads.as_deref(),
            _ => None,
        }
    }

    /// Stride of axis `i` (default 1).
    pub(crate) fn stride(&self, i: usize) -> usize {
        self.strides
            .as_ref()
            .and_then(|s| s.get(i).copied())
            .unwrap_or(1)
    }

    /// Dilation of axis `i` (default 1).
    pub(crate) fn dilation(&self, i: usize) -> usize {
        self.dilations
            .as_ref()
            .and_then(|s| s.get(i).copied())
            .unwrap_or(1)
    }

    /// Explicit `(begin, end)` pads of axis `i` (default 0).
    pub(crate) fn pads(&self, i: usize, rank: usize) -> (i64, i64) {
        match &self.pads {
            Some(p) => (
                p.get(i).copied().unwrap_or(0),
                p.get(i + rank).copied().unwrap_or(0),
            ),
            None => (0, 0),
        }
    }

    /// The geometry of a Conv or pool over `input` (spatial sizes) with a
    /// kernel of `kernel` taps per axis. `ceil_mode` rounds the output size
    /// up, dropping a last window that would start in the end padding.
    /// Fails when the (dilated) kernel is larger than the padded input.
    pub(crate) fn forward(
        &self,
        input: &[usize],
        kernel: &[usize],
        ceil_mode: bool,
    ) -> OpResult<Geometry> {
        let rank = input.len();
        self.check_rank(rank)?;
        if kernel.len() != rank {
            return Err(shape_error(format!(
                "the kernel has {} spatial axes, the input {rank}",
                kernel.len()
            )));
        }
        let mut axes = [Axis::default(); MAX_SPATIAL_RANK];
        for (i, (axis, (&size, &taps))) in axes.iter_mut().zip(input.iter().zip(kernel)).enumerate()
        {
            *axis = self.forward_axis(i, rank, size, taps, ceil_mode)?;
        }
        Geometry::new(&axes[..rank])
    }

    fn forward_axis(
        &self,
        i: usize,
        rank: usize,
        size: usize,
        taps: usize,
        ceil_mode: bool,
    ) -> OpResult<Axis> {
        let stride = self.stride(i);
        let dilation = self.dilation(i);
        if taps == 0 {
            return Err(shape_error(format!(
                "spatial axis {i}: the kernel has no taps"
            )));
        }
        let (n, s) = (size as i128, stride as i128);
        let dilated = (taps as i128 - 1) * dilation as i128 + 1;
        let (pad_begin, pad_end, output) = match self.auto_pad {
            AutoPad::SameUpper | AutoPad::SameLower => {
                let output = (n + s - 1) / s;
                let total = if output == 0 {
                    0
                } else {
                    ((output - 1) * s + dilated - n).max(0)
                };
                let half = total / 2;
                if self.auto_pad == AutoPad::SameUpper {
                    (half, total - half, output)
                } else {
                    (total - half, half, output)
                }
            }
            AutoPad::NotSet | AutoPad::Valid => {
                let (begin, end) = if self.auto_pad == AutoPad::Valid {
                    (0, 0)
                } else {
                    self.pads(i, rank)
                };
                let (begin, end) = (begin as i128, end as i128);
                let padded = n + begin + end;
                if padded < dilated {
                    return Err(shape_error(format!(
                        "spatial axis {i}: the kernel spans {dilated} elements but the padded input has {padded}"
                    )));
                }
                let span = padded - dilated;
                let mut output = if ceil_mode {
                    (span + s - 1) / s + 1
                } else {
                    span / s + 1
                };
                // A last window starting in the end padding is dropped.
                if ceil_mode && (output - 1) * s >= n + begin {
                    output -= 1;
                }
                (begin, end, output)
            }
        };
        let too_large = || OpError::TooLarge {
            shape: vec![output.clamp(0, usize::MAX as i128) as usize],
        };
        Ok(Axis {
            input: size,
            output: usize::try_from(output).map_err(|_| too_large())?,
            kernel: taps,
            stride,
            dilation,
            pad_begin: i64::try_from(pad_begin).map_err(|_| too_large())?,
            pad_end: i64::try_from(pad_end).map_err(|_| too_large())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_range_matches_brute_force() {
        for first in 0..4 {
            for len in 0..6 {
                for stride in 1..4 {
                    for offset in -7i64..7 {
                        for size in 0..6 {
                            let inside: Vec<usize> = (0..len)
                                .filter(|&j| {
                                    let t = ((first + j) * stride) as i64 + offset;
                                    t >= 0 && t < size as i64
                                })
                                .collect();
                            let (lo, hi) = valid_range(first, len, stride, offset, size);
                            if inside.is_empty() {
                                assert_eq!(lo, hi, "{first} {len} {stride} {offset} {size}");
                            } else {
                                assert_eq!((lo..hi).collect::<Vec<_>>(), inside);
                            }
                        }
                    }
                }
            }
        }
    }
}
