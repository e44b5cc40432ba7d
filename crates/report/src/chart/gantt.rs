//! The article's two figures: one bar per task, from its start to its end.
//!
//! What to expect on a 2-core machine with 8 Fibonacci tasks per pool: the process
//! and thread pools start every task at once and finish in about half the serial
//! time (two cores share eight tasks). The GIL pool also starts every task at once,
//! but its bars all stretch to the end: one lock lets only one thread compute, so
//! it takes the full serial time. For the HTTP fetches, every pool takes as long as
//! the slowest wait: waiting needs no core and no lock.

use super::lanes::{Bar, Lane, Lanes};
use super::{per_pool_chart, pool_color};
use crate::model::{Experiment, Results, TaskRow, Workload};

/// Builds the Gantt chart of one workload, or `None` if no pool ran it.
///
/// Lanes are grouped by pool (process, thread, gil) and ordered by start time
/// within each group; times are seconds since that pool's experiment began.
///
/// From the article's own files, which say neither the input nor the pool's start,
/// each lane is labelled with the task's tag (`process-fibo-3`), time zero is the
/// pool's first task start, and the chart notes that the makespans are derived
/// from the tasks: the article's own way of plotting them.
pub fn gantt(results: &Results, workload: Workload) -> Option<Lanes> {
    let ids = results.has_task_ids();
    per_pool_chart(
        results,
        workload,
        title(workload),
        "tasks, in order of start",
        |experiment, origin| {
            let color = pool_color(experiment.pool);
            // `tasks` is sorted by start time, which is the order the article plots.
            experiment
                .tasks
                .iter()
                .map(|task| Lane {
                    label: if ids {
                        format!("{} {}", experiment.pool, workload.task_label(task.input))
                    } else {
                        task.tag.clone()
                    },
                    bars: vec![Bar {
                        start: task.start_time - origin,
                        end: task.end_time - origin,
                        color,
                        text: Some(format!("{:.2} s", task.end_time - task.start_time)),
                    }],
                })
                .collect()
        },
    )
    .map(|mut lanes| {
        if !ids {
            lanes.x_desc = "seconds since the pool's first task started".to_owned();
            lanes.note = Some(
                "the article's own files: makespans derived from the tasks, first start to \
                 last end"
                    .to_owned(),
            );
        }
        lanes
    })
}

/// The chart's title.
pub fn title(workload: Workload) -> &'static str {
    match workload {
        Workload::Fibo => "Fibonacci (CPU-bound): each task from start to end, per pool",
        Workload::Get => "HTTP fetch (waiting): each task from start to end, per pool",
    }
}

/// The task behind each lane of [`gantt`], in lane order: lane `i` of the chart is
/// item `i`, with the experiment it belongs to. `report.html` reads a bar's tooltip
/// from it (see [`crate::html`]).
pub fn tasks_in_lane_order(
    results: &Results,
    workload: Workload,
) -> impl Iterator<Item = (&Experiment, &TaskRow)> {
    // The same walk as `per_pool_chart` and the closure above: pools in chart
    // order, each pool's tasks in the order `load` sorted them (by start).
    results
        .for_workload(workload)
        .flat_map(|experiment| experiment.tasks.iter().map(move |task| (experiment, task)))
}
