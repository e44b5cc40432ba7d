//! `pools --task-timeout`, run as a user runs it: a stuck task ends the run with an
//! error naming it, in bounded time, and leaves no process behind.
//!
//! (In a file of its own, next to `cli.rs`, so that the whole feature reads in one
//! place.)

use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Far longer than any run below takes when the timeout works; without it, they
/// would run for minutes or forever.
const PATIENCE: Duration = Duration::from_secs(60);

fn pools(out: &std::path::Path, args: &[&str]) -> Command {
    let mut command = Command::cargo_bin("pools").expect("the pools binary is built");
    command
        .args(args)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Bad timeouts get one `Error:` line naming the flag and its limits.
#[test]
fn bad_timeouts_are_one_clear_line() {
    for bad in ["0", "-1", "nan", "inf", "1e300", "0.0001", "abc"] {
        let dir = tempfile::tempdir().unwrap();
        let out = pools(dir.path(), &["--experiment", "fib", "--task-timeout", bad])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bad} was accepted");
        assert_eq!(stderr.lines().count(), 1, "{bad}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "Error: --task-timeout: `{bad}` is not a number of seconds from 0.001 to \
                 86400 (one day)"
            )
        );
    }
}

/// `--help` names the flag, its range, and what happens to threads.
#[test]
fn help_names_the_flag_and_its_limits() {
    let out = Command::cargo_bin("pools")
        .unwrap()
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(help.contains("--task-timeout <SECS>"), "{help}");
    assert!(help.contains("(0.001 to 86400)"), "{help}");
    assert!(help.contains("A thread cannot be killed"), "{help}");
}

/// A worker process stopped with SIGSTOP (by its pid) holds its tasks forever. With a
/// task timeout, the run ends with an error naming the task, the worker and that pid,
/// and no worker survives: the stopped one was killed and reaped.
#[test]
fn a_stopped_worker_ends_the_run() {
    for method in ["fork", "spawn"] {
        let dir = tempfile::tempdir().unwrap();
        // 200,000 tiny tasks: several seconds of work (so the worker is stopped while
        // it still has tasks), each task far under the limit.
        let child = pools(
            dir.path(),
            &[
                "--experiment",
                "fib",
                "--pools",
                "process",
                "--start-method",
                method,
                "--fib-inputs",
                "18",
                "--repeat",
                "200000",
                "--workers",
                "2",
                "--task-timeout",
                "1",
            ],
        )
        .spawn()
        .unwrap();
        let workers = wait_for_children(child.id(), 2);
        if method == "spawn" {
            // Not before its `exec`: until then `pools` waits inside std's
            // `Command::spawn`, where no task timeout applies (see `timeout.rs`).
            for &pid in &workers {
                wait_until_spawned(pid);
            }
        }
        let born: Vec<Option<u64>> = workers.iter().map(|&pid| start_time(pid)).collect();
        let victim = workers[1];
        kill(Pid::from_raw(victim as i32), Signal::SIGSTOP).unwrap();
        let out = wait_bounded(child);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{method}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{method}: {stderr}");
        assert!(stderr.starts_with("Error: task "), "{method}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "(pid {victim}) of the process pool, which was killed"
            )),
            "{method}: {stderr}"
        );
        for (pid, born) in workers.into_iter().zip(born) {
            assert!(gone(pid, born), "{method}: worker {pid} survived the run");
        }
    }
}

/// Under the thread pools a stuck task cannot be killed, so the whole program exits,
/// with the same error: fibonacci(50) would run for minutes.
#[test]
fn a_stuck_thread_ends_the_program() {
    for pool in ["thread", "gil"] {
        let dir = tempfile::tempdir().unwrap();
        let child = pools(
            dir.path(),
            &[
                "--experiment",
                "fib",
                "--pools",
                pool,
                "--fib-inputs",
                "50",
                "--task-timeout",
                "0.5",
            ],
        )
        .spawn()
        .unwrap();
        let parent = child.id();
        let out = wait_bounded(child);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{pool}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            format!(
                "Error: task 0 ran past the task timeout of 0.5 s on worker 0 (pid {parent}) \
                 of the {pool} pool; a thread cannot be killed, so pools exits"
            )
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "{pool}");
    }
}

/// Waits for `child` to exit, for at most [`PATIENCE`]; kills it and fails after that.
fn wait_bounded(mut child: Child) -> Output {
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pools still ran after {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Waits (at most 20 s) until `parent` has `n` children, and returns them.
fn wait_for_children(parent: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found: Vec<u32> =
            std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect();
        if found.len() >= n || Instant::now() > deadline {
            assert_eq!(found.len(), n, "workers started: {found:?}");
            return found;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (at most 20 s) until `pid` runs the new program of a `spawn` worker: its
/// environment, fixed at `exec`, names its parent.
fn wait_until_spawned(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ
            .split(|&b| b == 0)
            .any(|var| var.starts_with(b"POOLS_SPAWN_WORKER_OF="))
        {
            return;
        }
        assert!(Instant::now() < deadline, "worker {pid} never started");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Whether the process that was `pid`, started at `born`, is no longer alive. Its
/// parent, `pools`, has exited and was reaped, so a worker left behind would have
/// been adopted and still be listed. (A new process with a reused pid has another
/// start time.)
fn gone(pid: u32, born: Option<u64>) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'))
                || start_time(pid) != born
        }
    }
}

/// When `pid` started, in clock ticks since boot (field 22 of `/proc/PID/stat`).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 3, the state, is the first after the parenthesised name.
    stat.rsplit_once(") ")?
        .1
        .split(' ')
        .nth(22 - 3)?
        .parse()
        .ok()
}
