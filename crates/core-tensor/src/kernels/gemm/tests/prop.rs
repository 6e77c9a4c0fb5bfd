//! Random shapes, strides (including zero and overlapping strides, legal for
//! read-only operands) and blockings on every tier this CPU has.

use super::{Rng, Run, Stored, available_runs, check, make_c};
use crate::kernels::gemm::Accumulate;
use crate::kernels::gemm::blocked::Blocking;
use proptest::prelude::*;

fn strided(rng: &mut Rng, rows: usize, cols: usize, strides: (usize, usize)) -> Stored {
    let (row_stride, col_stride) = strides;
    let len = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * row_stride + (cols - 1) * col_stride + 1
    };
    Stored {
        data: (0..len).map(|_| rng.uniform()).collect(),
        rows,
        cols,
        row_stride,
        col_stride,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_shapes_strides_and_blockings_match_the_reference(
        (m, k, n) in (0usize..40, 0usize..40, 0usize..80),
        a_strides in (0usize..90, 0usize..90),
        b_strides in (0usize..90, 0usize..90),
        c_pad in 0usize..5,
        accumulate in any::<bool>(),
        blocking in prop::option::of((1usize..24, 1usize..4, 1usize..4, any::<bool>())),
        seed in any::<u64>(),
    ) {
        let mut rng = Rng::new(seed);
        let acc = if accumulate { Accumulate::Yes } else { Accumulate::No };
        let a = strided(&mut rng, m, k, a_strides);
        let b = strided(&mut rng, k, n, b_strides);
        let c = make_c(&mut rng, m, n, c_pad, acc);
        for run in available_runs() {
            let kernel = run.kernel();
            let run = Run {
                blocking: blocking.map(|(kc, mc_tiles, nc_tiles, a_in_place)| Blocking {
                    kc,
                    mc: mc_tiles * kernel.mr,
                    nc: nc_tiles * kernel.nr,
                    a_in_place_max_n: if a_in_place { usize::MAX } else { 0 },
                    dot_rows: a_in_place,
                }),
                ..run
            };
            let what = format!("proptest m={m} k={k} n={n} A strides {a_strides:?} B strides {b_strides:?} {acc:?}");
            check(run, &a, &b, &c, acc, &what);
        }
    }
}
