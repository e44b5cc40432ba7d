//! Real threads: every worker runs at the same time as the others, on as many cores
//! as the machine has. Rust has no global interpreter lock, so for CPU-bound work
//! this pool is as parallel as the process pool, without any copying.
//!
//! The workers of one `map` are scoped threads (`std::thread::scope`): they may borrow
//! the task and the inputs, and they are joined before `map` returns. Starting a
//! thread costs some tens of microseconds, which is noise next to the tasks here; a
//! pool whose threads outlive each call would have to erase those borrows' lifetimes
//! with `unsafe`, which is what rayon does.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::ops::Range;
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
    pub(crate) fn next_chunk(&self, size: usize) -> Option<Range<usize>> {
        let first = self.next.fetch_add(size, Ordering::Relaxed);
        (first < self.len).then(|| first..(first.saturating_add(size)).min(self.len))
    }
}

/// What one worker thread produced: the chunks of inputs it claimed, in the order it
/// claimed them, and their results, one after another in the same order.
///
/// Keeping the chunks rather than an index per result lets [`run_workers`] put the
/// results back in input order by moving whole chunks: a worker that claimed
/// `10..20` and then `30..40` holds twenty results, and two ranges say where they go.
#[derive(Debug)]
pub(crate) struct Finished<O> {
    chunks: Vec<Range<usize>>,
    results: Vec<TaskResult<O>>,
}

impl<O> Default for Finished<O> {
    fn default() -> Self {
        Finished {
            chunks: Vec::new(),
            results: Vec::new(),
        }
    }
}

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
    in_input_order(len, finished, &missing)
}

/// Merges the workers' chunks back into input order. Each worker's chunks ascend and
/// no two chunks overlap, so the chunk that comes next is always at the head of some
/// worker's list: a heap keyed by each head's first index finds it. Whole chunks are
/// moved, so this serial step costs one move per result, and nothing per worker
/// beyond the heap. Inputs that no worker reports (a worker that died, or one the OS
/// refused to start) fail with `missing`.
fn in_input_order<O>(len: usize, finished: Vec<Finished<O>>, missing: &str) -> Vec<TaskResult<O>> {
    let mut workers: Vec<_> = finished
        .into_iter()
        .map(|f| (f.chunks.into_iter(), f.results.into_iter()))
        .collect();
    let mut heads = BinaryHeap::new();
    for (worker, (chunks, _)) in workers.iter_mut().enumerate() {
        if let Some(chunk) = chunks.next() {
            heads.push(Reverse((chunk.start, chunk.end, worker)));
        }
    }
    let mut ordered = Vec::with_capacity(len);
    let fill_missing = |ordered: &mut Vec<TaskResult<O>>, up_to: usize| {
        while ordered.len() < up_to {
            ordered.push(Err(TaskError::Failed(missing.to_owned())));
        }
    };
    while let Some(Reverse((start, end, worker))) = heads.pop() {
        fill_missing(&mut ordered, start);
        let (chunks, results) = &mut workers[worker];
        ordered.extend(results.by_ref().take(end - start));
        if let Some(chunk) = chunks.next() {
            heads.push(Reverse((chunk.start, chunk.end, worker)));
        }
    }
    fill_missing(&mut ordered, len);
    ordered
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
    let mut finished = Finished::default();
    while let Some(chunk) = claim.next_chunk(sizer.next_size()) {
        finished.chunks.push(chunk.clone());
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
            finished.results.push(result);
        }
    }
    finished
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker's report of the chunks it claimed, each result carrying its index.
    fn worker(chunks: &[Range<usize>]) -> Finished<usize> {
        Finished {
            chunks: chunks.to_vec(),
            results: chunks
                .iter()
                .flat_map(|c| c.clone())
                .map(|index| {
                    Ok(TaskRecord {
                        index,
                        start: 0.0,
                        end: 0.0,
                        worker: 0,
                        pid: 0,
                        tid: 0,
                        output: index,
                    })
                })
                .collect(),
        }
    }

    /// What `in_input_order` made of the reports: each index's output, or `None`
    /// where it failed.
    fn merged(len: usize, reports: Vec<Finished<usize>>) -> Vec<Option<usize>> {
        in_input_order(len, reports, "gone")
            .into_iter()
            .map(|r| r.ok().map(|r| r.output))
            .collect()
    }

    #[test]
    fn interleaved_chunks_of_any_size_come_back_in_input_order() {
        let reports = vec![
            worker(&[0..3, 8..9]),
            worker(&[3..4, 9..12]),
            worker(&[4..7, 7..8]),
        ];
        let expected: Vec<_> = (0..12).map(Some).collect();
        assert_eq!(merged(12, reports), expected);
    }

    #[test]
    fn inputs_no_worker_reports_fail_and_keep_their_place() {
        // The second worker died: its chunks 2..4 and 6..7 are lost, and so is the tail
        // it would have claimed next.
        let reports = vec![worker(&[0..2, 4..6]), Finished::default()];
        assert_eq!(
            merged(8, reports),
            [Some(0), Some(1), None, None, Some(4), Some(5), None, None]
        );
        let failed = in_input_order::<usize>(1, vec![Finished::default()], "gone");
        assert!(matches!(&failed[0], Err(TaskError::Failed(why)) if why == "gone"));
    }
}
