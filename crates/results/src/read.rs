//! The reading side of the contract: open a results file safely, check its header
//! against the columns, and hand each row over with the line it starts on.
//!
//! Every error names the file and the line (`results/thread-fibo.csv:4: ...`),
//! because that is where the reader will have to look.
//!
//! # Older and foreign files
//!
//! A header says which [`Dialect`] a file is written in, and the dialect says how
//! its rows become this crate's records. Today there is one, [`Dialect::Pools`]:
//! the columns in [`crate::layout`], matched by name, so that reordered or extra
//! columns still read. A file in another dialect (the article's own per-task CSVs,
//! which have only `tag,start_time,end_time,elapsed,result`) gets a variant of its
//! own, recognised in [`Dialect::recognise`]; nothing else changes.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use serde::de::DeserializeOwned;

/// The longest line accepted in any CSV, in bytes. `pools` writes lines of about
/// 100 bytes; a line of a megabyte is not a results file, and without a limit a file
/// with no newline would be read whole into memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Why a results file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file (or folder) cannot be opened or read.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The name is a FIFO, a device, a folder or anything else that is not a regular
    /// file (reading a FIFO would wait forever, `/dev/zero` never ends).
    #[error("{} is not a regular file", .0.display())]
    NotAFile(PathBuf),
    /// A bad header or row. `line` is 1-based and counts the header.
    #[error("{}:{line}: {message}", .path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// The line the bad record starts on.
        line: u64,
        /// What is wrong with it, naming the column when there is one.
        message: String,
    },
}

impl ReadError {
    /// A [`ReadError::Row`].
    pub fn row(path: &Path, line: u64, message: String) -> Self {
        ReadError::Row {
            path: path.to_path_buf(),
            line,
            message,
        }
    }
}

/// How a file's header says its rows are to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// What `pools` writes: every column of the file's kind, matched by name, so
    /// their order does not matter and extra columns are ignored.
    Pools,
}

impl Dialect {
    /// The dialect of a file whose header is `header`, given the `columns` its kind
    /// has in this crate's own format; or which column is missing.
    ///
    /// The seam for older and foreign files: a header that lacks some of `columns`
    /// but matches another known format is recognised here, as a variant of its own.
    pub fn recognise(header: &csv::StringRecord, columns: &[&str]) -> Result<Dialect, String> {
        match columns.iter().find(|c| !header.iter().any(|h| h == **c)) {
            None => Ok(Dialect::Pools),
            Some(missing) => Err(format!(
                "missing column `{missing}` (the header should be: {})",
                columns.join(",")
            )),
        }
    }
}

/// Opens `path` for reading if it exists: `Ok(None)` if it does not.
///
/// Only a regular file is read. The file is opened without waiting (`O_NONBLOCK`,
/// which does nothing to a regular file) and checked after opening, on the file
/// actually opened: opening a FIFO for reading would otherwise wait for a writer
/// forever, and a link to `/dev/zero` would never end.
pub fn open_optional(path: &Path) -> Result<Option<File>, ReadError> {
    let io_error = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(OFlag::O_NONBLOCK.bits())
        .open(path)
    {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(io_error(source)),
    };
    if !file.metadata().map_err(io_error)?.is_file() {
        return Err(ReadError::NotAFile(path.to_path_buf()));
    }
    Ok(Some(file))
}

/// Reads a CSV if it exists (see [`open_optional`]), passing each row to `each` with
/// its line; `Ok(false)` if the file does not exist.
pub fn read_optional<T: DeserializeOwned, E: From<ReadError>>(
    path: &Path,
    columns: &[&str],
    each: impl FnMut(u64, T) -> Result<(), E>,
) -> Result<bool, E> {
    let Some(file) = open_optional(path)? else {
        return Ok(false);
    };
    for_each_row(path, file, columns, each)?;
    Ok(true)
}

/// Reads every row of a CSV with a header, returning each with the line it starts on.
///
/// The header must name every one of `columns` ([`Dialect::recognise`]); a missing
/// column is reported against line 1.
pub fn read_rows<T: DeserializeOwned>(
    path: &Path,
    input: impl io::Read,
    columns: &[&str],
) -> Result<Vec<(u64, T)>, ReadError> {
    let mut rows = Vec::new();
    for_each_row(path, input, columns, |line, row| {
        rows.push((line, row));
        Ok::<_, ReadError>(())
    })?;
    Ok(rows)
}

/// [`read_rows`], handing each row to `each` as it is read instead of collecting
/// them, so that a million rows are never held twice. No line may be longer than
/// [`MAX_LINE_BYTES`].
pub fn for_each_row<T: DeserializeOwned, E: From<ReadError>>(
    path: &Path,
    input: impl io::Read,
    columns: &[&str],
    mut each: impl FnMut(u64, T) -> Result<(), E>,
) -> Result<(), E> {
    let mut reader = csv::Reader::from_reader(LineLimit::new(input));
    let headers = reader
        .headers()
        .map_err(|err| csv_error(path, err, None))?
        .clone();
    match Dialect::recognise(&headers, columns) {
        Ok(Dialect::Pools) => {}
        Err(message) => return Err(ReadError::row(path, 1, message).into()),
    }

    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return Err(csv_error(path, err, Some(&headers)).into()),
        }
        let line = record.position().map_or(0, |p| p.line());
        let row = record
            .deserialize(Some(&headers))
            .map_err(|err| csv_error(path, err, Some(&headers)))?;
        each(line, row)?;
    }
    Ok(())
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

/// Turns a csv error into `path:line: message`, naming the column by its header
/// rather than the csv crate's 0-based field number.
fn csv_error(path: &Path, err: csv::Error, headers: Option<&csv::StringRecord>) -> ReadError {
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
                return ReadError::row(
                    path,
                    *line,
                    format!(
                        "line longer than {MAX_LINE_BYTES} bytes; a CSV written by pools has \
                         lines of about 100 bytes"
                    ),
                );
            }
            return ReadError::Io {
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
    ReadError::row(path, line, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{EXPERIMENT_COLUMNS, TASK_COLUMNS};
    use crate::{ExperimentRecord, TaskRow};

    fn tasks(text: &str) -> Result<Vec<(u64, TaskRow)>, ReadError> {
        read_rows(Path::new("t.csv"), text.as_bytes(), &TASK_COLUMNS)
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

    /// A line past the limit is refused with its number, before it is read whole.
    #[test]
    fn long_lines_are_refused() {
        let text = format!("{HEADER}{}\n", "x".repeat(MAX_LINE_BYTES + 1));
        let err = tasks(&text).unwrap_err().to_string();
        assert!(err.starts_with("t.csv:2: line longer than"), "{err}");
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
            read_rows::<ExperimentRecord>(Path::new("e.csv"), text.as_bytes(), &EXPERIMENT_COLUMNS)
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("e.csv:3: unknown variant `bogus`"), "{err}");

        let text = format!("{header}\n{good}\n");
        let rows =
            read_rows::<ExperimentRecord>(Path::new("e.csv"), text.as_bytes(), &EXPERIMENT_COLUMNS)
                .unwrap();
        assert_eq!(rows[0].1.start_method, None);
        assert_eq!(rows[0].1.switch_interval_ms, None);
    }
}
