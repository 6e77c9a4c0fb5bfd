//! The int8 sparse weight matrix: a [`SparseMatrix<i8>`] plus what the
//! int8 kernels need, computed once when the matrix is built.
//!
//! * `row_sums[m] = Σ_k W[m, k]`, for the activation zero-point correction
//!   `Σ W (x - za) = Σ W x - za · row_sums[m]`;
//! * the **grouped form** the SIMD kernels run on: the columns cut into
//!   aligned groups of four (`4g .. 4g + 4`), and for each block row the
//!   groups holding a non-zero, each with one 32-bit word per row of the
//!   block row (the four i8 weights of that row in those four columns,
//!   zeros where the matrix has none). With the activations packed as
//!   `[k / 4][n][4]` one word times one packed vector is one `vpdpbusd` /
//!   `sdot` / `vpmaddwd` step: a 1×4 block is one word, an isolated CSR
//!   value one word with three zero bytes, a 4×1 block four words sharing
//!   one activation load.

use super::matrix::{BlockShape, SparseMatrix};
use crate::error::TensorError;
use crate::kernels::qgemm::MAX_DEPTH;

/// A sparse i8 weight matrix ready for the int8 kernels. Weights are
/// symmetric (zero point 0): a zero weight is a skipped one.
#[derive(Clone, Debug, PartialEq)]
pub struct SparseI8Matrix {
    matrix: SparseMatrix<i8>,
    row_sums: Vec<i32>,
    grouped: Grouped,
}

/// The grouped form (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Grouped {
    /// Rows per block row: 1 (CSR, 1×4) or 4 (4×1).
    pub(crate) rows_per_block: usize,
    /// Entries of each block row, as offsets into `groups`.
    pub(crate) block_ptr: Vec<usize>,
    /// The group index `g` (columns `4g .. 4g + 4`) of every entry.
    pub(crate) groups: Vec<u32>,
    /// `rows_per_block` little-endian words of four i8 weights per entry.
    pub(crate) words: Vec<i32>,
    /// `ceil(cols / 4)`.
    pub(crate) group_count: usize,
}

impl SparseI8Matrix {
    /// The kernel form of `matrix`. Fails when it has more than
    /// [`MAX_DEPTH`] columns (the i32 sums could overflow).
    pub fn new(matrix: SparseMatrix<i8>) -> Result<Self, TensorError> {
        if matrix.cols() > MAX_DEPTH {
            return Err(TensorError::DepthTooLarge {
                k: matrix.cols(),
                max: MAX_DEPTH,
            });
        }
        let shape = matrix.shape();
        let (br, bc) = (shape.block_rows(), shape.block_cols());
        let columns = matrix.columns();
        let values = matrix.values();
        let rows = matrix.rows();
        let mut row_sums = vec![0i32; rows];
        let rows_per_block = br;
        let mut grouped = Grouped {
            rows_per_block,
            block_ptr: vec![0],
            groups: Vec::new(),
            words: Vec::new(),
            group_count: matrix.cols().div_ceil(4),
        };
        for (b, pair) in matrix.block_ptr().windows(2).enumerate() {
            // Columns increase strictly within a block row and 1×4 blocks
            // are aligned, so each weight lands in its own byte of one word.
            for j in pair[0] as usize..pair[1] as usize {
                let first = columns[j] as usize;
                for r in 0..br {
                    for q in 0..bc {
                        let value = values[j * br * bc + r * bc + q];
                        let row = b * br + r;
                        if row < rows {
                            row_sums[row] += i32::from(value);
                        }
                        let (group, byte) = ((first + q) / 4, (first + q) % 4);
                        let group = group as u32;
                        if grouped.groups.len() == *grouped.block_ptr.last().unwrap_or(&0)
                            || grouped.groups.last() != Some(&group)
                        {
                            grouped.groups.push(group);
                            grouped.words.extend(std::iter::repeat_n(0, rows_per_block));
                        }
                        let word_at = grouped.words.len() - rows_per_block + r;
                        let mut bytes = grouped.words[word_at].to_le_bytes();
                        bytes[byte] = value as u8;
                        grouped.words[word_at] = i32::from_le_bytes(bytes);
                    }
                }
            }
            grouped.block_ptr.push(grouped.groups.len());
        }
        Ok(SparseI8Matrix {
            matrix,
            row_sums,
            grouped,
        })
    }

    /// The matrix.
    pub fn matrix(&self) -> &SparseMatrix<i8> {
        &self.matrix
    }

    /// `Σ_k W[m, k]` for every row `m`.
    pub fn row_sums(&self) -> &[i32] {
        &self.row_sums
    }

    /// Entries of the grouped form (32-bit weight words per block row).
    pub fn group_entries(&self) -> usize {
        self.grouped.groups.len()
    }

    pub(crate) fn grouped(&self) -> &Grouped {
        &self.grouped
    }

    /// Whether the 4×1 grouped form is used.
    pub(crate) fn is_col4x1(&self) -> bool {
        self.matrix.shape() == BlockShape::Col4x1
    }
}
