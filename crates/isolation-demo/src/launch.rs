//! Starting the reader process, by `fork` or by `spawn`, and waiting for it.
//!
//! - [`fork_reader`] calls `fork(2)`. The child is a copy of this process at that
//!   instant: all its memory (copy-on-write, so the copy is cheap until someone
//!   writes), its open files, and **only the thread that called `fork`**. It runs the
//!   reader loop on its copy of X and exits without ever returning to the caller.
//! - [`spawn_reader`] re-executes this program (`std::env::current_exe()`) with the
//!   hidden `--spawned-reader PARENT_PID` flag, which makes `main` run
//!   [`run_spawned_reader`] instead of the demo. The child starts from a fresh
//!   program image, so its X is 0 by construction. This is what Python's `spawn`
//!   start method does: a fresh interpreter that imports the main module again.
//!
//! Either way the child asks the kernel to kill it if the parent dies
//! ([`die_with_parent`]), so an interrupted or killed demo leaves no reader behind,
//! not even a stopped one, and the parent reaps it with [`ReaderProcess::wait`] and
//! checks how it ended.

use std::error::Error;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, BorrowedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::os::unix::process::ExitStatusExt;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Child, Command};
use std::sync::atomic::AtomicU64;

use nix::errno::Errno;
use nix::sys::signal::Signal;
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};
use procutil::parent_death::ParentDeathError;

use crate::X;
use crate::error::DemoError;
use crate::line::Actor;
use crate::schedule::{Schedule, watch};
use crate::shared::SharedCounter;

/// The hidden flag that turns the binary into a spawned reader; its value is the
/// parent's pid. (Used by [`spawn_reader`]; `main` declares it with this name.)
pub const SPAWNED_READER_FLAG: &str = "spawned-reader";

/// The hidden flag that passes the shared counter's memfd number to a spawned reader.
pub const SHARED_FD_FLAG: &str = "shared-fd";

/// A running reader process, which must be waited for.
#[derive(Debug)]
pub enum ReaderProcess {
    /// Made by `fork`; reaped with `waitpid`.
    Forked(Pid),
    /// Made by re-executing this program; reaped through std's [`Child`].
    Spawned(Child),
}

impl ReaderProcess {
    /// The reader's process id.
    pub fn pid(&self) -> u32 {
        match self {
            ReaderProcess::Forked(pid) => pid.as_raw() as u32,
            ReaderProcess::Spawned(child) => child.id(),
        }
    }

    /// Waits for the reader to exit (reaping it, so no zombie is left), and turns
    /// anything but a clean exit into an error.
    pub fn wait(self) -> Result<(), DemoError> {
        let pid = self.pid();
        let how = match self {
            ReaderProcess::Forked(child) => {
                let status = loop {
                    match waitpid(child, None) {
                        // A signal handler interrupted the wait; the child is still there.
                        Err(Errno::EINTR) => continue,
                        Err(errno) => {
                            return Err(DemoError::Wait {
                                pid,
                                source: errno.into(),
                            });
                        }
                        Ok(status) => break status,
                    }
                };
                match status {
                    WaitStatus::Exited(_, 0) => return Ok(()),
                    WaitStatus::Exited(_, code) => format!("exited with status {code}"),
                    WaitStatus::Signaled(_, signal, _) => format!("was killed by {signal}"),
                    other => format!("ended unexpectedly ({other:?})"),
                }
            }
            ReaderProcess::Spawned(mut child) => {
                let status = child
                    .wait()
                    .map_err(|source| DemoError::Wait { pid, source })?;
                match (status.code(), status.signal()) {
                    (Some(0), _) => return Ok(()),
                    (Some(code), _) => format!("exited with status {code}"),
                    (None, Some(signal)) => match Signal::try_from(signal) {
                        Ok(signal) => format!("was killed by {signal}"),
                        Err(_) => format!("was killed by signal {signal}"),
                    },
                    (None, None) => format!("ended unexpectedly ({status})"),
                }
            }
        };
        Err(DemoError::ReaderFailed { pid, how })
    }
}

/// Forks a child that runs the reader loop on `x` and exits; returns it to the parent.
///
/// `x` is read through whatever memory it points into: the static [`X`] (the child
/// reads its own copy, frozen at 0) or a [`SharedCounter`] made before this call (the
/// child reads the same page as the parent).
///
/// Call it while the process is still single-threaded: before starting any thread.
/// It checks, and refuses with [`DemoError::MultiThreaded`] otherwise, because the
/// child of a multi-threaded process can deadlock on a lock that another thread held
/// at the moment of the fork (the allocator's, or stdout's) and that nobody in the
/// child will ever release.
pub fn fork_reader(x: &AtomicU64, schedule: &Schedule) -> Result<ReaderProcess, DemoError> {
    let threads = procutil::thread_count().map_err(DemoError::CountThreads)?;
    if threads != 1 {
        return Err(DemoError::MultiThreaded(threads));
    }
    // The child gets a copy of stdout's buffer along with everything else; empty it
    // first or anything still in it would be printed twice.
    procutil::stdout::flush()?;
    let parent = getpid();

    // Safety: the rule for `fork` is that a child of a multi-threaded process may call
    // only async-signal-safe functions until it execs: it inherits every lock in the
    // state it had at the fork but only the calling thread, so a lock held by any
    // other thread would stay locked forever. We checked just above that this thread
    // is the only one, and it holds no lock (stdout was flushed and released), so
    // the rule does not bite: the child may use std normally, allocator and stdout
    // included. What the child inherits is a copy-on-write copy of all memory as it
    // is right now (X, `schedule`, and the shared mapping, which stays shared), all
    // open file descriptors (stdout included), and this one thread. It must never
    // return into the caller's code: `forked_child` ends with `_exit`.
    match unsafe { fork() } {
        Err(errno) => Err(DemoError::Fork(errno)),
        Ok(ForkResult::Parent { child }) => Ok(ReaderProcess::Forked(child)),
        Ok(ForkResult::Child) => forked_child(parent, x, schedule),
    }
}

/// The forked child's whole life: arm the parent-death signal, read, exit.
fn forked_child(parent: Pid, x: &AtomicU64, schedule: &Schedule) -> ! {
    // A panic must not unwind out of here: it would land in the parent's code, and
    // the child would carry on as a second "main". Catch it and exit instead.
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        die_with_parent(parent)?;
        watch(Actor::Process, x, schedule)
    }));
    let code = match result {
        Ok(Ok(_)) => 0,
        // Whoever read our output has gone (`isolation-demo | head -3`): stop quietly,
        // as the parent does (the policy of `procutil::stdout`).
        Ok(Err(err)) if procutil::stdout::is_closed(&err) => 0,
        Ok(Err(err)) => {
            let _ = writeln!(io::stderr(), "Error: reader process: {}", chain(&err));
            1
        }
        // The panic hook has already printed the message.
        Err(_) => 101,
    };
    // Safety: `_exit` ends the process at once. Unlike `exit`, it does not run atexit
    // handlers or flush C stdio buffers: those belong to the parent, which copied them
    // into us, and they must run once, in the parent. Our own output is already out:
    // every line was flushed as it was written.
    unsafe { libc::_exit(code) }
}

/// Re-executes this program as a reader; X in the new program starts at 0.
///
/// Pass `shared_fd` to share X on purpose: the memfd from [`SharedCounter::memfd`],
/// which this child alone inherits (see `spawn_self`) and maps again.
pub fn spawn_reader(
    schedule: &Schedule,
    shared_fd: Option<BorrowedFd<'_>>,
) -> Result<ReaderProcess, DemoError> {
    let mut args = vec![
        format!("--{SPAWNED_READER_FLAG}={}", getpid()),
        format!("--iterations={}", schedule.iterations()),
        format!("--interval-ms={}", schedule.interval().as_millis()),
    ];
    if let Some(fd) = shared_fd {
        args.push(format!("--{SHARED_FD_FLAG}={}", fd.as_raw_fd()));
    }
    // Not needed for correctness (exec does not copy our buffer), but it keeps
    // anything printed so far ahead of the child's first line.
    procutil::stdout::flush()?;
    let child = spawn_self(&args, shared_fd.as_slice())?;
    Ok(ReaderProcess::Spawned(child))
}

/// Re-executes this program with `args`: the one way every demo here spawns.
///
/// The child dies with us ([`die_with_parent`], armed between its fork and its exec,
/// and again by the new program), and it inherits exactly `inherit` of our
/// descriptors, besides stdin, stdout and stderr. Every descriptor the demos open is
/// close-on-exec (std's own, the memfds, the queue's pipe); in this one child, and
/// only there, the flag is cleared on `inherit`. Clearing it in the parent instead
/// would hand the descriptors to every program started meanwhile, and a consumer
/// that inherits the pipe's write end never sees end-of-file when its producer dies.
pub(crate) fn spawn_self(args: &[String], inherit: &[BorrowedFd<'_>]) -> Result<Child, DemoError> {
    let exe = std::env::current_exe().map_err(DemoError::CurrentExe)?;
    let parent = getpid();
    let mut command = Command::new(exe);
    command.args(args);
    // Collected before the fork: the closure below must not allocate.
    let inherit: Vec<RawFd> = inherit.iter().map(AsRawFd::as_raw_fd).collect();
    // Safety: the closure runs in the child between fork and exec, where only
    // async-signal-safe calls are allowed. `die_with_parent` makes only the `prctl`
    // and `getppid` system calls, `fcntl` is a system call, and nothing allocates.
    // Clearing FD_CLOEXEC (the only descriptor flag) changes the child's table only:
    // the parent's descriptors keep theirs. The death signal survives `exec`, so a
    // child stopped before its exec still dies with us.
    unsafe {
        command.pre_exec(move || {
            procutil::parent_death::die_with_parent(parent)
                .map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
            for &fd in &inherit {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    command.spawn().map_err(DemoError::Spawn)
}

/// The spawned reader's whole life, called by `main` under `--spawned-reader`.
///
/// X here is the static [`X`] of a fresh program, so 0 unless `shared_fd` names the
/// parent's memfd, in which case it reads the parent's counter.
pub fn run_spawned_reader(
    parent: i32,
    shared_fd: Option<RawFd>,
    schedule: &Schedule,
) -> Result<(), DemoError> {
    die_with_parent(Pid::from_raw(parent))?;
    match shared_fd {
        None => watch(Actor::Process, &X, schedule)?,
        Some(raw) => {
            let counter = SharedCounter::from_inherited_fd(raw)?;
            watch(Actor::Process, &counter, schedule)?
        }
    };
    Ok(())
}

/// Asks the kernel to kill this process with SIGKILL when its parent exits
/// (`PR_SET_PDEATHSIG`, through the `procutil` crate), so that a reader never
/// outlives an interrupted demo.
///
/// SIGKILL, because it is the one signal that also ends a *stopped* reader: with
/// SIGTERM, `kill -STOP` on the reader and then `kill -9` on the demo left the reader
/// stopped forever, adopted by init. The parent might also have died before the
/// request was made; then the signal would never come, and comparing `getppid()`
/// with the parent we expect catches that.
pub fn die_with_parent(parent: Pid) -> Result<(), DemoError> {
    procutil::parent_death::die_with_parent(parent).map_err(|err| match err {
        ParentDeathError::Prctl(errno) => DemoError::DeathSignal(errno),
        ParentDeathError::ParentGone { expected, .. } => DemoError::ParentGone(expected),
    })
}

/// `err` and its sources joined with `: `, the way `anyhow` prints `{:#}`.
fn chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// `fork_reader` refuses to fork while another thread is alive.
    #[test]
    fn refuses_to_fork_a_multi_threaded_process() {
        let schedule = Schedule::new(1, 1).unwrap();
        // Keep a second thread alive for the whole call, whatever thread the test
        // harness runs us on.
        let (started, done) = (Barrier::new(2), Barrier::new(2));
        std::thread::scope(|s| {
            s.spawn(|| {
                started.wait();
                done.wait();
            });
            started.wait();
            let err = fork_reader(&X, &schedule).unwrap_err();
            done.wait();
            assert!(
                matches!(err, DemoError::MultiThreaded(n) if n >= 2),
                "{err}"
            );
        });
    }

    /// Sources are appended in order, as `anyhow` would print them.
    #[test]
    fn chain_joins_sources() {
        let err = DemoError::Fork(Errno::EAGAIN);
        assert_eq!(chain(&err), format!("fork failed: {}", Errno::EAGAIN));
    }
}
