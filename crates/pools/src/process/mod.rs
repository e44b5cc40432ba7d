//! Worker processes: parallel like threads, but each with its own copy of memory.
//!
//! Everything a task needs must cross a process boundary, so the pool talks to each
//! worker over two pipes: tasks go down one, results come back on the other. The
//! messages are small postcard-encoded frames (`wire.rs`).
//!
//! # The six steps
//!
//! Chapter 3 of the book ("How the process pool works") tells a pool's life in six
//! steps. The code follows them one by one, with a `// Step N` comment where each is
//! done:
//!
//! 1. **Start.** [`ProcessPool::new`] starts every worker up front (`start.rs`:
//!    `start_workers`). Each worker gets its task pipe as descriptor 3 and its result
//!    pipe as descriptor 4 (`sys.rs`: `install_worker_fds`).
//! 2. **Send the task.** `map` sends each worker the task, serialised, and its name
//!    (`dispatch.rs`: `ProcessPool::dispatch`). The worker rebuilds it (`worker.rs`:
//!    `serve`, `find_decoder`).
//! 3. **Send inputs.** Each idle worker gets the next input, or the next chunk of
//!    `chunksize` inputs as one frame (`dispatch.rs`: `top_up`, `flush`); the worker
//!    runs them one by one (`worker.rs`: `serve`).
//! 4. **Collect.** One `poll` waits on every result pipe (`dispatch.rs`:
//!    `ProcessPool::wait`), and each result is filed at its input's index
//!    (`ProcessPool::collect`).
//! 5. **Failure.** A worker whose result pipe closes, that sends a corrupt frame, or
//!    whose task runs past the task timeout breaks the pool (`shutdown.rs`:
//!    `ProcessPool::break_on`, `ProcessPool::time_out`).
//! 6. **Stop.** Dropping the pool closes the task pipes and reaps every worker
//!    (`shutdown.rs`: `ProcessPool::stop_all`).
//!
//! # Layout
//!
//! In reading order:
//!
//! - `mod.rs` (this file): the start methods, and the [`ProcessPool`] type and its API.
//! - `wire.rs`: the frames that cross the pipes, and how both ends read them.
//! - `worker.rs`: the loop a worker runs, the far end of steps 2 to 4.
//! - `dispatch.rs`: the dispatch loop, steps 2 to 4. This is the heart of the pool.
//! - `shutdown.rs`: steps 5 and 6: a broken pool, a task timeout, and stopping.
//! - `start.rs`: step 1: the pipes, `fork`, `spawn`, and asking the forkserver.
//! - `sys.rs`: the Linux helpers: descriptors, `waitpid`, the parent-death signal.
//! - [`forkserver`]: the forkserver process, and how the pool asks it for workers.
//!
//! # Start methods
//!
//! Like Python's `multiprocessing`, the pool can start its workers three ways. The
//! table describes this pool; Python's forkserver differs (see below):
//!
//! | method | how a worker starts | what it inherits | needs registration |
//! |---|---|---|---|
//! | `fork` | `fork()` of the pool's process | a copy of all memory, one thread | no |
//! | `spawn` | `fork()` + `exec()` of the program | nothing: a fresh program | yes |
//! | `forkserver` | `fork()` of a server forked at start-up | the program at start-up | yes |
//!
//! Under `fork` the child can call the very function the parent passed, at the same
//! address. Under `spawn` and `forkserver` it must find the task by name in the
//! program's registry (see [`serve_if_worker`](crate::serve_if_worker)), as Python
//! finds a pickled function by importing it. (Python's `ProcessPoolExecutor` pickles
//! the function under `fork` too, since its tasks go through a queue to workers that
//! are already running.)
//!
//! Python's forkserver is not forked from the program: on first use, Python spawns
//! it as a fresh interpreter (`fork` + `exec`) that imports `__main__` and then forks
//! workers (`Lib/multiprocessing/forkserver.py`). Ours is forked from the program at
//! the top of `main`, while it is still single-threaded: the same starting point,
//! without the cost of starting an interpreter.
//!
//! # Failure
//!
//! Each worker has its own result pipe, watched with `poll`. When a worker dies, its
//! pipe reaches end-of-file at once (nobody else holds the write end), the pool reaps
//! it with `waitpid`, and every pending task fails with [`TaskError::BrokenPool`]
//! naming the worker's pid and its signal or exit status. A live worker that sends a
//! frame the pool cannot decode is killed and reaped at once, and the error names the
//! corrupt frame and its cause. Workers die with the pool's process
//! (`PR_SET_PDEATHSIG`), and exit when their task pipe closes, which is how a dropped
//! pool stops them.
//!
//! A worker that neither answers nor dies (stopped, or stuck in a task) would make
//! `map` wait forever. With [`ProcessPool::set_task_timeout`], `poll` waits no longer
//! than the oldest busy worker has left; a worker past the limit is killed and reaped,
//! and its task fails with [`TaskError::TimedOut`] (see [`crate::timeout`]).
//!
//! # Limits
//!
//! - `PR_SET_PDEATHSIG` fires when the worker's parent *thread* exits, not only the
//!   process. Under `fork` and `spawn` that is the thread that created the pool:
//!   create pools on a thread that lives as long as they do (`main`). A forkserver
//!   worker is re-parented to this process by the kernel, which picks the thread:
//!   the first live one it finds, starting from the thread that started the
//!   forkserver (normally `main`'s). So keep that thread alive too.
//! - Under `fork`, the pool sends the address of the task's decoder; it is valid for
//!   code mapped at the time of the fork, not for a library loaded later with `dlopen`.
//! - A worker keeps only its two pipes open. A task must open the files and sockets it
//!   needs itself rather than use ones the parent opened before the pool.
//! - If a `map` is abandoned by a panic (say, in the progress callback), do not reuse
//!   the pool: drop it.

mod dispatch;
pub mod forkserver;
mod shutdown;
mod start;
pub(crate) mod sys;
pub(crate) mod wire;
pub mod worker;

use std::time::Duration;

use self::dispatch::Worker;
pub use self::forkserver::ForkserverError;
pub use self::start::StartError;
use crate::chunk::Chunksize;
use crate::executor::{Executor, PoolError, TaskResult};
use crate::record::{PoolKind, TaskError};
use crate::task::Task;

/// How worker processes are started: the one definition, shared with isolation-demo,
/// lives in `procutil`. The table above says what each method means here.
pub use procutil::StartMethod;

/// A pool of worker processes.
#[derive(Debug)]
pub struct ProcessPool {
    method: StartMethod,
    /// The pool's side of each worker (`dispatch.rs`), by worker index.
    workers: Vec<Worker>,
    /// Set once the pool is broken (a worker died, or `poll` failed): the error every
    /// task then fails with, for the pool refuses all further work.
    broken: Option<TaskError>,
    /// How long one task may run (see [`crate::timeout`]); `None`: no limit.
    task_timeout: Option<Duration>,
}

impl ProcessPool {
    /// Starts `workers` worker processes with the given start method.
    ///
    /// `Fork` refuses to run in a multi-threaded process; `Forkserver` needs
    /// [`forkserver::start`] to have been called; `Spawn` needs the program to call
    /// [`serve_if_worker`](crate::serve_if_worker) at the top of `main`.
    pub fn new(workers: usize, method: StartMethod) -> Result<Self, PoolError> {
        if workers == 0 {
            return Err(PoolError::NoWorkers);
        }
        if method == StartMethod::Fork {
            let threads = procutil::thread_count().map_err(PoolError::CountThreads)?;
            if threads != 1 {
                return Err(PoolError::NotSingleThreaded(threads));
            }
        }
        let mut pool = ProcessPool {
            method,
            workers: Vec::with_capacity(workers),
            broken: None,
            task_timeout: None,
        };
        // Step 1: every worker is started up front. On error, `pool` is dropped here,
        // which stops the workers that did start.
        start::start_workers(&mut pool.workers, workers, method)?;
        Ok(pool)
    }

    /// The workers' process ids, by worker index.
    pub fn pids(&self) -> Vec<i32> {
        self.workers.iter().map(|w| w.pid.as_raw()).collect()
    }

    /// Why the pool is broken, if it is: the error every task now fails with.
    pub fn broken(&self) -> Option<&TaskError> {
        self.broken.as_ref()
    }

    /// Sets (or, with `None`, removes) how long one task may run. A worker whose task
    /// runs past it is killed and reaped, the task fails with
    /// [`TaskError::TimedOut`], and the pool is broken (see [`crate::timeout`]).
    pub fn set_task_timeout(&mut self, limit: Option<Duration>) {
        self.task_timeout = limit;
    }
}

impl Executor for ProcessPool {
    fn kind(&self) -> PoolKind {
        PoolKind::Process
    }

    fn workers(&self) -> usize {
        self.workers.len()
    }

    fn map_chunked_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        let mut results: Vec<Option<TaskResult<T::Output>>> =
            (0..inputs.len()).map(|_| None).collect();
        // Steps 2 to 5 (`dispatch.rs`).
        if let Err(broken) = self.dispatch(task, inputs, chunksize, &mut results, on_done) {
            for slot in results.iter_mut().filter(|s| s.is_none()) {
                *slot = Some(Err(broken.clone()));
            }
        }
        results
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| Err(TaskError::Failed("no result".into()))))
            .collect()
    }
}
