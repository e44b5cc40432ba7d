//! The results folder: the one contract between `pools`, which writes it, and
//! `report`, which reads it.
//!
//! Every fact about the folder has one home here: what the files are called, their
//! columns, the Rust type of each kind of row, how a file is written so that no
//! reader ever sees half of one, and how a reader checks what it reads. `pools`
//! and `report` both use it, so they cannot disagree; and this crate depends on
//! neither, so `report` stays free of the fork code and `pools` of the plotting.
//!
//! ```no_run
//! use results::{Pool, TempFiles, Workload, layout};
//!
//! let dir = std::path::Path::new("results");
//! let path = layout::task_file(dir, Pool::Thread, Workload::Fibo); // results/thread-fibo.csv
//! TempFiles::POOLS.write_csv(&path, |w| w.write_record(layout::TASK_COLUMNS))?;
//! # Ok::<(), results::WriteError>(())
//! ```
//!
//! # Layout
//! - [`kinds`]: the [`Pool`] and [`Workload`] enums, with one spelling each for file
//!   names, tags, columns and command-line flags (`clap::ValueEnum`).
//! - [`layout`]: file names, the paths of a folder's files, and the columns of each.
//! - [`records`]: one type per kind of row ([`TaskRow`], [`ExperimentRecord`],
//!   [`HeldInterval`], [`CoreSlice`], and [`ArticleRow`] for the article's own files), and how each
//!   is formatted.
//! - [`read`]: opening, header checks, the line limit, and the [`Dialect`] seam
//!   where a reader accepts foreign files: the article's 5-column CSVs.
//! - [`speedup`]: the article's speed-up lines, for `pools` and `report` alike.
//! - [`atomic`]: the atomic write, the temporary-file names that carry the writer's
//!   pid, the clean-up of a killed writer's files, and [`HoldSignals`].

pub mod atomic;
pub mod kinds;
pub mod layout;
pub mod read;
pub mod records;
pub mod speedup;

pub use atomic::{HoldSignals, TempFiles, WriteError};
pub use kinds::{Pool, UnknownName, Workload};
pub use read::{Dialect, ReadError};
pub use records::{ArticleRow, CoreSlice, ExperimentRecord, HeldInterval, TaskRow};
