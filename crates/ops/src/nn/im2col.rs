//! N-d im2col (gather input patches into a column matrix, for Conv) and
//! col2im (scatter-add a column matrix into an output, for ConvTranspose).
//!
//! Both walk the same lattice: positions along the *iterated* grid (Conv's
//! output, ConvTranspose's input) map, for each kernel tap, to coordinates
//! `position * stride + tap * dilation - pad_begin` in the *target* grid
//! (Conv's input, ConvTranspose's output). The column matrix has one row per
//! (channel, kernel tap) — the order of a weight row — and one column per
//! iterated position of the current tile. Work is done in runs along the
//! last axis so the inner loops are plain strided copies or adds.

use super::window::{Axis, Geometry, MAX_SPATIAL_RANK, scaled, valid_range};

/// Which grid is iterated (columns) and which is addressed (rows' targets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Conv: columns are output positions, targets are input coordinates.
    Gather,
    /// ConvTranspose: columns are input positions, targets are output coordinates.
    Scatter,
}

impl Direction {
    fn iterated(self, a: &Axis) -> usize {
        match self {
            Direction::Gather => a.output,
            Direction::Scatter => a.input,
        }
    }

    fn target(self, a: &Axis) -> usize {
        match self {
            Direction::Gather => a.input,
            Direction::Scatter => a.output,
        }
    }
}

/// One run of a column-matrix row: `len` consecutive columns starting at
/// `column`, whose iterated positions differ only along the last axis.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Row of the column matrix.
    row: usize,
    /// First column (within the tile).
    column: usize,
    /// Number of columns.
    len: usize,
    /// Offset of the target line (a row along the last axis, in the
    /// channel-major target tensor), or `None` when the run's outer
    /// coordinates fall outside the target.
    line: Option<usize>,
    /// Iterated index, along the last axis, of the first column.
    first: usize,
    /// Target coordinate along the last axis = index * stride + offset.
    offset: i64,
}

/// Calls `visit` for every run of the tile of `count` iterated positions
/// starting at flattened position `first`, for `channels` channels.
/// The caller keeps `first + count` within the iterated grid.
fn for_each_run(
    geo: &Geometry,
    direction: Direction,
    channels: usize,
    first: usize,
    count: usize,
    mut visit: impl FnMut(Run),
) {
    let axes = geo.axes();
    let Some(last) = axes.len().checked_sub(1) else {
        return;
    };
    if count == 0 {
        return;
    }
    let target_plane = match direction {
        Direction::Gather => geo.input_size(),
        Direction::Scatter => geo.output_size(),
    };
    let mut target_stride = [0usize; MAX_SPATIAL_RANK];
    let mut stride = 1usize;
    for d in (0..axes.len()).rev() {
        target_stride[d] = stride;
        // Bounded by the target plane size, which fits in memory.
        stride = stride.saturating_mul(direction.target(&axes[d]));
    }
    let mut position = [0usize; MAX_SPATIAL_RANK];
    let mut rest = first;
    for d in (0..axes.len()).rev() {
        let n = direction.iterated(&axes[d]).max(1);
        position[d] = rest % n;
        rest /= n;
    }
    let last_axis = axes[last];
    let mut done = 0;
    while done < count {
        let len = (direction.iterated(&last_axis) - position[last]).min(count - done);
        if len == 0 {
            break; // only when the caller asked for more positions than exist
        }
        let mut row = 0;
        for channel in 0..channels {
            let mut tap = [0usize; MAX_SPATIAL_RANK];
            for _ in 0..geo.kernel_size() {
                let mut line = Some(channel * target_plane);
                for d in 0..last {
                    let a = &axes[d];
                    let t =
                        scaled(position[d], a.stride) + scaled(tap[d], a.dilation) - a.pad_begin;
                    if t < 0 || t >= direction.target(a) as i64 {
                        line = None;
                        break;
                    }
                    line = line.map(|l| l + t as usize * target_stride[d]);
                }
                visit(Run {
                    row,
                    column: done,
                    len,
                    line,
                    first: position[last],
                    offset: scaled(tap[last], last_axis.dilation) - last_axis.pad_begin,
                });
                row += 1;
                for d in (0..axes.len()).rev() {
                    tap[d] += 1;
                    if tap[d] < axes[d].kernel {
                        break;
                    }
                    tap[d] = 0;
                }
            }
        }
        done += len;
        position[last] += len;
        let mut d = last;
        while d > 0 && position[d] >= direction.iterated(&axes[d]) {
            position[d] = 0;
            d -= 1;
            position[d] += 1;
        }
    }
}

/// Fills `columns` (`channels * kernel_size` rows of `count` columns) with
/// the input patches of output positions `first..first + count`, and `pad`
/// where a tap falls outside the input (0 for floats, the zero point for
/// quantized values). `input` holds `channels` planes of the geometry's
/// input size.
pub(crate) fn im2col<T: Copy>(
    geo: &Geometry,
    input: &[T],
    (channels, pad): (usize, T),
    first: usize,
    count: usize,
    columns: &mut [T],
) {
    let Some(last) = geo.axes().last().copied() else {
        return;
    };
    for_each_run(geo, Direction::Gather, channels, first, count, |run| {
        let start = run.row * count + run.column;
        let dst = &mut columns[start..start + run.len];
        let Some(line) = run.line else {
            dst.fill(pad);
            return;
        };
        let src = &input[line..line + last.input];
        let (lo, hi) = valid_range(run.first, run.len, last.stride, run.offset, last.input);
        dst[..lo].fill(pad);
        dst[hi..].fill(pad);
        if hi > lo {
            let begin = scaled(run.first + lo, last.stride) + run.offset;
            let begin = begin as usize;
            if last.stride == 1 {
                dst[lo..hi].copy_from_slice(&src[begin..begin + (hi - lo)]);
            } else {
                for (d, s) in dst[lo..hi]
                    .iter_mut()
                    .zip(src[begin..].iter().step_by(last.stride))
                {
                    *d = *s;
                }
            }
        }
    });
}

/// Adds `columns` (`channels * kernel_size` rows of `count` columns, one
/// column per input position `first..first + count`) into `output`, which
/// holds `channels` planes of the geometry's output size.
pub(crate) fn col2im_add(
    geo: &Geometry,
    columns: &[f32],
    channels: usize,
    first: usize,
    count: usize,
    output: &mut [f32],
) {
    let Some(last) = geo.axes().last().copied() else {
        return;
    };
    for_each_run(geo, Direction::Scatter, channels, first, count, |run| {
        let Some(line) = run.line else {
            return;
        };
        let start = run.row * count + run.column;
        let src = &columns[start..start + run.len];
        let dst = &mut output[line..line + last.output];
        let (lo, hi) = valid_range(run.first, run.len, last.stride, run.offset, last.output);
        if hi > lo {
            let begin = scaled(run.first + lo, last.stride) + run.offset;
            let begin = begin as usize;
            for (d, s) in dst[begin..]
                .iter_mut()
                .step_by(last.stride)
                .zip(&src[lo..hi])
            {
                *d += *s;
            }
        }
    });
}
