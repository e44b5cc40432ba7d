//! Reading a results folder into [`Results`].
//!
//! Every file is read completely and checked before anything is drawn, so a bad row
//! stops the run before a single output file is touched. Errors point at the exact
//! line (`results/thread-fibo.csv:4: ...`), because that is where the reader will
//! have to look.
//!
//! The file names, the columns, the header check and the line limit are the results
//! contract's (`results::layout`, `results::read`); this module adds what only a
//! reader that draws needs: times that are plausible, and per-task files that agree
//! with their rows in `experiments.csv`.
//!
//! A folder of the article's own files (`results::read::Dialect::Article`: the four
//! `{process|thread}-{fibo|get}.csv` with five columns, nothing else) reads the same
//! way, with the same checks; a folder that mixes them with `pools`' files is
//! refused before any row is read.

use std::path::Path;

use results::layout::{
    ARTICLE_TASK_COLUMNS, EXPERIMENT_COLUMNS, HELD_COLUMNS, SERIAL_COLUMNS, TASK_COLUMNS,
    experiments_file, held_file, serial_file, tag, task_file,
};
use results::read::{folder_dialect, read_optional};

use crate::model::{
    ArticleRow, Dialect, Experiment, ExperimentRecord, HeldInterval, Pool, Results, TaskRow,
    Workload,
};
use crate::{ReportError, files};

/// Reads every per-task CSV in `dir`, plus `experiments.csv`, the GIL interval
/// files and the serial pass' files (`serial-{workload}.csv`) when they are there.
///
/// Fails if `dir` is missing, holds no per-task CSV at all, or any file present is
/// malformed. A missing optional file is not an error: the charts that need it are
/// skipped.
///
/// The article's own per-task CSVs are read too ([`Results::dialect`] is then
/// [`Dialect::Article`]); a folder whose files are not all in one dialect fails
/// with [`ReportError::MixedFormats`].
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
    // From the headers alone, before any row: a mixed folder is one clear error,
    // not a mismatch between a file of one run and the summary of another.
    let dialect = folder_dialect(dir)?.unwrap_or_default();

    let summary_path = experiments_file(dir);
    let mut summaries: Vec<(u64, ExperimentRecord)> = Vec::new();
    read_optional::<ExperimentRecord, ReportError>(
        &summary_path,
        &EXPERIMENT_COLUMNS,
        |line, row| {
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
        },
    )?;

    let mut results = Results {
        dir: dir.to_path_buf(),
        dialect,
        ..Results::default()
    };
    for workload in Workload::ALL {
        for pool in Pool::ALL {
            let path = task_file(dir, pool, workload);
            let tag = tag(pool, workload);
            let summary = summaries.iter().find(|(_, s)| s.tag == tag);
            let mismatch = |message: String| ReportError::Mismatch {
                path: path.clone(),
                summary: summary_path.clone(),
                line: summary.map_or(0, |(line, _)| *line),
                message,
            };
            let mut tasks = Vec::new();
            // The checks every task gets, whoever wrote it.
            let mut accept = |line: u64, task: TaskRow| -> Result<(), ReportError> {
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
            };
            let found = match dialect {
                Dialect::Article => read_optional::<ArticleRow, ReportError>(
                    &path,
                    &ARTICLE_TASK_COLUMNS,
                    |line, row| accept(line, from_article(row)),
                )?,
                _ => read_optional::<TaskRow, ReportError>(&path, &TASK_COLUMNS, |line, task| {
                    check_ids(&path, line, &[("pid", task.pid), ("tid", task.tid)])?;
                    accept(line, task)
                })?,
            };
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
        let found =
            read_optional::<HeldInterval, ReportError>(&path, &HELD_COLUMNS, |line, hold| {
                check_ids(&path, line, &[("tid", hold.tid)])?;
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

        // The serial pass, if the run made one (`pools --serial`): task rows like a
        // pool's, with the same checks.
        let path = serial_file(dir, workload);
        let mut serial = Vec::new();
        let found = read_optional::<TaskRow, ReportError>(&path, &SERIAL_COLUMNS, |line, task| {
            check_ids(&path, line, &[("pid", task.pid), ("tid", task.tid)])?;
            check_interval(
                &path,
                line,
                ("start_time", task.start_time),
                ("end_time", task.end_time),
            )?;
            serial.push(task);
            Ok(())
        })?;
        if found {
            if serial.is_empty() {
                return Err(ReportError::NoRows(path));
            }
            serial.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
            results.serial.insert(workload, serial);
        }
    }

    if results.experiments.is_empty() {
        return Err(ReportError::NoTaskFiles(dir.to_path_buf()));
    }
    results.cores = crate::chart::cores::load(dir)?;
    Ok(results)
}

/// A row of the article's files as a [`TaskRow`]: its five columns as they are
/// (the `result` stays text), and 0 for the `input`, `worker`, `pid` and `tid` the
/// file does not have. When [`Results::dialect`] is [`Dialect::Article`],
/// [`crate::plan`] skips every output that would read them.
fn from_article(row: ArticleRow) -> TaskRow {
    TaskRow {
        tag: row.tag,
        start_time: row.start_time,
        end_time: row.end_time,
        elapsed: row.elapsed,
        result: row.result,
        input: 0,
        worker: 0,
        pid: 0,
        tid: 0,
    }
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

/// The longest line accepted in any CSV, in bytes: the results contract's limit.
pub use results::read::MAX_LINE_BYTES;

/// Rejects a process or thread id that no process or thread has: a negative one.
/// (The files store the kernel's `pid_t`, a signed type.)
fn check_ids(path: &Path, line: u64, ids: &[(&str, i32)]) -> Result<(), ReportError> {
    match ids.iter().find(|(_, id)| *id < 0) {
        Some((column, id)) => Err(row_error(
            path,
            line,
            format!("{column} = {id} is not a process or thread id (they are never negative)"),
        )),
        None => Ok(()),
    }
}

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

/// Reads every row of a CSV with a header, returning each with the line it starts
/// on: the results contract's reader, with report's error type.
pub fn read_rows<T: serde::de::DeserializeOwned>(
    path: &Path,
    input: impl std::io::Read,
    columns: &[&str],
) -> Result<Vec<(u64, T)>, ReportError> {
    Ok(results::read::read_rows(path, input, columns)?)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// A negative pid or tid is refused with its line and column; 0 is kept.
    #[test]
    fn negative_ids_are_refused() {
        let check = |ids: &[(&str, i32)]| {
            check_ids(Path::new("t.csv"), 4, ids).map_err(|err| err.to_string())
        };
        assert_eq!(check(&[("pid", 0), ("tid", 42)]), Ok(()));
        assert_eq!(
            check(&[("pid", 1), ("tid", -3)]),
            Err("t.csv:4: tid = -3 is not a process or thread id (they are never negative)".into())
        );
    }

    /// The reader's own checks (line numbers, bad fields, missing columns, columns
    /// by name, enum names) are tested in `results::read`; here, only that they
    /// arrive as report's error with the same text.
    #[test]
    fn reader_errors_keep_their_text() {
        let header = TASK_COLUMNS.join(",");
        let text = format!("{header}\na-0,1.0,oops,1.0,5,5,0,10,11\n");
        let err =
            read_rows::<TaskRow>(Path::new("t.csv"), text.as_bytes(), &TASK_COLUMNS).unwrap_err();
        assert!(matches!(err, ReportError::Row { line: 2, .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "t.csv:2: invalid float literal in column end_time"
        );
    }
}
