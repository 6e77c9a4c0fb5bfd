//! A constant `B` (a weight) packed once into a kernel's panel layout, to be
//! multiplied many times without re-packing.
//!
//! The layout depends only on the panel width `nr` of the kernel, not on its
//! cache blocking: `B` (k × n) is cut into `ceil(n / nr)` panels of `nr`
//! columns; panel `j` is `k · nr` values, row-major (value `p · nr + c` is
//! `B[p, j·nr + c]`), with columns past `n` zero; panels follow each other.
//! A `KC`-deep block of a panel is therefore one contiguous run, which is
//! exactly what the micro-kernel reads, so the same bytes can be stored in a
//! `.pnn` file and used in place.

use super::f32_gemm_kernel;
use super::matrix::MatRef;
use super::pack::{pack_b, packed_len};
use crate::buffer::AlignedBuf;
use crate::error::TensorError;
use crate::isa::Isa;
use crate::kernels::widen::Widener;

/// The shape of a packed `B`: its logical size and the panel width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PackedBLayout {
    /// Rows of `B` (the depth of the product).
    pub k: usize,
    /// Columns of `B`.
    pub n: usize,
    /// Columns per panel: the `NR` of the kernel it is packed for.
    pub nr: usize,
}

impl PackedBLayout {
    /// The layout the kernel of tier `isa` reads (whether or not this CPU
    /// has the tier: a converter may pack for another machine).
    pub fn for_isa(isa: Isa, k: usize, n: usize) -> PackedBLayout {
        PackedBLayout {
            k,
            n,
            nr: f32_gemm_kernel(isa).nr,
        }
    }

    /// Number of f32 values of the packed data: `ceil(n / nr) · nr · k`.
    pub fn len(&self) -> Result<usize, TensorError> {
        if self.nr == 0 {
            return Err(TensorError::ShapeOverflow {
                shape: vec![self.k, self.n, self.nr],
            });
        }
        packed_len(self.n, self.nr, self.k).ok_or(TensorError::ShapeOverflow {
            shape: vec![self.k, self.n],
        })
    }

    /// True when the packed data holds no values.
    pub fn is_empty(&self) -> bool {
        self.k == 0 || self.n == 0
    }
}

/// A borrowed packed `B`, e.g. straight from a memory-mapped model.
#[derive(Clone, Copy, Debug)]
pub struct PackedBRef<'a> {
    layout: PackedBLayout,
    data: &'a [f32],
}

impl<'a> PackedBRef<'a> {
    /// A view of `data` as packed panels of `layout`; the length must be
    /// exactly [`PackedBLayout::len`].
    pub fn new(layout: PackedBLayout, data: &'a [f32]) -> Result<Self, TensorError> {
        let expected = layout.len()?;
        if data.len() != expected {
            return Err(TensorError::LengthMismatch {
                expected: expected.saturating_mul(size_of::<f32>()),
                actual: data.len().saturating_mul(size_of::<f32>()),
            });
        }
        Ok(PackedBRef { layout, data })
    }

    /// The layout.
    pub fn layout(&self) -> PackedBLayout {
        self.layout
    }

    /// The packed values.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// `B` (`transposed` false, k×n) or `Bᵀ` (true, n×k) as row-major
    /// values: the packing undone.
    pub fn to_row_major(&self, transposed: bool) -> Vec<f32> {
        let PackedBLayout { k, n, nr } = self.layout;
        let mut out = vec![0.0f32; k * n];
        if nr == 0 {
            return out;
        }
        for (j, panel) in self.data.chunks_exact(k * nr).enumerate() {
            for (p, row) in panel.chunks_exact(nr).enumerate() {
                for (c, &v) in row.iter().enumerate() {
                    let col = j * nr + c;
                    if col < n {
                        let index = if transposed { col * k + p } else { p * n + col };
                        out[index] = v;
                    }
                }
            }
        }
        out
    }

    /// Columns `first .. first + count` of `B` (`first` a multiple of `nr`,
    /// the range inside `B`): whole panels, so still a packed `B`.
    pub(crate) fn columns(&self, first: usize, count: usize) -> PackedBRef<'a> {
        let (k, nr) = (self.layout.k, self.layout.nr);
        let start = (first / nr) * k * nr;
        let len = count.div_ceil(nr) * nr * k;
        PackedBRef {
            layout: PackedBLayout { k, n: count, nr },
            data: &self.data[start..start + len],
        }
    }
}

/// An owned packed `B` in 64-byte aligned memory.
#[derive(Clone, Debug)]
pub struct PackedB {
    layout: PackedBLayout,
    buf: AlignedBuf,
}

impl PackedB {
    /// Packs `b` for the kernel of tier `isa` (the CPU need not have it).
    pub fn pack(isa: Isa, b: MatRef<'_>) -> Result<PackedB, TensorError> {
        let layout = PackedBLayout::for_isa(isa, b.rows(), b.cols());
        let floats = layout.len()?;
        let bytes = floats
            .checked_mul(size_of::<f32>())
            .ok_or(TensorError::ShapeOverflow {
                shape: vec![layout.k, layout.n],
            })?;
        let mut buf = AlignedBuf::zeroed(bytes);
        let dst: &mut [f32] = bytemuck::cast_slice_mut(buf.as_bytes_mut());
        pack_b(
            b,
            (0, 0),
            (layout.k, layout.n),
            layout.nr,
            Widener::Scalar,
            dst,
        );
        Ok(PackedB { layout, buf })
    }

    /// The layout.
    pub fn layout(&self) -> PackedBLayout {
        self.layout
    }

    /// The packed values (what a `.pnn` writer stores).
    pub fn as_slice(&self) -> &[f32] {
        bytemuck::cast_slice(self.buf.as_bytes())
    }

    /// A borrowed view, for [`super::gemm_f32_packed`].
    pub fn view(&self) -> PackedBRef<'_> {
        PackedBRef {
            layout: self.layout,
            data: self.as_slice(),
        }
    }
}
