//! The `pools` binary, run as a user runs it: files, pids and errors.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;

/// The smallest real run: one Fibonacci task on the thread pool.
const SMALL_RUN: [&str; 6] = [
    "--experiment",
    "fib",
    "--pools",
    "thread",
    "--fib-inputs",
    "5",
];

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
        "Run experiment process: running fibonacci over [20, …, 25] among 6 workers started by fork ..."
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
    // The GIL intervals recorded in the file never overlap. The file holds Unix times
    // only, read from the system clock, so a step of that clock during the run could
    // flip this; `tests/threads.rs` checks the same claim on the monotonic clock. This
    // check is on what the file says, which `report` draws.
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
///
/// Read from the CSV files, whose times are Unix times from the system clock: a step
/// of that clock during the run could flip the check. For the GIL pool the same claim
/// is checked on the monotonic clock in `tests/threads.rs`.
///
/// Each wait is a full second, so the claim holds unless a worker starts its wait a
/// second after another has started its own. With waits of 200-400 ms the GIL pool's
/// waits missed each other in 1 run of 60 on a loaded 2-core machine (load average
/// 8): a GIL thread must take the lock before it starts its task, and under that load
/// the hand-overs can add up to more than 200 ms.
#[test]
fn get_waits_overlap_in_every_pool() {
    let (dir, _, stdout) = run_ok(&["--experiment", "get", "--get-inputs", "1000,1000,1000"]);
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
    let cases: [(&[&str], &str); 16] = [
        (&["--fib-inputs", "42..34"], "the range is empty"),
        // A flag that none of the chosen pools or experiments uses is refused, not
        // ignored without a word.
        (
            &["--pools", "thread,async", "--start-method", "spawn"],
            "--start-method applies to the process pool",
        ),
        (
            &["--pools", "process,thread", "--switch-interval-ms", "1"],
            "--switch-interval-ms applies to the gil pool",
        ),
        (
            &["--experiment", "fib", "--url", "http://127.0.0.1:1/{ms}"],
            "--url serves the GET tasks",
        ),
        (
            &["--pools", "async,thread,async"],
            "--pools names async twice",
        ),
        (
            &["--experiment", "fib", "--get-inputs", "100"],
            "--get-inputs are for the GET experiment",
        ),
        (
            &["--experiment", "get", "--fib-inputs", "20"],
            "--fib-inputs are for the Fibonacci experiment",
        ),
        (
            &["--pools", "async", "--chunksize", "1"],
            "--chunksize applies to the process, thread and gil pools",
        ),
        (&["--fib-inputs", "x"], "`x` is not a non-negative integer"),
        (&["--fib-inputs", "99"], "n = 99 is too large"),
        (&["--workers", "0"], "--workers must be at least 1"),
        (
            &["--chunksize", "0"],
            "--chunksize: a chunksize is `auto` or a whole",
        ),
        (
            &["--pools", "thread,async", "--chunksize", "auto"],
            "--chunksize applies to the process, thread and gil pools",
        ),
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

/// When the parent is SIGKILLed mid-run, its workers go too (Python's stay), under
/// every start method, and so does the forkserver.
///
/// Nothing here depends on how fast the machine is: the workers wait on a server
/// that never answers (for the client's 35 s timeout), and every child is stopped
/// with SIGSTOP before the parent is killed. A stopped process runs no code, so it
/// cannot exit on its own by reading end-of-file or failing to write a result: only
/// the death signal (SIGKILL, which ends a stopped process too) can end it.
#[test]
fn workers_die_with_their_parent() {
    let server = StuckServer::start();
    for (method, expected_children) in [("fork", 2), ("spawn", 2), ("forkserver", 3)] {
        let dir = tempfile::tempdir().unwrap();
        let mut child = long_run(dir.path(), &server)
            .args(["--start-method", method])
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let parent = child.id();
        // Once both GETs have reached the server, every worker is running its task, so
        // it has armed its death signal; under forkserver, the forkserver has served
        // the requests, so it has armed its own.
        server.wait_for_requests(2);
        let family = children(parent);
        assert_eq!(family.len(), expected_children, "{method}: {family:?}");
        for &pid in &family {
            stop(pid);
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        assert!(
            all_gone(&family),
            "{method}: children outlived their parent: {}",
            describe(&family)
        );
        server.forget_requests();
    }
}

/// The built-in delay server, a child process, dies with `pools` too, though it would
/// serve forever: stopped, and its parent SIGKILLed, it is gone.
#[test]
fn the_delay_server_dies_with_its_parent() {
    use std::io::BufRead;

    let dir = tempfile::tempdir().unwrap();
    // A thread pool, so that the server is the only child; a wait of 30 s, so that the
    // run is still going when it is killed.
    let mut child = pools()
        .args(["--experiment", "get", "--pools", "thread"])
        .args(["--get-inputs", "30000", "--out"])
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let parent = child.id();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let base = stderr
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("GETs go to the built-in delay server at ")
                .map(str::to_owned)
        })
        .expect("pools names its delay server");
    // An answer proves the server is serving, so it has armed its death signal.
    let answer = http_wait::http_fetch(&format!("{base}/200?sleep={{ms}}"), 0).unwrap();
    assert_eq!(answer.status, 200);
    let family = children(parent);
    assert_eq!(family.len(), 1, "only the delay server: {family:?}");
    stop(family[0]);
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        all_gone(&family),
        "the delay server outlived its parent: {}",
        describe(&family)
    );
}

/// A server on 127.0.0.1 that answers `GET /200?sleep=0` (the first request `pools
/// --url` makes, to check the URL) at once, and never answers any other: a task that
/// fetches from it waits for its client's timeout, 35 s, however fast the machine.
struct StuckServer {
    template: String,
    /// How many requests it is holding unanswered.
    waiting: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl StuckServer {
    fn start() -> StuckServer {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let template = format!("http://{}/200?sleep={{ms}}", listener.local_addr().unwrap());
        let waiting = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = waiting.clone();
        // Lives as long as the test binary: it holds the connections it never answers.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if request.starts_with(b"GET /200?sleep=0 ") {
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\n200 OK",
                    );
                } else {
                    held.push(stream);
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        StuckServer { template, waiting }
    }

    /// Waits (at most 20 s) until `n` requests are being held.
    fn wait_for_requests(&self, n: usize) {
        use std::sync::atomic::Ordering;
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.waiting.load(Ordering::SeqCst) < n {
            assert!(Instant::now() < deadline, "{n} requests never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts counting afresh, for the next run.
    fn forget_requests(&self) {
        self.waiting.store(0, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A run that lasts until it is stopped: two GETs on two worker processes, sent to
/// `server`, which never answers them.
fn long_run(out: &Path, server: &StuckServer) -> Command {
    let mut command = pools();
    command
        .args(["--experiment", "get", "--pools", "process"])
        .args(["--get-inputs", "30000,30000", "--url", &server.template])
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null());
    command
}

/// Stops `pid` with SIGSTOP and waits (at most 10 s) until it is stopped.
fn stop(pid: u32) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGSTOP,
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while state(pid) != Some('T') {
        assert!(Instant::now() < deadline, "{pid} did not stop");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Each pid with its state letter, for a failure message.
fn describe(pids: &[u32]) -> String {
    let states: Vec<String> = pids
        .iter()
        .map(|&p| format!("{p} ({})", state(p).unwrap_or('-')))
        .collect();
    states.join(", ")
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

/// The children of `pid` (of any of its threads), found by scanning `/proc` for
/// processes whose parent it is.
fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry.file_name().to_str().and_then(|n| n.parse().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue; // gone meanwhile
        };
        // After the parenthesised name: the state, then the parent's pid.
        let ppid = stat
            .rsplit_once(") ")
            .and_then(|(_, rest)| rest.split(' ').nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            found.push(child);
        }
    }
    found.sort();
    found
}

/// The state letter of `pid` (`R`, `S`, `T`, `Z`, ...), or `None` if it is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The state is the first field after the parenthesised command name.
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Whether `pid` is a running (not zombie) process.
fn running(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// Ctrl-C (SIGINT to the whole process group, as a terminal sends it) stops the run
/// at once: exit status 130, one "interrupted" line (not one per worker), every
/// worker gone, and no file, whole or partial, from the interrupted experiment.
#[test]
fn ctrl_c_stops_everything() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let server = StuckServer::start();
    let mut command = long_run(dir.path(), &server);
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
    server.wait_for_requests(2);
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

/// Ctrl-C stops a run on the async pool as it stops the others: status 130, one
/// "interrupted" line, and no file from the interrupted experiment. Its two GETs wait
/// on one thread, for a server that never answers.
#[test]
fn ctrl_c_stops_the_async_pool() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let server = StuckServer::start();
    let mut command = pools();
    command
        .args(["--experiment", "get", "--pools", "async"])
        .args(["--get-inputs", "30000,30000", "--url", &server.template])
        .arg("--out")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
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
    // Both GETs are in flight, on the one thread: the handler is installed by then.
    server.wait_for_requests(2);
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(parent as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("interrupted").count(), 1, "{stderr}");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was left"
    );
}

/// A run whose one file takes a while to write: 300,000 rows, about 24 MB (about a
/// second in a debug build, a tenth of that optimised). The tasks themselves are tiny.
const BIG_WRITE: [&str; 10] = [
    "--experiment",
    "fib",
    "--pools",
    "thread",
    "--fib-inputs",
    "1",
    "--repeat",
    "300000",
    "--workers",
    "2",
];

/// The rows a complete `thread-fibo.csv` of [`BIG_WRITE`] has, header included.
const BIG_WRITE_ROWS: usize = 300_001;

/// A command that runs [`BIG_WRITE`] into `out`, in a process group of its own, with
/// SIGINT at its default (a test runner started in the background may ignore it).
fn big_write(out: &Path) -> Command {
    use std::os::unix::process::CommandExt;

    let mut command = pools();
    command
        .args(BIG_WRITE)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    // Safety: resetting a signal disposition is async-signal-safe.
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
    command
}

/// The names and contents of the files in `dir`.
fn snapshot(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    names(dir)
        .into_iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Waits until a file in `dir` is being written: one that was not in `before` and
/// already holds data, or one of `before` whose size has changed. This does not
/// assume how the program writes (into a temporary file or straight into the final
/// one). Panics if `child` exits first, or after 60 s.
fn wait_for_a_write(
    dir: &Path,
    before: &std::collections::BTreeMap<String, Vec<u8>>,
    child: &mut std::process::Child,
) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().into_string().unwrap();
            let len = entry.metadata().map_or(0, |m| m.len());
            let writing = match before.get(&name) {
                None => len > 0,
                Some(old) => len != old.len() as u64,
            };
            if writing {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("pools ended ({status}) before any write was seen");
        }
        assert!(Instant::now() < deadline, "no write began within 60 s");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Whether `text` is the whole `thread-fibo.csv` of [`BIG_WRITE`]: every row, the
/// last one complete.
fn is_whole_big_csv(text: &[u8]) -> bool {
    let text = String::from_utf8_lossy(text);
    let lines: Vec<&str> = text.lines().collect();
    text.ends_with('\n')
        && lines.len() == BIG_WRITE_ROWS
        && lines
            .last()
            .is_some_and(|l| l.starts_with("thread-fibo-299999,") && l.split(',').count() == 9)
}

/// SIGKILL, which nothing can hold back, while a file is being written: every file
/// under its final name is either the previous run's, byte for byte, or the new one
/// whole. Never half of one: each file is written to a temporary file and renamed
/// into place. The temporary file the killed run leaves is removed by the next run.
#[test]
fn a_run_killed_while_writing_leaves_no_half_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // A previous run's files, which the killed run was about to replace.
    run_into(out, &SMALL_RUN);
    let before = snapshot(out);
    let mut child = big_write(out).stderr(Stdio::null()).spawn().unwrap();
    wait_for_a_write(out, &before, &mut child);
    child.kill().unwrap();
    child.wait().unwrap();

    for (name, bytes) in snapshot(out) {
        if name.starts_with(".pools-") {
            continue; // the killed run's temporary file: not a result
        }
        let old = before.get(&name);
        let whole_new = match name.as_str() {
            "thread-fibo.csv" => is_whole_big_csv(&bytes),
            "experiments.csv" => String::from_utf8_lossy(&bytes)
                .lines()
                .any(|l| l.starts_with("thread-fibo,thread,fibonacci,300000,")),
            _ => false,
        };
        assert!(
            old == Some(&bytes) || whole_new,
            "{name} is half-written: {} bytes, {} lines",
            bytes.len(),
            String::from_utf8_lossy(&bytes).lines().count()
        );
    }
    // The next run removes what the killed one left.
    run_into(out, &SMALL_RUN);
    assert_eq!(names(out), ["experiments.csv", "thread-fibo.csv"]);
}

/// Ctrl-C while a file is being written: the signal is held back until the
/// experiment's files and its row of experiments.csv are all in place, then the run
/// stops (status 130, one "interrupted" line). So the folder holds the new file whole,
/// a row that describes it, and no temporary file.
#[test]
fn ctrl_c_while_writing_waits_for_the_experiments_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let before = snapshot(out);
    let mut child = big_write(out).spawn().unwrap();
    wait_for_a_write(out, &before, &mut child);
    // Like a terminal's Ctrl-C: the signal goes to every process in the group.
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert_eq!(stderr.matches("interrupted").count(), 1, "{stderr}");
    assert_eq!(
        names(out),
        ["experiments.csv", "thread-fibo.csv"],
        "a file is missing, or a temporary file was left"
    );
    let csv = std::fs::read(out.join("thread-fibo.csv")).unwrap();
    assert!(is_whole_big_csv(&csv), "thread-fibo.csv is half-written");
    let tags: Vec<String> = experiment_rows(out).into_iter().map(|r| r.0).collect();
    assert_eq!(
        tags,
        ["thread-fibo"],
        "experiments.csv does not describe it"
    );
}

/// Every file a run writes has the mode of any new file, 0666 less the umask (a
/// temporary file's own is 0600, which would hide the results from the group).
#[test]
fn files_have_the_mode_of_new_files() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    for umask in [0o022, 0o007, 0o077] {
        let dir = tempfile::tempdir().unwrap();
        let mut command = pools();
        command
            .args(["--experiment", "fib", "--pools", "thread,gil"])
            .args(["--fib-inputs", "5", "--out"])
            .arg(dir.path());
        // Safety: `umask` is async-signal-safe and touches no memory.
        unsafe {
            command.pre_exec(move || {
                libc::umask(umask);
                Ok(())
            });
        }
        let output = command.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let files = names(dir.path());
        assert_eq!(files.len(), 4, "{files:?}");
        for name in files {
            let mode = std::fs::metadata(dir.path().join(&name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(
                mode,
                0o666 & !umask,
                "{name}: {mode:o} under umask {umask:03o}"
            );
        }
    }
}

/// Runs `pools` with `args` into `out` and expects a refusal: a non-zero exit and one
/// `Error:` line that contains `message`, with no panic. Returns the line.
fn refused(out: &Path, args: &[&str], message: &str) -> String {
    let output = pools().args(args).arg("--out").arg(out).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "{args:?} succeeded");
    assert!(stderr.starts_with("Error: "), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    stderr
}

/// The names in a folder, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Sizes over their limits are refused with one line that names the limit, before
/// anything is allocated or started: no panic, no abort, no file.
#[test]
fn sizes_over_their_limits_are_one_clear_line() {
    let fib = ["--experiment", "fib", "--pools", "thread"];
    let cases: [(&[&str], &str); 9] = [
        (
            &["--fib-inputs", "5", "--workers", "18446744073709551615"],
            "--workers 18446744073709551615 is over the limit of",
        ),
        (
            &["--fib-inputs", "5", "--workers", "100000"],
            "--workers 100000 is over the limit of",
        ),
        (
            &["--fib-inputs", "5", "--repeat", "18446744073709551615"],
            "1 input × --repeat 18446744073709551615 = 18446744073709551615 tasks is over the \
             limit of 1,000,000 tasks per experiment",
        ),
        (
            &["--fib-inputs", "5..9", "--repeat", "4000000000"],
            "4 inputs × --repeat 4000000000 = 16000000000 tasks is over the limit",
        ),
        // One task over the limit that the report benchmark's million-task run meets.
        (
            &["--fib-inputs", "5..9", "--repeat", "250001"],
            "= 1000004 tasks is over the limit of 1,000,000",
        ),
        (
            &["--fib-inputs", "0..18446744073709551615"],
            "18446744073709551615 values is too many (at most 1,000,000",
        ),
        // The nit: the number as typed, not i64::MAX.
        (
            &["--fib-inputs", "18446744073709551615"],
            "n = 18446744073709551615 is too large",
        ),
        // The nit: 1e-300 ms passed "above 0" and was recorded as 0.
        (
            &["--switch-interval-ms", "1e-300"],
            "--switch-interval-ms must be from 0.001 (1 µs) to 1000, not 1e-300",
        ),
        (
            &[
                "--experiment",
                "get",
                "--get-inputs",
                "0..30000",
                "--repeat",
                "34",
            ],
            "--get-inputs: 30000 inputs × --repeat 34 = 1020000 tasks is over the limit",
        ),
    ];
    for (args, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        let args: Vec<&str> = if args.contains(&"--experiment") {
            args.to_vec()
        } else {
            fib.iter().chain(args).copied().collect()
        };
        refused(dir.path(), &args, message);
        assert_eq!(names(dir.path()), [] as [String; 0], "{args:?} left files");
    }
}

/// `--help` names both limits.
#[test]
fn help_names_the_limits() {
    let out = pools().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("at most 1,000,000 tasks per experiment"),
        "{help}"
    );
    assert!(help.contains("at most 4096 workers per pool"), "{help}");
    assert!(help.contains("from 0.001 (1 µs) to 1000"), "{help}");
}

/// The variable that makes `pools` a spawn worker, set by hand: one line saying
/// what it is, instead of a silent exit 1.
#[test]
fn the_spawn_worker_variable_set_by_hand_is_explained() {
    for value in ["1", "x", ""] {
        let out = pools()
            .env("POOLS_SPAWN_WORKER_OF", value)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{value:?}: {stderr}");
        assert!(
            stderr.starts_with("Error: POOLS_SPAWN_WORKER_OF is an internal variable"),
            "{value:?}: {stderr}"
        );
    }
}

/// A second run into a folder that a run is using is refused with one line, and
/// writes nothing: here the first "run" is this test holding the lock, exclusive
/// (another pools) or shared (a report reading the folder).
#[test]
fn a_busy_out_folder_is_refused() {
    use nix::fcntl::{Flock, FlockArg};

    for how in [
        FlockArg::LockExclusiveNonblock,
        FlockArg::LockSharedNonblock,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let lock = Flock::lock(std::fs::File::open(dir.path()).unwrap(), how).unwrap();
        refused(dir.path(), &SMALL_RUN, "is in use by another pools run");
        assert_eq!(names(dir.path()), [] as [String; 0]);
        // Once the holder is done, the folder is free, and no lock file is left.
        drop(lock);
        run_into(dir.path(), &SMALL_RUN);
        assert_eq!(names(dir.path()), ["experiments.csv", "thread-fibo.csv"]);
    }
}

/// Two real runs: while one has its workers running (so it is past opening its
/// folder), a second one into the same folder is refused and changes nothing.
#[test]
fn two_runs_into_one_folder_the_second_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = StuckServer::start();
    let mut first = long_run(dir.path(), &server)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let workers = wait_for_children(first.id(), 2);
    refused(dir.path(), &SMALL_RUN, "is in use by another pools run");
    assert_eq!(names(dir.path()), [] as [String; 0]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(all_gone(&workers), "orphaned workers: {workers:?}");
}

/// Runs `pools` with `args` into `out`, and expects success.
fn run_into(out: &Path, args: &[&str]) {
    let output = pools().args(args).arg("--out").arg(out).output().unwrap();
    assert!(
        output.status.success(),
        "pools {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The rows of experiments.csv, as text, by tag.
fn experiment_rows(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("experiments.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| (line.split(',').next().unwrap().to_owned(), line.to_owned()))
        .collect()
}

/// A later run keeps the rows of the experiments it did not run, byte for byte, and
/// in place; it replaces the rows of those it ran; and it drops a row whose per-task
/// CSV is gone. So experiments.csv always describes exactly the per-task CSVs there.
#[test]
fn a_later_run_keeps_the_rows_of_other_experiments() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let fib = [
        "--experiment",
        "fib",
        "--pools",
        "thread,gil",
        "--fib-inputs",
        "5..8",
    ];
    run_into(out, &fib);
    let after_fib = experiment_rows(out);
    assert_eq!(
        after_fib.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(),
        ["thread-fibo", "gil-fibo"]
    );

    // The case: `get` after `fib` used to drop the fib rows.
    run_into(
        out,
        &[
            "--experiment",
            "get",
            "--pools",
            "thread",
            "--get-inputs",
            "10",
        ],
    );
    let after_get = experiment_rows(out);
    assert_eq!(after_get[..2], after_fib[..], "the fib rows changed");
    assert_eq!(after_get[2].0, "thread-get");
    assert_eq!(after_get.len(), 3);

    // Rerunning one pool replaces its row in place and keeps the others.
    run_into(
        out,
        &[
            "--experiment",
            "fib",
            "--pools",
            "thread",
            "--fib-inputs",
            "9,9,9",
        ],
    );
    let after_rerun = experiment_rows(out);
    let tags: Vec<&str> = after_rerun.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(tags, ["thread-fibo", "gil-fibo", "thread-get"]);
    assert_ne!(
        after_rerun[0], after_fib[0],
        "thread-fibo was not rewritten"
    );
    assert!(
        after_rerun[0]
            .1
            .starts_with("thread-fibo,thread,fibonacci,3,3,")
    );
    assert_eq!(after_rerun[1..], after_get[1..]);

    // A row whose CSV was removed describes nothing, and goes.
    std::fs::remove_file(out.join("thread-get.csv")).unwrap();
    run_into(
        out,
        &["--experiment", "fib", "--pools", "gil", "--fib-inputs", "5"],
    );
    let tags: Vec<String> = experiment_rows(out).into_iter().map(|r| r.0).collect();
    assert_eq!(tags, ["thread-fibo", "gil-fibo"]);
    // Every row has its CSV, and every per-task CSV has its row.
    for tag in &tags {
        assert!(out.join(format!("{tag}.csv")).is_file(), "{tag}");
    }
    assert_eq!(
        names(out),
        [
            "experiments.csv",
            "gil-fibo-held.csv",
            "gil-fibo.csv",
            "thread-fibo.csv"
        ]
    );
}

/// An experiments.csv that pools did not write is not overwritten (its rows might
/// describe files there): the run is refused before it starts, and nothing changes.
#[test]
fn an_unreadable_experiments_csv_is_refused_not_overwritten() {
    let cases: [(&str, &str); 3] = [
        (
            "name,when\nx,1\n",
            "experiments.csv line 1: the header is `name,when`",
        ),
        (
            "tag,pool,function,inputs,workers,start_method,switch_interval_ms,started_at,\
             finished_at,makespan,voluntary_switches,involuntary_switches,gil_switches\n\
             ../etc,thread,fibonacci,1,1,,,1,2,1,0,0,0\n",
            "experiments.csv line 2: `../etc` is not a tag",
        ),
        (
            "tag,pool,function,inputs,workers,start_method,switch_interval_ms,started_at,\
             finished_at,makespan,voluntary_switches,involuntary_switches,gil_switches\n\
             thread-fibo,thread\n",
            "cannot read",
        ),
    ];
    for (text, message) in cases {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("experiments.csv"), text).unwrap();
        let line = refused(dir.path(), &SMALL_RUN, message);
        assert!(
            line.contains("move the file away, or choose another --out"),
            "{line}"
        );
        assert_eq!(names(dir.path()), ["experiments.csv"]);
        let kept = std::fs::read_to_string(dir.path().join("experiments.csv")).unwrap();
        assert_eq!(kept, text);
    }
}

/// A run removes the temporary files that a killed run left (their names carry the
/// writer's pid, and that pid is gone), and nothing else: not a live process's, not
/// one without a pid, not another program's, not a link or a folder.
#[test]
fn stale_temporary_files_of_killed_runs_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    // A run killed with SIGKILL: its pid is dead (and reaped) once `wait` returns.
    let server = StuckServer::start();
    let mut killed = long_run(&out.join("elsewhere"), &server)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let dead = killed.id();
    let workers = wait_for_children(dead, 2);
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(all_gone(&workers), "orphaned workers: {workers:?}");
    std::fs::remove_dir_all(out.join("elsewhere")).unwrap();

    let stale = format!(".pools-{dead}-a1B2c3.tmp");
    let live = format!(".pools-{}-a1B2c3.tmp", std::process::id());
    let keep = [
        live.as_str(),
        ".pools-a1B2c3.tmp", // no pid: an older version's, whose writer is unknown
        ".pools-probe-a1B2c3",
        ".report-1-a1B2c3.tmp", // another program's
        "notes.tmp",
    ];
    for name in keep.iter().chain([&stale.as_str()]) {
        std::fs::write(out.join(name), "x").unwrap();
    }
    let link = format!(".pools-{dead}-linkxx.tmp");
    std::os::unix::fs::symlink("notes.tmp", out.join(&link)).unwrap();
    let folder = format!(".pools-{dead}-dirxxx.tmp");
    std::fs::create_dir(out.join(&folder)).unwrap();

    run_into(out, &SMALL_RUN);
    let mut expected: Vec<String> = keep.iter().map(|s| s.to_string()).collect();
    expected.extend([link, folder]);
    expected.extend(["experiments.csv".into(), "thread-fibo.csv".into()]);
    expected.sort();
    assert_eq!(names(out), expected);
}

/// Where `ulimit -u` is below the fixed cap, it is the limit, and the line says so.
#[test]
fn the_worker_limit_follows_ulimit_u() {
    use std::os::unix::process::CommandExt;

    let dir = tempfile::tempdir().unwrap();
    let mut command = pools();
    command
        .args([
            "--experiment",
            "fib",
            "--pools",
            "thread",
            "--fib-inputs",
            "5",
        ])
        .args(["--workers", "301", "--out"])
        .arg(dir.path());
    // Safety: `getrlimit` and `setrlimit` are async-signal-safe; lowering a soft
    // limit needs no privilege.
    unsafe {
        command.pre_exec(|| {
            use nix::sys::resource::{Resource, getrlimit, setrlimit};
            let (_, hard) = getrlimit(Resource::RLIMIT_NPROC)?;
            setrlimit(Resource::RLIMIT_NPROC, 300.min(hard), hard).map_err(std::io::Error::from)
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(
        stderr.trim_end(),
        "Error: --workers 301 is over the limit of 300 workers per pool (this user's limit \
         on processes and threads, ulimit -u)"
    );
    assert_eq!(names(dir.path()), [] as [String; 0]);
}

/// When the OS refuses a thread below the limit (`ulimit -u` counts every process and
/// thread of the user, so it can run out first), the run ends with one line that
/// says so, not a panic or an abort. Needs root, to run `pools` as a user for whom
/// the limit holds (root is exempt from it): a uid of its own, which no other
/// process (another copy of this test, say) counts against.
#[test]
fn a_thread_the_os_refuses_is_one_clear_line() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;

    // Safety: `geteuid` only reads this process's credentials.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to run pools as nobody");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    // No account has this uid; `setuid` needs none.
    let uid = 2_000_000_000 + std::process::id();
    let mut command = pools();
    // 100 tasks of fibonacci(35): the first workers are still busy when the OS
    // refuses the tenth thread (the program's own thread is the first of ten).
    command
        .args([
            "--experiment",
            "fib",
            "--pools",
            "thread",
            "--fib-inputs",
            "35",
        ])
        .args(["--repeat", "100", "--workers", "10", "--out"])
        .arg(dir.path());
    // Safety: `setrlimit`, `setgroups`, `setgid` and `setuid` are async-signal-safe
    // system calls, made in the child between fork and exec.
    unsafe {
        command.pre_exec(move || {
            nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_NPROC, 10, 10)?;
            // Groups first: once it is `nobody`, the process may not change them.
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(uid) != 0
                || libc::setuid(uid) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.starts_with("Error: task thread-fibo-"), "{stderr}");
    assert!(
        stderr.contains("the OS refused to start worker thread"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `--serial` writes `serial-fibo.csv` before the pools run: one row per input, in
/// input order, every one on the main thread of the `pools` process (its pid, and a
/// tid equal to it), each task starting no earlier than the one before it ended.
#[test]
fn serial_writes_one_row_per_input_in_order_on_the_main_thread() {
    let (dir, parent, stdout) = run_ok(&[
        "--experiment",
        "fib",
        "--pools",
        "gil",
        "--fib-inputs",
        "15..21",
        "--serial",
    ]);
    assert!(
        stdout.contains("Run serial: running fibonacci over [15, …, 20] one after another"),
        "{stdout}"
    );
    let rows = rows(&dir.path().join("serial-fibo.csv"));
    assert_eq!(rows[0], results::layout::SERIAL_COLUMNS);
    assert_eq!(rows.len(), 1 + 6, "one row per input");
    let mut previous_end = f64::NEG_INFINITY;
    for (i, row) in rows[1..].iter().enumerate() {
        assert_eq!(row[0], format!("serial-fibo-{i}"));
        let n: u32 = row[5].parse().unwrap();
        assert_eq!(n, 15 + i as u32, "in input order");
        assert_eq!(row[4], fib::fibonacci(n).unwrap().to_string());
        assert_eq!(row[6], "0", "no pool, so no other worker");
        let pid: u32 = row[7].parse().unwrap();
        assert_eq!(pid, parent, "in the pools process itself");
        assert_eq!(row[8], row[7], "on its main thread, whose tid is the pid");
        let (start, end): (f64, f64) = (row[1].parse().unwrap(), row[2].parse().unwrap());
        assert!(start <= end);
        assert!(
            previous_end <= start,
            "task {i} started before task {} ended",
            i.saturating_sub(1)
        );
        previous_end = end;
    }
    // The pools still ran and wrote their files beside it.
    assert!(dir.path().join("gil-fibo.csv").is_file());
}

/// Without `--serial` there is no serial file, and `--serial` without the Fibonacci
/// experiment is refused with one line.
#[test]
fn serial_is_only_written_when_asked() {
    let (dir, _, _) = run_ok(&SMALL_RUN);
    assert!(!dir.path().join("serial-fibo.csv").exists());

    let out = pools()
        .args(["--experiment", "get", "--serial", "--out"])
        .arg(dir.path().join("never"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("--serial runs the Fibonacci inputs"),
        "{stderr}"
    );
    assert!(!dir.path().join("never").exists());
}

/// A run that fails leaves no empty `--out` folder behind when it made the folder
/// itself; a folder that existed before stays. (A 1000 ms wait can never end within a
/// task timeout of 0.05 s, so both runs fail, on any machine.)
#[test]
fn a_failed_run_removes_the_out_folder_it_made() {
    // The thread pool ends the process on a timeout; the async pool returns an error.
    for pool in ["thread", "async"] {
        let dir = tempfile::tempdir().unwrap();
        let args = [
            "--pools",
            pool,
            "--experiment",
            "get",
            "--get-inputs",
            "1000",
            "--task-timeout",
            "0.05",
            "--out",
        ];
        let made = dir.path().join("made-by-the-run");
        let status = pools().args(args).arg(&made).output().unwrap().status;
        assert!(!status.success(), "{pool}");
        assert!(
            !made.exists(),
            "{pool}: the failed run left {} behind",
            made.display()
        );

        let existing = dir.path().join("there-before");
        std::fs::create_dir(&existing).unwrap();
        let status = pools().args(args).arg(&existing).output().unwrap().status;
        assert!(!status.success(), "{pool}");
        assert!(existing.is_dir(), "{pool}");
    }
}

/// A server that accepts connections and never answers, not even the first request
/// with no wait: `pools` says so in one line (after 5 s, not the 35 s a task may
/// wait) and writes nothing.
#[test]
fn a_server_that_never_answers_is_refused_in_one_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/{{ms}}", listener.local_addr().unwrap());
    // Accepts one connection and holds it, unanswered, until the test ends.
    std::thread::spawn(move || {
        let held = listener.accept();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let output = pools()
        .args([
            "--pools",
            "thread",
            "--experiment",
            "get",
            "--get-inputs",
            "100",
            "--url",
        ])
        .arg(&url)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("a first request, with no wait, failed"),
        "{stderr}"
    );
    assert!(stderr.contains("timed out"), "{stderr}");
    assert!(!out.exists());
}
