//! What `pools` prints after its timings: plain sentences, each derived from the
//! measurements of the run it describes, so that it holds for every flag combination.
//!
//! A sentence here states only what the run's own data shows (the makespans, the
//! task intervals, the GIL's hold intervals), and a reason only when the data backs
//! it: "the waits overlapped" is said with the number of waits that were in
//! progress at once, and "only one thread computes" with the number of overlapping
//! GIL holds, which is zero. The integration test `tests/explain.rs` runs `pools`
//! with several flag combinations and checks every number against the CSV files the
//! run wrote.
//!
//! Times are rounded to the microsecond first, as the CSV files write them, so the
//! counts printed here are the counts a reader gets from the files.

use crate::record::PoolKind;

/// One pool's run of one experiment, as the explanation needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    /// Which pool ran.
    pub pool: PoolKind,
    /// `fibo` or `get`.
    pub workload: String,
    /// How many workers the pool had.
    pub workers: usize,
    /// The pool's makespan in seconds: start-up, tasks and shut-down.
    pub makespan: f64,
    /// Each task's `(start, end)`, in Unix seconds.
    pub tasks: Vec<(f64, f64)>,
    /// For the GIL pool: each interval a worker held the lock. Empty otherwise.
    pub held: Vec<(f64, f64)>,
    /// CPU seconds the run used (this process and its reaped workers), if measured.
    pub cpu_seconds: Option<f64>,
    /// How many distinct threads (pid and tid) ran the tasks, if known.
    pub threads: Option<usize>,
}

/// Rounds a time to the microsecond, as the CSV files write it.
fn micros(t: f64) -> f64 {
    (t * 1e6).round() / 1e6
}

impl RunFacts {
    /// The facts of one run; times are rounded to the microsecond, as in the CSVs.
    pub fn new(
        pool: PoolKind,
        workload: &str,
        workers: usize,
        makespan: f64,
        tasks: impl IntoIterator<Item = (f64, f64)>,
        held: impl IntoIterator<Item = (f64, f64)>,
    ) -> Self {
        let round = |(a, b): (f64, f64)| (micros(a), micros(b));
        RunFacts {
            pool,
            workload: workload.to_owned(),
            workers,
            makespan,
            tasks: tasks.into_iter().map(round).collect(),
            held: held.into_iter().map(round).collect(),
            cpu_seconds: None,
            threads: None,
        }
    }

    /// The same facts, with how many distinct threads ran the tasks.
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = Some(threads);
        self
    }

    /// The same facts, with the CPU seconds the run used.
    pub fn with_cpu_seconds(mut self, cpu_seconds: f64) -> Self {
        self.cpu_seconds = Some(cpu_seconds);
        self
    }

    /// How many cores the run kept busy on average: CPU seconds over the makespan.
    pub fn busy_cores(&self) -> Option<f64> {
        let cpu = self.cpu_seconds?;
        (self.makespan > 0.0).then(|| cpu / self.makespan)
    }

    /// The sum of the tasks' elapsed times, in seconds.
    pub fn task_seconds(&self) -> f64 {
        self.tasks.iter().map(|(s, e)| e - s).sum()
    }

    /// The most tasks that were in progress at the same moment.
    pub fn peak_tasks(&self) -> usize {
        peak_overlap(&self.tasks)
    }

    /// The time before the first task started and after the last one ended: the
    /// pool's start-up, the hand-out of the first inputs, and its shut-down.
    pub fn outside_tasks(&self) -> f64 {
        let first = self.tasks.iter().map(|t| t.0).reduce(f64::min);
        let last = self.tasks.iter().map(|t| t.1).reduce(f64::max);
        match (first, last) {
            (Some(first), Some(last)) => (self.makespan - (last - first)).max(0.0),
            _ => self.makespan,
        }
    }
}

/// The largest number of intervals that contain one same moment. An interval that
/// ends exactly when another starts does not overlap it.
pub fn peak_overlap(intervals: &[(f64, f64)]) -> usize {
    // +1 at a start, -1 at an end; at equal times the end comes first.
    let mut events: Vec<(f64, i32)> = intervals
        .iter()
        .flat_map(|&(s, e)| [(s, 1), (e, -1)])
        .collect();
    events.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let (mut now, mut peak) = (0i64, 0i64);
    for (_, step) in events {
        now += i64::from(step);
        peak = peak.max(now);
    }
    peak as usize
}

/// The sentences `pools` prints after the speed-up lines, for the runs of one
/// invocation, on a machine where this process may use `cores` CPUs.
pub fn explain(runs: &[RunFacts], cores: usize) -> Vec<String> {
    let mut sentences = Vec::new();
    let find = |pool: PoolKind, workload: &str| {
        runs.iter()
            .find(|r| r.pool == pool && r.workload == workload)
    };
    let has_speed_up = |workload: &str| {
        find(PoolKind::Process, workload).is_some()
            && (find(PoolKind::Thread, workload).is_some()
                || find(PoolKind::Gil, workload).is_some()
                || find(PoolKind::Async, workload).is_some())
    };
    if has_speed_up("fibo") || has_speed_up("get") {
        sentences.push(
            "Each speed-up is the article's (t_other - t_process) / t_other x 100: the share \
             of the other pool's time that the process pool saved, negative when the process \
             pool took longer."
                .to_owned(),
        );
    }
    sentences.extend(explain_fibo(&find, cores));
    sentences.extend(explain_async_fibo(&find));
    sentences.extend(explain_get(runs, cores));
    sentences
}

/// `on 1 thread`, or nothing when the run did not say how many threads it used.
fn on_threads(run: &RunFacts) -> String {
    run.threads
        .map(|n| format!(" on {}", plural(n, "thread", "threads")))
        .unwrap_or_default()
}

/// The async pool's Fibonacci sentence: the tasks took turns on its thread, and the
/// run took their sum, because a computation never gives the thread back.
fn explain_async_fibo<'a>(
    find: &impl Fn(PoolKind, &str) -> Option<&'a RunFacts>,
) -> Option<String> {
    let run = find(PoolKind::Async, "fibo")?;
    let mut sentence = format!(
        "Fibonacci on the async pool: {}{}, ",
        plural(run.tasks.len(), "task", "tasks"),
        on_threads(run)
    );
    if run.peak_tasks() <= 1 {
        sentence.push_str("never two in progress at once");
        if run.workers >= 2 {
            sentence.push_str(&format!(
                ", although up to {} could be in flight: a computation has no await, so the \
                 event loop cannot start another task until it ends",
                run.workers
            ));
        }
        sentence.push_str(&format!(
            ". The run took {:.3} s, of which the tasks themselves, one after another, took \
             {:.3} s.",
            run.makespan,
            run.task_seconds(),
        ));
    } else {
        sentence.push_str(&format!(
            "up to {} in progress at once; the run took {:.3} s.",
            run.peak_tasks(),
            run.makespan
        ));
    }
    let fastest = [
        find(PoolKind::Process, "fibo"),
        find(PoolKind::Thread, "fibo"),
    ]
    .into_iter()
    .flatten()
    .min_by(|a, b| a.makespan.total_cmp(&b.makespan));
    if let Some(fast) = fastest
        && fast.makespan > 0.0
    {
        sentence.push_str(&format!(
            " That is {:.2}x the {} pool's {:.3} s.",
            run.makespan / fast.makespan,
            fast.pool,
            fast.makespan
        ));
    }
    Some(sentence)
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The Fibonacci sentences: the GIL pool against the faster parallel pool, and the
/// process pool against the thread pool.
fn explain_fibo<'a>(
    find: &impl Fn(PoolKind, &str) -> Option<&'a RunFacts>,
    cores: usize,
) -> Vec<String> {
    let mut sentences = Vec::new();
    let process = find(PoolKind::Process, "fibo");
    let thread = find(PoolKind::Thread, "fibo");
    let fastest = [process, thread]
        .into_iter()
        .flatten()
        .min_by(|a, b| a.makespan.total_cmp(&b.makespan));
    if let Some(gil) = find(PoolKind::Gil, "fibo") {
        let overlapping = peak_overlap(&gil.held) > 1;
        let held: f64 = gil.held.iter().map(|(a, b)| b - a).sum();
        let mut sentence = format!(
            "Fibonacci under the simulated GIL: the lock was held {:.0}% of the run's {:.3} s, \
             in {}, {}",
            if gil.makespan > 0.0 {
                held / gil.makespan * 100.0
            } else {
                0.0
            },
            gil.makespan,
            plural(gil.held.len(), "hold", "holds"),
            if overlapping {
                "some of them overlapping: a bug, please report it"
            } else {
                "never two at once: one thread computed at a time"
            }
        );
        match gil.busy_cores() {
            Some(busy) => sentence.push_str(&format!(", keeping {busy:.1} cores busy on average.")),
            None => sentence.push('.'),
        }
        if let Some(fast) = fastest {
            let ratio = gil.makespan / fast.makespan;
            // How many tasks the parallel pool could compute at once: no more than
            // its workers, and no more than the cores.
            let parallel = fast.peak_tasks().min(cores);
            sentence.push_str(&format!(
                " It took {ratio:.2}x as long as the {} pool ({:.3} s), ",
                fast.pool, fast.makespan
            ));
            sentence.push_str(&if parallel >= 2 {
                format!(
                    "which had up to {} tasks in progress at once and {} to run them on{}.",
                    fast.peak_tasks(),
                    plural(cores, "core", "cores"),
                    fast.busy_cores()
                        .map(|busy| format!(", and kept {busy:.1} of them busy on average"))
                        .unwrap_or_default()
                )
            } else if fast.workers < 2 {
                "which had one worker: no pool could compute two tasks at a time, so the GIL \
                 took no parallelism away."
                    .to_owned()
            } else if fast.peak_tasks() < 2 {
                "which never had two tasks in progress at once: each task ended before the next \
                 one started, too short to run side by side."
                    .to_owned()
            } else {
                "which ran on one core: no pool could compute two tasks at a time, so the GIL \
                 took no parallelism away."
                    .to_owned()
            });
        }
        sentences.push(sentence);
    }
    if let (Some(process), Some(thread)) = (process, thread) {
        // "In parallel" only when this run let both pools compute two tasks at once:
        // with one worker, one core or tasks too short to overlap, it would be false.
        let parallel = |run: &RunFacts| run.peak_tasks().min(cores) >= 2;
        let lead = if parallel(process) && parallel(thread) {
            "Processes and Rust's threads both compute in parallel."
        } else {
            "Processes and Rust's threads can both compute in parallel, but in this run at \
             least one of them never had two tasks in progress with two cores to run them."
        };
        sentences.push(format!(
            "{lead} From the first task's \
             start to the last one's end the process pool took {:.3} s and the thread pool \
             {:.3} s; starting and stopping the workers took {:.3} s and {:.3} s more.",
            process.makespan - process.outside_tasks(),
            thread.makespan - thread.outside_tasks(),
            process.outside_tasks(),
            thread.outside_tasks(),
        ));
    }
    sentences
}

/// The HTTP sentence: how much waiting there was, and how much of it overlapped.
fn explain_get(runs: &[RunFacts], cores: usize) -> Option<String> {
    let gets: Vec<&RunFacts> = runs.iter().filter(|r| r.workload == "get").collect();
    let first = gets.first()?;
    let min = gets.iter().map(|r| r.makespan).reduce(f64::min)?;
    let max = gets.iter().map(|r| r.makespan).reduce(f64::max)?;
    let peaks: Vec<usize> = gets.iter().map(|r| r.peak_tasks()).collect();
    let least = peaks.iter().copied().min().unwrap_or(0);
    let most = peaks.iter().copied().max().unwrap_or(0);
    let (pools, took) = if gets.len() == 1 {
        (format!("the {} pool", first.pool), format!("{min:.2} s"))
    } else {
        let (low, high) = (format!("{min:.2}"), format!("{max:.2}"));
        let took = if low == high {
            format!("{low} s")
        } else {
            format!("{low}-{high} s")
        };
        ("each pool".to_owned(), took)
    };
    let at_once = match (least, most) {
        (1, 1) => "at most 1 was".to_owned(),
        _ if least == most => format!("at most {least} were"),
        _ => format!("at most {least} to {most} were"),
    };
    let mut sentence = format!(
        "The {} HTTP tasks add up to {:.2} s of waiting, and {pools} took {took}: {at_once} in \
         progress at once",
        first.tasks.len(),
        first.task_seconds(),
    );
    if least > cores {
        sentence.push_str(&format!(
            ", more than the {} cores: a thread that waits needs no core",
            cores
        ));
    }
    if let Some(gil) = gets.iter().find(|r| r.pool == PoolKind::Gil)
        && gil.peak_tasks() > 1
    {
        sentence.push_str(
            ", and the GIL pool's waits overlapped too: its threads wait with the lock released",
        );
    }
    if let Some(run) = gets.iter().find(|r| r.pool == PoolKind::Async)
        && run.peak_tasks() > 1
    {
        sentence.push_str(&format!(
            ", and the async pool's waits overlapped{}: at each await its event loop \
             moved on to another task",
            on_threads(run)
        ));
    }
    let workers = gets.iter().map(|r| r.workers).max().unwrap_or(0);
    if least == workers && workers < first.tasks.len() {
        sentence.push_str(&format!(
            ". With {}, no more waits can overlap than that",
            plural(workers, "worker", "workers")
        ));
    }
    sentence.push('.');
    Some(sentence)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Touching intervals do not overlap; nested and crossing ones do.
    #[test]
    fn peak_overlap_counts_intervals_that_share_a_moment() {
        assert_eq!(peak_overlap(&[]), 0);
        assert_eq!(peak_overlap(&[(0.0, 1.0), (1.0, 2.0)]), 1);
        assert_eq!(peak_overlap(&[(0.0, 3.0), (1.0, 2.0), (1.5, 4.0)]), 3);
        assert_eq!(peak_overlap(&[(0.0, 1.0), (0.5, 1.5), (1.5, 2.0)]), 2);
    }

    /// With two workers the HTTP sentence says two waits overlapped, not eight.
    #[test]
    fn two_workers_overlap_two_waits() {
        let tasks: Vec<(f64, f64)> = (0..4)
            .map(|i| {
                let start = f64::from(i / 2);
                (start, start + 1.0)
            })
            .collect();
        let run = RunFacts::new(PoolKind::Thread, "get", 2, 2.01, tasks, []);
        let text = explain(&[run], 2).join(" ");
        assert!(
            text.contains("The 4 HTTP tasks add up to 4.00 s of waiting"),
            "{text}"
        );
        assert!(
            text.contains("at most 2 were in progress at once"),
            "{text}"
        );
        assert!(text.contains("With 2 workers, no more waits"), "{text}");
        assert!(!text.contains("needs no core"), "{text}");
    }
}
