//! The MNIST-5k test set of the shared models directory and running an
//! MNIST model over it (for the quantization tests).

use crate::shared_models_dir;
use pocketnn::{Model, Session, SessionOptions, TensorView};
use std::path::Path;

/// Reads an f32 `.npy` file: shape and values.
pub fn read_npy_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).expect("npy header");
    let shape = npy.shape().iter().map(|&d| d as usize).collect();
    (shape, npy.into_vec::<f32>().expect("f32 npy"))
}

/// Reads an i64 `.npy` file.
pub fn read_npy_i64(path: &Path) -> Vec<i64> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    npyz::NpyFile::new(std::io::BufReader::new(file))
        .expect("npy header")
        .into_vec::<i64>()
        .expect("i64 npy")
}

/// Index of the largest value (the first of equals).
pub fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// The 1,000 test images (`[1000, 1, 28, 28]`) and their labels, or the
/// first `POCKETNN_MNIST_LIMIT` of them: CI sets it under qemu, where each
/// image costs ~100x more. Accuracy targets hold on the full set only;
/// tests check them when [`TestSet::is_full`], and looser bounds otherwise.
pub struct TestSet {
    /// Image shape, `[n, 1, 28, 28]`.
    pub shape: Vec<usize>,
    /// Pixel values / 255.
    pub images: Vec<f32>,
    /// Digit labels.
    pub labels: Vec<i64>,
}

impl TestSet {
    /// Loads the test set from the shared models directory.
    pub fn load() -> TestSet {
        let shared = shared_models_dir();
        let (shape, images) = read_npy_f32(&shared.join("mnist5k_test_x.npy"));
        let labels = read_npy_i64(&shared.join("mnist5k_test_y.npy"));
        let mut set = TestSet {
            shape,
            images,
            labels,
        };
        let limit = std::env::var("POCKETNN_MNIST_LIMIT").ok();
        if let Some(n) = limit.and_then(|l| l.parse::<usize>().ok())
            && n < set.len()
        {
            let per_image: usize = set.shape[1..].iter().product();
            set.shape[0] = n;
            set.images.truncate(n * per_image);
            set.labels.truncate(n);
            eprintln!("POCKETNN_MNIST_LIMIT: the first {n} test images only");
        }
        set
    }

    /// True when this is the whole test set (no `POCKETNN_MNIST_LIMIT`).
    pub fn is_full(&self) -> bool {
        self.len() == 1000
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.shape[0]
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The logits (`[1000 · 10]`) of `model` (input `input`, output
    /// `logits`), run in batches of 100.
    pub fn logits(&self, model: &Model) -> Vec<f32> {
        let mut session = Session::new(model, SessionOptions::default()).expect("session");
        let per_image: usize = self.shape[1..].iter().product();
        let mut all = Vec::with_capacity(self.len() * 10);
        for start in (0..self.len()).step_by(100) {
            let rows = 100.min(self.len() - start);
            let input_shape = [rows, self.shape[1], self.shape[2], self.shape[3]];
            let data = &self.images[start * per_image..(start + rows) * per_image];
            let view = TensorView::from_slice(&input_shape, data).expect("input view");
            let outputs = session.run_views(&[("input", view)]).expect("run");
            let logits = outputs.get("logits").expect("logits");
            all.extend_from_slice(logits.as_slice::<f32>().expect("f32 logits"));
        }
        all
    }

    /// Fraction of images whose argmax is the label.
    pub fn accuracy(&self, logits: &[f32]) -> f64 {
        let correct = logits
            .chunks_exact(10)
            .zip(&self.labels)
            .filter(|(row, label)| argmax(row) as i64 == **label)
            .count();
        correct as f64 / self.len() as f64
    }
}
