//! Small Linux process and file-descriptor helpers for the process pool.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

/// The descriptor on which a worker reads tasks.
pub(crate) const TASK_FD: RawFd = 3;
/// The descriptor on which a worker writes results.
pub(crate) const RESULT_FD: RawFd = 4;

/// In a freshly forked child: moves `task` and `result` to [`TASK_FD`] and
/// [`RESULT_FD`] and, with `close_rest`, closes every other descriptor above stderr.
///
/// Closing the rest matters: a worker that kept another pool's pipe ends open would
/// keep that pool's workers from ever seeing end-of-file, and shutdown would hang.
/// Only async-signal-safe calls are made (`fcntl`, `dup2`, `close_range`), so this is
/// also sound between `fork` and `exec` in a multi-threaded parent.
///
/// The price, under `fork`: a file or socket the program opened before the pool (say a
/// log file in a global) still exists as a Rust object in the worker's copy of memory,
/// but its descriptor is now closed or renumbered. A task that writes to such an object
/// gets an error, or writes into the result pipe and corrupts it. Tasks must open what
/// they need themselves, as under `spawn`, where nothing is inherited anyway.
pub(crate) fn install_worker_fds(task: RawFd, result: RawFd, close_rest: bool) -> io::Result<()> {
    // Safety: plain descriptor syscalls that touch no memory. The worker that calls
    // this runs only the worker loop afterwards, which uses just TASK_FD and RESULT_FD;
    // stale descriptor-owning objects from the parent's memory are never used by it
    // (see above for what that asks of tasks).
    unsafe {
        // Move both out of the way first, so that neither can be clobbered by the
        // other's `dup2` (say, if `result` is already 3).
        let task = check(libc::fcntl(task, libc::F_DUPFD, 5))?;
        let result = check(libc::fcntl(result, libc::F_DUPFD, 5))?;
        check(libc::dup2(task, TASK_FD))?;
        check(libc::dup2(result, RESULT_FD))?;
        if close_rest {
            check(libc::close_range(5, libc::c_uint::MAX, 0))?;
        } else {
            // Before `exec` (spawn), every other descriptor is close-on-exec already;
            // only our two temporary copies need to go.
            libc::close(task);
            libc::close(result);
        }
    }
    Ok(())
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Describes how a reaped child ended, for error messages.
pub(crate) fn describe(status: WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, signal, _) => format!("was killed by signal {}", signal.as_str()),
        other => format!("ended unexpectedly ({other:?})"),
    }
}

/// Waits up to `grace` for `pid` to exit, then kills it with SIGKILL, and reaps it
/// either way. Returns how it ended.
pub(crate) fn reap(pid: Pid, grace: Duration) -> WaitStatus {
    let deadline = Instant::now() + grace;
    // A worker told to stop usually exits within microseconds, so the first pauses
    // are short; they double up to 1 ms so that a slow one does not cost a busy loop.
    let mut pause = Duration::from_micros(10);
    let mut nap = || {
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(1));
    };
    loop {
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) if Instant::now() < deadline => nap(),
            Ok(WaitStatus::StillAlive) => {
                let _ = kill(pid, Signal::SIGKILL);
                return waitpid(pid, None).unwrap_or(WaitStatus::StillAlive);
            }
            Ok(status) => return status,
            // A forkserver worker becomes our child only once its middle process has
            // exited, which may be a moment after we learnt its pid (longer on a busy
            // machine): retry until the grace runs out.
            Err(nix::errno::Errno::ECHILD) if Instant::now() < deadline => nap(),
            // Someone else reaped it; nothing is left to do.
            Err(_) => return WaitStatus::StillAlive,
        }
    }
}

/// Makes the calling process die with SIGKILL when its parent dies (see the
/// `procutil` crate), and exits at once if the parent is already gone.
///
/// This is what Python's pool workers lack: after a SIGKILLed parent they live on as
/// orphans. End-of-file on the task pipe would also stop an idle worker, but only
/// this stops one that is busy computing, or stopped.
pub(crate) fn die_with_parent(expected_parent: Pid) {
    if procutil::parent_death::die_with_parent(expected_parent).is_err() {
        // Safety: `_exit` ends the process at once without running any user code.
        unsafe { libc::_exit(1) }
    }
}
