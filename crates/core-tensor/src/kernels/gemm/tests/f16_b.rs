//! A half-float `B` (`GemmB::StridedF16`): on every tier this CPU has, the
//! product must equal, bit for bit, the f32 GEMM of the same tier on an f32
//! matrix holding the widened values (same kernel, same blocking, same
//! values), and stay within the usual tolerance of the scalar reference.

use super::super::blocked::{BOperand, Blocking};
use super::super::{
    Epilogue, GemmB, GemmOptions, MatMut, MatRef, dispatch, gemm_f32_reference, gemm_f32_with,
};
use super::{LAYOUTS, Rng, Stored, make_c};
use crate::isa::Isa;
use crate::kernels::gemm::Accumulate;
use crate::kernels::widen::Widener;
use half::f16;

/// `b` rounded to f16 (in its layout), and the f32 matrix of the widened
/// values (same layout), widened with `half` (not the code under test).
fn to_f16(b: &Stored) -> (Vec<f16>, Stored) {
    let halves: Vec<f16> = b.data.iter().map(|&v| f16::from_f32(v * 3.0)).collect();
    let widened = Stored {
        data: halves.iter().map(|h| h.to_f32()).collect(),
        ..b.clone()
    };
    (halves, widened)
}

fn view16<'a>(data: &'a [f16], like: &Stored) -> MatRef<'a, f16> {
    MatRef::new(data, like.rows, like.cols, like.row_stride, like.col_stride)
        .expect("test matrix fits its storage")
}

fn c_view(c: &mut Stored) -> MatMut<'_> {
    MatMut::new(&mut c.data, c.rows, c.cols, c.row_stride).expect("C fits")
}

/// Runs both products through `dispatch` with `blocking` and asserts bit
/// equality, then the tolerance against the reference.
fn check_case(isa: Isa, blocking: Blocking, (m, k, n): (usize, usize, usize), seed: u64) {
    let mut rng = Rng::new(seed);
    let a = Stored::random(&mut rng, m, k, LAYOUTS[(seed % 2) as usize]);
    for (li, layout) in LAYOUTS.into_iter().enumerate() {
        let b = Stored::random(&mut rng, k, n, layout);
        let (halves, widened) = to_f16(&b);
        for acc in [Accumulate::No, Accumulate::Yes] {
            let c = make_c(&mut rng, m, n, li % 2, acc);
            let mut from_f16 = c.clone();
            let widener = Widener::for_isa(isa);
            let b16 = BOperand::StridedF16 {
                b: view16(&halves, &b),
                widener,
            };
            let epilogue = Epilogue::default();
            dispatch(
                isa,
                blocking,
                a.view(),
                b16,
                c_view(&mut from_f16),
                acc,
                &epilogue,
            )
            .expect("tier available");
            let mut from_f32 = c.clone();
            let b32 = BOperand::Strided(widened.view());
            dispatch(
                isa,
                blocking,
                a.view(),
                b32,
                c_view(&mut from_f32),
                acc,
                &epilogue,
            )
            .expect("tier available");
            let what = format!("{isa} m{m} k{k} n{n} {layout:?} {acc:?} {blocking:?}");
            let bits = |s: &Stored| s.data.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&from_f16), bits(&from_f32), "{what}");
            let mut expected = c.clone();
            gemm_f32_reference(a.view(), widened.view(), c_view(&mut expected), acc).unwrap();
            for i in 0..m {
                for j in 0..n {
                    let scale: f32 = (0..k).map(|p| (a.at(i, p) * widened.at(p, j)).abs()).sum();
                    let base = if acc == Accumulate::Yes {
                        c.at(i, j).abs()
                    } else {
                        0.0
                    };
                    let tolerance = (k as f32 + 2.0) * f32::EPSILON * (scale + base) + 1e-30;
                    let (got, want) = (from_f16.at(i, j), expected.at(i, j));
                    assert!(
                        (got - want).abs() <= tolerance,
                        "{what} ({i},{j}): {got} vs {want}"
                    );
                }
            }
        }
    }
}

fn tiers() -> Vec<Isa> {
    Isa::available()
}

#[test]
fn f16_b_equals_f32_b_on_the_widened_values() {
    for isa in tiers() {
        let kernel = super::super::f32_gemm_kernel(isa);
        let (mr, nr) = (kernel.mr, kernel.nr);
        let blocking = super::super::default_blocking(isa);
        let mut seed = 1;
        for m in [1, 2, mr, mr + 1, 2 * mr + 1] {
            for n in [1, 3, nr - 1, nr, nr + 1, 2 * nr + 3] {
                for k in [0, 1, 7, 33, 70] {
                    check_case(isa, blocking, (m, k, n), seed);
                    seed += 1;
                }
            }
        }
    }
}

#[test]
fn f16_b_crossing_blocks_and_the_dot_path() {
    for isa in tiers() {
        let kernel = super::super::f32_gemm_kernel(isa);
        let tiny = Blocking {
            kc: 5,
            mc: kernel.mr * 2,
            nc: kernel.nr * 2,
            a_in_place_max_n: usize::MAX,
            dot_rows: true,
        };
        check_case(isa, tiny, (2 * kernel.mr + 3, 23, 5 * kernel.nr + 1), 77);
        let own = super::super::default_blocking(isa);
        // Batch 1 through the dot-product path: deep rows, so that the
        // widened rows come in several groups (the last one short).
        check_case(isa, own, (1, 5000, 13), 78);
        check_case(isa, own, (1, 20_000, 6), 79);
        check_case(isa, own, (1, 100, 400), 80);
    }
}

#[test]
fn f16_b_through_the_public_entry_point_and_threads() {
    let mut rng = Rng::new(5);
    let (m, k, n) = (64, 300, 120);
    let a = Stored::random(&mut rng, m, k, LAYOUTS[0]);
    let b = Stored::random(&mut rng, n, k, LAYOUTS[0]);
    let (halves, widened) = to_f16(&b);
    for isa in tiers() {
        for threads in [1, 2] {
            let options = GemmOptions {
                threads,
                ..GemmOptions::default()
            };
            let mut from_f16 = vec![f32::NAN; m * n];
            let b16 = GemmB::StridedF16(view16(&halves, &b).t());
            let c = MatMut::row_major(&mut from_f16, m, n).unwrap();
            gemm_f32_with(isa, a.view(), b16, c, &options).unwrap();
            let mut from_f32 = vec![f32::NAN; m * n];
            let b32 = GemmB::Strided(widened.view().t());
            let c = MatMut::row_major(&mut from_f32, m, n).unwrap();
            gemm_f32_with(isa, a.view(), b32, c, &options).unwrap();
            assert_eq!(from_f16, from_f32, "{isa} threads {threads}");
        }
    }
    // Shape errors are reported, not panicked on.
    let b16 = GemmB::StridedF16(view16(&halves, &b));
    let mut c = vec![0.0; m * n];
    let c = MatMut::row_major(&mut c, m, n).unwrap();
    assert!(gemm_f32_with(Isa::Scalar, a.view(), b16, c, &GemmOptions::default()).is_err());
}
