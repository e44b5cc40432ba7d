//! The `report` binary, run as a user would run it, on the realistic fixture.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

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
    names.push("report.html".to_owned());
    names.sort();
    names
}

/// A full run writes every chart in both formats plus the trace and the page, says so one line
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
    assert!(last.starts_with("done: 16 files in "), "{last}");
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
    // The fixture's pools (it has no async run).
    for pool in [Pool::Process, Pool::Thread, Pool::Gil] {
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
            "report.html",
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
    // The page says so too, and has no bar.
    let html = fs::read_to_string(dir.path().join("report.html")).unwrap();
    assert!(html.contains("Not drawn: 601 tasks are too many"), "{html}");
    assert!(html.contains("<body data-task-count=\"0\">"));
}

/// Replaces field `column` (0-based) of line `line` (1-based, the header is 1) of
/// a copied fixture file, and returns the file's path.
fn edit_field(dir: &Path, file: &str, line: usize, column: usize, value: &str) -> PathBuf {
    let path = dir.join(file);
    let text = fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[line - 1].split(',').map(String::from).collect();
    fields[column] = value.to_owned();
    lines[line - 1] = fields.join(",");
    fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// A time that cannot be a Unix time (not finite, negative, far past any plausible
/// date) is refused with the file, the line and the column; nothing is written,
/// so no `"ts": null` reaches trace.json and no 300-digit label reaches a chart.
#[test]
fn implausible_times_are_refused_with_file_and_line() {
    for (value, shown) in [
        ("1e300", "1e300"),
        ("-5", "-5"),
        ("NaN", "NaN"),
        ("inf", "inf"),
        ("99999999999", "99999999999"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let input = tmp.path().join("results");
        copy_fixture(&input, |_| true);
        // Line 3 is the second task; its start_time is the second column.
        let path = edit_field(&input, "thread-fibo.csv", 3, 1, value);
        let out = tmp.path().join("out");
        draw(&input, &out)
            .assert()
            .failure()
            .stdout("")
            .stderr(format!(
                "Error: {}:3: start_time = {shown} is not a Unix time in seconds from 1970 to \
             2100 (0 to 4102444800)\n",
                path.display()
            ));
        assert_eq!(file_names(&out), Vec::<String>::new(), "{value}");
    }
}

/// `experiments.csv` is checked the same way, and its makespan must be
/// `finished_at - started_at`.
#[test]
fn implausible_experiment_rows_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    let path = edit_field(&input, "experiments.csv", 4, 9, "1e300");
    draw(&input, tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(format!(
            "Error: {}:4: makespan 1e300 s is not finished_at - started_at (9.240237 s)\n",
            path.display()
        ));
    edit_field(&input, "experiments.csv", 4, 9, "9.240237");
    edit_field(&input, "experiments.csv", 4, 8, "-1");
    draw(&input, tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "experiments.csv:4: finished_at = -1 is not a Unix time",
        ));
}

/// A FIFO under a CSV's name is refused at once instead of waiting forever for a
/// writer, and so is a link to `/dev/zero`, which would never end.
#[test]
fn only_regular_files_are_read() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |name| name != "thread-fibo.csv");
    let path = input.join("thread-fibo.csv");
    nix::unistd::mkfifo(
        &path,
        nix::sys::stat::Mode::S_IRUSR | nix::sys::stat::Mode::S_IWUSR,
    )
    .unwrap();
    let refused = format!(
        "Error: {} is not a regular file: report reads only the files that `pools` writes\n",
        path.display()
    );
    draw(&input, tmp.path().join("out"))
        // A hang fails the test instead of blocking the suite.
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .failure()
        .stderr(refused.clone());

    fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("/dev/zero", &path).unwrap();
    draw(&input, tmp.path().join("out"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .failure()
        .stderr(refused);
}

/// A line longer than the limit is refused with its file and line, and the limit is
/// in the message; the file is not read into memory whole.
#[test]
fn overlong_line_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |name| name == "thread-get.csv");
    let path = input.join("thread-get.csv");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(&"x".repeat(report::load::MAX_LINE_BYTES + 10));
    fs::write(&path, text).unwrap();
    draw(&input, tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(format!(
            "Error: {}:10: line longer than 1048576 bytes; a CSV written by pools has lines \
             of about 100 bytes\n",
            path.display()
        ));
}

/// A per-task CSV with fewer rows than its run in `experiments.csv` (say, one
/// overwritten by a second run into the same folder) is refused with one line
/// that names both files.
#[test]
fn task_count_must_match_experiments_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    let path = input.join("thread-fibo.csv");
    let text = fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(8).collect();
    fs::write(&path, kept.join("\n") + "\n").unwrap();
    let out = tmp.path().join("out");
    draw(&input, &out).assert().failure().stderr(format!(
        "Error: {} does not match its row in {}:3: it has 7 task rows, but the row says \
         inputs = 8; was the folder written by two runs at once? Run the experiment again \
         into an empty folder\n",
        path.display(),
        input.join("experiments.csv").display()
    ));
    assert_eq!(file_names(&out), Vec::<String>::new());
}

/// A task that ran outside its run's `started_at..finished_at` belongs to another
/// run; a millisecond of rounding is tolerated.
#[test]
fn task_times_must_lie_within_their_run() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    // thread-fibo ran from 1764090005.477917 to 1764090010.778632.
    edit_field(&input, "thread-fibo.csv", 2, 1, "1764090005.477417");
    draw(&input, tmp.path().join("out")).assert().success();

    let path = edit_field(&input, "thread-fibo.csv", 9, 2, "1764090099.000000");
    draw(&input, tmp.path().join("out"))
        .assert()
        .failure()
        .stderr(format!(
            "Error: {} does not match its row in {}:3: its line 9 (thread-fibo-7) ran from \
             1764090005.478297 to 1764090099.000000, outside the run's started_at..finished_at \
             (1764090005.477917 to 1764090010.778632); was the folder written by two runs at \
             once? Run the experiment again into an empty folder\n",
            path.display(),
            input.join("experiments.csv").display()
        ));
}

/// While a `pools` run holds its exclusive lock on the folder, `report` refuses to
/// read it, at once and with one line; once the lock is gone, it reads it.
#[test]
fn folder_locked_by_a_writer_is_refused() {
    use nix::fcntl::{Flock, FlockArg};

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    copy_fixture(&input, |_| true);
    let folder = fs::File::open(&input).unwrap();
    let lock = Flock::lock(folder, FlockArg::LockExclusiveNonblock).unwrap();
    draw(&input, tmp.path().join("out"))
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .failure()
        .stderr(format!(
            "Error: {} is being written by a running `pools` (it holds a lock on the \
             folder): wait for it to finish, then run report again\n",
            input.display()
        ));
    drop(lock);
    draw(&input, tmp.path().join("out")).assert().success();
}

/// No process can have this pid: it is above Linux's largest `pid_max` (2^22).
const NO_SUCH_PID: u32 = 4_194_305;

/// A run removes the temporary files of `report` runs that no longer exist, and
/// nothing else: not those of a live process, not `pools`' files, not other names.
#[test]
fn stale_temp_files_are_removed_and_nothing_else() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    fs::create_dir_all(&out).unwrap();
    let stale = format!(".report-{NO_SUCH_PID}-a1B2c3.tmp");
    // This test's own process is alive while report runs.
    let live = format!(".report-{}-a1B2c3.tmp", std::process::id());
    let others = [
        live.as_str(),
        ".pools-4194305-a1B2c3.tmp",
        ".trace.json.a1B2c3",
        ".report-4194305-a1B2c3.tmp.keep",
        "notes.txt",
    ];
    for name in others.iter().chain([&stale.as_str()]) {
        fs::write(out.join(name), "x").unwrap();
    }
    draw(fixture(), &out)
        .args(["--format", "svg"])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "removed {}, left by a report run that was killed\n",
            out.join(&stale).display()
        )));
    let names = file_names(&out);
    assert!(!names.contains(&stale), "{names:?}");
    for name in others {
        assert!(names.iter().any(|n| n == name), "{name} was removed");
    }
}

/// Thousands of tasks per worker are merged into one shaded bar per lane, and the
/// chart says so under its legend.
#[test]
fn many_tasks_per_worker_are_merged_and_the_chart_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let tasks = 2 * report::chart::workers::MAX_BARS_PER_LANE + 2;
    fs::write(dir.path().join("thread-fibo.csv"), task_csv(tasks, 2)).unwrap();
    draw(dir.path(), dir.path())
        .args(["--format", "svg"])
        .assert()
        .success();
    let svg = fs::read_to_string(dir.path().join("fibo-workers.svg")).unwrap();
    assert!(
        svg.contains("602 tasks, up to 301 on one worker: too many to draw one by one."),
        "the note is missing"
    );
    assert!(svg.contains("thread tid 5000") && svg.contains("thread tid 5001"));
    assert!(!svg.contains("fib(10)"), "merged tasks have no labels");
}

/// SIGINT or SIGTERM while a file is being written ends the run with status 130
/// and leaves no temporary file.
///
/// No timing is trusted. Once a temporary file appears, the run is frozen with
/// SIGSTOP, and only if the file is still there (so the write has not finished)
/// does the signal go out, before SIGCONT. Otherwise the run goes on and the next
/// write is tried; a run that ends before it is caught is run again.
#[test]
fn interrupted_run_leaves_no_temporary_file() {
    use std::os::unix::process::CommandExt;

    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;

    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("results");
    fs::create_dir_all(&input).unwrap();
    // Enough tasks that writing trace.json takes a while.
    fs::write(input.join("thread-fibo.csv"), task_csv(50_000, 2)).unwrap();
    let temp = |out: &Path| file_names(out).iter().any(|n| n.starts_with(".report-"));
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        let mut caught = false;
        for attempt in 0..20 {
            let out = tmp.path().join(format!("out-{signal}-{attempt}"));
            fs::create_dir_all(&out).unwrap();
            let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("report"));
            command
                .arg("--in")
                .arg(&input)
                .arg("--out")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            // A signal ignored by the parent stays ignored in the child, and report
            // rightly keeps it so (`nohup`). A shell runs background jobs with
            // SIGINT ignored, so this test, run that way, must undo it.
            // Safety: between fork and exec the child only calls `sigaction`, which
            // is async-signal-safe, and allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    nix::sys::signal::signal(signal, nix::sys::signal::SigHandler::SigDfl)
                        .map(drop)
                        .map_err(std::io::Error::from)
                });
            }
            let mut child = command.spawn().unwrap();
            let pid = Pid::from_raw(child.id() as i32);
            while !caught && child.try_wait().unwrap().is_none() {
                if temp(&out) {
                    kill(pid, Signal::SIGSTOP).unwrap();
                    wait_until_stopped(child.id());
                    if temp(&out) {
                        kill(pid, signal).unwrap();
                        caught = true;
                    }
                    kill(pid, Signal::SIGCONT).unwrap();
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let output = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&output.stderr);
            if caught {
                assert_eq!(output.status.code(), Some(130), "{signal}: {stderr}");
                assert_eq!(stderr, "\ninterrupted: no file was left half-written\n");
            } else {
                assert!(output.status.success(), "{signal}: {stderr}");
            }
            assert!(!temp(&out), "{signal}: {:?}", file_names(&out));
            if caught {
                break;
            }
        }
        assert!(caught, "{signal}: no write was caught in 20 runs");
    }
}

/// Waits until child `pid` is stopped (state `T` in `/proc/PID/stat`), or has
/// exited (`Z`: it stays a zombie until it is waited for).
fn wait_until_stopped(pid: u32) {
    loop {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        // The state follows the command name, which is in parentheses.
        let state = stat.rsplit(") ").next().unwrap().chars().next();
        if matches!(state, Some('T' | 'Z' | 'X')) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// A per-task CSV of `tasks` tiny tasks on `workers` thread workers, one every
/// millisecond, without an `experiments.csv` row.
fn task_csv(tasks: usize, workers: usize) -> String {
    let mut csv = String::from("tag,start_time,end_time,elapsed,result,input,worker,pid,tid\n");
    for i in 0..tasks {
        let start = 1_700_000_000.0 + i as f64 * 0.001;
        csv.push_str(&format!(
            "thread-fibo-{i},{start:.6},{:.6},0.000500,55,10,{},4242,{}\n",
            start + 0.0005,
            i % workers,
            5000 + i % workers
        ));
    }
    csv
}

/// A GIL pool with more workers than a chart has room for lanes is skipped with a
/// reason, like the other charts, rather than drawn as an image of gigabytes.
#[test]
fn too_many_gil_workers_skip_the_gil_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let workers = report::chart::MAX_LANES + 1;
    let mut held = String::from("worker,tid,acquired_at,released_at\n");
    for w in 0..workers {
        let at = 1_700_000_000.0 + w as f64 * 0.001;
        held.push_str(&format!("{w},{},{at:.6},{:.6}\n", 5000 + w, at + 0.0005));
    }
    fs::write(dir.path().join("gil-fibo-held.csv"), held).unwrap();
    fs::write(dir.path().join("thread-fibo.csv"), task_csv(4, 2)).unwrap();
    draw(dir.path(), dir.path())
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "skipped gil-timeline: 601 workers are too many to draw as lanes",
        ));
    assert!(!dir.path().join("gil-timeline.png").exists());
}
