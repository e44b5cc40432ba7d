//! `pools`: the article's experiment in Rust, with a third pool that puts the GIL back
//! and a fourth, `--pools async`, that runs every task on one thread's event loop.
//!
//! ```text
//! cargo run --release -p pools
//! cargo run --release -p pools -- --experiment fib --pools thread,gil --workers 2
//! ```
//!
//! For each experiment (Fibonacci, then HTTP GETs) it runs each pool, prints how long
//! it took, writes one CSV per run into `--out`, and prints the article's speed-up
//! lines. Without `--url`, the GETs go to a delay server it starts on loopback.

use std::fmt::Display;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::parser::ValueSource;
use clap::{CommandFactory, FromArgMatches, Parser};
use indicatif::{ProgressBar, ProgressStyle};
use pools::cores::{self, CoreSampledFibonacci};
use pools::experiment::{self, ExperimentRecord, PoolConfig};
use pools::explain::{self as explanation, RunFacts};
use pools::output::{self, Experiments, OutDir};
use pools::{
    Chunksize, Fibonacci, HttpFetch, NoGil, PoolKind, Registered, StartMethod, Task, TaskRecord,
    limits,
};
use results::layout;

/// Run the article's pool experiment: CPU-bound Fibonacci and IO-bound HTTP waits on a
/// process pool, a thread pool, and a thread pool under a simulated GIL (and, with
/// --pools async, an event loop on one thread).
///
/// Writes {out}/{pool}-{fibo,get}.csv (one row per task), {out}/experiments.csv (one
/// row per run) and {out}/gil-{fibo,get}-held.csv (who held the GIL, and when); with
/// --serial, also {out}/serial-fibo.csv; with --cpus, also {out}/cores-{pool}-fibo.csv
/// (which core ran each task, and when).
#[derive(Debug, Parser)]
#[command(
    version,
    after_help = AFTER_HELP,
)]
struct Cli {
    /// Which experiment to run.
    #[arg(long, value_enum, default_value = "all")]
    experiment: Which,
    /// Which pools to compare (process, thread, gil, async), in the order to run them.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "process,thread,gil"
    )]
    pools: Vec<PoolKind>,
    /// Fibonacci inputs: START..END[:STEP] (END excluded) or a comma list.
    #[arg(long, value_name = "SPEC", default_value = "34..42")]
    fib_inputs: String,
    /// HTTP waits in milliseconds: START..END[:STEP] (END excluded) or a comma list.
    #[arg(long, value_name = "SPEC", default_value = "1000..1800:100")]
    get_inputs: String,
    /// Repeat every input K times (to measure overhead with many small tasks). Inputs
    /// × K may be at most 1,000,000 tasks per experiment.
    #[arg(long, value_name = "K", default_value_t = 1)]
    repeat: usize,
    /// Workers per pool (for async: tasks in flight on its one thread), at most 4096
    /// (or this machine's process limit, if lower) [default: one per input, before
    /// --repeat, up to that limit].
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// How many inputs a worker takes at once, as in Python's map(chunksize=…): a
    /// whole number from 1 to 100000, or `auto` to size chunks from measured task
    /// times. Not for --pools async.
    #[arg(long, value_name = "N|auto", default_value = "1")]
    chunksize: String,
    /// How the process pool starts its workers: fork, spawn or forkserver (refused
    /// without the process pool in --pools).
    #[arg(long, value_enum, default_value_t = StartMethod::Fork)]
    start_method: StartMethod,
    /// The simulated GIL's switch interval, in milliseconds (CPython's default is 5),
    /// from 0.001 (1 µs) to 1000 (refused without the gil pool in --pools).
    #[arg(long, value_name = "MS", default_value_t = 5.0)]
    switch_interval_ms: f64,
    /// Fetch from this URL template instead of the built-in delay server; `{ms}` is
    /// replaced by the wait, e.g. http://127.0.0.1:8080/200?sleep={ms} (refused with
    /// --experiment fib, which makes no GETs).
    #[arg(long, value_name = "TEMPLATE")]
    url: Option<String>,
    /// Where to write the CSV files. One run at a time: a second run into the same
    /// folder is refused. Rows of experiments.csv for experiments not rerun are kept.
    #[arg(long, value_name = "DIR", default_value = "results")]
    out: PathBuf,
    /// End the run with an error when one task runs longer than SECS seconds (0.001 to
    /// 86400) [default: no limit].
    ///
    /// The error names the task, its worker and the worker's pid. A worker process is
    /// killed and reaped. A thread cannot be killed: under the thread and gil pools,
    /// pools exits at once instead. The async pool cancels a task that waits, and
    /// reports one that computes when it ends.
    #[arg(long, value_name = "SECS", allow_hyphen_values = true)]
    task_timeout: Option<String>,
    /// Before the pools, run the Fibonacci inputs one after another on the main thread
    /// and write {out}/serial-fibo.csv: the serial time that `report --beside` divides
    /// each pool's makespan by.
    #[arg(long)]
    serial: bool,
    /// Run the whole program on the first N of the CPUs it may use (1 to that count),
    /// and record which core ran each Fibonacci task, and when, into
    /// {out}/cores-{pool}-fibo.csv [default: every CPU, nothing recorded].
    ///
    /// `--cpus 1` shows concurrency (tasks take turns on one core), `--cpus 2`
    /// parallelism. `report` draws the two, one above the other, from {dir}/cpus-1 and
    /// {dir}/cpus-2, e.g. `pools --experiment fib --cpus 1 --out results/cpus-1`.
    #[arg(long, value_name = "N")]
    cpus: Option<usize>,
}

const AFTER_HELP: &str = "\
Limits: at most 1,000,000 tasks per experiment (inputs × --repeat), the largest run the
benchmarks make; at most 4096 workers per pool, or fewer if this machine's limit on
processes and threads (ulimit -u, kernel.threads-max, kernel.pid_max) is lower.

Example: pools --experiment fib --pools process,gil";

/// The shortest switch interval: 1 µs. Below it the interval is no longer a time the
/// GIL can measure (and 1e-300 ms would be recorded as 0).
const MIN_SWITCH_INTERVAL_MS: f64 = 0.001;
/// The longest switch interval: one second.
const MAX_SWITCH_INTERVAL_MS: f64 = 1000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Which {
    /// Only the CPU-bound Fibonacci experiment.
    Fib,
    /// Only the IO-bound HTTP GET experiment.
    Get,
    /// Both, Fibonacci first.
    All,
}

/// The tasks that `spawn` and `forkserver` workers of this program can run.
fn registry() -> [Registered; 3] {
    [
        Registered::task::<Fibonacci>(),
        Registered::task::<HttpFetch>(),
        Registered::task::<CoreSampledFibonacci>(),
    ]
}

fn main() -> ExitCode {
    // First of all: if this process was started as a spawn worker, serve and exit.
    pools::serve_if_worker(&registry());
    let matches = Cli::command().get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let typed = |id| matches.value_source(id) == Some(ValueSource::CommandLine);
    let given = Given {
        start_method: typed("start_method"),
        switch_interval: typed("switch_interval_ms"),
        chunksize: typed("chunksize"),
        fib_inputs: typed("fib_inputs"),
        get_inputs: typed("get_inputs"),
    };
    procutil::stdout::exit_code(run(cli, given))
}

/// `--task-timeout` under the thread pools: the thread running the task cannot be
/// stopped, so say which task it was and end the process. Workers, the forkserver and
/// the delay server die with it, and no CSV file is half-written: they are renamed
/// into place whole.
fn exit_on_stuck_thread(timed_out: &pools::TimedOut) -> ! {
    eprintln!("Error: {timed_out}, so pools exits");
    // Exiting skips `OutDir`'s drop: remove the folder here if this run made it and
    // wrote nothing into it (`remove_dir` refuses a folder that is not empty).
    if let Some(made) = MADE_OUT.get() {
        let _ = std::fs::remove_dir(made);
    }
    std::process::exit(1)
}

/// The `--out` folder, if this run made it: see [`exit_on_stuck_thread`].
static MADE_OUT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Which flags with a default the user typed: a flag that no chosen pool uses is
/// refused, rather than ignored without a word.
struct Given {
    start_method: bool,
    switch_interval: bool,
    chunksize: bool,
    fib_inputs: bool,
    get_inputs: bool,
}

/// Validated settings for one experiment.
struct Plan<I> {
    inputs: Vec<I>,
    workers: usize,
}

/// Checks the sizes against [`limits`] before repeating anything: `--repeat` is
/// only used to allocate once `inputs × repeat` is known to be within the limit.
fn plan<I: Clone>(cli: &Cli, flag: &str, values: Vec<I>) -> anyhow::Result<Plan<I>> {
    if cli.repeat == 0 {
        bail!("--repeat must be at least 1");
    }
    let tasks = limits::check_tasks(values.len(), cli.repeat).context(flag.to_owned())?;
    // --workers was checked against the limit in `run`; the default is capped by it,
    // so that 30,000 inputs get 4096 workers rather than a refusal.
    let workers = cli
        .workers
        .unwrap_or_else(|| values.len().min(limits::worker_limit().max));
    let mut inputs = Vec::with_capacity(tasks);
    for value in &values {
        inputs.extend(std::iter::repeat_n(value.clone(), cli.repeat));
    }
    Ok(Plan { inputs, workers })
}

fn run(cli: Cli, given: Given) -> anyhow::Result<()> {
    // First, while this process is still single-threaded: the mask set here on the
    // main thread is inherited by everything started below (the forkserver, the
    // delay server, every worker thread and process), so the whole program runs on
    // those CPUs, as under `taskset`. Refused before anything is written.
    if let Some(cpus) = cli.cpus {
        cores::restrict_to_first(cpus).context("--cpus")?;
    }
    // Check everything the user typed before starting any process or thread.
    if let Some(workers) = cli.workers {
        if workers == 0 {
            bail!("--workers must be at least 1");
        }
        limits::check_workers(workers)?;
    }
    // Inputs of an experiment that does not run would be ignored without a word.
    if given.fib_inputs && cli.experiment == Which::Get {
        bail!(
            "--fib-inputs are for the Fibonacci experiment: use them with --experiment fib or all"
        );
    }
    if given.get_inputs && cli.experiment == Which::Fib {
        bail!("--get-inputs are for the GET experiment: use them with --experiment get or all");
    }
    let fib = if cli.experiment != Which::Get {
        let values = pools::spec::parse(&cli.fib_inputs).context("--fib-inputs")?;
        let values = values
            .into_iter()
            .map(fib::check_input)
            .collect::<Result<Vec<u32>, _>>()
            .context("--fib-inputs")?;
        Some(plan(&cli, "--fib-inputs", values)?)
    } else {
        None
    };
    let get = if cli.experiment != Which::Fib {
        let values = pools::spec::parse(&cli.get_inputs).context("--get-inputs")?;
        if let Some(ms) = values.iter().find(|&&ms| ms > http_wait::MAX_SLEEP_MS) {
            bail!(
                "--get-inputs: a wait of {ms} ms is over the delay server's limit of {} ms",
                http_wait::MAX_SLEEP_MS
            );
        }
        Some(plan(&cli, "--get-inputs", values)?)
    } else {
        None
    };
    if cli.pools.is_empty() {
        bail!("--pools must name at least one of process, thread, gil, async");
    }
    let repeated = (1..cli.pools.len()).find(|&i| cli.pools[..i].contains(&cli.pools[i]));
    if let Some(twice) = repeated.map(|i| cli.pools[i]) {
        bail!("--pools names {twice} twice: name each pool once, as each runs once per experiment");
    }
    if given.start_method && !cli.pools.contains(&PoolKind::Process) {
        bail!("--start-method applies to the process pool: add process to --pools");
    }
    if cli.url.is_some() && get.is_none() {
        bail!("--url serves the GET tasks: use it with --experiment get or all");
    }
    let chunksize: Chunksize = cli.chunksize.parse().context("--chunksize")?;
    // Any value but the default 1 was typed, so `given` covers every case.
    if cli.pools.contains(&PoolKind::Async) && given.chunksize {
        bail!(
            "--chunksize applies to the process, thread and gil pools: the async pool \
             runs every task as its own future, with no boundary to cross"
        );
    }
    if cli.serial && fib.is_none() {
        bail!("--serial runs the Fibonacci inputs: use it with --experiment fib or all");
    }
    if !(MIN_SWITCH_INTERVAL_MS..=MAX_SWITCH_INTERVAL_MS).contains(&cli.switch_interval_ms) {
        bail!(
            "--switch-interval-ms must be from {MIN_SWITCH_INTERVAL_MS} (1 µs) to \
             {MAX_SWITCH_INTERVAL_MS}, not {:?}",
            cli.switch_interval_ms
        );
    }
    if given.switch_interval && !cli.pools.contains(&PoolKind::Gil) {
        bail!("--switch-interval-ms applies to the gil pool: add gil to --pools");
    }
    let switch_interval = Duration::from_secs_f64(cli.switch_interval_ms / 1000.0);
    let task_timeout = match &cli.task_timeout {
        Some(secs) => Some(pools::TaskTimeout {
            limit: pools::timeout::parse_secs(secs).context("--task-timeout")?,
            on_stuck_thread: exit_on_stuck_thread,
        }),
        None => None,
    };
    let uses_processes = cli.pools.contains(&PoolKind::Process);

    // The forkserver and the embedded delay server are both forked from this process,
    // so both must start while it is still single-threaded: now.
    if uses_processes && cli.start_method == StartMethod::Forkserver {
        pools::forkserver::start(&registry()).context("cannot start the forkserver")?;
    }
    let mut server_started = None;
    let url = match (&get, &cli.url) {
        (None, _) => None,
        (Some(_), Some(url)) => {
            // Fail now, with one line that says what went wrong, rather than in the
            // middle of a run. First the template alone, with no connection (port
            // 99999, no `{ms}`); then one request with no wait, whose error says
            // whether the connection was refused, or what the server answered. A
            // request with no wait needs well under a second: a server that accepts
            // and never answers is given 5 s, not the 35 s a task may wait.
            http_wait::check_template(url).context("--url")?;
            http_wait::Client::new(Duration::from_secs(5))
                .fetch(url, 0)
                .with_context(|| format!("--url {url}: a first request, with no wait, failed"))?;
            Some(url.clone())
        }
        (Some(_), None) => {
            // In a child process, so that this process stays single-threaded and the
            // fork start method stays safe.
            let server = http_wait::DelayServer::start_in_child()
                .context("cannot start the built-in delay server")?;
            let url = server.url_template();
            server_started = Some(server);
            Some(url)
        }
    };

    // Held until this function returns: no other run can write into the folder.
    // Taken after the forkserver and the delay server have started, which would
    // otherwise share the lock and could keep it a moment after this process ends;
    // and after `--url` is checked, so that a bad URL leaves no folder behind.
    let out = OutDir::open(&cli.out)?;
    if out.created() {
        let _ = MADE_OUT.set(out.path().to_owned());
    }
    let experiments = Experiments::load(out.path()).with_context(|| {
        format!(
            "--out {}: pools keeps the rows of experiments.csv that describe the other \
             CSV files there, and cannot read them; move the file away, or choose another --out",
            cli.out.display()
        )
    })?;
    // Said only now that the run will go ahead: a refused --out is the one line.
    if let Some(server) = &server_started {
        eprintln!(
            "GETs go to the built-in delay server at http://{}",
            server.addr()
        );
    }

    // Installed only now, after the forkserver and the delay server have been forked,
    // so that they do not inherit the handler. (Fork workers reset it themselves.)
    procutil::interrupt::exit_on_interrupt(
        "interrupted: stopping every worker; no file was left half-written",
    );
    let mut session = Session {
        cli: &cli,
        out: &out,
        switch_interval,
        task_timeout,
        chunksize,
        records: Vec::new(),
        experiments,
        facts: Vec::new(),
    };
    if let Some(plan) = &fib {
        if cli.serial {
            serial_pass(out.path(), &plan.inputs)?;
        }
        if cli.cpus.is_some() {
            // The same recursion with a core sampler in its checkpoint; its slices go
            // to cores-{pool}-fibo.csv next to the usual task rows.
            session.experiment_with("fibo", &CoreSampledFibonacci, plan, |out, kind, tasks| {
                let path = layout::cores_file(out, kind, results::Workload::Fibo);
                Ok(cores::write_slices(&path, &cores::slices(tasks))?)
            })?;
        } else {
            session.experiment("fibo", &Fibonacci, plan)?;
        }
    }
    if let (Some(plan), Some(url)) = (&get, &url) {
        session.experiment("get", &HttpFetch::new(url.clone()), plan)?;
    }
    session.conclude()?;
    Ok(())
}

/// The runs so far, and where their files go.
struct Session<'a> {
    cli: &'a Cli,
    out: &'a OutDir,
    switch_interval: Duration,
    task_timeout: Option<pools::TaskTimeout>,
    /// How many inputs a worker takes at once.
    chunksize: Chunksize,
    /// This run's experiments: what the speed-up lines compare.
    records: Vec<ExperimentRecord>,
    /// `experiments.csv`: this run's rows and the earlier ones it keeps.
    experiments: Experiments,
    /// What this run measured, for the explanation it prints.
    facts: Vec<RunFacts>,
}

impl Session<'_> {
    /// Runs one task on every chosen pool, printing a line and writing files for each.
    fn experiment<T>(&mut self, short: &str, task: &T, plan: &Plan<T::Input>) -> anyhow::Result<()>
    where
        T: Task,
        T::Input: Display + Clone,
        T::Output: Display,
    {
        self.experiment_with(short, task, plan, |_, _, _| Ok(()))
    }

    /// [`Session::experiment`], calling `more(out, pool, tasks)` to write one more
    /// file per pool, along with the others (`--cpus`: the core slices).
    fn experiment_with<T>(
        &mut self,
        short: &str,
        task: &T,
        plan: &Plan<T::Input>,
        more: impl Fn(&std::path::Path, PoolKind, &[TaskRecord<T::Output>]) -> anyhow::Result<()>,
    ) -> anyhow::Result<()>
    where
        T: Task,
        T::Input: Display + Clone,
        T::Output: Display,
    {
        for &kind in &self.cli.pools {
            let config = PoolConfig {
                kind,
                workers: plan.workers,
                start_method: self.cli.start_method,
                switch_interval: self.switch_interval,
                task_timeout: self.task_timeout,
            };
            let progress = progress_bar(plan.inputs.len(), &format!("{kind}-{short}"));
            let outcome = experiment::run_chunked(
                &config,
                self.chunksize,
                short,
                task,
                &plan.inputs,
                &|| progress.inc(1),
            )?;
            progress.finish_and_clear();
            let record = outcome.record;
            // Process workers are started by a start method, which the line names; the
            // async pool has one thread, and `--workers` tasks in flight on it.
            let among = match kind {
                PoolKind::Process => format!(
                    "among {} workers started by {}",
                    plan.workers, self.cli.start_method
                ),
                PoolKind::Thread | PoolKind::Gil => format!("among {} workers", plan.workers),
                PoolKind::Async => format!("with up to {} in flight on one thread", plan.workers),
            };
            let among = match self.chunksize {
                Chunksize::Fixed(n) if n.get() == 1 => among,
                Chunksize::Fixed(n) => format!("{among}, in chunks of {n}"),
                Chunksize::Auto => format!("{among}, in chunks sized from task times"),
            };
            procutil::say_unless_closed!(
                "Run experiment {kind}: running {} over {} {among} ... {:.3} s",
                T::NAME,
                abbreviate(&plan.inputs),
                record.makespan
            )?;
            let tasks: Vec<TaskRecord<T::Output>> = outcome
                .tasks
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    r.with_context(|| format!("task {}-{i} (input {})", record.tag, plan.inputs[i]))
                })
                .collect::<anyhow::Result<_>>()?;
            // Ctrl-C waits until the experiment's files and its row are all in place.
            let _held_back = output::HoldSignals::new();
            let out = self.out.path();
            // Each error names the file it could not write, and why.
            let file = out.join(layout::task_file_name(&record.tag));
            output::write_tasks(&file, &record.tag, &plan.inputs, &tasks)?;
            if kind == PoolKind::Gil {
                let workload: results::Workload = short.parse()?;
                output::write_held(&layout::held_file(out, workload), &outcome.held)?;
            }
            more(out, kind, &tasks)?;
            let facts = RunFacts::new(
                kind,
                short,
                plan.workers,
                record.makespan,
                tasks.iter().map(|t| (t.start, t.end)),
                outcome.held.iter().map(|h| (h.acquired_at, h.released_at)),
            )
            .with_cpu_seconds(outcome.cpu_seconds)
            .with_threads(
                tasks
                    .iter()
                    .map(|t| (t.pid, t.tid))
                    .collect::<std::collections::BTreeSet<_>>()
                    .len(),
            );
            self.facts
                .retain(|f| !(f.pool == kind && f.workload == short));
            self.facts.push(facts);
            self.experiments.put(&record);
            self.experiments.write()?;
            self.records.retain(|r| r.tag != record.tag);
            self.records.push(record);
        }
        Ok(())
    }

    fn makespan(&self, tag: &str) -> Option<f64> {
        self.records
            .iter()
            .find(|r| r.tag == tag)
            .map(|r| r.makespan)
    }

    /// The article's speed-up lines, then what they mean on this machine.
    fn conclude(&self) -> anyhow::Result<()> {
        let makespan = |pool, workload| self.makespan(&results::layout::tag(pool, workload));
        for line in results::speedup::lines(makespan) {
            procutil::say_unless_closed!("{line}")?;
        }
        for sentence in self.explain() {
            procutil::say_unless_closed!("{sentence}")?;
        }
        procutil::say_unless_closed!("CSV files are in {}/", self.cli.out.display())?;
        Ok(())
    }

    /// Plain sentences on what the numbers show, each derived from this run's
    /// measurements (see [`pools::explain`]).
    fn explain(&self) -> Vec<String> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        explanation::explain(&self.facts, cores)
    }
}

/// `--serial`: the Fibonacci inputs one after another on this thread, with no pool
/// and no lock, written to `serial-fibo.csv`. Its first start to its last end is the
/// serial time: what a pool of any language is measured against on a common scale.
///
/// It runs the pools' own task with [`NoGil`], as a process worker runs it, so the
/// serial time is that of the work itself, without the GIL pool's checkpoints.
fn serial_pass(out: &std::path::Path, inputs: &[u32]) -> anyhow::Result<()> {
    let workload = results::Workload::Fibo;
    let tag = layout::serial_tag(workload);
    let pid = nix::unistd::getpid().as_raw();
    let tid = nix::unistd::gettid().as_raw();
    let progress = progress_bar(inputs.len(), &tag);
    let mut tasks = Vec::with_capacity(inputs.len());
    for (index, n) in inputs.iter().enumerate() {
        let timed = fib::Timed::measure(|| Fibonacci.run(n, &mut NoGil));
        let output = timed
            .value
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("task {tag}-{index} (input {n})"))?;
        tasks.push(TaskRecord {
            index,
            start: timed.start,
            end: timed.end,
            worker: 0,
            pid,
            tid,
            output,
        });
        progress.inc(1);
    }
    progress.finish_and_clear();
    let seconds = match (tasks.first(), tasks.last()) {
        (Some(first), Some(last)) => last.end - first.start,
        _ => 0.0,
    };
    procutil::say_unless_closed!(
        "Run serial: running {} over {} one after another on the main thread ... {seconds:.3} s",
        Fibonacci::NAME,
        abbreviate(inputs)
    )?;
    let _held_back = output::HoldSignals::new();
    output::write_tasks(&layout::serial_file(out, workload), &tag, inputs, &tasks)?;
    Ok(())
}

/// `[34, …, 41]`: the first and last input, as in the article's log line.
fn abbreviate<I: Display>(inputs: &[I]) -> String {
    match inputs {
        [] => "[]".into(),
        [only] => format!("[{only}]"),
        [first, second] => format!("[{first}, {second}]"),
        [first, .., last] => format!("[{first}, …, {last}]"),
    }
}

/// A progress bar on stderr when it is a terminal; a hidden one otherwise.
fn progress_bar(len: usize, label: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix:>14} [{bar:30}] {pos}/{len} tasks {elapsed}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The default is one worker per input, but never more than the limit: 30,000
    /// waits get a pool of the limit's size instead of 30,000 forks.
    #[test]
    fn the_default_worker_count_respects_the_limit() {
        let cli = Cli::parse_from(["pools", "--get-inputs", "0..30000"]);
        let values = pools::spec::parse(&cli.get_inputs).unwrap();
        let many = plan(&cli, "--get-inputs", values).unwrap();
        assert_eq!(many.workers, limits::worker_limit().max);
        assert_eq!(many.inputs.len(), 30_000);

        let cli = Cli::parse_from(["pools", "--fib-inputs", "5..9", "--repeat", "3"]);
        let few = plan(&cli, "--fib-inputs", vec![5, 6, 7, 8]).unwrap();
        assert_eq!(few.workers, 4, "one per input, before --repeat");
        assert_eq!(few.inputs, [5, 5, 5, 6, 6, 6, 7, 7, 7, 8, 8, 8]);
    }

    /// The smallest switch interval is recorded as what was asked, not as 0.
    #[test]
    fn the_smallest_switch_interval_is_recorded_as_asked() {
        let interval = Duration::from_secs_f64(MIN_SWITCH_INTERVAL_MS / 1000.0);
        assert_eq!(interval, Duration::from_micros(1));
        assert_eq!(interval.as_secs_f64() * 1000.0, MIN_SWITCH_INTERVAL_MS);
    }
}
