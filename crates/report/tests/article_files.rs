//! `report` on the article's own CSV files: the four 5-column files its Python
//! program writes, with no `experiments.csv`.
//!
//! The files are written by Python, never by hand: `tests/data/article_writer.py`
//! runs small versions of the article's experiments on `concurrent.futures` pools
//! and writes them with `csv.writer`, as the article's program does (`\r\n` line
//! ends, Python's float `repr`, bytes results such as `b'200 OK, waited 10 ms'`).
//! It also works out, on its own, what `report` should derive from them. Without
//! `python3` these tests print why and pass without checking anything.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use predicates::prelude::*;

use common::{copy_fixture, csv_rows, decode_png, draw, file_names};

/// What the Python writer expects of one file: its tag, its makespan (last end
/// minus first start, printed to the microsecond by Python) and its task tags in
/// order of start time.
struct Expected {
    tag: String,
    makespan: String,
    order: Vec<String>,
}

/// Runs the Python writer into `dir/article`, returning that folder and what the
/// writer expects; `None`, with a message, if there is no `python3`.
fn write_with_python(dir: &Path) -> Option<(PathBuf, Vec<Expected>)> {
    let found = Command::new("python3").arg("--version").output();
    if !found.is_ok_and(|out| out.status.success()) {
        eprintln!(
            "skipped: python3 is not installed, and the article's files must be written by Python"
        );
        return None;
    }
    let input = dir.join("article");
    fs::create_dir_all(&input).unwrap();
    let expected_file = dir.join("expected.txt");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/article_writer.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(&input)
        .arg(&expected_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "the Python writer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = fs::read_to_string(expected_file)
        .unwrap()
        .lines()
        .map(|line| {
            let mut words = line.split(' ').map(str::to_owned);
            Expected {
                tag: words.next().unwrap(),
                makespan: words.next().unwrap(),
                order: words.collect(),
            }
        })
        .collect();
    Some((input, expected))
}

/// The figures that need what the article's files lack, each named once with its
/// reason.
const SKIPPED: [&str; 6] = [
    "skipped fibo-workers: needs the worker, pid and tid columns, which the article's \
     files do not have",
    "skipped get-workers: needs the worker, pid and tid columns, which the article's files \
     do not have",
    "skipped gil-timeline: needs gil-fibo-held.csv, which the article's program does not write",
    "skipped gil-timeline-zoom: needs gil-fibo-held.csv, which the article's program does not \
     write",
    "skipped gil-get-timeline: needs gil-get-held.csv, which the article's program does not \
     write",
    "skipped trace.json: needs the worker, pid and tid columns, which the article's files do \
     not have",
];

/// From the article's four files, `report` draws both Gantt charts as valid PNGs,
/// names every figure it skips with its reason, once, and prints each makespan it
/// derived, equal to the Python writer's last end minus first start to the
/// microsecond.
#[test]
fn draws_both_gantt_charts_from_the_articles_files() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((input, expected)) = write_with_python(tmp.path()) else {
        return;
    };
    let out = tmp.path().join("figures");
    let assert = draw(&input, &out).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();

    assert_eq!(
        file_names(&out),
        [
            "process-thread-fetch-gantt.png",
            "process-thread-fibonacci-gantt.png",
            "report.html"
        ]
    );
    for name in file_names(&out).iter().filter(|n| n.ends_with(".png")) {
        let image = decode_png(&out.join(name));
        assert!(image.width > 0 && image.height > 0);
        assert_eq!(image.pixels.len(), (image.width * image.height) as usize);
    }
    for skipped in SKIPPED {
        let lines = stdout.lines().filter(|l| l.starts_with(skipped)).count();
        assert_eq!(lines, 1, "{skipped:?} once in {stdout}");
    }

    let derived = stdout
        .lines()
        .find(|l| l.contains("makespans derived from the tasks"))
        .unwrap_or_else(|| panic!("no line on derived makespans in {stdout}"));
    assert_eq!(expected.len(), 4);
    for e in &expected {
        let said = format!("{} {} s", e.tag, e.makespan);
        assert!(derived.contains(&said), "{said:?} in {derived:?}");
    }
    let rows: usize = ["process-fibo", "thread-fibo", "process-get", "thread-get"]
        .iter()
        .map(|tag| csv_rows(&input.join(format!("{tag}.csv"))))
        .sum();
    assert_eq!(rows, 32);
    // The page has a bar for every task (`tests/html.rs` checks the rest).
    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<body data-task-count=\"32\">"));
    assert!(
        stdout.contains(&format!("read {rows} tasks from 4 experiments")),
        "{stdout}"
    );
}

/// The bars are in the article's order: by start time within each pool, whatever
/// order the file lists them in (the article's program writes them in input order).
#[test]
fn tasks_are_drawn_in_order_of_start() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((input, expected)) = write_with_python(tmp.path()) else {
        return;
    };
    draw(&input, tmp.path())
        .args(["--format", "svg"])
        .assert()
        .success();
    for (file, workload) in [
        ("process-thread-fibonacci-gantt.svg", "fibo"),
        ("process-thread-fetch-gantt.svg", "get"),
    ] {
        let svg = fs::read_to_string(tmp.path().join(file)).unwrap();
        assert!(svg.contains("makespans derived from the tasks"));
        // (The SVG writes the apostrophe as an entity.)
        assert!(svg.contains("first task started"));
        // Process lanes first, then thread lanes, each group by start time.
        let order: Vec<&String> = expected
            .iter()
            .filter(|e| e.tag.ends_with(workload))
            .flat_map(|e| &e.order)
            .collect();
        assert_eq!(order.len(), 16);
        let at: Vec<usize> = order
            .iter()
            .map(|tag| {
                svg.find(tag.as_str())
                    .unwrap_or_else(|| panic!("{tag} in {file}"))
            })
            .collect();
        assert!(at.is_sorted(), "{file}: lanes not in order {order:?}");
    }
}

/// One of the article's files beside `pools`' files is one error line naming both
/// formats; nothing is written.
#[test]
fn a_folder_that_mixes_formats_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((article, _)) = write_with_python(tmp.path()) else {
        return;
    };
    let input = tmp.path().join("mixed");
    copy_fixture(&input, |name| name != "process-fibo.csv");
    fs::copy(
        article.join("process-fibo.csv"),
        input.join("process-fibo.csv"),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let assert = draw(&input, &out).assert().failure().stdout("");
    let stderr = String::from_utf8(assert.get_output().stderr.clone()).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("Error: ") && stderr.contains("mixes two formats"),
        "{stderr}"
    );
    assert!(
        stderr.contains("process-fibo.csv is in the article's 5-column format"),
        "{stderr}"
    );
    assert!(file_names(&out).is_empty());
}

/// The article's files get the same checks as ours: a task that ends before it
/// starts is refused with its file and line (counted right despite `\r\n`), and a
/// column that neither format has is refused by name.
#[test]
fn article_files_are_checked_like_ours() {
    let tmp = tempfile::tempdir().unwrap();
    let Some((input, _)) = write_with_python(tmp.path()) else {
        return;
    };
    let path = input.join("thread-get.csv");
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.split("\r\n").map(str::to_owned).collect();
    // Line 4 (the third task): swap its start and end.
    let mut fields: Vec<&str> = lines[3].split(',').collect();
    fields.swap(1, 2);
    lines[3] = fields.join(",");
    fs::write(&path, lines.join("\r\n")).unwrap();
    let out = tmp.path().join("out");
    draw(&input, &out)
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "{}:4: the interval ends before it starts (end_time < start_time)",
            path.display()
        )));

    fs::write(&path, text.replacen("result", "result,notes", 1)).unwrap();
    draw(&input, &out)
        .assert()
        .failure()
        .stderr(predicate::str::contains(format!(
            "{}:1: unknown column `notes`",
            path.display()
        )));
    assert!(file_names(&out).is_empty());
}
