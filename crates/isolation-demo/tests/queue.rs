//! `isolation-demo queue`, run as a user would run it.
//!
//! Checked facts that timing cannot flip: every item arrives, in order; once the
//! queue is full a put ends only after a get (orderings of timestamps on one clock);
//! bad input is refused; a killed consumer ends the run with one clear line and no
//! process left behind.

use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod common;
use common::{binary, children_of};

/// A fresh output directory for one test.
fn out_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("talk-queue-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Rows of queue.csv: item, put_start, put_end, waited, got.
fn rows(dir: &std::path::Path) -> Vec<[u64; 5]> {
    let text = std::fs::read_to_string(dir.join("queue.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("item,put_start_ns,put_end_ns,put_waited,got_ns")
    );
    lines
        .map(|line| {
            let cells: Vec<u64> = line.split(',').map(|c| c.parse().unwrap()).collect();
            cells.try_into().unwrap()
        })
        .collect()
}

/// A slow consumer: every item delivered in order, and the full queue makes the
/// producer wait for gets.
#[test]
fn slow_consumer_blocks_the_producer() {
    let dir = out_dir("slow");
    let output = Command::new(binary())
        .args(["queue", "--items", "60", "--capacity", "3"])
        .args(["--consumer-delay-us", "2000", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("every item arrived, in order"), "{stdout}");
    let rows = rows(&dir);
    assert_eq!(rows.len(), 60);
    for (index, row) in rows.iter().enumerate() {
        assert_eq!(row[0], index as u64);
        // A put of item i >= C ends after the get of item i - C freed its slot.
        if index >= 3 {
            assert!(row[2] >= rows[index - 3][4], "{index}: {row:?}");
        }
        // Any put that slept ends after some get.
        if row[3] == 1 {
            assert!(rows.iter().any(|r| r[4] <= row[2]), "{index}: {row:?}");
        }
    }
    // Puts happen in order too.
    assert!(rows.windows(2).all(|w| w[0][2] <= w[1][1]));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Bad numbers: one line on stderr, a non-zero status, nothing run.
#[test]
fn bad_input_is_refused() {
    for args in [
        &["--items", "0"][..],
        &["--items", "100001"],
        &["--capacity", "0"],
        &["--capacity", "1025"],
        &["--consumer-delay-us", "1000001"],
        &["--items", "1000", "--consumer-delay-us", "100000"],
    ] {
        let output = Command::new(binary())
            .arg("queue")
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

/// A consumer killed mid-run: one clear line, no hang, no process left.
#[test]
fn a_killed_consumer_is_reported() {
    let dir = out_dir("killed");
    let mut child = Command::new(binary())
        .args(["queue", "--items", "1000", "--capacity", "2"])
        .args(["--consumer-delay-us", "50000", "--out"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let workers = loop {
        let workers = children_of(child.id());
        if workers.len() == 2 {
            break workers;
        }
        assert!(Instant::now() < deadline, "never saw both workers");
        sleep(Duration::from_millis(5));
    };
    // Each worker names itself (`/proc/PID/comm`); wait until both have.
    let consumer = loop {
        let named: Vec<_> = workers
            .iter()
            .filter(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == "consumer")
            })
            .collect();
        if let [consumer] = named[..] {
            break *consumer;
        }
        assert!(Instant::now() < deadline, "no worker named itself consumer");
        sleep(Duration::from_millis(5));
    };
    kill(Pid::from_raw(consumer as i32), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the queue did not end after its consumer was killed");
        }
        sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    assert!(!status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "consumer process {consumer} was killed by SIGKILL"
        )),
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
