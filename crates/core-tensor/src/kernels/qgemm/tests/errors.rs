//! Every misuse is a typed error, never a panic or an out-of-bounds access.

use super::*;

fn packed(kernel: &QGemmKernel, k: usize, n: usize) -> PackedI8B {
    PackedI8B::pack(kernel, &vec![1i8; k * n], (k, n), (n, 1)).unwrap()
}

#[test]
fn absent_kernels_are_refused_with_their_name() {
    let a = [1u8; 4];
    for kernel in I8_GEMM_KERNELS {
        let b = packed(&kernel, 2, 2);
        let mut c = [0i32; 4];
        let result = gemm_u8i8(
            &kernel,
            U8Matrix::row_major(&a, 2, 2).unwrap(),
            ZeroPoints::PerTensor(0),
            &b,
            &[],
            QOutput::I32 {
                c: &mut c,
                row_stride: 2,
            },
        );
        if kernel.is_available() {
            assert_eq!(result, Ok(()));
            assert_eq!(c, [2; 4]);
        } else {
            assert_eq!(
                result,
                Err(TensorError::KernelUnavailable {
                    kernel: kernel.name
                })
            );
        }
    }
}

#[test]
fn operand_mismatches_are_errors() {
    let scalar = I8_GEMM_KERNELS[0];
    let a = [1u8; 12];
    let a3x4 = U8Matrix::row_major(&a, 3, 4).unwrap();
    let mut c = [0i32; 12];
    let mut run = |b: &PackedI8B, a_zero: ZeroPoints<'_>, b_zero: &[i8], row_stride: usize| {
        gemm_u8i8(
            &scalar,
            a3x4,
            a_zero,
            b,
            b_zero,
            QOutput::I32 {
                c: &mut c,
                row_stride,
            },
        )
    };
    let good = packed(&scalar, 4, 4);
    assert!(run(&good, ZeroPoints::PerTensor(0), &[], 4).is_ok());
    assert!(matches!(
        run(&packed(&scalar, 5, 4), ZeroPoints::PerTensor(0), &[], 4),
        Err(TensorError::MatMulShapeMismatch { .. })
    ));
    assert!(matches!(
        run(&good, ZeroPoints::PerRow(&[1, 2]), &[], 4),
        Err(TensorError::InvalidQuantization { .. })
    ));
    assert!(matches!(
        run(&good, ZeroPoints::PerTensor(0), &[1, 2], 4),
        Err(TensorError::InvalidQuantization { .. })
    ));
    // 3 rows of stride 5 need 14 values; c has 12.
    assert!(run(&good, ZeroPoints::PerTensor(0), &[], 5).is_err());
    // A row stride below n.
    assert!(run(&good, ZeroPoints::PerTensor(0), &[], 3).is_err());
    if let Some(other) = I8_GEMM_KERNELS.iter().find(|k| k.nr != scalar.nr) {
        assert!(matches!(
            run(&packed(other, 4, 4), ZeroPoints::PerTensor(0), &[], 4),
            Err(TensorError::PackedKernelMismatch { .. })
        ));
    }
}

#[test]
fn bad_operands_are_refused_when_built() {
    let scalar = I8_GEMM_KERNELS[0];
    let invented = QGemmKernel { nr: 3, ..scalar };
    assert!(PackedI8B::pack(&invented, &[0; 6], (2, 3), (3, 1)).is_err());
    assert!(U8Matrix::row_major(&[0; 5], 2, 3).is_err());
    assert!(U8Matrix::new(&[0; 100], 2, 3, 2).is_err());
    assert!(U8Matrix::new(&[0; 100], usize::MAX, 3, usize::MAX).is_err());
    assert!(U8Matrix::column_major(&[0; 100], 3, 2, 2).is_err());
    assert!(U8Matrix::column_major(&[0; 11], 3, 4, 3).is_err());
    assert!(U8Matrix::column_major(&[0; 12], 3, 4, 3).is_ok());
    assert!(U8Matrix::column_major(&[0; 1], usize::MAX, 2, usize::MAX).is_err());
    assert!(PackedI8B::pack(&scalar, &[0; 5], (2, 3), (3, 1)).is_err());
    assert!(PackedI8B::pack(&scalar, &[0; 5], (2, 3), (usize::MAX, 1)).is_err());
    assert_eq!(
        PackedI8B::pack(&scalar, &[], (MAX_DEPTH + 1, 0), (0, 1)),
        Err(TensorError::DepthTooLarge {
            k: MAX_DEPTH + 1,
            max: MAX_DEPTH
        })
    );
    assert!(Requantize::new(vec![], vec![], 0, (0, 255)).is_err());
    let one = QuantMultiplier::new(1.0).unwrap();
    assert!(Requantize::new(vec![one], vec![], 0, (9, 8)).is_err());
    assert!(Dequantize::new(vec![f32::NAN], vec![1.0], vec![]).is_err());
}

#[test]
fn empty_products_do_nothing_or_write_the_bias() {
    let scalar = I8_GEMM_KERNELS[0];
    let b = packed(&scalar, 0, 3);
    let mut c = [9.0f32; 6];
    let dequantize = Dequantize::new(vec![1.0], vec![1.0], vec![1.0, 2.0, 3.0]).unwrap();
    gemm_u8i8(
        &scalar,
        U8Matrix::row_major(&[], 2, 0).unwrap(),
        ZeroPoints::PerTensor(0),
        &b,
        &[],
        QOutput::F32 {
            c: &mut c,
            row_stride: 3,
            dequantize: &dequantize,
        },
    )
    .unwrap();
    assert_eq!(c, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
}
