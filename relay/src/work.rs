//! CPU-heavy work (decoding and hashing result files) on a fixed set of threads of its own,
//! behind a bounded queue: the runtime's threads, which answer small requests, never run
//! it, and when uploads arrive faster than they can be hashed the excess is refused at once
//! (503, retry) rather than queued without bound. The workers run at the lowest scheduling
//! priority (nice 19 on Linux), so they use every idle core but yield to the threads that
//! answer small requests.

use std::sync::Mutex;
use std::sync::mpsc::{self, SyncSender, TrySendError};
use std::thread;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Why a job did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WorkError {
    /// Every thread is busy and the queue is full.
    #[error("the relay is hashing as many uploads as it can; retry shortly")]
    Busy,
    /// The job panicked (a bug; the thread survives).
    #[error("the hashing job failed")]
    Panicked,
}

/// A pool of named worker threads with a bounded queue.
#[derive(Debug)]
pub struct WorkPool {
    queue: Mutex<SyncSender<Job>>,
    threads: usize,
}

impl WorkPool {
    /// `threads` workers (at least one) and room for `queued` waiting jobs.
    pub fn new(threads: usize, queued: usize) -> Self {
        let threads = threads.max(1);
        let (tx, rx) = mpsc::sync_channel::<Job>(queued);
        let rx = std::sync::Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let spawned = thread::Builder::new()
                .name(format!("relay-hash-{i}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = {
                            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
                            rx.recv()
                        };
                        match job {
                            // A panicking job is reported through its dropped sender.
                            Ok(job) => {
                                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                            }
                            Err(_) => return,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a hashing thread");
            }
        }
        Self {
            queue: Mutex::new(tx),
            threads,
        }
    }

    /// A thread per core (at a lower priority, so requests still come first).
    pub fn for_this_machine() -> Self {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        Self::new(cores, 64)
    }

    /// How many worker threads there are.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Runs `job` on a worker and awaits its result; [`WorkError::Busy`] at once if the
    /// queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkError> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(job());
        });
        let sent = self
            .queue
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_send(job);
        match sent {
            Ok(()) => rx.await.map_err(|_| WorkError::Panicked),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(WorkError::Busy),
        }
    }
}

/// Lowers the calling thread's scheduling priority to the lowest.
fn lower_priority() {
    if let Err(e) =
        thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min)
    {
        tracing::debug!(error = ?e, "could not lower a hashing thread's priority");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn jobs_run_off_the_runtime_and_excess_is_refused() {
        let pool = Arc::new(WorkPool::new(1, 1));
        let name = pool
            .run(|| thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("relay-hash-0"));
        // Linux: the worker runs at nice 19 (field 19 of its stat line).
        let nice = pool
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
                stat.rsplit(')')
                    .next()?
                    .split_whitespace()
                    .nth(16)
                    .map(str::to_owned)
            })
            .await
            .unwrap();
        if cfg!(target_os = "linux") {
            assert_eq!(
                nice.as_deref(),
                Some("19"),
                "the hashing thread kept its priority"
            );
        }

        // One job runs (blocked), one waits in the queue: a third is refused.
        let (release, blocked) = std::sync::mpsc::channel::<()>();
        let started = Arc::new(AtomicUsize::new(0));
        let first = {
            let (pool, started) = (pool.clone(), started.clone());
            tokio::spawn(async move {
                pool.run(move || {
                    started.fetch_add(1, Ordering::SeqCst);
                    blocked.recv().unwrap();
                })
                .await
            })
        };
        while started.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        let second = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert_eq!(pool.run(|| 3).await, Err(WorkError::Busy));
        release.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert_eq!(second.await.unwrap(), Ok(2));

        // A panicking job is an error, and the thread lives on.
        assert_eq!(pool.run(|| panic!("bug")).await, Err(WorkError::Panicked));
        assert_eq!(pool.run(|| 4).await, Ok(4));
    }
}
