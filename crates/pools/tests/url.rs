//! `pools --url` and the GET task's errors: each says what actually happened.
//!
//! Every server here listens on 127.0.0.1 only, and every wait is bounded: the
//! stand-in server stops accepting after 60 s or 100 connections, whichever comes
//! first, and reads each request with a 5 s timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use http_wait::DelayServer;

fn pools() -> Command {
    Command::cargo_bin("pools").expect("the pools binary is built")
}

/// Runs `pools --experiment get` with `args` and an `--out` folder that does not
/// exist yet, and checks that it failed with exactly one `Error:` line and no panic.
/// Returns that line, and whether the run created the folder.
fn one_error_line(args: &[&str]) -> (String, bool) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("results");
    let Output {
        status,
        stdout: _,
        stderr,
    } = pools()
        .args(["--experiment", "get"])
        .args(args)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8(stderr).unwrap();
    assert!(!status.success(), "{args:?} succeeded");
    // The built-in server's "GETs go to ..." line is not an error; nothing else may
    // precede the error.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| !line.starts_with("GETs go to"))
        .collect();
    assert_eq!(lines.len(), 1, "{args:?}: {stderr}");
    assert!(lines[0].starts_with("Error: "), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    (lines[0].to_owned(), out.exists())
}

/// A bad `--url` is reported as what it is, never as "does not answer": an invalid
/// port or a missing `{ms}` before any connection, a refused connection as refused,
/// and a 503 or a 400 with the status and the server's body.
#[test]
fn url_errors_say_what_happened() {
    let server = DelayServer::start().unwrap();
    let base = server.base_url();
    let cases = [
        (
            "http://127.0.0.1:99999/200?sleep={ms}".to_owned(),
            "Error: --url: invalid URL \"http://127.0.0.1:99999/200?sleep={ms}\": \
             port \"99999\" is not a number in 1..=65535"
                .to_owned(),
        ),
        (
            format!("{base}/200"),
            format!("Error: --url: URL template \"{base}/200\" has no {{ms}} placeholder"),
        ),
        // Port 1 is privileged: no test listens there.
        (
            "http://127.0.0.1:1/200?sleep={ms}".to_owned(),
            "Error: --url http://127.0.0.1:1/200?sleep={ms}: a first request, with no wait, \
             failed: connection to http://127.0.0.1:1/200?sleep=0 refused (is the delay server \
             running?): "
                .to_owned(),
        ),
        (
            format!("{base}/503?sleep={{ms}}"),
            format!("failed: GET {base}/503?sleep=0 answered 503: 503 Service Unavailable"),
        ),
        (
            format!("{base}/abc?sleep={{ms}}"),
            "answered 400: status must be a number in 200..=599, got \"abc\"".to_owned(),
        ),
    ];
    for (url, message) in cases {
        let (line, created_out) = one_error_line(&["--url", &url, "--pools", "thread"]);
        // Checked before anything is written: not even the --out folder is made.
        assert!(
            !created_out,
            "{url}: a refused --url left an --out folder behind"
        );
        assert!(
            line.contains(&message),
            "--url {url}:\n{line}\nlacks\n{message}"
        );
        assert!(!line.contains("does not answer"), "{line}");
    }
}

/// When the server hangs up in the middle of the waits, the error names the task and
/// carries the cause after "GET … failed", under every pool. Under the process pool
/// the error crosses from the worker process as a string, so this also proves that
/// the string holds the whole chain.
#[test]
fn a_failed_get_shows_its_cause() {
    let server = HangUpServer::start();
    let template = format!("http://{}/200?sleep={{ms}}", server.addr);
    for pool in ["thread", "gil", "process"] {
        let (line, _) = one_error_line(&[
            "--url",
            &template,
            "--get-inputs",
            "50,50",
            "--workers",
            "2",
            "--pools",
            pool,
        ]);
        assert!(
            line.starts_with(&format!("Error: task {pool}-get-")),
            "{line}"
        );
        let failed = format!("GET http://{}/200?sleep=50 failed: ", server.addr);
        let cause = line
            .split_once(&failed)
            .map(|(_, cause)| cause.trim())
            .unwrap_or_else(|| panic!("{pool}: no cause after {failed:?} in {line:?}"));
        assert!(!cause.is_empty(), "{pool}: {line}");
    }
}

/// A stand-in for a delay server that dies mid-wait: it answers the probe
/// (`sleep=0`) with 200, and closes every other connection as soon as it has read the
/// request, without answering.
struct HangUpServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl HangUpServer {
    fn start() -> HangUpServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut served = 0;
            while served < 100 && Instant::now() < deadline && !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        served += 1;
                        answer_or_hang_up(stream);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        HangUpServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for HangUpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn answer_or_hang_up(mut stream: TcpStream) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 8192 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let request_line = String::from_utf8_lossy(&head);
    if request_line
        .lines()
        .next()
        .unwrap_or("")
        .contains("sleep=0 ")
    {
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\n200 OK");
    }
    // Dropping the stream closes the connection: for any request but the probe,
    // before a single byte of answer.
}
