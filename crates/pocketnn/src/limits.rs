//! Resource limits: how much memory and structure a model may claim.
//!
//! A `.pnn` file is untrusted input. The format reader already bounds what
//! parsing may allocate ([`pocketnn_format::Limits`], reused here as
//! [`Limits::file`]); the fields below bound what *running* may allocate:
//! every shape that becomes known — a caller's input, a shape inferred while
//! planning, a data-dependent shape computed at run time (`Range`,
//! `ConstantOfShape`, `Expand`, `Tile`, `Resize`, `Pad` ...) — is checked
//! before a byte is allocated for it, and every activation buffer that grows
//! is counted against the session total. Breaking a limit is a typed
//! [`Error::LimitExceeded`], never an out-of-memory abort.

use crate::error::{Error, Result};
use pocketnn_format::{DType, Dim};

/// Bounds on what a model may make the runtime allocate.
///
/// Set at load in [`crate::LoadOptions::limits`] (the model keeps them as
/// the default for its sessions) and optionally per session in
/// [`crate::SessionOptions::limits`]. The defaults admit any realistic phone
/// model and stop a hostile one long before the device runs out of memory.
///
/// The size of a shape is counted with zero dimensions taken as one
/// ("span"), so `[0, 1 << 40]` is as large as `[1, 1 << 40]`: an empty
/// tensor with a huge dimension would otherwise pass every byte limit and
/// still make kernels loop over its outer dimensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bounds on the file's structure checked by the reader at load: node
    /// and value counts, rank of declared shapes, string and list lengths,
    /// total weight bytes. [`Limits::file`]`.max_rank` also bounds the rank
    /// of every input and computed value.
    pub file: pocketnn_format::Limits,
    /// Bytes of any one activation: an input, or a value computed while
    /// planning or running (default 1 GiB). Constant tensors live in the
    /// file and are bounded by [`pocketnn_format::Limits::max_total_tensor_bytes`].
    pub max_tensor_bytes: usize,
    /// Bytes of all activation buffers of one session together, including
    /// buffers grown at run time for data-dependent shapes (default 2 GiB).
    pub max_activation_bytes: usize,
    /// Any one dimension of a declared, constant, input or computed shape
    /// (default 2^30).
    pub max_dim: usize,
    /// The largest size a symbolic dimension (`N`, `seq_len`) may take when
    /// `run` binds it from the inputs (default 2^24).
    pub max_symbolic_dim: usize,
    /// Tighter bounds for named symbols, e.g. `("N", 64)` to refuse batches
    /// above 64 (default none).
    pub symbol_bounds: Vec<(String, usize)>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            file: pocketnn_format::Limits::default(),
            max_tensor_bytes: 1 << 30,
            max_activation_bytes: 1 << 31,
            max_dim: 1 << 30,
            max_symbolic_dim: 1 << 24,
            symbol_bounds: Vec::new(),
        }
    }
}

/// `Err(LimitExceeded)` unless `value <= limit`.
pub(crate) fn check(what: impl FnOnce() -> String, value: usize, limit: usize) -> Result<()> {
    if value <= limit {
        Ok(())
    } else {
        Err(Error::LimitExceeded {
            what: what(),
            value: value as u64,
            limit: limit as u64,
        })
    }
}

/// Bytes a shape spans with zero dimensions counted as one, or `None` on
/// overflow.
fn span_bytes(dtype: DType, shape: &[usize]) -> Option<usize> {
    shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d.max(1)))
}

impl Limits {
    /// Checks the rank, every dimension and the span of an activation shape
    /// (an input or a computed value). `what` names it for the error.
    pub(crate) fn check_shape(
        &self,
        what: &dyn Fn() -> String,
        dtype: DType,
        shape: &[usize],
    ) -> Result<()> {
        check(
            || format!("rank of {}", what()),
            shape.len(),
            self.file.max_rank,
        )?;
        self.check_dims(what, shape.iter().copied())?;
        let bytes = span_bytes(dtype, shape).unwrap_or(usize::MAX);
        check(
            || format!("bytes of {}", what()),
            bytes,
            self.max_tensor_bytes,
        )
    }

    /// Checks a constant tensor's shape at load: its dimensions, and, when
    /// it is empty (its bytes say nothing about its dimensions), its span.
    pub(crate) fn check_constant_shape(
        &self,
        what: &dyn Fn() -> String,
        dtype: DType,
        shape: &[u64],
    ) -> Result<()> {
        self.check_dims(what, shape.iter().map(|&d| saturate(d)))?;
        if shape.contains(&0) {
            let shape: Vec<usize> = shape.iter().map(|&d| saturate(d)).collect();
            let bytes = span_bytes(dtype, &shape).unwrap_or(usize::MAX);
            check(
                || format!("bytes of {}", what()),
                bytes,
                self.max_tensor_bytes,
            )?;
        }
        Ok(())
    }

    /// Checks a value's declared shape at load: every fixed dimension, and,
    /// when no dimension is symbolic, the bytes the value would need.
    pub(crate) fn check_declared_shape(
        &self,
        what: &dyn Fn() -> String,
        dtype: DType,
        shape: &[Dim],
    ) -> Result<()> {
        let mut fixed = Vec::with_capacity(shape.len());
        for dim in shape {
            if let Dim::Fixed(d) = dim {
                let d = saturate(*d);
                check(|| format!("a dimension of {}", what()), d, self.max_dim)?;
                fixed.push(d);
            }
        }
        if fixed.len() == shape.len() {
            let bytes = span_bytes(dtype, &fixed).unwrap_or(usize::MAX);
            check(
                || format!("bytes of {}", what()),
                bytes,
                self.max_tensor_bytes,
            )?;
        }
        Ok(())
    }

    /// Checks the size `run` binds to symbol `name`.
    pub(crate) fn check_symbol(&self, name: &str, size: usize) -> Result<()> {
        check(
            || format!("symbolic dimension `{name}`"),
            size,
            self.max_symbolic_dim,
        )?;
        for (symbol, bound) in &self.symbol_bounds {
            if symbol == name {
                check(|| format!("symbolic dimension `{name}`"), size, *bound)?;
            }
        }
        Ok(())
    }

    fn check_dims(
        &self,
        what: &dyn Fn() -> String,
        dims: impl Iterator<Item = usize>,
    ) -> Result<()> {
        for d in dims {
            check(|| format!("a dimension of {}", what()), d, self.max_dim)?;
        }
        Ok(())
    }
}

/// A file dimension as `usize`, saturating (it is then over any limit).
fn saturate(d: u64) -> usize {
    usize::try_from(d).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> String {
        "x".into()
    }

    #[test]
    fn zero_dimensions_count_as_one() {
        let limits = Limits {
            max_tensor_bytes: 1024,
            ..Limits::default()
        };
        // 4 bytes * 256 = 1024: at the limit.
        assert!(limits.check_shape(&name, DType::F32, &[0, 256]).is_ok());
        // 4 * 257 > 1024 even though the tensor is empty.
        assert!(matches!(
            limits.check_shape(&name, DType::F32, &[0, 257]),
            Err(Error::LimitExceeded {
                value: 1028,
                limit: 1024,
                ..
            })
        ));
        // Overflowing spans are over any limit, not a panic.
        assert!(
            limits
                .check_shape(&name, DType::F32, &[usize::MAX, usize::MAX])
                .is_err()
        );
    }

    #[test]
    fn rank_dims_and_symbols() {
        let limits = Limits {
            max_dim: 10,
            max_symbolic_dim: 8,
            symbol_bounds: vec![("N".into(), 4)],
            ..Limits::default()
        };
        assert!(limits.check_shape(&name, DType::U8, &[10, 10]).is_ok());
        assert!(limits.check_shape(&name, DType::U8, &[11]).is_err());
        assert!(limits.check_shape(&name, DType::U8, &[1; 17]).is_err());
        assert!(limits.check_symbol("T", 8).is_ok());
        assert!(limits.check_symbol("T", 9).is_err());
        assert!(limits.check_symbol("N", 4).is_ok());
        assert!(limits.check_symbol("N", 5).is_err());
    }

    #[test]
    fn declared_and_constant_shapes() {
        let limits = Limits {
            max_tensor_bytes: 100,
            max_dim: 1000,
            ..Limits::default()
        };
        let fixed = |d| Dim::Fixed(d);
        let sym = Dim::Symbolic("N".into());
        assert!(
            limits
                .check_declared_shape(&name, DType::F32, &[fixed(5), fixed(5)])
                .is_ok()
        );
        // 4 * 26 bytes > 100
        assert!(
            limits
                .check_declared_shape(&name, DType::F32, &[fixed(26)])
                .is_err()
        );
        // symbolic: only the dimensions are checked
        assert!(
            limits
                .check_declared_shape(&name, DType::F32, &[sym.clone(), fixed(26)])
                .is_ok()
        );
        assert!(
            limits
                .check_declared_shape(&name, DType::F32, &[sym, fixed(1001)])
                .is_err()
        );
        assert!(
            limits
                .check_declared_shape(&name, DType::F32, &[fixed(u64::MAX)])
                .is_err()
        );
        // constants: the bytes are in the file; empty ones get the span check
        assert!(
            limits
                .check_constant_shape(&name, DType::F32, &[1000, 1000])
                .is_ok()
        );
        assert!(
            limits
                .check_constant_shape(&name, DType::F32, &[0, 1000])
                .is_err()
        );
        assert!(
            limits
                .check_constant_shape(&name, DType::F32, &[1001])
                .is_err()
        );
    }
}
