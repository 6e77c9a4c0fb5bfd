//! `pocketnn study`: the compression study. For seed_mlp and seed_cnn it
//! builds every variant of [`recipes`] (each quantization, pruning at four
//! sparsities, channel pruning, low-rank at three ranks, a distilled
//! student and the combinations), measures each on the MNIST test set and
//! writes `docs/compression-study.md` with an SVG plot beside it.

mod plot;
mod recipes;
mod report;

use crate::CliResult;
use crate::error::CliError;
use crate::eval::{predict, read_labels};
use crate::latency::{first_samples, median_latency_ms};
use crate::npy::read_npy;
use pocketnn::{Model, Tensor};
use pocketnn_convert::{Calibration, ConvertOptions, Quantization, convert};
use pocketnn_distill::{DistillOptions, Student, StudentSpec, TrainingData};
use recipes::{Recipe, SUBJECTS, Subject, recipes};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The arguments of `pocketnn study`.
#[derive(Debug, clap::Args)]
pub struct StudyArgs {
    /// The directory with seed_mlp.onnx, seed_cnn.onnx and the MNIST-5k
    /// arrays (../shared/models; its README says where they come from).
    #[arg(long, default_value = "../shared/models")]
    pub models: PathBuf,
    /// The Markdown report to write.
    #[arg(long, default_value = "docs/compression-study.md")]
    pub out: PathBuf,
    /// The plot to write (SVG), linked from the report by file name.
    #[arg(long, default_value = "docs/compression-study.svg")]
    pub plot: PathBuf,
    /// Only these models (seed_mlp, seed_cnn; repeatable). Default: both.
    #[arg(long = "only", value_name = "MODEL")]
    pub only: Vec<String>,
    /// Test images used for accuracy and agreement (the first N of 1,000).
    #[arg(long, default_value_t = 1000)]
    pub test_images: usize,
    /// Training images used for static int8 calibration.
    #[arg(long, default_value_t = 200)]
    pub calibration_images: usize,
    /// Timed batch-1 runs per variant (the median is reported).
    #[arg(long, default_value_t = 100)]
    pub runs: usize,
    /// Distillation epochs for every student (default: each model's own,
    /// 100 for the MLP and 20 for the CNN).
    #[arg(long)]
    pub distill_epochs: Option<usize>,
}

/// One measured variant.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    /// The variant's name.
    pub variant: String,
    /// `.pnn` file size.
    pub bytes: usize,
    /// Non-zero weights and biases of the weight layers.
    pub params: u64,
    /// FLOPs per sample of the weight layers.
    pub flops: u64,
    /// Median batch-1 latency, 1 thread.
    pub latency_ms: f64,
    /// Top-1 accuracy on the test images.
    pub accuracy: f64,
    /// Share of test images with the fp32 model's top-1.
    pub agreement: f64,
}

/// Everything measured for one model.
pub(crate) struct ModelStudy {
    /// The model's name.
    pub name: &'static str,
    /// The student spec.
    pub student: &'static str,
    /// The student's parameters and training epochs and seconds.
    pub student_training: (usize, usize, f64),
    /// One row per variant, fp32 first.
    pub rows: Vec<Row>,
}

/// The study's inputs, read once.
struct Data {
    test: Tensor,
    labels: Vec<i64>,
    train: Tensor,
    train_labels: Vec<i64>,
    calibration: Tensor,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads `name` from the models directory: float samples stacked along
/// the first axis, at least two of them; returns them and their count.
fn read_samples(args: &StudyArgs, name: &str) -> CliResult<(Tensor, usize)> {
    let path = args.models.join(name);
    let tensor = read_npy(&path)?;
    match *tensor.shape() {
        [n, _, ..] if n >= 2 && tensor.dtype() == pocketnn::DType::F32 => Ok((tensor, n)),
        ref shape => Err(CliError::Usage(format!(
            "{}: need at least two float32 samples stacked along the first axis, got {} {shape:?}",
            path.display(),
            tensor.dtype()
        ))),
    }
}

fn read_data(args: &StudyArgs) -> CliResult<Data> {
    let path = |name: &str| args.models.join(name);
    let (test, test_count) = read_samples(args, "mnist5k_test_x.npy")?;
    let all_labels = read_labels(&path("mnist5k_test_y.npy"), test_count)?;
    let n = args.test_images.clamp(1, test_count);
    let (train, train_count) = read_samples(args, "mnist5k_train_x.npy")?;
    let train_labels = read_labels(&path("mnist5k_train_y.npy"), train_count)?;
    let calibration = first_samples(&train, args.calibration_images.clamp(1, train_count))?;
    Ok(Data {
        test: first_samples(&test, n)?,
        labels: all_labels[..n].to_vec(),
        train,
        train_labels,
        calibration,
    })
}

/// Runs the study and writes the report and the plot.
pub fn run(args: &StudyArgs) -> CliResult {
    let subjects: Vec<&Subject> = SUBJECTS
        .iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| o == s.name))
        .collect();
    if let Some(unknown) = args
        .only
        .iter()
        .find(|o| !SUBJECTS.iter().any(|s| s.name == o.as_str()))
    {
        return Err(CliError::Usage(format!(
            "--only {unknown}: the study knows seed_mlp and seed_cnn"
        )));
    }
    let data = read_data(args)?;
    let started = Instant::now();
    let mut studies = Vec::new();
    for subject in subjects {
        studies.push(study_model(args, &data, subject)?);
    }
    let plot_name = args
        .plot
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    plot::write(&args.plot, &studies)?;
    let text = report::markdown(args, &studies, &plot_name, started.elapsed().as_secs_f64());
    std::fs::write(&args.out, text).map_err(io_error(&args.out))?;
    eprintln!(
        "wrote {} and {} in {:.0} s",
        args.out.display(),
        args.plot.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Builds and measures every variant of one model.
fn study_model(args: &StudyArgs, data: &Data, subject: &Subject) -> CliResult<ModelStudy> {
    let onnx_path = args.models.join(format!("{}.onnx", subject.name));
    let onnx = std::fs::read(&onnx_path).map_err(io_error(&onnx_path))?;
    let fp32 = Model::from_bytes(&convert(&onnx, &ConvertOptions::default())?.to_pnn_bytes()?)?;
    let reference = predict(&fp32, &data.test, 100, 1)?;
    eprintln!("{}: distilling {} ...", subject.name, subject.student);
    let epochs = args.distill_epochs.unwrap_or(subject.distill_epochs);
    let (student_onnx, student_training) = distill_student(subject, &fp32, data, epochs)?;
    let mut rows = Vec::new();
    for recipe in recipes(subject) {
        let source = if recipe.student { &student_onnx } else { &onnx };
        let row = measure(args, data, &recipe, source, &reference)?;
        eprintln!(
            "{:<9} {:<28} {:>11} B  acc {:.3}  agree {:.3}  {:.3} ms",
            subject.name, row.variant, row.bytes, row.accuracy, row.agreement, row.latency_ms
        );
        rows.push(row);
    }
    Ok(ModelStudy {
        name: subject.name,
        student: subject.student,
        student_training,
        rows,
    })
}

/// Converts `onnx` as `recipe` says and measures the result.
fn measure(
    args: &StudyArgs,
    data: &Data,
    recipe: &Recipe,
    onnx: &[u8],
    reference: &[usize],
) -> CliResult<Row> {
    let mut options = ConvertOptions::default();
    options.quantize = recipe.quantize;
    if recipe.quantize == Some(Quantization::Int8) {
        options.calibration = Some(Calibration::new(data.calibration.clone()));
    }
    options.prune = recipe.prune;
    if let Some((mode, layers)) = &recipe.low_rank {
        options.low_rank = Some(*mode);
        options.low_rank_layers = layers.clone();
    }
    let converted = convert(onnx, &options)?;
    let cost = converted.report.cost_after;
    let pnn = converted.to_pnn_bytes()?;
    let model = Model::from_bytes(&pnn)?;
    let predictions = predict(&model, &data.test, 100, 1)?;
    let share = |hits: usize| hits as f64 / predictions.len().max(1) as f64;
    let right = predictions
        .iter()
        .zip(&data.labels)
        .filter(|&(&p, &l)| p as i64 == l)
        .count();
    let same = predictions
        .iter()
        .zip(reference)
        .filter(|(p, r)| p == r)
        .count();
    Ok(Row {
        variant: recipe.name.clone(),
        bytes: pnn.len(),
        params: cost.params,
        flops: cost.flops,
        latency_ms: median_latency_ms(&model, &data.test, args.runs, 1)?,
        accuracy: share(right),
        agreement: share(same),
    })
}

/// Distils `subject`'s student from `teacher` on the training images (the
/// settings of docs/distill.md, seed 0); returns it as ONNX bytes and its
/// (parameters, epochs, seconds).
fn distill_student(
    subject: &Subject,
    teacher: &Model,
    data: &Data,
    epochs: usize,
) -> CliResult<(Vec<u8>, (usize, usize, f64))> {
    let fail = |e: pocketnn_distill::DistillError| CliError::Usage(e.to_string());
    let spec = StudentSpec::parse(subject.student).map_err(|e| fail(e.into()))?;
    let sample_shape = data.train.shape()[1..].to_vec();
    let samples = data
        .train
        .view()
        .to_f32_vec()
        .map_err(pocketnn::Error::from)?;
    let (logits, classes) =
        pocketnn_distill::teacher_logits(teacher, &samples, &sample_shape, 256).map_err(fail)?;
    let labels = data
        .train_labels
        .iter()
        .map(|&l| usize::try_from(l).unwrap_or(usize::MAX))
        .collect();
    let sample_len = sample_shape.iter().product();
    let training =
        TrainingData::new(samples, sample_len, logits, classes, Some(labels)).map_err(fail)?;
    let student = Student::new(&spec, &sample_shape, 0).map_err(fail)?;
    let mut options = DistillOptions::default();
    options.temperature = 8.0;
    options.alpha = 0.9;
    options.epochs = epochs;
    let started = Instant::now();
    let stop = AtomicBool::new(false);
    let outcome = pocketnn_distill::distill(student, &training, &options, &stop, &mut |_| {})
        .map_err(fail)?;
    let seconds = started.elapsed().as_secs_f64();
    let params = outcome.student.param_count();
    Ok((outcome.student.to_onnx(), (params, epochs, seconds)))
}
