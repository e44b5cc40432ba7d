//! Real threads: every worker runs at the same time as the others, on as many cores
//! as the machine has. Rust has no global interpreter lock, so for CPU-bound work
//! this pool is as parallel as the process pool, without any copying.
//!
//! The workers of one `map` are scoped threads (`std::thread::scope`): they may borrow
//! the task and the inputs, and they are joined before `map` returns. Starting a
//! thread costs some tens of microseconds, which is noise next to the tasks here; a
//! pool whose threads outlive each call would have to erase those borrows' lifetimes
//! with `unsafe`, which is what rayon does.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::chunk::{Chunksize, Sizer};
use crate::executor::{Executor, PoolError, TaskResult};
use crate::record::{PoolKind, TaskError, TaskRecord};
use crate::task::{NoGil, Task, Timed, run_one};
use crate::timeout::{TaskTimeout, Watchdog};

/// A pool of real, parallel OS threads.
#[derive(Debug)]
pub struct ThreadPool {
    workers: usize,
    timeout: Option<TaskTimeout>,
}

impl ThreadPool {
    /// A pool of `workers` threads.
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        Ok(ThreadPool {
            workers,
            timeout: None,
        })
    }

    /// Sets (or, with `None`, removes) the task timeout. A thread cannot be killed:
    /// a task that runs past the limit ends the process, through
    /// [`TaskTimeout::on_stuck_thread`] (see [`crate::timeout`]).
    pub fn set_task_timeout(&mut self, timeout: Option<TaskTimeout>) {
        self.timeout = timeout;
    }
}

impl Executor for ThreadPool {
    fn kind(&self) -> PoolKind {
        PoolKind::Thread
    }

    fn workers(&self) -> usize {
        self.workers
    }

    fn map_chunked_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        let watchdog = self
            .timeout
            .map(|t| Watchdog::new(t, PoolKind::Thread, self.workers));
        run_workers(
            self.workers,
            inputs.len(),
            watchdog.as_ref(),
            |worker, claim| {
                let mut cx = NoGil;
                claim_loop(worker, claim, chunksize, watchdog.as_ref(), |index| {
                    let result = run_one(task, &inputs[index], &mut cx);
                    on_done();
                    result
                })
            },
        )
    }
}

/// Hands out input indices: whichever worker asks first gets the next chunk of them.
///
/// One atomic counter is all the "queue" a fixed list of inputs needs. It gives the
/// same load balance as a shared queue (an idle worker always takes the next inputs)
/// at the cost of a single `fetch_add` per chunk.
#[derive(Debug)]
pub(crate) struct Claim<'a> {
    next: &'a AtomicUsize,
    len: usize,
    workers: usize,
}

impl Claim<'_> {
    /// The next `size` unclaimed indices (fewer at the end), or `None` when all are
    /// taken.
    pub(crate) fn next_chunk(&self, size: usize) -> Option<std::ops::Range<usize>> {
        let first = self.next.fetch_add(size, Ordering::Relaxed);
        (first < self.len).then(|| first..(first.saturating_add(size)).min(self.len))
    }
}

/// What one worker thread produced: `(index, result)` pairs.
pub(crate) type Finished<O> = Vec<(usize, TaskResult<O>)>;

/// Starts `workers` scoped threads running `body(worker, claim)` and gathers their
/// results into input order. With a `watchdog`, the calling thread watches the
/// workers' tasks for overruns while they run.
pub(crate) fn run_workers<O: Send>(
    workers: usize,
    len: usize,
    watchdog: Option<&Watchdog>,
    body: impl Fn(usize, &Claim<'_>) -> Finished<O> + Sync,
) -> Vec<TaskResult<O>> {
    /// Tells the watchdog that a worker is done, even if it unwinds.
    struct Finish<'w>(Option<&'w Watchdog>, usize);
    impl Drop for Finish<'_> {
        fn drop(&mut self) {
            if let Some(watchdog) = self.0 {
                watchdog.worker_finished(self.1);
            }
        }
    }

    let next = AtomicUsize::new(0);
    let claim = Claim {
        next: &next,
        len,
        workers,
    };
    let mut refused = None;
    let finished: Vec<Finished<O>> = std::thread::scope(|scope| {
        let mut handles = Vec::with_capacity(workers);
        for worker in 0..workers {
            let (body, claim) = (&body, &claim);
            let started = std::thread::Builder::new()
                .name(format!("pool-worker-{worker}"))
                .spawn_scoped(scope, move || {
                    let _finish = Finish(watchdog, worker);
                    body(worker, claim)
                });
            match started {
                Ok(handle) => handles.push(handle),
                Err(e) => {
                    // The OS refused a thread (`ulimit -u`, `kernel.threads-max`): hand
                    // out no more inputs, let the started workers finish the ones they
                    // hold, and fail the rest with the reason, rather than panic.
                    next.store(len, Ordering::Relaxed);
                    refused = Some(format!(
                        "the OS refused to start worker thread {worker} of {workers}: {e}"
                    ));
                    // The workers that never started are finished too, as far as the
                    // watchdog is concerned.
                    if let Some(watchdog) = watchdog {
                        (worker..workers).for_each(|w| watchdog.worker_finished(w));
                    }
                    break;
                }
            }
        }
        if let Some(watchdog) = watchdog {
            // Returns when every worker is done; never, if a task overruns.
            watchdog.watch();
        }
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let missing = refused.unwrap_or_else(|| "worker thread died".into());
    let mut slots: Vec<Option<TaskResult<O>>> = (0..len).map(|_| None).collect();
    for (index, result) in finished.into_iter().flatten() {
        slots[index] = Some(result);
    }
    slots
        .into_iter()
        .map(|slot| slot.unwrap_or_else(|| Err(TaskError::Failed(missing.clone()))))
        .collect()
}

/// Runs `one(index)` for every index this worker claims, a chunk at a time, and
/// tags each record with the worker's identity.
pub(crate) fn claim_loop<O>(
    worker: usize,
    claim: &Claim<'_>,
    chunksize: Chunksize,
    watchdog: Option<&Watchdog>,
    mut one: impl FnMut(usize) -> Result<Timed<O>, TaskError>,
) -> Finished<O> {
    let pid = std::process::id() as i32;
    let tid = nix::unistd::gettid().as_raw();
    let mut sizer = Sizer::new(chunksize, claim.len, claim.workers);
    let mut finished = Vec::new();
    while let Some(chunk) = claim.next_chunk(sizer.next_size()) {
        // Each task of the chunk is still timed, watched and recorded on its own.
        for index in chunk {
            if let Some(watchdog) = watchdog {
                watchdog.started(worker, index);
            }
            let result = one(index);
            if let Some(watchdog) = watchdog {
                watchdog.ended(worker);
            }
            if let Ok(t) = &result {
                sizer.observe(t.end - t.start);
            }
            let result = result.map(|t| TaskRecord {
                index,
                start: t.start,
                end: t.end,
                worker,
                pid,
                tid,
                output: t.value,
            });
            finished.push((index, result));
        }
    }
    finished
}
