//! The claims chapters 3 and 4 make about a run, checked on the files of a fresh
//! small run of `pools`, the files `report` draws the chapters' figures from:
//!
//! - the GIL holds never overlap (the solid top lane of the GIL timeline);
//! - a GIL task starts only once its thread holds the lock, so each lane of the
//!   timeline starts empty until its thread's first hold;
//! - a thread forced to let go of the lock never takes it straight back;
//! - the HTTP waits overlap, in the GIL pool too.
//!
//! Each is a fact about order and overlap in the recorded times, which no amount of
//! load on the machine can change.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// The rows of one CSV file, as header-to-value maps.
fn table(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .zip(r.unwrap().iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column].parse().unwrap()
}

/// One hold of the GIL: `(worker, acquired_at, released_at)`.
type Hold = (usize, f64, f64);

fn holds(dir: &Path, workload: &str) -> Vec<Hold> {
    table(&dir.join(format!("gil-{workload}-held.csv")))
        .iter()
        .map(|r| {
            (
                num(r, "worker") as usize,
                num(r, "acquired_at"),
                num(r, "released_at"),
            )
        })
        .collect()
}

/// `(worker, start, end)` of every task of `tag`.
fn tasks(dir: &Path, tag: &str) -> Vec<(usize, f64, f64)> {
    table(&dir.join(format!("{tag}.csv")))
        .iter()
        .map(|r| {
            (
                num(r, "worker") as usize,
                num(r, "start_time"),
                num(r, "end_time"),
            )
        })
        .collect()
}

/// Runs the GIL pool on both experiments, with fewer workers than Fibonacci inputs so
/// that a worker also starts tasks after its first.
fn run_gil_pool() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("pools")
        .unwrap()
        .args(["--pools", "gil", "--workers", "4", "--fib-inputs", "24..32"])
        .args(["--get-inputs", "200..600:100", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

/// Every claim of the module header, on one run of the GIL pool.
#[test]
fn the_chapters_claims_hold_on_a_fresh_run() {
    let dir = run_gil_pool();
    let dir = dir.path();
    for workload in ["fibo", "get"] {
        let held = holds(dir, workload);
        assert!(!held.is_empty());
        // The holds never overlap: sorted by acquisition, each ends before the next
        // one begins.
        let mut sorted = held.clone();
        sorted.sort_by(|a, b| a.1.total_cmp(&b.1));
        for pair in sorted.windows(2) {
            assert!(
                pair[0].2 <= pair[1].1,
                "{workload}: two holds overlap: {pair:?}"
            );
        }
        // A GIL task starts only while its own thread holds the lock.
        for (worker, start, _) in tasks(dir, &format!("gil-{workload}")) {
            assert!(
                held.iter()
                    .any(|&(w, a, r)| w == worker && a <= start && start <= r),
                "{workload}: a task of worker {worker} started at {start} without the lock"
            );
        }
    }
    // During the Fibonacci run a thread lets go only when forced to (or when it has
    // no task left), and a forced thread waits until another one has the lock: so
    // two holds in a row never belong to the same worker.
    let mut fibo = holds(dir, "fibo");
    fibo.sort_by(|a, b| a.1.total_cmp(&b.1));
    for pair in fibo.windows(2) {
        assert_ne!(
            pair[0].0, pair[1].0,
            "a worker took the lock straight back: {pair:?}"
        );
    }
    // The waits overlap, under the GIL: two of them were in progress at one moment.
    let waits = tasks(dir, "gil-get");
    let overlap = waits
        .iter()
        .any(|a| waits.iter().any(|b| a != b && a.1 <= b.1 && b.1 < a.2));
    assert!(overlap, "no two HTTP waits overlapped: {waits:?}");
}
