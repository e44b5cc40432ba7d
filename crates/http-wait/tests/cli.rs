//! The `http-wait` binary, run as a user would run it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt;

fn http_wait() -> Command {
    Command::cargo_bin("http-wait").expect("the http-wait binary is built")
}

/// Kills the child when dropped, so a failed assertion cannot leave a server running.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `http-wait serve` on a free loopback port, with stdout piped to the test.
fn serve_on_loopback(stderr: Stdio) -> (KillOnDrop, std::process::ChildStdout) {
    let child = std::process::Command::cargo_bin("http-wait")
        .unwrap()
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let stdout = child.0.stdout.take().unwrap();
    (child, stdout)
}

/// `serve` announces its address on the first line of stdout, answers on it even
/// after its reader has closed stdout, and stops on Ctrl-C.
#[test]
fn serve_prints_its_address_first() {
    let (mut child, stdout) = serve_on_loopback(Stdio::null());

    // Read the first line on a helper thread, so the wait for it is bounded.
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(30))
        .expect("a first line within 30 s");
    let base = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(base.starts_with("http://127.0.0.1:"), "{line:?}");
    assert!(!base.ends_with(":0"), "the real port is printed: {line:?}");

    // The reader thread drops its end of the pipe after the first line. Whether the
    // server's second line (the curl hint) lands before that or fails with a broken
    // pipe is a race; either way the server must keep serving. (It used to exit
    // quietly when it lost the race, about 1 run in 3.)
    for ms in [0, 200] {
        std::thread::sleep(Duration::from_millis(ms));
        let fetched = http_wait::http_fetch(&format!("{base}/200?sleep={{ms}}"), 10).unwrap();
        assert_eq!(fetched.body, "200 OK");
    }

    // Ctrl-C (SIGINT) stops it cleanly, with exit code 0. Poll for at most 10 s.
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.0.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let mut status = None;
    for _ in 0..100 {
        status = child.0.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = status.expect("the server exits within 10 s of SIGINT");
    assert!(status.success(), "{status:?}");
}

/// On loopback, `serve` gives no warning, and its curl hint is the address it
/// announced, real port included.
#[test]
fn serve_on_loopback_hints_its_own_url_without_warning() {
    let (mut child, stdout) = serve_on_loopback(Stdio::piped());
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        for _ in 0..2 {
            let _ = send.send(lines.next());
        }
    });
    let next_line = || {
        receive
            .recv_timeout(Duration::from_secs(30))
            .expect("a line within 30 s")
            .expect("serve prints two lines")
            .unwrap()
    };
    let first = next_line();
    let base = first.strip_prefix("listening on ").unwrap();
    assert!(base.starts_with("http://127.0.0.1:"), "{first}");
    let hint = next_line();
    assert!(
        hint.starts_with(&format!("try: curl '{base}/200?sleep=1000'")),
        "{hint:?} for {base}"
    );

    // The server is up (it printed both lines); stop it and read all of stderr.
    child.0.kill().unwrap();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.0.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!stderr.contains("warning"), "{stderr:?}");
}

/// Without `--url`, `fetch` starts its own server, says so on stderr, and prints one
/// line per request in input order, then the total.
#[test]
fn fetch_uses_the_embedded_server() {
    let out = http_wait().args(["fetch", "100", "0"]).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(
        stderr.starts_with("no --url given: started a delay server on http://127.0.0.1:"),
        "{stderr:?}"
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    for (line, ms) in lines.iter().zip([100, 0]) {
        assert!(line.starts_with("GET http://127.0.0.1:"), "{line}");
        let tail = format!("/200?sleep={ms} -> 200 \"200 OK\" (");
        assert!(line.contains(&tail), "{line:?} contains {tail:?}");
        assert!(line.ends_with(" s)"), "{line}");
    }
    assert!(lines[2].starts_with("total: "), "{}", lines[2]);
}

/// A reader that has closed stdout before the first line (as `| head -0` would)
/// ends `fetch` quietly: status 0 and no `Error:` line.
#[test]
fn fetch_to_a_closed_stdout_ends_quietly() {
    let (read, write) = nix::unistd::pipe().unwrap();
    // Every write to the pipe now fails with EPIPE, with no race against a reader.
    drop(read);
    let out = std::process::Command::cargo_bin("http-wait")
        .unwrap()
        .args(["fetch", "0", "0"])
        .stdout(write)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("Error"), "{stderr:?}");
}

/// Bad input gets exactly one `Error:` line on stderr, no panic, and exit code 1.
#[test]
fn bad_input_is_one_error_line() {
    let cases: [(&[&str], &str); 9] = [
        (&["fetch", "abc"], "invalid wait \"abc\""),
        (&["fetch", "-5"], "invalid wait \"-5\""),
        (&["fetch", "30001"], "over the server's limit"),
        (
            &["fetch", "100", "--url", "http://127.0.0.1:1/200?sleep={ms}"],
            "connection to http://127.0.0.1:1/200?sleep=100 refused",
        ),
        (
            &["fetch", "100", "--url", "http://127.0.0.1:1/200"],
            "no {ms} placeholder",
        ),
        (&["fetch", "100", "--url", "localhost/{ms}"], "invalid URL"),
        // Not "connection to ... refused" after a connect to port 80.
        (
            &["fetch", "1", "--url", "http://127.0.0.1:99999/{ms}"],
            "invalid URL \"http://127.0.0.1:99999/{ms}\": port \"99999\" is not a number in 1..=65535",
        ),
        (
            &["fetch", "1", "--url", "http://127.0.0.1:0/200?sleep={ms}"],
            "port \"0\" is not a number in 1..=65535",
        ),
        (
            &["fetch", "1", "--url", "ftp://127.0.0.1:21/{ms}"],
            "scheme \"ftp\" is not http or https",
        ),
    ];
    for (args, message) in cases {
        let out = http_wait().args(args).assert().code(1);
        let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(stderr.starts_with("Error: "), "{args:?}: {stderr:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr:?}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
        assert!(out.get_output().stdout.is_empty(), "{args:?}");
    }
}

/// `--help` explains what the tool is for.
#[test]
fn help_explains_the_lesson() {
    let out = http_wait().arg("--help").assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(stdout.contains("concurrency vs parallelism"), "{stdout}");
    assert!(
        stdout.contains("serve") && stdout.contains("fetch"),
        "{stdout}"
    );
}
