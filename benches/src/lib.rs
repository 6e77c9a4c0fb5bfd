//! Shared helpers for the benchmarks.

pub mod baseline;
pub mod sparse_data;
