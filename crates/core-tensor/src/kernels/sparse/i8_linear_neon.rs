//! The linear int8 product (`sparse_linear_u8i8`) on aarch64, for the
//! `i8-sparse-neon` and `i8-sparse-dotprod` kernels: one activation row at
//! a time, over the grouped form of [`SparseI8Matrix`](super::SparseI8Matrix).
//!
//! The row is read as 32-bit words of four activations shifted to i8
//! (`x ^ 0x80`, i.e. `x - 128`; columns `4g .. 4g + 4`, the padding past
//! `k` meets zero weights), like the pointwise NEON kernels, so both the
//! plain and the dotprod code multiply i8 by i8; the sums are
//! `Σ W (x - 128)` and the caller adds `128 · Σ W`.
//!
//! * Single-row blocks (CSR, 1×4): NEON has no gather, so eight entries at
//!   a time the activation words of their groups are loaded lane by lane
//!   into two vectors (`vld1q_lane_s32`; LLVM emits `ldr` + `ins`), which
//!   meet the entries' weight words (two contiguous loads). neon: `smull`
//!   / `smull2` give the exact i16 products, `sadalp` adds them in pairs
//!   into i32; dotprod: one `sdot` per four entries. The last
//!   `entries % 8` run in scalar code.
//! * 4×1 blocks: each entry's activation word, repeated four times
//!   (`vld1q_dup_s32`), meets its four weight words (one per row, 16
//!   contiguous bytes). neon: the pair sums of rows 0, 1 land in one accumulator and
//!   those of rows 2, 3 in another, folded by `addp` at the end; dotprod:
//!   one `sdot` puts row `r`'s sum in lane `r`.
//!
//! Exactness: a product of two i8 fits in i16 (at most 128 · 128 = 16384,
//! no saturating instruction anywhere) and the sums are kept in i32 with
//! wrapping additions. `Σ W (x - 128)` itself can reach 2³¹ (depth
//! [`MAX_DEPTH`](crate::kernels::qgemm::MAX_DEPTH), every weight -128,
//! every activation 0), one past `i32::MAX`, but the value the caller
//! finishes with, `Σ W x` or `Σ W (x - zx)`, fits in i32 (at most
//! 128 · 255 · 32768 in magnitude), and wrapping arithmetic yields it
//! exactly whatever the intermediate sums wrapped to.

use super::i8_matrix::Grouped;
use super::i8_neon::sdot;
use crate::features::Feature;
use crate::isa::NeonToken;
use std::arch::aarch64::{
    int8x16_t, int32x4_t, vaddq_s32, vaddvq_s32, vdupq_n_s32, vget_low_s8, vld1q_dup_s32,
    vld1q_lane_s32, vld1q_s32, vmull_high_s8, vmull_s8, vpadalq_s16, vpaddq_s32,
    vreinterpretq_s8_s32, vst1q_s32,
};

/// Entries per step of the single-row blocks.
const STEP: usize = 8;

/// `sums[row] = Σ W[row, c] · (x[c] - 128)` for every row with smull +
/// sadalp, with `x_words` the shifted activation row as words
/// (`x_words[g]` = columns `4g .. 4g + 4`, each byte `x ^ 0x80`), or `None`
/// when the CPU lacks NEON. Panics (before any unchecked load) if a group
/// lies outside `x_words` or the words do not match the entries.
pub(crate) fn linear_row(grouped: &Grouped, x_words: &[i32], sums: &mut [i32]) -> Option<()> {
    let _token = NeonToken::new()?;
    check(grouped, x_words);
    for_each_block_row(
        grouped,
        sums,
        // SAFETY: the token proves NEON; `check` proved that every group is
        // below `x_words.len()` and that `words` holds one word per group.
        |groups, words| unsafe { row_neon(groups, words, x_words) },
        // SAFETY: as above, with four words per group.
        |groups, words| unsafe { rows4_neon(groups, words, x_words) },
    );
    Some(())
}

/// Like [`linear_row`] with `sdot`, or `None` without NEON and dotprod.
pub(crate) fn linear_row_dot(grouped: &Grouped, x_words: &[i32], sums: &mut [i32]) -> Option<()> {
    let _token = NeonToken::new()?;
    if !Feature::DotProd.is_available() {
        return None;
    }
    check(grouped, x_words);
    for_each_block_row(
        grouped,
        sums,
        // SAFETY: the CPU has NEON and dotprod (checked above); the operands
        // as in `linear_row`.
        |groups, words| unsafe { row_dot(groups, words, x_words) },
        // SAFETY: as above, with four words per group.
        |groups, words| unsafe { rows4_dot(groups, words, x_words) },
    );
    Some(())
}

/// Asserts what the unchecked loads rely on: every group inside `x_words`,
/// `rows_per_block` words per entry.
fn check(grouped: &Grouped, x_words: &[i32]) {
    assert!(
        grouped.groups.iter().all(|&g| (g as usize) < x_words.len()),
        "group out of range"
    );
    assert_eq!(
        grouped.words.len(),
        grouped.groups.len() * grouped.rows_per_block,
        "words per entry"
    );
}

/// Runs `row` (single-row blocks) or `rows4` (4×1 blocks) over the entries
/// of each block row and stores the sums of the rows below `sums.len()`.
#[inline(always)]
fn for_each_block_row(
    grouped: &Grouped,
    sums: &mut [i32],
    row: impl Fn(&[u32], &[i32]) -> i32,
    rows4: impl Fn(&[u32], &[i32]) -> [i32; 4],
) {
    let rows_per_block = grouped.rows_per_block;
    for (b, pair) in grouped.block_ptr.windows(2).enumerate() {
        let (start, end) = (pair[0], pair[1]);
        let groups = &grouped.groups[start..end];
        let words = &grouped.words[start * rows_per_block..end * rows_per_block];
        if rows_per_block == 4 {
            for (r, s) in rows4(groups, words).into_iter().enumerate() {
                if let Some(out) = sums.get_mut(b * 4 + r) {
                    *out = s;
                }
            }
        } else if let Some(out) = sums.get_mut(b) {
            *out = row(groups, words);
        }
    }
}

/// The activation words of four groups as one vector (lane `i` = the word
/// of `groups[i]`).
///
/// # Safety
/// The CPU must have NEON; every group must be below `x_words.len()`.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn gather4(groups: &[u32; 4], x_words: &[i32]) -> int8x16_t {
    let word = |i: usize| x_words.as_ptr().wrapping_add(groups[i] as usize);
    let zero = vdupq_n_s32(0);
    // SAFETY: every group is below `x_words.len()` (the caller's contract),
    // so each of the four pointers addresses one word of `x_words`.
    let v = unsafe { vld1q_lane_s32::<0>(word(0), zero) };
    // SAFETY: as above.
    let v = unsafe { vld1q_lane_s32::<1>(word(1), v) };
    // SAFETY: as above.
    let v = unsafe { vld1q_lane_s32::<2>(word(2), v) };
    // SAFETY: as above.
    let v = unsafe { vld1q_lane_s32::<3>(word(3), v) };
    vreinterpretq_s8_s32(v)
}

/// The activation word of `group`, in all four lanes.
///
/// # Safety
/// The CPU must have NEON; `group` must be below `x_words.len()`.
#[target_feature(enable = "neon")]
#[inline]
unsafe fn splat_word(group: u32, x_words: &[i32]) -> int8x16_t {
    let word = x_words.as_ptr().wrapping_add(group as usize);
    // SAFETY: `group` is below `x_words.len()` (the caller's contract), so
    // `word` addresses one word of `x_words`.
    vreinterpretq_s8_s32(unsafe { vld1q_dup_s32(word) })
}

/// Four weight words as one vector.
#[target_feature(enable = "neon")]
#[inline]
fn load_words(words: &[i32; 4]) -> int8x16_t {
    // SAFETY: `words` holds the 16 bytes read.
    vreinterpretq_s8_s32(unsafe { vld1q_s32(words.as_ptr()) })
}

/// `acc += Σ` of the exact products `x[i] · w[i]`, added in pairs: lane
/// `j` of `acc[0]` gets the products of bytes `2j, 2j + 1`, lane `j` of
/// `acc[1]` those of bytes `8 + 2j, 9 + 2j`.
#[target_feature(enable = "neon")]
#[inline]
fn mul_add_pairs(acc: [int32x4_t; 2], x: int8x16_t, w: int8x16_t) -> [int32x4_t; 2] {
    [
        vpadalq_s16(acc[0], vmull_s8(vget_low_s8(x), vget_low_s8(w))),
        vpadalq_s16(acc[1], vmull_high_s8(x, w)),
    ]
}

/// The four i32 lanes of `v`.
#[target_feature(enable = "neon")]
#[inline]
fn lanes_of(v: int32x4_t) -> [i32; 4] {
    let mut lanes = [0i32; 4];
    // SAFETY: `lanes` holds the 4 values written.
    unsafe { vst1q_s32(lanes.as_mut_ptr(), v) };
    lanes
}

/// `Σ_q x[q] · w[q]` over the four shifted activations and four weights
/// of two words.
fn dot4(x: i32, w: i32) -> i32 {
    x.to_le_bytes()
        .iter()
        .zip(w.to_le_bytes())
        .map(|(&xv, wv)| i32::from(xv as i8) * i32::from(wv as i8))
        .fold(0i32, i32::wrapping_add)
}

/// The scalar sum of single-row entries (the `entries % STEP` last ones).
fn tail(groups: &[u32], words: &[i32], x_words: &[i32]) -> i32 {
    groups
        .iter()
        .zip(words)
        .map(|(&g, &w)| dot4(x_words[g as usize], w))
        .fold(0i32, i32::wrapping_add)
}

/// The sum of one single-row block row (CSR, 1×4), smull + sadalp.
///
/// # Safety
/// The CPU must have NEON; every group must be below `x_words.len()` and
/// `words.len() == groups.len()`.
#[target_feature(enable = "neon")]
unsafe fn row_neon(groups: &[u32], words: &[i32], x_words: &[i32]) -> i32 {
    // One accumulator pair per half step, so that consecutive sadalp do
    // not wait on each other.
    let mut acc = [[vdupq_n_s32(0); 2]; 2];
    let (group_steps, group_tail) = groups.as_chunks::<STEP>();
    let (word_steps, word_tail) = words.as_chunks::<STEP>();
    for (g, w) in group_steps.iter().zip(word_steps) {
        let (g_quads, w_quads) = (g.as_chunks::<4>().0, w.as_chunks::<4>().0);
        for ((a, g), w) in acc.iter_mut().zip(g_quads).zip(w_quads) {
            // SAFETY: the groups are below `x_words.len()` (the caller's
            // contract).
            let x = unsafe { gather4(g, x_words) };
            *a = mul_add_pairs(*a, x, load_words(w));
        }
    }
    let total = vaddq_s32(
        vaddq_s32(acc[0][0], acc[0][1]),
        vaddq_s32(acc[1][0], acc[1][1]),
    );
    vaddvq_s32(total).wrapping_add(tail(group_tail, word_tail, x_words))
}

/// The sum of one single-row block row (CSR, 1×4), one `sdot` per four
/// entries.
///
/// # Safety
/// The CPU must have NEON and dotprod; every group must be below
/// `x_words.len()` and `words.len() == groups.len()`.
#[target_feature(enable = "neon,dotprod")]
unsafe fn row_dot(groups: &[u32], words: &[i32], x_words: &[i32]) -> i32 {
    let mut acc = [vdupq_n_s32(0); 2];
    let (group_steps, group_tail) = groups.as_chunks::<STEP>();
    let (word_steps, word_tail) = words.as_chunks::<STEP>();
    for (g, w) in group_steps.iter().zip(word_steps) {
        let (g_quads, w_quads) = (g.as_chunks::<4>().0, w.as_chunks::<4>().0);
        for ((a, g), w) in acc.iter_mut().zip(g_quads).zip(w_quads) {
            // SAFETY: the groups are below `x_words.len()` (the caller's
            // contract).
            let x = unsafe { gather4(g, x_words) };
            *a = sdot(*a, x, load_words(w));
        }
    }
    vaddvq_s32(vaddq_s32(acc[0], acc[1])).wrapping_add(tail(group_tail, word_tail, x_words))
}

/// The four sums of one 4×1 block row, smull + sadalp: rows 0, 1 in the
/// low accumulator of a pair (two pair sums each), rows 2, 3 in the high
/// one, folded by `addp`.
///
/// # Safety
/// The CPU must have NEON; every group must be below `x_words.len()` and
/// `words.len() == groups.len() · 4`.
#[target_feature(enable = "neon")]
unsafe fn rows4_neon(groups: &[u32], words: &[i32], x_words: &[i32]) -> [i32; 4] {
    // Entries taken in pairs, one accumulator pair each.
    let mut acc = [[vdupq_n_s32(0); 2]; 2];
    let (group_pairs, group_last) = groups.as_chunks::<2>();
    let (word_pairs, word_last) = words.as_chunks::<8>();
    for (g, w) in group_pairs.iter().zip(word_pairs) {
        for ((a, &g), w) in acc.iter_mut().zip(g).zip(w.as_chunks::<4>().0) {
            // SAFETY: the group is below `x_words.len()` (the caller's
            // contract).
            let x = unsafe { splat_word(g, x_words) };
            *a = mul_add_pairs(*a, x, load_words(w));
        }
    }
    for (&g, w) in group_last.iter().zip(word_last.as_chunks::<4>().0) {
        // SAFETY: as above.
        let x = unsafe { splat_word(g, x_words) };
        acc[0] = mul_add_pairs(acc[0], x, load_words(w));
    }
    let low = vaddq_s32(acc[0][0], acc[1][0]);
    let high = vaddq_s32(acc[0][1], acc[1][1]);
    lanes_of(vpaddq_s32(low, high))
}

/// The four sums of one 4×1 block row, one `sdot` per entry (row `r` in
/// lane `r`).
///
/// # Safety
/// The CPU must have NEON and dotprod; every group must be below
/// `x_words.len()` and `words.len() == groups.len() · 4`.
#[target_feature(enable = "neon,dotprod")]
unsafe fn rows4_dot(groups: &[u32], words: &[i32], x_words: &[i32]) -> [i32; 4] {
    let mut acc = [vdupq_n_s32(0); 2];
    let (group_pairs, group_last) = groups.as_chunks::<2>();
    let (word_pairs, word_last) = words.as_chunks::<8>();
    for (g, w) in group_pairs.iter().zip(word_pairs) {
        for ((a, &g), w) in acc.iter_mut().zip(g).zip(w.as_chunks::<4>().0) {
            // SAFETY: the group is below `x_words.len()` (the caller's
            // contract).
            let x = unsafe { splat_word(g, x_words) };
            *a = sdot(*a, x, load_words(w));
        }
    }
    for (&g, w) in group_last.iter().zip(word_last.as_chunks::<4>().0) {
        // SAFETY: as above.
        let x = unsafe { splat_word(g, x_words) };
        acc[0] = sdot(acc[0], x, load_words(w));
    }
    lanes_of(vaddq_s32(acc[0], acc[1]))
}
