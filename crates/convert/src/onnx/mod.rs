//! ONNX's protobuf messages and operator version table, both generated once
//! and committed (see `docs/convert.md` for how to regenerate them).

#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto;

mod op_versions;

pub(crate) use op_versions::{NEWEST_ONNX_OPSET, OP_SINCE_VERSIONS};

/// The `since_version`s of an operator of the default ONNX domain, if ONNX
/// defines it.
pub(crate) fn since_versions(op: &str) -> Option<&'static [u32]> {
    OP_SINCE_VERSIONS
        .binary_search_by(|(name, _)| (*name).cmp(op))
        .ok()
        .and_then(|i| OP_SINCE_VERSIONS.get(i))
        .map(|(_, versions)| *versions)
}

/// The version of `op`'s schema in effect at `opset`: the largest
/// `since_version` that is not above it. `None` when ONNX does not define the
/// op, or only in later opsets.
pub(crate) fn schema_version(op: &str, opset: u32) -> Option<u32> {
    since_versions(op)?
        .iter()
        .copied()
        .filter(|&v| v <= opset)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(OP_SINCE_VERSIONS.windows(2).all(|w| w[0].0 < w[1].0));
        const { assert!(NEWEST_ONNX_OPSET >= 21) };
    }

    #[test]
    fn schema_version_picks_the_last_change_not_after_the_opset() {
        // Values from the ONNX operator changelog.
        assert_eq!(schema_version("Clip", 7), Some(6));
        assert_eq!(schema_version("Clip", 11), Some(11));
        assert_eq!(schema_version("Clip", 21), Some(13));
        assert_eq!(schema_version("Softmax", 12), Some(11));
        assert_eq!(schema_version("Gelu", 19), None);
        assert_eq!(schema_version("Gelu", 20), Some(20));
        assert_eq!(schema_version("NoSuchOp", 21), None);
    }
}
