//! The files an experiment leaves behind, written atomically.
//!
//! Every file is written to a temporary file in the same folder and then renamed
//! over its final name. A rename within one file system is atomic, so a reader (or
//! an interrupted run) sees either the old file or the new one, never half of one.
//!
//! | file | one row per |
//! |---|---|
//! | `{pool}-{fibo,get}.csv` | task: the article's five columns, then `input,worker,pid,tid` |
//! | `experiments.csv` | experiment: its pool, timing and context switches |
//! | `gil-{fibo,get}-held.csv` | interval during which a GIL worker held the lock |

use std::fmt::Display;
use std::io;
use std::path::Path;

use crate::experiment::ExperimentRecord;
use crate::gil::HeldInterval;
use crate::record::TaskRecord;

/// The header of a per-task CSV. The first five columns are the article's, so a
/// pandas notebook written for it reads these files unchanged.
pub const TASK_HEADER: [&str; 9] = [
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

/// The header of `experiments.csv`.
pub const EXPERIMENT_HEADER: [&str; 13] = [
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

/// The header of a GIL interval file.
pub const HELD_HEADER: [&str; 4] = ["worker", "tid", "acquired_at", "released_at"];

/// Unix times and durations are written with microsecond precision.
fn secs(t: f64) -> String {
    format!("{t:.6}")
}

/// Writes one experiment's tasks, tagged `{tag}-{i}`, to `path`.
pub fn write_tasks<I: Display, O: Display>(
    path: &Path,
    tag: &str,
    inputs: &[I],
    records: &[TaskRecord<O>],
) -> io::Result<()> {
    write_atomically(path, |w| {
        w.write_record(TASK_HEADER)?;
        for record in records {
            w.write_record([
                format!("{tag}-{}", record.index),
                secs(record.start),
                secs(record.end),
                secs(record.elapsed()),
                record.output.to_string(),
                inputs[record.index].to_string(),
                record.worker.to_string(),
                record.pid.to_string(),
                record.tid.to_string(),
            ])?;
        }
        Ok(())
    })
}

/// Writes `experiments.csv`.
pub fn write_experiments(path: &Path, records: &[ExperimentRecord]) -> io::Result<()> {
    write_atomically(path, |w| {
        w.write_record(EXPERIMENT_HEADER)?;
        for r in records {
            w.write_record([
                r.tag.clone(),
                r.pool.to_string(),
                r.function.to_owned(),
                r.inputs.to_string(),
                r.workers.to_string(),
                r.start_method.map(|m| m.to_string()).unwrap_or_default(),
                r.switch_interval_ms
                    .map(|ms| ms.to_string())
                    .unwrap_or_default(),
                secs(r.started_at),
                secs(r.finished_at),
                secs(r.makespan),
                r.voluntary_switches.to_string(),
                r.involuntary_switches.to_string(),
                r.gil_switches.to_string(),
            ])?;
        }
        Ok(())
    })
}

/// Writes the GIL's held intervals.
pub fn write_held(path: &Path, held: &[HeldInterval]) -> io::Result<()> {
    write_atomically(path, |w| {
        w.write_record(HELD_HEADER)?;
        for h in held {
            w.write_record([
                h.worker.to_string(),
                h.tid.to_string(),
                secs(h.acquired_at),
                secs(h.released_at),
            ])?;
        }
        Ok(())
    })
}

/// Writes a CSV to a temporary file next to `path`, then renames it into place.
///
/// SIGINT and SIGTERM are held back meanwhile (on this thread, which is the one that
/// receives them in the `pools` binary), so that Ctrl-C cannot strike between
/// creating the temporary file and renaming it, and leave the temporary file behind.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut csv::Writer<&mut tempfile::NamedTempFile>) -> csv::Result<()>,
) -> io::Result<()> {
    let _held_back = HoldSignals::new();
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // A temporary file is private (0600) by default; results get the mode any other
    // new file would: 0666 less the user's umask.
    let mut file = tempfile::Builder::new()
        .prefix(".pools-")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)?;
    {
        let mut writer = csv::Writer::from_writer(&mut file);
        fill(&mut writer).map_err(io::Error::other)?;
        writer.flush()?;
    }
    file.as_file().sync_data()?;
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Blocks SIGINT and SIGTERM on this thread until dropped; a signal that arrives
/// meanwhile is delivered then.
struct HoldSignals(Option<nix::sys::signal::SigSet>);

impl HoldSignals {
    fn new() -> Self {
        use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
        let mut block = SigSet::empty();
        block.add(Signal::SIGINT);
        block.add(Signal::SIGTERM);
        let mut old = SigSet::empty();
        let ok = pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).is_ok();
        HoldSignals(ok.then_some(old))
    }
}

impl Drop for HoldSignals {
    fn drop(&mut self) {
        if let Some(old) = &self.0 {
            let _ = nix::sys::signal::pthread_sigmask(
                nix::sys::signal::SigmaskHow::SIG_SETMASK,
                Some(old),
                None,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-task CSV's text is pinned: the article's pandas code depends on the
    /// first five columns, and `report` on all of them.
    #[test]
    fn task_csv_format_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("process-fibo.csv");
        let records = [
            TaskRecord {
                index: 0,
                start: 1_700_000_000.25,
                end: 1_700_000_001.5,
                worker: 1,
                pid: 4242,
                tid: 4242,
                output: 5_702_887u64,
            },
            TaskRecord {
                index: 1,
                start: 1_700_000_000.000_001,
                end: 1_700_000_000.75,
                worker: 0,
                pid: 4241,
                tid: 4241,
                output: 9_227_465,
            },
        ];
        write_tasks(&path, "process-fibo", &[34, 35], &records).unwrap();
        insta::assert_snapshot!(std::fs::read_to_string(&path).unwrap(), @r"
        tag,start_time,end_time,elapsed,result,input,worker,pid,tid
        process-fibo-0,1700000000.250000,1700000001.500000,1.250000,5702887,34,1,4242,4242
        process-fibo-1,1700000000.000001,1700000000.750000,0.749999,9227465,35,0,4241,4241
        ");
    }

    /// A body with a comma is quoted, so the CSV stays parseable.
    #[test]
    fn results_with_commas_are_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thread-get.csv");
        let record = TaskRecord {
            index: 0,
            start: 1.0,
            end: 2.0,
            worker: 0,
            pid: 1,
            tid: 2,
            output: "200 OK, eventually".to_string(),
        };
        write_tasks(&path, "thread-get", &[1000], &[record]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"200 OK, eventually\""), "{text}");
    }

    /// Nothing but the final file is left in the folder.
    #[test]
    fn no_temporary_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        write_held(&dir.path().join("gil-fibo-held.csv"), &[]).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["gil-fibo-held.csv"]);
    }
}
