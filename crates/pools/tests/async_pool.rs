//! The async pool's promises: every task runs on the one thread that called `map`;
//! the waits overlap on it; a computation never shares it with another task. Every
//! check is on recorded ids and intervals (on the monotonic clock, see `common`),
//! never on how long something took.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::{Mono, Timed, any_overlap};
use pools::experiment::{self, PoolConfig};
use pools::{
    AsyncPool, Context, Executor, Fibonacci, HttpFetch, PoolError, PoolKind, StartMethod, Task,
    TaskError, TaskFailure, TaskRecord,
};
use serde::{Deserialize, Serialize};

fn server() -> http_wait::DelayServer {
    http_wait::DelayServer::start().expect("the delay server starts")
}

fn unwrap_all<O: std::fmt::Debug>(results: Vec<pools::TaskResult<O>>) -> Vec<TaskRecord<O>> {
    results
        .into_iter()
        .map(|r| r.expect("task succeeds"))
        .collect()
}

/// Each task's `(start, end)` on the monotonic clock.
fn intervals<O>(records: &[TaskRecord<Timed<O>>]) -> Vec<(u64, u64)> {
    records
        .iter()
        .map(|r| (r.output.start_ns, r.output.end_ns))
        .collect()
}

/// Eight waits, from 200 to 900 ms.
const WAITS: [u64; 8] = [200, 300, 400, 500, 600, 700, 800, 900];

/// Every GET ran on the thread that called `map`: one pid, one tid, worker 0.
#[test]
fn every_get_runs_on_the_calling_thread() {
    let server = server();
    let mut pool = AsyncPool::new(8).unwrap();
    let records = unwrap_all(pool.map(&HttpFetch::new(server.url_template()), &WAITS));
    let tid = nix::unistd::gettid().as_raw();
    for record in &records {
        assert_eq!(record.output, "200 OK");
        assert_eq!(record.pid, std::process::id() as i32);
        assert_eq!(record.tid, tid, "a task ran on another thread");
        assert_eq!(record.worker, 0);
    }
}

/// The eight waits overlap: each one started before the shortest one ended, so all
/// eight were in progress at once on the one thread.
#[test]
fn the_waits_overlap_on_one_thread() {
    let server = server();
    let mut pool = AsyncPool::new(8).unwrap();
    let records = unwrap_all(pool.map(&Mono(HttpFetch::new(server.url_template())), &WAITS));
    let spans = intervals(&records);
    let last_start = spans.iter().map(|s| s.0).max().unwrap();
    let first_end = spans.iter().map(|s| s.1).min().unwrap();
    assert!(
        last_start < first_end,
        "not all eight waits overlapped: {spans:?}"
    );
    let tids: std::collections::BTreeSet<i32> = records.iter().map(|r| r.tid).collect();
    assert_eq!(tids.len(), 1, "{tids:?}");
}

/// `workers` bounds the tasks in flight: with two, no three waits overlap, and
/// the waits still run two at a time.
#[test]
fn workers_bound_the_tasks_in_flight() {
    let server = server();
    let mut pool = AsyncPool::new(2).unwrap();
    let records = unwrap_all(pool.map(&Mono(HttpFetch::new(server.url_template())), &[100; 6]));
    let spans = intervals(&records);
    for &(s, _) in &spans {
        let at_once = spans.iter().filter(|&&(a, b)| a <= s && s < b).count();
        assert!(at_once <= 2, "{at_once} waits in flight with 2 workers");
    }
    assert!(any_overlap(spans), "two waits should overlap");
}

/// Fibonacci tasks take turns: no two intervals overlap, although all eight were
/// allowed in flight, because a computation never awaits.
#[test]
fn fibonacci_tasks_never_overlap() {
    let mut pool = AsyncPool::new(8).unwrap();
    let records = unwrap_all(pool.map(&Mono(Fibonacci), &[20, 21, 22, 23, 24, 25, 26, 27]));
    assert_eq!(
        records[7].output.output, 121_393,
        "fib(27), as the fib crate counts"
    );
    assert!(
        !any_overlap(intervals(&records)),
        "two computations overlapped"
    );
}

/// One task of a mixed run: wait `ms` on the server, or compute `fib(n)`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
enum Job {
    Wait(u64),
    Compute(u32),
}

/// The GETs of [`HttpFetch`] with one computation among them.
#[derive(Debug, Serialize, Deserialize)]
struct Mixed(HttpFetch);

impl Task for Mixed {
    type Input = Job;
    type Output = ();
    const NAME: &'static str = "mixed";

    fn run(&self, job: &Job, cx: &mut impl Context) -> Result<(), TaskFailure> {
        match *job {
            Job::Wait(ms) => self.0.run(&ms, cx).map(drop),
            Job::Compute(n) => Fibonacci.run(&n, cx).map(drop),
        }
    }

    async fn run_async(&self, job: &Job) -> Result<(), TaskFailure> {
        match *job {
            Job::Wait(ms) => self.0.run_async(&ms).await.map(drop),
            Job::Compute(n) => Fibonacci.run_async(&n).await.map(drop),
        }
    }
}

/// One computation among the waits blocks every other task: while it computes, no
/// task starts and no task ends, even a wait whose answer has arrived.
#[test]
fn a_computation_blocks_every_other_task() {
    let server = server();
    let jobs = [
        Job::Wait(50),
        Job::Wait(100),
        Job::Compute(27),
        Job::Wait(50),
        Job::Wait(100),
    ];
    let mut pool = AsyncPool::new(jobs.len()).unwrap();
    let records = unwrap_all(pool.map(&Mono(Mixed(HttpFetch::new(server.url_template()))), &jobs));
    let spans = intervals(&records);
    let (fib_start, fib_end) = spans[2];
    for (i, &(start, end)) in spans.iter().enumerate().filter(|(i, _)| *i != 2) {
        let inside = |t: u64| fib_start < t && t < fib_end;
        assert!(
            !inside(start) && !inside(end),
            "task {i} started or ended while fib(27) computed: {spans:?}"
        );
    }
    // The two waits put in flight first started before the computation, the two
    // after it started after it ended.
    assert!(
        spans[0].0 < fib_start && spans[1].0 < fib_start,
        "{spans:?}"
    );
    assert!(spans[3].0 >= fib_end && spans[4].0 >= fib_end, "{spans:?}");
}

/// A dead server: every GET fails with the refusal, naming the URL, and the pool
/// goes on to the next one, as the thread pools do.
#[test]
fn a_dead_server_fails_each_get_with_the_refusal() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let template = format!("http://127.0.0.1:{port}/200?sleep={{ms}}");
    let mut pool = AsyncPool::new(3).unwrap();
    let results = pool.map(&HttpFetch::new(template), &[10, 20, 30]);
    assert_eq!(results.len(), 3);
    for (ms, result) in [10, 20, 30].into_iter().zip(results) {
        match result {
            Err(TaskError::Failed(message)) => {
                assert!(message.contains("refused"), "{message}");
                assert!(message.contains(&format!("sleep={ms}")), "{message}");
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
    }
}

/// A status other than 2xx is a failed task whose message has the status.
#[test]
fn a_server_error_is_a_failed_task() {
    let server = server();
    let template = format!("{}/503?sleep={{ms}}", server.base_url());
    let mut pool = AsyncPool::new(1).unwrap();
    let results = pool.map(&HttpFetch::new(template), &[0]);
    match &results[0] {
        Err(TaskError::Failed(message)) => assert!(message.contains("answered 503"), "{message}"),
        other => panic!("expected a 503, got {other:?}"),
    }
}

/// A panic in a task is that task's failure; the others still run.
#[test]
fn a_panic_is_one_failed_task() {
    #[derive(Serialize, Deserialize)]
    struct PanicOnZero;
    impl Task for PanicOnZero {
        type Input = u64;
        type Output = u64;
        const NAME: &'static str = "panic_on_zero";
        fn run(&self, x: &u64, _cx: &mut impl Context) -> Result<u64, TaskFailure> {
            assert!(*x != 0, "zero");
            Ok(*x)
        }
    }
    let mut pool = AsyncPool::new(2).unwrap();
    let results = pool.map(&PanicOnZero, &[1, 0, 2]);
    assert_eq!(results[0].as_ref().unwrap().output, 1);
    assert!(
        matches!(&results[1], Err(TaskError::Failed(m)) if m.contains("panicked: zero")),
        "{:?}",
        results[1]
    );
    assert_eq!(results[2].as_ref().unwrap().output, 2);
}

/// No workers is refused, as by every pool.
#[test]
fn zero_workers_are_refused() {
    assert!(matches!(AsyncPool::new(0), Err(PoolError::NoWorkers)));
}

fn never_called(_: &pools::TimedOut) -> ! {
    unreachable!("the async pool cancels a waiting task itself")
}

/// A GET past the task timeout is cancelled at its await, and the run ends with the
/// timeout, naming the async pool.
#[test]
fn a_wait_past_the_task_timeout_is_cancelled() {
    let server = server();
    let config = PoolConfig {
        kind: PoolKind::Async,
        workers: 2,
        start_method: StartMethod::Fork,
        switch_interval: Duration::from_millis(5),
        task_timeout: Some(pools::TaskTimeout {
            limit: Duration::from_millis(500),
            on_stuck_thread: never_called,
        }),
    };
    let task = HttpFetch::new(server.url_template());
    // A wait of 20 s against a limit of 0.5 s: no load on the machine can make it
    // finish in time.
    match experiment::run(&config, "get", &task, &[20_000, 20_000], &|| {}) {
        Err(PoolError::TimedOut(timed_out)) => {
            assert_eq!(timed_out.pool, PoolKind::Async);
            assert!(timed_out.index < 2, "{timed_out}");
            assert!(timed_out.to_string().contains("cancelled"), "{timed_out}");
        }
        other => panic!("expected a timeout, got {:?}", other.map(|o| o.record)),
    }
}

fn pools_cli() -> Command {
    Command::cargo_bin("pools").unwrap()
}

/// Bad input is refused on the async pool as on the others, in one line, before
/// anything runs.
#[test]
fn bad_input_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (args, says) in [
        (
            &["--get-inputs", "5..1"][..],
            "--get-inputs: bad SPEC `5..1`: the range is empty",
        ),
        (&["--workers", "0"][..], "--workers must be at least 1"),
        (
            &["--get-inputs", "40000"][..],
            "is over the delay server's limit",
        ),
    ] {
        let out = pools_cli()
            .args(["--pools", "async", "--experiment", "get"])
            .args(args)
            .arg("--out")
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    assert!(
        !dir.path().join("out").exists(),
        "a refused run made its folder"
    );
}

/// A dead `--url` is refused before the run, with the refusal, as for every pool.
#[test]
fn a_dead_url_is_refused_before_the_run() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dir = tempfile::tempdir().unwrap();
    let out = pools_cli()
        .args(["--pools", "async", "--experiment", "get", "--url"])
        .arg(format!("http://127.0.0.1:{port}/200?sleep={{ms}}"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused (is the delay server running?)"),
        "{stderr}"
    );
}

/// The CSV of an async GET run has one pid and one tid, the program's, and worker 0
/// on every row; the GET rows all overlap, and the Fibonacci rows never do: the
/// claims of section 3.1, on the files `report` draws from.
#[test]
fn the_async_csv_rows_share_one_thread() {
    let dir = tempfile::tempdir().unwrap();
    let out = pools_cli()
        .args([
            "--pools",
            "async",
            "--fib-inputs",
            "18..24",
            "--get-inputs",
            "50..250:50",
        ])
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("with up to 4 in flight on one thread"),
        "{stdout}"
    );
    for file in ["async-get.csv", "async-fibo.csv"] {
        let mut reader = csv::Reader::from_path(dir.path().join(file)).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let ids: std::collections::BTreeSet<(String, String, String)> = rows
            .iter()
            .map(|r| (r[6].to_owned(), r[7].to_owned(), r[8].to_owned()))
            .collect();
        assert_eq!(ids.len(), 1, "{file}: {ids:?}");
        let (worker, pid, tid) = ids.into_iter().next().unwrap();
        assert_eq!(worker, "0");
        assert_eq!(pid, tid, "{file}: the tasks ran on the main thread");
        let spans: Vec<(f64, f64)> = rows
            .iter()
            .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
        if file == "async-fibo.csv" {
            assert!(!any_overlap(spans), "two computations overlapped");
        } else {
            // Section 3.1's figure: every wait started before the first one ended.
            let last_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
            let first_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
            assert!(
                last_start < first_end,
                "the waits did not all overlap: {spans:?}"
            );
        }
    }
}
