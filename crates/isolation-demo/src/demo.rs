//! The whole experiment: choose where X lives, start the process, then the thread,
//! run main's loop, reap everybody, and say what happened.
//!
//! The order of the steps is the point of this file (after step 0, which refuses
//! the one start method the demo has no use for):
//! 1. **Shared memory first** (with `--shared`): a mapping only reaches a child that
//!    exists after it, through `fork`, or through a descriptor passed across `exec`.
//! 2. **The process next**, while this one is still single-threaded, because the
//!    child of a `fork` gets only the forking thread and must not inherit locks held
//!    by others. (`spawn` does not need this, but one order for both keeps it simple.)
//! 3. **The thread last**, then main's loop.
//! 4. **Reap the child** even if main's loop failed, so no zombie is left.

use std::os::fd::AsFd;
use std::sync::atomic::AtomicU64;

use crate::X;
use crate::error::DemoError;
use crate::launch::{fork_reader, spawn_reader};
use crate::line::Actor;
use crate::schedule::{Schedule, increment, watch};
use crate::shared::SharedCounter;
use procutil::StartMethod;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// How many steps, how far apart.
    pub schedule: Schedule,
    /// How the reader process starts.
    pub start_method: StartMethod,
    /// Put X in a shared mapping, so the reader process sees main's updates.
    pub shared: bool,
}

/// What happened, as far as main can know it.
///
/// Main knows what the thread read (the thread hands its values back when joined),
/// but not what the process read: nothing flows back from it except its exit status.
/// That is the isolation this crate is about; its lines on stdout are the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Main's (and the thread's) process id.
    pub main_pid: u32,
    /// The reader process's id.
    pub process_pid: u32,
    /// How the reader process was started.
    pub start_method: StartMethod,
    /// Whether X was in shared memory.
    pub shared: bool,
    /// The value of X that main set last.
    pub final_x: u64,
    /// The values of X that the thread read, in order.
    pub thread_saw: Vec<u64>,
}

/// Runs the experiment; the three kinds of line go to stdout as it runs.
pub fn run(options: Options) -> Result<Outcome, DemoError> {
    let Options {
        schedule,
        start_method,
        shared,
    } = options;

    // 0. The reader starts by fork or by spawn. A forkserver's child would be a
    //    fork of a fresh program, so it would show nothing that spawn does not.
    if start_method == StartMethod::Forkserver {
        return Err(DemoError::StartMethod(start_method));
    }

    // 1. Where X lives. Without `--shared` it is the static `X`: private to each
    //    process. With it, a mapping made now, before the child exists.
    let (counter, memfd) = match (shared, start_method) {
        (false, _) => (None, None),
        (true, StartMethod::Fork) => (Some(SharedCounter::anonymous()?), None),
        (true, StartMethod::Spawn) => {
            let (counter, fd) = SharedCounter::memfd()?;
            (Some(counter), Some(fd))
        }
        (true, StartMethod::Forkserver) => unreachable!("refused in step 0"),
    };
    let x: &AtomicU64 = counter.as_deref().unwrap_or(&X);

    // 2. The process, while this is the only thread.
    let process = match start_method {
        StartMethod::Fork => fork_reader(x, &schedule)?,
        StartMethod::Spawn => spawn_reader(&schedule, memfd.as_ref().map(|fd| fd.as_fd()))?,
        StartMethod::Forkserver => unreachable!("refused in step 0"),
    };
    // The child has its own copy of the descriptor now (and its own mapping soon);
    // ours is no longer needed. Our mapping stays until `counter` drops.
    drop(memfd);

    // 3. The thread, and main's own loop. A scoped thread may borrow `x`, which may
    //    point into `counter`, a local: the scope ends before `counter` is dropped.
    let (main_result, thread_result) = std::thread::scope(|s| {
        let thread = s.spawn(|| watch(Actor::Thread, x, &schedule));
        let main_result = increment(x, &schedule);
        let thread_result = thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (main_result, thread_result)
    });

    // 4. Reap the child before reporting any error from step 3.
    let process_pid = process.pid();
    let waited = process.wait();
    let final_x = main_result?;
    let thread_saw = thread_result?;
    waited?;

    Ok(Outcome {
        main_pid: std::process::id(),
        process_pid,
        start_method,
        shared,
        final_x,
        thread_saw,
    })
}

impl Outcome {
    /// Two closing lines that say what the run showed and where to go next.
    ///
    /// Neither starts with `Main-`, `Thread-` or `Process-`, so they never parse as
    /// one of the three line formats.
    ///
    /// # Panics
    /// On an outcome whose start method is `forkserver`, which [`run`] never makes.
    pub fn summary(&self) -> [String; 2] {
        let Outcome {
            main_pid,
            process_pid,
            start_method,
            shared,
            final_x,
            ref thread_saw,
        } = *self;
        let thread_last = thread_saw.last().copied().unwrap_or(0);
        let thread = format!(
            "the thread shared main's pid ({main_pid}) and memory, so it saw X change \
             (last read: {thread_last})"
        );
        if shared {
            let how = match start_method {
                StartMethod::Fork => "an anonymous MAP_SHARED mapping inherited through fork",
                StartMethod::Spawn => "a memfd whose descriptor the re-executed program inherited",
                StartMethod::Forkserver => unreachable!("`run` refuses forkserver"),
            };
            [
                format!(
                    "Summary: {thread}; the process (pid {process_pid}) saw the changes too, \
                     up to {final_x}, because X lived in {how}."
                ),
                "Next: this shared cell is what Python calls a Value; Queues, Pipes, Locks \
                 and Barriers are the other ways to share between processes on purpose."
                    .to_owned(),
            ]
        } else {
            let own = match start_method {
                StartMethod::Fork => "got its own copy of X at the fork",
                StartMethod::Spawn => "is a fresh run of this program with its own X",
                StartMethod::Forkserver => unreachable!("`run` refuses forkserver"),
            };
            [
                format!(
                    "Summary: {thread}; the process (pid {process_pid}) {own}, which nobody \
                     changed, so it saw only 0."
                ),
                "Next: run with --shared to put X in memory that both processes map on \
                 purpose."
                    .to_owned(),
            ]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::line::Line;

    /// The summary lines are never mistaken for one of the three line formats.
    #[test]
    fn summary_does_not_parse_as_a_line() {
        for shared in [false, true] {
            for start_method in [StartMethod::Fork, StartMethod::Spawn] {
                let outcome = Outcome {
                    main_pid: 10,
                    process_pid: 11,
                    start_method,
                    shared,
                    final_x: 3,
                    thread_saw: vec![1, 2, 3],
                };
                let [summary, next] = outcome.summary();
                assert!(summary.starts_with("Summary: "), "{summary}");
                assert!(summary.contains("pid (10)"), "{summary}");
                assert!(summary.contains("(pid 11)"), "{summary}");
                assert!(next.starts_with("Next: "), "{next}");
                assert_eq!(Line::parse(&summary), None);
                assert_eq!(Line::parse(&next), None);
            }
        }
    }
}
