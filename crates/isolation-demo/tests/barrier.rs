//! `isolation-demo barrier`, run as a user would run it.
//!
//! Checked facts that timing cannot flip, under both start methods: in every round
//! every departure is at or after the last arrival (one clock, `CLOCK_MONOTONIC`, for
//! all processes); a killed participant ends the run with one clear line, no hang,
//! and no process left behind. Bad input is refused, hidden flags typed by hand
//! included.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod common;
use common::{binary, check_hidden_flags, children_of};

/// A fresh output directory for one test.
fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("talk-barrier-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Nobody leaves a round before the last one arrives, with and without work; the
/// report names the start method.
fn nobody_leaves_before_the_last_arrival(start_method: &str) {
    for work in ["0", "500"] {
        let dir = out_dir(&format!("order-{start_method}-{work}"));
        let output = Command::new(binary())
            .args(["barrier", "--start-method", start_method])
            .args(["--processes", "5", "--rounds", "30"])
            .args(["--max-work-us", work, "--out"])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = std::fs::read_to_string(dir.join("barrier.csv")).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("round,process,arrive_ns,depart_ns"));
        let rows: Vec<[u64; 4]> = lines
            .map(|l| {
                let cells: Vec<u64> = l.split(',').map(|c| c.parse().unwrap()).collect();
                cells.try_into().unwrap()
            })
            .collect();
        assert_eq!(rows.len(), 5 * 30);
        for round in rows.chunks(5) {
            assert!(round.iter().all(|r| r[0] == round[0][0]));
            let last_arrival = round.iter().map(|r| r[2]).max().unwrap();
            for row in round {
                assert!(row[3] >= last_arrival, "{round:?}");
            }
        }
        // And rounds follow one another: the next round's arrivals come after this
        // round's own departure, participant by participant.
        for (index, row) in rows.iter().enumerate().skip(5) {
            assert!(row[2] >= rows[index - 5][3], "{row:?}");
        }
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains("no process left before the last one arrived"));
        assert!(
            stdout.starts_with(&format!(
                "Barrier: 5 processes (started by {start_method}) meet 30 times"
            )),
            "{stdout}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Nobody leaves early, under fork.
#[test]
fn nobody_leaves_before_the_last_arrival_under_fork() {
    nobody_leaves_before_the_last_arrival("fork");
}

/// Nobody leaves early when every participant is a fresh run of the program.
#[test]
fn nobody_leaves_before_the_last_arrival_under_spawn() {
    nobody_leaves_before_the_last_arrival("spawn");
}

/// Hidden participant flags typed by hand, without their partners: clap refuses
/// them in its usual way, and nothing runs.
#[test]
fn hidden_flags_alone_are_refused() {
    check_hidden_flags(
        "barrier",
        &[
            &["--participant-of", "1"],
            &["--index", "0"],
            &["--shared-fd", "3"],
            &["--participant-of", "1", "--shared-fd", "3"],
        ],
        &["participant-of", "--index", "shared-fd"],
    );
}

/// Bad numbers: one line on stderr, a non-zero status, nothing run.
#[test]
fn bad_input_is_refused() {
    for args in [
        &["--processes", "0"][..],
        &["--processes", "65"],
        &["--rounds", "0"],
        &["--rounds", "10001"],
        &["--max-work-us", "100001"],
        &["--rounds", "1000", "--max-work-us", "100000"],
    ] {
        let output = Command::new(binary())
            .arg("barrier")
            .args(args)
            .args(["--out", "/nonexistent/never"])
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}

/// A participant killed mid-run leaves the others asleep at the barrier; the run
/// must still end, with one clear line, and leave nobody behind.
fn a_killed_participant_is_reported(start_method: &str) {
    let dir = out_dir(&format!("killed-{start_method}"));
    let mut child = Command::new(binary())
        .args(["barrier", "--start-method", start_method])
        .args(["--processes", "3", "--rounds", "500"])
        .args(["--max-work-us", "100000", "--out"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let workers = loop {
        let workers = children_of(child.id());
        if workers.len() == 3 {
            break workers;
        }
        assert!(
            Instant::now() < deadline,
            "never saw the three participants"
        );
        sleep(Duration::from_millis(5));
    };
    let victim = workers[0];
    kill(Pid::from_raw(victim as i32), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{start_method}: the barrier did not end after a participant was killed");
        }
        sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    assert!(!status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!("process {victim} was killed by SIGKILL"))
            && stderr.contains("killed (if still running) and reaped the other 2"),
        "{stderr}"
    );
    for pid in workers {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "{pid} left behind"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A forked participant killed mid-run.
#[test]
fn a_killed_forked_participant_is_reported() {
    a_killed_participant_is_reported("fork");
}

/// A spawned participant killed mid-run.
#[test]
fn a_killed_spawned_participant_is_reported() {
    a_killed_participant_is_reported("spawn");
}
