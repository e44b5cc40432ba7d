//! `isolation-demo queue`, run as a user would run it.
//!
//! Checked facts that timing cannot flip, under both start methods: every item
//! arrives, in order; once the queue is full a put ends only after a get (orderings
//! of timestamps on one clock); each worker holds only its own end of the pipe; a
//! killed worker, either one, ends the run with one clear line and no process left
//! behind. Bad
//! input is refused, hidden flags typed by hand included.

use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

mod common;
use common::{binary, check_hidden_flags, children_of};

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
/// producer wait for gets; the report names the start method.
fn slow_consumer_blocks_the_producer(start_method: &str) {
    let dir = out_dir(&format!("slow-{start_method}"));
    let output = Command::new(binary())
        .args(["queue", "--start-method", start_method])
        .args(["--items", "60", "--capacity", "3"])
        .args(["--consumer-delay-us", "2000", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("every item arrived, in order"), "{stdout}");
    assert!(
        stdout.contains(&format!("both started by {start_method}.")),
        "{stdout}"
    );
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

/// Every item delivered, in order, with puts that wait, under fork.
#[test]
fn slow_consumer_blocks_the_producer_under_fork() {
    slow_consumer_blocks_the_producer("fork");
}

/// The same when both workers are fresh runs of the program.
#[test]
fn slow_consumer_blocks_the_producer_under_spawn() {
    slow_consumer_blocks_the_producer("spawn");
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

/// Hidden worker flags typed by hand, without their partners: clap refuses them in
/// its usual way, and nothing runs.
#[test]
fn hidden_flags_alone_are_refused() {
    check_hidden_flags(
        "queue",
        &[
            &["--participant-of", "1"],
            &["--role", "consumer"],
            &["--shared-fd", "3"],
            &["--pipe-fd", "4"],
            &[
                "--participant-of",
                "1",
                "--shared-fd",
                "3",
                "--role",
                "producer",
            ],
        ],
        &["participant-of", "--role", "shared-fd", "pipe-fd"],
    );
}

/// Starts a run of seconds, whose consumer works `delay_us` on each item, and
/// returns it with the pids of its two workers, once both have named themselves:
/// (run, producer, consumer).
fn start_long_queue(start_method: &str, delay_us: u64, dir: &std::path::Path) -> (Child, u32, u32) {
    // As many items as the 60 s bound on items × delay allows, up to the most.
    let items = (60_000_000 / delay_us.max(1)).min(100_000);
    let mut child = Command::new(binary())
        .args(["queue", "--start-method", start_method])
        .args(["--items", &items.to_string(), "--capacity", "2"])
        .args(["--consumer-delay-us", &delay_us.to_string(), "--out"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let workers = children_of(child.id());
        let named = |name: &str| {
            workers.iter().copied().find(|pid| {
                std::fs::read_to_string(format!("/proc/{pid}/comm"))
                    .is_ok_and(|comm| comm.trim() == name)
            })
        };
        if let (2, Some(producer), Some(consumer)) =
            (workers.len(), named("producer"), named("consumer"))
        {
            return (child, producer, consumer);
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{start_method}: never saw a producer and a consumer: {workers:?}");
        }
        sleep(Duration::from_millis(5));
    }
}

/// The pipes `pid` holds that the test itself does not, as (inode, access mode)
/// pairs: `O_RDONLY` (0) for a read end, `O_WRONLY` (1) for a write end.
fn own_pipe_ends(pid: u32) -> Vec<(String, u32)> {
    let mine = pipes(std::process::id()).into_iter().map(|(link, _)| link);
    let mine: Vec<String> = mine.collect();
    pipes(pid)
        .into_iter()
        .filter(|(link, _)| !mine.contains(link))
        .collect()
}

/// Every pipe `pid` holds open, as (link target, access mode).
fn pipes(pid: u32) -> Vec<(String, u32)> {
    let mut ends = vec![];
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return ends;
    };
    for entry in entries.flatten() {
        let Ok(link) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let link = link.to_string_lossy().into_owned();
        if !link.starts_with("pipe:") {
            continue;
        }
        let info = format!("/proc/{pid}/fdinfo/{}", entry.file_name().to_string_lossy());
        let Ok(info) = std::fs::read_to_string(info) else {
            continue;
        };
        let flags = info
            .lines()
            .find_map(|line| line.strip_prefix("flags:"))
            .map(|octal| u32::from_str_radix(octal.trim(), 8).unwrap())
            .unwrap();
        ends.push((link, flags & 0o3));
    }
    ends
}

/// Each worker holds exactly one end of the queue's pipe, its own: so each sees
/// end-of-file or a broken pipe when the other dies.
fn workers_hold_only_their_own_end(start_method: &str) {
    let dir = out_dir(&format!("ends-{start_method}"));
    let (mut child, producer, consumer) = start_long_queue(start_method, 50_000, &dir);
    // A forked worker closes the other end as it starts; wait until it has.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (producer_ends, consumer_ends) = loop {
        let ends = (own_pipe_ends(producer), own_pipe_ends(consumer));
        if ends.0.len() == 1 && ends.1.len() == 1 || Instant::now() > deadline {
            break ends;
        }
        sleep(Duration::from_millis(5));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(producer_ends.len(), 1, "{start_method}: {producer_ends:?}");
    assert_eq!(consumer_ends.len(), 1, "{start_method}: {consumer_ends:?}");
    assert_eq!(producer_ends[0].0, consumer_ends[0].0, "one pipe");
    assert_eq!(producer_ends[0].1, 1, "the producer holds the write end");
    assert_eq!(consumer_ends[0].1, 0, "the consumer holds the read end");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Under fork: each worker closes the end it does not use.
#[test]
fn workers_hold_only_their_own_end_under_fork() {
    workers_hold_only_their_own_end("fork");
}

/// Under spawn: each worker inherits only its own end.
#[test]
fn workers_hold_only_their_own_end_under_spawn() {
    workers_hold_only_their_own_end("spawn");
}

/// A worker, `victim`, killed mid-run: one clear line naming it, no hang, no process
/// left. The consumer sleeps a long while on each item, or hardly at all, so that the
/// producer mostly waits for a slot, or the consumer mostly waits for an item; the
/// survivor then sees the pipe broken or at end-of-file, and says nothing itself.
fn a_killed_worker_is_reported(start_method: &str, victim: &str, delay_us: u64) {
    let dir = out_dir(&format!("killed-{start_method}-{victim}-{delay_us}"));
    let (mut child, producer, consumer) = start_long_queue(start_method, delay_us, &dir);
    let workers = [producer, consumer];
    let pid = if victim == "producer" {
        producer
    } else {
        consumer
    };
    // Let items flow first.
    sleep(Duration::from_millis(50));
    kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{start_method}: the queue did not end after its {victim} was killed");
        }
        sleep(Duration::from_millis(10));
    };
    let output = child.wait_with_output().unwrap();
    assert!(!status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Error: {victim} process {pid} was killed by SIGKILL"
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

/// Who is killed, and the consumer's delay: each worker, with a consumer slow
/// (50 ms an item) and fast (1 µs).
const VICTIMS: [(&str, u64); 4] = [
    ("consumer", 50_000),
    ("consumer", 1),
    ("producer", 50_000),
    ("producer", 1),
];

/// Under fork, each worker killed in turn, with the consumer slow and fast.
#[test]
fn a_killed_forked_worker_is_reported() {
    for (victim, delay_us) in VICTIMS {
        a_killed_worker_is_reported("fork", victim, delay_us);
    }
}

/// The same under spawn.
#[test]
fn a_killed_spawned_worker_is_reported() {
    for (victim, delay_us) in VICTIMS {
        a_killed_worker_is_reported("spawn", victim, delay_us);
    }
}
