//! The session's worker threads: a rayon pool whose threads have all exited
//! — and been joined — when the pool is dropped.
//!
//! rayon's `ThreadPool` only *asks* its threads to stop when dropped; they
//! finish a moment later, detached. For a library inside an app that is a
//! problem: a session destroyed just before the app unloads the library (or
//! exits) can leave threads running its code, and their stacks and
//! thread-local blocks still allocated (valgrind reports them as leaks).
//! [`WorkerPool`] spawns the threads itself and keeps their join handles;
//! its `Drop` waits for every thread to pass rayon's exit handler, with a
//! bound so a stuck thread can never hang the caller, then joins them.

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

thread_local! {
    /// True on threads a [`WorkerPool`] spawned. (Not `thread::current()`:
    /// on a thread Rust did not start, such as a C caller's, that allocates
    /// a handle which is never freed.)
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// How long dropping a pool waits for its threads to exit.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// Threads still running, and the signal that one of them exited.
struct LiveThreads {
    count: Mutex<usize>,
    exited: Condvar,
}

/// A rayon thread pool that joins its threads on drop.
pub(crate) struct WorkerPool {
    pool: Option<rayon::ThreadPool>,
    live: Arc<LiveThreads>,
    handles: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl WorkerPool {
    /// A pool of `threads` threads named `pocketnn-<i>`.
    pub(crate) fn new(threads: usize) -> Result<WorkerPool, rayon::ThreadPoolBuildError> {
        // Counted before they start, so a drop right after `new` still waits.
        let live = Arc::new(LiveThreads {
            count: Mutex::new(threads),
            exited: Condvar::new(),
        });
        let on_exit = Arc::clone(&live);
        let handles = Arc::new(Mutex::new(Vec::with_capacity(threads)));
        let spawned = Arc::clone(&handles);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .spawn_handler(move |thread| {
                let mut builder = std::thread::Builder::new();
                if let Some(name) = thread.name() {
                    builder = builder.name(name.to_owned());
                }
                if let Some(size) = thread.stack_size() {
                    builder = builder.stack_size(size);
                }
                let handle = builder.spawn(|| {
                    IS_WORKER.with(|worker| worker.set(true));
                    thread.run();
                })?;
                lock(&spawned).push(handle);
                Ok(())
            })
            .thread_name(|i| format!("pocketnn-{i}"))
            .exit_handler(move |_| {
                let mut count = lock(&on_exit.count);
                *count = count.saturating_sub(1);
                on_exit.exited.notify_all();
            })
            .build()?;
        Ok(WorkerPool {
            pool: Some(pool),
            live,
            handles,
        })
    }

    /// Runs `op` inside the pool (rayon work it spawns uses these threads).
    pub(crate) fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        match &self.pool {
            Some(pool) => pool.install(op),
            None => op(),
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        // Dropping the rayon pool tells its threads to finish.
        drop(self.pool.take());
        if !self.wait_for_exit() {
            // A thread is stuck in user-visible work: leave it detached
            // rather than hang the caller.
            return;
        }
        let handles = std::mem::take(&mut *lock(&self.handles));
        // A pool dropped from a worker thread (not something a session
        // does) must not join itself: its threads are left detached.
        if IS_WORKER.with(Cell::get) {
            return;
        }
        for handle in handles {
            // Every thread is past its exit handler, so each join returns
            // at once; a worker that panicked has nothing left to report.
            let _ = handle.join();
        }
    }
}

impl WorkerPool {
    /// Waits, at most [`EXIT_WAIT`], until every thread ran its exit
    /// handler; true when they all did.
    fn wait_for_exit(&self) -> bool {
        let deadline = Instant::now() + EXIT_WAIT;
        let mut count = lock(&self.live.count);
        while *count > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            count = match self.live.exited.wait_timeout(count, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        true
    }
}

/// Locks `mutex`, ignoring poisoning: the data (a count, join handles) stay
/// valid whatever a panicking holder was doing.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rayon::prelude::*;

    #[test]
    fn dropping_the_pool_waits_for_every_thread() {
        let pool = WorkerPool::new(3).unwrap();
        let sum: u64 = pool.install(|| (0..1000u64).into_par_iter().sum());
        assert_eq!(sum, 499_500);
        let live = Arc::clone(&pool.live);
        let handles = Arc::clone(&pool.handles);
        drop(pool);
        assert_eq!(*live.count.lock().unwrap(), 0);
        assert!(handles.lock().unwrap().is_empty(), "every thread joined");
    }
}
