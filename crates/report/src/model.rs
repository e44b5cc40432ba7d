//! What `pools` writes, as Rust types: one struct per CSV row, and the loaded
//! [`Results`] that every chart and the trace read from.
//!
//! All instants are wall-clock **Unix seconds** (`f64`, microsecond resolution in the
//! files). Charts never show them raw: they subtract the experiment's origin
//! ([`Experiment::origin`]) so the axis reads "seconds since the experiment began".

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The kind of pool an experiment ran on. The order here is the order of the groups
/// in every chart: process first, then thread, then the thread pool under the GIL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// One OS process per worker: true parallelism, no shared memory.
    Process,
    /// One OS thread per worker, no global lock: Rust's normal threads.
    Thread,
    /// OS threads that must hold a simulated global interpreter lock to compute,
    /// the way CPython threads do.
    Gil,
}

impl Pool {
    /// Every pool, in chart order.
    pub const ALL: [Pool; 3] = [Pool::Process, Pool::Thread, Pool::Gil];

    /// The name used in file names, tags and labels (`process`, `thread`, `gil`).
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Process => "process",
            Pool::Thread => "thread",
            Pool::Gil => "gil",
        }
    }

    /// A longer name for legends and trace tracks.
    pub fn description(self) -> &'static str {
        match self {
            Pool::Process => "process pool",
            Pool::Thread => "thread pool",
            Pool::Gil => "thread pool + simulated GIL",
        }
    }
}

impl fmt::Display for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which task function an experiment ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// `fibonacci(n)`: CPU-bound, never waits.
    Fibo,
    /// `http_fetch(ms)`: waits for a server that answers after `ms` milliseconds.
    Get,
}

impl Workload {
    /// Both workloads, in the order the article shows them.
    pub const ALL: [Workload; 2] = [Workload::Fibo, Workload::Get];

    /// The short name in file names and tags (`fibo`, `get`).
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Fibo => "fibo",
            Workload::Get => "get",
        }
    }

    /// The function name `pools` writes in `experiments.csv`.
    pub fn function(self) -> &'static str {
        match self {
            Workload::Fibo => "fibonacci",
            Workload::Get => "http_fetch",
        }
    }

    /// A short label for one task of this workload, e.g. `fib(41)` or `wait 1300 ms`.
    pub fn task_label(self, input: u64) -> String {
        match self {
            Workload::Fibo => format!("fib({input})"),
            Workload::Get => format!("wait {input} ms"),
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of a per-task CSV (`{pool}-{fibo|get}.csv`): one task, as its worker saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// `{pool}-{fibo|get}-{i}`, where `i` is the index of the task's input.
    pub tag: String,
    /// When the worker began the task, in Unix seconds.
    pub start_time: f64,
    /// When the worker finished it, in Unix seconds.
    pub end_time: f64,
    /// `end_time - start_time` as the worker measured it, in seconds.
    pub elapsed: f64,
    /// The task's return value: the Fibonacci number, or the HTTP response body.
    pub result: String,
    /// The task's argument: `n` for Fibonacci, the server's wait in milliseconds for
    /// a fetch.
    pub input: u64,
    /// Index of the worker that ran the task, `0..workers`.
    pub worker: u32,
    /// OS process id of the worker (for thread pools: the parent's pid, shared by all).
    pub pid: u32,
    /// OS thread id of the worker.
    pub tid: u64,
}

/// One row of `experiments.csv`: what one pool did with one workload, as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// `{pool}-{fibo|get}`, e.g. `process-fibo`.
    pub tag: String,
    /// The pool the experiment ran on.
    pub pool: Pool,
    /// `fibonacci` or `http_fetch`.
    pub function: String,
    /// Number of tasks submitted.
    pub inputs: u64,
    /// Number of workers in the pool.
    pub workers: u64,
    /// How the process pool started its workers (`fork`, `spawn`, `forkserver`);
    /// empty for thread pools.
    pub start_method: Option<String>,
    /// The simulated GIL's switch interval, in milliseconds; empty except for `gil`.
    pub switch_interval_ms: Option<f64>,
    /// When the pool was created, in Unix seconds. The charts' time origin.
    pub started_at: f64,
    /// When the last result was collected and the pool shut down, in Unix seconds.
    pub finished_at: f64,
    /// `finished_at - started_at`, in seconds: the number to compare between pools.
    pub makespan: f64,
    /// Context switches the experiment's workers made by blocking (a count).
    pub voluntary_switches: u64,
    /// Context switches the kernel forced on them by preemption (a count).
    pub involuntary_switches: u64,
    /// How many times the simulated GIL changed hands (a count; 0 for other pools).
    pub gil_switches: u64,
}

/// One row of `gil-{fibo|get}-held.csv`: an interval during which one worker thread
/// held the simulated GIL. Intervals never overlap: that is what a global lock means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldInterval {
    /// Index of the worker thread, `0..workers`.
    pub worker: u32,
    /// OS thread id of the worker.
    pub tid: u64,
    /// When the thread got the lock, in Unix seconds.
    pub acquired_at: f64,
    /// When it gave the lock up, in Unix seconds.
    pub released_at: f64,
}

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
    pub tasks: Vec<TaskRecord>,
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

    /// The makespan in seconds: from `experiments.csv` when present, otherwise from
    /// the origin to the last task's end.
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
    /// One entry per per-task CSV found, sorted by workload, then pool.
    pub experiments: Vec<Experiment>,
    /// The GIL's held intervals per workload, from `gil-{fibo|get}-held.csv`, each
    /// sorted by `acquired_at`. Absent files have no entry.
    pub held: BTreeMap<Workload, Vec<HeldInterval>>,
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

    /// The total number of task rows read.
    pub fn task_count(&self) -> usize {
        self.experiments.iter().map(|e| e.tasks.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(start: f64, end: f64) -> TaskRecord {
        TaskRecord {
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
