//! The dispatch loop: steps 2 to 4 of chapter 3, the heart of the process pool.
//!
//! [`ProcessPool::dispatch`] runs one `map`, and follows the steps of the
//! [module docs](super) one by one:
//!
//! 2. **Send the task.** Every worker is sent the task once, ahead of its inputs.
//! 3. **Send inputs.** Each worker with room is given the next chunk of inputs, one
//!    input unless `chunksize` says more, as one frame ([`top_up`]). What does not fit
//!    in its task pipe waits in its `out` buffer, and goes when `poll` says there is
//!    room again ([`flush`]).
//! 4. **Collect.** One `poll` waits on every worker's result pipe
//!    ([`ProcessPool::wait`]); [`ProcessPool::collect`] reads what came and files each
//!    result at its input's index. Then back to step 3, until every input is answered.
//!
//! A worker that goes wrong is found here too, and handed to step 5 (`shutdown.rs`):
//! its result pipe closes (it died), it sends a frame that does not decode, or its
//! task runs past the task timeout ([`ProcessPool::overrun`]).
//!
//! Optimisation (skip on a first read): a worker may be given several chunks at once
//! when its tasks are tiny ([`MAX_DEPTH`], [`SHORT_TASK`], [`depth_after`]). On a
//! first read, take every worker's depth to be 1: one chunk at a time.

use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::time::Instant;

use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::unistd::Pid;
use serde::Serialize;

use super::wire::{Frames, FromWorker, Read, ToWorker, encode};
use super::{ProcessPool, StartMethod};
use crate::chunk::{Chunksize, Sizer};
use crate::executor::TaskResult;
use crate::record::{TaskError, TaskRecord};
use crate::task::{Task, decoder};

/// Optimisation (skip on a first read): how many chunks of one input a worker may have
/// queued when its tasks are tiny.
///
/// A worker whose last task took less than [`SHORT_TASK`] gets up to this many inputs
/// at once and answers them in one write, which saves system calls and wake-ups. A
/// worker running long tasks gets one at a time, so that the next input always goes
/// to whichever worker falls idle first, as with Python's `chunksize=1`.
const MAX_DEPTH: usize = 16;
/// Optimisation (skip on a first read): how many chunks of more than one input a
/// worker of tiny tasks may hold: one to run, and the next, so that it never waits
/// for the pool between chunks. More would only take work away from the others.
const MAX_DEPTH_CHUNKED: usize = 2;
/// Optimisation (skip on a first read): see [`MAX_DEPTH`]. A worker also sends the
/// result of a task at least this long at once, rather than with the rest of its
/// batch (which the task timeout relies on).
pub(crate) const SHORT_TASK: f64 = 0.000_5;

/// The pool's side of one worker process: its pid, the pool's ends of its two pipes,
/// and which inputs it holds.
#[derive(Debug)]
pub(super) struct Worker {
    pub(super) pid: Pid,
    /// Where its tasks go (non-blocking). `None` once closed.
    pub(super) tasks: Option<OwnedFd>,
    /// Where its results come from.
    pub(super) results: OwnedFd,
    /// Results read but not yet decoded.
    pub(super) frames: Frames,
    /// Encoded tasks not yet written.
    pub(super) out: Vec<u8>,
    /// Inputs sent and not yet answered, by index, oldest first: the worker answers
    /// them in this order.
    pub(super) in_flight: VecDeque<usize>,
    /// When the worker last showed progress while it had inputs: when it was given
    /// one while idle, or when its last result arrived. Its current task started no
    /// earlier than this.
    pub(super) busy_since: Instant,
    /// How many chunks it may hold at once (see [`MAX_DEPTH`]).
    pub(super) depth: usize,
    /// How many inputs its next chunk holds.
    pub(super) sizer: Sizer,
    /// The last index of each chunk it holds, oldest first.
    pub(super) chunk_ends: VecDeque<usize>,
    /// Whether `waitpid` has collected it.
    pub(super) reaped: bool,
}

/// What went wrong with one worker, as the dispatch loop found it. Step 5
/// (`ProcessPool::break_on`) turns it into the [`WorkerDeath`](crate::WorkerDeath)
/// the user sees, cause and all.
#[derive(Debug, thiserror::Error)]
pub(super) enum WorkerError {
    /// Its result pipe reached end-of-file: it has exited.
    #[error("closed its result pipe")]
    EndOfFile,
    /// Its task pipe refused a write: it has exited (`EPIPE`), or its pipe is closed.
    #[error("could not be sent its tasks")]
    Write(#[source] Errno),
    /// Reading its result pipe failed.
    #[error("could not be read from")]
    Read(#[source] Errno),
    /// It sent a frame that is not a valid [`FromWorker`].
    #[error("sent a corrupt frame")]
    Corrupt(#[source] postcard::Error),
    /// It sent a result for an input it was not running next.
    #[error("sent a result for input {index}, which it was not running")]
    BadIndex {
        /// The index it sent.
        index: u64,
    },
}

impl WorkerError {
    /// Whether the worker has gone (or is going) by itself. Then the pool waits for
    /// its exit and reports how it ended. Otherwise it is alive but cannot be trusted:
    /// the pool kills it at once, and reports what it did.
    pub(super) fn has_exited(&self) -> bool {
        matches!(self, WorkerError::EndOfFile | WorkerError::Write(_))
    }
}

impl ProcessPool {
    /// Sends the inputs out and collects the results until every input is answered
    /// (steps 2 to 4), or the pool breaks (step 5): then returns the error every
    /// pending task fails with.
    pub(super) fn dispatch<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        chunksize: Chunksize,
        results: &mut [Option<TaskResult<T::Output>>],
        on_done: &(dyn Fn() + Sync),
    ) -> Result<(), TaskError> {
        if let Some(broken) = &self.broken {
            return Err(broken.clone());
        }
        // Step 2: send the task, serialised, with its name, once to every worker and
        // ahead of its inputs. Under fork, also send the address of the function that
        // rebuilds it: the child is a copy of this process, so it is valid there.
        let state = match postcard::to_allocvec(task) {
            Ok(state) => state,
            Err(e) => {
                // A task that cannot be serialised fails every input, and breaks
                // nothing: no worker has been sent anything.
                let failed = TaskError::Failed(format!("cannot send the task: {e}"));
                for slot in results.iter_mut() {
                    *slot = Some(Err(failed.clone()));
                }
                return Ok(());
            }
        };
        let announce = ToWorker::Task {
            name: T::NAME.to_owned(),
            fork_decoder: (self.method == StartMethod::Fork).then(|| decoder::<T>() as usize),
            state,
        };
        let workers = self.workers.len();
        for worker in &mut self.workers {
            encode(&announce, &mut worker.out);
            worker.depth = 1;
            worker.sizer = Sizer::new(chunksize, inputs.len(), workers);
        }
        let mut next = 0;
        let mut remaining = inputs.len();
        while remaining > 0 {
            // Step 3: top up every worker that has room, then write what is pending.
            for index in 0..self.workers.len() {
                let worker = &mut self.workers[index];
                remaining -= top_up(worker, inputs, &mut next, results);
                if let Err(error) = flush(worker) {
                    return Err(self.break_on(index, error));
                }
            }
            // Step 4: wait for results, then file them.
            let ready = match self.wait() {
                Ok(ready) => ready,
                Err(e) => {
                    let broken = TaskError::PollFailed(e);
                    self.broken = Some(broken.clone());
                    return Err(broken);
                }
            };
            for index in ready {
                match self.collect::<T>(index, results, on_done) {
                    Ok(done) => remaining -= done,
                    // Step 5: a worker that exited or sent nonsense breaks the pool.
                    Err(error) => return Err(self.break_on(index, error)),
                }
            }
            // Step 5, with a task timeout: a worker silent for too long is killed.
            if let Some((worker, task)) = self.overrun() {
                let (timed_out, broken) = self.time_out(worker, task);
                results[task] = Some(Err(TaskError::TimedOut(timed_out)));
                return Err(broken);
            }
        }
        Ok(())
    }

    /// Step 4: one `poll` on every worker's result pipe. Returns the workers whose
    /// result pipe has something to read (results, or end-of-file).
    fn wait(&self) -> Result<Vec<usize>, Errno> {
        // The poll set mixes two kinds of descriptor. The first `workers.len()` are the
        // result pipes, the ones the loop waits for. After them come the task pipes,
        // which are there only to wake the loop: a task pipe with bytes still to go
        // asks for POLLOUT, so that step 3 can write the rest once the worker has made
        // room; one with nothing to go asks for no event. Only the result pipes are
        // looked at afterwards.
        let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(self.workers.len() * 2);
        for worker in &self.workers {
            fds.push(PollFd::new(worker.results.as_fd(), PollFlags::POLLIN));
        }
        for worker in &self.workers {
            let flags = if worker.out.is_empty() {
                PollFlags::empty()
            } else {
                PollFlags::POLLOUT
            };
            if let Some(tasks) = &worker.tasks {
                fds.push(PollFd::new(tasks.as_fd(), flags));
            }
        }
        match poll(&mut fds, self.time_left()) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
        Ok(fds[..self.workers.len()]
            .iter()
            .enumerate()
            .filter(|(_, fd)| fd.revents().is_some_and(|r| !r.is_empty()))
            .map(|(index, _)| index)
            .collect())
    }

    /// Step 4: reads what worker `index` has sent and files its results. Returns how
    /// many tasks finished, or what went wrong with the worker.
    fn collect<T: Task>(
        &mut self,
        index: usize,
        results: &mut [Option<TaskResult<T::Output>>],
        on_done: &(dyn Fn() + Sync),
    ) -> Result<usize, WorkerError> {
        let worker = &mut self.workers[index];
        match worker.frames.read_from(worker.results.as_fd()) {
            Ok(Read::Bytes) => {}
            // Nobody else holds the write end: the worker has exited.
            Ok(Read::EndOfFile) => return Err(WorkerError::EndOfFile),
            Err(e) => return Err(WorkerError::Read(e)),
        }
        let mut done = 0;
        while let Some(message) = worker.frames.next::<FromWorker<'_>>() {
            let message = message.map_err(WorkerError::Corrupt)?;
            let at = message.index as usize;
            // Results come back in the order the inputs went out.
            let expected = worker.in_flight.front() == Some(&at);
            let Some(slot) = results.get_mut(at).filter(|_| expected) else {
                return Err(WorkerError::BadIndex {
                    index: message.index,
                });
            };
            worker.in_flight.pop_front();
            if worker.chunk_ends.front() == Some(&at) {
                worker.chunk_ends.pop_front();
            }
            let elapsed = message.end - message.start;
            worker.sizer.observe(elapsed);
            worker.depth = depth_after(elapsed, worker.sizer.size());
            let output = message
                .outcome
                .map_err(|text| TaskError::Failed(text.to_owned()))
                .and_then(|bytes| {
                    postcard::from_bytes::<T::Output>(bytes)
                        .map_err(|e| TaskError::Failed(format!("cannot decode output: {e}")))
                });
            *slot = Some(output.map(|output| TaskRecord {
                index: at,
                start: message.start,
                end: message.end,
                worker: index,
                pid: worker.pid.as_raw(),
                tid: message.tid,
                output,
            }));
            done += 1;
            on_done();
        }
        if done > 0 {
            // Once per read, not per result: a read of tiny tasks holds hundreds.
            worker.busy_since = Instant::now();
        }
        Ok(done)
    }

    /// How long `poll` may wait before the oldest busy worker overruns the task
    /// timeout: forever without a timeout or a busy worker.
    fn time_left(&self) -> PollTimeout {
        let Some(limit) = self.task_timeout else {
            return PollTimeout::NONE;
        };
        let busy = self.workers.iter().filter(|w| !w.in_flight.is_empty());
        let Some(since) = busy.map(|w| w.busy_since).min() else {
            return PollTimeout::NONE;
        };
        let left = limit.saturating_sub(since.elapsed());
        // Rounded up: waking a moment early would only mean another round.
        PollTimeout::try_from(left.as_millis() + 1).unwrap_or(PollTimeout::MAX)
    }

    /// The first busy worker that has sent nothing for longer than the task timeout,
    /// and the task it is running: the oldest it holds.
    fn overrun(&self) -> Option<(usize, usize)> {
        let limit = self.task_timeout?;
        self.workers.iter().enumerate().find_map(|(index, w)| {
            let task = *w.in_flight.front()?;
            (w.busy_since.elapsed() >= limit).then_some((index, task))
        })
    }
}

/// Step 3: gives `worker` the next chunks of inputs from `next` on, each as one frame,
/// until it holds as many chunks as its depth allows (one, on a first read). Returns
/// how many inputs could not be serialised: each of those fails alone, here, and
/// counts as answered; the chunk it was to be part of ends before it.
fn top_up<I: Serialize, O>(
    worker: &mut Worker,
    inputs: &[I],
    next: &mut usize,
    results: &mut [Option<TaskResult<O>>],
) -> usize {
    let mut failed = 0;
    // Chunks of more than one input: never more than MAX_DEPTH_CHUNKED at once, even
    // when `auto` grows them within this loop.
    let room = |w: &Worker| match w.sizer.size() {
        1 => w.depth,
        _ => w.depth.min(MAX_DEPTH_CHUNKED),
    };
    while worker.chunk_ends.len() < room(worker) && *next < inputs.len() {
        let size = worker.sizer.next_size();
        let mut first = *next;
        let mut chunk = Vec::with_capacity(size.min(inputs.len() - first));
        while chunk.len() < size && *next < inputs.len() {
            match postcard::to_allocvec(&inputs[*next]) {
                Ok(input) => chunk.push(input),
                Err(e) => {
                    results[*next] =
                        Some(Err(TaskError::Failed(format!("cannot send input: {e}"))));
                    failed += 1;
                    *next += 1;
                    if chunk.is_empty() {
                        first = *next;
                        continue;
                    }
                    break;
                }
            }
            *next += 1;
        }
        if chunk.is_empty() {
            continue; // every input left failed to serialise
        }
        let last = first + chunk.len() - 1;
        if worker.in_flight.is_empty() {
            worker.busy_since = Instant::now();
        }
        worker.in_flight.extend(first..=last);
        worker.chunk_ends.push_back(last);
        let first = first as u64;
        encode(
            &ToWorker::Chunk {
                first,
                inputs: chunk,
            },
            &mut worker.out,
        );
    }
    failed
}

/// Step 3: writes as much of the worker's pending tasks as its pipe takes without
/// blocking. The rest waits for `poll` to report room (see `ProcessPool::wait`).
fn flush(worker: &mut Worker) -> Result<(), WorkerError> {
    let Some(tasks) = &worker.tasks else {
        return Err(WorkerError::Write(Errno::EPIPE));
    };
    while !worker.out.is_empty() {
        match nix::unistd::write(tasks.as_fd(), &worker.out) {
            Ok(n) => {
                worker.out.drain(..n);
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => break, // the pipe is full; poll says when it drains
            Err(e) => return Err(WorkerError::Write(e)),
        }
    }
    Ok(())
}

/// Optimisation (skip on a first read): how many chunks a worker may hold after a
/// task that took `elapsed` seconds, when its next chunk holds `size` inputs. Many
/// chunks of one after a tiny task, so that one write and one wake-up serve a batch;
/// two larger chunks, one to run and one to start next; one after a long task, so
/// that the next input goes to whichever worker falls idle first.
fn depth_after(elapsed: f64, size: usize) -> usize {
    match (elapsed < SHORT_TASK, size) {
        (false, _) => 1,
        (true, 1) => MAX_DEPTH,
        (true, _) => MAX_DEPTH_CHUNKED,
    }
}
