//! What the pool tests share: a task wrapper that times its task on the monotonic
//! clock.
//!
//! The pools record when a task ran in Unix seconds (`SystemTime`), which is what the
//! CSV files need. That clock can be stepped (by NTP, or by hand) while a test runs,
//! and a step between two readings could make two tasks that overlapped look as if
//! they did not, or the reverse. `CLOCK_MONOTONIC` is never stepped, and on Linux it
//! is one clock for every process, so readings taken in different worker processes
//! compare too. Overlap checks use these readings.

use pools::{Context, Task};
use serde::{Deserialize, Serialize};

/// Nanoseconds on `CLOCK_MONOTONIC`.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `clock_gettime` only writes into the `timespec` it is given.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) } == 0;
    assert!(ok, "CLOCK_MONOTONIC is always there on Linux");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Runs task `T` and returns its output with when it started and ended, in
/// [`monotonic_ns`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Mono<T>(pub T);

/// A task's output, and when it ran on the monotonic clock.
#[derive(Debug, Serialize, Deserialize)]
pub struct Timed<O> {
    pub output: O,
    pub start_ns: u64,
    pub end_ns: u64,
}

impl<T: Task> Task for Mono<T> {
    type Input = T::Input;
    type Output = Timed<T::Output>;
    const NAME: &'static str = "mono";

    fn run(
        &self,
        input: &T::Input,
        cx: &mut impl Context,
    ) -> Result<Self::Output, pools::TaskFailure> {
        let start_ns = monotonic_ns();
        let output = self.0.run(input, cx)?;
        let end_ns = monotonic_ns();
        Ok(Timed {
            output,
            start_ns,
            end_ns,
        })
    }

    /// The same, around the task's future, for the async pool.
    async fn run_async(&self, input: &T::Input) -> Result<Self::Output, pools::TaskFailure> {
        let start_ns = monotonic_ns();
        let output = self.0.run_async(input).await?;
        let end_ns = monotonic_ns();
        Ok(Timed {
            output,
            start_ns,
            end_ns,
        })
    }
}

/// Whether any two of the `(start, end)` intervals overlap.
pub fn any_overlap<T: PartialOrd + Copy>(mut intervals: Vec<(T, T)>) -> bool {
    intervals.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    intervals.windows(2).any(|w| w[1].0 < w[0].1)
}
