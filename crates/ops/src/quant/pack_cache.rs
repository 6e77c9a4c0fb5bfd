//! Packed int8 weights (and other values derived from model constants)
//! kept across runs.
//!
//! Packing the weights for the int8 GEMM touches every weight; doing it on
//! every run made int8 models slower than float ones. An operator is built
//! once per loaded model, so it can keep the packed form of a weight the
//! runtime marked constant ([`TensorView::constant`]): the weight's bytes
//! never change and stay at one address while the model lives, so the
//! address identifies them. A weight that is not a model constant (computed
//! by the graph) is packed on every run, as before.
//!
//! The cache is generic over its key and what it keeps ([`ConstCache`]):
//! the requantization parameters of the int8 operators ([`DerivedKey`]) and
//! the sparse operators' validated matrices (`crates/ops/src/sparse`) live
//! in it too.
//!
//! Memory: one packed copy of each constant weight per kernel the model's
//! sessions used (normally one: every session picks the same best kernel),
//! shared by all sessions of the model.

use crate::error::OpResult;
use pocketnn_tensor::TensorView;
use pocketnn_tensor::kernels::qgemm::{PackedI8B, QGemmKernel};
use std::collections::HashMap;
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

/// Identifies values computed from several constant inputs of one node
/// (the requantization multipliers from its scales, zero points and bias):
/// the addresses and lengths of those inputs, plus `extra` for anything else
/// the values depend on (the output dtype ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct DerivedKey {
    inputs: [(usize, usize); DerivedKey::MAX_INPUTS],
    extra: u64,
}

impl DerivedKey {
    /// Inputs a key can name.
    const MAX_INPUTS: usize = 9;

    /// The key of the values computed from `inputs[i]` for each `i` in
    /// `indices`, or `None` (compute every time) when one of them is
    /// present but not a model constant, or `indices` is too long. An
    /// absent optional input is part of the key as `(0, 0)`.
    pub(crate) fn of(
        inputs: &[Option<TensorView<'_>>],
        indices: &[usize],
        extra: u64,
    ) -> Option<Self> {
        let mut key = DerivedKey {
            inputs: [(0, 0); Self::MAX_INPUTS],
            extra,
        };
        if indices.len() > Self::MAX_INPUTS {
            return None;
        }
        for (slot, &i) in key.inputs.iter_mut().zip(indices) {
            if let Some(Some(view)) = inputs.get(i) {
                if !view.is_constant() {
                    return None;
                }
                *slot = (view.bytes().as_ptr() as usize, view.bytes().len());
            }
        }
        Some(key)
    }
}

/// Values an operator derives from model constants, computed once per key
/// and shared by the model's sessions.
#[derive(Debug)]
pub(crate) struct ConstCache<K, V> {
    values: RwLock<HashMap<K, Arc<V>>>,
}

impl<K, V> Default for ConstCache<K, V> {
    fn default() -> Self {
        ConstCache {
            values: RwLock::new(HashMap::new()),
        }
    }
}

/// The packed weights of one operator.
pub(crate) type PackCache = ConstCache<PackKey, PackedI8B>;

impl<K: Eq + std::hash::Hash, V> ConstCache<K, V> {
    /// The value `key` names, made by `pack` the first time; `pack` runs
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
            .values
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(value) = cached {
            return Ok(value);
        }
        // Two sessions may both make it the first time; either result is
        // the same, and the second insert just replaces the first.
        let value = Arc::new(pack()?);
        self.values
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, Arc::clone(&value));
        Ok(value)
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

    #[test]
    fn a_derived_key_needs_every_present_input_constant() {
        let (a, b) = ([1i8, 2], [3i8]);
        let (sa, sb) = ([2], [1]);
        let ca = TensorView::from_slice(&sa, &a).unwrap().constant();
        let cb = TensorView::from_slice(&sb, &b).unwrap().constant();
        let computed = TensorView::from_slice(&sb, &b).unwrap();
        let key =
            |inputs: &[Option<TensorView<'_>>], extra| DerivedKey::of(inputs, &[0, 1, 2], extra);
        let both = key(&[Some(ca), Some(cb), None], 0).unwrap();
        assert_eq!(key(&[Some(ca), Some(cb), None], 0), Some(both));
        assert_ne!(key(&[Some(ca), Some(cb), None], 1), Some(both));
        assert_ne!(key(&[Some(ca), None, None], 0), Some(both));
        assert_eq!(key(&[Some(ca), Some(computed), None], 0), None);
        assert_eq!(DerivedKey::of(&[Some(ca)], &[0; 10], 0), None);
    }
}
