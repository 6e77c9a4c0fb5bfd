//! Strided matrix views for the GEMM: they check on construction that every
//! element they address lies inside their slice, so the kernels can index
//! without further checks on data from a file.

use crate::error::TensorError;

/// A read-only strided matrix view: element `(r, c)` is
/// `data[r * row_stride + c * col_stride]`. The elements are f32 unless
/// said otherwise (`MatRef<'_, f16>` is a matrix of half floats, accepted
/// as the `B` operand of the GEMM, which widens it while packing).
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a, T = f32> {
    data: &'a [T],
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

impl<'a, T: Copy> MatRef<'a, T> {
    /// A strided view; fails if an addressed element lies outside `data`.
    pub fn new(
        data: &'a [T],
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
    pub fn row_major(data: &'a [T], rows: usize, cols: usize) -> Result<Self, TensorError> {
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

    /// Distance in elements between vertically adjacent elements.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// Distance in elements between horizontally adjacent elements.
    pub fn col_stride(&self) -> usize {
        self.col_stride
    }

    /// The slice the view addresses into.
    pub(crate) fn data(&self) -> &'a [T] {
        self.data
    }

    /// The `rows × cols` block starting at `(row, col)`; the caller keeps it
    /// inside the matrix.
    pub(crate) fn sub(&self, row: usize, col: usize, rows: usize, cols: usize) -> MatRef<'a, T> {
        if rows == 0 || cols == 0 {
            return MatRef {
                data: &[],
                rows,
                cols,
                ..*self
            };
        }
        MatRef {
            data: &self.data[row * self.row_stride + col * self.col_stride..],
            rows,
            cols,
            ..*self
        }
    }

    /// Element `(r, c)`; the caller keeps `r < rows`, `c < cols`.
    #[inline(always)]
    pub(crate) fn at(&self, r: usize, c: usize) -> T {
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

    /// Distance in elements between vertically adjacent elements.
    pub fn row_stride(&self) -> usize {
        self.row_stride
    }

    /// A shorter-lived view of the same matrix.
    pub fn reborrow(&mut self) -> MatMut<'_> {
        MatMut {
            data: self.data,
            rows: self.rows,
            cols: self.cols,
            row_stride: self.row_stride,
        }
    }

    /// Splits the view after row `at` (`at <= rows`) into two views over
    /// disjoint memory; `None` when rows overlap (row stride below `cols`).
    pub(crate) fn split_rows(self, at: usize) -> Option<(MatMut<'a>, MatMut<'a>)> {
        if self.row_stride < self.cols || at > self.rows {
            return None;
        }
        let (rows, cols, row_stride) = (self.rows, self.cols, self.row_stride);
        let split = (at * row_stride).min(self.data.len());
        let (top, bottom) = self.data.split_at_mut(split);
        Some((
            MatMut {
                data: top,
                rows: at,
                cols,
                row_stride,
            },
            MatMut {
                data: bottom,
                rows: rows - at,
                cols,
                row_stride,
            },
        ))
    }

    /// The slice from element `(r, c)` to the end of the data; the caller
    /// keeps `r < rows`, `c < cols`.
    #[inline(always)]
    pub(crate) fn tail_from(&mut self, r: usize, c: usize) -> &mut [f32] {
        &mut self.data[r * self.row_stride + c..]
    }

    /// Row `r` (its first `cols` elements), read-only.
    pub(crate) fn row(&self, r: usize) -> &[f32] {
        if self.cols == 0 {
            return &[];
        }
        let start = r * self.row_stride;
        &self.data[start..start + self.cols]
    }

    /// Row `r` (its first `cols` elements).
    #[inline(always)]
    pub(crate) fn row_mut(&mut self, r: usize) -> &mut [f32] {
        if self.cols == 0 {
            return &mut []; // the data may be empty even when rows > 0
        }
        let start = r * self.row_stride;
        &mut self.data[start..start + self.cols]
    }
}
