//! Splitting one GEMM over threads.
//!
//! With one thread (or a product too small to be worth a fork) the GEMM
//! runs on the calling thread: rayon is not touched. Otherwise `C` is cut
//! into one part per thread, run on rayon's current pool:
//! * by rows, in whole `MR` tiles, when that balances well: each part is a
//!   disjoint run of `C`'s memory, written in place;
//! * else by columns, in whole `NR` panels: a single row of `C` is cut in
//!   place; several rows are computed into one buffer per part and copied
//!   back (safe code cannot hand out interleaved column blocks of `C`).
//!
//! Every part runs the same blocked loop with the same epilogue (restricted
//! to its rows or columns), so results do not depend on the thread count
//! beyond the order of nothing: each element of `C` is computed by exactly
//! one part with the same depth blocks.

use super::blocked::BOperand;
use super::matrix::{MatMut, MatRef};
use super::{Accumulate, Epilogue, dispatch, f32_gemm_kernel};
use crate::error::TensorError;
use crate::isa::Isa;
use rayon::prelude::*;

/// Below this many multiply-adds a product runs on one thread (a fork and
/// join costs a few microseconds).
pub(crate) const MIN_PARALLEL_MACS: usize = 1 << 20;

/// What every part of a split GEMM shares.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Job {
    pub(crate) isa: Isa,
    pub(crate) blocking: super::blocked::Blocking,
    pub(crate) accumulate: Accumulate,
    /// Below this many multiply-adds the product runs on one thread
    /// ([`MIN_PARALLEL_MACS`]; tests lower it to split small products).
    pub(crate) min_parallel_macs: usize,
}

impl Job {
    fn run_one(
        &self,
        a: MatRef<'_>,
        b: BOperand<'_>,
        c: MatMut<'_>,
        epilogue: &Epilogue<'_>,
    ) -> Result<(), TensorError> {
        dispatch(self.isa, self.blocking, a, b, c, self.accumulate, epilogue)
    }
}

/// Share of the busiest part when `tiles` tiles are dealt to `parts`
/// parts, as a fraction of perfect balance (1.0 = perfect).
fn balance(tiles: usize, parts: usize) -> f64 {
    if tiles == 0 || parts == 0 {
        return 0.0;
    }
    tiles as f64 / (parts * tiles.div_ceil(parts)) as f64
}

/// Boundaries of `parts` nearly equal runs of `tiles` tiles of `size`
/// elements, clipped to `len`: `[0, b1, …, len]`.
fn cuts(len: usize, size: usize, parts: usize) -> Vec<usize> {
    let tiles = len.div_ceil(size);
    (0..=parts)
        .map(|i| (tiles * i / parts * size).min(len))
        .collect()
}

/// Runs the GEMM (shapes and tier already checked) on up to `threads`
/// threads.
pub(crate) fn run(
    job: Job,
    a: MatRef<'_>,
    b: BOperand<'_>,
    mut c: MatMut<'_>,
    epilogue: &Epilogue<'_>,
    threads: usize,
) -> Result<(), TensorError> {
    let (m, k, n) = (a.rows(), a.cols(), c.cols());
    let macs = m.saturating_mul(k).saturating_mul(n);
    if threads <= 1 || macs < job.min_parallel_macs {
        return job.run_one(a, b, c, epilogue);
    }
    let kernel = f32_gemm_kernel(job.isa);
    let (row_tiles, col_tiles) = (m.div_ceil(kernel.mr), n.div_ceil(kernel.nr));
    let row_parts = threads.min(row_tiles);
    let col_parts = threads.min(col_tiles);
    let by_rows = row_parts >= 2
        && (balance(row_tiles, threads) >= 0.85
            || balance(row_tiles, threads) >= balance(col_tiles, threads));
    if by_rows {
        if let Some(()) = split_rows(job, a, b, c.reborrow(), epilogue, row_parts)? {
            return Ok(());
        }
    } else if col_parts >= 2 {
        return split_columns(job, a, b, c, epilogue, col_parts);
    }
    job.run_one(a, b, c, epilogue)
}

/// Row split in place; `None` when `C`'s rows overlap (then nothing ran).
fn split_rows(
    job: Job,
    a: MatRef<'_>,
    b: BOperand<'_>,
    c: MatMut<'_>,
    epilogue: &Epilogue<'_>,
    parts: usize,
) -> Result<Option<()>, TensorError> {
    let bounds = cuts(c.rows(), f32_gemm_kernel(job.isa).mr, parts);
    let mut pieces = Vec::with_capacity(parts);
    let mut rest = c;
    for w in bounds.windows(2) {
        let (first, end) = (w[0], w[1]);
        let Some((top, bottom)) = rest.split_rows(end - first) else {
            return Ok(None);
        };
        pieces.push((first, end - first, top));
        rest = bottom;
    }
    pieces
        .into_par_iter()
        .map(|(first, rows, c_part)| {
            let a_part = a.sub(first, 0, rows, a.cols());
            job.run_one(a_part, b, c_part, &epilogue.rows(first, rows))
        })
        .collect::<Result<Vec<()>, TensorError>>()?;
    Ok(Some(()))
}

/// Columns `first .. first + count` of `B`.
fn b_columns<'b>(b: BOperand<'b>, first: usize, count: usize) -> BOperand<'b> {
    match b {
        BOperand::Strided(b) => BOperand::Strided(b.sub(0, first, b.rows(), count)),
        BOperand::Packed(p) => BOperand::Packed(p.columns(first, count)),
        BOperand::StridedF16 { b, widener } => BOperand::StridedF16 {
            b: b.sub(0, first, b.rows(), count),
            widener,
        },
    }
}

/// Column split: one row of `C` is cut in place; several rows go through
/// one buffer per part.
fn split_columns(
    job: Job,
    a: MatRef<'_>,
    b: BOperand<'_>,
    mut c: MatMut<'_>,
    epilogue: &Epilogue<'_>,
    parts: usize,
) -> Result<(), TensorError> {
    let (m, n) = (c.rows(), c.cols());
    let bounds = cuts(n, f32_gemm_kernel(job.isa).nr, parts);
    if m == 1 {
        let mut row = c.row_mut(0);
        let mut pieces = Vec::with_capacity(parts);
        for w in bounds.windows(2) {
            let (head, tail) = row.split_at_mut(w[1] - w[0]);
            pieces.push((w[0], head));
            row = tail;
        }
        return pieces
            .into_par_iter()
            .map(|(first, out)| {
                let count = out.len();
                let c_part = MatMut::row_major(out, 1, count)?;
                let b_part = b_columns(b, first, count);
                job.run_one(a, b_part, c_part, &epilogue.columns(first, count))
            })
            .collect::<Result<Vec<()>, TensorError>>()
            .map(|_| ());
    }
    let blocks = bounds
        .windows(2)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|w| {
            let (first, count) = (w[0], w[1] - w[0]);
            let mut buf = vec![0.0f32; m * count];
            if job.accumulate == Accumulate::Yes {
                for (i, dst) in buf.chunks_exact_mut(count).enumerate() {
                    let src = c_row(&c, i, first, count);
                    dst.copy_from_slice(src);
                }
            }
            let c_part = MatMut::row_major(&mut buf, m, count)?;
            let b_part = b_columns(b, first, count);
            job.run_one(a, b_part, c_part, &epilogue.columns(first, count))?;
            Ok((first, count, buf))
        })
        .collect::<Result<Vec<_>, TensorError>>()?;
    for (first, count, buf) in blocks {
        for (i, src) in buf.chunks_exact(count).enumerate() {
            c.row_mut(i)[first..first + count].copy_from_slice(src);
        }
    }
    Ok(())
}

/// Elements `first .. first + count` of row `i` of `c`, read-only.
fn c_row<'c>(c: &'c MatMut<'_>, i: usize, first: usize, count: usize) -> &'c [f32] {
    &c.row(i)[first..first + count]
}
