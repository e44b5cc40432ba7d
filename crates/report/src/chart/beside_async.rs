//! One thread, many waits, in both languages: the GETs of Rust's async pool beside
//! those of CPython's asyncio, drawn by `report --beside` when both folders have
//! `async-get.csv`.
//!
//! What to expect: in each language every wait starts at once and the run ends when
//! the longest one does, like the thread and process pools; yet each language's
//! rows carry one tid. Each group is its one thread's lane, split into one row per
//! task in flight (as in the workers chart), because the waits overlap on it.

use super::lanes::{Bar, Lane, Lanes};
use super::workers::rows;
use super::{ImageFormat, note_color, pool_color, render_png, render_svg, tint};
use crate::model::{Experiment, Pool, Results, Workload};
use crate::{Exporter, ReportError};

/// The figure's file name, without extension.
pub const STEM: &str = "cpython-vs-rust-async";

/// Each language's async GET run, or `None` if either folder lacks `async-get.csv`.
pub fn runs<'a>(
    rust: &'a Results,
    cpython: &'a Results,
) -> Option<[(&'static str, &'a Experiment); 2]> {
    Some([
        ("Rust", rust.experiment(Pool::Async, Workload::Get)?),
        ("CPython", cpython.experiment(Pool::Async, Workload::Get)?),
    ])
}

/// The distinct `(pid, tid)` pairs that ran `experiment`'s tasks.
fn threads(experiment: &Experiment) -> usize {
    let mut ids: Vec<(i32, i32)> = experiment.tasks.iter().map(|t| (t.pid, t.tid)).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.len()
}

/// The line `report --beside` prints about the two runs.
pub fn summary_line(rust: &Results, cpython: &Results) -> Option<String> {
    let [(_, r), (_, c)] = runs(rust, cpython)?;
    let longest = |e: &Experiment| e.tasks.iter().map(|t| t.input).max().unwrap_or(0);
    let on = |e: &Experiment| match threads(e) {
        1 => "1 thread".to_owned(),
        n => format!("{n} threads"),
    };
    Some(format!(
        "Async GETs: Rust's async pool took {:.3} s on {} (longest wait {} ms); \
         CPython's asyncio took {:.3} s on {} (longest wait {} ms)",
        r.makespan(),
        on(r),
        longest(r),
        c.makespan(),
        on(c),
        longest(c)
    ))
}

/// The figure's lanes: one group per language, one row per task in flight; or why
/// it cannot be drawn.
pub fn lanes(rust: &Results, cpython: &Results) -> Result<Lanes, String> {
    let runs = runs(rust, cpython).ok_or_else(|| {
        "needs async-get.csv in both folders (pools --pools async --experiment get)".to_owned()
    })?;
    let rows_needed: usize = runs
        .iter()
        .map(|(_, e)| super::workers::lane_count(e))
        .sum();
    if rows_needed > super::MAX_LANES {
        return Err(format!(
            "{rows_needed} rows of tasks in flight are too many to draw as lanes (at most {})",
            super::MAX_LANES
        ));
    }
    let mut lanes = Vec::new();
    let mut groups = Vec::new();
    let mut legend = Vec::new();
    let mut x_max: f64 = 0.0;
    for (i, (language, experiment)) in runs.into_iter().enumerate() {
        // Rust in the async pool's colour, CPython in a lighter shade of it.
        let color = if i == 0 {
            pool_color(Pool::Async)
        } else {
            tint(pool_color(Pool::Async), 0.45)
        };
        let origin = experiment.origin();
        let first = lanes.len();
        let tasks: Vec<_> = experiment.tasks.iter().collect();
        for row in rows(&tasks) {
            let tid = row.first().map_or(0, |t| t.tid);
            lanes.push(Lane {
                label: format!("{language} tid {tid}"),
                bars: row
                    .iter()
                    .map(|task| Bar {
                        start: task.start_time - origin,
                        end: task.end_time - origin,
                        color,
                        text: Some(Workload::Get.task_label(task.input)),
                    })
                    .collect(),
            });
        }
        let makespan = experiment.makespan();
        x_max = x_max.max(makespan).max(experiment.last_end() - origin);
        groups.push(super::lanes::Group {
            lanes: first..lanes.len(),
            at: Some(makespan),
            note: format!("makespan {makespan:.2} s"),
            color: note_color(Pool::Async),
        });
        let what = if i == 0 {
            "Rust: tokio, current-thread runtime"
        } else {
            "CPython: asyncio"
        };
        let workers = experiment
            .summary
            .as_ref()
            .map(|s| format!(", up to {} in flight", s.workers))
            .unwrap_or_default();
        legend.push((
            format!(
                "{what} ({}{workers})",
                if threads(experiment) == 1 {
                    "one thread".to_owned()
                } else {
                    format!("{} threads", threads(experiment))
                }
            ),
            color,
        ));
    }
    Ok(Lanes {
        title: "HTTP fetch on one thread: Rust's async pool beside CPython's asyncio".to_owned(),
        x_desc: "seconds since the run began".to_owned(),
        y_desc: "one row per task in flight (rows of a group share one tid)".to_owned(),
        x_range: 0.0..x_max * 1.18,
        legend,
        lanes,
        groups,
        note: None,
    })
}

/// The figure in one format.
#[derive(Debug, Clone, PartialEq)]
pub struct BesideAsyncFile {
    /// What to draw.
    pub lanes: Lanes,
    /// How to encode it.
    pub format: ImageFormat,
}

impl Exporter for BesideAsyncFile {
    fn file_name(&self) -> String {
        format!("{STEM}.{}", self.format.extension())
    }

    fn render(&self, _results: &Results) -> Result<Vec<u8>, ReportError> {
        let file = self.file_name();
        match self.format {
            ImageFormat::Png => render_png(&self.lanes, &file),
            ImageFormat::Svg => render_svg(&self.lanes, &file),
        }
    }
}

/// The exporters for the figure in each of `formats`.
pub fn exporters(lanes: Lanes, formats: &[ImageFormat]) -> Vec<Box<dyn Exporter>> {
    formats
        .iter()
        .map(|&format| {
            Box::new(BesideAsyncFile {
                lanes: lanes.clone(),
                format,
            }) as Box<dyn Exporter>
        })
        .collect()
}
