//! Exhaustive small shapes around each kernel's tile, and shapes crossing
//! the cache blocks, for every tier this CPU has.

use super::{LAYOUTS, Layout, Rng, Run, Stored, check, make_c};
use crate::isa::Isa;
use crate::kernels::gemm::Accumulate;
use crate::kernels::gemm::blocked::Blocking;

/// Depths to sweep with every (m, n): none, tails and a few longer runs.
const DEPTHS: [usize; 8] = [0, 1, 2, 3, 4, 7, 16, 33];

/// The tier's run, or `None` (and a note) when this CPU lacks it: the
/// `POCKETNN_REQUIRE_ISAS` test is what turns a missing tier into a failure.
fn run_for(isa: Isa) -> Option<Run> {
    if !isa.is_available() {
        eprintln!("skipped: this CPU lacks the {isa} tier");
        return None;
    }
    Some(Run {
        isa,
        blocking: None,
    })
}

/// A layout for A, one for B, the accumulate mode and C's row padding,
/// rotated with the shape so that the sweep covers every combination.
fn variant(m: usize, n: usize, k: usize) -> (Layout, Layout, Accumulate, usize) {
    let a_layout = LAYOUTS[(m + k) % LAYOUTS.len()];
    let b_layout = LAYOUTS[(n + 2 * k + m / 3) % LAYOUTS.len()];
    let acc = if (m + n + k).is_multiple_of(2) {
        Accumulate::No
    } else {
        Accumulate::Yes
    };
    (a_layout, b_layout, acc, (m * n + k) % 3)
}

fn check_shape(run: Run, rng: &mut Rng, (m, k, n): (usize, usize, usize)) {
    let (a_layout, b_layout, acc, c_pad) = variant(m, n, k);
    let a = Stored::random(rng, m, k, a_layout);
    let b = Stored::random(rng, k, n, b_layout);
    let c = make_c(rng, m, n, c_pad, acc);
    let what = format!("m={m} k={k} n={n} A {a_layout:?} B {b_layout:?} {acc:?} C pad {c_pad}");
    check(run, &a, &b, &c, acc, &what);
}

/// m in 0..=2·MR+1, n in 0..=2·NR+1, a handful of depths; row-major A
/// both packed and read in place.
fn exhaustive_small_shapes(run: Run) {
    let kernel = run.kernel();
    let mut rng = Rng::new(kernel.mr as u64 * 1000 + kernel.nr as u64);
    for (a_in_place_max_n, dot_rows) in [(0, false), (usize::MAX, true)] {
        let run = Run {
            blocking: Some(Blocking {
                a_in_place_max_n,
                dot_rows,
                ..run.blocking()
            }),
            ..run
        };
        for m in 0..=2 * kernel.mr + 1 {
            for n in 0..=2 * kernel.nr + 1 {
                for k in DEPTHS {
                    check_shape(run, &mut rng, (m, k, n));
                }
            }
        }
    }
}

/// Tiny blockings make small shapes cross many KC, MC and NC blocks; then
/// one shape crosses each of the kernel's real blocks.
fn block_crossings(run: Run) {
    let kernel = run.kernel();
    let (mr, nr) = (kernel.mr, kernel.nr);
    let mut rng = Rng::new(7);
    let tiny = |kc, mc, nc, a_in_place_max_n| Blocking {
        kc,
        mc,
        nc,
        a_in_place_max_n,
        dot_rows: false,
    };
    let tiny_blockings = [
        tiny(1, mr, nr, 0),
        tiny(4, mr, nr, usize::MAX),
        tiny(5, 2 * mr, 3 * nr, 0),
        tiny(5, 2 * mr, 3 * nr, usize::MAX),
    ];
    for blocking in tiny_blockings {
        let tiny = Run {
            blocking: Some(blocking),
            ..run
        };
        for m in [1, mr + 1, 3 * mr + 2] {
            for n in [1, nr - 1, 2 * nr + 3, 4 * nr] {
                for k in [1, 9, 14] {
                    check_shape(tiny, &mut rng, (m, k, n));
                }
            }
        }
    }
    let real_blocks = [
        (kernel.mc + mr + 1, kernel.kc + 3, 2 * nr + 3),
        (mr + 1, 2 * kernel.kc + 1, nr + 1),
        (3, 9, kernel.nc + nr + 1),
    ];
    for shape in real_blocks {
        check_shape(run, &mut rng, shape);
    }
}

/// One row of A times a column-major B (a Linear layer at batch 1), which
/// runs as dot products: every depth up to 70 (tails of every vector width,
/// several full chunks) and every n up to 9 (groups of four rows and the
/// rows left over), plus strided and row-major operands that must not take
/// that path.
fn vector_times_transposed(run: Run) {
    let mut rng = Rng::new(3);
    for k in 0..=70usize {
        for n in 0..=9 {
            for (a_layout, b_layout) in [
                (Layout::RowMajor, Layout::Transposed),
                (Layout::PaddedRows, Layout::Transposed),
                (Layout::Strided, Layout::Transposed),
                (Layout::RowMajor, Layout::Strided),
            ] {
                let acc = if (k + n).is_multiple_of(2) {
                    Accumulate::No
                } else {
                    Accumulate::Yes
                };
                let a = Stored::random(&mut rng, 1, k, a_layout);
                let b = Stored::random(&mut rng, k, n, b_layout);
                let c = make_c(&mut rng, 1, n, 0, acc);
                let what = format!("m=1 k={k} n={n} A {a_layout:?} B {b_layout:?} {acc:?}");
                check(run, &a, &b, &c, acc, &what);
            }
        }
    }
}

macro_rules! kernel_tests {
    ($($isa:expr => $small:ident, $blocks:ident, $vector:ident;)*) => {$(
        #[test]
        fn $small() {
            if let Some(run) = run_for($isa) {
                exhaustive_small_shapes(run);
            }
        }

        #[test]
        fn $vector() {
            if let Some(run) = run_for($isa) {
                vector_times_transposed(run);
            }
        }

        #[test]
        fn $blocks() {
            if let Some(run) = run_for($isa) {
                block_crossings(run);
            }
        }
    )*};
}

kernel_tests! {
    Isa::Scalar => f32_gemm_4x8_scalar_small_shapes, f32_gemm_4x8_scalar_block_crossings,
        f32_gemv_t_scalar_shapes;
    Isa::Sse41 => f32_gemm_6x8_sse41_small_shapes, f32_gemm_6x8_sse41_block_crossings,
        f32_gemv_t_sse41_shapes;
    Isa::Avx2 => f32_gemm_6x16_avx2_small_shapes, f32_gemm_6x16_avx2_block_crossings,
        f32_gemv_t_avx2_shapes;
    Isa::Avx512 => f32_gemm_14x32_avx512_small_shapes, f32_gemm_14x32_avx512_block_crossings,
        f32_gemv_t_avx512_shapes;
    Isa::Neon => f32_gemm_8x12_neon_small_shapes, f32_gemm_8x12_neon_block_crossings,
        f32_gemv_t_neon_shapes;
}

#[test]
fn test_names_match_the_kernel_names() {
    // The kernel_tests! names above must follow the kernels' names.
    let names = [
        "f32_gemm_4x8_scalar",
        "f32_gemm_6x8_sse41",
        "f32_gemm_6x16_avx2",
        "f32_gemm_14x32_avx512",
        "f32_gemm_8x12_neon",
    ];
    for (kernel, name) in crate::kernels::gemm::F32_GEMM_KERNELS.iter().zip(names) {
        assert_eq!(kernel.name.replace('-', "_"), name);
    }
}
