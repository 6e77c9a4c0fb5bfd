//! The study's plot: top-1 accuracy against file size and against latency,
//! one colour per model, every variant labelled (SVG, drawn with plotters).

use super::{ModelStudy, Row};
use crate::CliResult;
use crate::error::CliError;
use plotters::prelude::*;
use std::ops::Range;
use std::path::Path;

/// Plot size in pixels.
const SIZE: (u32, u32) = (1400, 640);
/// One colour per model, in study order.
const COLOURS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

fn plot_error(e: impl std::fmt::Display) -> CliError {
    CliError::Usage(format!("drawing the plot: {e}"))
}

/// A log-scale range around `values` with a margin on each side.
fn log_range(values: impl Iterator<Item = f64>) -> Range<f64> {
    let (lo, hi) = values.fold((f64::INFINITY, 0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if !(lo.is_finite() && lo > 0.0) {
        return 1.0..10.0;
    }
    lo / 1.6..hi * 1.6
}

/// The bottom of the accuracy axis: 12 points below the lowest fp32
/// accuracy (or lower when every variant is above that), so that the
/// variants that matter are not squeezed by those that failed.
fn accuracy_floor(studies: &[ModelStudy]) -> f64 {
    let rows = || studies.iter().flat_map(|s| &s.rows);
    let baseline = studies
        .iter()
        .filter_map(|s| s.rows.first())
        .map(|r| r.accuracy)
        .fold(1.0f64, f64::min);
    let lowest = rows().map(|r| r.accuracy).fold(1.0f64, f64::min);
    (baseline - 0.12).max(lowest - 0.01).max(0.0)
}

/// Draws one panel: accuracy against `x(row)`.
fn panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, plotters::coord::Shift>,
    studies: &[ModelStudy],
    x_label: &str,
    x: fn(&Row) -> f64,
    format_x: &dyn Fn(&f64) -> String,
) -> Result<(), String> {
    let rows = || studies.iter().flat_map(|s| &s.rows);
    let x_range = log_range(rows().map(x));
    let floor = accuracy_floor(studies);
    let y_range = floor..1.0;
    let mut chart = ChartBuilder::on(area)
        .margin(20)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .caption(
            format!("top-1 accuracy against {x_label}"),
            ("sans-serif", 22),
        )
        .build_cartesian_2d(x_range.log_scale(), y_range)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(format_x)
        .light_line_style(TRANSPARENT)
        .x_desc(x_label)
        .y_desc("top-1 accuracy (MNIST test)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(|e| e.to_string())?;
    for (study, colour) in studies.iter().zip(COLOURS.iter().cycle()) {
        let style = colour.filled();
        chart
            .draw_series(study.rows.iter().map(|r| {
                // Variants far below the baselines sit on the floor, labelled
                // with their accuracy.
                let (y, label) = if r.accuracy < floor {
                    (
                        floor,
                        format!("{} ({:.2}, off scale)", r.variant, r.accuracy),
                    )
                } else {
                    (r.accuracy, r.variant.clone())
                };
                EmptyElement::at((x(r), y))
                    + Circle::new((0, 0), 4, style)
                    + Text::new(label, (6, -12), ("sans-serif", 11).into_font())
            }))
            .map_err(|e| e.to_string())?
            .label(study.name)
            .legend(move |(px, py)| Circle::new((px + 8, py), 5, style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 16))
        .draw()
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Writes the two panels side by side to `path`.
pub(crate) fn write(path: &Path, studies: &[ModelStudy]) -> CliResult {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(plot_error)?;
    let (left, right) = root.split_horizontally(SIZE.0 / 2);
    panel(
        &left,
        studies,
        "file size (log scale)",
        |r| r.bytes as f64,
        &|&b| match b {
            b if b >= 1e6 => format!("{} MB", b / 1e6),
            b => format!("{} kB", b / 1e3),
        },
    )
    .map_err(plot_error)?;
    panel(
        &right,
        studies,
        "latency (batch 1, 1 thread, log scale)",
        |r| r.latency_ms,
        &|&ms| format!("{ms} ms"),
    )
    .map_err(plot_error)?;
    root.present().map_err(plot_error)?;
    Ok(())
}
