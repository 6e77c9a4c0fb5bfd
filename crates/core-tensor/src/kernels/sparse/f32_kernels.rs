//! The f32 sparse kernels, written once over [`Simd`] and compiled per tier
//! by [`run_on`].
//!
//! * [`Pointwise`]: `Y (m×n) = W (m×k) · X (k×n)`, `X` and `Y` row-major
//!   (NCHW activations of a 1×1 convolution, `n = H·W`). Lanes run along
//!   `n`: for each non-zero `w` of a row, `splat(w)` times a vector of
//!   `X`'s row is added to a register tile of `Y`'s row, `TW` vectors wide.
//!   A 4×1 block feeds four output rows from one load of `X`.
//! * [`Linear`]: `Y (batch×m) = X (batch×k) · Wᵀ` (a fully connected layer,
//!   `W` stored `out × in` like ONNX `Gemm` with `transB`). Each `Y` value
//!   is a dot product of a sparse row with a dense `X` row: partial sums in
//!   `U` independent accumulators (and 4 lanes for the 1×4 and 4×1 blocks,
//!   which the compiler turns into one 128-bit multiply-add) hide the
//!   latency of the indexed loads.

use super::matrix::ColumnIndex;
use crate::kernels::gemm::Epilogue;
use crate::kernels::simd::{MAX_LANES, Simd, SimdKernel};

/// The borrowed structure of a matrix, columns typed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Parts<'a, I> {
    pub(crate) rows: usize,
    pub(crate) cols: usize,
    pub(crate) block_ptr: &'a [u32],
    pub(crate) columns: &'a [I],
    pub(crate) values: &'a [f32],
}

/// The 1×1-convolution kernel; `R` × `C` is the block shape, `TW` the
/// vectors per register tile. Lengths were checked by the caller:
/// `x.len() == cols · n`, `y.len() == rows · n`.
pub(crate) struct Pointwise<'a, 'e, I, const R: usize, const C: usize, const TW: usize> {
    pub(crate) w: Parts<'a, I>,
    pub(crate) x: &'a [f32],
    pub(crate) n: usize,
    pub(crate) y: &'a mut [f32],
    pub(crate) epilogue: &'a Epilogue<'e>,
}

impl<I: ColumnIndex, const R: usize, const C: usize, const TW: usize> SimdKernel
    for Pointwise<'_, '_, I, R, C, TW>
{
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, s: S) {
        let Pointwise {
            w,
            x,
            n,
            y,
            epilogue,
        } = self;
        let lanes = S::LANES;
        // The last `n % lanes` columns of X, zero padded to one vector, so
        // that the ragged end runs as one more vector tile.
        let tail_start = n - n % lanes;
        let x_tail: Vec<f32> = if tail_start < n {
            x.chunks_exact(n)
                .flat_map(|row| {
                    let mut padded = [0.0f32; MAX_LANES];
                    padded[..n - tail_start].copy_from_slice(&row[tail_start..]);
                    padded.into_iter().take(lanes)
                })
                .collect()
        } else {
            Vec::new()
        };
        for (b, pair) in w.block_ptr.windows(2).enumerate() {
            let blocks = (pair[0] as usize, pair[1] as usize);
            let row0 = b * R;
            let rows_here = R.min(w.rows - row0);
            let out = &mut y[row0 * n..(row0 + rows_here) * n];
            let mut n0 = 0;
            while n0 + TW * lanes <= n {
                tile::<S, I, R, C, TW>(s, w, blocks, x, n, n0, out);
                n0 += TW * lanes;
            }
            while n0 + lanes <= n {
                tile::<S, I, R, C, 1>(s, w, blocks, x, n, n0, out);
                n0 += lanes;
            }
            if n0 < n {
                let mut tail = [0.0f32; 4 * MAX_LANES];
                let tail = &mut tail[..rows_here * lanes];
                tile::<S, I, R, C, 1>(s, w, blocks, &x_tail, lanes, 0, tail);
                for r in 0..rows_here {
                    out[r * n + n0..(r + 1) * n].copy_from_slice(&tail[r * lanes..][..n - n0]);
                }
            }
            if !epilogue.is_identity() {
                for r in 0..rows_here {
                    epilogue.apply_row(&mut out[r * n..(r + 1) * n], row0 + r, 0);
                }
            }
        }
    }
}

/// Columns `n0 .. n0 + T · LANES` of the block row whose blocks are
/// `blocks`, into `out` (its `rows_here ≤ R` rows of `n`).
#[inline(always)]
fn tile<S: Simd, I: ColumnIndex, const R: usize, const C: usize, const T: usize>(
    s: S,
    w: Parts<'_, I>,
    blocks: (usize, usize),
    x: &[f32],
    n: usize,
    n0: usize,
    out: &mut [f32],
) {
    let lanes = S::LANES;
    let zero = s.splat(0.0);
    // Two sets of accumulators for single-row blocks, used in turn, so that
    // consecutive non-zeros do not wait on each other's multiply-add (a 4×1
    // block already feeds 4 · T independent accumulators).
    let mut acc = [[[zero; T]; R]; 2];
    // Blocks in pairs, so that the set each non-zero goes to is known at
    // compile time (a run-time index would keep the accumulators in memory).
    let mut j = blocks.0;
    while j < blocks.1 {
        let count = (blocks.1 - j).min(2);
        for u in 0..2 {
            if u == count {
                break;
            }
            let first = w.columns[j + u].get();
            let v = &w.values[(j + u) * R * C..][..R * C];
            for c in 0..C {
                let set = if R == 1 { (u * C + c) % 2 } else { 0 };
                let x_row = &x[(first + c) * n + n0..][..T * lanes];
                let mut xv = [zero; T];
                for (t, xt) in xv.iter_mut().enumerate() {
                    *xt = s.load(&x_row[t * lanes..]);
                }
                for (r, acc_r) in acc[set].iter_mut().enumerate() {
                    let wv = s.splat(v[r * C + c]);
                    for (a, &xt) in acc_r.iter_mut().zip(&xv) {
                        *a = s.mul_add(wv, xt, *a);
                    }
                }
            }
        }
        j += count;
    }
    let rows_here = out.len() / n;
    for r in 0..rows_here {
        for t in 0..T {
            let sum = s.add(acc[0][r][t], acc[1][r][t]);
            s.store(&mut out[r * n + n0 + t * lanes..], sum);
        }
    }
}

/// The fully-connected kernel; `R` × `C` is the block shape (`R · C ≤ 4`),
/// `U` the blocks summed in independent accumulators. Lengths were checked
/// by the caller: `x.len() == batch · cols`, `y.len() == batch · rows`.
pub(crate) struct Linear<'a, 'e, I, const R: usize, const C: usize, const U: usize> {
    pub(crate) w: Parts<'a, I>,
    pub(crate) x: &'a [f32],
    pub(crate) batch: usize,
    pub(crate) y: &'a mut [f32],
    pub(crate) epilogue: &'a Epilogue<'e>,
}

impl<I: ColumnIndex, const R: usize, const C: usize, const U: usize> SimdKernel
    for Linear<'_, '_, I, R, C, U>
{
    type Output = ();

    #[inline(always)]
    fn run<S: Simd>(self, _s: S) {
        let Linear {
            w,
            x,
            batch,
            y,
            epilogue,
        } = self;
        let (k, m) = (w.cols, w.rows);
        for i in 0..batch {
            let x_row = &x[i * k..(i + 1) * k];
            let y_row = &mut y[i * m..(i + 1) * m];
            for (b, pair) in w.block_ptr.windows(2).enumerate() {
                let (start, end) = (pair[0] as usize, pair[1] as usize);
                let sums = block_row_dot::<I, R, C, U>(w, start, end, x_row);
                let row0 = b * R;
                let rows_here = R.min(m - row0);
                y_row[row0..row0 + rows_here].copy_from_slice(&sums[..rows_here]);
            }
            if !epilogue.is_identity() {
                epilogue.apply_row(y_row, i, 0);
            }
        }
    }
}

/// The `R` dot products of blocks `start .. end` with `x`.
#[inline(always)]
fn block_row_dot<I: ColumnIndex, const R: usize, const C: usize, const U: usize>(
    w: Parts<'_, I>,
    start: usize,
    end: usize,
    x: &[f32],
) -> [f32; R] {
    let mut partial = [[[0.0f32; C]; R]; U];
    let columns = &w.columns[start..end];
    let values = &w.values[start * R * C..end * R * C];
    let mut column_chunks = columns.chunks_exact(U);
    let mut value_chunks = values.chunks_exact(U * R * C);
    for (cols, vals) in column_chunks.by_ref().zip(value_chunks.by_ref()) {
        for u in 0..U {
            let first = cols[u].get();
            debug_assert!(first + C <= x.len(), "column outside x");
            let v = &vals[u * R * C..][..R * C];
            for r in 0..R {
                for c in 0..C {
                    // SAFETY: `first + c < cols == x.len()`: the columns of a
                    // `SparseMatrix` were validated on construction (below
                    // `cols`; a 1×4 block starts at a multiple of 4 and `cols`
                    // is one), and the entry points checked `x`'s length.
                    let xv = unsafe { *x.get_unchecked(first + c) };
                    partial[u][r][c] += v[r * C + c] * xv;
                }
            }
        }
    }
    let rest = column_chunks.remainder();
    let rest_values = value_chunks.remainder();
    for (u, &col) in rest.iter().enumerate() {
        let x_block = &x[col.get()..][..C];
        let v = &rest_values[u * R * C..][..R * C];
        for r in 0..R {
            for c in 0..C {
                partial[0][r][c] += v[r * C + c] * x_block[c];
            }
        }
    }
    let mut sums = [0.0f32; R];
    for (r, sum) in sums.iter_mut().enumerate() {
        let mut lanes = [0.0f32; C];
        for p in &partial {
            for c in 0..C {
                lanes[c] += p[r][c];
            }
        }
        *sum = lanes.iter().sum();
    }
    sums
}
