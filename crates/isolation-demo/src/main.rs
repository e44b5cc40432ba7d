//! `isolation-demo`: a thread sees main's updates to a global; a process does not.
//!
//! ```text
//! cargo run --release -p isolation-demo
//! cargo run --release -p isolation-demo -- --start-method spawn
//! cargo run --release -p isolation-demo -- --shared
//! cargo run --release -p isolation-demo -- --iterations 5 --interval-ms 200
//! cargo run --release -p isolation-demo -- race
//! cargo run --release -p isolation-demo -- race --sync none --threads
//! cargo run --release -p isolation-demo -- queue --items 200 --capacity 4
//! cargo run --release -p isolation-demo -- barrier --processes 4 --rounds 20
//! cargo run --release -p isolation-demo -- barrier --start-method spawn
//! ```
//!
//! The first run takes about three seconds and prints the article's pattern: the
//! thread, with main's pid, sees X go up; the process, with its own pid, sees 0.
//! The explanation lives in the library docs (`cargo doc -p isolation-demo --open`).
//!
//! The binary has a second, hidden role: `--start-method spawn` re-runs it with
//! `--spawned-reader PARENT_PID` (and `--shared-fd FD` under `--shared`), and then it
//! runs only the reader loop.
//!
//! `race` (the `isolation_demo::race` module) races N processes on one shared
//! counter; under `--start-method spawn` each participant is this binary re-run as
//! `race --participant-of PARENT_PID --page-fd FD`, which runs only that participant.
//! `queue` and `barrier` do the same under their own `--start-method spawn`: each
//! worker is re-run with `--participant-of PARENT_PID --shared-fd FD` (and, for the
//! queue, `--role producer|consumer --pipe-fd FD`; for the barrier, `--index K`).

use std::process::ExitCode;

use clap::Parser;
use procutil::StartMethod;

/// Show what a thread and a child process see of a global X that main increments.
///
/// The thread has main's pid and sees the updates; the process has its own pid and
/// its own copy of X, and sees 0, unless X is put in shared memory with --shared.
#[derive(Debug, Parser)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Example: isolation-demo --iterations 5 --interval-ms 200 --shared"
)]
struct Cli {
    /// Run another demo instead (see `isolation-demo race --help`).
    #[command(subcommand)]
    command: Option<Demo>,

    /// How many times main increments X and each reader prints it (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 3)]
    iterations: u32,

    /// Milliseconds between two steps of each actor (1 to 60000).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    interval_ms: u64,

    /// How the child process starts: a copy of this one, or a fresh run of the program.
    #[arg(
        long,
        default_value_t = StartMethod::Fork,
        value_parser = StartMethod::parser(&[StartMethod::Fork, StartMethod::Spawn]),
    )]
    start_method: StartMethod,

    /// Put X in memory shared with the process on purpose, so it sees the updates too.
    #[arg(long)]
    shared: bool,

    /// Internal: run only the reader loop, as the spawned child of this parent pid.
    #[arg(long = isolation_demo::launch::SPAWNED_READER_FLAG, hide = true, value_name = "PARENT_PID")]
    spawned_reader: Option<i32>,

    /// Internal: the spawned reader's inherited memfd holding the shared X.
    #[arg(
        long = isolation_demo::launch::SHARED_FD_FLAG,
        hide = true,
        value_name = "FD",
        requires = "spawned_reader"
    )]
    shared_fd: Option<i32>,
}

/// The demos other than the default one.
#[derive(Debug, clap::Subcommand)]
enum Demo {
    /// Race processes adding 1 to one shared counter, and see updates lost, then fixed.
    ///
    /// Each of N processes adds 1 to a counter in a MAP_SHARED page M times. With
    /// --sync none (an atomic load, then an atomic store) updates are lost; with
    /// atomic (fetch_add) or lock (a futex lock in the same page) the count is exact.
    /// Without --sync, all three run one after the other. Writes one row per method
    /// to DIR/race-processes.csv, or DIR/race-threads.csv under --threads.
    #[command(
        after_help = "Example: isolation-demo race --sync none --processes 4 --increments 100000"
    )]
    Race(RaceArgs),
    /// A producer and a consumer process joined by a bounded queue over a pipe.
    ///
    /// The producer puts --items numbers; a put takes a free slot first and sleeps
    /// while the queue's --capacity slots are all full. The consumer gets each one
    /// and works --consumer-delay-us on it. Prints the throughput and how long the
    /// producer was blocked, and writes every item's timestamps to DIR/queue.csv.
    #[command(
        after_help = "Example: isolation-demo queue --items 200 --capacity 4 --consumer-delay-us 1000"
    )]
    Queue(QueueArgs),
    /// N processes meet at a barrier in shared memory, --rounds times.
    ///
    /// Each works a while (up to --max-work-us, a different length each round), then
    /// arrives and sleeps on a futex until the last one arrives; then all go on.
    /// Prints the spread of arrivals and departures, and writes every arrival and
    /// departure to DIR/barrier.csv.
    #[command(after_help = "Example: isolation-demo barrier --processes 4 --rounds 20")]
    Barrier(BarrierArgs),
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("spawned").arg("participant_of").requires("index"))]
struct BarrierArgs {
    /// How many processes meet (1 to 64).
    #[arg(long, value_name = "N", default_value_t = 4)]
    processes: u32,

    /// How many times they meet (1 to 10000).
    #[arg(long, value_name = "R", default_value_t = 20)]
    rounds: u32,

    /// The longest work before each arrival, in µs (0 to 100000; R × it at most 60 s).
    #[arg(long, value_name = "US", default_value_t = 2000)]
    max_work_us: u64,

    /// Directory for barrier.csv.
    #[arg(long, value_name = "DIR", default_value = "results/talk")]
    out: std::path::PathBuf,

    /// How each process starts, and the hidden flags of a spawned one.
    #[command(flatten)]
    start: StartArgs,

    /// Internal: which participant the spawned one is, from 0.
    #[arg(long, hide = true, value_name = "K", requires = "participant_of")]
    index: Option<u32>,
}

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("spawned").arg("participant_of").requires_all(["role", "pipe_fd"]))]
struct QueueArgs {
    /// How many items the producer puts (1 to 100000).
    #[arg(long, value_name = "N", default_value_t = 200)]
    items: u64,

    /// How many items the queue holds at most (1 to 1024).
    #[arg(long, value_name = "C", default_value_t = 4)]
    capacity: u32,

    /// Microseconds the consumer works on each item (0 to 1000000; N × D at most 60 s).
    #[arg(long, value_name = "D", default_value_t = 1000)]
    consumer_delay_us: u64,

    /// Directory for queue.csv.
    #[arg(long, value_name = "DIR", default_value = "results/talk")]
    out: std::path::PathBuf,

    /// How each process starts, and the hidden flags of a spawned one.
    #[command(flatten)]
    start: StartArgs,

    /// Internal: which worker the spawned one is.
    #[arg(long, hide = true, value_enum, requires = "participant_of")]
    role: Option<isolation_demo::queue::Role>,

    /// Internal: the spawned worker's inherited end of the pipe.
    #[arg(
        long = isolation_demo::talk::PIPE_FD_FLAG,
        hide = true,
        value_name = "FD",
        requires = "participant_of"
    )]
    pipe_fd: Option<i32>,
}

/// What `queue` and `barrier` share: `--start-method`, and the two hidden flags that
/// every spawned worker of theirs gets (each adds its own, which the worker requires
/// through a group: `queue` needs `--role` and `--pipe-fd`, `barrier` `--index`).
#[derive(Debug, clap::Args)]
struct StartArgs {
    /// How each process starts: a copy of this one, or a fresh run of the program.
    #[arg(
        long,
        default_value_t = StartMethod::Fork,
        value_parser = StartMethod::parser(&[StartMethod::Fork, StartMethod::Spawn]),
    )]
    start_method: StartMethod,

    /// Internal: run only one worker, as the spawned child of this parent pid.
    #[arg(
        long = isolation_demo::race::PARTICIPANT_FLAG,
        hide = true,
        value_name = "PARENT_PID",
        requires = "shared_fd"
    )]
    participant_of: Option<i32>,

    /// Internal: the spawned worker's inherited memfd holding the shared table.
    #[arg(
        long = isolation_demo::launch::SHARED_FD_FLAG,
        hide = true,
        value_name = "FD",
        requires = "participant_of"
    )]
    shared_fd: Option<i32>,
}

#[derive(Debug, clap::Args)]
struct RaceArgs {
    /// How each one adds 1: none (load, then store), atomic (fetch_add), lock (a futex lock); all three if not given.
    #[arg(long, value_enum)]
    sync: Option<isolation_demo::race::Method>,

    /// How many race (1 to 256) [default: 2 × the CPUs this process may run on].
    #[arg(long, value_name = "N")]
    processes: Option<u32>,

    /// How many times each one adds 1 (1 to 1000000000; N × M at most 1000000000) [default: 80000000 / N].
    #[arg(long, value_name = "M")]
    increments: Option<u64>,

    /// Race threads of this one process instead of processes, for comparison.
    #[arg(long)]
    threads: bool,

    /// How each process starts: a copy of this one, or a fresh run of the program.
    #[arg(
        long,
        default_value_t = StartMethod::Fork,
        value_parser = StartMethod::parser(&[StartMethod::Fork, StartMethod::Spawn]),
        conflicts_with = "threads",
    )]
    start_method: StartMethod,

    /// Directory for race-processes.csv (or race-threads.csv under --threads).
    #[arg(long, value_name = "DIR", default_value = "results/talk")]
    out: std::path::PathBuf,

    /// Internal: run only one participant, as the spawned child of this parent pid.
    #[arg(
        long = isolation_demo::race::PARTICIPANT_FLAG,
        hide = true,
        value_name = "PARENT_PID",
        requires_all = ["page_fd", "sync", "increments"],
    )]
    participant_of: Option<i32>,

    /// Internal: the spawned participant's inherited memfd holding the shared page.
    #[arg(
        long = isolation_demo::race::PAGE_FD_FLAG,
        hide = true,
        value_name = "FD",
        requires = "participant_of"
    )]
    page_fd: Option<i32>,
}

fn main() -> ExitCode {
    // A closed stdout (`isolation-demo | head -3`) ends the run quietly, with status
    // 0: the policy every binary here shares (`procutil::stdout`).
    procutil::stdout::exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    use anyhow::Context;
    use isolation_demo::{Schedule, demo, launch};

    match cli.command {
        Some(Demo::Race(args)) => return race(args),
        Some(Demo::Queue(args)) => return queue(args),
        Some(Demo::Barrier(args)) => return barrier(args),
        None => {}
    }

    // Check the numbers before starting anything, so bad input never leaves a
    // half-started child behind.
    let schedule = Schedule::new(cli.iterations, cli.interval_ms)?;

    if let Some(parent) = cli.spawned_reader {
        return launch::run_spawned_reader(parent, cli.shared_fd, &schedule)
            .context("spawned reader process");
    }

    let outcome = demo::run(demo::Options {
        schedule,
        start_method: cli.start_method,
        shared: cli.shared,
    })?;
    for line in outcome.summary() {
        procutil::say!("{line}")?;
    }
    Ok(())
}

/// `isolation-demo race`: check the numbers, run each method, print the report.
fn race(args: RaceArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use isolation_demo::race::{self, Method, Options, Participants};

    if let (Some(parent), Some(fd), Some(method)) = (args.participant_of, args.page_fd, args.sync) {
        let increments = args.increments.unwrap_or(1);
        return race::run_spawned_participant(parent, fd, method, increments)
            .context("spawned race participant");
    }
    let participants = match args.threads {
        true => Participants::Threads,
        false => Participants::Processes(args.start_method),
    };
    // Checked before anything starts, so bad input never leaves a child behind.
    let options = Options::new(participants, args.processes, args.increments)?;
    race::check_out(&options, &args.out)?;
    let methods = match args.sync {
        Some(method) => vec![method],
        None => Method::ALL.to_vec(),
    };
    let mut outcomes = Vec::with_capacity(methods.len());
    for method in methods {
        outcomes.push(race::run(&options, method)?);
    }
    let path = race::write_csv(&options, &outcomes, &args.out)?;
    for line in race::report(&options, &outcomes, &path) {
        procutil::say!("{line}")?;
    }
    Ok(())
}

/// `isolation-demo queue`: check the numbers, run, write the CSV, print the report.
fn queue(args: QueueArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use isolation_demo::queue::{self, Options};

    let start = args.start;
    let options = Options::new(
        start.start_method,
        args.items,
        args.capacity,
        args.consumer_delay_us,
    )?;
    if let (Some(parent), Some(role), Some(table), Some(pipe)) = (
        start.participant_of,
        args.role,
        start.shared_fd,
        args.pipe_fd,
    ) {
        return queue::run_spawned_worker(parent, role, table, pipe, options)
            .with_context(|| format!("spawned {}", role.name()));
    }
    let (outcome, path) = queue::run_and_write(options, &args.out)?;
    for line in outcome.report(&path) {
        procutil::say!("{line}")?;
    }
    Ok(())
}

/// `isolation-demo barrier`: check the numbers, run, write the CSV, print the report.
fn barrier(args: BarrierArgs) -> anyhow::Result<()> {
    use anyhow::Context;
    use isolation_demo::barrier::{self, Options};

    let start = args.start;
    let options = Options::new(
        start.start_method,
        args.processes,
        args.rounds,
        args.max_work_us,
    )?;
    if let (Some(parent), Some(index), Some(table)) =
        (start.participant_of, args.index, start.shared_fd)
    {
        return barrier::run_spawned_participant(parent, index, table, options)
            .with_context(|| format!("spawned barrier participant {index}"));
    }
    let (outcome, path) = barrier::run_and_write(options, &args.out)?;
    for line in outcome.report(&path) {
        procutil::say!("{line}")?;
    }
    Ok(())
}
