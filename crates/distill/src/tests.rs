//! Tests of the training code against independent references: finite
//! differences for every gradient, a direct (loop-nest) evaluation of the
//! network for the forward pass, hand-computed loss values, and pocketnn's
//! runtime for the exported ONNX model.

use crate::layers::Layer;
use crate::loss::{LossWeights, distill_loss};
use crate::rng::Rng;
use crate::{DistillOptions, Progress, Student, StudentSpec, TrainingData, argmax, distill};
use std::sync::atomic::AtomicBool;

fn student(spec: &str, shape: &[usize], seed: u64) -> Student {
    Student::new(&StudentSpec::parse(spec).expect("spec"), shape, seed).expect("student")
}

fn random_values(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n).map(|_| rng.next_f64() as f32).collect()
}

/// The loss of one sample for parameters `params`.
fn loss_at(
    s: &Student,
    params: &[f32],
    x: &[f32],
    t: &[f32],
    label: Option<usize>,
    w: LossWeights,
) -> f64 {
    let mut probe = s.clone();
    probe.params.copy_from_slice(params);
    let logits = probe.forward(x).expect("forward");
    f64::from(distill_loss(&logits, t, label, w).0)
}

/// Compares the backward pass's parameter gradient with central finite
/// differences (in f32, step 1e-3: a larger step crosses ReLU/max kinks;
/// the tolerance is loose but still catches any
/// wrong index or missing term).
fn check_gradients(spec: &str, shape: &[usize]) {
    let s = student(spec, shape, 3);
    let x = random_values(s.input_len(), 11);
    let teacher: Vec<f32> = random_values(s.classes(), 12)
        .iter()
        .map(|v| 4.0 * v - 2.0)
        .collect();
    let w = LossWeights {
        temperature: 2.0,
        alpha: 0.6,
    };
    let label = Some(1);
    let trace = s.trace(&x);
    let (_, grad_logits) = distill_loss(trace.logits(), &teacher, label, w);
    let mut grads = vec![0.0; s.param_count()];
    s.backward(&trace, &grad_logits, &mut grads);
    assert!(grads.iter().any(|g| *g != 0.0), "{spec}: all-zero gradient");
    let eps = 1e-3f32;
    let mut worst = 0f64;
    for i in 0..s.param_count() {
        let mut p = s.params.clone();
        p[i] += eps;
        let up = loss_at(&s, &p, &x, &teacher, label, w);
        p[i] -= 2.0 * eps;
        let down = loss_at(&s, &p, &x, &teacher, label, w);
        let numeric = (up - down) / (2.0 * f64::from(eps));
        let analytic = f64::from(grads[i]);
        let err = (numeric - analytic).abs() / (1e-2 + numeric.abs().max(analytic.abs()));
        worst = worst.max(err);
        assert!(
            err < 0.03,
            "{spec}: parameter {i}: analytic {analytic}, finite difference {numeric}"
        );
    }
    eprintln!(
        "{spec}: {} parameters, worst relative error {worst:.2e}",
        s.param_count()
    );
}

#[test]
fn gradients_of_every_layer_match_finite_differences() {
    // Flatten, Linear, ReLU.
    check_gradients("mlp:12-7-5-4", &[3, 2, 2]);
    // Conv2d (odd kernel, padding 1) feeding another Conv2d, so the first
    // one's gradient passes through the second's input gradient; MaxPool.
    check_gradients("cnn:c3k3-c2k3-p2-f5-f3", &[2, 6, 7]);
    // Even kernel (padding 1, output one larger), pool with a remainder.
    check_gradients("cnn:c2k2-p3-f4", &[1, 5, 5]);
    check_gradients("cnn:c2k5-f3", &[2, 4, 4]);
}

#[test]
fn loss_gradient_matches_finite_differences() {
    let student_logits = [0.3f32, -1.2, 2.0, 0.1];
    let teacher = [1.0f32, 0.5, -0.7, 2.2];
    for (temperature, alpha, label) in [
        (1.0, 1.0, None),
        (4.0, 0.5, Some(2)),
        (3.0, 0.0, Some(0)),
        (0.5, 0.7, Some(3)),
    ] {
        let w = LossWeights { temperature, alpha };
        let (_, grad) = distill_loss(&student_logits, &teacher, label, w);
        for i in 0..4 {
            let eps = 1e-3f32;
            let mut up = student_logits;
            up[i] += eps;
            let mut down = student_logits;
            down[i] -= eps;
            let numeric = (distill_loss(&up, &teacher, label, w).0
                - distill_loss(&down, &teacher, label, w).0)
                / (2.0 * eps);
            assert!(
                (numeric - grad[i]).abs() < 2e-3 * (1.0 + numeric.abs()),
                "T {temperature} alpha {alpha}: logit {i}: {} vs {numeric}",
                grad[i]
            );
        }
    }
}

#[test]
fn loss_hand_values() {
    let w = |temperature, alpha| LossWeights { temperature, alpha };
    // Student equals teacher: the KL term is 0.
    let (l, g) = distill_loss(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], None, w(4.0, 0.3));
    assert!(l.abs() < 1e-6 && g.iter().all(|g| g.abs() < 1e-6));
    // Uniform student, hard labels only: cross-entropy ln(4).
    let (l, _) = distill_loss(&[0.5; 4], &[9.0, 0.0, 0.0, 0.0], Some(2), w(2.0, 0.0));
    assert!((l - 4f32.ln()).abs() < 1e-6, "{l}");
    // Uniform student, teacher p = (0.5, 0.5, 0, 0)-ish at T = 1:
    // teacher logits (0, 0, -inf-ish): KL = sum p ln(p / 0.25) = ln 2.
    let (l, _) = distill_loss(&[0.0; 4], &[0.0, 0.0, -100.0, -100.0], None, w(1.0, 0.5));
    assert!((l - 2f32.ln()).abs() < 1e-5, "{l}");
    // With T = 2 the KL term is scaled by T² = 4; teacher logits doubled
    // give the same softened distribution.
    let (l, _) = distill_loss(&[0.0; 4], &[0.0, 0.0, -200.0, -200.0], None, w(2.0, 0.5));
    assert!((l - 4.0 * 2f32.ln()).abs() < 1e-4, "{l}");
}

/// The network evaluated directly from its definition: loops over output
/// positions and kernel taps (no unrolling), written apart from `layers.rs`.
fn direct_forward(s: &Student, x: &[f32]) -> Vec<f32> {
    let p = &s.params;
    let mut v = x.to_vec();
    for layer in &s.layers {
        v = match layer {
            Layer::Conv2d(c) => {
                let mut out = Vec::new();
                for oc in 0..c.out_channels {
                    for oy in 0..c.out_h {
                        for ox in 0..c.out_w {
                            let mut sum = p[c.bias + oc];
                            for ic in 0..c.in_channels {
                                for ky in 0..c.kernel {
                                    for kx in 0..c.kernel {
                                        let iy = oy as i64 + ky as i64 - c.padding as i64;
                                        let ix = ox as i64 + kx as i64 - c.padding as i64;
                                        if iy < 0
                                            || ix < 0
                                            || iy >= c.in_h as i64
                                            || ix >= c.in_w as i64
                                        {
                                            continue;
                                        }
                                        let wi = ((oc * c.in_channels + ic) * c.kernel + ky)
                                            * c.kernel
                                            + kx;
                                        let xi = (ic * c.in_h + iy as usize) * c.in_w + ix as usize;
                                        sum += p[c.weight + wi] * v[xi];
                                    }
                                }
                            }
                            out.push(sum);
                        }
                    }
                }
                out
            }
            Layer::MaxPool(m) => {
                let mut out = Vec::new();
                for ch in 0..m.channels {
                    for oy in 0..m.out_h {
                        for ox in 0..m.out_w {
                            let mut best = f32::NEG_INFINITY;
                            for dy in 0..m.size {
                                for dx in 0..m.size {
                                    best = best.max(
                                        v[(ch * m.in_h + oy * m.size + dy) * m.in_w
                                            + ox * m.size
                                            + dx],
                                    );
                                }
                            }
                            out.push(best);
                        }
                    }
                }
                out
            }
            Layer::Relu { .. } => v.iter().map(|x| if *x > 0.0 { *x } else { 0.0 }).collect(),
            Layer::Flatten { .. } => v,
            Layer::Linear(l) => (0..l.outputs)
                .map(|o| {
                    p[l.bias + o]
                        + (0..l.inputs)
                            .map(|i| p[l.weight + o * l.inputs + i] * v[i])
                            .sum::<f32>()
                })
                .collect(),
        };
    }
    v
}

#[test]
fn forward_matches_a_direct_evaluation() {
    for (spec, shape) in [
        ("cnn:c4k3-p2-c5k3-p2-f6-f3", &[1usize, 9, 10][..]),
        ("cnn:c3k2-p2-f4", &[2, 5, 6]),
        ("mlp:20-8-6-3", &[20]),
    ] {
        let s = student(spec, shape, 5);
        let x = random_values(s.input_len(), 6);
        let got = s.forward(&x).expect("forward");
        let want = direct_forward(&s, &x);
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-4 * (1.0 + w.abs()),
                "{spec}: {got:?} vs {want:?}"
            );
        }
    }
}

#[test]
fn shapes_and_parameter_counts() {
    // Hand-counted: conv 1->16 k3: 160; conv 16->32 k3: 4640; 28 -> 14 -> 7:
    // fc 32*7*7=1568 -> 64: 100416; fc 64 -> 10: 650.
    let s = student("cnn:c16k3-p2-c32k3-p2-f64-f10", &[1, 28, 28], 0);
    assert_eq!(s.param_count(), 160 + 4640 + 100_416 + 650);
    assert_eq!(
        s.layers.iter().map(Layer::param_count).sum::<usize>(),
        s.param_count()
    );
    assert_eq!(s.classes(), 10);
    let m = student("mlp:784-30-10", &[1, 28, 28], 0);
    assert_eq!(m.param_count(), 784 * 30 + 30 + 30 * 10 + 10);
    // He init: weight variance close to 2 / fan_in, biases zero.
    let w = &m.params[..784 * 30];
    let var = w.iter().map(|v| f64::from(v * v)).sum::<f64>() / w.len() as f64;
    assert!((var * 784.0 / 2.0 - 1.0).abs() < 0.05, "variance {var}");
    assert!(m.params[784 * 30..784 * 30 + 30].iter().all(|b| *b == 0.0));
    // Mismatches are typed errors.
    let spec = StudentSpec::parse("mlp:100-10").expect("spec");
    assert!(Student::new(&spec, &[1, 28, 28], 0).is_err());
    let spec = StudentSpec::parse("cnn:c4k9-f10").expect("spec");
    assert!(Student::new(&spec, &[784], 0).is_err());
    let spec = StudentSpec::parse("cnn:p8-p8-f10").expect("spec");
    assert!(Student::new(&spec, &[1, 28, 28], 0).is_err());
    let spec = StudentSpec::parse("mlp:784-65536-65536-10").expect("spec");
    assert!(Student::new(&spec, &[784], 0).is_err());
}

/// A learnable synthetic task: samples and the logits of a random teacher.
fn synthetic(n: usize, labels: bool) -> (TrainingData, Student) {
    let teacher = student("cnn:c4k3-p2-f12-f4", &[1, 8, 8], 99);
    let samples = random_values(n * 64, 21);
    let logits: Vec<f32> = samples
        .chunks(64)
        .flat_map(|x| teacher.forward(x).expect("teacher"))
        .collect();
    let label_vec = labels.then(|| logits.chunks(4).map(argmax).collect());
    let data = TrainingData::new(samples, 64, logits, 4, label_vec).expect("data");
    (data, student("cnn:c3k3-p2-f8-f4", &[1, 8, 8], 1))
}

fn options(epochs: usize) -> DistillOptions {
    DistillOptions {
        epochs,
        batch: 20,
        seed: 4,
        learning_rate: 3e-3,
        ..DistillOptions::default()
    }
}

#[test]
fn training_learns_and_is_identical_for_any_thread_count() {
    let (data, initial) = synthetic(400, true);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        pool.install(|| {
            distill(
                initial.clone(),
                &data,
                &options(6),
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .expect("distill")
        })
    };
    let one = run(1);
    let three = run(3);
    assert_eq!(one.student.params, three.student.params);
    assert!(
        one.student
            .params
            .iter()
            .zip(&three.student.params)
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    assert_eq!(one.split, (360, 40));
    let first = &one.epochs[0];
    let last = one.epochs.last().expect("epochs");
    eprintln!("synthetic: epoch 1 {first:?}\nlast {last:?}");
    assert!(
        last.train_loss < 0.7 * first.train_loss,
        "{first:?} -> {last:?}"
    );
    // Chance is 0.25 (or the majority class); the teacher is learnable.
    assert!(
        one.best_validation_accuracy >= 0.7,
        "{}",
        one.best_validation_accuracy
    );
    // A different seed gives a different run.
    let other = distill(
        initial.clone(),
        &data,
        &DistillOptions {
            seed: 5,
            ..options(1)
        },
        &AtomicBool::new(false),
        &mut |_| {},
    )
    .expect("distill");
    assert_ne!(other.student.params, one.student.params);
}

#[test]
fn without_labels_agreement_with_the_teacher_picks_the_best() {
    let (data, initial) = synthetic(200, false);
    let mut events = 0;
    let outcome = distill(
        initial,
        &data,
        &options(3),
        &AtomicBool::new(false),
        &mut |p| {
            if let Progress::Epoch(r) = p {
                assert_eq!(r.validation_accuracy, r.validation_agreement);
                events += 1;
            }
        },
    )
    .expect("distill");
    assert_eq!(events, 3);
    let best = outcome
        .epochs
        .iter()
        .map(|e| e.validation_accuracy)
        .fold(0.0, f32::max);
    assert!(outcome.best_validation_accuracy >= best);
}

#[test]
fn a_stop_request_ends_after_one_batch_and_keeps_the_best() {
    let (data, initial) = synthetic(200, true);
    let stop = AtomicBool::new(true);
    let mut batches = 0;
    let outcome = distill(initial, &data, &options(5), &stop, &mut |p| {
        if let Progress::Batch { .. } = p {
            batches += 1;
        }
    })
    .expect("distill");
    assert!(outcome.interrupted);
    assert_eq!(batches, 1);
    assert_eq!(outcome.epochs.len(), 1);
    assert!(outcome.epochs[0].interrupted);
}

#[test]
fn bad_options_and_data_are_typed_errors() {
    let (data, initial) = synthetic(20, true);
    let no = AtomicBool::new(false);
    for bad in [
        DistillOptions {
            temperature: 0.0,
            ..options(1)
        },
        DistillOptions {
            alpha: 1.5,
            ..options(1)
        },
        DistillOptions {
            batch: 0,
            ..options(1)
        },
        DistillOptions {
            validation_fraction: 1.0,
            ..options(1)
        },
    ] {
        assert!(distill(initial.clone(), &data, &bad, &no, &mut |_| {}).is_err());
    }
    assert!(TrainingData::new(vec![0.0; 10], 4, vec![0.0; 4], 2, None).is_err());
    assert!(TrainingData::new(vec![0.0; 8], 4, vec![0.0; 4], 2, Some(vec![0, 2])).is_err());
    assert!(TrainingData::new(vec![0.0; 8], 4, vec![0.0; 3], 2, None).is_err());
    let wrong = student("mlp:64-5", &[64], 0);
    assert!(distill(wrong, &data, &options(1), &no, &mut |_| {}).is_err());
}

/// The exported ONNX model, converted and run by pocketnn, gives the
/// training model's logits.
#[test]
fn exported_onnx_runs_in_pocketnn_with_the_same_logits() {
    for (spec, shape) in [
        ("cnn:c4k3-p2-c6k3-p2-f16-f10", &[1usize, 28, 28][..]),
        ("cnn:c3k2-p3-f5", &[2, 7, 9]),
        ("mlp:784-24-12-10", &[1, 28, 28]),
    ] {
        let s = student(spec, shape, 8);
        let n = 5;
        let x = random_values(n * s.input_len(), 9);
        let converted =
            pocketnn_convert::convert(&s.to_onnx(), &pocketnn_convert::ConvertOptions::default())
                .expect("convert");
        let model =
            pocketnn::Model::from_bytes(&converted.to_pnn_bytes().expect("pnn")).expect("load");
        let (got, classes) = crate::teacher_logits(&model, &x, shape, 3).expect("run");
        assert_eq!(classes, s.classes());
        let want: Vec<f32> = x
            .chunks(s.input_len())
            .flat_map(|x| s.forward(x).expect("forward"))
            .collect();
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4 * (1.0 + w.abs()), "{spec}: {g} vs {w}");
        }
        assert_eq!(got.len(), want.len());
    }
}

#[test]
fn save_writes_onnx_or_pnn_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().expect("dir");
    let s = student("mlp:6-4-3", &[6], 2);
    s.save(&dir.path().join("a.onnx")).expect("onnx");
    s.save(&dir.path().join("a.pnn")).expect("pnn");
    let model = pocketnn::Model::load(dir.path().join("a.pnn")).expect("load");
    let x = random_values(6, 3);
    let (got, _) = crate::teacher_logits(&model, &x, &[6], 1).expect("run");
    let want = s.forward(&x).expect("forward");
    assert!(got.iter().zip(&want).all(|(g, w)| (g - w).abs() < 1e-5));
    assert_eq!(
        std::fs::read(dir.path().join("a.onnx")).expect("read"),
        s.to_onnx()
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(s.save(&dir.path().join("missing").join("a.onnx")).is_err());
}
