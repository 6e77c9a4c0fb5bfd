//! The CPU's f32 FMA peak (independent FMA chains, so the loop runs at the
//! FMA units' throughput) next to the AVX-512 and AVX2 GEMM kernels at one
//! shape, single-threaded, measured interleaved and best-of-N so that a
//! busy shared machine disturbs the ratio as little as possible.
//!
//! ```text
//! cargo run --release -p pocketnn-benches --example f32_gemm_peak -- [rounds] [m k n]
//! ```

use pocketnn_tensor::Isa;
use pocketnn_tensor::kernels::gemm::{Accumulate, MatMut, MatRef, f32_gemm_kernel, gemm_f32};
use std::hint::black_box;
use std::time::{Duration, Instant};

#[cfg(target_arch = "x86_64")]
mod fma_peak {
    use std::arch::x86_64::{
        __m256, __m512, _mm256_add_ps, _mm256_fmadd_ps, _mm256_set1_ps, _mm256_storeu_ps,
        _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps,
    };

    /// Independent zmm chains: twice FMA latency (4) × ports (2). (With 24 LLVM
    /// spills some of them to the stack.)
    pub const CHAINS_512: usize = 16;
    /// Independent ymm chains (12 of the 16 registers).
    pub const CHAINS_256: usize = 12;

    /// `iterations · CHAINS_512` AVX-512 FMAs of 16 lanes.
    ///
    /// # Safety
    /// The CPU has AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn avx512(iterations: usize, x: f32, y: f32) -> f32 {
        let (x, y) = (_mm512_set1_ps(x), _mm512_set1_ps(y));
        let mut acc: [__m512; CHAINS_512] = [_mm512_set1_ps(0.0); CHAINS_512];
        for _ in 0..iterations {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        acc.iter().map(|&a| _mm512_reduce_add_ps(a)).sum()
    }

    /// `iterations · CHAINS_256` AVX2 FMAs of 8 lanes.
    ///
    /// # Safety
    /// The CPU has AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn avx2(iterations: usize, x: f32, y: f32) -> f32 {
        let (x, y) = (_mm256_set1_ps(x), _mm256_set1_ps(y));
        let mut acc: [__m256; CHAINS_256] = [_mm256_set1_ps(0.0); CHAINS_256];
        for _ in 0..iterations {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let total = acc
            .iter()
            .fold(_mm256_set1_ps(0.0), |t, &a| _mm256_add_ps(t, a));
        let mut lanes = [0.0f32; 8];
        // SAFETY: `lanes` holds the 8 values the store writes.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), total) };
        lanes.iter().sum()
    }
}

/// A measured thing: its name, flops per call, and the call.
struct Candidate<'a> {
    name: String,
    flops: f64,
    run: Box<dyn FnMut() + 'a>,
    best: Duration,
}

fn filled(len: usize, seed: u32) -> Vec<f32> {
    (0..len)
        .map(|i| {
            ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32 / 16_777_216.0
                - 0.5
        })
        .collect()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("arguments are numbers: [rounds] [m k n]"))
        .collect();
    let rounds = args.first().copied().unwrap_or(15);
    let (m, k, n) = match args.get(1..4) {
        Some(&[m, k, n]) => (m, k, n),
        _ => (1024, 1024, 1024),
    };
    let a = filled(m * k, 1);
    let b = filled(k * n, 2);
    let mut c_512 = vec![0.0f32; m * n];
    let mut c_256 = vec![0.0f32; m * n];
    let mut candidates: Vec<Candidate<'_>> = Vec::new();

    #[cfg(target_arch = "x86_64")]
    {
        const ITERATIONS: usize = 1 << 19;
        if Isa::Avx512.is_available() {
            candidates.push(Candidate {
                name: "fma-peak-avx512".into(),
                flops: (ITERATIONS * fma_peak::CHAINS_512 * 16 * 2) as f64,
                run: Box::new(|| {
                    // SAFETY: the AVX-512 tier (which includes AVX-512F) was detected.
                    black_box(unsafe { fma_peak::avx512(ITERATIONS, black_box(0.999), 0.001) });
                }),
                best: Duration::MAX,
            });
        }
        if Isa::Avx2.is_available() {
            candidates.push(Candidate {
                name: "fma-peak-avx2".into(),
                flops: (ITERATIONS * fma_peak::CHAINS_256 * 8 * 2) as f64,
                run: Box::new(|| {
                    // SAFETY: the AVX2 tier (AVX2 + FMA) was detected.
                    black_box(unsafe { fma_peak::avx2(ITERATIONS, black_box(0.999), 0.001) });
                }),
                best: Duration::MAX,
            });
        }
    }
    let a_view = MatRef::row_major(&a, m, k).expect("fits");
    let b_view = MatRef::row_major(&b, k, n).expect("fits");
    for (isa, c) in [(Isa::Avx512, &mut c_512), (Isa::Avx2, &mut c_256)] {
        if !isa.is_available() {
            continue;
        }
        candidates.push(Candidate {
            name: format!("{} m{m}_k{k}_n{n}", f32_gemm_kernel(isa).name),
            flops: (2 * m * k * n) as f64,
            run: Box::new(move || {
                let c_view = MatMut::row_major(c, m, n).expect("fits");
                gemm_f32(isa, a_view, b_view, c_view, Accumulate::No).expect("available");
                black_box(&c);
            }),
            best: Duration::MAX,
        });
    }
    for _ in 0..rounds {
        for candidate in candidates.iter_mut() {
            let start = Instant::now();
            (candidate.run)();
            candidate.best = candidate.best.min(start.elapsed());
        }
    }
    println!("best of {rounds} interleaved rounds, one thread:");
    let peak = |prefix: &str| {
        candidates
            .iter()
            .find(|c| c.name == prefix)
            .map(|c| c.flops / c.best.as_secs_f64() / 1e9)
    };
    let (peak_512, peak_256) = (peak("fma-peak-avx512"), peak("fma-peak-avx2"));
    for candidate in &candidates {
        let gflops = candidate.flops / candidate.best.as_secs_f64() / 1e9;
        let of_peak = if candidate.name.contains("avx512") {
            peak_512
        } else {
            peak_256
        };
        match of_peak {
            Some(p) if !candidate.name.starts_with("fma-peak") => println!(
                "  {:<40} {gflops:7.1} GFLOP/s  {:5.1}% of its tier's FMA peak",
                candidate.name,
                100.0 * gflops / p
            ),
            _ => println!("  {:<40} {gflops:7.1} GFLOP/s", candidate.name),
        }
    }
}
