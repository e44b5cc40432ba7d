//! Everything that can go wrong in the demo, as one typed error.
//!
//! The first four variants are bad input and are meant to be read by a user; the rest
//! are system calls failing, and carry the OS error as their `source` so that the
//! binary's `Error: {:#}` prints the whole chain on one line.

use std::io;

use nix::errno::Errno;

use crate::schedule::{MAX_INTERVAL_MS, MAX_ITERATIONS};

/// Why the demo could not run, or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--iterations 0`: there would be nothing to show.
    #[error("--iterations must be at least 1")]
    NoIterations,
    /// More iterations than anyone will read.
    #[error("--iterations {0} is too many: at most {MAX_ITERATIONS}")]
    TooManyIterations(u32),
    /// `--interval-ms 0`: the readers and main would all fire at the same instant.
    #[error("--interval-ms must be at least 1: the demo needs time between steps")]
    ZeroInterval,
    /// An interval so long that the demo would look hung.
    #[error("--interval-ms {0} is too long: at most {MAX_INTERVAL_MS} (one minute)")]
    IntervalTooLong(u64),
    /// The process had other threads when asked to fork (see [`crate::launch::fork_reader`]).
    #[error(
        "refusing to fork: this process has {0} threads, and a child forked from a \
         multi-threaded process may inherit locks that no thread will ever release"
    )]
    MultiThreaded(usize),
    /// `/proc/self/task` could not be read to count threads before a fork.
    #[error("could not count this process's threads before forking")]
    CountThreads(#[source] io::Error),
    /// `fork(2)` itself failed (for example, too many processes).
    #[error("fork failed")]
    Fork(#[source] Errno),
    /// The path of the running program is needed to re-execute it under `spawn`.
    #[error("could not find this program's executable to re-run it")]
    CurrentExe(#[source] io::Error),
    /// Starting the re-executed reader failed.
    #[error("could not start the spawned reader process")]
    Spawn(#[source] io::Error),
    /// Waiting for (reaping) the reader process failed.
    #[error("could not wait for the reader process {pid}")]
    Wait {
        /// The reader's process id.
        pid: u32,
        /// What `waitpid(2)` reported.
        #[source]
        source: io::Error,
    },
    /// The reader process ended badly; its own `Error:` line is on stderr above this one.
    #[error("the reader process {pid} {how}")]
    ReaderFailed {
        /// The reader's process id.
        pid: u32,
        /// How it ended, e.g. `exited with status 1` or `was killed by SIGKILL`.
        how: String,
    },
    /// The reader's parent is not the process it expected: the parent died before
    /// the reader armed `PR_SET_PDEATHSIG`, or the hidden flag was typed by hand.
    #[error(
        "process {0} is not this reader's parent: it exited before the reader started, \
         or the hidden reader flag was given by hand"
    )]
    ParentGone(i32),
    /// `prctl(PR_SET_PDEATHSIG)` failed.
    #[error("could not ask to be killed when the parent exits")]
    DeathSignal(#[source] Errno),
    /// A step of setting up the shared mapping failed.
    #[error("could not set up shared memory ({step})")]
    SharedMemory {
        /// Which call failed: `mmap`, `memfd_create`, `ftruncate`, `fstat`.
        step: &'static str,
        /// The OS error.
        #[source]
        source: Errno,
    },
    /// The `--shared-fd` given to a spawned reader does not name a usable memfd.
    #[error("--shared-fd {fd} {why}")]
    BadSharedFd {
        /// The descriptor number that was passed.
        fd: i32,
        /// What is wrong with it.
        why: &'static str,
    },
    /// Writing a line to stdout failed (for example, the pipe was closed).
    #[error("could not write to stdout")]
    Output(#[source] io::Error),
}

impl DemoError {
    /// Whether this is a write to a closed pipe (`isolation-demo | head -3`): the
    /// reader has all it wanted, so the demo stops quietly, like any Unix filter.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, DemoError::Output(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}
