//! `pocketnn bench MODEL.pnn [--threads N] [--iters N] [--warmup N] [--input ...] [--json]`

use crate::CliResult;
use crate::error::CliError;
use crate::inputs::read_inputs;
use pocketnn::{DType, Dim, IoInfo, Model, Session, SessionOptions, Tensor};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// The command's arguments.
pub struct BenchArgs {
    pub model: PathBuf,
    pub threads: usize,
    pub iters: usize,
    pub warmup: usize,
    pub inputs: Vec<String>,
    pub json: bool,
}

/// A deterministic random input for `info`: uniform [0, 1) for floats,
/// zeros for integers and booleans; symbolic dimensions are 1.
fn random_input(info: &IoInfo, seed: u64) -> CliResult<Tensor> {
    let shape: Vec<usize> = match &info.shape {
        Some(dims) => dims
            .iter()
            .map(|d| match d {
                Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                Dim::Symbolic(_) => 1,
            })
            .collect(),
        None => {
            return Err(CliError::Usage(format!(
                "input `{}` has no declared shape: give it with --input {}=FILE.npy",
                info.name, info.name
            )));
        }
    };
    let mut t = Tensor::zeros(info.dtype, &shape).map_err(pocketnn::Error::from)?;
    if info.dtype == DType::F32 {
        let mut state = seed | 1;
        for x in t.as_slice_mut::<f32>().map_err(pocketnn::Error::from)? {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *x = (state >> 40) as f32 / (1u64 << 24) as f32;
        }
    }
    Ok(t)
}

/// Peak resident set size of this process, where the OS reports it.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// The `p`-th percentile (0..=100) of `sorted`, nearest rank; NaN when empty.
pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// Loads, warms up, times `iters` runs and reports.
pub fn run(args: &BenchArgs) -> CliResult {
    if args.iters == 0 {
        return Err(CliError::Usage("--iters must be at least 1".into()));
    }
    let given = read_inputs(&args.inputs)?;
    let start = Instant::now();
    let model = Model::load(&args.model)?;
    let mut session = Session::new(&model, SessionOptions::with_threads(args.threads))?;
    let load_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut inputs = Vec::new();
    for (i, info) in model.inputs().iter().enumerate() {
        let t = match given.iter().find(|(n, _)| *n == info.name) {
            Some((_, t)) => t.clone(),
            None => random_input(info, 0x9E37_79B9 + i as u64)?,
        };
        inputs.push((info.name.clone(), t));
    }
    let views: Vec<(&str, pocketnn::TensorView<'_>)> =
        inputs.iter().map(|(n, t)| (n.as_str(), t.view())).collect();
    for _ in 0..args.warmup {
        session.run_views(&views)?;
    }
    let mut times = Vec::with_capacity(args.iters);
    for _ in 0..args.iters {
        let t = Instant::now();
        session.run_views(&views)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let in_order = times.clone();
    times.sort_by(|a, b| a.total_cmp(b));
    let (min, median, p90) = (times[0], percentile(&times, 50.0), percentile(&times, 90.0));
    let rss = peak_rss_bytes();
    if args.json {
        let v = json!({
            "load_ms": load_ms,
            "min_ms": min,
            "median_ms": median,
            "p90_ms": p90,
            "peak_rss_bytes": rss,
            "threads": session.threads(),
            "iters": args.iters,
            "times_ms": in_order,
            "isa": session.isa().name(),
        });
        println!("{v}");
    } else {
        println!("{}", args.model.display());
        println!("  threads      {} ({})", session.threads(), session.isa());
        println!("  load         {load_ms:.3} ms");
        println!(
            "  latency      min {min:.3} ms, median {median:.3} ms, p90 {p90:.3} ms ({} runs)",
            args.iters
        );
        match rss {
            Some(b) => println!("  peak RSS     {:.1} MiB", b as f64 / (1024.0 * 1024.0)),
            None => println!("  peak RSS     not available on this OS"),
        }
    }
    Ok(())
}
