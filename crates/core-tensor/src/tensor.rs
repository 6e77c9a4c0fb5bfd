//! Tensor views over borrowed bytes and owned, aligned tensors.
//!
//! A tensor is an element type, a shape and row-major bytes. Views borrow the
//! bytes (from a memory-mapped model or an activation buffer); typed access
//! goes through [`TensorView::as_slice`], which checks the dtype and the
//! alignment instead of trusting them.

use crate::buffer::AlignedBuf;
use crate::error::TensorError;
use crate::kernels::gemm::PackedBRef;
use bytemuck::Pod;
use half::f16;
use pocketnn_format::DType;

/// A Rust type that is the in-memory form of a [`DType`].
///
/// `Bool` tensors are stored as one byte per element (0 or 1) and are read as
/// `u8`.
pub trait Element: Pod + Send + Sync + std::fmt::Debug + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// True when tensors of `dtype` can be viewed as `&[Self]`.
    fn stores(dtype: DType) -> bool {
        dtype == Self::DTYPE
    }
}

impl Element for f32 {
    const DTYPE: DType = DType::F32;
}
impl Element for f16 {
    const DTYPE: DType = DType::F16;
}
impl Element for i8 {
    const DTYPE: DType = DType::I8;
}
impl Element for u8 {
    const DTYPE: DType = DType::U8;
    fn stores(dtype: DType) -> bool {
        matches!(dtype, DType::U8 | DType::Bool)
    }
}
impl Element for i32 {
    const DTYPE: DType = DType::I32;
}
impl Element for i64 {
    const DTYPE: DType = DType::I64;
}

/// The number of elements of `shape`, or `None` on overflow.
pub fn num_elements(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

/// The byte size of a tensor of `dtype` and `shape`, or `None` on overflow.
pub fn byte_size(dtype: DType, shape: &[usize]) -> Option<usize> {
    num_elements(shape)?.checked_mul(dtype.size())
}

/// Row-major strides (in elements) of `shape`.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    strides
}

fn check_len(dtype: DType, shape: &[usize], bytes: usize) -> Result<(), TensorError> {
    let expected = byte_size(dtype, shape).ok_or_else(|| TensorError::ShapeOverflow {
        shape: shape.to_vec(),
    })?;
    if expected != bytes {
        return Err(TensorError::LengthMismatch {
            expected,
            actual: bytes,
        });
    }
    Ok(())
}

fn cast_checked<T: Element>(dtype: DType, bytes: &[u8]) -> Result<&[T], TensorError> {
    if !T::stores(dtype) {
        return Err(TensorError::DTypeMismatch {
            expected: T::DTYPE,
            actual: dtype,
        });
    }
    bytemuck::try_cast_slice(bytes).map_err(|_| TensorError::Misaligned {
        align: std::mem::align_of::<T>(),
    })
}

fn cast_checked_mut<T: Element>(dtype: DType, bytes: &mut [u8]) -> Result<&mut [T], TensorError> {
    if !T::stores(dtype) {
        return Err(TensorError::DTypeMismatch {
            expected: T::DTYPE,
            actual: dtype,
        });
    }
    bytemuck::try_cast_slice_mut(bytes).map_err(|_| TensorError::Misaligned {
        align: std::mem::align_of::<T>(),
    })
}

/// A read-only view of a tensor.
///
/// Its bytes are row-major, except for a view made by
/// [`TensorView::packed_b`]: a constant weight stored pre-packed for the
/// GEMM (see `docs/kernels.md`). Such a view refuses [`TensorView::as_slice`]
/// (and what builds on it), so code that expects row-major data fails
/// instead of reading panels as rows; [`TensorView::to_tensor`] unpacks it.
#[derive(Clone, Copy, Debug)]
pub struct TensorView<'a> {
    dtype: DType,
    shape: &'a [usize],
    bytes: &'a [u8],
    packed: Option<PackedBView<'a>>,
    /// Marked by [`TensorView::constant`].
    constant: bool,
}

/// How a packed view's tensor relates to the packed `B`.
#[derive(Clone, Copy, Debug)]
struct PackedBView<'a> {
    b: PackedBRef<'a>,
    /// True when `B` is the transpose of the tensor (a Gemm `transB` weight).
    transposed: bool,
}

impl<'a> TensorView<'a> {
    /// A view of `bytes` as a `dtype` tensor of `shape`; the length must match.
    pub fn new(dtype: DType, shape: &'a [usize], bytes: &'a [u8]) -> Result<Self, TensorError> {
        check_len(dtype, shape, bytes.len())?;
        Ok(TensorView {
            dtype,
            shape,
            bytes,
            packed: None,
            constant: false,
        })
    }

    /// A view of a 2-D f32 tensor of `shape` stored as the packed GEMM
    /// operand `b`: `B` is the tensor itself (`transposed` false, shape
    /// `[k, n]`) or its transpose (`transposed` true, shape `[n, k]`).
    pub fn packed_b(
        shape: &'a [usize],
        b: PackedBRef<'a>,
        transposed: bool,
    ) -> Result<Self, TensorError> {
        let layout = b.layout();
        let logical = if transposed {
            [layout.n, layout.k]
        } else {
            [layout.k, layout.n]
        };
        if shape != logical {
            return Err(TensorError::PackedShapeMismatch {
                shape: shape.to_vec(),
                k: layout.k,
                n: layout.n,
            });
        }
        Ok(TensorView {
            dtype: DType::F32,
            shape,
            bytes: bytemuck::cast_slice(b.data()),
            packed: Some(PackedBView { b, transposed }),
            constant: false,
        })
    }

    /// The packed GEMM operand behind a [`TensorView::packed_b`] view, and
    /// whether `B` is the tensor's transpose; `None` for row-major data.
    pub fn as_packed_b(&self) -> Option<(PackedBRef<'a>, bool)> {
        self.packed.map(|p| (p.b, p.transposed))
    }

    /// The same view, marked as a constant of a loaded model: its bytes
    /// never change and stay at this address for as long as the model (and
    /// so the operators built for it) lives. Operators may then keep data
    /// derived from it across runs, keyed by its address (packed int8
    /// weights). Only the runtime marks views, for the model's constants.
    pub fn constant(mut self) -> Self {
        self.constant = true;
        self
    }

    /// True for a view marked by [`TensorView::constant`].
    pub fn is_constant(&self) -> bool {
        self.constant
    }

    /// A view of a typed slice.
    pub fn from_slice<T: Element>(shape: &'a [usize], data: &'a [T]) -> Result<Self, TensorError> {
        TensorView::new(T::DTYPE, shape, bytemuck::cast_slice(data))
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Shape (row-major).
    pub fn shape(&self) -> &'a [usize] {
        self.shape
    }

    /// Number of axes.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self.packed {
            Some(_) => self.shape.iter().product(),
            None => self.bytes.len() / self.dtype.size(),
        }
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The raw bytes (for a packed view: the packed panels, not rows).
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// The elements as `&[T]`; fails on a dtype mismatch, misalignment, or
    /// a packed view ([`TensorError::PackedData`]).
    pub fn as_slice<T: Element>(&self) -> Result<&'a [T], TensorError> {
        if self.packed.is_some() {
            return Err(TensorError::PackedData);
        }
        cast_checked(self.dtype, self.bytes)
    }

    /// The elements of an integer tensor (i64, i32, i8, u8) widened to i64,
    /// as shape-like inputs (`Reshape`'s shape, `Slice`'s starts) need.
    pub fn to_i64_vec(&self) -> Result<Vec<i64>, TensorError> {
        Ok(match self.dtype {
            DType::I64 => self.as_slice::<i64>()?.to_vec(),
            DType::I32 => self.as_slice::<i32>()?.iter().map(|&v| v as i64).collect(),
            DType::I8 => self.as_slice::<i8>()?.iter().map(|&v| v as i64).collect(),
            DType::U8 | DType::Bool => self.bytes.iter().map(|&v| v as i64).collect(),
            other => {
                return Err(TensorError::DTypeMismatch {
                    expected: DType::I64,
                    actual: other,
                });
            }
        })
    }

    /// The elements converted to f32 (for scalars such as `Clip`'s bounds).
    pub fn to_f32_vec(&self) -> Result<Vec<f32>, TensorError> {
        Ok(match self.dtype {
            DType::F32 => self.as_slice::<f32>()?.to_vec(),
            DType::F16 => self.as_slice::<f16>()?.iter().map(|v| v.to_f32()).collect(),
            _ => self.to_i64_vec()?.into_iter().map(|v| v as f32).collect(),
        })
    }

    /// An owned row-major copy (a packed view is unpacked).
    pub fn to_tensor(&self) -> Tensor {
        let data = match self.packed {
            None => AlignedBuf::from_bytes(self.bytes),
            Some(p) => {
                let values = p.b.to_row_major(p.transposed);
                AlignedBuf::from_bytes(bytemuck::cast_slice(&values))
            }
        };
        Tensor {
            dtype: self.dtype,
            shape: self.shape.to_vec(),
            data,
        }
    }
}

/// A mutable view of a tensor (an operator's output).
#[derive(Debug)]
pub struct TensorViewMut<'a> {
    dtype: DType,
    shape: &'a [usize],
    bytes: &'a mut [u8],
}

impl<'a> TensorViewMut<'a> {
    /// A view of `bytes` as a `dtype` tensor of `shape`; the length must match.
    pub fn new(dtype: DType, shape: &'a [usize], bytes: &'a mut [u8]) -> Result<Self, TensorError> {
        check_len(dtype, shape, bytes.len())?;
        Ok(TensorViewMut {
            dtype,
            shape,
            bytes,
        })
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Shape (row-major).
    pub fn shape(&self) -> &[usize] {
        self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The raw bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.bytes
    }

    /// The elements as `&mut [T]`; fails on a dtype mismatch or misalignment.
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T], TensorError> {
        cast_checked_mut(self.dtype, self.bytes)
    }

    /// A read-only view of the same tensor.
    pub fn as_view(&self) -> TensorView<'_> {
        TensorView {
            dtype: self.dtype,
            shape: self.shape,
            bytes: self.bytes,
            packed: None,
            constant: false,
        }
    }
}

/// An owned tensor with 64-byte aligned storage.
#[derive(Clone, Debug)]
pub struct Tensor {
    dtype: DType,
    shape: Vec<usize>,
    data: AlignedBuf,
}

impl Tensor {
    /// A zero-filled tensor.
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<Tensor, TensorError> {
        let len = byte_size(dtype, shape).ok_or_else(|| TensorError::ShapeOverflow {
            shape: shape.to_vec(),
        })?;
        Ok(Tensor {
            dtype,
            shape: shape.to_vec(),
            data: AlignedBuf::zeroed(len),
        })
    }

    /// A tensor holding a copy of `data`.
    pub fn from_slice<T: Element>(shape: &[usize], data: &[T]) -> Result<Tensor, TensorError> {
        TensorView::from_slice(shape, data).map(|v| v.to_tensor())
    }

    /// A tensor from raw bytes (copied).
    pub fn from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<Tensor, TensorError> {
        TensorView::new(dtype, shape, bytes).map(|v| v.to_tensor())
    }

    /// A rank-0 tensor holding one value.
    pub fn scalar<T: Element>(value: T) -> Tensor {
        Tensor {
            dtype: T::DTYPE,
            shape: Vec::new(),
            data: AlignedBuf::from_bytes(bytemuck::bytes_of(&value)),
        }
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Shape (row-major).
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The raw bytes.
    pub fn bytes(&self) -> &[u8] {
        self.data.as_bytes()
    }

    /// A read-only view.
    pub fn view(&self) -> TensorView<'_> {
        TensorView {
            dtype: self.dtype,
            shape: &self.shape,
            bytes: self.data.as_bytes(),
            packed: None,
            constant: false,
        }
    }

    /// A mutable view.
    pub fn view_mut(&mut self) -> TensorViewMut<'_> {
        TensorViewMut {
            dtype: self.dtype,
            shape: &self.shape,
            bytes: self.data.as_bytes_mut(),
        }
    }

    /// The elements as `&[T]`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T], TensorError> {
        cast_checked(self.dtype, self.data.as_bytes())
    }

    /// The elements as `&mut [T]`.
    pub fn as_slice_mut<T: Element>(&mut self) -> Result<&mut [T], TensorError> {
        cast_checked_mut(self.dtype, self.data.as_bytes_mut())
    }

    /// The same data under a new shape with the same element count.
    pub fn reshaped(mut self, shape: &[usize]) -> Result<Tensor, TensorError> {
        check_len(self.dtype, shape, self.data.len())?;
        self.shape = shape.to_vec();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_access_checks_dtype_and_length() {
        let t = Tensor::from_slice(&[2, 2], &[1.0f32, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(t.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
        assert!(matches!(
            t.view().as_slice::<i32>(),
            Err(TensorError::DTypeMismatch { .. })
        ));
        assert!(matches!(
            TensorView::new(DType::F32, &[3], t.bytes()),
            Err(TensorError::LengthMismatch { .. })
        ));
        assert!(matches!(
            TensorView::new(DType::F32, &[usize::MAX, 2], &[]),
            Err(TensorError::ShapeOverflow { .. })
        ));
    }

    #[test]
    fn misaligned_bytes_are_an_error_not_ub() {
        let t = Tensor::from_slice(&[4], &[0i32; 4]).unwrap();
        let bytes = &t.bytes()[1..13];
        let v = TensorView::new(DType::I32, &[3], bytes).unwrap();
        assert!(matches!(
            v.as_slice::<i32>(),
            Err(TensorError::Misaligned { .. })
        ));
    }

    #[test]
    fn integers_widen_to_i64_and_bool_reads_as_u8() {
        let t = Tensor::from_slice(&[3], &[1i32, -2, 3]).unwrap();
        assert_eq!(t.view().to_i64_vec().unwrap(), vec![1, -2, 3]);
        let b = Tensor::from_bytes(DType::Bool, &[2], &[1, 0]).unwrap();
        assert_eq!(b.as_slice::<u8>().unwrap(), &[1, 0]);
        assert_eq!(strides(&[2, 3, 4]), vec![12, 4, 1]);
        assert_eq!(strides(&[]), Vec::<usize>::new());
    }
}
