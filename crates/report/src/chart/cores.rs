//! The article's first figure, measured: concurrency vs parallelism.
//!
//! **What it should show.** The same few CPU-bound tasks, run twice. Above, on one
//! core (`pools --cpus 1`): the core's lane is filled with short slices of every
//! task, one after another, never two at once. The tasks are *concurrent*: all of
//! them are under way, but they take turns. Below, on two cores (`pools --cpus 2`):
//! each core has a lane, and tasks run in both at the same time. They are
//! *parallel*, and the run ends sooner.
//!
//! Each bar is a slice of time during which one task was seen running on that core
//! without a break (see `pools::cores` for how it is sampled), coloured by task.
//! Gaps are moments when the core ran something else: another process, the pool's
//! own work, or nothing the samples saw.
//!
//! The two runs are read from `{in}/cpus-1/` and `{in}/cpus-2/`
//! ([`results::layout::cpus_dir`]), each written by its own `pools --cpus N` run:
//!
//! ```text
//! pools --experiment fib --pools process --fib-inputs 36,36 --cpus 1 --out results/cpus-1
//! pools --experiment fib --pools process --fib-inputs 36,36 --cpus 2 --out results/cpus-2
//! report --in results --out results
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use plotters::style::RGBColor;
use results::layout::{CORE_COLUMNS, TASK_COLUMNS, cores_file, cpus_dir, task_file};
use results::read::read_optional;
use results::{CoreSlice, Pool, TaskRow, Workload};

use super::lanes::{Bar, Group, Lane, Lanes};
use super::{ImageFormat, render_png, render_svg};
use crate::{Exporter, ReportError, Results, files};

/// The figure's file name without extension.
pub const STEM: &str = "concurrency-vs-parallelism";

/// The CPU counts of the two runs, top first.
pub const CPUS: [usize; 2] = [1, 2];

/// What a results folder holds for this figure.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum CoreRuns {
    /// Neither `cpus-1/` nor `cpus-2/` holds a core-slice file: the figure is not
    /// asked for, and nothing is said about it.
    #[default]
    Absent,
    /// Only one of the two runs is there: the figure is skipped, with this reason.
    Half(String),
    /// Both runs, of the first pool (process, thread, gil) that has a core-slice
    /// file in both.
    Both {
        /// The pool both runs used.
        pool: Pool,
        /// The one-CPU run, then the two-CPU run.
        runs: [Run; 2],
    },
}

/// One `pools --cpus N` run, as far as this figure needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    /// The N of `--cpus N`.
    pub cpus: usize,
    /// Its slices, sorted by start.
    pub slices: Vec<CoreSlice>,
    /// Each task's input (`n` of `fib(n)`) by index, from the run's task file when
    /// it is there.
    pub inputs: BTreeMap<usize, u64>,
}

/// Reads the two runs under `dir`, if there are any. A malformed file is an error
/// naming its line, as for every other input.
pub fn load(dir: &Path) -> Result<CoreRuns, ReportError> {
    let mut found_one = None;
    for pool in Pool::ALL {
        let paths = CPUS.map(|cpus| cores_file(&cpus_dir(dir, cpus), pool, Workload::Fibo));
        match paths.each_ref().map(|path| path.is_file()) {
            [true, true] => {
                let runs = [read_run(dir, pool, CPUS[0])?, read_run(dir, pool, CPUS[1])?];
                return Ok(CoreRuns::Both { pool, runs });
            }
            [false, false] => {}
            [one, _] => {
                let (have, lack) = if one { (0, 1) } else { (1, 0) };
                found_one.get_or_insert_with(|| {
                    format!(
                        "found {} but not {}: run `pools --cpus {} --out {}` too",
                        paths[have].display(),
                        paths[lack].display(),
                        CPUS[lack],
                        cpus_dir(dir, CPUS[lack]).display()
                    )
                });
            }
        }
    }
    Ok(found_one.map_or(CoreRuns::Absent, CoreRuns::Half))
}

fn read_run(dir: &Path, pool: Pool, cpus: usize) -> Result<Run, ReportError> {
    let sub = cpus_dir(dir, cpus);
    // Like the main folder: refused while a `pools` run is writing into it.
    let _reading = files::lock_for_reading(&sub)?;
    let path = cores_file(&sub, pool, Workload::Fibo);
    let mut slices = Vec::new();
    read_optional::<CoreSlice, ReportError>(&path, &CORE_COLUMNS, |line, slice| {
        if !(slice.start.is_finite() && slice.end.is_finite() && slice.start <= slice.end) {
            return Err(ReportError::Row {
                path: path.clone(),
                line,
                message: format!(
                    "start {} is not a time at or before end {}",
                    slice.start, slice.end
                ),
            });
        }
        slices.push(slice);
        Ok(())
    })?;
    if slices.is_empty() {
        return Err(ReportError::NoRows(path));
    }
    slices.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut inputs = BTreeMap::new();
    read_optional::<TaskRow, ReportError>(
        &task_file(&sub, pool, Workload::Fibo),
        &TASK_COLUMNS,
        |_, task| {
            if let Some(index) = task.tag.rsplit('-').next().and_then(|i| i.parse().ok()) {
                inputs.insert(index, task.input);
            }
            Ok(())
        },
    )?;
    Ok(Run {
        cpus,
        slices,
        inputs,
    })
}

/// One colour per task, cycling (Okabe-Ito colours, distinct for colour-blind
/// readers).
pub fn task_color(index: usize) -> RGBColor {
    const COLORS: [RGBColor; 6] = [
        RGBColor(0, 114, 178),
        RGBColor(213, 94, 0),
        RGBColor(0, 158, 115),
        RGBColor(204, 121, 167),
        RGBColor(230, 159, 0),
        RGBColor(86, 180, 233),
    ];
    COLORS[index % COLORS.len()]
}

/// The figure's lanes: one per core each run used, the one-CPU run on top; `None`
/// unless both runs are there.
pub fn lanes(results: &Results) -> Option<Lanes> {
    let CoreRuns::Both { pool, runs } = &results.cores else {
        return None;
    };
    let mut lanes = Vec::new();
    let mut groups = Vec::new();
    let mut legend: BTreeMap<usize, String> = BTreeMap::new();
    let mut x_max: f64 = 0.0;
    for run in runs {
        // Each run's own time zero: its first sample.
        let origin = run
            .slices
            .iter()
            .map(|s| s.start)
            .fold(f64::INFINITY, f64::min);
        let span = run.slices.iter().map(|s| s.end).fold(origin, f64::max) - origin;
        x_max = x_max.max(span);
        let mut cpus: Vec<u32> = run.slices.iter().map(|s| s.cpu).collect();
        cpus.sort_unstable();
        cpus.dedup();
        let first = lanes.len();
        for cpu in cpus {
            let bars = run
                .slices
                .iter()
                .filter(|s| s.cpu == cpu)
                .map(|s| Bar {
                    start: s.start - origin,
                    end: s.end - origin,
                    color: task_color(s.index),
                    text: None,
                })
                .collect();
            lanes.push(Lane {
                label: format!("--cpus {}: core {cpu}", run.cpus),
                bars,
            });
        }
        for s in &run.slices {
            legend
                .entry(s.index)
                .or_insert_with(|| match run.inputs.get(&s.index) {
                    Some(n) => format!("task {}: fib({n})", s.index),
                    None => format!("task {}", s.index),
                });
        }
        let (what, how) = if run.cpus == 1 {
            ("concurrency", "tasks take turns")
        } else {
            ("parallelism", "side by side")
        };
        groups.push(Group {
            lanes: first..lanes.len(),
            at: Some(span),
            note: format!("{what}: {how}, {span:.2} s"),
            color: RGBColor(64, 64, 64),
        });
    }
    Some(Lanes {
        title: format!(
            "Concurrency (one core, top) vs parallelism (two cores, bottom): the same tasks, \
             {pool} pool"
        ),
        x_desc: "seconds since each run's first task began".to_owned(),
        y_desc: "core".to_owned(),
        // Room right of the longer run for its note.
        x_range: 0.0..x_max * 1.45,
        legend: legend
            .into_iter()
            .map(|(index, label)| (label, task_color(index)))
            .collect(),
        lanes,
        groups,
        note: Some(
            "Each bar: a slice of time one task ran on that core without a break, \
             as sampled by the task itself. On one core no two bars ever overlap."
                .to_owned(),
        ),
    })
}

/// The figure in one format: an [`Exporter`], planned only when both runs are there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CoresFile {
    /// How to encode it.
    pub format: ImageFormat,
}

impl Exporter for CoresFile {
    fn file_name(&self) -> String {
        format!("{STEM}.{}", self.format.extension())
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError> {
        let file = self.file_name();
        let lanes = lanes(results).ok_or_else(|| ReportError::Draw {
            file: file.clone(),
            message: "needs the runs in cpus-1/ and cpus-2/".to_owned(),
        })?;
        match self.format {
            ImageFormat::Png => render_png(&lanes, &file),
            ImageFormat::Svg => render_svg(&lanes, &file),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(index: usize, cpu: u32, start: f64, end: f64) -> CoreSlice {
        CoreSlice {
            index,
            pid: 10 + index as i32,
            tid: 10 + index as i32,
            cpu,
            start,
            end,
        }
    }

    fn results() -> Results {
        let run = |cpus, slices| Run {
            cpus,
            slices,
            inputs: BTreeMap::from([(0, 33), (1, 33)]),
        };
        Results {
            cores: CoreRuns::Both {
                pool: Pool::Process,
                runs: [
                    run(
                        1,
                        vec![
                            slice(0, 0, 100.0, 100.1),
                            slice(1, 0, 100.1, 100.2),
                            slice(0, 0, 100.2, 100.3),
                        ],
                    ),
                    run(
                        2,
                        vec![slice(0, 0, 200.0, 200.2), slice(1, 1, 200.0, 200.2)],
                    ),
                ],
            },
            ..Results::default()
        }
    }

    /// One lane per core each run used, one-CPU run on top, each run from its own
    /// first sample, a colour and a legend entry per task.
    #[test]
    fn lanes_are_cores_top_run_first() {
        let lanes = lanes(&results()).unwrap();
        let labels: Vec<&str> = lanes.lanes.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(
            labels,
            ["--cpus 1: core 0", "--cpus 2: core 0", "--cpus 2: core 1"]
        );
        assert_eq!(lanes.lanes[0].bars.len(), 3);
        assert_eq!(lanes.lanes[0].bars[1].color, task_color(1));
        assert!((lanes.lanes[2].bars[0].start - 0.0).abs() < 1e-9);
        assert_eq!(lanes.groups[0].lanes, 0..1);
        assert!(lanes.groups[0].note.starts_with("concurrency"));
        assert!(lanes.groups[1].note.starts_with("parallelism"));
        let legend: Vec<&str> = lanes.legend.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(legend, ["task 0: fib(33)", "task 1: fib(33)"]);
    }

    /// Without both runs there is no figure.
    #[test]
    fn no_runs_no_figure() {
        assert!(lanes(&Results::default()).is_none());
    }

    /// Neither run: nothing. One run: a reason naming the missing one. Both: the
    /// figure's data, sorted by start. A row that ends before it starts: an error
    /// naming its line.
    #[test]
    fn load_finds_both_runs_or_says_which_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()).unwrap(), CoreRuns::Absent);
        let write = |cpus: usize, rows: &str| {
            let sub = cpus_dir(dir.path(), cpus);
            std::fs::create_dir_all(&sub).unwrap();
            let text = format!("{}\n{rows}", CORE_COLUMNS.join(","));
            std::fs::write(cores_file(&sub, Pool::Process, Workload::Fibo), text).unwrap();
        };
        write(1, "1,5,5,0,2.0,3.0\n0,4,4,0,1.0,2.0\n");
        match load(dir.path()).unwrap() {
            CoreRuns::Half(why) => assert!(why.contains("--cpus 2"), "{why}"),
            other => panic!("{other:?}"),
        }
        write(2, "0,4,4,1,1.0,2.0\n");
        let CoreRuns::Both { pool, runs } = load(dir.path()).unwrap() else {
            panic!("both runs are there");
        };
        assert_eq!(pool, Pool::Process);
        assert_eq!(runs[0].slices[0].index, 0, "sorted by start");
        assert_eq!(runs[1].cpus, 2);
        write(2, "0,4,4,1,2.0,1.0\n");
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("cores-process-fibo.csv:2"), "{err}");
    }
}
