//! The `report` binary, run as a user would run it, on the realistic fixture.

mod common;

use std::fs;
use std::path::Path;

use plotters::style::RGBColor;
use predicates::prelude::*;
use report::chart::lanes::{MIN_HEIGHT, WIDTH};
use report::chart::pool_color;
use report::{Chart, Pool};
use serde_json::Value;

use common::{copy_fixture, csv_rows, decode_png, draw, file_names, fixture, report};

/// Every file the full fixture allows, in both formats.
fn all_outputs() -> Vec<String> {
    let mut names: Vec<String> = Chart::ALL
        .iter()
        .flat_map(|c| [format!("{}.png", c.stem()), format!("{}.svg", c.stem())])
        .collect();
    names.push("trace.json".to_owned());
    names.sort();
    names
}

/// A full run writes every chart in both formats plus the trace, says so one line
/// per file, and leaves no temporary file behind.
#[test]
fn draws_every_figure_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("figures");
    let assert = draw(fixture(), &out)
        .args(["--format", "png,svg"])
        .assert()
        .success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();

    assert_eq!(file_names(&out), all_outputs());
    for name in all_outputs() {
        let line = format!("wrote {}", out.join(&name).display());
        assert!(stdout.lines().any(|l| l == line), "{line:?} in {stdout}");
    }
    let last = stdout.lines().last().unwrap();
    assert!(last.starts_with("done: 15 files in "), "{last}");
}

/// The Gantt PNG has the documented size, and each pool's bars are there, in its
/// colour, grouped top to bottom in the order process, thread, gil.
#[test]
fn gantt_png_has_size_and_coloured_bars_in_group_order() {
    let tmp = tempfile::tempdir().unwrap();
    draw(fixture(), tmp.path()).assert().success();
    let image = decode_png(&tmp.path().join("process-thread-fibonacci-gantt.png"));
    assert_eq!((image.width, image.height), (WIDTH, MIN_HEIGHT));

    let mut mean_rows = Vec::new();
    for pool in Pool::ALL {
        let RGBColor(r, g, b) = pool_color(pool);
        let rows: Vec<usize> = image
            .pixels
            .iter()
            .enumerate()
            .filter(|(_, p)| **p == [r, g, b])
            .map(|(i, _)| i / image.width as usize)
            .collect();
        // Eight bars of at least a few thousand pixels each; the legend swatch
        // alone is 400.
        assert!(rows.len() > 10_000, "{pool}: {} pixels", rows.len());
        mean_rows.push(rows.iter().sum::<usize>() / rows.len());
    }
    assert!(mean_rows.is_sorted(), "groups out of order: {mean_rows:?}");
}

/// The SVG keeps text as text: every task's label is in it, and the makespans.
#[test]
fn svg_contains_the_task_labels() {
    let tmp = tempfile::tempdir().unwrap();
    draw(fixture(), tmp.path())
        .args(["--format", "svg"])
        .assert()
        .success();
    let svg = fs::read_to_string(tmp.path().join("process-thread-fibonacci-gantt.svg")).unwrap();
    for pool in ["process", "thread", "gil"] {
        for n in 34..=41 {
            let label = format!("{pool} fib({n})");
            assert!(svg.contains(&label), "{label} missing");
        }
    }
    assert!(svg.contains("makespan 5.30 s"));
    let workers = fs::read_to_string(tmp.path().join("get-workers.svg")).unwrap();
    assert!(workers.contains("process pid "));
    assert!(workers.contains("thread tid "));
    assert!(
        !tmp.path()
            .join("process-thread-fibonacci-gantt.png")
            .exists()
    );
}

/// `trace.json` parses, has exactly one X event per task row (plus one per GIL
/// hold), and names every pool and worker track.
#[test]
fn trace_has_one_event_per_row() {
    let tmp = tempfile::tempdir().unwrap();
    draw(fixture(), tmp.path()).assert().success();
    let trace: Value =
        serde_json::from_str(&fs::read_to_string(tmp.path().join("trace.json")).unwrap()).unwrap();
    let events = trace["traceEvents"].as_array().unwrap();
    let count = |ph: &str, cat: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == ph && e["cat"] == cat)
            .count()
    };

    let task_rows: usize = ["process", "thread", "gil"]
        .iter()
        .flat_map(|p| [format!("{p}-fibo.csv"), format!("{p}-get.csv")])
        .map(|f| csv_rows(&fixture().join(f)))
        .sum();
    let held_rows = csv_rows(&fixture().join("gil-fibo-held.csv"))
        + csv_rows(&fixture().join("gil-get-held.csv"));
    assert_eq!(count("X", "task"), task_rows);
    assert_eq!(count("X", "gil"), held_rows);

    let names: Vec<&str> = events
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| e["args"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["process pool", "thread pool", "thread pool + simulated GIL"]
    );
    let first = events
        .iter()
        .find(|e| e["name"] == "process-fibo-0")
        .unwrap();
    assert_eq!(first["args"]["input"], 34);
    assert!(first["ts"].as_f64().unwrap() >= 0.0);
    assert!(first["dur"].as_f64().unwrap() > 0.0);
}

/// A malformed row is one error line naming the file, the line and the column;
/// nothing at all is written.
#[test]
fn malformed_row_names_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    let path = input.join("thread-fibo.csv");
    let text = fs::read_to_string(&path).unwrap();
    // Line 4 is the third task; damage its end_time (the third column).
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields[2] = "17640900O1.5";
    lines[3] = fields.join(",");
    fs::write(&path, lines.join("\n") + "\n").unwrap();

    let out = tmp.path().join("out");
    draw(&input, &out)
        .assert()
        .failure()
        .stdout("")
        .stderr(format!(
            "Error: {}:4: invalid float literal in column end_time\n",
            path.display()
        ));
    assert_eq!(file_names(&out), Vec::<String>::new());
}

/// A failed run leaves the figures of the last good run exactly as they were: no
/// file is half-written or replaced.
#[test]
fn failed_run_keeps_previous_outputs() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    draw(&input, &input).assert().success();
    let before = fs::read(input.join("gil-timeline.png")).unwrap();
    let names = file_names(&input);

    fs::write(
        input.join("gil-fibo-held.csv"),
        "worker,tid,acquired_at\n0,1,2.0\n",
    )
    .unwrap();
    draw(&input, &input)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "gil-fibo-held.csv:1: missing column `released_at`",
        ));
    assert_eq!(fs::read(input.join("gil-timeline.png")).unwrap(), before);
    assert_eq!(file_names(&input), names);
}

/// A missing input folder is one clear line, not a panic.
#[test]
fn missing_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    report()
        .current_dir(tmp.path())
        .arg("--in")
        .arg(&missing)
        .assert()
        .failure()
        .stderr(format!(
            "Error: input folder {0} does not exist: run `pools --out {0}` first, or pass --in\n",
            missing.display()
        ));
    // The default output folder was not created either.
    assert!(!tmp.path().join("results").exists());
}

/// A folder without any per-task CSV is one clear line that says what was expected.
#[test]
fn empty_folder_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    fs::write(tmp.path().join("notes.txt"), "not a CSV").unwrap();
    draw(tmp.path(), tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("no per-task CSVs in"))
        .stderr(predicate::str::contains("process-fibo.csv"))
        .stderr(predicate::str::contains("panicked").not());
}

/// Only the pools and files that are present are drawn; the rest is reported as
/// skipped, not as an error.
#[test]
fn draws_only_what_is_present() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |name| name == "thread-get.csv");
    let out = tmp.path().join("out");
    draw(&input, &out)
        .args(["--format", "svg"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "skipped process-thread-fibonacci-gantt: no *-fibo.csv",
        ))
        .stdout(predicate::str::contains(
            "skipped gil-timeline: no rows in gil-fibo-held.csv",
        ));
    assert_eq!(
        file_names(&out),
        [
            "get-workers.svg",
            "process-thread-fetch-gantt.svg",
            "trace.json"
        ]
    );
    let svg = fs::read_to_string(out.join("process-thread-fetch-gantt.svg")).unwrap();
    assert!(svg.contains("thread wait 1700 ms"));
    assert!(!svg.contains("process wait"));
    assert!(
        !svg.contains("makespan 1.71 s"),
        "the process group is absent"
    );
}

/// `--format` accepts only png and svg, with clap's usage error (exit code 2).
#[test]
fn unknown_format_is_rejected() {
    report()
        .args(["--format", "png,gif"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'gif'"));
}

/// The fixture is what the tests claim it is: the held intervals never overlap,
/// because only one thread can hold a lock.
#[test]
fn fixture_holds_never_overlap() {
    let results = report::load(Path::new(&fixture())).unwrap();
    let held = results.held(report::Workload::Fibo).unwrap();
    assert!(held.len() > 100);
    for pair in held.windows(2) {
        assert!(pair[0].released_at <= pair[1].acquired_at, "{pair:?}");
    }
}

/// A run with thousands of tasks (`pools --repeat`) does not ask for a gigabyte
/// image: the per-task chart is skipped with a reason, and the rest is still drawn.
#[test]
fn too_many_tasks_skip_the_gantt_chart() {
    let dir = tempfile::tempdir().unwrap();
    let mut csv = String::from("tag,start_time,end_time,elapsed,result,input,worker,pid,tid\n");
    for i in 0..=report::chart::MAX_LANES {
        let start = 1_700_000_000.0 + i as f64 * 0.001;
        csv.push_str(&format!(
            "thread-fibo-{i},{start:.6},{:.6},0.000500,55,10,{},4242,{}\n",
            start + 0.0005,
            i % 4,
            5000 + i % 4
        ));
    }
    std::fs::write(dir.path().join("thread-fibo.csv"), csv).unwrap();
    let out = draw(dir.path(), dir.path()).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("skipped process-thread-fibonacci-gantt: 601 tasks are too many"),
        "{stdout}"
    );
    assert!(dir.path().join("fibo-workers.png").exists(), "{stdout}");
    assert!(
        !dir.path()
            .join("process-thread-fibonacci-gantt.png")
            .exists()
    );
}
