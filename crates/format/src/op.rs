//! Operator codes: the stable numbers that name an operator in a `.pnn` graph.
//!
//! The format crate only names operators; their semantics (attributes, inputs,
//! outputs) are specified in `docs/ops.md` and implemented by `pocketnn-ops`.
//! Codes are never reused or renumbered: a new operator gets the next free code
//! and a minor version bump. A reader rejects codes it does not know
//! ([`crate::FormatError::UnknownOp`]).

macro_rules! op_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal,)*) => {
        /// An operator kind. Names are the ONNX operator names where one exists.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum OpCode {
            $($(#[$doc])* $name = $code,)*
        }

        impl OpCode {
            /// Every operator code, in code order.
            pub const ALL: &'static [OpCode] = &[$(OpCode::$name,)*];

            /// The operator with this code, if there is one.
            pub fn from_code(code: u16) -> Option<OpCode> {
                match code {
                    $($code => Some(OpCode::$name),)*
                    _ => None,
                }
            }

            /// The operator's name, e.g. `"Conv"`.
            pub fn name(self) -> &'static str {
                match self {
                    $(OpCode::$name => stringify!($name),)*
                }
            }

            /// The operator with this name, if there is one.
            pub fn from_name(name: &str) -> Option<OpCode> {
                match name {
                    $(stringify!($name) => Some(OpCode::$name),)*
                    _ => None,
                }
            }
        }
    };
}

op_codes! {
    // --- linear algebra and convolution
    /// 2-D (and 1-D/3-D) convolution, ONNX `Conv`.
    Conv = 1,
    /// Transposed convolution, ONNX `ConvTranspose`.
    ConvTranspose = 2,
    /// General matrix multiply with bias, ONNX `Gemm`.
    Gemm = 3,
    /// Batched, broadcasting matrix multiply, ONNX `MatMul`.
    MatMul = 4,

    // --- binary elementwise with broadcasting
    /// `a + b`.
    Add = 10,
    /// `a - b`.
    Sub = 11,
    /// `a * b`.
    Mul = 12,
    /// `a / b`.
    Div = 13,
    /// `a ^ b`.
    Pow = 14,
    /// Elementwise maximum of any number of inputs.
    Max = 15,
    /// Elementwise minimum of any number of inputs.
    Min = 16,
    /// Elementwise sum of any number of inputs.
    Sum = 17,
    /// Elementwise mean of any number of inputs.
    Mean = 18,
    /// Remainder, ONNX `Mod`.
    Mod = 19,
    /// Parametric ReLU with a broadcast slope input.
    PRelu = 20,

    // --- unary elementwise
    /// `sqrt(x)`.
    Sqrt = 30,
    /// `max(x, 0)`.
    Relu = 31,
    /// `x < 0 ? alpha * x : x`.
    LeakyRelu = 32,
    /// Clamp to `[min, max]` given as optional inputs.
    Clip = 33,
    /// Logistic sigmoid.
    Sigmoid = 34,
    /// Hyperbolic tangent.
    Tanh = 35,
    /// `max(0, min(1, alpha * x + beta))`.
    HardSigmoid = 36,
    /// `x * HardSigmoid(x)` with alpha 1/6, beta 0.5.
    HardSwish = 37,
    /// Gauss error function.
    Erf = 38,
    /// Gaussian error linear unit (exact or tanh approximation).
    Gelu = 39,
    /// `ln(1 + exp(x))`.
    Softplus = 40,
    /// `exp(x)`.
    Exp = 41,
    /// Natural logarithm.
    Log = 42,
    /// `-x`.
    Neg = 43,
    /// `|x|`.
    Abs = 44,
    /// `1 / x`.
    Reciprocal = 45,
    /// Round towards minus infinity.
    Floor = 46,
    /// Round towards plus infinity.
    Ceil = 47,
    /// Round half to even.
    Round = 48,
    /// Sign of x (-1, 0, 1).
    Sign = 49,
    /// Sine.
    Sin = 50,
    /// Cosine.
    Cos = 51,
    /// Exponential linear unit.
    Elu = 52,
    /// Scaled exponential linear unit.
    Selu = 53,
    /// `x / (1 + |x|)`.
    Softsign = 54,
    /// `x * sigmoid(x)` (SiLU / Swish).
    Silu = 55,
    /// `x * tanh(softplus(x))`.
    Mish = 56,
    /// Identity: the output is the input.
    Identity = 57,

    // --- comparisons and logic
    /// `a == b`, broadcasting, bool output.
    Equal = 70,
    /// `a < b`.
    Less = 71,
    /// `a > b`.
    Greater = 72,
    /// `a <= b`.
    LessOrEqual = 73,
    /// `a >= b`.
    GreaterOrEqual = 74,
    /// Logical not.
    Not = 75,
    /// Logical and.
    And = 76,
    /// Logical or.
    Or = 77,
    /// Logical xor.
    Xor = 78,
    /// `cond ? a : b`, broadcasting.
    Where = 79,

    // --- pooling and normalisation
    /// Max pooling.
    MaxPool = 90,
    /// Average pooling.
    AveragePool = 91,
    /// Mean over all spatial positions.
    GlobalAveragePool = 92,
    /// Max over all spatial positions.
    GlobalMaxPool = 93,
    /// Inference-mode batch normalization.
    BatchNormalization = 94,
    /// Layer normalization over the trailing axes.
    LayerNormalization = 95,
    /// Instance normalization.
    InstanceNormalization = 96,
    /// Local response normalization across channels.
    LRN = 97,
    /// Softmax along one axis.
    Softmax = 98,
    /// Log of softmax along one axis.
    LogSoftmax = 99,

    // --- reductions
    /// Mean over axes.
    ReduceMean = 110,
    /// Sum over axes.
    ReduceSum = 111,
    /// Maximum over axes.
    ReduceMax = 112,
    /// Minimum over axes.
    ReduceMin = 113,
    /// Product over axes.
    ReduceProd = 114,
    /// Index of the maximum along an axis.
    ArgMax = 115,
    /// Index of the minimum along an axis.
    ArgMin = 116,

    // --- shape and data movement
    /// Join tensors along an axis.
    Concat = 130,
    /// Cut a tensor into parts along an axis.
    Split = 131,
    /// Strided slice.
    Slice = 132,
    /// Gather slices along an axis by indices.
    Gather = 133,
    /// New shape, same data.
    Reshape = 134,
    /// Reshape to 2-D at an axis.
    Flatten = 135,
    /// Permute axes.
    Transpose = 136,
    /// Remove axes of size 1.
    Squeeze = 137,
    /// Insert axes of size 1.
    Unsqueeze = 138,
    /// Broadcast to a shape.
    Expand = 139,
    /// Pad with a constant, reflection or edge values.
    Pad = 140,
    /// Resize (nearest, linear).
    Resize = 141,
    /// Repeat a tensor along each axis.
    Tile = 142,
    /// Gather elements along an axis by an index tensor of the output's shape.
    GatherElements = 143,
    /// Rearrange depth into spatial blocks.
    DepthToSpace = 144,
    /// Rearrange spatial blocks into depth.
    SpaceToDepth = 145,

    // --- tensor creation and metadata
    /// The shape of a tensor as an i64 vector.
    Shape = 160,
    /// The element count of a tensor as an i64 scalar.
    Size = 161,
    /// Convert element type.
    Cast = 162,
    /// A tensor of a given shape filled with one value.
    ConstantOfShape = 163,
    /// `start, start + delta, ...` up to `limit`.
    Range = 164,
    /// Ones on a diagonal.
    EyeLike = 165,

    // --- control flow
    /// Run one of two subgraphs depending on a boolean condition.
    If = 180,

    // --- quantization
    /// `saturate(round(x / scale) + zero_point)` to u8 or i8.
    QuantizeLinear = 200,
    /// `(x - zero_point) · scale` to f32.
    DequantizeLinear = 201,
    /// u8 quantization with scale and zero point computed from the input's range.
    DynamicQuantizeLinear = 202,
    /// `(a - a_zero) · (b - b_zero)` of u8/i8 matrices, i32 result.
    MatMulInteger = 203,
    /// Quantized matrix product with requantized u8/i8 output.
    QLinearMatMul = 204,
    /// Convolution of u8/i8 tensors with zero points, i32 result.
    ConvInteger = 205,
    /// Quantized convolution with i32 bias and requantized u8/i8 output.
    QLinearConv = 206,
    /// f32 × constant int8 weights: rows of A quantized to u8 at run time,
    /// f32 result with bias and fused activation (pocketnn extension).
    DynamicQuantMatMul = 207,

    // --- compressed layers (pocketnn extensions, docs/ops/sparse.md)
    /// f32 fully connected layer with a sparse constant weight matrix
    /// (CSR, 1×4 or 4×1 blocks).
    SparseLinear = 208,
    /// f32 1×1 convolution (NCHW) with a sparse constant weight matrix.
    SparseConv = 209,
    /// u8 × sparse i8 fully connected layer or 1×1 convolution with
    /// `QLinearConv`'s scales, zero points, i32 bias and requantized output.
    SparseQLinearConv = 210,
    /// f32 fully connected layer factorized into two thin products
    /// (`Y = act((X·Vᵀ)·Uᵀ + bias)`), run as one fused kernel.
    LowRankLinear = 211,

    // --- quantization, continued (pocketnn extension, docs/ops/quant.md)
    /// `QLinearConv`'s quantized inputs with an f32 result: dequantized in
    /// the epilogue, plus an f32 bias, a residual and a fused activation.
    QLinearConvF32 = 212,
}

impl OpCode {
    /// The format minor version that introduced this operator: a file
    /// using it is written with at least that minor (`docs/format.md`).
    pub fn since_minor(self) -> u16 {
        if self as u16 >= OpCode::QLinearConvF32 as u16 {
            2
        } else {
            1
        }
    }
}

impl std::fmt::Display for OpCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for &op in OpCode::ALL {
            assert_eq!(OpCode::from_code(op as u16), Some(op));
            assert_eq!(OpCode::from_name(op.name()), Some(op));
        }
        assert_eq!(OpCode::from_code(0), None);
        assert_eq!(OpCode::from_name("NoSuchOp"), None);
    }
}
