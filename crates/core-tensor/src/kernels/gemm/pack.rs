//! Packing operands into the panel layouts the micro-kernels read.
//!
//! * **A panels** (`MR` rows): the block `A[row0.., col0..]` of `mc × kc`
//!   becomes `ceil(mc / MR)` panels of `kc · MR` values; in panel `i`, value
//!   `p · MR + r` is `A[row0 + i·MR + r, col0 + p]`. Rows past `mc` are zero.
//! * **B panels** (`NR` columns): the block `B[row0.., col0..]` of `kc × nc`
//!   becomes `ceil(nc / NR)` panels of `kc · NR` values; in panel `j`, value
//!   `p · NR + c` is `B[row0 + p, col0 + j·NR + c]`. Columns past `nc` are zero.
//!
//! Packing reads any strides, so a transposed operand costs nothing extra;
//! rows or columns with unit stride take a copy fast path. A half-float `B`
//! (f16 weights) is widened to f32 while it is packed, with the tier's
//! `f16-f32-vcvt` kernel: the panels are the same as those of the f32
//! matrix holding the widened values.

use super::matrix::MatRef;
use crate::kernels::widen::{Widener, widen_one};
use half::f16;

/// An element type the B packing reads: f32 (copied) or f16 (widened).
pub(crate) trait PackElement: Copy {
    /// True when runs must be widened (then the column-major path widens
    /// each column's run into a buffer first, instead of per element).
    const WIDENS: bool;

    /// `dst = src`, converted (same lengths).
    fn convert_run(widener: Widener, src: &[Self], dst: &mut [f32]);

    /// One value, converted.
    fn to_f32(self) -> f32;
}

impl PackElement for f32 {
    const WIDENS: bool = false;

    #[inline(always)]
    fn convert_run(_: Widener, src: &[f32], dst: &mut [f32]) {
        dst.copy_from_slice(src);
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
}

impl PackElement for f16 {
    const WIDENS: bool = true;

    #[inline(always)]
    fn convert_run(widener: Widener, src: &[f16], dst: &mut [f32]) {
        widener.widen(src, dst);
    }

    #[inline(always)]
    fn to_f32(self) -> f32 {
        widen_one(self)
    }
}

/// Depth of the runs the column-major f16 path widens at once.
const WIDEN_RUN: usize = 64;

/// The most rows an A panel may have (the largest `MR` of any kernel).
pub(crate) const MAX_PANEL_ROWS: usize = 16;

/// The most columns a B panel may have (the largest `NR` of any kernel).
pub(crate) const MAX_PANEL_COLS: usize = 32;

/// Values `ceil(len / tile) · tile · depth`: the size of the packed panels.
/// `None` on overflow.
pub(crate) fn packed_len(len: usize, tile: usize, depth: usize) -> Option<usize> {
    len.div_ceil(tile).checked_mul(tile)?.checked_mul(depth)
}

/// Packs the `mc × kc` block of `a` at `(row0, col0)` into `mr`-row panels
/// at the start of `dst` (which must hold `packed_len(mc, mr, kc)` values).
pub(crate) fn pack_a(
    a: MatRef<'_>,
    (row0, col0): (usize, usize),
    (mc, kc): (usize, usize),
    mr: usize,
    dst: &mut [f32],
) {
    if kc == 0 || mc == 0 {
        return;
    }
    let data = a.data();
    let (rs, cs) = (a.row_stride(), a.col_stride());
    for (panel_index, panel) in dst
        .chunks_exact_mut(kc * mr)
        .take(mc.div_ceil(mr))
        .enumerate()
    {
        let first_row = panel_index * mr;
        let rows = mr.min(mc - first_row);
        if rows < mr {
            panel.fill(0.0);
        }
        if cs == 1 && rows <= MAX_PANEL_ROWS {
            // Row-major A: walk the panel's rows side by side so that the
            // panel is written sequentially (scattered writes are slower).
            let mut sources: [&[f32]; MAX_PANEL_ROWS] = [&[]; MAX_PANEL_ROWS];
            for (r, source) in sources.iter_mut().take(rows).enumerate() {
                let start = (row0 + first_row + r) * rs + col0;
                *source = &data[start..start + kc];
            }
            for (p, group) in panel.chunks_exact_mut(mr).enumerate() {
                for (slot, source) in group.iter_mut().zip(&sources[..rows]) {
                    *slot = source[p];
                }
            }
        } else if rs == 1 {
            // Column-major A (a transposed operand): each k step is a run.
            for (p, group) in panel.chunks_exact_mut(mr).enumerate() {
                let start = (col0 + p) * cs + row0 + first_row;
                group[..rows].copy_from_slice(&data[start..start + rows]);
            }
        } else {
            for (p, group) in panel.chunks_exact_mut(mr).enumerate() {
                for (r, slot) in group[..rows].iter_mut().enumerate() {
                    *slot = a.at(row0 + first_row + r, col0 + p);
                }
            }
        }
    }
}

/// Packs the `kc × nc` block of `b` at `(row0, col0)` into `nr`-column
/// panels at the start of `dst` (which must hold `packed_len(nc, nr, kc)`
/// values), widening f16 values with `widener`.
pub(crate) fn pack_b<T: PackElement>(
    b: MatRef<'_, T>,
    (row0, col0): (usize, usize),
    (kc, nc): (usize, usize),
    nr: usize,
    widener: Widener,
    dst: &mut [f32],
) {
    if kc == 0 || nc == 0 {
        return;
    }
    let data = b.data();
    let (rs, cs) = (b.row_stride(), b.col_stride());
    for (panel_index, panel) in dst
        .chunks_exact_mut(kc * nr)
        .take(nc.div_ceil(nr))
        .enumerate()
    {
        let first_col = col0 + panel_index * nr;
        let cols = nr.min(nc - panel_index * nr);
        if cols < nr {
            panel.fill(0.0);
        }
        if cs == 1 {
            // Row-major B: every k step is one contiguous run of columns.
            for (p, group) in panel.chunks_exact_mut(nr).enumerate() {
                let start = (row0 + p) * rs + first_col;
                T::convert_run(widener, &data[start..start + cols], &mut group[..cols]);
            }
        } else if rs == 1 && cols <= MAX_PANEL_COLS && T::WIDENS {
            // Column-major f16: widen `WIDEN_RUN` values of each column into
            // a buffer, then interleave them into the panel.
            let mut runs = [0.0f32; MAX_PANEL_COLS * WIDEN_RUN];
            for p0 in (0..kc).step_by(WIDEN_RUN) {
                let len = WIDEN_RUN.min(kc - p0);
                for c in 0..cols {
                    let start = (first_col + c) * cs + row0 + p0;
                    let run = &mut runs[c * WIDEN_RUN..][..len];
                    T::convert_run(widener, &data[start..start + len], run);
                }
                let rows = panel[p0 * nr..].chunks_exact_mut(nr).take(len);
                for (p, group) in rows.enumerate() {
                    for (c, slot) in group[..cols].iter_mut().enumerate() {
                        *slot = runs[c * WIDEN_RUN + p];
                    }
                }
            }
        } else if rs == 1 && cols <= MAX_PANEL_COLS {
            // Column-major B (e.g. a Linear weight used transposed): walk the
            // panel's columns side by side, so that they are read as parallel
            // sequential streams and the panel is written sequentially.
            let mut sources: [&[T]; MAX_PANEL_COLS] = [&[]; MAX_PANEL_COLS];
            for (c, source) in sources.iter_mut().take(cols).enumerate() {
                let start = (first_col + c) * cs + row0;
                *source = &data[start..start + kc];
            }
            for (p, group) in panel.chunks_exact_mut(nr).enumerate() {
                for (slot, source) in group.iter_mut().zip(&sources[..cols]) {
                    *slot = source[p].to_f32();
                }
            }
        } else {
            for (p, group) in panel.chunks_exact_mut(nr).enumerate() {
                for (c, slot) in group[..cols].iter_mut().enumerate() {
                    *slot = b.at(row0 + p, first_col + c).to_f32();
                }
            }
        }
    }
}
