//! `pools --cpus N`, run as a user runs it: which core ran which task, and when.
//!
//! Every assertion is a fact that timing noise cannot flip: on one core, slices of
//! different tasks never overlap (a core runs one thread at a time); every slice is
//! on an allowed CPU; each task's slices come in time order. Whether the two-CPU
//! run really ran its tasks at the same time depends on the machine's load, so it
//! is not asserted.

use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use results::layout::{self, CORE_COLUMNS, TASK_COLUMNS};
use results::{CoreSlice, Pool, TaskRow, Workload};

/// Three small Fibonacci tasks, each long enough (tens of milliseconds) to span
/// several of the kernel's time slices on a shared core.
const INPUTS: [u32; 3] = [32, 32, 31];

fn pools() -> Command {
    Command::cargo_bin("pools").expect("the pools binary is built")
}

/// Reads every row of a results file, checking its header against `columns`.
fn read<T: serde::de::DeserializeOwned>(path: &Path, columns: &[&str]) -> Vec<T> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    results::read::read_rows(path, file, columns)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|(_, row)| row)
        .collect()
}

/// Runs the process pool on [`INPUTS`] with `--cpus cpus` and returns the folder,
/// the task rows and the slices.
fn run(cpus: usize) -> (tempfile::TempDir, Vec<TaskRow>, Vec<CoreSlice>) {
    let dir = tempfile::tempdir().unwrap();
    let inputs = INPUTS.map(|n| n.to_string()).join(",");
    let out = pools()
        .args(["--experiment", "fib", "--pools", "process"])
        .args(["--fib-inputs", &inputs, "--workers", "3"])
        .args(["--cpus", &cpus.to_string(), "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pools --cpus {cpus} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tasks = read(
        &layout::task_file(dir.path(), Pool::Process, Workload::Fibo),
        &TASK_COLUMNS,
    );
    let slices = read(
        &layout::cores_file(dir.path(), Pool::Process, Workload::Fibo),
        &CORE_COLUMNS,
    );
    (dir, tasks, slices)
}

/// The CPUs this test may run on, as `pools` will see them.
fn allowed() -> Vec<usize> {
    pools::cores::allowed_cpus().unwrap()
}

/// Checks what holds for any run: the usual task rows are there, every task has
/// slices inside its own start and end, from its own worker, in time order.
fn check_tasks_and_their_slices(tasks: &[TaskRow], slices: &[CoreSlice]) {
    assert_eq!(tasks.len(), INPUTS.len());
    for (i, &n) in INPUTS.iter().enumerate() {
        let task = tasks
            .iter()
            .find(|t| t.tag == format!("process-fibo-{i}"))
            .unwrap_or_else(|| panic!("no row for task {i}: {tasks:?}"));
        assert_eq!(task.input, u64::from(n));
        assert_eq!(task.result, fib::fibonacci(n).unwrap().to_string());
        let own: Vec<&CoreSlice> = slices.iter().filter(|s| s.index == i).collect();
        assert!(!own.is_empty(), "task {i} has no slice");
        for s in &own {
            assert_eq!((s.pid, s.tid), (task.pid, task.tid), "{s:?}");
            assert!(s.start <= s.end, "{s:?}");
            assert!(
                task.start_time <= s.start && s.end <= task.end_time,
                "slice {s:?} outside its task {task:?}"
            );
        }
        for pair in own.windows(2) {
            assert!(pair[0].end <= pair[1].start, "out of order: {pair:?}");
        }
    }
}

/// On one CPU, every slice is on that CPU (the first one this process may use), and
/// no two slices of different tasks overlap: the tasks took turns. That is
/// concurrency without parallelism.
#[test]
fn on_one_cpu_tasks_take_turns_and_never_overlap() {
    let (_dir, tasks, slices) = run(1);
    check_tasks_and_their_slices(&tasks, &slices);
    let first = allowed()[0] as u32;
    for s in &slices {
        assert_eq!(s.cpu, first, "a slice on another CPU: {s:?}");
    }
    for (i, a) in slices.iter().enumerate() {
        for b in &slices[i + 1..] {
            if a.index != b.index {
                assert!(
                    a.end <= b.start || b.end <= a.start,
                    "two tasks on one core at once: {a:?} and {b:?}"
                );
            }
        }
    }
}

/// On two CPUs, the slices use at most those two. (Whether the tasks overlapped in
/// time depends on what else the machine is doing, so that is not asserted.)
#[test]
fn on_two_cpus_slices_use_at_most_the_first_two() {
    let allowed = allowed();
    if allowed.len() < 2 {
        eprintln!("skipped: this process may use only {allowed:?}");
        return;
    }
    let (_dir, tasks, slices) = run(2);
    check_tasks_and_their_slices(&tasks, &slices);
    for s in &slices {
        assert!(allowed[..2].contains(&(s.cpu as usize)), "{s:?}");
    }
}

/// `--cpus 0` and more CPUs than this process may use are refused with one line
/// and a non-zero exit, before anything is written.
#[test]
fn impossible_cpu_counts_are_refused_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    for cpus in ["0", "999"] {
        let out = pools()
            .args(["--experiment", "fib", "--fib-inputs", "5", "--cpus", cpus])
            .arg("--out")
            .arg(&out_dir)
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!out.status.success(), "--cpus {cpus} was accepted");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("Error: --cpus: asked for"), "{stderr}");
        assert!(out.stdout.is_empty());
        assert!(
            !out_dir.exists(),
            "--cpus {cpus} wrote {}",
            out_dir.display()
        );
    }
}
