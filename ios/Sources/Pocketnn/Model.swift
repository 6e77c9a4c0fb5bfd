import Foundation
import PocketnnFFI

/// A model input or output as the model declares it.
public struct TensorInfo {
    /// The name.
    public let name: String
    /// The element type (nil for a code this wrapper does not know).
    public let dtype: DType?
    /// The dimensions, -1 for a symbolic one; nil when undeclared.
    public let shape: [Int64]?
}

/// A loaded `.pnn` model: immutable and safe to share between threads.
/// Create one `Session` per thread to run it. Sessions keep the model's
/// memory alive, so a model may be released before its sessions.
public final class Model: @unchecked Sendable {
    let handle: OpaquePointer

    private init(handle: OpaquePointer) {
        self.handle = handle
    }

    /// Memory-maps and validates the model file at `path` (e.g. a bundle
    /// resource: `Bundle.main.path(forResource: "model", ofType: "pnn")`).
    public convenience init(path: String) throws {
        var raw: OpaquePointer?
        try check(pnn_model_load_file(path, &raw))
        self.init(handle: raw!)
    }

    /// Validates a model held in memory; the bytes are copied.
    public convenience init(data: Data) throws {
        var raw: OpaquePointer?
        try data.withUnsafeBytes { bytes in
            try check(pnn_model_load_buffer(bytes.baseAddress, bytes.count, &raw))
        }
        self.init(handle: raw!)
    }

    deinit {
        pnn_model_destroy(handle)
    }

    /// The library version, e.g. "0.1.0".
    public static var version: String { String(cString: pnn_version()) }

    /// Whether the weights are used straight from a memory-mapped file.
    public var isMemoryMapped: Bool {
        var mapped = false
        _ = pnn_model_is_memory_mapped(handle, &mapped)
        return mapped
    }

    /// The inputs, in order.
    public func inputs() throws -> [TensorInfo] { try describe(outputs: false) }

    /// The outputs, in order.
    public func outputs() throws -> [TensorInfo] { try describe(outputs: true) }

    private func describe(outputs: Bool) throws -> [TensorInfo] {
        var count = 0
        try check(outputs ? pnn_model_output_count(handle, &count) : pnn_model_input_count(handle, &count))
        return try (0..<count).map { index in
            var info = PnnTensorInfo()
            try check(outputs
                ? pnn_model_output_info(handle, index, &info)
                : pnn_model_input_info(handle, index, &info))
            let shape: [Int64]? = info.rank < 0
                ? nil
                : (0..<Int(info.rank)).map { info.shape[$0] }
            return TensorInfo(
                name: String(cString: info.name), dtype: DType(rawValue: info.dtype), shape: shape)
        }
    }
}
