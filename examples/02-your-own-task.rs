//! Run your own function through each pool.
//!
//! ```text
//! cargo run --release --example 02-your-own-task
//! cargo run --release --example 02-your-own-task -- --quick   # limits 100 times smaller
//! ```
//!
//! A task is a small serialisable value with a `run` method. Calling
//! `cx.checkpoint()` in its inner loop lets the GIL pool switch threads mid-task, as
//! CPython does between bytecodes. Expect the same answers from every pool, and the
//! GIL pool to be the slowest on a multi-core machine. With `--quick` the limits are
//! 20,000 down to 5,000: every pool must answer [2262, 1754, 1229, 669].
//!
//! The `spawn` pool at the end starts this program afresh as its workers, so the task
//! must be registered by name and `main` must begin with `serve_if_worker`: the Rust
//! version of Python's "the function must be importable".

use std::time::{Duration, Instant};

use pools::{
    Context, Executor, GilThreadPool, ProcessPool, Registered, StartMethod, Task, ThreadPool,
};

/// Counts the primes below a limit by trial division: CPU-bound, like Fibonacci.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct CountPrimes;

impl Task for CountPrimes {
    type Input = u64;
    type Output = usize;
    const NAME: &'static str = "count_primes";

    fn run(&self, limit: &u64, cx: &mut impl Context) -> Result<usize, pools::TaskFailure> {
        let mut count = 0;
        for n in 2..*limit {
            cx.checkpoint(); // where the GIL pool may hand the lock to another thread
            if (2..).take_while(|d| d * d <= n).all(|d| n % d != 0) {
                count += 1;
            }
        }
        Ok(count)
    }
}

fn main() -> anyhow::Result<()> {
    let registry = [Registered::task::<CountPrimes>()];
    pools::serve_if_worker(&registry);

    let inputs: Vec<u64> = if std::env::args().any(|arg| arg == "--quick") {
        vec![20_000, 15_000, 10_000, 5_000]
    } else {
        vec![2_000_000, 1_500_000, 1_000_000, 500_000]
    };
    // Fork first: it needs this process to be single-threaded.
    show(
        "process (fork)",
        &mut ProcessPool::new(4, StartMethod::Fork)?,
        &inputs,
    )?;
    show("thread", &mut ThreadPool::new(4)?, &inputs)?;
    show(
        "gil",
        &mut GilThreadPool::new(4, Duration::from_millis(5))?,
        &inputs,
    )?;
    show(
        "process (spawn)",
        &mut ProcessPool::new(4, StartMethod::Spawn)?,
        &inputs,
    )?;
    Ok(())
}

fn show(name: &str, pool: &mut impl Executor, inputs: &[u64]) -> anyhow::Result<()> {
    let started = Instant::now();
    let counts = pool
        .map(&CountPrimes, inputs)
        .into_iter()
        .map(|r| r.map(|record| record.output))
        .collect::<Result<Vec<_>, _>>()?;
    println!(
        "{name:<16} {:>6.3} s  primes: {counts:?}",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
