//! A child process that dies with its parent: `PR_SET_PDEATHSIG(SIGKILL)`, and the
//! race that the call alone leaves open.
//!
//! **The claim.** After [`die_with_parent`] returns `Ok`, the calling process is
//! killed when its parent dies, whatever state it is in, stopped included. When it
//! returns `Err`, the parent is gone already and the caller must end at once.
//!
//! # Why SIGKILL
//! The kernel sends the parent-death signal like any other. A stopped process
//! (`kill -STOP`, Ctrl-Z) acts on no signal but SIGKILL and SIGCONT: a SIGTERM stays
//! pending, and the child lives on, stopped, re-parented to init, forever. SIGKILL
//! cannot be caught, ignored or postponed, so it ends a stopped child too.
//!
//! # Why compare parent pids
//! The parent may die between `fork` and the `prctl` call. Then the child has already
//! been re-parented, and no signal will ever come. `getppid()` tells: it is no longer
//! the pid the parent had, which the child must have taken *before* the fork (after
//! it, `getppid()` may already be the new parent).
//!
//! # Limits
//! - Nothing protects a child in the instant between its `fork` and this call: if
//!   it is stopped there and the parent is then killed, it runs nothing that could
//!   notice. Make the call first thing after the fork (under `spawn`, in a
//!   `pre_exec` hook, and again in the new program); std runs a few system calls of
//!   its own before that hook.
//! - The signal fires when the *thread* that forked the child exits, not only when
//!   the whole parent process does. Fork from a thread that lives as long as the
//!   child should (`main`).
//! - It is cleared when the child execs a set-user-ID program. After an ordinary
//!   `exec` it stays; a program started afresh (a `spawn` worker) still makes this
//!   call itself, with the parent's pid passed to it, to catch a parent that died
//!   before the `exec`.

use nix::{errno::Errno, sys::signal::Signal, unistd::Pid};

/// Why the calling process cannot be tied to its parent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParentDeathError {
    /// `prctl(PR_SET_PDEATHSIG)` itself failed.
    #[error("could not ask to be killed when the parent exits")]
    Prctl(#[source] Errno),
    /// The parent died before the request was made: no signal will ever come.
    #[error("process {expected} is not this process's parent any more (it is {actual})")]
    ParentGone {
        /// The parent's pid, taken before the fork.
        expected: i32,
        /// Who the parent is now (init, or a subreaper).
        actual: i32,
    },
}

/// Makes the calling process die with SIGKILL when `parent` dies.
///
/// `parent` is the pid of the process that forked (or spawned) the caller, read
/// *before* the fork. On `Err`, the caller must end now, with `_exit` in a forked
/// child, since the parent it was meant to serve is gone or it could not be tied to
/// it.
///
/// Async-signal-safe: it makes only `prctl` and `getppid` system calls, so it may run
/// between `fork` and `exec` of a multi-threaded parent.
pub fn die_with_parent(parent: Pid) -> Result<(), ParentDeathError> {
    // SIGKILL, not SIGTERM: the one signal that ends a stopped process too.
    nix::sys::prctl::set_pdeathsig(Signal::SIGKILL).map_err(ParentDeathError::Prctl)?;
    // Only now, after the request, is the check conclusive: if the parent dies after
    // this line, the signal comes; if it died before, we have been re-parented.
    let actual = nix::unistd::getppid();
    if actual != parent {
        return Err(ParentDeathError::ParentGone {
            expected: parent.as_raw(),
            actual: actual.as_raw(),
        });
    }
    Ok(())
}
