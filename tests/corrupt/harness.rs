//! The corrupt-file harness: real models converted to `.pnn`, a way to run
//! one corrupted file and classify the outcome, raw access to the header and
//! section table (written from docs/format.md, independent of the reader),
//! and a small deterministic random generator.

use pocketnn::{DType, Dim, Limits, LoadOptions, Model, Session, SessionOptions, Tensor};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

/// A real model as `.pnn` bytes.
pub struct Subject {
    /// Short name for messages.
    pub name: &'static str,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Converts `<shared>/<file>.onnx` in memory.
pub fn subject(name: &'static str, file: &str) -> Subject {
    let path = pocketnn_tests::shared_models_dir().join(file);
    let onnx = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let converted = pocketnn_convert::convert(&onnx, &pocketnn_convert::ConvertOptions::default())
        .unwrap_or_else(|e| panic!("convert {name}: {e}"));
    let bytes = converted.to_pnn_bytes().expect("write .pnn");
    Subject { name, bytes }
}

/// Limits for running corrupted models: below the defaults so that a
/// mutation that inflates a shape fails fast instead of filling memory,
/// and well above what the real models need.
pub fn test_limits() -> Limits {
    Limits {
        max_tensor_bytes: 256 << 20,
        max_activation_bytes: 1 << 30,
        ..Limits::default()
    }
}

/// What a case is allowed to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Loading must fail with a typed error.
    LoadError,
    /// Anything but a panic or a hang: a load error, or a load and then a
    /// run that succeeds or fails with a typed error.
    NoCrash,
    /// Loading and running must succeed.
    Runs,
}

/// Counts of outcomes over many cases, and the cases that broke the rules.
#[derive(Default, Debug)]
pub struct Tally {
    /// Cases tried.
    pub cases: usize,
    /// Load returned an error.
    pub load_errors: usize,
    /// Loaded, then the run succeeded.
    pub ran: usize,
    /// Loaded, then the run returned an error.
    pub run_errors: usize,
    /// Loaded, but no input could be made (declared input too large).
    pub not_run: usize,
    /// Broken rules: panics, unexpected outcomes, slow cases.
    pub failures: Vec<String>,
    /// How often each kind of error message (its first words) was seen.
    pub messages: std::collections::BTreeMap<String, usize>,
}

/// A case taking longer than this counts as a hang.
const SLOW: Duration = Duration::from_secs(30);

impl Tally {
    /// Loads `bytes` (default load options except the test limits), runs
    /// the model on inputs made from its declared inputs, and records the
    /// outcome against `expect`.
    pub fn case(&mut self, label: &dyn Fn() -> String, bytes: &[u8], expect: Expect) {
        self.cases += 1;
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| load_and_run(bytes)));
        let elapsed = start.elapsed();
        if elapsed > SLOW {
            self.failures.push(format!("{}: took {elapsed:?}", label()));
        }
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(_) => {
                self.failures.push(format!("{}: PANIC", label()));
                return;
            }
        };
        match &outcome {
            Outcome::LoadError(m) => {
                self.load_errors += 1;
                self.message(m);
            }
            Outcome::Ran => self.ran += 1,
            Outcome::RunError(m) => {
                self.run_errors += 1;
                self.message(m);
            }
            Outcome::NotRun => self.not_run += 1,
        }
        let ok = match expect {
            Expect::LoadError => matches!(outcome, Outcome::LoadError(_)),
            Expect::NoCrash => true,
            Expect::Runs => matches!(outcome, Outcome::Ran),
        };
        if !ok {
            self.failures
                .push(format!("{}: expected {expect:?}, got {outcome:?}", label()));
        }
    }

    /// Counts an error message by its first words (names and numbers cut).
    fn message(&mut self, m: &str) {
        let kind: String = m
            .split_whitespace()
            .take(4)
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .filter(|c| !c.is_ascii_digit())
            .collect();
        *self.messages.entry(kind).or_default() += 1;
    }

    /// Adds another tally's counts.
    pub fn add(&mut self, other: Tally) {
        self.cases += other.cases;
        self.load_errors += other.load_errors;
        self.ran += other.ran;
        self.run_errors += other.run_errors;
        self.not_run += other.not_run;
        self.failures.extend(other.failures);
        for (k, n) in other.messages {
            *self.messages.entry(k).or_default() += n;
        }
    }

    /// Prints the counts and fails the test on any broken rule.
    pub fn finish(&self, what: &str) {
        println!(
            "{what}: {} cases: {} load errors, {} ran, {} run errors, {} loaded but not run; {} failures",
            self.cases,
            self.load_errors,
            self.ran,
            self.run_errors,
            self.not_run,
            self.failures.len()
        );
        let mut common: Vec<_> = self.messages.iter().collect();
        common.sort_by(|a, b| b.1.cmp(a.1));
        for (kind, n) in common.iter().take(6) {
            println!("  {n:6} x {kind} ...");
        }
        for f in self.failures.iter().take(40) {
            println!("  FAILED {f}");
        }
        assert!(
            self.failures.is_empty(),
            "{what}: {} failures",
            self.failures.len()
        );
    }
}

/// What happened to one case.
#[derive(Debug)]
pub enum Outcome {
    /// `Model::from_bytes` failed (the message, to show it is typed).
    LoadError(String),
    /// The run succeeded.
    Ran,
    /// The run returned an error.
    RunError(String),
    /// A declared input was too large to feed.
    NotRun,
}

/// Loads and runs once.
pub fn load_and_run(bytes: &[u8]) -> Outcome {
    let options = LoadOptions {
        limits: test_limits(),
        ..LoadOptions::default()
    };
    let model = match Model::from_bytes_with(bytes, &options) {
        Ok(m) => m,
        Err(e) => return Outcome::LoadError(e.to_string()),
    };
    let Some(inputs) = inputs_for(&model) else {
        return Outcome::NotRun;
    };
    let mut session = match Session::new(&model, SessionOptions::default()) {
        Ok(s) => s,
        Err(e) => return Outcome::RunError(e.to_string()),
    };
    let feeds: Vec<(&str, pocketnn::TensorView<'_>)> =
        inputs.iter().map(|(n, t)| (n.as_str(), t.view())).collect();
    match session.run_views(&feeds) {
        Ok(outputs) => {
            // touch every output byte
            let sum = outputs
                .iter()
                .fold(0u8, |acc, (_, v)| v.bytes().iter().fold(acc, |a, b| a ^ b));
            std::hint::black_box(sum);
            Outcome::Ran
        }
        Err(e) => Outcome::RunError(e.to_string()),
    }
}

/// One input per declared input: symbolic dims 2, undeclared shapes `[2]`,
/// floats a fixed ramp in [0, 1), everything else zero. `None` above 4M
/// elements.
pub fn inputs_for(model: &Model) -> Option<Vec<(String, Tensor)>> {
    let mut inputs = Vec::new();
    for info in model.inputs() {
        let shape: Vec<usize> = match &info.shape {
            Some(dims) => dims
                .iter()
                .map(|d| match d {
                    Dim::Fixed(n) => usize::try_from(*n).unwrap_or(usize::MAX),
                    Dim::Symbolic(_) => 2,
                })
                .collect(),
            None => vec![2],
        };
        let elements = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .filter(|&n| n <= 1 << 22)?;
        let tensor = if info.dtype == DType::F32 {
            let data: Vec<f32> = (0..elements).map(|i| (i % 97) as f32 / 97.0).collect();
            Tensor::from_slice(&shape, &data).ok()?
        } else {
            Tensor::zeros(info.dtype, &shape).ok()?
        };
        inputs.push((info.name.clone(), tensor));
    }
    Some(inputs)
}

// ----- raw header and section table (docs/format.md)

/// Byte offset of `file_len` in the header.
pub const FILE_LEN_AT: usize = 16;
/// Byte offset of `section_count`.
pub const COUNT_AT: usize = 24;
/// Byte offset of `header_crc`.
pub const HEADER_CRC_AT: usize = 28;
/// Header length.
pub const HEADER: usize = 64;
/// Section-table entry length.
pub const ENTRY: usize = 32;

/// One section-table entry as stored.
#[derive(Clone, Copy, Debug)]
pub struct Entry {
    /// Where the entry is in the file.
    pub at: usize,
    /// Section kind code.
    pub kind: u32,
    /// Absolute offset.
    pub offset: u64,
    /// Length.
    pub len: u64,
}

/// Reads a little-endian `u32`.
pub fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// Reads a little-endian `u64`.
pub fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

/// Writes a little-endian `u32`.
pub fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Writes a little-endian `u64`.
pub fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// The section table of a valid file.
pub fn entries(b: &[u8]) -> Vec<Entry> {
    let count = u32_at(b, COUNT_AT) as usize;
    (0..count)
        .map(|i| {
            let at = HEADER + ENTRY * i;
            Entry {
                at,
                kind: u32_at(b, at),
                offset: u64_at(b, at + 8),
                len: u64_at(b, at + 16),
            }
        })
        .collect()
}

/// Recomputes every in-bounds section CRC and the header CRC, and (when
/// `set_len`) the header's `file_len`, after an edit.
pub fn fix(b: &mut [u8], set_len: bool) {
    if b.len() < HEADER {
        return;
    }
    if set_len {
        let len = b.len() as u64;
        put_u64(b, FILE_LEN_AT, len);
    }
    let count = (u32_at(b, COUNT_AT) as usize).min(1024);
    let table_end = HEADER + ENTRY * count;
    if table_end > b.len() {
        return;
    }
    for i in 0..count {
        let at = HEADER + ENTRY * i;
        let (offset, len) = (u64_at(b, at + 8), u64_at(b, at + 16));
        let range = usize::try_from(offset)
            .ok()
            .and_then(|s| Some(s..s.checked_add(usize::try_from(len).ok()?)?));
        if let Some(crc) = range.and_then(|r| b.get(r)).map(crc32fast::hash) {
            put_u32(b, at + 24, crc);
        }
    }
    put_u32(b, HEADER_CRC_AT, 0);
    let crc = crc32fast::hash(&b[..table_end]);
    put_u32(b, HEADER_CRC_AT, crc);
}

/// SplitMix64: a deterministic generator, so every run tries the same cases.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
