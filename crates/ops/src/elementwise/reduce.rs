//! `ReduceSum`, `ReduceMean`, `ReduceMax`, `ReduceMin`, `ReduceProd` with
//! axes as optional input 1 (opset 18+ form).
//!
//! Axes are normalised into a mask; size-1 axes are dropped and neighbouring
//! axes with the same role merged. When the reduced axes then form one
//! block, the input is read as `[outer, reduced, inner]` with plain loops
//! (8 independent accumulators along contiguous rows, so they vectorise);
//! otherwise every element is scattered into its output accumulator.

use super::numeric::{Numeric, max_nan, min_nan};
use super::{boxed, check_dtype, first_output, length_mismatch, scratch_slice};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, for_each_broadcast, optional, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{AlignedBuf, TensorView, TensorViewMut, f16};

/// Builds the reductions.
pub(super) fn build(op: OpCode, attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let kind = match op {
        OpCode::ReduceSum => ReduceKind::Sum,
        OpCode::ReduceMean => ReduceKind::Mean,
        OpCode::ReduceMax => ReduceKind::Max,
        OpCode::ReduceMin => ReduceKind::Min,
        OpCode::ReduceProd => ReduceKind::Prod,
        _ => return None,
    };
    boxed((|| {
        if attrs.get("axes").is_some() {
            return Err(attrs.invalid("axes", "axes are input 1 (opset 18 form), not an attribute"));
        }
        Ok(Reduce {
            op,
            kind,
            keepdims: flag(attrs, "keepdims", true)?,
            noop_with_empty_axes: flag(attrs, "noop_with_empty_axes", false)?,
        })
    })())
}

/// A 0/1 integer attribute.
pub(super) fn flag(attrs: &Attrs<'_>, name: &str, default: bool) -> OpResult<bool> {
    match attrs.int(name, i64::from(default))? {
        0 => Ok(false),
        1 => Ok(true),
        v => Err(attrs.invalid(name, format!("expected 0 or 1, got {v}"))),
    }
}

/// What a reduction computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReduceKind {
    Sum,
    /// Sum divided by the count; integers truncate, empty gives NaN / 0.
    Mean,
    /// NaN propagates; empty gives `-inf` or the type's minimum.
    Max,
    /// NaN propagates; empty gives `+inf` or the type's maximum.
    Min,
    Prod,
}

/// A reduction over the axes given by input 1.
#[derive(Debug)]
pub(super) struct Reduce {
    op: OpCode,
    kind: ReduceKind,
    keepdims: bool,
    noop_with_empty_axes: bool,
}

impl Reduce {
    fn dtypes(&self) -> &'static [DType] {
        match self.kind {
            ReduceKind::Max | ReduceKind::Min => super::NUMERIC,
            _ => &[DType::F32, DType::F16, DType::I32, DType::I64],
        }
    }

    /// The mask of reduced axes, or `None` when the input passes unchanged
    /// (no axes and `noop_with_empty_axes`).
    fn mask(&self, rank: usize, axes: Option<&[i64]>) -> OpResult<Option<Vec<bool>>> {
        let axes = axes.unwrap_or(&[]);
        if axes.is_empty() {
            return Ok((!self.noop_with_empty_axes).then(|| vec![true; rank]));
        }
        let mut mask = vec![false; rank];
        for &axis in axes {
            let axis = crate::util::normalize_axis(axis, rank)?;
            if std::mem::replace(&mut mask[axis], true) {
                return Err(OpError::InvalidInput {
                    index: 1,
                    reason: format!("axis {axis} is listed twice"),
                });
            }
        }
        Ok(Some(mask))
    }

    fn output_shape(&self, shape: &[usize], mask: &Option<Vec<bool>>) -> Vec<usize> {
        let Some(mask) = mask else {
            return shape.to_vec();
        };
        shape
            .iter()
            .zip(mask)
            .filter_map(|(&d, &reduced)| match (reduced, self.keepdims) {
                (false, _) => Some(d),
                (true, true) => Some(1),
                (true, false) => None,
            })
            .collect()
    }
}

/// The axes input must be a 1-D (or scalar) i64 tensor.
fn check_axes(dtype: DType, shape: &[usize]) -> OpResult<()> {
    check_dtype(1, dtype, &[DType::I64])?;
    if shape.len() > 1 {
        return Err(OpError::ShapeMismatch {
            reason: format!("axes must be 1-D, got shape {shape:?}"),
        });
    }
    Ok(())
}

impl Operator for Reduce {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, 2, "1 or 2")?;
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype, self.dtypes())?;
        let axes = match optional(inputs, 1) {
            None => None,
            Some(info) => {
                check_axes(info.dtype, info.shape)?;
                let value = info.value.ok_or(OpError::NeedsValue { index: 1 })?;
                Some(value.as_slice::<i64>()?)
            }
        };
        let mask = self.mask(x.shape.len(), axes)?;
        let shape = checked_shape(self.output_shape(x.shape, &mask), x.dtype.size())?;
        Ok(vec![OutputSpec::new(x.dtype, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let x = required(inputs, 0)?;
        check_dtype(0, x.dtype(), self.dtypes())?;
        let axes = match optional(inputs, 1) {
            None => None,
            Some(v) => {
                check_axes(v.dtype(), v.shape())?;
                Some(v.as_slice::<i64>()?)
            }
        };
        let out = first_output(outputs)?;
        let Some(mask) = self.mask(x.rank(), axes)? else {
            let bytes = out.bytes_mut();
            if bytes.len() != x.bytes().len() {
                return Err(length_mismatch("output"));
            }
            bytes.copy_from_slice(x.bytes());
            return Ok(());
        };
        let job = Job {
            shape: x.shape(),
            mask: &mask,
            scratch: ctx.scratch,
        };
        match x.dtype() {
            DType::F32 => job.run::<f32>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            DType::F16 => job.run_any::<f16>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            DType::I8 => job.run_any::<i8>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            DType::U8 => job.run_any::<u8>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            DType::I32 => job.run_any::<i32>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            DType::I64 => job.run_any::<i64>(self.kind, x.as_slice()?, out.as_slice_mut()?),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// An element type with the accumulator it is reduced in: f32 for floats,
/// i64 for integers (wrapping, so results equal wrapping in the element type).
trait Reducible: Numeric {
    type Acc: Numeric;
    fn widen(self) -> Self::Acc;
    fn narrow(acc: Self::Acc) -> Self;
}

macro_rules! reducible {
    ($t:ty, $acc:ty, $widen:expr, $narrow:expr) => {
        impl Reducible for $t {
            type Acc = $acc;
            #[inline(always)]
            fn widen(self) -> $acc {
                $widen(self)
            }
            #[inline(always)]
            fn narrow(acc: $acc) -> Self {
                $narrow(acc)
            }
        }
    };
}

reducible!(f32, f32, |v| v, |v| v);
reducible!(f16, f32, f16::to_f32, f16::from_f32);
reducible!(i8, i64, i64::from, |v| v as i8);
reducible!(u8, i64, i64::from, |v| v as u8);
reducible!(i32, i64, i64::from, |v| v as i32);
reducible!(i64, i64, |v| v, |v| v);

/// One reduction's input layout and scratch memory.
struct Job<'a> {
    shape: &'a [usize],
    mask: &'a [bool],
    scratch: &'a mut AlignedBuf,
}

impl Job<'_> {
    /// The reduction with its own loops per kind (the hot f32 case).
    fn run<T: Reducible>(self, kind: ReduceKind, x: &[T], out: &mut [T]) -> OpResult<()> {
        match kind {
            ReduceKind::Sum => self.reduce(
                x,
                out,
                <T::Acc as Numeric>::ZERO,
                <T::Acc as Numeric>::add,
                |a, _| T::narrow(a),
            ),
            ReduceKind::Mean => self.reduce(
                x,
                out,
                <T::Acc as Numeric>::ZERO,
                <T::Acc as Numeric>::add,
                |a, n| {
                    let n = <T::Acc as Numeric>::from_i64(i64::try_from(n).unwrap_or(i64::MAX));
                    T::narrow(a.div(n))
                },
            ),
            ReduceKind::Prod => self.reduce(
                x,
                out,
                <T::Acc as Numeric>::ONE,
                <T::Acc as Numeric>::mul,
                |a, _| T::narrow(a),
            ),
            ReduceKind::Max => self.reduce(x, out, T::LOWEST.widen(), max_nan, |a, _| T::narrow(a)),
            ReduceKind::Min => {
                self.reduce(x, out, T::HIGHEST.widen(), min_nan, |a, _| T::narrow(a))
            }
        }
    }

    /// The reduction for the types models rarely reduce (f16, integers):
    /// one set of loops per type choosing the kind per element, instead of
    /// five (which would add ~20 copies of the loops to the phone library,
    /// BENCHMARKS.md "Binary size"). Same results as [`Job::run`].
    fn run_any<T: Reducible>(self, kind: ReduceKind, x: &[T], out: &mut [T]) -> OpResult<()> {
        let init = match kind {
            ReduceKind::Sum | ReduceKind::Mean => <T::Acc as Numeric>::ZERO,
            ReduceKind::Prod => <T::Acc as Numeric>::ONE,
            ReduceKind::Max => T::LOWEST.widen(),
            ReduceKind::Min => T::HIGHEST.widen(),
        };
        let combine = move |a: T::Acc, b: T::Acc| match kind {
            ReduceKind::Sum | ReduceKind::Mean => a.add(b),
            ReduceKind::Prod => a.mul(b),
            ReduceKind::Max => max_nan(a, b),
            ReduceKind::Min => min_nan(a, b),
        };
        let finish = move |a: T::Acc, n: usize| {
            if kind == ReduceKind::Mean {
                let n = <T::Acc as Numeric>::from_i64(i64::try_from(n).unwrap_or(i64::MAX));
                T::narrow(a.div(n))
            } else {
                T::narrow(a)
            }
        };
        self.reduce(x, out, init, combine, finish)
    }

    /// Reduces with accumulator start `init`, `combine` and `finish(acc,
    /// count)`, where `count` is the number of elements reduced into each
    /// output.
    fn reduce<T: Reducible>(
        self,
        x: &[T],
        out: &mut [T],
        init: T::Acc,
        combine: impl Fn(T::Acc, T::Acc) -> T::Acc,
        finish: impl Fn(T::Acc, usize) -> T,
    ) -> OpResult<()> {
        let count = self
            .shape
            .iter()
            .zip(self.mask)
            .filter(|(_, reduced)| **reduced)
            .try_fold(1usize, |acc, (&d, _)| acc.checked_mul(d))
            .ok_or_else(|| OpError::TooLarge {
                shape: self.shape.to_vec(),
            })?;
        if out.is_empty() {
            return Ok(());
        }
        if x.is_empty() {
            // Reducing over nothing: the accumulator's start value.
            out.fill(finish(init, count));
            return Ok(());
        }
        // Size-1 axes dropped, neighbours with the same role merged.
        let mut groups: Vec<(usize, bool)> = Vec::new();
        for (&dim, &reduced) in self.shape.iter().zip(self.mask) {
            if dim == 1 {
                continue;
            }
            match groups.last_mut() {
                Some(last) if last.1 == reduced => last.0 *= dim,
                _ => groups.push((dim, reduced)),
            }
        }
        let reduced_groups = groups.iter().filter(|g| g.1).count();
        if reduced_groups > 1 {
            return self.scatter(x, out, init, combine, finish, count);
        }
        let split = groups.iter().position(|g| g.1).unwrap_or(groups.len());
        let outer: usize = groups[..split].iter().map(|g| g.0).product();
        let inner: usize = groups[split..]
            .iter()
            .filter(|g| !g.1)
            .map(|g| g.0)
            .product();
        if outer.checked_mul(count).and_then(|n| n.checked_mul(inner)) != Some(x.len())
            || outer.checked_mul(inner) != Some(out.len())
        {
            return Err(length_mismatch("output"));
        }
        if inner == 1 {
            for (o, row) in out.iter_mut().zip(x.chunks_exact(count)) {
                *o = finish(fold_row(row, init, &combine), count);
            }
            return Ok(());
        }
        let acc = scratch_slice::<T::Acc>(self.scratch, inner)?;
        for (block, out_block) in x
            .chunks_exact(count * inner)
            .zip(out.chunks_exact_mut(inner))
        {
            acc.fill(init);
            for row in block.chunks_exact(inner) {
                for (a, &v) in acc.iter_mut().zip(row) {
                    *a = combine(*a, v.widen());
                }
            }
            for (o, &a) in out_block.iter_mut().zip(acc.iter()) {
                *o = finish(a, count);
            }
        }
        Ok(())
    }

    /// The general case: each input element goes to its output accumulator.
    fn scatter<T: Reducible>(
        self,
        x: &[T],
        out: &mut [T],
        init: T::Acc,
        combine: impl Fn(T::Acc, T::Acc) -> T::Acc,
        finish: impl Fn(T::Acc, usize) -> T,
        count: usize,
    ) -> OpResult<()> {
        let kept: Vec<usize> = (self.shape.iter().zip(self.mask))
            .map(|(&d, &reduced)| if reduced { 1 } else { d })
            .collect();
        let mut strides = pocketnn_tensor::strides(&kept);
        for (stride, &reduced) in strides.iter_mut().zip(self.mask) {
            if reduced {
                *stride = 0;
            }
        }
        if pocketnn_tensor::num_elements(&kept) != Some(out.len()) {
            return Err(length_mismatch("output"));
        }
        let acc = scratch_slice::<T::Acc>(self.scratch, out.len())?;
        acc.fill(init);
        for_each_broadcast(self.shape, [&strides], |i, [o]| {
            if let (Some(a), Some(&v)) = (acc.get_mut(o), x.get(i)) {
                *a = combine(*a, v.widen());
            }
        });
        for (o, &a) in out.iter_mut().zip(acc.iter()) {
            *o = finish(a, count);
        }
        Ok(())
    }
}

/// Folds a contiguous row with 8 independent accumulators (vectorisable),
/// combined at the end.
#[inline(always)]
fn fold_row<T: Reducible>(
    row: &[T],
    init: T::Acc,
    combine: &impl Fn(T::Acc, T::Acc) -> T::Acc,
) -> T::Acc {
    let mut lanes = [init; 8];
    let mut chunks = row.chunks_exact(8);
    for chunk in &mut chunks {
        for (lane, &v) in lanes.iter_mut().zip(chunk) {
            *lane = combine(*lane, v.widen());
        }
    }
    let tail = chunks
        .remainder()
        .iter()
        .fold(init, |acc, &v| combine(acc, v.widen()));
    lanes.into_iter().fold(tail, combine)
}
