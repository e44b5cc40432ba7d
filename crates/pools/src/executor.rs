//! The interface every pool implements.

use crate::chunk::Chunksize;
use crate::record::{PoolKind, TaskError, TaskRecord};
use crate::task::Task;

/// The result of one task: its record, or why it has none.
pub type TaskResult<O> = Result<TaskRecord<O>, TaskError>;

/// A pool of workers that maps a task over inputs.
///
/// `map` behaves like Python's `Executor.map` with `chunksize=1`: each idle worker
/// takes the next input, and the results come back in input order. `map_chunked`
/// takes Python's `chunksize` too ([`Chunksize`]): each idle worker takes the next
/// chunk of inputs as one unit.
pub trait Executor {
    /// Which kind of pool this is.
    fn kind(&self) -> PoolKind;

    /// How many workers run tasks.
    fn workers(&self) -> usize;

    /// Runs `task` on every input, each idle worker taking the next `chunksize`
    /// inputs at once, and returns the results in input order, calling `on_done`
    /// once per finished task (for progress bars). `on_done` may be called from
    /// worker threads, in any order.
    fn map_chunked_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>>;

    /// [`map_chunked_observed`](Executor::map_chunked_observed) with chunks of one.
    fn map_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        self.map_chunked_observed(task, inputs, Chunksize::ONE, on_done)
    }

    /// Runs `task` on every input, in chunks of `chunksize`, and returns the results
    /// in input order.
    fn map_chunked<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
    ) -> Vec<TaskResult<T::Output>> {
        self.map_chunked_observed(task, inputs, chunksize, &|| {})
    }

    /// Runs `task` on every input and returns the results in input order.
    fn map<T: Task>(&mut self, task: &T, inputs: &[T::Input]) -> Vec<TaskResult<T::Output>> {
        self.map_chunked_observed(task, inputs, Chunksize::ONE, &|| {})
    }
}

/// Why a pool could not be created, or an experiment could not finish.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// A pool needs at least one worker.
    #[error("a pool needs at least one worker")]
    NoWorkers,
    /// Starting a worker failed.
    #[error("cannot start worker {worker}")]
    Start {
        /// The worker that failed to start.
        worker: usize,
        /// What went wrong.
        #[source]
        source: crate::process::StartError,
    },
    /// The forkserver could not be asked for workers at all.
    #[error("cannot start workers through the forkserver")]
    Forkserver(#[source] crate::process::ForkserverError),
    /// The fork start method could not check that this process is single-threaded.
    #[error("cannot count this process's threads")]
    CountThreads(#[source] std::io::Error),
    /// `fork` was asked for in a process that runs other threads.
    #[error(
        "the fork start method needs a single-threaded parent, but this process runs {0} threads; \
         use the forkserver or spawn start method"
    )]
    NotSingleThreaded(usize),
    /// The forkserver start method was asked for, but no forkserver was started.
    #[error(
        "no forkserver is running: call pools::forkserver::start at the top of main, \
         before any thread is started"
    )]
    NoForkserver,
    /// The async pool's runtime could not be built (its event loop needs an epoll
    /// descriptor and an eventfd, which the OS may refuse).
    #[error("cannot start the async pool's event loop")]
    Runtime(#[source] std::io::Error),
    /// A task ran past the task timeout, and the run was ended
    /// ([`experiment::run`](crate::experiment::run)).
    #[error(transparent)]
    TimedOut(crate::timeout::TimedOut),
}
