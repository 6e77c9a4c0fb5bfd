//! The tiers a run claims to test must exist; absent tiers are refused.

use crate::TensorError;
use crate::isa::Isa;
use crate::kernels::gemm::{Accumulate, MatMut, MatRef, gemm_f32};

/// The variable naming the tiers this test run must have (comma list).
const REQUIRE_ENV: &str = "POCKETNN_REQUIRE_ISAS";

#[test]
fn required_tiers_are_present() {
    let Ok(list) = std::env::var(REQUIRE_ENV) else {
        eprintln!(
            "{REQUIRE_ENV} not set; tested tiers: {:?}",
            Isa::available()
        );
        return;
    };
    let mut missing = Vec::new();
    for name in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Isa::from_name(name) {
            Some(isa) if isa.is_available() => {}
            Some(_) => missing.push(format!("{name} (absent on this CPU)")),
            None => missing.push(format!("{name} (unknown tier)")),
        }
    }
    assert!(
        missing.is_empty(),
        "{REQUIRE_ENV}={list}: these tiers would not be tested: {missing:?}; \
         this CPU has {:?}",
        Isa::available()
    );
}

#[test]
fn forcing_an_absent_tier_is_refused() {
    for isa in Isa::ALL {
        let forced = Isa::parse_forced(isa.name());
        assert_eq!(forced.is_ok(), isa.is_available(), "{isa}: {forced:?}");
    }
    assert!(Isa::parse_forced("avx1024").is_err());
}

#[test]
fn running_an_absent_tier_is_an_error_not_a_crash() {
    let a = [1.0f32; 4];
    let mut c = [0.0f32; 4];
    for isa in Isa::ALL {
        let result = gemm_f32(
            isa,
            MatRef::row_major(&a, 2, 2).unwrap(),
            MatRef::row_major(&a, 2, 2).unwrap(),
            MatMut::row_major(&mut c, 2, 2).unwrap(),
            Accumulate::No,
        );
        if isa.is_available() {
            assert_eq!(result, Ok(()));
            assert_eq!(c, [2.0; 4]);
        } else {
            assert_eq!(result, Err(TensorError::IsaUnavailable { isa }));
        }
    }
    // The other architecture's tiers are never present.
    #[cfg(target_arch = "x86_64")]
    assert!(!Isa::Neon.is_available());
    #[cfg(target_arch = "aarch64")]
    assert!(!Isa::Avx2.is_available());
}
