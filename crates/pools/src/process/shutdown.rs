//! Steps 5 and 6 of chapter 3: a broken pool, a task timeout, and stopping.
//!
//! 5. **Failure.** When the dispatch loop finds a worker gone wrong, it calls
//!    [`ProcessPool::break_on`]. A worker that exited is reaped and reported with its
//!    signal or exit status; a live one that sent a corrupt frame is killed and reaped
//!    at once, and reported with what it sent. A worker whose task ran past the task
//!    timeout is killed and reaped by [`ProcessPool::time_out`]. Either way the pool
//!    is then broken: like Python's `BrokenProcessPool`, it stops every other worker
//!    and refuses all further work.
//! 6. **Stop.** [`ProcessPool::stop_all`], also run when the pool is dropped, closes
//!    every task pipe, so that each idle worker reads end-of-file and exits, and
//!    reaps every worker.

use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};

use super::ProcessPool;
use super::dispatch::WorkerError;
use super::sys::{describe, reap};
use crate::record::{PoolKind, TaskError, WorkerDeath};
use crate::timeout::TimedOut;

/// How long a stopping worker may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

impl ProcessPool {
    /// Step 5: marks the pool broken because of worker `index`, which `error` says
    /// what went wrong with; then stops all the others. Returns the error every
    /// pending task fails with.
    pub(super) fn break_on(&mut self, index: usize, error: WorkerError) -> TaskError {
        let pid = self.workers[index].pid;
        let how = if error.has_exited() {
            // It has gone by itself: its exit status or signal is the cause.
            describe(reap(pid, EXIT_GRACE))
        } else {
            // It is alive, but what it sends cannot be trusted: kill it now rather than
            // wait for an exit that may never come, and report what it did, with the
            // whole chain of causes (`{:#}`), e.g. "sent a corrupt frame: Hit the end
            // of buffer, expected more data".
            let _ = kill(pid, Signal::SIGKILL);
            reap(pid, EXIT_GRACE);
            format!("{:#}, so it was killed", anyhow::Error::new(error))
        };
        self.break_after(index, how)
    }

    /// Step 5, with a task timeout: kills and reaps worker `index`, whose task `task`
    /// ran past the timeout, and breaks the pool.
    pub(super) fn time_out(&mut self, index: usize, task: usize) -> (TimedOut, TaskError) {
        let worker = &self.workers[index];
        let limit = self.task_timeout.unwrap_or_default();
        // SIGKILL: it ends a stopped worker too; `reap` collects it within moments.
        let _ = kill(worker.pid, Signal::SIGKILL);
        reap(worker.pid, EXIT_GRACE);
        let timed_out = TimedOut {
            pool: PoolKind::Process,
            index: task,
            worker: index,
            pid: worker.pid.as_raw(),
            limit,
        };
        let how = format!(
            "was killed because task {task} ran past the task timeout of {} s",
            limit.as_secs_f64()
        );
        (timed_out, self.break_after(index, how))
    }

    /// Marks the pool broken because of worker `index`, already reaped, which `how`
    /// describes; then stops all the others.
    fn break_after(&mut self, index: usize, how: String) -> TaskError {
        let worker = &mut self.workers[index];
        worker.reaped = true;
        let death = WorkerDeath {
            worker: index,
            pid: worker.pid.as_raw(),
            how,
        };
        // Like Python, a broken pool is finished: stop every other worker now.
        for other in self.workers.iter_mut().filter(|w| !w.reaped) {
            let _ = kill(other.pid, Signal::SIGKILL);
        }
        self.stop_all();
        let broken = TaskError::BrokenPool(death);
        self.broken = Some(broken.clone());
        broken
    }

    /// Step 6: closes every task pipe, so that idle workers exit, and reaps every
    /// worker.
    pub(super) fn stop_all(&mut self) {
        for worker in &mut self.workers {
            worker.tasks = None;
        }
        // Wait for all the exits at once, rather than one `reap` after another: a
        // worker's result pipe hangs up when it exits, so `reap` then finds it gone.
        let live: Vec<&OwnedFd> = self
            .workers
            .iter()
            .filter(|w| !w.reaped)
            .map(|w| &w.results)
            .collect();
        wait_for_hangups(&live, EXIT_GRACE);
        // Everyone has had the whole grace period by now, together. A worker whose
        // pipe hung up is exiting and is reaped at once; one still busy after the grace
        // gets SIGKILL almost at once, rather than a grace period of its own each.
        for worker in self.workers.iter_mut().filter(|w| !w.reaped) {
            reap(worker.pid, Duration::from_millis(50));
            worker.reaped = true;
        }
    }
}

impl Drop for ProcessPool {
    /// Step 6: a dropped pool stops its workers.
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// Waits until every one of `pipes` has hung up (no writer is left), or `grace` has
/// passed.
fn wait_for_hangups(pipes: &[&OwnedFd], grace: Duration) {
    let deadline = Instant::now() + grace;
    let mut open = pipes.to_vec();
    while !open.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        // No events asked for: poll always reports a hang-up, and unread results
        // (POLLIN) must not wake us.
        let mut fds: Vec<PollFd<'_>> = open
            .iter()
            .map(|fd| PollFd::new(fd.as_fd(), PollFlags::empty()))
            .collect();
        // Rounded up: a timeout of 0 ms would spin until the deadline.
        let timeout = PollTimeout::try_from(left.as_millis() + 1).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(_) => return,
        }
        let gone: Vec<bool> = fds
            .iter()
            .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        let mut gone = gone.into_iter();
        open.retain(|_| !gone.next().unwrap_or(false));
    }
}
