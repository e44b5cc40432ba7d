//! Reading a results folder into [`Results`].
//!
//! Every file is read completely and checked before anything is drawn, so a bad row
//! stops the run before a single output file is touched. Errors point at the exact
//! line (`results/thread-fibo.csv:4: ...`), because that is where the reader will
//! have to look.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use crate::ReportError;
use crate::model::{
    Experiment, ExperimentRecord, HeldInterval, Pool, Results, TaskRecord, Workload,
};

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
pub fn load(dir: &Path) -> Result<Results, ReportError> {
    if !dir.exists() {
        return Err(ReportError::MissingDir(dir.to_path_buf()));
    }
    if !dir.is_dir() {
        return Err(ReportError::NotADir(dir.to_path_buf()));
    }

    let path = dir.join("experiments.csv");
    let mut summaries = Vec::new();
    for (line, row) in
        read_optional::<ExperimentRecord>(&path, EXPERIMENT_COLUMNS)?.unwrap_or_default()
    {
        check_interval(&path, line, row.started_at, row.finished_at, "started_at")?;
        if !(row.makespan.is_finite() && row.makespan >= 0.0) {
            return Err(ReportError::Row {
                path,
                line,
                message: "the makespan must be a finite, non-negative number of seconds".into(),
            });
        }
        summaries.push(row);
    }

    let mut results = Results {
        dir: dir.to_path_buf(),
        ..Results::default()
    };
    for workload in Workload::ALL {
        for pool in Pool::ALL {
            let path = task_file(dir, pool, workload);
            let Some(rows) = read_optional::<TaskRecord>(&path, TASK_COLUMNS)? else {
                continue;
            };
            if rows.is_empty() {
                return Err(ReportError::NoRows(path));
            }
            for (line, task) in &rows {
                check_interval(&path, *line, task.start_time, task.end_time, "start_time")?;
            }
            let mut tasks: Vec<TaskRecord> = rows.into_iter().map(|(_, task)| task).collect();
            tasks.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
            let tag = format!("{pool}-{workload}");
            let summary = summaries.iter().find(|s| s.tag == tag).cloned();
            results.experiments.push(Experiment {
                pool,
                workload,
                path,
                tasks,
                summary,
            });
        }

        let path = held_file(dir, workload);
        if let Some(rows) = read_optional::<HeldInterval>(&path, HELD_COLUMNS)? {
            for (line, held) in &rows {
                check_interval(
                    &path,
                    *line,
                    held.acquired_at,
                    held.released_at,
                    "acquired_at",
                )?;
            }
            let mut held: Vec<HeldInterval> = rows.into_iter().map(|(_, h)| h).collect();
            held.sort_by(|a, b| a.acquired_at.total_cmp(&b.acquired_at));
            results.held.insert(workload, held);
        }
    }

    if results.experiments.is_empty() {
        return Err(ReportError::NoTaskFiles(dir.to_path_buf()));
    }
    Ok(results)
}

/// Rejects an interval that could not have happened: a time that is not a number,
/// or an end before its start. `first` names the start column for the message.
fn check_interval(
    path: &Path,
    line: u64,
    start: f64,
    end: f64,
    first: &str,
) -> Result<(), ReportError> {
    let message = if !start.is_finite() || !end.is_finite() {
        "times must be finite numbers of seconds"
    } else if end < start {
        "the interval ends before it starts"
    } else {
        return Ok(());
    };
    Err(ReportError::Row {
        path: path.to_path_buf(),
        line,
        message: format!("{message} (column {first} and the one after it)"),
    })
}

/// Reads a CSV if it exists; `Ok(None)` if it does not.
fn read_optional<T: DeserializeOwned>(
    path: &Path,
    columns: &[&str],
) -> Result<Option<Vec<(u64, T)>>, ReportError> {
    match File::open(path) {
        Ok(file) => read_rows(path, file, columns).map(Some),
        Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReportError::Read {
            path: path.to_path_buf(),
            source,
        }),
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

    let mut rows = Vec::new();
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
        rows.push((line, row));
    }
    Ok(rows)
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
