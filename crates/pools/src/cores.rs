//! Which core ran which task, and when: the measurement behind the article's first
//! figure, concurrency (tasks taking turns on one core) next to parallelism (tasks
//! side by side on two cores).
//!
//! **The claim.** Restrict the program to one CPU and two CPU-bound tasks still both
//! make progress, but never at the same instant: the kernel runs one, then the
//! other, a few milliseconds each. Give it two CPUs and each task gets its own core.
//!
//! How it is measured, in three steps:
//!
//! 1. **Restrict** ([`restrict_to_first`]): `pools --cpus N` calls `sched_setaffinity`
//!    on its main thread before it starts anything, so that every worker thread and
//!    process it creates later inherits the mask (the kernel copies it at `fork` and
//!    at `clone`, and `exec` keeps it). Like `taskset -c`, it restricts the whole
//!    program: the main thread only waits on pipes while the tasks run, so it takes
//!    almost nothing from them, and one rule for every thread is easy to check.
//! 2. **Sample** ([`CoreSampledFibonacci`]): the Fibonacci task's checkpoint closure,
//!    called at every recursive call above [`fib::CHECKPOINT_GRAIN`] (about one call
//!    in a hundred, as in the GIL pool), counts checks, and every [`SAMPLE_EVERY`]
//!    checks (some tens of microseconds) the [`Sampler`] reads which CPU it is on
//!    (`sched_getcpu`), the time ([`procutil::unix_now`], the clock of the task rows)
//!    and how many times the kernel has switched this thread out
//!    (`getrusage(RUSAGE_THREAD)`).
//! 3. **Slice** ([`Sampler::observe`]): consecutive samples on the same CPU with no
//!    switch between them form one [`Seen`] slice, from the first sample to the
//!    last. The worker sends the slices back with the result; `pools` writes them to
//!    `cores-{pool}-fibo.csv` ([`write_slices`]).
//!
//! Why a switch count rather than a gap in time: a gap threshold would merge two
//! samples across a short turn of another task (say the last 20 µs of a task that
//! was nearly done), and the figure would show two tasks on one core at once, which
//! never happens. The switch count is exact: a sample whose reads straddle a switch
//! is dropped, so every slice covers only time during which its task was running on
//! its core. Two slices on one core therefore never overlap: that is what the
//! integration test checks.
//!
//! Linux only, like the rest of the crate (`sched_getcpu`, `RUSAGE_THREAD`).

use std::fmt;
use std::path::Path;

use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::Pid;
use results::layout::CORE_COLUMNS;
use results::{CoreSlice, TempFiles, WriteError};
use serde::{Deserialize, Serialize};

use crate::record::TaskRecord;
use crate::task::{Context, Task, TaskFailure};

/// How many checkpoints between two samples. The task checks in at every call above
/// [`fib::CHECKPOINT_GRAIN`], about every 140 ns (chapter 2), so one sample comes
/// about every 35 microseconds: far finer than the kernel's time slices
/// (milliseconds), and rare enough that its system call costs little.
///
/// Counting only above the grain keeps the countdown out of the bare recursion,
/// which a check at every call would slow by over a quarter (as it did the GIL pool
/// before). Both runs of the figure use this task, so they compare like with like.
pub const SAMPLE_EVERY: u32 = 256;

/// Why `--cpus` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoresError {
    /// More CPUs, or fewer than one, than this process may use.
    #[error(
        "asked for {asked} CPUs, but this process may use {} (CPUs {}): ask for 1 to {}",
        allowed.len(),
        list(allowed),
        allowed.len()
    )]
    OutOfRange {
        /// What was asked for.
        asked: usize,
        /// The CPUs this process may run on.
        allowed: Vec<usize>,
    },
    /// The kernel refused to read or set the affinity mask.
    #[error("cannot {what} this process's CPU affinity: {errno}")]
    Affinity {
        /// "read" or "set".
        what: &'static str,
        /// The kernel's answer.
        errno: nix::errno::Errno,
    },
}

fn list(cpus: &[usize]) -> String {
    cpus.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// The CPUs the calling thread may run on, in increasing order.
pub fn allowed_cpus() -> Result<Vec<usize>, CoresError> {
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(|errno| CoresError::Affinity {
        what: "read",
        errno,
    })?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// Restricts the calling thread, and so every thread and process it creates from
/// now on, to the first `cpus` CPUs of those it may use. Returns those CPUs.
///
/// Call it while the process is still single-threaded: a thread started earlier
/// keeps its own mask.
pub fn restrict_to_first(cpus: usize) -> Result<Vec<usize>, CoresError> {
    let allowed = allowed_cpus()?;
    if cpus == 0 || cpus > allowed.len() {
        return Err(CoresError::OutOfRange {
            asked: cpus,
            allowed,
        });
    }
    let chosen = allowed[..cpus].to_vec();
    let mut set = CpuSet::new();
    for &cpu in &chosen {
        // Every CPU in `allowed` came from a CpuSet, so it is in range.
        set.set(cpu)
            .map_err(|errno| CoresError::Affinity { what: "set", errno })?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|errno| CoresError::Affinity { what: "set", errno })?;
    Ok(chosen)
}

/// One slice of time during which a task was seen running on one CPU, without
/// being switched out: what a worker sends back. `pools` adds the task's index,
/// pid and tid to make a [`CoreSlice`] row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    /// The CPU, as `sched_getcpu` numbers it.
    pub cpu: u32,
    /// The first sample of the slice, in Unix seconds.
    pub start: f64,
    /// The last sample of the slice, in Unix seconds.
    pub end: f64,
}

/// What [`CoreSampledFibonacci`] returns: the Fibonacci number and where it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sampled {
    /// `fib(n)`.
    pub value: u64,
    /// The slices, in time order.
    pub slices: Vec<Seen>,
}

/// Printed as the Fibonacci number alone, so the task's row in
/// `{pool}-fibo.csv` reads as it does without `--cpus`.
impl fmt::Display for Sampled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}

/// One reading: the CPU, the time, and the thread's switch count, read in that
/// order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    /// `sched_getcpu()`.
    pub cpu: u32,
    /// [`procutil::unix_now`].
    pub at: f64,
    /// Voluntary plus involuntary context switches of this thread so far.
    pub switches: u64,
}

/// Turns samples into slices (step 3 of the module header).
#[derive(Debug, Clone, Default)]
pub struct Sampler {
    /// The switch count read at the end of the previous sample.
    switches: u64,
    /// The slice still growing, if any.
    open: Option<Seen>,
    /// The finished slices.
    slices: Vec<Seen>,
}

impl Sampler {
    /// A sampler that counts switches from now.
    pub fn start() -> Self {
        Sampler {
            switches: thread_switches(),
            ..Sampler::default()
        }
    }

    /// Reads the CPU, the time and the switch count, and adds the sample.
    pub fn sample(&mut self) {
        let cpu = sched_getcpu().map_or(u32::MAX, |cpu| cpu as u32);
        let at = procutil::unix_now();
        let switches = thread_switches();
        self.observe(Sample { cpu, at, switches });
    }

    /// Adds one sample. If the thread was switched out since the previous sample
    /// ended, the open slice is closed, and this sample is dropped: the switch may
    /// have come between its reads, so its CPU and its time may not belong
    /// together. Otherwise the thread ran without a break since the last reading,
    /// so the sample extends the open slice, or opens a new one on another CPU.
    pub fn observe(&mut self, sample: Sample) {
        if sample.switches != self.switches {
            self.switches = sample.switches;
            self.close();
            return;
        }
        match &mut self.open {
            Some(open) if open.cpu == sample.cpu => open.end = sample.at,
            _ => {
                self.close();
                self.open = Some(Seen {
                    cpu: sample.cpu,
                    start: sample.at,
                    end: sample.at,
                });
            }
        }
    }

    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            self.slices.push(open);
        }
    }

    /// Every slice, in time order.
    pub fn finish(mut self) -> Vec<Seen> {
        self.close();
        self.slices
    }
}

/// How many times the kernel has taken the calling thread off its CPU.
fn thread_switches() -> u64 {
    getrusage(UsageWho::RUSAGE_THREAD).map_or(0, |usage| {
        (usage.voluntary_context_switches() + usage.involuntary_context_switches()).max(0) as u64
    })
}

/// The Fibonacci task with a core sampler in its checkpoint: what `pools --cpus N`
/// runs instead of [`Fibonacci`](crate::Fibonacci). Same recursion, same result;
/// the output also says on which core it ran, and when.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct CoreSampledFibonacci;

impl Task for CoreSampledFibonacci {
    type Input = u32;
    type Output = Sampled;
    const NAME: &'static str = "fibonacci_cores";

    fn run(&self, n: &u32, cx: &mut impl Context) -> Result<Sampled, TaskFailure> {
        let mut sampler = Sampler::start();
        sampler.sample();
        let mut countdown = SAMPLE_EVERY;
        let value = fib::fibonacci_with_grain(*n, fib::CHECKPOINT_GRAIN, &mut || {
            cx.checkpoint();
            countdown -= 1;
            if countdown == 0 {
                countdown = SAMPLE_EVERY;
                sampler.sample();
            }
        })?;
        sampler.sample();
        Ok(Sampled {
            value,
            slices: sampler.finish(),
        })
    }
}

/// The rows of `cores-{pool}-fibo.csv` for one run's tasks: each slice with its
/// task's index, pid and tid, ordered by start.
pub fn slices(tasks: &[TaskRecord<Sampled>]) -> Vec<CoreSlice> {
    let mut rows: Vec<CoreSlice> = tasks
        .iter()
        .flat_map(|task| {
            task.output.slices.iter().map(|seen| CoreSlice {
                index: task.index,
                pid: task.pid,
                tid: task.tid,
                cpu: seen.cpu,
                start: seen.start,
                end: seen.end,
            })
        })
        .collect();
    rows.sort_by(|a, b| a.start.total_cmp(&b.start));
    rows
}

/// Writes `rows` to `path` with [`CORE_COLUMNS`], atomically.
pub fn write_slices(path: &Path, rows: &[CoreSlice]) -> Result<(), WriteError> {
    TempFiles::POOLS.write_csv(path, |w| {
        w.write_record(CORE_COLUMNS)?;
        for row in rows {
            w.write_record(row.fields())?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(cpu: u32, at: f64, switches: u64) -> Sample {
        Sample { cpu, at, switches }
    }

    /// Samples on one CPU with no switch make one slice; a switch closes it and
    /// drops the sample it was seen in; a move to another CPU starts a new slice.
    #[test]
    fn samples_become_slices_at_switches_and_moves() {
        let mut sampler = Sampler::default();
        for sample in [
            at(0, 1.0, 0),
            at(0, 1.1, 0),
            at(0, 1.2, 0),
            at(0, 1.5, 1), // switched out before this one: dropped
            at(0, 1.6, 1),
            at(0, 1.7, 1),
            at(1, 1.8, 1), // moved without a switch we saw: a new slice
        ] {
            sampler.observe(sample);
        }
        let slices = sampler.finish();
        let seen = |cpu, start, end| Seen { cpu, start, end };
        assert_eq!(
            slices,
            [seen(0, 1.0, 1.2), seen(0, 1.6, 1.7), seen(1, 1.8, 1.8)]
        );
    }

    /// `--cpus 0` and more than the allowed CPUs are refused, naming the range.
    #[test]
    fn out_of_range_counts_are_refused() {
        let allowed = allowed_cpus().unwrap();
        for asked in [0, allowed.len() + 1] {
            let err = restrict_to_first(asked).unwrap_err().to_string();
            assert!(
                err.contains(&format!("ask for 1 to {}", allowed.len())),
                "{err}"
            );
        }
    }

    /// The sampled task computes the same number, and every slice lies inside the
    /// task's run, in time order.
    #[test]
    fn the_sampled_task_returns_fib_and_ordered_slices() {
        let before = procutil::unix_now();
        let out = CoreSampledFibonacci.run(&25, &mut crate::NoGil).unwrap();
        let after = procutil::unix_now();
        assert_eq!(out.value, fib::fibonacci(25).unwrap());
        assert_eq!(out.to_string(), out.value.to_string());
        for pair in out.slices.windows(2) {
            assert!(pair[0].end <= pair[1].start, "{pair:?}");
        }
        for s in &out.slices {
            assert!(
                before <= s.start && s.start <= s.end && s.end <= after,
                "{s:?}"
            );
        }
    }
}
