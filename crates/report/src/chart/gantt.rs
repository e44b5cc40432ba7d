//! The article's two figures: one bar per task, from its start to its end.
//!
//! What to expect on a 2-core machine with 8 Fibonacci tasks per pool: the process
//! and thread pools start every task at once and finish in about half the serial
//! time (two cores share eight tasks). The GIL pool also starts every task at once,
//! but its bars all stretch to the end: one lock lets only one thread compute, so
//! it takes the full serial time. For the HTTP fetches, every pool takes as long as
//! the slowest wait: waiting needs no core and no lock.

use super::lanes::{Bar, Group, Lane, Lanes};
use super::{legend_entry, note_color, pool_color};
use crate::model::{Results, Workload};

/// Builds the Gantt chart of one workload, or `None` if no pool ran it.
///
/// Lanes are grouped by pool (process, thread, gil) and ordered by start time
/// within each group; times are seconds since that pool's experiment began.
pub fn gantt(results: &Results, workload: Workload) -> Option<Lanes> {
    let mut lanes = Vec::new();
    let mut groups = Vec::new();
    let mut legend = Vec::new();
    let mut x_max: f64 = 0.0;
    for experiment in results.for_workload(workload) {
        let origin = experiment.origin();
        let color = pool_color(experiment.pool);
        let first = lanes.len();
        // `tasks` is sorted by start time, which is the order the article plots.
        for task in &experiment.tasks {
            lanes.push(Lane {
                label: format!("{} {}", experiment.pool, workload.task_label(task.input)),
                bars: vec![Bar {
                    start: task.start_time - origin,
                    end: task.end_time - origin,
                    color,
                    text: Some(format!("{:.2} s", task.end_time - task.start_time)),
                }],
            });
        }
        let makespan = experiment.makespan();
        x_max = x_max.max(makespan).max(experiment.last_end() - origin);
        groups.push(Group {
            lanes: first..lanes.len(),
            at: Some(makespan),
            note: format!("makespan {makespan:.2} s"),
            color: note_color(experiment.pool),
        });
        legend.push(legend_entry(experiment));
    }
    if lanes.is_empty() {
        return None;
    }

    let title = match workload {
        Workload::Fibo => "Fibonacci (CPU-bound): each task from start to end, per pool",
        Workload::Get => "HTTP fetch (waiting): each task from start to end, per pool",
    };
    Some(Lanes {
        title: title.to_owned(),
        x_desc: "seconds since the pool's experiment began".to_owned(),
        y_desc: "tasks, in order of start".to_owned(),
        // Room right of the longest group for its makespan note.
        x_range: 0.0..x_max * 1.18,
        legend,
        lanes,
        groups,
    })
}
