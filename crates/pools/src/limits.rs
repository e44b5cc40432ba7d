//! How big a run may be, and why: every size a user types is checked against these
//! limits before anything is allocated or started.
//!
//! | what | limit | why |
//! |---|---|---|
//! | tasks per experiment (inputs × `--repeat`) | [`MAX_TASKS`] = 1,000,000 | the largest run the benchmarks make; each task is a CSV row (about 80 bytes) and a bar in `report`'s charts |
//! | workers per pool | [`MAX_WORKERS`] = 4,096, or the machine's limit if lower | each worker is a thread or a process; tens of thousands exhaust the machine (`kernel.pid_max` is 32,768 by default) |
//!
//! The machine's limit is the lowest of `ulimit -u` (`RLIMIT_NPROC`, which counts
//! threads as well as processes), `/proc/sys/kernel/threads-max` and
//! `/proc/sys/kernel/pid_max`.

use std::fmt;

/// The most tasks one experiment may run: its inputs times `--repeat`.
///
/// A million tasks is the largest run the benchmarks make (`report`'s benchmark draws
/// 1,000,000), and writes a per-task CSV of about 80 MB per pool.
pub const MAX_TASKS: usize = 1_000_000;

/// The most workers one pool may have, on any machine.
///
/// Far more than the cores of any machine this runs on, and far fewer than the
/// machine's process and thread limits, which a pool of tens of thousands of workers
/// reaches (the kernel's default `pid_max` is 32,768).
pub const MAX_WORKERS: usize = 4096;

/// A size over its limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    /// More tasks than [`MAX_TASKS`].
    #[error(
        "{inputs} input{s} × --repeat {repeat} = {tasks} tasks is over the limit of {max} \
         tasks per experiment (each task is a row in a CSV file and a bar in report's charts)",
        s = if *inputs == 1 { "" } else { "s" },
        max = thousands(MAX_TASKS as u128)
    )]
    Tasks {
        /// How many inputs the SPEC has.
        inputs: usize,
        /// `--repeat`.
        repeat: usize,
        /// `inputs × repeat`, which may not fit in a `usize`.
        tasks: u128,
    },
    /// More workers than this machine allows.
    #[error("--workers {asked} is over the limit of {} workers per pool ({})", .limit.max, .limit.why)]
    Workers {
        /// What the user asked for.
        asked: usize,
        /// The limit, and where it comes from.
        limit: WorkerLimit,
    },
}

/// The most workers a pool may have on this machine, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerLimit {
    /// The limit.
    pub max: usize,
    /// Where it comes from, in words.
    pub why: String,
}

/// Checks that `inputs × repeat` tasks are within [`MAX_TASKS`], without overflow.
pub fn check_tasks(inputs: usize, repeat: usize) -> Result<usize, LimitError> {
    let tasks = inputs as u128 * repeat as u128;
    if tasks > MAX_TASKS as u128 {
        return Err(LimitError::Tasks {
            inputs,
            repeat,
            tasks,
        });
    }
    Ok(tasks as usize)
}

/// Checks that a pool of `workers` is within [`worker_limit`].
pub fn check_workers(workers: usize) -> Result<usize, LimitError> {
    let limit = worker_limit();
    if workers > limit.max {
        return Err(LimitError::Workers {
            asked: workers,
            limit,
        });
    }
    Ok(workers)
}

/// [`MAX_WORKERS`], or this machine's process and thread limit if that is lower.
pub fn worker_limit() -> WorkerLimit {
    let mut limit = WorkerLimit {
        max: MAX_WORKERS,
        why: "a fixed cap: each worker is a thread or a process, and tens of thousands \
              would exhaust the machine"
            .into(),
    };
    let machine = [
        (
            nproc_limit(),
            "this user's limit on processes and threads, ulimit -u",
        ),
        (
            read_number("/proc/sys/kernel/threads-max"),
            "this machine's limit on threads, kernel.threads-max",
        ),
        (
            read_number("/proc/sys/kernel/pid_max"),
            "this machine's limit on process ids, kernel.pid_max",
        ),
    ];
    for (value, why) in machine {
        if let Some(value) = value.filter(|&v| v < limit.max) {
            limit = WorkerLimit {
                max: value,
                why: why.into(),
            };
        }
    }
    limit
}

/// The soft `RLIMIT_NPROC`, if it is finite.
fn nproc_limit() -> Option<usize> {
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, _hard) = getrlimit(Resource::RLIMIT_NPROC).ok()?;
    if soft == nix::libc::RLIM_INFINITY {
        return None;
    }
    usize::try_from(soft).ok()
}

fn read_number(path: &str) -> Option<usize> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// `1000000` as `1,000,000`.
pub fn thousands(n: u128) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl fmt::Display for WorkerLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.max, self.why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_million_tasks_is_allowed_and_one_more_is_not() {
        assert_eq!(check_tasks(4, 250_000), Ok(1_000_000));
        let err = check_tasks(1, 1_000_001).unwrap_err();
        assert!(
            err.to_string()
                .contains("over the limit of 1,000,000 tasks"),
            "{err}"
        );
    }

    /// The product is computed without overflow, and named as typed.
    #[test]
    fn huge_repeats_do_not_overflow() {
        let err = check_tasks(8, usize::MAX).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "8 inputs × --repeat 18446744073709551615 = 147573952589676412920 tasks"
            ),
            "{err}"
        );
    }

    #[test]
    fn workers_are_capped() {
        let limit = worker_limit();
        assert!(limit.max >= 1 && limit.max <= MAX_WORKERS);
        assert_eq!(check_workers(1), Ok(1));
        assert_eq!(check_workers(limit.max), Ok(limit.max));
        let err = check_workers(usize::MAX).unwrap_err().to_string();
        assert!(
            err.contains(&format!("over the limit of {} workers", limit.max)),
            "{err}"
        );
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_000_000), "1,000,000");
    }
}
