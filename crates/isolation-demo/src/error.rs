//! Everything that can go wrong in the demo, as one typed error.
//!
//! The first four variants are bad input and are meant to be read by a user; the rest
//! are system calls failing, and carry the OS error as their `source` so that the
//! binary's `Error: {:#}` prints the whole chain on one line.

use std::io;

use nix::errno::Errno;
use procutil::stdout::StdoutError;

/// Why the demo could not run, or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// `--iterations 0`: there would be nothing to show.
    #[error("--iterations must be at least 1")]
    NoIterations,
    /// More iterations than anyone will read.
    #[error("--iterations {given} is too many: at most {max}")]
    TooManyIterations {
        /// What the user asked for.
        given: u32,
        /// The most accepted ([`MAX_ITERATIONS`](crate::schedule::MAX_ITERATIONS)).
        max: u32,
    },
    /// `--interval-ms 0`: the readers and main would all fire at the same instant.
    #[error("--interval-ms must be at least 1: the demo needs time between steps")]
    ZeroInterval,
    /// An interval so long that the demo would look hung.
    #[error("--interval-ms {given} is too long: at most {max} (one minute)")]
    IntervalTooLong {
        /// What the user asked for, in milliseconds.
        given: u64,
        /// The longest accepted ([`MAX_INTERVAL_MS`](crate::schedule::MAX_INTERVAL_MS)).
        max: u64,
    },
    /// `--start-method forkserver`, through the library: the demo starts its reader
    /// by fork or by spawn only (the binary does not even offer it).
    #[error("isolation-demo starts its reader by fork or spawn, not by {0}")]
    StartMethod(procutil::StartMethod),
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
    /// Starting a re-executed child (reader or worker) failed.
    #[error("could not start the spawned child process")]
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
        "process {0} is not this process's parent: it exited before this child started, \
         or a hidden flag was given by hand"
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
    /// Writing a line to stdout failed. A reader that closed it (`isolation-demo |
    /// head -3`) is not an error: `procutil::stdout` ends the demo quietly then.
    #[error("could not print the demo's lines")]
    Output(#[from] StdoutError),
}
