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
/// a Perfetto trace of it; or draw the two Gantt charts from the article's own CSV
/// files.
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = "Inputs are checked before anything is written: only regular files are \
                  read, a line may be at most 1 MiB, times must be Unix seconds from 1970 \
                  to 2100, and each per-task CSV must agree with its row in \
                  experiments.csv. A folder that a pools run is writing is refused, and so \
                  is one that mixes pools' files with the article's.\n\n\
                  Example: report --in results --out docs/img --format png,svg"
)]
struct Cli {
    /// Folder with the CSVs written by `pools --out DIR` (refused while a pools run
    /// is writing there), or with the article's own files: the four
    /// process-fibo.csv, thread-fibo.csv, process-get.csv and thread-get.csv its
    /// Python program writes, with columns tag,start_time,end_time,elapsed,result.
    /// Its sub-folders cpus-1/ and cpus-2/, if two `pools --cpus N --out DIR/cpus-N`
    /// runs wrote them, add concurrency-vs-parallelism.png.
    #[arg(long = "in", value_name = "DIR", default_value = "results")]
    input: PathBuf,

    /// Folder to write the figures and trace.json into (created if missing). Stale
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
}

fn main() -> ExitCode {
    procutil::stdout::exit_code(run(Cli::parse()))
}

/// Makes SIGINT and SIGTERM end the run at once, with a message and status 130.
///
/// The handler needs no clean-up of its own: every temporary file is created and
/// renamed with both signals held back (`results::HoldSignals`), so when the
/// handler runs, no temporary file exists. A signal that is ignored when `report`
/// starts (`nohup`, a shell's background job) stays ignored.
fn stop_on_interrupt() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};

    extern "C" fn on_signal(_: nix::libc::c_int) {
        const MESSAGE: &[u8] = b"\ninterrupted: no file was left half-written\n";
        // Safety: `write` and `_exit` are async-signal-safe, and MESSAGE is static.
        unsafe {
            nix::libc::write(2, MESSAGE.as_ptr().cast(), MESSAGE.len());
            nix::libc::_exit(130);
        }
    }

    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::empty(),
        SigSet::empty(),
    );
    for signal in [Signal::SIGINT, Signal::SIGTERM] {
        // Safety: the handler only makes async-signal-safe calls. Installing it and
        // reading back the old disposition is a plain `sigaction`.
        unsafe {
            if let Ok(old) = sigaction(signal, &action) {
                if old.handler() == SigHandler::SigIgn {
                    let _ = sigaction(signal, &old);
                }
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let started = Instant::now();
    stop_on_interrupt();
    // Read and check everything before writing anything: a bad row must not leave
    // a half-updated set of figures behind.
    let results = report::load(&cli.input)?;
    let extras: Vec<String> = results::layout::optional_file_names()
        .into_iter()
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

    let mut formats = cli.format;
    formats.sort();
    formats.dedup();

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
    let plan = report::plan(&results, &formats);
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
        if results.has_task_ids() {
            "; open trace.json in https://ui.perfetto.dev"
        } else {
            ""
        }
    )?;
    Ok(())
}
