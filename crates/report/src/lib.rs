//! Turns the CSVs that `pools` writes into the article's figures, a GIL timeline,
//! a Perfetto trace and `report.html`, a page with a tooltip on every task.
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
//! It also reads the four CSV files that the article's own Python program writes
//! (five columns, no `experiments.csv`), and draws the two Gantt charts from them;
//! see [`mod@load`] and [`Results::dialect`].
//!
//! With a second folder it puts CPython beside Rust: [`chart::beside`], drawn by
//! `report --beside`, and, when both ran their GETs on one thread's event loop,
//! [`chart::beside_async`].
//!
//! # Layout
//! - [`model`]: one struct per CSV row (every field with its unit; they are the
//!   `results` crate's, which `pools` writes with too), and the loaded [`Results`].
//! - [`mod@load`]: reads and checks a results folder; errors name the file and line.
//!   The names, columns, header check and line limit come from `results`.
//! - [`chart`]: the figures. Each is built as plain [`chart::lanes::Lanes`] data and
//!   drawn by one routine, into PNG or SVG bytes.
//! - [`isolation`]: reads the CSVs of `isolation-demo race`, `queue` and `barrier`
//!   (one-line errors naming file, line and column) and draws `race.png`,
//!   `queue-timeline.png` and `barrier-lanes.png` from a folder of only those.
//! - [`trace`]: the Chrome trace-event JSON.
//! - [`html`]: `report.html`, the Gantt charts as SVG with a tooltip per task, the
//!   speed-up lines and the experiments table, on one page that works offline.
//! - [`error`]: the one error type, [`ReportError`].
//! - [`files`]: how an output file is written (atomically, by `results`, under a
//!   temporary name that carries the writer's pid), how stale temporary files are
//!   cleaned up, and the shared lock on the input folder.
//! - This file: the [`Exporter`] trait that every output implements, and [`plan`]
//!   (which outputs the results allow).

pub mod chart;
pub mod error;
pub mod files;
pub mod html;
pub mod isolation;
pub mod load;
pub mod model;
pub mod trace;

use std::io::Write;

pub use chart::{Chart, ChartFile, ImageFormat};
pub use error::ReportError;
pub use files::{save, write_atomically};
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

    /// Whether the file is written as it is built, by [`write_to`], rather than
    /// [`render`]ed in memory first: true for an output that grows with the number
    /// of tasks (the trace), so that its size is not bounded by memory.
    ///
    /// [`render`]: Exporter::render
    /// [`write_to`]: Exporter::write_to
    fn streams(&self) -> bool {
        false
    }

    /// Writes the file's contents to `out`; by default, what [`render`] returns.
    /// An I/O error is a [`ReportError::Write`] whose path is the file's name.
    ///
    /// [`render`]: Exporter::render
    fn write_to(&self, results: &Results, out: &mut dyn Write) -> Result<(), ReportError> {
        let bytes = self.render(results)?;
        out.write_all(&bytes).map_err(|source| ReportError::Write {
            path: self.file_name().into(),
            source,
        })
    }
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
/// then `trace.json`, which needs each task's worker, pid and tid and so is skipped
/// for the article's own files, then `report.html`, which is always written.
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
    // The concurrency-vs-parallelism figure comes from two extra runs; a folder
    // without them says nothing about it.
    match &results.cores {
        chart::cores::CoreRuns::Both { .. } => exporters.extend(
            formats
                .iter()
                .map(|&format| Box::new(chart::cores::CoresFile { format }) as Box<dyn Exporter>),
        ),
        chart::cores::CoreRuns::Half(why) => skipped.push(format!("{}: {why}", chart::cores::STEM)),
        chart::cores::CoreRuns::Absent => {}
    }
    if results.has_task_ids() {
        exporters.push(Box::new(TraceFile));
    } else {
        skipped.push(format!(
            "{}: needs the worker, pid and tid columns, which the article's files do not have",
            TraceFile.file_name()
        ));
    }
    // The page needs nothing the Gantt charts do not: it says itself which of them
    // it could not draw.
    exporters.push(Box::new(html::HtmlFile));
    Plan { exporters, skipped }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dialect, Experiment, TaskRow};

    /// Results as the article's files give them: one pool, one workload, no ids.
    fn article_results() -> Results {
        let task = |i: usize, start: f64| TaskRow {
            tag: format!("thread-fibo-{i}"),
            start_time: start,
            end_time: start + 1.0,
            elapsed: 1.0,
            result: "55".into(),
            input: 0,
            worker: 0,
            pid: 0,
            tid: 0,
        };
        Results {
            dialect: Dialect::Article,
            experiments: vec![Experiment {
                pool: Pool::Thread,
                workload: Workload::Fibo,
                path: "thread-fibo.csv".into(),
                tasks: vec![task(1, 1.7e9), task(0, 1.7e9 + 0.5)],
                summary: None,
            }],
            ..Results::default()
        }
    }

    /// From the article's files only the Gantt charts are written; every other
    /// output, the trace included, is skipped once with its reason.
    #[test]
    fn article_files_plan_only_the_gantt_charts() {
        let plan = plan(&article_results(), &[ImageFormat::Png, ImageFormat::Svg]);
        let names: Vec<String> = plan.exporters.iter().map(|e| e.file_name()).collect();
        assert_eq!(
            names,
            [
                "process-thread-fibonacci-gantt.png",
                "process-thread-fibonacci-gantt.svg",
                "report.html"
            ]
        );
        let skipped: Vec<&str> = plan
            .skipped
            .iter()
            .map(|line| line.split(':').next().unwrap())
            .collect();
        assert_eq!(
            skipped,
            [
                "process-thread-fetch-gantt",
                "fibo-workers",
                "get-workers",
                "gil-timeline",
                "gil-timeline-zoom",
                "gil-get-timeline",
                "trace.json"
            ]
        );
        assert!(plan.skipped[6].contains("pid and tid"));
    }

    /// The Gantt chart of the article's files labels each lane with its tag, in
    /// order of start, from the first start.
    #[test]
    fn article_gantt_lanes_are_tags_from_the_first_start() {
        let lanes = Chart::Gantt(Workload::Fibo)
            .lanes(&article_results())
            .unwrap();
        let labels: Vec<&str> = lanes.lanes.iter().map(|l| l.label.as_str()).collect();
        // `load` sorts by start; here the rows are already in that order.
        assert_eq!(labels, ["thread-fibo-1", "thread-fibo-0"]);
        assert_eq!(lanes.lanes[0].bars[0].start, 0.0);
        assert_eq!(lanes.groups[0].at, Some(1.5));
        assert!(lanes.note.unwrap().contains("derived from the tasks"));
    }
}
