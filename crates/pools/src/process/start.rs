//! Step 1 of chapter 3: starting the workers, up front, by `fork`, `spawn` or the
//! forkserver.
//!
//! [`start_workers`] makes each worker's two pipes ([`Pipes`]), has the worker
//! started with its ends of them, and keeps the pool's ends ([`Pipes::into_worker`]).
//! The worker's side is in `worker.rs` (`worker_main`, `serve_if_worker`) and in
//! `sys.rs` (`install_worker_fds`), which moves its ends to descriptors 3 and 4.

use crate::chunk::{Chunksize, Sizer};
use std::collections::VecDeque;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::time::Instant;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::unistd::{Pid, pipe2};

use super::StartMethod;
use super::dispatch::Worker;
use super::forkserver::{self, ForkserverError};
use super::sys;
use super::wire::Frames;
use super::worker::{self, Lookup, WORKER_ENV};
use crate::executor::PoolError;

/// Why one worker could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The kernel refused a pipe (too many open files?).
    #[error("pipe")]
    Pipe(#[source] Errno),
    /// The pool's end of the task pipe could not be made non-blocking.
    #[error("fcntl")]
    Fcntl(#[source] Errno),
    /// Ctrl-C and SIGTERM could not be held back across the fork.
    #[error("sigprocmask")]
    SignalMask(#[source] Errno),
    /// `fork` failed (too many processes?).
    #[error("fork")]
    Fork(#[source] Errno),
    /// The program could not be started again as a `spawn` worker.
    #[error("cannot start a spawn worker")]
    Spawn(#[source] std::io::Error),
    /// The forkserver could not start this worker.
    #[error(transparent)]
    Forkserver(ForkserverError),
}

/// Step 1: starts `count` workers with `method` and appends the pool's side of each
/// to `workers`. On error, the workers started so far stay in `workers`, for the
/// caller to stop.
pub(super) fn start_workers(
    workers: &mut Vec<Worker>,
    count: usize,
    method: StartMethod,
) -> Result<(), PoolError> {
    let start_one: fn(&Pipes) -> Result<Pid, StartError> = match method {
        StartMethod::Fork => fork_worker,
        StartMethod::Spawn => spawn_worker,
        StartMethod::Forkserver => return start_from_forkserver(workers, count),
    };
    for index in 0..count {
        let worker = Pipes::new()
            .and_then(|pipes| {
                let pid = start_one(&pipes)?;
                pipes.into_worker(pid)
            })
            .map_err(|source| PoolError::Start {
                worker: index,
                source,
            })?;
        workers.push(worker);
    }
    Ok(())
}

/// A new worker's two pipes, before the worker exists.
struct Pipes {
    task_read: OwnedFd,
    task_write: OwnedFd,
    result_read: OwnedFd,
    result_write: OwnedFd,
}

impl Pipes {
    fn new() -> Result<Pipes, StartError> {
        // Close-on-exec, so that no other program we start inherits these pipes.
        let (task_read, task_write) = pipe2(OFlag::O_CLOEXEC).map_err(StartError::Pipe)?;
        let (result_read, result_write) = pipe2(OFlag::O_CLOEXEC).map_err(StartError::Pipe)?;
        Ok(Pipes {
            task_read,
            task_write,
            result_read,
            result_write,
        })
    }

    /// Once worker `pid` has its own copies of its two ends: drops ours and returns
    /// the pool's side of the worker.
    fn into_worker(self, pid: Pid) -> Result<Worker, StartError> {
        // Ours must go, or we would never see end-of-file on the result pipe when the
        // worker dies.
        drop((self.task_read, self.result_write));
        nix::fcntl::fcntl(
            self.task_write.as_fd(),
            nix::fcntl::FcntlArg::F_SETFL(OFlag::O_NONBLOCK),
        )
        .map_err(StartError::Fcntl)?;
        Ok(Worker {
            pid,
            tasks: Some(self.task_write),
            results: self.result_read,
            frames: Frames::default(),
            out: Vec::new(),
            in_flight: VecDeque::new(),
            busy_since: Instant::now(),
            depth: 1,
            sizer: Sizer::new(Chunksize::ONE, 0, 1),
            chunk_ends: VecDeque::new(),
            reaped: false,
        })
    }
}

/// Starts one worker by forking this process.
fn fork_worker(pipes: &Pipes) -> Result<Pid, StartError> {
    let parent = nix::unistd::getpid();
    // The child inherits the program's handlers for Ctrl-C and SIGTERM until it
    // resets them (`worker::run`). A Ctrl-C in between would run the program's
    // handler in the worker too, and print "interrupted" twice. So both signals are
    // held back across the fork: the worker unblocks them once their default action
    // is back, and we do right after the fork.
    let held = worker::interrupt_signals()
        .thread_swap_mask(nix::sys::signal::SigmaskHow::SIG_BLOCK)
        .map_err(StartError::SignalMask)?;
    // Safety: `ProcessPool::new` checked that this process is single-threaded, and
    // nothing between that check and here starts a thread. The child is a copy of
    // this process with only this thread, holding a consistent copy of every lock
    // (allocator, stdio), so it may run ordinary Rust code. It never returns from
    // `worker_main`: it serves tasks and then `_exit`s.
    let forked = unsafe { nix::unistd::fork() };
    if let Ok(nix::unistd::ForkResult::Parent { .. }) | Err(_) = forked {
        // A Ctrl-C that came meanwhile is delivered, to us only, right here.
        let _ = held.thread_set_mask();
    }
    match forked.map_err(StartError::Fork)? {
        nix::unistd::ForkResult::Parent { child } => Ok(child),
        nix::unistd::ForkResult::Child => worker::worker_main(
            pipes.task_read.as_raw_fd(),
            pipes.result_write.as_raw_fd(),
            parent,
            Lookup::Fork,
        ),
    }
}

/// Starts this program again as a `spawn` worker.
fn spawn_worker(pipes: &Pipes) -> Result<Pid, StartError> {
    // `/proc/self/exe`, not the path we were started from: if the binary is rebuilt
    // or replaced during a run, the workers must still be this very program.
    let name = std::env::args_os()
        .next()
        .unwrap_or_else(|| "pools-worker".into());
    let (task, result) = (pipes.task_read.as_raw_fd(), pipes.result_write.as_raw_fd());
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
    let child = command.spawn().map_err(StartError::Spawn)?;
    Ok(Pid::from_raw(child.id() as i32))
}

/// Starts `count` workers through the forkserver, all requested at once (the server
/// forks the next worker while the previous one is still starting; see
/// [`forkserver::request_workers`]), and appends the pool's side of each to
/// `workers`.
fn start_from_forkserver(workers: &mut Vec<Worker>, count: usize) -> Result<(), PoolError> {
    let mut pipes = Vec::with_capacity(count);
    for index in 0..count {
        let made = Pipes::new().map_err(|source| PoolError::Start {
            worker: index,
            source,
        })?;
        pipes.push(made);
    }
    let ends: Vec<(&OwnedFd, &OwnedFd)> = pipes
        .iter()
        .map(|p| (&p.task_read, &p.result_write))
        .collect();
    let pids = forkserver::request_workers(&ends).map_err(|e| match e {
        ForkserverError::NotRunning => PoolError::NoForkserver,
        e => PoolError::Forkserver(e),
    })?;
    drop(ends);
    // Keep every worker that started, so that the caller stops them all on error.
    let mut first_error = None;
    for (index, (pipes, pid)) in pipes.into_iter().zip(pids).enumerate() {
        let started = pid
            .map_err(StartError::Forkserver)
            .and_then(|pid| pipes.into_worker(pid));
        match started {
            Ok(worker) => workers.push(worker),
            Err(source) => {
                first_error.get_or_insert(PoolError::Start {
                    worker: index,
                    source,
                });
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}
