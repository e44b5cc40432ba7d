//! The files an experiment leaves behind, written atomically.
//!
//! What the files are called, their columns and the types of their rows are the
//! results contract's (the `results` crate, which `report` reads with too); so is
//! the atomic write: a temporary file in the same folder, `.pools-{pid}-XXXXXX.tmp`,
//! synced and renamed over the final name. This module adds what only the writer
//! does: turn a pool's [`TaskRecord`]s into rows, keep the rows of `experiments.csv`
//! that earlier runs wrote, and hold the `--out` folder for one run.
//!
//! | file | one row per |
//! |---|---|
//! | `{pool}-{fibo,get}.csv` | task: the article's five columns, then `input,worker,pid,tid` |
//! | `experiments.csv` | experiment: its pool, timing and context switches |
//! | `gil-{fibo,get}-held.csv` | interval during which a GIL worker held the lock |
//!
//! # One run at a time, and a folder that adds up
//!
//! A run first opens its folder with [`OutDir::open`], which
//!
//! 1. takes an exclusive `flock` on the folder itself, without waiting, and holds it
//!    until the run ends: a second run into the same folder is refused at once, and
//!    `report` (which takes a shared lock to read) never sees a run half-done;
//! 2. removes the temporary files of earlier runs that were killed (`SIGKILL` cannot be
//!    caught): their names carry the writer's pid, `.pools-{pid}-XXXXXX.tmp`, and only
//!    those whose pid is no longer alive are removed, nothing else;
//! 3. reads `experiments.csv` ([`Experiments::load`]), so that the run rewrites only
//!    the rows of the experiments it runs and keeps the rows that describe the other
//!    per-task CSV files in the folder.

use std::fmt::Display;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use results::layout::{EXPERIMENT_COLUMNS, EXPERIMENTS_FILE, HELD_COLUMNS, TASK_COLUMNS};
use results::records::task_fields;
use results::{ExperimentRecord, HeldInterval, TempFiles, WriteError};

use crate::record::TaskRecord;

pub use results::HoldSignals;

/// How `pools` names its temporary files: `.pools-{pid}-XXXXXX.tmp`.
const TEMP: TempFiles = TempFiles::POOLS;

/// Writes one experiment's tasks, tagged `{tag}-{i}`, to `path`.
pub fn write_tasks<I: Display, O: Display>(
    path: &Path,
    tag: &str,
    inputs: &[I],
    records: &[TaskRecord<O>],
) -> Result<(), WriteError> {
    TEMP.write_csv(path, |w| {
        w.write_record(TASK_COLUMNS)?;
        for record in records {
            w.write_record(task_fields(
                &format!("{tag}-{}", record.index),
                record.start,
                record.end,
                record.output.to_string(),
                inputs[record.index].to_string(),
                record.worker,
                record.pid,
                record.tid,
            ))?;
        }
        Ok(())
    })
}

/// Writes `experiments.csv` with exactly these rows.
pub fn write_experiments(path: &Path, records: &[ExperimentRecord]) -> Result<(), WriteError> {
    TEMP.write_csv(path, |w| {
        w.write_record(EXPERIMENT_COLUMNS)?;
        for r in records {
            w.write_record(r.fields())?;
        }
        Ok(())
    })
}

/// Writes the GIL's held intervals.
pub fn write_held(path: &Path, held: &[HeldInterval]) -> Result<(), WriteError> {
    TEMP.write_csv(path, |w| {
        w.write_record(HELD_COLUMNS)?;
        for h in held {
            w.write_record(h.fields())?;
        }
        Ok(())
    })
}

/// `experiments.csv` as a run leaves it: the rows of earlier runs whose per-task CSV
/// is still in the folder, kept exactly as they were read, with the rows of this run
/// in place of the rows with the same tag.
///
/// So `--experiment get` after a `fib` run keeps the three `*-fibo` rows, and the
/// folder still describes every per-task CSV in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiments {
    path: PathBuf,
    rows: Vec<csv::StringRecord>,
}

/// Why an existing `experiments.csv` cannot be kept.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentsError {
    /// It exists but is not a regular file (a folder, a FIFO, a device).
    #[error("{0} is not a regular file")]
    NotAFile(PathBuf),
    /// It is larger than any `experiments.csv` this program writes.
    #[error(
        "{path} is {size} bytes, too large to be an experiments.csv (at most {MAX_EXPERIMENTS_BYTES})"
    )]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// It cannot be read, or is not valid CSV.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: csv::Error,
    },
    /// It is CSV, but not the one this program writes.
    #[error("{path} line {line}: {what}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// What is wrong.
        what: String,
    },
}

/// No `experiments.csv` written here comes near this: it has one short row per pool
/// and experiment.
pub const MAX_EXPERIMENTS_BYTES: u64 = 1024 * 1024;

impl Experiments {
    /// The name of the file in its folder.
    pub const FILE: &str = EXPERIMENTS_FILE;

    /// Reads `{dir}/experiments.csv`, if there is one, and keeps the rows whose
    /// per-task CSV, `{dir}/{tag}.csv`, is still there.
    ///
    /// A file this program did not write (another header, a row of the wrong length,
    /// a tag that is not a plain name) is an error rather than something to overwrite:
    /// its rows may describe CSV files that would then be described by nothing.
    pub fn load(dir: &Path) -> Result<Self, ExperimentsError> {
        let path = results::layout::experiments_file(dir);
        let mut experiments = Experiments {
            path: path.clone(),
            rows: Vec::new(),
        };
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(experiments),
            Err(e) => {
                return Err(ExperimentsError::Read {
                    path,
                    source: e.into(),
                });
            }
        };
        if !metadata.is_file() {
            return Err(ExperimentsError::NotAFile(path));
        }
        if metadata.len() > MAX_EXPERIMENTS_BYTES {
            return Err(ExperimentsError::TooLarge {
                path,
                size: metadata.len(),
            });
        }
        let read_error = |source| ExperimentsError::Read {
            path: path.clone(),
            source,
        };
        let malformed = |line, what: String| ExperimentsError::Malformed {
            path: path.clone(),
            line,
            what,
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(&path)
            .map_err(read_error)?;
        let mut records = reader.records();
        match records.next().transpose().map_err(read_error)? {
            Some(header) if header.iter().eq(EXPERIMENT_COLUMNS) => {}
            Some(header) => {
                return Err(malformed(
                    1,
                    format!(
                        "the header is `{}`, not `{}`",
                        header.iter().collect::<Vec<_>>().join(","),
                        EXPERIMENT_COLUMNS.join(",")
                    ),
                ));
            }
            None => return Ok(experiments), // empty: nothing to keep
        }
        for record in records {
            let row = record.map_err(read_error)?;
            let line = row.position().map_or(0, |p| p.line());
            let tag = &row[0];
            if !is_plain_tag(tag) {
                return Err(malformed(
                    line,
                    format!("`{tag}` is not a tag such as process-fibo"),
                ));
            }
            if experiments.tags().any(|t| t == tag) {
                return Err(malformed(line, format!("a second row for `{tag}`")));
            }
            // A row whose per-task CSV is gone describes nothing: drop it.
            if dir.join(results::layout::task_file_name(tag)).is_file() {
                experiments.rows.push(row);
            }
        }
        Ok(experiments)
    }

    /// The tags of the rows, in file order.
    pub fn tags(&self) -> impl Iterator<Item = &str> {
        self.rows.iter().map(|row| &row[0])
    }

    /// Puts `record`'s row in place of the row with the same tag, or after the others.
    pub fn put(&mut self, record: &ExperimentRecord) {
        let row = csv::StringRecord::from(record.fields().to_vec());
        match self.rows.iter_mut().find(|r| r[0] == record.tag) {
            Some(old) => *old = row,
            None => self.rows.push(row),
        }
    }

    /// Writes the rows to `experiments.csv`, atomically.
    pub fn write(&self) -> Result<(), WriteError> {
        TEMP.write_csv(&self.path, |w| {
            w.write_record(EXPERIMENT_COLUMNS)?;
            for row in &self.rows {
                w.write_record(row)?;
            }
            Ok(())
        })
    }
}

/// Whether `tag` is a name this program could have written, such as `process-fibo`:
/// so that a row can never point outside the folder.
fn is_plain_tag(tag: &str) -> bool {
    !tag.is_empty()
        && !tag.starts_with('-')
        && tag
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// An `--out` folder, held by this run until dropped. See the module header.
#[derive(Debug)]
pub struct OutDir {
    path: PathBuf,
    /// The exclusive lock on the folder; released when the run ends, however it ends,
    /// because the kernel drops it when the last descriptor is closed. Children forked
    /// after it (fork workers, the built-in delay server) share the descriptor, so the
    /// lock lasts until they are gone too: a pool reaps its workers, and the delay
    /// server is reaped when dropped. Only after a SIGKILL or Ctrl-C can a child that
    /// is still dying hold it a moment longer, and a run started in that moment is
    /// refused with the same "in use" line.
    _lock: nix::fcntl::Flock<File>,
    /// Whether this run made the folder: if so, and the run wrote nothing into it
    /// (it failed first), dropping removes it again, so that a failed run leaves no
    /// empty folder behind.
    created: bool,
}

/// Why a run cannot write into its `--out` folder.
#[derive(Debug, thiserror::Error)]
pub enum OutDirError {
    /// The folder cannot be created.
    #[error("cannot create --out folder {path}")]
    Create {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Another run holds the folder.
    #[error(
        "--out folder {0} is in use by another pools run (or a report reading it): wait \
         for it to finish, or choose another --out"
    )]
    Busy(PathBuf),
    /// The folder cannot be opened or locked.
    #[error("cannot lock --out folder {path}")]
    Lock {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// No file can be written into it.
    #[error("cannot write into --out folder {path}")]
    NotWritable {
        /// The folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
}

impl OutDir {
    /// Creates the folder if need be, locks it for this run, removes the temporary
    /// files that killed runs left there, and checks that a file can be written.
    pub fn open(path: &Path) -> Result<OutDir, OutDirError> {
        use nix::fcntl::{Flock, FlockArg};

        let created = !path.exists();
        std::fs::create_dir_all(path).map_err(|source| OutDirError::Create {
            path: path.to_owned(),
            source,
        })?;
        let lock_error = |source| OutDirError::Lock {
            path: path.to_owned(),
            source,
        };
        // The folder's own descriptor is locked, so no lock file is ever left behind.
        let dir = File::open(path).map_err(lock_error)?;
        let lock = match Flock::lock(dir, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => lock,
            Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                return Err(OutDirError::Busy(path.to_owned()));
            }
            Err((_, errno)) => return Err(lock_error(errno.into())),
        };
        // Only now: no other run can be writing here, so its files are not touched.
        // A folder that cannot be listed is found out just below: nothing can be
        // written into it either.
        let _ = TEMP.remove_stale(path);
        TEMP.create_in(path)
            .map_err(|source| OutDirError::NotWritable {
                path: path.to_owned(),
                source,
            })?;
        Ok(OutDir {
            path: path.to_owned(),
            _lock: lock,
            created,
        })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this run made the folder (it did not exist before).
    pub fn created(&self) -> bool {
        self.created
    }
}

impl Drop for OutDir {
    fn drop(&mut self) {
        if self.created {
            // `remove_dir` removes only an empty folder: after a run that wrote its
            // files this fails, as it should, and is ignored. (Only the last folder of
            // the path is removed; parents that `create_dir_all` made stay.)
            let _ = std::fs::remove_dir(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    // The temporary-file names, the clean-up of a dead writer's files and a write
    // that fails half-way are tested where they live, in `results::atomic`.
    use super::*;

    /// The per-task CSV's text is pinned: the article's pandas code depends on the
    /// first five columns, and `report` on all of them.
    #[test]
    fn task_csv_format_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("process-fibo.csv");
        let records = [
            TaskRecord {
                index: 0,
                start: 1_700_000_000.25,
                end: 1_700_000_001.5,
                worker: 1,
                pid: 4242,
                tid: 4242,
                output: 5_702_887u64,
            },
            TaskRecord {
                index: 1,
                start: 1_700_000_000.000_001,
                end: 1_700_000_000.75,
                worker: 0,
                pid: 4241,
                tid: 4241,
                output: 9_227_465,
            },
        ];
        write_tasks(&path, "process-fibo", &[34, 35], &records).unwrap();
        insta::assert_snapshot!(std::fs::read_to_string(&path).unwrap(), @r"
        tag,start_time,end_time,elapsed,result,input,worker,pid,tid
        process-fibo-0,1700000000.250000,1700000001.500000,1.250000,5702887,34,1,4242,4242
        process-fibo-1,1700000000.000001,1700000000.750000,0.749999,9227465,35,0,4241,4241
        ");
    }

    /// A body with a comma is quoted, so the CSV stays parseable.
    #[test]
    fn results_with_commas_are_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread-get.csv");
        let record = TaskRecord {
            index: 0,
            start: 1.0,
            end: 2.0,
            worker: 0,
            pid: 1,
            tid: 2,
            output: "200 OK, eventually".to_string(),
        };
        write_tasks(&path, "thread-get", &[1000], &[record]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"200 OK, eventually\""), "{text}");
    }

    fn record(tag: &str, started_at: f64) -> ExperimentRecord {
        ExperimentRecord {
            tag: tag.into(),
            pool: crate::PoolKind::Thread,
            function: "fibonacci".into(),
            inputs: 3,
            workers: 2,
            start_method: None,
            switch_interval_ms: None,
            started_at,
            finished_at: started_at + 0.5,
            makespan: 0.5,
            voluntary_switches: 7,
            involuntary_switches: 1,
            gil_switches: 0,
        }
    }

    /// What `write_experiments` writes, `Experiments` reads back and writes again
    /// byte for byte: the header and the row format have one home.
    #[test]
    fn experiments_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(Experiments::FILE);
        let records = [record("thread-fibo", 1.0), record("thread-get", 2.0)];
        for r in &records {
            std::fs::write(dir.path().join(format!("{}.csv", r.tag)), "").unwrap();
        }
        write_experiments(&path, &records).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        let experiments = Experiments::load(dir.path()).unwrap();
        assert_eq!(
            experiments.tags().collect::<Vec<_>>(),
            ["thread-fibo", "thread-get"]
        );
        std::fs::remove_file(&path).unwrap();
        experiments.write().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), written);

        // `put` replaces in place, or appends.
        let mut experiments = Experiments::load(dir.path()).unwrap();
        experiments.put(&record("thread-fibo", 5.0));
        experiments.put(&record("gil-fibo", 6.0));
        experiments.write().unwrap();
        let mut expected = records.to_vec();
        expected[0] = record("thread-fibo", 5.0);
        expected.push(record("gil-fibo", 6.0));
        let direct = dir.path().join("direct.csv");
        write_experiments(&direct, &expected).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::fs::read_to_string(&direct).unwrap()
        );
    }

    /// No file, or an empty one, is no rows; a folder or a FIFO in its place is an
    /// error, and is never opened for reading (a FIFO would block).
    #[test]
    fn experiments_csv_that_is_not_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Experiments::load(dir.path()).unwrap().tags().count(), 0);
        std::fs::write(dir.path().join(Experiments::FILE), "").unwrap();
        assert_eq!(Experiments::load(dir.path()).unwrap().tags().count(), 0);
        std::fs::remove_file(dir.path().join(Experiments::FILE)).unwrap();
        nix::unistd::mkfifo(
            &dir.path().join(Experiments::FILE),
            nix::sys::stat::Mode::S_IRWXU,
        )
        .unwrap();
        let err = Experiments::load(dir.path()).unwrap_err();
        assert!(err.to_string().ends_with("is not a regular file"), "{err}");
    }

    /// SIGINT and SIGTERM are held back on the writing thread while a file is being
    /// written, and only then: a result's `Display` (called during the write) sees
    /// them blocked, and the mask is back as it was afterwards.
    #[test]
    fn signals_are_held_back_while_a_file_is_written() {
        use nix::sys::signal::{SigSet, Signal};
        use std::cell::Cell;

        /// Records whether SIGINT and SIGTERM were blocked when it was formatted.
        struct Spy(Cell<Option<bool>>);
        impl std::fmt::Display for Spy {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let mask = SigSet::thread_get_mask().unwrap();
                self.0.set(Some(
                    mask.contains(Signal::SIGINT) && mask.contains(Signal::SIGTERM),
                ));
                f.write_str("spy")
            }
        }

        let held = |mask: SigSet| mask.contains(Signal::SIGINT) || mask.contains(Signal::SIGTERM);
        assert!(!held(SigSet::thread_get_mask().unwrap()), "held before");
        let dir = tempfile::tempdir().unwrap();
        let record = TaskRecord {
            index: 0,
            start: 1.0,
            end: 2.0,
            worker: 0,
            pid: 1,
            tid: 1,
            output: Spy(Cell::new(None)),
        };
        write_tasks(
            &dir.path().join("t.csv"),
            "t",
            &[1],
            std::slice::from_ref(&record),
        )
        .unwrap();
        assert_eq!(
            record.output.0.get(),
            Some(true),
            "not held during the write"
        );
        assert!(
            !held(SigSet::thread_get_mask().unwrap()),
            "still held after"
        );
    }

    /// Nothing but the final file is left in the folder.
    #[test]
    fn no_temporary_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        write_held(&dir.path().join("gil-fibo-held.csv"), &[]).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["gil-fibo-held.csv"]);
    }
}
