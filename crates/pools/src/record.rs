//! What a pool returns for each task, and how a task can fail.

use std::fmt;

/// One task's result and where and when it ran.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRecord<O> {
    /// Position of the input in the `map` call (results come back in this order).
    pub index: usize,
    /// When the worker started the task, in Unix seconds.
    pub start: f64,
    /// When the worker finished the task, in Unix seconds.
    pub end: f64,
    /// Which worker ran it: `0..workers`.
    pub worker: usize,
    /// The process id of the worker (the parent's own pid for thread pools).
    pub pid: i32,
    /// The kernel thread id of the worker.
    pub tid: i32,
    /// What the task returned.
    pub output: O,
}

impl<O> TaskRecord<O> {
    /// `end - start`, in seconds.
    pub fn elapsed(&self) -> f64 {
        self.end - self.start
    }
}

/// Why a task has no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TaskError {
    /// The task returned an error or panicked. The pool carries on.
    #[error("task failed: {0}")]
    Failed(String),
    /// A worker process died, so the pool cannot vouch for any pending task. Like
    /// Python's `BrokenProcessPool`, every pending task fails with this, and the pool
    /// refuses further work.
    #[error("broken pool: {0}")]
    BrokenPool(WorkerDeath),
    /// The task ran past the pool's task timeout (see [`crate::timeout`]). Its worker
    /// process was killed, so the pool is broken too: the other pending tasks fail
    /// with [`TaskError::BrokenPool`].
    #[error("{0}")]
    TimedOut(crate::timeout::TimedOut),
    /// The process pool could no longer watch its workers' result pipes (`poll`
    /// failed). No worker died, but no pending task can be heard from, so every one
    /// fails with this, and the pool refuses further work.
    #[error("broken pool: cannot watch the workers' result pipes: poll: {0}")]
    PollFailed(nix::errno::Errno),
}

/// How a worker process ended, for the broken-pool error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerDeath {
    /// The worker's index in its pool.
    pub worker: usize,
    /// The worker's process id.
    pub pid: i32,
    /// How it ended, with the cause: e.g. "was killed by signal SIGKILL", "exited with
    /// status 3", or "sent a corrupt frame: …, so it was killed".
    pub how: String,
}

impl fmt::Display for WorkerDeath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "worker {} (pid {}) {}", self.worker, self.pid, self.how)
    }
}

/// The three kinds of pool the experiment compares: the results contract's
/// [`results::Pool`], under the name this crate has always used for it.
pub use results::Pool as PoolKind;
