//! numpy broadcasting of N inputs to one output, arranged so that the inner
//! loops run over contiguous memory.
//!
//! [`Broadcast::new`] drops the output's size-1 axes and merges neighbouring
//! axes along which every input is either contiguous or constant. What is
//! left is a list of outer axes and one inner axis along which each input
//! advances by 1 (it is read there) or by 0 (it is broadcast). Equal shapes
//! and scalars therefore become a single run: the fast paths fall out of the
//! plan. The kernels ([`binary`], [`accumulate`], ...) walk the output in
//! runs and see each input as a [`Lane`]: a slice or a single value.

use super::length_mismatch;
use crate::error::{OpError, OpResult};
use crate::parallel::for_each_chunk_mut;
use crate::util::{broadcast_shapes, broadcast_strides};

/// Output elements per rayon task when operators run multi-threaded.
pub(super) const PARALLEL_CHUNK: usize = 1 << 14;

/// The broadcast of `shapes` (at least one), numpy style.
pub(super) fn broadcast_all<'a>(
    shapes: impl IntoIterator<Item = &'a [usize]>,
) -> OpResult<Vec<usize>> {
    shapes
        .into_iter()
        .try_fold(Vec::new(), |acc, s| broadcast_shapes(&acc, s))
}

/// A kernel over one run of output elements (see [`Broadcast::run`]), as a
/// trait object for the parallel path.
type RunKernel<'a, O, const N: usize> =
    dyn Fn(&mut [O], [usize; N], [usize; N]) -> OpResult<()> + Sync + 'a;

/// How N inputs are read while writing an output of a given shape.
#[derive(Debug)]
pub(super) struct Broadcast<const N: usize> {
    total: usize,
    outer: Vec<usize>,
    outer_strides: [Vec<usize>; N],
    inner_len: usize,
    inner_strides: [usize; N],
}

impl<const N: usize> Broadcast<N> {
    /// Plans reading inputs of `shapes` as tensors of shape `out`; each
    /// shape must broadcast to `out` without changing it.
    pub(super) fn new(out: &[usize], shapes: [&[usize]; N]) -> OpResult<Self> {
        for shape in shapes {
            if shape.len() > out.len() || broadcast_shapes(shape, out)? != out {
                return Err(OpError::ShapeMismatch {
                    reason: format!("{shape:?} does not broadcast to {out:?}"),
                });
            }
        }
        let total = pocketnn_tensor::num_elements(out).ok_or_else(|| OpError::TooLarge {
            shape: out.to_vec(),
        })?;
        let strides: [Vec<usize>; N] = shapes.map(|s| broadcast_strides(s, out));
        let mut dims: Vec<usize> = Vec::new();
        let mut merged: [Vec<usize>; N] = std::array::from_fn(|_| Vec::new());
        for (axis, &dim) in out.iter().enumerate() {
            if dim == 1 {
                continue;
            }
            let stride = |k: usize| strides[k].get(axis).copied().unwrap_or(0);
            // Axis `axis` continues the previous merged axis when, for every
            // input, stepping over the whole axis equals one step of the
            // previous one (both contiguous, or both broadcast).
            let continues = !dims.is_empty()
                && (0..N).all(|k| merged[k].last().copied() == stride(k).checked_mul(dim));
            if let (true, Some(last)) = (continues, dims.last_mut()) {
                *last *= dim;
                for (k, m) in merged.iter_mut().enumerate() {
                    if let Some(s) = m.last_mut() {
                        *s = stride(k);
                    }
                }
            } else {
                dims.push(dim);
                for (k, m) in merged.iter_mut().enumerate() {
                    m.push(stride(k));
                }
            }
        }
        let (inner_len, inner_strides) = match dims.pop() {
            Some(len) => (len, std::array::from_fn(|k| merged[k].pop().unwrap_or(0))),
            None => (1, [0; N]),
        };
        Ok(Broadcast {
            total,
            outer: dims,
            outer_strides: merged,
            inner_len,
            inner_strides,
        })
    }

    /// Runs `kernel(run, offsets, strides)` over `out` in runs of consecutive
    /// elements: `offsets[k]` is where input `k` is read for the run's first
    /// element, `strides[k]` (0 or 1) how it advances. With `threads > 1`
    /// and a large output, chunks of the output go to rayon tasks.
    pub(super) fn run<O: Send>(
        &self,
        threads: usize,
        out: &mut [O],
        kernel: impl Fn(&mut [O], [usize; N], [usize; N]) -> OpResult<()> + Sync,
    ) -> OpResult<()> {
        if out.len() != self.total {
            return Err(length_mismatch("output"));
        }
        if threads > 1 && out.len() > PARALLEL_CHUNK {
            let kernel: &RunKernel<'_, O, N> = &kernel;
            for_each_chunk_mut(out, PARALLEL_CHUNK, &|i, chunk| {
                self.runs(i * PARALLEL_CHUNK, chunk, &kernel)
            })
        } else {
            self.runs(0, out, &kernel)
        }
    }

    /// The runs of `out`, the part of the output starting at element `start`.
    fn runs<O>(
        &self,
        start: usize,
        mut out: &mut [O],
        kernel: &impl Fn(&mut [O], [usize; N], [usize; N]) -> OpResult<()>,
    ) -> OpResult<()> {
        if out.is_empty() || self.inner_len == 0 {
            return Ok(());
        }
        // The multi-index (over the outer axes) of the row holding `start`.
        let mut column = start % self.inner_len;
        let mut rest = start / self.inner_len;
        let mut index = vec![0usize; self.outer.len()];
        let mut row_offsets = [0usize; N];
        for axis in (0..self.outer.len()).rev() {
            let dim = self.outer[axis];
            index[axis] = rest % dim;
            rest /= dim;
            for (k, offset) in row_offsets.iter_mut().enumerate() {
                *offset += index[axis] * self.outer_strides[k][axis];
            }
        }
        while !out.is_empty() {
            let len = (self.inner_len - column).min(out.len());
            let (run, tail) = std::mem::take(&mut out).split_at_mut(len);
            let offsets = std::array::from_fn(|k| row_offsets[k] + column * self.inner_strides[k]);
            kernel(run, offsets, self.inner_strides)?;
            out = tail;
            column = 0;
            self.next_row(&mut index, &mut row_offsets);
        }
        Ok(())
    }

    /// Advances the outer multi-index by one row, updating the offsets.
    fn next_row(&self, index: &mut [usize], offsets: &mut [usize; N]) {
        for axis in (0..self.outer.len()).rev() {
            index[axis] += 1;
            for (k, offset) in offsets.iter_mut().enumerate() {
                *offset += self.outer_strides[k][axis];
            }
            if index[axis] < self.outer[axis] {
                return;
            }
            for (k, offset) in offsets.iter_mut().enumerate() {
                *offset -= self.outer_strides[k][axis] * self.outer[axis];
            }
            index[axis] = 0;
        }
    }
}

/// One input as seen along a run: consecutive elements, or one repeated value.
#[derive(Clone, Copy, Debug)]
pub(super) enum Lane<'a, T> {
    /// The input advances with the output.
    Run(&'a [T]),
    /// The input is broadcast along the run.
    Splat(T),
}

impl<'a, T: Copy> Lane<'a, T> {
    /// The lane of `data` for a run of `len` elements starting at `offset`
    /// and advancing by `stride` (0 or 1).
    pub(super) fn new(data: &'a [T], offset: usize, stride: usize, len: usize) -> OpResult<Self> {
        let lane = match stride {
            0 => data.get(offset).copied().map(Lane::Splat),
            1 => offset
                .checked_add(len)
                .and_then(|end| data.get(offset..end))
                .map(Lane::Run),
            _ => None,
        };
        lane.ok_or_else(|| length_mismatch("input"))
    }

    /// The lane's values (endless for a splat; zip it with the run).
    pub(super) fn iter(self) -> LaneIter<'a, T> {
        match self {
            Lane::Run(s) => LaneIter::Run(s.iter()),
            Lane::Splat(v) => LaneIter::Splat(v),
        }
    }
}

/// Iterator over a [`Lane`].
#[derive(Debug)]
pub(super) enum LaneIter<'a, T> {
    /// Over a slice.
    Run(std::slice::Iter<'a, T>),
    /// One value, forever.
    Splat(T),
}

impl<T: Copy> Iterator for LaneIter<'_, T> {
    type Item = T;
    #[inline(always)]
    fn next(&mut self) -> Option<T> {
        match self {
            LaneIter::Run(it) => it.next().copied(),
            LaneIter::Splat(v) => Some(*v),
        }
    }
}

/// `out = f(a, b)` with broadcasting; the four lane combinations get their
/// own loops so each one vectorises.
pub(super) fn binary<A, B, O>(
    plan: &Broadcast<2>,
    threads: usize,
    a: &[A],
    b: &[B],
    out: &mut [O],
    f: impl Fn(A, B) -> O + Sync,
) -> OpResult<()>
where
    A: Copy + Sync,
    B: Copy + Sync,
    O: Copy + Send,
{
    plan.run(threads, out, |run, [oa, ob], [sa, sb]| {
        let len = run.len();
        match (Lane::new(a, oa, sa, len)?, Lane::new(b, ob, sb, len)?) {
            (Lane::Run(x), Lane::Run(y)) => {
                for ((o, &x), &y) in run.iter_mut().zip(x).zip(y) {
                    *o = f(x, y);
                }
            }
            (Lane::Run(x), Lane::Splat(y)) => {
                for (o, &x) in run.iter_mut().zip(x) {
                    *o = f(x, y);
                }
            }
            (Lane::Splat(x), Lane::Run(y)) => {
                for (o, &y) in run.iter_mut().zip(y) {
                    *o = f(x, y);
                }
            }
            (Lane::Splat(x), Lane::Splat(y)) => run.fill(f(x, y)),
        }
        Ok(())
    })
}

/// `out = f(out, b)` with `b` broadcast to the output (the running fold of
/// variadic operators).
pub(super) fn accumulate<B, O>(
    plan: &Broadcast<1>,
    threads: usize,
    out: &mut [O],
    b: &[B],
    f: impl Fn(O, B) -> O + Sync,
) -> OpResult<()>
where
    B: Copy + Sync,
    O: Copy + Send,
{
    plan.run(threads, out, |run, [ob], [sb]| {
        match Lane::new(b, ob, sb, run.len())? {
            Lane::Run(y) => {
                for (o, &y) in run.iter_mut().zip(y) {
                    *o = f(*o, y);
                }
            }
            Lane::Splat(y) => {
                for o in run.iter_mut() {
                    *o = f(*o, y);
                }
            }
        }
        Ok(())
    })
}

/// `out = f(a, b, c)` with three-way broadcasting (for `Where`).
pub(super) fn ternary<A, B, C, O>(
    plan: &Broadcast<3>,
    threads: usize,
    inputs: (&[A], &[B], &[C]),
    out: &mut [O],
    f: impl Fn(A, B, C) -> O + Sync,
) -> OpResult<()>
where
    A: Copy + Sync,
    B: Copy + Sync,
    C: Copy + Sync,
    O: Copy + Send,
{
    let (a, b, c) = inputs;
    plan.run(threads, out, |run, [oa, ob, oc], [sa, sb, sc]| {
        let len = run.len();
        let x = Lane::new(a, oa, sa, len)?.iter();
        let y = Lane::new(b, ob, sb, len)?.iter();
        let z = Lane::new(c, oc, sc, len)?.iter();
        for (((o, x), y), z) in run.iter_mut().zip(x).zip(y).zip(z) {
            *o = f(x, y, z);
        }
        Ok(())
    })
}

/// `kernel(input_chunk, output_chunk)` over equally long `x` and `out`, in
/// rayon chunks when `threads > 1` and the tensors are large.
pub(super) fn map_chunks<A, O>(
    threads: usize,
    x: &[A],
    out: &mut [O],
    kernel: impl Fn(&[A], &mut [O]) + Sync,
) -> OpResult<()>
where
    A: Sync,
    O: Send,
{
    if x.len() != out.len() {
        return Err(length_mismatch("output"));
    }
    if threads > 1 && out.len() > PARALLEL_CHUNK {
        let kernel: &(dyn Fn(&[A], &mut [O]) + Sync) = &kernel;
        for_each_chunk_mut(out, PARALLEL_CHUNK, &|i, o| {
            let start = i * PARALLEL_CHUNK;
            kernel(&x[start..start + o.len()], o);
            Ok(())
        })
    } else {
        kernel(x, out);
        Ok(())
    }
}
