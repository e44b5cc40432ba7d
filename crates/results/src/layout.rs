//! The results folder: which files it holds, what each is called, and its columns.
//!
//! | file | one row per | columns |
//! |---|---|---|
//! | `{pool}-{workload}.csv` | task | [`TASK_COLUMNS`]: the article's five, then `input,worker,pid,tid` |
//! | `experiments.csv` | experiment (one pool, one workload) | [`EXPERIMENT_COLUMNS`] |
//! | `gil-{workload}-held.csv` | interval during which a GIL worker held the lock | [`HELD_COLUMNS`] |
//! | `serial-{workload}.csv` | task of the serial pass: the inputs run one after another on the main thread | [`SERIAL_COLUMNS`] (the task columns) |
//! | `cores-{pool}-{workload}.csv` | slice of time one task ran on one core, without a break (`pools --cpus N`) | [`CORE_COLUMNS`] |
//!
//! The serial file is optional, like the summary and the interval files: `pools
//! --serial` and `scripts/cpython_experiment.py` write it, and its span (first start
//! to last end) is the serial time that puts two languages' runs on one scale.
//!
//! The article's first figure (concurrency vs parallelism) needs two such runs, one
//! on one CPU and one on two: `pools --cpus N --out {dir}/cpus-N` writes each into
//! its own sub-folder, [`cpus_dir`], where `report --in {dir}` finds them.
//!
//! The article's own program writes only the four `{process|thread}-{fibo|get}.csv`,
//! with [`ARTICLE_TASK_COLUMNS`]: no summary and no interval files.
//!
//! Writers write these columns in this order; readers match them by name. Both take
//! them from here, so a column added here is added to both.

use std::path::{Path, PathBuf};

use crate::{Pool, Workload};

/// The columns of a per-task CSV. The first five are the article's, so a pandas
/// notebook written for it reads these files unchanged.
pub const TASK_COLUMNS: [&str; 9] = [
    "tag",
    "start_time",
    "end_time",
    "elapsed",
    "result",
    "input",
    "worker",
    "pid",
    "tid",
];

/// The columns of a per-task CSV as the article's own program writes it: the first
/// five of [`TASK_COLUMNS`], and nothing else. A reader that meets these files
/// reads them as [`crate::read::Dialect::Article`].
pub const ARTICLE_TASK_COLUMNS: [&str; 5] = ["tag", "start_time", "end_time", "elapsed", "result"];

/// The columns of `experiments.csv`.
pub const EXPERIMENT_COLUMNS: [&str; 13] = [
    "tag",
    "pool",
    "function",
    "inputs",
    "workers",
    "start_method",
    "switch_interval_ms",
    "started_at",
    "finished_at",
    "makespan",
    "voluntary_switches",
    "involuntary_switches",
    "gil_switches",
];

/// The columns of `gil-{workload}-held.csv`.
pub const HELD_COLUMNS: [&str; 4] = ["worker", "tid", "acquired_at", "released_at"];

/// The columns of `serial-{workload}.csv`: the per-task columns, one row per input.
/// Its `worker` is always 0 and every row has the main thread's `pid` and `tid`,
/// because the serial pass runs on no pool. One name for one fact: the serial file is
/// a per-task file, so its columns are [`TASK_COLUMNS`] and its rows are
/// [`crate::TaskRow`]s.
pub const SERIAL_COLUMNS: [&str; 9] = TASK_COLUMNS;

/// The columns of `cores-{pool}-{workload}.csv`.
pub const CORE_COLUMNS: [&str; 6] = ["index", "pid", "tid", "cpu", "start", "end"];

/// The name of the summary file: one row per experiment.
pub const EXPERIMENTS_FILE: &str = "experiments.csv";

/// The tag of one experiment, e.g. `process-fibo`: the stem of its per-task CSV,
/// the `tag` of its `experiments.csv` row, and the start of its tasks' tags.
pub fn tag(pool: Pool, workload: Workload) -> String {
    format!("{pool}-{workload}")
}

/// The name of the per-task CSV whose tag is `tag`: `{tag}.csv`.
pub fn task_file_name(tag: &str) -> String {
    format!("{tag}.csv")
}

/// The per-task CSV of one experiment: `{dir}/{pool}-{workload}.csv`.
pub fn task_file(dir: &Path, pool: Pool, workload: Workload) -> PathBuf {
    dir.join(task_file_name(&tag(pool, workload)))
}

/// The summary file: `{dir}/experiments.csv`.
pub fn experiments_file(dir: &Path) -> PathBuf {
    dir.join(EXPERIMENTS_FILE)
}

/// The name of the GIL interval file of one workload: `gil-{workload}-held.csv`.
pub fn held_file_name(workload: Workload) -> String {
    format!("gil-{workload}-held.csv")
}

/// The GIL interval file of one workload: `{dir}/gil-{workload}-held.csv`.
pub fn held_file(dir: &Path, workload: Workload) -> PathBuf {
    dir.join(held_file_name(workload))
}

/// The tag of the serial pass of one workload, e.g. `serial-fibo`: the stem of its
/// file and the start of its rows' tags (`serial-fibo-{i}`, `i` the input's index).
pub fn serial_tag(workload: Workload) -> String {
    format!("serial-{workload}")
}

/// The name of the serial pass' file of one workload: `serial-{workload}.csv`.
pub fn serial_file_name(workload: Workload) -> String {
    task_file_name(&serial_tag(workload))
}

/// The serial pass' file of one workload: `{dir}/serial-{workload}.csv`.
pub fn serial_file(dir: &Path, workload: Workload) -> PathBuf {
    dir.join(serial_file_name(workload))
}

/// The name of the core-slice file of one experiment: `cores-{pool}-{workload}.csv`.
pub fn cores_file_name(pool: Pool, workload: Workload) -> String {
    format!("cores-{}", task_file_name(&tag(pool, workload)))
}

/// The core-slice file of one experiment: `{dir}/cores-{pool}-{workload}.csv`.
pub fn cores_file(dir: &Path, pool: Pool, workload: Workload) -> PathBuf {
    dir.join(cores_file_name(pool, workload))
}

/// The sub-folder of `dir` that holds a run restricted to `cpus` CPUs:
/// `{dir}/cpus-{cpus}`. `report` reads `cpus-1` and `cpus-2` for its
/// concurrency-vs-parallelism figure.
pub fn cpus_dir(dir: &Path, cpus: usize) -> PathBuf {
    dir.join(format!("cpus-{cpus}"))
}

/// The names of the optional files (the summary and the interval files), in the
/// order a reader mentions them.
pub fn optional_file_names() -> Vec<String> {
    std::iter::once(EXPERIMENTS_FILE.to_owned())
        .chain(Workload::ALL.into_iter().map(held_file_name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names are pinned: the docs, the scripts and earlier results folders use
    /// them.
    #[test]
    fn file_names_are_pinned() {
        let dir = Path::new("results");
        assert_eq!(
            task_file(dir, Pool::Gil, Workload::Get),
            Path::new("results/gil-get.csv")
        );
        assert_eq!(
            held_file(dir, Workload::Fibo),
            Path::new("results/gil-fibo-held.csv")
        );
        assert_eq!(experiments_file(dir), Path::new("results/experiments.csv"));
        assert_eq!(
            cores_file(&cpus_dir(dir, 1), Pool::Process, Workload::Fibo),
            Path::new("results/cpus-1/cores-process-fibo.csv")
        );
        assert_eq!(
            optional_file_names(),
            ["experiments.csv", "gil-fibo-held.csv", "gil-get-held.csv"]
        );
    }

    /// The serial file is pinned too: `scripts/cpython_experiment.py` writes the same
    /// name, and its rows are tagged like a pool's, with `serial` for the pool.
    #[test]
    fn serial_file_is_pinned() {
        let dir = Path::new("results");
        assert_eq!(serial_tag(Workload::Fibo), "serial-fibo");
        assert_eq!(serial_file_name(Workload::Get), "serial-get.csv");
        assert_eq!(
            serial_file(dir, Workload::Fibo),
            Path::new("results/serial-fibo.csv")
        );
        // A per-task file: the task columns, not a second list that could drift.
        assert_eq!(SERIAL_COLUMNS, TASK_COLUMNS);
        // Never the name of a pool's file, so it cannot be read as one.
        for pool in Pool::ALL {
            assert_ne!(serial_tag(Workload::Fibo), tag(pool, Workload::Fibo));
        }
    }

    /// The article's columns are the first five of ours, so a notebook written for
    /// the article reads our files unchanged.
    #[test]
    fn article_columns_are_our_first_five() {
        assert_eq!(TASK_COLUMNS[..5], ARTICLE_TASK_COLUMNS);
    }

    /// The header lines, exactly as every writer writes them.
    #[test]
    fn headers_are_pinned() {
        insta::assert_snapshot!(
            [TASK_COLUMNS.join(","), EXPERIMENT_COLUMNS.join(","), HELD_COLUMNS.join(",")].join("\n"),
            @r"
        tag,start_time,end_time,elapsed,result,input,worker,pid,tid
        tag,pool,function,inputs,workers,start_method,switch_interval_ms,started_at,finished_at,makespan,voluntary_switches,involuntary_switches,gil_switches
        worker,tid,acquired_at,released_at
        "
        );
        // A separate snapshot, so that the three older headers' stays untouched.
        insta::assert_snapshot!(CORE_COLUMNS.join(","), @"index,pid,tid,cpu,start,end");
    }
}
