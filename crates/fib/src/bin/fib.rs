//! `fib N...`: compute naive Fibonacci numbers and show how long each one takes.
//!
//! ```text
//! cargo run --release -p fib -- 34 35 36
//! ```
//!
//! Each step of n multiplies the time by about 1.6: that growth is what makes this
//! function a good CPU-bound workload for the pool experiments.

use std::process::ExitCode;

use clap::Parser;

/// Compute naive recursive Fibonacci numbers (the CPU-bound task) and time each one.
///
/// Numbering follows the article: fibonacci(1) = 0, fibonacci(2) = 1.
#[derive(Debug, Parser)]
#[command(version, after_help = "Example: fib 34 35 36")]
struct Cli {
    /// The inputs, each in 1..=50. Put `--` before a negative number.
    #[arg(required = true, value_name = "N")]
    inputs: Vec<i64>,
}

fn main() -> ExitCode {
    // A closed stdout (`fib 40 41 | head -1`) ends the run quietly, with status 0:
    // the policy every binary here shares (`procutil::stdout`).
    procutil::stdout::exit_code(run(Cli::parse()))
}

fn run(cli: Cli) -> anyhow::Result<()> {
    // Check every input before computing anything, so a typo at the end of a long
    // list is reported at once rather than after minutes of work.
    let inputs: Vec<u32> = cli
        .inputs
        .iter()
        .map(|&n| fib::check_input(n))
        .collect::<Result<_, _>>()?;
    for n in inputs {
        let timed = fib::timed_fibonacci(n)?;
        // Each line is flushed as it is done: the next may take a minute.
        procutil::say!(
            "fibonacci({n}) = {} ({:.3} s)",
            timed.value,
            timed.elapsed()
        )?;
    }
    Ok(())
}
