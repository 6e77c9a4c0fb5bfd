//! `pocketnn distill TEACHER --student SPEC --data X.npy [--labels Y.npy]
//! ... -o STUDENT.(onnx|pnn)`: train a small student to imitate a teacher
//! (`docs/distill.md`).

use crate::CliResult;
use crate::error::CliError;
use crate::npy::read_npy;
use indicatif::{ProgressBar, ProgressStyle};
use pocketnn::DType;
use pocketnn_distill::{
    DistillError, DistillOptions, Progress, Student, StudentSpec, TrainingData, predict,
};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// The arguments of `pocketnn distill`.
#[derive(clap::Args, Debug)]
pub struct DistillArgs {
    /// The teacher model (.onnx converted in memory, or .pnn).
    pub teacher: PathBuf,
    /// The student, e.g. mlp:784-32-10 or cnn:c16k3-p2-c32k3-p2-f64-f10.
    #[arg(long)]
    pub student: String,
    /// Training samples stacked along the first axis (float32 .npy).
    #[arg(long)]
    pub data: PathBuf,
    /// One integer class per training sample (.npy); without it the
    /// student learns from the teacher alone.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Softening temperature.
    #[arg(long, default_value_t = 4.0)]
    pub temperature: f32,
    /// Weight of the teacher term (the rest goes to the labels).
    #[arg(long, default_value_t = 0.7)]
    pub alpha: f32,
    /// Passes over the training split.
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Samples per mini-batch.
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    /// Seed of the initialisation, the split and the shuffles.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f32,
    /// Fraction of the data held out to pick the best student.
    #[arg(long, default_value_t = 0.1)]
    pub validation: f32,
    /// Test samples to report the student's (and teacher's) accuracy on.
    #[arg(long, requires = "eval_labels")]
    pub eval_data: Option<PathBuf>,
    /// Labels of --eval-data.
    #[arg(long, requires = "eval_data")]
    pub eval_labels: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Where to write the student (.onnx, or .pnn).
    #[arg(short, long)]
    pub output: PathBuf,
}

fn distill_error(e: DistillError) -> CliError {
    CliError::Usage(e.to_string())
}

/// Float samples: the values and the shape of one sample.
fn read_samples(path: &Path) -> CliResult<(Vec<f32>, Vec<usize>)> {
    let tensor = read_npy(path)?;
    if tensor.dtype() != DType::F32 || tensor.shape().len() < 2 {
        return Err(CliError::Usage(format!(
            "{}: need float32 samples stacked along the first axis, got {} {:?}",
            path.display(),
            tensor.dtype(),
            tensor.shape()
        )));
    }
    let values = tensor.view().to_f32_vec().map_err(pocketnn::Error::from)?;
    Ok((values, tensor.shape()[1..].to_vec()))
}

/// Integer class labels.
fn read_labels(path: &Path) -> CliResult<Vec<usize>> {
    let tensor = read_npy(path)?;
    let wide: Vec<i64> = match tensor.dtype() {
        DType::I64 => tensor.view().as_slice::<i64>().map(<[i64]>::to_vec),
        DType::I32 => tensor
            .view()
            .as_slice::<i32>()
            .map(|s| s.iter().map(|&v| i64::from(v)).collect()),
        other => {
            return Err(CliError::Usage(format!(
                "{}: labels must be int64 or int32, got {other}",
                path.display()
            )));
        }
    }
    .map_err(pocketnn::Error::from)?;
    wide.iter()
        .map(|&v| usize::try_from(v))
        .collect::<Result<_, _>>()
        .map_err(|_| CliError::Usage(format!("{}: a label is negative", path.display())))
}

fn accuracy(predictions: &[usize], labels: &[usize]) -> f64 {
    let right = predictions
        .iter()
        .zip(labels)
        .filter(|(p, l)| p == l)
        .count();
    right as f64 / labels.len().max(1) as f64
}

/// Runs `pocketnn distill`.
pub fn run(args: &DistillArgs) -> CliResult {
    if args.threads > 0 {
        // Only fails if a global pool exists already; then it is used as is.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build_global();
    }
    let spec = StudentSpec::parse(&args.student).map_err(|e| distill_error(e.into()))?;
    let started = Instant::now();
    let teacher = pocketnn_distill::load_teacher(&args.teacher).map_err(distill_error)?;
    let (samples, sample_shape) = read_samples(&args.data)?;
    let labels = args.labels.as_deref().map(read_labels).transpose()?;
    let (logits, classes) =
        pocketnn_distill::teacher_logits(&teacher, &samples, &sample_shape, 256)
            .map_err(distill_error)?;
    let sample_len = sample_shape.iter().product();
    let data =
        TrainingData::new(samples, sample_len, logits, classes, labels).map_err(distill_error)?;
    eprintln!(
        "teacher logits for {} samples in {:.1} s",
        data.len(),
        started.elapsed().as_secs_f64()
    );
    let student = Student::new(&spec, &sample_shape, args.seed).map_err(distill_error)?;
    let mut options = DistillOptions::default();
    options.temperature = args.temperature;
    options.alpha = args.alpha;
    options.epochs = args.epochs;
    options.batch = args.batch;
    options.seed = args.seed;
    options.learning_rate = args.lr;
    options.validation_fraction = args.validation;

    let stop = Arc::new(AtomicBool::new(false));
    let handler_stop = Arc::clone(&stop);
    ctrlc::set_handler(move || {
        if handler_stop.swap(true, Ordering::SeqCst) {
            // A second Ctrl-C: give up at once (the output is untouched).
            std::process::exit(130);
        }
        eprintln!("\nstopping after this batch; the best student so far will be written");
    })
    .map_err(|e| CliError::Usage(format!("cannot handle Ctrl-C: {e}")))?;

    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    // The bar draws only on a terminal; the epoch lines are printed either way.
    let say = |line: String| {
        if bar.is_hidden() {
            eprintln!("{line}");
        } else {
            bar.println(line);
        }
    };
    let training = Instant::now();
    let outcome =
        pocketnn_distill::distill(student, &data, &options, &stop, &mut |event| match event {
            Progress::Batch {
                epoch,
                done,
                total,
                loss,
            } => {
                if done == 1 {
                    bar.set_length(total as u64);
                    bar.set_prefix(format!("epoch {epoch}/{}", options.epochs));
                }
                bar.set_position(done as u64);
                bar.set_message(format!("loss {loss:.4}"));
            }
            Progress::Epoch(r) => say(format!(
                "epoch {:>3}: loss {:.4}  train acc {:.4}  val acc {:.4}  agreement {:.4}{}{}",
                r.epoch,
                r.train_loss,
                r.train_accuracy,
                r.validation_accuracy,
                r.validation_agreement,
                if r.best { "  (best)" } else { "" },
                if r.interrupted { "  (interrupted)" } else { "" },
            )),
            _ => {}
        })
        .map_err(distill_error)?;
    bar.finish_and_clear();
    let train_seconds = training.elapsed().as_secs_f64();
    outcome.student.save(&args.output).map_err(distill_error)?;

    let teacher_params = pocketnn_distill::teacher_parameters(&teacher);
    let student_params = outcome.student.param_count();
    println!("student      {} -> {}", args.student, args.output.display());
    println!(
        "parameters   {student_params} (teacher {teacher_params}, {:.1}x fewer)",
        teacher_params as f64 / student_params.max(1) as f64
    );
    println!(
        "training     {} epochs in {train_seconds:.1} s, {} train / {} validation samples{}",
        outcome.epochs.len(),
        outcome.split.0,
        outcome.split.1,
        if outcome.interrupted {
            " (interrupted)"
        } else {
            ""
        }
    );
    let what = if args.labels.is_some() {
        "accuracy"
    } else {
        "agreement with the teacher"
    };
    println!(
        "best         epoch {}: validation {what} {:.4}, agreement {:.4}",
        outcome.best_epoch, outcome.best_validation_accuracy, outcome.best_validation_agreement
    );
    if let (Some(x), Some(y)) = (&args.eval_data, &args.eval_labels) {
        let (test_samples, test_shape) = read_samples(x)?;
        let test_labels = read_labels(y)?;
        if test_shape != sample_shape
            || test_labels.len().checked_mul(sample_len) != Some(test_samples.len())
        {
            return Err(CliError::Usage(format!(
                "{}: samples of shape {test_shape:?} with {} labels do not match the training data {sample_shape:?}",
                x.display(),
                test_labels.len()
            )));
        }
        let student_top = predict(&outcome.student, &test_samples).map_err(distill_error)?;
        let (teacher_logits, _) =
            pocketnn_distill::teacher_logits(&teacher, &test_samples, &sample_shape, 256)
                .map_err(distill_error)?;
        let teacher_top: Vec<usize> = teacher_logits
            .chunks(classes)
            .map(pocketnn_distill::argmax)
            .collect();
        println!(
            "test         student accuracy {:.4}, teacher {:.4}, agreement {:.4} ({} samples)",
            accuracy(&student_top, &test_labels),
            accuracy(&teacher_top, &test_labels),
            accuracy(&student_top, &teacher_top),
            test_labels.len()
        );
    }
    Ok(())
}
