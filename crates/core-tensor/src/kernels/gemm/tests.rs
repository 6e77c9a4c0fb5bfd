//! Tests of the f32 GEMM: every tier this CPU has against the reference
//! `f32-gemm-scalar`, on exhaustive small shapes around each tile, block
//! crossings, strided and transposed operands, padded C, both accumulate
//! modes and special values; plus the packed-B API and the ISA checks.
//!
//! Set `POCKETNN_REQUIRE_ISAS=avx2,avx512` (tier names) to make the run fail
//! when one of those tiers is missing, so CI proves what it tested.

use super::blocked::{BOperand, Blocking};
use super::{Accumulate, F32_GEMM_KERNELS, GemmKernel, MatMut, MatRef, dispatch};
use super::{f32_gemm_kernel, gemm_f32_reference};
use crate::isa::Isa;

mod epilogue;
mod f16_b;
mod isa_checks;
mod packed;
mod prop;
mod special;
mod sweep;

/// A small deterministic generator (xorshift64*), so failures reproduce.
pub(super) struct Rng(u64);

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(super) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub(super) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `[-1, 1)`.
    pub(super) fn uniform(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 23) as f32 - 1.0
    }
}

/// How an operand is laid out in memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Layout {
    /// Dense row-major.
    RowMajor,
    /// Row-major with 3 unused values after each row.
    PaddedRows,
    /// Column-major with 2 unused values after each column: the transpose
    /// of a row-major matrix, as `MatRef::t` gives it.
    Transposed,
    /// Neither stride is 1 (every other column, padded rows).
    Strided,
}

pub(super) const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::PaddedRows,
    Layout::Transposed,
    Layout::Strided,
];

/// An operand's storage: exactly as long as its view needs, so any read
/// outside the view panics instead of passing unnoticed.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    pub(super) data: Vec<f32>,
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) row_stride: usize,
    pub(super) col_stride: usize,
}

impl Stored {
    /// Random values in [-1, 1).
    pub(super) fn random(rng: &mut Rng, rows: usize, cols: usize, layout: Layout) -> Stored {
        let (row_stride, col_stride) = match layout {
            Layout::RowMajor => (cols, 1),
            Layout::PaddedRows => (cols + 3, 1),
            Layout::Transposed => (1, rows + 2),
            Layout::Strided => (2 * cols + 5, 2),
        };
        let len = if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * row_stride + (cols - 1) * col_stride + 1
        };
        let data = (0..len).map(|_| rng.uniform()).collect();
        Stored {
            data,
            rows,
            cols,
            row_stride,
            col_stride,
        }
    }

    pub(super) fn view(&self) -> MatRef<'_> {
        MatRef::new(
            &self.data,
            self.rows,
            self.cols,
            self.row_stride,
            self.col_stride,
        )
        .expect("test matrix fits its storage")
    }

    pub(super) fn at(&self, r: usize, c: usize) -> f32 {
        self.data[r * self.row_stride + c * self.col_stride]
    }

    pub(super) fn set(&mut self, r: usize, c: usize, v: f32) {
        self.data[r * self.row_stride + c * self.col_stride] = v;
    }
}

/// Marks the values of C's storage outside the m×n view; they must survive.
const GAP_SENTINEL: f32 = -4242.25;

/// A C operand: m×n with `pad` unused values after each row. With
/// `Accumulate::No` its elements start as NaN (which must not leak).
pub(super) fn make_c(rng: &mut Rng, m: usize, n: usize, pad: usize, acc: Accumulate) -> Stored {
    let row_stride = n + pad;
    let len = if m == 0 || n == 0 {
        0
    } else {
        (m - 1) * row_stride + n
    };
    let mut data = vec![GAP_SENTINEL; len];
    for i in 0..m {
        for j in 0..n {
            data[i * row_stride + j] = match acc {
                Accumulate::No => f32::NAN,
                Accumulate::Yes => rng.uniform(),
            };
        }
    }
    Stored {
        data,
        rows: m,
        cols: n,
        row_stride,
        col_stride: 1,
    }
}

fn view_mut(c: &mut Stored) -> MatMut<'_> {
    MatMut::new(&mut c.data, c.rows, c.cols, c.row_stride).expect("test C fits its storage")
}

/// How a run gets its B operand and blocking.
#[derive(Clone, Copy, Debug)]
pub(super) struct Run {
    pub(super) isa: Isa,
    /// `None`: the kernel's own blocking.
    pub(super) blocking: Option<Blocking>,
}

impl Run {
    pub(super) fn kernel(&self) -> GemmKernel {
        f32_gemm_kernel(self.isa)
    }

    pub(super) fn blocking(&self) -> Blocking {
        self.blocking
            .unwrap_or_else(|| super::default_blocking(self.isa))
    }
}

/// Runs `run` on (a, b, c) and compares every element of C with the
/// reference; the gap values of C must be untouched.
pub(super) fn check(run: Run, a: &Stored, b: &Stored, c: &Stored, acc: Accumulate, what: &str) {
    let mut expected = c.clone();
    gemm_f32_reference(a.view(), b.view(), view_mut(&mut expected), acc).expect("shapes agree");
    let mut got = c.clone();
    dispatch(
        run.isa,
        run.blocking(),
        a.view(),
        BOperand::Strided(b.view()),
        view_mut(&mut got),
        acc,
        &crate::kernels::gemm::Epilogue::default(),
    )
    .expect("the tier is available");
    compare(run, a, b, c, &got, &expected, acc, what);
}

/// The element-wise comparison, with a tolerance relative to the magnitude
/// of the k-sum (`Σ |a||b|`, plus `|c|` when accumulating).
#[allow(clippy::too_many_arguments)]
pub(super) fn compare(
    run: Run,
    a: &Stored,
    b: &Stored,
    c_before: &Stored,
    got: &Stored,
    expected: &Stored,
    acc: Accumulate,
    what: &str,
) {
    let k = a.cols;
    let name = run.kernel().name;
    for (index, ((&g, &e), &before)) in got
        .data
        .iter()
        .zip(&expected.data)
        .zip(&c_before.data)
        .enumerate()
    {
        let (i, j) = (index / c_before.row_stride, index % c_before.row_stride);
        if j >= c_before.cols {
            assert_eq!(
                g.to_bits(),
                before.to_bits(),
                "{name} {what}: wrote into C's row padding at ({i}, {j})"
            );
            continue;
        }
        let mut magnitude: f64 = (0..k)
            .map(|p| (a.at(i, p) as f64 * b.at(p, j) as f64).abs())
            .sum();
        if acc == Accumulate::Yes {
            magnitude += (before as f64).abs();
        }
        let ok = if e.is_nan() {
            g.is_nan()
        } else if e.is_infinite() {
            g == e
        } else {
            let tolerance = (k as f64 + 2.0) * (f32::EPSILON as f64 * magnitude + 1e-44);
            (g as f64 - e as f64).abs() <= tolerance
        };
        assert!(
            ok,
            "{name} {what} (blocking {:?}): C[{i}, {j}] = {g:e}, reference {e:e} \
             (k = {k}, Σ|a||b| = {magnitude:e})",
            run.blocking()
        );
    }
}

/// The tiers to test: every tier this CPU has.
pub(super) fn available_runs() -> Vec<Run> {
    Isa::available()
        .into_iter()
        .map(|isa| Run {
            isa,
            blocking: None,
        })
        .collect()
}

#[test]
fn the_kernel_list_is_consistent() {
    for (kernel, isa) in F32_GEMM_KERNELS.iter().zip(Isa::ALL) {
        assert_eq!(kernel.isa, isa);
        assert_eq!(
            kernel.name,
            format!("f32-gemm-{}x{}-{}", kernel.mr, kernel.nr, isa.name())
        );
        assert!(kernel.mc.is_multiple_of(kernel.mr) && kernel.nc.is_multiple_of(kernel.nr));
        assert!(kernel.mr * kernel.nr <= super::blocked::MAX_TILE);
    }
}
