import PocketnnFFI

/// A failed pocketnn call: the stable C status code (`PnnStatus` in
/// pocketnn.h), its name and the library's message.
public struct PocketnnError: Error, CustomStringConvertible {
    /// The `PnnStatus` code, e.g. 3 for `PNN_ERROR_IO`.
    public let status: Int32
    /// The status's name, e.g. `"PNN_ERROR_IO"`.
    public let name: String
    /// What went wrong.
    public let message: String

    public var description: String { "\(name): \(message)" }
}

/// Throws the last error of this thread when `status` is not `PNN_OK`.
func check(_ status: PnnStatus) throws {
    if status == PNN_OK { return }
    let code = Int32(bitPattern: status.rawValue)
    throw PocketnnError(
        status: code,
        name: String(cString: pnn_status_name(code)),
        message: String(cString: pnn_last_error()))
}

/// Element types, with the `PnnDType` codes of pocketnn.h.
public enum DType: Int32 {
    case f32 = 1, u8 = 2, i8 = 3, i32 = 6, i64 = 7, bool = 9, f16 = 10

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f32, .i32: return 4
        case .u8, .i8, .bool: return 1
        case .i64: return 8
        case .f16: return 2
        }
    }
}
