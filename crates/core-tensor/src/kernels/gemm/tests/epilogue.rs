//! The fused epilogue (`act(alpha·v + beta·(bias + residual))`) and the
//! thread split, on every available tier, against the reference GEMM
//! followed by a separately written reference epilogue.

use super::super::blocked::{BOperand, Blocking};
use super::super::parallel::{Job, run};
use super::super::{Epilogue, GemmB, GemmOptions, PackedB, gemm_f32_with};
use super::{LAYOUTS, Layout, Rng, Stored, available_runs, make_c};
use crate::kernels::activation::Activation;
use crate::kernels::gemm::{Accumulate, MatMut, MatRef, f32_gemm_kernel, gemm_f32_reference};

const ACTIVATIONS: [Activation; 11] = [
    Activation::None,
    Activation::Relu,
    Activation::Clip {
        min: -0.25,
        max: 0.5,
    },
    Activation::LeakyRelu { alpha: 0.1 },
    Activation::HardSigmoid {
        alpha: 0.2,
        beta: 0.5,
    },
    Activation::HardSwish,
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Silu,
    Activation::Gelu,
    Activation::GeluTanh,
];

/// How the bias broadcasts.
#[derive(Clone, Copy, Debug)]
enum BiasKind {
    None,
    PerRow,
    PerColumn,
    Scalar,
    Full,
}

const BIASES: [BiasKind; 5] = [
    BiasKind::None,
    BiasKind::PerRow,
    BiasKind::PerColumn,
    BiasKind::Scalar,
    BiasKind::Full,
];

/// A bias of `kind` for an m×n C: its storage and strides.
fn make_bias(rng: &mut Rng, kind: BiasKind, m: usize, n: usize) -> Option<Stored> {
    let stored = |data: Vec<f32>, row_stride, col_stride| Stored {
        data,
        rows: m,
        cols: n,
        row_stride,
        col_stride,
    };
    let values = |rng: &mut Rng, len: usize| (0..len).map(|_| rng.uniform()).collect::<Vec<_>>();
    match kind {
        BiasKind::None => None,
        BiasKind::PerRow => Some(stored(values(rng, m), 1, 0)),
        BiasKind::PerColumn => Some(stored(values(rng, n), 0, 1)),
        BiasKind::Scalar => Some(stored(values(rng, 1), 0, 0)),
        BiasKind::Full => Some(Stored::random(rng, m, n, Layout::PaddedRows)),
    }
}

struct Case<'s> {
    a: &'s Stored,
    b: &'s Stored,
    c: &'s Stored,
    bias: Option<&'s Stored>,
    residual: Option<&'s Stored>,
    alpha: f32,
    beta: f32,
    activation: Activation,
    acc: Accumulate,
}

impl Case<'_> {
    fn epilogue(&self) -> Epilogue<'_> {
        Epilogue {
            alpha: self.alpha,
            beta: self.beta,
            bias: self.bias.map(Stored::view),
            residual: self.residual.map(Stored::view),
            activation: self.activation,
        }
    }

    /// The reference: the scalar GEMM, then the epilogue element by element.
    fn expected(&self) -> Stored {
        let mut product = self.c.clone();
        let c_view = MatMut::new(
            &mut product.data,
            self.c.rows,
            self.c.cols,
            self.c.row_stride,
        )
        .unwrap();
        gemm_f32_reference(self.a.view(), self.b.view(), c_view, self.acc).unwrap();
        for i in 0..self.c.rows {
            for j in 0..self.c.cols {
                let mut addend = 0.0f32;
                if let Some(bias) = self.bias {
                    addend += bias.at(i, j);
                }
                if let Some(res) = self.residual {
                    addend += res.at(i, j);
                }
                let v = self.alpha * product.at(i, j) + self.beta * addend;
                product.set(i, j, self.activation.apply_reference(v));
            }
        }
        product
    }

    fn check(&self, got: &Stored, what: &str) {
        let expected = self.expected();
        let (m, n, k) = (self.c.rows, self.c.cols, self.a.cols);
        for i in 0..m {
            for j in 0..n {
                let (g, e) = (got.at(i, j), expected.at(i, j));
                let mut magnitude: f64 = (0..k)
                    .map(|p| (self.a.at(i, p) as f64 * self.b.at(p, j) as f64).abs())
                    .sum();
                if self.acc == Accumulate::Yes {
                    magnitude += f64::from(self.c.at(i, j)).abs();
                }
                magnitude *= f64::from(self.alpha).abs();
                for extra in [self.bias, self.residual].into_iter().flatten() {
                    magnitude += f64::from(self.beta * extra.at(i, j)).abs();
                }
                // Activations have slopes of at most 1.5 (HardSwish).
                let tolerance = 2.0 * (k as f64 + 4.0) * f64::from(f32::EPSILON) * magnitude
                    + 1e-6 * f64::from(e).abs()
                    + 1e-30;
                let ok = if e.is_nan() {
                    g.is_nan()
                } else {
                    (f64::from(g) - f64::from(e)).abs() <= tolerance
                };
                assert!(ok, "{what}: C[{i}, {j}] = {g:e}, reference {e:e}");
            }
        }
        // C's row padding is untouched.
        for (index, (&g, &before)) in got.data.iter().zip(&self.c.data).enumerate() {
            if index % self.c.row_stride >= n {
                assert_eq!(g.to_bits(), before.to_bits(), "{what}: wrote C's padding");
            }
        }
    }
}

fn run_job(job: Job, b: BOperand<'_>, case: &Case<'_>, threads: usize) -> Stored {
    let mut got = case.c.clone();
    let c = MatMut::new(&mut got.data, case.c.rows, case.c.cols, case.c.row_stride).unwrap();
    run(job, case.a.view(), b, c, &case.epilogue(), threads).unwrap();
    got
}

#[test]
fn every_tier_fuses_bias_residual_and_activation() {
    let mut rng = Rng::new(31);
    for r in available_runs() {
        let kernel = f32_gemm_kernel(r.isa);
        let (mr, nr) = (kernel.mr, kernel.nr);
        let ms = [0, 1, 2, mr - 1, mr, mr + 1, 2 * mr + 1];
        let ns = [0, 1, nr - 1, nr, nr + 1, 2 * nr + 1];
        let mut case_index = 0usize;
        for &m in &ms {
            for &n in &ns {
                for k in [0usize, 1, 7, 33] {
                    case_index += 1;
                    let acc = if case_index.is_multiple_of(3) {
                        Accumulate::Yes
                    } else {
                        Accumulate::No
                    };
                    let a = Stored::random(&mut rng, m, k, LAYOUTS[case_index % 4]);
                    let b = Stored::random(&mut rng, k, n, LAYOUTS[(case_index / 4) % 4]);
                    let c = make_c(&mut rng, m, n, 2, acc);
                    let bias = make_bias(&mut rng, BIASES[case_index % BIASES.len()], m, n);
                    let residual = case_index
                        .is_multiple_of(2)
                        .then(|| Stored::random(&mut rng, m, n, Layout::PaddedRows));
                    let activation = ACTIVATIONS[case_index % ACTIVATIONS.len()];
                    let (alpha, beta) = match case_index % 4 {
                        0 => (1.0, 1.0),
                        1 => (0.5, 1.0),
                        2 => (1.0, -2.0),
                        _ => (-1.5, 0.25),
                    };
                    let case = Case {
                        a: &a,
                        b: &b,
                        c: &c,
                        bias: bias.as_ref(),
                        residual: residual.as_ref(),
                        alpha,
                        beta,
                        activation,
                        acc,
                    };
                    // Tiny blocks: several depth blocks, so the epilogue
                    // must run once, after the last.
                    for blocking in [
                        r.blocking(),
                        Blocking {
                            kc: 3,
                            mc: mr,
                            nc: nr,
                            ..r.blocking()
                        },
                    ] {
                        let job = Job {
                            isa: r.isa,
                            blocking,
                            accumulate: acc,
                            min_parallel_macs: 0,
                        };
                        for threads in [1, 2, 3] {
                            let got = run_job(job, BOperand::Strided(b.view()), &case, threads);
                            let what = format!(
                                "{} m={m} n={n} k={k} {acc:?} {activation:?} alpha={alpha} \
                                 beta={beta} bias={:?} residual={} threads={threads} kc={}",
                                kernel.name,
                                BIASES[case_index % BIASES.len()],
                                residual.is_some(),
                                blocking.kc
                            );
                            case.check(&got, &what);
                        }
                    }
                    let packed = PackedB::pack(r.isa, b.view()).unwrap();
                    let job = Job {
                        isa: r.isa,
                        blocking: r.blocking(),
                        accumulate: acc,
                        min_parallel_macs: 0,
                    };
                    for threads in [1, 2] {
                        let got = run_job(job, BOperand::Packed(packed.view()), &case, threads);
                        let what = format!("{} packed m={m} n={n} k={k} t={threads}", kernel.name);
                        case.check(&got, &what);
                    }
                }
            }
        }
    }
}

/// Splits over rows and over columns (one row in place, several through
/// buffers) at sizes above the real fork threshold, through the public API.
#[test]
fn threads_split_large_products_like_one_thread() {
    let mut rng = Rng::new(7);
    for r in available_runs() {
        for (m, k, n) in [
            (1, 300, 4000),
            (3, 200, 2000),
            (300, 64, 70),
            (40, 128, 1000),
        ] {
            let a = Stored::random(&mut rng, m, k, Layout::RowMajor);
            let b_t = Stored::random(&mut rng, n, k, Layout::RowMajor);
            let b = Stored {
                data: b_t.data.clone(),
                rows: k,
                cols: n,
                row_stride: 1,
                col_stride: k,
            };
            let c = make_c(&mut rng, m, n, 0, Accumulate::No);
            let bias = make_bias(&mut rng, BiasKind::PerColumn, m, n);
            let case = Case {
                a: &a,
                b: &b,
                c: &c,
                bias: bias.as_ref(),
                residual: None,
                alpha: 1.0,
                beta: 1.0,
                activation: Activation::Relu,
                acc: Accumulate::No,
            };
            for threads in [1, 2, 4] {
                let mut got = c.clone();
                let options = GemmOptions {
                    accumulate: Accumulate::No,
                    epilogue: case.epilogue(),
                    threads,
                };
                let c_view = MatMut::row_major(&mut got.data, m, n).unwrap();
                gemm_f32_with(r.isa, a.view(), GemmB::Strided(b.view()), c_view, &options).unwrap();
                case.check(&got, &format!("{:?} m={m} k={k} n={n} t={threads}", r.isa));
            }
        }
    }
}

#[test]
fn epilogue_shapes_are_checked() {
    let (a, b) = ([1.0f32; 6], [1.0f32; 6]);
    let mut c = [0.0f32; 4];
    let bias = [1.0f32; 3];
    let options = GemmOptions {
        epilogue: Epilogue {
            bias: Some(Epilogue::row_bias(&bias, 3, 2).unwrap()),
            ..Epilogue::default()
        },
        ..GemmOptions::default()
    };
    let result = gemm_f32_with(
        crate::Isa::Scalar,
        MatRef::row_major(&a, 2, 3).unwrap(),
        GemmB::Strided(MatRef::row_major(&b, 3, 2).unwrap()),
        MatMut::row_major(&mut c, 2, 2).unwrap(),
        &options,
    );
    assert!(result.is_err(), "a 3×2 bias for a 2×2 C must be refused");
    // A hand-computed case: [1 2; 3 4]·I + row bias [10, -20], ReLU.
    let a = [1.0f32, 2.0, 3.0, 4.0];
    let eye = [1.0f32, 0.0, 0.0, 1.0];
    let bias = [10.0f32, -20.0];
    let options = GemmOptions {
        epilogue: Epilogue {
            bias: Some(Epilogue::row_bias(&bias, 2, 2).unwrap()),
            activation: Activation::Relu,
            ..Epilogue::default()
        },
        ..GemmOptions::default()
    };
    let mut c = [f32::NAN; 4];
    gemm_f32_with(
        crate::Isa::Scalar,
        MatRef::row_major(&a, 2, 2).unwrap(),
        GemmB::Strided(MatRef::row_major(&eye, 2, 2).unwrap()),
        MatMut::row_major(&mut c, 2, 2).unwrap(),
        &options,
    )
    .unwrap();
    assert_eq!(c, [11.0, 12.0, 0.0, 0.0]);
}
