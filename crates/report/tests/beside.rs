//! `report --beside`: CPython's run beside Rust's in one figure, each pool's makespan
//! over its own serial time.
//!
//! Both folders are written by the real programs with tiny inputs: Rust's by the
//! `pools` binary (`--serial`), CPython's by `scripts/cpython_experiment.py`. The
//! checks are facts that timing noise cannot flip: the figure decodes, and the
//! numbers `report` prints are those computed here from the same files, whatever
//! they are. Without `python3` on the PATH the CPython test prints why it skipped
//! and passes; the refusal test needs no Python.

use std::path::Path;
use std::process::Command;

#[allow(dead_code)] // each test file uses a different part of the shared helpers
mod common;

use common::{run, workspace_binary};

/// Whether a `python3` that runs is on the PATH.
fn has_python3() -> bool {
    Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success())
}

/// Rust's side, written by the real `pools`: six tiny Fibonacci inputs on the process
/// and GIL pools, after a serial pass.
fn rust_run(dir: &Path) {
    run(Command::new(workspace_binary("pools"))
        .args(["--experiment", "fib", "--pools", "process,gil", "--serial"])
        .args(["--fib-inputs", "15..21", "--workers", "2", "--out"])
        .arg(dir));
}

/// The makespan of `tag` in `dir`'s experiments.csv, in seconds, read with the
/// results contract's reader.
fn makespan(dir: &Path, tag: &str) -> f64 {
    let path = dir.join("experiments.csv");
    let rows: Vec<(u64, results::ExperimentRecord)> = results::read::read_rows(
        &path,
        std::fs::File::open(&path).unwrap(),
        &results::layout::EXPERIMENT_COLUMNS,
    )
    .unwrap();
    rows.into_iter()
        .find(|(_, row)| row.tag == tag)
        .unwrap_or_else(|| panic!("no {tag} row in {}", path.display()))
        .1
        .makespan
}

/// The serial time in `dir`: serial-fibo.csv's first start to its last end.
fn serial(dir: &Path) -> f64 {
    let path = results::layout::serial_file(dir, results::Workload::Fibo);
    let rows: Vec<(u64, results::TaskRow)> = results::read::read_rows(
        &path,
        std::fs::File::open(&path).unwrap(),
        &results::layout::SERIAL_COLUMNS,
    )
    .unwrap();
    assert!(!rows.is_empty());
    let first = rows
        .iter()
        .map(|r| r.1.start_time)
        .fold(f64::INFINITY, f64::min);
    let last = rows
        .iter()
        .map(|r| r.1.end_time)
        .fold(f64::NEG_INFINITY, f64::max);
    last - first
}

/// The number after `key` in `line`, up to the next `x`, `%`, ` ` or `;`.
fn number_after(line: &str, key: &str) -> f64 {
    let rest = &line[line
        .find(key)
        .unwrap_or_else(|| panic!("no {key:?} in {line:?}"))
        + key.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{key:?} in {line:?}: {e}"))
}

/// Asserts that `printed`, rounded to `decimals`, is `computed`.
fn assert_printed(printed: f64, computed: f64, decimals: i32, what: &str) {
    let half_step = 0.5 * 10f64.powi(-decimals) + 1e-9;
    assert!(
        (printed - computed).abs() <= half_step,
        "{what}: printed {printed}, computed {computed}"
    );
}

/// The real programs' folders draw the figure: a PNG that decodes, at the size of
/// the other figures, and printed ratios and speed-ups equal to those computed here
/// from the files, with the article's formula.
#[test]
fn both_languages_draw_beside_each_other() {
    if !has_python3() {
        eprintln!("skipped: no python3 on the PATH, so the CPython script cannot run");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let (rust, cpython, out) = (
        root.path().join("rust"),
        root.path().join("cpython"),
        root.path().join("figures"),
    );
    rust_run(&rust);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/cpython_experiment.py");
    run(Command::new("python3")
        .arg(script)
        .args([
            "--fib-inputs",
            "15..21",
            "--get-inputs",
            "50,50",
            "--workers",
            "2",
        ])
        .arg("--out")
        .arg(&cpython)
        .arg("--http-wait")
        .arg(workspace_binary("http-wait")));

    let output = common::draw(&rust, &out)
        .arg("--beside")
        .arg(&cpython)
        .args(["--format", "png,svg"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        common::file_names(&out),
        ["cpython-vs-rust.png", "cpython-vs-rust.svg"],
        "only the figure"
    );
    let png = common::decode_png(&out.join("cpython-vs-rust.png"));
    assert_eq!((png.width, png.height), (1600, 900));

    for (language, dir, threads, name) in [
        ("CPython", &cpython, "threads", "Threads"),
        ("Rust", &rust, "simulated GIL", "GIL-threads"),
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{language}: ")))
            .unwrap_or_else(|| panic!("no {language} line in:\n{stdout}"));
        let (serial, process, gil) = (
            serial(dir),
            makespan(dir, "process-fibo"),
            makespan(dir, "gil-fibo"),
        );
        assert_printed(number_after(line, "serial "), serial, 3, "serial");
        assert_printed(
            number_after(line, "processes "),
            process / serial,
            2,
            "processes",
        );
        assert_printed(
            number_after(line, &format!("{threads} ")),
            gil / serial,
            2,
            threads,
        );
        assert_printed(
            number_after(
                line,
                &format!("Process vs {name} Fibonacci tasks speed-up = "),
            ),
            (gil - process) / gil * 100.0,
            2,
            "speed-up",
        );
    }
    assert!(
        stdout.contains("skipped cpython-vs-rust-async: needs async-get.csv in both folders"),
        "{stdout}"
    );

    // With Rust's async GETs beside CPython's asyncio run, the second figure too.
    run(Command::new(workspace_binary("pools"))
        .args(["--experiment", "get", "--pools", "async"])
        .args(["--get-inputs", "50,50", "--workers", "2", "--out"])
        .arg(&rust));
    let out = root.path().join("with-async");
    let output = common::draw(&rust, &out)
        .arg("--beside")
        .arg(&cpython)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(output.status.success(), "{stdout}");
    assert_eq!(
        common::file_names(&out),
        ["cpython-vs-rust-async.png", "cpython-vs-rust.png"]
    );
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Async GETs: "))
        .unwrap_or_else(|| panic!("no async line in:\n{stdout}"));
    assert_eq!(line.matches(" on 1 thread ").count(), 2, "{line}");
    assert_printed(
        number_after(line, "Rust's async pool took "),
        makespan(&rust, "async-get"),
        3,
        "Rust's async makespan",
    );
    assert_printed(
        number_after(line, "CPython's asyncio took "),
        makespan(&cpython, "async-get"),
        3,
        "CPython's async makespan",
    );
}

/// `--beside` with a folder that lacks the serial pass fails with one line that
/// names the flag, the folder and the file, exits non-zero, and writes nothing: not
/// even the output folder.
#[test]
fn a_folder_without_a_serial_pass_is_refused_with_one_line() {
    let root = tempfile::tempdir().unwrap();
    let (rust, other, out) = (
        root.path().join("rust"),
        root.path().join("other"),
        root.path().join("figures"),
    );
    rust_run(&rust);
    // A CPython-like folder (no GIL interval file) with every pool, but no serial pass.
    common::copy_fixture(&other, |name| !name.contains("held"));

    let output = common::draw(&rust, &out)
        .arg("--beside")
        .arg(&other)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("Error: --beside {}: ", other.display())),
        "{stderr}"
    );
    assert!(stderr.contains("has no serial-fibo.csv"), "{stderr}");
    assert!(!out.exists(), "nothing is written");

    // Rust's own folder given as CPython's is refused too, by the file only pools
    // writes.
    let output = common::draw(&rust, &out)
        .arg("--beside")
        .arg(&rust)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("this is a Rust run"), "{stderr}");
    assert!(!out.exists(), "nothing is written");

    // A folder that does not exist is named, with the command that makes it.
    let missing = root.path().join("missing");
    let output = common::draw(&rust, &out)
        .arg("--beside")
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!(
            "Error: --beside {}: no such folder",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(stderr.contains("cpython_experiment.py"), "{stderr}");
    assert!(!out.exists(), "nothing is written");
}
