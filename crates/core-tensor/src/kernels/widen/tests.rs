//! Every widening kernel this CPU has against `half::f16::to_f32` (an
//! independent implementation) on all 65 536 bit patterns.

use super::*;

fn all_patterns() -> Vec<f16> {
    (0..=u16::MAX).map(f16::from_bits).collect()
}

/// The bits `half` gives, with a NaN made quiet (the hardware converters
/// set the quiet bit; `half` may or may not, depending on its code path).
fn expected_bits(value: f16) -> u32 {
    let wide = value.to_f32();
    if wide.is_nan() {
        wide.to_bits() | 0x0040_0000
    } else {
        wide.to_bits()
    }
}

fn available() -> Vec<WidenKernel> {
    WIDEN_KERNELS
        .iter()
        .copied()
        .filter(WidenKernel::is_available)
        .collect()
}

#[test]
fn scalar_one_value_matches_half_on_every_pattern() {
    for value in all_patterns() {
        assert_eq!(
            widen_one(value).to_bits(),
            expected_bits(value),
            "{:#06x}",
            value.to_bits()
        );
    }
}

#[test]
fn every_kernel_matches_half_on_every_pattern() {
    let src = all_patterns();
    for kernel in available() {
        let mut dst = vec![0.0f32; src.len()];
        kernel.run(&src, &mut dst).unwrap();
        for (s, d) in src.iter().zip(&dst) {
            assert_eq!(
                d.to_bits(),
                expected_bits(*s),
                "{}: {:#06x}",
                kernel.name,
                s.to_bits()
            );
        }
    }
    eprintln!(
        "f16 widening kernels tested: {:?}",
        available().iter().map(|k| k.name).collect::<Vec<_>>()
    );
}

#[test]
fn every_kernel_handles_tails_and_unaligned_starts() {
    let src: Vec<f16> = (0..80u16)
        .map(|i| f16::from_f32(f32::from(i) * 0.75 - 20.0))
        .collect();
    for kernel in available() {
        for start in 0..3 {
            for len in 0..=(src.len() - start) {
                let input = &src[start..start + len];
                // One slot past the end must survive.
                let mut dst = vec![f32::NAN; len + 1];
                kernel.run(input, &mut dst[..len]).unwrap();
                for (i, (s, d)) in input.iter().zip(&dst).enumerate() {
                    assert_eq!(
                        *d,
                        s.to_f32(),
                        "{} start {start} len {len} at {i}",
                        kernel.name
                    );
                }
                assert!(dst[len].is_nan(), "{} wrote past the end", kernel.name);
            }
        }
    }
}

#[test]
fn lengths_must_agree_and_absent_kernels_refuse() {
    let src = [f16::ONE; 3];
    let mut dst = [0.0f32; 2];
    assert!(matches!(
        widen_f16(Isa::Scalar, &src, &mut dst),
        Err(TensorError::LengthMismatch { .. })
    ));
    for kernel in WIDEN_KERNELS {
        let mut dst = [0.0f32; 3];
        let result = kernel.run(&src, &mut dst);
        assert_eq!(result.is_ok(), kernel.is_available(), "{}", kernel.name);
        if !kernel.is_available() {
            assert!(matches!(result, Err(TensorError::IsaUnavailable { .. })));
        }
    }
}

#[test]
fn best_for_picks_the_tier_kernel() {
    assert_eq!(
        WidenKernel::best_for(Isa::Scalar).name,
        "f16-f32-vcvt-scalar"
    );
    assert_eq!(
        WidenKernel::best_for(Isa::Sse41).name,
        "f16-f32-vcvt-scalar"
    );
    for isa in Isa::available() {
        let kernel = WidenKernel::best_for(isa);
        assert!(kernel.is_available(), "{isa}: {}", kernel.name);
        if isa == Isa::Avx512 {
            assert_eq!(kernel.name, "f16-f32-vcvt-avx512");
        }
        if isa == Isa::Neon {
            assert_eq!(kernel.name, "f16-f32-vcvt-neon");
        }
    }
}
