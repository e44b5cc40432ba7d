//! The atomic write: how every file in a results folder (and every figure `report`
//! draws) gets to disk, and how the leftovers of a killed writer are cleaned up.
//!
//! 1. A file is written to a temporary file in its own folder, named after the
//!    program and the process writing it, `.{program}-{pid}-XXXXXX.tmp`
//!    ([`TempFiles`]); then it is `fsync`ed and renamed over its final name. A
//!    rename within one file system is atomic, so a reader sees the old file or the
//!    new one, never half of one; and the `fsync` first means a crash cannot leave
//!    an empty file under the final name.
//! 2. SIGINT and SIGTERM are held back while a temporary file exists
//!    ([`HoldSignals`]), so Ctrl-C lands before the file is created or after it is
//!    renamed, never in between.
//! 3. SIGKILL (or a power cut) cannot be held back. So a new run first removes the
//!    temporary files of writers that no longer exist
//!    ([`TempFiles::remove_stale`]): the pid in the name says whose the file is,
//!    and `kill(pid, 0)` says whether that process is alive. Files of live writers,
//!    of this process, and every file not named with this program's prefix, are
//!    left alone: `pools` and `report` never remove each other's.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::{SigSet, SigmaskHow, Signal, kill, pthread_sigmask};
use nix::unistd::Pid;

/// An atomic write that failed. The final file is untouched, and the temporary file
/// is gone.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {}", .path.display())]
pub struct WriteError {
    /// The file that was being written.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: io::Error,
}

/// How one program names its temporary files: `.{program}-{pid}-XXXXXX.tmp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TempFiles {
    /// `.pools-` or `.report-`: the start of every name.
    prefix: &'static str,
}

/// The end of every temporary file name.
const TEMP_SUFFIX: &str = ".tmp";
/// How many random characters `tempfile` puts between the pid and the suffix.
const TEMP_RANDOM_CHARS: usize = 6;

impl TempFiles {
    /// The temporary files of the `pools` binary: `.pools-{pid}-XXXXXX.tmp`.
    pub const POOLS: TempFiles = TempFiles::new(".pools-");
    /// The temporary files of the `report` binary: `.report-{pid}-XXXXXX.tmp`.
    pub const REPORT: TempFiles = TempFiles::new(".report-");

    /// Temporary files whose names start with `prefix`, e.g. `.pools-`. Give each
    /// program its own, so that neither cleans up after the other.
    pub const fn new(prefix: &'static str) -> Self {
        TempFiles { prefix }
    }

    /// A temporary file in `dir`, named after this process, with the mode of any new
    /// file (0666 less the umask; a temporary file's is 0600).
    pub fn create_in(&self, dir: &Path) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix(&format!("{}{}-", self.prefix, std::process::id()))
            .suffix(TEMP_SUFFIX)
            .rand_bytes(TEMP_RANDOM_CHARS)
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
            .tempfile_in(dir)
    }

    /// The pid in a name of the form `{prefix}{pid}-XXXXXX.tmp`, or `None` for any
    /// other name: the pid must be plain digits with no leading zero, and a pid
    /// (a positive `i32`).
    pub fn owner(&self, name: &str) -> Option<i32> {
        let rest = name.strip_prefix(self.prefix)?.strip_suffix(TEMP_SUFFIX)?;
        let (pid, random) = rest.split_once('-')?;
        let plain_digits =
            !pid.is_empty() && !pid.starts_with('0') && pid.bytes().all(|b| b.is_ascii_digit());
        if !plain_digits
            || random.len() != TEMP_RANDOM_CHARS
            || !random.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return None;
        }
        pid.parse().ok().filter(|&pid: &i32| pid > 0)
    }

    /// Removes this program's temporary files in `dir` whose writer is dead, and
    /// returns their paths. Nothing else is touched: not another program's files,
    /// not a folder or a link, not a file of a live process, not one of this
    /// process's own (it may be writing it).
    pub fn remove_stale(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        let mut removed = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let Some(pid) = entry.file_name().to_str().and_then(|n| self.owner(n)) else {
                continue;
            };
            // `file_type` does not follow links: a link named like a temporary file
            // stays.
            if !entry.file_type()?.is_file() || pid == std::process::id() as i32 || is_alive(pid) {
                continue;
            }
            match std::fs::remove_file(entry.path()) {
                Ok(()) => removed.push(entry.path()),
                // Another run cleaned it up first.
                Err(err) if err.kind() == io::ErrorKind::NotFound => {}
                Err(err) => return Err(err),
            }
        }
        Ok(removed)
    }

    /// Writes `path` atomically (see the module header): `fill` writes the contents,
    /// buffered, into a temporary file next to `path`, which is then synced and
    /// renamed over `path`. If `fill` or anything after it fails, the temporary file
    /// is deleted and `path` is left as it was.
    ///
    /// SIGINT and SIGTERM are held back on this thread meanwhile. `fill`'s own error
    /// type is kept, so that a caller's error (a chart that cannot be drawn) comes
    /// back as it was; an I/O error of the write itself becomes a [`WriteError`].
    pub fn write<E: From<WriteError>>(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut dyn Write) -> Result<(), E>,
    ) -> Result<(), E> {
        let write_error = |source| WriteError {
            path: path.to_owned(),
            source,
        };
        let _held_back = HoldSignals::new();
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        // Named after this process, so that a later run can tell, if this one is
        // killed (SIGKILL cannot be held back), that the file belongs to no one.
        let tmp = self.create_in(dir).map_err(write_error)?;
        let mut out = BufWriter::with_capacity(1 << 20, tmp);
        fill(&mut out)?;
        let tmp = out
            .into_inner()
            .map_err(|err| write_error(err.into_error()))?;
        tmp.as_file().sync_data().map_err(write_error)?;
        let file: File = tmp.persist(path).map_err(|err| write_error(err.error))?;
        drop(file);
        Ok(())
    }

    /// [`TempFiles::write`] for a CSV: `fill` writes records, and any error, its own
    /// or the disk's, is a [`WriteError`] carrying the cause.
    pub fn write_csv(
        &self,
        path: &Path,
        fill: impl FnOnce(&mut csv::Writer<&mut dyn Write>) -> csv::Result<()>,
    ) -> Result<(), WriteError> {
        self.write(path, |out| {
            let mut writer = csv::Writer::from_writer(out);
            let written = fill(&mut writer).and_then(|()| Ok(writer.flush()?));
            written.map_err(|err| WriteError {
                path: path.to_owned(),
                source: if err.is_io_error() {
                    match err.into_kind() {
                        csv::ErrorKind::Io(source) => source,
                        _ => unreachable!("is_io_error said so"),
                    }
                } else {
                    io::Error::other(err)
                },
            })
        })
    }
}

/// Whether process `pid` exists: `kill(pid, 0)` sends nothing and fails with
/// `ESRCH` only if there is no such process (`EPERM`: someone else's, alive).
fn is_alive(pid: i32) -> bool {
    // 0 and negative pids name process groups, not a process.
    pid > 0 && kill(Pid::from_raw(pid), None) != Err(Errno::ESRCH)
}

/// Blocks SIGINT and SIGTERM on this thread until dropped; a signal that arrives
/// meanwhile is delivered then. Holds nest: the outermost one delivers.
///
/// Both binaries receive those signals on their main thread, which is the one that
/// writes. `pools` also holds them across all the files of one experiment, so that
/// Ctrl-C cannot leave a new per-task CSV beside an old row of `experiments.csv`.
#[derive(Debug)]
pub struct HoldSignals(Option<SigSet>);

impl HoldSignals {
    /// Starts holding SIGINT and SIGTERM back.
    #[allow(clippy::new_without_default)] // a hold is taken on purpose, not by default
    pub fn new() -> Self {
        let mut block = SigSet::empty();
        block.add(Signal::SIGINT);
        block.add(Signal::SIGTERM);
        let mut old = SigSet::empty();
        let ok = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok();
        HoldSignals(ok.then_some(old))
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

    fn names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }

    /// Temporary files are named after their program and writer, and only such
    /// names are read back as one.
    #[test]
    fn temporary_names_carry_the_program_and_the_writers_pid() {
        let dir = tempfile::tempdir().unwrap();
        for (temp, prefix) in [
            (TempFiles::POOLS, ".pools-"),
            (TempFiles::REPORT, ".report-"),
        ] {
            let file = temp.create_in(dir.path()).unwrap();
            let name = file.path().file_name().unwrap().to_str().unwrap();
            assert!(name.starts_with(prefix), "{name}");
            assert_eq!(temp.owner(name), Some(std::process::id() as i32), "{name}");
        }
        for (name, owner) in [
            (".pools-42-aB3xY9.tmp", Some(42)),
            (".pools-42-aB3xY9", None),
            (".pools-aB3xY9.tmp", None),
            (".pools--aB3xY9.tmp", None),
            (".pools-0-aB3xY9.tmp", None),
            (".pools-042-aB3xY9.tmp", None),
            (".pools-+42-aB3xY9.tmp", None),
            (".pools-12a4-aB3xY9.tmp", None),
            (".pools-42-aB3xY.tmp", None),
            (".pools-42-aB3x.Y.tmp", None),
            (".pools-99999999999-aB3xY9.tmp", None),
            (".pools-probe-aB3xY9", None),
            ("pools-42-aB3xY9.tmp", None),
            (".report-42-aB3xY9.tmp", None),
            (".trace.json.aB3xYz", None),
        ] {
            assert_eq!(TempFiles::POOLS.owner(name), owner, "{name}");
        }
        assert_eq!(
            TempFiles::REPORT.owner(".report-1234-aB3xYz.tmp"),
            Some(1234)
        );
        assert_eq!(TempFiles::REPORT.owner(".pools-1234-aB3xYz.tmp"), None);
    }

    /// A pid above the kernel's `pid_max` cannot be alive: its file goes; the files
    /// of live writers, and the other program's, stay.
    #[test]
    fn only_files_of_dead_writers_are_removed() {
        let pid_max: i32 = std::fs::read_to_string("/proc/sys/kernel/pid_max")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let dead = format!(".pools-{}-aaaaaa.tmp", pid_max + 1);
        let mine = format!(".pools-{}-bbbbbb.tmp", std::process::id());
        let init = ".pools-1-cccccc.tmp".to_string();
        let other = format!(".report-{}-dddddd.tmp", pid_max + 1);
        for name in [&dead, &mine, &init, &other] {
            std::fs::write(dir.path().join(name), "x").unwrap();
        }
        let removed = TempFiles::POOLS.remove_stale(dir.path()).unwrap();
        assert_eq!(removed, [dir.path().join(&dead)]);
        assert!(!dir.path().join(&dead).exists());
        for kept in [&mine, &init, &other] {
            assert!(dir.path().join(kept).exists(), "{kept}");
        }
    }

    /// A write that fails half-way leaves the previous file as it was, and no
    /// temporary file: the half-written one is removed, never renamed into place.
    #[test]
    fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread-fibo.csv");
        std::fs::write(&path, "the previous run's file\n").unwrap();
        let err = TempFiles::POOLS
            .write_csv(&path, |w| {
                for i in 0..10_000 {
                    w.write_record([i.to_string(), "a row of the new file".into()])?;
                }
                Err(io::Error::other("the disk is full").into())
            })
            .unwrap_err();
        assert!(err.source.to_string().contains("the disk is full"), "{err}");
        assert_eq!(err.path, path);
        let kept = std::fs::read_to_string(&path).unwrap();
        assert!(
            kept == "the previous run's file\n",
            "the previous file was overwritten: now {} bytes, {} lines",
            kept.len(),
            kept.lines().count()
        );
        assert_eq!(names(dir.path()), ["thread-fibo.csv"]);
    }

    /// SIGINT and SIGTERM are held back on the writing thread while a file is being
    /// written, and only then.
    #[test]
    fn signals_are_held_back_while_a_file_is_written() {
        let held = |mask: SigSet| mask.contains(Signal::SIGINT) || mask.contains(Signal::SIGTERM);
        let both = |mask: SigSet| mask.contains(Signal::SIGINT) && mask.contains(Signal::SIGTERM);
        assert!(!held(SigSet::thread_get_mask().unwrap()), "held before");
        let dir = tempfile::tempdir().unwrap();
        let mut during = None;
        TempFiles::REPORT
            .write::<WriteError>(&dir.path().join("a.txt"), |out| {
                during = Some(both(SigSet::thread_get_mask().unwrap()));
                out.write_all(b"hello").map_err(|source| WriteError {
                    path: "a.txt".into(),
                    source,
                })
            })
            .unwrap();
        assert_eq!(during, Some(true), "not held during the write");
        assert!(
            !held(SigSet::thread_get_mask().unwrap()),
            "still held after"
        );
        assert_eq!(names(dir.path()), ["a.txt"]);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("a.txt")).unwrap(),
            "hello"
        );
    }
}
