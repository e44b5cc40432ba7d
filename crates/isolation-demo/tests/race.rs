//! `isolation-demo race`, run as a user would run it.
//!
//! The facts checked cannot be flipped by timing: `atomic` and `lock` reach the exact
//! count; `none` never goes past it (how much it loses depends on timing, so it is
//! printed and never asserted); bad input is refused; and a participant killed by pid
//! from outside ends the run with one clear line, leaving no process behind.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod common;
use common::{binary, children_of};

/// A fresh folder under the system's temporary folder, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("race-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One row of the table: method, expected, reached, lost.
#[derive(Debug, PartialEq, Eq)]
struct Row {
    method: String,
    expected: u64,
    reached: u64,
    lost: u64,
}

/// Runs `race` with `args` into a temporary folder, checks it succeeded quietly and
/// that its CSV agrees with its table, and returns the table's rows and every line.
fn race(args: &[&str]) -> (Vec<Row>, Vec<String>) {
    let dir = TempDir::new();
    let (rows, lines) = race_into(dir.path(), args);
    let threads = args.contains(&"--threads");
    let name = if threads {
        "race-threads.csv"
    } else {
        "race-processes.csv"
    };
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, [name], "{args:?}");
    let path = dir.path().join(name);
    assert_eq!(
        lines.last().unwrap(),
        &format!("Counts: {}", path.display())
    );
    let csv = csv_rows(&path);
    assert_eq!(csv.len(), rows.len(), "{csv:#?}");
    for (row, fields) in rows.iter().zip(&csv) {
        let mode = if threads { "threads" } else { "processes" };
        assert_eq!(fields[0], mode);
        let start_method = match args.iter().position(|a| *a == "--start-method") {
            _ if threads => "",
            Some(i) => args[i + 1],
            None => "fork",
        };
        assert_eq!(fields[1], start_method);
        assert_eq!(fields[2], row.method);
        let number = |i: usize| fields[i].parse::<u64>().unwrap();
        let (participants, each) = (number(3), number(4));
        let (expected, reached, lost) = (number(5), number(6), number(7));
        assert_eq!(expected, participants * each, "{fields:?}");
        assert_eq!(
            (expected, reached, lost),
            (row.expected, row.reached, row.lost)
        );
        assert_eq!(lost, expected - reached, "{fields:?}");
        match row.method.as_str() {
            "none" => assert!(reached <= expected, "{fields:?}"),
            _ => assert_eq!(lost, 0, "{fields:?}"),
        }
        let seconds: f64 = fields[8].parse().unwrap();
        let ns: f64 = fields[9].parse().unwrap();
        assert!(seconds >= 0.0 && ns >= 0.0, "{fields:?}");
    }
    (rows, lines)
}

/// The rows of a race CSV, split into fields, after checking its header.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            "mode,start_method,method,participants,increments_each,expected,reached,lost,\
             seconds,ns_per_increment"
        )
    );
    lines
        .map(|line| line.split(',').map(str::to_owned).collect::<Vec<_>>())
        .inspect(|fields| assert_eq!(fields.len(), 10, "{fields:?}"))
        .collect()
}

/// Runs `race` with `args` and `--out dir`, checks it succeeded quietly, and returns
/// the table's rows and every line.
fn race_into(dir: &Path, args: &[&str]) -> (Vec<Row>, Vec<String>) {
    let output = assert_cmd::Command::new(binary())
        .arg("race")
        .args(args)
        .arg("--out")
        .arg(dir)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{args:?}: {stderr}");
    assert!(stderr.is_empty(), "{args:?}: {stderr}");
    let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
    let rows = lines
        .iter()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            match fields.as_slice() {
                [
                    method @ ("none" | "atomic" | "lock"),
                    expected,
                    reached,
                    lost,
                    ns,
                ] => {
                    assert!(ns.parse::<f64>().is_ok(), "{line}");
                    Some(Row {
                        method: method.to_string(),
                        expected: expected.parse().unwrap(),
                        reached: reached.parse().unwrap(),
                        lost: lost.parse().unwrap(),
                    })
                }
                _ => None,
            }
        })
        .collect();
    (rows, lines)
}

/// Checks the one row of a `--sync` run: exact for atomic and lock, never over for none.
fn check(method: &str, extra: &[&str]) {
    let mut args = vec![
        "--sync",
        method,
        "--processes",
        "3",
        "--increments",
        "20000",
    ];
    args.extend_from_slice(extra);
    let (rows, lines) = race(&args);
    assert_eq!(rows.len(), 1, "{lines:#?}");
    let row = &rows[0];
    assert_eq!(row.method, method);
    assert_eq!(row.expected, 60_000, "{lines:#?}");
    assert_eq!(row.expected - row.reached, row.lost, "{lines:#?}");
    if method == "none" {
        assert!(row.reached <= row.expected, "{lines:#?}");
    } else {
        assert_eq!(row.reached, row.expected, "{lines:#?}");
    }
}

/// `atomic` reaches the exact count on forked and spawned processes and on threads.
#[test]
fn atomic_is_exact() {
    check("atomic", &[]);
    check("atomic", &["--start-method", "spawn"]);
    check("atomic", &["--threads"]);
}

/// `lock`, a futex lock in the shared page, reaches the exact count everywhere too.
#[test]
fn lock_is_exact() {
    check("lock", &[]);
    check("lock", &["--start-method", "spawn"]);
    check("lock", &["--threads"]);
}

/// `none` may lose updates but can never invent one.
#[test]
fn none_never_exceeds() {
    check("none", &[]);
    check("none", &["--start-method", "spawn"]);
    check("none", &["--threads"]);
}

/// Without `--sync`, all three run, in order, each with its line of explanation.
#[test]
fn all_three_by_default() {
    let (rows, lines) = race(&["--processes", "2", "--increments", "1000"]);
    let methods: Vec<&str> = rows.iter().map(|row| row.method.as_str()).collect();
    assert_eq!(methods, ["none", "atomic", "lock"], "{lines:#?}");
    assert!(
        lines[0].starts_with("Race: 2 processes (started by fork)"),
        "{lines:#?}"
    );
    for method in ["none: ", "atomic: exact", "lock: exact", "ns/increment: "] {
        assert!(
            lines.iter().any(|line| line.starts_with(method)),
            "{method} in {lines:#?}"
        );
    }
}

/// A process run and a thread run into one folder write one file each, side by side.
#[test]
fn processes_and_threads_sit_side_by_side() {
    let dir = TempDir::new();
    race_into(dir.path(), &["--processes", "2", "--increments", "1000"]);
    race_into(
        dir.path(),
        &["--processes", "3", "--increments", "1000", "--threads"],
    );
    let processes = csv_rows(&dir.path().join("race-processes.csv"));
    let threads = csv_rows(&dir.path().join("race-threads.csv"));
    assert_eq!(processes.len(), 3);
    assert_eq!(threads.len(), 3);
    assert!(processes.iter().all(|f| f[0] == "processes" && f[3] == "2"));
    assert!(
        threads
            .iter()
            .all(|f| f[0] == "threads" && f[1].is_empty() && f[3] == "3")
    );
}

/// An --out that is a file, not a folder: one `Error:` line naming the CSV, and no
/// report (it is printed only once the CSV is written).
#[test]
fn an_out_that_is_a_file_is_refused() {
    let dir = TempDir::new();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    let output = Command::new(binary())
        .args(["race", "--processes", "2", "--increments", "10", "--out"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(output.stdout.is_empty(), "{output:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("Error: could not write ") && stderr.contains("race-processes.csv"),
        "{stderr}"
    );
}

/// Bad numbers get one `Error:` line and a non-zero exit, and start nothing.
#[test]
fn bad_input_is_refused() {
    for (args, says) in [
        (&["--processes", "0"][..], "--processes must be at least 1"),
        (&["--processes", "257"][..], "at most 256"),
        (
            &["--increments", "0"][..],
            "--increments must be at least 1",
        ),
        (&["--increments", "1000000001"][..], "at most 1000000000"),
        (
            &["--processes", "2", "--increments", "600000000"][..],
            "too much work",
        ),
    ] {
        let output = Command::new(binary())
            .arg("race")
            .args(args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    }
    // What clap refuses: not a number, a start method with threads.
    for args in [
        &["--processes", "many"][..],
        &["--threads", "--start-method", "spawn"][..],
        &["--sync", "sometimes"][..],
    ] {
        let output = Command::new(binary())
            .arg("race")
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// Waits up to `limit` for `child` to exit; kills it and fails the test past that.
fn wait_bounded(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the race did not end within {limit:?} after a participant was killed");
        }
        sleep(Duration::from_millis(10));
    }
}

/// Starts a long `lock` race of two participants and waits until both are seen.
fn start_long_race(start_method: &str) -> (Child, Vec<u32>) {
    let mut child = Command::new(binary())
        .args(["race", "--sync", "lock", "--processes", "2"])
        .args(["--increments", "500000000", "--start-method", start_method])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let participants = children_of(child.id());
        if participants.len() == 2 {
            return (child, participants);
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("never saw the two participants: {participants:?}");
        }
        sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` to one participant by pid; the run must end with one line naming it
/// and saying `what` happened, and both participants must be gone (killed and reaped
/// by the parent).
fn signalled_participant(start_method: &str, signal: Signal, what: &str) {
    let (mut child, participants) = start_long_race(start_method);
    // Let them get going (at the gate, or adding under the lock: either way the
    // survivor would wait forever for a dead one without the parent's watch).
    sleep(Duration::from_millis(100));
    let victim = participants[0];
    let survivor = participants[1];
    // `victim` is still a child of the run we started: its parent has not exited,
    // so it has not reaped it, so the pid cannot have been reused.
    kill(Pid::from_raw(victim as i32), signal).unwrap();
    let status = wait_bounded(&mut child, Duration::from_secs(60));
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(!status.success(), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Error: race participant process {victim} {what} {signal}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("killed (if still running) and reaped the other 1"),
        "{stderr}"
    );
    // Killed and reaped by the parent before it exited: no such process any more,
    // not even a zombie. (Pids are handed out in turn up to a large maximum, so the
    // number is not reused within the few milliseconds since.)
    for pid in [victim, survivor] {
        assert!(
            !Path::new(&format!("/proc/{pid}")).exists(),
            "participant {pid} was left behind"
        );
    }
}

/// A forked participant killed mid-run: a clear error, not a hang, no stray process.
#[test]
fn a_killed_forked_participant_is_reported() {
    signalled_participant("fork", Signal::SIGKILL, "was killed by");
}

/// A participant stopped mid-run (`kill -STOP`) may hold the lock forever: the run
/// ends as if it had died, and kills and reaps it too, rather than hang.
#[test]
fn a_stopped_participant_is_reported() {
    signalled_participant("fork", Signal::SIGSTOP, "was stopped by");
}

/// The same for a spawned participant.
#[test]
fn a_killed_spawned_participant_is_reported() {
    signalled_participant("spawn", Signal::SIGKILL, "was killed by");
}

/// Whether `pid` is gone or dead (a zombie waiting for whoever adopted it).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat[stat.rfind(')').unwrap() + 1..]
            .trim_start()
            .starts_with('Z'),
    }
}

/// Killing the run itself kills its participants too (`PR_SET_PDEATHSIG`), under
/// both start methods: none is left adding in the background.
#[test]
fn participants_die_with_the_run() {
    for start_method in ["fork", "spawn"] {
        let (mut child, participants) = start_long_race(start_method);
        child.kill().unwrap();
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !participants.iter().all(|&pid| dead(pid)) {
            assert!(
                Instant::now() < deadline,
                "{start_method}: {participants:?} outlived the run"
            );
            sleep(Duration::from_millis(10));
        }
    }
}
