//! `report.html` from a real `pools` run: the page is written, needs no network,
//! has one bar per task row carrying that row's facts, and shows a hostile tag as
//! text. The tooltip itself (the script) is checked in a browser by the book's
//! browser check under `scripts/`; here, the `<title>` it is filled from.
//!
//! The facts checked cannot be flipped by timing: which rows exist, and what each
//! says (its pid, tid, worker, input, elapsed), compared with the CSV files.

#[allow(dead_code)] // each test file uses a different part of the shared helpers
mod common;

use std::fs;
use std::path::Path;

use common::{draw, run, workspace_binary};

/// A tiny run of every pool and both workloads by the real `pools`, into `dir`.
fn pools_run(dir: &Path) {
    run(std::process::Command::new(workspace_binary("pools"))
        .args(["--experiment", "all", "--fib-inputs", "15..19"])
        .args(["--get-inputs", "5,10,15", "--workers", "2", "--out"])
        .arg(dir));
}

/// One CSV file as rows of named fields (`pools`' tags and numbers hold no comma
/// or quote, so a split is enough).
fn csv(path: &Path) -> Vec<Vec<(String, String)>> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .unwrap()
        .split(',')
        .map(str::to_owned)
        .collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split(',').map(str::to_owned))
                .collect()
        })
        .collect()
}

fn field<'a>(row: &'a [(String, String)], name: &str) -> &'a str {
    &row.iter().find(|(n, _)| n == name).unwrap().1
}

/// A task bar on the page: its attributes and its `<title>` (the tooltip's text).
#[derive(Debug)]
struct Bar {
    task: String,
    tag: String,
    title: String,
}

/// Every `<rect>` with a `data-task` attribute, in page order.
fn bars(html: &str) -> Vec<Bar> {
    let attribute = |element: &str, name: &str| {
        let from = element.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        element[from..from + element[from..].find('"').unwrap()].to_owned()
    };
    html.split("<rect ")
        .skip(1)
        .filter(|element| element.contains(" data-task=\""))
        .map(|element| {
            let element = &element[..element.find("</rect>").unwrap()];
            let title = element.find("<title>").unwrap() + "<title>".len();
            Bar {
                task: attribute(element, "data-task"),
                tag: attribute(element, "data-tag"),
                title: element[title..element.find("</title>").unwrap()].to_owned(),
            }
        })
        .collect()
}

/// The number on `<body data-task-count="N">`.
fn task_count(html: &str) -> usize {
    let from = html.find("<body data-task-count=\"").unwrap() + 23;
    html[from..from + html[from..].find('"').unwrap()]
        .parse()
        .unwrap()
}

/// Runs `report` from `input` into `out` and returns the page, checking that the
/// run says it wrote it.
fn report_html(input: &Path, out: &Path) -> String {
    let assert = draw(input, out).assert().success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    let path = out.join("report.html");
    let line = format!("wrote {}", path.display());
    assert!(stdout.lines().any(|l| l == line), "{line:?} in {stdout}");
    fs::read_to_string(path).unwrap()
}

/// The page loads nothing from anywhere: no URL, no external script, style, font
/// or image; its one script is inline. (An attribute is spelled `name="`: a quote
/// in a text from a file is escaped, so only the page's own markup has one.)
fn assert_self_contained(html: &str) {
    // The one link is the empty inline icon, which keeps the browser from asking
    // for /favicon.ico.
    let html = &html.replacen(report::html::NO_ICON, "", 1);
    for needle in [
        "http://",
        "https://",
        "<script src",
        " src=\"",
        " href=\"",
        "<link",
        "url(",
        "@import",
    ] {
        assert!(!html.contains(needle), "report.html contains {needle:?}");
    }
    assert_eq!(html.matches("<script").count(), 1);
}

/// From a real run of every pool: the page is written and self-contained, and it
/// has one bar per task row, whose tag, input, elapsed time, worker, pid and tid
/// are the row's; the body's task count is the number of bars.
#[test]
fn page_has_one_bar_per_task_row_with_its_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    pools_run(&run);
    let html = report_html(&run, &tmp.path().join("figures"));
    assert_self_contained(&html);

    let bars = bars(&html);
    let mut rows = 0;
    for pool in ["process", "thread", "gil"] {
        for workload in ["fibo", "get"] {
            for row in csv(&run.join(format!("{pool}-{workload}.csv"))) {
                rows += 1;
                let tag = field(&row, "tag");
                let matching: Vec<&Bar> = bars.iter().filter(|b| b.tag == tag).collect();
                assert_eq!(matching.len(), 1, "bars tagged {tag}");
                let title = &matching[0].title;
                let elapsed: f64 = field(&row, "elapsed").parse().unwrap();
                for fact in [
                    format!("tag: {tag}"),
                    format!("input: {}", field(&row, "input")),
                    format!("elapsed: {elapsed:.6} s"),
                    format!("worker: {}", field(&row, "worker")),
                    format!("pid: {}", field(&row, "pid")),
                    format!("tid: {}", field(&row, "tid")),
                ] {
                    assert!(title.contains(&fact), "{fact:?} in {title:?}");
                }
                assert!(title.contains("start: ") && title.contains("end: "));
                // The first line is the lane's label, drawn from the chart's lanes:
                // the bar sits in the lane of its own task.
                let input = field(&row, "input");
                let label = match workload {
                    "fibo" => format!("{pool} fib({input})"),
                    _ => format!("{pool} wait {input} ms"),
                };
                let first = title.lines().next().unwrap();
                assert!(
                    first.ends_with(&format!(": {label}")),
                    "{first:?} for {tag}"
                );
            }
        }
    }
    assert_eq!(rows, 3 * (4 + 3));
    assert_eq!(bars.len(), rows);
    assert_eq!(task_count(&html), rows);
    let mut ids: Vec<&str> = bars.iter().map(|b| b.task.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), rows, "data-task values are unique");

    // The speed-up lines are pools' own, and the table has every experiment.
    assert!(html.contains("Process vs GIL-threads Fibonacci tasks speed-up = "));
    for tag in ["process-fibo", "thread-get", "gil-get"] {
        assert!(html.contains(&format!("<td>{tag}</td>")), "{tag} row");
    }
}

/// A tag that is markup comes out as text: in the bar's attribute and tooltip, and
/// nowhere as an element.
#[test]
fn hostile_tags_are_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    pools_run(&run);
    let path = run.join("thread-fibo.csv");
    let text = fs::read_to_string(&path).unwrap();
    let hostile = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(2)>&",
    ];
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for (line, tag) in lines[1..].iter_mut().zip(hostile) {
        let rest = &line[line.find(',').unwrap()..];
        // CSV quoting: the field in quotes, a quote doubled.
        *line = format!("\"{}\"{rest}", tag.replace('"', "\"\""));
    }
    fs::write(&path, lines.join("\n") + "\n").unwrap();

    let html = report_html(&run, &tmp.path().join("figures"));
    assert_self_contained(&html);
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    let bars = bars(&html);
    for escaped in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;",
    ] {
        let bar = bars.iter().find(|b| b.tag == escaped).unwrap();
        assert!(bar.title.contains(&format!("tag: {escaped}")), "{bar:?}");
    }
}

/// The article's own files (five columns, no experiments.csv) give a page too:
/// every task has its bar and tooltip, which says what the files do not record.
#[test]
fn article_files_give_a_page_with_what_there_is() {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    pools_run(&run);
    let article = tmp.path().join("article");
    fs::create_dir(&article).unwrap();
    let mut rows = 0;
    for name in [
        "process-fibo.csv",
        "thread-fibo.csv",
        "process-get.csv",
        "thread-get.csv",
    ] {
        let mut text = String::from("tag,start_time,end_time,elapsed,result\n");
        for row in csv(&run.join(name)) {
            rows += 1;
            let fields: Vec<&str> = ["tag", "start_time", "end_time", "elapsed", "result"]
                .iter()
                .map(|n| field(&row, n))
                .collect();
            text += &(fields.join(",") + "\n");
        }
        fs::write(article.join(name), text).unwrap();
    }

    let html = report_html(&article, &tmp.path().join("figures"));
    assert_self_contained(&html);
    let bars = bars(&html);
    assert_eq!(bars.len(), rows);
    assert_eq!(task_count(&html), rows);
    for bar in &bars {
        assert!(bar.title.contains(&format!("tag: {}", bar.tag)));
        assert!(
            bar.title
                .contains("input, worker, pid, tid: not in the article&#39;s files")
        );
    }
    assert!(html.contains("Process vs Threads HTTP Get tasks speed-up = "));
    assert!(html.contains("No <code>experiments.csv</code>"));
}
