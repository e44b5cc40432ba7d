//! One type per kind of row, shared by the writer and the reader.
//!
//! All instants are wall-clock **Unix seconds** (`f64`), written with microsecond
//! precision ([`secs`]). Process and thread ids are `i32`, the kernel's `pid_t`:
//! that is what `getpid` and `gettid` return, so the writer stores them without a
//! cast. A real id is never negative, and the reader refuses one that is.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::Pool;
use crate::layout::{CORE_COLUMNS, EXPERIMENT_COLUMNS, HELD_COLUMNS, TASK_COLUMNS};

/// A Unix time or a duration, as every file writes it: seconds with six decimals,
/// i.e. to the microsecond.
pub fn secs(t: f64) -> String {
    format!("{t:.6}")
}

/// One row of a per-task CSV (`{pool}-{workload}.csv`): one task, as its worker saw
/// it. `pools` keeps richer records while it runs (any output type, the input's
/// index); this is what is left of one in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    /// `{pool}-{workload}-{i}`, where `i` is the index of the task's input.
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
    pub worker: usize,
    /// OS process id of the worker (for thread pools: the parent's pid, shared by all).
    pub pid: i32,
    /// OS thread id of the worker.
    pub tid: i32,
}

/// One row of a per-task CSV written by the article's own Python program
/// ([`crate::read::Dialect::Article`]): the first five columns of a [`TaskRow`], and
/// no more. It does not say which task input, worker, process or thread a row
/// belongs to, and the article writes no `experiments.csv` beside it.
///
/// Python writes its floats with `repr`, so times come with up to 7 decimals rather
/// than our 6; they read the same way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArticleRow {
    /// `{tag}-{i}`, e.g. `process-fibo-3`: the experiment's tag and the index of the
    /// task's input (the article's tags are ours).
    pub tag: String,
    /// When the task began, in Unix seconds (Python's `time.time()`).
    pub start_time: f64,
    /// When it finished, in Unix seconds.
    pub end_time: f64,
    /// `end_time - start_time`, in seconds, as Python computed it.
    pub elapsed: f64,
    /// Whatever Python printed for the task's return value: an int for Fibonacci,
    /// a bytes repr such as `b'200 OK'` for a GET, or any other text. Kept as text.
    pub result: String,
}

/// One row of `experiments.csv`: what one pool did with one workload, as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExperimentRecord {
    /// `{pool}-{workload}`, e.g. `process-fibo`; also the stem of its per-task CSV.
    pub tag: String,
    /// The pool the experiment ran on.
    pub pool: Pool,
    /// The task's name: `fibonacci` or `http_fetch` (or a learner's own task's).
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
    /// When the pool started to be built, in Unix seconds. The charts' time origin.
    pub started_at: f64,
    /// When the last result was collected and the pool shut down, in Unix seconds.
    pub finished_at: f64,
    /// `finished_at - started_at`, in seconds: the number to compare between pools.
    pub makespan: f64,
    /// Voluntary context switches (a thread blocked and gave up its core) during the
    /// experiment, in `pools` and in the children it reaped: the workers. A count.
    pub voluntary_switches: u64,
    /// Involuntary context switches (the kernel took the core away, e.g. at the end
    /// of a time slice), counted the same way.
    pub involuntary_switches: u64,
    /// How many times the simulated GIL changed hands (a count; 0 for other pools).
    pub gil_switches: u64,
}

impl ExperimentRecord {
    /// The row as written, in the order of [`EXPERIMENT_COLUMNS`].
    pub fn fields(&self) -> [String; EXPERIMENT_COLUMNS.len()] {
        [
            self.tag.clone(),
            self.pool.to_string(),
            self.function.clone(),
            self.inputs.to_string(),
            self.workers.to_string(),
            self.start_method.clone().unwrap_or_default(),
            self.switch_interval_ms
                .map(|ms| ms.to_string())
                .unwrap_or_default(),
            secs(self.started_at),
            secs(self.finished_at),
            secs(self.makespan),
            self.voluntary_switches.to_string(),
            self.involuntary_switches.to_string(),
            self.gil_switches.to_string(),
        ]
    }
}

/// One interval during which one worker thread held the simulated GIL: one row of
/// `gil-{workload}-held.csv`. Intervals never overlap: that is what a global lock
/// means.
///
/// Two intervals are equal when their rows are: the monotonic instants, which no
/// file keeps, are left out of the comparison.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct HeldInterval {
    /// Index of the worker thread, `0..workers`.
    pub worker: usize,
    /// OS thread id of the worker.
    pub tid: i32,
    /// When the thread got the lock, in Unix seconds.
    pub acquired_at: f64,
    /// When it gave the lock up, in Unix seconds.
    pub released_at: f64,
    /// The same two moments on the monotonic clock, which is never stepped: `pools`'
    /// tests check order and overlap on these, so that a wall-clock step (NTP, a
    /// suspend) during a run cannot make two intervals look as if they overlapped.
    ///
    /// Not in the file: an `Instant` means nothing outside the process that took it.
    /// A row read back gets the moment it was read, so compare these only within
    /// the run that recorded them.
    #[serde(skip, default = "Instant::now")]
    pub acquired_instant: Instant,
    /// See `acquired_instant`.
    #[serde(skip, default = "Instant::now")]
    pub released_instant: Instant,
}

impl HeldInterval {
    /// An interval known only by its wall-clock times (as read from a file, or made
    /// up in a test); the monotonic instants are both now.
    pub fn from_wall_clock(worker: usize, tid: i32, acquired_at: f64, released_at: f64) -> Self {
        let now = Instant::now();
        HeldInterval {
            worker,
            tid,
            acquired_at,
            released_at,
            acquired_instant: now,
            released_instant: now,
        }
    }

    /// The row as written, in the order of [`HELD_COLUMNS`].
    pub fn fields(&self) -> [String; HELD_COLUMNS.len()] {
        [
            self.worker.to_string(),
            self.tid.to_string(),
            secs(self.acquired_at),
            secs(self.released_at),
        ]
    }
}

impl PartialEq for HeldInterval {
    fn eq(&self, other: &Self) -> bool {
        (self.worker, self.tid, self.acquired_at, self.released_at)
            == (
                other.worker,
                other.tid,
                other.acquired_at,
                other.released_at,
            )
    }
}

/// One slice of time during which one task ran on one core without being switched
/// out: one row of `cores-{pool}-{workload}.csv`.
///
/// A core runs one thread at a time, and a slice only holds moments at which its
/// task was seen running, so two slices on the same `cpu` never overlap, whichever
/// tasks they belong to. That is the figure's point: on one core, tasks take turns.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoreSlice {
    /// Index of the task's input in the run, as in the task's tag `{pool}-{workload}-{index}`.
    pub index: usize,
    /// OS process id of the worker that ran the task.
    pub pid: i32,
    /// OS thread id of the worker that ran the task.
    pub tid: i32,
    /// The CPU (core) it ran on, as `sched_getcpu` numbers them.
    pub cpu: u32,
    /// The first moment the task was seen running there, in Unix seconds.
    pub start: f64,
    /// The last moment it was seen running there before it moved or was switched
    /// out, in Unix seconds.
    pub end: f64,
}

impl CoreSlice {
    /// The row as written, in the order of [`CORE_COLUMNS`].
    pub fn fields(&self) -> [String; CORE_COLUMNS.len()] {
        [
            self.index.to_string(),
            self.pid.to_string(),
            self.tid.to_string(),
            self.cpu.to_string(),
            secs(self.start),
            secs(self.end),
        ]
    }
}

/// The fields of one task row, in the order of [`TASK_COLUMNS`], from its parts: the
/// one place that formats a task row, used by `pools` for any input and output type.
#[allow(clippy::too_many_arguments)] // one argument per column, in column order
pub fn task_fields(
    tag: &str,
    start: f64,
    end: f64,
    result: String,
    input: String,
    worker: usize,
    pid: i32,
    tid: i32,
) -> [String; TASK_COLUMNS.len()] {
    [
        tag.to_owned(),
        secs(start),
        secs(end),
        secs(end - start),
        result,
        input,
        worker.to_string(),
        pid.to_string(),
        tid.to_string(),
    ]
}

impl TaskRow {
    /// The row as written, in the order of [`TASK_COLUMNS`]. `elapsed` is written as
    /// `end_time - start_time`, as `pools` does.
    pub fn fields(&self) -> [String; TASK_COLUMNS.len()] {
        task_fields(
            &self.tag,
            self.start_time,
            self.end_time,
            self.result.clone(),
            self.input.to_string(),
            self.worker,
            self.pid,
            self.tid,
        )
    }
}
