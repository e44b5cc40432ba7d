//! What `pools` prints after its timings, checked against the CSV files the same run
//! wrote, for several flag combinations: every count and time in the explanation is
//! the one a reader finds in the files. No check depends on how fast the machine is.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;

/// One CSV file as a list of header-to-value maps.
fn table(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader =
        csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn num(row: &HashMap<String, String>, column: &str) -> f64 {
    row[column].parse().unwrap()
}

/// The most intervals sharing one moment; touching intervals do not overlap.
fn peak(intervals: &[(f64, f64)]) -> usize {
    intervals
        .iter()
        .map(|&(s, _)| intervals.iter().filter(|&&(a, b)| a <= s && s < b).count())
        .max()
        .unwrap_or(0)
}

/// A run of `pools` and the files it wrote.
struct Run {
    stdout: String,
    dir: tempfile::TempDir,
}

impl Run {
    fn new(args: &[&str]) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin("pools")
            .unwrap()
            .args(args)
            .arg("--out")
            .arg(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            out.status.success(),
            "pools {args:?} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Run { stdout, dir }
    }

    /// The makespan of `tag` in experiments.csv, if it ran.
    fn makespan(&self, tag: &str) -> Option<f64> {
        table(&self.dir.path().join("experiments.csv"))
            .iter()
            .find(|r| r["tag"] == tag)
            .map(|r| num(r, "makespan"))
    }

    /// `(start, end)` of every task of `tag`.
    fn tasks(&self, tag: &str) -> Vec<(f64, f64)> {
        table(&self.dir.path().join(format!("{tag}.csv")))
            .iter()
            .map(|r| (num(r, "start_time"), num(r, "end_time")))
            .collect()
    }

    /// The GIL's holds during `workload`.
    fn held(&self, workload: &str) -> Vec<(f64, f64)> {
        table(&self.dir.path().join(format!("gil-{workload}-held.csv")))
            .iter()
            .map(|r| (num(r, "acquired_at"), num(r, "released_at")))
            .collect()
    }

    /// The number printed right after `prefix`.
    fn number_after(&self, prefix: &str) -> f64 {
        let at = self
            .stdout
            .find(prefix)
            .unwrap_or_else(|| panic!("no `{prefix}` in:\n{}", self.stdout));
        let rest = &self.stdout[at + prefix.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        rest[..end]
            .trim_end_matches('.')
            .parse()
            .unwrap_or_else(|e| panic!("`{prefix}{}`: {e}", &rest[..end]))
    }

    fn says(&self, text: &str) -> bool {
        self.stdout.contains(text)
    }

    /// Checks every sentence `pools` printed against the files.
    fn check(&self, cores: usize) {
        let out = &self.stdout;
        // The process pool's line names its start method.
        for line in out.lines().filter(|l| l.starts_with("Run experiment ")) {
            assert_eq!(
                line.starts_with("Run experiment process:"),
                line.contains(" started by "),
                "{line}"
            );
        }
        // Fibonacci under the GIL.
        if let Some(gil) = self.makespan("gil-fibo") {
            let held = self.held("fibo");
            assert_eq!(peak(&held), 1, "two GIL holds overlap");
            let holds = match held.len() {
                1 => "1 hold".to_owned(),
                n => format!("{n} holds"),
            };
            assert!(
                self.says(&format!("in {holds}, never two at once")),
                "{out}"
            );
            // The files' microseconds are too coarse for a share of a run this short.
            if gil > 0.01 {
                let printed = self.number_after("held ");
                let share: f64 = held.iter().map(|(a, b)| b - a).sum::<f64>() / gil * 100.0;
                assert!(
                    (printed - share).abs() <= 1.0,
                    "held {printed}% vs {share}%"
                );
            }
            assert!(
                (self.number_after("of the run's ") - gil).abs() < 0.0011,
                "{out}"
            );
            let fastest = ["process", "thread"]
                .into_iter()
                .filter_map(|p| Some((p, self.makespan(&format!("{p}-fibo"))?)))
                .min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((pool, makespan)) = fastest {
                let ratio = self.number_after("It took ");
                // Both makespans are rounded to the microsecond in the files, which
                // moves the ratio of two short runs by more than its last digit.
                let expected = gil / makespan;
                assert!(
                    (ratio - expected).abs() < 0.011 + expected * 2e-6 / makespan,
                    "{out}"
                );
                let printed = self.number_after(&format!("as long as the {pool} pool ("));
                assert!((printed - makespan).abs() < 0.0011, "{out}");
                let tasks_peak = peak(&self.tasks(&format!("{pool}-fibo")));
                let workers = table(&self.dir.path().join("experiments.csv"))
                    .iter()
                    .find(|r| r["tag"] == format!("{pool}-fibo"))
                    .map(|r| num(r, "workers"))
                    .unwrap();
                let expected = if tasks_peak >= 2 && cores >= 2 {
                    format!("which had up to {tasks_peak} tasks in progress")
                } else if workers < 2.0 {
                    "which had one worker: no pool could compute two".into()
                } else if tasks_peak < 2 {
                    "which never had two tasks in progress at once".into()
                } else {
                    "which ran on one core".into()
                };
                assert!(self.says(&expected), "{out}");
            } else {
                assert!(!self.says("It took "), "{out}");
            }
        } else {
            assert!(!self.says("under the simulated GIL"), "{out}");
        }
        // Process against thread.
        let both =
            self.makespan("process-fibo").is_some() && self.makespan("thread-fibo").is_some();
        assert_eq!(self.says("Processes and Rust's threads"), both, "{out}");
        if both {
            // The CSVs round to microseconds, and `pools` judged unrounded times: a
            // verdict is checked only where one microsecond either way cannot flip it.
            let parallel = |tag: &str, by: f64| {
                let moved: Vec<(f64, f64)> = self
                    .tasks(tag)
                    .iter()
                    .map(|&(s, e)| (s - by, e + by))
                    .collect();
                peak(&moved).min(cores) >= 2
            };
            let surely = parallel("process-fibo", -1e-6) && parallel("thread-fibo", -1e-6);
            let maybe = parallel("process-fibo", 1e-6) && parallel("thread-fibo", 1e-6);
            let says = self.says("both compute in parallel.");
            assert!(says || !surely, "{out}");
            assert!(!says || maybe, "{out}");
        }
        if both {
            let span = |tag: &str| {
                let tasks = self.tasks(tag);
                let first = tasks.iter().map(|t| t.0).reduce(f64::min).unwrap();
                let last = tasks.iter().map(|t| t.1).reduce(f64::max).unwrap();
                last - first
            };
            let printed = self.number_after("end the process pool took ");
            assert!((printed - span("process-fibo")).abs() < 0.0011, "{out}");
            let printed = self.number_after("and the thread pool ");
            assert!((printed - span("thread-fibo")).abs() < 0.0011, "{out}");
        }
        // Fibonacci on the async pool: one thread, one task at a time.
        match self.makespan("async-fibo") {
            Some(makespan) => {
                let tasks = self.tasks("async-fibo");
                assert!(
                    self.says(&format!(
                        "Fibonacci on the async pool: {} tasks on 1 thread, ",
                        tasks.len()
                    )),
                    "{out}"
                );
                assert_eq!(peak(&tasks), 1, "two computations overlapped");
                assert!(self.says("never two in progress at once"), "{out}");
                let printed = self.number_after("The run took ");
                assert!((printed - makespan).abs() < 0.0011, "{out}");
                let sum: f64 = tasks.iter().map(|(s, e)| e - s).sum();
                let printed = self.number_after("one after another, took ");
                assert!(
                    (printed - sum).abs() < 0.0011 + tasks.len() as f64 * 1e-6,
                    "{out}"
                );
            }
            None => assert!(!self.says("Fibonacci on the async pool"), "{out}"),
        }
        // The HTTP waits.
        let gets: Vec<&str> = ["process", "thread", "gil", "async"]
            .into_iter()
            .filter(|p| self.makespan(&format!("{p}-get")).is_some())
            .collect();
        assert_eq!(self.says("HTTP tasks add up to"), !gets.is_empty(), "{out}");
        if gets.is_empty() {
            return;
        }
        let tasks = self.tasks(&format!("{}-get", gets[0]));
        let waited: f64 = tasks.iter().map(|(s, e)| e - s).sum();
        let printed = self.number_after(&format!("The {} HTTP tasks add up to ", tasks.len()));
        assert!(
            (printed - waited).abs() < 0.011,
            "{printed} vs {waited}\n{out}"
        );
        let peaks: Vec<usize> = gets
            .iter()
            .map(|p| peak(&self.tasks(&format!("{p}-get"))))
            .collect();
        let (least, most) = (*peaks.iter().min().unwrap(), *peaks.iter().max().unwrap());
        if least == 1 && most == 1 {
            assert!(self.says("at most 1 was in progress at once"), "{out}");
        } else if least == most {
            assert!(
                self.says(&format!("at most {least} were in progress at once")),
                "{out}"
            );
        } else {
            assert!(
                self.says(&format!("at most {least} to {most} were")),
                "{out}"
            );
        }
        assert_eq!(self.says("needs no core"), least > cores, "{out}");
        let gil_overlap = gets.contains(&"gil") && peak(&self.tasks("gil-get")) > 1;
        assert_eq!(
            self.says("the GIL pool's waits overlapped too"),
            gil_overlap,
            "{out}"
        );
        let async_overlap = gets.contains(&"async") && peak(&self.tasks("async-get")) > 1;
        assert_eq!(
            self.says("the async pool's waits overlapped on 1 thread"),
            async_overlap,
            "{out}"
        );
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The default pools and experiments, on small inputs.
#[test]
fn the_explanation_matches_the_files_for_every_pool() {
    let run = Run::new(&["--fib-inputs", "20..26", "--get-inputs", "20..80:10"]);
    run.check(cores());
    assert!(run.says("started by fork"), "{}", run.stdout);
    assert!(run.says("Each speed-up is the article's"), "{}", run.stdout);
}

/// Two workers: at most two waits at once, and the sentence says so.
#[test]
fn with_two_workers_at_most_two_waits_overlap() {
    let run = Run::new(&[
        "--workers",
        "2",
        "--fib-inputs",
        "20..24",
        "--get-inputs",
        "20..80:10",
    ]);
    run.check(cores());
    assert!(
        run.says("at most 2 were in progress at once"),
        "{}",
        run.stdout
    );
    assert!(run.says("With 2 workers, no more waits"), "{}", run.stdout);
    assert!(!run.says("needs no core"), "{}", run.stdout);
}

/// One worker: no pool computes two tasks at once, and the GIL sentence says so.
#[test]
fn with_one_worker_the_gil_takes_nothing_away() {
    let run = Run::new(&[
        "--workers",
        "1",
        "--experiment",
        "fib",
        "--pools",
        "process,gil",
        "--fib-inputs",
        "18..22",
        "--start-method",
        "spawn",
    ]);
    run.check(cores());
    assert!(run.says("started by spawn"), "{}", run.stdout);
    assert!(run.says("which had one worker"), "{}", run.stdout);
}

/// With one worker, neither parallel pool computes two tasks at once, and the sentence
/// on processes and threads says so instead of claiming parallelism.
#[test]
fn with_one_worker_nothing_runs_in_parallel() {
    let run = Run::new(&[
        "--workers",
        "1",
        "--experiment",
        "fib",
        "--pools",
        "process,thread",
        "--fib-inputs",
        "18..22",
    ]);
    run.check(cores());
    assert!(!run.says("both compute in parallel."), "{}", run.stdout);
    assert!(
        run.says("never had two tasks in progress"),
        "{}",
        run.stdout
    );
}

/// The GIL pool alone, on waits only: no speed-up lines, no Fibonacci sentence.
#[test]
fn the_gil_pool_alone_on_waits() {
    let run = Run::new(&[
        "--experiment",
        "get",
        "--pools",
        "gil",
        "--get-inputs",
        "30,40,50,60",
    ]);
    run.check(cores());
    assert!(!run.says("speed-up"), "{}", run.stdout);
    assert!(run.says("the gil pool took "), "{}", run.stdout);
}

/// Fibonacci on threads only, under the GIL and without: the GIL sentence compares
/// with the thread pool, the only parallel pool that ran.
#[test]
fn the_gil_is_compared_with_the_pool_that_ran() {
    let run = Run::new(&[
        "--experiment",
        "fib",
        "--pools",
        "thread,gil",
        "--fib-inputs",
        "20..24",
    ]);
    run.check(cores());
    assert!(run.says("as long as the thread pool ("), "{}", run.stdout);
    assert!(!run.says("speed-up"), "{}", run.stdout);
}

/// One worker on waits: one wait at a time, said in the singular.
#[test]
fn with_one_worker_the_waits_take_turns() {
    let run = Run::new(&[
        "--experiment",
        "get",
        "--pools",
        "thread,gil",
        "--workers",
        "1",
        "--get-inputs",
        "10,20,30",
    ]);
    run.check(cores());
    assert!(
        run.says("at most 1 was in progress at once"),
        "{}",
        run.stdout
    );
    assert!(!run.says("overlapped too"), "{}", run.stdout);
}

/// Every pool, the async one too: its Fibonacci tasks take turns on one thread, and
/// its waits overlap on it.
#[test]
fn the_async_pool_is_explained_from_its_files() {
    let run = Run::new(&[
        "--pools",
        "process,thread,gil,async",
        "--fib-inputs",
        "20..26",
        "--get-inputs",
        "20..80:10",
    ]);
    run.check(cores());
    assert!(
        run.says("Process vs Async Fibonacci tasks speed-up = "),
        "{}",
        run.stdout
    );
    assert!(
        run.says("Process vs Async HTTP Get tasks speed-up = "),
        "{}",
        run.stdout
    );
    assert!(
        run.says("the async pool's waits overlapped on 1 thread"),
        "{}",
        run.stdout
    );
}

/// The async pool with one task in flight: its waits take turns, and nothing claims
/// that they overlapped.
#[test]
fn the_async_pool_with_one_task_in_flight() {
    let run = Run::new(&[
        "--pools",
        "async",
        "--workers",
        "1",
        "--fib-inputs",
        "18..21",
        "--get-inputs",
        "10,20,30",
    ]);
    run.check(cores());
    assert!(
        run.says("at most 1 was in progress at once"),
        "{}",
        run.stdout
    );
    assert!(!run.says("could be in flight"), "{}", run.stdout);
}
