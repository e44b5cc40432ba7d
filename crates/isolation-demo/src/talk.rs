//! What `queue` and `barrier` share: a shared table of `u64` cells, workers started
//! by fork or by spawn that die with the parent, and an atomic CSV write.
//!
//! The table is one `MAP_SHARED` mapping made before any worker exists, as the race's
//! page is, only sized to the run: the workers write their timestamps into it, and
//! the parent reads them once every worker has been reaped. Under `fork` it is
//! anonymous and the children inherit it with the rest of memory; under `spawn` it
//! belongs to a memfd, which each re-run worker inherits (that descriptor and no
//! other, besides its own end of the queue's pipe) and maps again.
//!
//! A spawned worker is this program re-run as `queue` or `barrier` with the hidden
//! flags `--participant-of PARENT_PID` and `--shared-fd FD` (and, for the queue,
//! `--role` and `--pipe-fd`); `main` then runs only that worker's part.

use std::io::{self, Write};
use std::num::NonZeroUsize;
use std::os::fd::{BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64};

use nix::unistd::{ForkResult, Pid, fork, getpid};
use procutil::StartMethod;

use crate::error::DemoError;
use crate::launch::{die_with_parent, spawn_self};
use crate::race::{Children, RaceError};
use crate::shared::SharedMapping;

/// The hidden flag that passes a spawned queue worker its end of the pipe.
pub const PIPE_FD_FLAG: &str = "pipe-fd";

/// A table of `u64` cells in a `MAP_SHARED` mapping, zero at the start.
#[derive(Debug)]
pub(crate) struct SharedTable {
    /// The mapping, `cells × 8` bytes, page-aligned.
    mapping: SharedMapping,
    /// How many cells.
    cells: usize,
}

impl SharedTable {
    /// Maps `cells` zeroed cells that the workers started by `start_method` can
    /// reach: anonymous for `fork`; for `spawn`, in a memfd, returned too, which
    /// each worker must inherit.
    pub(crate) fn new(
        cells: usize,
        start_method: StartMethod,
    ) -> Result<(SharedTable, Option<OwnedFd>), TalkError> {
        let len = SharedTable::len(cells);
        let (mapping, fd) = match start_method {
            StartMethod::Spawn => {
                let (mapping, fd) = SharedMapping::memfd(len)?;
                (mapping, Some(fd))
            }
            _ => (SharedMapping::anonymous(len)?, None),
        };
        let cells = cells.max(1);
        Ok((SharedTable { mapping, cells }, fd))
    }

    /// Maps the table of `cells` cells from the memfd a spawned worker inherited.
    pub(crate) fn from_inherited_fd(raw: RawFd, cells: usize) -> Result<SharedTable, TalkError> {
        let mapping = SharedMapping::from_inherited_fd(raw, SharedTable::len(cells))?;
        let cells = cells.max(1);
        Ok(SharedTable { mapping, cells })
    }

    /// The bytes of `cells` cells, at least one.
    fn len(cells: usize) -> NonZeroUsize {
        NonZeroUsize::new(cells.max(1) * 8).expect("at least one cell")
    }

    /// Cell `index`, which every worker shares.
    pub(crate) fn cell(&self, index: usize) -> &AtomicU64 {
        assert!(index < self.cells, "cell {index} of {}", self.cells);
        // Safety: in bounds (checked; the mapping is `cells × 8` bytes), aligned
        // (page-aligned start, 8-byte cells), mapped while `self` lives, and only
        // ever accessed atomically; any eight bytes are a valid `AtomicU64`.
        unsafe { self.mapping.start().cast::<AtomicU64>().add(index).as_ref() }
    }

    /// The low half of cell `index` as a 32-bit word, for a futex.
    pub(crate) fn word(&self, index: usize) -> &AtomicU32 {
        let cell: *const AtomicU64 = self.cell(index);
        // Safety: the first 4 bytes of an aligned 8-byte cell are an aligned 4-byte
        // word; the caller uses that cell only through this word.
        unsafe { &*cell.cast::<AtomicU32>() }
    }
}

/// Re-runs this program as one worker, with `args`, inheriting exactly `inherit`
/// (the table's memfd and, for the queue, its end of the pipe); returns its pid,
/// which the parent reaps with `waitpid` like a forked worker's.
pub(crate) fn spawn_worker(args: &[String], inherit: &[BorrowedFd<'_>]) -> Result<Pid, TalkError> {
    let child = spawn_self(args, inherit)?;
    // std's `Child` neither waits nor kills when dropped: `Children` does both.
    Ok(Pid::from_raw(child.id() as i32))
}

/// A spawned worker's start, called from `main`: die with the parent, take the name
/// a forked worker would have, then run `work`.
pub(crate) fn spawned_worker(
    parent: i32,
    name: &str,
    work: impl FnOnce() -> Result<(), String>,
) -> Result<(), TalkError> {
    die_with_parent(Pid::from_raw(parent))?;
    set_name(name);
    work().map_err(TalkError::Worker)
}

/// Takes ownership of the pipe end a spawned queue worker inherited, once it is sure
/// that `raw` is one: open, not a standard stream, and a pipe.
pub(crate) fn inherited_pipe(raw: RawFd) -> Result<OwnedFd, TalkError> {
    let bad = |why: &str| TalkError::BadInput(format!("--{PIPE_FD_FLAG} {raw} {why}"));
    if raw <= 2 {
        return Err(bad("is not a pipe's end: use a descriptor above 2"));
    }
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // Safety: `fstat` only writes into `stat`, and fails with EBADF on a number that
    // is not an open descriptor.
    if unsafe { libc::fstat(raw, stat.as_mut_ptr()) } == -1 {
        return Err(bad("is not an open file descriptor"));
    }
    // Safety: `fstat` succeeded, so it filled `stat` in.
    if unsafe { stat.assume_init() }.st_mode & libc::S_IFMT != libc::S_IFIFO {
        return Err(bad("is not a pipe"));
    }
    // Safety: `raw` is an open pipe (checked just above) that nothing else in this
    // fresh process owns: the parent passed it to be used here.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Forks a worker that runs `work` and exits; returns its pid to the parent.
///
/// The worker's name in `ps` and `/proc/PID/comm` becomes `name` (at most 15 bytes
/// are kept), so a user, or a test, can tell the workers apart.
/// Call only while single-threaded ([`check_single_threaded`]).
pub(crate) fn fork_worker(
    role: &str,
    name: &str,
    work: impl FnOnce() -> Result<(), String>,
) -> Result<Pid, TalkError> {
    let parent = getpid();
    // Safety: the caller checked that this process has one thread and flushed
    // stdout, so the child inherits no lock held by another thread and may use std
    // normally (allocator and stderr included). It inherits a copy-on-write copy of
    // our memory, in which the shared table still points into the same MAP_SHARED
    // pages, every open descriptor (the queue's pipe included), and this one thread.
    // It never returns into the caller: it ends in `_exit`.
    match unsafe { fork() } {
        Err(errno) => Err(DemoError::Fork(errno).into()),
        Ok(ForkResult::Parent { child }) => Ok(child),
        Ok(ForkResult::Child) => {
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                die_with_parent(parent).map_err(|err| err.to_string())?;
                set_name(name);
                work()
            }));
            let code = match result {
                Ok(Ok(())) => 0,
                Ok(Err(err)) => {
                    let _ = writeln!(io::stderr(), "Error: {role}: {err}");
                    1
                }
                Err(_) => 101,
            };
            // Safety: ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(code) }
        }
    }
}

/// Names this process (`PR_SET_NAME`); a failure only leaves the old name.
fn set_name(name: &str) {
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    // Safety: PR_SET_NAME reads a NUL-terminated string of which it keeps at most
    // 16 bytes, NUL included; `name` lives across the call.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) };
}

/// Refuses to fork from a multi-threaded process, and empties stdout's buffer.
pub(crate) fn check_single_threaded() -> Result<(), TalkError> {
    let threads = procutil::thread_count().map_err(DemoError::CountThreads)?;
    if threads != 1 {
        return Err(DemoError::MultiThreaded(threads).into());
    }
    procutil::stdout::flush().map_err(DemoError::from)?;
    Ok(())
}

/// Reaps every worker; if one ends badly, kills and reaps the rest and names it.
pub(crate) fn reap(children: &mut Children, roles: &[(Pid, String)]) -> Result<(), TalkError> {
    match children.watch(|| false, None) {
        Ok(()) => Ok(()),
        Err(RaceError::ParticipantFailed { pid, how, others }) => {
            let role = roles
                .iter()
                .find(|(p, _)| p.as_raw() == pid)
                .map_or("worker", |(_, role)| role.as_str());
            Err(TalkError::WorkerFailed {
                role: role.to_owned(),
                pid,
                how,
                others,
            })
        }
        Err(other) => Err(TalkError::Race(other)),
    }
}

/// How this program names its temporary files (`.isolation-demo-{pid}-XXXXXX.tmp`).
const TEMP_FILES: results::TempFiles = results::TempFiles::new(".isolation-demo-");

/// Checks, before a run, that `dir/name` can be written later: `dir` is a folder, or
/// it can be made in the nearest folder above it that exists, which must be writable.
/// A run of up to a minute must not end by saying its `--out` was never usable.
/// Nothing is created here: a run that fails leaves no empty folder behind.
pub(crate) fn check_writable(dir: &Path, name: &str) -> Result<(), TalkError> {
    let refuse = |why: String| TalkError::Write {
        path: dir.join(name),
        source: std::io::Error::other(why),
    };
    let mut existing = dir;
    while !existing.as_os_str().is_empty() && !existing.exists() {
        existing = existing.parent().unwrap_or(Path::new(""));
    }
    if existing.as_os_str().is_empty() {
        existing = Path::new(".");
    }
    if !existing.is_dir() {
        return Err(refuse(format!("{} is not a folder", existing.display())));
    }
    nix::unistd::access(
        existing,
        nix::unistd::AccessFlags::W_OK | nix::unistd::AccessFlags::X_OK,
    )
    .map_err(|errno| refuse(format!("{} is not writable ({errno})", existing.display())))
}

/// Writes `text` to `dir/name` atomically, with the results crate's one atomic write:
/// a temporary file in the same folder, synced, then renamed over the name, so that a
/// reader sees the old file or the new one, never half of one.
pub(crate) fn write_atomic(dir: &Path, name: &str, text: &str) -> Result<PathBuf, TalkError> {
    let path = dir.join(name);
    if dir.exists() && !dir.is_dir() {
        return Err(TalkError::Write {
            path,
            source: std::io::Error::other(format!("{} is not a folder", dir.display())),
        });
    }
    std::fs::create_dir_all(dir).map_err(|source| TalkError::Write {
        path: path.clone(),
        source,
    })?;
    TEMP_FILES
        .write(&path, |out| {
            out.write_all(text.as_bytes())
                .map_err(|source| results::WriteError {
                    path: path.clone(),
                    source,
                })
        })
        .map_err(|err| TalkError::Write {
            path: err.path,
            source: err.source,
        })?;
    Ok(path)
}

/// Why a queue or barrier run could not run or finish.
#[derive(Debug, thiserror::Error)]
pub enum TalkError {
    /// A number the user typed is out of range.
    #[error("{0}")]
    BadInput(String),
    /// The pipe could not be made.
    #[error("could not make the pipe")]
    Pipe(#[source] nix::errno::Errno),
    /// A worker ended badly; the others were killed and reaped.
    #[error("{role} process {pid} {how}; killed (if still running) and reaped the other {others}")]
    WorkerFailed {
        /// `producer`, `consumer`, `participant 3`.
        role: String,
        /// Its process id.
        pid: i32,
        /// How it ended.
        how: String,
        /// How many others were killed.
        others: usize,
    },
    /// The CSV could not be written.
    #[error("could not write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A failed system call shared with the other demos.
    #[error(transparent)]
    Demo(#[from] DemoError),
    /// A spawned worker's own part failed.
    #[error("{0}")]
    Worker(String),
    /// Waiting for the workers failed.
    #[error(transparent)]
    Race(RaceError),
}

/// `count` and `noun`, with an `s` unless `count` is 1: `1 item`, `2 items`.
pub(crate) fn plural(count: u64, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}
