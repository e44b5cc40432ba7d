//! The article's speed-up line, the one summary both `pools` (on stdout) and
//! `report` (in `report.html`) give of a run: how much less time the process pool
//! took than a thread pool, as a share of the thread pool's makespan.
//!
//! `(threads − processes) / threads × 100 %`: 50 % means the processes took half
//! the threads' time; a negative value means the processes were slower.

use crate::{Pool, Workload};

/// The speed-up of the process pool over another pool, in percent, from the two
/// makespans (in seconds).
pub fn percent(process_makespan: f64, other_makespan: f64) -> f64 {
    (other_makespan - process_makespan) / other_makespan * 100.0
}

/// The article's speed-up lines for one run, in its order (Fibonacci then HTTP
/// Get; threads, then GIL threads, then the async pool, which the article does not
/// have), e.g.
/// `Process vs GIL-threads Fibonacci tasks speed-up = 52.05%`.
///
/// `makespan` gives an experiment's makespan in seconds, or `None` if it did not
/// run; a line needs the process pool's and the other pool's.
pub fn lines(makespan: impl Fn(Pool, Workload) -> Option<f64>) -> Vec<String> {
    let mut lines = Vec::new();
    for workload in Workload::ALL {
        let Some(process) = makespan(Pool::Process, workload) else {
            continue;
        };
        let title = match workload {
            Workload::Fibo => "Fibonacci",
            Workload::Get => "HTTP Get",
        };
        for (pool, name) in [
            (Pool::Thread, "Threads"),
            (Pool::Gil, "GIL-threads"),
            (Pool::Async, "Async"),
        ] {
            if let Some(other) = makespan(pool, workload) {
                lines.push(format!(
                    "Process vs {name} {title} tasks speed-up = {:.2}%",
                    percent(process, other)
                ));
            }
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half the threads' time is a 50 % speed-up; lines appear only for pools that
    /// ran beside the process pool, in the article's order.
    #[test]
    fn lines_follow_the_article() {
        assert_eq!(percent(1.0, 2.0), 50.0);
        let lines = lines(|pool, workload| match (pool, workload) {
            (Pool::Process, _) => Some(1.0),
            (Pool::Gil, Workload::Fibo) => Some(2.0),
            (Pool::Thread, Workload::Get) => Some(0.8),
            (Pool::Async, Workload::Get) => Some(1.0),
            _ => None,
        });
        assert_eq!(
            lines,
            [
                "Process vs GIL-threads Fibonacci tasks speed-up = 50.00%",
                "Process vs Threads HTTP Get tasks speed-up = -25.00%",
                "Process vs Async HTTP Get tasks speed-up = 0.00%",
            ]
        );
    }
}
