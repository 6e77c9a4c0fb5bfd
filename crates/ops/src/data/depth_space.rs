//! `DepthToSpace` and `SpaceToDepth`: a reshape to 6-D, a transpose and a
//! reshape back, done as one strided copy.

use super::common::{check_outputs, infos};
use super::transpose::permute_copy;
use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::{InputInfo, Operator, OutputSpec, RunContext};
use crate::util::{check_input_count, checked_shape, required};
use pocketnn_format::OpCode;
use pocketnn_tensor::{TensorView, TensorViewMut};

/// Reads the required, positive `blocksize`.
fn block_size(attrs: &Attrs<'_>) -> OpResult<usize> {
    let b = attrs.int_req("blocksize")?;
    usize::try_from(b)
        .ok()
        .filter(|&b| b > 0)
        .ok_or_else(|| attrs.invalid("blocksize", format!("{b} is not positive")))
}

/// The `[N, C, H, W]` dims of input 0, which must be 4-D.
fn nchw<'a>(inputs: &[Option<InputInfo<'a>>]) -> OpResult<(InputInfo<'a>, [usize; 4])> {
    check_input_count(inputs, 1, 1, "1")?;
    let data = required(inputs, 0)?;
    match *data.shape {
        [n, c, h, w] => Ok((data, [n, c, h, w])),
        _ => Err(OpError::ShapeMismatch {
            reason: format!("expected a 4-D input, got shape {:?}", data.shape),
        }),
    }
}

fn too_large(shape: &[usize]) -> OpError {
    OpError::TooLarge {
        shape: shape.to_vec(),
    }
}

/// How a block op reads its input: the input seen as 6-D, the permutation
/// that gives the output, and the output spec.
struct BlockPlan {
    view: [usize; 6],
    perm: [usize; 6],
    spec: OutputSpec,
}

fn run_block_plan(
    plan: BlockPlan,
    inputs: &[Option<TensorView<'_>>],
    outputs: &mut [TensorViewMut<'_>],
) -> OpResult<()> {
    check_outputs(std::slice::from_ref(&plan.spec), outputs)?;
    let Some(out) = outputs.first_mut() else {
        return Ok(());
    };
    let data = required(inputs, 0)?;
    permute_copy(data, &plan.view, &plan.perm, out)
}

/// ONNX `DepthToSpace`: moves channel blocks of `blocksize²` into spatial
/// `blocksize × blocksize` tiles; `mode` DCR (default) or CRD.
#[derive(Debug)]
pub(crate) struct DepthToSpace {
    block: usize,
    column_row_depth: bool,
}

impl DepthToSpace {
    /// Reads `blocksize` (required, positive) and `mode` (`DCR` or `CRD`).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<DepthToSpace> {
        let column_row_depth = match attrs.string("mode", "DCR")? {
            "DCR" => false,
            "CRD" => true,
            other => return Err(attrs.invalid("mode", format!("`{other}` is not DCR or CRD"))),
        };
        Ok(DepthToSpace {
            block: block_size(attrs)?,
            column_row_depth,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<BlockPlan> {
        let (data, [n, c, h, w]) = nchw(inputs)?;
        let b = self.block;
        let b2 = b.checked_mul(b).ok_or_else(|| too_large(data.shape))?;
        if c % b2 != 0 {
            return Err(OpError::ShapeMismatch {
                reason: format!("{c} channels are not a multiple of blocksize² = {b2}"),
            });
        }
        let depth = c / b2;
        let hb = h.checked_mul(b).ok_or_else(|| too_large(data.shape))?;
        let wb = w.checked_mul(b).ok_or_else(|| too_large(data.shape))?;
        let shape = checked_shape(vec![n, depth, hb, wb], data.dtype.size())?;
        let (view, perm) = if self.column_row_depth {
            ([n, depth, b, b, h, w], [0, 1, 4, 2, 5, 3])
        } else {
            ([n, b, b, depth, h, w], [0, 3, 4, 1, 5, 2])
        };
        Ok(BlockPlan {
            view,
            perm,
            spec: OutputSpec::new(data.dtype, shape),
        })
    }
}

impl Operator for DepthToSpace {
    fn op(&self) -> OpCode {
        OpCode::DepthToSpace
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?.spec])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        run_block_plan(self.plan(&infos(inputs))?, inputs, outputs)
    }
}

/// ONNX `SpaceToDepth`: moves spatial `blocksize × blocksize` tiles into
/// channels (the inverse of `DepthToSpace` in the same `mode`).
#[derive(Debug)]
pub(crate) struct SpaceToDepth {
    block: usize,
    column_row_depth: bool,
}

impl SpaceToDepth {
    /// Reads `blocksize` (required, positive) and `mode` (`DCR`, the
    /// default, or `CRD`, both as in opset 28).
    pub(crate) fn build(attrs: &Attrs<'_>) -> OpResult<SpaceToDepth> {
        let column_row_depth = match attrs.string("mode", "DCR")? {
            "DCR" => false,
            "CRD" => true,
            other => return Err(attrs.invalid("mode", format!("`{other}` is not DCR or CRD"))),
        };
        Ok(SpaceToDepth {
            block: block_size(attrs)?,
            column_row_depth,
        })
    }

    fn plan(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<BlockPlan> {
        let (data, [n, c, h, w]) = nchw(inputs)?;
        let b = self.block;
        if h % b != 0 || w % b != 0 {
            return Err(OpError::ShapeMismatch {
                reason: format!("spatial size {h}x{w} is not a multiple of blocksize {b}"),
            });
        }
        let depth = b
            .checked_mul(b)
            .and_then(|b2| b2.checked_mul(c))
            .ok_or_else(|| too_large(data.shape))?;
        let shape = checked_shape(vec![n, depth, h / b, w / b], data.dtype.size())?;
        Ok(BlockPlan {
            view: [n, c, h / b, b, w / b, b],
            perm: if self.column_row_depth {
                [0, 1, 3, 5, 2, 4]
            } else {
                [0, 3, 5, 1, 2, 4]
            },
            spec: OutputSpec::new(data.dtype, shape),
        })
    }
}

impl Operator for SpaceToDepth {
    fn op(&self) -> OpCode {
        OpCode::SpaceToDepth
    }

    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>> {
        Ok(vec![self.plan(inputs)?.spec])
    }

    fn run(
        &self,
        _ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()> {
        run_block_plan(self.plan(&infos(inputs))?, inputs, outputs)
    }
}
