//! The `fib` binary, run as a user would run it.

use assert_cmd::Command;
use predicates::prelude::*;

fn fib() -> Command {
    Command::cargo_bin("fib").expect("the fib binary is built")
}

/// One line per input, in the documented format.
#[test]
fn prints_one_line_per_input() {
    let out = fib().args(["1", "2", "10", "30"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4);
    for (line, (n, value)) in lines.iter().zip([(1, 0), (2, 1), (10, 34), (30, 514_229)]) {
        let prefix = format!("fibonacci({n}) = {value} (");
        assert!(line.starts_with(&prefix), "{line:?} starts with {prefix:?}");
        assert!(line.ends_with(" s)"), "{line:?}");
    }
}

/// Each bad input gets one line on stderr, no panic, and a non-zero exit.
#[test]
fn bad_input_is_one_clear_line() {
    let cases: [(&[&str], &str); 4] = [
        (&["0"], "n must be at least 1"),
        (&["--", "-3"], "incorrect input -3"),
        (&["abc"], "invalid value 'abc'"),
        (&["99"], "n = 99 is too large"),
    ];
    for (args, message) in cases {
        let out = fib().args(args).assert().failure();
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(stderr.contains(message), "{args:?}: {stderr:?}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr:?}");
        assert!(stdout_is_empty(&out), "{args:?}");
    }
}

/// A bad input late in the list is caught before any work is done.
#[test]
fn checks_all_inputs_before_computing() {
    fib()
        .args(["30", "0"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty());
}

/// A reader that has closed stdout before the first line (as `| head -0` would)
/// ends the run quietly: status 0 and nothing on stderr.
#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fib"))
        .args(["20", "21", "22"])
        .stdout(closed_pipe())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "{out:?}");
}

/// Any other failure to write stdout is an error: one line that says so.
#[test]
fn a_full_stdout_is_an_error() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fib"))
        .arg("20")
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("Error: could not write to stdout: "),
        "{stderr:?}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
}

/// The write end of a pipe whose read end is already closed: every write to it
/// fails with `EPIPE`, with no race against the reader.
fn closed_pipe() -> std::os::fd::OwnedFd {
    let (read, write) = nix::unistd::pipe().unwrap();
    drop(read);
    write
}

fn stdout_is_empty(out: &assert_cmd::assert::Assert) -> bool {
    out.get_output().stdout.is_empty()
}
