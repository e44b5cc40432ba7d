//! When each actor acts, and the two loops: main's writer and the readers.
//!
//! The pattern is the article's. With `N` iterations and interval `T`:
//! - main increments X, prints it, then sleeps: its increments land at 0, T, …, (N−1)·T;
//! - a reader sleeps, then prints what it reads: its lines land at T, 2T, …, N·T.
//!
//! So a reader's **last** read (at N·T) comes a whole interval after main's last
//! increment (at (N−1)·T). That slack is what lets a test check that a process
//! sharing X on purpose ends up seeing the final value, on a busy machine, without
//! any extra synchronisation. (The other reads are due at the same instants as
//! increments, so whether a reader sees `k` or `k + 1` there is a coin toss, exactly
//! as in the article's sample output.)
//!
//! Every actor sleeps *until* `start + k·T` rather than *for* `T`, so lateness does
//! not pile up over the iterations and the one-interval slack stays one interval.
//! A forked child inherits the same `start`: [`Instant`] reads `CLOCK_MONOTONIC`,
//! which is one clock for the whole machine, so the value means the same thing in
//! both processes. A spawned reader starts its own schedule when it starts, a little
//! later than main's, which only adds to the slack.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use procutil::stdout::write_line;

use crate::error::DemoError;
use crate::line::{Actor, Line};

/// The most iterations accepted: more lines than anyone will read.
pub const MAX_ITERATIONS: u32 = 1000;

/// The longest interval accepted, in milliseconds (one minute).
pub const MAX_INTERVAL_MS: u64 = 60_000;

/// How many times each actor acts, how far apart, and from when.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// How many increments main makes, and how many lines each reader prints.
    iterations: u32,
    /// The time between two steps of the same actor.
    interval: Duration,
    /// The instant the schedule counts from.
    start: Instant,
}

impl Schedule {
    /// Checks the user's numbers and starts the clock now.
    ///
    /// ```
    /// use isolation_demo::schedule::Schedule;
    ///
    /// assert!(Schedule::new(3, 1000).is_ok());
    /// assert!(Schedule::new(0, 1000).is_err());
    /// assert!(Schedule::new(3, 0).is_err());
    /// ```
    pub fn new(iterations: u32, interval_ms: u64) -> Result<Schedule, DemoError> {
        match iterations {
            0 => return Err(DemoError::NoIterations),
            1..=MAX_ITERATIONS => {}
            _ => {
                return Err(DemoError::TooManyIterations {
                    given: iterations,
                    max: MAX_ITERATIONS,
                });
            }
        }
        match interval_ms {
            0 => return Err(DemoError::ZeroInterval),
            1..=MAX_INTERVAL_MS => {}
            _ => {
                return Err(DemoError::IntervalTooLong {
                    given: interval_ms,
                    max: MAX_INTERVAL_MS,
                });
            }
        }
        Ok(Schedule {
            iterations,
            interval: Duration::from_millis(interval_ms),
            start: Instant::now(),
        })
    }

    /// How many increments main makes, and how many lines each reader prints.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// The time between two steps of the same actor.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Sleeps until `k` intervals after the start (at once if that is past).
    fn sleep_until_step(&self, k: u32) {
        let deadline = self.start + self.interval * k;
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

/// A reader: `iterations` times, sleeps an interval, then prints `{actor}-{pid}
/// thinks X is {x}`. Returns the values it read, in order.
///
/// The loop is the same for the thread and for the process; what differs is only
/// which memory `x` points into, and that is the whole lesson.
pub fn watch(actor: Actor, x: &AtomicU64, schedule: &Schedule) -> Result<Vec<u64>, DemoError> {
    let mut seen = Vec::with_capacity(schedule.iterations as usize);
    for k in 1..=schedule.iterations {
        schedule.sleep_until_step(k);
        // Relaxed is enough: X is the only data being passed, so there is nothing
        // else whose ordering relative to X matters, and every atomic access to one
        // location agrees on a single order of its values anyway.
        let value = x.load(Ordering::Relaxed);
        write_line(&Line::now(actor, value).to_string())?;
        seen.push(value);
    }
    Ok(seen)
}

/// Main's loop: `iterations` times, increments X, prints `Main-{pid} sets X to {x}`,
/// then sleeps an interval. Returns the last value set.
pub fn increment(x: &AtomicU64, schedule: &Schedule) -> Result<u64, DemoError> {
    let mut value = x.load(Ordering::Relaxed);
    for k in 1..=schedule.iterations {
        // `fetch_add` rather than load-then-store: nobody else writes X here, but
        // read-modify-write in one step is the habit that stays correct when someone
        // does.
        value = x.fetch_add(1, Ordering::Relaxed) + 1;
        write_line(&Line::now(Actor::Main, value).to_string())?;
        // Sleeping after the last increment too keeps main alive until the readers'
        // last lines are due, as in the article.
        schedule.sleep_until_step(k);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both limits are inclusive, and one past either end is refused.
    #[test]
    fn limits_are_inclusive() {
        assert!(Schedule::new(1, 1).is_ok());
        assert!(Schedule::new(MAX_ITERATIONS, MAX_INTERVAL_MS).is_ok());
        assert!(matches!(
            Schedule::new(MAX_ITERATIONS + 1, 1),
            Err(DemoError::TooManyIterations { .. })
        ));
        assert!(matches!(
            Schedule::new(1, MAX_INTERVAL_MS + 1),
            Err(DemoError::IntervalTooLong { .. })
        ));
    }
}
