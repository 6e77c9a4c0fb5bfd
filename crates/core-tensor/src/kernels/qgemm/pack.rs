//! Operands of the int8 GEMM: the u8 activation matrix, the pre-packed i8
//! weights, and the packing of activation tiles.

use super::{MAX_DEPTH, QGemmKernel, check_known};
use crate::error::TensorError;

/// A u8 matrix: `rows × cols` values, row `r` starting at `r · row_stride`.
/// Construction checks that every element lies inside the slice.
#[derive(Clone, Copy, Debug)]
pub struct U8Matrix<'a> {
    data: &'a [u8],
    rows: usize,
    cols: usize,
    row_stride: usize,
}

impl<'a> U8Matrix<'a> {
    /// A matrix whose rows are `row_stride` apart (`row_stride >= cols`).
    pub fn new(
        data: &'a [u8],
        rows: usize,
        cols: usize,
        row_stride: usize,
    ) -> Result<Self, TensorError> {
        let shape_error = || TensorError::ShapeOverflow {
            shape: vec![rows, cols, row_stride],
        };
        if rows > 0 && cols > 0 {
            let needed = (rows - 1)
                .checked_mul(row_stride)
                .and_then(|x| x.checked_add(cols))
                .ok_or_else(shape_error)?;
            if row_stride < cols || needed > data.len() {
                return Err(TensorError::LengthMismatch {
                    expected: needed.max(rows.saturating_mul(cols)),
                    actual: data.len(),
                });
            }
        }
        Ok(U8Matrix {
            data,
            rows,
            cols,
            row_stride,
        })
    }

    /// A dense row-major matrix.
    pub fn row_major(data: &'a [u8], rows: usize, cols: usize) -> Result<Self, TensorError> {
        Self::new(data, rows, cols, cols)
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `r` (`r < rows`).
    pub(crate) fn row(&self, r: usize) -> &'a [u8] {
        &self.data[r * self.row_stride..][..self.cols]
    }
}

/// i8 weights `B` (`k × n`) packed for one int8 GEMM kernel: `NR`-column
/// panels, each `[k / KG][NR][KG]` with zeros past `k` and past `n`, and the
/// sum of each column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackedI8B {
    kernel: &'static str,
    nr: usize,
    kg: usize,
    k: usize,
    n: usize,
    data: Vec<i8>,
    col_sums: Vec<i32>,
}

impl PackedI8B {
    /// Packs `B` for `kernel`: element `(p, j)` (row `p < k`, column
    /// `j < n`) is `b[p · row_stride + j · col_stride]`. A Linear weight
    /// stored `n × k` row-major is `B` transposed: `row_stride = 1`,
    /// `col_stride = k`.
    pub fn pack(
        kernel: &QGemmKernel,
        b: &[i8],
        (k, n): (usize, usize),
        (row_stride, col_stride): (usize, usize),
    ) -> Result<Self, TensorError> {
        check_known(kernel)?;
        if k > MAX_DEPTH {
            return Err(TensorError::DepthTooLarge { k, max: MAX_DEPTH });
        }
        let overflow = || TensorError::ShapeOverflow {
            shape: vec![k, n, row_stride, col_stride],
        };
        if k > 0 && n > 0 {
            let last = (k - 1)
                .checked_mul(row_stride)
                .and_then(|x| (n - 1).checked_mul(col_stride)?.checked_add(x))
                .ok_or_else(overflow)?;
            if last >= b.len() {
                return Err(TensorError::LengthMismatch {
                    expected: last + 1,
                    actual: b.len(),
                });
            }
        }
        let (nr, kg) = (kernel.nr, kernel.kg);
        let depth = k.div_ceil(kg) * kg;
        let panels = n.div_ceil(nr);
        let len = panels
            .checked_mul(nr)
            .and_then(|x| x.checked_mul(depth))
            .ok_or_else(overflow)?;
        let mut data = vec![0i8; len];
        let mut col_sums = vec![0i32; n];
        for (j, sum) in col_sums.iter_mut().enumerate() {
            let panel = &mut data[(j / nr) * nr * depth..][..nr * depth];
            let column = j % nr;
            for p in 0..k {
                let value = b[p * row_stride + j * col_stride];
                panel[(p / kg) * nr * kg + column * kg + p % kg] = value;
                *sum += i32::from(value);
            }
        }
        Ok(PackedI8B {
            kernel: kernel.name,
            nr,
            kg,
            k,
            n,
            data,
            col_sums,
        })
    }

    /// The kernel the weights were packed for.
    pub fn kernel_name(&self) -> &'static str {
        self.kernel
    }

    /// Rows of `B` (the depth of the product).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of `B`.
    pub fn n(&self) -> usize {
        self.n
    }

    /// The sum of each column of `B`.
    pub fn col_sums(&self) -> &[i32] {
        &self.col_sums
    }

    /// The packed bytes (what a `.pnn` file stores).
    pub fn packed_data(&self) -> &[i8] {
        &self.data
    }

    /// Depth rounded up to the kernel's group.
    pub(crate) fn padded_depth(&self) -> usize {
        self.k.div_ceil(self.kg) * self.kg
    }

    /// Panel `j` (`NR` columns from column `j · NR`).
    pub(crate) fn panel(&self, j: usize) -> &[i8] {
        let size = self.nr * self.padded_depth();
        &self.data[j * size..][..size]
    }
}

/// Packs rows `rows` of `a` into `MR`-row tiles `[k / KG][MR][KG]` (zeros
/// past `k`, and rows past the matrix hold zero), shifted
/// to i8 (`a ^ 0x80`) for kernels that read A signed. `out` receives
/// `ceil(rows / MR)` tiles of `MR · depth` bytes.
pub(crate) fn pack_a(
    kernel: &QGemmKernel,
    a: &U8Matrix<'_>,
    rows: std::ops::Range<usize>,
    depth: usize,
    out: &mut Vec<u8>,
) {
    let (mr, kg) = (kernel.mr, kernel.kg);
    let shift = if kernel.a_signed { 0x80 } else { 0 };
    let tiles = rows.len().div_ceil(mr);
    out.clear();
    out.resize(tiles * mr * depth, shift);
    for (i, r) in rows.enumerate() {
        let tile = &mut out[(i / mr) * mr * depth..][..mr * depth];
        // Group g of this row goes to tile[g · MR · KG + row · KG ..][..KG].
        let groups = tile[(i % mr) * kg..].chunks_mut(mr * kg);
        for (dst, src) in groups.zip(a.row(r).chunks(kg)) {
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = s ^ shift;
            }
        }
    }
}
