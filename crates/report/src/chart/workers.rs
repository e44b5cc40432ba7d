//! Which worker ran what: one lane per worker of each pool, with its tasks in it.
//!
//! With as many workers as tasks, each lane holds one task and the chart shows the
//! identities: the process pool's lanes have different pids, the thread pools' lanes
//! share the parent's pid and differ by tid. With fewer workers than tasks, a lane
//! holds a queue of tasks run back to back. The async pool has one worker, its one
//! thread, whose tasks overlap when they wait: its lane is split into one row per
//! task in flight, every row with the same tid.
//!
//! With thousands of tasks per worker (`pools --repeat`), the bars become narrower
//! than a pixel, and the alternating shades that tell neighbours apart would blur
//! into a pale mix that looks like an idle worker. So past [`MAX_BARS_PER_LANE`]
//! tasks on one worker, each lane is drawn in one colour, shaded by how much of
//! each pixel's time the worker spent running tasks, and the figure says so in a
//! note under its legend. `trace.json` still has every task.

use std::collections::BTreeMap;

use super::lanes::{Bar, Lane, Lanes};
use super::{per_pool_chart, pool_color, tint};
use crate::model::{Experiment, Pool, Results, TaskRow, Workload};

/// The most tasks one worker's lane shows as separate, labelled bars. A plot is
/// about 1,300 pixels wide, so past a few hundred tasks in a lane an average task
/// is narrower than a few pixels, and most are narrower than one.
pub const MAX_BARS_PER_LANE: usize = 300;

/// Builds the per-worker chart of one workload, or `None` if no pool ran it.
pub fn workers(results: &Results, workload: Workload) -> Option<Lanes> {
    let title = match workload {
        Workload::Fibo => "Fibonacci: which worker ran which task",
        Workload::Get => "HTTP fetch: which worker ran which task",
    };
    let y_desc = "workers (processes by pid, threads by tid)";
    let busiest = results
        .for_workload(workload)
        .map(|e| {
            let mut per_worker: BTreeMap<usize, usize> = BTreeMap::new();
            for task in &e.tasks {
                *per_worker.entry(task.worker).or_default() += 1;
            }
            per_worker.into_values().max().unwrap_or(0)
        })
        .max()?;
    if busiest > MAX_BARS_PER_LANE {
        let mut chart = per_pool_chart(results, workload, title, y_desc, merged_lanes)?;
        let tasks: usize = results.for_workload(workload).map(|e| e.tasks.len()).sum();
        chart.note = Some(format!(
            "{} tasks, up to {} on one worker: too many to draw one by one. \
             Each lane is shaded by the share of each pixel's time its worker was running \
             a task; trace.json has every task.",
            thousands(tasks),
            thousands(busiest)
        ));
        return Some(chart);
    }
    per_pool_chart(results, workload, title, y_desc, |experiment, origin| {
        let mut by_worker: BTreeMap<usize, Vec<&TaskRow>> = BTreeMap::new();
        for task in &experiment.tasks {
            by_worker.entry(task.worker).or_default().push(task);
        }
        by_worker
            .values()
            .flat_map(|tasks| {
                let label = worker_label(experiment.pool, tasks);
                rows(tasks).into_iter().map(move |row| (label.clone(), row))
            })
            .map(|(label, tasks)| Lane {
                label,
                bars: tasks
                    .iter()
                    .enumerate()
                    .map(|(i, task)| Bar {
                        start: task.start_time - origin,
                        end: task.end_time - origin,
                        // Alternate shades so that tasks run back to back on one
                        // worker still read as separate bars.
                        color: if i % 2 == 0 {
                            pool_color(experiment.pool)
                        } else {
                            tint(pool_color(experiment.pool), 0.45)
                        },
                        text: Some(workload.task_label(task.input)),
                    })
                    .collect(),
            })
            .collect()
    })
}

/// One lane per worker with all its tasks in the pool's colour and without labels,
/// for a chart with more tasks than can be told apart: the drawing routine then
/// shades each pixel column by how much of it the tasks cover.
fn merged_lanes(experiment: &Experiment, origin: f64) -> Vec<Lane> {
    let mut by_worker: BTreeMap<usize, Vec<&TaskRow>> = BTreeMap::new();
    for task in &experiment.tasks {
        by_worker.entry(task.worker).or_default().push(task);
    }
    let color = pool_color(experiment.pool);
    by_worker
        .values()
        .map(|tasks| Lane {
            label: worker_label(experiment.pool, tasks),
            bars: tasks
                .iter()
                .map(|task| Bar {
                    start: task.start_time - origin,
                    end: task.end_time - origin,
                    color,
                    text: None,
                })
                .collect(),
        })
        .collect()
}

/// A worker's tasks in rows that hold no two overlapping tasks: one row for a worker
/// that runs one task at a time (every thread and process worker), one row per task
/// in flight for the async pool's one thread, whose waits overlap. Each task goes
/// into the row that became free first, if one is free when it starts; otherwise
/// into a new row.
pub(crate) fn rows<'a>(tasks: &[&'a TaskRow]) -> Vec<Vec<&'a TaskRow>> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;

    /// A row's last end, ordered as `f64::total_cmp` orders it.
    #[derive(PartialEq)]
    struct End(f64);
    impl Eq for End {}
    impl PartialOrd for End {
        fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(other))
        }
    }
    impl Ord for End {
        fn cmp(&self, other: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&other.0)
        }
    }

    let mut sorted = tasks.to_vec();
    sorted.sort_by(|a, b| a.start_time.total_cmp(&b.start_time));
    let mut rows: Vec<Vec<&TaskRow>> = Vec::new();
    // Each row's last end, earliest first: a heap, so that thousands of tasks in
    // flight cost a logarithm per task, not a scan of every row.
    let mut free_at: BinaryHeap<Reverse<(End, usize)>> = BinaryHeap::new();
    for task in sorted {
        let row = match free_at.peek() {
            Some(Reverse((End(end), row))) if *end <= task.start_time => {
                let row = *row;
                free_at.pop();
                row
            }
            _ => {
                rows.push(Vec::new());
                rows.len() - 1
            }
        };
        rows[row].push(task);
        free_at.push(Reverse((End(task.end_time), row)));
    }
    rows
}

/// How many lanes the workers chart of `experiment` has: one per row of each worker.
pub(crate) fn lane_count(experiment: &Experiment) -> usize {
    let mut by_worker: BTreeMap<usize, Vec<&TaskRow>> = BTreeMap::new();
    for task in &experiment.tasks {
        by_worker.entry(task.worker).or_default().push(task);
    }
    by_worker.values().map(|tasks| rows(tasks).len()).sum()
}

/// `1234567` as `1,234,567`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `process pid 1234` for a process worker, `thread tid 5678` for a thread: the id
/// that tells workers apart in that kind of pool. A worker whose id changed (a
/// replaced process) lists every id it had.
fn worker_label(pool: Pool, tasks: &[&TaskRow]) -> String {
    let (kind, mut ids): (&str, Vec<i32>) = match pool {
        Pool::Process => ("pid", tasks.iter().map(|t| t.pid).collect()),
        Pool::Thread | Pool::Gil | Pool::Async => ("tid", tasks.iter().map(|t| t.tid).collect()),
    };
    ids.dedup();
    let ids: Vec<String> = ids.iter().map(i32::to_string).collect();
    format!("{pool} {kind} {}", ids.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tasks that overlap go to rows of their own; a task that starts once a row is
    /// free goes into it.
    #[test]
    fn overlapping_tasks_get_rows_of_their_own() {
        let task = |start: f64, end: f64| TaskRow {
            tag: "async-get-0".into(),
            start_time: start,
            end_time: end,
            elapsed: end - start,
            result: "200 OK".into(),
            input: 1,
            worker: 0,
            pid: 1,
            tid: 1,
        };
        let tasks = [
            task(0.0, 1.0),
            task(0.1, 2.0),
            task(0.2, 1.5),
            task(1.0, 3.0),
        ];
        let refs: Vec<&TaskRow> = tasks.iter().collect();
        let rows = rows(&refs);
        let starts: Vec<Vec<f64>> = rows
            .iter()
            .map(|row| row.iter().map(|t| t.start_time).collect())
            .collect();
        assert_eq!(starts, [vec![0.0, 1.0], vec![0.1], vec![0.2]]);
        // One task at a time: one row.
        let serial = [task(0.0, 1.0), task(1.0, 2.0), task(2.5, 3.0)];
        let refs: Vec<&TaskRow> = serial.iter().collect();
        assert_eq!(super::rows(&refs).len(), 1);
    }

    fn task(pid: i32, tid: i32) -> TaskRow {
        TaskRow {
            tag: "t".into(),
            start_time: 0.0,
            end_time: 1.0,
            elapsed: 1.0,
            result: "1".into(),
            input: 1,
            worker: 0,
            pid,
            tid,
        }
    }

    /// Processes are told apart by pid, threads by tid.
    #[test]
    fn labels_use_the_distinguishing_id() {
        let t = task(100, 200);
        assert_eq!(worker_label(Pool::Process, &[&t]), "process pid 100");
        assert_eq!(worker_label(Pool::Thread, &[&t]), "thread tid 200");
        assert_eq!(worker_label(Pool::Gil, &[&t]), "gil tid 200");
    }

    /// Large counts get thousands separators.
    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }

    /// A worker that changed pid lists both, once each.
    #[test]
    fn replaced_worker_lists_each_id() {
        let (a, b) = (task(100, 1), task(101, 1));
        assert_eq!(
            worker_label(Pool::Process, &[&a, &a, &b]),
            "process pid 100,101"
        );
    }
}
