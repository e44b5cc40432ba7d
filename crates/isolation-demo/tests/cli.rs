//! The `isolation-demo` binary, run as a user would run it.
//!
//! These tests check facts that timing noise cannot flip: which pids match, which
//! values a reader saw, how many lines of each kind there are. The one ordering they
//! rely on, that a reader's last read comes after main's last increment, has a whole
//! interval of slack (see the `schedule` module).

use std::time::{Duration, Instant};

use assert_cmd::Command;
use isolation_demo::line::{Actor, Line};

/// The binary under test.
fn demo() -> Command {
    Command::cargo_bin("isolation-demo").expect("the isolation-demo binary is built")
}

/// A successful run's stdout, split by actor.
#[derive(Debug)]
struct Run {
    main: Vec<Line>,
    thread: Vec<Line>,
    process: Vec<Line>,
    summary: Vec<String>,
}

impl Run {
    /// Runs the binary with `args`, checks that it succeeded quietly, and sorts its lines.
    ///
    /// Every line must be one of the three formats or a closing `Summary:`/`Next:`
    /// line: a garbled (interleaved) line would fail here.
    fn of(args: &[&str]) -> Run {
        let assert = demo().args(args).assert().success();
        let output = assert.get_output();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.is_empty(), "{args:?}: stderr {stderr:?}");
        let stdout = String::from_utf8(output.stdout.clone()).unwrap();
        let mut run = Run {
            main: vec![],
            thread: vec![],
            process: vec![],
            summary: vec![],
        };
        for text in stdout.lines() {
            match Line::parse(text) {
                Some(
                    line @ Line {
                        actor: Actor::Main, ..
                    },
                ) => run.main.push(line),
                Some(
                    line @ Line {
                        actor: Actor::Thread,
                        ..
                    },
                ) => run.thread.push(line),
                Some(
                    line @ Line {
                        actor: Actor::Process,
                        ..
                    },
                ) => run.process.push(line),
                None if text.starts_with("Summary: ") || text.starts_with("Next: ") => {
                    run.summary.push(text.to_owned())
                }
                None => panic!("{args:?}: unexpected line {text:?} in\n{stdout}"),
            }
        }
        run
    }

    /// Checks what holds in every mode: N lines per actor, main counting 1..=N, the
    /// thread in main's pid seeing updates, the process in a pid of its own.
    /// Returns the process's values.
    fn check_common(&self, iterations: u64) -> Vec<u64> {
        for lines in [&self.main, &self.thread, &self.process] {
            assert_eq!(lines.len() as u64, iterations, "{self:#?}");
        }
        let main_pid = self.main[0].pid;
        let values = |lines: &[Line]| lines.iter().map(|l| l.x).collect::<Vec<_>>();
        assert_eq!(values(&self.main), (1..=iterations).collect::<Vec<_>>());
        assert!(self.main.iter().all(|l| l.pid == main_pid), "{self:#?}");

        assert!(self.thread.iter().all(|l| l.pid == main_pid), "{self:#?}");
        assert!(self.thread.iter().any(|l| l.x > 0), "{self:#?}");
        assert!(values(&self.thread).is_sorted(), "{self:#?}");

        let process_pid = self.process[0].pid;
        assert_ne!(process_pid, main_pid);
        assert!(
            self.process.iter().all(|l| l.pid == process_pid),
            "{self:#?}"
        );
        assert_eq!(self.summary.len(), 2, "{self:#?}");
        assert!(
            self.summary[0].contains(&format!("(pid {process_pid})")),
            "{self:#?}"
        );
        values(&self.process)
    }
}

/// Under `fork`, the thread has main's pid and sees X change; the process has its
/// own pid and sees only 0.
#[test]
fn fork_process_sees_only_its_own_copy() {
    let run = Run::of(&["--iterations", "3", "--interval-ms", "50"]);
    assert_eq!(run.check_common(3), [0, 0, 0], "{run:#?}");
}

/// Under `spawn`, the same: the re-run program starts with X at 0 and nobody
/// changes it.
#[test]
fn spawn_process_sees_only_a_fresh_zero() {
    let run = Run::of(&[
        "--iterations",
        "3",
        "--interval-ms",
        "50",
        "--start-method",
        "spawn",
    ]);
    assert_eq!(run.check_common(3), [0, 0, 0], "{run:#?}");
}

/// With `--shared` under `fork`, the process reads the same page as main, so its
/// last read (an interval after main's last increment) is the final value.
#[test]
fn fork_shared_process_sees_the_final_value() {
    // A whole interval of slack separates main's last increment from the last read;
    // 500 ms is plenty even on a loaded machine.
    let run = Run::of(&["--iterations", "3", "--interval-ms", "500", "--shared"]);
    let seen = run.check_common(3);
    assert!(seen.is_sorted(), "{run:#?}");
    assert_eq!(seen.last(), Some(&3), "{run:#?}");
}

/// With `--shared` under `spawn`, the memfd passed by number does the same job
/// across `exec`.
#[test]
fn spawn_shared_process_sees_the_final_value() {
    let run = Run::of(&[
        "--iterations",
        "3",
        "--interval-ms",
        "500",
        "--shared",
        "--start-method",
        "spawn",
    ]);
    let seen = run.check_common(3);
    assert!(seen.is_sorted(), "{run:#?}");
    assert_eq!(seen.last(), Some(&3), "{run:#?}");
}

/// Many lines close together still come out whole, one per line, from both processes.
#[test]
fn lines_stay_whole_when_crowded() {
    for method in ["fork", "spawn"] {
        let run = Run::of(&[
            "--iterations",
            "200",
            "--interval-ms",
            "1",
            "--start-method",
            method,
        ]);
        assert!(run.check_common(200).iter().all(|&x| x == 0), "{method}");
    }
}

/// The defaults are the article's: three steps, one second apart, under `fork`.
/// (Only a lower bound on time: the run cannot be faster than its sleeps.)
#[test]
fn defaults_are_three_steps_a_second_apart() {
    let started = Instant::now();
    let run = Run::of(&[]);
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(run.check_common(3), [0, 0, 0], "{run:#?}");
    assert!(run.summary[0].contains("fork"), "{run:#?}");
}

/// Each bad input gets one `Error:` line on stderr, no panic, no output, and a
/// non-zero exit, before any child is started.
#[test]
fn bad_input_is_one_clear_line() {
    let cases: [(&[&str], &str); 5] = [
        (&["--iterations", "0"], "--iterations must be at least 1"),
        (
            &["--iterations", "1001"],
            "--iterations 1001 is too many: at most 1000",
        ),
        (&["--interval-ms", "0"], "--interval-ms must be at least 1"),
        (
            &["--interval-ms", "60001"],
            "--interval-ms 60001 is too long: at most 60000",
        ),
        (
            &["--spawned-reader", "1", "--interval-ms", "1"],
            "is not this process's parent",
        ),
    ];
    for (args, message) in cases {
        let assert = demo().args(args).assert().failure();
        let output = assert.get_output();
        let stderr = String::from_utf8(output.stderr.clone()).unwrap();
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
}

/// An unknown start method is refused by clap, which names the possible values.
#[test]
fn unknown_start_method_is_refused() {
    let assert = demo().args(["--start-method", "thread"]).assert().failure();
    let output = assert.get_output();
    let stderr = String::from_utf8(output.stderr.clone()).unwrap();
    assert!(stderr.contains("invalid value 'thread'"), "{stderr:?}");
    assert!(
        stderr.contains("[possible values: fork, spawn]"),
        "{stderr:?}"
    );
    assert!(!stderr.contains("panicked"), "{stderr:?}");
    assert!(output.stdout.is_empty());
}

/// The spawned reader's flags are internal and do not appear in `--help`.
#[test]
fn worker_flags_are_hidden() {
    let assert = demo().arg("--help").assert().success();
    let help = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(help.contains("--shared"), "{help}");
    assert!(!help.contains("spawned-reader"), "{help}");
    assert!(!help.contains("shared-fd"), "{help}");
}

/// The reader process dies with the demo even when it is stopped: `kill -STOP` on the
/// reader, then `kill -9` on the demo, and the reader is gone. (With the SIGTERM it
/// used to ask for, it stayed stopped forever, adopted by init.)
#[test]
fn a_stopped_reader_dies_with_a_killed_demo() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let mut demo = Command::new(env!("CARGO_BIN_EXE_isolation-demo"))
        .args(["--iterations", "20", "--interval-ms", "300"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(demo.stdout.take().unwrap());
    // The reader's first line gives its pid.
    let reader = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|text| Line::parse(&text).filter(|l| l.actor == Actor::Process))
        .expect("the reader prints a line")
        .pid;
    let reader = Pid::from_raw(reader as i32);
    let born = start_time(reader).expect("the reader is alive");
    kill(reader, Signal::SIGSTOP).unwrap();
    demo.kill().unwrap(); // SIGKILL
    demo.wait().unwrap();
    // Gone: no such process, a zombie waiting for init, or (pid reused) someone else.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let gone = match std::fs::read_to_string(format!("/proc/{reader}/stat")) {
            Err(_) => true,
            Ok(stat) => stat_field(&stat, 0) == Some("Z") || start_time(reader) != Some(born),
        };
        if gone {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reader {reader} is still there 10 s after the demo was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A reader that has closed stdout before the first line (as `| head -0` would)
/// ends the demo quietly, under both start methods: status 0 and nothing on stderr,
/// from main or from the reader process. (The closing summary used to be the
/// exception, with an `Error:` line.)
#[test]
fn a_closed_stdout_ends_the_demo_quietly() {
    for method in ["fork", "spawn"] {
        for shared in [false, true] {
            let (read, write) = nix::unistd::pipe().unwrap();
            // Every write to the pipe now fails with EPIPE, with no race against a reader.
            drop(read);
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_isolation-demo"));
            command.args([
                "--iterations",
                "2",
                "--interval-ms",
                "1",
                "--start-method",
                method,
            ]);
            if shared {
                command.arg("--shared");
            }
            let out = command.stdout(write).output().unwrap();
            assert!(out.status.success(), "{method} {shared}: {out:?}");
            assert!(out.stderr.is_empty(), "{method} {shared}: {out:?}");
        }
    }
}

/// Field `n` of `/proc/PID/stat` after the command name (0 is the state letter).
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    stat.rsplit_once(") ")?.1.split(' ').nth(n)
}

/// When `pid` started, in clock ticks since boot: with the pid, it names one process.
fn start_time(pid: nix::unistd::Pid) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Field 22 of stat(5); field 3 (the state) is the first after the name.
    stat_field(&stat, 22 - 3)?.parse().ok()
}

/// An `--out` that can never be written is refused before the demo runs, not at the
/// end of it: each run below would take 10 s or more, and is refused at once (the
/// bound allows 8 s, for a loaded machine), with one `Error:` line naming the CSV.
#[test]
fn an_unusable_out_is_refused_before_the_run() {
    let dir = std::env::temp_dir().join(format!("isolation-demo-out-{}", std::process::id()));
    std::fs::write(&dir, "a file, not a folder").unwrap();
    let out = dir.to_str().unwrap();
    let runs: [(&[&str], &str); 3] = [
        (
            &["queue", "--items", "40000", "--consumer-delay-us", "500"],
            "queue.csv",
        ),
        (
            &["barrier", "--rounds", "10000", "--max-work-us", "2000"],
            "barrier.csv",
        ),
        (
            &["race", "--sync", "lock", "--increments", "250000000"],
            "race-processes.csv",
        ),
    ];
    for (args, csv) in runs {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("isolation-demo"))
            .args(args)
            .args(["--out", &format!("{out}/sub")])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if started.elapsed() > std::time::Duration::from_secs(8) {
                child.kill().unwrap();
                child.wait().unwrap();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let status = status.unwrap_or_else(|| panic!("{args:?} ran on with a bad --out"));
        assert!(!status.success(), "{args:?}");
        assert!(output.stdout.is_empty(), "{args:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(
            stderr.contains(csv) && stderr.contains("is not a folder"),
            "{stderr}"
        );
    }
    std::fs::remove_file(&dir).unwrap();
}
