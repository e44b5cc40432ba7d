//! `report` on a folder that `isolation-demo race`, `queue` and `barrier` wrote
//! into: the real binaries, small runs, a temporary folder.

use std::path::Path;
use std::process::Command;

#[allow(dead_code)] // each test file uses a different part of the shared helpers
mod common;

/// The workspace binary `name`, built first if this test runs on its own.
fn bin(name: &str) -> std::path::PathBuf {
    common::workspace_binary(name)
}

fn demo(dir: &Path, args: &[&str]) {
    let status = Command::new(bin("isolation-demo"))
        .args(args)
        .arg("--out")
        .arg(dir)
        .output()
        .expect("isolation-demo runs");
    assert!(status.status.success(), "{status:?}");
}

fn is_png(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"\x89PNG\r\n\x1a\n"))
}

#[test]
fn queue_and_barrier_folder_gets_both_figures() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), &["queue", "--items", "20"]);
    demo(dir.path(), &["barrier", "--rounds", "3"]);
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .arg("--in")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(lines[0].ends_with("holds only isolation-demo files: drawing just their figures"));
    assert!(lines[1].starts_with("wrote ") && lines[1].ends_with("queue-timeline.png (20 items)"));
    assert!(lines[2].starts_with("wrote ") && lines[2].contains("barrier-lanes.png ("));
    assert!(is_png(&dir.path().join("queue-timeline.png")));
    assert!(is_png(&dir.path().join("barrier-lanes.png")));
}

#[test]
fn malformed_queue_csv_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("queue.csv"),
        "item,put_start_ns,put_end_ns,put_waited,got_ns\n0,0,10,0,20\n1,5,oops,0,30\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .arg("--in")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("queue.csv:3"), "{stderr}");
    assert!(stderr.contains("put_end_ns"), "{stderr}");
    assert!(!dir.path().join("queue-timeline.png").exists());
}

/// Runs `report --in dir --out dir` and returns its stdout lines, checking it succeeded.
fn report_on(dir: &Path) -> Vec<String> {
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .arg("--in")
        .arg(dir)
        .arg("--out")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// `race.png` is drawn from a folder with only the process run, only the thread
/// run, or both, and the line says which rows it read.
#[test]
fn race_figure_from_processes_threads_or_both() {
    let small = ["race", "--processes", "2", "--increments", "1000"];
    for (threads, processes, says) in [
        (false, true, "(3 processes rows)"),
        (true, false, "(3 threads rows)"),
        (true, true, "(3 processes + 3 threads rows)"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        if processes {
            demo(dir.path(), &small);
        }
        if threads {
            demo(dir.path(), &[&small[..], &["--threads"]].concat());
        }
        let lines = report_on(dir.path());
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[1].starts_with("wrote ") && lines[1].ends_with(&format!("race.png {says}")),
            "{lines:?}"
        );
        assert!(is_png(&dir.path().join("race.png")));
    }
}

/// All three demos into one folder: all three figures.
#[test]
fn race_queue_and_barrier_together() {
    let dir = tempfile::tempdir().unwrap();
    demo(
        dir.path(),
        &["race", "--processes", "2", "--increments", "1000"],
    );
    demo(dir.path(), &["queue", "--items", "10"]);
    demo(dir.path(), &["barrier", "--rounds", "2"]);
    let lines = report_on(dir.path());
    assert_eq!(lines.len(), 4, "{lines:?}");
    for name in ["race.png", "queue-timeline.png", "barrier-lanes.png"] {
        assert!(is_png(&dir.path().join(name)), "{name}");
    }
}

/// A race CSV whose counts do not add up is refused in one line naming the file,
/// the line and the column, and nothing is drawn.
#[test]
fn malformed_race_csv_is_refused_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("race-threads.csv"),
        "mode,start_method,method,participants,increments_each,expected,reached,lost,\
         seconds,ns_per_increment\n\
         threads,,none,2,1000,2000,1500,500,0.001,500\n\
         threads,,atomic,2,1000,2000,2000,oops,0.001,500\n",
    )
    .unwrap();
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .arg("--in")
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("race-threads.csv:3"), "{stderr}");
    assert!(stderr.contains("lost"), "{stderr}");
    assert!(!dir.path().join("race.png").exists());
}

/// `--format svg` does not silently pretend: these figures come as PNG only, and the
/// run says so.
#[test]
fn svg_format_on_isolation_figures_is_said_to_be_png_only() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), &["barrier", "--rounds", "2"]);
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .args(["--format", "png,svg", "--in"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.lines().last().unwrap().contains("drawn as PNG only"),
        "{stdout}"
    );
    assert!(is_png(&dir.path().join("barrier-lanes.png")));
    assert!(!dir.path().join("barrier-lanes.svg").exists());
}

/// `--out` is created if missing, as `report --help` says, for these figures too.
#[test]
fn a_missing_out_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    demo(dir.path(), &["barrier", "--rounds", "2"]);
    let out_dir = dir.path().join("new").join("figures");
    let out = assert_cmd::Command::cargo_bin("report")
        .unwrap()
        .arg("--in")
        .arg(dir.path())
        .arg("--out")
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(is_png(&out_dir.join("barrier-lanes.png")));
}
