//! Where files meet the outside world: the atomic write, the clean-up of temporary
//! files left by a killed run, and the lock that keeps `report` from reading a folder
//! that `pools` is still writing.
//!
//! 1. Every output is written atomically by the results contract's writer
//!    ([`results::TempFiles`]): to a temporary file in the output folder, named
//!    `.report-{pid}-XXXXXX.tmp` after the process writing it, synced, then renamed
//!    over its final name. A rename within one file system is atomic, so a reader
//!    sees the old file or the new one, never half of one.
//! 2. SIGINT and SIGTERM are held back while a temporary file exists (see
//!    [`results::HoldSignals`]), so Ctrl-C lands before the file is created or after
//!    it is renamed, never in between. The `report` binary's handler then exits at
//!    once. Charts are drawn before their temporary file is created, so only the
//!    write itself, and the streaming of the trace, hold Ctrl-C back.
//! 3. SIGKILL (or a power cut) cannot be held back. So a new run first removes the
//!    temporary files of writers that no longer exist ([`TEMP`]`.remove_stale`):
//!    the pid in the name says whose the file is, and `kill(pid, 0)` says whether
//!    that process is alive. Files of live writers, and every file not named like
//!    ours (`pools` has its own prefix), are left alone.
//! 4. While it reads, `report` holds a shared `flock` on the input folder
//!    ([`lock_for_reading`]). `pools` holds an exclusive one on its `--out` folder
//!    while it writes, so the two never overlap: `report` is refused with a clear
//!    message instead of drawing a half-written run.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use results::TempFiles;

use crate::{Exporter, ReportError, Results};

/// How `report` names its temporary files: `.report-{pid}-XXXXXX.tmp`.
pub const TEMP: TempFiles = TempFiles::REPORT;

/// Writes `exporter`'s file into `dir` atomically, streaming it to disk, and returns
/// its path.
pub fn save(
    dir: &Path,
    exporter: &dyn Exporter,
    results: &Results,
) -> Result<PathBuf, ReportError> {
    let name = exporter.file_name();
    write_with(dir, &name, |out| exporter.write_to(results, out))
}

/// Writes `bytes` to `dir/name` so that the file is either absent, the old
/// version, or complete: never half-written.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    write_with(dir, name, |out| {
        out.write_all(bytes).map_err(|source| ReportError::Write {
            path: name.into(),
            source,
        })
    })
}

/// The atomic write behind [`save`] and [`write_atomically`]: `fill` writes the
/// contents, which [`TEMP`] puts in place as `dir/name`.
fn write_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    TEMP.write(&path, |out| match fill(out) {
        Ok(()) => Ok(()),
        // The exporter knows only the file's name; the error gets its folder here.
        Err(ReportError::Write { source, .. }) => Err(ReportError::Write {
            path: path.clone(),
            source,
        }),
        Err(other) => Err(other),
    })?;
    Ok(path)
}

/// A shared lock on a folder, held until dropped.
#[derive(Debug)]
pub struct ReadLock(#[allow(dead_code)] Flock<File>);

/// Takes a shared `flock` on `dir` itself (its file descriptor, so no lock file is
/// made), without waiting. Fails with [`ReportError::Busy`] if a `pools` run holds
/// the exclusive lock because it is writing there. Other readers share the lock.
pub fn lock_for_reading(dir: &Path) -> Result<ReadLock, ReportError> {
    let read_error = |source| ReportError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let folder = File::open(dir).map_err(read_error)?;
    match Flock::lock(folder, FlockArg::LockSharedNonblock) {
        Ok(lock) => Ok(ReadLock(lock)),
        Err((_, Errno::EWOULDBLOCK)) => Err(ReportError::Busy(dir.to_path_buf())),
        Err((_, errno)) => Err(read_error(io::Error::from(errno))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The temporary file of a write is named after this program, and gone after.
    /// (The names themselves are tested in `results::atomic`.)
    #[test]
    fn a_write_leaves_only_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let tmp = TEMP.create_in(dir.path()).unwrap();
        let name = tmp.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with(".report-"), "{name}");
        assert_eq!(TEMP.owner(&name), Some(std::process::id() as i32));
        drop(tmp);
        write_atomically(dir.path(), "a.txt", b"hello").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }
}
