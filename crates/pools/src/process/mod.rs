//! Worker processes: parallel like threads, but each with its own copy of memory.
//!
//! Everything a task needs must cross a process boundary, so the pool talks to each
//! worker over two pipes: tasks go down one, results come back on the other. The
//! messages are small postcard-encoded frames (`wire.rs`).
//!
//! # Start methods
//!
//! Like Python's `multiprocessing`, the pool can start its workers three ways:
//!
//! | method | how a worker starts | what it inherits | needs registration |
//! |---|---|---|---|
//! | `fork` | `fork()` of the pool's process | a copy of all memory, one thread | no |
//! | `spawn` | `fork()` + `exec()` of the program | nothing: a fresh program | yes |
//! | `forkserver` | `fork()` of a server forked at start-up | the program as it was at start-up | yes |
//!
//! Under `fork` the child can call the very function the parent passed, at the same
//! address. Under `spawn` and `forkserver` it must find the task by name in the
//! program's registry (see [`serve_if_worker`](crate::serve_if_worker)), as Python finds a pickled function by
//! importing it.
//!
//! # Failure
//!
//! Each worker has its own result pipe, watched with `poll`. When a worker dies, its
//! pipe reaches end-of-file at once (nobody else holds the write end), the pool reaps
//! it with `waitpid`, and every pending task fails with [`TaskError::BrokenPool`]
//! naming the worker's pid and its signal or exit status. Workers die with the pool's
//! process (`PR_SET_PDEATHSIG`), and exit when their task pipe closes, which is how a
//! dropped pool stops them.
//!
//! A worker that neither answers nor dies (stopped, or stuck in a task) would make
//! `map` wait forever. With [`ProcessPool::set_task_timeout`], `poll` waits no longer
//! than the oldest busy worker has left; a worker past the limit is killed and reaped,
//! and its task fails with [`TaskError::TimedOut`] (see [`crate::timeout`]).

//!
//! # Limits
//!
//! - `PR_SET_PDEATHSIG` fires when the *thread* that started a worker exits, not only
//!   the process. Create pools on a thread that lives as long as they do (`main`).
//! - Under `fork`, the pool sends the address of the task's decoder; it is valid for
//!   code mapped at the time of the fork, not for a library loaded later with `dlopen`.
//! - A worker keeps only its two pipes open. A task must open the files and sockets it
//!   needs itself rather than use ones the parent opened before the pool.
//! - If a `map` is abandoned by a panic (say, in the progress callback), do not reuse
//!   the pool: drop it.

pub mod forkserver;
pub(crate) mod sys;
pub(crate) mod wire;
pub mod worker;

use std::collections::VecDeque;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::unistd::{Pid, pipe2};

use self::sys::{describe, reap, thread_count};
use self::wire::{Frames, FromWorker, ToWorker, encode};
use self::worker::{Lookup, WORKER_ENV};
use crate::executor::{Executor, PoolError, TaskResult};
use crate::record::{PoolKind, TaskError, TaskRecord, WorkerDeath};
use crate::task::{Task, decoder};
use crate::timeout::TimedOut;

/// How worker processes are started. See the [module docs](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StartMethod {
    /// Fork the pool's own process. Fast, and any task works, but only safe while the
    /// process is single-threaded.
    #[default]
    Fork,
    /// Start the program afresh and have it serve as a worker. Slow to start, always safe.
    Spawn,
    /// Ask the forkserver, started at the top of `main`, to fork a worker.
    Forkserver,
}

impl StartMethod {
    /// Every method, in the order of the table above.
    pub const ALL: [StartMethod; 3] = [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ];

    /// The name Python uses: `fork`, `spawn` or `forkserver`.
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StartMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        StartMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                format!("unknown start method `{s}` (expected fork, spawn or forkserver)")
            })
    }
}

/// How many tasks a worker may have queued when its tasks are tiny.
///
/// A worker whose last task took less than [`SHORT_TASK`] gets up to this many inputs
/// at once and answers them in one write, which saves system calls and wake-ups. A
/// worker running long tasks gets one at a time, so that the next input always goes
/// to whichever worker falls idle first, as with Python's `chunksize=1`.
const MAX_DEPTH: usize = 16;
/// See [`MAX_DEPTH`]. A worker also sends the result of a task at least this long at
/// once, rather than with the rest of its batch (which the task timeout relies on).
pub(crate) const SHORT_TASK: f64 = 0.000_5;
/// How long a stopping worker may take to exit before it is killed.
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// One worker process and the pool's ends of its pipes.
#[derive(Debug)]
struct Worker {
    pid: Pid,
    /// Where its tasks go (non-blocking). `None` once closed.
    tasks: Option<OwnedFd>,
    /// Where its results come from.
    results: OwnedFd,
    /// Results read but not yet decoded.
    frames: Frames,
    /// Encoded tasks not yet written.
    out: Vec<u8>,
    /// Inputs sent and not yet answered, by index, oldest first: the worker answers
    /// them in this order.
    in_flight: VecDeque<usize>,
    /// When the worker last showed progress while it had inputs: when it was given
    /// one while idle, or when its last result arrived. Its current task started no
    /// earlier than this.
    busy_since: Instant,
    /// How many inputs it may hold at once (see [`MAX_DEPTH`]).
    depth: usize,
    /// Whether `waitpid` has collected it.
    reaped: bool,
}

/// A pool of worker processes.
#[derive(Debug)]
pub struct ProcessPool {
    method: StartMethod,
    workers: Vec<Worker>,
    /// Set once a worker has died; the pool then refuses all work.
    broken: Option<WorkerDeath>,
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
            let threads = thread_count().map_err(|e| PoolError::Start {
                worker: 0,
                reason: format!("cannot count this process's threads: {e}"),
            })?;
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
        if method == StartMethod::Forkserver {
            // All at once: the forkserver forks the next worker while the previous one
            // is still starting (see `forkserver::request_workers`).
            let mut first_error = None;
            for (index, worker) in start_from_forkserver(workers).into_iter().enumerate() {
                match worker {
                    Ok(worker) => pool.workers.push(worker),
                    Err(reason) => {
                        first_error.get_or_insert(PoolError::Start {
                            worker: index,
                            reason,
                        });
                    }
                }
            }
            // On error, `pool` is dropped here, which stops the workers that started.
            if let Some(error) = first_error {
                return Err(error);
            }
        } else {
            for index in 0..workers {
                // On error, `pool` is dropped here, which stops the workers started so far.
                let worker = start_worker(method).map_err(|reason| PoolError::Start {
                    worker: index,
                    reason,
                })?;
                pool.workers.push(worker);
            }
        }
        Ok(pool)
    }

    /// The start method the workers were started with.
    pub fn start_method(&self) -> StartMethod {
        self.method
    }

    /// The workers' process ids, by worker index.
    pub fn pids(&self) -> Vec<i32> {
        self.workers.iter().map(|w| w.pid.as_raw()).collect()
    }

    /// Why the pool is broken, if a worker has died.
    pub fn broken(&self) -> Option<&WorkerDeath> {
        self.broken.as_ref()
    }

    /// Sets (or, with `None`, removes) how long one task may run. A worker whose task
    /// runs past it is killed and reaped, the task fails with
    /// [`TaskError::TimedOut`], and the pool is broken (see [`crate::timeout`]).
    pub fn set_task_timeout(&mut self, limit: Option<Duration>) {
        self.task_timeout = limit;
    }

    /// Marks the pool broken because of worker `index`, then stops all the others.
    fn break_on(&mut self, index: usize) -> WorkerDeath {
        let worker = &mut self.workers[index];
        let status = reap(worker.pid, EXIT_GRACE);
        self.break_after(index, describe(status))
    }

    /// Marks the pool broken because of worker `index`, already reaped, which `how`
    /// describes; then stops all the others.
    fn break_after(&mut self, index: usize, how: String) -> WorkerDeath {
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
        self.broken = Some(death.clone());
        death
    }

    /// Closes every task pipe, so that idle workers exit, and reaps every worker.
    fn stop_all(&mut self) {
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
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A new worker's two pipes, before the worker exists.
struct Pipes {
    task_read: OwnedFd,
    task_write: OwnedFd,
    result_read: OwnedFd,
    result_write: OwnedFd,
}

impl Pipes {
    fn new() -> Result<Pipes, String> {
        // Close-on-exec, so that no other program we start inherits these pipes.
        let (task_read, task_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        let (result_read, result_write) =
            pipe2(OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        Ok(Pipes {
            task_read,
            task_write,
            result_read,
            result_write,
        })
    }

    /// Once worker `pid` has its own copies of its two ends: drops ours and returns
    /// the pool's side of the worker.
    fn into_worker(self, pid: Pid) -> Result<Worker, String> {
        // Ours must go, or we would never see end-of-file on the result pipe when the
        // worker dies.
        drop((self.task_read, self.result_write));
        nix::fcntl::fcntl(
            self.task_write.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .map_err(|e| format!("fcntl: {e}"))?;
        Ok(Worker {
            pid,
            tasks: Some(self.task_write),
            results: self.result_read,
            frames: Frames::default(),
            out: Vec::new(),
            in_flight: VecDeque::new(),
            busy_since: Instant::now(),
            depth: 1,
            reaped: false,
        })
    }
}

/// Starts one worker with `fork` or `spawn` and returns the pool's side of it.
fn start_worker(method: StartMethod) -> Result<Worker, String> {
    let pipes = Pipes::new()?;
    let pid = match method {
        StartMethod::Fork => {
            let parent = nix::unistd::getpid();
            // The child inherits the program's handlers for Ctrl-C and SIGTERM until
            // it resets them (`worker::run`). A Ctrl-C in between would run the
            // program's handler in the worker too, and print "interrupted" twice. So
            // both signals are held back across the fork: the worker unblocks them
            // once their default action is back, and we do right after the fork.
            let held = worker::interrupt_signals()
                .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
                .map_err(|e| format!("sigprocmask: {e}"))?;
            // Safety: `ProcessPool::new` checked that this process is single-threaded,
            // and nothing between that check and here starts a thread. The child is a
            // copy of this process with only this thread, holding a consistent copy of
            // every lock (allocator, stdio), so it may run ordinary Rust code. It never
            // returns from `worker_main`: it serves tasks and then `_exit`s.
            let forked = unsafe { nix::unistd::fork() };
            if let Ok(nix::unistd::ForkResult::Parent { .. }) | Err(_) = forked {
                // A Ctrl-C that came meanwhile is delivered, to us only, right here.
                let _ = held.thread_set_mask();
            }
            match forked.map_err(|e| format!("fork: {e}"))? {
                nix::unistd::ForkResult::Parent { child } => child,
                nix::unistd::ForkResult::Child => worker::worker_main(
                    pipes.task_read.as_raw_fd(),
                    pipes.result_write.as_raw_fd(),
                    parent,
                    Lookup::Fork,
                ),
            }
        }
        StartMethod::Spawn => spawn(&pipes.task_read, &pipes.result_write)?,
        StartMethod::Forkserver => {
            return start_from_forkserver(1)
                .pop()
                .unwrap_or_else(|| Err("no worker".into()));
        }
    };
    pipes.into_worker(pid)
}

/// Starts `workers` workers through the forkserver, all requested at once, and
/// returns the pool's side of each, in order.
fn start_from_forkserver(workers: usize) -> Vec<Result<Worker, String>> {
    let pipes = match (0..workers)
        .map(|_| Pipes::new())
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(pipes) => pipes,
        Err(reason) => return vec![Err(reason)],
    };
    let ends: Vec<(&OwnedFd, &OwnedFd)> = pipes
        .iter()
        .map(|p| (&p.task_read, &p.result_write))
        .collect();
    let pids = match forkserver::request_workers(&ends) {
        Ok(pids) => pids,
        // The forkserver's error already says what failed; no need to say "worker 0".
        Err(PoolError::Start { reason, .. }) => return vec![Err(reason)],
        Err(e) => return vec![Err(e.to_string())],
    };
    pipes
        .into_iter()
        .zip(pids)
        .map(|(pipes, pid)| pid.and_then(|pid| pipes.into_worker(pid)))
        .collect()
}
/// Starts this program again as a `spawn` worker.
fn spawn(task_read: &OwnedFd, result_write: &OwnedFd) -> Result<Pid, String> {
    // `/proc/self/exe`, not the path we were started from: if the binary is rebuilt
    // or replaced during a run, the workers must still be this very program.
    let name = std::env::args_os()
        .next()
        .unwrap_or_else(|| "pools-worker".into());
    let (task, result) = (task_read.as_raw_fd(), result_write.as_raw_fd());
    let mut command = std::process::Command::new("/proc/self/exe");
    command.arg0(name);
    command
        .env(WORKER_ENV, std::process::id().to_string())
        .stdin(std::process::Stdio::null());
    let parent = nix::unistd::getpid();
    // Safety: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed; `die_with_parent` makes only `prctl` and
    // `getppid` calls, and `install_worker_fds` only `fcntl`, `dup2` and `close`.
    unsafe {
        command.pre_exec(move || {
            // Armed before the exec as well as after it (`serve_if_worker`): a child
            // stopped in between would otherwise outlive a killed pool.
            procutil::parent_death::die_with_parent(parent)
                .map_err(|_| std::io::Error::from_raw_os_error(libc::ESRCH))?;
            sys::install_worker_fds(task, result, false)
        });
    }
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start a spawn worker: {e}"))?;
    Ok(Pid::from_raw(child.id() as i32))
}

impl Executor for ProcessPool {
    fn kind(&self) -> PoolKind {
        PoolKind::Process
    }

    fn workers(&self) -> usize {
        self.workers.len()
    }

    fn map_observed<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        on_done: &(dyn Fn() + Sync),
    ) -> Vec<TaskResult<T::Output>> {
        let mut results: Vec<Option<TaskResult<T::Output>>> =
            (0..inputs.len()).map(|_| None).collect();
        if let Err(death) = self.dispatch(task, inputs, &mut results, on_done) {
            for slot in results.iter_mut().filter(|s| s.is_none()) {
                *slot = Some(Err(TaskError::BrokenPool(death.clone())));
            }
        }
        results
            .into_iter()
            .map(|slot| slot.unwrap_or_else(|| Err(TaskError::Failed("no result".into()))))
            .collect()
    }
}

impl ProcessPool {
    /// Sends the inputs out and collects the results until every input is answered,
    /// or a worker dies.
    fn dispatch<T: Task>(
        &mut self,
        task: &T,
        inputs: &[T::Input],
        results: &mut [Option<TaskResult<T::Output>>],
        on_done: &(dyn Fn() + Sync),
    ) -> Result<(), WorkerDeath> {
        if let Some(death) = &self.broken {
            return Err(death.clone());
        }
        let state = postcard::to_allocvec(task).map_err(|e| WorkerDeath {
            worker: 0,
            pid: 0,
            how: format!("could not be sent the task: {e}"),
        })?;
        let announce = ToWorker::Task {
            name: T::NAME.to_owned(),
            fork_decoder: (self.method == StartMethod::Fork).then(|| decoder::<T>() as usize),
            state,
        };
        for worker in &mut self.workers {
            encode(&announce, &mut worker.out);
            worker.depth = 1;
        }
        let mut next = 0;
        let mut remaining = inputs.len();
        while remaining > 0 {
            // Top up every worker that has room, then write what is pending.
            for (index, worker) in self.workers.iter_mut().enumerate() {
                while worker.in_flight.len() < worker.depth && next < inputs.len() {
                    match postcard::to_allocvec(&inputs[next]) {
                        Ok(input) => {
                            let index = next as u64;
                            encode(&ToWorker::Input { index, input }, &mut worker.out);
                            if worker.in_flight.is_empty() {
                                worker.busy_since = Instant::now();
                            }
                            worker.in_flight.push_back(next);
                        }
                        // An input that cannot be serialised fails alone, here.
                        Err(e) => {
                            results[next] =
                                Some(Err(TaskError::Failed(format!("cannot send input: {e}"))));
                            remaining -= 1;
                        }
                    }
                    next += 1;
                }
                if flush(worker).is_err() {
                    return Err(self.break_on(index));
                }
            }
            // Wait for results (or for room in a full task pipe).
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(self.workers.len() * 2);
            for worker in &self.workers {
                fds.push(PollFd::new(worker.results.as_fd(), PollFlags::POLLIN));
            }
            for worker in &self.workers {
                let wants_out = !worker.out.is_empty();
                let flags = if wants_out {
                    PollFlags::POLLOUT
                } else {
                    PollFlags::empty()
                };
                if let Some(tasks) = &worker.tasks {
                    fds.push(PollFd::new(tasks.as_fd(), flags));
                }
            }
            match poll(&mut fds, self.time_left()) {
                Ok(_) | Err(Errno::EINTR) => {}
                Err(e) => {
                    let death = WorkerDeath {
                        worker: 0,
                        pid: 0,
                        how: format!("could not be watched: {e}"),
                    };
                    self.broken = Some(death.clone());
                    return Err(death);
                }
            }
            let ready: Vec<bool> = fds[..self.workers.len()]
                .iter()
                .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                .collect();
            drop(fds);
            for (index, ready) in ready.into_iter().enumerate() {
                if !ready {
                    continue;
                }
                match self.collect::<T>(index, results, on_done) {
                    Ok(done) => remaining -= done,
                    Err(()) => return Err(self.break_on(index)),
                }
            }
            if let Some((worker, task)) = self.overrun() {
                let (timed_out, death) = self.time_out(worker, task);
                results[task] = Some(Err(TaskError::TimedOut(timed_out)));
                return Err(death);
            }
        }
        Ok(())
    }

    /// How long `poll` may wait before the oldest busy worker overruns the task
    /// timeout: forever without a timeout or a busy worker.
    fn time_left(&self) -> PollTimeout {
        let Some(limit) = self.task_timeout else {
            return PollTimeout::NONE;
        };
        let Some(since) = self.busy_workers().map(|w| w.busy_since).min() else {
            return PollTimeout::NONE;
        };
        let left = limit.saturating_sub(since.elapsed());
        // Rounded up: waking a moment early would only mean another round.
        PollTimeout::try_from(left.as_millis() + 1).unwrap_or(PollTimeout::MAX)
    }

    fn busy_workers(&self) -> impl Iterator<Item = &Worker> {
        self.workers.iter().filter(|w| !w.in_flight.is_empty())
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

    /// Kills and reaps worker `index`, whose task `task` ran past the timeout, and
    /// breaks the pool.
    fn time_out(&mut self, index: usize, task: usize) -> (TimedOut, WorkerDeath) {
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

    /// Reads what worker `index` has sent and files its results. Returns how many
    /// tasks finished, or `Err` if the worker is gone.
    fn collect<T: Task>(
        &mut self,
        index: usize,
        results: &mut [Option<TaskResult<T::Output>>],
        on_done: &(dyn Fn() + Sync),
    ) -> Result<usize, ()> {
        let worker = &mut self.workers[index];
        let spare = worker.frames.spare(64 * 1024);
        let spare_len = spare.len();
        let n = match nix::unistd::read(worker.results.as_fd(), spare) {
            Ok(0) => return Err(()), // end-of-file: the worker has exited
            Ok(n) => n,
            Err(Errno::EINTR | Errno::EAGAIN) => 0,
            Err(_) => return Err(()),
        };
        worker.frames.filled(spare_len, n);
        let mut done = 0;
        while let Some(message) = worker.frames.next::<FromWorker>() {
            let message = message.map_err(|_| ())?;
            let Some(slot) = results.get_mut(message.index as usize) else {
                return Err(());
            };
            // Results come back in the order the inputs went out.
            if worker.in_flight.pop_front() != Some(message.index as usize) {
                return Err(());
            }
            worker.busy_since = Instant::now();
            worker.depth = if message.end - message.start < SHORT_TASK {
                MAX_DEPTH
            } else {
                1
            };
            let output = message
                .outcome
                .map_err(TaskError::Failed)
                .and_then(|bytes| {
                    postcard::from_bytes::<T::Output>(&bytes)
                        .map_err(|e| TaskError::Failed(format!("cannot decode output: {e}")))
                });
            *slot = Some(output.map(|output| TaskRecord {
                index: message.index as usize,
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
        Ok(done)
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

/// Writes as much of the worker's pending tasks as its pipe takes without blocking.
fn flush(worker: &mut Worker) -> Result<(), Errno> {
    let Some(tasks) = &worker.tasks else {
        return Err(Errno::EPIPE);
    };
    while !worker.out.is_empty() {
        match nix::unistd::write(tasks.as_fd(), &worker.out) {
            Ok(n) => {
                worker.out.drain(..n);
            }
            Err(Errno::EINTR) => {}
            Err(Errno::EAGAIN) => break, // the pipe is full; poll says when it drains
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
