//! The thread pools' promises: real threads overlap, GIL threads take turns, and
//! waits overlap even under the GIL. Every check is on recorded intervals and ids,
//! never on how long something took; intervals are compared on the monotonic clock
//! (see `common`), so a wall-clock step cannot flip a check.

mod common;

use std::time::{Duration, Instant};

use common::{Mono, Timed, any_overlap};
use pools::{Executor, Fibonacci, GilThreadPool, HttpFetch, TaskRecord, ThreadPool};

/// Each task's `(start, end)` on the monotonic clock.
fn intervals<O>(records: &[TaskRecord<Timed<O>>]) -> Vec<(u64, u64)> {
    records
        .iter()
        .map(|r| (r.output.start_ns, r.output.end_ns))
        .collect()
}

/// The GIL's held intervals on the monotonic clock.
fn held(pool: &GilThreadPool) -> Vec<(Instant, Instant)> {
    pool.held_intervals()
        .iter()
        .map(|h| (h.acquired_instant, h.released_instant))
        .collect()
}

fn unwrap_all<O: std::fmt::Debug>(results: Vec<pools::TaskResult<O>>) -> Vec<TaskRecord<O>> {
    results
        .into_iter()
        .map(|r| r.expect("task succeeds"))
        .collect()
}

/// Real threads run CPU-bound tasks at the same time, in the parent's process.
#[test]
fn real_threads_overlap_and_share_the_pid() {
    // Four tasks of fibonacci(32), about 3 ms each in an optimised build (tens of ms
    // in a debug one), handed to four threads at once: all four are running before
    // the first could have finished, unless a thread waits milliseconds to start.
    let mut pool = ThreadPool::new(4).unwrap();
    let records = unwrap_all(pool.map(&Mono(Fibonacci), &[32, 32, 32, 32]));
    assert!(any_overlap(intervals(&records)));
    for r in &records {
        assert_eq!(r.pid as u32, std::process::id());
        assert_eq!(r.output.output, 1_346_269);
    }
}

/// Under the GIL, tasks interleave (they overlap in wall-clock time), but no two
/// threads ever hold the lock at once, and the lock changed hands many times.
#[test]
fn gil_intervals_never_overlap() {
    let mut pool = GilThreadPool::new(4, Duration::from_millis(1)).unwrap();
    let records = unwrap_all(pool.map(&Mono(Fibonacci), &[32, 32, 32, 32]));
    assert!(records.iter().all(|r| r.output.output == 1_346_269));
    // All four ran concurrently: their task intervals overlap...
    assert!(any_overlap(intervals(&records)));
    // ...but their turns holding the lock do not.
    let held = held(&pool);
    assert!(held.len() >= 4, "every worker held the lock: {held:?}");
    assert!(!any_overlap(held), "two threads held the GIL at once");
    assert!(
        pool.switches() >= 4,
        "the GIL changed hands: {}",
        pool.switches()
    );
}

/// Every held interval belongs to one of the pool's workers, on that worker's thread,
/// and each worker's own intervals come one after the other: each starts after the
/// worker's previous one ended.
#[test]
fn gil_intervals_belong_to_workers() {
    let mut pool = GilThreadPool::new(3, Duration::from_millis(1)).unwrap();
    let records = unwrap_all(pool.map(&Fibonacci, &[28, 28, 28]));
    let intervals = pool.held_intervals();
    for worker in 0..3 {
        let tids: Vec<i32> = records
            .iter()
            .filter(|r| r.worker == worker)
            .map(|r| r.tid)
            .collect();
        let mine: Vec<_> = intervals.iter().filter(|h| h.worker == worker).collect();
        // A worker holds the GIL before it claims a task, so one that ran a task
        // held it at least once, on the thread that ran the task.
        if let Some(&tid) = tids.first() {
            assert!(
                !mine.is_empty(),
                "worker {worker} ran a task without the GIL"
            );
            assert!(tids.iter().all(|&t| t == tid), "worker {worker}: {tids:?}");
        }
        for h in &mine {
            if let Some(&tid) = tids.first() {
                assert_eq!(h.tid, tid, "worker {worker} held the GIL on another thread");
            }
            assert!(h.released_instant >= h.acquired_instant, "{h:?}");
        }
        for pair in mine.windows(2) {
            assert!(
                pair[0].released_instant <= pair[1].acquired_instant,
                "worker {worker} took the GIL again before releasing it: {pair:?}"
            );
        }
    }
    assert!(intervals.iter().all(|h| h.worker < 3), "{intervals:?}");
}

/// Forced switching (step 3 in `gil.rs`), seen in a real pool: a worker asked to let
/// go of the GIL waits until another worker has taken it. So whenever a worker was
/// made to let go, the next holder is a different worker, never itself.
///
/// Without that wait the claim is no longer guaranteed, but the scheduler often
/// keeps it anyway: the woken waiter tends to win the race for the lock. This check
/// then fails in only some runs (3 to 6 in 10, on a loaded 2-core machine). The
/// check that fails every time is `a_forced_drop_waits_until_another_worker_has_the_gil`
/// in `gil.rs`.
///
/// Each task spins for 200 ms calling `checkpoint`, the GIL's only switching point,
/// so every holder is asked to let go many times, in a debug or an optimised build
/// alike.
#[test]
fn after_a_forced_drop_another_worker_holds_the_gil() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Spin;

    impl pools::Task for Spin {
        type Input = u64;
        type Output = u64;
        const NAME: &'static str = "spin";

        fn run(&self, ms: &u64, cx: &mut impl pools::Context) -> Result<u64, pools::TaskFailure> {
            let end = Instant::now() + Duration::from_millis(*ms);
            let mut checkpoints = 0;
            while Instant::now() < end {
                cx.checkpoint();
                checkpoints += 1;
            }
            Ok(checkpoints)
        }
    }

    let mut pool = GilThreadPool::new(3, Duration::from_millis(1)).unwrap();
    unwrap_all(pool.map(&Spin, &[200, 200, 200]));
    // In the order the GIL was taken. Every interval of a worker but its last ended in
    // a forced drop: `Spin` never releases the GIL of its own accord.
    let intervals = pool.held_intervals();
    let last_of = |worker: usize| intervals.iter().rposition(|h| h.worker == worker);
    let mut forced = 0;
    for (i, pair) in intervals.windows(2).enumerate() {
        if last_of(pair[0].worker) == Some(i) {
            continue; // released for good: whoever comes next is free to
        }
        forced += 1;
        assert_ne!(
            pair[0].worker,
            pair[1].worker,
            "worker {} took the GIL straight back after a forced drop (interval {i} of {})",
            pair[0].worker,
            intervals.len()
        );
    }
    assert!(
        forced >= 3,
        "only {forced} forced drops in 600 ms of spinning: {intervals:?}"
    );
}

/// A blocking wait releases the GIL, so HTTP waits under the GIL pool overlap.
#[test]
fn gil_threads_overlap_their_waits() {
    let server = http_wait::DelayServer::start().expect("server starts");
    let task = HttpFetch::new(server.url_template());
    let mut pool = GilThreadPool::new(4, pools::DEFAULT_SWITCH_INTERVAL).unwrap();
    // One second each: all four threads must start their waits before the first
    // ends, which takes them milliseconds; the rest is margin for a loaded machine.
    let records = unwrap_all(pool.map(&Mono(task), &[1_000, 1_000, 1_000, 1_000]));
    assert!(records.iter().all(|r| r.output.output == "200 OK"));
    // Each wait began before any other ended: all four overlap pairwise.
    let latest_start = intervals(&records).iter().map(|s| s.0).max().unwrap();
    let earliest_end = intervals(&records).iter().map(|s| s.1).min().unwrap();
    assert!(
        latest_start < earliest_end,
        "the waits ran one after another"
    );
}

/// Failures are per task: an error comes back with its message, the rest succeed.
#[test]
fn a_failing_task_fails_alone() {
    let mut pool = ThreadPool::new(2).unwrap();
    let results = pool.map(&Fibonacci, &[10, 0, 12]);
    assert_eq!(results[0].as_ref().unwrap().output, 34);
    let err = results[1].as_ref().unwrap_err().to_string();
    assert!(err.contains("incorrect input"), "{err}");
    assert_eq!(results[2].as_ref().unwrap().output, 89);
}

/// Results come back in input order, whatever order the workers finish in.
#[test]
fn results_are_in_input_order() {
    let inputs: Vec<u32> = (1..=30).rev().collect();
    for mut_pool in [true, false] {
        let results = if mut_pool {
            ThreadPool::new(3).unwrap().map(&Fibonacci, &inputs)
        } else {
            GilThreadPool::new(3, Duration::from_millis(1))
                .unwrap()
                .map(&Fibonacci, &inputs)
        };
        let records = unwrap_all(results);
        for (i, r) in records.iter().enumerate() {
            assert_eq!(r.index, i);
            assert_eq!(r.output, fib::fibonacci(inputs[i]).unwrap());
        }
    }
}

/// A pool without workers is refused.
#[test]
fn zero_workers_is_an_error() {
    assert!(ThreadPool::new(0).is_err());
    assert!(GilThreadPool::new(0, Duration::from_millis(5)).is_err());
}

/// A task that panics while the GIL is released (inside `allow_threads`) fails alone:
/// its thread takes the lock back, the other tasks finish, and the lock was never
/// held by two threads at once.
#[test]
fn a_panic_with_the_gil_released_is_contained() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct PanicWhileWaiting;

    impl pools::Task for PanicWhileWaiting {
        type Input = bool;
        type Output = u64;
        const NAME: &'static str = "panic_while_waiting";

        fn run(
            &self,
            panic: &bool,
            cx: &mut impl pools::Context,
        ) -> Result<u64, pools::TaskFailure> {
            cx.allow_threads(|| {
                std::thread::sleep(Duration::from_millis(20));
                assert!(!*panic, "told to panic while waiting");
            });
            Ok(fib::fibonacci_with(27, &mut || cx.checkpoint())?)
        }
    }

    let mut pool = GilThreadPool::new(2, Duration::from_millis(1)).unwrap();
    let results = pool.map(&PanicWhileWaiting, &[true, false, false, true, false]);
    for (i, result) in results.iter().enumerate() {
        match i {
            0 | 3 => assert!(
                result
                    .as_ref()
                    .unwrap_err()
                    .to_string()
                    .contains("told to panic")
            ),
            _ => assert_eq!(result.as_ref().unwrap().output, 121_393),
        }
    }
    assert!(
        !any_overlap(held(&pool)),
        "two threads held the GIL at once"
    );
}
