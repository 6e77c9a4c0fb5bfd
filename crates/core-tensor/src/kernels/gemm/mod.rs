//! f32 matrix multiplication: `C = A · B` or `C += A · B`.
//!
//! Matrices are described by [`MatRef`] / [`MatMut`], which check on
//! construction that every element they address lies inside their slice, so
//! the kernels can index without further checks on data from a file.

use crate::error::TensorError;
use crate::isa::Isa;

mod scalar;

/// A read-only strided matrix view: element `(r, c)` is
/// `data[r * row_stride + c * col_stride]`.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
}

fn last_index(rows: usize, cols: usize, row_stride: usize, col_stride: usize) -> Option<usize> {
    if rows == 0 || cols == 0 {
        return Some(0);
    }
    (rows - 1)
        .checked_mul(row_stride)?
        .checked_add((cols - 1).checked_mul(col_stride)?)
}

fn check_extent(
    len: usize,
    rows: usize,
    cols: usize,
    row_stride: usize,
    col_stride: usize,
) -> Result<(), TensorError> {
    let last =
        last_index(rows, cols, row_stride, col_stride).ok_or(TensorError::ShapeOverflow {
            shape: vec![rows, cols],
        })?;
    if rows > 0 && cols > 0 && last >= len {
        return Err(TensorError::LengthMismatch {
            expected: last + 1,
            actual: len,
        });
    }
    Ok(())
}

impl<'a> MatRef<'a> {
    /// A strided view; fails if an addressed element lies outside `data`.
    pub fn new(
        data: &'a [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
        col_stride: usize,
    ) -> Result<Self, TensorError> {
        check_extent(data.len(), rows, cols, row_stride, col_stride)?;
        Ok(MatRef {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        })
    }

    /// A row-major view (`col_stride` 1, `row_stride` = `cols`).
    pub fn row_major(data: &'a [f32], rows: usize, cols: usize) -> Result<Self, TensorError> {
        MatRef::new(data, rows, cols, cols, 1)
    }

    /// The transpose, without moving data.
    pub fn t(self) -> Self {
        MatRef {
            data: self.data,
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Element `(r, c)`; the caller keeps `r < rows`, `c < cols`.
    #[inline(always)]
    pub(crate) fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }
}

/// A mutable row-major-with-stride matrix view (unit column stride).
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> MatMut<'a> {
    /// A view with unit column stride; fails if it does not fit in `data`.
    pub fn new(
        data: &'a mut [f32],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<Self, TensorError> {
        check_extent(data.len(), rows, cols, row_stride, 1)?;
        Ok(MatMut {
            data,
            rows,
            cols,
            row_stride,
        })
    }

    /// A dense row-major view.
    pub fn row_major(data: &'a mut [f32], rows: usize, cols: usize) -> Result<Self, TensorError> {
        MatMut::new(data, rows, cols, cols)
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` (its first `cols` elements).
    #[inline(always)]
    pub(crate) fn row_mut(&mut self, r: usize) -> &mut [f32] {
        let start = r * self.row_stride;
        &mut self.data[start..start + self.cols]
    }
}

/// Whether the product replaces or adds to `C`'s contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accumulate {
    /// `C = A·B`; `C`'s old contents are never read (NaNs in it do not leak).
    No,
    /// `C += A·B`.
    Yes,
}

/// `C = A·B` (or `C += A·B`) with the kernels of tier `isa`.
///
/// Fails when the shapes do not agree (`A` is m×k, `B` k×n, `C` m×n).
pub fn gemm_f32(
    isa: Isa,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: MatMut<'_>,
    accumulate: Accumulate,
) -> Result<(), TensorError> {
    if a.cols != b.rows || a.rows != c.rows || b.cols != c.cols {
        return Err(TensorError::LengthMismatch {
            expected: a.cols,
            actual: b.rows,
        });
    }
    let _ = isa;
    scalar::gemm(a, b, c, accumulate);
    Ok(())
}
