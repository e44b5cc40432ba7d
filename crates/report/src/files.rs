//! Where files meet the outside world: the atomic write, the clean-up of temporary
//! files left by a killed run, and the lock that keeps `report` from reading a folder
//! that `pools` is still writing.
//!
//! 1. Every output is written to a temporary file in the output folder, named
//!    `.report-{pid}-XXXXXX.tmp` after the process writing it, then renamed over
//!    its final name. A rename within one file system is atomic, so a reader sees
//!    the old file or the new one, never half of one.
//! 2. SIGINT and SIGTERM are held back while a temporary file exists (see
//!    [`HoldSignals`]), so Ctrl-C lands before the file is created or after it is
//!    renamed, never in between. The `report` binary's handler then exits at once.
//!    Charts are drawn before their temporary file is created, so only the write
//!    itself, and the streaming of the trace, hold Ctrl-C back.
//! 3. SIGKILL (or a power cut) cannot be held back. So a new run first removes the
//!    temporary files of writers that no longer exist ([`remove_stale_temp_files`]):
//!    the pid in the name says whose the file is, and `kill(pid, 0)` says whether
//!    that process is alive. Files of live writers, and every file not named like
//!    ours (`pools` has its own prefix), are left alone.
//! 4. While it reads, `report` holds a shared `flock` on the input folder
//!    ([`lock_for_reading`]). `pools` holds an exclusive one on its `--out` folder
//!    while it writes, so the two never overlap: `report` is refused with a clear
//!    message instead of drawing a half-written run.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::unistd::Pid;

use crate::{Exporter, ReportError, Results};

/// The start of every temporary file name `report` creates; the pid follows.
const TEMP_PREFIX: &str = ".report-";
/// The end of every temporary file name `report` creates.
const TEMP_SUFFIX: &str = ".tmp";
/// How many random characters `tempfile` puts between the pid and the suffix.
const TEMP_RANDOM: usize = 6;

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
/// contents into a temporary file in `dir`, which is then renamed to `dir/name`. If
/// anything fails before the rename, the temporary file is deleted when dropped.
fn write_with(
    dir: &Path,
    name: &str,
    fill: impl FnOnce(&mut dyn Write) -> Result<(), ReportError>,
) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    let write_error = |source| ReportError::Write {
        path: path.clone(),
        source,
    };
    let _held_back = HoldSignals::new();
    // Temporary files are created private (0600); a figure gets the mode any other
    // new file would: 0666 less the user's umask.
    let tmp = tempfile::Builder::new()
        .prefix(&temp_prefix(std::process::id()))
        .suffix(TEMP_SUFFIX)
        .rand_bytes(TEMP_RANDOM)
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(write_error)?;
    let mut out = BufWriter::with_capacity(1 << 20, tmp);
    match fill(&mut out) {
        Ok(()) => {}
        // The exporter knows only the file's name; the error gets its folder here.
        Err(ReportError::Write { source, .. }) => return Err(write_error(source)),
        Err(other) => return Err(other),
    }
    let tmp = out
        .into_inner()
        .map_err(|err| write_error(err.into_error()))?;
    // On disk before the rename, so that a crash cannot leave an empty file under
    // the final name.
    tmp.as_file().sync_data().map_err(write_error)?;
    let file: File = tmp.persist(&path).map_err(|err| write_error(err.error))?;
    drop(file);
    Ok(path)
}

/// `.report-{pid}-`: the start of the name of every temporary file of process `pid`.
fn temp_prefix(pid: u32) -> String {
    format!("{TEMP_PREFIX}{pid}-")
}

/// The pid in a temporary file name `report` makes (`.report-{pid}-XXXXXX.tmp`), or
/// `None` if `name` is not shaped exactly like one.
pub fn temp_file_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (pid, random) = rest.split_once('-')?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let random_ok =
        random.len() == TEMP_RANDOM && random.bytes().all(|b| b.is_ascii_alphanumeric());
    (digits && random_ok).then(|| pid.parse().ok()).flatten()
}

/// Removes the temporary files in `dir` that `report` runs left behind when they
/// were killed: files named `.report-{pid}-XXXXXX.tmp` whose process no longer
/// exists. Returns the paths removed.
///
/// A file of this very process can only be left over from an earlier process that
/// had the same pid, since this one has not written anything yet when it calls
/// this. Anything else (other names, other writers, live writers) is left alone.
pub fn remove_stale_temp_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Some(pid) = entry.file_name().to_str().and_then(temp_file_owner) else {
            continue;
        };
        if !entry.file_type()?.is_file() {
            continue;
        }
        if pid == std::process::id() || !process_exists(pid) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed.push(entry.path()),
                // Another run cleaned it up first.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(removed)
}

/// Whether a process with this pid exists. `kill(pid, 0)` checks without sending
/// anything: ESRCH means no such process; EPERM means it exists but is someone
/// else's, which counts as alive.
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    // 0 and negative pids name process groups, not a process.
    pid > 0 && kill(Pid::from_raw(pid), None) != Err(Errno::ESRCH)
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

/// Blocks SIGINT and SIGTERM on this thread until dropped; a signal that arrives
/// meanwhile is delivered then. `report` is single-threaded, so this thread is the
/// one that receives them.
#[derive(Debug)]
pub struct HoldSignals(Option<SigSet>);

impl HoldSignals {
    /// Starts holding SIGINT and SIGTERM back.
    pub fn new() -> Self {
        let mut block = SigSet::empty();
        block.add(Signal::SIGINT);
        block.add(Signal::SIGTERM);
        let mut old = SigSet::empty();
        let ok = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok();
        HoldSignals(ok.then_some(old))
    }
}

impl Default for HoldSignals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for HoldSignals {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(old), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only names shaped exactly like ours give a pid.
    #[test]
    fn temp_names_are_recognised_exactly() {
        assert_eq!(temp_file_owner(".report-1234-aB3xYz.tmp"), Some(1234));
        for other in [
            ".report-1234-aB3xY.tmp",
            ".report--aB3xYz.tmp",
            ".report-12a4-aB3xYz.tmp",
            ".report-1234-aB3xYz",
            ".pools-1234-aB3xYz.tmp",
            ".trace.json.aB3xYz",
            "report-1234-aB3xYz.tmp",
            ".report-99999999999-aB3xYz.tmp",
        ] {
            assert_eq!(temp_file_owner(other), None, "{other}");
        }
    }

    /// The temporary file of a write is named after this process, and gone after.
    #[test]
    fn a_write_leaves_only_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let name = temp_prefix(std::process::id());
        assert!(name.starts_with(".report-"));
        write_atomically(dir.path(), "a.txt", b"hello").unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.txt"]);
    }
}
