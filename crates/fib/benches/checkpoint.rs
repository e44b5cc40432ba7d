//! What does the GIL's checkpoint cost, and does the hook cost anything when nobody
//! uses it?
//!
//! Four versions of the same naive recursion, timed in turns:
//!
//! - `hand-written`: the reference, a recursion with no hook at all;
//! - `fibonacci`: `fib::fibonacci`, a recursion of its own kept apart from the
//!   checkpointed copies, so it must run as fast as the reference (the bar is 2 %);
//! - `flag every call`: `fib::fibonacci_with` reading an atomic flag at every call, as
//!   the GIL pool once did: expect it to cost a large fraction of the call itself;
//! - `flag above grain`: `fib::fibonacci_with_grain` reading it only at calls above
//!   `n = fib::CHECKPOINT_GRAIN`, as the GIL pool does now: expect a few percent at most.
//!
//! ```text
//! cargo bench -p fib --bench checkpoint
//! cargo bench -p fib --bench checkpoint -- --n 32 --rounds 61
//! ```
//!
//! The machine may be shared, so the versions take turns: every round times each once,
//! in an order that rotates from round to round, and each is compared with the
//! reference of its own round. A slow spell of the machine then slows both sides of a
//! ratio, and the median over the rounds leaves out the rounds it spoiled.

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use clap::Parser;

/// Times the checkpoint hook against a hand-written recursion, in turns.
#[derive(Debug, Parser)]
struct Cli {
    /// The Fibonacci input each version computes.
    #[arg(long, default_value_t = 32)]
    n: u32,
    /// Rounds; each times every version once.
    #[arg(long, default_value_t = 41)]
    rounds: usize,
    /// Accepted and ignored: `cargo bench` passes it to every bench target.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The reference: naive recursion with no hook at all.
fn hand_written(n: u32) -> u64 {
    match n {
        1 => 0,
        2 => 1,
        _ => hand_written(n - 1) + hand_written(n - 2),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let n = fib::check_input(cli.n)?;
    anyhow::ensure!(n >= 3, "--n must be at least 3, to recurse at all");
    anyhow::ensure!(cli.rounds > 0, "--rounds must be at least 1");
    // Never set: the GIL pool's flag when nobody waits for the lock.
    let drop_request = AtomicBool::new(false);
    // The checkpoint: a closure that captures one reference, so each call site may
    // copy it (`&mut { check }`) for its own `&mut`.
    let check = || {
        if drop_request.load(Ordering::Relaxed) {
            std::thread::yield_now();
        }
    };
    type Version<'a> = (&'static str, Box<dyn Fn(u32) -> u64 + 'a>);
    let versions: Vec<Version<'_>> = vec![
        ("hand-written", Box::new(hand_written)),
        ("fibonacci", Box::new(|n| fib::fibonacci(n).unwrap())),
        (
            "flag every call",
            Box::new(|n| fib::fibonacci_with(n, &mut { check }).unwrap()),
        ),
        (
            "flag above grain",
            Box::new(|n| {
                fib::fibonacci_with_grain(n, fib::CHECKPOINT_GRAIN, &mut { check }).unwrap()
            }),
        ),
    ];
    let expected = hand_written(n);
    // Warm-up: every version once, and a check that they all agree.
    for (name, run) in &versions {
        anyhow::ensure!(
            run(black_box(n)) == expected,
            "{name} computed a wrong value"
        );
    }
    let mut times = vec![Vec::new(); versions.len()];
    for round in 0..cli.rounds {
        for k in 0..versions.len() {
            let i = (round + k) % versions.len();
            let started = Instant::now();
            black_box(versions[i].1(black_box(n)));
            times[i].push(started.elapsed().as_secs_f64());
        }
    }
    println!(
        "fibonacci({n}), {} rounds; ratio: the median over rounds of the time over the \
         hand-written time of the same round (grain: n = {})",
        cli.rounds,
        fib::CHECKPOINT_GRAIN
    );
    println!("{:<18} {:>10} {:>8}", "version", "median ms", "ratio");
    for (i, (name, _)) in versions.iter().enumerate() {
        let ratios = times[i].iter().zip(&times[0]).map(|(t, r)| t / r).collect();
        println!(
            "{name:<18} {:>10.3} {:>8.3}",
            median(times[i].clone()) * 1e3,
            median(ratios)
        );
    }
    Ok(())
}
