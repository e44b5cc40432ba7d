//! The thread pools' promises: real threads overlap, GIL threads take turns, and
//! waits overlap even under the GIL. Every check is on recorded intervals and ids,
//! never on how long something took.

use std::time::Duration;

use pools::{Executor, Fibonacci, GilThreadPool, HttpFetch, TaskRecord, ThreadPool};

/// Sorted `(start, end)` pairs overlap if any one starts before the previous ends.
fn any_overlap(mut intervals: Vec<(f64, f64)>) -> bool {
    intervals.sort_by(|a, b| a.0.total_cmp(&b.0));
    intervals.windows(2).any(|w| w[1].0 < w[0].1)
}

fn intervals<O>(records: &[TaskRecord<O>]) -> Vec<(f64, f64)> {
    records.iter().map(|r| (r.start, r.end)).collect()
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
    // Tasks long enough (tens of milliseconds even in an optimised build) that every
    // worker has started long before the first one could finish all four.
    let mut pool = ThreadPool::new(4).unwrap();
    let records = unwrap_all(pool.map(&Fibonacci, &[32, 32, 32, 32]));
    assert!(any_overlap(intervals(&records)));
    for r in &records {
        assert_eq!(r.pid as u32, std::process::id());
        assert_eq!(r.output, 1_346_269);
    }
}

/// Under the GIL, tasks interleave (they overlap in wall-clock time), but no two
/// threads ever hold the lock at once, and the lock changed hands many times.
#[test]
fn gil_intervals_never_overlap() {
    let mut pool = GilThreadPool::new(4, Duration::from_millis(1)).unwrap();
    let records = unwrap_all(pool.map(&Fibonacci, &[32, 32, 32, 32]));
    assert!(records.iter().all(|r| r.output == 1_346_269));
    // All four ran concurrently: their task intervals overlap...
    assert!(any_overlap(intervals(&records)));
    // ...but their turns holding the lock do not.
    let held: Vec<(f64, f64)> = pool
        .held_intervals()
        .iter()
        .map(|h| (h.acquired_at, h.released_at))
        .collect();
    assert!(held.len() >= 4, "every worker held the lock: {held:?}");
    assert!(!any_overlap(held), "two threads held the GIL at once");
    assert!(
        pool.switches() >= 4,
        "the GIL changed hands: {}",
        pool.switches()
    );
}

/// Every held interval belongs to one of the pool's workers, and each worker's
/// own intervals come one after the other.
#[test]
fn gil_intervals_belong_to_workers() {
    let mut pool = GilThreadPool::new(3, Duration::from_millis(1)).unwrap();
    let records = unwrap_all(pool.map(&Fibonacci, &[28, 28, 28]));
    let tids: Vec<i32> = records.iter().map(|r| r.tid).collect();
    for h in pool.held_intervals() {
        assert!(h.worker < 3);
        assert!(h.released_at >= h.acquired_at);
        assert!(tids.contains(&h.tid) || records.iter().all(|r| r.worker != h.worker));
    }
}

/// A blocking wait releases the GIL, so HTTP waits under the GIL pool overlap.
#[test]
fn gil_threads_overlap_their_waits() {
    let server = http_wait::DelayServer::start().expect("server starts");
    let task = HttpFetch::new(server.url_template());
    let mut pool = GilThreadPool::new(4, pools::DEFAULT_SWITCH_INTERVAL).unwrap();
    // One second each: all four threads must start their waits before the first
    // ends, which takes them milliseconds; the rest is margin for a loaded machine.
    let records = unwrap_all(pool.map(&task, &[1_000, 1_000, 1_000, 1_000]));
    assert!(records.iter().all(|r| r.output == "200 OK"));
    // Each wait began before any other ended: all four overlap pairwise.
    let latest_start = records.iter().map(|r| r.start).fold(f64::MIN, f64::max);
    let earliest_end = records.iter().map(|r| r.end).fold(f64::MAX, f64::min);
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

        fn run(&self, panic: &bool, cx: &mut impl pools::Context) -> Result<u64, String> {
            cx.allow_threads(|| {
                std::thread::sleep(Duration::from_millis(20));
                assert!(!*panic, "told to panic while waiting");
            });
            fib::fibonacci_with(27, &mut || cx.checkpoint()).map_err(|e| e.to_string())
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
    let held: Vec<(f64, f64)> = pool
        .held_intervals()
        .iter()
        .map(|h| (h.acquired_at, h.released_at))
        .collect();
    assert!(!any_overlap(held), "two threads held the GIL at once");
}
