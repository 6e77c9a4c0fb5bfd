//! The contract between an operator and the runtime that executes it.

use crate::error::OpResult;
use pocketnn_format::{DType, OpCode};
use pocketnn_tensor::{AlignedBuf, Isa, TensorView, TensorViewMut};

/// What is known about one input when shapes are inferred.
#[derive(Clone, Copy, Debug)]
pub struct InputInfo<'a> {
    /// Element type.
    pub dtype: DType,
    /// Concrete shape.
    pub shape: &'a [usize],
    /// The input's value, when known: always at run time; before running,
    /// only for constants and values the planner could compute.
    pub value: Option<TensorView<'a>>,
}

impl<'a> From<TensorView<'a>> for InputInfo<'a> {
    fn from(v: TensorView<'a>) -> Self {
        InputInfo {
            dtype: v.dtype(),
            shape: v.shape(),
            value: Some(v),
        }
    }
}

/// The dtype and shape of one output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputSpec {
    /// Element type.
    pub dtype: DType,
    /// Concrete shape.
    pub shape: Vec<usize>,
}

impl OutputSpec {
    /// An output spec.
    pub fn new(dtype: DType, shape: Vec<usize>) -> Self {
        OutputSpec { dtype, shape }
    }
}

/// Per-run resources an operator may use.
#[derive(Debug)]
pub struct RunContext<'a> {
    /// The SIMD tier to run kernels with.
    pub isa: Isa,
    /// Threads available to this run (1 = run on the calling thread only).
    /// When above 1, the runtime calls operators inside its rayon pool, so
    /// operators may use rayon's parallel iterators directly.
    pub threads: usize,
    /// Scratch memory owned by the session and kept across runs; an operator
    /// resizes it to what it needs (im2col columns, packed panels ...).
    pub scratch: &'a mut AlignedBuf,
}

/// One operator of a graph node: attributes parsed and validated once, at
/// model load, then applied to any number of inputs.
///
/// Contract:
/// * `infer` is pure and cheap. Before running, inputs without a known value
///   have `value: None`; if the output shape depends on such a value, `infer`
///   returns [`crate::OpError::NeedsValue`]. At run time every value is known.
/// * `run` receives inputs matching what `infer` accepted and outputs already
///   allocated with exactly the shapes `infer` returned for those inputs.
///   Output bytes are arbitrary on entry: `run` must write every element.
/// * `run` may receive fewer outputs than `infer` returned: trailing optional
///   outputs the graph does not use (e.g. `MaxPool`'s indices) are omitted and
///   need not be computed.
/// * Neither may panic on any input; invalid inputs are errors.
pub trait Operator: Send + Sync + std::fmt::Debug {
    /// The operator kind.
    fn op(&self) -> OpCode;

    /// Output dtypes and shapes for these inputs (`None` = omitted optional input).
    fn infer(&self, inputs: &[Option<InputInfo<'_>>]) -> OpResult<Vec<OutputSpec>>;

    /// False for inputs whose values `run` never reads (only their shapes),
    /// like `Shape`'s input; the planner can then evaluate the node before the
    /// input's data exists.
    fn reads_input_value(&self, _index: usize) -> bool {
        true
    }

    /// True when input `index` may be a constant stored pre-packed for the
    /// GEMM (a [`TensorView::packed_b`] view at run time, no value during
    /// inference). The runtime unpacks a packed constant at load for any
    /// consumer that returns false, so the default is always safe.
    fn accepts_packed_b(&self, _index: usize) -> bool {
        false
    }

    /// Computes the outputs.
    fn run(
        &self,
        ctx: &mut RunContext<'_>,
        inputs: &[Option<TensorView<'_>>],
        outputs: &mut [TensorViewMut<'_>],
    ) -> OpResult<()>;
}
