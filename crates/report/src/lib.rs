//! Turns the CSVs that `pools` writes into the article's figures, a GIL timeline and
//! a Perfetto trace.
//!
//! The claim the figures make, on a 2-core machine: for CPU-bound Fibonacci, the
//! process pool and Rust's plain thread pool both finish in about half the serial
//! time, while threads under a (simulated) GIL take the full serial time, because
//! the lock lets one thread compute at a time. For HTTP fetches that only wait,
//! every pool finishes when the slowest wait ends; processes just pay more to start.
//!
//! ```text
//! cargo run --release -p pools -- --experiment all --out results
//! cargo run --release -p report -- --in results --out results --format png,svg
//! ```
//!
//! # Layout
//! - [`model`]: one struct per CSV row (every field with its unit), and the loaded
//!   [`Results`].
//! - [`mod@load`]: reads and checks a results folder; errors name the file and line.
//! - [`chart`]: the figures. Each is built as plain [`chart::lanes::Lanes`] data and
//!   drawn by one routine, into PNG or SVG bytes.
//! - [`trace`]: the Chrome trace-event JSON.
//! - [`error`]: the one error type, [`ReportError`].
//! - This file: the [`Exporter`] trait that every output implements, [`plan`] (which
//!   outputs the results allow) and [`write_atomically`].

pub mod chart;
pub mod error;
pub mod load;
pub mod model;
pub mod trace;

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub use chart::{Chart, ChartFile, ImageFormat};
pub use error::ReportError;
pub use load::load;
pub use model::{Pool, Results, Workload};
pub use trace::TraceFile;

/// One output file. Each figure format and the trace implement it; the binary only
/// sees this trait.
pub trait Exporter: std::fmt::Debug {
    /// The file's name inside the output folder, e.g. `trace.json`.
    fn file_name(&self) -> String;

    /// The whole file's contents, built in memory.
    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError>;
}

/// The outputs to write for `results`, and the charts skipped for lack of input.
#[derive(Debug)]
pub struct Plan {
    /// Every file to write, in order.
    pub exporters: Vec<Box<dyn Exporter>>,
    /// One line per chart that cannot be drawn, saying which input is missing.
    pub skipped: Vec<String>,
}

/// Decides what to write: every chart whose input is present, in each of `formats`,
/// then `trace.json`.
pub fn plan(results: &Results, formats: &[ImageFormat]) -> Plan {
    let mut exporters: Vec<Box<dyn Exporter>> = Vec::new();
    let mut skipped = Vec::new();
    for chart in Chart::ALL {
        if let Some(missing) = chart.missing_input(results) {
            skipped.push(format!("{}: {missing}", chart.stem()));
            continue;
        }
        for &format in formats {
            exporters.push(Box::new(ChartFile { chart, format }));
        }
    }
    exporters.push(Box::new(TraceFile));
    Plan { exporters, skipped }
}

/// Writes `bytes` to `dir/name` so that the file is either absent, the old
/// version, or complete: never half-written.
///
/// The bytes go to a temporary file in the same folder, which is then renamed over
/// the target (a rename within one file system is atomic). If anything fails
/// before the rename, the temporary file is deleted when it is dropped.
pub fn write_atomically(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, ReportError> {
    let path = dir.join(name);
    let write_error = |source| ReportError::Write {
        path: path.clone(),
        source,
    };
    // Temporary files are created private (0600); a figure gets the mode any other
    // new file would: 0666 less the user's umask.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(write_error)?;
    tmp.write_all(bytes).map_err(write_error)?;
    // On disk before the rename, so that a crash cannot leave an empty file under
    // the final name.
    tmp.as_file().sync_data().map_err(write_error)?;
    let file: File = tmp.persist(&path).map_err(|err| write_error(err.error))?;
    drop(file);
    Ok(path)
}
