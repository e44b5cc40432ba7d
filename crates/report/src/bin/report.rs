//! `report`: draw every figure from a results folder written by `pools`.
//!
//! ```text
//! cargo run --release -p report -- --in results --out results --format png,svg
//! ```
//!
//! It also reads the four CSVs the article's own Python program writes (five
//! columns, no `experiments.csv`): it draws the two Gantt charts from them, says
//! which figures it skips and why, and prints the makespans it derived from the
//! tasks.
//!
//! With `--beside DIR` it draws `cpython-vs-rust.png` instead: the
//! Fibonacci run in `--in` (Rust's, with `pools --serial`) beside CPython's in DIR
//! (`scripts/cpython_experiment.py`), each pool's makespan over its own serial time,
//! and prints both languages' ratios and speed-ups; and, when both folders have
//! `async-get.csv`, `cpython-vs-rust-async.png`: the async GETs side by side.
//!
//! Beside the figures it writes `report.html`: the two Gantt charts with a tooltip
//! on every task, the speed-up lines and the experiments table, on one page that
//! needs no network (see `report::html`).
//!
//! Prints one line per file written, then a summary. Bad input (a missing folder,
//! no CSVs, a malformed row) is one `Error:` line naming the file and line, and a
//! non-zero exit; no output file is left half-written. Ctrl-C (SIGINT) or SIGTERM
//! stops the run with exit status 130 and leaves no temporary file behind.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use report::ImageFormat;

/// Draw the Gantt charts, worker lanes and GIL timeline of a `pools` run, and write
/// a Perfetto trace of it and report.html (the Gantt charts with a tooltip per task,
/// the speed-up lines and the experiments table, on one page that works offline); or
/// draw the two Gantt charts and report.html from the article's own CSV files; or
/// the race bars, queue timeline and barrier lanes of `isolation-demo race`, `queue`
/// and `barrier` from a folder holding only their CSVs; or,
/// with --beside, CPython's run beside Rust's.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Inputs are checked before anything is written: only regular files are \
                  read, a line may be at most 1 MiB, times must be Unix seconds from 1970 \
                  to 2100, and each per-task CSV must agree with its row in \
                  experiments.csv. A folder that a pools run is writing is refused, and so \
                  is one that mixes pools' files with the article's.\n\n\
                  Example: report --in results --out results --format png,svg"
)]
struct Cli {
    /// Folder with the CSVs written by `pools --out DIR` (refused while a pools run
    /// is writing there), or with the article's own files: the four
    /// process-fibo.csv, thread-fibo.csv, process-get.csv and thread-get.csv its
    /// Python program writes, with columns tag,start_time,end_time,elapsed,result.
    /// Its sub-folders cpus-1/ and cpus-2/, if two `pools --cpus N --out DIR/cpus-N`
    /// runs wrote them, add concurrency-vs-parallelism.png. A folder holding only
    /// isolation-demo's race-processes.csv, race-threads.csv, queue.csv or
    /// barrier.csv gets race.png, queue-timeline.png and barrier-lanes.png.
    #[arg(long = "in", value_name = "DIR", default_value = "results")]
    input: PathBuf,

    /// Folder to write the figures, trace.json and report.html into (created if
    /// missing). Stale
    /// temporary files of killed report runs (.report-PID-XXXXXX.tmp) are removed.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,

    /// Image formats to draw, comma-separated: png, svg or png,svg.
    #[arg(
        long,
        value_name = "LIST",
        value_delimiter = ',',
        default_value = "png",
        value_enum
    )]
    format: Vec<ImageFormat>,

    /// Draw only the CPython-beside-Rust figures (and .svg with --format).
    ///
    /// cpython-vs-rust.png is the Fibonacci run in --in (Rust, from `pools --experiment fib --pools process,gil --serial`) beside
    /// CPython's in DIR (from scripts/cpython_experiment.py), each pool's makespan
    /// divided by its own serial time. Both folders need process-fibo.csv,
    /// gil-fibo.csv and serial-fibo.csv. When both also have async-get.csv, draw
    /// cpython-vs-rust-async.png too: the async GETs of both, on one thread each.
    #[arg(long, value_name = "DIR")]
    beside: Option<PathBuf>,

    /// Draw only throughput-vs-chunksize.png into --out, from the runs that
    /// `scripts/bench.sh --chunk-only` writes (results/bench-raw/chunk-runs.csv);
    /// --in is not read.
    #[arg(long, value_name = "FILE")]
    chunks: Option<PathBuf>,
}

fn main() -> ExitCode {
    procutil::stdout::exit_code(run(Cli::parse()))
}

/// `--beside DIR`: CPython's run from `dir` beside Rust's in `rust`, checked and
/// summed up on stdout; the plan is the one figure in each format.
fn beside_plan(
    rust: &report::Results,
    dir: &std::path::Path,
    formats: &[ImageFormat],
) -> anyhow::Result<report::Plan> {
    use report::chart::beside::{Comparison, exporters};

    if !dir.is_dir() {
        anyhow::bail!(
            "--beside {}: no such folder: run `python3 scripts/cpython_experiment.py --out {}` \
             first",
            dir.display(),
            dir.display()
        );
    }
    let cpython = report::load(dir).with_context(|| format!("--beside {}", dir.display()))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let comparison = Comparison::new(rust, &cpython, cores)?;
    for line in comparison.lines() {
        procutil::say_unless_closed!("{line}")?;
    }
    // The async GETs too, when both folders have them.
    let mut plan = report::Plan {
        exporters: exporters(comparison, formats),
        skipped: Vec::new(),
    };
    use report::chart::beside_async;
    if let Some(line) = beside_async::summary_line(rust, &cpython) {
        procutil::say_unless_closed!("{line}")?;
    }
    match beside_async::lanes(rust, &cpython) {
        Ok(lanes) => plan
            .exporters
            .extend(beside_async::exporters(lanes, formats)),
        Err(why) => plan.skipped.push(format!("{}: {why}", beside_async::STEM)),
    }
    Ok(plan)
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let started = Instant::now();
    procutil::interrupt::exit_on_interrupt("interrupted: no file was left half-written");
    if let Some(runs) = &cli.chunks {
        std::fs::create_dir_all(&cli.out)
            .with_context(|| format!("cannot create output folder {}", cli.out.display()))?;
        let line = report::chart::chunks::draw_file(runs, &cli.out)
            .with_context(|| format!("--chunks {}", runs.display()))?;
        procutil::say_unless_closed!("{line}")?;
        return Ok(());
    }
    // Read and check everything before writing anything: a bad row must not leave
    // a half-updated set of figures behind.
    if let Some(lines) = report::isolation::draw_folder(&cli.input, &cli.out)? {
        for line in lines {
            procutil::say_unless_closed!("{line}")?;
        }
        if cli.format.contains(&ImageFormat::Svg) {
            procutil::say_unless_closed!(
                "these figures are drawn as PNG only: --format svg applies to the pools figures"
            )?;
        }
        return Ok(());
    }
    let results = report::load(&cli.input)?;
    let extras: Vec<String> = results::layout::optional_file_names()
        .into_iter()
        .chain(results::Workload::ALL.map(results::layout::serial_file_name))
        .filter(|name| cli.input.join(name).is_file())
        .collect();
    procutil::say_unless_closed!(
        "read {} tasks from {} experiments in {}{}",
        results.task_count(),
        results.experiments.len(),
        cli.input.display(),
        if extras.is_empty() {
            String::new()
        } else {
            format!(" (with {})", extras.join(", "))
        }
    )?;

    if results.dialect == report::model::Dialect::Article {
        // The article writes no experiments.csv, so each makespan is the span of its
        // tasks: a pool's start-up before its first task is not in it.
        let spans: Vec<String> = results
            .experiments
            .iter()
            .map(|e| format!("{} {:.6} s", e.tag(), e.makespan()))
            .collect();
        procutil::say_unless_closed!(
            "these are the article's own files (no experiments.csv, no worker, pid or tid): \
             makespans derived from the tasks, first start to last end: {}",
            spans.join(", ")
        )?;
    }

    let mut formats = cli.format.clone();
    formats.sort();
    formats.dedup();

    // The comparison is made, and both folders checked, before the output folder is
    // touched: a folder that lacks a file is one line, and nothing is written.
    let plan = match &cli.beside {
        Some(dir) => beside_plan(&results, dir, &formats)?,
        None => report::plan(&results, &formats),
    };

    std::fs::create_dir_all(&cli.out)
        .with_context(|| format!("cannot create output folder {}", cli.out.display()))?;
    for path in report::files::TEMP
        .remove_stale(&cli.out)
        .with_context(|| {
            format!(
                "cannot clean up stale temporary files in {}",
                cli.out.display()
            )
        })?
    {
        procutil::say_unless_closed!(
            "removed {}, left by a report run that was killed",
            path.display()
        )?;
    }
    for exporter in &plan.exporters {
        let path = report::save(&cli.out, exporter.as_ref(), &results)?;
        procutil::say_unless_closed!("wrote {}", path.display())?;
    }
    for skipped in &plan.skipped {
        procutil::say_unless_closed!("skipped {skipped}")?;
    }
    procutil::say_unless_closed!(
        "done: {} files in {} in {:.2} s{}",
        plan.exporters.len(),
        cli.out.display(),
        started.elapsed().as_secs_f64(),
        if results.has_task_ids() && cli.beside.is_none() {
            "; open trace.json in https://ui.perfetto.dev"
        } else {
            ""
        }
    )?;
    Ok(())
}
