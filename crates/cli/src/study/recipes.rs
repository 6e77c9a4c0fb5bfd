//! What the study builds: the two seed models and, for each, the variants
//! (one converter recipe each, some of them on a distilled student).

use pocketnn_convert::{LowRank, PrunePattern, Pruning, Quantization};

/// A model the study compresses, with its student and its layer choices.
pub(crate) struct Subject {
    /// File stem in the models directory (`seed_mlp` → `seed_mlp.onnx`).
    pub name: &'static str,
    /// The distilled student (`pocketnn distill` grammar).
    pub student: &'static str,
    /// Distillation epochs (the settings of docs/distill.md's targets).
    pub distill_epochs: usize,
    /// The layers with weights except the classifier: the low-rank
    /// variants factorize these (a rank below the class count ruins the
    /// classifier).
    pub hidden: &'static [&'static str],
    /// The low-rank variant of the combinations: mode and layers.
    pub best_low_rank: (LowRank, &'static [&'static str]),
}

/// The study's two models.
pub(crate) const SUBJECTS: [Subject; 2] = [
    Subject {
        name: "seed_mlp",
        student: "mlp:784-30-10",
        distill_epochs: 100,
        hidden: &["/1/Gemm", "/3/Gemm", "/5/Gemm"],
        best_low_rank: (LowRank::Fraction(0.25), &["/1/Gemm", "/3/Gemm", "/5/Gemm"]),
    },
    Subject {
        name: "seed_cnn",
        student: "cnn:c16k3-p2-c32k3-p2-f64-f10",
        distill_epochs: 20,
        hidden: &["/0/Conv", "/3/Conv", "/7/Gemm"],
        // fc1 (1024 × 6272, 99 % of the weights) at rank 64.
        best_low_rank: (LowRank::Fraction(0.0625), &["/7/Gemm"]),
    },
];

/// One variant: the converter options applied to the model (or to its
/// distilled student).
#[derive(Clone, Debug)]
pub(crate) struct Recipe {
    /// The table's name for it.
    pub name: String,
    /// Start from the distilled student instead of the model.
    pub student: bool,
    /// `--quantize`.
    pub quantize: Option<Quantization>,
    /// `--prune`.
    pub prune: Option<Pruning>,
    /// `--low-rank` and `--low-rank-layers`.
    pub low_rank: Option<(LowRank, Vec<String>)>,
}

impl Recipe {
    fn plain(name: &str) -> Recipe {
        Recipe {
            name: name.to_string(),
            student: false,
            quantize: None,
            prune: None,
            low_rank: None,
        }
    }

    fn quantized(mut self, mode: Quantization) -> Recipe {
        self.quantize = Some(mode);
        self
    }

    fn pruned(mut self, sparsity: f32, pattern: PrunePattern) -> Recipe {
        self.prune = Some(Pruning::new(sparsity, pattern));
        self
    }

    fn low_rank(mut self, mode: LowRank, layers: &[&str]) -> Recipe {
        self.low_rank = Some((mode, layers.iter().map(|s| s.to_string()).collect()));
        self
    }

    fn on_student(mut self) -> Recipe {
        self.student = true;
        self
    }
}

/// The variants of `subject`, the fp32 baseline first.
pub(crate) fn recipes(subject: &Subject) -> Vec<Recipe> {
    use PrunePattern::{Channel, Row1x4, Unstructured};
    let mut all = vec![
        Recipe::plain("fp32"),
        Recipe::plain("fp16").quantized(Quantization::Fp16),
        Recipe::plain("int8").quantized(Quantization::Int8),
        Recipe::plain("int8-dynamic").quantized(Quantization::Int8Dynamic),
    ];
    for sparsity in [0.5, 0.8, 0.9, 0.95] {
        let name = format!("prune {:.0}%", sparsity * 100.0);
        all.push(Recipe::plain(&name).pruned(sparsity, Unstructured));
    }
    all.push(Recipe::plain("channel prune 50%").pruned(0.5, Channel));
    for fraction in [0.5, 0.25, 0.1] {
        let name = format!("low-rank {fraction}");
        all.push(Recipe::plain(&name).low_rank(LowRank::Fraction(fraction), subject.hidden));
    }
    all.push(Recipe::plain("student").on_student());
    let (mode, layers) = subject.best_low_rank;
    let low_rank_name = if layers == subject.hidden {
        format!("low-rank {mode}")
    } else {
        format!("low-rank {mode} of {}", layers.join(","))
    };
    all.extend([
        Recipe::plain("student + int8")
            .on_student()
            .quantized(Quantization::Int8),
        Recipe::plain("student + 90% + int8")
            .on_student()
            .pruned(0.9, Unstructured)
            .quantized(Quantization::Int8),
        Recipe::plain("90% 1x4 + int8")
            .pruned(0.9, Row1x4)
            .quantized(Quantization::Int8),
        Recipe::plain(&format!("{low_rank_name} + int8"))
            .low_rank(mode, layers)
            .quantized(Quantization::Int8),
    ]);
    all
}
