//! What the GEMM does to a tile of `C` after its last depth block, while
//! the tile is still in L1: `C = act(alpha · v + beta · (bias + residual))`,
//! where `v` is the product (plus `C`'s old contents when accumulating).
//!
//! The activation runs through [`activate`], the one place that maps an
//! [`Activation`] to code for the GEMM epilogue.

use super::matrix::{MatMut, MatRef};
use crate::error::TensorError;
use crate::kernels::activation::Activation;

/// The epilogue of a GEMM: `C = act(alpha · v + beta · (bias + residual))`
/// elementwise, `v` being `A·B` (or `C_old + A·B` when accumulating).
///
/// `bias` and `residual` are `m × n` views like `C`; a bias usually
/// broadcasts through a zero stride ([`Epilogue::row_bias`],
/// [`Epilogue::column_bias`]). The default is the identity (`alpha = 1`,
/// `beta = 1`, nothing added, no activation), which costs nothing.
#[derive(Clone, Copy, Debug)]
pub struct Epilogue<'a> {
    /// Scale of the product.
    pub alpha: f32,
    /// Scale of `bias + residual`.
    pub beta: f32,
    /// Added to every element (broadcast through zero strides).
    pub bias: Option<MatRef<'a>>,
    /// A second matrix added to every element (a residual connection).
    pub residual: Option<MatRef<'a>>,
    /// Applied last.
    pub activation: Activation,
}

impl Default for Epilogue<'_> {
    fn default() -> Self {
        Epilogue {
            alpha: 1.0,
            beta: 1.0,
            bias: None,
            residual: None,
            activation: Activation::None,
        }
    }
}

impl<'a> Epilogue<'a> {
    /// A bias with one value per row of an `rows × cols` `C` (a
    /// convolution's per-output-channel bias): `bias.len()` must be `rows`.
    pub fn row_bias(bias: &'a [f32], rows: usize, cols: usize) -> Result<MatRef<'a>, TensorError> {
        MatRef::new(bias, rows, cols, 1, 0)
    }

    /// A bias with one value per column of an `rows × cols` `C` (a Linear
    /// layer's bias).
    pub fn column_bias(
        bias: &'a [f32],
        rows: usize,
        cols: usize,
    ) -> Result<MatRef<'a>, TensorError> {
        MatRef::new(bias, rows, cols, 0, 1)
    }

    /// True when the epilogue leaves `C` as the product left it.
    pub fn is_identity(&self) -> bool {
        self.alpha == 1.0
            && self.bias.is_none()
            && self.residual.is_none()
            && self.activation == Activation::None
    }

    /// Fails unless `bias` and `residual` are `rows × cols`.
    pub(crate) fn check(&self, rows: usize, cols: usize) -> Result<(), TensorError> {
        for m in [self.bias, self.residual].into_iter().flatten() {
            if (m.rows(), m.cols()) != (rows, cols) {
                return Err(TensorError::MatMulShapeMismatch {
                    a: (m.rows(), m.cols()),
                    b: (rows, cols),
                    c: (rows, cols),
                });
            }
        }
        Ok(())
    }

    /// The epilogue of rows `first .. first + count` (for a row split).
    pub(crate) fn rows(&self, first: usize, count: usize) -> Epilogue<'a> {
        Epilogue {
            bias: self.bias.map(|m| m.sub(first, 0, count, m.cols())),
            residual: self.residual.map(|m| m.sub(first, 0, count, m.cols())),
            ..*self
        }
    }

    /// The epilogue of columns `first .. first + count` (for a column split).
    pub(crate) fn columns(&self, first: usize, count: usize) -> Epilogue<'a> {
        Epilogue {
            bias: self.bias.map(|m| m.sub(0, first, m.rows(), count)),
            residual: self.residual.map(|m| m.sub(0, first, m.rows(), count)),
            ..*self
        }
    }

    /// Applies the epilogue to `out`, the elements `(row, col ..)` of `C`.
    #[inline]
    pub(crate) fn apply_row(&self, out: &mut [f32], row: usize, col: usize) {
        if self.alpha != 1.0 {
            let alpha = self.alpha;
            out.iter_mut().for_each(|v| *v *= alpha);
        }
        for addend in [self.bias, self.residual].into_iter().flatten() {
            add_row(out, addend, row, col, self.beta);
        }
        activate(self.activation, out);
    }

    /// Applies the epilogue to the `rows × cols` block of `c` at `(row, col)`.
    pub(crate) fn apply_block(
        &self,
        c: &mut MatMut<'_>,
        (row, col): (usize, usize),
        (rows, cols): (usize, usize),
    ) {
        for r in row..row + rows {
            self.apply_row(&mut c.row_mut(r)[col..col + cols], r, col);
        }
    }
}

/// `out[j] += beta · m[row, col + j]`.
#[inline]
fn add_row(out: &mut [f32], m: MatRef<'_>, row: usize, col: usize, beta: f32) {
    if out.is_empty() {
        return;
    }
    match m.col_stride() {
        0 => {
            let v = beta * m.at(row, col);
            out.iter_mut().for_each(|o| *o += v);
        }
        1 => {
            let src = &m.data()[row * m.row_stride() + col..][..out.len()];
            if beta == 1.0 {
                out.iter_mut().zip(src).for_each(|(o, &s)| *o += s);
            } else {
                out.iter_mut().zip(src).for_each(|(o, &s)| *o += beta * s);
            }
        }
        _ => {
            for (j, o) in out.iter_mut().enumerate() {
                *o += beta * m.at(row, col + j);
            }
        }
    }
}

/// Applies `activation` to every value: the hook every GEMM epilogue goes
/// through. The piecewise-linear activations are plain f32 loops (the
/// compiler vectorises them, and they match the reference exactly); the
/// others use [`Activation::apply_reference`] until vectorised versions
/// exist.
#[inline]
pub fn activate(activation: Activation, values: &mut [f32]) {
    match activation {
        Activation::None => {}
        // `x < 0 ? 0 : x` keeps NaN and -0.0 like the reference.
        Activation::Relu => values
            .iter_mut()
            .for_each(|v| *v = if *v < 0.0 { 0.0 } else { *v }),
        Activation::Clip { min, max } => values.iter_mut().for_each(|v| {
            let x = *v;
            // NaN stays NaN (comparisons are false).
            let x = if x < min { min } else { x };
            *v = if x > max { max } else { x };
        }),
        Activation::LeakyRelu { alpha } => values
            .iter_mut()
            .for_each(|v| *v = if *v < 0.0 { alpha * *v } else { *v }),
        other => other.apply_reference_slice(values),
    }
}
