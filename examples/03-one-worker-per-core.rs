//! How close can a pool get to the physical limit?
//!
//! ```text
//! cargo run --release --example 03-one-worker-per-core
//! cargo run --release --example 03-one-worker-per-core -- --quick   # fibonacci(20..28)
//! ```
//!
//! With one worker per core, no pool can beat `max(longest task, total work / cores)`.
//! Feeding the longest tasks first lets the pool get close to that bound; feeding
//! them last leaves one core busy with a long task at the end while the others idle.
//! Expect "longest first" to come within about a tenth of the bound (0.90 to 0.95 in
//! single runs on an idle 2-core machine), and "shortest first" to do worse. Each
//! figure is one run of the serial pass and one of the pool, taken at different
//! moments: on a busy machine either may be slowed, and the efficiency can then be
//! anything, even above 1. `scripts/bench.sh` repeats the measurement (its cpu-cores
//! row). `--quick` runs tasks so small that start-up dominates: it only shows that
//! the example works.

use std::time::Duration;

use pools::experiment::{PoolConfig, run};
use pools::{Fibonacci, NoGil, PoolKind, StartMethod, Task};

fn main() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism()?.get();
    let inputs: Vec<u32> = if quick() {
        (20..28).collect()
    } else {
        (34..42).collect()
    };
    // Serial task times, one at a time on one core: the work to be shared out. Timed
    // on the very task the pool runs (`Fibonacci` with no GIL), not on plain
    // `fib::fibonacci`: the bound must be made of the same work as the makespan.
    let serial: Vec<f64> = inputs
        .iter()
        .map(|n| {
            let timed = fib::Timed::measure(|| Fibonacci.run(n, &mut NoGil));
            let elapsed = timed.elapsed();
            timed.value.map(|_| elapsed)
        })
        .collect::<Result<_, _>>()
        .map_err(anyhow::Error::msg)?;
    let total: f64 = serial.iter().sum();
    let longest = serial.iter().copied().fold(0.0, f64::max);
    let bound = longest.max(total / cores as f64);
    println!("{cores} cores; serial total {total:.3} s; lower bound {bound:.3} s\n");

    let longest_first: Vec<u32> = inputs.iter().rev().copied().collect();
    for (order, inputs) in [
        ("longest first", &longest_first),
        ("shortest first", &inputs),
    ] {
        let config = PoolConfig {
            kind: PoolKind::Process,
            workers: cores,
            start_method: StartMethod::Fork,
            switch_interval: Duration::from_millis(5),
            task_timeout: None,
        };
        let makespan = run(&config, "fibo", &Fibonacci, inputs, &|| {})?
            .record
            .makespan;
        println!(
            "{order:<15} makespan {makespan:.3} s  efficiency {:.2}",
            bound / makespan
        );
    }
    Ok(())
}

fn quick() -> bool {
    std::env::args().any(|arg| arg == "--quick")
}
