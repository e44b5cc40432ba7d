//! The process pool's promises, checked on real worker processes.
//!
//! This file has its own `main` (`harness = false` in Cargo.toml) for two reasons:
//! - `fork` is only safe in a single-threaded process, and libtest runs tests on a
//!   pool of threads. Here everything runs on the main thread, one check at a time.
//! - `spawn` workers re-run this very program, so `main` must start with
//!   `serve_if_worker`, and the forkserver must start before anything else.

mod common;

use std::time::{Duration, Instant};

use common::{Mono, any_overlap};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use pools::{
    Chunksize, Context, Executor, Fibonacci, ProcessPool, Registered, StartMethod, Task, TaskError,
};
use serde::{Deserialize, Serialize};

/// A task that misbehaves on purpose, depending on its input.
#[derive(Debug, Serialize, Deserialize)]
struct Misbehave;

#[derive(Debug, Serialize, Deserialize)]
enum Act {
    /// Return the pid of the worker.
    Pid,
    /// Return an error.
    Fail,
    /// Panic.
    Panic,
    /// Sleep this many milliseconds, then return the pid.
    Sleep(u64),
    /// SIGKILL the worker's own process.
    KillSelf,
    /// Write a frame that does not decode into the worker's result pipe, then sleep
    /// for an hour: a live worker that sends nonsense.
    CorruptFrame,
}

impl Task for Misbehave {
    type Input = Act;
    type Output = u32;
    const NAME: &'static str = "misbehave";

    fn run(&self, act: &Act, _cx: &mut impl Context) -> Result<u32, pools::TaskFailure> {
        match act {
            Act::Pid => Ok(std::process::id()),
            Act::Fail => Err("told to fail".into()),
            Act::Panic => panic!("told to panic"),
            Act::Sleep(ms) => {
                std::thread::sleep(Duration::from_millis(*ms));
                Ok(std::process::id())
            }
            Act::KillSelf => {
                let _ = kill(Pid::this(), Signal::SIGKILL);
                Ok(0)
            }
            Act::CorruptFrame => {
                // A whole frame (4-byte length, then the body), so the pool can read
                // it at once; the body is a truncated number, not a result.
                let frame = [3, 0, 0, 0, 0xff, 0xff, 0xff];
                // Safety: every worker holds its result pipe at descriptor 4, open for
                // its whole life.
                let results = unsafe { std::os::fd::BorrowedFd::borrow_raw(4) };
                nix::unistd::write(results, &frame).map_err(|e| e.to_string())?;
                std::thread::sleep(Duration::from_secs(3_600));
                Ok(0)
            }
        }
    }
}

fn registry() -> [Registered; 3] {
    [
        Registered::task::<Fibonacci>(),
        Registered::task::<Misbehave>(),
        Registered::task::<Mono<Fibonacci>>(),
    ]
}

fn main() {
    pools::serve_if_worker(&registry());
    pools::forkserver::start(&registry()).expect("the forkserver starts");
    let checks: [(&str, fn()); 17] = [
        (
            "fibonacci tasks overlap across processes",
            fibonacci_tasks_overlap,
        ),
        (
            "results are right under every start method",
            results_are_right_under_every_start_method,
        ),
        (
            "workers are separate processes",
            workers_are_separate_processes,
        ),
        ("a failing task fails alone", a_failing_task_fails_alone),
        (
            "a killed worker breaks the pool and is reaped",
            a_killed_worker_breaks_the_pool,
        ),
        (
            "a worker that kills itself is named",
            a_worker_that_kills_itself_is_named,
        ),
        (
            "a corrupt frame is reported as one, at once",
            a_corrupt_frame_is_reported_as_one,
        ),
        (
            "an idle worker killed between maps is noticed",
            an_idle_worker_killed_between_maps,
        ),
        (
            "dropping a pool reaps its workers",
            dropping_a_pool_reaps_its_workers,
        ),
        (
            "long tasks go to whichever worker is idle",
            long_tasks_are_balanced,
        ),
        (
            "the forkserver keeps no zombies",
            the_forkserver_keeps_no_zombies,
        ),
        (
            "a stopped worker times out, and is killed and reaped",
            a_stopped_worker_times_out,
        ),
        (
            "a long task times out, and its worker is killed and reaped",
            a_long_task_times_out,
        ),
        (
            "a batch of short results is not taken for one long task",
            batched_results_do_not_time_out,
        ),
        (
            "chunks keep input order and are sent whole",
            chunks_keep_input_order_and_are_sent_whole,
        ),
        (
            "a failing task inside a chunk fails alone",
            a_failing_task_inside_a_chunk_fails_alone,
        ),
        (
            "a worker killed mid-chunk breaks the pool",
            a_worker_killed_mid_chunk_breaks_the_pool,
        ),
    ];
    for (name, check) in checks {
        check();
        println!("ok: {name}");
    }
    println!("all {} process-pool checks passed", checks.len());
}

/// Each start method computes the right values, in input order.
fn results_are_right_under_every_start_method() {
    let inputs: Vec<u32> = (1..=25).rev().collect();
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(3, method).expect("pool starts");
        let values: Vec<u64> = pool
            .map(&Fibonacci, &inputs)
            .into_iter()
            .map(|r| r.expect("task succeeds").output)
            .collect();
        let expected: Vec<u64> = inputs.iter().map(|&n| fib::fibonacci(n).unwrap()).collect();
        assert_eq!(values, expected, "{method}");
    }
}

/// Fibonacci tasks on separate worker processes run at the same time: their intervals
/// overlap (on one core the kernel interleaves them; on two or more they run truly in
/// parallel). The intervals are read on the monotonic clock, which is one clock for
/// all processes on Linux and is never stepped (see `common`).
fn fibonacci_tasks_overlap() {
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(4, method).unwrap();
        let spans: Vec<(u64, u64)> = pool
            .map(&Mono(Fibonacci), &[32, 32, 32, 32])
            .into_iter()
            .map(|r| r.map(|t| (t.output.start_ns, t.output.end_ns)).unwrap())
            .collect();
        assert!(any_overlap(spans.clone()), "{method}: {spans:?}");
    }
}

/// Every row carries a worker pid that is not ours, and the pool's workers differ.
fn workers_are_separate_processes() {
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(4, method).unwrap();
        let pids = pool.pids();
        let records: Vec<_> = pool
            .map(
                &Misbehave,
                &[Act::Sleep(50), Act::Sleep(50), Act::Pid, Act::Pid],
            )
            .into_iter()
            .map(|r| r.unwrap())
            .collect();
        for record in &records {
            assert_ne!(record.pid as u32, std::process::id(), "{method}");
            assert_eq!(record.output, record.pid as u32, "the task saw its own pid");
            assert_eq!(pids[record.worker], record.pid, "{method}");
        }
        let mut distinct = pids.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 4, "{method}: {pids:?}");
    }
}

/// An error or a panic fails that task only; the others and later maps succeed.
fn a_failing_task_fails_alone() {
    let mut pool = ProcessPool::new(2, StartMethod::Fork).unwrap();
    let results = pool.map(&Misbehave, &[Act::Pid, Act::Fail, Act::Panic, Act::Pid]);
    assert!(results[0].is_ok());
    assert_eq!(results[1], Err(TaskError::Failed("told to fail".into())));
    match &results[2] {
        Err(TaskError::Failed(message)) => assert!(message.contains("told to panic"), "{message}"),
        other => panic!("expected a failed task, got {other:?}"),
    }
    assert!(results[3].is_ok());
    assert!(pool.map(&Misbehave, &[Act::Pid]).pop().unwrap().is_ok());
}

/// A worker killed mid-map (here worker 1, by its pid, from outside) fails the task it
/// held with an error naming exactly that worker, its pid and its signal; the tasks
/// that other workers finished keep their results; every worker is reaped.
///
/// The task on worker 1 sleeps for an hour, so it is still running when the others
/// are done, however slow the machine; a task timeout of a minute stands guard, so
/// that a pool which missed the death fails the check instead of hanging it.
fn a_killed_worker_breaks_the_pool() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOUR_MS: u64 = 3_600_000;
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(3, method).unwrap();
        pool.set_task_timeout(Some(Duration::from_secs(60)));
        let pids = pool.pids();
        let victim = pids[1];
        // Inputs go out in order, one per worker: worker 1 is given input 1, and no
        // other until it answers, which it never does.
        let inputs = [Act::Pid, Act::Sleep(HOUR_MS), Act::Pid, Act::Pid, Act::Pid];
        let done = AtomicUsize::new(0);
        let kill_once_the_others_are_done = || {
            if done.fetch_add(1, Ordering::SeqCst) + 1 == inputs.len() - 1 {
                kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
            }
        };
        let results = pool.map_observed(&Misbehave, &inputs, &kill_once_the_others_are_done);
        let Err(TaskError::BrokenPool(death)) = &results[1] else {
            panic!("{method}: expected a broken pool, got {:?}", results[1]);
        };
        assert_eq!(
            (death.worker, death.pid),
            (1, victim),
            "{method}: the error names the wrong worker (pids {pids:?})"
        );
        assert!(death.how.contains("SIGKILL"), "{method}: {}", death.how);
        for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != 1) {
            let record = result
                .as_ref()
                .unwrap_or_else(|e| panic!("{method}: task {i} lost its result: {e}"));
            assert_eq!(record.output, record.pid as u32, "{method}: task {i}");
            assert_ne!(record.worker, 1, "{method}: task {i} ran on the victim");
            assert_eq!(pids[record.worker], record.pid, "{method}: task {i}");
        }
        // Every worker, dead or idle, has been reaped: none is left as a zombie.
        for pid in &pids {
            assert!(
                !is_alive_or_zombie(*pid),
                "{method}: worker {pid} is still around"
            );
        }
        // A broken pool refuses further work, naming the same death.
        assert!(matches!(
            &pool.map(&Misbehave, &[Act::Pid])[0],
            Err(TaskError::BrokenPool(d)) if d.pid == victim
        ));
    }
}

/// A worker that kills itself (SIGKILL) mid-task is reported as itself: the one given
/// input 2 is worker 2, not worker 0.
fn a_worker_that_kills_itself_is_named() {
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(3, method).unwrap();
        pool.set_task_timeout(Some(Duration::from_secs(60)));
        let pids = pool.pids();
        let results = pool.map(&Misbehave, &[Act::Pid, Act::Pid, Act::KillSelf]);
        let Err(TaskError::BrokenPool(death)) = &results[2] else {
            panic!("{method}: expected a broken pool, got {:?}", results[2]);
        };
        assert_eq!(
            (death.worker, death.pid),
            (2, pids[2]),
            "{method}: {pids:?}"
        );
        assert!(death.how.contains("SIGKILL"), "{method}: {}", death.how);
    }
}

/// A live worker that writes a frame the pool cannot decode breaks the pool with an
/// error that names the corrupt frame and the worker's pid, not a signal: the pool
/// does not wait for an exit that would never come (the worker sleeps for an hour),
/// but kills and reaps the worker, and every other one, at once.
///
/// A task timeout of a minute stands guard, so that a pool which missed the frame
/// fails the check instead of hanging it; the check then fails on the message.
fn a_corrupt_frame_is_reported_as_one() {
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(2, method).unwrap();
        pool.set_task_timeout(Some(Duration::from_secs(60)));
        let pids = pool.pids();
        // Worker 1 is given input 1.
        let results = pool.map(&Misbehave, &[Act::Pid, Act::CorruptFrame]);
        let Err(TaskError::BrokenPool(death)) = &results[1] else {
            panic!("{method}: expected a broken pool, got {:?}", results[1]);
        };
        assert_eq!((death.worker, death.pid), (1, pids[1]), "{method}");
        let message = results[1].as_ref().unwrap_err().to_string();
        assert!(message.contains("corrupt frame"), "{method}: {message}");
        assert!(
            message.contains(&format!("(pid {})", pids[1])),
            "{method}: {message}"
        );
        assert!(!message.contains("signal"), "{method}: {message}");
        for pid in &pids {
            assert!(!is_alive_or_zombie(*pid), "{method}: worker {pid} survived");
        }
    }
}

/// A worker killed while idle breaks the next map instead of hanging it.
fn an_idle_worker_killed_between_maps() {
    let mut pool = ProcessPool::new(2, StartMethod::Fork).unwrap();
    let victim = pool.pids()[1];
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let results = pool.map(&Misbehave, &[Act::Pid, Act::Pid, Act::Pid]);
    // Worker 1 is given input 1 and cannot take it: that task fails, naming worker 1.
    assert!(
        matches!(&results[1], Err(TaskError::BrokenPool(d)) if (d.worker, d.pid) == (1, victim)),
        "{results:?}"
    );
    // Any other task either ran on worker 0 or failed with the same death.
    for result in &results {
        match result {
            Ok(record) => assert_eq!(record.worker, 0, "{results:?}"),
            Err(TaskError::BrokenPool(d)) => assert_eq!(d.pid, victim, "{results:?}"),
            Err(e) => panic!("{e}"),
        }
    }
    assert!(!is_alive_or_zombie(victim));
}

/// Dropping the pool stops and reaps every worker.
fn dropping_a_pool_reaps_its_workers() {
    for method in StartMethod::ALL {
        let pool = ProcessPool::new(3, method).unwrap();
        let pids = pool.pids();
        drop(pool);
        for pid in pids {
            assert!(
                !is_alive_or_zombie(pid),
                "{method}: worker {pid} survived the drop"
            );
        }
    }
}

/// With two workers and long tasks, no input waits behind a busy worker while the
/// other is idle: the short tasks all run on the worker that is free.
fn long_tasks_are_balanced() {
    let mut pool = ProcessPool::new(2, StartMethod::Fork).unwrap();
    let inputs = [
        Act::Sleep(1_500),
        Act::Sleep(20),
        Act::Sleep(20),
        Act::Sleep(20),
        Act::Sleep(20),
    ];
    let records: Vec<_> = pool
        .map(&Misbehave, &inputs)
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let long_worker = records[0].worker;
    for record in &records[1..] {
        assert_ne!(
            record.worker, long_worker,
            "a short task queued behind the long one"
        );
    }
}

/// Once a forkserver pool's workers have started, the forkserver has no zombie
/// children: the middle processes it forked are reaped as they exit, not at its next
/// request. (They were kept, one per worker, until the next pool asked.)
fn the_forkserver_keeps_no_zombies() {
    let server = pools::forkserver::pid().expect("the forkserver runs");
    let mut pool = ProcessPool::new(8, StartMethod::Forkserver).unwrap();
    assert!(pool.map(&Misbehave, &[Act::Pid]).pop().unwrap().is_ok());
    // The middles exit a moment after each answer: allow them ample time to go.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let zombies = zombie_children(server);
        if zombies.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the forkserver {server} still has zombie children {zombies:?} after 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(pool);
}

/// The children of `parent` that are zombies, found by scanning `/proc` (this kernel
/// may lack `/proc/PID/task/TID/children`).
fn zombie_children(parent: i32) -> Vec<i32> {
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue; // gone meanwhile
        };
        // After the parenthesised name: state, then ppid.
        let mut fields = stat.rsplit_once(") ").map_or("", |s| s.1).split(' ');
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse().ok()));
        if state == Some("Z") && ppid == Some(parent) {
            zombies.push(pid);
        }
    }
    zombies
}

/// A worker stopped with SIGSTOP (by its pid, from outside) never answers. With a
/// task timeout, the task it holds fails with an error naming it, the worker and its
/// pid; the pool is broken, and every worker is reaped, the stopped one included.
fn a_stopped_worker_times_out() {
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(2, method).unwrap();
        // Both workers answer once first, and the limit is seconds: a worker counts as
        // busy from the moment its input is sent, so one still starting up (a spawn
        // worker loads the program anew) could pass a limit of 300 ms under heavy
        // load, and be the one cut off (it was, once, at a load average above 100).
        // The stopped worker never answers, so the limit's size does not matter to it.
        assert!(
            pool.map(&Misbehave, &[Act::Pid, Act::Pid])
                .iter()
                .all(Result::is_ok)
        );
        pool.set_task_timeout(Some(Duration::from_secs(3)));
        let pids = pool.pids();
        kill(Pid::from_raw(pids[1]), Signal::SIGSTOP).unwrap();
        // Inputs go out in order, one per worker: worker 1 is given input 1.
        let results = pool.map(&Misbehave, &[Act::Pid, Act::Pid, Act::Pid, Act::Pid]);
        let Err(TaskError::TimedOut(timed_out)) = &results[1] else {
            panic!("{method}: expected a timeout, got {:?}", results[1]);
        };
        assert_eq!(
            (timed_out.index, timed_out.worker, timed_out.pid),
            (1, 1, pids[1]),
            "{method}"
        );
        let message = timed_out.to_string();
        assert!(message.contains(&format!("(pid {})", pids[1])), "{message}");
        for (i, result) in results.iter().enumerate().filter(|(i, _)| *i != 1) {
            assert!(
                matches!(result, Ok(_) | Err(TaskError::BrokenPool(_))),
                "{method}: task {i}: {result:?}"
            );
        }
        assert!(pool.broken().is_some(), "{method}");
        for pid in &pids {
            assert!(!is_alive_or_zombie(*pid), "{method}: worker {pid} survived");
        }
    }
}

/// A task that simply runs long is cut off too: the map returns long before the task
/// would have ended.
fn a_long_task_times_out() {
    let mut pool = ProcessPool::new(2, StartMethod::Fork).unwrap();
    // Seconds, not milliseconds, for the same reason as in `a_stopped_worker_times_out`.
    pool.set_task_timeout(Some(Duration::from_secs(3)));
    let pids = pool.pids();
    let started = Instant::now();
    let results = pool.map(&Misbehave, &[Act::Pid, Act::Sleep(60_000), Act::Pid]);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "it waited for the task"
    );
    let Err(TaskError::TimedOut(timed_out)) = &results[1] else {
        panic!("expected a timeout, got {:?}", results[1]);
    };
    assert_eq!(timed_out.pid, pids[timed_out.worker]);
    for pid in &pids {
        assert!(!is_alive_or_zombie(*pid), "worker {pid} survived");
    }
}

/// After tiny tasks a worker is given up to 16 inputs at once. When those turn out to
/// be long, each result still comes back as soon as it is ready, so a run of tasks
/// that are each well under the limit is not cut off, though together they are over.
fn batched_results_do_not_time_out() {
    let mut pool = ProcessPool::new(1, StartMethod::Fork).unwrap();
    pool.set_task_timeout(Some(Duration::from_secs(2)));
    // The tiny first task earns the worker a batch of 16: the 16 sleeps, in one
    // write, which would take 2.4 s to answer together.
    let mut inputs = vec![Act::Pid];
    inputs.extend((0..16).map(|_| Act::Sleep(150)));
    for (i, result) in pool.map(&Misbehave, &inputs).iter().enumerate() {
        assert!(result.is_ok(), "task {i}: {result:?}");
    }
}

/// Whether `pid` still exists, as a live process or as a zombie.
fn is_alive_or_zombie(pid: i32) -> bool {
    // Workers are our children, so nobody else can reap them: if /proc still lists
    // the pid, it is our worker (alive or a zombie), not a reused pid.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The chunksizes the chunk checks run with.
fn chunksizes() -> Vec<Chunksize> {
    let mut sizes: Vec<Chunksize> = ["1", "3", "7", "64"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    sizes.push(Chunksize::Auto);
    sizes
}

/// Under every start method and chunksize, every result comes back at its input's
/// index. With a fixed chunksize, a chunk goes to one worker whole: inputs 7k to
/// 7k+6 share a pid, and ran one after another.
fn chunks_keep_input_order_and_are_sent_whole() {
    let inputs: Vec<u32> = (0..300).map(|i| 1 + i * 7 % 20).collect();
    let expected: Vec<u64> = inputs.iter().map(|&n| fib::fibonacci(n).unwrap()).collect();
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(3, method).unwrap();
        for chunksize in chunksizes() {
            let records: Vec<_> = pool
                .map_chunked(&Fibonacci, &inputs, chunksize)
                .into_iter()
                .map(|r| r.unwrap_or_else(|e| panic!("{method} {chunksize}: {e}")))
                .collect();
            let indices: Vec<usize> = records.iter().map(|r| r.index).collect();
            assert_eq!(
                indices,
                (0..300).collect::<Vec<_>>(),
                "{method} {chunksize}"
            );
            let values: Vec<u64> = records.iter().map(|r| r.output).collect();
            assert_eq!(values, expected, "{method} {chunksize}");
            let Chunksize::Fixed(size) = chunksize else {
                continue;
            };
            for chunk in records.chunks(size.get()) {
                assert!(
                    chunk.iter().all(|r| r.pid == chunk[0].pid),
                    "{method} {chunksize}: the chunk from {} went to several workers",
                    chunk[0].index
                );
                for pair in chunk.windows(2) {
                    assert!(
                        pair[0].end <= pair[1].start,
                        "{method} {chunksize}: {} and {} overlap",
                        pair[0].index,
                        pair[1].index
                    );
                }
            }
        }
    }
}

/// An error and a panic in the middle of a chunk fail those two tasks only; the rest
/// of the chunk, and the next map, succeed.
fn a_failing_task_inside_a_chunk_fails_alone() {
    let mut pool = ProcessPool::new(2, StartMethod::Fork).unwrap();
    let inputs = [
        Act::Pid,
        Act::Fail,
        Act::Pid,
        Act::Panic,
        Act::Pid,
        Act::Pid,
        Act::Fail,
    ];
    for chunksize in chunksizes() {
        let results = pool.map_chunked(&Misbehave, &inputs, chunksize);
        for (i, result) in results.iter().enumerate() {
            match (&inputs[i], result) {
                (Act::Fail, Err(TaskError::Failed(m))) => assert_eq!(m, "told to fail"),
                (Act::Panic, Err(TaskError::Failed(m))) => assert!(m.contains("told to panic")),
                (Act::Pid, Ok(r)) => assert_eq!(r.output, r.pid as u32),
                (_, other) => panic!("{chunksize}: task {i}: {other:?}"),
            }
        }
    }
    assert!(pool.map(&Misbehave, &[Act::Pid]).pop().unwrap().is_ok());
}

/// A worker killed in the middle of a chunk breaks the pool as it does with chunks of
/// one: the tasks of its chunk fail with an error naming that worker and its pid, the
/// other workers' chunks keep their results, and every worker is reaped.
///
/// Chunks of 3 go out in order, one per worker: worker 1 gets inputs 3 to 5, and
/// sleeps for an hour on input 3. A task timeout of a minute stands guard.
fn a_worker_killed_mid_chunk_breaks_the_pool() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    const HOUR_MS: u64 = 3_600_000;
    for method in StartMethod::ALL {
        let mut pool = ProcessPool::new(3, method).unwrap();
        pool.set_task_timeout(Some(Duration::from_secs(60)));
        let pids = pool.pids();
        let victim = pids[1];
        let mut inputs: Vec<Act> = (0..9).map(|_| Act::Pid).collect();
        inputs[3] = Act::Sleep(HOUR_MS);
        let done = AtomicUsize::new(0);
        let kill_once_the_others_are_done = || {
            if done.fetch_add(1, Ordering::SeqCst) + 1 == 6 {
                kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
            }
        };
        let results = pool.map_chunked_observed(
            &Misbehave,
            &inputs,
            "3".parse().unwrap(),
            &kill_once_the_others_are_done,
        );
        for (i, result) in results.iter().enumerate() {
            if (3..6).contains(&i) {
                let Err(TaskError::BrokenPool(death)) = result else {
                    panic!("{method}: task {i}: expected a broken pool, got {result:?}");
                };
                assert_eq!((death.worker, death.pid), (1, victim), "{method}: task {i}");
                assert!(death.how.contains("SIGKILL"), "{method}: {}", death.how);
            } else {
                let record = result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("{method}: task {i} lost its result: {e}"));
                assert_ne!(record.worker, 1, "{method}: task {i} ran on the victim");
                assert_eq!(record.output, record.pid as u32, "{method}: task {i}");
            }
        }
        for pid in &pids {
            assert!(
                !is_alive_or_zombie(*pid),
                "{method}: worker {pid} is still around"
            );
        }
    }
}
