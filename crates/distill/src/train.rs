//! The training loop: shuffled mini-batches, the distillation loss, Adam,
//! a held-out validation split and the best student kept.
//!
//! Determinism: every random choice draws from [`Rng`] streams derived from
//! the seed, and a batch's gradient is summed in fixed groups of
//! [`GRADIENT_GROUP`] samples (each group in sample order, the groups in
//! group order), so the result is bit-identical whatever the number of
//! rayon threads.

use crate::error::DistillError;
use crate::loss::{LossWeights, distill_loss};
use crate::network::Student;
use crate::rng::Rng;
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Samples whose gradients one rayon task sums before the groups are added
/// in order. Fixed, so the summation order never depends on the threads.
pub const GRADIENT_GROUP: usize = 8;

/// How to train.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DistillOptions {
    /// Softening temperature T of the teacher and student outputs (default 4).
    pub temperature: f32,
    /// Weight of the soft (teacher) term, in `[0, 1]`; `1 − alpha` goes to
    /// the hard labels (default 0.7; without labels it is always 1).
    pub alpha: f32,
    /// Passes over the training split (default 10).
    pub epochs: usize,
    /// Samples per mini-batch (default 64).
    pub batch: usize,
    /// Seed of the initialisation, the split and the shuffles (default 0).
    pub seed: u64,
    /// Adam's step size (default 1e-3).
    pub learning_rate: f32,
    /// Fraction of the data held out for validation, in `(0, 1)` (default 0.1).
    pub validation_fraction: f32,
}

impl Default for DistillOptions {
    fn default() -> Self {
        DistillOptions {
            temperature: 4.0,
            alpha: 0.7,
            epochs: 10,
            batch: 64,
            seed: 0,
            learning_rate: 1e-3,
            validation_fraction: 0.1,
        }
    }
}

impl DistillOptions {
    fn check(&self) -> Result<(), DistillError> {
        let bad = |m: &str| Err(DistillError::Option(m.to_string()));
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return bad("the temperature must be a positive number");
        }
        if !(0.0..=1.0).contains(&self.alpha) {
            return bad("alpha must be in [0, 1]");
        }
        if self.batch == 0 {
            return bad("the batch size must be at least 1");
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad("the learning rate must be a positive number");
        }
        if !(self.validation_fraction > 0.0 && self.validation_fraction < 1.0) {
            return bad("the validation fraction must be in (0, 1)");
        }
        Ok(())
    }
}

/// The samples, the teacher's logits for them and optional labels.
#[derive(Clone, Debug)]
pub struct TrainingData {
    samples: Vec<f32>,
    sample_len: usize,
    teacher_logits: Vec<f32>,
    classes: usize,
    labels: Option<Vec<usize>>,
}

impl TrainingData {
    /// Checks that the pieces agree: `samples` holds whole samples of
    /// `sample_len` values, `teacher_logits` one row of `classes` per
    /// sample, `labels` one class below `classes` per sample.
    pub fn new(
        samples: Vec<f32>,
        sample_len: usize,
        teacher_logits: Vec<f32>,
        classes: usize,
        labels: Option<Vec<usize>>,
    ) -> Result<TrainingData, DistillError> {
        let bad = |m: String| Err(DistillError::Data(m));
        if sample_len == 0 || classes == 0 || !samples.len().is_multiple_of(sample_len) {
            return bad(format!(
                "{} values are not whole samples of {sample_len}",
                samples.len()
            ));
        }
        let n = samples.len() / sample_len;
        if n < 2 {
            return bad(format!(
                "{n} samples: need at least 2 (train and validation)"
            ));
        }
        if Some(teacher_logits.len()) != n.checked_mul(classes) {
            return bad(format!(
                "{} teacher logits for {n} samples of {classes} classes",
                teacher_logits.len()
            ));
        }
        if let Some(labels) = &labels {
            if labels.len() != n {
                return bad(format!("{} labels for {n} samples", labels.len()));
            }
            if let Some((i, l)) = labels.iter().enumerate().find(|(_, l)| **l >= classes) {
                return bad(format!(
                    "label {l} of sample {i} is not below {classes} classes"
                ));
            }
        }
        Ok(TrainingData {
            samples,
            sample_len,
            teacher_logits,
            classes,
            labels,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.samples.len() / self.sample_len
    }

    /// Always false: a data set has at least two samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    fn sample(&self, i: usize) -> &[f32] {
        &self.samples[i * self.sample_len..][..self.sample_len]
    }

    fn teacher(&self, i: usize) -> &[f32] {
        &self.teacher_logits[i * self.classes..][..self.classes]
    }

    fn label(&self, i: usize) -> Option<usize> {
        self.labels.as_ref().and_then(|l| l.get(i).copied())
    }

    /// What a prediction for sample `i` is scored against: its label, or
    /// the teacher's top-1 when there are no labels.
    fn target(&self, i: usize) -> usize {
        self.label(i).unwrap_or_else(|| argmax(self.teacher(i)))
    }
}

/// One epoch's figures.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct EpochReport {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean loss over the training samples seen.
    pub train_loss: f32,
    /// Top-1 accuracy on the training samples seen (against the labels, or
    /// agreement with the teacher without labels), before each update.
    pub train_accuracy: f32,
    /// Top-1 accuracy on the validation split (agreement with the teacher
    /// without labels): what picks the best student.
    pub validation_accuracy: f32,
    /// Top-1 agreement with the teacher on the validation split.
    pub validation_agreement: f32,
    /// This epoch's student is the best so far.
    pub best: bool,
    /// Training stopped during this epoch (its report covers the batches done).
    pub interrupted: bool,
}

/// Progress events, for a progress bar.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// A batch was trained.
    Batch {
        /// 1-based epoch.
        epoch: usize,
        /// Batches done in this epoch.
        done: usize,
        /// Batches per epoch.
        total: usize,
        /// Mean loss of this batch.
        loss: f32,
    },
    /// An epoch ended (or training was stopped).
    Epoch(&'a EpochReport),
}

/// The result of [`distill`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DistillOutcome {
    /// The best student by validation accuracy.
    pub student: Student,
    /// The epoch it comes from (0: the initial student, if training was
    /// stopped before the first evaluation).
    pub best_epoch: usize,
    /// Its validation accuracy (agreement with the teacher without labels).
    pub best_validation_accuracy: f32,
    /// Its validation agreement with the teacher.
    pub best_validation_agreement: f32,
    /// One report per epoch run.
    pub epochs: Vec<EpochReport>,
    /// Training was stopped by the `stop` flag.
    pub interrupted: bool,
    /// Training and validation sample counts.
    pub split: (usize, usize),
}

/// The index of the largest value (the first of equals; NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// Adam (Kingma and Ba 2015) with its usual constants.
struct Adam {
    rate: f32,
    step: i32,
    first: Vec<f32>,
    second: Vec<f32>,
}

impl Adam {
    const BETA1: f32 = 0.9;
    const BETA2: f32 = 0.999;
    const EPSILON: f32 = 1e-8;

    fn new(rate: f32, params: usize) -> Adam {
        Adam {
            rate,
            step: 0,
            first: vec![0.0; params],
            second: vec![0.0; params],
        }
    }

    fn update(&mut self, params: &mut [f32], grads: &[f32]) {
        self.step = self.step.saturating_add(1);
        let c1 = 1.0 - Self::BETA1.powi(self.step);
        let c2 = 1.0 - Self::BETA2.powi(self.step);
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(&mut self.first)
            .zip(&mut self.second)
        {
            *m = Self::BETA1 * *m + (1.0 - Self::BETA1) * g;
            *v = Self::BETA2 * *v + (1.0 - Self::BETA2) * g * g;
            *p -= self.rate * (*m / c1) / ((*v / c2).sqrt() + Self::EPSILON);
        }
    }
}

/// Validation accuracy and agreement with the teacher of `student` on `indices`.
fn evaluate(student: &Student, data: &TrainingData, indices: &[usize]) -> (f32, f32) {
    let (right, agree) = indices
        .par_iter()
        .map(|&i| {
            let logits = student.trace(data.sample(i));
            let top = argmax(logits.logits());
            (
                usize::from(top == data.target(i)),
                usize::from(top == argmax(data.teacher(i))),
            )
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let n = indices.len().max(1) as f32;
    (right as f32 / n, agree as f32 / n)
}

/// Trains `student` to imitate the teacher on `data`.
///
/// Holds out `options.validation_fraction` of the samples (a seeded
/// shuffle), trains on the rest and returns the student with the best
/// validation accuracy seen at the end of an epoch. When `stop` becomes true
/// training ends after the current batch; the student at that point is
/// evaluated too, and the best one is returned.
pub fn distill(
    mut student: Student,
    data: &TrainingData,
    options: &DistillOptions,
    stop: &AtomicBool,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<DistillOutcome, DistillError> {
    options.check()?;
    if student.input_len() != data.sample_len || student.classes() != data.classes {
        return Err(DistillError::Mismatch(format!(
            "the student maps {} values to {} classes; the data has samples of {} values and \
             the teacher {} classes",
            student.input_len(),
            student.classes(),
            data.sample_len,
            data.classes
        )));
    }
    let weights = LossWeights {
        temperature: options.temperature,
        alpha: options.alpha,
    };
    let n = data.len();
    let mut order: Vec<usize> = (0..n).collect();
    Rng::new(options.seed ^ 0x5EED_5B11).shuffle(&mut order);
    let held_out =
        ((n as f64 * f64::from(options.validation_fraction)).round() as usize).clamp(1, n - 1);
    let (validation, train) = order.split_at(held_out);
    let (validation, mut train) = (validation.to_vec(), train.to_vec());

    let mut shuffler = Rng::new(options.seed.wrapping_add(0x0BA7_C4E5));
    let mut adam = Adam::new(options.learning_rate, student.param_count());
    let (acc, agree) = evaluate(&student, data, &validation);
    let mut best = (student.params.clone(), 0, acc, agree);
    let mut epochs = Vec::new();
    let mut interrupted = false;
    let batches = train.len().div_ceil(options.batch);
    for epoch in 1..=options.epochs {
        shuffler.shuffle(&mut train);
        let (mut loss_sum, mut right, mut seen) = (0f64, 0usize, 0usize);
        for (b, batch) in train.chunks(options.batch).enumerate() {
            let scale = 1.0 / batch.len() as f32;
            let groups: Vec<(Vec<f32>, f64, usize)> = batch
                .par_chunks(GRADIENT_GROUP)
                .map(|group| {
                    let mut grads = vec![0.0; student.param_count()];
                    let (mut loss, mut right) = (0f64, 0usize);
                    for &i in group {
                        let trace = student.trace(data.sample(i));
                        let (l, mut g) =
                            distill_loss(trace.logits(), data.teacher(i), data.label(i), weights);
                        loss += f64::from(l);
                        right += usize::from(argmax(trace.logits()) == data.target(i));
                        g.iter_mut().for_each(|g| *g *= scale);
                        student.backward(&trace, &g, &mut grads);
                    }
                    (grads, loss, right)
                })
                .collect();
            let mut total = vec![0.0; student.param_count()];
            let mut batch_loss = 0f64;
            for (grads, loss, r) in &groups {
                total.iter_mut().zip(grads).for_each(|(t, g)| *t += g);
                batch_loss += loss;
                right += r;
            }
            adam.update(&mut student.params, &total);
            loss_sum += batch_loss;
            seen += batch.len();
            progress(Progress::Batch {
                epoch,
                done: b + 1,
                total: batches,
                loss: (batch_loss / batch.len() as f64) as f32,
            });
            if stop.load(Ordering::Relaxed) {
                interrupted = true;
                break;
            }
        }
        let (acc, agree) = evaluate(&student, data, &validation);
        let is_best = acc > best.2;
        if is_best {
            best = (student.params.clone(), epoch, acc, agree);
        }
        let report = EpochReport {
            epoch,
            train_loss: (loss_sum / seen.max(1) as f64) as f32,
            train_accuracy: right as f32 / seen.max(1) as f32,
            validation_accuracy: acc,
            validation_agreement: agree,
            best: is_best,
            interrupted,
        };
        progress(Progress::Epoch(&report));
        epochs.push(report);
        if interrupted {
            break;
        }
    }
    student.params = best.0;
    Ok(DistillOutcome {
        student,
        best_epoch: best.1,
        best_validation_accuracy: best.2,
        best_validation_agreement: best.3,
        epochs,
        interrupted,
        split: (train.len(), validation.len()),
    })
}

/// Top-1 predictions of `student` for `samples` (whole samples of the
/// student's input size), computed in parallel.
pub fn predict(student: &Student, samples: &[f32]) -> Result<Vec<usize>, DistillError> {
    let len = student.input_len();
    if len == 0 || !samples.len().is_multiple_of(len) {
        return Err(DistillError::Mismatch(format!(
            "{} values are not whole samples of {len}",
            samples.len()
        )));
    }
    Ok(samples
        .par_chunks(len)
        .map(|s| argmax(student.trace(s).logits()))
        .collect())
}
