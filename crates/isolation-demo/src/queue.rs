//! `isolation-demo queue`: a producer process and a consumer process joined by a
//! bounded queue over a pipe, like Python's `multiprocessing.Queue(maxsize)`.
//!
//! # How the queue is bounded
//! The items travel through a pipe, 8 bytes each (the item's number). A pipe holds
//! 64 KiB by default, far more than a small queue should, so the bound is a counting
//! semaphore in shared memory: a futex word holding the free slots, `--capacity` at
//! the start. A put takes a slot (sleeping on the futex while there is none), then
//! writes; a get reads, then gives the slot back and wakes the producer. The pipe
//! itself never fills (at most 1024 × 8 bytes are in it), so the only place the
//! producer ever waits is the semaphore, which is where the timestamps look.
//!
//! Why this is simple and correct: one producer and one consumer, one word. A put of
//! item `i ≥ C` needs `i - C + 1` slots given back, and the consumer gives item `k`'s
//! slot back only after noting when it got item `k`; so the put of item `i` ends
//! after the get of item `i - C`, on one clock (`CLOCK_MONOTONIC`) for both
//! processes. The test checks exactly that ordering.
//!
//! # Fork or spawn
//! Under `--start-method fork` (the default) both workers are copies of this
//! process. Under `spawn` each is this program re-run as a hidden worker
//! ([`run_spawned_worker`]) that inherits exactly two descriptors: the table's memfd
//! and its own end of the pipe. The queue is the same either way; only the start
//! differs, and the report says which one ran.
//!
//! # When a worker dies
//! Each worker holds only its own end of the pipe, so when one dies the other finds
//! out from the pipe instead of waiting forever: the producer's write fails with a
//! broken pipe, the consumer reads end-of-file before the last item. Either then
//! stops quietly, with status 0. The parent watches both, and says in one line which
//! one was killed or failed; a line from the survivor as well would only repeat it,
//! less clearly. Status 0, because the parent reports the first worker it finds
//! ended badly, and that must be the one that really did.
//!
//! # What is recorded
//! For each item, in a shared table: when its put started, when it ended, whether it
//! had to wait for a slot, when it was got, and the number the consumer read. A put
//! ends when `write` has returned, so the consumer may note its get a little before
//! the producer notes that end: a figure should read `got_ns < put_end_ns` as "the
//! item was in the pipe before the put returned", not as a clock error.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use nix::fcntl::OFlag;
use procutil::StartMethod;

use crate::DemoError;
use crate::futex;
use crate::launch::SHARED_FD_FLAG;
use crate::race::{Children, PARTICIPANT_FLAG, monotonic_ns};
use crate::talk::{self, SharedTable, TalkError};

/// The most items accepted.
pub const MAX_ITEMS: u64 = 100_000;
/// The most slots accepted.
pub const MAX_CAPACITY: u32 = 1024;
/// The longest consumer delay accepted per item, in microseconds.
pub const MAX_DELAY_US: u64 = 1_000_000;
/// The most total consumer delay (items × delay), in microseconds: one minute.
pub const MAX_TOTAL_DELAY_US: u64 = 60_000_000;

/// Cells per item in the table: put start, put end, waited, got, value.
const PER_ITEM: usize = 5;

/// The checked numbers of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How the producer and the consumer start: fork or spawn.
    pub start_method: StartMethod,
    /// How many items the producer puts.
    pub items: u64,
    /// How many items the queue holds at most.
    pub capacity: u32,
    /// How long the consumer works on each item, in microseconds.
    pub consumer_delay_us: u64,
}

impl Options {
    /// Checks the user's numbers, and that `start_method` is fork or spawn.
    pub fn new(
        start_method: StartMethod,
        items: u64,
        capacity: u32,
        consumer_delay_us: u64,
    ) -> Result<Options, TalkError> {
        let bad = |text: String| Err(TalkError::BadInput(text));
        if start_method == StartMethod::Forkserver {
            return Err(DemoError::StartMethod(start_method).into());
        }
        if !(1..=MAX_ITEMS).contains(&items) {
            return bad(format!("--items {items} is out of range: 1 to {MAX_ITEMS}"));
        }
        if !(1..=MAX_CAPACITY).contains(&capacity) {
            return bad(format!(
                "--capacity {capacity} is out of range: 1 to {MAX_CAPACITY}"
            ));
        }
        if consumer_delay_us > MAX_DELAY_US {
            return bad(format!(
                "--consumer-delay-us {consumer_delay_us} is too long: at most {MAX_DELAY_US}"
            ));
        }
        if items * consumer_delay_us > MAX_TOTAL_DELAY_US {
            return bad(format!(
                "--items {items} × --consumer-delay-us {consumer_delay_us} is too long: at \
                 most {MAX_TOTAL_DELAY_US} µs in all"
            ));
        }
        Ok(Options {
            start_method,
            items,
            capacity,
            consumer_delay_us,
        })
    }
}

/// One item's story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item {
    /// When the put started (monotonic ns).
    pub put_start_ns: u64,
    /// When the put ended: a slot taken and the bytes written.
    pub put_end_ns: u64,
    /// Whether the put found the queue full and slept.
    pub waited: bool,
    /// When the consumer had read it.
    pub got_ns: u64,
    /// The number the consumer read (the item's position if delivered in order).
    pub value: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The options it ran with.
    pub options: Options,
    /// Every item, in put order.
    pub items: Vec<Item>,
}

impl Outcome {
    /// Whether item `i` carried the number `i`, for every item.
    pub fn in_order(&self) -> bool {
        self.items
            .iter()
            .enumerate()
            .all(|(i, item)| item.value == i as u64)
    }

    /// The producer's time from its first put's start to its last put's end, ns.
    pub fn producer_ns(&self) -> u64 {
        let first = self.items.first().map_or(0, |i| i.put_start_ns);
        let last = self.items.last().map_or(0, |i| i.put_end_ns);
        last.saturating_sub(first)
    }

    /// The time the producer spent in puts that found the queue full, ns.
    pub fn blocked_ns(&self) -> u64 {
        self.items
            .iter()
            .filter(|i| i.waited)
            .map(|i| i.put_end_ns.saturating_sub(i.put_start_ns))
            .sum()
    }

    /// Items per second from the first put's start to the last get.
    pub fn items_per_second(&self) -> f64 {
        let first = self.items.first().map_or(0, |i| i.put_start_ns);
        let last = self.items.last().map_or(0, |i| i.got_ns);
        self.items.len() as f64 / (last.saturating_sub(first).max(1) as f64 / 1e9)
    }

    /// The CSV: one row per item, times in ns since the first put started.
    pub fn csv(&self) -> String {
        let zero = self.items.first().map_or(0, |i| i.put_start_ns);
        let mut text = String::from("item,put_start_ns,put_end_ns,put_waited,got_ns\n");
        for (index, item) in self.items.iter().enumerate() {
            text.push_str(&format!(
                "{index},{},{},{},{}\n",
                item.put_start_ns - zero,
                item.put_end_ns - zero,
                u8::from(item.waited),
                item.got_ns.saturating_sub(zero)
            ));
        }
        text
    }

    /// The report lines.
    pub fn report(&self, csv: &Path) -> Vec<String> {
        let Options {
            start_method,
            items,
            capacity,
            consumer_delay_us,
        } = self.options;
        let waited = self.items.iter().filter(|i| i.waited).count();
        let order = if self.in_order() {
            "every item arrived, in order"
        } else {
            "items arrived OUT OF ORDER (please report it)"
        };
        vec![
            format!(
                "Queue: a producer process puts {} into a queue of {} over a pipe; a \
                 consumer process gets {}, working {consumer_delay_us} µs on each; both \
                 started by {start_method}.",
                talk::plural(items, "item"),
                talk::plural(u64::from(capacity), "slot"),
                if items == 1 { "it" } else { "them" },
            ),
            format!(
                "Throughput: {:.0} items/s (first put to last get); {order}.",
                self.items_per_second()
            ),
            format!(
                "Producer blocked {:.3} s of {:.3} s: {waited} of {} found the queue \
                 full and slept until the consumer freed a slot.",
                self.blocked_ns() as f64 / 1e9,
                self.producer_ns() as f64 / 1e9,
                talk::plural(items, "put"),
            ),
            format!("Timestamps: {}", csv.display()),
        ]
    }
}

/// The free-slot semaphore's futex word, and the table's item cells.
struct Queue<'a> {
    table: &'a SharedTable,
}

impl Queue<'_> {
    /// The free slots.
    fn free(&self) -> &AtomicU32 {
        self.table.word(0)
    }

    /// Cell `field` of item `item`.
    fn cell(&self, item: u64, field: usize) -> &std::sync::atomic::AtomicU64 {
        self.table.cell(1 + item as usize * PER_ITEM + field)
    }

    /// Takes a slot, sleeping while none is free; returns whether it had to sleep.
    fn take_slot(&self) -> bool {
        let free = self.free();
        let mut waited = false;
        loop {
            let slots = free.load(Ordering::Acquire);
            if slots == 0 {
                waited = true;
                futex::wait(free, 0);
                continue;
            }
            if free
                .compare_exchange(slots, slots - 1, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
            {
                return waited;
            }
        }
    }

    /// Gives a slot back and wakes the producer if it sleeps.
    fn give_slot(&self) {
        self.free().fetch_add(1, Ordering::Release);
        futex::wake(self.free(), 1);
    }
}

/// The producer's life: put every item.
fn produce(queue: &Queue<'_>, items: u64, write: OwnedFd) -> Result<(), String> {
    let mut pipe = File::from(write);
    for item in 0..items {
        let start = monotonic_ns();
        let waited = queue.take_slot();
        match pipe.write_all(&item.to_le_bytes()) {
            Ok(()) => {}
            // The consumer is gone (see "When a worker dies" in the module docs).
            Err(err) if err.kind() == ErrorKind::BrokenPipe => return Ok(()),
            Err(err) => return Err(format!("writing item {item}: {err}")),
        }
        let end = monotonic_ns();
        queue.cell(item, 0).store(start, Ordering::Relaxed);
        queue.cell(item, 1).store(end, Ordering::Relaxed);
        queue
            .cell(item, 2)
            .store(u64::from(waited), Ordering::Relaxed);
    }
    Ok(())
}

/// The consumer's life: get every item, note when, free its slot, work on it.
fn consume(queue: &Queue<'_>, items: u64, delay: Duration, read: OwnedFd) -> Result<(), String> {
    let mut pipe = File::from(read);
    for item in 0..items {
        let mut bytes = [0; 8];
        match pipe.read_exact(&mut bytes) {
            Ok(()) => {}
            // End-of-file before every item: the producer is gone (see
            // `other_side_gone`).
            Err(err) if err.kind() == ErrorKind::UnexpectedEof => return Ok(()),
            Err(err) => return Err(format!("reading item {item} of {items}: {err}")),
        }
        let got = monotonic_ns();
        queue.cell(item, 3).store(got, Ordering::Relaxed);
        queue
            .cell(item, 4)
            .store(u64::from_le_bytes(bytes), Ordering::Relaxed);
        // Noted before the slot is given back: so the put this frees ends later.
        queue.give_slot();
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
    }
    Ok(())
}

/// One of the two workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Role {
    /// Puts every item.
    Producer,
    /// Gets every item.
    Consumer,
}

impl Role {
    /// The command-line value, and the name the worker gives itself (`ps`,
    /// `/proc/PID/comm`).
    pub fn name(self) -> &'static str {
        match self {
            Role::Producer => "producer",
            Role::Consumer => "consumer",
        }
    }
}

/// The table's cells for a run: the free-slot word, then every item's.
fn cells(options: &Options) -> usize {
    1 + options.items as usize * PER_ITEM
}

/// What `role` does, given the table and its end of the pipe.
fn work(role: Role, queue: &Queue<'_>, options: &Options, end: OwnedFd) -> Result<(), String> {
    match role {
        Role::Producer => produce(queue, options.items, end),
        Role::Consumer => {
            let delay = Duration::from_micros(options.consumer_delay_us);
            consume(queue, options.items, delay, end)
        }
    }
}

/// Runs the producer and the consumer, waits for both, returns every item's story.
pub fn run(options: Options) -> Result<Outcome, TalkError> {
    let (table, memfd) = SharedTable::new(cells(&options), options.start_method)?;
    let queue = Queue { table: &table };
    queue.free().store(options.capacity, Ordering::Relaxed);
    // Close-on-exec: a spawned worker inherits only the end it is given.
    let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(TalkError::Pipe)?;
    match &memfd {
        None => talk::check_single_threaded()?,
        // Not needed (exec does not copy our buffer), but it keeps our output first.
        Some(_) => procutil::stdout::flush().map_err(DemoError::from)?,
    }

    let mut children = Children::default();
    let mut roles = vec![];
    for (role, end, other) in [
        (Role::Producer, &write, &read),
        (Role::Consumer, &read, &write),
    ] {
        let pid = match &memfd {
            None => talk::fork_worker(role.name(), role.name(), || {
                // This copy of us holds both ends: keep only ours, so that the other
                // worker sees end-of-file (or a broken pipe) if we die.
                // Safety: both are open here, and their `OwnedFd`s are never dropped
                // in this copy (a worker ends in `_exit`): `other` is closed once,
                // and `end` has one owner, the one made here.
                let end = unsafe {
                    libc::close(other.as_raw_fd());
                    OwnedFd::from_raw_fd(end.as_raw_fd())
                };
                work(role, &queue, &options, end)
            })?,
            Some(memfd) => talk::spawn_worker(
                &spawn_args(&options, role, memfd.as_raw_fd(), end.as_raw_fd()),
                &[memfd.as_fd(), end.as_fd()],
            )?,
        };
        children.pids.push(pid);
        roles.push((pid, role.name().to_owned()));
    }
    // Only the two workers hold the pipe now, each its own end: if the producer
    // dies, the consumer reads end-of-file instead of waiting forever. (The parent
    // also sees it die, and ends the run.)
    drop((read, write, memfd));
    talk::reap(&mut children, &roles)?;

    let items = (0..options.items)
        .map(|item| Item {
            put_start_ns: queue.cell(item, 0).load(Ordering::Relaxed),
            put_end_ns: queue.cell(item, 1).load(Ordering::Relaxed),
            waited: queue.cell(item, 2).load(Ordering::Relaxed) != 0,
            got_ns: queue.cell(item, 3).load(Ordering::Relaxed),
            value: queue.cell(item, 4).load(Ordering::Relaxed),
        })
        .collect();
    Ok(Outcome { options, items })
}

/// The command line that re-runs this program as `role`.
fn spawn_args(options: &Options, role: Role, table_fd: RawFd, pipe_fd: RawFd) -> Vec<String> {
    vec![
        "queue".to_owned(),
        format!("--items={}", options.items),
        format!("--capacity={}", options.capacity),
        format!("--consumer-delay-us={}", options.consumer_delay_us),
        format!("--{PARTICIPANT_FLAG}={}", nix::unistd::getpid()),
        format!("--role={}", role.name()),
        format!("--{SHARED_FD_FLAG}={table_fd}"),
        format!("--{}={pipe_fd}", talk::PIPE_FD_FLAG),
    ]
}

/// A spawned worker's whole life, called by `main` under `--participant-of`: map the
/// table from `table_fd`, take the pipe's end `pipe_fd`, and do `role`'s part.
pub fn run_spawned_worker(
    parent: i32,
    role: Role,
    table_fd: RawFd,
    pipe_fd: RawFd,
    options: Options,
) -> Result<(), TalkError> {
    talk::spawned_worker(parent, role.name(), || {
        let table =
            SharedTable::from_inherited_fd(table_fd, cells(&options)).map_err(|e| e.to_string())?;
        let end = talk::inherited_pipe(pipe_fd).map_err(|e| e.to_string())?;
        work(role, &Queue { table: &table }, &options, end)
    })
}

/// Runs, writes `queue.csv` under `out`, and returns the report.
pub fn run_and_write(options: Options, out: &Path) -> Result<(Outcome, PathBuf), TalkError> {
    talk::check_writable(out, "queue.csv")?;
    let outcome = run(options)?;
    let path = talk::write_atomic(out, "queue.csv", &outcome.csv())?;
    Ok((outcome, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let new = |items, capacity, delay| Options::new(StartMethod::Fork, items, capacity, delay);
        assert!(new(1, 1, 0).is_ok());
        assert!(new(0, 1, 0).is_err());
        assert!(new(MAX_ITEMS + 1, 1, 0).is_err());
        assert!(new(1, 0, 0).is_err());
        assert!(new(1, MAX_CAPACITY + 1, 0).is_err());
        assert!(new(1, 1, MAX_DELAY_US + 1).is_err());
        assert!(new(100, 1, MAX_DELAY_US).is_err());
        assert!(Options::new(StartMethod::Spawn, 1, 1, 0).is_ok());
        assert!(Options::new(StartMethod::Forkserver, 1, 1, 0).is_err());
    }

    /// The CSV text and the report's numbers for a hand-made run of two items.
    #[test]
    fn csv_and_report() {
        let item = |put_start_ns, put_end_ns, waited, got_ns, value| Item {
            put_start_ns,
            put_end_ns,
            waited,
            got_ns,
            value,
        };
        let outcome = Outcome {
            options: Options::new(StartMethod::Spawn, 2, 1, 0).unwrap(),
            items: vec![
                item(1000, 1100, false, 1200, 0),
                item(1150, 1_001_150, true, 1_001_300, 1),
            ],
        };
        assert_eq!(
            outcome.csv(),
            "item,put_start_ns,put_end_ns,put_waited,got_ns\n0,0,100,0,200\n1,150,1000150,1,1000300\n"
        );
        assert!(outcome.in_order());
        assert_eq!(outcome.blocked_ns(), 1_000_000);
        assert_eq!(outcome.producer_ns(), 1_000_150);
        let lines = outcome.report(Path::new("q.csv"));
        assert!(lines[0].ends_with("both started by spawn."), "{lines:?}");
        assert!(
            lines[1].contains("every item arrived, in order"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("blocked 0.001 s of 0.001 s: 1 of 2 puts"),
            "{lines:?}"
        );
        let mut swapped = outcome.clone();
        swapped.items[0].value = 1;
        assert!(!swapped.in_order());
    }
}
