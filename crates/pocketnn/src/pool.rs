//! The session's worker threads: a rayon pool whose threads have all exited
//! when the pool is dropped.
//!
//! rayon's `ThreadPool` only *asks* its threads to stop when dropped; they
//! finish a moment later. For a library inside an app that is a problem: a
//! session destroyed just before the app unloads the library (or exits) can
//! leave threads running its code. [`WorkerPool`] counts its threads out and
//! its `Drop` waits for the last one, with a bound so a stuck thread can
//! never hang the caller.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

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
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("pocketnn-{i}"))
            .exit_handler(move |_| {
                let mut count = on_exit.count.lock().unwrap_or_else(PoisonError::into_inner);
                *count = count.saturating_sub(1);
                on_exit.exited.notify_all();
            })
            .build()?;
        Ok(WorkerPool {
            pool: Some(pool),
            live,
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
        let deadline = Instant::now() + EXIT_WAIT;
        let mut count = self
            .live
            .count
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        while *count > 0 {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            count = match self.live.exited.wait_timeout(count, deadline - now) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }
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
        drop(pool);
        assert_eq!(*live.count.lock().unwrap(), 0);
    }
}
