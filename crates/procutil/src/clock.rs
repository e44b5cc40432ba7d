//! Wall-clock time as Unix seconds in an `f64`: the timestamps of every record.
//!
//! Wall-clock rather than [`Instant`](std::time::Instant), because records from
//! several threads *and processes* must go on one timeline: an `Instant` means
//! something only inside the process that took it. An `f64` keeps sub-microsecond
//! resolution for present-day dates (about 0.24 µs), and matches the `time.time()`
//! values of the article's Python.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current wall-clock time, in seconds since the Unix epoch.
///
/// A clock set before 1970 reads as 0.0 rather than failing.
///
/// ```
/// let now = procutil::unix_now();
/// assert!(now > 1.0e9, "a Unix time: {now}");
/// ```
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |elapsed| elapsed.as_secs_f64())
}
