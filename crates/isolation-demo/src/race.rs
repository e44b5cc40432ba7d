//! `isolation-demo race`: N processes add 1 to one shared counter, M times each, and
//! updates go missing unless each addition is made indivisible.
//!
//! # The claim
//! The counter is an `AtomicU64` in a `MAP_SHARED` page, so every process sees every
//! store. That is not enough:
//! - [`Method::None`] adds with an atomic load, then an atomic store. Two participants
//!   can load the same value and both store value + 1: one increment is lost. The
//!   count comes out **short**, never long. Every access is atomic, so this is a
//!   *race condition*, not a *data race*: no undefined behaviour, only a wrong answer.
//!   Rust's types forbid data races between threads; they know nothing of processes,
//!   and they never forbade race conditions anyway (`--threads` loses updates too).
//! - [`Method::Atomic`] adds with `fetch_add`: load, add and store in one indivisible
//!   step. **Exact.**
//! - [`Method::Lock`] takes a [`SharedLock`] that lives in the same page, then loads
//!   and stores. **Exact**, and dearer when contended: a waiter sleeps in the kernel.
//!
//! # The shared page
//! One [`SharedCounter`] mapping (anonymous for `fork`, a memfd for `spawn`), laid out
//! as a [`RacePage`]: the counter first (where `--shared` keeps X), then the time the
//! last participant finished, the lock, and the start gate.
//!
//! # A run, step by step
//! 1. **Map the page**, before any participant exists, so every one can reach it.
//! 2. **Start the participants.** Each counts itself in at the gate
//!    ([`RacePage::arrive`]) and sleeps on it, so start-up (a fork, or a whole program
//!    start under `spawn`) is never timed.
//! 3. **Open the gate** once all have arrived, and wake them all. They wait for each
//!    other once more, awake, just past it; the last one through notes the clock.
//! 4. **Wait for them all**, reaping each one. Every wait is bounded by the
//!    participants' lives: the parent polls each pid with `waitpid(WNOHANG)`, and if
//!    one dies (killed, say, while it holds the lock, which would leave the others
//!    asleep forever) it kills the rest by pid, reaps them and reports which one died.
//!    Each child also dies with the parent (`PR_SET_PDEATHSIG`).
//! 5. **Read the count** and the clock: the time per increment is from the last
//!    participant's start to the last finish, divided by all N × M increments.
//!
//! # What is written
//! Once every method has run, the parent (never a participant) writes one row per
//! method to `race-processes.csv`, or `race-threads.csv` under `--threads`
//! ([`write_csv`], columns [`CSV_COLUMNS`]), so that both runs can sit in one folder
//! and `report` can draw them side by side in `race.png`.

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, getpid};
use procutil::StartMethod;

use crate::error::DemoError;
use crate::futex::{self, SharedLock};
use crate::launch::die_with_parent;
use crate::shared::{self, SharedCounter};

/// The most participants accepted.
pub const MAX_PROCESSES: u32 = 256;

/// The most increments accepted per participant.
pub const MAX_INCREMENTS: u64 = 1_000_000_000;

/// The most increments accepted in all (participants × increments), so that a run of
/// all three methods ends in seconds or minutes, not hours.
pub const MAX_TOTAL: u64 = 1_000_000_000;

/// Increments in all when `--increments` is not given: each participant makes this
/// many divided by their number. Chosen so that a default run of all three methods
/// takes about a second on two cores (`time isolation-demo race`, release build).
pub const DEFAULT_TOTAL: u64 = 80_000_000;

/// How long the participants may take to reach the start gate: a spawned one starts
/// a whole program, which on a loaded machine can take a while.
const GATE_TIMEOUT: Duration = Duration::from_secs(60);

/// How often the parent looks at its children while it waits.
const POLL: Duration = Duration::from_millis(2);

/// The hidden flag that makes the binary a spawned participant; its value is the
/// parent's pid. (`main` declares it with this name.)
pub const PARTICIPANT_FLAG: &str = "participant-of";

/// The hidden flag that passes the page's memfd number to a spawned participant.
pub const PAGE_FD_FLAG: &str = "page-fd";

/// How a participant adds 1 to the counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Method {
    /// An atomic load, then an atomic store: loses updates.
    None,
    /// One atomic fetch_add: exact.
    Atomic,
    /// A futex lock in the shared page around the load and the store: exact.
    Lock,
}

impl Method {
    /// All three, in the order a run without `--sync` shows them.
    pub const ALL: [Method; 3] = [Method::None, Method::Atomic, Method::Lock];

    /// The command-line value.
    pub fn name(self) -> &'static str {
        match self {
            Method::None => "none",
            Method::Atomic => "atomic",
            Method::Lock => "lock",
        }
    }

    /// Adds 1 to `page.counter`, this method's way.
    fn add_one(self, page: &RacePage) {
        match self {
            // The problem: two steps. Another participant may store between them,
            // and our store then overwrites its increment; if we are descheduled in
            // between, it overwrites every increment made while we were off the CPU.
            // (`black_box` keeps the steps apart as written: on x86-64 the compiler
            // would otherwise fuse them into one `inc` on memory, which a core runs
            // without being interrupted in the middle, although without a `lock`
            // prefix another core can still write between its read and its write.)
            Method::None => {
                let value = page.counter.load(Ordering::Relaxed);
                page.counter
                    .store(std::hint::black_box(value) + 1, Ordering::Relaxed);
            }
            // New: one indivisible read-modify-write. Relaxed is enough: the counter
            // is the only data, and all atomic operations on one location agree on a
            // single order.
            Method::Atomic => {
                page.counter.fetch_add(1, Ordering::Relaxed);
            }
            // New: the same two steps as `None`, inside the lock; its Acquire and
            // Release orderings carry each store to the next holder.
            Method::Lock => {
                page.lock.lock();
                let value = page.counter.load(Ordering::Relaxed);
                page.counter.store(value + 1, Ordering::Relaxed);
                page.lock.unlock();
            }
        }
    }
}

/// Who races: processes started one way, or threads of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participants {
    /// Child processes, started by fork or by spawn.
    Processes(StartMethod),
    /// Threads of this one process, for comparison.
    Threads,
}

/// What the shared page holds. All zero bytes are its starting state.
#[derive(Debug, Default)]
#[repr(C)]
pub struct RacePage {
    /// The counter every participant adds to; first, where `--shared` keeps X.
    pub counter: AtomicU64,
    /// `CLOCK_MONOTONIC` nanoseconds when the last participant got past the gate.
    start_ns: AtomicU64,
    /// `CLOCK_MONOTONIC` nanoseconds when the last participant finished.
    last_done_ns: AtomicU64,
    /// How many participants there are, set before any starts.
    participants: AtomicU32,
    /// The lock of [`Method::Lock`].
    lock: SharedLock,
    /// How many participants have reached the start gate.
    arrived: AtomicU32,
    /// The gate: 0 closed, 1 open. A futex word the participants sleep on.
    open: AtomicU32,
    /// How many participants have got past the gate and are about to add.
    running: AtomicU32,
}

// The page must fit in the mapping.
const _: () = assert!(size_of::<RacePage>() <= shared::LEN.get());

impl RacePage {
    /// A page for `participants` participants.
    fn new(participants: u32) -> RacePage {
        let page = RacePage::default();
        page.set_participants(participants);
        page
    }

    /// Sets how many participants will come; before any starts.
    fn set_participants(&self, participants: u32) {
        self.participants.store(participants, Ordering::Relaxed);
    }

    /// A participant's side of the gate: count in, sleep until it opens, then wait
    /// (awake) for the others to get past it too.
    ///
    /// The second half is there because waking sleepers takes time, one by one: the
    /// first one woken would otherwise have finished before the last one runs, and
    /// then nobody races. The last one past notes the clock: the start of the race.
    pub fn arrive(&self) {
        self.arrived.fetch_add(1, Ordering::Release);
        // Acquire pairs with `open_gate`'s Release: the opener's writes are visible.
        while self.open.load(Ordering::Acquire) == 0 {
            futex::wait(&self.open, 0);
        }
        let participants = self.participants.load(Ordering::Relaxed);
        if self.running.fetch_add(1, Ordering::AcqRel) + 1 == participants {
            self.start_ns.store(monotonic_ns(), Ordering::Relaxed);
        }
        while self.running.load(Ordering::Acquire) < participants {
            // Give the CPU to a participant not yet past the gate (there may be more
            // participants than CPUs).
            std::thread::yield_now();
        }
    }

    /// How many participants are at the gate.
    pub fn arrived(&self) -> u32 {
        self.arrived.load(Ordering::Acquire)
    }

    /// Opens the gate and wakes everyone at it.
    fn open_gate(&self) {
        self.open.store(1, Ordering::Release);
        futex::wake(&self.open, i32::MAX);
    }

    /// A participant's whole part: wait at the gate, add `increments` times, note the
    /// finish time.
    pub fn participate(&self, method: Method, increments: u64) {
        self.arrive();
        for _ in 0..increments {
            method.add_one(self);
        }
        self.last_done_ns
            .fetch_max(monotonic_ns(), Ordering::Relaxed);
    }
}

/// A [`RacePage`] in a shared mapping.
struct MappedPage {
    /// The mapping, which must outlive every borrow of the page.
    mapping: SharedCounter,
}

impl MappedPage {
    /// The page.
    fn page(&self) -> &RacePage {
        let ptr: NonNull<RacePage> = self.mapping.page().cast();
        // Safety: the mapping is `shared::LEN` bytes, at least the page's size (checked
        // at compile time), page-aligned, and stays mapped while `self` lives. It was
        // zero-filled when made and is only ever changed through the page's atomics,
        // so its bytes are always a valid `RacePage`, in every process that maps it.
        unsafe { ptr.as_ref() }
    }
}

/// What one method did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// How the counter was incremented.
    pub method: Method,
    /// Participants × increments: what an exact count reaches.
    pub expected: u64,
    /// What the counter reached.
    pub reached: u64,
    /// Nanoseconds from the last participant's start to the last one's finish.
    pub elapsed_ns: u64,
}

impl Outcome {
    /// Increments that went missing.
    pub fn lost(&self) -> u64 {
        self.expected.saturating_sub(self.reached)
    }

    /// Wall-clock nanoseconds per increment, over all participants.
    pub fn ns_per_increment(&self) -> f64 {
        self.elapsed_ns as f64 / self.expected as f64
    }
}

/// The checked numbers of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Who races.
    pub participants: Participants,
    /// How many race.
    pub processes: u32,
    /// How many times each adds 1.
    pub increments: u64,
}

impl Options {
    /// Checks the user's numbers; `processes: None` means 2 × the CPUs this process
    /// may run on, `increments: None` means [`DEFAULT_TOTAL`] shared among them.
    pub fn new(
        participants: Participants,
        processes: Option<u32>,
        increments: Option<u64>,
    ) -> Result<Options, RaceError> {
        let processes = processes.unwrap_or_else(|| (2 * cpus()).min(MAX_PROCESSES));
        let increments =
            increments.unwrap_or_else(|| (DEFAULT_TOTAL / u64::from(processes.max(1))).max(1));
        if processes == 0 {
            return Err(RaceError::NoProcesses);
        }
        if processes > MAX_PROCESSES {
            return Err(RaceError::TooManyProcesses {
                given: processes,
                max: MAX_PROCESSES,
            });
        }
        if increments == 0 {
            return Err(RaceError::NoIncrements);
        }
        if increments > MAX_INCREMENTS {
            return Err(RaceError::TooManyIncrements {
                given: increments,
                max: MAX_INCREMENTS,
            });
        }
        let total = u64::from(processes) * increments;
        if total > MAX_TOTAL {
            return Err(RaceError::TooMuchWork {
                processes,
                increments,
                max: MAX_TOTAL,
            });
        }
        if participants == Participants::Processes(StartMethod::Forkserver) {
            return Err(RaceError::Demo(DemoError::StartMethod(
                StartMethod::Forkserver,
            )));
        }
        Ok(Options {
            participants,
            processes,
            increments,
        })
    }
}

/// The CPUs this process may run on (its affinity mask), at least 1.
pub fn cpus() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get() as u32)
}

/// Runs one method and returns what it did.
pub fn run(options: &Options, method: Method) -> Result<Outcome, RaceError> {
    let Options {
        participants,
        processes,
        increments,
    } = *options;
    let (reached, elapsed_ns) = match participants {
        Participants::Threads => on_threads(processes, method, increments),
        Participants::Processes(start_method) => {
            on_processes(start_method, processes, method, increments)?
        }
    };
    Ok(Outcome {
        method,
        expected: u64::from(processes) * increments,
        reached,
        elapsed_ns,
    })
}

/// The race on threads of this process; the page can be on the heap, since threads
/// share all memory anyway.
fn on_threads(threads: u32, method: Method, increments: u64) -> (u64, u64) {
    let page = RacePage::new(threads);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| page.participate(method, increments));
        }
        while page.arrived() < threads {
            std::thread::sleep(POLL);
        }
        page.open_gate();
    });
    finish(&page)
}

/// The count reached and the time from the start of the race to the last finish.
fn finish(page: &RacePage) -> (u64, u64) {
    let reached = page.counter.load(Ordering::Relaxed);
    let start = page.start_ns.load(Ordering::Relaxed);
    let done = page.last_done_ns.load(Ordering::Relaxed);
    (reached, done.saturating_sub(start))
}

/// The race on child processes: steps 1 to 5 of the module docs.
fn on_processes(
    start_method: StartMethod,
    processes: u32,
    method: Method,
    increments: u64,
) -> Result<(u64, u64), RaceError> {
    // 1. The page, before any child exists.
    let (mapping, memfd) = match start_method {
        StartMethod::Spawn => {
            let (mapping, fd) = SharedCounter::memfd()?;
            (mapping, Some(fd))
        }
        _ => (SharedCounter::anonymous()?, None),
    };
    let mapped = MappedPage { mapping };
    let page = mapped.page();
    page.set_participants(processes);

    // 2. The children. `children` kills and reaps whoever is left if we return early.
    let mut children = Children::default();
    if start_method == StartMethod::Fork {
        let threads = procutil::thread_count().map_err(DemoError::CountThreads)?;
        if threads != 1 {
            return Err(DemoError::MultiThreaded(threads).into());
        }
        // A forked child copies stdout's buffer: empty it first.
        procutil::stdout::flush().map_err(DemoError::from)?;
    }
    let parent = getpid();
    for _ in 0..processes {
        let pid = match &memfd {
            None => fork_participant(parent, page, method, increments)?,
            Some(fd) => spawn_participant(parent, fd.as_fd(), method, increments)?,
        };
        children.pids.push(pid);
    }
    // Every child holds its own descriptor (and soon its own mapping) now.
    drop(memfd);

    // 3. The gate, once all are there.
    let deadline = Instant::now() + GATE_TIMEOUT;
    children.watch(|| page.arrived() == processes, Some(deadline))?;
    page.open_gate();

    // 4. Every child finishes and is reaped.
    children.watch(|| false, None)?;

    // 5. What they did.
    Ok(finish(page))
}

/// Forks one participant; returns its pid to the parent.
fn fork_participant(
    parent: Pid,
    page: &RacePage,
    method: Method,
    increments: u64,
) -> Result<Pid, RaceError> {
    // Safety: the caller checked that this process is single-threaded and flushed
    // stdout, so the child inherits no lock held by another thread and may use std
    // normally. It inherits a copy-on-write copy of our memory, in which `page` still
    // points into the MAP_SHARED mapping (the same physical page), and this one
    // thread. It never returns into the caller: `forked_participant` ends in `_exit`.
    match unsafe { fork() } {
        Err(errno) => Err(DemoError::Fork(errno).into()),
        Ok(ForkResult::Parent { child }) => Ok(child),
        Ok(ForkResult::Child) => forked_participant(parent, page, method, increments),
    }
}

/// The forked child's whole life: arm the parent-death signal, race, exit.
fn forked_participant(parent: Pid, page: &RacePage, method: Method, increments: u64) -> ! {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        die_with_parent(parent)?;
        page.participate(method, increments);
        Ok::<(), DemoError>(())
    }));
    let code = match result {
        Ok(Ok(())) => 0,
        Ok(Err(err)) => {
            let _ = writeln!(io::stderr(), "Error: race participant: {err}");
            1
        }
        // The panic hook has printed the message.
        Err(_) => 101,
    };
    // Safety: `_exit` ends the process without running the atexit handlers and
    // stdio flushes that belong to the parent. The child printed nothing to stdout.
    unsafe { libc::_exit(code) }
}

/// Re-executes this program as one participant that maps the page from `page_fd`.
fn spawn_participant(
    parent: Pid,
    page_fd: std::os::fd::BorrowedFd<'_>,
    method: Method,
    increments: u64,
) -> Result<Pid, RaceError> {
    use std::os::fd::AsRawFd;

    let args = [
        "race".to_owned(),
        format!("--sync={}", method.name()),
        format!("--increments={increments}"),
        format!("--{PARTICIPANT_FLAG}={parent}"),
        format!("--{PAGE_FD_FLAG}={}", page_fd.as_raw_fd()),
    ];
    let child = crate::launch::spawn_self(&args, &[page_fd])?;
    // The parent reaps it by pid with `waitpid`, like a forked one; std's `Child`
    // neither waits nor kills when dropped.
    Ok(Pid::from_raw(child.id() as i32))
}

/// A spawned participant's whole life, called by `main` under `--participant-of`.
pub fn run_spawned_participant(
    parent: i32,
    page_fd: i32,
    method: Method,
    increments: u64,
) -> Result<(), RaceError> {
    die_with_parent(Pid::from_raw(parent))?;
    let mapped = MappedPage {
        mapping: SharedCounter::from_inherited_fd(page_fd)?,
    };
    mapped.page().participate(method, increments);
    Ok(())
}

/// The participant processes still to be reaped.
#[derive(Debug, Default)]
pub(crate) struct Children {
    /// Started and not yet reaped.
    pub(crate) pids: Vec<Pid>,
}

impl Children {
    /// Reaps children as they exit until `done()` holds or none is left.
    ///
    /// If a child ends badly, kills the others, reaps them, and says which one. Past
    /// `deadline`, does the same and says the gate was never reached.
    pub(crate) fn watch(
        &mut self,
        mut done: impl FnMut() -> bool,
        deadline: Option<Instant>,
    ) -> Result<(), RaceError> {
        loop {
            let mut index = 0;
            while index < self.pids.len() {
                let pid = self.pids[index];
                // WUNTRACED: a participant stopped (Ctrl-Z on it, `kill -STOP`) is
                // reported too. Stopped, it may hold the lock or the gate forever, so
                // the run ends as if it had died.
                let flags = WaitPidFlag::WNOHANG | WaitPidFlag::WUNTRACED;
                let status = match waitpid(pid, Some(flags)) {
                    Err(Errno::EINTR) => continue,
                    Err(errno) => {
                        return Err(DemoError::Wait {
                            pid: pid.as_raw() as u32,
                            source: errno.into(),
                        }
                        .into());
                    }
                    Ok(status) => status,
                };
                let how = match status {
                    WaitStatus::StillAlive => {
                        index += 1;
                        continue;
                    }
                    WaitStatus::Exited(_, 0) => {
                        self.pids.swap_remove(index);
                        continue;
                    }
                    WaitStatus::Exited(_, code) => format!("exited with status {code}"),
                    WaitStatus::Signaled(_, signal, _) => format!("was killed by {signal}"),
                    WaitStatus::Stopped(_, signal) => format!("was stopped by {signal}"),
                    // Continued (we did not ask for that): still there.
                    _ => {
                        index += 1;
                        continue;
                    }
                };
                // A dead participant is reaped already: drop it from the list. A
                // stopped one stays in it, so that `kill_all` kills and reaps it too.
                if !matches!(status, WaitStatus::Stopped(..)) {
                    self.pids.swap_remove(index);
                }
                let others =
                    self.pids.len() - usize::from(matches!(status, WaitStatus::Stopped(..)));
                self.kill_all();
                return Err(RaceError::ParticipantFailed {
                    pid: pid.as_raw(),
                    how,
                    others,
                });
            }
            if self.pids.is_empty() || done() {
                return Ok(());
            }
            if deadline.is_some_and(|deadline| Instant::now() > deadline) {
                let missing = self.pids.len();
                self.kill_all();
                return Err(RaceError::GateTimeout {
                    seconds: GATE_TIMEOUT.as_secs(),
                    missing,
                });
            }
            std::thread::sleep(POLL);
        }
    }

    /// Kills every child left with SIGKILL and reaps it.
    fn kill_all(&mut self) {
        for &pid in &self.pids {
            // It may have exited already (then it is a zombie until reaped below,
            // and the signal does nothing).
            let _ = kill(pid, Signal::SIGKILL);
        }
        for pid in self.pids.drain(..) {
            while waitpid(pid, None) == Err(Errno::EINTR) {}
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds: one clock for every process on the machine.
pub(crate) fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // Safety: `now` is a valid `timespec` to write into. CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// The columns of `race-processes.csv` and `race-threads.csv`, in order. `report`
/// reads them by these names.
pub const CSV_COLUMNS: [&str; 10] = [
    "mode",
    "start_method",
    "method",
    "participants",
    "increments_each",
    "expected",
    "reached",
    "lost",
    "seconds",
    "ns_per_increment",
];

impl Participants {
    /// The `mode` column: `processes` or `threads`.
    pub fn mode(self) -> &'static str {
        match self {
            Participants::Processes(_) => "processes",
            Participants::Threads => "threads",
        }
    }

    /// The file a run of these participants writes: one per mode, so that a process
    /// run and a thread run into the same folder sit side by side (a process run
    /// under spawn replaces one under fork).
    pub fn csv_name(self) -> String {
        format!("race-{}.csv", self.mode())
    }
}

/// The CSV of a run: a header, then one row per method run. `start_method` is empty
/// for threads; `seconds` is the timed part of the run (see [`Outcome::elapsed_ns`]).
pub fn csv(options: &Options, outcomes: &[Outcome]) -> String {
    let mut text = CSV_COLUMNS.join(",");
    text.push('\n');
    let start_method = match options.participants {
        Participants::Processes(start_method) => start_method.to_string(),
        Participants::Threads => String::new(),
    };
    for outcome in outcomes {
        text.push_str(&format!(
            "{},{start_method},{},{},{},{},{},{},{:.9},{:.3}\n",
            options.participants.mode(),
            outcome.method.name(),
            options.processes,
            options.increments,
            outcome.expected,
            outcome.reached,
            outcome.lost(),
            outcome.elapsed_ns as f64 / 1e9,
            outcome.ns_per_increment(),
        ));
    }
    text
}

/// Checks, before the run, that `out/race-{mode}.csv` can be written at its end.
pub fn check_out(options: &Options, out: &Path) -> Result<(), RaceError> {
    let name = options.participants.csv_name();
    crate::talk::check_writable(out, &name).map_err(|err| match err {
        crate::talk::TalkError::Write { path, source } => RaceError::Write { path, source },
        other => RaceError::Write {
            path: out.join(&name),
            source: io::Error::other(other.to_string()),
        },
    })
}

/// Writes [`csv`] atomically to `out/race-{mode}.csv` and returns its path.
pub fn write_csv(
    options: &Options,
    outcomes: &[Outcome],
    out: &Path,
) -> Result<PathBuf, RaceError> {
    let name = options.participants.csv_name();
    crate::talk::write_atomic(out, &name, &csv(options, outcomes)).map_err(|err| match err {
        crate::talk::TalkError::Write { path, source } => RaceError::Write { path, source },
        other => RaceError::Write {
            path: out.join(&name),
            source: io::Error::other(other.to_string()),
        },
    })
}

/// The report: a heading, a table, and one line per method saying what it shows.
pub fn report(options: &Options, outcomes: &[Outcome], csv: &Path) -> Vec<String> {
    let Options {
        participants,
        processes,
        increments,
    } = *options;
    let who = match participants {
        Participants::Processes(start_method) => {
            let noun = if processes == 1 {
                "process"
            } else {
                "processes"
            };
            format!("{processes} {noun} (started by {start_method})")
        }
        Participants::Threads => {
            let noun = if processes == 1 { "thread" } else { "threads" };
            format!("{processes} {noun} of one process")
        }
    };
    let adds = if processes == 1 { "adds" } else { "each add" };
    let expected = u64::from(processes) * increments;
    let mut lines = vec![
        format!(
            "Race: {who} {adds} 1 to one shared counter {increments} times; an exact \
             count is {expected}."
        ),
        format!(
            "{:<8}{:>12}{:>12}{:>12}{:>16}",
            "method", "expected", "reached", "lost", "ns/increment"
        ),
    ];
    for outcome in outcomes {
        lines.push(format!(
            "{:<8}{:>12}{:>12}{:>12}{:>16.1}",
            outcome.method.name(),
            outcome.expected,
            outcome.reached,
            outcome.lost(),
            outcome.ns_per_increment()
        ));
    }
    for outcome in outcomes {
        lines.push(explain(outcome, processes));
    }
    lines.push(format!(
        "ns/increment: the time from the moment the last participant got past the \
         start gate to the last finish, divided by all {expected} increments; starting \
         the participants is not timed."
    ));
    lines.push(format!("Counts: {}", csv.display()));
    lines
}

/// One line saying what `outcome` shows and why.
fn explain(outcome: &Outcome, processes: u32) -> String {
    let lost = outcome.lost();
    match outcome.method {
        Method::None if processes == 1 => "none: exact: with one participant nobody \
             can store between its load and its store."
            .to_owned(),
        Method::None if lost == 0 => "none: exact this time, by luck of timing: no participant \
             happened to store between another's load and store. Run it again, or with \
             more --increments."
            .to_owned(),
        Method::None => format!(
            "none: {lost} updates lost: a participant's store of value + 1 overwrites \
             every increment that others made since its load (two that load the same \
             value lose one; one descheduled between its load and its store wipes out all \
             made while it was off the CPU). Every access is atomic, so this is a race condition, not a data \
             race: no undefined behaviour, just a wrong count."
        ),
        _ if lost != 0 => format!(
            "{}: {lost} updates lost, which this method should never do: please report it.",
            outcome.method.name()
        ),
        Method::Atomic => "atomic: exact: fetch_add loads, adds and stores in one \
             indivisible step, so nobody can store in between."
            .to_owned(),
        Method::Lock => "lock: exact: a futex lock in the shared page lets one participant \
             at a time load and store; the others wait, asleep in the kernel if the wait \
             is long."
            .to_owned(),
    }
}

/// Why the race could not run, or could not finish.
#[derive(Debug, thiserror::Error)]
pub enum RaceError {
    /// `--processes 0`: nobody to race.
    #[error("--processes must be at least 1")]
    NoProcesses,
    /// More participants than this demo starts.
    #[error("--processes {given} is too many: at most {max}")]
    TooManyProcesses {
        /// What the user asked for.
        given: u32,
        /// The most accepted ([`MAX_PROCESSES`]).
        max: u32,
    },
    /// `--increments 0`: nothing to count.
    #[error("--increments must be at least 1")]
    NoIncrements,
    /// More increments per participant than accepted.
    #[error("--increments {given} is too many: at most {max}")]
    TooManyIncrements {
        /// What the user asked for.
        given: u64,
        /// The most accepted ([`MAX_INCREMENTS`]).
        max: u64,
    },
    /// Participants × increments beyond the bound that keeps a run short.
    #[error(
        "--processes {processes} × --increments {increments} is too much work: at most \
         {max} increments in all"
    )]
    TooMuchWork {
        /// Participants asked for.
        processes: u32,
        /// Increments per participant asked for.
        increments: u64,
        /// The most accepted in all ([`MAX_TOTAL`]).
        max: u64,
    },
    /// A participant ended badly; the others were killed and reaped.
    #[error(
        "race participant process {pid} {how}; killed (if still running) and reaped the \
         other {others}"
    )]
    ParticipantFailed {
        /// The participant's process id.
        pid: i32,
        /// How it ended, e.g. `was killed by SIGKILL`.
        how: String,
        /// How many other participants were killed (if still running) and reaped.
        others: usize,
    },
    /// Not every participant reached the start gate in time.
    #[error(
        "{missing} race participants had not reached the start gate after {seconds} s; \
         killed and reaped them"
    )]
    GateTimeout {
        /// The time allowed, in seconds.
        seconds: u64,
        /// How many participant processes were still running.
        missing: usize,
    },
    /// The CSV could not be written.
    #[error("could not write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A system call, or the shared memory, failed.
    #[error(transparent)]
    Demo(#[from] DemoError),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each bound is inclusive, one past it is refused, and so is a product too big.
    #[test]
    fn limits() {
        let threads = Participants::Threads;
        assert!(Options::new(threads, Some(1), Some(1)).is_ok());
        assert!(Options::new(threads, Some(MAX_PROCESSES), Some(1)).is_ok());
        assert!(Options::new(threads, Some(1), Some(MAX_INCREMENTS)).is_ok());
        assert!(matches!(
            Options::new(threads, Some(0), Some(1)),
            Err(RaceError::NoProcesses)
        ));
        assert!(matches!(
            Options::new(threads, Some(MAX_PROCESSES + 1), Some(1)),
            Err(RaceError::TooManyProcesses { .. })
        ));
        assert!(matches!(
            Options::new(threads, Some(1), Some(0)),
            Err(RaceError::NoIncrements)
        ));
        assert!(matches!(
            Options::new(threads, Some(1), Some(MAX_INCREMENTS + 1)),
            Err(RaceError::TooManyIncrements { .. })
        ));
        assert!(matches!(
            Options::new(threads, Some(2), Some(MAX_TOTAL / 2 + 1)),
            Err(RaceError::TooMuchWork { .. })
        ));
        let forkserver = Participants::Processes(StartMethod::Forkserver);
        assert!(Options::new(forkserver, Some(1), Some(1)).is_err());
    }

    /// The default is twice the CPUs we may run on.
    #[test]
    fn default_processes() {
        let options = Options::new(Participants::Threads, None, Some(1)).unwrap();
        assert_eq!(options.processes, 2 * cpus());
    }

    /// On threads, `atomic` and `lock` are exact and `none` never overshoots.
    #[test]
    fn threads_count() {
        let options = Options::new(Participants::Threads, Some(4), Some(20_000)).unwrap();
        for method in Method::ALL {
            let outcome = run(&options, method).unwrap();
            assert_eq!(outcome.expected, 80_000);
            match method {
                Method::None => assert!(outcome.reached <= 80_000, "{outcome:?}"),
                _ => assert_eq!(outcome.reached, 80_000, "{outcome:?}"),
            }
        }
    }

    /// The report has a heading, a row and a line per method, and the timing note.
    #[test]
    fn report_shape() {
        let options = Options::new(Participants::Threads, Some(2), Some(10)).unwrap();
        let outcomes = [
            Outcome {
                method: Method::None,
                expected: 20,
                reached: 15,
                elapsed_ns: 200,
            },
            Outcome {
                method: Method::Lock,
                expected: 20,
                reached: 20,
                elapsed_ns: 400,
            },
        ];
        let lines = report(&options, &outcomes, Path::new("race-threads.csv"));
        assert_eq!(lines.len(), 2 + 2 + 2 + 1 + 1, "{lines:#?}");
        assert!(
            lines[2].starts_with("none") && lines[2].contains(" 5 "),
            "{lines:#?}"
        );
        assert!(lines[2].ends_with("10.0"), "{lines:#?}");
        assert!(lines[4].starts_with("none: 5 updates lost"), "{lines:#?}");
        assert!(lines[5].starts_with("lock: exact"), "{lines:#?}");
        assert_eq!(lines[7], "Counts: race-threads.csv");
    }

    /// The CSV text of a hand-made run, exactly: empty start_method for threads.
    #[test]
    fn csv_text() {
        let outcomes = [Outcome {
            method: Method::None,
            expected: 20,
            reached: 15,
            elapsed_ns: 1_500,
        }];
        let threads = Options::new(Participants::Threads, Some(2), Some(10)).unwrap();
        assert_eq!(
            csv(&threads, &outcomes),
            "mode,start_method,method,participants,increments_each,expected,reached,lost,\
             seconds,ns_per_increment\nthreads,,none,2,10,20,15,5,0.000001500,75.000\n"
        );
        let spawn = Options::new(
            Participants::Processes(StartMethod::Spawn),
            Some(2),
            Some(10),
        )
        .unwrap();
        assert!(csv(&spawn, &outcomes).contains("\nprocesses,spawn,none,2,10,"));
        assert_eq!(spawn.participants.csv_name(), "race-processes.csv");
    }

    /// `none` with one participant says why it is exact, not that it was luck.
    #[test]
    fn none_alone_is_exact_by_construction() {
        let outcome = Outcome {
            method: Method::None,
            expected: 5,
            reached: 5,
            elapsed_ns: 1,
        };
        assert!(explain(&outcome, 1).contains("one participant"));
        assert!(explain(&outcome, 2).contains("luck"));
    }
}
