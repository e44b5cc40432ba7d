//! The CPython run of the article's experiment (`scripts/cpython_experiment.py`)
//! writes files that `report` reads and draws unchanged: our CSV contract, from the
//! other language.
//!
//! The script runs with tiny inputs (six Fibonacci inputs of 15..20, two waits of
//! 50 ms, two workers: well under a second) against the real delay server of the
//! built `http-wait` binary, then the real `report` binary draws the result. The
//! checks are facts that timing noise cannot flip: row counts, pids, the order of
//! each task's start and end, and the Fibonacci values.
//!
//! Without `python3` on the PATH the test prints why it skipped and passes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

#[allow(dead_code)] // each test file uses a different part of the shared helpers
mod common;

use report::{Pool, Workload};

/// Whether a `python3` that runs is on the PATH.
fn has_python3() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// The script under test, from the workspace root.
fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cpython_experiment.py")
}

/// The `http-wait` binary of this build, built first if need be.
///
/// `env!("CARGO_BIN_EXE_http-wait")` (and so `Command::cargo_bin("http-wait")`)
/// exists only in the `http-wait` package's own tests, and `cargo test -p report`
/// builds only report's binaries. So look where cargo puts every binary of this
/// build, the folder above this test's `deps/`, and if it is not there, ask cargo
/// to build it, in the same profile.
fn http_wait() -> PathBuf {
    let test = std::env::current_exe().unwrap();
    let mut dir = test.parent().unwrap();
    if dir.ends_with("deps") {
        dir = dir.parent().unwrap();
    }
    let path = dir.join("http-wait");
    if !path.is_file() {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", "http-wait", "--bin", "http-wait"]);
        if path.parent().is_some_and(|dir| dir.ends_with("release")) {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "cargo build -p http-wait failed");
    }
    assert!(path.is_file(), "no http-wait binary at {}", path.display());
    path
}

/// `fibonacci(n)` as the `fib` crate numbers it: fibonacci(1) = 0, fibonacci(2) = 1.
fn fibonacci(n: u64) -> u64 {
    let (mut a, mut b) = (0, 1);
    for _ in 1..n {
        (a, b) = (b, a + b);
    }
    a
}

/// The script's CSVs pass report's loader, every task agrees with its run's row in
/// experiments.csv, the real `report` binary draws both Gantt figures from them, and
/// the pools are what they claim: the process pool's tasks ran in other processes,
/// the thread pool's in the script's own, and each run had processes of its own; the
/// delay server is gone afterwards. The asyncio run's GETs overlap on one thread.
#[test]
fn cpython_csvs_pass_the_loader_and_draw() {
    if !has_python3() {
        eprintln!("skipped: no python3 on the PATH, so the CPython script cannot run");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("cpython");
    let figures = tmp.path().join("figures");

    let run = Command::new("python3")
        .arg(script())
        .args([
            "--fib-inputs",
            "15..21",
            "--get-inputs",
            "50,50",
            "--workers",
            "2",
        ])
        .arg("--out")
        .arg(&data)
        .arg("--http-wait")
        .arg(http_wait())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the script failed: {stderr}");

    // The server it started (its pid is on the first line) was stopped and reaped.
    let server_pid = stderr
        .split("(pid ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse::<i32>().ok())
        .unwrap_or_else(|| panic!("no server pid in: {stderr}"));
    assert!(
        !Path::new(&format!("/proc/{server_pid}")).exists(),
        "the delay server (pid {server_pid}) outlived the script"
    );

    // The loader: every file is read and checked against experiments.csv.
    let results = report::load(&data).unwrap_or_else(|err| panic!("{err}"));
    let expected = [
        (Pool::Process, Workload::Fibo, 6),
        (Pool::Gil, Workload::Fibo, 6),
        (Pool::Process, Workload::Get, 2),
        (Pool::Gil, Workload::Get, 2),
        (Pool::Async, Workload::Get, 2),
    ];
    assert_eq!(results.experiments.len(), expected.len());
    for (pool, workload, rows) in expected {
        let experiment = results
            .experiment(pool, workload)
            .unwrap_or_else(|| panic!("no {pool}-{workload}.csv"));
        let summary = experiment
            .summary
            .as_ref()
            .expect("a row in experiments.csv");
        assert_eq!(experiment.tasks.len(), rows, "{pool}-{workload}");
        assert_eq!(summary.inputs, rows as u64);
        assert_eq!(summary.workers, 2);
        assert_eq!(summary.function, workload.function());
        for task in &experiment.tasks {
            assert!(task.start_time <= task.end_time, "{task:?}");
            match workload {
                Workload::Fibo => assert_eq!(task.result, fibonacci(task.input).to_string()),
                Workload::Get => assert_eq!(task.result, "200 OK"),
            }
        }
    }
    assert_eq!(common::csv_rows(&data.join("serial-fibo.csv")), 6);

    // Where the tasks ran. The thread pool is one process: the script's own. The
    // process pool's tasks ran elsewhere, each worker index on one pid of its own,
    // and no more pids than workers. (That two of them ran on different pids is up
    // to CPython's scheduling: one fast worker may take every task.)
    let pids = |pool| -> BTreeSet<i32> {
        Workload::ALL
            .into_iter()
            .filter_map(|workload| results.experiment(pool, workload))
            .flat_map(|e| e.tasks.iter().map(|t| t.pid))
            .collect()
    };
    let script_pids = pids(Pool::Gil);
    assert_eq!(script_pids.len(), 1, "{script_pids:?}");
    for workload in Workload::ALL {
        let process = results.experiment(Pool::Process, workload).unwrap();
        let mut pid_of_worker = BTreeMap::new();
        for task in &process.tasks {
            assert!(
                !script_pids.contains(&task.pid),
                "{task:?} ran in the script"
            );
            assert_eq!(task.tid, task.pid, "one thread per worker process");
            let pid = *pid_of_worker.entry(task.worker).or_insert(task.pid);
            assert_eq!(pid, task.pid, "worker {} on two pids", task.worker);
        }
        assert!(pid_of_worker.len() <= 2, "{pid_of_worker:?}");
        assert!(pid_of_worker.keys().all(|&w| w < 2), "{pid_of_worker:?}");
    }
    // Each run builds a fresh pool, as the article's `with` block does: the GETs ran
    // in other processes than the Fibonacci tasks, whose workers had been reaped.
    let run_pids = |workload| -> BTreeSet<i32> {
        let experiment = results.experiment(Pool::Process, workload).unwrap();
        experiment.tasks.iter().map(|t| t.pid).collect()
    };
    let (fibo, get) = (run_pids(Workload::Fibo), run_pids(Workload::Get));
    assert!(fibo.is_disjoint(&get), "{fibo:?} and {get:?}");

    // asyncio: both GETs in the script's process, on one thread, worker 0, and the
    // two waits overlapped (each started before the other ended).
    let event_loop = results.experiment(Pool::Async, Workload::Get).unwrap();
    let ids: BTreeSet<(i32, i32, usize)> = event_loop
        .tasks
        .iter()
        .map(|t| (t.pid, t.tid, t.worker))
        .collect();
    assert_eq!(ids.len(), 1, "{ids:?}");
    let (pid, _, worker) = ids.into_iter().next().unwrap();
    assert!(script_pids.contains(&pid), "asyncio ran outside the script");
    assert_eq!(worker, 0);
    let [a, b] = [&event_loop.tasks[0], &event_loop.tasks[1]];
    assert!(
        a.start_time < b.end_time && b.start_time < a.end_time,
        "the two waits did not overlap: {a:?} {b:?}"
    );

    // The real binary draws both Gantt figures, and says why it skips the GIL
    // timelines: CPython does not record who held its lock.
    let drawn = common::draw(&data, &figures).output().unwrap();
    let stdout = String::from_utf8_lossy(&drawn.stdout);
    assert!(
        drawn.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&drawn.stderr)
    );
    for gantt in [
        "process-thread-fibonacci-gantt.png",
        "process-thread-fetch-gantt.png",
    ] {
        let path = figures.join(gantt);
        assert!(
            stdout.contains(&format!("wrote {}", path.display())),
            "{stdout}"
        );
        let image = common::decode_png(&path);
        assert!(image.width > 0 && image.height > 0);
    }
    assert!(
        stdout.contains("skipped gil-timeline: no rows in gil-fibo-held.csv"),
        "{stdout}"
    );
}
