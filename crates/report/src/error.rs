//! The one error type of the library. Every variant names the file it is about, so
//! the binary can print it as it is, on one line.

use std::io;
use std::path::PathBuf;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The `--in` folder is not there.
    #[error(
        "input folder {} does not exist: run `pools --out {}` first, or pass --in",
        .0.display(),
        .0.display()
    )]
    MissingDir(PathBuf),
    /// The `--in` path is a file, not a folder.
    #[error("{} is not a folder", .0.display())]
    NotADir(PathBuf),
    /// The folder has none of the six per-task CSVs.
    #[error(
        "no per-task CSVs in {}: expected files such as process-fibo.csv or thread-get.csv, \
         as written by `pools --out {}`",
        .0.display(),
        .0.display()
    )]
    NoTaskFiles(PathBuf),
    /// A file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// A CSV has a bad header or row. `line` is 1-based and counts the header.
    #[error("{}:{line}: {message}", .path.display())]
    Row {
        /// The file.
        path: PathBuf,
        /// The line the bad record starts on.
        line: u64,
        /// What is wrong with it, naming the column when there is one.
        message: String,
    },
    /// An input name is a FIFO, a device, a folder or anything else that is not a
    /// regular file (reading a FIFO would wait forever, `/dev/zero` never ends).
    #[error(
        "{} is not a regular file: report reads only the files that `pools` writes",
        .0.display()
    )]
    NotAFile(PathBuf),
    /// The input folder is locked by a `pools` run that is writing into it.
    #[error(
        "{} is being written by a running `pools` (it holds a lock on the folder): \
         wait for it to finish, then run report again",
        .0.display()
    )]
    Busy(PathBuf),
    /// A per-task CSV disagrees with its row in `experiments.csv`.
    #[error(
        "{} does not match its row in {}:{line}: {message}; was the folder written by \
         two runs at once? Run the experiment again into an empty folder",
        .path.display(),
        .summary.display()
    )]
    Mismatch {
        /// The per-task CSV.
        path: PathBuf,
        /// `experiments.csv`.
        summary: PathBuf,
        /// The row's line in `experiments.csv`.
        line: u64,
        /// What differs.
        message: String,
    },
    /// The folder holds files in two dialects: the article's 5-column CSVs beside
    /// files that `pools` wrote. They cannot be one run.
    #[error(
        "{} mixes two formats: {} is in {first_dialect}, but {} is in {second_dialect}; \
         give each run a folder of its own",
        .dir.display(),
        .first.display(),
        .second.display()
    )]
    MixedFormats {
        /// The folder.
        dir: PathBuf,
        /// The first file read.
        first: PathBuf,
        /// Its dialect.
        first_dialect: results::Dialect,
        /// The first file in another dialect.
        second: PathBuf,
        /// Its dialect.
        second_dialect: results::Dialect,
    },
    /// A per-task CSV has a header and nothing else.
    #[error("{}: no task rows, only a header", .0.display())]
    NoRows(PathBuf),
    /// A chart could not be drawn or encoded.
    #[error("cannot draw {file}: {message}")]
    Draw {
        /// The output file name.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// An output file could not be written.
    #[error("cannot write {}", .path.display())]
    Write {
        /// The file that was being written.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
}

/// A results file that cannot be read keeps its message: the file, the line, what
/// is wrong.
impl From<results::ReadError> for ReportError {
    fn from(err: results::ReadError) -> Self {
        match err {
            results::ReadError::Io { path, source } => ReportError::Read { path, source },
            results::ReadError::NotAFile(path) => ReportError::NotAFile(path),
            results::ReadError::Row {
                path,
                line,
                message,
            } => ReportError::Row {
                path,
                line,
                message,
            },
            results::ReadError::MixedDialects {
                dir,
                first,
                first_dialect,
                second,
                second_dialect,
            } => ReportError::MixedFormats {
                dir,
                first,
                first_dialect,
                second,
                second_dialect,
            },
        }
    }
}

/// An atomic write that failed: the file and the cause.
impl From<results::WriteError> for ReportError {
    fn from(err: results::WriteError) -> Self {
        ReportError::Write {
            path: err.path,
            source: err.source,
        }
    }
}
