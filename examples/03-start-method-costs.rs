//! What starting and stopping 8 workers costs, per start method.
//!
//! ```text
//! cargo run --release --example 03-start-method-costs
//! cargo run --release --example 03-start-method-costs -- --quick   # 3 rounds, not 20
//! ```
//!
//! `fork` copies this process; `forkserver` asks a small process forked at start-up
//! to fork; `spawn` starts the program from scratch, which costs an `exec`, a dynamic
//! link and Rust's start-up per worker. Expect fork and forkserver to take a
//! millisecond or two, and spawn several times more. `--quick` measures 3 rounds
//! instead of 20: enough to see every start method work, not to compare them.

use std::time::Instant;

use pools::{Executor, Fibonacci, ProcessPool, Registered, StartMethod};

fn main() -> anyhow::Result<()> {
    let registry = [Registered::task::<Fibonacci>()];
    pools::serve_if_worker(&registry);
    // The forkserver must start while this program is still single-threaded.
    pools::forkserver::start(&registry)?;

    let rounds: usize = if std::env::args().any(|arg| arg == "--quick") {
        3
    } else {
        20
    };
    println!("start 8 workers, run one tiny task on each, stop them ({rounds} rounds)\n");
    for method in StartMethod::ALL {
        let mut times = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let started = Instant::now();
            let mut pool = ProcessPool::new(8, method)?;
            // One task per worker, so that every worker has really started.
            for result in pool.map(&Fibonacci, &[2; 8]) {
                result?;
            }
            drop(pool);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{:<11} median {:>7.2} ms   best {:>7.2} ms",
            method.name(),
            times[rounds / 2],
            times[0]
        );
    }
    Ok(())
}
