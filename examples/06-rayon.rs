//! The idiomatic next step: data parallelism with rayon.
//!
//! ```text
//! cargo run --release --example 06-rayon
//! cargo run --release --example 06-rayon -- --quick   # fibonacci(20..28)
//! ```
//!
//! The pools in this workspace are hand-written to show how a pool works. For real
//! CPU-bound work in one process, reach for rayon: `par_iter` splits the work over a
//! thread per core, with work stealing. Expect the parallel run to be about as many
//! times faster as you have cores, minus the longest task's tail, and both runs to
//! give the same answers. `--quick` runs tasks too small for the speed-up to show.

use std::time::Instant;

use rayon::prelude::*;

fn main() -> anyhow::Result<()> {
    let inputs: Vec<u32> = if std::env::args().any(|arg| arg == "--quick") {
        (20..28).collect()
    } else {
        (34..42).collect()
    };

    let started = Instant::now();
    let serial: Vec<u64> = inputs
        .iter()
        .map(|&n| fib::fibonacci(n))
        .collect::<Result<_, _>>()?;
    let serial_time = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let parallel: Vec<u64> = inputs
        .par_iter()
        .map(|&n| fib::fibonacci(n))
        .collect::<Result<_, _>>()?;
    let parallel_time = started.elapsed().as_secs_f64();

    assert_eq!(serial, parallel);
    println!("serial:   {serial_time:.3} s");
    println!(
        "parallel: {parallel_time:.3} s on {} rayon threads ({:.1}x)",
        rayon::current_num_threads(),
        serial_time / parallel_time
    );
    Ok(())
}
