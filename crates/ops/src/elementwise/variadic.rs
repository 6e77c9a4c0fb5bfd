//! Variadic operators with broadcasting: `Max`, `Min`, `Sum`, `Mean`
//! (one or more inputs of one dtype).

use super::broadcast::{Broadcast, accumulate, binary, broadcast_all};
use super::numeric::{Numeric, max_nan, min_nan};
use super::{FLOATS, NUMERIC, boxed, check_dtype, check_same_dtype, first_output};
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, required};
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{TensorView, TensorViewMut, f16};

/// Builds the variadic operators.
pub(super) fn build(op: OpCode, _attrs: &Attrs<'_>) -> Option<OpResult<Box<dyn Operator>>> {
    let kind = match op {
        OpCode::Max => Fold::Max,
        OpCode::Min => Fold::Min,
        OpCode::Sum => Fold::Sum,
        OpCode::Mean => Fold::Mean,
        _ => return None,
    };
    boxed(Ok(Variadic { op, kind }))
}

/// How the inputs are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fold {
    /// Largest value; NaN propagates.
    Max,
    /// Smallest value; NaN propagates.
    Min,
    Sum,
    /// Sum divided by the number of inputs.
    Mean,
}

/// `Max`, `Min`, `Sum` or `Mean` of 1..N inputs, numpy broadcasting.
#[derive(Debug)]
pub(super) struct Variadic {
    op: OpCode,
    kind: Fold,
}

impl Variadic {
    fn dtypes(&self) -> &'static [DType] {
        match self.kind {
            Fold::Max | Fold::Min => NUMERIC,
            Fold::Sum | Fold::Mean => FLOATS,
        }
    }
}

impl Operator for Variadic {
    fn op(&self) -> OpCode {
        self.op
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        check_input_count(inputs, 1, usize::MAX, "1 or more")?;
        let first = required(inputs, 0)?;
        check_dtype(0, first.dtype, self.dtypes())?;
        let mut shapes = Vec::with_capacity(inputs.len());
        for index in 0..inputs.len() {
            let input = required(inputs, index)?;
            check_same_dtype(index, input.dtype, first.dtype)?;
            shapes.push(input.shape);
        }
        let shape = checked_shape(broadcast_all(shapes)?, first.dtype.size())?;
        Ok(vec![OutputSpec::new(first.dtype, shape)])
    }

    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        let views = (0..inputs.len())
            .map(|index| required(inputs, index))
            .collect::<OpResult<Vec<_>>>()?;
        let first = views.first().ok_or(OpError::MissingInput { index: 0 })?;
        check_dtype(0, first.dtype(), self.dtypes())?;
        let out = first_output(outputs)?;
        let (kind, threads) = (self.kind, ctx.threads);
        match first.dtype() {
            DType::F32 => fold::<f32>(kind, threads, &views, out),
            DType::F16 => fold::<f16>(kind, threads, &views, out),
            DType::I8 => fold::<i8>(kind, threads, &views, out),
            DType::U8 => fold::<u8>(kind, threads, &views, out),
            DType::I32 => fold::<i32>(kind, threads, &views, out),
            DType::I64 => fold::<i64>(kind, threads, &views, out),
            dtype => Err(OpError::UnsupportedDType { index: 0, dtype }),
        }
    }
}

/// Folds the inputs left to right into the output: the first two inputs
/// are combined into it, each further input is then combined in place.
fn fold<T: Numeric>(
    kind: Fold,
    threads: usize,
    views: &[TensorView<'_>],
    out: &mut TensorViewMut<'_>,
) -> OpResult<()> {
    let shape = out.shape().to_vec();
    let out = out.as_slice_mut::<T>()?;
    let combine = match kind {
        Fold::Max => max_nan::<T>,
        Fold::Min => min_nan::<T>,
        Fold::Sum | Fold::Mean => T::add,
    };
    match views {
        [] => return Err(OpError::MissingInput { index: 0 }),
        [only] => {
            let plan = Broadcast::new(&shape, [only.shape()])?;
            accumulate(&plan, threads, out, only.as_slice::<T>()?, |_, v| v)?;
        }
        [a, b, rest @ ..] => {
            let plan = Broadcast::new(&shape, [a.shape(), b.shape()])?;
            binary(
                &plan,
                threads,
                a.as_slice::<T>()?,
                b.as_slice::<T>()?,
                out,
                combine,
            )?;
            for (i, next) in rest.iter().enumerate() {
                check_same_dtype(i + 2, next.dtype(), T::DTYPE)?;
                let plan = Broadcast::new(&shape, [next.shape()])?;
                accumulate(&plan, threads, out, next.as_slice::<T>()?, combine)?;
            }
        }
    }
    if kind == Fold::Mean {
        let count = T::from_i64(i64::try_from(views.len()).unwrap_or(i64::MAX));
        for o in out.iter_mut() {
            *o = o.div(count);
        }
    }
    Ok(())
}
