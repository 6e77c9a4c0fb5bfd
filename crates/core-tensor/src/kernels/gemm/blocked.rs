//! The blocked, packed GEMM loop, written once and monomorphised per
//! micro-kernel.
//!
//! ```text
//! for jc in steps of NC over n:            B block: KC × NC, packed once per (jc, pc)
//!   for pc in steps of KC over k:
//!     pack B[pc.., jc..] into NR-column panels     (skipped when B is pre-packed)
//!     for ic in steps of MC over m:        A block: MC × KC, stays in L2
//!       pack A[ic.., pc..] into MR-row panels      (skipped when A is read in place)
//!       for jr in steps of NR:             one B panel
//!         for ir in steps of MR:           one A tile
//!           micro-kernel: C[ic+ir.., jc+jr..] (+)= A tile · B panel
//! ```
//!
//! A row-major `A` (unit column stride) is not packed (see
//! [`Blocking::a_in_place_max_n`], unlimited by default): the kernel reads
//! its rows in place. The first `pc` block overwrites `C` when asked not to accumulate (so its
//! old contents are never read); later blocks add to it.

use super::matrix::{MatMut, MatRef};
use super::pack::{pack_a, pack_b, packed_len};
use super::{Accumulate, Epilogue, PackedBRef};
use crate::buffer::AlignedBuf;
use crate::kernels::widen::Widener;
use half::f16;
use std::cell::RefCell;

/// The largest `MR × NR` tile any micro-kernel uses (the edge-tile buffer).
pub(crate) const MAX_TILE: usize = 14 * 32;

/// Where a micro-kernel reads its rows of A.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ATile<'a> {
    /// A packed panel (see `pack`): value `(r, p)` is at `p · MR + r`.
    Packed(&'a [f32]),
    /// A itself, read in place (its column stride is 1): value `(r, p)` is
    /// at `r · row_stride + p`.
    Rows {
        /// From the tile's first element on.
        data: &'a [f32],
        /// Distance between the tile's rows.
        row_stride: usize,
    },
}

/// One register-tiled micro-kernel.
///
/// Contract of [`MicroKernel::tile`], which every implementation checks
/// with [`check_tile_contract`] before it touches memory:
/// * `1 <= rows <= MR`;
/// * `a` is a packed panel of at least `kc · MR` values, or rows of A with
///   at least `(rows - 1) · row_stride + kc` values; the kernel reads only
///   the `rows × kc` values of the tile (in a packed panel, the first
///   `kc · MR` values, zero past `rows`);
/// * `b` holds at least `kc · NR` values: a B panel; the kernel reads
///   exactly the first `kc · NR`;
/// * `c` holds at least `(rows - 1) · c_row_stride + NR` values; the kernel
///   reads and writes only `c[r · c_row_stride + j]` for `r < rows`,
///   `j < NR`;
/// * when `overwrite` is true the kernel never reads `c` (NaN there cannot
///   leak); otherwise it adds its product to `c`.
pub(crate) trait MicroKernel: Copy {
    /// Rows of the register tile.
    const MR: usize;
    /// Columns of the register tile (the B panel width).
    const NR: usize;

    /// `c[j] (+)= Σ_p a[p] · w[j · w_row_stride + p]` for `j < c.len()`:
    /// a row vector times the rows of `w` (the product `1×k · k×n` when B
    /// is column-major, e.g. a Linear weight used transposed). Contract,
    /// checked by [`check_dot_contract`]: `w` holds at least
    /// `(c.len() - 1) · w_row_stride + a.len()` values when `c` is not empty,
    /// and only those are read; with `overwrite` `c` is never read.
    fn dot_rows(self, a: &[f32], w: &[f32], w_row_stride: usize, c: &mut [f32], overwrite: bool);

    /// `C[0..rows, 0..NR] (+)= A tile · B panel` over `kc` steps.
    #[allow(clippy::too_many_arguments)]
    fn tile(
        self,
        rows: usize,
        kc: usize,
        a: ATile<'_>,
        b: &[f32],
        c: &mut [f32],
        c_row_stride: usize,
        overwrite: bool,
    );
}

/// Checks the slice lengths of the [`MicroKernel::tile`] contract (SIMD
/// kernels call this before they read or write through raw pointers), and
/// returns A's data with the distance between its rows (0 for a packed
/// panel, whose layout the kernel knows).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn check_tile_contract<'a>(
    (mr, nr): (usize, usize),
    rows: usize,
    kc: usize,
    a: ATile<'a>,
    b: &[f32],
    c: &[f32],
    c_row_stride: usize,
) -> (&'a [f32], Option<usize>) {
    assert!(rows >= 1 && rows <= mr, "micro-kernel rows out of range");
    assert!(b.len() >= kc * nr, "short B panel");
    let a = match a {
        ATile::Packed(panel) => {
            assert!(panel.len() >= kc * mr, "short A panel");
            (panel, None)
        }
        ATile::Rows { data, row_stride } => {
            let needed = (rows - 1)
                .checked_mul(row_stride)
                .and_then(|x| x.checked_add(kc));
            assert!(needed.is_some_and(|n| n <= data.len()), "short A rows");
            (data, Some(row_stride))
        }
    };
    assert!(
        c.len() >= (rows - 1) * c_row_stride + nr,
        "C tile outside the C slice"
    );
    a
}

/// Checks the slice lengths of the [`MicroKernel::dot_rows`] contract.
#[inline(always)]
pub(crate) fn check_dot_contract(a: &[f32], w: &[f32], w_row_stride: usize, c: &[f32]) {
    if let Some(last) = c.len().checked_sub(1) {
        let needed = last
            .checked_mul(w_row_stride)
            .and_then(|x| x.checked_add(a.len()));
        assert!(needed.is_some_and(|n| n <= w.len()), "short W rows");
    }
}

/// A micro-kernel instance: `(kc, a, a_row_stride, b, c, c_row_stride,
/// overwrite)`; `a_row_stride` is ignored for a packed A panel. (Only SIMD
/// tiers use it: targets without one, like armv7, have no such kernel.)
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) type TileFn = unsafe fn(usize, *const f32, usize, *const f32, *mut f32, usize, bool);

/// The instances `[f::<1, PACKED>, f::<2, PACKED>, …]` of a kernel that is
/// generic over its row count and A's layout.
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
macro_rules! tile_fns {
    ($f:ident, $packed:literal, [$($rows:literal)*]) => {
        [$($f::<$rows, $packed>),*]
    };
}
#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
pub(crate) use tile_fns;

/// The B operand: strided (packed block by block into scratch) or already
/// packed over its whole depth.
#[derive(Clone, Copy)]
pub(crate) enum BOperand<'a> {
    /// Any strides; packed per `KC × NC` block.
    Strided(MatRef<'a>),
    /// Pre-packed `NR`-column panels of the full depth `k`.
    Packed(PackedBRef<'a>),
    /// Half floats, any strides; widened with `widener` while packed per
    /// `KC × NC` block (or per group of rows on the dot-product path).
    StridedF16 {
        /// The matrix.
        b: MatRef<'a, f16>,
        /// The tier's widening kernel.
        widener: Widener,
    },
}

/// Floats of the buffer the dot-product path widens f16 rows into (64 KB:
/// in L2 on every target, so the rows are read back from cache).
const DOT_WIDEN_FLOATS: usize = 16 * 1024;

/// Packing buffers, reused across calls on one thread.
#[derive(Default)]
pub(crate) struct Scratch {
    a: AlignedBuf,
    b: AlignedBuf,
}

fn as_floats(buf: &mut AlignedBuf, floats: usize) -> &mut [f32] {
    buf.resize(floats * size_of::<f32>());
    // AlignedBuf is 64-byte aligned and a multiple of 4 bytes long here.
    bytemuck::cast_slice_mut(buf.as_bytes_mut())
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// Runs `f` with this thread's packing buffers (or fresh ones if they are
/// in use, which only happens if a GEMM is started from inside another).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => f(&mut scratch),
        Err(_) => f(&mut Scratch::default()),
    })
}

/// Cache block sizes: `kc` deep, `mc` rows of A, `nc` columns of B.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Blocking {
    /// Depth of a block: each block is one more pass over C, and its B
    /// panels (`kc × NR`) are reused by every A tile of the block.
    pub(crate) kc: usize,
    /// Rows of an A block (`mc × kc` should fit in L2); a multiple of `MR`.
    pub(crate) mc: usize,
    /// Columns of a B block; a multiple of `NR`.
    pub(crate) nc: usize,
    /// A row-major A is read in place instead of packed when `n` is at most
    /// this (each A tile then meets at most this many columns of B).
    pub(crate) a_in_place_max_n: usize,
    /// A single row of A times a column-major B runs as dot products
    /// ([`MicroKernel::dot_rows`]) instead of the blocked loop.
    pub(crate) dot_rows: bool,
}

impl Blocking {
    /// True when the sizes suit a kernel with tile `mr × nr`.
    pub(crate) fn fits(&self, mr: usize, nr: usize) -> bool {
        self.kc > 0
            && self.mc > 0
            && self.nc > 0
            && self.mc.is_multiple_of(mr)
            && self.nc.is_multiple_of(nr)
    }
}

/// `C = A·B` or `C += A·B` for `A` m×k, `B` k×n, `C` m×n, then the
/// epilogue on each MC × NC block after its last depth block (shapes checked by the
/// caller; `blocking` fits the kernel).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_blocked<K: MicroKernel>(
    kernel: K,
    blocking: Blocking,
    a: MatRef<'_>,
    b: BOperand<'_>,
    mut c: MatMut<'_>,
    accumulate: Accumulate,
    epilogue: &Epilogue<'_>,
    scratch: &mut Scratch,
) {
    let (m, k, n) = (a.rows(), a.cols(), c.cols());
    if m == 0 || n == 0 {
        return;
    }
    let finish = !epilogue.is_identity();
    if k == 0 {
        if accumulate == Accumulate::No {
            for i in 0..m {
                c.row_mut(i).fill(0.0);
            }
        }
        if finish {
            epilogue.apply_block(&mut c, (0, 0), (m, n));
        }
        return;
    }
    // A vector times a column-major matrix (a Linear layer at batch 1):
    // packing B would cost more than the product, so stream each column of B
    // (a row of the weight) once instead. Element (0, p) of A is data[p],
    // element (p, j) of B is data[j · col_stride + p].
    if let BOperand::Strided(b) = b
        && m == 1
        && a.col_stride() == 1
        && b.row_stride() == 1
        && blocking.dot_rows
    {
        let overwrite = accumulate == Accumulate::No;
        let (a_row, c_row) = (&a.data()[..k], c.row_mut(0));
        kernel.dot_rows(a_row, b.data(), b.col_stride(), c_row, overwrite);
        if finish {
            epilogue.apply_row(c_row, 0, 0);
        }
        return;
    }
    // The same with f16 rows: a group of rows is widened into scratch, then
    // the same dot-product kernel runs on them. Groups are a multiple of 4
    // rows (the kernels' row grouping), so every output is computed exactly
    // as from an f32 matrix holding the widened values.
    if let BOperand::StridedF16 { b, widener } = b
        && m == 1
        && a.col_stride() == 1
        && b.row_stride() == 1
        && blocking.dot_rows
    {
        let overwrite = accumulate == Accumulate::No;
        let group = (DOT_WIDEN_FLOATS / k / 4 * 4).max(4);
        let buf = as_floats(&mut scratch.b, group * k);
        let (a_row, c_row) = (&a.data()[..k], c.row_mut(0));
        let (data, stride) = (b.data(), b.col_stride());
        for (g, c_group) in c_row.chunks_mut(group).enumerate() {
            let rows = c_group.len();
            for (r, dst) in buf.chunks_exact_mut(k).take(rows).enumerate() {
                let start = (g * group + r) * stride;
                widener.widen(&data[start..start + k], dst);
            }
            kernel.dot_rows(a_row, &buf[..rows * k], k, c_group, overwrite);
        }
        if finish {
            epilogue.apply_row(c_row, 0, 0);
        }
        return;
    }
    let (mr, nr) = (K::MR, K::NR);
    assert!(
        blocking.fits(mr, nr),
        "cache blocking does not fit the kernel"
    );
    let c_row_stride = c.row_stride();
    // Depth blocks of equal size (at most KC), so that no short tail block
    // pays a full pass over C for a few steps of k.
    let k_step = k.div_ceil(k.div_ceil(blocking.kc));
    // Blocks are at most KC × NC and MC × KC: the scratch size is bounded by
    // the kernel's constants, never by the input shapes.
    let b_floats = packed_len(n.min(blocking.nc), nr, k.min(blocking.kc)).unwrap_or(0);
    let a_floats = packed_len(m.min(blocking.mc), mr, k.min(blocking.kc)).unwrap_or(0);
    // A row-major A is read in place (packing it costs a pass over A that
    // only pays off when many B panels reuse each A panel).
    let a_in_place = a.col_stride() == 1 && n <= blocking.a_in_place_max_n;
    let a_buf = as_floats(&mut scratch.a, if a_in_place { 0 } else { a_floats });
    let b_buf = as_floats(&mut scratch.b, b_floats);

    for jc in (0..n).step_by(blocking.nc) {
        let nc = blocking.nc.min(n - jc);
        for pc in (0..k).step_by(k_step) {
            let kc = k_step.min(k - pc);
            let overwrite = pc == 0 && accumulate == Accumulate::No;
            let last_block = pc + kc == k;
            // (panels, index of the block's first value, distance between panels)
            let (panels, first, panel_stride): (&[f32], usize, usize) = match b {
                BOperand::Strided(b) => {
                    pack_b(b, (pc, jc), (kc, nc), nr, Widener::Scalar, b_buf);
                    (b_buf, 0, kc * nr)
                }
                BOperand::StridedF16 { b, widener } => {
                    pack_b(b, (pc, jc), (kc, nc), nr, widener, b_buf);
                    (b_buf, 0, kc * nr)
                }
                BOperand::Packed(p) => (p.data(), (jc / nr) * k * nr + pc * nr, k * nr),
            };
            for ic in (0..m).step_by(blocking.mc) {
                let mc = blocking.mc.min(m - ic);
                if !a_in_place {
                    pack_a(a, (ic, pc), (mc, kc), mr, a_buf);
                }
                for jr in (0..nc).step_by(nr) {
                    let cols = nr.min(nc - jr);
                    let b_panel = &panels[first + (jr / nr) * panel_stride..][..kc * nr];
                    for ir in (0..mc).step_by(mr) {
                        let rows = mr.min(mc - ir);
                        let a_tile = if a_in_place {
                            ATile::Rows {
                                data: &a.data()[(ic + ir) * a.row_stride() + pc..],
                                row_stride: a.row_stride(),
                            }
                        } else {
                            ATile::Packed(&a_buf[(ir / mr) * kc * mr..][..kc * mr])
                        };
                        let (row, col) = (ic + ir, jc + jr);
                        if cols == nr {
                            let c_tile = c.tail_from(row, col);
                            kernel.tile(rows, kc, a_tile, b_panel, c_tile, c_row_stride, overwrite);
                        } else {
                            let tile = (rows, cols, kc);
                            edge_tile(kernel, tile, a_tile, b_panel, &mut c, (row, col), overwrite);
                        }
                    }
                }
                // The epilogue runs once per MC × NC block (still in L2),
                // over rows of up to NC values: far fewer, longer loops than
                // per MR × NR tile.
                if finish && last_block {
                    epilogue.apply_block(&mut c, (ic, jc), (mc, nc));
                }
            }
        }
    }
}

#[repr(C, align(64))]
struct TileBuf([f32; MAX_TILE]);

/// A tile narrower than `NR`: the kernel writes a full tile into a local
/// buffer, and only the `rows × cols` that exist are merged into `C`.
fn edge_tile<K: MicroKernel>(
    kernel: K,
    (rows, cols, kc): (usize, usize, usize),
    a_tile: ATile<'_>,
    b_panel: &[f32],
    c: &mut MatMut<'_>,
    (row, col): (usize, usize),
    overwrite: bool,
) {
    let nr = K::NR;
    let mut buf = TileBuf([0.0; MAX_TILE]);
    kernel.tile(rows, kc, a_tile, b_panel, &mut buf.0, nr, true);
    for (r, tile_row) in buf.0.chunks_exact(nr).take(rows).enumerate() {
        let out = &mut c.row_mut(row + r)[col..col + cols];
        if overwrite {
            out.copy_from_slice(&tile_row[..cols]);
        } else {
            for (o, &t) in out.iter_mut().zip(tile_row) {
                *o += t;
            }
        }
    }
}
