//! The reading side of the contract: open a results file safely, check its header
//! against the columns, and hand each row over with the line it starts on.
//!
//! Every error names the file and the line (`results/thread-fibo.csv:4: ...`),
//! because that is where the reader will have to look.
//!
//! # Older and foreign files
//!
//! A header says which [`Dialect`] a file is written in, and the dialect says which
//! record its rows become. There are two:
//!
//! - [`Dialect::Pools`]: the columns in [`crate::layout`], matched by name, so that
//!   reordered or extra columns still read.
//! - [`Dialect::Article`]: the article's own per-task CSVs, with exactly
//!   `tag,start_time,end_time,elapsed,result` ([`ARTICLE_TASK_COLUMNS`]). Their rows
//!   are [`ArticleRow`]s. No other kind of file has an article dialect: the
//!   article's program writes no summary and no GIL intervals.
//!
//! [`Dialect::recognise`] tells them apart by one header, and [`folder_dialect`] by
//! every file of a folder: a folder holds one run, so it has one dialect, and a
//! folder that mixes the two is refused ([`ReadError::MixedDialects`]) rather than
//! drawn as if one run had written it.
//!
//! [`ArticleRow`]: crate::ArticleRow

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::fcntl::OFlag;
use serde::de::DeserializeOwned;

use crate::layout::{
    ARTICLE_TASK_COLUMNS, EXPERIMENT_COLUMNS, HELD_COLUMNS, TASK_COLUMNS, experiments_file,
    held_file, serial_file, task_file,
};
use crate::{Pool, Workload};

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
    /// Two files of one folder are written in different dialects: say, the article's
    /// `process-fibo.csv` beside a `thread-fibo.csv` or `experiments.csv` from
    /// `pools`. They cannot be one run, so nothing is drawn from them.
    #[error(
        "{} mixes two formats: {} is in {first_dialect}, but {} is in {second_dialect}; \
         give each run a folder of its own",
        .dir.display(),
        .first.display(),
        .second.display()
    )]
    MixedDialects {
        /// The folder.
        dir: PathBuf,
        /// The first file read.
        first: PathBuf,
        /// Its dialect.
        first_dialect: Dialect,
        /// The first file in another dialect.
        second: PathBuf,
        /// Its dialect.
        second_dialect: Dialect,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// What `pools` writes: every column of the file's kind, matched by name, so
    /// their order does not matter and extra columns are ignored. The default: a
    /// results folder is ours unless its headers say otherwise.
    #[default]
    Pools,
    /// What the article's own Python program writes: per-task CSVs with exactly the
    /// five columns [`ARTICLE_TASK_COLUMNS`], in any order, read as
    /// [`crate::ArticleRow`]s. There is no `input`, `worker`, `pid` or `tid`, and no
    /// `experiments.csv`.
    Article,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Pools => "pools' format",
            Dialect::Article => "the article's 5-column format",
        })
    }
}

impl Dialect {
    /// The dialect of a file whose header is `header`, given the `columns` its kind
    /// has in this crate's own format; or, as a message, what is wrong with it.
    ///
    /// A header with every one of `columns` is [`Dialect::Pools`] (extra columns are
    /// ignored, as they always were). Only a per-task file (`columns` is
    /// [`TASK_COLUMNS`]) can be anything else: [`Dialect::Article`] when its header
    /// is exactly the article's five columns. A header with those five and a column
    /// that neither format has is refused by name, so that a file from some third
    /// program is not read as the article's.
    pub fn recognise(header: &csv::StringRecord, columns: &[&str]) -> Result<Dialect, HeaderError> {
        let Err(missing) = require_columns(header, columns) else {
            return Ok(Dialect::Pools);
        };
        if columns != TASK_COLUMNS.as_slice() {
            return Err(missing);
        }
        let has = |column: &str| header.iter().any(|h| h == column);
        if !ARTICLE_TASK_COLUMNS.iter().all(|c| has(c)) {
            return Err(HeaderError::NeitherFormat {
                ours: Box::new(missing),
            });
        }
        match header.iter().find(|h| !ARTICLE_TASK_COLUMNS.contains(h)) {
            None => Ok(Dialect::Article),
            // Some of pools' own columns but not all: say which one is missing.
            Some(ours) if TASK_COLUMNS.contains(&ours) => Err(missing),
            Some(unknown) => Err(HeaderError::UnknownColumn {
                column: unknown.to_owned(),
            }),
        }
    }
}

/// Why a header is not one this crate reads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A column of this crate's own format is missing.
    #[error("missing column `{missing}` (the header should be: {expected})")]
    MissingColumn {
        /// The first column the header lacks.
        missing: String,
        /// The header the file's kind should have, comma-separated.
        expected: String,
    },
    /// A per-task header that is neither pools' nor the article's.
    #[error("{ours}; or, as the article's program writes it: {}", ARTICLE_TASK_COLUMNS.join(","))]
    NeitherFormat {
        /// What is missing for pools' own format.
        ours: Box<HeaderError>,
    },
    /// The article's five columns, and one that neither format has.
    #[error(
        "unknown column `{column}`: a per-task CSV has either pools' columns ({}) \
         or exactly the article's five ({})",
        TASK_COLUMNS.join(","),
        ARTICLE_TASK_COLUMNS.join(",")
    )]
    UnknownColumn {
        /// The first column that neither format has.
        column: String,
    },
}

/// [`HeaderError::MissingColumn`] if `header` lacks any of `columns`.
fn require_columns(header: &csv::StringRecord, columns: &[&str]) -> Result<(), HeaderError> {
    match columns.iter().find(|c| !header.iter().any(|h| h == **c)) {
        None => Ok(()),
        Some(missing) => Err(HeaderError::MissingColumn {
            missing: (*missing).to_owned(),
            expected: columns.join(","),
        }),
    }
}

/// The dialect of the file at `path`, whose kind has `columns` in this crate's own
/// format, from its header alone; `Ok(None)` if there is no such file. The file is
/// opened as [`open_optional`] opens it, and its first line is held to
/// [`MAX_LINE_BYTES`] like any other.
pub fn dialect_of(path: &Path, columns: &[&str]) -> Result<Option<Dialect>, ReadError> {
    let Some(file) = open_optional(path)? else {
        return Ok(None);
    };
    let mut reader = csv::Reader::from_reader(LineLimit::new(file));
    let headers = reader
        .headers()
        .map_err(|err| csv_error(path, err, None, 0))?;
    Dialect::recognise(headers, columns)
        .map(Some)
        .map_err(|err| ReadError::row(path, 1, err.to_string()))
}

/// The one dialect of every results file in `dir`, from their headers; `Ok(None)` if
/// `dir` holds none of them.
///
/// The files are looked at in the order a reader reads them (`experiments.csv`,
/// then per workload its per-task CSVs, its GIL interval file and its serial pass'
/// file, which is in the per-task columns). A bad header is
/// reported as [`dialect_of`] reports it; two files in different dialects are a
/// [`ReadError::MixedDialects`] naming the first file of each.
pub fn folder_dialect(dir: &Path) -> Result<Option<Dialect>, ReadError> {
    let mut files = vec![(experiments_file(dir), EXPERIMENT_COLUMNS.as_slice())];
    for workload in Workload::ALL {
        for pool in Pool::ALL {
            files.push((task_file(dir, pool, workload), TASK_COLUMNS.as_slice()));
        }
        files.push((held_file(dir, workload), HELD_COLUMNS.as_slice()));
        files.push((serial_file(dir, workload), TASK_COLUMNS.as_slice()));
    }
    let mut first: Option<(PathBuf, Dialect)> = None;
    for (path, columns) in files {
        let Some(dialect) = dialect_of(&path, columns)? else {
            continue;
        };
        match &first {
            None => first = Some((path, dialect)),
            Some((first, first_dialect)) if *first_dialect != dialect => {
                return Err(ReadError::MixedDialects {
                    dir: dir.to_path_buf(),
                    first: first.clone(),
                    first_dialect: *first_dialect,
                    second: path,
                    second_dialect: dialect,
                });
            }
            Some(_) => {}
        }
    }
    Ok(first.map(|(_, dialect)| dialect))
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
/// The header must name every one of `columns`, which are those of the row type `T`
/// (in whatever order, with any others beside them); a missing column is reported
/// against line 1. To read a file that may be in another dialect, ask
/// [`dialect_of`] first, and pass the columns of that dialect's row type.
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
        .map_err(|err| csv_error(path, err, None, 0))?
        .clone();
    // The csv crate ends a record at a `\r` and counts the `\n` after it as part of
    // the next record, one line too early. Python's csv module ends every line with
    // `\r\n` (the article's files do), so each record's line is put right here: a
    // header that ended in `\r\n` leaves the reader still on line 1.
    let skew = u64::from(reader.position().line() == 1);
    if let Err(err) = require_columns(&headers, columns) {
        return Err(ReadError::row(path, 1, err.to_string()).into());
    }

    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => return Err(csv_error(path, err, Some(&headers), skew).into()),
        }
        let line = record.position().map_or(0, |p| p.line() + skew);
        let row = record
            .deserialize(Some(&headers))
            .map_err(|err| csv_error(path, err, Some(&headers), skew))?;
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
/// rather than the csv crate's 0-based field number. `skew` is added to the csv
/// crate's line (see [`for_each_row`]).
fn csv_error(
    path: &Path,
    err: csv::Error,
    headers: Option<&csv::StringRecord>,
    skew: u64,
) -> ReadError {
    let line = err.position().map_or(0, |p| p.line() + skew);
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

    fn header(text: &str) -> csv::StringRecord {
        csv::StringRecord::from(text.split(',').collect::<Vec<_>>())
    }

    /// A per-task header is pools' when it has all nine columns (in any order, with
    /// extras), and the article's when it has exactly the article's five.
    #[test]
    fn headers_name_their_dialect() {
        let task = |text: &str| Dialect::recognise(&header(text), &TASK_COLUMNS);
        assert_eq!(task(HEADER.trim_end()), Ok(Dialect::Pools));
        assert_eq!(
            task(&format!("{},extra", HEADER.trim_end())),
            Ok(Dialect::Pools)
        );
        assert_eq!(
            task("tag,start_time,end_time,elapsed,result"),
            Ok(Dialect::Article)
        );
        assert_eq!(
            task("result,elapsed,end_time,start_time,tag"),
            Ok(Dialect::Article)
        );
    }

    /// A header that is neither is refused with the column that gives it away.
    #[test]
    fn other_headers_are_refused_by_column() {
        let task = |text: &str| {
            Dialect::recognise(&header(text), &TASK_COLUMNS)
                .unwrap_err()
                .to_string()
        };
        // The article's five and one of ours: a pools file that lost columns.
        assert!(
            task("tag,start_time,end_time,elapsed,result,pid")
                .starts_with("missing column `input`"),
        );
        // The article's five and a column of a third program.
        assert!(
            task("tag,start_time,end_time,elapsed,result,notes")
                .starts_with("unknown column `notes`: a per-task CSV has either"),
        );
        // Neither: the message shows both headers.
        let err = task("tag,start_time");
        assert!(err.starts_with("missing column `end_time`"), "{err}");
        assert!(
            err.ends_with("tag,start_time,end_time,elapsed,result"),
            "{err}"
        );
        // Other kinds of file have no article dialect.
        assert_eq!(
            Dialect::recognise(
                &header("tag,start_time,end_time,elapsed,result"),
                &HELD_COLUMNS
            ),
            Err(HeaderError::MissingColumn {
                missing: "worker".into(),
                expected: HELD_COLUMNS.join(","),
            })
        );
    }

    /// Writes `name` with a header line `header` and one row of zeros into `dir`.
    fn write_file(dir: &Path, name: &str, header: &str) {
        let zeros = vec!["0"; header.split(',').count()].join(",");
        std::fs::write(dir.join(name), format!("{header}\n{zeros}\n")).unwrap();
    }

    const ARTICLE: &str = "tag,start_time,end_time,elapsed,result";

    /// A folder's dialect is that of its files: none, pools' or the article's.
    #[test]
    fn a_folder_has_the_dialect_of_its_files() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(folder_dialect(dir.path()).unwrap(), None);
        for name in ["process-fibo.csv", "thread-fibo.csv", "process-get.csv"] {
            write_file(dir.path(), name, ARTICLE);
        }
        assert_eq!(folder_dialect(dir.path()).unwrap(), Some(Dialect::Article));

        let ours = tempfile::tempdir().unwrap();
        write_file(ours.path(), "gil-get.csv", HEADER.trim_end());
        write_file(ours.path(), "gil-get-held.csv", &HELD_COLUMNS.join(","));
        assert_eq!(folder_dialect(ours.path()).unwrap(), Some(Dialect::Pools));
    }

    /// A folder that mixes the two is refused with one line naming a file of each;
    /// `experiments.csv` counts as pools' own.
    #[test]
    fn a_mixed_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "process-fibo.csv", ARTICLE);
        write_file(dir.path(), "thread-fibo.csv", HEADER.trim_end());
        let err = folder_dialect(dir.path()).unwrap_err();
        assert!(matches!(
            err,
            ReadError::MixedDialects {
                first_dialect: Dialect::Article,
                second_dialect: Dialect::Pools,
                ..
            }
        ));
        let d = dir.path().display();
        assert_eq!(
            err.to_string(),
            format!(
                "{d} mixes two formats: {d}/process-fibo.csv is in the article's 5-column \
                 format, but {d}/thread-fibo.csv is in pools' format; give each run a \
                 folder of its own"
            )
        );

        std::fs::remove_file(dir.path().join("thread-fibo.csv")).unwrap();
        write_file(dir.path(), "experiments.csv", &EXPERIMENT_COLUMNS.join(","));
        let err = folder_dialect(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("experiments.csv is in pools' format, but"),
            "{err}"
        );
    }

    /// A bad header anywhere in the folder is reported with its file and line 1.
    #[test]
    fn a_folder_with_an_unknown_header_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        write_file(dir.path(), "thread-get.csv", "when,what");
        let err = folder_dialect(dir.path()).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "{}:1: missing column `tag`",
                dir.path().join("thread-get.csv").display()
            )),
            "{err}"
        );
    }

    /// An article row reads with its `result` as text, whatever Python printed, and
    /// Python's 7-decimal times and exponent floats read as floats.
    #[test]
    fn article_rows_keep_their_result_text() {
        let text = "tag,start_time,end_time,elapsed,result\r\n\
                    process-get-0,1764520000.1234567,1764520001.2,1.0765433311462402,b'200 OK'\r\n\
                    process-get-1,1764520000.5,1764520000.5,2.384185791015625e-07,\"b'a, b'\"\r\n";
        let rows = read_rows::<crate::ArticleRow>(
            Path::new("a.csv"),
            text.as_bytes(),
            &ARTICLE_TASK_COLUMNS,
        )
        .unwrap();
        assert_eq!(rows[0].1.result, "b'200 OK'");
        assert_eq!(rows[0].1.start_time, 1764520000.1234567);
        assert_eq!(rows[1].1.result, "b'a, b'");
        assert_eq!(rows[1].1.elapsed, 2.384185791015625e-07);
        assert_eq!((rows[0].0, rows[1].0), (2, 3));
    }

    /// With `\r\n` line ends, as Python writes them, errors and rows still carry
    /// the right line.
    #[test]
    fn crlf_lines_are_counted_right() {
        let text =
            "tag,start_time,end_time,elapsed,result\r\na-0,1.0,2.0,1.0,5\r\na-1,1.0,x,1.0,5\r\n";
        let err = read_rows::<crate::ArticleRow>(
            Path::new("a.csv"),
            text.as_bytes(),
            &ARTICLE_TASK_COLUMNS,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "a.csv:3: invalid float literal in column end_time"
        );
    }
}
