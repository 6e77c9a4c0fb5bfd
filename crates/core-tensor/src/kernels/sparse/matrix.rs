//! The validated sparse weight matrix: CSR or block-sparse (1×4, 4×1).
//!
//! A matrix is `rows × cols`; a row is one output channel, a column one
//! input channel. The non-zero blocks of each *block row* are listed in
//! order of their first column:
//!
//! * [`BlockShape::Csr`]: blocks of 1×1 (plain CSR), one row per block row;
//! * [`BlockShape::Row1x4`]: 1 row × 4 consecutive columns starting at a
//!   multiple of 4 (needs `cols % 4 == 0`);
//! * [`BlockShape::Col4x1`]: 4 consecutive rows × 1 column; block row `b`
//!   covers rows `4b .. 4b + 4` (the last one may hang past `rows`; its
//!   values for the missing rows are stored and never used).
//!
//! Storage: `block_ptr[b] .. block_ptr[b + 1]` are the blocks of block row
//! `b`; `columns[j]` is the first column of block `j` and
//! `values[j · 4 .. j · 4 + 4]` (1×1: `values[j]`) its values, row-major
//! inside the block. Column indices are kept as `u16` when `cols <= 65536`
//! (less memory traffic: the kernels are bandwidth-bound at batch 1), else as
//! `u32`.
//!
//! [`SparseMatrix::from_raw_parts`] checks every offset and index, so the
//! kernels can trust them whatever file the parts come from.

use crate::error::TensorError;

/// The shape of the stored blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockShape {
    /// Unstructured: single values (CSR).
    Csr,
    /// 1 row × 4 columns, aligned to 4 columns.
    Row1x4,
    /// 4 rows × 1 column.
    Col4x1,
}

impl BlockShape {
    /// Every shape.
    pub const ALL: [BlockShape; 3] = [BlockShape::Csr, BlockShape::Row1x4, BlockShape::Col4x1];

    /// Rows of a block.
    pub const fn block_rows(self) -> usize {
        match self {
            BlockShape::Col4x1 => 4,
            _ => 1,
        }
    }

    /// Columns of a block.
    pub const fn block_cols(self) -> usize {
        match self {
            BlockShape::Row1x4 => 4,
            _ => 1,
        }
    }

    /// Values per block.
    pub const fn block_len(self) -> usize {
        self.block_rows() * self.block_cols()
    }

    /// The shape's name in kernel names: `csr`, `1x4`, `4x1`.
    pub const fn name(self) -> &'static str {
        match self {
            BlockShape::Csr => "csr",
            BlockShape::Row1x4 => "1x4",
            BlockShape::Col4x1 => "4x1",
        }
    }
}

/// Column indices, as narrow as the column count allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Columns {
    /// `cols <= 65536`.
    U16(Vec<u16>),
    /// Wider matrices.
    U32(Vec<u32>),
}

/// An index type the kernels read columns through.
pub(crate) trait ColumnIndex: Copy + Send + Sync {
    /// The index as a `usize`.
    fn get(self) -> usize;
}

impl ColumnIndex for u16 {
    #[inline(always)]
    fn get(self) -> usize {
        usize::from(self)
    }
}

impl ColumnIndex for u32 {
    #[inline(always)]
    fn get(self) -> usize {
        self as usize
    }
}

/// An element type a sparse matrix can hold (`f32` or `i8`).
pub trait SparseElement: Copy + PartialEq + Send + Sync + std::fmt::Debug {
    /// The zero value.
    const ZERO: Self;
}

impl SparseElement for f32 {
    const ZERO: f32 = 0.0;
}

impl SparseElement for i8 {
    const ZERO: i8 = 0;
}

/// A sparse `rows × cols` weight matrix whose structure has been checked
/// (see the module docs for the storage).
#[derive(Clone, Debug, PartialEq)]
pub struct SparseMatrix<T> {
    rows: usize,
    cols: usize,
    shape: BlockShape,
    block_ptr: Vec<u32>,
    columns: Columns,
    values: Vec<T>,
}

fn invalid(reason: String) -> TensorError {
    TensorError::InvalidSparseMatrix { reason }
}

impl<T: SparseElement> SparseMatrix<T> {
    /// The sparse form of the row-major `rows × cols` matrix `dense`: every
    /// block with a non-zero value is kept (a value that is not `== 0`,
    /// so NaN is kept). Fails when `dense` is not `rows · cols` long, when
    /// the block count exceeds `u32`, and for [`BlockShape::Row1x4`] when
    /// `cols` is not a multiple of 4.
    pub fn from_dense(
        dense: &[T],
        rows: usize,
        cols: usize,
        shape: BlockShape,
    ) -> Result<Self, TensorError> {
        let len = rows
            .checked_mul(cols)
            .ok_or_else(|| TensorError::ShapeOverflow {
                shape: vec![rows, cols],
            })?;
        if dense.len() != len {
            return Err(TensorError::LengthMismatch {
                expected: len,
                actual: dense.len(),
            });
        }
        check_dims(rows, cols, shape)?;
        let (br, bc) = (shape.block_rows(), shape.block_cols());
        let block_row_count = rows.div_ceil(br);
        let mut block_ptr = Vec::with_capacity(block_row_count + 1);
        let mut columns = Vec::new();
        let mut values = Vec::new();
        block_ptr.push(0u32);
        let at = |r: usize, c: usize| {
            if r < rows {
                dense[r * cols + c]
            } else {
                T::ZERO
            }
        };
        for b in 0..block_row_count {
            for c in (0..cols).step_by(bc) {
                let block = (0..br).flat_map(|r| (0..bc).map(move |q| (b * br + r, c + q)));
                if block.clone().any(|(r, c)| at(r, c) != T::ZERO) {
                    columns.push(c);
                    values.extend(block.map(|(r, c)| at(r, c)));
                }
            }
            let count = u32::try_from(columns.len())
                .map_err(|_| invalid(format!("more than {} blocks", u32::MAX)))?;
            block_ptr.push(count);
        }
        Ok(SparseMatrix {
            rows,
            cols,
            shape,
            block_ptr,
            columns: narrow(columns, cols),
            values,
        })
    }

    /// A matrix from its stored parts (see the module docs), after checking
    /// that `block_ptr` has one entry per block row plus one, starts at 0,
    /// never decreases and ends at the block count; that `values` holds
    /// `block_len` values per block; and that in every block row the
    /// columns increase strictly, lie inside the matrix and (1×4) are
    /// multiples of 4. Any violation is a [`TensorError::InvalidSparseMatrix`].
    pub fn from_raw_parts(
        rows: usize,
        cols: usize,
        shape: BlockShape,
        block_ptr: Vec<u32>,
        columns: Vec<u32>,
        values: Vec<T>,
    ) -> Result<Self, TensorError> {
        check_dims(rows, cols, shape)?;
        let block_row_count = rows.div_ceil(shape.block_rows());
        if block_ptr.len() != block_row_count + 1 {
            return Err(invalid(format!(
                "{} block offsets for {block_row_count} block rows",
                block_ptr.len()
            )));
        }
        if block_ptr[0] != 0 || block_ptr[block_row_count] as usize != columns.len() {
            return Err(invalid(format!(
                "block offsets run from {} to {}, there are {} blocks",
                block_ptr[0],
                block_ptr[block_row_count],
                columns.len()
            )));
        }
        let expected_values = columns.len().checked_mul(shape.block_len());
        if expected_values != Some(values.len()) {
            return Err(invalid(format!(
                "{} values for {} blocks of {}",
                values.len(),
                columns.len(),
                shape.block_len()
            )));
        }
        let step = shape.block_cols();
        for (b, pair) in block_ptr.windows(2).enumerate() {
            let (start, end) = (pair[0] as usize, pair[1] as usize);
            if start > end {
                return Err(invalid(format!("block offsets decrease at block row {b}")));
            }
            let mut next_free = 0usize;
            for &c in &columns[start..end] {
                let c = c as usize;
                if c < next_free || c >= cols || !c.is_multiple_of(step) {
                    return Err(invalid(format!(
                        "block row {b}: column {c} is out of order, outside {cols} columns \
                         or not a multiple of {step}"
                    )));
                }
                next_free = c + step;
            }
        }
        let columns = columns.into_iter().map(|c| c as usize).collect();
        Ok(SparseMatrix {
            rows,
            cols,
            shape,
            block_ptr,
            columns: narrow(columns, cols),
            values,
        })
    }

    /// Rows (output channels).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns (input channels).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// The block shape.
    pub fn shape(&self) -> BlockShape {
        self.shape
    }

    /// Stored blocks.
    pub fn block_count(&self) -> usize {
        match &self.columns {
            Columns::U16(c) => c.len(),
            Columns::U32(c) => c.len(),
        }
    }

    /// Stored values (blocks × block length, zeros inside blocks included).
    pub fn values(&self) -> &[T] {
        &self.values
    }

    /// Block offsets, one per block row plus one.
    pub fn block_ptr(&self) -> &[u32] {
        &self.block_ptr
    }

    /// The first column of every block, widened to `u32`.
    pub fn columns(&self) -> Vec<u32> {
        match &self.columns {
            Columns::U16(c) => c.iter().map(|&c| u32::from(c)).collect(),
            Columns::U32(c) => c.clone(),
        }
    }

    /// Bytes of the stored structure and values (what a kernel streams).
    pub fn stored_bytes(&self) -> usize {
        let index = match &self.columns {
            Columns::U16(c) => c.len() * 2,
            Columns::U32(c) => c.len() * 4,
        };
        self.block_ptr.len() * 4 + index + std::mem::size_of_val(self.values.as_slice())
    }

    /// The row-major dense matrix (for tests and tools).
    pub fn to_dense(&self) -> Vec<T> {
        let mut dense = vec![T::ZERO; self.rows * self.cols];
        let (br, bc) = (self.shape.block_rows(), self.shape.block_cols());
        let columns = self.columns();
        for (b, pair) in self.block_ptr.windows(2).enumerate() {
            let blocks = pair[0] as usize..pair[1] as usize;
            for (j, &first) in columns
                .iter()
                .enumerate()
                .take(blocks.end)
                .skip(blocks.start)
            {
                for r in 0..br {
                    let row = b * br + r;
                    if row >= self.rows {
                        continue;
                    }
                    for q in 0..bc {
                        let col = first as usize + q;
                        dense[row * self.cols + col] = self.values[j * br * bc + r * bc + q];
                    }
                }
            }
        }
        dense
    }

    pub(crate) fn column_indices(&self) -> &Columns {
        &self.columns
    }
}

fn check_dims(rows: usize, cols: usize, shape: BlockShape) -> Result<(), TensorError> {
    if u32::try_from(cols).is_err() || rows.checked_add(4).is_none() {
        return Err(TensorError::ShapeOverflow {
            shape: vec![rows, cols],
        });
    }
    if shape == BlockShape::Row1x4 && !cols.is_multiple_of(4) {
        return Err(invalid(format!(
            "1x4 blocks need a multiple of 4 columns, not {cols}"
        )));
    }
    Ok(())
}

/// `u16` indices when every column fits.
fn narrow(columns: Vec<usize>, cols: usize) -> Columns {
    if cols <= 1 << 16 {
        Columns::U16(columns.into_iter().map(|c| c as u16).collect())
    } else {
        Columns::U32(columns.into_iter().map(|c| c as u32).collect())
    }
}
