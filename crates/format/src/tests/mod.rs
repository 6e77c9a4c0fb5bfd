//! Tests of the reader, the writer and the spec they implement.

mod decode;
mod graph;
mod header;
mod helpers;
mod robustness;
mod roundtrip;
mod tensors;
mod writer;
