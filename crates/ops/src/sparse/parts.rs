//! The sparse weight parts shared by the three operators
//! (`docs/ops/sparse.md`): the attributes `rows`, `cols`, `block`, and the
//! three constant inputs `values`, `block_ptr`, `columns`, decoded into a
//! validated [`SparseMatrix`] once per model constant.

use crate::attrs::Attrs;
use crate::error::{OpError, OpResult};
use crate::operator::InputInfo;
use crate::quant::pack_cache::{ConstCache, DerivedKey};
use pocketnn_format::DType;
use pocketnn_tensor::kernels::sparse::{BlockShape, SparseElement, SparseMatrix};
use pocketnn_tensor::{Element, TensorError, TensorView};
use std::sync::Arc;

/// The widest matrix whose columns may be stored as u16 (`columns` of u8).
pub(crate) const MAX_U16_COLS: usize = 1 << 16;

/// The largest `rows` or `cols` attribute accepted.
const MAX_DIM: i64 = i32::MAX as i64;

/// A violation of the sparse storage rules, as the kernels' validation
/// reports it.
pub(crate) fn invalid(reason: impl Into<String>) -> OpError {
    OpError::Tensor(TensorError::InvalidSparseMatrix {
        reason: reason.into(),
    })
}

/// The attributes describing the weight matrix `W` (`rows × cols`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SparseAttrs {
    /// `M`, the outputs.
    pub(crate) rows: usize,
    /// `K`, the inputs.
    pub(crate) cols: usize,
    /// The block shape.
    pub(crate) shape: BlockShape,
}

fn dim(attrs: &Attrs<'_>, name: &str) -> OpResult<usize> {
    let value = attrs.int_req(name)?;
    if !(0..=MAX_DIM).contains(&value) {
        return Err(attrs.invalid(name, format!("{value} is not in 0..={MAX_DIM}")));
    }
    Ok(value as usize)
}

/// Where the parts are among a node's inputs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PartIndices {
    /// `values`.
    pub(crate) values: usize,
    /// `block_ptr`.
    pub(crate) block_ptr: usize,
    /// `columns`.
    pub(crate) columns: usize,
}

impl PartIndices {
    /// Three consecutive inputs starting at `first`.
    pub(crate) const fn from(first: usize) -> Self {
        PartIndices {
            values: first,
            block_ptr: first + 1,
            columns: first + 2,
        }
    }
}

/// Stored blocks, from the `columns` input's dtype and length.
fn block_count(columns: DType, len: usize, index: usize, cols: usize) -> OpResult<usize> {
    match columns {
        DType::I32 => Ok(len),
        DType::U8 => {
            if cols > MAX_U16_COLS {
                return Err(invalid(format!(
                    "u16 columns (u8 input) need at most {MAX_U16_COLS} columns, not {cols}"
                )));
            }
            if !len.is_multiple_of(2) {
                return Err(invalid(format!(
                    "u16 columns take 2 bytes each, got {len} bytes"
                )));
            }
            Ok(len / 2)
        }
        dtype => Err(OpError::UnsupportedDType { index, dtype }),
    }
}

/// The element count of a 1-D part, or a typed error.
fn one_dimensional(info: &InputInfo<'_>, what: &str) -> OpResult<usize> {
    match *info.shape {
        [len] => Ok(len),
        _ => Err(invalid(format!(
            "{what} must be 1-D, got shape {:?}",
            info.shape
        ))),
    }
}

impl SparseAttrs {
    /// Reads `rows`, `cols` and `block` (default `csr`).
    pub(crate) fn parse(attrs: &Attrs<'_>) -> OpResult<SparseAttrs> {
        let rows = dim(attrs, "rows")?;
        let cols = dim(attrs, "cols")?;
        let shape = match attrs.string("block", "csr")? {
            "csr" => BlockShape::Csr,
            "1x4" => BlockShape::Row1x4,
            "4x1" => BlockShape::Col4x1,
            other => {
                return Err(
                    attrs.invalid("block", format!("`{other}` is not one of csr, 1x4, 4x1"))
                );
            }
        };
        if shape == BlockShape::Row1x4 && !cols.is_multiple_of(4) {
            return Err(attrs.invalid(
                "block",
                format!("1x4 blocks need a multiple of 4 columns, not {cols}"),
            ));
        }
        Ok(SparseAttrs { rows, cols, shape })
    }

    /// Block rows: `ceil(rows / block_rows)`.
    fn block_rows(&self) -> usize {
        self.rows.div_ceil(self.shape.block_rows())
    }

    /// Checks what can be checked of the parts without their values:
    /// dtypes (`value_dtype` for `values`, i32 `block_ptr`, i32 or u8
    /// `columns`), ranks and lengths.
    pub(crate) fn check_infos(
        &self,
        inputs: &[Option<InputInfo<'_>>],
        at: PartIndices,
        value_dtype: DType,
    ) -> OpResult<()> {
        let values = crate::util::required(inputs, at.values)?;
        let block_ptr = crate::util::required(inputs, at.block_ptr)?;
        let columns = crate::util::required(inputs, at.columns)?;
        if values.dtype != value_dtype {
            return Err(OpError::UnsupportedDType {
                index: at.values,
                dtype: values.dtype,
            });
        }
        if block_ptr.dtype != DType::I32 {
            return Err(OpError::UnsupportedDType {
                index: at.block_ptr,
                dtype: block_ptr.dtype,
            });
        }
        let offsets = one_dimensional(&block_ptr, "block_ptr")?;
        if offsets != self.block_rows() + 1 {
            return Err(invalid(format!(
                "{offsets} block offsets for {} block rows",
                self.block_rows()
            )));
        }
        let blocks = block_count(
            columns.dtype,
            one_dimensional(&columns, "columns")?,
            at.columns,
            self.cols,
        )?;
        let value_count = one_dimensional(&values, "values")?;
        if blocks.checked_mul(self.shape.block_len()) != Some(value_count) {
            return Err(invalid(format!(
                "{value_count} values for {blocks} blocks of {}",
                self.shape.block_len()
            )));
        }
        Ok(())
    }

    /// The validated matrix of the parts (their infos were checked by
    /// [`Self::check_infos`]).
    pub(crate) fn matrix<T: SparseElement + Element>(
        &self,
        inputs: &[Option<TensorView<'_>>],
        at: PartIndices,
    ) -> OpResult<SparseMatrix<T>> {
        let values = crate::util::required(inputs, at.values)?;
        let block_ptr = crate::util::required(inputs, at.block_ptr)?;
        let columns = crate::util::required(inputs, at.columns)?;
        let block_ptr = block_ptr
            .as_slice::<i32>()?
            .iter()
            .map(|&offset| {
                u32::try_from(offset)
                    .map_err(|_| invalid(format!("block offset {offset} is negative")))
            })
            .collect::<OpResult<Vec<u32>>>()?;
        let columns = decode_columns(columns, at.columns, self.cols)?;
        let values = values.as_slice::<T>()?.to_vec();
        Ok(SparseMatrix::from_raw_parts(
            self.rows, self.cols, self.shape, block_ptr, columns, values,
        )?)
    }
}

/// The first column of every block, from i32 values or u8 pairs holding
/// little-endian u16 values.
fn decode_columns(columns: TensorView<'_>, index: usize, cols: usize) -> OpResult<Vec<u32>> {
    match columns.dtype() {
        DType::I32 => columns
            .as_slice::<i32>()?
            .iter()
            .map(|&c| u32::try_from(c).map_err(|_| invalid(format!("column {c} is negative"))))
            .collect(),
        DType::U8 => {
            let bytes = columns.as_slice::<u8>()?;
            block_count(DType::U8, bytes.len(), index, cols)?;
            Ok(bytes
                .chunks_exact(2)
                .map(|pair| u32::from(u16::from_le_bytes([pair[0], pair[1]])))
                .collect())
        }
        dtype => Err(OpError::UnsupportedDType { index, dtype }),
    }
}

impl SparseAttrs {
    /// The attributes packed into one number for a cache key (`rows` and
    /// `cols` have at most 31 bits each), so that nodes sharing constant
    /// parts but declaring other dimensions never share a matrix.
    fn key_bits(&self) -> u64 {
        let shape = BlockShape::ALL
            .iter()
            .position(|s| *s == self.shape)
            .unwrap_or(0) as u64;
        self.rows as u64 | (self.cols as u64) << 31 | shape << 62
    }
}

/// Validated sparse weights kept across runs (`V` is what a kernel runs
/// on: a [`SparseMatrix<f32>`] or a `SparseI8Matrix`).
pub(crate) type MatrixCache<V> = ConstCache<DerivedKey, V>;

/// The kernel form of the parts at `at`: built by `build` from the
/// validated matrix the first time the constant parts are seen and then
/// taken from `cache`; built every run for parts computed by the graph.
pub(crate) fn cached_matrix<T: SparseElement + Element, V>(
    cache: &MatrixCache<V>,
    attrs: &SparseAttrs,
    inputs: &[Option<TensorView<'_>>],
    at: PartIndices,
    build: impl FnOnce(SparseMatrix<T>) -> OpResult<V>,
) -> OpResult<Arc<V>> {
    let parts = [at.values, at.block_ptr, at.columns];
    let key = DerivedKey::of(inputs, &parts, attrs.key_bits());
    cache.get_or_pack(key, || build(attrs.matrix::<T>(inputs, at)?))
}
