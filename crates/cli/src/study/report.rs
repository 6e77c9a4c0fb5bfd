//! The study's Markdown report.

use super::{ModelStudy, Row, StudyArgs};
use crate::demo::group;
use std::fmt::Write;

/// The CPU's name (Linux), or the architecture.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, name)| name.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{cpu}, {cores} cores, {}", std::env::consts::OS)
}

/// Today's date (UTC) as `YYYY-MM-DD`, from the system clock.
fn today() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    format!("{year:04}-{month:02}-{day:02}")
}

/// The proleptic Gregorian date of `days` since 1970-01-01 (the usual
/// era-based conversion: 400-year eras of 146,097 days, years starting in
/// March so that the leap day comes last).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The variant chosen as "best": the smallest file among those within one
/// point of fp32's accuracy and faster than it (`None` when none is).
pub(crate) fn best(rows: &[Row]) -> Option<&Row> {
    let fp32 = rows.first()?;
    rows.iter()
        .skip(1)
        .filter(|r| r.accuracy >= fp32.accuracy - 0.01 && r.latency_ms < fp32.latency_ms)
        .min_by_key(|r| r.bytes)
}

fn model_section(out: &mut String, study: &ModelStudy) {
    let Some(fp32) = study.rows.first() else {
        return;
    };
    let _ = writeln!(
        out,
        "\n## {}\n\nfp32: {} bytes, {} parameters, {} FLOPs per image, {:.3} ms, top-1 {:.3}.\n",
        study.name,
        group(fp32.bytes),
        group(fp32.params as usize),
        group(fp32.flops as usize),
        fp32.latency_ms,
        fp32.accuracy
    );
    out.push_str(
        "| variant | bytes | smaller | parameters | FLOPs | latency (ms) | faster | top-1 | Δ top-1 (points) | agreement |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let best = best(&study.rows).map(|r| r.variant.as_str());
    for r in &study.rows {
        let name = if Some(r.variant.as_str()) == best {
            format!("**{}** (best)", r.variant)
        } else {
            r.variant.clone()
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {:.1}× | {} | {} | {:.3} | {:.2}× | {:.3} | {:+.1} | {:.3} |",
            group(r.bytes),
            fp32.bytes as f64 / r.bytes.max(1) as f64,
            group(r.params as usize),
            group(r.flops as usize),
            r.latency_ms,
            fp32.latency_ms / r.latency_ms.max(1e-9),
            r.accuracy,
            (r.accuracy - fp32.accuracy) * 100.0,
            r.agreement
        );
    }
    let (params, epochs, seconds) = study.student_training;
    let _ = writeln!(
        out,
        "\nThe student is `{}` ({} parameters, {:.1}× fewer than the model), distilled for {epochs} \
         epochs in {seconds:.0} s.",
        study.student,
        group(params),
        fp32.params as f64 / params.max(1) as f64
    );
    match best.and_then(|b| study.rows.iter().find(|r| r.variant == b)) {
        Some(b) => {
            let _ = writeln!(
                out,
                "The best variant (the smallest file within one point of fp32's top-1 and faster \
                 than it) is **{}**: {:.1}× smaller, {:.2}× faster, top-1 {:.3} ({:+.1} points).",
                b.variant,
                fp32.bytes as f64 / b.bytes.max(1) as f64,
                fp32.latency_ms / b.latency_ms.max(1e-9),
                b.accuracy,
                (b.accuracy - fp32.accuracy) * 100.0
            );
        }
        None => {
            out.push_str("No variant is within one point of fp32's top-1 and faster than it.\n")
        }
    }
}

/// The whole report.
pub(crate) fn markdown(
    args: &StudyArgs,
    studies: &[ModelStudy],
    plot_name: &str,
    seconds: f64,
) -> String {
    let mut out = String::new();
    out.push_str(
        "# The compression study\n\n\
         What each compression method costs and buys on pocketnn's two reference models, seed_mlp \
         and seed_cnn (MNIST digits, `../shared/models`): every variant is converted from the \
         same ONNX file by `pocketnn-convert`, run by the pocketnn runtime and measured the same \
         way. This file and the plot are written by `pocketnn study`; do not edit them by hand.\n\n",
    );
    let _ = writeln!(
        out,
        "```console\n$ cargo run --release -p pocketnn-cli -- study --models {} --runs {} \
         --test-images {} --calibration-images {}\n```\n",
        args.models.display(),
        args.runs,
        args.test_images,
        args.calibration_images
    );
    let _ = writeln!(
        out,
        "Machine: {}. pocketnn {}, {}. The whole study took {seconds:.0} s.\n",
        machine(),
        env!("CARGO_PKG_VERSION"),
        today()
    );
    if !plot_name.is_empty() {
        let _ = writeln!(
            out,
            "![Top-1 accuracy against file size and latency]({plot_name})\n"
        );
    }
    out.push_str(
        "How to read the tables:\n\n\
         * **bytes**: the whole `.pnn` file; **smaller** and **faster** are fp32's figure over the \
         variant's.\n\
         * **parameters**: non-zero weights and biases of the `Conv`, `Gemm` and `MatMul` layers \
         (pruning and low-rank change them, quantization and fp16 do not).\n\
         * **FLOPs**: of those layers for one image, a multiply-add counting 2; a layer pruned but \
         kept dense still multiplies its zeros, a layer stored sparse counts its stored values.\n\
         * **latency**: median of the timed runs of one image (batch 1, 1 thread, after 5 \
         untimed runs) on this machine, so figures shift by some percent between runs.\n\
         * **top-1** on the MNIST-5k test images; **agreement**: share of them on which the \
         variant's top-1 is fp32's.\n\
         * **int8** is static (calibrated on the first training images), **int8-dynamic** \
         quantizes activations at run time; **prune N%** is unstructured magnitude pruning with \
         one threshold over all layers (a layer is stored sparse when the cost model predicts it \
         faster, see docs/compression.md); **channel prune** removes whole output channels; \
         **low-rank R** factorizes the layers with weights except the classifier, each where \
         it pays, at R of full rank (docs/low-rank.md); the **student** is distilled from the model (temperature 8, alpha \
         0.9, seed 0, on the 4,000 training images; docs/distill.md). No variant is fine-tuned \
         after pruning or factorization.\n",
    );
    for study in studies {
        model_section(&mut out, study);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::civil_from_days;

    #[test]
    fn days_since_the_epoch_become_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(11_017), (2000, 3, 1));
        assert_eq!(civil_from_days(20_786), (2026, 11, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
