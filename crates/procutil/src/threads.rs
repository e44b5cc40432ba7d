//! How many threads this process runs: the question to ask before every `fork`.
//!
//! A child of `fork` gets only the thread that called it, and every lock in the state
//! it had at that instant. A lock held by another thread (the allocator's, stdout's)
//! stays locked in the child forever. So each crate here that forks checks first
//! that it is the only thread, and refuses otherwise.

use std::io;
use std::time::{Duration, Instant};

/// How many threads this process runs, from `/proc/self/task`.
///
/// A thread that has just been joined can linger in that list for a moment while
/// the kernel finishes tearing it down, so a count above one is re-read for up to
/// 100 ms before it is believed. A count of one is returned at once.
///
/// ```
/// assert_eq!(procutil::thread_count().unwrap(), 1); // a doctest runs on one thread
/// ```
pub fn thread_count() -> io::Result<usize> {
    let count = || Ok::<_, io::Error>(std::fs::read_dir("/proc/self/task")?.count());
    let deadline = Instant::now() + Duration::from_millis(100);
    loop {
        let n = count()?;
        if n == 1 || Instant::now() >= deadline {
            return Ok(n);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    /// A second thread that is still running is counted.
    #[test]
    fn counts_a_live_thread() {
        let (started, done) = (Barrier::new(2), Barrier::new(2));
        std::thread::scope(|s| {
            s.spawn(|| {
                started.wait();
                done.wait();
            });
            started.wait();
            let n = thread_count().unwrap();
            done.wait();
            assert!(n >= 2, "{n}");
        });
    }
}
