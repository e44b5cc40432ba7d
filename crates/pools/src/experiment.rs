//! One experiment: start a pool, map a task over the inputs, stop the pool, and
//! record what happened, as the article's `run_experiment` does.
//!
//! The measured time includes starting and stopping the workers, as it does in the
//! article (its pool lives in a `with` block inside the timed region).

use std::time::Duration;

use nix::sys::resource::{UsageWho, getrusage};

use crate::async_pool::AsyncPool;
use crate::chunk::Chunksize;
use crate::executor::{Executor, PoolError, TaskResult};
use crate::gil::{GilThreadPool, HeldInterval};
use crate::process::{ProcessPool, StartMethod};
use crate::record::{PoolKind, TaskError};
use crate::task::Task;
use crate::thread_pool::ThreadPool;
use crate::timeout::TaskTimeout;

/// Which pool to build, and how.
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    /// Process, thread, GIL-thread or async pool.
    pub kind: PoolKind,
    /// How many workers.
    pub workers: usize,
    /// How process workers start (ignored by thread pools).
    pub start_method: StartMethod,
    /// The GIL's switch interval (ignored by other pools).
    pub switch_interval: Duration,
    /// How long one task may run; `None`: no limit. See [`crate::timeout`].
    pub task_timeout: Option<TaskTimeout>,
}

/// The summary of one experiment: one row of `experiments.csv`, in the results
/// contract's type.
pub use results::ExperimentRecord;

/// Everything one experiment produced.
#[derive(Debug)]
pub struct Outcome<O> {
    /// The summary.
    pub record: ExperimentRecord,
    /// One result per input, in input order.
    pub tasks: Vec<TaskResult<O>>,
    /// For the GIL pool: every interval a worker held the lock. Empty otherwise.
    pub held: Vec<HeldInterval>,
    /// CPU seconds (user and system) that this process and the workers it reaped
    /// spent during the run: divided by the makespan, how many cores it kept busy.
    pub cpu_seconds: f64,
}

/// Runs `task` over `inputs` on a fresh pool built from `config`, tagging the run
/// `{pool}-{short}`.
///
/// A task that runs past `config.task_timeout` ends the run: with
/// [`PoolError::TimedOut`] under the process pool (its worker killed and reaped), and
/// through the timeout's `on_stuck_thread`, which ends the process, under the thread
/// pools; under the async pool, with [`PoolError::TimedOut`] too (the tasks in flight
/// cancelled).
pub fn run<T: Task>(
    config: &PoolConfig,
    short: &str,
    task: &T,
    inputs: &[T::Input],
    on_done: &(dyn Fn() + Sync),
) -> Result<Outcome<T::Output>, PoolError> {
    run_chunked(config, Chunksize::ONE, short, task, inputs, on_done)
}

/// [`run`], each worker taking `chunksize` inputs at a time (ignored by the async
/// pool, whose tasks cross no boundary; see [`Executor::map_chunked`]).
pub fn run_chunked<T: Task>(
    config: &PoolConfig,
    chunksize: Chunksize,
    short: &str,
    task: &T,
    inputs: &[T::Input],
    on_done: &(dyn Fn() + Sync),
) -> Result<Outcome<T::Output>, PoolError> {
    let before = Switches::now();
    let started_at = procutil::unix_now();
    let (tasks, held, gil_switches) = match config.kind {
        PoolKind::Process => {
            let mut pool = ProcessPool::new(config.workers, config.start_method)?;
            pool.set_task_timeout(config.task_timeout.map(|t| t.limit));
            let tasks = pool.map_chunked_observed(task, inputs, chunksize, on_done);
            drop(pool); // stop and reap the workers inside the timed region
            (ended_by_timeout(tasks)?, Vec::new(), 0)
        }
        PoolKind::Async => {
            let mut pool = AsyncPool::new(config.workers)?;
            pool.set_task_timeout(config.task_timeout.map(|t| t.limit));
            let tasks = pool.map_chunked_observed(task, inputs, chunksize, on_done);
            drop(pool); // the runtime is built and dropped inside the timed region too
            (ended_by_timeout(tasks)?, Vec::new(), 0)
        }
        PoolKind::Thread => {
            let mut pool = ThreadPool::new(config.workers)?;
            pool.set_task_timeout(config.task_timeout);
            (
                pool.map_chunked_observed(task, inputs, chunksize, on_done),
                Vec::new(),
                0,
            )
        }
        PoolKind::Gil => {
            let mut pool = GilThreadPool::new(config.workers, config.switch_interval)?;
            pool.set_task_timeout(config.task_timeout);
            let tasks = pool.map_chunked_observed(task, inputs, chunksize, on_done);
            (tasks, pool.held_intervals(), pool.switches())
        }
    };
    let finished_at = procutil::unix_now();
    let after = Switches::now();
    let record = ExperimentRecord {
        tag: format!("{}-{short}", config.kind),
        pool: config.kind,
        function: T::NAME.to_owned(),
        inputs: inputs.len() as u64,
        workers: config.workers as u64,
        start_method: (config.kind == PoolKind::Process).then(|| config.start_method.to_string()),
        switch_interval_ms: (config.kind == PoolKind::Gil)
            .then_some(config.switch_interval.as_secs_f64() * 1000.0),
        started_at,
        finished_at,
        makespan: finished_at - started_at,
        // The counters only grow (reaped children are added, never taken away).
        voluntary_switches: after.voluntary.saturating_sub(before.voluntary),
        involuntary_switches: after.involuntary.saturating_sub(before.involuntary),
        gil_switches,
    };
    Ok(Outcome {
        record,
        tasks,
        held,
        cpu_seconds: (after.cpu_seconds - before.cpu_seconds).max(0.0),
    })
}

/// The tasks, or the timeout that ended the run (the pools that can stop a task
/// return it as a task's error; see [`crate::timeout`]).
fn ended_by_timeout<O>(tasks: Vec<TaskResult<O>>) -> Result<Vec<TaskResult<O>>, PoolError> {
    let timed_out = tasks.iter().find_map(|r| match r {
        Err(TaskError::TimedOut(timed_out)) => Some(timed_out.clone()),
        _ => None,
    });
    match timed_out {
        Some(timed_out) => Err(PoolError::TimedOut(timed_out)),
        None => Ok(tasks),
    }
}

/// Context-switch counters and CPU time of this process plus its reaped children.
#[derive(Debug, Clone, Copy)]
struct Switches {
    voluntary: u64,
    involuntary: u64,
    cpu_seconds: f64,
}

impl Switches {
    fn now() -> Self {
        let mut total = Switches {
            voluntary: 0,
            involuntary: 0,
            cpu_seconds: 0.0,
        };
        for who in [UsageWho::RUSAGE_SELF, UsageWho::RUSAGE_CHILDREN] {
            if let Ok(usage) = getrusage(who) {
                // `getrusage` counts are never negative.
                total.voluntary += usage.voluntary_context_switches().max(0) as u64;
                total.involuntary += usage.involuntary_context_switches().max(0) as u64;
                total.cpu_seconds += seconds(usage.user_time()) + seconds(usage.system_time());
            }
        }
        total
    }
}

fn seconds(t: nix::sys::time::TimeVal) -> f64 {
    t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6
}
