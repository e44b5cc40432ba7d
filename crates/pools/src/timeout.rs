//! `--task-timeout`: what a pool can do about a task that runs too long.
//!
//! **The claim.** A process can be killed; a thread cannot. So a process pool with a
//! task timeout kills the worker that overran, reaps it and returns an error, while a
//! thread pool can only report the task and end the whole program.
//!
//! Off by default, like `timeout=` of Python's `Executor.map`. (Python's limit is on
//! the whole `map`, and when it passes, `map` raises but leaves the task running: a
//! hung worker process stays, and a hung thread keeps the interpreter from exiting,
//! since `concurrent.futures` joins its threads at exit.)
//!
//! 1. **Process pool.** The pool knows when it sent each worker its input, and
//!    when each result came back. A worker that holds an input and has sent nothing
//!    for longer than the limit is running one task past it (a worker sends each
//!    result of a task over half a millisecond at once, so a batch of tiny tasks
//!    cannot add up to a false alarm). The pool kills that worker with SIGKILL, which
//!    also ends a stopped one, reaps it, stops the others as for any broken pool,
//!    and fails the task with [`TaskError::TimedOut`](crate::TaskError::TimedOut).
//!    See `ProcessPool::dispatch` and `ProcessPool::time_out` (`process/dispatch.rs`
//!    and `process/shutdown.rs`).
//! 2. **Thread pools.** Each worker notes which task it is running and since when;
//!    the thread that called `map` watches those notes (`Watchdog::watch`). A task
//!    past the limit cannot be stopped from outside its thread, and `map` cannot
//!    return while a worker still borrows the inputs. So the watchdog calls
//!    [`TaskTimeout::on_stuck_thread`], whose type, `fn(&TimedOut) -> !`, says that it
//!    must end the process.
//!
//! # Limits
//! The limit is on tasks, not on starting workers. Under `spawn`, std's
//! `Command::spawn` waits until the new worker has started the program afresh (it
//! reports a failed `exec` that way), so a worker stopped in the moment between its
//! `fork` and its `exec` holds `ProcessPool::new` until it is continued or killed.

use std::fmt;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

// From the results contract itself: `crate::record` re-exports it, but `record` needs
// this module's `TimedOut`, and the two would import each other.
use results::Pool as PoolKind;

/// The shortest task timeout: one millisecond.
pub const MIN_TIMEOUT: Duration = Duration::from_millis(1);
/// The longest task timeout: one day. Anything longer is no limit in practice, and
/// a much larger number would overflow the clock arithmetic.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(86_400);

/// A task timeout the user typed that is not a number of seconds in range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{text}` is not a number of seconds from {} to {} (one day)",
    MIN_TIMEOUT.as_secs_f64(),
    MAX_TIMEOUT.as_secs_f64()
)]
pub struct BadTimeout {
    /// What the user typed.
    pub text: String,
}

/// Turns a number of seconds, as the user typed it, into a timeout, or says why not.
pub fn parse_secs(text: &str) -> Result<Duration, BadTimeout> {
    let (min, max) = (MIN_TIMEOUT.as_secs_f64(), MAX_TIMEOUT.as_secs_f64());
    let secs: f64 = text.trim().parse().unwrap_or(f64::NAN);
    // `contains` is false for NaN, so NaN and text that is not a number are refused
    // along with the rest.
    if !(min..=max).contains(&secs) {
        return Err(BadTimeout { text: text.into() });
    }
    Ok(Duration::from_secs_f64(secs))
}

/// A task timeout, and what the thread pools do when it passes.
#[derive(Debug, Clone, Copy)]
pub struct TaskTimeout {
    /// How long one task may run, from [`MIN_TIMEOUT`] to [`MAX_TIMEOUT`].
    pub limit: Duration,
    /// Called by a thread pool (not the process pool) with the task that ran past the
    /// limit. It must end the process: the thread running the task cannot be stopped.
    pub on_stuck_thread: fn(&TimedOut) -> !,
}

/// A task that ran past its pool's task timeout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedOut {
    /// Which pool ran it.
    pub pool: PoolKind,
    /// The task's position in the `map` call.
    pub index: usize,
    /// The worker that ran it, `0..workers`.
    pub worker: usize,
    /// The worker's process id (the program's own, for thread pools).
    pub pid: i32,
    /// The limit it ran past.
    pub limit: Duration,
}

impl fmt::Display for TimedOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task {} ran past the task timeout of {} s on worker {} (pid {}) of the {} pool",
            self.index,
            self.limit.as_secs_f64(),
            self.worker,
            self.pid,
            self.pool
        )?;
        match self.pool {
            PoolKind::Process => write!(f, ", which was killed"),
            PoolKind::Thread | PoolKind::Gil => write!(f, "; a thread cannot be killed"),
            PoolKind::Async => write!(
                f,
                "; the event loop cancelled the tasks in flight (a task that computes \
                 is found only when it ends)"
            ),
        }
    }
}

impl std::error::Error for TimedOut {}

/// Which task each worker thread runs, and since when: what the thread pools'
/// calling thread watches (step 2 of the module docs).
#[derive(Debug)]
pub(crate) struct Watchdog {
    timeout: TaskTimeout,
    pool: PoolKind,
    state: Mutex<Watched>,
    /// Signalled when a task starts or a worker finishes.
    changed: Condvar,
}

#[derive(Debug)]
struct Watched {
    /// By worker: the task it runs and when it started, or `None` between tasks.
    running: Vec<Option<(usize, Instant)>>,
    /// How many workers have finished all their tasks.
    finished: usize,
}

impl Watchdog {
    pub(crate) fn new(timeout: TaskTimeout, pool: PoolKind, workers: usize) -> Self {
        Watchdog {
            timeout,
            pool,
            state: Mutex::new(Watched {
                running: vec![None; workers],
                finished: 0,
            }),
            changed: Condvar::new(),
        }
    }

    /// Worker `worker` starts task `index`.
    pub(crate) fn started(&self, worker: usize, index: usize) {
        // No wake-up: a task that starts now can overrun only after every task
        // already running, and the watcher's nap is never longer than the limit.
        self.lock().running[worker] = Some((index, Instant::now()));
    }

    /// Worker `worker` has finished its task.
    pub(crate) fn ended(&self, worker: usize) {
        self.lock().running[worker] = None;
    }

    /// Worker `worker` has no more tasks. Called from a drop guard, so that a worker
    /// that unwinds still counts.
    pub(crate) fn worker_finished(&self, worker: usize) {
        let mut state = self.lock();
        state.running[worker] = None;
        state.finished += 1;
        self.changed.notify_one();
    }

    /// Returns once every worker has finished, or calls `on_stuck_thread` (which does
    /// not return) for the first task that runs past the limit.
    pub(crate) fn watch(&self) {
        let limit = self.timeout.limit;
        let mut state = self.lock();
        while state.finished < state.running.len() {
            // The oldest running task is the first that can overrun.
            let oldest = state
                .running
                .iter()
                .enumerate()
                .filter_map(|(worker, task)| task.map(|(index, since)| (since, worker, index)))
                .min();
            state = match oldest {
                // Nothing runs right now: look again after one limit at the latest.
                None => {
                    self.changed
                        .wait_timeout(state, limit)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
                Some((since, worker, index)) => {
                    let left = limit.saturating_sub(since.elapsed());
                    if left.is_zero() {
                        drop(state);
                        (self.timeout.on_stuck_thread)(&TimedOut {
                            pool: self.pool,
                            index,
                            worker,
                            pid: std::process::id() as i32,
                            limit,
                        });
                    }
                    self.changed
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Watched> {
        // Every critical section writes plain fields and cannot panic halfway.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero, negative, NaN, infinite and absurdly long timeouts are refused with the
    /// limits named; the ends of the range are accepted.
    #[test]
    fn timeouts_out_of_range_are_refused() {
        for bad in [
            "0", "-1", "0.0009", "NaN", "inf", "86401", "1e300", "", "2s",
        ] {
            let err = parse_secs(bad).unwrap_err().to_string();
            assert_eq!(
                err,
                format!("`{bad}` is not a number of seconds from 0.001 to 86400 (one day)")
            );
        }
        assert_eq!(parse_secs("0.001"), Ok(MIN_TIMEOUT));
        assert_eq!(parse_secs("86400"), Ok(MAX_TIMEOUT));
        assert_eq!(parse_secs("2.5"), Ok(Duration::from_millis(2_500)));
    }

    /// The message names the task, the worker and its pid, and what became of it.
    #[test]
    fn the_message_names_task_worker_and_pid() {
        let mut timed_out = TimedOut {
            pool: PoolKind::Process,
            index: 7,
            worker: 1,
            pid: 4242,
            limit: Duration::from_millis(500),
        };
        assert_eq!(
            timed_out.to_string(),
            "task 7 ran past the task timeout of 0.5 s on worker 1 (pid 4242) of the \
             process pool, which was killed"
        );
        timed_out.pool = PoolKind::Gil;
        assert!(
            timed_out
                .to_string()
                .ends_with("; a thread cannot be killed")
        );
    }
}
