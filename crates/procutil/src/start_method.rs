//! The three ways to start a worker process, named as Python names them.
//!
//! - [`Fork`](StartMethod::Fork): the child is a copy of this process, made by
//!   `fork(2)`: a copy-on-write copy of its memory as it is at the fork, and only the
//!   forking thread. The cheapest to start.
//! - [`Spawn`](StartMethod::Spawn): the child is this program started afresh
//!   (`exec`), every global at its initial value. The dearest: a whole program start.
//! - [`Forkserver`](StartMethod::Forkserver): the child is a fork of a server process
//!   started early, before any thread, whose memory holds nothing but its wait for
//!   requests. In between.
//!
//! `fork` is only safe while the forking process is single-threaded (see
//! [`thread_count`](crate::thread_count)); `spawn` is always safe; a forkserver is
//! single-threaded by construction, so forking from it is safe even when the program
//! that asks for a worker runs threads.
//!
//! The names are the command-line values (`--start-method fork|spawn|forkserver`):
//! the enum derives [`clap::ValueEnum`], and each variant's `///` line is the help
//! text clap shows for it. A program that implements only some of the methods
//! (`isolation-demo` has no forkserver) takes its flag through
//! [`StartMethod::parser`], which offers just those.

use std::fmt;
use std::str::FromStr;

use clap::ValueEnum;
use clap::builder::{PossibleValuesParser, TypedValueParser};

/// How a worker process is started. See the [module docs](self) for what each means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, ValueEnum)]
pub enum StartMethod {
    /// Copy this process with fork(2): memory as it is at the fork, one thread.
    #[default]
    Fork,
    /// Re-run this program from scratch, like Python's `spawn`: every global starts afresh.
    Spawn,
    /// Fork from a server process started before any thread, like Python's `forkserver`.
    Forkserver,
}

impl StartMethod {
    /// Every method, in the order of the list above.
    pub const ALL: [StartMethod; 3] = [
        StartMethod::Fork,
        StartMethod::Spawn,
        StartMethod::Forkserver,
    ];

    /// The name Python uses, and the command-line value: `fork`, `spawn` or `forkserver`.
    pub fn name(self) -> &'static str {
        match self {
            StartMethod::Fork => "fork",
            StartMethod::Spawn => "spawn",
            StartMethod::Forkserver => "forkserver",
        }
    }

    /// A clap value parser that accepts only `methods`, with their help texts: for a
    /// program that implements fewer than all three.
    ///
    /// The values and their help come from the enum itself, so nothing is typed twice.
    ///
    /// ```
    /// use clap::Parser;
    /// use procutil::StartMethod;
    ///
    /// #[derive(Debug, Parser)]
    /// struct Cli {
    ///     /// How the child process starts.
    ///     #[arg(
    ///         long,
    ///         default_value_t = StartMethod::Fork,
    ///         value_parser = StartMethod::parser(&[StartMethod::Fork, StartMethod::Spawn]),
    ///     )]
    ///     start_method: StartMethod,
    /// }
    ///
    /// let cli = Cli::try_parse_from(["demo", "--start-method", "spawn"]).unwrap();
    /// assert_eq!(cli.start_method, StartMethod::Spawn);
    /// let err = Cli::try_parse_from(["demo", "--start-method", "forkserver"]).unwrap_err();
    /// assert!(err.to_string().contains("[possible values: fork, spawn]"));
    /// ```
    pub fn parser(methods: &'static [StartMethod]) -> impl TypedValueParser<Value = StartMethod> {
        PossibleValuesParser::new(methods.iter().filter_map(ValueEnum::to_possible_value))
            .try_map(|name| name.parse::<StartMethod>())
    }
}

impl fmt::Display for StartMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not `fork`, `spawn` or `forkserver`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown start method `{0}` (expected fork, spawn or forkserver)")]
pub struct UnknownStartMethod(pub String);

impl FromStr for StartMethod {
    type Err = UnknownStartMethod;

    fn from_str(s: &str) -> Result<Self, UnknownStartMethod> {
        StartMethod::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| UnknownStartMethod(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Display, FromStr and clap agree on every name.
    #[test]
    fn names_round_trip() {
        for method in StartMethod::ALL {
            assert_eq!(method.to_string().parse::<StartMethod>(), Ok(method));
            let value = method.to_possible_value().unwrap();
            assert_eq!(value.get_name(), method.name());
            assert!(value.get_help().is_some(), "{method} has a help text");
        }
        assert_eq!(
            "thread".parse::<StartMethod>().unwrap_err().to_string(),
            "unknown start method `thread` (expected fork, spawn or forkserver)"
        );
    }
}
