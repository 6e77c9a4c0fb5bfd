//! One `Model` shared by many threads, each with its own `Session`.
//!
//! seed_mlp (`models/seed_mlp.onnx`) is converted to a `.pnn` file and
//! memory-mapped once. A single-threaded session computes the reference
//! logits for a set of inputs of different batch sizes (checked against
//! onnxruntime's predictions for `models/digits.npy`). Then 8 threads run
//! 1,000 times each over the same inputs in different orders — so every
//! session plans several shapes and evicts plans from its cache — and every
//! output must be bit-identical to the reference (one worker's sessions use
//! a 2-thread pool, the others run on their own thread). Sessions are dropped and
//! made again mid-way while the other threads keep running, a churn thread
//! keeps creating and dropping short-lived sessions, and the test's own
//! `Model` handle is dropped while the workers still run.

use pocketnn::{Model, Session, SessionOptions, TensorView};
use pocketnn_tests::workspace_root;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const THREADS: usize = 8;
/// 1,000 runs per thread; a quarter of that under qemu (aarch64
/// cross-testing), where every run is emulated.
const RUNS_PER_THREAD: usize = if cfg!(target_arch = "aarch64") {
    250
} else {
    1000
};
/// Each worker drops its session and makes a new one this often.
const RENEW_EVERY: usize = 150;

/// One input batch and its reference output.
struct Case {
    shape: Vec<usize>,
    pixels: Vec<f32>,
    logits: Vec<u8>,
}

/// The 10 digits of `models/digits.npy`, `[10,1,28,28]`.
fn digits() -> Vec<f32> {
    let path = workspace_root().join("models/digits.npy");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(std::io::BufReader::new(file)).expect("npy header");
    assert_eq!(npy.shape(), &[10, 1, 28, 28]);
    npy.into_vec::<f32>().expect("f32 npy")
}

/// Converts seed_mlp to a `.pnn` in a temporary directory and maps it.
fn load_model(dir: &std::path::Path) -> Model {
    let pnn = dir.join("seed_mlp.pnn");
    pocketnn_convert::convert_file(
        &workspace_root().join("models/seed_mlp.onnx"),
        &pnn,
        &pocketnn_convert::ConvertOptions::default(),
    )
    .expect("convert seed_mlp");
    let model = Model::load(&pnn).expect("load seed_mlp.pnn");
    assert!(model.is_memory_mapped() || cfg!(not(unix)));
    model
}

/// Batches of 1 to 6 digits starting at different digits (7 shapes, more
/// than a session's plan cache holds), with single-threaded logits.
fn reference_cases(model: &Model, digits: &[f32]) -> Vec<Case> {
    const IMAGE: usize = 28 * 28;
    let mut session = Session::new(model, SessionOptions::default()).expect("session");
    let mut cases = Vec::new();
    for (batch, start) in [(1, 0), (2, 3), (3, 5), (4, 1), (5, 5), (6, 2), (10, 0)] {
        let shape = vec![batch, 1, 28, 28];
        let pixels = digits[start * IMAGE..(start + batch) * IMAGE].to_vec();
        let view = TensorView::from_slice(&shape, &pixels).expect("input view");
        let outputs = session
            .run_views(&[("input", view)])
            .expect("reference run");
        let logits = outputs.get("logits").expect("logits");
        assert_eq!(logits.shape(), &[batch, 10]);
        // onnxruntime predicts digit i for row i of digits.npy
        let values = logits.as_slice::<f32>().expect("f32 logits");
        for (row, scores) in values.chunks(10).enumerate() {
            let best = (0..10).fold(0, |b, i| if scores[i] > scores[b] { i } else { b });
            assert_eq!(best, start + row, "reference prediction, batch {batch}");
        }
        cases.push(Case {
            shape,
            pixels,
            logits: logits.bytes().to_vec(),
        });
    }
    cases
}

/// Runs `case` and compares its logits bit for bit with the reference.
fn run_and_check(session: &mut Session, case: &Case, who: &str) {
    let view = TensorView::from_slice(&case.shape, &case.pixels).expect("input view");
    let outputs = session
        .run_views(&[("input", view)])
        .unwrap_or_else(|e| panic!("{who}: run failed: {e}"));
    let logits = outputs.get("logits").expect("logits");
    assert_eq!(logits.shape(), &[case.shape[0], 10], "{who}");
    assert!(
        logits.bytes() == case.logits.as_slice(),
        "{who}: batch {} differs from the single-threaded run",
        case.shape[0]
    );
}

/// Worker 0 runs with a pool of 2 threads (its own rayon pool, made and
/// dropped with each session); the others on their calling thread.
fn options(worker: usize) -> SessionOptions {
    SessionOptions::with_threads(if worker == 0 { 2 } else { 1 })
}

#[test]
fn one_model_many_sessions_bit_identical_outputs() {
    let dir = std::env::temp_dir().join(format!("pocketnn-concurrency-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let model = load_model(&dir);
    let cases = reference_cases(&model, &digits());
    let runs = AtomicUsize::new(0);
    let sessions_made = AtomicUsize::new(0);
    let churned = AtomicUsize::new(0);
    let workers_done = AtomicBool::new(false);
    let start = Barrier::new(THREADS + 2);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        let mut workers = Vec::new();
        for t in 0..THREADS {
            // Each worker holds its own handle: the test drops its own
            // below while they run.
            let model = model.clone();
            let (cases, runs, sessions_made, start) = (&cases, &runs, &sessions_made, &start);
            workers.push(scope.spawn(move || {
                start.wait();
                let mut session = None;
                for i in 0..RUNS_PER_THREAD {
                    if i % RENEW_EVERY == 0 {
                        // the old session is dropped while others run
                        drop(session.take());
                        session = Some(Session::new(&model, options(t)).unwrap());
                        sessions_made.fetch_add(1, Ordering::Relaxed);
                    }
                    let s = session.as_mut().expect("a session");
                    // a different walk through the shapes per thread
                    let case = &cases[(i * (t + 1) + t) % cases.len()];
                    run_and_check(s, case, &format!("thread {t}, run {i}"));
                    runs.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        // Churn: sessions made, run once and dropped, until the workers end.
        let churn_model = model.clone();
        let (cases, churned, workers_done, start) = (&cases, &churned, &workers_done, &start);
        let churn = scope.spawn(move || {
            start.wait();
            let mut i = 0;
            while !workers_done.load(Ordering::Relaxed) {
                let mut s = Session::new(&churn_model, SessionOptions::default()).unwrap();
                run_and_check(&mut s, &cases[i % cases.len()], &format!("churn {i}"));
                drop(s);
                churned.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        });
        start.wait();
        drop(model);
        let mut panicked = 0;
        for w in workers {
            panicked += usize::from(w.join().is_err());
        }
        workers_done.store(true, Ordering::Relaxed);
        assert!(churn.join().is_ok(), "the churn thread panicked");
        assert_eq!(panicked, 0, "{panicked} worker threads panicked");
    });
    let runs = runs.into_inner();
    assert_eq!(runs, THREADS * RUNS_PER_THREAD);
    println!(
        "{THREADS} threads x {RUNS_PER_THREAD} runs = {runs} runs over {} shapes, bit-identical; \
         {} worker sessions made, {} churn sessions made and dropped; {:.2?}",
        cases.len(),
        sessions_made.into_inner(),
        churned.into_inner(),
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Sessions and models move between threads and are shared by reference.
#[test]
fn model_and_session_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Model>();
    send::<Session>();
}
