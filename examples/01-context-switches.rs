//! Concurrency costs context switches; parallelism does not need them.
//!
//! ```text
//! cargo run --release --example 01-context-switches
//! cargo run --release --example 01-context-switches -- --quick   # fibonacci(20..28)
//! ```
//!
//! Runs the same Fibonacci tasks on the three pools and prints the context switches
//! the kernel counted (`getrusage`). Expect the GIL pool to show hundreds of
//! *voluntary* switches: its threads keep blocking on the lock and handing it over.
//! The process and thread pools mostly show *involuntary* switches: the kernel
//! time-slicing 8 busy workers over the cores. The last column counts how often the
//! simulated GIL changed hands, so it is 0 for the process and thread pools.
//!
//! `--quick` runs much smaller tasks: too small for the counts to mean much, but
//! enough for the tests to run every pool in a moment.

use std::time::Duration;

use pools::experiment::{PoolConfig, run};
use pools::{Fibonacci, PoolKind, StartMethod};

fn main() -> anyhow::Result<()> {
    let inputs: Vec<u32> = if quick() {
        (20..28).collect()
    } else {
        (34..42).collect()
    };
    println!("fibonacci over {inputs:?} on 8 workers\n");
    println!(
        "{:<8} {:>10} {:>10} {:>12} {:>12}",
        "pool", "makespan", "voluntary", "involuntary", "GIL switches"
    );
    // The process pool runs first, while this program is still single-threaded,
    // because its default start method is fork.
    for kind in PoolKind::ALL {
        let config = PoolConfig {
            kind,
            workers: 8,
            start_method: StartMethod::Fork,
            switch_interval: Duration::from_millis(5),
            task_timeout: None,
        };
        let r = run(&config, "fibo", &Fibonacci, &inputs, &|| {})?.record;
        println!(
            "{:<8} {:>9.3}s {:>10} {:>12} {:>12}",
            kind.as_str(),
            r.makespan,
            r.voluntary_switches,
            r.involuntary_switches,
            r.gil_switches
        );
    }
    Ok(())
}

fn quick() -> bool {
    std::env::args().any(|arg| arg == "--quick")
}
