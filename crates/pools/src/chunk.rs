//! `chunksize`: how many inputs a worker takes as one unit, as in Python's
//! `Executor.map(fn, inputs, chunksize=…)`.
//!
//! **The claim.** Every time a worker takes an input, it crosses a boundary: an
//! atomic `fetch_add` for a thread; for a process, a frame encoded, written down a
//! pipe, read, decoded, and a sleeping worker woken up. When a task takes 100 ns, the
//! crossing costs more than the task. Taking inputs in chunks pays the crossing once
//! per chunk instead of once per task. The price is load balance: a worker holding a
//! chunk holds all of it, so with long tasks the chunk should stay at 1.
//!
//! A chunk is claimed (threads) and sent (processes) as one unit, but each task in it
//! is still timed and recorded on its own: the CSV has one row per task, whatever the
//! chunksize.
//!
//! [`Chunksize::Auto`] picks the size from the task times it measures ([`Sizer`]):
//! the first chunk holds one input, and each following chunk is sized from the tasks
//! run so far so that it takes about [`AUTO_TARGET`]. Each chunk is at most twice
//! the one before (one odd measurement cannot make a huge chunk). It is never so
//! large that a worker gets fewer than [`AUTO_CHUNKS_PER_WORKER`] chunks, and it is 1
//! for tasks of [`AUTO_TARGET`] or longer.

use std::fmt;
use std::num::NonZeroUsize;
use std::str::FromStr;

/// How many inputs a worker takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chunksize {
    /// Always this many (the last chunk may hold fewer).
    Fixed(NonZeroUsize),
    /// Sized from measured task times (see the module docs).
    Auto,
}

/// The largest fixed chunksize: half the most tasks one experiment may run
/// ([`crate::limits::MAX_TASKS`]), so that two workers can still share the work.
pub const MAX_CHUNKSIZE: usize = 100_000;

/// `auto` aims for chunks that take about this long: 1 ms, a hundred times what one
/// crossing of the process boundary costs, so the crossing adds about 1 %.
pub const AUTO_TARGET: f64 = 0.001;

/// `auto` never makes a chunk so large that a worker would get fewer than this many
/// chunks: the last chunks must still be small enough to even out the end of a run.
pub const AUTO_CHUNKS_PER_WORKER: usize = 4;

impl Chunksize {
    /// One input at a time: the default, as in Python.
    pub const ONE: Chunksize = Chunksize::Fixed(NonZeroUsize::MIN);
}

impl Default for Chunksize {
    fn default() -> Self {
        Chunksize::ONE
    }
}

impl fmt::Display for Chunksize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Chunksize::Fixed(n) => write!(f, "{n}"),
            Chunksize::Auto => f.write_str("auto"),
        }
    }
}

/// A chunksize that is neither `auto` nor a whole number from 1 to [`MAX_CHUNKSIZE`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a chunksize is `auto` or a whole number from 1 to {MAX_CHUNKSIZE}, not {0:?}")]
pub struct BadChunksize(String);

impl FromStr for Chunksize {
    type Err = BadChunksize;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "auto" {
            return Ok(Chunksize::Auto);
        }
        text.parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_CHUNKSIZE)
            .and_then(NonZeroUsize::new)
            .map(Chunksize::Fixed)
            .ok_or_else(|| BadChunksize(text.to_owned()))
    }
}

/// One worker's chunk sizes through one `map`: fixed, or adapted to the task times
/// it is told of (`auto`).
#[derive(Debug, Clone)]
pub(crate) struct Sizer {
    auto: bool,
    /// The size of the next chunk.
    size: usize,
    /// The largest chunk `auto` may choose.
    cap: usize,
    /// Tasks measured so far, and their total time in seconds.
    tasks: usize,
    seconds: f64,
}

impl Sizer {
    /// The sizer for one of `workers` workers sharing `len` inputs.
    pub(crate) fn new(chunksize: Chunksize, len: usize, workers: usize) -> Self {
        let (auto, size) = match chunksize {
            Chunksize::Fixed(n) => (false, n.get()),
            Chunksize::Auto => (true, 1),
        };
        let cap = (len / (workers.max(1) * AUTO_CHUNKS_PER_WORKER)).max(1);
        Sizer {
            auto,
            size,
            cap,
            tasks: 0,
            seconds: 0.0,
        }
    }

    /// The size of the last chunk [`Sizer::next_size`] gave.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// How many inputs the next chunk should hold. Under `auto`, sized from the mean
    /// time of the tasks observed so far: about [`AUTO_TARGET`] of work, at most twice
    /// the chunk before (one odd measurement cannot make a huge chunk), at most the
    /// cap; 1 until a task has been observed.
    pub(crate) fn next_size(&mut self) -> usize {
        if self.auto && self.tasks > 0 {
            let mean = self.seconds / self.tasks as f64;
            let ideal = if mean > 0.0 {
                (AUTO_TARGET / mean).round() as usize
            } else {
                usize::MAX
            };
            self.size = ideal.min(self.size * 2).min(self.cap).max(1);
        }
        self.size
    }

    /// Takes note of one finished task that ran for `seconds` (only `auto` uses it).
    /// Called for every task, so it only adds: the sizing is done once per chunk.
    #[inline]
    pub(crate) fn observe(&mut self, seconds: f64) {
        self.tasks += 1;
        self.seconds += seconds;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunksizes_parse_within_their_limits() {
        assert_eq!("auto".parse(), Ok(Chunksize::Auto));
        assert_eq!("1".parse(), Ok(Chunksize::ONE));
        assert_eq!(
            "100000".parse::<Chunksize>().map(|c| c.to_string()),
            Ok("100000".into())
        );
        for bad in ["0", "100001", "-1", "1.5", "", "Auto"] {
            assert!(bad.parse::<Chunksize>().is_err(), "{bad:?} was accepted");
        }
    }

    /// Long tasks keep chunks of one: load balance is what matters for them.
    #[test]
    fn auto_keeps_chunks_of_one_for_long_tasks() {
        let mut sizer = Sizer::new(Chunksize::Auto, 1_000, 2);
        for _ in 0..50 {
            let size = sizer.next_size();
            assert_eq!(size, 1);
            sizer.observe(0.002);
        }
    }

    /// Tiny tasks: the size doubles from chunk to chunk, from 1 up to a chunk of
    /// about the target time, and never past the cap of several chunks per worker.
    #[test]
    fn auto_grows_chunks_of_tiny_tasks_to_the_target_or_the_cap() {
        let mut sizer = Sizer::new(Chunksize::Auto, 1_000_000, 2);
        let mut sizes = Vec::new();
        for _ in 0..20 {
            let size = sizer.next_size();
            sizes.push(size);
            (0..size).for_each(|_| sizer.observe(1e-6));
        }
        assert_eq!(&sizes[..5], [1, 2, 4, 8, 16]);
        assert_eq!(*sizes.last().unwrap(), 1000, "1 ms of 1 µs tasks");

        let mut capped = Sizer::new(Chunksize::Auto, 800, 2);
        for _ in 0..20 {
            let size = capped.next_size();
            (0..size).for_each(|_| capped.observe(1e-6));
        }
        assert_eq!(
            capped.next_size(),
            100,
            "800 inputs / (2 workers × 4 chunks)"
        );
    }

    #[test]
    fn a_fixed_size_ignores_task_times() {
        let mut sizer = Sizer::new("7".parse().unwrap(), 100, 2);
        sizer.observe(1.0);
        sizer.observe(1e-9);
        assert_eq!(sizer.next_size(), 7);
    }
}
