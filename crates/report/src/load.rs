//! Reading a results folder into [`Results`].
//!
//! Every file is read completely and checked before anything is drawn, so a bad row
//! stops the run before a single output file is touched. Errors point at the exact
//! line (`results/thread-fibo.csv:4: ...`), because that is where the reader will
//! have to look.

use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;

use serde::de::DeserializeOwned;

use crate::model::{
    Experiment, ExperimentRecord, HeldInterval, Pool, Results, TaskRecord, Workload,
};
use crate::{ReportError, files};

/// The columns of a per-task CSV, in the order `pools` writes them.
pub const TASK_COLUMNS: &[&str] = &[
    "tag",
    "start_time",
    "end_time",
    "elapsed",
    "result",
    "input",
    "worker",
    "pid",
    "tid",
];

/// The columns of `experiments.csv`.
pub const EXPERIMENT_COLUMNS: &[&str] = &[
    "tag",
    "pool",
    "function",
    "inputs",
    "workers",
    "start_method",
    "switch_interval_ms",
    "started_at",
    "finished_at",
    "makespan",
    "voluntary_switches",
    "involuntary_switches",
    "gil_switches",
];

/// The columns of `gil-{fibo|get}-held.csv`.
pub const HELD_COLUMNS: &[&str] = &["worker", "tid", "acquired_at", "released_at"];

/// The per-task CSV of one experiment: `{dir}/{pool}-{fibo|get}.csv`.
pub fn task_file(dir: &Path, pool: Pool, workload: Workload) -> PathBuf {
    dir.join(format!("{pool}-{workload}.csv"))
}

/// The GIL interval file of one workload: `{dir}/gil-{fibo|get}-held.csv`.
pub fn held_file(dir: &Path, workload: Workload) -> PathBuf {
    dir.join(format!("gil-{workload}-held.csv"))
}

/// Reads every per-task CSV in `dir`, plus `experiments.csv` and the GIL interval
/// files when they are there.
///
/// Fails if `dir` is missing, holds no per-task CSV at all, or any file present is
/// malformed. A missing optional file is not an error: the charts that need it are
/// skipped.
///
/// While it reads, it holds a shared lock on `dir` ([`files::lock_for_reading`]),
/// and fails at once with [`ReportError::Busy`] if a `pools` run is writing there.
pub fn load(dir: &Path) -> Result<Results, ReportError> {
    if !dir.exists() {
        return Err(ReportError::MissingDir(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(ReportError::NotADir(dir.to_path_buf()));
    }
    let _reading = files::lock_for_reading(dir)?;

    let summary_path = dir.join("experiments.csv");
    let mut summaries: Vec<(u64, ExperimentRecord)> = Vec::new();
    read_optional::<ExperimentRecord>(&summary_path, EXPERIMENT_COLUMNS, |line, row| {
        let path = &summary_path;
        check_interval(
            path,
            line,
            ("started_at", row.started_at),
            ("finished_at", row.finished_at),
        )?;
        let span = row.finished_at - row.started_at;
        if !(row.makespan.is_finite() && (row.makespan - span).abs() <= TOLERANCE_S) {
            return Err(row_error(
                path,
                line,
                format!(
                    "makespan {} s is not finished_at - started_at ({span:.6} s)",
                    number(row.makespan)
                ),
            ));
        }
        summaries.push((line, row));
        Ok(())
    })?;

    let mut results = Results {
        dir: dir.to_path_buf(),
        ..Results::default()
    };
    for workload in Workload::ALL {
        for pool in Pool::ALL {
            let path = task_file(dir, pool, workload);
            let tag = format!("{pool}-{workload}");
            let summary = summaries.iter().find(|(_, s)| s.tag == tag);
            let mismatch = |message: String| ReportError::Mismatch {
                path: path.clone(),
                summary: summary_path.clone(),
                line: summary.map_or(0, |(line, _)| *line),
                message,
            };
            let mut tasks = Vec::new();
            let found = read_optional::<TaskRecord>(&path, TASK_COLUMNS, |line, task| {
                let (start, end) = (task.start_time, task.end_time);
                check_interval(&path, line, ("start_time", start), ("end_time", end))?;
                if let Some((_, run)) = summary {
                    if start < run.started_at - TOLERANCE_S || end > run.finished_at + TOLERANCE_S {
                        return Err(mismatch(format!(
                            "its line {line} ({}) ran from {start:.6} to {end:.6}, outside \
                             the run's started_at..finished_at ({:.6} to {:.6})",
                            task.tag, run.started_at, run.finished_at
                        )));
                    }
                }
                tasks.push(task);
                Ok(())
            })?;
            if !found {
                continue;
            }
            if tasks.is_empty() {
                return Err(ReportError::NoRows(path));
            }
            if let Some((_, run)) = summary {
                if tasks.len() as u64 != run.inputs {
                    return Err(mismatch(format!(
                        "it has {} task rows, but the row says inputs = {}",
                        tasks.len(),
                        run.inputs
                    )));
                }
            }
            tasks.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
            results.experiments.push(Experiment {
                pool,
                workload,
                path,
                tasks,
                summary: summary.map(|(_, s)| s.clone()),
            });
        }

        let path = held_file(dir, workload);
        let mut held = Vec::new();
        let found = read_optional::<HeldInterval>(&path, HELD_COLUMNS, |line, hold| {
            check_interval(
                &path,
                line,
                ("acquired_at", hold.acquired_at),
                ("released_at", hold.released_at),
            )?;
            held.push(hold);
            Ok(())
        })?;
        if found {
            held.sort_by(|a, b| a.acquired_at.total_cmp(&b.acquired_at));
            results.held.insert(workload, held);
        }
    }

    if results.experiments.is_empty() {
        return Err(ReportError::NoTaskFiles(dir.to_path_buf()));
    }
    Ok(results)
}

/// How far a task may lie outside its run's `started_at..finished_at`, and the
/// makespan from `finished_at - started_at`, in seconds. `pools` takes all of them
/// from the same clock and writes them rounded to the microsecond, so anything
/// beyond a millisecond is a different run.
pub const TOLERANCE_S: f64 = 0.001;

/// The latest time accepted, in Unix seconds: 2100-01-01 00:00 UTC. Any time from
/// 1970 up to then is a plausible moment for an experiment; anything else (`1e300`,
/// a negative number) is a corrupt or hand-edited file, and would only draw as
/// nonsense.
pub const LATEST_UNIX_S: f64 = 4_102_444_800.0;

/// The longest line accepted in any CSV, in bytes. `pools` writes lines of about
/// 100 bytes; a line of a megabyte is not a results file, and without a limit a file
/// with no newline would be read whole into memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Rejects an interval that could not have happened: a time that is not a Unix time
/// from 1970 to 2100, or an end before its start. Each time comes with its column's
/// name, for the message.
fn check_interval(
    path: &Path,
    line: u64,
    (first, start): (&str, f64),
    (second, end): (&str, f64),
) -> Result<(), ReportError> {
    for (column, t) in [(first, start), (second, end)] {
        if !(0.0..=LATEST_UNIX_S).contains(&t) {
            return Err(row_error(
                path,
                line,
                format!(
                    "{column} = {} is not a Unix time in seconds from 1970 to 2100 \
                     (0 to {LATEST_UNIX_S:.0})",
                    number(t)
                ),
            ));
        }
    }
    if end < start {
        return Err(row_error(
            path,
            line,
            format!("the interval ends before it starts ({second} < {first})"),
        ));
    }
    Ok(())
}

/// A number as a person would write it: `1e300` rather than 301 digits.
fn number(x: f64) -> String {
    if x.is_finite() && x.abs() < 1e15 {
        format!("{x}")
    } else {
        format!("{x:e}")
    }
}

fn row_error(path: &Path, line: u64, message: String) -> ReportError {
    ReportError::Row {
        path: path.to_path_buf(),
        line,
        message,
    }
}

/// Reads a CSV if it exists, passing each row to `each` with its line; `Ok(false)`
/// if the file does not exist.
///
/// Only a regular file is read. The file is opened without waiting (`O_NONBLOCK`,
/// which does nothing to a regular file) and checked after opening, on the file
/// actually opened: opening a FIFO for reading would otherwise wait for a writer
/// forever, and a link to `/dev/zero` would never end.
fn read_optional<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
    each: impl FnMut(u64, T) -> Result<(), ReportError>,
) -> Result<bool, ReportError> {
    let read_error = |source| ReportError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(source) => return Err(read_error(source)),
    };
    if !file.metadata().map_err(read_error)?.is_file() {
        return Err(ReportError::NotAFile(path.to_path_buf()));
    }
    for_each_row(path, LineLimit::new(file), columns, each)?;
    Ok(true)
}

/// A reader that fails once a line grows past [`MAX_LINE_BYTES`], with a
/// [`LineTooLong`] error that says which line.
struct LineLimit<R> {
    inner: R,
    /// The 1-based line being read.
    line: u64,
    /// Bytes of that line read so far.
    len: usize,
}

/// The error [`LineLimit`] returns, inside an [`io::Error`].
#[derive(Debug, thiserror::Error)]
#[error("line {0} is longer than {MAX_LINE_BYTES} bytes")]
struct LineTooLong(u64);

impl<R> LineLimit<R> {
    fn new(inner: R) -> Self {
        LineLimit {
            inner,
            line: 1,
            len: 0,
        }
    }
}

impl<R: io::Read> io::Read for LineLimit<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &byte in &buf[..n] {
            if byte == b'\n' {
                self.line += 1;
                self.len = 0;
            } else {
                self.len += 1;
                if self.len > MAX_LINE_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        LineTooLong(self.line),
                    ));
                }
            }
        }
        Ok(n)
    }
}

/// Reads every row of a CSV with a header, returning each with the line it starts on.
///
/// Columns are matched by name, so their order does not matter and extra columns are
/// ignored; a missing column is reported against line 1.
pub fn read_rows<T: DeserializeOwned>(
    path: &Path,
    input: impl io::Read,
    columns: &[&str],
) -> Result<Vec<(u64, T)>, ReportError> {
    let mut rows = Vec::new();
    for_each_row(path, input, columns, |line, row| {
        rows.push((line, row));
        Ok(())
    })?;
    Ok(rows)
}

/// [`read_rows`], handing each row to `each` as it is read instead of collecting
/// them, so that a million rows are never held twice.
pub fn for_each_row<T: DeserializeOwned>(
    path: &Path,
    input: impl io::Read,
    columns: &[&str],
    mut each: impl FnMut(u64, T) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let mut reader = csv::Reader::from_reader(input);
    let headers = reader
        .headers()
        .map_err(|err| csv_error(path, err, None))?
        .clone();
    if let Some(missing) = columns.iter().find(|c| !headers.iter().any(|h| h == **c)) {
        return Err(ReportError::Row {
            path: path.to_path_buf(),
            line: 1,
            message: format!(
                "missing column `{missing}` (the header should be: {})",
                columns.join(",")
            ),
        });
    }

    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return Err(csv_error(path, err, Some(&headers))),
        }
        let line = record.position().map_or(0, |p| p.line());
        let row = record
            .deserialize(Some(&headers))
            .map_err(|err| csv_error(path, err, Some(&headers)))?;
        each(line, row)?;
    }
    Ok(())
}

/// Turns a csv error into `path:line: message`, naming the column by its header
/// rather than the csv crate's 0-based field number.
fn csv_error(path: &Path, err: csv::Error, headers: Option<&csv::StringRecord>) -> ReportError {
    let line = err.position().map_or(0, |p| p.line());
    let column = |field: Option<u64>| {
        field
            .and_then(|i| headers?.get(i as usize))
            .map(|name| format!(" in column {name}"))
            .unwrap_or_default()
    };
    let message = match err.into_kind() {
        csv::ErrorKind::Io(source) => {
            if let Some(LineTooLong(line)) = source.get_ref().and_then(|e| e.downcast_ref()) {
                return row_error(
                    path,
                    *line,
                    format!(
                        "line longer than {MAX_LINE_BYTES} bytes; a CSV written by pools has \
                         lines of about 100 bytes"
                    ),
                );
            }
            return ReportError::Read {
                path: path.to_path_buf(),
                source,
            };
        }
        csv::ErrorKind::Deserialize { err, .. } => format!("{}{}", err.kind(), column(err.field())),
        csv::ErrorKind::Utf8 { err, .. } => {
            format!("invalid UTF-8{}", column(Some(err.field() as u64)))
        }
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("found {len} fields, but the header has {expected_len}"),
        other => format!("{other:?}"),
    };
    ReportError::Row {
        path: path.to_path_buf(),
        line,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tasks(text: &str) -> Result<Vec<(u64, TaskRecord)>, ReportError> {
        read_rows(Path::new("t.csv"), text.as_bytes(), TASK_COLUMNS)
    }

    const HEADER: &str = "tag,start_time,end_time,elapsed,result,input,worker,pid,tid\n";

    /// Rows come back with the line they start on, counting the header as line 1.
    #[test]
    fn rows_carry_their_line_numbers() {
        let text =
            format!("{HEADER}a-0,1.0,2.0,1.0,5,5,0,10,11\na-1,1.5,2.5,1.0,\"200 OK\",6,1,10,12\n");
        let rows = tasks(&text).unwrap();
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(rows[1].1.result, "200 OK");
    }

    /// `check_interval`'s messages, exactly: the file, the line, the column, the value
    /// as a person would write it, and the rule it breaks.
    #[test]
    fn interval_errors_name_file_line_column_and_rule() {
        let check = |start, end| {
            check_interval(
                Path::new("t.csv"),
                7,
                ("start_time", start),
                ("end_time", end),
            )
            .map_err(|err| err.to_string())
        };
        assert_eq!(check(1.7e9, 1.7e9 + 1.0), Ok(()));
        assert_eq!(
            check(1e300, 1.7e9),
            Err(
                "t.csv:7: start_time = 1e300 is not a Unix time in seconds from 1970 to 2100 \
                 (0 to 4102444800)"
                    .to_owned()
            )
        );
        assert_eq!(
            check(1.7e9, -5.0),
            Err(
                "t.csv:7: end_time = -5 is not a Unix time in seconds from 1970 to 2100 \
                 (0 to 4102444800)"
                    .to_owned()
            )
        );
        assert!(
            check(f64::NAN, 1.7e9)
                .unwrap_err()
                .contains("start_time = NaN")
        );
        assert_eq!(
            check(1.7e9 + 1.0, 1.7e9),
            Err("t.csv:7: the interval ends before it starts (end_time < start_time)".to_owned())
        );
    }

    /// A bad float is reported with its line and the column's name.
    #[test]
    fn bad_float_names_line_and_column() {
        let text = format!("{HEADER}a-0,1.0,2.0,1.0,5,5,0,10,11\na-1,1.5,oops,1.0,5,6,1,10,12\n");
        let err = tasks(&text).unwrap_err().to_string();
        assert_eq!(err, "t.csv:3: invalid float literal in column end_time");
    }

    /// A short row is reported with its line.
    #[test]
    fn short_row_names_line() {
        let text = format!("{HEADER}a-0,1.0,2.0,1.0,5,5,0,10\n");
        let err = tasks(&text).unwrap_err().to_string();
        assert_eq!(err, "t.csv:2: found 8 fields, but the header has 9");
    }

    /// A missing column is reported against the header line.
    #[test]
    fn missing_column_is_line_one() {
        let err = tasks("tag,start_time\n").unwrap_err().to_string();
        assert!(
            err.starts_with("t.csv:1: missing column `end_time`"),
            "{err}"
        );
    }

    /// Columns are matched by name, so a reordered header still reads.
    #[test]
    fn columns_match_by_name() {
        let text = "tid,pid,worker,input,result,elapsed,end_time,start_time,tag\n\
                    11,10,0,5,5,1.0,2.0,1.0,a-0\n";
        let rows = tasks(text).unwrap();
        assert_eq!(rows[0].1.tid, 11);
        assert_eq!(rows[0].1.end_time, 2.0);
    }

    /// An unknown pool name in `experiments.csv` is reported with its line and the
    /// accepted names (serde does not say which column an enum came from), and
    /// empty optional fields read as "absent".
    #[test]
    fn experiments_rows_are_checked() {
        let header = EXPERIMENT_COLUMNS.join(",");
        let good = "thread-fibo,thread,fibonacci,8,8,,,1.0,2.0,1.0,1,2,0";
        let bad = "x-fibo,bogus,fibonacci,8,8,,,1.0,2.0,1.0,1,2,0";
        let text = format!("{header}\n{good}\n{bad}\n");
        let err =
            read_rows::<ExperimentRecord>(Path::new("e.csv"), text.as_bytes(), EXPERIMENT_COLUMNS)
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("e.csv:3: unknown variant `bogus`"), "{err}");

        let text = format!("{header}\n{good}\n");
        let rows =
            read_rows::<ExperimentRecord>(Path::new("e.csv"), text.as_bytes(), EXPERIMENT_COLUMNS)
                .unwrap();
        assert_eq!(rows[0].1.start_method, None);
        assert_eq!(rows[0].1.switch_interval_ms, None);
    }
}
