import Foundation
import PocketnnFFI

/// A tensor handed to or returned by `Session.run`: element type, shape and
/// row-major bytes.
public struct Tensor {
    /// The element type.
    public let dtype: DType
    /// The dimensions.
    public let shape: [Int64]
    /// The bytes (native byte order).
    public let data: Data

    /// A tensor over raw bytes.
    public init(dtype: DType, shape: [Int64], data: Data) {
        self.dtype = dtype
        self.shape = shape
        self.data = data
    }

    /// A float tensor.
    public init(floats: [Float], shape: [Int64]) {
        self.init(dtype: .f32, shape: shape, data: floats.withUnsafeBytes { Data($0) })
    }

    /// The elements of a float tensor.
    public func floats() throws -> [Float] {
        guard dtype == .f32 else {
            throw PocketnnError(status: 8, name: "PNN_ERROR_WRONG_DTYPE", message: "the tensor is \(dtype), not f32")
        }
        return data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
    }
}

/// Runs a `Model` with its own memory. Use each session from one thread at
/// a time; give each thread its own session of the shared model.
public final class Session {
    private let handle: OpaquePointer
    /// The model, kept for its output names.
    public let model: Model

    /// Creates a session; `threads` is 1 (run on the calling thread) or
    /// more, 0 for every core.
    public init(model: Model, threads: UInt32 = 1) throws {
        var options = pnn_session_options_default()
        options.threads = threads
        var raw: OpaquePointer?
        try check(pnn_session_create(model.handle, &options, &raw))
        self.handle = raw!
        self.model = model
    }

    deinit {
        pnn_session_destroy(handle)
    }

    /// Runs the model on named inputs; returns every output, copied.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        let entries = Array(inputs)
        let names = entries.map { strdup($0.key) }
        defer { names.forEach { free($0) } }
        let shapes = entries.map { $0.value.shape }
        let datas = entries.map { $0.value.data }
        try runInputs(names: names, shapes: shapes, datas: datas, dtypes: entries.map { $0.value.dtype }, index: 0, built: [])
        var outputs: [String: Tensor] = [:]
        for (index, info) in try model.outputs().enumerated() {
            var tensor = PnnTensor()
            try check(pnn_session_output(handle, index, &tensor))
            let shape = (0..<tensor.rank).map { tensor.shape[$0] }
            let data = tensor.byte_len == 0 ? Data() : Data(bytes: tensor.data, count: tensor.byte_len)
            guard let dtype = DType(rawValue: tensor.dtype) else { continue }
            outputs[info.name] = Tensor(dtype: dtype, shape: shape, data: data)
        }
        return outputs
    }

    /// Pins each input's shape and data in turn (Swift closures), then runs.
    private func runInputs(
        names: [UnsafeMutablePointer<CChar>?], shapes: [[Int64]], datas: [Data], dtypes: [DType],
        index: Int, built: [PnnInput]
    ) throws {
        if index == names.count {
            try built.withUnsafeBufferPointer { buffer in
                try check(pnn_session_run(handle, buffer.baseAddress, buffer.count))
            }
            return
        }
        try shapes[index].withUnsafeBufferPointer { shape in
            try datas[index].withUnsafeBytes { bytes in
                var input = PnnInput()
                input.name = UnsafePointer(names[index])
                input.dtype = dtypes[index].rawValue
                input.shape = shape.baseAddress
                input.rank = shape.count
                input.data = bytes.baseAddress
                input.byte_len = bytes.count
                try runInputs(
                    names: names, shapes: shapes, datas: datas, dtypes: dtypes, index: index + 1,
                    built: built + [input])
            }
        }
    }
}
