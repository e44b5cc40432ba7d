//! `isolation-demo barrier`: N processes meet at a barrier in shared memory, R times,
//! like Python's `multiprocessing.Barrier(N)`.
//!
//! # The barrier
//! Two words in a shared table: how many have arrived in this round, and the
//! round's *generation*, a futex word. A participant notes its arrival time, reads
//! the generation, then counts itself in. The last one in resets the count to 0,
//! adds 1 to the generation and wakes everyone; every other one sleeps on the
//! generation word until it changes. Then each notes its departure time.
//!
//! Why nobody leaves early: a participant leaves only once the generation has
//! changed; only the last arrival changes it, after every arrival was noted (each
//! noted its time before counting itself in). So every departure time is at least
//! every arrival time of that round, on one clock (`CLOCK_MONOTONIC`) for all. The
//! count is reset before the generation moves, so a fast participant that arrives
//! at the next round already counts from 0.
//!
//! Under `--start-method spawn` each participant is this program re-run as a hidden
//! participant ([`run_spawned_participant`]) that inherits one descriptor, the
//! table's memfd, and maps the table again; the barrier is the same words either way.
//! Starting a program takes longer than a fork, so under spawn round 0's arrivals
//! include the start-up; later rounds do not.
//!
//! Before each arrival a participant works a while (sleeps): a different length for
//! each participant and round, up to `--max-work-us`, so that arrivals spread out.

use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use procutil::StartMethod;

use crate::DemoError;
use crate::futex;
use crate::launch::SHARED_FD_FLAG;
use crate::race::{Children, PARTICIPANT_FLAG, monotonic_ns};
use crate::talk::{self, SharedTable, TalkError};

/// The most participants accepted.
pub const MAX_PROCESSES: u32 = 64;
/// The most rounds accepted.
pub const MAX_ROUNDS: u32 = 10_000;
/// The longest work before an arrival, in microseconds.
pub const MAX_WORK_US: u64 = 100_000;
/// The most work per participant in all (rounds × work), in microseconds: a minute.
pub const MAX_TOTAL_WORK_US: u64 = 60_000_000;

/// The checked numbers of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// How the participants start: fork or spawn.
    pub start_method: StartMethod,
    /// How many processes meet.
    pub processes: u32,
    /// How many times they meet.
    pub rounds: u32,
    /// The longest work before an arrival, µs.
    pub max_work_us: u64,
}

impl Options {
    /// Checks the user's numbers, and that `start_method` is fork or spawn.
    pub fn new(
        start_method: StartMethod,
        processes: u32,
        rounds: u32,
        max_work_us: u64,
    ) -> Result<Options, TalkError> {
        let bad = |text: String| Err(TalkError::BadInput(text));
        if start_method == StartMethod::Forkserver {
            return Err(DemoError::StartMethod(start_method).into());
        }
        if !(1..=MAX_PROCESSES).contains(&processes) {
            return bad(format!(
                "--processes {processes} is out of range: 1 to {MAX_PROCESSES}"
            ));
        }
        if !(1..=MAX_ROUNDS).contains(&rounds) {
            return bad(format!(
                "--rounds {rounds} is out of range: 1 to {MAX_ROUNDS}"
            ));
        }
        if max_work_us > MAX_WORK_US {
            return bad(format!(
                "--max-work-us {max_work_us} is too long: at most {MAX_WORK_US}"
            ));
        }
        if u64::from(rounds) * max_work_us > MAX_TOTAL_WORK_US {
            return bad(format!(
                "--rounds {rounds} × --max-work-us {max_work_us} is too long: at most \
                 {MAX_TOTAL_WORK_US} µs in all"
            ));
        }
        Ok(Options {
            start_method,
            processes,
            rounds,
            max_work_us,
        })
    }
}

/// One participant's arrival and departure in one round, monotonic ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    /// The round, from 0.
    pub round: u32,
    /// The participant, from 0.
    pub process: u32,
    /// When it arrived.
    pub arrive_ns: u64,
    /// When it left.
    pub depart_ns: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The options it ran with.
    pub options: Options,
    /// Every visit, round by round, participant by participant.
    pub visits: Vec<Visit>,
}

/// One round's spreads, ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// Last arrival minus first arrival.
    pub arrivals_ns: u64,
    /// First departure minus last arrival.
    pub first_departure_ns: u64,
    /// Last departure minus last arrival.
    pub last_departure_ns: u64,
}

impl Outcome {
    /// The visits of round `round`.
    pub fn round(&self, round: u32) -> &[Visit] {
        let n = self.options.processes as usize;
        &self.visits[round as usize * n..(round as usize + 1) * n]
    }

    /// Whether, in every round, every departure is at or after every arrival.
    pub fn nobody_left_early(&self) -> bool {
        (0..self.options.rounds).all(|round| {
            let visits = self.round(round);
            let last_arrival = visits.iter().map(|v| v.arrive_ns).max().unwrap_or(0);
            visits.iter().all(|v| v.depart_ns >= last_arrival)
        })
    }

    /// The spreads of every round.
    pub fn spreads(&self) -> Vec<Spread> {
        (0..self.options.rounds)
            .map(|round| {
                let visits = self.round(round);
                let first_arrival = visits.iter().map(|v| v.arrive_ns).min().unwrap_or(0);
                let last_arrival = visits.iter().map(|v| v.arrive_ns).max().unwrap_or(0);
                let first_departure = visits.iter().map(|v| v.depart_ns).min().unwrap_or(0);
                let last_departure = visits.iter().map(|v| v.depart_ns).max().unwrap_or(0);
                Spread {
                    arrivals_ns: last_arrival - first_arrival,
                    // Never negative: nobody leaves before the last arrival (the
                    // module docs say why); saturating all the same.
                    first_departure_ns: first_departure.saturating_sub(last_arrival),
                    last_departure_ns: last_departure.saturating_sub(last_arrival),
                }
            })
            .collect()
    }

    /// The CSV: one row per visit, times in ns since the first arrival of round 0.
    pub fn csv(&self) -> String {
        let zero = self.visits.iter().map(|v| v.arrive_ns).min().unwrap_or(0);
        let mut text = String::from("round,process,arrive_ns,depart_ns\n");
        for visit in &self.visits {
            text.push_str(&format!(
                "{},{},{},{}\n",
                visit.round,
                visit.process,
                visit.arrive_ns - zero,
                visit.depart_ns - zero
            ));
        }
        text
    }

    /// The report lines.
    pub fn report(&self, csv: &Path) -> Vec<String> {
        let Options {
            start_method,
            processes,
            rounds,
            max_work_us,
        } = self.options;
        let spreads = self.spreads();
        let stat = |f: fn(&Spread) -> u64| {
            let mut values: Vec<u64> = spreads.iter().map(f).collect();
            values.sort_unstable();
            let median = values[values.len() / 2];
            let max = values[values.len() - 1];
            format!(
                "median {:.1} µs, max {:.1} µs",
                median as f64 / 1e3,
                max as f64 / 1e3
            )
        };
        vec![
            format!(
                "Barrier: {} {}; each works up to {max_work_us} µs before it arrives.",
                match processes {
                    1 => format!("1 process (started by {start_method}) meets"),
                    _ => format!("{processes} processes (started by {start_method}) meet"),
                },
                match rounds {
                    1 => "once".to_owned(),
                    _ => format!("{rounds} times"),
                },
            ),
            format!(
                "Arrival spread (last arrival - first arrival): {}.",
                stat(|s| s.arrivals_ns)
            ),
            format!(
                "Wake-up (first departure - last arrival): {}; last departure - last \
                 arrival: {}.",
                stat(|s| s.first_departure_ns),
                stat(|s| s.last_departure_ns)
            ),
            if self.nobody_left_early() {
                "In every round, no process left before the last one arrived.".to_owned()
            } else {
                "A process left a round before the last one arrived (please report it).".to_owned()
            },
            format!("Arrivals and departures: {}", csv.display()),
        ]
    }
}

/// The barrier's two words and the table's visit cells.
struct Barrier<'a> {
    table: &'a SharedTable,
    processes: u32,
}

impl Barrier<'_> {
    /// The arrival time cell (field 0) or departure time cell (field 1).
    fn cell(&self, round: u32, process: u32, field: usize) -> &AtomicU64 {
        let visit = round as usize * self.processes as usize + process as usize;
        self.table.cell(2 + visit * 2 + field)
    }

    /// Waits until all have arrived; the module docs say how.
    fn wait(&self) {
        let count = self.table.word(0);
        let generation = self.table.word(1);
        let seen = generation.load(Ordering::Acquire);
        if count.fetch_add(1, Ordering::AcqRel) + 1 == self.processes {
            count.store(0, Ordering::Relaxed);
            generation.fetch_add(1, Ordering::Release);
            futex::wake(generation, i32::MAX);
        } else {
            while generation.load(Ordering::Acquire) == seen {
                futex::wait(generation, seen);
            }
        }
    }
}

/// The work before participant `process` arrives at round `round`: a length that
/// looks random, from 0 to `max_us`, the same on every run.
fn work(process: u32, round: u32, max_us: u64) -> Duration {
    if max_us == 0 {
        return Duration::ZERO;
    }
    let mut x = (u64::from(process) << 32 | u64::from(round)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    Duration::from_micros(x % (max_us + 1))
}

/// One participant's life.
fn participate(barrier: &Barrier<'_>, process: u32, options: Options) {
    for round in 0..options.rounds {
        std::thread::sleep(work(process, round, options.max_work_us));
        barrier
            .cell(round, process, 0)
            .store(monotonic_ns(), Ordering::Relaxed);
        barrier.wait();
        barrier
            .cell(round, process, 1)
            .store(monotonic_ns(), Ordering::Relaxed);
    }
}

/// The table's cells for a run: the count and the generation, then two per visit.
fn cells(options: &Options) -> usize {
    2 + options.processes as usize * options.rounds as usize * 2
}

/// Runs the participants, waits for them all, returns every visit.
pub fn run(options: Options) -> Result<Outcome, TalkError> {
    let (table, memfd) = SharedTable::new(cells(&options), options.start_method)?;
    let barrier = Barrier {
        table: &table,
        processes: options.processes,
    };
    match &memfd {
        None => talk::check_single_threaded()?,
        // Not needed (exec does not copy our buffer), but it keeps our output first.
        Some(_) => procutil::stdout::flush().map_err(DemoError::from)?,
    }
    let mut children = Children::default();
    let mut roles = vec![];
    for process in 0..options.processes {
        let pid = match &memfd {
            None => talk::fork_worker("barrier participant", &name(process), || {
                participate(&barrier, process, options);
                Ok(())
            })?,
            Some(memfd) => talk::spawn_worker(
                &spawn_args(&options, process, memfd.as_raw_fd()),
                &[memfd.as_fd()],
            )?,
        };
        children.pids.push(pid);
        roles.push((pid, format!("barrier participant {process}")));
    }
    // Every spawned participant holds its own descriptor now.
    drop(memfd);
    talk::reap(&mut children, &roles)?;
    let visits = (0..options.rounds)
        .flat_map(|round| (0..options.processes).map(move |process| (round, process)))
        .map(|(round, process)| Visit {
            round,
            process,
            arrive_ns: barrier.cell(round, process, 0).load(Ordering::Relaxed),
            depart_ns: barrier.cell(round, process, 1).load(Ordering::Relaxed),
        })
        .collect();
    Ok(Outcome { options, visits })
}

/// The name participant `process` gives itself (`ps`, `/proc/PID/comm`).
fn name(process: u32) -> String {
    format!("barrier {process}")
}

/// The command line that re-runs this program as participant `process`.
fn spawn_args(options: &Options, process: u32, table_fd: RawFd) -> Vec<String> {
    vec![
        "barrier".to_owned(),
        format!("--processes={}", options.processes),
        format!("--rounds={}", options.rounds),
        format!("--max-work-us={}", options.max_work_us),
        format!("--{PARTICIPANT_FLAG}={}", nix::unistd::getpid()),
        format!("--index={process}"),
        format!("--{SHARED_FD_FLAG}={table_fd}"),
    ]
}

/// A spawned participant's whole life, called by `main` under `--participant-of`:
/// map the table from `table_fd`, then meet the others `options.rounds` times.
pub fn run_spawned_participant(
    parent: i32,
    process: u32,
    table_fd: RawFd,
    options: Options,
) -> Result<(), TalkError> {
    if process >= options.processes {
        return Err(TalkError::BadInput(format!(
            "--index {process} is out of range: 0 to {}",
            options.processes - 1
        )));
    }
    talk::spawned_worker(parent, &name(process), || {
        let table =
            SharedTable::from_inherited_fd(table_fd, cells(&options)).map_err(|e| e.to_string())?;
        let barrier = Barrier {
            table: &table,
            processes: options.processes,
        };
        participate(&barrier, process, options);
        Ok(())
    })
}

/// Runs, writes `barrier.csv` under `out`, and returns the outcome and the path.
pub fn run_and_write(options: Options, out: &Path) -> Result<(Outcome, PathBuf), TalkError> {
    talk::check_writable(out, "barrier.csv")?;
    let outcome = run(options)?;
    let path = talk::write_atomic(out, "barrier.csv", &outcome.csv())?;
    Ok((outcome, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let new =
            |processes, rounds, work| Options::new(StartMethod::Fork, processes, rounds, work);
        assert!(new(1, 1, 0).is_ok());
        assert!(new(0, 1, 0).is_err());
        assert!(new(MAX_PROCESSES + 1, 1, 0).is_err());
        assert!(new(1, 0, 0).is_err());
        assert!(new(1, MAX_ROUNDS + 1, 0).is_err());
        assert!(new(1, 1, MAX_WORK_US + 1).is_err());
        assert!(new(1, 1000, MAX_WORK_US).is_err());
        assert!(Options::new(StartMethod::Spawn, 1, 1, 0).is_ok());
        assert!(Options::new(StartMethod::Forkserver, 1, 1, 0).is_err());
    }

    /// Spreads, the early-leaver check and the CSV for a hand-made run.
    #[test]
    fn spreads_and_csv() {
        let visit = |round, process, arrive_ns, depart_ns| Visit {
            round,
            process,
            arrive_ns,
            depart_ns,
        };
        let outcome = Outcome {
            options: Options::new(StartMethod::Fork, 2, 1, 0).unwrap(),
            visits: vec![visit(0, 0, 100, 500), visit(0, 1, 400, 450)],
        };
        assert_eq!(
            outcome.spreads(),
            vec![Spread {
                arrivals_ns: 300,
                first_departure_ns: 50,
                last_departure_ns: 100,
            }]
        );
        assert!(outcome.nobody_left_early());
        assert_eq!(
            outcome.csv(),
            "round,process,arrive_ns,depart_ns\n0,0,0,400\n0,1,300,350\n"
        );
        let mut early = outcome.clone();
        early.visits[1].depart_ns = 399;
        assert!(!early.nobody_left_early());
    }

    #[test]
    fn work_stays_in_range() {
        for round in 0..100 {
            assert!(work(3, round, 500) <= Duration::from_micros(500));
        }
        assert_eq!(work(1, 1, 0), Duration::ZERO);
    }
}
