//! Element types of tensors stored in, and computed by, pocketnn models.

/// The element type of a tensor.
///
/// The numeric codes are the ones ONNX uses (`TensorProto.DataType`), so a
/// newcomer who knows ONNX can read a `.pnn` file in a hex dump. A code that is
/// not listed here is rejected by the reader ([`crate::FormatError::UnknownDType`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum DType {
    /// 32-bit IEEE float.
    F32 = 1,
    /// Unsigned 8-bit integer (also asymmetric quantized activations).
    U8 = 2,
    /// Signed 8-bit integer (also symmetric quantized weights).
    I8 = 3,
    /// Signed 32-bit integer (also quantized biases).
    I32 = 6,
    /// Signed 64-bit integer (shapes, indices).
    I64 = 7,
    /// Boolean, one byte per element, 0 or 1.
    Bool = 9,
    /// 16-bit IEEE float.
    F16 = 10,
}

impl DType {
    /// Every dtype, in code order.
    pub const ALL: [DType; 7] = [
        DType::F32,
        DType::U8,
        DType::I8,
        DType::I32,
        DType::I64,
        DType::Bool,
        DType::F16,
    ];

    /// The dtype with this code, if there is one.
    pub fn from_code(code: u8) -> Option<DType> {
        DType::ALL.into_iter().find(|d| *d as u8 == code)
    }

    /// The stable numeric code written to files.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::U8 | DType::I8 | DType::Bool => 1,
            DType::F16 => 2,
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
        }
    }

    /// The lower-case name used in docs, errors and the CLI (`f32`, `i64`, ...).
    pub fn name(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::U8 => "u8",
            DType::I8 => "i8",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::Bool => "bool",
            DType::F16 => "f16",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        for d in DType::ALL {
            assert_eq!(DType::from_code(d.code()), Some(d));
        }
        assert_eq!(DType::from_code(0), None);
        assert_eq!(DType::from_code(11), None);
    }
}
