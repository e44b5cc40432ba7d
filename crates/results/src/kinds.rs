//! The two names every results file is built from: the [`Pool`] an experiment ran
//! on and the [`Workload`] it ran. Each is one enum with one spelling (`as_str`),
//! used for file names, tags, the `experiments.csv` column and command-line flags.

use std::fmt;
use std::str::FromStr;

use clap::builder::PossibleValue;
use serde::{Deserialize, Serialize};

/// The kind of pool an experiment ran on. The order here is the order `pools` runs
/// them in, and the order of the groups in every chart: process first, then thread,
/// then the thread pool under the GIL, then the event loop on one thread. (`pools`
/// runs the first three by default; `async` when asked for.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pool {
    /// One OS process per worker: true parallelism, no shared memory.
    Process,
    /// One OS thread per worker, no global lock: Rust's normal threads.
    Thread,
    /// OS threads that must hold a simulated global interpreter lock to compute,
    /// the way CPython threads do.
    Gil,
    /// One thread running an event loop: tasks take turns at their `await`s, so
    /// waits overlap but nothing ever runs in parallel.
    Async,
}

impl Pool {
    /// Every pool, in run and chart order.
    pub const ALL: [Pool; 4] = [Pool::Process, Pool::Thread, Pool::Gil, Pool::Async];

    /// The name used in file names, tags, flags and labels (`process`, `thread`,
    /// `gil`, `async`).
    pub fn as_str(self) -> &'static str {
        match self {
            Pool::Process => "process",
            Pool::Thread => "thread",
            Pool::Gil => "gil",
            Pool::Async => "async",
        }
    }

    /// A longer name for legends and trace tracks.
    pub fn description(self) -> &'static str {
        match self {
            Pool::Process => "process pool",
            Pool::Thread => "thread pool",
            Pool::Gil => "thread pool + simulated GIL",
            Pool::Async => "event loop on one thread",
        }
    }
}

/// Which task function an experiment ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    /// `fibonacci(n)`: CPU-bound, never waits.
    Fibo,
    /// `http_fetch(ms)`: waits for a server that answers after `ms` milliseconds.
    Get,
}

impl Workload {
    /// Both workloads, in the order the article shows them.
    pub const ALL: [Workload; 2] = [Workload::Fibo, Workload::Get];

    /// The short name in file names and tags (`fibo`, `get`).
    pub fn as_str(self) -> &'static str {
        match self {
            Workload::Fibo => "fibo",
            Workload::Get => "get",
        }
    }

    /// The function name written in the `function` column of `experiments.csv`.
    pub fn function(self) -> &'static str {
        match self {
            Workload::Fibo => "fibonacci",
            Workload::Get => "http_fetch",
        }
    }

    /// A short label for one task of this workload, e.g. `fib(41)` or `wait 1300 ms`:
    /// what the `input` column means for it.
    pub fn task_label(self, input: u64) -> String {
        match self {
            Workload::Fibo => format!("fib({input})"),
            Workload::Get => format!("wait {input} ms"),
        }
    }
}

/// Display, FromStr and clap's `ValueEnum` for an enum with `ALL` and `as_str`, so
/// that the three can never spell a name differently.
///
/// `ValueEnum` is written out rather than derived: the derive would turn each
/// variant's doc comment into `--help` text, and the flags' help is meant to stay
/// one line.
macro_rules! one_spelling {
    ($ty:ident, $what:literal) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = UnknownName;

            fn from_str(s: &str) -> Result<Self, UnknownName> {
                $ty::ALL
                    .into_iter()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownName {
                        what: $what,
                        name: s.to_owned(),
                        expected: $ty::ALL.iter().map(|v| v.as_str()).collect(),
                    })
            }
        }

        impl clap::ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &$ty::ALL
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(PossibleValue::new(self.as_str()))
            }
        }
    };
}

one_spelling!(Pool, "pool");
one_spelling!(Workload, "workload");

/// A name that is not one of a [`Pool`]'s or [`Workload`]'s.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{name}` (expected {})", expected.join(", "))]
pub struct UnknownName {
    /// `pool` or `workload`.
    pub what: &'static str,
    /// The name given.
    pub name: String,
    /// The names accepted.
    pub expected: Vec<&'static str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Display, FromStr, serde and clap all use the one spelling.
    #[test]
    fn one_spelling_everywhere() {
        for pool in Pool::ALL {
            assert_eq!(pool.to_string().parse::<Pool>(), Ok(pool));
            assert_eq!(
                <Pool as clap::ValueEnum>::from_str(pool.as_str(), false),
                Ok(pool)
            );
        }
        for workload in Workload::ALL {
            assert_eq!(workload.to_string().parse::<Workload>(), Ok(workload));
            assert_eq!(
                <Workload as clap::ValueEnum>::from_str(workload.as_str(), false),
                Ok(workload)
            );
        }
        assert_eq!(
            "bogus".parse::<Pool>().unwrap_err().to_string(),
            "unknown pool `bogus` (expected process, thread, gil, async)"
        );
    }
}
