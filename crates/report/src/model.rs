//! What `pools` writes, as Rust types: one struct per CSV row (from the `results`
//! crate, re-exported here), and the loaded [`Results`] that every chart and the
//! trace read from.
//!
//! The article's own files ([`Dialect::Article`]) load into the same types: each
//! row becomes a [`TaskRow`] whose `input`, `worker`, `pid` and `tid`, which those
//! files do not have, are 0. [`Results::dialect`] says so, and the charts and the
//! trace that would read those fields are skipped ([`crate::plan`]).
//!
//! All instants are wall-clock **Unix seconds** (`f64`, microsecond resolution in the
//! files). Charts never show them raw: they subtract the experiment's origin
//! ([`Experiment::origin`]) so the axis reads "seconds since the experiment began".

use std::collections::BTreeMap;
use std::path::PathBuf;

/// The pools, workloads and rows are the results contract's: the same types `pools`
/// writes with (see the `results` crate).
pub use results::{ArticleRow, Dialect, ExperimentRecord, HeldInterval, Pool, TaskRow, Workload};

/// One pool running one workload: its tasks and, when `experiments.csv` has it, its
/// summary row.
#[derive(Debug, Clone, PartialEq)]
pub struct Experiment {
    /// The pool it ran on.
    pub pool: Pool,
    /// The task function it ran.
    pub workload: Workload,
    /// The per-task CSV it was read from (for messages).
    pub path: PathBuf,
    /// Every task, sorted by `start_time`. Never empty.
    pub tasks: Vec<TaskRow>,
    /// The matching `experiments.csv` row, if that file was present and had one.
    pub summary: Option<ExperimentRecord>,
}

impl Experiment {
    /// The tag `pools` gives this experiment, e.g. `process-fibo`.
    pub fn tag(&self) -> String {
        format!("{}-{}", self.pool, self.workload)
    }

    /// Time zero for this experiment's charts, in Unix seconds.
    ///
    /// The pool's creation time when `experiments.csv` says it, so that the cost of
    /// starting workers shows up as a gap before the first bar; otherwise the
    /// earliest task start.
    pub fn origin(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.started_at,
            None => self.first_start(),
        }
    }

    /// The makespan in seconds: from `experiments.csv` when present, otherwise
    /// derived from the tasks, from the origin (the first start) to the last end.
    pub fn makespan(&self) -> f64 {
        match &self.summary {
            Some(summary) => summary.makespan,
            None => self.last_end() - self.origin(),
        }
    }

    /// The earliest task start, in Unix seconds.
    pub fn first_start(&self) -> f64 {
        self.tasks
            .iter()
            .map(|t| t.start_time)
            .fold(f64::INFINITY, f64::min)
    }

    /// The latest task end, in Unix seconds.
    pub fn last_end(&self) -> f64 {
        self.tasks
            .iter()
            .map(|t| t.end_time)
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// Everything read from one results folder.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Results {
    /// The folder it was read from.
    pub dir: PathBuf,
    /// Whose files they are: `pools`' own, or the article's 5-column CSVs (then
    /// there is no summary and no GIL interval file, and every task's `input`,
    /// `worker`, `pid` and `tid` are 0, because the files do not say).
    pub dialect: Dialect,
    /// One entry per per-task CSV found, sorted by workload, then pool.
    pub experiments: Vec<Experiment>,
    /// The GIL's held intervals per workload, from `gil-{fibo|get}-held.csv`, each
    /// sorted by `acquired_at`. Absent files have no entry.
    pub held: BTreeMap<Workload, Vec<HeldInterval>>,
    /// The serial pass per workload, from `serial-{workload}.csv` (written by `pools
    /// --serial` and by the CPython script): the inputs run one after another on
    /// the main thread, sorted by `start_time`. Absent files have no entry.
    pub serial: BTreeMap<Workload, Vec<TaskRow>>,
    /// The two `pools --cpus N` runs under `cpus-1/` and `cpus-2/`, for the
    /// concurrency-vs-parallelism figure ([`crate::chart::cores`]).
    pub cores: crate::chart::cores::CoreRuns,
}

impl Results {
    /// The experiments that ran `workload`, in chart order (process, thread, gil).
    pub fn for_workload(&self, workload: Workload) -> impl Iterator<Item = &Experiment> {
        self.experiments
            .iter()
            .filter(move |e| e.workload == workload)
    }

    /// The experiment of one pool and workload, if its CSV was present.
    pub fn experiment(&self, pool: Pool, workload: Workload) -> Option<&Experiment> {
        self.experiments
            .iter()
            .find(|e| e.pool == pool && e.workload == workload)
    }

    /// The GIL intervals recorded while running `workload`, if the file was present.
    pub fn held(&self, workload: Workload) -> Option<&[HeldInterval]> {
        self.held.get(&workload).map(Vec::as_slice)
    }

    /// The serial time of `workload` in seconds, from its first start to its last
    /// end, if `serial-{workload}.csv` was present: the scale on which runs of two
    /// languages compare (see [`crate::chart::beside`]).
    pub fn serial_time(&self, workload: Workload) -> Option<f64> {
        let tasks = self.serial.get(&workload)?;
        let first = tasks.iter().map(|t| t.start_time).reduce(f64::min)?;
        let last = tasks.iter().map(|t| t.end_time).reduce(f64::max)?;
        Some(last - first)
    }

    /// Whether each task row says which input, worker, process and thread it was:
    /// true for `pools`' files, false for the article's.
    pub fn has_task_ids(&self) -> bool {
        self.dialect == Dialect::Pools
    }

    /// The total number of task rows read.
    pub fn task_count(&self) -> usize {
        self.experiments.iter().map(|e| e.tasks.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(start: f64, end: f64) -> TaskRow {
        TaskRow {
            tag: "thread-fibo-0".into(),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "1".into(),
            input: 1,
            worker: 0,
            pid: 1,
            tid: 2,
        }
    }

    fn experiment(summary: Option<ExperimentRecord>) -> Experiment {
        Experiment {
            pool: Pool::Thread,
            workload: Workload::Fibo,
            path: PathBuf::from("thread-fibo.csv"),
            tasks: vec![task(10.5, 12.0), task(10.25, 11.0)],
            summary,
        }
    }

    /// Without `experiments.csv`, time zero is the first task's start and the
    /// makespan runs to the last task's end.
    #[test]
    fn origin_falls_back_to_first_start() {
        let e = experiment(None);
        assert_eq!(e.origin(), 10.25);
        assert_eq!(e.makespan(), 1.75);
    }

    /// With `experiments.csv`, the pool's creation time and recorded makespan win,
    /// so worker start-up shows as a gap before the first bar.
    #[test]
    fn summary_sets_origin_and_makespan() {
        let summary = ExperimentRecord {
            tag: "thread-fibo".into(),
            pool: Pool::Thread,
            function: "fibonacci".into(),
            inputs: 2,
            workers: 2,
            start_method: None,
            switch_interval_ms: None,
            started_at: 10.0,
            finished_at: 12.5,
            makespan: 2.5,
            voluntary_switches: 0,
            involuntary_switches: 0,
            gil_switches: 0,
        };
        let e = experiment(Some(summary));
        assert_eq!(e.origin(), 10.0);
        assert_eq!(e.makespan(), 2.5);
        assert_eq!(e.tag(), "thread-fibo");
    }
}
