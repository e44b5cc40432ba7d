//! `trace.json`: every task of every experiment as a Chrome trace-event file, which
//! Perfetto (and `chrome://tracing`) open as an interactive timeline.
//!
//! The mapping: each pool is a trace "process" (`pid` 1, 2, 3, named by an `M`
//! `process_name` event), each worker index a "thread" in it (`tid` = worker, named
//! `worker N`), each task an `X` (complete) event with `ts` and `dur` in
//! microseconds. Both workloads share the tracks; they ran one after the other, so
//! they do not overlap in time. The GIL pool also gets a track per worker for the
//! intervals in which it held the lock (`tid` = 1000 + worker), so the holds line
//! up under the tasks they interrupt. The async pool's one worker runs many tasks
//! at once, and slices on one track must nest, so each of its tasks in flight gets a
//! track (`worker 0, task in flight N`); `os_tid` shows they share one thread.
//!
//! Times are microseconds since the earliest experiment began; the Unix time of
//! that instant is in `otherData.origin_unix_s`.
//!
//! The file is written as it is built, one event per line, so that a run of a
//! million tasks (a 200 MB trace) needs no more memory than a run of eight. One
//! event per line also keeps the file readable with `grep` and `head`.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde::Serialize;
use serde_json::json;

use crate::model::{Pool, Results, TaskRow, Workload};
use crate::{Exporter, ReportError};

/// The `tid` offset of the GIL-hold tracks, far above any worker index.
const HOLD_TRACK: u64 = 1000;

/// The exporter for `trace.json`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TraceFile;

impl Exporter for TraceFile {
    fn file_name(&self) -> String {
        "trace.json".to_owned()
    }

    fn streams(&self) -> bool {
        true
    }

    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError> {
        let mut bytes = Vec::new();
        self.write_to(results, &mut bytes)?;
        Ok(bytes)
    }

    fn write_to(&self, results: &Results, out: &mut dyn Write) -> Result<(), ReportError> {
        write_trace(results, out).map_err(|source| ReportError::Write {
            path: self.file_name().into(),
            source,
        })
    }
}

/// The trace `pid` of a pool: small, stable, in chart order.
pub fn trace_pid(pool: Pool) -> u64 {
    match pool {
        Pool::Process => 1,
        Pool::Thread => 2,
        Pool::Gil => 3,
        Pool::Async => 4,
    }
}

/// A complete (`X`) event: a slice from `ts` lasting `dur`. The fields are in
/// alphabetical order, as in the rest of the file.
#[derive(Serialize)]
struct Complete<'a, A> {
    args: A,
    cat: &'static str,
    /// Microseconds.
    dur: f64,
    name: &'a str,
    ph: &'static str,
    pid: u64,
    tid: u64,
    /// Microseconds since the origin.
    ts: f64,
}

/// What Perfetto shows when a task's slice is selected.
#[derive(Serialize)]
struct TaskArgs<'a> {
    experiment: &'a str,
    input: u64,
    os_pid: i32,
    os_tid: i32,
    result: &'a str,
}

/// What Perfetto shows when a GIL hold is selected.
#[derive(Serialize)]
struct HoldArgs {
    os_tid: i32,
    workload: &'static str,
}

/// Writes the whole trace document to `out`, one event per line.
pub fn write_trace(results: &Results, out: &mut dyn Write) -> io::Result<()> {
    let origin = results
        .experiments
        .iter()
        .map(|e| e.origin())
        .fold(f64::INFINITY, f64::min);
    // Microseconds, rounded to the nanosecond so the file does not carry float noise.
    let us = |t: f64| ((t - origin) * 1e9).round() / 1e3;
    let dur = |from: f64, to: f64| ((to - from) * 1e9).round() / 1e3;

    let other = json!({ "origin_unix_s": origin, "source": "report" });
    writeln!(
        out,
        "{{\"displayTimeUnit\":\"ms\",\"otherData\":{other},\"traceEvents\":["
    )?;
    let mut events = Events {
        out,
        first: true,
        line: Vec::new(),
    };

    let pools: BTreeSet<Pool> = results.experiments.iter().map(|e| e.pool).collect();
    for &pool in &pools {
        let pid = trace_pid(pool);
        events.push(&json!({
            "name": "process_name", "ph": "M", "pid": pid, "tid": 0,
            "args": { "name": pool.description() },
        }))?;
        events.push(&json!({
            "name": "process_sort_index", "ph": "M", "pid": pid, "tid": 0,
            "args": { "sort_index": pid },
        }))?;
    }

    let mut tracks: BTreeSet<(Pool, u64)> = BTreeSet::new();
    for experiment in &results.experiments {
        let pid = trace_pid(experiment.pool);
        let tag = experiment.tag();
        // The async pool's tasks overlap on its one worker, and slices on one track
        // must nest: each task in flight gets a track of its own (its row in the
        // workers chart), and `os_tid` keeps the thread they all ran on.
        let slot: std::collections::HashMap<*const TaskRow, u64> = if experiment.pool == Pool::Async
        {
            let tasks: Vec<&TaskRow> = experiment.tasks.iter().collect();
            crate::chart::workers::rows(&tasks)
                .into_iter()
                .enumerate()
                .flat_map(|(row, tasks)| {
                    tasks
                        .into_iter()
                        .map(move |t| (t as *const TaskRow, row as u64))
                })
                .collect()
        } else {
            Default::default()
        };
        for task in &experiment.tasks {
            let track = slot
                .get(&(task as *const TaskRow))
                .copied()
                .unwrap_or(task.worker as u64);
            tracks.insert((experiment.pool, track));
            events.push(&Complete {
                args: TaskArgs {
                    experiment: &tag,
                    input: task.input,
                    os_pid: task.pid,
                    os_tid: task.tid,
                    result: &task.result,
                },
                cat: "task",
                dur: dur(task.start_time, task.end_time),
                name: &task.tag,
                ph: "X",
                pid,
                tid: track,
                ts: us(task.start_time),
            })?;
        }
    }

    for workload in Workload::ALL {
        for hold in results.held(workload).unwrap_or_default() {
            let tid = HOLD_TRACK + hold.worker as u64;
            tracks.insert((Pool::Gil, tid));
            events.push(&Complete {
                args: HoldArgs {
                    os_tid: hold.tid,
                    workload: workload.function(),
                },
                cat: "gil",
                dur: dur(hold.acquired_at, hold.released_at),
                name: "GIL held",
                ph: "X",
                pid: trace_pid(Pool::Gil),
                tid,
                ts: us(hold.acquired_at),
            })?;
        }
    }

    for (pool, tid) in tracks {
        let name = if tid >= HOLD_TRACK {
            format!("worker {} holds GIL", tid - HOLD_TRACK)
        } else if pool == Pool::Async {
            format!("worker 0, task in flight {tid}")
        } else {
            format!("worker {tid}")
        };
        events.push(&json!({
            "name": "thread_name", "ph": "M", "pid": trace_pid(pool), "tid": tid,
            "args": { "name": name },
        }))?;
    }
    events.out.write_all(b"\n]}\n")
}

/// The `traceEvents` array, written one element per line as it is pushed.
struct Events<'w> {
    out: &'w mut dyn Write,
    first: bool,
    /// One line, serialised here first: one call through `dyn Write` per event
    /// rather than one per token (a third faster for a million events).
    line: Vec<u8>,
}

impl Events<'_> {
    fn push(&mut self, event: &impl Serialize) -> io::Result<()> {
        self.line.clear();
        if !self.first {
            self.line.extend_from_slice(b",\n");
        }
        self.first = false;
        serde_json::to_writer(&mut self.line, event)?;
        self.out.write_all(&self.line)
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;
    use crate::model::{Experiment, HeldInterval, TaskRow};

    fn results() -> Results {
        let task = |i: usize, start: f64, end: f64| TaskRow {
            tag: format!("gil-fibo-{i}"),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "55".into(),
            input: 11,
            worker: i,
            pid: 4000,
            tid: 4001 + i as i32,
        };
        let mut results = Results {
            dir: PathBuf::from("results"),
            experiments: vec![Experiment {
                pool: Pool::Gil,
                workload: Workload::Fibo,
                path: PathBuf::from("results/gil-fibo.csv"),
                tasks: vec![task(0, 100.0, 100.5), task(1, 100.000_25, 100.75)],
                summary: None,
            }],
            ..Results::default()
        };
        results.held.insert(
            Workload::Fibo,
            vec![HeldInterval::from_wall_clock(1, 4002, 100.001, 100.006)],
        );
        results
    }

    /// The exact trace text is pinned, so a change to the format is a visible diff.
    #[test]
    fn trace_snapshot() {
        let text = String::from_utf8(TraceFile.render(&results()).unwrap()).unwrap();
        insta::assert_snapshot!(text);
    }

    /// Every task becomes exactly one X event, on its pool's pid and worker's tid.
    #[test]
    fn one_complete_event_per_task() {
        let bytes = TraceFile.render(&results()).unwrap();
        let trace: Value = serde_json::from_slice(&bytes).unwrap();
        let tasks: Vec<&Value> = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X" && e["cat"] == "task")
            .collect();
        assert_eq!(tasks.len(), 2);
        assert_eq!(tasks[1]["pid"], 3);
        assert_eq!(tasks[1]["tid"], 1);
        assert_eq!(tasks[1]["ts"], 250.0);
        assert_eq!(tasks[1]["dur"], 749_750.0);
    }

    /// The async pool's overlapping tasks, all on worker 0 and one OS thread, get a
    /// track each, so that no two slices on one track overlap; a task that starts
    /// after others ended reuses the track freed first.
    #[test]
    fn async_tasks_in_flight_get_tracks_of_their_own() {
        let task = |i: usize, start: f64, end: f64| TaskRow {
            tag: format!("async-get-{i}"),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "200 OK".into(),
            input: 100,
            worker: 0,
            pid: 4000,
            tid: 4000,
        };
        let results = Results {
            dir: PathBuf::from("results"),
            experiments: vec![Experiment {
                pool: Pool::Async,
                workload: Workload::Get,
                path: PathBuf::from("results/async-get.csv"),
                tasks: vec![
                    task(0, 100.0, 101.0),
                    task(1, 100.1, 100.5),
                    task(2, 101.0, 102.0),
                ],
                summary: None,
            }],
            ..Results::default()
        };
        let trace: Value = serde_json::from_slice(&TraceFile.render(&results).unwrap()).unwrap();
        let events = trace["traceEvents"].as_array().unwrap();
        let tracks: Vec<(&Value, &Value)> = events
            .iter()
            .filter(|e| e["ph"] == "X")
            .map(|e| (&e["tid"], &e["args"]["os_tid"]))
            .collect();
        assert_eq!(tracks[0].0, 0);
        assert_eq!(tracks[1].0, 1);
        // Task 1's track was free first.
        assert_eq!(tracks[2].0, 1);
        assert!(tracks.iter().all(|(_, os_tid)| *os_tid == 4000));
        assert!(
            events
                .iter()
                .any(|e| e["args"]["name"] == "worker 0, task in flight 1"),
            "{trace}"
        );
    }
}
