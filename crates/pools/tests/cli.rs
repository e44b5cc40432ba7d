//! The `pools` binary, run as a user runs it: files, pids and errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

fn pools() -> Command {
    Command::cargo_bin("pools").expect("the pools binary is built")
}

/// Reads a CSV into rows of strings, header included.
fn rows(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

/// Runs `pools` with `args` into a fresh folder and returns (folder, its pid, stdout).
fn run_ok(args: &[&str]) -> (tempfile::TempDir, u32, String) {
    let dir = tempfile::tempdir().unwrap();
    let child = pools()
        .args(args)
        .arg("--out")
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        out.status.success(),
        "pools {args:?} failed:\n{stdout}\n{stderr}"
    );
    (dir, pid, stdout)
}

/// A small Fibonacci run writes the documented files, with process rows in child
/// processes and thread rows in the parent.
#[test]
fn fib_run_writes_files_with_the_right_pids() {
    let (dir, parent, stdout) = run_ok(&["--experiment", "fib", "--fib-inputs", "20..26"]);
    assert!(stdout.contains(
        "Run experiment process: running fibonacci over [20, …, 25] among 6 workers ..."
    ));
    assert!(stdout.contains("Process vs Threads Fibonacci tasks speed-up = "));
    assert!(stdout.contains("Process vs GIL-threads Fibonacci tasks speed-up = "));
    for pool in ["process", "thread", "gil"] {
        let rows = rows(&dir.path().join(format!("{pool}-fibo.csv")));
        assert_eq!(
            rows[0],
            [
                "tag",
                "start_time",
                "end_time",
                "elapsed",
                "result",
                "input",
                "worker",
                "pid",
                "tid"
            ]
        );
        assert_eq!(rows.len(), 7);
        for (i, row) in rows[1..].iter().enumerate() {
            assert_eq!(row[0], format!("{pool}-fibo-{i}"));
            let n: u32 = row[5].parse().unwrap();
            assert_eq!(row[4], fib::fibonacci(n).unwrap().to_string());
            let pid: u32 = row[7].parse().unwrap();
            if pool == "process" {
                assert_ne!(pid, parent, "process rows run in workers");
            } else {
                assert_eq!(pid, parent, "{pool} rows run in the parent");
            }
        }
    }
    let experiments = rows(&dir.path().join("experiments.csv"));
    assert_eq!(experiments.len(), 4);
    assert_eq!(experiments[1][0], "process-fibo");
    assert_eq!(experiments[1][5], "fork");
    // The GIL intervals recorded in the file never overlap.
    let held = rows(&dir.path().join("gil-fibo-held.csv"));
    assert_eq!(held[0], ["worker", "tid", "acquired_at", "released_at"]);
    let mut spans: Vec<(f64, f64)> = held[1..]
        .iter()
        .map(|r| (r[2].parse().unwrap(), r[3].parse().unwrap()))
        .collect();
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(
        spans.windows(2).all(|w| w[0].1 <= w[1].0),
        "GIL intervals overlap"
    );
}

/// spawn and forkserver workers compute the same values as fork workers.
#[test]
fn every_start_method_gives_the_right_results() {
    for method in ["spawn", "forkserver"] {
        let (dir, parent, _) = run_ok(&[
            "--experiment",
            "fib",
            "--pools",
            "process",
            "--fib-inputs",
            "15,25,20",
            "--start-method",
            method,
        ]);
        let rows = rows(&dir.path().join("process-fibo.csv"));
        let values: Vec<&str> = rows[1..].iter().map(|r| r[4].as_str()).collect();
        assert_eq!(values, ["377", "46368", "4181"], "{method}");
        assert!(
            rows[1..].iter().all(|r| r[7] != parent.to_string()),
            "{method}"
        );
        let experiments = rows_of(&dir, "experiments.csv");
        assert_eq!(experiments[1][5], method);
    }
}

fn rows_of(dir: &tempfile::TempDir, name: &str) -> Vec<Vec<String>> {
    rows(&dir.path().join(name))
}

/// With the built-in server, the GETs overlap in every pool, the GIL pool included.
#[test]
fn get_waits_overlap_in_every_pool() {
    let (dir, _, stdout) = run_ok(&["--experiment", "get", "--get-inputs", "200,300,400"]);
    assert!(stdout.contains("Process vs GIL-threads HTTP Get tasks speed-up = "));
    for pool in ["process", "thread", "gil"] {
        let rows = rows_of(&dir, &format!("{pool}-get.csv"));
        let spans: Vec<(f64, f64)> = rows[1..]
            .iter()
            .map(|r| (r[1].parse().unwrap(), r[2].parse().unwrap()))
            .collect();
        let latest_start = spans.iter().map(|s| s.0).fold(f64::MIN, f64::max);
        let earliest_end = spans.iter().map(|s| s.1).fold(f64::MAX, f64::min);
        assert!(
            latest_start < earliest_end,
            "{pool}: the waits did not overlap"
        );
        assert!(rows[1..].iter().all(|r| r[4] == "200 OK"));
    }
}

/// Bad input: one `Error:` line, a non-zero exit, no panic, and no files.
#[test]
fn bad_input_is_one_clear_line() {
    let cases: [(&[&str], &str); 7] = [
        (&["--fib-inputs", "42..34"], "the range is empty"),
        (&["--fib-inputs", "x"], "`x` is not a non-negative integer"),
        (&["--fib-inputs", "99"], "n = 99 is too large"),
        (&["--workers", "0"], "--workers must be at least 1"),
        (
            &["--get-inputs", "40000", "--experiment", "get"],
            "over the delay server's limit",
        ),
        (
            &[
                "--experiment",
                "get",
                "--url",
                "http://127.0.0.1:1/200?sleep={ms}",
            ],
            "connection to http://127.0.0.1:1/200?sleep=0 refused",
        ),
        (
            &["--out", "/proc/pools-cannot-write-here"],
            "cannot create --out folder",
        ),
    ];
    for (args, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = pools();
        if !args.contains(&"--out") {
            cmd.arg("--out").arg(dir.path());
        }
        let out = cmd.args(args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"));
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{args:?} left files"
        );
    }
}

/// When the parent is SIGKILLed mid-run, its workers go too (Python's stay).
#[test]
fn workers_die_with_their_parent() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = long_run(dir.path()).stderr(Stdio::null()).spawn().unwrap();
    let parent = child.id();
    let workers = wait_for_children(parent, 2);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(all_gone(&workers), "orphaned workers: {workers:?}");
}

/// A run that lasts many seconds (two fibonacci(47) on two worker processes), for
/// tests that interrupt it.
fn long_run(out: &Path) -> Command {
    let mut command = pools();
    command
        .args(["--experiment", "fib", "--pools", "process"])
        .args(["--fib-inputs", "47,47", "--out"])
        .arg(out)
        .stdout(Stdio::null());
    command
}

/// Waits (at most 20 s) until `parent` has `n` children, and returns them.
fn wait_for_children(parent: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let found = children(parent);
        if found.len() >= n || Instant::now() > deadline {
            assert_eq!(found.len(), n, "workers started: {found:?}");
            return found;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits (at most 10 s, a generous bound for a loaded CI machine; the death signal
/// itself is immediate) until none of `pids` is running. Returns whether they all went.
fn all_gone(pids: &[u32]) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids.iter().any(|&p| running(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    pids.iter().all(|&p| !running(p))
}

/// The children of `pid`, from /proc.
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Whether `pid` is a running (not zombie) process.
fn running(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state is the first field after the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
        Err(_) => false,
    }
}

/// Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops the run
/// at once: exit status 130, one "interrupted" line (not one per worker), every
/// worker gone, and no file, whole or partial, from the interrupted experiment.
#[test]
fn ctrl_c_stops_everything() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let mut command = long_run(dir.path());
    command.stderr(Stdio::piped()).process_group(0);
    // Safety: resetting a signal disposition is async-signal-safe. A test runner
    // started in the background may have told us to ignore SIGINT; the child must not.
    unsafe {
        command.pre_exec(|| {
            nix::sys::signal::signal(
                nix::sys::signal::Signal::SIGINT,
                nix::sys::signal::SigHandler::SigDfl,
            )
            .map(drop)
            .map_err(std::io::Error::from)
        });
    }
    let child = command.spawn().unwrap();
    let parent = child.id();
    let workers = wait_for_children(parent, 2);
    // Like a terminal's Ctrl-C: the signal goes to every process in the group.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(parent as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("interrupted").count(), 1, "{stderr}");
    assert!(all_gone(&workers), "workers outlived Ctrl-C: {workers:?}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was left"
    );
}
