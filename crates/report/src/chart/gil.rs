//! The GIL made visible: one lane per worker thread, a mark for every interval in
//! which that thread held the simulated lock.
//!
//! What to expect for Fibonacci: the marks never overlap across lanes (it is one
//! lock), they take turns round-robin, and together they cover the run with almost
//! no gap, so eight threads on two cores still compute one at a time. At full scale
//! a 10 s run has thousands of 5 ms holds, which look like a barcode; the zoomed
//! figure shows the first few dozen turns so each hand-over is visible. For the HTTP
//! fetches the marks are specks: a waiting thread releases the lock.

use std::collections::BTreeMap;

use super::lanes::{Bar, Group, Lane, Lanes};
use super::{note_color, pool_color, tint};
use crate::model::{HeldInterval, Pool, Results, TaskRow, Workload};

/// How many switch intervals the zoomed view shows.
const ZOOM_TURNS: f64 = 20.0;
/// The zoomed window when `experiments.csv` gives no switch interval, in ms.
const ZOOM_DEFAULT_MS: f64 = 100.0;

/// Builds the GIL timeline of one workload, or `None` if its
/// `gil-{fibo|get}-held.csv` was not present (or was empty).
///
/// `zoom` shows only the first 20 switch intervals (`ZOOM_TURNS`), in milliseconds,
/// instead of the whole run in seconds.
pub fn gil_timeline(results: &Results, workload: Workload, zoom: bool) -> Option<Lanes> {
    let held = results.held(workload)?;
    let first_hold = held.first()?.acquired_at;
    let experiment = results.experiment(Pool::Gil, workload);
    let origin = experiment.map_or(first_hold, |e| e.origin().min(first_hold));
    let summary = experiment.and_then(|e| e.summary.as_ref());
    let switch_ms = summary.and_then(|s| s.switch_interval_ms);

    // Seconds for the whole run; milliseconds when zoomed, where whole seconds
    // would make every label read 0.0.
    let scale = if zoom { 1000.0 } else { 1.0 };
    let at = |t: f64| (t - origin) * scale;

    // One lane per worker, in worker order, whether it appears in the held file,
    // the task file, or both: its tid, its holds and its tasks.
    let mut by_worker: BTreeMap<usize, (i32, Vec<&HeldInterval>, Vec<&TaskRow>)> = BTreeMap::new();
    for hold in held {
        by_worker
            .entry(hold.worker)
            .or_insert((hold.tid, Vec::new(), Vec::new()))
            .1
            .push(hold);
    }
    if let Some(experiment) = experiment {
        for task in &experiment.tasks {
            by_worker
                .entry(task.worker)
                .or_insert((task.tid, Vec::new(), Vec::new()))
                .2
                .push(task);
        }
    }

    let hold_color = pool_color(Pool::Gil);
    let wait_color = tint(hold_color, 0.75);
    // First, every hold in one lane: for Fibonacci it is solid, because the lock is
    // never idle. That is why the pool takes as long as one core would.
    let mut lanes = vec![Lane {
        label: "held by any worker".to_owned(),
        bars: held
            .iter()
            .map(|h| Bar {
                start: at(h.acquired_at),
                end: at(h.released_at),
                color: hold_color,
                text: None,
            })
            .collect(),
    }];
    for (worker, (tid, holds, tasks)) in &by_worker {
        // The task's whole span first, pale, then the holds on top of it.
        let spans = tasks.iter().map(|t| Bar {
            start: at(t.start_time),
            end: at(t.end_time),
            color: wait_color,
            text: None,
        });
        let marks = holds.iter().map(|h| Bar {
            start: at(h.acquired_at),
            end: at(h.released_at),
            color: hold_color,
            text: None,
        });
        lanes.push(Lane {
            label: format!("worker {worker}, tid {tid}"),
            bars: spans.chain(marks).collect(),
        });
    }

    let last = held
        .iter()
        .map(|h| h.released_at)
        .chain(experiment.map(|e| e.last_end()))
        .fold(f64::NEG_INFINITY, f64::max);
    let makespan = experiment.map_or(last - origin, |e| e.makespan());
    let interval = switch_ms.map_or(String::new(), |ms| format!(", switch interval {ms} ms"));
    let (title, x_desc, x_range, at_note) = if zoom {
        let window = switch_ms.map_or(ZOOM_DEFAULT_MS, |ms| ms * ZOOM_TURNS);
        // Start just before the first hold, on a whole millisecond.
        let start = (at(first_hold) - 1.0).floor().max(0.0);
        (
            format!(
                "The simulated GIL, first {window:.0} ms ({}): the lock passes from thread to thread",
                workload.function()
            ),
            "milliseconds since the pool's experiment began",
            start..start + window,
            None,
        )
    } else {
        let claim = match workload {
            Workload::Fibo => "one thread at a time",
            Workload::Get => "a waiting thread lets go of it",
        };
        (
            format!(
                "The simulated GIL ({}): {} holds{interval}, {claim}",
                workload.function(),
                held.len()
            ),
            "seconds since the pool's experiment began",
            0.0..at(origin + makespan.max(last - origin)) * 1.18,
            Some(makespan),
        )
    };
    let groups = vec![
        Group {
            lanes: 0..1,
            at: None,
            note: String::new(),
            color: note_color(Pool::Gil),
        },
        Group {
            lanes: 1..lanes.len(),
            at: at_note,
            note: format!("makespan {makespan:.2} s"),
            color: note_color(Pool::Gil),
        },
    ];
    Some(Lanes {
        title,
        x_desc: x_desc.to_owned(),
        y_desc: "worker threads of the GIL pool".to_owned(),
        x_range,
        legend: vec![
            ("holding the GIL".to_owned(), hold_color),
            ("task in progress, GIL not held".to_owned(), wait_color),
        ],
        lanes,
        groups,
        note: None,
    })
}
