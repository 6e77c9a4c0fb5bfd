//! Special values (NaN, ±inf, huge, tiny, subnormal, signed zeros) and
//! hand-computed products.

use super::{Layout, Rng, Stored, available_runs, check, make_c};
use crate::kernels::gemm::{Accumulate, MatMut, MatRef, gemm_f32};

/// Huge and tiny values are chosen so that no finite product or k-sum
/// overflows: where one does, a fused multiply-add legitimately differs from
/// the reference's rounded product (`fma(1e30, 1e30, -inf)` is `-inf`, while
/// `1e30 * 1e30 + -inf` is NaN); see `overflowing_products_saturate`.
const SPECIALS: [f32; 10] = [
    f32::NAN,
    f32::INFINITY,
    f32::NEG_INFINITY,
    1e18,
    -1e18,
    1e-18,
    -1e-18,
    1e-40, // subnormal
    0.0,
    -0.0,
];

/// Replaces about one value in `one_in` with a special value.
fn sprinkle(rng: &mut Rng, m: &mut Stored, one_in: usize) {
    for r in 0..m.rows {
        for c in 0..m.cols {
            if rng.below(one_in) == 0 {
                let v = SPECIALS[rng.below(SPECIALS.len())];
                m.set(r, c, v);
            }
        }
    }
}

#[test]
fn special_values_propagate_like_the_reference() {
    for run in available_runs() {
        let kernel = run.kernel();
        let (mr, nr) = (kernel.mr, kernel.nr);
        let mut rng = Rng::new(99);
        let shapes = [
            (2 * mr + 1, 9, 2 * nr + 1),
            (mr, 33, nr),
            (1, 5, nr + 3),
            (mr - 1, 64, 2 * nr - 1),
        ];
        for (m, k, n) in shapes {
            for (where_, one_in) in [("A and B", 8), ("A only", 4), ("B only", 4), ("sparse", 40)] {
                for acc in [Accumulate::No, Accumulate::Yes] {
                    let mut a = Stored::random(&mut rng, m, k, Layout::RowMajor);
                    let mut b = Stored::random(&mut rng, k, n, Layout::Transposed);
                    if where_ != "B only" {
                        sprinkle(&mut rng, &mut a, one_in);
                    }
                    if where_ != "A only" {
                        sprinkle(&mut rng, &mut b, one_in);
                    }
                    let mut c = make_c(&mut rng, m, n, 1, acc);
                    if acc == Accumulate::Yes {
                        sprinkle(&mut rng, &mut c, 16);
                    }
                    let what = format!("special values in {where_}, m={m} k={k} n={n} {acc:?}");
                    check(run, &a, &b, &c, acc, &what);
                }
            }
        }
    }
}

#[test]
fn hand_computed_product_with_transposed_b() {
    // A = [[1, 2, 3], [4, 5, 6]], W = [[1, 0, -1], [2, 1, 0]], C = A · Wᵀ.
    let a = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let w = [1.0, 0.0, -1.0, 2.0, 1.0, 0.0];
    for run in available_runs() {
        let mut c = [f32::NAN, f32::NAN, 99.0, f32::NAN, f32::NAN];
        let a_view = MatRef::row_major(&a, 2, 3).unwrap();
        let b_view = MatRef::row_major(&w, 2, 3).unwrap().t();
        let c_view = MatMut::new(&mut c, 2, 2, 3).unwrap();
        gemm_f32(run.isa, a_view, b_view, c_view, Accumulate::No).unwrap();
        assert_eq!(c, [-2.0, 4.0, 99.0, -2.0, 13.0], "{}", run.kernel().name);
        let c_view = MatMut::new(&mut c, 2, 2, 3).unwrap();
        gemm_f32(run.isa, a_view, b_view, c_view, Accumulate::Yes).unwrap();
        assert_eq!(c, [-4.0, 8.0, 99.0, -4.0, 26.0], "{}", run.kernel().name);
    }
}

#[test]
fn overflowing_products_saturate() {
    let a = [3e38f32, -3e38, 2.0];
    let b = [10.0f32, 1.0, 1e-45];
    for run in available_runs() {
        let mut c = [0.0f32; 9];
        gemm_f32(
            run.isa,
            MatRef::new(&a, 3, 1, 1, 1).unwrap(),
            MatRef::row_major(&b, 1, 3).unwrap(),
            MatMut::row_major(&mut c, 3, 3).unwrap(),
            Accumulate::No,
        )
        .unwrap();
        let inf = f32::INFINITY;
        let expected = [
            inf,
            3e38,
            3e38 * 1e-45,
            -inf,
            -3e38,
            -3e38 * 1e-45,
            20.0,
            2.0,
            2.0 * 1e-45,
        ];
        assert_eq!(c, expected, "{}", run.kernel().name);
    }
}

#[test]
fn empty_depth_zeroes_or_keeps_c() {
    for run in available_runs() {
        let empty: [f32; 0] = [];
        let a = MatRef::new(&empty, 3, 0, 0, 1).unwrap();
        let b = MatRef::new(&empty, 0, 5, 5, 1).unwrap();
        let mut c = [f32::NAN; 15];
        gemm_f32(
            run.isa,
            a,
            b,
            MatMut::row_major(&mut c, 3, 5).unwrap(),
            Accumulate::No,
        )
        .unwrap();
        assert!(c.iter().all(|&v| v == 0.0), "{}", run.kernel().name);
        let mut c = [7.0; 15];
        gemm_f32(
            run.isa,
            a,
            b,
            MatMut::row_major(&mut c, 3, 5).unwrap(),
            Accumulate::Yes,
        )
        .unwrap();
        assert!(c.iter().all(|&v| v == 7.0), "{}", run.kernel().name);
    }
}

#[test]
fn mismatched_shapes_are_an_error() {
    let data = [0.0f32; 64];
    let mut out = [0.0f32; 64];
    let a = MatRef::row_major(&data, 2, 3).unwrap();
    let b = MatRef::row_major(&data, 4, 2).unwrap();
    let c = MatMut::row_major(&mut out, 2, 2).unwrap();
    let err = gemm_f32(crate::isa::Isa::Scalar, a, b, c, Accumulate::No).unwrap_err();
    assert!(
        matches!(err, crate::TensorError::MatMulShapeMismatch { .. }),
        "{err}"
    );
}
