//! One thread, one event loop: concurrency without any parallelism.
//!
//! **The claim.** Eight GETs that wait from 1.0 to 1.7 s all finish in about 1.7 s on
//! this pool, as on the thread pool, although a single OS thread runs them: a task
//! that waits gives the thread back to the loop at its `.await`. The Fibonacci tasks
//! take as long as running them one after another, because a computation has no
//! `.await` and never gives the thread back. This is Python's `asyncio`, and the
//! delay server in `http-wait` works the same way.
//!
//! How [`AsyncPool::map`](crate::Executor::map) runs, step by step:
//!
//! 1. [`AsyncPool::new`] builds a current-thread tokio runtime. No thread is started:
//!    the thread that calls `map` runs the loop (`block_on`), and every task with it.
//! 2. `map` starts up to `workers` tasks, and a new one each time one ends: at most
//!    `workers` in flight, as `asyncio.Semaphore(workers)` would allow. They sit in a
//!    [`FuturesUnordered`], which polls only the tasks that have been woken.
//! 3. A task is its [`Task::run_async`] future. It notes its start when first polled,
//!    and its end when it completes. [`HttpFetch`](crate::HttpFetch) awaits the
//!    connection and the answer ([`crate::async_fetch`]); at each await the loop polls
//!    another task. [`Fibonacci`](crate::Fibonacci) uses the default `run_async`,
//!    which computes in the one poll: no other task starts or ends meanwhile.
//! 4. Every record carries worker 0, this process's pid and this thread's tid; the
//!    results come back in input order.
//!
//! # Task timeout
//! The loop can cancel a task that waits (it drops the future at its await), so a
//! GET past `--task-timeout` is cancelled, the tasks still in flight with it, and the
//! run ends with an error, as under the process pool. A task that computes cannot be
//! interrupted: nothing else runs until it ends, and then it is reported.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};

use crate::chunk::Chunksize;
use crate::executor::{Executor, PoolError, TaskResult};
use crate::record::{PoolKind, TaskError, TaskRecord};
use crate::task::{Task, describe, panic_message};
use crate::timeout::TimedOut;

/// A pool with one worker, the calling thread, running an event loop.
#[derive(Debug)]
pub struct AsyncPool {
    /// How many tasks may be in flight at once.
    workers: usize,
    runtime: tokio::runtime::Runtime,
    timeout: Option<Duration>,
}

impl AsyncPool {
    /// A pool that keeps up to `workers` tasks in flight on one thread.
    pub fn new(workers: usize) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        // Step 1: one thread, the caller's. IO for the sockets, time for the timeouts.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
            .map_err(PoolError::Runtime)?;
        Ok(AsyncPool {
            workers,
            runtime,
            timeout: None,
        })
    }

    /// Sets (or, with `None`, removes) the task timeout: see the module docs.
    pub fn set_task_timeout(&mut self, timeout: Option<Duration>) {
        self.timeout = timeout;
    }
}

impl Executor for AsyncPool {
    fn kind(&self) -> PoolKind {
        PoolKind::Async
    }

    /// How many tasks may be in flight at once (there is one thread).
    fn workers(&self) -> usize {
        self.workers
    }

    /// `chunksize` is ignored: every task is its own future on the one thread, and
    /// starting the next one crosses no boundary that a chunk could save.
    fn map_chunked_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        _chunksize: Chunksize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        let pid = std::process::id() as i32;
        let tid = nix::unistd::gettid().as_raw();
        let limit = self.timeout;
        let timed_out = |index| TimedOut {
            pool: PoolKind::Async,
            index,
            worker: 0,
            pid,
            limit: limit.unwrap_or_default(),
        };

        // Step 3: one task, timed from its first poll to its completion.
        let one = |index: usize| async move {
            let start = procutil::unix_now();
            let run = AssertUnwindSafe(task.run_async(&inputs[index])).catch_unwind();
            let outcome = match limit {
                Some(limit) => tokio::time::timeout(limit, run).await.ok(),
                None => Some(run.await),
            };
            let end = procutil::unix_now();
            let result = match outcome {
                // Cancelled at an await, or found past the limit when it ended.
                None => Err(TaskError::TimedOut(timed_out(index))),
                Some(_) if limit.is_some_and(|l| end - start > l.as_secs_f64()) => {
                    Err(TaskError::TimedOut(timed_out(index)))
                }
                Some(Ok(Ok(output))) => Ok(TaskRecord {
                    index,
                    start,
                    end,
                    worker: 0,
                    pid,
                    tid,
                    output,
                }),
                Some(Ok(Err(failure))) => Err(TaskError::Failed(describe(&failure))),
                Some(Err(panic)) => Err(TaskError::Failed(panic_message(&*panic))),
            };
            (index, result)
        };

        let mut slots: Vec<Option<TaskResult<T::Output>>> =
            (0..inputs.len()).map(|_| None).collect();
        let workers = self.workers;
        self.runtime.block_on(async {
            // Step 2: at most `workers` in flight; start the next when one ends.
            let mut in_flight = FuturesUnordered::new();
            let mut next = 0;
            loop {
                while next < inputs.len() && in_flight.len() < workers {
                    in_flight.push(one(next));
                    next += 1;
                }
                let Some((index, result)) = in_flight.next().await else {
                    break;
                };
                on_done();
                let stop = matches!(result, Err(TaskError::TimedOut(_)));
                slots[index] = Some(result);
                if stop {
                    // Dropping the set cancels every task in it at its await.
                    break;
                }
            }
        });
        // Step 4, and the tasks a timeout cancelled or never started.
        slots
            .into_iter()
            .map(|slot| {
                slot.unwrap_or_else(|| {
                    Err(TaskError::Failed(
                        "cancelled: another task ran past the task timeout".into(),
                    ))
                })
            })
            .collect()
    }
}
