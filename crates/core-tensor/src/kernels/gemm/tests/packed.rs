//! The pre-packed B API: its layout as documented, and products through it.

use super::{LAYOUTS, Rng, Run, Stored, available_runs, compare, make_c, view_mut};
use crate::TensorError;
use crate::isa::Isa;
use crate::kernels::gemm::blocked::{BOperand, Blocking};
use crate::kernels::gemm::{
    Accumulate, PackedB, PackedBLayout, PackedBRef, dispatch, gemm_f32_packed, gemm_f32_reference,
};

#[test]
fn packed_layout_is_the_documented_one_for_every_tier() {
    let mut rng = Rng::new(5);
    for isa in Isa::ALL {
        for layout in LAYOUTS {
            for (k, n) in [(0, 3), (3, 0), (1, 1), (5, 13), (7, 40), (3, 64)] {
                let b = Stored::random(&mut rng, k, n, layout);
                let packed = PackedB::pack(isa, b.view()).unwrap();
                let nr = packed.layout().nr;
                let data = packed.as_slice();
                assert_eq!(data.len(), n.div_ceil(nr) * nr * k);
                assert_eq!(data.as_ptr() as usize % crate::BUFFER_ALIGN, 0);
                for (index, &v) in data.iter().enumerate() {
                    let (panel, within) = (index / (k * nr), index % (k * nr));
                    let (p, c) = (within / nr, within % nr);
                    let col = panel * nr + c;
                    let expected = if col < n { b.at(p, col) } else { 0.0 };
                    assert_eq!(
                        v.to_bits(),
                        expected.to_bits(),
                        "{isa} {layout:?} k={k} n={n}"
                    );
                }
            }
        }
    }
}

fn check_packed(run: Run, rng: &mut Rng, (m, k, n): (usize, usize, usize), acc: Accumulate) {
    let a = Stored::random(rng, m, k, LAYOUTS[(m + n) % LAYOUTS.len()]);
    let b = Stored::random(rng, k, n, LAYOUTS[(k + n) % LAYOUTS.len()]);
    let c = make_c(rng, m, n, 2, acc);
    let packed = PackedB::pack(run.isa, b.view()).unwrap();
    let mut expected = c.clone();
    gemm_f32_reference(a.view(), b.view(), view_mut(&mut expected), acc).unwrap();
    let mut got = c.clone();
    let blocking = run.blocking();
    dispatch(
        run.isa,
        blocking,
        a.view(),
        BOperand::Packed(packed.view()),
        view_mut(&mut got),
        acc,
        &crate::kernels::gemm::Epilogue::default(),
    )
    .unwrap();
    let what = format!("packed B, m={m} k={k} n={n} {acc:?}");
    compare(run, &a, &b, &c, &got, &expected, acc, &what);
}

#[test]
fn products_with_packed_b_match_the_reference() {
    let mut rng = Rng::new(11);
    for run in available_runs() {
        let kernel = run.kernel();
        let (mr, nr) = (kernel.mr, kernel.nr);
        for (m, k, n) in [
            (1, 1, 1),
            (mr + 1, 17, 2 * nr + 1),
            (2 * mr, kernel.kc + 5, nr - 1),
        ] {
            for acc in [Accumulate::No, Accumulate::Yes] {
                check_packed(run, &mut rng, (m, k, n), acc);
            }
        }
        let tiny = Run {
            blocking: Some(Blocking {
                kc: 3,
                mc: mr,
                nc: 2 * nr,
                a_in_place_max_n: 3 * nr,
                dot_rows: true,
            }),
            ..run
        };
        for (m, k, n) in [(2 * mr + 1, 10, 5 * nr + 3), (1, 7, 2 * nr), (mr, 1, 1)] {
            check_packed(tiny, &mut rng, (m, k, n), Accumulate::Yes);
            check_packed(tiny, &mut rng, (m, k, n), Accumulate::No);
        }
    }
}

#[test]
fn packed_b_of_another_width_is_refused() {
    let b = [1.0f32; 6];
    let b = crate::kernels::gemm::MatRef::row_major(&b, 2, 3).unwrap();
    let packed = PackedB::pack(Isa::Avx512, b).unwrap();
    let a = [1.0f32; 4];
    let mut c = [0.0f32; 6];
    let err = gemm_f32_packed(
        Isa::Scalar,
        crate::kernels::gemm::MatRef::row_major(&a, 2, 2).unwrap(),
        packed.view(),
        crate::kernels::gemm::MatMut::row_major(&mut c, 2, 3).unwrap(),
        Accumulate::No,
    )
    .unwrap_err();
    assert_eq!(
        err,
        TensorError::PackedPanelMismatch {
            isa: Isa::Scalar,
            expected: 8,
            actual: 32
        }
    );
}

#[test]
fn packed_views_check_their_length() {
    let layout = PackedBLayout::for_isa(Isa::Scalar, 3, 9);
    assert_eq!(layout.len().unwrap(), 2 * 8 * 3);
    let data = vec![0.0f32; 48];
    assert!(PackedBRef::new(layout, &data).is_ok());
    assert!(PackedBRef::new(layout, &data[..47]).is_err());
    let huge = PackedBLayout {
        k: usize::MAX,
        n: 3,
        nr: 8,
    };
    assert!(huge.len().is_err());
    let zero_width = PackedBLayout { k: 1, n: 1, nr: 0 };
    assert!(zero_width.len().is_err());
}
