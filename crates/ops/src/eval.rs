//! Evaluate one operator on owned tensors: for tests, constant folding and
//! planning. The runtime's executor does the same with planned buffers.

use crate::error::OpResult;
use crate::operator::{InputInfo, Operator, RunContext};
use pocketnn_tensor::{AlignedBuf, Isa, Tensor, TensorView, TensorViewMut};

/// Infers the outputs of `op` for `inputs`, allocates them and runs it on
/// the calling thread with the kernels of tier `isa`.
pub fn eval(
    op: &dyn Operator,
    inputs: &[Option<TensorView<'_>>],
    isa: Isa,
) -> OpResult<Vec<Tensor>> {
    let infos: Vec<Option<InputInfo<'_>>> = inputs.iter().map(|i| i.map(InputInfo::from)).collect();
    let specs = op.infer(&infos)?;
    let mut outputs = specs
        .iter()
        .map(|s| Tensor::zeros(s.dtype, &s.shape))
        .collect::<Result<Vec<_>, _>>()?;
    let mut views: Vec<TensorViewMut<'_>> = outputs.iter_mut().map(|t| t.view_mut()).collect();
    let mut scratch = AlignedBuf::new();
    let mut ctx = RunContext {
        isa,
        threads: 1,
        scratch: &mut scratch,
    };
    op.run(&mut ctx, inputs, &mut views)?;
    drop(views);
    Ok(outputs)
}
