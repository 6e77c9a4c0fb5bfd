//! The one place operators hand work to rayon.
//!
//! Every parallel loop of the operators goes through [`for_each_part`],
//! which takes its task as a trait object: rayon's machinery is compiled
//! once, not once per operator, element type and closure (which had made
//! it the largest part of the phone library). A task is a whole chunk of
//! work (thousands of elements), so the indirect call costs nothing.

use crate::error::OpResult;
use rayon::prelude::*;
use std::sync::{Mutex, PoisonError};

/// Runs `task(i)` for every `i` in `0..parts` on the current rayon pool;
/// the first error stops the rest.
pub(crate) fn for_each_part(
    parts: usize,
    task: &(dyn Fn(usize) -> OpResult<()> + Sync),
) -> OpResult<()> {
    (0..parts).into_par_iter().try_for_each(task)
}

/// Cuts `out` into chunks of `chunk` elements (the last may be shorter) and
/// runs `task(i, chunk_i)` for each in parallel.
pub(crate) fn for_each_chunk_mut<O: Send>(
    out: &mut [O],
    chunk: usize,
    task: &(dyn Fn(usize, &mut [O]) -> OpResult<()> + Sync),
) -> OpResult<()> {
    // Each task locks only its own chunk, once: the locks never contend.
    let parts: Vec<Mutex<&mut [O]>> = out.chunks_mut(chunk.max(1)).map(Mutex::new).collect();
    for_each_part(parts.len(), &|i| {
        let Some(part) = parts.get(i) else {
            return Ok(());
        };
        let mut part = part.lock().unwrap_or_else(PoisonError::into_inner);
        task(i, &mut part)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::OpError;

    #[test]
    fn every_chunk_is_visited_once_with_its_index() {
        let mut out = vec![0usize; 1000];
        for_each_chunk_mut(&mut out, 64, &|i, part| {
            for (j, v) in part.iter_mut().enumerate() {
                *v += i * 64 + j + 1;
            }
            Ok(())
        })
        .unwrap();
        let want: Vec<usize> = (1..=1000).collect();
        assert_eq!(out, want);
    }

    #[test]
    fn an_error_is_returned() {
        let mut out = vec![0u8; 100];
        let result = for_each_chunk_mut(&mut out, 10, &|i, _| {
            if i == 7 {
                Err(OpError::Unsupported {
                    what: "chunk 7".into(),
                })
            } else {
                Ok(())
            }
        });
        assert!(result.is_err());
    }
}
