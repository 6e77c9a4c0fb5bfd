//! The distillation loss of one sample and its gradient.
//!
//! ```text
//! loss = alpha · T² · KL(softmax(teacher / T) ‖ softmax(student / T))
//!      + (1 − alpha) · cross_entropy(softmax(student), label)
//! ```
//!
//! The T² factor keeps the soft term's gradient on the same scale as the
//! hard term's whatever T is (Hinton, Vinyals and Dean 2015): its gradient
//! with respect to the student's logits is `alpha · T · (p_student_T − p_teacher_T)`.

/// `log(softmax(logits / temperature))`, computed stably.
pub(crate) fn log_softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    let max = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
    let scaled: Vec<f32> = logits.iter().map(|&v| (v - max) / temperature).collect();
    let log_sum = scaled.iter().map(|v| v.exp()).sum::<f32>().ln();
    scaled.iter().map(|v| v - log_sum).collect()
}

/// The loss's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LossWeights {
    /// Softening temperature T (> 0).
    pub temperature: f32,
    /// Weight of the soft (teacher) term in `[0, 1]`; the rest goes to the
    /// hard labels.
    pub alpha: f32,
}

/// The loss for one sample and its gradient with respect to `student`.
/// Without a label the hard term is left out (its weight is treated as 0).
pub(crate) fn distill_loss(
    student: &[f32],
    teacher: &[f32],
    label: Option<usize>,
    weights: LossWeights,
) -> (f32, Vec<f32>) {
    let t = weights.temperature;
    let alpha = if label.is_some() { weights.alpha } else { 1.0 };
    let log_p_student = log_softmax(student, t);
    let log_p_teacher = log_softmax(teacher, t);
    let mut loss = 0.0;
    let mut grad = vec![0.0; student.len()];
    if alpha > 0.0 {
        let kl: f32 = log_p_teacher
            .iter()
            .zip(&log_p_student)
            .map(|(lt, ls)| lt.exp() * (lt - ls))
            .sum();
        loss += alpha * t * t * kl;
        for ((g, ls), lt) in grad.iter_mut().zip(&log_p_student).zip(&log_p_teacher) {
            *g += alpha * t * (ls.exp() - lt.exp());
        }
    }
    if let Some(label) = label
        && alpha < 1.0
    {
        let log_p = log_softmax(student, 1.0);
        loss -= (1.0 - alpha) * log_p.get(label).copied().unwrap_or(0.0);
        for (i, (g, lp)) in grad.iter_mut().zip(&log_p).enumerate() {
            let target = if i == label { 1.0 } else { 0.0 };
            *g += (1.0 - alpha) * (lp.exp() - target);
        }
    }
    (loss, grad)
}
