//! Feeding inputs from ndarray arrays and reading outputs as ndarray views.

use crate::error::{Error, Result};
use ndarray::{ArrayBase, ArrayViewD, Data, Dimension, IxDyn};
use pocketnn_format::DType;
use pocketnn_tensor::{AlignedBuf, Element, TensorView, f16};

/// An element type that can be fed as an input.
pub trait InputElement: bytemuck::NoUninit + Clone {
    /// The dtype it becomes.
    const DTYPE: DType;
}

impl InputElement for f32 {
    const DTYPE: DType = DType::F32;
}
impl InputElement for f16 {
    const DTYPE: DType = DType::F16;
}
impl InputElement for i8 {
    const DTYPE: DType = DType::I8;
}
impl InputElement for u8 {
    const DTYPE: DType = DType::U8;
}
impl InputElement for i32 {
    const DTYPE: DType = DType::I32;
}
impl InputElement for i64 {
    const DTYPE: DType = DType::I64;
}
impl InputElement for bool {
    const DTYPE: DType = DType::Bool;
}

#[derive(Debug)]
enum Bytes<'a> {
    Borrowed(&'a [u8]),
    Owned(AlignedBuf),
}

/// One input tensor for [`crate::Session::run`]: borrowed from a contiguous
/// array, or copied once when the array is not in standard (C) layout.
#[derive(Debug)]
pub struct Input<'a> {
    dtype: DType,
    shape: Vec<usize>,
    bytes: Bytes<'a>,
}

impl<'a> Input<'a> {
    /// An input from a dtype, a shape and row-major bytes (borrowed).
    pub fn from_bytes(dtype: DType, shape: &[usize], bytes: &'a [u8]) -> Result<Input<'a>> {
        TensorView::new(dtype, shape, bytes)?;
        Ok(Input {
            dtype,
            shape: shape.to_vec(),
            bytes: Bytes::Borrowed(bytes),
        })
    }

    /// A view of the input as a tensor.
    pub fn view(&self) -> Result<TensorView<'_>> {
        let bytes = match &self.bytes {
            Bytes::Borrowed(b) => b,
            Bytes::Owned(b) => b.as_bytes(),
        };
        Ok(TensorView::new(self.dtype, &self.shape, bytes)?)
    }
}

impl<'a, A, S, D> From<&'a ArrayBase<S, D>> for Input<'a>
where
    A: InputElement,
    S: Data<Elem = A>,
    D: Dimension,
{
    fn from(array: &'a ArrayBase<S, D>) -> Self {
        let shape = array.shape().to_vec();
        let bytes = match array.as_slice() {
            Some(slice) => Bytes::Borrowed(bytemuck::cast_slice(slice)),
            None => {
                let owned: Vec<A> = array.iter().cloned().collect();
                Bytes::Owned(AlignedBuf::from_bytes(bytemuck::cast_slice(&owned)))
            }
        };
        Input {
            dtype: A::DTYPE,
            shape,
            bytes,
        }
    }
}

impl<'a, A: InputElement, D: Dimension> From<ndarray::ArrayView<'a, A, D>> for Input<'a> {
    fn from(view: ndarray::ArrayView<'a, A, D>) -> Self {
        let shape = view.shape().to_vec();
        let bytes = match view.to_slice() {
            Some(slice) => Bytes::Borrowed(bytemuck::cast_slice(slice)),
            None => {
                let owned: Vec<A> = view.iter().cloned().collect();
                Bytes::Owned(AlignedBuf::from_bytes(bytemuck::cast_slice(&owned)))
            }
        };
        Input {
            dtype: A::DTYPE,
            shape,
            bytes,
        }
    }
}

/// Views a tensor as an ndarray array of `T` (`u8` for bool tensors).
pub fn as_array<'a, T: Element>(view: &TensorView<'a>) -> Result<ArrayViewD<'a, T>> {
    let data = view.as_slice::<T>()?;
    ArrayViewD::from_shape(IxDyn(view.shape()), data).map_err(|_| {
        Error::Tensor(pocketnn_tensor::TensorError::LengthMismatch {
            expected: view.shape().iter().product(),
            actual: data.len(),
        })
    })
}

/// The outputs of one run, borrowed from the session until its next run.
#[derive(Debug)]
pub struct Outputs<'s> {
    pub(crate) entries: Vec<(&'s str, TensorView<'s>)>,
}

impl<'s> Outputs<'s> {
    /// Number of outputs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the model has no outputs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The output with this name.
    pub fn get(&self, name: &str) -> Result<TensorView<'s>> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| *v)
            .ok_or_else(|| Error::UnknownOutput {
                name: name.to_string(),
            })
    }

    /// The output at `index` (model output order) with its name.
    pub fn at(&self, index: usize) -> Option<(&'s str, TensorView<'s>)> {
        self.entries.get(index).copied()
    }

    /// All outputs, in model output order.
    pub fn iter(&self) -> impl Iterator<Item = (&'s str, TensorView<'s>)> + '_ {
        self.entries.iter().copied()
    }

    /// The output with this name as an f32 ndarray view.
    pub fn f32(&self, name: &str) -> Result<ArrayViewD<'s, f32>> {
        as_array(&self.get(name)?)
    }
}
