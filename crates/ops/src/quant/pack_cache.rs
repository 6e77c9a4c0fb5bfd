//! Packed int8 weights kept across runs.
//!
//! Packing the weights for the int8 GEMM touches every weight; doing it on
//! every run made int8 models slower than float ones. An operator is built
//! once per loaded model, so it can keep the packed form of a weight the
//! runtime marked constant ([`TensorView::constant`]): the weight's bytes
//! never change and stay at one address while the model lives, so the
//! address identifies them. A weight that is not a model constant (computed
//! by the graph) is packed on every run, as before.
//!
//! The cache is generic over its key and what it keeps: the sparse
//! operators (`crates/ops/src/sparse`) keep their validated sparse matrices
//! in it, keyed by the addresses of their three constant parts.
//!
//! Memory: one packed copy of each constant weight per kernel the model's
//! sessions used (normally one: every session picks the same best kernel),
//! shared by all sessions of the model.

use crate::error::OpResult;
use pocketnn_tensor::TensorView;
use pocketnn_tensor::kernels::qgemm::{PackedI8B, QGemmKernel};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, PoisonError, RwLock};

/// Identifies one packing of one constant weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PackKey {
    kernel: &'static str,
    address: usize,
    len: usize,
    /// Which part of the weight (a group of a grouped convolution, a batch
    /// of a batched product).
    part: usize,
}

impl PackKey {
    /// The key of part `part` of `weights` packed for `kernel`, or `None`
    /// when `weights` is not a model constant (then nothing is cached).
    pub(crate) fn of(kernel: &QGemmKernel, weights: &TensorView<'_>, part: usize) -> Option<Self> {
        weights.is_constant().then(|| PackKey {
            kernel: kernel.name,
            address: weights.bytes().as_ptr() as usize,
            len: weights.bytes().len(),
            part,
        })
    }
}

/// The packed weights of one operator (by default: int8 GEMM packings
/// keyed by [`PackKey`]).
#[derive(Debug)]
pub(crate) struct PackCache<K = PackKey, V = PackedI8B> {
    packed: RwLock<HashMap<K, Arc<V>>>,
}

impl<K, V> Default for PackCache<K, V> {
    fn default() -> Self {
        PackCache {
            packed: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: Copy + Eq + Hash, V> PackCache<K, V> {
    /// The packing `key` names, made by `pack` the first time; `pack` runs
    /// every time when `key` is `None`.
    pub(crate) fn get_or_pack(
        &self,
        key: Option<K>,
        pack: impl FnOnce() -> OpResult<V>,
    ) -> OpResult<Arc<V>> {
        let Some(key) = key else {
            return pack().map(Arc::new);
        };
        let cached = self
            .packed
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(packed) = cached {
            return Ok(packed);
        }
        // Two sessions may both pack the first time; either result is the
        // same, and the second insert just replaces the first.
        let packed = Arc::new(pack()?);
        self.packed
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&packed));
        Ok(packed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kernel() -> QGemmKernel {
        QGemmKernel::best_for(pocketnn_tensor::Isa::Scalar)
    }

    fn pack(w: &[i8]) -> OpResult<PackedI8B> {
        Ok(PackedI8B::pack(&kernel(), w, (2, 2), (2, 1))?)
    }

    #[test]
    fn a_constant_is_packed_once_and_a_computed_weight_every_time() {
        let w = [1i8, 2, 3, 4];
        let shape = [2, 2];
        let cache = PackCache::default();
        let mut packs = 0;
        let computed = TensorView::from_slice(&shape, &w).unwrap();
        let constant = computed.constant();
        for _ in 0..3 {
            let key = PackKey::of(&kernel(), &constant, 0);
            cache
                .get_or_pack(key, || {
                    packs += 1;
                    pack(&w)
                })
                .unwrap();
        }
        assert_eq!(packs, 1);
        for _ in 0..3 {
            let key = PackKey::of(&kernel(), &computed, 0);
            assert!(key.is_none());
            cache
                .get_or_pack(key, || {
                    packs += 1;
                    pack(&w)
                })
                .unwrap();
        }
        assert_eq!(packs, 4);
        // Another part of the same constant is another packing.
        let key = PackKey::of(&kernel(), &constant, 1);
        let packed = cache
            .get_or_pack(key, || {
                packs += 1;
                pack(&w)
            })
            .unwrap();
        assert_eq!(packs, 5);
        assert_eq!(*packed, pack(&w).unwrap());
    }
}
