//! `trace.json`: every task of every experiment as a Chrome trace-event file, which
//! Perfetto (and `chrome://tracing`) open as an interactive timeline.
//!
//! The mapping: each pool is a trace "process" (`pid` 1, 2, 3, named by an `M`
//! `process_name` event), each worker index a "thread" in it (`tid` = worker, named
//! `worker N`), each task an `X` (complete) event with `ts` and `dur` in
//! microseconds. Both workloads share the tracks; they ran one after the other, so
//! they do not overlap in time. The GIL pool also gets a track per worker for the
//! intervals in which it held the lock (`tid` = 1000 + worker), so the holds line
//! up under the tasks they interrupt.
//!
//! Times are microseconds since the earliest experiment began; the Unix time of
//! that instant is in `otherData.origin_unix_s`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::model::{Pool, Results, Workload};
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

    fn render(&self, results: &Results) -> Result<Vec<u8>, ReportError> {
        let mut bytes =
            serde_json::to_vec_pretty(&trace(results)).map_err(|err| ReportError::Draw {
                file: self.file_name(),
                message: err.to_string(),
            })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// The trace `pid` of a pool: small, stable, in chart order.
pub fn trace_pid(pool: Pool) -> u64 {
    match pool {
        Pool::Process => 1,
        Pool::Thread => 2,
        Pool::Gil => 3,
    }
}

/// Builds the whole trace document.
pub fn trace(results: &Results) -> Value {
    let origin = results
        .experiments
        .iter()
        .map(|e| e.origin())
        .fold(f64::INFINITY, f64::min);
    // Microseconds, rounded to the nanosecond so the file does not carry float noise.
    let us = |t: f64| ((t - origin) * 1e9).round() / 1e3;
    let dur = |from: f64, to: f64| ((to - from) * 1e9).round() / 1e3;

    let mut events = Vec::new();
    let mut tracks: BTreeSet<(Pool, u64)> = BTreeSet::new();
    let pools: BTreeSet<Pool> = results.experiments.iter().map(|e| e.pool).collect();
    for &pool in &pools {
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": trace_pid(pool), "tid": 0,
            "args": { "name": pool.description() },
        }));
        events.push(json!({
            "name": "process_sort_index", "ph": "M", "pid": trace_pid(pool), "tid": 0,
            "args": { "sort_index": trace_pid(pool) },
        }));
    }

    for experiment in &results.experiments {
        let pid = trace_pid(experiment.pool);
        for task in &experiment.tasks {
            tracks.insert((experiment.pool, u64::from(task.worker)));
            events.push(json!({
                "name": task.tag,
                "cat": "task",
                "ph": "X",
                "pid": pid,
                "tid": task.worker,
                "ts": us(task.start_time),
                "dur": dur(task.start_time, task.end_time),
                "args": {
                    "experiment": experiment.tag(),
                    "input": task.input,
                    "result": task.result,
                    "os_pid": task.pid,
                    "os_tid": task.tid,
                },
            }));
        }
    }

    for workload in Workload::ALL {
        for hold in results.held(workload).unwrap_or_default() {
            let tid = HOLD_TRACK + u64::from(hold.worker);
            tracks.insert((Pool::Gil, tid));
            events.push(json!({
                "name": "GIL held",
                "cat": "gil",
                "ph": "X",
                "pid": trace_pid(Pool::Gil),
                "tid": tid,
                "ts": us(hold.acquired_at),
                "dur": dur(hold.acquired_at, hold.released_at),
                "args": { "workload": workload.function(), "os_tid": hold.tid },
            }));
        }
    }

    for (pool, tid) in tracks {
        let name = if tid >= HOLD_TRACK {
            format!("worker {} holds GIL", tid - HOLD_TRACK)
        } else {
            format!("worker {tid}")
        };
        events.push(json!({
            "name": "thread_name", "ph": "M", "pid": trace_pid(pool), "tid": tid,
            "args": { "name": name },
        }));
    }

    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": { "origin_unix_s": origin, "source": "report" },
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::model::{Experiment, HeldInterval, TaskRecord};

    fn results() -> Results {
        let task = |i: u32, start: f64, end: f64| TaskRecord {
            tag: format!("gil-fibo-{i}"),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "55".into(),
            input: 11,
            worker: i,
            pid: 4000,
            tid: 4001 + u64::from(i),
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
            vec![HeldInterval {
                worker: 1,
                tid: 4002,
                acquired_at: 100.001,
                released_at: 100.006,
            }],
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
        let trace = trace(&results());
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
}
